//! Cancel, timeouts and link timeouts.

mod common;

use std::time::{Duration, Instant};
use sysgate_testkit::{Need, skip};

use common::{BUF0, Harness};
use sysgate_exec::{Executor, PoolConfig};
use sysgate_proto::{CancelTarget, Completion, Op, Submission, SubmissionFlags};

fn nr(n: libc::c_long) -> u32 {
    n as u32
}

fn read_async(ud: u64, fd: i32) -> Submission<'static> {
    common::with_out_buf(ud, nr(libc::SYS_read), 8, &[fd as u64, BUF0, 8])
        .with_flags(SubmissionFlags::ASYNC)
}

fn cancel(ud: u64, target: CancelTarget) -> Submission<'static> {
    Submission::new(ud, Op::Cancel { target })
}

fn by_user_data(mut v: Vec<Completion<'static>>) -> Vec<Completion<'static>> {
    v.sort_by_key(|c| c.user_data);
    v
}

fn one_worker() -> Harness {
    let config = PoolConfig {
        max_unbounded: 1,
        ..PoolConfig::for_entries(64)
    };
    Harness::with(Executor::builder().pool_config(config))
}

fn skip_without_interrupts(h: &Harness) -> bool {
    if h.exec.pool().interrupt_signal().is_none() {
        skip(
            Need::InterruptSignal,
            "the interrupt signal is taken by the host program",
        );
        return true;
    }
    false
}

#[test]
fn cancelling_a_running_read_interrupts_it_and_frees_the_worker() {
    let mut h = one_worker();
    if skip_without_interrupts(&h) {
        return;
    }
    let (r, w) = common::pipe();
    h.submit(read_async(1, r));
    h.enter(1, 0);
    // Running, not queued: the one worker has taken it.
    common::wait_for_pool(&h, |p| p.unbounded.busy == 1 && p.unbounded.queued == 0);
    h.submit(cancel(2, CancelTarget::UserData(1)));
    h.enter(1, 0);
    let done = by_user_data(h.wait_n(2));
    assert_eq!(done[0].result, -i64::from(libc::ECANCELED), "{:?}", done[0]);
    assert_eq!(done[1].result, 0, "the cancel itself");
    // The one worker is free again.
    let c = h.run(common::call(3, nr(libc::SYS_getppid), &[]).with_flags(SubmissionFlags::ASYNC));
    assert!(c.result > 0);
    common::close(r);
    common::close(w);
}

#[test]
fn cancelling_queued_work_answers_at_once_and_unknown_targets_are_enoent() {
    let mut h = one_worker();
    if skip_without_interrupts(&h) {
        return;
    }
    let (r, w) = common::pipe();
    // The first read holds the only worker; the second waits in the queue.
    h.submit(read_async(1, r));
    h.submit(read_async(2, r));
    h.enter(2, 0);
    std::thread::sleep(Duration::from_millis(20));
    h.submit(cancel(3, CancelTarget::UserData(2)));
    h.submit(cancel(4, CancelTarget::UserData(99)));
    h.enter(2, 0);
    let done = by_user_data(h.wait_n(3));
    assert_eq!(done[0].user_data, 2);
    assert_eq!(done[0].result, -i64::from(libc::ECANCELED));
    assert_eq!((done[1].user_data, done[1].result), (3, 0));
    assert_eq!(
        (done[2].user_data, done[2].result),
        (4, -i64::from(libc::ENOENT))
    );
    // Cancel everything on the pipe's fd: the running read.
    h.submit(cancel(5, CancelTarget::Fd(r)));
    h.enter(1, 0);
    let done = by_user_data(h.wait_n(2));
    assert_eq!(
        (done[0].user_data, done[0].result),
        (1, -i64::from(libc::ECANCELED))
    );
    assert_eq!(
        (done[1].user_data, done[1].result),
        (5, 1),
        "one request on that fd"
    );
    common::close(r);
    common::close(w);
}

#[test]
fn timeouts_expire_or_count_completions() {
    let mut h = Harness::new();
    let started = Instant::now();
    let c = h.run(Submission::new(
        1,
        Op::Timeout {
            nanos: 10_000_000,
            count: 0,
        },
    ));
    assert_eq!(c.result, -i64::from(libc::ETIME));
    assert!(started.elapsed() >= Duration::from_millis(10));

    h.submit(Submission::new(
        2,
        Op::Timeout {
            nanos: 10_000_000_000,
            count: 2,
        },
    ));
    h.submit(common::call(3, nr(libc::SYS_getppid), &[]));
    h.submit(common::call(4, nr(libc::SYS_getppid), &[]));
    h.enter(3, 0);
    let done = by_user_data(h.wait_n(3));
    assert_eq!(
        (done[0].user_data, done[0].result),
        (2, 0),
        "counted out, not timed out"
    );
}

#[test]
fn a_link_timeout_cancels_a_read_that_takes_too_long() {
    let mut h = Harness::new();
    if skip_without_interrupts(&h) {
        return;
    }
    let (r, w) = common::pipe();
    let read = common::with_out_buf(1, nr(libc::SYS_read), 8, &[r as u64, BUF0, 8])
        .with_flags(SubmissionFlags::LINK);
    h.submit(read);
    h.submit(Submission::new(2, Op::LinkTimeout { nanos: 10_000_000 }));
    let started = Instant::now();
    h.enter(2, 0);
    let done = by_user_data(h.wait_n(2));
    assert_eq!(done[0].result, -i64::from(libc::ECANCELED), "{:?}", done[0]);
    assert_eq!(done[1].result, -i64::from(libc::ETIME));
    assert!(started.elapsed() >= Duration::from_millis(10));

    // A request that finishes first cancels its link timeout.
    common::write_all(w, b"x");
    let read = common::with_out_buf(3, nr(libc::SYS_read), 8, &[r as u64, BUF0, 8])
        .with_flags(SubmissionFlags::LINK);
    h.submit(read);
    h.submit(Submission::new(
        4,
        Op::LinkTimeout {
            nanos: 10_000_000_000,
        },
    ));
    h.enter(2, 0);
    let done = by_user_data(h.wait_n(2));
    assert_eq!(done[0].result, 1);
    assert_eq!(done[1].result, -i64::from(libc::ECANCELED));
    common::close(r);
    common::close(w);
}

#[test]
fn a_link_timeout_without_a_linked_request_is_invalid_and_drop_answers_armed_timers() {
    let mut h = Harness::new();
    let c = h.run(Submission::new(1, Op::LinkTimeout { nanos: 1 }));
    assert_eq!(c.result, sysgate_proto::codes::INVALID);
    h.submit(Submission::new(
        2,
        Op::Timeout {
            nanos: 60_000_000_000,
            count: 0,
        },
    ));
    h.enter(1, 0);
    let done = h.drop_executor();
    assert_eq!(done.len(), 1);
    assert_eq!(
        (done[0].user_data, done[0].result),
        (2, -i64::from(libc::ECANCELED))
    );
}

#[test]
fn cancelling_a_parked_read_disarms_it() {
    let mut h = Harness::new();
    let (r, w) = common::pipe();
    h.submit(common::with_out_buf(
        1,
        nr(libc::SYS_read),
        8,
        &[r as u64, BUF0, 8],
    ));
    h.enter(1, 0);
    assert_eq!(h.exec.stats().parked, 1, "the read is not parked");
    h.submit(cancel(2, CancelTarget::UserData(1)));
    h.enter(1, 0);
    let done = by_user_data(h.wait_n(2));
    assert_eq!(done[0].result, -i64::from(libc::ECANCELED));
    assert_eq!(done[1].result, 0);
    assert_eq!(h.exec.stats().parked, 0);
    // Data arriving later finds nothing waiting: no second completion.
    common::write_all(w, b"late");
    std::thread::sleep(Duration::from_millis(20));
    assert!(h.reap_now().is_empty());
    common::close(r);
    common::close(w);
}

#[test]
fn the_polling_thread_processes_readiness_and_sleeps_on_both() {
    let mut h = Harness::polling();
    let (r, w) = common::pipe();
    h.submit(common::with_out_buf(
        1,
        nr(libc::SYS_read),
        8,
        &[r as u64, BUF0, 8],
    ));
    // Let the poller take it, park it, and fall asleep (it may have been
    // asleep before the submission woke it: wait for both).
    let need_wakeup = sysgate_ring::layout::flags::SQ_NEED_WAKEUP;
    let deadline = Instant::now() + Duration::from_secs(5);
    while h.region.flags() & need_wakeup == 0 || h.exec.stats().parked != 1 {
        assert!(
            Instant::now() < deadline,
            "the poller never parked the read and slept: {:?}",
            h.exec.stats()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    // Readiness wakes it: the read completes, polled.
    common::write_all(w, b"ready");
    let c = h.wait_one();
    assert_eq!(
        (c.result, c.flags),
        (5, sysgate_proto::CompletionFlags::POLLED)
    );
    assert_eq!(&c.outputs[0][..], b"ready");
    // And a submission still wakes it while it sleeps on its polls.
    h.submit(common::with_out_buf(
        2,
        nr(libc::SYS_read),
        8,
        &[r as u64, BUF0, 8],
    ));
    std::thread::sleep(Duration::from_millis(50));
    let c = h.run(common::call(3, nr(libc::SYS_getppid), &[]));
    assert!(c.result > 0);
    h.submit(cancel(4, CancelTarget::UserData(2)));
    let done = by_user_data(h.wait_n(2));
    assert_eq!(done[0].result, -i64::from(libc::ECANCELED));
    common::close(r);
    common::close(w);
}

extern "C" fn host_handler(_: libc::c_int) {}

#[test]
fn a_running_call_cannot_be_cancelled_when_the_host_owns_the_signal() {
    // The host program handles the signal the pool would use: sysgate
    // leaves its handler alone, and a running call cannot be interrupted.
    let sig = libc::SIGRTMIN() + 7;
    // SAFETY: installs an empty, async-signal-safe handler for a real-time
    // signal no other test in this binary uses.
    let host = unsafe {
        let mut act: libc::sigaction = std::mem::zeroed();
        act.sa_sigaction = host_handler as *const () as libc::sighandler_t;
        libc::sigemptyset(&mut act.sa_mask);
        assert_eq!(libc::sigaction(sig, &act, std::ptr::null_mut()), 0);
        act.sa_sigaction
    };
    let config = PoolConfig {
        max_unbounded: 1,
        interrupt_signal: Some(sig),
        ..PoolConfig::for_entries(64)
    };
    let mut h = Harness::with(Executor::builder().pool_config(config));
    assert_eq!(h.exec.pool().interrupt_signal(), None);
    let (r, w) = common::pipe();
    h.submit(read_async(1, r));
    h.enter(1, 0);
    common::wait_for_pool(&h, |p| p.unbounded.busy == 1 && p.unbounded.queued == 0);
    h.submit(cancel(2, CancelTarget::UserData(1)));
    h.enter(1, 0);
    let c = h.wait_one();
    assert_eq!(
        (c.user_data, c.result),
        (2, -i64::from(libc::EALREADY)),
        "{c:?}"
    );
    // The read goes on and completes with what is written.
    common::write_all(w, b"data");
    let c = h.wait_one();
    assert_eq!((c.user_data, c.result), (1, 4), "{c:?}");
    assert_eq!(&c.outputs[0][..], b"data");
    // The host's handler is still the host's.
    let mut now = std::mem::MaybeUninit::<libc::sigaction>::zeroed();
    // SAFETY: a null new action only reads the current one.
    let read = unsafe { libc::sigaction(sig, std::ptr::null(), now.as_mut_ptr()) };
    assert_eq!(read, 0);
    // SAFETY: filled by the successful call above.
    assert_eq!(unsafe { now.assume_init() }.sa_sigaction, host);
    common::close(r);
    common::close(w);
}

#[test]
fn enter_gives_up_waiting_after_its_timeout_and_says_what_it_took() {
    let mut h = Harness::new();
    let (r, w) = common::pipe();
    h.submit(read_async(1, r));
    let started = Instant::now();
    let e = h
        .exec
        .enter(1, 1, Some(Duration::from_millis(20)))
        .unwrap_err();
    assert!(started.elapsed() >= Duration::from_millis(20));
    assert!(
        matches!(e, sysgate_exec::EnterError::TimedOut { taken: 1 }),
        "{e:?}"
    );
    // The request it took is still in flight and completes later.
    common::write_all(w, b"late");
    let c = h.wait_one();
    assert_eq!((c.user_data, c.result), (1, 4));
    common::close(r);
    common::close(w);
}
