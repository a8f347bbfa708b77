//! A completion ring too small for what is in flight: the completions that
//! do not fit wait in the executor's ordered backlog, and every one arrives.

use std::time::{Duration, Instant};

use sysgate::{Batch, Flags, Gateway, raw};

#[test]
fn completions_beyond_a_full_completion_ring_all_arrive_once() {
    const N: usize = 2000;
    // 4 KiB holds about a hundred completions.
    let gw = Gateway::builder().cq_bytes(4096).build().unwrap();
    let mut batch = Batch::new();
    let handles: Vec<_> = (0..N)
        .map(|_| batch.push_with(raw(libc::SYS_getppid as u32, []), Flags::ASYNC))
        .collect();
    let pending = gw.submit_batch(batch);
    // Nothing reaps until every completion is posted, so most of them must
    // have gone to the backlog: that is the state under test.
    let deadline = Instant::now() + Duration::from_secs(60);
    while gw.stats().completed < N as u64 {
        assert!(
            Instant::now() < deadline,
            "not all posted: {:?}",
            gw.stats()
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    let stats = gw.stats();
    assert_eq!((stats.completed, stats.lost), (N as u64, 0), "{stats:?}");
    let mut results = pending.wait();
    // SAFETY: getppid has no preconditions.
    let ppid = i64::from(unsafe { libc::getppid() });
    for h in handles {
        assert_eq!(results.take(h).unwrap().unwrap().value, ppid);
    }
    assert_eq!(gw.stats().completed, N as u64, "nothing answered twice");
}
