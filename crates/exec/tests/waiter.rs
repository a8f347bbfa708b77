//! `CompletionWaiter` and its `WaitInterrupter`: an interrupt ends a wait
//! that sleeps on the completion queue or in the reactor's ring, is kept
//! until a wait returns, and counts once.

mod common;

use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{BUF0, Harness};
use sysgate_exec::Waited;

/// Far longer than any wait here takes: a wait that reaches it was not
/// interrupted.
const LONG: Duration = Duration::from_secs(30);

fn gettid() -> i32 {
    // SAFETY: gettid takes no arguments and cannot fail.
    unsafe { libc::gettid() }
}

/// Waits until thread `tid` of this process is asleep (state `S`).
fn until_asleep(tid: i32) {
    let deadline = Instant::now() + LONG;
    loop {
        let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).unwrap();
        // `pid (comm) S ...`: the state follows the last ')'.
        let state = stat.rsplit(')').next().unwrap().trim_start().chars().next();
        if state == Some('S') {
            return;
        }
        assert!(Instant::now() < deadline, "thread {tid} never slept");
        std::thread::yield_now();
    }
}

/// Starts `waiter.wait(1, None)` on a thread, waits until that thread
/// sleeps, interrupts it and returns how the wait ended; fails if the wait
/// does not end.
fn interrupt_a_sleeping_wait(h: &Harness) -> Waited {
    let mut waiter = h.exec.waiter();
    let interrupter = waiter.interrupter();
    let (tid_tx, tid_rx) = mpsc::channel();
    let (done_tx, done_rx) = mpsc::channel();
    std::thread::spawn(move || {
        tid_tx.send(gettid()).unwrap();
        let _ = done_tx.send(waiter.wait(1, None));
    });
    until_asleep(tid_rx.recv().unwrap());
    interrupter.interrupt();
    // On a failure the waiter thread is left asleep; the test reports it.
    done_rx
        .recv_timeout(LONG)
        .expect("the interrupt did not end the wait")
}

#[test]
fn an_interrupt_ends_a_wait_on_the_completion_queue() {
    let h = Harness::new();
    assert_eq!(interrupt_a_sleeping_wait(&h), Waited::Interrupted);
}

#[test]
fn an_interrupt_ends_a_wait_in_the_reactor() {
    let mut h = Harness::new();
    // An empty pipe: the read waits for readiness.
    let (r, _w) = common::pipe();
    h.submit(common::with_out_buf(
        1,
        libc::SYS_read as u32,
        8,
        &[r as u64, BUF0, 8],
    ));
    h.enter(1, 0);
    // The waiter now sleeps in the reactor's ring, not on the condition
    // variable.
    assert_eq!(h.exec.stats().parked, 1, "{:?}", h.exec.stats());
    assert_eq!(interrupt_a_sleeping_wait(&h), Waited::Interrupted);
}

#[test]
fn an_interrupt_is_kept_until_a_wait_returns_and_counts_once() {
    let mut h = Harness::new();
    let mut waiter = h.exec.waiter();
    let interrupter = waiter.interrupter();
    interrupter.interrupt();
    interrupter.interrupt();
    assert_eq!(waiter.wait(1, Some(LONG)), Waited::Interrupted);
    assert_eq!(
        waiter.wait(1, Some(Duration::from_millis(20))),
        Waited::TimedOut
    );
    // Completions ready win over an interrupt, which is then used up too.
    h.submit(common::call(2, libc::SYS_getpid as u32, &[]));
    h.enter(1, 0);
    interrupter.interrupt();
    assert_eq!(waiter.wait(1, Some(LONG)), Waited::Ready);
    assert_eq!(h.reap_now().len(), 1);
    assert_eq!(
        waiter.wait(1, Some(Duration::from_millis(20))),
        Waited::TimedOut
    );
}
