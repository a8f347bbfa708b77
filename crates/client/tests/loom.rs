//! The loom model of the waiting protocol:
//! `RUSTFLAGS="--cfg loom" cargo test -p sysgate --test loom --release`.
//!
//! The protocol — `sysgate::handoff`'s `block_until`, `drive`, `Handoff`
//! and `Interest` — runs as it does in production, on loom's locks,
//! condition variables, atomics and thread parking (`src/shim.rs`). Around
//! it the gateway is modelled: the completion ring is a queue of request
//! numbers behind a lock and a condition variable; its waiter keeps
//! `CompletionWaiter::wait`'s contract (it returns once the ring holds a
//! completion, or an interrupt arrived since the last return; no
//! timeouts, so a lost wake-up is a deadlock loom reports); requests are
//! polled and reaped as `Gateway::poll_tickets_as` and `State::reap` do.
#![cfg(loom)]

use std::collections::VecDeque;
use std::task::{Poll, Wake, Waker};

use loom::sync::{Arc, Condvar, Mutex, MutexGuard};
use loom::thread;
use sysgate::handoff::{self, CompletionSide, ExecutorWaiter, Handoff, Interest, Interrupt};

fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        // Two preemptions find each lost wake-up the models were tried
        // against (the waker not interrupting the wait in the executor, no
        // poll after the mark, no notification of the driver when the
        // token comes back) in about a second per model; three take 10-25 s
        // per model.
        builder.preemption_bound = Some(2);
    }
    builder.check(f);
}

/// The completion ring and what its waiter sleeps on.
struct Ring {
    /// Completions posted and not reaped, by request number.
    completions: VecDeque<usize>,
    interrupted: bool,
    /// The executor is gone: nothing more will be posted.
    closed: bool,
}

/// The executor's end: posts completions, wakes its waiter.
struct Executor {
    ring: Mutex<Ring>,
    posted: Condvar,
}

impl Executor {
    fn lock(&self) -> MutexGuard<'_, Ring> {
        self.ring.lock().unwrap()
    }

    /// A request completes (inline, or on a pool worker).
    fn post(&self, request: usize) {
        self.lock().completions.push_back(request);
        self.posted.notify_all();
    }

    /// The executor is dropped (with the gateway).
    fn close(&self) {
        self.lock().closed = true;
        self.posted.notify_all();
    }
}

/// The token: `CompletionWaiter` in production.
struct Waiter(Arc<Executor>);

impl ExecutorWaiter for Waiter {
    fn wait(&mut self) -> bool {
        let mut ring = self.0.lock();
        loop {
            let interrupted = std::mem::take(&mut ring.interrupted);
            if interrupted || !ring.completions.is_empty() {
                return true;
            }
            if ring.closed {
                return false;
            }
            ring = self.0.posted.wait(ring).unwrap();
        }
    }
}

/// `WaitInterrupter` in production.
#[derive(Clone)]
struct Interrupter(Arc<Executor>);

impl Interrupt for Interrupter {
    fn interrupt(&self) {
        self.0.lock().interrupted = true;
        self.0.posted.notify_all();
    }
}

enum Request {
    InFlight(Interest),
    Done,
}

struct State {
    handoff: Handoff<Waiter>,
    requests: Vec<Request>,
}

/// The gateway's completion side: `Core` in production.
struct Gateway {
    state: Mutex<State>,
    driver_wake: Condvar,
    exec: Arc<Executor>,
    interrupter: Interrupter,
}

impl CompletionSide for Gateway {
    type Waiter = Waiter;
    type Interrupter = Interrupter;
    type State = State;

    fn state(&self) -> &Mutex<State> {
        &self.state
    }

    fn handoff(state: &mut State) -> &mut Handoff<Waiter> {
        &mut state.handoff
    }

    fn driver_wake(&self) -> &Condvar {
        &self.driver_wake
    }

    fn interrupter(&self) -> &Interrupter {
        &self.interrupter
    }

    fn reap_and_wake(&self) {
        let mut wake = Vec::new();
        self.reap(&mut handoff::lock(self), &mut wake);
        wake.into_iter().for_each(Waker::wake);
    }
}

impl Gateway {
    fn new(requests: usize) -> Arc<Gateway> {
        let exec = Arc::new(Executor {
            ring: Mutex::new(Ring {
                completions: VecDeque::new(),
                interrupted: false,
                closed: false,
            }),
            posted: Condvar::new(),
        });
        Arc::new(Gateway {
            state: Mutex::new(State {
                handoff: Handoff::new(Waiter(Arc::clone(&exec))),
                requests: (0..requests)
                    .map(|_| Request::InFlight(Interest::default()))
                    .collect(),
            }),
            driver_wake: Condvar::new(),
            interrupter: Interrupter(Arc::clone(&exec)),
            exec,
        })
    }

    /// Takes every completion off the ring and hands it to its request
    /// (`State::reap`), under the state lock.
    fn reap(&self, state: &mut State, wake: &mut Vec<Waker>) {
        let mut ring = self.exec.lock();
        while let Some(i) = ring.completions.pop_front() {
            let done = std::mem::replace(&mut state.requests[i], Request::Done);
            if let Request::InFlight(mut interest) = done {
                wake.extend(interest.complete(&mut state.handoff));
            }
        }
    }

    /// Polls request `i` (`Gateway::poll_tickets_as`): reaps, then it is
    /// done, or `waker` is registered and, with `announce`, its waiter
    /// announced asleep.
    fn poll(&self, i: usize, waker: &Waker, announce: bool) -> Poll<()> {
        let mut wake = Vec::new();
        let mut guard = handoff::lock(self);
        let state = &mut *guard;
        self.reap(state, &mut wake);
        let result = match &mut state.requests[i] {
            Request::Done => Poll::Ready(()),
            Request::InFlight(interest) => {
                let n = interest.register(waker, announce);
                // The driver runs from the start here.
                state.handoff.announce(n, &self.driver_wake);
                Poll::Pending
            }
        };
        drop(guard);
        wake.into_iter().for_each(Waker::wake);
        result
    }

    /// A thread blocked in `wait()` on request `i`.
    fn wait(&self, i: usize) {
        handoff::block_until(self, |waker, announce| self.poll(i, waker, announce));
    }

    /// A future awaiting request `i`, on a runtime that runs it again
    /// when its waker is called (a flag and a condition variable).
    fn await_future(&self, i: usize) {
        struct Runtime {
            woken: Mutex<bool>,
            cond: Condvar,
        }
        impl Wake for Runtime {
            fn wake(self: std::sync::Arc<Self>) {
                *self.woken.lock().unwrap() = true;
                self.cond.notify_one();
            }
        }
        let runtime = std::sync::Arc::new(Runtime {
            woken: Mutex::new(false),
            cond: Condvar::new(),
        });
        let waker = Waker::from(std::sync::Arc::clone(&runtime));
        while self.poll(i, &waker, true).is_pending() {
            let mut woken = runtime.woken.lock().unwrap();
            while !*woken {
                woken = runtime.cond.wait(woken).unwrap();
            }
            *woken = false;
        }
    }

    /// Once every waiter has returned: checks that no announcement is
    /// left, then drops the gateway as `Inner::drop` does (the executor
    /// first, which ends a wait of the driver there, then the driver).
    fn finish(&self, driver: thread::JoinHandle<()>) {
        assert_eq!(
            handoff::lock(self).handoff.asleep(),
            0,
            "an announcement outlived its wake-up"
        );
        self.exec.close();
        handoff::lock(self).handoff.stop(&self.driver_wake);
        driver.join().unwrap();
    }
}

/// Starts the driver thread.
fn start_driver(gw: &Arc<Gateway>) -> thread::JoinHandle<()> {
    let gw = Arc::clone(gw);
    thread::spawn(move || handoff::drive(&*gw))
}

/// The reported hang: a thread blocked in `wait()` takes the token and
/// waits in the executor; an inline caller's poll reaps the blocked thread's
/// completion together with its own and leaves. The blocked thread must
/// still return.
#[test]
fn a_completion_reaped_by_another_thread_ends_the_wait_in_the_executor() {
    model(|| {
        let gw = Gateway::new(2);
        let driver = start_driver(&gw);
        let pool = {
            let gw = Arc::clone(&gw);
            thread::spawn(move || gw.exec.post(0))
        };
        let inline_caller = {
            let gw = Arc::clone(&gw);
            thread::spawn(move || {
                // An inline call: its completion is posted during the
                // submission, then it waits.
                gw.exec.post(1);
                gw.wait(1);
            })
        };
        gw.wait(0);
        pool.join().unwrap();
        inline_caller.join().unwrap();
        gw.finish(driver);
    });
}

/// Two blocked threads: one waits in the executor, the other sleeps
/// announced; the first one's completion comes first and it leaves. The
/// driver must take over and wake the second.
#[test]
fn the_driver_takes_over_when_the_waiter_in_the_executor_leaves() {
    model(|| {
        let gw = Gateway::new(2);
        let driver = start_driver(&gw);
        let pool = {
            let gw = Arc::clone(&gw);
            thread::spawn(move || {
                gw.exec.post(0);
                gw.exec.post(1);
            })
        };
        let other = {
            let gw = Arc::clone(&gw);
            thread::spawn(move || gw.wait(1))
        };
        gw.wait(0);
        other.join().unwrap();
        pool.join().unwrap();
        gw.finish(driver);
    });
}

/// A future sleeps announced beside a thread blocked in `wait()`; the
/// completions arrive in `order`, and the future's is reaped by the blocked
/// thread (in the executor, or polling) or by the driver after the blocked
/// thread left.
fn future_beside_blocked_thread(order: [usize; 2]) {
    model(move || {
        let gw = Gateway::new(2);
        let driver = start_driver(&gw);
        let pool = {
            let gw = Arc::clone(&gw);
            thread::spawn(move || order.into_iter().for_each(|i| gw.exec.post(i)))
        };
        let task = {
            let gw = Arc::clone(&gw);
            thread::spawn(move || gw.await_future(1))
        };
        gw.wait(0);
        task.join().unwrap();
        pool.join().unwrap();
        gw.finish(driver);
    });
}

#[test]
fn a_sleeping_future_completing_first_is_woken() {
    future_beside_blocked_thread([1, 0]);
}

#[test]
fn a_sleeping_future_completing_last_is_woken() {
    future_beside_blocked_thread([0, 1]);
}
