//! Requests that left the submitting thread: on the pool, or parked on
//! readiness — their table, and how each completes exactly once.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use sysgate_proto::{CompletionFlags, SubmissionFlags, codes};

use crate::call::{Outputs, PreparedCall};
use crate::dispatch::{Context, Step, inline_step};
use crate::pool::{Account, Job, PoolHandle};
use crate::timers::TimerEvent;

use super::control::arm;
use super::flow::{Chain, Pass, cancel_rest, completion, is_short, link_continues, run_chain};
use super::{Shared, reactor};

/// Registers a pool job for `call` (it still has to be submitted).
pub(super) fn punt_job(
    shared: &Arc<Shared>,
    account: Account,
    key: Option<crate::pool::FileKey>,
    (user_data, flags): (u64, SubmissionFlags),
    call: PreparedCall,
    filled: Option<usize>,
) -> Box<PuntedCall> {
    let id = {
        let mut jobs = shared.lock_jobs();
        jobs.next_id += 1;
        let id = jobs.next_id;
        let fd = crate::dispatch::fd_arg(&call);
        let entry = JobEntry {
            phase: JobPhase::Queued,
            cancelled: false,
            answered: false,
            user_data,
            fd,
        };
        jobs.entries.insert(id, entry);
        id
    };
    Box::new(PuntedCall {
        shared: Arc::clone(shared),
        pool: None,
        id,
        account,
        key,
        user_data,
        flags,
        call,
        filled,
        wait: None,
        ran: CompletionFlags::POOL,
        rest: None,
        link_timeout: None,
        done: false,
    })
}

/// The requests an executor has on the pool, by job id: what cancelling
/// and dropping need to find and interrupt them.
#[derive(Default)]
pub(super) struct JobTable {
    pub(super) next_id: u64,
    pub(super) entries: HashMap<u64, JobEntry>,
}

pub(super) struct JobEntry {
    pub(super) phase: JobPhase,
    /// Set by whoever wants the job gone; a running call interrupted while
    /// this is set completes -ECANCELED.
    pub(super) cancelled: bool,
    /// Its completion has been posted (by a canceller, or by the job). Only
    /// whoever flips this posts.
    pub(super) answered: bool,
    pub(super) user_data: u64,
    /// The fd argument, for `CancelTarget::Fd`.
    pub(super) fd: Option<i32>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum JobPhase {
    /// Waiting in the pool's queue.
    Queued,
    /// In its syscall on worker thread `tid`: signals may be sent to it.
    Running { tid: i32 },
    /// The syscall returned; no more signals.
    Finishing,
    /// Parked on readiness in the reactor.
    Parked,
}

impl Shared {
    pub(super) fn lock_jobs(&self) -> std::sync::MutexGuard<'_, JobTable> {
        self.jobs.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A call running on the pool, with the rest of its link chain.
pub(super) struct PuntedCall {
    pub(super) shared: Arc<Shared>,
    /// Where follow-up chain members go; set at submission.
    pub(super) pool: Option<PoolHandle>,
    pub(super) id: u64,
    pub(super) account: Account,
    pub(super) key: Option<crate::pool::FileKey>,
    pub(super) user_data: u64,
    pub(super) flags: SubmissionFlags,
    pub(super) call: PreparedCall,
    pub(super) filled: Option<usize>,
    /// The fd and events to wait for before retrying inline, instead of
    /// taking a worker.
    pub(super) wait: Option<(i32, i16)>,
    /// Where it ran: POOL, or POLLED once retried after readiness.
    pub(super) ran: CompletionFlags,
    /// This request's flags and the chain members after it.
    pub(super) rest: Option<(SubmissionFlags, Chain)>,
    /// The armed `LinkTimeout` bounding this request: its timer id and
    /// user_data.
    pub(super) link_timeout: Option<(u64, u64)>,
    pub(super) done: bool,
}

impl PuntedCall {
    /// Queues the job; with `link_timeout` (its user_data and duration),
    /// arms the timer that cancels it. `ctx` is the thread doing it.
    pub(super) fn submit(
        mut self: Box<Self>,
        shared: &Arc<Shared>,
        pool: &PoolHandle,
        link_timeout: Option<(u64, u64)>,
        ctx: Context,
    ) {
        self.pool = Some(pool.clone());
        if let Some((user_data, nanos)) = link_timeout {
            let at = Instant::now() + Duration::from_nanos(nanos);
            let event = TimerEvent::LinkTimeout {
                user_data,
                job: self.id,
            };
            self.link_timeout = Some((arm(shared, at, None, event), user_data));
        }
        // On the thread that reaps (the submitter in `enter` mode, the
        // poller in polling mode) the poll is handed to the kernel by its
        // next `io_uring_enter`, saving a syscall; every other thread — and
        // every thread once a `CompletionWaiter` reaps instead of `enter` —
        // submits it at once.
        let reaper = if shared.poller_mode {
            Context::Poller
        } else {
            Context::Submitter
        };
        let defer = ctx == reaper
            && !shared.reactor_thread_needed.load(Ordering::Relaxed)
            && !shared.external_waiter.load(Ordering::SeqCst);
        self.queue(shared, defer);
    }

    /// Parks the job on readiness if it waits for an fd and the reactor
    /// can take it; otherwise hands it to the pool. With `defer`, the poll
    /// is queued for the next `io_uring_enter` on the reactor rather than
    /// submitted now (only for the thread that will make that call).
    pub(super) fn queue(mut self: Box<Self>, shared: &Arc<Shared>, defer: bool) {
        // The reactor is created only for a job that waits on an fd.
        if let Some((fd, events)) = self.wait.take()
            && let Some(reactor) = reactor(shared)
        {
            self.enter_phase(JobPhase::Parked);
            match reactor.park(self.id, fd, events, self, !defer) {
                Ok(()) => {
                    shared.counters.parked.fetch_add(1, Ordering::Relaxed);
                    if !defer {
                        // Parked by a thread that does not reap: the one
                        // that does must start watching the reactor.
                        match shared.sq_waker.get() {
                            Some(poller) => drop(poller.wake()),
                            None => shared.cq.notify_waiters(),
                        }
                    }
                    return;
                }
                Err(job) => self = job,
            }
        }
        let counter = match self.account {
            Account::Bounded => &shared.counters.punted_bounded,
            Account::Unbounded => &shared.counters.punted_unbounded,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        let (account, key) = (self.account, self.key);
        match self.pool.clone() {
            Some(pool) => pool.submit(account, key, self),
            // Never submitted: dropping it completes it.
            None => drop(self),
        }
    }

    /// The reactor saw its fd ready: try the call again, here.
    pub(super) fn retry(mut self: Box<Self>) {
        let shared = Arc::clone(&self.shared);
        self.enter_phase(JobPhase::Finishing);
        match inline_step(&mut self.call, self.flags, Context::Poller) {
            Step::Done(result) => {
                shared.counters.polled.fetch_add(1, Ordering::Relaxed);
                self.ran = CompletionFlags::POLLED;
                self.finish(result, true);
            }
            Step::Refused(code) => self.finish(code, false),
            // Readiness said ready, yet the call would wait again. Either it
            // has no form that cannot block (accept, connect) and so was not
            // tried; or its file refuses NOWAIT (a tty answers RWF_NOWAIT with
            // EOPNOTSUPP yet polls ready); or another reader took the data.
            // Parking again would spin in the first two cases, since the fd
            // stays ready: a worker runs it, as the blocking call would wait.
            // So no request waits for readiness more than once.
            Step::WouldBlock { .. } => {
                (self.account, self.key) = (Account::Unbounded, None);
                self.queue(&shared, true);
            }
            Step::Punt(account, key) => {
                (self.account, self.key) = (account, key);
                self.queue(&shared, true);
            }
        }
    }

    /// Moves the job to `phase`; returns whether it was cancelled.
    pub(super) fn enter_phase(&self, phase: JobPhase) -> bool {
        let mut jobs = self.shared.lock_jobs();
        match jobs.entries.get_mut(&self.id) {
            Some(e) => {
                e.phase = phase;
                e.cancelled
            }
            None => true,
        }
    }

    pub(super) fn finish(&mut self, result: i64, with_outputs: bool) {
        if std::mem::replace(&mut self.done, true) {
            return;
        }
        // Whoever flips `answered` posts; a canceller may have done it.
        let already = {
            let mut jobs = self.shared.lock_jobs();
            let entry = jobs.entries.get_mut(&self.id);
            entry.is_none_or(|e| std::mem::replace(&mut e.answered, true))
        };
        let lt_result = self.link_timeout.take().map(|(timer, user_data)| {
            if self.shared.timers.remove(timer).is_some() {
                // Finished first: the link timeout is cancelled.
                let canceled = -i64::from(libc::ECANCELED);
                self.shared
                    .post_result(user_data, canceled, CompletionFlags::empty());
                canceled
            } else {
                // The timer fired (and answered -ETIME) first.
                -i64::from(libc::ETIME)
            }
        });
        let mut outputs = Outputs::default();
        if already {
            // A canceller answered this request already.
        } else if with_outputs {
            let c = completion(self.user_data, result, self.ran, &self.call, self.filled);
            self.shared.post(&c);
            outputs = Outputs {
                bytes: c.outputs,
                arena: self.call.arena_outputs(result, self.filled),
            };
        } else {
            self.shared.post_result(self.user_data, result, self.ran);
        }
        // The chain goes on from this worker (its members are already off
        // the submitting thread), before this job leaves the table, so a
        // dropping executor waits for the members it queues.
        if let Some((flags, mut chain)) = self.rest.take() {
            let ok = with_outputs && result >= 0 && !is_short(&self.call, result);
            chain.record(result, outputs);
            if let Some(lt) = lt_result {
                chain.record(lt, Outputs::default());
            }
            let mut pass = Pass::default();
            match &self.pool {
                Some(pool) if link_continues(flags, ok) => {
                    run_chain(&self.shared, pool, Context::Worker, &mut pass, chain)
                }
                _ => cancel_rest(&mut chain, &mut pass),
            }
            self.shared.end_pass(&mut pass);
        }
        // Posted first, removed second: a dropping executor that sees the
        // table empty knows every completion is on the ring.
        let mut jobs = self.shared.lock_jobs();
        jobs.entries.remove(&self.id);
        if jobs.entries.is_empty() {
            self.shared.pool_drained.notify_all();
        }
    }
}

impl Job for PuntedCall {
    fn run(&mut self, tid: i32) {
        let cancelled = self.enter_phase(JobPhase::Running { tid });
        if cancelled || self.shared.closing.load(Ordering::Acquire) {
            return self.finish(-i64::from(libc::ECANCELED), false);
        }
        #[cfg(test)]
        if self.call.nr == self.shared.panic_on_nr.load(Ordering::Relaxed) {
            self.enter_phase(JobPhase::Finishing);
            panic!("injected worker panic");
        }
        let result = self.call.run();
        let result = self.call.total(result);
        let cancelled = self.enter_phase(JobPhase::Finishing);
        if cancelled && result == -i64::from(libc::EINTR) {
            self.finish(-i64::from(libc::ECANCELED), false);
        } else {
            self.finish(result, true);
        }
    }

    fn panicked(&mut self) {
        self.enter_phase(JobPhase::Finishing);
        self.finish(codes::WORKER_PANICKED, false);
    }
}

impl Drop for PuntedCall {
    /// A job dropped without running (the pool could not take it) still
    /// completes.
    fn drop(&mut self) {
        self.finish(-i64::from(libc::ECANCELED), false);
    }
}
