//! 1. `nonblocking`: `getppid` one `gw.call` at a time, and at batch 1 and
//!    32.
//!
//! - call: `gw.call(raw(getppid))`, one call after another, the way most
//!   programs start (against direct only).
//! - sysgate: `batch` submissions encoded and staged, one `enter(batch,
//!   batch)` runs them inline on this thread, `batch` completions decoded.
//! - direct: `getppid()` through libc (`std::os::unix::process::parent_id`),
//!   one syscall per op.
//! - sysgate_async: as sysgate with the ASYNC flag: every call on the pool
//!   (the always-punt design: a worker wake-up per call).
//! - tokio_spawn_blocking: inside `block_on` of a current-thread runtime,
//!   `batch` × `spawn_blocking(getppid)`, then await them all.
//! - io_uring_nop: `batch` NOP SQEs, one `io_uring_enter` that submits and
//!   waits for all, CQEs reaped (io_uring has no getppid: this is the floor
//!   of a kernel ring at the same batch).

use std::cell::RefCell;
use std::hint::black_box;

use crate::harness::{Round, Variant, interleave, timed};
use crate::report::{Goal, Report, Target, Unit};
use crate::scenarios::{Config, RowSpec, names, progress, row, tokio_runtime};
use crate::sysgate_side::Gate;
use crate::uring::Uring;

/// The cheap variants run this many times the nominal ops per round, so
/// that a round lasts long enough to time precisely.
const FAST: u64 = 20;

pub fn run(cfg: &Config, report: &mut Report) {
    // A multiple of 32, so both batches divide it.
    let nominal: u64 = cfg.pick(2_048, 10_240);
    let gate = RefCell::new(Gate::new());
    let rt = tokio_runtime();
    let mut uring = match Uring::new() {
        Ok(u) => Some(u),
        Err(e) => {
            report.skipped.push((
                "nonblocking io_uring NOP".into(),
                format!("io_uring unavailable: {e}"),
            ));
            None
        }
    };
    progress("nonblocking call");
    let mut variants = vec![
        Variant::new("sysgate", "sysgate gw.call", || {
            let g = gate.borrow();
            timed(nominal * FAST, || {
                for _ in 0..nominal * FAST {
                    black_box(g.getppid_call());
                }
            })
            .0
        }),
        Variant::new("direct", "direct getppid (libc)", direct(nominal)),
    ];
    let series = interleave(cfg.warmup, cfg.rounds, &mut variants);
    let spec = RowSpec {
        scenario: "nonblocking",
        variant: "call".into(),
        what: "getppid, ns per gw.call".into(),
        unit: Unit::NsPerOp,
        nominal_ops: nominal,
        targets: vec![Target {
            baseline: "direct",
            goal: Goal::RatioAtMost(3.0),
            label: "≤ 3× direct",
        }],
    };
    let call_names = names(&variants);
    drop(variants);
    report
        .rows
        .push(row(spec, &call_names, &series, Vec::new()));
    for batch in [1u32, 32] {
        progress(&format!("nonblocking batch={batch}"));
        let reps = nominal / u64::from(batch);
        let mut variants = vec![
            Variant::new("sysgate", "sysgate inline", || {
                let mut g = gate.borrow_mut();
                timed(nominal * FAST, || {
                    for _ in 0..reps * FAST {
                        black_box(g.getppid_batch(batch, false));
                    }
                })
                .0
            }),
            Variant::new("direct", "direct getppid (libc)", direct(nominal)),
            Variant::new("sysgate_async", "sysgate ASYNC (always-punt pool)", || {
                let mut g = gate.borrow_mut();
                timed(nominal, || {
                    for _ in 0..reps {
                        black_box(g.getppid_batch(batch, true));
                    }
                })
                .0
            }),
            Variant::new("tokio_spawn_blocking", "tokio spawn_blocking", || {
                timed(nominal, || {
                    rt.block_on(async {
                        let mut sum = 0u64;
                        let mut handles = Vec::with_capacity(batch as usize);
                        for _ in 0..reps {
                            for _ in 0..batch {
                                handles.push(tokio::task::spawn_blocking(
                                    std::os::unix::process::parent_id,
                                ));
                            }
                            for h in handles.drain(..) {
                                sum += u64::from(h.await.expect("spawn_blocking"));
                            }
                        }
                        black_box(sum)
                    })
                })
                .0
            }),
        ];
        if let Some(u) = uring.as_mut() {
            variants.push(Variant::new(
                "io_uring_nop",
                "io_uring NOP (kernel-ring floor)",
                move || {
                    timed(nominal * FAST, || {
                        for _ in 0..reps * FAST {
                            black_box(u.nop_batch(batch));
                        }
                    })
                    .0
                },
            ));
        }
        let series = interleave(cfg.warmup, cfg.rounds, &mut variants);
        let targets = if batch == 32 {
            vec![
                Target {
                    baseline: "direct",
                    goal: Goal::RatioAtMost(1.5),
                    label: "≤ 1.5× direct",
                },
                Target {
                    baseline: "direct",
                    goal: Goal::RatioAtMost(1.1),
                    label: "(goal) ≤ 1.1× direct",
                },
                Target {
                    baseline: "sysgate_async",
                    goal: Goal::SpeedupAtLeast(10.0),
                    label: "≥ 10× faster than always-punt",
                },
                Target {
                    baseline: "tokio_spawn_blocking",
                    goal: Goal::SpeedupAtLeast(10.0),
                    label: "≥ 10× faster than tokio spawn_blocking",
                },
            ]
        } else {
            Vec::new()
        };
        let spec = RowSpec {
            scenario: "nonblocking",
            variant: format!("batch={batch}"),
            what: "getppid, ns per call".into(),
            unit: Unit::NsPerOp,
            nominal_ops: nominal,
            targets,
        };
        let notes = vec![format!(
            "cheap variants (sysgate inline, direct, io_uring) run {FAST}× the nominal ops per round; sysgate executor so far: {}",
            gate.borrow().counters()
        )];
        let names = names(&variants);
        drop(variants);
        report.rows.push(row(spec, &names, &series, notes));
    }
}

/// The direct baseline: `nominal × FAST` getppid calls through libc.
fn direct(nominal: u64) -> impl FnMut() -> Round {
    move || {
        timed(nominal * FAST, || {
            for _ in 0..nominal * FAST {
                black_box(std::os::unix::process::parent_id());
            }
        })
        .0
    }
}
