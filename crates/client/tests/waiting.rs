//! The waiting protocol under stress: threads blocked in `wait()` on pooled
//! requests, beside inline callers and tokio tasks that come and go, for
//! thousands of short rounds. A lost wake-up shows as a round that does not
//! end: a watchdog then reports the round and the gateway's counters and
//! fails the test (it never hangs CI).
//!
//! `SYSGATE_STRESS_ROUNDS=10000 cargo test -p sysgate --test waiting`
//! runs more rounds than CI's default.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use sysgate::{Flags, Gateway, OpSet, Syscall, raw};

/// Rounds run by default (a few seconds on the 2-core VM).
const DEFAULT_ROUNDS: usize = 1_500;
/// How long a round may take before it counts as hung. Rounds take well
/// under a millisecond; this only has to outlast a loaded machine.
const ROUND_TIMEOUT: Duration = Duration::from_secs(10);

fn getpid() -> Syscall {
    raw(libc::SYS_getpid as u32, [])
}

fn getppid() -> Syscall {
    raw(libc::SYS_getppid as u32, [])
}

/// Who takes part in a round besides the blocked waiters.
#[derive(Clone, Copy, Debug)]
enum Mix {
    /// Threads making inline `call`s, then leaving.
    InlineCallers,
    /// Tokio tasks awaiting inline and pooled requests, then ending.
    TokioTasks,
    Both,
}

/// Blocked `wait()`ers on three threads (two on single requests, one on an
/// [`OpSet`]), each waiting for pooled (`ASYNC`) requests, beside inline
/// callers and tokio tasks that stop before the waiters do; every round must
/// end.
#[test]
fn blocked_waiters_always_wake() {
    let rounds = std::env::var("SYSGATE_STRESS_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(DEFAULT_ROUNDS);
    let gw = Gateway::new().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let pid = i64::from(std::process::id());
    let ppid = i64::from(std::os::unix::process::parent_id());
    let started = Instant::now();
    for round in 0..rounds {
        let mix = [Mix::InlineCallers, Mix::TokioTasks, Mix::Both][round % 3];
        // Each participant reports here when it is done; the round is over
        // when all have.
        let (done_tx, done_rx) = mpsc::channel::<&'static str>();
        let mut expected = 0;
        // The waiters' requests go to the pool; their threads block.
        for waiter in ["waiter 0", "waiter 1"] {
            let (gw, done) = (gw.clone(), done_tx.clone());
            std::thread::spawn(move || {
                for _ in 0..3 {
                    let out = gw.submit_with(getpid(), Flags::ASYNC).wait().unwrap();
                    assert_eq!(out.value, pid);
                }
                let _ = done.send(waiter);
            });
            expected += 1;
        }
        {
            let (gw, done) = (gw.clone(), done_tx.clone());
            std::thread::spawn(move || {
                let mut set = OpSet::new(&gw);
                for _ in 0..3 {
                    set.push_with(getpid(), Flags::ASYNC).unwrap();
                }
                let mut n = 0;
                while let Some((_, out)) = set.wait_next() {
                    assert_eq!(out.unwrap().value, pid);
                    n += 1;
                }
                assert_eq!(n, 3);
                let _ = done.send("set waiter");
            });
            expected += 1;
        }
        if matches!(mix, Mix::InlineCallers | Mix::Both) {
            for caller in ["inline caller 0", "inline caller 1"] {
                let (gw, done) = (gw.clone(), done_tx.clone());
                std::thread::spawn(move || {
                    for _ in 0..(round % 7) * 5 {
                        assert_eq!(gw.call(getppid()).unwrap().value, ppid);
                    }
                    let _ = done.send(caller);
                });
                expected += 1;
            }
        }
        if matches!(mix, Mix::TokioTasks | Mix::Both) {
            for task in ["task 0", "task 1", "task 2", "task 3"] {
                let (gw, done) = (gw.clone(), done_tx.clone());
                rt.spawn(async move {
                    for i in 0..(round % 5) * 3 {
                        if i % 3 == 2 {
                            // A future that sleeps: the driver delivers it.
                            let out = gw.submit_with(getpid(), Flags::ASYNC).await;
                            assert_eq!(out.unwrap().value, pid);
                        } else {
                            assert_eq!(gw.submit(getppid()).await.unwrap().value, ppid);
                        }
                    }
                    let _ = done.send(task);
                });
                expected += 1;
            }
        }
        drop(done_tx);
        let mut finished = Vec::new();
        while finished.len() < expected {
            match done_rx.recv_timeout(ROUND_TIMEOUT) {
                Ok(who) => finished.push(who),
                // A participant panicked (its assertion is printed above).
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    panic!("round {round}: a participant failed; finished: {finished:?}")
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    // The hung threads keep their gateway clones: nothing
                    // here joins them, so the failure is reported at once.
                    panic!(
                        "round {round} ({mix:?}) hung for {ROUND_TIMEOUT:?}: \
                         finished {finished:?} of {expected}; stats {:#?}",
                        gw.stats()
                    );
                }
            }
        }
    }
    let elapsed = started.elapsed();
    let stats = gw.stats();
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "waiting stress: {rounds} rounds in {elapsed:.2?}, {} requests completed",
        stats.completed
    );
    assert_eq!(stats.submitted, stats.completed);
}
