//! Dropping a future cancels its request for real: a dropped read, parked
//! or running on a worker, does not take data written afterwards.

mod common;

use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use common::pipe;
use sysgate::{ExecStats, Flags, Gateway, ops};

/// Polls the gateway's counters (up to a minute: a hang, not a slow
/// machine) until `reached` holds.
fn wait_for(gw: &Gateway, reached: impl Fn(&ExecStats) -> bool) -> ExecStats {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let stats = gw.stats();
        if reached(&stats) {
            return stats;
        }
        assert!(Instant::now() < deadline, "never got there: {stats:?}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Drops a read that waits on `flags`' path, then checks that bytes
/// written afterwards are still in the pipe.
fn dropped_read_takes_nothing(flags: Flags, waiting: impl Fn(&ExecStats) -> bool) {
    let gw = Gateway::new().unwrap();
    let (r, w) = pipe();
    let read = gw.submit_with(ops::Read::new(r.as_raw_fd(), Vec::with_capacity(16)), flags);
    let stats = wait_for(&gw, &waiting);
    assert_eq!(stats.completed, 0, "{stats:?}");
    drop(read);
    // The drop submits a cancel: both complete, nothing is left waiting.
    wait_for(&gw, |s| {
        s.submitted == 2 && s.completed == 2 && s.in_pool == 0
    });
    std::fs::File::from(w).write_all(b"later").unwrap();
    let mut got = [0; 5];
    std::fs::File::from(r).read_exact(&mut got).unwrap();
    assert_eq!(&got, b"later", "the dropped read took the bytes");
}

#[test]
fn dropping_a_parked_read_cancels_it() {
    dropped_read_takes_nothing(Flags::NONE, |s| s.parked == 1);
}

#[test]
fn dropping_a_read_running_on_a_worker_interrupts_it() {
    // ASYNC: a worker makes the blocking read; it is running, not queued.
    dropped_read_takes_nothing(Flags::ASYNC, |s| {
        s.pool.unbounded.busy == 1 && s.pool.unbounded.queued == 0
    });
}
