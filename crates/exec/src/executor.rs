//! The executor: takes frames off the submission ring, runs them where they
//! belong, and answers each with exactly one completion.

#[cfg(test)]
use std::sync::atomic::AtomicU32;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use sysgate_proto::{Completion, CompletionFlags, Submission};

use crate::dispatch::Context;
use crate::pool::{PoolConfig, WorkerPool};
use crate::reactor::{Reactor, ReadinessBackend};
use crate::rings::{CompletionQueue, CqWriter, SqReader};
use crate::timers::{TimerEvent, Timers};

mod control;
mod flow;
mod jobs;

use crate::{EnterError, ExecStats};
use flow::{Pass, abandon_drain, abandon_open_chain, process, release_drain};
use jobs::{JobPhase, JobTable, PuntedCall};
use sysgate_ring::{Arena, RingWaker};

/// Builds an [`Executor`].
#[derive(Clone)]
pub struct ExecutorBuilder {
    pool: Option<WorkerPool>,
    pool_config: Option<PoolConfig>,
    sq_poll_idle: Option<Duration>,
    arena: Option<Arena>,
    readiness: Option<ReadinessBackend>,
}

impl ExecutorBuilder {
    /// Forces the readiness backend (default: `SYSGATE_READINESS` if set,
    /// else io_uring where the kernel allows it and epoll otherwise). A
    /// forced io_uring the kernel refuses leaves parked calls to the pool.
    pub fn readiness(mut self, backend: ReadinessBackend) -> Self {
        self.readiness = Some(backend);
        self
    }

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

    /// The submitter's buffer arena (the same memfd it maps, or a mapping
    /// of it): arena buffers of its requests are checked against it and
    /// passed to the kernel by address. Without one, every arena buffer is
    /// a protocol error.
    pub fn arena(mut self, arena: Arena) -> Self {
        self.arena = Some(arena);
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
    /// Requests on the pool or parked on readiness, not yet completed.
    jobs: Mutex<JobTable>,
    pool_drained: Condvar,
    /// Set when the executor is dropped: queued work completes -ECANCELED.
    closing: AtomicBool,
    /// Timeouts, link timeouts and interrupt retries.
    timers: Timers,
    /// The pool's interrupt signal, if running calls can be interrupted.
    interrupt_signal: Option<i32>,
    /// Parked requests waiting for readiness, once one has been parked
    /// (`None` inside: no backend could be created, parked calls use the
    /// pool).
    reactor: OnceLock<Option<Reactor<Box<PuntedCall>>>>,
    /// The readiness backend forced by the builder or the environment.
    readiness: Option<ReadinessBackend>,
    reactor_thread: Mutex<Option<JoinHandle<()>>>,
    /// A polling thread takes submissions and processes readiness;
    /// otherwise `enter` does both.
    poller_mode: bool,
    /// The polling thread's ring waker, to make it look at a request parked
    /// by another thread.
    sq_waker: OnceLock<RingWaker>,
    /// The polling thread cannot sleep on its ring and its parked requests
    /// at once (epoll, or a kernel without io_uring `FUTEX_WAIT`, before
    /// 6.7), so a reactor thread processes readiness instead.
    reactor_thread_needed: AtomicBool,
    /// A [`CompletionWaiter`] exists: it, not `enter`, processes readiness.
    external_waiter: AtomicBool,
    /// The executor's `Drop` has posted its last completion.
    dropped: AtomicBool,
    /// The submitter's buffer arena, once it shares one.
    arena: OnceLock<Arena>,
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
    /// Whether `sub` passes validation at `chain_position` and its arena
    /// buffers lie inside this executor's arena.
    fn valid(&self, sub: &Submission<'_>, chain_position: Option<u16>) -> bool {
        let arena_len = self.arena.get().map_or(0, |a| a.len() as u64);
        sub.validate(chain_position).is_ok() && sub.validate_arena(arena_len).is_ok()
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
            readiness: None,
            pool: None,
            pool_config: None,
            sq_poll_idle: None,
            arena: None,
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
            readiness: builder.readiness.or_else(ReadinessBackend::from_env),
            reactor_thread: Mutex::new(None),
            poller_mode: builder.sq_poll_idle.is_some(),
            sq_waker: OnceLock::new(),
            reactor_thread_needed: AtomicBool::new(false),
            external_waiter: AtomicBool::new(false),
            dropped: AtomicBool::new(false),
            arena: builder.arena.map(OnceLock::from).unwrap_or_default(),
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
        let sq = self.sq.take().expect("the poller starts once");
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
            .spawn(move || poll_submissions(&shared, &pool, sq, idle, &stop2))
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
            let done = self.shared.cq.posted();
            if !wait_for_progress(&self.shared, deadline, |w| w.posted() > done) {
                return Err(EnterError::TimedOut { taken });
            }
        }
        let n = min_complete as usize;
        if min_complete > 0 && !wait_for_progress(&self.shared, deadline, |w| w.pending() >= n) {
            return Err(EnterError::TimedOut { taken });
        }
        Ok(taken)
    }

    /// Gives the executor the submitter's buffer arena, if it has none yet
    /// (as [`ExecutorBuilder::arena`] does at the start): arena buffers of
    /// requests taken from now on are checked against it. Returns it back
    /// if the executor has one already.
    pub fn set_arena(&self, arena: Arena) -> Result<(), Arena> {
        self.shared.arena.set(arena)
    }

    /// A handle another thread can use to wait for completions while this
    /// executor keeps taking submissions (see [`CompletionWaiter`]).
    ///
    /// From the first call on, a request parked by `enter` has its poll
    /// handed to the kernel at once and the waiter told, because the waiter
    /// (not `enter`) processes readiness.
    pub fn waiter(&self) -> CompletionWaiter {
        self.shared.external_waiter.store(true, Ordering::SeqCst);
        CompletionWaiter {
            shared: Arc::clone(&self.shared),
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

    /// The readiness backend: the reactor's once one exists, else the one
    /// the first parked request will get.
    pub fn readiness(&self) -> ReadinessBackend {
        match self.shared.reactor.get() {
            Some(Some(r)) => r.backend(),
            _ => ReadinessBackend::resolve(self.shared.readiness),
        }
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
            readiness: Some(self.readiness()),
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

/// Sleeps until `done` holds or `deadline` passes (`false`). While
/// requests are parked, sleeps in the reactor's ring instead of on the
/// condition variable, and retries whatever becomes ready right here:
/// readiness is processed by `enter`, on the submitting thread.
fn wait_for_progress(
    shared: &Shared,
    deadline: Option<Instant>,
    mut done: impl FnMut(&mut CqWriter) -> bool,
) -> bool {
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

/// Waits for an executor's completions on a thread other than the one
/// that calls [`Executor::enter`], so that a submitting thread never sleeps
/// while holding the executor (the client crate's completion driver).
///
/// While requests are parked on readiness the waiter sleeps in the
/// executor's io_uring and retries the calls that become ready, as `enter`
/// would. Only one thread should wait for completions at a time: do not
/// also wait in [`Executor::enter`] (`min_complete > 0`) while a waiter
/// waits, or the two take turns by polling each other's reactor lock.
pub struct CompletionWaiter {
    shared: Arc<Shared>,
}

impl CompletionWaiter {
    /// Sleeps (never spinning) until at least `min_complete` completions
    /// wait in the completion ring, `timeout` passes, a
    /// [`WaitInterrupter`] interrupts it, or the executor has been dropped
    /// and nothing more will come.
    pub fn wait(&mut self, min_complete: u32, timeout: Option<Duration>) -> Waited {
        let deadline = timeout.map(|t| Instant::now() + t);
        let n = min_complete as usize;
        let mut ready = false;
        // Sticky: `wait_for_progress` may call the check again after it held
        // (when requests were parked meanwhile), and the flag is cleared.
        let mut interrupted = false;
        let shared = &self.shared;
        let woke = wait_for_progress(shared, deadline, |w| {
            ready = w.pending() >= n;
            interrupted |= w.take_interrupt();
            ready || interrupted || shared.dropped.load(Ordering::Acquire)
        });
        match (woke, ready, interrupted) {
            (_, true, _) => Waited::Ready,
            (_, false, true) => Waited::Interrupted,
            (true, false, false) => Waited::Closed,
            (false, false, false) => Waited::TimedOut,
        }
    }

    /// A handle that makes a [`CompletionWaiter::wait`] of this executor
    /// return [`Waited::Interrupted`] from another thread.
    pub fn interrupter(&self) -> WaitInterrupter {
        WaitInterrupter {
            shared: Arc::clone(&self.shared),
        }
    }
}

/// Ends a [`CompletionWaiter::wait`] from another thread: for a waiter that
/// waits for something besides completions in the ring (the client's blocked
/// thread, whose completion another thread may reap).
#[derive(Clone)]
pub struct WaitInterrupter {
    shared: Arc<Shared>,
}

impl WaitInterrupter {
    /// `interrupt()` — makes the wait that runs now on a waiter of this
    /// executor, or else the next one to start, return
    /// [`Waited::Interrupted`] (unless completions are ready by then). An
    /// interrupt is kept until a wait returns; several before that count
    /// as one.
    pub fn interrupt(&self) {
        if self.shared.cq.interrupt() {
            // It sleeps in the reactor's ring: the condition variable does
            // not reach it. The wake is kept (a NOP completion in that ring)
            // if it has not gone to sleep yet.
            self.shared.wake_reaper();
        }
    }
}

/// How [`CompletionWaiter::wait`] ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Waited {
    /// The completions asked for are waiting in the ring.
    Ready,
    /// The timeout passed first.
    TimedOut,
    /// A [`WaitInterrupter`] interrupted the wait first.
    Interrupted,
    /// The executor was dropped and every completion it will ever post has
    /// been consumed.
    Closed,
}

/// How long a dropping executor waits for a consumer that takes none of
/// its backlogged completions before counting them lost.
const BACKLOG_PATIENCE: Duration = Duration::from_secs(1);

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
        // SeqCst: pairs with the load in `reactor()` (see there).
        self.shared.closing.store(true, Ordering::SeqCst);
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
        // Completions that overflowed into the backlog still reach a
        // consumer that keeps reaping (another thread or process).
        self.shared.cq.drain_backlog(BACKLOG_PATIENCE);
        // Nothing more will be posted: a `CompletionWaiter` may stop.
        self.shared.dropped.store(true, Ordering::Release);
        self.shared.cq.notify_waiters();
    }
}

/// The polling thread's loop: takes submissions off the ring as they come,
/// spinning for `idle` after the last one, then sleeping until a submitter
/// wakes it; stops when `stop` is set or the ring is corrupt.
fn poll_submissions(
    shared: &Arc<Shared>,
    pool: &WorkerPool,
    mut sq: SqReader,
    idle: Duration,
    stop: &AtomicBool,
) {
    let mut frame = Vec::new();
    let mut pass = Pass::default();
    let mut last_work = Instant::now();
    let mut futex_armed = false;
    while !stop.load(Ordering::Acquire) {
        if let Some(reactor) = shared.reactor_for_poller() {
            let _ = reactor.reap(false, None, |job| job.retry());
        }
        let draining =
            pass.drain.is_some() && release_drain(shared, pool, Context::Poller, &mut pass);
        match sq.pop(&mut frame) {
            Ok(true) => {
                process(shared, pool, &frame, Context::Poller, &mut pass);
                if pass.batch.len() >= PASS_BATCH {
                    shared.end_pass(&mut pass);
                }
                last_work = Instant::now();
            }
            Ok(false) if pass.submitted > 0 => shared.end_pass(&mut pass),
            Ok(false) if last_work.elapsed() < idle => std::hint::spin_loop(),
            Ok(false) => {
                if sleep_for_submissions(shared, &mut sq, draining, &mut futex_armed).is_err() {
                    break;
                }
                last_work = Instant::now();
            }
            // A corrupt ring cannot be read any further.
            Err(_) => break,
        }
    }
    // Members of a chain whose last member never came, and what a DRAIN
    // held back.
    abandon_open_chain(&mut pass);
    abandon_drain(&mut pass);
    shared.end_pass(&mut pass);
}

/// The idle polling thread's sleep, until a submitter (or drop) wakes it;
/// the ring sets NEED_WAKEUP meanwhile. A waiting DRAIN is checked every
/// millisecond. The stop flag is checked at least every 100 ms: a wake-up
/// sent just before the poller falls asleep would otherwise be lost (it
/// does not change the futex word). With requests parked, it sleeps in the
/// reactor's io_uring, on the polls and on the ring's tail (an io_uring
/// FUTEX_WAIT, armed once: `futex_armed`) at once.
fn sleep_for_submissions(
    shared: &Arc<Shared>,
    sq: &mut SqReader,
    draining: bool,
    futex_armed: &mut bool,
) -> Result<(), sysgate_ring::RingError> {
    let nap = Some(Duration::from_millis(if draining { 1 } else { 100 }));
    match shared.reactor_for_poller() {
        Some(reactor) if !draining => sq.wait_with(|word, value| {
            if !*futex_armed {
                *futex_armed = reactor.arm_futex_wait(word, value);
            }
            let woke = reactor.reap(true, Some(Duration::from_millis(100)), |job| job.retry());
            if let Some(result) = woke {
                *futex_armed = false;
                let unsupported = [-libc::EINVAL, -libc::EOPNOTSUPP, -libc::ENOSYS];
                if unsupported.contains(&result) {
                    // No io_uring futexes here.
                    shared.reactor_thread_needed.store(true, Ordering::Relaxed);
                    reactor_thread(shared);
                }
            }
        }),
        _ => sq.wait(nap),
    }
}

/// The executor's reactor, created (with its thread, where needed) on
/// first use; `None` if no backend could be created or the executor is
/// closing.
fn reactor(shared: &Arc<Shared>) -> Option<&Reactor<Box<PuntedCall>>> {
    let reactor = shared.reactor.get_or_init(|| {
        let backend = ReadinessBackend::resolve(shared.readiness);
        let reactor = Reactor::new(backend).ok().or_else(|| {
            // Unforced io_uring that fails after all (locked memory, say):
            // epoll, rather than a thread per wait.
            let fall_back = shared.readiness.is_none() && backend == ReadinessBackend::IoUring;
            fall_back.then(|| Reactor::new(ReadinessBackend::Epoll).ok())?
        });
        if let Some(r) = &reactor
            && shared.poller_mode
            && !r.waits_on_futexes()
        {
            shared.reactor_thread_needed.store(true, Ordering::Relaxed);
        }
        reactor
    });
    // Checked after the reactor exists (SeqCst, pairing with the store in
    // `Executor::drop`): either the dropping executor sees this reactor and
    // stops it, or we see `closing` here and park nothing.
    if shared.closing.load(Ordering::SeqCst) {
        return None;
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use sysgate_proto::{Op, SubmissionFlags, SyscallOp, codes, decode, encode_to_vec};
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
