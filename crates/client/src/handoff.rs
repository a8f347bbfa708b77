//! Who waits in the executor, and how every waiter gets its wake-up.
//!
//! # The protocol
//!
//! A request's completion reaches it only when somebody *reaps* the
//! completion ring ([`CompletionSide::reap_and_wake`], or the reap at the
//! start of every poll), under the state lock: the completion is handed to
//! its request, and the waker registered there (its [`Interest`]) is woken
//! once the lock is released. Three kinds of waiters take part:
//!
//! - a *blocked thread* — `Gateway::call`, a `wait` — in [`block_until`];
//! - a *future* that returned `Pending`, asleep in its runtime;
//! - the *driver* thread, [`drive`], which waits on behalf of the others.
//!
//! One waiter at a time sleeps in the executor, until the completion ring
//! holds a completion (or it is interrupted): the holder of the *token*
//! (the executor's waiter, in [`Handoff`]). A blocked thread takes the
//! token when it is free, so its completion wakes it directly. A waiter
//! that does not hold the token *announces* itself asleep
//! ([`Interest::register`] with `announce`, then [`Handoff::announce`]) and
//! sleeps elsewhere: parked, or in its runtime.
//!
//! # Invariants
//!
//! Every step below keeps them; the loom model (`tests/loom.rs`) checks
//! them on this code.
//!
//! 1. **One waiter in the executor.** Only the token's holder waits there.
//!    It takes the token under the state lock and puts it back under the
//!    state lock when it leaves.
//! 2. **Reaping a completion wakes its waiter, wherever it sleeps.** The
//!    reaper wakes the registered waker. A blocked thread's waker
//!    ([`Sleeper`]) unparks it and, while the thread is marked as waiting in
//!    the executor, interrupts the executor's wait. The thread sets the mark
//!    *before* its last poll (under the state lock) and only then sleeps in
//!    the executor: a reap of its completion comes before that poll, which
//!    then finds it done, or after it, and then sees the mark (the lock
//!    orders the two) and interrupts. An interrupt is kept until a wait
//!    returns, and only the token's holder waits, so no other waiter can
//!    swallow it.
//! 3. **Someone waits for every announced sleeper.** While the count of
//!    announced sleepers is above zero, the token is held by a waiter that
//!    returns from the executor when a completion arrives and then reaps, or
//!    the token is free and the driver is awake or has been notified: an
//!    announcement that raises the count from zero notifies the driver, so
//!    does a blocked thread that puts the token back while the count is
//!    above zero, and the driver takes the token whenever it is. (The
//!    gateway starts the driver at the first announcement.)
//! 4. **An announcement ends with its wake-up.** Whoever reaps a completion
//!    un-counts its announced waiter in the critical section that completes
//!    it ([`Interest::complete`]), so the count is exactly the sleepers not
//!    yet woken, and the driver waits only while there are some.
//!
//! Hence no waiter sleeps through its completion: a blocked thread in the
//! executor returns when the completion is in the ring (and reaps it
//! itself) or when somebody else reaped it (2); any other waiter is woken
//! by whoever reaps its completion (2, 4), and somebody does, because the
//! token's holder wakes up when it arrives (3).

use std::sync::Arc;
use std::task::{Poll, Wake, Waker};

use crate::shim::{AtomicBool, Condvar, Mutex, MutexGuard, Ordering, Parker};

/// The right to wait in the executor: the token.
pub trait ExecutorWaiter: Send + 'static {
    /// Sleeps until a completion waits in the completion ring or an
    /// [`Interrupt`] arrives (one given since the last `wait` returned
    /// counts); `false` if nothing will ever be posted again.
    fn wait(&mut self) -> bool;
}

/// Ends an [`ExecutorWaiter::wait`] from another thread.
pub trait Interrupt: Clone + Send + Sync + 'static {
    /// Makes the running `wait`, or else the next one, return.
    fn interrupt(&self);
}

/// The gateway's side of the protocol: the state lock, which holds the
/// [`Handoff`] beside the requests in flight, and reaping.
pub trait CompletionSide: Sync {
    /// The token.
    type Waiter: ExecutorWaiter;
    /// Interrupts the token's waits.
    type Interrupter: Interrupt;
    /// What the state lock guards.
    type State;

    /// The state lock.
    fn state(&self) -> &Mutex<Self::State>;

    /// The protocol's part of the state.
    fn handoff(state: &mut Self::State) -> &mut Handoff<Self::Waiter>;

    /// Where the driver sleeps while it has nothing to wait for.
    fn driver_wake(&self) -> &Condvar;

    /// Interrupts the waits of [`CompletionSide::Waiter`].
    fn interrupter(&self) -> &Self::Interrupter;

    /// Reaps the completion ring under the state lock — each completion
    /// goes to its request, which gives up its [`Interest`] with
    /// [`Interest::complete`] — then wakes those wakers.
    fn reap_and_wake(&self);
}

/// `lock(side)` — takes the state lock (a panic while it was held leaves
/// the state consistent: every step completes before it can panic).
pub fn lock<S: CompletionSide>(side: &S) -> MutexGuard<'_, S::State> {
    side.state().lock().unwrap_or_else(|e| e.into_inner())
}

/// The token and the count of announced sleepers, kept under the state
/// lock.
pub struct Handoff<W> {
    /// The executor's waiter while nobody waits there.
    token: Option<W>,
    /// Announced waiters whose completion has not been reaped.
    asleep: usize,
    /// The gateway is gone: the driver returns.
    stop: bool,
}

impl<W> Handoff<W> {
    /// `Handoff::new(waiter)` — the token free, nobody asleep.
    pub fn new(waiter: W) -> Self {
        Handoff {
            token: Some(waiter),
            asleep: 0,
            stop: false,
        }
    }

    /// `announce(n, driver_wake)` — counts `n` more sleepers (from
    /// [`Interest::register`]); wakes the driver when they are the first.
    /// Returns whether any were counted: the caller then makes sure the
    /// driver runs.
    pub fn announce(&mut self, n: usize, driver_wake: &Condvar) -> bool {
        if n > 0 && self.asleep == 0 {
            driver_wake.notify_one();
        }
        self.asleep += n;
        n > 0
    }

    /// `stop(driver_wake)` — makes the driver return.
    pub fn stop(&mut self, driver_wake: &Condvar) {
        self.stop = true;
        driver_wake.notify_all();
    }

    /// Announced sleepers not yet woken (for the loom model's checks).
    #[cfg(loom)]
    pub fn asleep(&self) -> usize {
        self.asleep
    }
}

/// What a request (or an op set) keeps for its waiter: the waker to wake
/// when it completes, and whether the waiter is counted asleep.
#[derive(Default)]
pub struct Interest {
    waker: Option<Waker>,
    asleep: bool,
}

impl Interest {
    /// `register(waker, announce)` — `waker` is woken when the request
    /// completes; with `announce` its waiter is also counted asleep (once).
    /// Returns how many waiters that newly counts (0 or 1), for
    /// [`Handoff::announce`] in the same critical section.
    pub fn register(&mut self, waker: &Waker, announce: bool) -> usize {
        if !self.waker.as_ref().is_some_and(|w| w.will_wake(waker)) {
            self.waker = Some(waker.clone());
        }
        usize::from(announce && !std::mem::replace(&mut self.asleep, true))
    }

    /// `complete(handoff)` — the request completed, or nobody waits for it
    /// any more: un-counts its waiter and returns the waker to wake once
    /// the state lock is released.
    pub fn complete<W>(&mut self, handoff: &mut Handoff<W>) -> Option<Waker> {
        if std::mem::take(&mut self.asleep) {
            handoff.asleep -= 1;
        }
        self.waker.take()
    }
}

/// A blocked thread's waker: unparks the thread, and interrupts the
/// executor's wait while the thread waits there (invariant 2).
struct Sleeper<I> {
    thread: Parker,
    in_executor: AtomicBool,
    interrupter: I,
}

impl<I: Interrupt> Wake for Sleeper<I> {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // Relaxed: ordered by the state lock. A waker runs after the reap
        // that completed the request released the lock; the thread set the
        // mark before the poll that took the lock last before its wait, so
        // if that poll did not see the completion, the mark is visible here.
        if self.in_executor.load(Ordering::Relaxed) {
            self.interrupter.interrupt();
        }
        self.thread.unpark();
    }
}

/// `block_until(side, poll)` — blocks the thread until `poll(waker,
/// announce)` is ready. While nobody else waits in the executor this thread
/// does (polling without `announce`), and the completion it waits for ends
/// that wait, whoever reaps it; otherwise it announces itself, parks, and
/// whoever reaps its completion unparks it.
pub fn block_until<S: CompletionSide, T>(
    side: &S,
    mut poll: impl FnMut(&Waker, bool) -> Poll<T>,
) -> T {
    // Most calls completed inline before anyone waits: no waker is built
    // for them. A pending poll leaves the no-op waker registered, which the
    // next poll (before any sleep) replaces.
    if let Poll::Ready(v) = poll(Waker::noop(), false) {
        return v;
    }
    let sleeper = Arc::new(Sleeper {
        thread: Parker::current(),
        in_executor: AtomicBool::new(false),
        interrupter: side.interrupter().clone(),
    });
    let waker = Waker::from(Arc::clone(&sleeper));
    loop {
        if let Poll::Ready(v) = poll(&waker, false) {
            return v;
        }
        let token = S::handoff(&mut lock(side)).token.take();
        let Some(mut waiter) = token else {
            // Somebody waits in the executor, and after it the driver
            // (invariant 3).
            if let Poll::Ready(v) = poll(&waker, true) {
                return v;
            }
            sleeper.thread.park();
            continue;
        };
        // Relaxed: published to wakers by the state lock of the poll below
        // (see `Sleeper::wake_by_ref`).
        sleeper.in_executor.store(true, Ordering::Relaxed);
        let polled = poll(&waker, false);
        if polled.is_pending() {
            // `false` (nothing more will come) cannot happen: the gateway
            // keeps the executor alive while anyone waits.
            waiter.wait();
            side.reap_and_wake();
        }
        // Relaxed: a waker that still sees `true` interrupts a wait that
        // does not need it, which returns early once and harms nobody.
        sleeper.in_executor.store(false, Ordering::Relaxed);
        let mut state = lock(side);
        let handoff = S::handoff(&mut state);
        handoff.token = Some(waiter);
        if handoff.asleep > 0 {
            // The driver takes over (invariant 3).
            side.driver_wake().notify_one();
        }
        drop(state);
        if let Poll::Ready(v) = polled {
            return v;
        }
    }
}

/// `drive(side)` — the driver thread's loop: while any waiter is announced
/// asleep, takes the token, waits in the executor and reaps what arrives;
/// returns when the gateway stops it or the executor is gone.
pub fn drive<S: CompletionSide>(side: &S) {
    loop {
        let mut waiter = {
            let mut state = lock(side);
            loop {
                let handoff = S::handoff(&mut state);
                if handoff.stop {
                    return;
                }
                if handoff.asleep > 0
                    && let Some(w) = handoff.token.take()
                {
                    break w;
                }
                state = side
                    .driver_wake()
                    .wait(state)
                    .unwrap_or_else(|e| e.into_inner());
            }
        };
        let open = waiter.wait();
        side.reap_and_wake();
        S::handoff(&mut lock(side)).token = Some(waiter);
        if !open {
            return;
        }
    }
}
