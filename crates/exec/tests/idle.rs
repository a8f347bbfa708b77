//! An idle executor: its workers leave, and none of its threads runs. Alone
//! in its own test binary, because it watches every thread of the process.

mod common;

use std::time::{Duration, Instant};

use common::Harness;
use sysgate_exec::{Executor, PoolConfig};

fn nr(n: libc::c_long) -> u32 {
    n as u32
}

#[test]
fn idle_workers_leave_and_no_thread_of_an_idle_executor_runs() {
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
    let peak = h.exec.stats().pool.unbounded.peak;
    assert!(
        peak >= 2,
        "the state under test needs idle workers: peak {peak}"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while h.exec.stats().pool.unbounded.workers > 1 {
        assert!(Instant::now() < deadline, "idle workers did not leave");
        std::thread::sleep(Duration::from_millis(20));
    }
    // The worker that stays learns it is the last at its next idle timeout
    // (100 ms), once; from then on it sleeps until there is work. Let that
    // pass (ten times over), then, for a second, no thread but this one
    // runs: a worker that woke every idle timeout would run ten times.
    std::thread::sleep(Duration::from_secs(1));
    let before = common::other_threads_switches();
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(
        common::other_threads_switches(),
        before,
        "a thread of the idle executor ran (tid: times switched out)"
    );
    assert_eq!(h.exec.stats().pool.unbounded.workers, 1, "one worker stays");

    // Not checked here: a polling executor's poller, asleep, still wakes
    // every 100 ms to look at its stop flag (a stop's wake-up does not
    // change the futex word it sleeps on, so one sent just before it falls
    // asleep could be lost otherwise).
}
