//! 4. `mixed`: a stream of 90% `getppid` / 10% `nanosleep(100 µs)` (op i
//!    sleeps when i mod 10 = 9), 64 in flight, 20,000 ops (5,000 under
//!    `--quick`). Throughput: ns/op is round wall time / ops.
//!
//! - sysgate: `Gate::run_stream`; the getppids run inline during `enter`,
//!   the sleeps go to the pool.
//! - always_punt: the same stream with ASYNC on every submission (sysgate's
//!   own pool for everything: the always-punt design).
//! - pool64_crossbeam: every op a job on the plain 64-thread pool.
//! - tokio_spawn_blocking: every op a `spawn_blocking` (a program that cannot
//!   tell which calls block punts them all).

use std::time::Duration;

use crate::harness::{Variant, interleave, timed};
use crate::report::{Goal, Report, Target, Unit};
use crate::scenarios::pool64::{Job, ThreadPool, tokio_stream};
use crate::scenarios::{Config, RowSpec, names, progress, row, tokio_runtime};
use crate::sysgate_side::{Gate, StreamOp};

const INFLIGHT: u32 = 64;
const SLEEP_NS: u32 = 100_000;

fn op(i: u64) -> StreamOp {
    if i % 10 == 9 {
        StreamOp::Sleep { nanos: SLEEP_NS }
    } else {
        StreamOp::Getppid
    }
}

fn job(i: u64) -> Job {
    match op(i) {
        StreamOp::Sleep { nanos } => Job::Sleep(Duration::from_nanos(u64::from(nanos))),
        StreamOp::Getppid => Job::Getppid,
    }
}

pub fn run(cfg: &Config, report: &mut Report) {
    let total: u64 = cfg.pick(5_000, 20_000);
    progress(&format!("mixed ops={total}"));
    let mut gate = Gate::new();
    let mut punt_gate = Gate::new();
    let pool = ThreadPool::new(INFLIGHT as usize);
    let rt = tokio_runtime();
    let mut variants = vec![
        Variant::new("sysgate", "sysgate (inline + pool)", || {
            timed(total, || gate.run_stream(total, INFLIGHT, false, op)).0
        }),
        Variant::new("always_punt", "sysgate ASYNC (always-punt)", || {
            timed(total, || punt_gate.run_stream(total, INFLIGHT, true, op)).0
        }),
        Variant::new(
            "pool64_crossbeam",
            "plain 64-thread pool (crossbeam)",
            || timed(total, || pool.run_stream(total, INFLIGHT, job)).0,
        ),
        Variant::new(
            "tokio_spawn_blocking",
            "tokio spawn_blocking (every op)",
            || timed(total, || rt.block_on(tokio_stream(total, INFLIGHT, job))).0,
        ),
    ];
    let series = interleave(cfg.warmup, cfg.pick(5, 9), &mut variants);
    let names = names(&variants);
    drop(variants);
    let spec = RowSpec {
        scenario: "mixed",
        variant: format!("getppid90/sleep10,inflight={INFLIGHT}"),
        what: "90% getppid / 10% nanosleep(100 µs), ns per op = 1e9 / ops/s".into(),
        unit: Unit::Throughput,
        nominal_ops: total,
        targets: vec![Target {
            baseline: "always_punt",
            goal: Goal::SpeedupAtLeast(5.0),
            label: "≥ 5× always-punt",
        }],
    };
    let notes = vec![
        format!("sysgate executor: {}", gate.counters()),
        format!("always-punt executor: {}", punt_gate.counters()),
    ];
    report.rows.push(row(spec, &names, &series, notes));
}
