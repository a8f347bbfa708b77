//! 3. `blocking`: `nanosleep(100 µs)`, 64 in flight, 20,000 ops (4,000
//!    under `--quick`). Throughput: ns/op is round wall time / ops, i.e.
//!    1e9 / ops/s.
//!
//! - sysgate: `nanosleep` submissions (class blocking: the pool's unbounded
//!   account), kept 64 outstanding by `Gate::run_stream`.
//! - pool64_crossbeam: a plain pool of 64 threads over crossbeam-channel,
//!   64 jobs outstanding (see `pool64`).
//! - tokio_spawn_blocking: a `JoinSet` of `spawn_blocking(sleep)`, 64
//!   outstanding.

use std::time::Duration;

use crate::harness::{Variant, interleave, timed};
use crate::report::{Goal, Report, Target, Unit};
use crate::scenarios::pool64::{Job, ThreadPool, tokio_stream};
use crate::scenarios::{Config, RowSpec, names, progress, row, tokio_runtime};
use crate::sysgate_side::{Gate, StreamOp};

const INFLIGHT: u32 = 64;
const SLEEP_NS: u32 = 100_000;

pub fn run(cfg: &Config, report: &mut Report) {
    let total: u64 = cfg.pick(4_000, 20_000);
    progress(&format!("blocking ops={total}"));
    let mut gate = Gate::new();
    let pool = ThreadPool::new(INFLIGHT as usize);
    let rt = tokio_runtime();
    let sleep = Job::Sleep(Duration::from_nanos(u64::from(SLEEP_NS)));
    let mut variants = vec![
        Variant::new("sysgate", "sysgate (punted: blocking class)", || {
            timed(total, || {
                gate.run_stream(total, INFLIGHT, false, |_| StreamOp::Sleep {
                    nanos: SLEEP_NS,
                })
            })
            .0
        }),
        Variant::new(
            "pool64_crossbeam",
            "plain 64-thread pool (crossbeam)",
            || timed(total, || pool.run_stream(total, INFLIGHT, |_| sleep)).0,
        ),
        Variant::new("tokio_spawn_blocking", "tokio spawn_blocking", || {
            timed(total, || {
                rt.block_on(tokio_stream(total, INFLIGHT, |_| sleep))
            })
            .0
        }),
    ];
    let series = interleave(cfg.warmup, cfg.pick(5, 9), &mut variants);
    let names = names(&variants);
    drop(variants);
    let spec = RowSpec {
        scenario: "blocking",
        variant: format!("sleep=100us,inflight={INFLIGHT}"),
        what: "nanosleep(100 µs), ns per op = 1e9 / ops/s".into(),
        unit: Unit::Throughput,
        nominal_ops: total,
        targets: vec![
            Target {
                baseline: "pool64_crossbeam",
                goal: Goal::SpeedupAtLeast(2.0),
                label: "≥ 2× the 64-thread pool's ops/s",
            },
            Target {
                baseline: "pool64_crossbeam",
                goal: Goal::LessCpu,
                label: "less CPU than the 64-thread pool",
            },
            Target {
                baseline: "tokio_spawn_blocking",
                goal: Goal::SpeedupAtLeast(3.0),
                label: "≥ 3× tokio's ops/s",
            },
            Target {
                baseline: "tokio_spawn_blocking",
                goal: Goal::LessCpu,
                label: "less CPU than tokio",
            },
        ],
    };
    let notes = vec![
        format!(
            "ideal with 64 in flight and 100 µs sleeps: {:.0} ops/s (timer slack adds ~50 µs per sleep by default)",
            f64::from(INFLIGHT) * 1e9 / f64::from(SLEEP_NS)
        ),
        format!("sysgate executor: {}", gate.counters()),
    ];
    report.rows.push(row(spec, &names, &series, notes));
}
