//! The executor: takes frames off the submission ring, runs them where they
//! belong, and answers each with exactly one completion.

use std::collections::{HashMap, VecDeque};
#[cfg(test)]
use std::sync::atomic::AtomicU32;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use sysgate_proto::{
    CancelTarget, Completion, CompletionFlags, DecodeError, Op, Submission, SubmissionFlags, codes,
    decode, peek_user_data,
};

use crate::call::PreparedCall;
use crate::dispatch::{Context, Step, inline_step};
use crate::pool::{Account, Job, PoolConfig, PoolHandle, WorkerPool};
use crate::reactor::Reactor;
use crate::rings::{CompletionBatch, CompletionQueue, CqWriter, SqReader};
use crate::timers::{TimerEvent, Timers};
use crate::{EnterError, ExecStats};
use sysgate_ring::RingWaker;

/// Builds an [`Executor`].
#[derive(Clone)]
pub struct ExecutorBuilder {
    pool: Option<WorkerPool>,
    pool_config: Option<PoolConfig>,
    sq_poll_idle: Option<Duration>,
}

impl ExecutorBuilder {
    /// Shares `pool` (of another executor) instead of starting a new one.
    pub fn pool(mut self, pool: WorkerPool) -> Self {
        self.pool = Some(pool);
        self
    }

    /// The configuration of a new pool (ignored with [`ExecutorBuilder::pool`]).
    pub fn pool_config(mut self, config: PoolConfig) -> Self {
        self.pool_config = Some(config);
        self
    }

    /// Runs a submission-polling thread (like `IORING_SETUP_SQPOLL`) that
    /// takes submissions as they arrive and sleeps after `idle` without any.
    /// Thread-affine calls are refused in this mode: the poller is not the
    /// submitting thread.
    pub fn sq_poll(mut self, idle: Duration) -> Self {
        self.sq_poll_idle = Some(idle);
        self
    }

    /// Starts the executor on the executor's ends of a region's rings: the
    /// submission ring's consumer and the completion ring's producer.
    pub fn build(self, sq: sysgate_ring::Consumer, cq: sysgate_ring::Producer) -> Executor {
        let cq = CompletionQueue::new(sysgate_ring::CompletionPoster::new(cq));
        Executor::start(self, SqReader::new(sq), cq)
    }
}

/// Counters shared by the executor, its poller and the pool's jobs.
#[derive(Default)]
struct Counters {
    submitted: AtomicU64,
    inline: AtomicU64,
    punted_bounded: AtomicU64,
    punted_unbounded: AtomicU64,
    refused: AtomicU64,
    protocol_errors: AtomicU64,
    parked: AtomicU64,
    polled: AtomicU64,
    completed: AtomicU64,
}

/// What the submitting side, the poller and the workers share.
pub(crate) struct Shared {
    cq: CompletionQueue,
    counters: Counters,
    /// Requests handed to the pool and not yet completed.
    jobs: Mutex<JobTable>,
    pool_drained: Condvar,
    /// Set when the executor is dropped: queued work completes -ECANCELED.
    closing: AtomicBool,
    /// Timeouts, link timeouts and interrupt retries.
    timers: Timers,
    /// The pool's interrupt signal, if running calls can be interrupted.
    interrupt_signal: Option<i32>,
    /// Parked requests waiting for readiness, once one has been parked
    /// (`None` inside: io_uring is unavailable, parked calls use the pool).
    reactor: OnceLock<Option<Reactor<Box<PuntedCall>>>>,
    reactor_thread: Mutex<Option<JoinHandle<()>>>,
    /// A polling thread takes submissions and processes readiness;
    /// otherwise `enter` does both.
    poller_mode: bool,
    /// The polling thread's ring waker, to make it look at a request parked
    /// by another thread.
    sq_waker: OnceLock<RingWaker>,
    /// The kernel has no io_uring `FUTEX_WAIT` (before 6.7): the polling
    /// thread cannot sleep on its ring and its polls at once, so a reactor
    /// thread processes readiness instead.
    reactor_thread_needed: AtomicBool,
    #[cfg(test)]
    panic_on_nr: AtomicU32,
}

impl Shared {
    fn post(&self, c: &Completion<'_>) {
        // Counted first, so that whoever reaps the completion sees it counted.
        let done = self.counters.completed.fetch_add(1, Ordering::Relaxed) + 1;
        if self.cq.post(c) {
            self.wake_reaper();
        }
        self.fire_counted(done);
    }

    /// Wakes the thread waiting for completions in the reactor's ring.
    fn wake_reaper(&self) {
        if let Some(Some(reactor)) = self.reactor.get() {
            reactor.wake();
        }
    }

    /// The reactor, if requests are parked in it and `enter` is the one to
    /// process their readiness (not a polling-mode reactor thread).
    fn reactor_for_enter(&self) -> Option<&Reactor<Box<PuntedCall>>> {
        let reactor = self.reactor.get()?.as_ref()?;
        (!self.poller_mode && reactor.len() > 0).then_some(reactor)
    }

    /// The reactor, if requests are parked in it and the polling thread is
    /// the one to process their readiness.
    fn reactor_for_poller(&self) -> Option<&Reactor<Box<PuntedCall>>> {
        let reactor = self.reactor.get()?.as_ref()?;
        let fallback = self.reactor_thread_needed.load(Ordering::Relaxed);
        (self.poller_mode && !fallback && reactor.len() > 0).then_some(reactor)
    }

    /// Answers the `Timeout`s whose completion count `done` has reached.
    fn fire_counted(&self, done: u64) {
        for event in self.timers.take_counted(done) {
            if let TimerEvent::Timeout { user_data } = event {
                self.post_result(user_data, 0, CompletionFlags::empty());
            }
        }
    }
    fn post_result(&self, user_data: u64, result: i64, flags: CompletionFlags) {
        self.post(&Completion::new(user_data, result, flags));
    }
}

/// The executor of one submission ring.
///
/// In the default mode nothing runs until [`Executor::enter`] is called on
/// the submitting thread; with [`ExecutorBuilder::sq_poll`] a polling thread
/// takes submissions instead.
pub struct Executor {
    /// `None` in polling mode: the poller owns the submission ring.
    sq: Option<SqReader>,
    shared: Arc<Shared>,
    pool: WorkerPool,
    frame: Vec<u8>,
    /// Reused by every `enter`.
    pass: Pass,
    poller: Option<Poller>,
}

/// Completions a pass collects before handing them over.
const PASS_BATCH: usize = 64;

struct Poller {
    stop: Arc<AtomicBool>,
    waker: RingWaker,
    thread: JoinHandle<()>,
}

impl Executor {
    /// Options for a new executor.
    pub fn builder() -> ExecutorBuilder {
        ExecutorBuilder {
            pool: None,
            pool_config: None,
            sq_poll_idle: None,
        }
    }

    pub(crate) fn start(builder: ExecutorBuilder, sq: SqReader, cq: CompletionQueue) -> Self {
        let entries = sq.capacity_hint();
        let pool = builder.pool.unwrap_or_else(|| {
            WorkerPool::new(
                builder
                    .pool_config
                    .unwrap_or_else(|| PoolConfig::for_entries(entries)),
            )
        });
        let shared = Arc::new(Shared {
            cq,
            counters: Counters::default(),
            jobs: Mutex::new(JobTable::default()),
            pool_drained: Condvar::new(),
            closing: AtomicBool::new(false),
            timers: Timers::default(),
            interrupt_signal: pool.interrupt_signal(),
            reactor: OnceLock::new(),
            reactor_thread: Mutex::new(None),
            poller_mode: builder.sq_poll_idle.is_some(),
            sq_waker: OnceLock::new(),
            reactor_thread_needed: AtomicBool::new(false),
            #[cfg(test)]
            panic_on_nr: AtomicU32::new(u32::MAX),
        });
        let mut exec = Executor {
            sq: Some(sq),
            shared,
            pool,
            frame: Vec::new(),
            pass: Pass::default(),
            poller: None,
        };
        if let Some(idle) = builder.sq_poll_idle {
            exec.start_poller(idle);
        }
        exec
    }

    fn start_poller(&mut self, idle: Duration) {
        let mut sq = self.sq.take().expect("the poller starts once");
        let stop = Arc::new(AtomicBool::new(false));
        let waker = sq.waker();
        let _ = self.shared.sq_waker.set(sq.waker());
        let (shared, pool, stop2) = (
            Arc::clone(&self.shared),
            self.pool.clone(),
            Arc::clone(&stop),
        );
        let thread = std::thread::Builder::new()
            .name("sysgate-sqpoll".into())
            .spawn(move || {
                let mut frame = Vec::new();
                let mut pass = Pass::default();
                let mut last_work = Instant::now();
                let mut futex_armed = false;
                while !stop2.load(Ordering::Acquire) {
                    if let Some(reactor) = shared.reactor_for_poller() {
                        let _ = reactor.reap(false, None, |job| job.retry());
                    }
                    let draining = pass.drain.is_some()
                        && release_drain(&shared, &pool, Context::Poller, &mut pass);
                    match sq.pop(&mut frame) {
                        Ok(true) => {
                            process(&shared, &pool, &frame, Context::Poller, &mut pass);
                            if pass.batch.len() >= PASS_BATCH {
                                shared.end_pass(&mut pass);
                            }
                            last_work = Instant::now();
                        }
                        Ok(false) if pass.submitted > 0 => shared.end_pass(&mut pass),
                        Ok(false) if last_work.elapsed() < idle => std::hint::spin_loop(),
                        Ok(false) => {
                            // Idle long enough: sleep until a submitter (or
                            // drop) wakes us. The ring sets NEED_WAKEUP.
                            // A waiting DRAIN is checked every millisecond.
                            let nap = draining.then_some(Duration::from_millis(1));
                            let slept = match shared.reactor_for_poller() {
                                // Parked requests: sleep in the reactor's
                                // io_uring, on the polls and on the ring's
                                // tail (an io_uring FUTEX_WAIT) at once.
                                Some(reactor) if nap.is_none() => sq.wait_with(|word, value| {
                                    if !futex_armed {
                                        futex_armed = reactor.arm_futex_wait(word, value);
                                    }
                                    let woke = reactor.reap(true, None, |job| job.retry());
                                    if let Some(result) = woke {
                                        futex_armed = false;
                                        let fine =
                                            [0, -libc::EAGAIN, -libc::EINTR, -libc::ECANCELED];
                                        if !fine.contains(&result) {
                                            // No io_uring futexes here.
                                            shared
                                                .reactor_thread_needed
                                                .store(true, Ordering::Relaxed);
                                            reactor_thread(&shared);
                                        }
                                    }
                                }),
                                _ => sq.wait(nap),
                            };
                            if slept.is_err() {
                                break;
                            }
                            last_work = Instant::now();
                        }
                        // A corrupt ring cannot be read any further.
                        Err(_) => break,
                    }
                }
                // Members of a chain whose last member never came, and
                // what a DRAIN held back.
                abandon_open_chain(&mut pass);
                abandon_drain(&mut pass);
                shared.end_pass(&mut pass);
            })
            .expect("spawning the polling thread");
        self.poller = Some(Poller {
            stop,
            waker,
            thread,
        });
    }

    /// Like `io_uring_enter`: takes up to `to_submit` submissions off the
    /// ring and dispatches them on this thread — running inline whatever
    /// cannot block — then waits (sleeping on a futex, never spinning) until
    /// at least `min_complete` completions are waiting in the completion
    /// ring, or `timeout` passes. Returns the number of submissions taken.
    ///
    /// In polling mode `to_submit` is ignored: the poller takes them.
    pub fn enter(
        &mut self,
        to_submit: u32,
        min_complete: u32,
        timeout: Option<Duration>,
    ) -> Result<u32, EnterError> {
        let mut taken = 0;
        if self.pass.drain.is_some() {
            self.release_drain();
        }
        if let Some(sq) = &mut self.sq {
            let pass = &mut self.pass;
            let mut failed = None;
            while taken < to_submit {
                match sq.pop(&mut self.frame) {
                    Ok(true) => {
                        process(
                            &self.shared,
                            &self.pool,
                            &self.frame,
                            Context::Submitter,
                            pass,
                        );
                        taken += 1;
                        if pass.batch.len() >= PASS_BATCH {
                            self.shared.end_pass(pass);
                        }
                    }
                    Ok(false) => break,
                    Err(e) => {
                        failed = Some(e);
                        break;
                    }
                }
            }
            self.shared.end_pass(pass);
            let released = sq.release();
            if let Some(e) = failed.or(released.err()) {
                return Err(EnterError::Ring(e));
            }
        }
        // In polling mode the poller takes submissions; a submitter's push
        // already woke it if it was asleep (NEED_WAKEUP).
        self.shared.cq.flush();
        let deadline = timeout.map(|t| Instant::now() + t);
        if let Some(reactor) = self.shared.reactor_for_enter() {
            // Readiness that arrived since: retried here, without a syscall
            // if no poll fired.
            reactor.reap(false, None, |job| job.retry());
        }
        while min_complete > 0 && self.release_drain() {
            // Held submissions are started here, on the submitting thread,
            // as soon as the completions they wait for have been posted.
            let done = self.shared.counters.completed.load(Ordering::Relaxed);
            let completed = &self.shared.counters.completed;
            if !self.wait_for_progress(deadline, |_| completed.load(Ordering::Relaxed) > done) {
                return Err(EnterError::TimedOut { taken });
            }
        }
        let n = min_complete as usize;
        if min_complete > 0 && !self.wait_for_progress(deadline, |w| w.pending() >= n) {
            return Err(EnterError::TimedOut { taken });
        }
        Ok(taken)
    }

    /// Sleeps until `done` holds or `deadline` passes (`false`). While
    /// requests are parked, sleeps in the reactor's ring instead of on the
    /// condition variable, and retries whatever becomes ready right here:
    /// readiness is processed by `enter`, on the submitting thread.
    fn wait_for_progress(
        &self,
        deadline: Option<Instant>,
        mut done: impl FnMut(&mut CqWriter) -> bool,
    ) -> bool {
        let shared = &self.shared;
        loop {
            let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            if let Some(reactor) = shared.reactor_for_enter() {
                reactor.reap(false, None, |job| job.retry());
                if !shared.cq.register_ring_waiter_unless(&mut done) {
                    return true;
                }
                if left.is_some_and(|l| l.is_zero()) {
                    shared.cq.unregister_ring_waiter();
                    return false;
                }
                reactor.reap(true, left, |job| job.retry());
                shared.cq.unregister_ring_waiter();
            } else {
                let parked = || shared.reactor_for_enter().is_some();
                if !shared.cq.wait_until(left, |w| done(w) || parked()) {
                    return false;
                }
                if !parked() {
                    return true;
                }
            }
        }
    }

    /// Starts what a satisfied DRAIN held back; whether one still waits.
    fn release_drain(&mut self) -> bool {
        let waiting = release_drain(&self.shared, &self.pool, Context::Submitter, &mut self.pass);
        self.shared.end_pass(&mut self.pass);
        waiting
    }

    /// The pool this executor punts to (clone it to share it).
    pub fn pool(&self) -> &WorkerPool {
        &self.pool
    }

    /// A snapshot of the executor's and its pool's counters.
    pub fn stats(&self) -> ExecStats {
        let c = &self.shared.counters;
        let pool = self.pool.stats();
        ExecStats {
            submitted: c.submitted.load(Ordering::Relaxed),
            inline: c.inline.load(Ordering::Relaxed),
            punted_bounded: c.punted_bounded.load(Ordering::Relaxed),
            punted_unbounded: c.punted_unbounded.load(Ordering::Relaxed),
            refused: c.refused.load(Ordering::Relaxed),
            protocol_errors: c.protocol_errors.load(Ordering::Relaxed),
            parked_total: c.parked.load(Ordering::Relaxed),
            polled: c.polled.load(Ordering::Relaxed),
            parked: self
                .shared
                .reactor
                .get()
                .and_then(Option::as_ref)
                .map_or(0, |r| r.len() as u64),
            completed: c.completed.load(Ordering::Relaxed),
            lost: self.shared.cq.lost(),
            in_pool: self.shared.lock_jobs().entries.len() as u64,
            pool,
        }
    }

    #[cfg(test)]
    pub(crate) fn panic_on(&self, nr: u32) {
        self.shared.panic_on_nr.store(nr, Ordering::Relaxed);
    }
}

impl Drop for Executor {
    fn drop(&mut self) {
        if let Some(p) = self.poller.take() {
            p.stop.store(true, Ordering::Release);
            // If the wake fails the poller is not asleep on the ring.
            let _ = p.waker.wake();
            let _ = p.thread.join();
        }
        // Whatever is still on the submission ring was accepted by the
        // ring: answer it too.
        if let Some(sq) = &mut self.sq {
            while let Ok(true) = sq.pop(&mut self.frame) {
                process(
                    &self.shared,
                    &self.pool,
                    &self.frame,
                    Context::Submitter,
                    &mut self.pass,
                );
            }
            // A chain whose last member never arrived never started, nor
            // did what a DRAIN held back.
            abandon_open_chain(&mut self.pass);
            abandon_drain(&mut self.pass);
            self.shared.end_pass(&mut self.pass);
        }
        // Queued work now completes -ECANCELED when a worker takes it; work
        // running on a worker is interrupted until it returns.
        self.shared.closing.store(true, Ordering::Release);
        // Parked requests are cancelled: each finishes -ECANCELED as it
        // drops, and no poll stays armed.
        if let Some(Some(reactor)) = self.shared.reactor.get() {
            reactor.stop();
            let thread = self
                .shared
                .reactor_thread
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take();
            if let Some(thread) = thread {
                let _ = thread.join();
            }
            drop(reactor.unpark_all());
        }
        let signal = self.pool.interrupt_signal();
        let mut jobs = self.shared.lock_jobs();
        while !jobs.entries.is_empty() {
            if let Some(sig) = signal {
                for job in jobs.entries.values_mut() {
                    if let JobPhase::Running { tid } = job.phase {
                        job.cancelled = true;
                        crate::interrupt::interrupt(tid, sig);
                    }
                }
            }
            // Re-sent every few milliseconds: a signal that lands just before
            // the worker enters its syscall interrupts nothing.
            jobs = self
                .shared
                .pool_drained
                .wait_timeout(jobs, Duration::from_millis(5))
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        drop(jobs);
        // Timers last: finishing jobs disarm their link timeouts. What is
        // still armed is answered -ECANCELED.
        let (thread, left) = {
            let mut t = self.shared.timers.lock();
            t.stop = true;
            let left = self.shared.timers.take_all(&mut t);
            (t.thread.take(), left)
        };
        self.shared.timers.changed.notify_all();
        if let Some(thread) = thread {
            let _ = thread.join();
        }
        for event in left {
            match event {
                TimerEvent::Timeout { user_data } | TimerEvent::LinkTimeout { user_data, .. } => {
                    let canceled = -i64::from(libc::ECANCELED);
                    self.shared
                        .post_result(user_data, canceled, CompletionFlags::empty());
                }
                TimerEvent::Reinterrupt => {}
            }
        }
    }
}

/// The executor's reactor, created (with its thread) on first use; `None`
/// if io_uring is unavailable or the executor is closing.
fn reactor(shared: &Arc<Shared>) -> Option<&Reactor<Box<PuntedCall>>> {
    if shared.closing.load(Ordering::Acquire) {
        return None;
    }
    let reactor = shared.reactor.get_or_init(|| Reactor::new().ok());
    // Readiness is processed by `enter`, or by the polling thread; only
    // where the polling thread cannot sleep on both its ring and its polls
    // does a thread of its own do it.
    if reactor.is_some() && shared.reactor_thread_needed.load(Ordering::Relaxed) {
        reactor_thread(shared);
    }
    reactor.as_ref()
}

/// Starts the reactor thread (once).
fn reactor_thread(shared: &Arc<Shared>) {
    let mut thread = shared
        .reactor_thread
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if thread.is_none() {
        let for_thread = Arc::clone(shared);
        *thread = std::thread::Builder::new()
            .name("sysgate-poll".into())
            .spawn(move || {
                if let Some(Some(r)) = for_thread.reactor.get() {
                    r.run(|job: Box<PuntedCall>| job.retry());
                }
            })
            .ok();
    }
}

/// Arms a timer, starting the executor's timer thread on first use.
fn arm(shared: &Arc<Shared>, at: Instant, count_target: Option<u64>, event: TimerEvent) -> u64 {
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

fn timer_main(shared: &Arc<Shared>) {
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

fn fire(shared: &Arc<Shared>, event: TimerEvent) {
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
fn cancel_jobs(shared: &Arc<Shared>, matches: impl Fn(u64, &JobEntry) -> bool) -> (usize, bool) {
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

fn reinterrupt(shared: &Arc<Shared>) {
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
fn cancel(shared: &Arc<Shared>, target: CancelTarget) -> i64 {
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

/// What one pass over the submission ring produced on this thread: its
/// completions, encoded locally, and its counts. [`Shared::end_pass`] hands
/// them over at once — one lock, one publish, a few atomic adds per batch
/// rather than per request.
#[derive(Default)]
pub(crate) struct Pass {
    batch: CompletionBatch,
    /// A link chain whose last member has not arrived yet.
    chain: Option<ChainBuilder>,
    /// A DRAIN request waiting for everything before it, and the frames
    /// held behind it.
    drain: Option<Drain>,
    submitted: u64,
    inline: u64,
    refused: u64,
    protocol_errors: u64,
}

impl Pass {
    fn post(&mut self, user_data: u64, result: i64, flags: CompletionFlags) {
        self.batch.push(&Completion::new(user_data, result, flags));
    }
}

impl Shared {
    fn end_pass(&self, pass: &mut Pass) {
        let c = &self.counters;
        for (counter, n) in [
            (&c.submitted, &mut pass.submitted),
            (&c.inline, &mut pass.inline),
            (&c.refused, &mut pass.refused),
            (&c.protocol_errors, &mut pass.protocol_errors),
        ] {
            if *n > 0 {
                counter.fetch_add(std::mem::take(n), Ordering::Relaxed);
            }
        }
        // Counted before posting, so whoever reaps them sees them counted.
        let n = pass.batch.len() as u64;
        let done = c.completed.fetch_add(n, Ordering::Relaxed) + n;
        if self.cq.post_batch(&mut pass.batch) {
            self.wake_reaper();
        }
        self.fire_counted(done);
    }
}

/// Decodes, validates and dispatches one submission frame. Every path ends
/// in exactly one completion: in `pass` now, or from the pool later.
fn process(shared: &Arc<Shared>, pool: &WorkerPool, frame: &[u8], ctx: Context, pass: &mut Pass) {
    // This frame's place in arrival order: how many came before it.
    let seq = shared.counters.submitted.load(Ordering::Relaxed) + pass.submitted;
    pass.submitted += 1;
    if let Some(drain) = &mut pass.drain {
        drain.held.push_back((seq, frame.to_vec()));
        return;
    }
    dispatch_frame(shared, pool, frame, seq, ctx, pass, true);
}

/// A DRAIN request that must wait, and the frames held behind it, with
/// their arrival numbers. Until it starts, `gate` is its own arrival number
/// (it starts once that many completions — everything before it — have
/// been posted); after, `gate` is one more (what follows it starts once it
/// has completed too, as with io_uring's IOSQE_IO_DRAIN).
pub(crate) struct Drain {
    gate: u64,
    started: bool,
    held: VecDeque<(u64, Vec<u8>)>,
}

/// Completions posted so far, including those still in `pass`. Each
/// request completes exactly once and nothing after a waiting DRAIN has
/// started, so "all requests before arrival number n completed" is
/// "n completions posted".
fn completed_so_far(shared: &Shared, pass: &Pass) -> u64 {
    shared.counters.completed.load(Ordering::Relaxed) + pass.batch.len() as u64
}

/// Starts what a waiting DRAIN held back as far as the completions posted
/// allow. Returns whether a DRAIN still waits.
fn release_drain(shared: &Arc<Shared>, pool: &WorkerPool, ctx: Context, pass: &mut Pass) -> bool {
    loop {
        let Some(gate) = pass.drain.as_ref().map(|d| d.gate) else {
            return false;
        };
        if completed_so_far(shared, pass) < gate {
            return true;
        }
        let Some(drain) = pass.drain.take() else {
            return false;
        };
        let mut held = drain.held;
        if !drain.started {
            let Some((seq, frame)) = held.pop_front() else {
                continue;
            };
            dispatch_frame(shared, pool, &frame, seq, ctx, pass, false);
            pass.drain = Some(Drain {
                gate: seq + 1,
                started: true,
                held,
            });
            continue;
        }
        // Past the barrier: the rest start in order; a later DRAIN among
        // them holds back what follows it.
        for (seq, frame) in held {
            match &mut pass.drain {
                Some(d) => d.held.push_back((seq, frame)),
                None => dispatch_frame(shared, pool, &frame, seq, ctx, pass, true),
            }
        }
    }
}

/// Decodes, validates and starts one frame; with `check_drain`, a DRAIN
/// frame that must wait is held instead.
fn dispatch_frame(
    shared: &Arc<Shared>,
    pool: &WorkerPool,
    frame: &[u8],
    seq: u64,
    ctx: Context,
    pass: &mut Pass,
    check_drain: bool,
) {
    let drain_flag = frame
        .get(9)
        .is_some_and(|&f| f & SubmissionFlags::DRAIN.bits() != 0);
    // (A DRAIN inside a link chain does not wait on its own.)
    if check_drain && drain_flag && pass.chain.is_none() && completed_so_far(shared, pass) < seq {
        let held = VecDeque::from([(seq, frame.to_vec())]);
        pass.drain = Some(Drain {
            gate: seq,
            started: false,
            held,
        });
        return;
    }
    let sub: Submission<'_> = match decode(frame) {
        Ok(sub) => sub,
        Err(e) => {
            let user_data = peek_user_data(frame).unwrap_or(codes::UNKNOWN_USER_DATA);
            let code = match e {
                DecodeError::UnsupportedVersion { .. } => codes::UNSUPPORTED_VERSION,
                _ => codes::UNDECODABLE,
            };
            pass.protocol_errors += 1;
            pass.post(user_data, code, CompletionFlags::PROTOCOL_ERROR);
            // An unreadable member breaks its chain: the other members are
            // cancelled. Its flags byte, if there is one, says whether the
            // chain goes on past it.
            let links_on = frame
                .get(9)
                .is_some_and(|&f| SubmissionFlags::from_bits_retain(f).links_next());
            if links_on || pass.chain.is_some() {
                pass.chain.get_or_insert_with(ChainBuilder::default).broken = true;
            }
            if !links_on {
                close_chain(shared, pool, ctx, pass);
            }
            return;
        }
    };
    if pass.chain.is_some() || sub.flags.links_next() {
        let last = !sub.flags.links_next();
        pass.chain
            .get_or_insert_with(ChainBuilder::default)
            .subs
            .push(sub.into_owned());
        if last {
            close_chain(shared, pool, ctx, pass);
        }
        return;
    }
    if sub.validate(None).is_err() {
        pass.protocol_errors += 1;
        pass.post(
            sub.user_data,
            codes::INVALID,
            CompletionFlags::PROTOCOL_ERROR,
        );
        return;
    }
    if let Started::Pooled(job) = start(shared, ctx, pass, &sub, &[]) {
        job.submit(shared, &pool.handle(), None, ctx);
    }
}

/// A link chain being read off the ring: it runs once its last member (one
/// without LINK/HARDLINK) has arrived.
#[derive(Default)]
pub(crate) struct ChainBuilder {
    subs: Vec<Submission<'static>>,
    /// A member failed to decode: the rest are cancelled, not run.
    broken: bool,
}

/// The members of a chain still to run, and the results of those that ran
/// (what `Arg::LinkResult` refers to).
struct Chain {
    subs: VecDeque<Submission<'static>>,
    results: Vec<i64>,
}

fn close_chain(shared: &Arc<Shared>, pool: &WorkerPool, ctx: Context, pass: &mut Pass) {
    let Some(b) = pass.chain.take() else { return };
    let mut chain = Chain {
        subs: b.subs.into(),
        results: Vec::new(),
    };
    if b.broken {
        cancel_rest(&mut chain, pass);
    } else {
        run_chain(shared, &pool.handle(), ctx, pass, chain);
    }
}

/// Answers every frame a DRAIN still holds back with -ECANCELED.
fn abandon_drain(pass: &mut Pass) {
    for (_, frame) in pass.drain.take().into_iter().flat_map(|d| d.held) {
        let user_data = peek_user_data(&frame).unwrap_or(codes::UNKNOWN_USER_DATA);
        pass.post(
            user_data,
            -i64::from(libc::ECANCELED),
            CompletionFlags::empty(),
        );
    }
}

/// Cancels the members of a chain still waiting for its last member.
fn abandon_open_chain(pass: &mut Pass) {
    if let Some(b) = pass.chain.take() {
        let mut chain = Chain {
            subs: b.subs.into(),
            results: Vec::new(),
        };
        cancel_rest(&mut chain, pass);
    }
}

fn cancel_rest(chain: &mut Chain, pass: &mut Pass) {
    for sub in chain.subs.drain(..) {
        pass.post(
            sub.user_data,
            -i64::from(libc::ECANCELED),
            CompletionFlags::empty(),
        );
    }
}

/// Runs a chain's members in order, here as far as they finish here; the
/// first that must go to the pool takes the rest of the chain with it.
fn run_chain(
    shared: &Arc<Shared>,
    pool: &PoolHandle,
    ctx: Context,
    pass: &mut Pass,
    mut chain: Chain,
) {
    while let Some(sub) = chain.subs.pop_front() {
        let position = u16::try_from(chain.results.len()).unwrap_or(u16::MAX);
        // A LinkTimeout right after a linked request bounds that request.
        let link_timeout = match chain.subs.front() {
            Some(Submission {
                op: Op::LinkTimeout { nanos },
                ..
            }) if sub.flags.links_next() => {
                let nanos = *nanos;
                chain.subs.pop_front().map(|lt| (lt.user_data, nanos))
            }
            _ => None,
        };
        let (result, ok) = if sub.validate(Some(position)).is_err() {
            pass.protocol_errors += 1;
            pass.post(
                sub.user_data,
                codes::INVALID,
                CompletionFlags::PROTOCOL_ERROR,
            );
            (codes::INVALID, false)
        } else {
            match start(shared, ctx, pass, &sub, &chain.results) {
                Started::Here { result, ok } => (result, ok),
                Started::Armed => (0, true),
                Started::Pooled(mut job) => {
                    job.rest = Some((sub.flags, chain));
                    return job.submit(shared, pool, link_timeout, ctx);
                }
            }
        };
        chain.results.push(result);
        if let Some((lt_user_data, _)) = link_timeout {
            // The request finished before any timer could: the link
            // timeout is cancelled.
            let canceled = -i64::from(libc::ECANCELED);
            pass.post(lt_user_data, canceled, CompletionFlags::empty());
            chain.results.push(canceled);
        }

        if !link_continues(sub.flags, ok) {
            return cancel_rest(&mut chain, pass);
        }
    }
}

/// Whether the request after one with `flags` runs, given whether this one
/// succeeded (a non-negative result that is not a short read or write).
fn link_continues(flags: SubmissionFlags, ok: bool) -> bool {
    flags.contains(SubmissionFlags::HARDLINK) || ok
}

/// Where [`start`] left a request.
enum Started {
    /// It finished here and its completion is in the pass.
    Here {
        result: i64,
        /// Succeeded in full: a linked successor may run.
        ok: bool,
    },
    /// It must run on the pool; the caller submits the job.
    Pooled(Box<PuntedCall>),
    /// A `Timeout`: armed, it completes later.
    Armed,
}

/// Runs one validated request on this thread if it can finish here.
fn start(
    shared: &Arc<Shared>,
    ctx: Context,
    pass: &mut Pass,
    sub: &Submission<'_>,
    chain_results: &[i64],
) -> Started {
    let op = match &sub.op {
        Op::Syscall(op) => op,
        Op::Nop => {
            pass.inline += 1;
            pass.post(sub.user_data, 0, CompletionFlags::INLINE);
            return Started::Here {
                result: 0,
                ok: true,
            };
        }
        Op::Cancel { target } => {
            let result = cancel(shared, *target);
            pass.post(sub.user_data, result, CompletionFlags::INLINE);
            return Started::Here {
                result,
                ok: result >= 0,
            };
        }
        Op::Timeout { nanos, count } => {
            let at = Instant::now() + Duration::from_nanos(*nanos);
            // Completions so far, plus those of this pass not yet counted.
            let posted = shared.counters.completed.load(Ordering::Relaxed);
            let so_far = posted + pass.batch.len() as u64;
            let target = (*count > 0).then(|| so_far + u64::from(*count));
            arm(
                shared,
                at,
                target,
                TimerEvent::Timeout {
                    user_data: sub.user_data,
                },
            );
            return Started::Armed;
        }
        Op::LinkTimeout { .. } => {
            // Only valid right after a linked request; `run_chain` takes it
            // there. Anywhere else it bounds nothing.
            pass.protocol_errors += 1;
            pass.post(
                sub.user_data,
                codes::INVALID,
                CompletionFlags::PROTOCOL_ERROR,
            );
            return Started::Here {
                result: codes::INVALID,
                ok: false,
            };
        }
    };
    let mut call = PreparedCall::new(op, chain_results);
    let filled = filled_buffer(&call);
    let result = match inline_step(&mut call, sub.flags, ctx) {
        Step::Done(result) => result,
        Step::Refused(code) => {
            pass.refused += 1;
            pass.post(sub.user_data, code, CompletionFlags::REFUSED);
            return Started::Here {
                result: code,
                ok: false,
            };
        }
        _ if sub.flags.contains(SubmissionFlags::NOWAIT) => -i64::from(libc::EAGAIN),
        // Readiness waits arrive with the executor-control issue; until then
        // a call that would block on a pollable fd takes a worker.
        Step::WouldBlock { fd, events } => {
            let mut job = punt_job(shared, Account::Unbounded, None, sub, call, filled);
            job.wait = Some((fd, events));
            return Started::Pooled(job);
        }
        Step::Punt(account, key) => {
            return Started::Pooled(punt_job(shared, account, key, sub, call, filled));
        }
    };
    pass.inline += 1;
    let ok = result >= 0 && !is_short(&call, result);
    pass.batch.push(&completion(
        sub.user_data,
        result,
        CompletionFlags::INLINE,
        &call,
        filled,
    ));
    Started::Here { result, ok }
}

/// Whether a read- or write-like call moved fewer bytes than asked: a
/// short transfer breaks a LINK chain, as in io_uring.
fn is_short(call: &PreparedCall, result: i64) -> bool {
    let Some(sig) = sysgate_sys::signature(call.nr) else {
        return false;
    };
    if sig.ret != sysgate_sys::RetKind::Size {
        return false;
    }
    sig.args.iter().any(|a| match a.kind {
        sysgate_sys::ArgKind::InBuf { len_arg } | sysgate_sys::ArgKind::OutBuf { len_arg } => call
            .args
            .get(usize::from(len_arg))
            .is_some_and(|&len| (result as u64) < len),
        _ => false,
    })
}

/// Which of the call's buffers holds as many bytes as the call returns.
fn filled_buffer(call: &PreparedCall) -> Option<usize> {
    call.arg_buffer_index(crate::dispatch::filled_by_result(call.nr)?)
}

/// The completion of a call that returned `result`, with its outputs.
fn completion(
    user_data: u64,
    result: i64,
    flags: CompletionFlags,
    call: &PreparedCall,
    filled: Option<usize>,
) -> Completion<'static> {
    let mut c = Completion::new(user_data, result, flags);
    if !call.is_immediate() {
        c.outputs = call.outputs(result, filled);
    }
    c
}

/// Registers a pool job for `call` (it still has to be submitted).
fn punt_job(
    shared: &Arc<Shared>,
    account: Account,
    key: Option<crate::pool::FileKey>,
    sub: &Submission<'_>,
    call: PreparedCall,
    filled: Option<usize>,
) -> Box<PuntedCall> {
    let user_data = sub.user_data;
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
        flags: sub.flags,
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
struct JobTable {
    next_id: u64,
    entries: HashMap<u64, JobEntry>,
}

struct JobEntry {
    phase: JobPhase,
    /// Set by whoever wants the job gone; a running call interrupted while
    /// this is set completes -ECANCELED.
    cancelled: bool,
    /// Its completion has been posted (by a canceller, or by the job). Only
    /// whoever flips this posts.
    answered: bool,
    user_data: u64,
    /// The fd argument, for `CancelTarget::Fd`.
    fd: Option<i32>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum JobPhase {
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
    fn lock_jobs(&self) -> std::sync::MutexGuard<'_, JobTable> {
        self.jobs.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A call running on the pool, with the rest of its link chain.
struct PuntedCall {
    shared: Arc<Shared>,
    /// Where follow-up chain members go; set at submission.
    pool: Option<PoolHandle>,
    id: u64,
    account: Account,
    key: Option<crate::pool::FileKey>,
    user_data: u64,
    flags: SubmissionFlags,
    call: PreparedCall,
    filled: Option<usize>,
    /// The fd and events to wait for before retrying inline, instead of
    /// taking a worker.
    wait: Option<(i32, i16)>,
    /// Where it ran: POOL, or POLLED once retried after readiness.
    ran: CompletionFlags,
    /// This request's flags and the chain members after it.
    rest: Option<(SubmissionFlags, Chain)>,
    /// The armed `LinkTimeout` bounding this request: its timer id and
    /// user_data.
    link_timeout: Option<(u64, u64)>,
    done: bool,
}

impl PuntedCall {
    /// Queues the job; with `link_timeout` (its user_data and duration),
    /// arms the timer that cancels it. `ctx` is the thread doing it.
    fn submit(
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
        // next `io_uring_enter`, saving a syscall; every other thread
        // submits it at once.
        let reaper = if shared.poller_mode {
            Context::Poller
        } else {
            Context::Submitter
        };
        let defer = ctx == reaper && !shared.reactor_thread_needed.load(Ordering::Relaxed);
        self.queue(shared, defer);
    }

    /// Parks the job on readiness if it waits for an fd and the reactor
    /// can take it; otherwise hands it to the pool. With `defer`, the poll
    /// is queued for the next `io_uring_enter` on the reactor rather than
    /// submitted now (only for the thread that will make that call).
    fn queue(mut self: Box<Self>, shared: &Arc<Shared>, defer: bool) {
        if let (Some((fd, events)), Some(reactor)) = (self.wait.take(), reactor(shared)) {
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
    fn retry(mut self: Box<Self>) {
        let shared = Arc::clone(&self.shared);
        self.enter_phase(JobPhase::Finishing);
        match inline_step(&mut self.call, self.flags, Context::Poller) {
            Step::Done(result) => {
                shared.counters.polled.fetch_add(1, Ordering::Relaxed);
                self.ran = CompletionFlags::POLLED;
                self.finish(result, true);
            }
            Step::Refused(code) => self.finish(code, false),
            // A spurious wake-up: wait again.
            Step::WouldBlock { fd, events } => {
                self.wait = Some((fd, events));
                // Retried by the reaping thread, which submits on its next
                // io_uring_enter — unless that is a blocked reactor thread.
                let defer = !shared.reactor_thread_needed.load(Ordering::Relaxed);
                self.queue(&shared, defer);
            }
            Step::Punt(account, key) => {
                (self.account, self.key) = (account, key);
                self.queue(&shared, true);
            }
        }
    }

    /// Moves the job to `phase`; returns whether it was cancelled.
    fn enter_phase(&self, phase: JobPhase) -> bool {
        let mut jobs = self.shared.lock_jobs();
        match jobs.entries.get_mut(&self.id) {
            Some(e) => {
                e.phase = phase;
                e.cancelled
            }
            None => true,
        }
    }

    fn finish(&mut self, result: i64, with_outputs: bool) {
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
        if already {
            // A canceller answered this request already.
        } else if with_outputs {
            let c = completion(self.user_data, result, self.ran, &self.call, self.filled);
            self.shared.post(&c);
        } else {
            self.shared.post_result(self.user_data, result, self.ran);
        }
        // The chain goes on from this worker (its members are already off
        // the submitting thread), before this job leaves the table, so a
        // dropping executor waits for the members it queues.
        if let Some((flags, mut chain)) = self.rest.take() {
            let ok = with_outputs && result >= 0 && !is_short(&self.call, result);
            chain.results.push(result);
            chain.results.extend(lt_result);
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

#[cfg(test)]
mod tests {
    use super::*;
    use sysgate_proto::{SyscallOp, encode_to_vec};
    use sysgate_ring::{Region, RegionSizes};

    #[test]
    fn a_worker_panic_completes_with_an_error_and_the_pool_goes_on() {
        let region = Region::create(RegionSizes {
            sq_bytes: 1 << 16,
            cq_bytes: 1 << 16,
            max_frame: 4096,
        })
        .unwrap();
        let mut exec =
            Executor::builder().build(region.sq_consumer().unwrap(), region.cq_producer().unwrap());
        let (mut sq, mut cq) = (region.sq_producer().unwrap(), region.cq_consumer().unwrap());
        let getppid = libc::SYS_getppid as u32;
        exec.panic_on(getppid);
        let mut frame = Vec::new();
        let mut run = |exec: &mut Executor, ud: u64| {
            let sub = Submission::new(ud, Op::Syscall(SyscallOp::immediate(getppid, &[])))
                .with_flags(SubmissionFlags::ASYNC);
            sq.push(encode_to_vec(&sub).unwrap()).unwrap();
            exec.enter(1, 1, Some(Duration::from_secs(10))).unwrap();
            cq.pop(&mut frame).unwrap().unwrap();
            decode::<Completion>(&frame).unwrap().into_owned()
        };
        let c = run(&mut exec, 1);
        assert_eq!((c.user_data, c.result), (1, codes::WORKER_PANICKED));
        assert_eq!(c.flags, CompletionFlags::POOL);
        exec.panic_on(u32::MAX);
        let c = run(&mut exec, 2);
        // SAFETY: getppid has no preconditions.
        assert_eq!(c.result, i64::from(unsafe { libc::getppid() }));
        assert_eq!(exec.stats().pool.panics, 1);
        // The worker posts the completion, then leaves the count.
        let deadline = Instant::now() + Duration::from_secs(5);
        while exec.stats().in_pool != 0 {
            assert!(
                Instant::now() < deadline,
                "the finished job is still counted"
            );
            std::thread::yield_now();
        }
    }
}
