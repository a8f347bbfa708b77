//! 5. `sockets`: 1,000 AF_UNIX socketpairs with a `recv` pending on one end
//!    of each, then one 1-byte ping per pair, one at a time. ns/op is the
//!    mean latency of a ping: from the `send` on the far end until the
//!    `recv`'s result is in hand (the ping phase only; arming is not timed,
//!    but its CPU is counted). The text report also gives the threads the
//!    process has while the 1,000 receives are pending.
//!
//! - sysgate: `recv` submissions without flags: tried inline with
//!   MSG_DONTWAIT, EAGAIN, parked on readiness with no thread (on the run's
//!   readiness backend: io_uring POLL_ADD where the kernel allows it, else
//!   epoll); a ping makes the fd ready, `enter` retries the recv inline.
//! - sysgate_epoll (when the run's backend is io_uring): the same on a
//!   gateway forced to the epoll backend, the one used where io_uring is
//!   refused.
//! - sysgate_async: the same submissions with ASYNC: one pool worker per
//!   pending recv (punt-per-recv), blocked in `recv` until its ping.
//! - thread_per_recv: one plain thread per pair blocked in `recv`, reporting
//!   over a crossbeam channel.

use std::cell::Cell;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use nix::sys::resource::{Resource, getrlimit, setrlimit};

use crate::harness::{Round, Variant, interleave};
use crate::report::{Goal, Report, Target, Unit};
use crate::scenarios::{
    Config, RowSpec, names, progress, row, settle_threads, threads_in_syscalls, threads_now,
};
use crate::sysgate_side::Gate;
use sysgate::ReadinessBackend;

const PAIRS: usize = 1_000;

/// Raises the soft fd limit if needed; returns how many pairs fit.
fn pairs_that_fit(want: usize) -> usize {
    let need = (want * 2 + 256) as u64;
    if let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) {
        if soft < need {
            let _ = setrlimit(Resource::RLIMIT_NOFILE, need.min(hard), hard);
        }
        if let Ok((soft, _)) = getrlimit(Resource::RLIMIT_NOFILE) {
            return want.min((soft.saturating_sub(256) / 2) as usize);
        }
    }
    want
}

/// Sends one byte on each `b` in turn and waits for its receive with
/// `wait(i)`; returns the timed round.
fn pings(b: &[UnixStream], mut wait: impl FnMut(usize)) -> Round {
    let start = Instant::now();
    for (i, s) in b.iter().enumerate() {
        (&*s).write_all(b"p").expect("ping");
        wait(i);
    }
    Round {
        ops: b.len() as u64,
        wall: start.elapsed(),
    }
}

pub fn run(cfg: &Config, report: &mut Report) {
    let n = pairs_that_fit(PAIRS);
    progress(&format!("sockets pairs={n}"));
    let pairs: Vec<(UnixStream, UnixStream)> = (0..n)
        .map(|_| UnixStream::pair().expect("socketpair"))
        .collect();
    let a_fds: Vec<RawFd> = pairs.iter().map(|(a, _)| a.as_raw_fd()).collect();
    let b: Vec<UnixStream> = pairs
        .iter()
        .map(|(_, b)| b.try_clone().expect("dup"))
        .collect();

    let mut gate = Gate::new();
    // Probe: is a pending recv parked on readiness (no thread), or would the
    // executor fall back to the pool?
    gate.arm_recvs(&a_fds[..1], false);
    let parked = gate.parked();
    (&b[0]).write_all(b"p").expect("probe ping");
    let r = gate.reap(a_fds[0]);
    assert_eq!(r, 1, "probe recv");
    if parked != 1 {
        report.skipped.push((
            "sockets".into(),
            "needs poll-armed retry (the executor did not park the probe recv)".into(),
        ));
        return;
    }

    let backend = gate.readiness();
    // The epoll backend beside io_uring, when the run has io_uring.
    let mut epoll = (backend == ReadinessBackend::IoUring)
        .then(|| Gate::with_readiness(ReadinessBackend::Epoll));
    let mut punt = Gate::with_pool_idle(Duration::from_millis(20));
    let base = settle_threads(Duration::from_secs(3));
    // Per variant, the most (process threads, threads blocked in a recv)
    // seen while its receives were pending.
    let peaks = [const { Cell::new((0usize, 0usize)) }; 4];
    let parked_max = Cell::new(0u64);
    // (Not `read`: this thread is in `read` while it looks.)
    let recv_nrs = [libc::SYS_recvfrom, libc::SYS_recvmsg];
    let peak = |i: usize| {
        let (t, b) = peaks[i].get();
        peaks[i].set((t.max(threads_now()), b.max(threads_in_syscalls(&recv_nrs))));
    };
    let mut variants = vec![
        Variant::new(
            "sysgate",
            format!("sysgate recv (parked, {backend})"),
            || {
                gate.arm_recvs(&a_fds, false);
                parked_max.set(parked_max.get().max(gate.parked()));
                peak(0);
                pings(&b, |i| {
                    assert_eq!(gate.reap(a_fds[i]), 1, "the pinged recv completes");
                })
            },
        ),
        Variant::new("sysgate_async", "sysgate ASYNC (punt per recv)", || {
            punt.arm_recvs(&a_fds, true);
            let t = Instant::now();
            while punt.unbounded_busy() < n && t.elapsed() < Duration::from_secs(10) {
                std::thread::sleep(Duration::from_millis(1));
            }
            peak(1);
            let round = pings(&b, |i| {
                assert_eq!(punt.reap(a_fds[i]), 1, "the pinged recv completes");
            });
            // Let the idle workers leave before the next variant counts.
            settle_threads(Duration::from_secs(3));
            round
        }),
        Variant::new("thread_per_recv", "a thread per recv (std)", || {
            let (tx, rx) = crossbeam_channel::unbounded::<usize>();
            let started = AtomicUsize::new(0);
            std::thread::scope(|s| {
                for (i, (a, _)) in pairs.iter().enumerate() {
                    let (tx, started) = (tx.clone(), &started);
                    std::thread::Builder::new()
                        .stack_size(64 * 1024)
                        .spawn_scoped(s, move || {
                            started.fetch_add(1, Ordering::Relaxed);
                            let mut byte = [0u8; 1];
                            let got = (&*a).read(&mut byte).expect("recv");
                            assert_eq!(got, 1);
                            let _ = tx.send(i);
                        })
                        .expect("spawning a recv thread");
                }
                while started.load(Ordering::Relaxed) < n {
                    std::thread::sleep(Duration::from_millis(1));
                }
                peak(2);
                pings(&b, |i| {
                    assert_eq!(rx.recv().expect("a recv thread"), i);
                })
            })
        }),
    ];
    if let Some(epoll) = epoll.as_mut() {
        variants.insert(
            1,
            Variant::new("sysgate_epoll", "sysgate recv (parked, epoll)", || {
                epoll.arm_recvs(&a_fds, false);
                assert_eq!(epoll.parked(), n as u64, "every recv parked on epoll");
                peak(3);
                pings(&b, |i| {
                    assert_eq!(epoll.reap(a_fds[i]), 1, "the pinged recv completes");
                })
            }),
        );
    }
    let series = interleave(cfg.warmup, cfg.pick(3, 7), &mut variants);
    let names = names(&variants);
    drop(variants);
    let [(t0, b0), (t1, b1), (t2, b2), (t3, b3)] = peaks.each_ref().map(|c| c.get());
    let notes = vec![
        format!(
            "threads while {n} recvs are pending (peak over rounds): blocked in recv / process total (was {base} before) — sysgate parked on {backend} {b0} / {t0}, sysgate ASYNC {b1} / {t1}, thread per recv {b2} / {t2}{}",
            if epoll.is_some() {
                format!(", sysgate parked on epoll {b3} / {t3}")
            } else {
                String::new()
            }
        ),
        format!(
            "sysgate parked {} of {n} recvs at once; executor: {}",
            parked_max.get(),
            gate.counters()
        ),
        format!("ASYNC executor: {}", punt.counters()),
    ];
    let spec = RowSpec {
        scenario: "sockets",
        variant: format!("pairs={n}"),
        what: "latency of one ping with all recvs pending, ns".into(),
        unit: Unit::NsPerOp,
        nominal_ops: n as u64,
        targets: vec![
            Target {
                baseline: "sysgate_epoll",
                goal: Goal::BaselineAtMost(1.3),
                label: "epoll ping ≤ 1.3× io_uring's",
            },
            Target {
                baseline: "sysgate_epoll",
                goal: Goal::BaselineAtMost(1.1),
                label: "(goal) epoll ping ≤ 1.1× io_uring's",
            },
        ],
    };
    report.rows.push(row(spec, &names, &series, notes));
}
