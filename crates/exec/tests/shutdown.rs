//! Dropping an executor answers everything in flight: queued work is
//! cancelled, blocked calls are interrupted, nothing is lost or hangs.

mod common;

use sysgate_testkit::{Need, skip};

use common::Harness;
use sysgate_exec::{Executor, PoolConfig};
use sysgate_proto::SubmissionFlags;

#[test]
fn drop_interrupts_blocked_calls_and_cancels_queued_ones() {
    // One unbounded worker: the first read blocks on it, the rest queue.
    let config = PoolConfig {
        max_unbounded: 1,
        ..PoolConfig::for_entries(64)
    };
    let mut h = Harness::with(Executor::builder().pool_config(config));
    if h.exec.pool().interrupt_signal().is_none() {
        return skip(
            Need::InterruptSignal,
            "the interrupt signal is taken by the host, calls cannot be interrupted",
        );
    }
    let (r, w) = common::pipe();
    for ud in 0..3 {
        let read = common::with_out_buf(ud, libc::SYS_read as u32, 8, &[r as u64, common::BUF0, 8]);
        h.submit(read.with_flags(SubmissionFlags::ASYNC));
    }
    h.enter(3, 0);
    // The first read is running on the one worker, the others queued.
    common::wait_for_pool(&h, |p| p.unbounded.busy == 1 && p.unbounded.queued == 2);
    assert_eq!(h.exec.stats().in_pool, 3);
    let mut done = h.drop_executor();
    done.sort_by_key(|c| c.user_data);
    assert_eq!(done.len(), 3, "{done:?}");
    for (ud, c) in done.iter().enumerate() {
        assert_eq!(c.user_data, ud as u64);
        assert_eq!(c.result, -i64::from(libc::ECANCELED), "{c:?}");
    }
    common::close(r);
    common::close(w);
}
