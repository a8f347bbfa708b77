//! Poll-armed retry: calls that would block on sockets wait for readiness
//! without holding a thread, then run inline. Alone in its binary: it
//! counts the process's threads.

mod common;

use common::{BUF0, Harness};
use sysgate_proto::CompletionFlags;

fn raise_fd_limit(want: u64) -> bool {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit read and write the rlimit we own.
    unsafe {
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim);
        if lim.rlim_cur < want {
            lim.rlim_cur = want.min(lim.rlim_max);
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim);
    }
    lim.rlim_cur >= want
}

fn threads() -> usize {
    std::fs::read_dir("/proc/self/task").unwrap().count()
}

#[test]
fn a_thousand_pending_recvs_park_without_workers_and_complete_when_pinged() {
    const PAIRS: usize = 1000;
    if !raise_fd_limit(2 * PAIRS as u64 + 256) {
        eprintln!(
            "skipped: RLIMIT_NOFILE cannot reach {} fds",
            2 * PAIRS + 256
        );
        return;
    }
    let mut h = Harness::new();
    let pairs: Vec<(i32, i32)> = (0..PAIRS).map(|_| common::socketpair()).collect();
    for (i, &(a, _)) in pairs.iter().enumerate() {
        let recv = common::with_out_buf(
            i as u64,
            libc::SYS_recvfrom as u32,
            32,
            &[a as u64, BUF0, 32, 0, 0, 0],
        );
        h.submit(recv);
        if i % 100 == 99 {
            h.enter(100, 0);
        }
    }
    let stats = h.exec.stats();
    if stats.parked == 0 && stats.punted_unbounded > 0 {
        eprintln!("skipped: io_uring is unavailable here, waits fall back to the pool");
        drop(h);
        return;
    }
    assert_eq!(stats.parked, PAIRS as u64, "{stats:?}");
    assert_eq!(h.reap_now().len(), 0, "nothing is ready yet");
    assert_eq!(
        stats.pool.unbounded.started + stats.pool.bounded.started,
        0,
        "no worker for waits"
    );
    let running = threads();
    assert!(running <= 4, "{running} threads for {PAIRS} pending recvs");

    for (i, &(_, b)) in pairs.iter().enumerate() {
        common::write_all(b, format!("ping {i}").as_bytes());
    }
    let mut done = h.wait_n(PAIRS);
    done.sort_by_key(|c| c.user_data);
    for (i, c) in done.iter().enumerate() {
        let expected = format!("ping {i}");
        assert_eq!(c.result, expected.len() as i64, "{c:?}");
        assert_eq!(&c.outputs[0][..], expected.as_bytes());
        assert_eq!(c.flags, CompletionFlags::POLLED);
    }
    let stats = h.exec.stats();
    assert_eq!((stats.parked, stats.polled), (0, PAIRS as u64));
    assert_eq!(stats.pool.unbounded.started, 0);
    for (a, b) in pairs {
        common::close(a);
        common::close(b);
    }
}
