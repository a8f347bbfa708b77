//! DRAIN: a request starts only after everything before it has completed,
//! and what follows it waits for it.

mod common;

use common::{BUF0, Harness};
use sysgate_proto::{CompletionFlags, SubmissionFlags};

fn nr(n: libc::c_long) -> u32 {
    n as u32
}

fn sleep(ud: u64, ms: i64) -> sysgate_proto::Submission<'static> {
    let ts = common::timespec(0, ms * 1_000_000);
    common::with_in_buf(ud, nr(libc::SYS_nanosleep), &ts, &[BUF0, 0])
        .with_flags(SubmissionFlags::ASYNC)
}

#[test]
fn a_drained_request_waits_for_everything_before_it() {
    let mut h = Harness::new();
    for ud in 1..=3 {
        h.submit(sleep(ud, 30));
    }
    h.submit(common::call(4, nr(libc::SYS_getppid), &[]).with_flags(SubmissionFlags::DRAIN));
    h.submit(common::call(5, nr(libc::SYS_getppid), &[]));
    h.enter(5, 5);
    let order: Vec<u64> = h.wait_n(5).iter().map(|c| c.user_data).collect();
    let pos = |ud| order.iter().position(|&u| u == ud).unwrap();
    for before in 1..=3 {
        assert!(pos(before) < pos(4), "drained request ran early: {order:?}");
    }
    assert!(
        pos(4) < pos(5),
        "a request after a DRAIN overtook it: {order:?}"
    );
}

#[test]
fn a_drain_with_nothing_in_flight_runs_at_once() {
    let mut h = Harness::new();
    let c = h.run(common::call(1, nr(libc::SYS_getppid), &[]).with_flags(SubmissionFlags::DRAIN));
    assert_eq!(c.flags, CompletionFlags::INLINE);
    assert!(c.result > 0);
}

#[test]
fn dropping_the_executor_answers_held_requests() {
    let mut h = Harness::new();
    h.submit(sleep(1, 50));
    h.submit(common::call(2, nr(libc::SYS_getppid), &[]).with_flags(SubmissionFlags::DRAIN));
    h.submit(common::call(3, nr(libc::SYS_getppid), &[]));
    h.enter(3, 0);
    let mut done = h.drop_executor();
    done.sort_by_key(|c| c.user_data);
    let uds: Vec<u64> = done.iter().map(|c| c.user_data).collect();
    assert_eq!(uds, [1, 2, 3], "each exactly once");
}
