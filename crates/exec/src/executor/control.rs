//! Cancel, timeouts and link timeouts: what the timer thread fires, and
//! how requests on the pool or parked on readiness are found and stopped.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sysgate_proto::{CancelTarget, CompletionFlags};

use crate::timers::TimerEvent;

use super::Shared;
use super::jobs::{JobEntry, JobPhase};

/// Arms a timer, starting the executor's timer thread on first use.
pub(super) fn arm(
    shared: &Arc<Shared>,
    at: Instant,
    count_target: Option<u64>,
    event: TimerEvent,
) -> u64 {
    {
        let mut t = shared.timers.lock();
        if t.thread.is_none() && !t.stop {
            let for_thread = Arc::clone(shared);
            t.thread = std::thread::Builder::new()
                .name("sysgate-timer".into())
                .spawn(move || timer_main(&for_thread))
                .ok();
        }
    }
    shared.timers.add(at, count_target, event)
}

pub(super) fn timer_main(shared: &Arc<Shared>) {
    let timers = &shared.timers;
    let mut t = timers.lock();
    while !t.stop {
        let (due, next) = timers.take_due(&mut t, Instant::now());
        if due.is_empty() {
            t = match next {
                Some(at) => {
                    let left = at.saturating_duration_since(Instant::now());
                    timers
                        .changed
                        .wait_timeout(t, left)
                        .unwrap_or_else(|e| e.into_inner())
                        .0
                }
                None => timers.changed.wait(t).unwrap_or_else(|e| e.into_inner()),
            };
            continue;
        }
        drop(t);
        for event in due {
            fire(shared, event);
        }
        t = timers.lock();
    }
}

pub(super) fn fire(shared: &Arc<Shared>, event: TimerEvent) {
    let etime = -i64::from(libc::ETIME);
    match event {
        TimerEvent::Timeout { user_data } => {
            shared.post_result(user_data, etime, CompletionFlags::empty())
        }
        TimerEvent::LinkTimeout { user_data, job } => {
            cancel_jobs(shared, |id, _| id == job);
            shared.post_result(user_data, etime, CompletionFlags::empty());
        }
        TimerEvent::Reinterrupt => reinterrupt(shared),
    }
}

/// Cancels the pool jobs `matches` picks: a queued one completes
/// -ECANCELED now; a running one is interrupted (and completes -ECANCELED
/// when its call returns EINTR). Returns how many were found, and whether
/// any running one could not be interrupted.
pub(super) fn cancel_jobs(
    shared: &Arc<Shared>,
    matches: impl Fn(u64, &JobEntry) -> bool,
) -> (usize, bool) {
    let (mut found, mut stuck, mut interrupting) = (0, false, false);
    let mut answer = Vec::new();
    let mut unparked = Vec::new();
    {
        let mut jobs = shared.lock_jobs();
        for (&id, e) in jobs.entries.iter_mut() {
            if e.cancelled || e.answered || !matches(id, e) {
                continue;
            }
            found += 1;
            match (e.phase, shared.interrupt_signal) {
                (JobPhase::Queued, _) => {
                    e.cancelled = true;
                    e.answered = true;
                    answer.push(e.user_data);
                }
                (JobPhase::Parked, _) => {
                    match shared
                        .reactor
                        .get()
                        .and_then(Option::as_ref)
                        .and_then(|r| r.unpark(id))
                    {
                        Some(job) => {
                            e.cancelled = true;
                            e.answered = true;
                            answer.push(e.user_data);
                            unparked.push(job);
                        }
                        // The reactor is retrying it right now.
                        None => stuck = true,
                    }
                }
                (JobPhase::Running { tid }, Some(sig)) => {
                    e.cancelled = true;
                    crate::interrupt::interrupt(tid, sig);
                    interrupting = true;
                }
                _ => stuck = true,
            }
        }
        // Answered before the jobs lock is released, so the table never
        // looks empty with an answer still owed.
        for user_data in answer {
            let canceled = -i64::from(libc::ECANCELED);
            shared.post_result(user_data, canceled, CompletionFlags::POOL);
        }
    }
    // Dropped outside the jobs lock: a dropped job finishes itself (its
    // answer is already posted), cancelling the rest of its chain.
    drop(unparked);
    if interrupting {
        // A signal that lands just before the worker enters its syscall
        // interrupts nothing: try again shortly, until the call returns.
        let again = Instant::now() + Duration::from_millis(2);
        arm(shared, again, None, TimerEvent::Reinterrupt);
    }
    (found, stuck)
}

pub(super) fn reinterrupt(shared: &Arc<Shared>) {
    let Some(sig) = shared.interrupt_signal else {
        return;
    };
    let mut again = false;
    for e in shared.lock_jobs().entries.values() {
        if let (true, JobPhase::Running { tid }) = (e.cancelled, e.phase) {
            crate::interrupt::interrupt(tid, sig);
            again = true;
        }
    }
    if again {
        let at = Instant::now() + Duration::from_millis(2);
        arm(shared, at, None, TimerEvent::Reinterrupt);
    }
}

/// `Cancel { target }`: 0 (or, for an fd, how many) when cancelled,
/// -ENOENT when nothing matched, -EALREADY when a match is running and
/// cannot be interrupted.
pub(super) fn cancel(shared: &Arc<Shared>, target: CancelTarget) -> i64 {
    let (found, stuck) = match target {
        CancelTarget::UserData(u) => cancel_jobs(shared, |_, e| e.user_data == u),
        CancelTarget::Fd(fd) => cancel_jobs(shared, |_, e| e.fd == Some(fd)),
    };
    match (found, stuck, target) {
        (0, _, _) => -i64::from(libc::ENOENT),
        (_, true, _) => -i64::from(libc::EALREADY),
        (n, _, CancelTarget::Fd(_)) => n as i64,
        (_, _, CancelTarget::UserData(_)) => 0,
    }
}
