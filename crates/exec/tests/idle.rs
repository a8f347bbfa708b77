//! An idle executor: its workers leave, and it burns no CPU. Alone in its
//! own test binary, because it measures the whole process's CPU time.

mod common;

use std::time::{Duration, Instant};

use common::Harness;
use sysgate_exec::{Executor, PoolConfig};

fn nr(n: libc::c_long) -> u32 {
    n as u32
}

#[test]
fn idle_workers_leave_and_an_idle_executor_uses_no_cpu() {
    let config = PoolConfig {
        max_bounded: 4,
        max_unbounded: 8,
        idle_timeout: Duration::from_millis(100),
        ..PoolConfig::for_entries(64)
    };
    let mut h = Harness::with(Executor::builder().pool_config(config));
    let ts = common::timespec(0, 5_000_000);
    for i in 0..8 {
        h.submit(common::with_in_buf(
            i,
            nr(libc::SYS_nanosleep),
            &ts,
            &[common::BUF0, 0],
        ));
    }
    h.enter(8, 0);
    h.wait_n(8);
    assert_eq!(h.exec.stats().pool.unbounded.peak, 8);
    let deadline = Instant::now() + Duration::from_secs(10);
    while h.exec.stats().pool.unbounded.workers > 1 {
        assert!(Instant::now() < deadline, "idle workers did not leave");
        std::thread::sleep(Duration::from_millis(20));
    }
    // Now idle: the whole process should burn (almost) no CPU for a second.
    let before = common::process_cpu();
    std::thread::sleep(Duration::from_secs(1));
    let used = common::process_cpu() - before;
    assert!(
        used < Duration::from_millis(20),
        "idle executor used {used:?} of CPU in 1 s"
    );
    assert_eq!(h.exec.stats().pool.unbounded.workers, 1, "one worker stays");

    drop(h);

    // A polling executor, once its poller has gone to sleep, is just as idle.
    let h = Harness::polling();
    let need_wakeup = sysgate_ring::layout::flags::SQ_NEED_WAKEUP;
    while h.region.flags() & need_wakeup == 0 {
        assert!(
            Instant::now() < deadline + Duration::from_secs(5),
            "the poller never slept"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let before = common::process_cpu();
    std::thread::sleep(Duration::from_secs(1));
    let used = common::process_cpu() - before;
    assert!(
        used < Duration::from_millis(20),
        "idle polling executor used {used:?} in 1 s"
    );
}
