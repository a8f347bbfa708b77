//! The scenarios of issue 9. Each one builds its variants (sysgate from
//! [`crate::sysgate_side`], the baselines here), runs them interleaved with
//! [`crate::harness::interleave`], and adds rows to the report.

use std::time::{Duration, Instant};

use crate::harness::{Series, Variant};
use crate::report::{Measured, Row, SysgateOutcome, Target, Unit};

pub mod big_read;
pub mod blocking;
pub mod cached_read;
pub mod codec;
pub mod mixed;
pub mod nonblocking;
pub mod pool64;
pub mod sockets;
pub mod tree_walk;

/// Run length: quick or full.
#[derive(Clone, Copy, Debug)]
pub struct Config {
    /// The short run.
    pub quick: bool,
    /// Unrecorded rounds before the measured ones.
    pub warmup: usize,
    /// Measured rounds of the ordinary scenarios.
    pub rounds: usize,
}

impl Config {
    /// The settings for `quick` or the full run.
    pub fn new(quick: bool) -> Self {
        Config {
            quick,
            warmup: 1,
            rounds: if quick { 5 } else { 11 },
        }
    }

    /// `quick` in a quick run, `full` otherwise.
    pub fn pick<T>(&self, quick: T, full: T) -> T {
        if self.quick { quick } else { full }
    }
}

/// What a scenario's row is, before the numbers.
pub struct RowSpec {
    /// The scenario.
    pub scenario: &'static str,
    /// Its setting.
    pub variant: String,
    /// What one operation is.
    pub what: String,
    /// Latency or throughput.
    pub unit: Unit,
    /// Operations per round each variant is charged CPU for.
    pub nominal_ops: u64,
    /// Targets to check.
    pub targets: Vec<Target>,
}

/// The (key, label) of each variant, so the variants (and what their
/// closures borrow) can be dropped before the row is built.
pub fn names(variants: &[Variant<'_>]) -> Vec<(&'static str, String)> {
    variants.iter().map(|v| (v.key, v.label.clone())).collect()
}

/// Builds a row from the variants' names (the one keyed `sysgate` is
/// sysgate, the rest are baselines) and their series.
pub fn row(
    spec: RowSpec,
    names: &[(&'static str, String)],
    series: &[Series],
    notes: Vec<String>,
) -> Row {
    let mut sysgate = None;
    let mut baselines = Vec::new();
    for ((key, label), s) in names.iter().zip(series) {
        let m = Measured {
            key,
            label: label.clone(),
            stats: s.stats(spec.nominal_ops),
        };
        if *key == "sysgate" {
            sysgate = Some(m);
        } else {
            baselines.push(m);
        }
    }
    Row {
        scenario: spec.scenario,
        variant: spec.variant,
        what: spec.what,
        unit: spec.unit,
        nominal_ops: spec.nominal_ops,
        sysgate: sysgate.map_or_else(
            || SysgateOutcome::Pending("not measured".into()),
            SysgateOutcome::Measured,
        ),
        baselines,
        targets: spec.targets,
        notes,
    }
}

/// A tokio runtime for the baselines: current-thread, so the awaiting
/// task runs on the calling thread like sysgate's submitter does, with
/// tokio's blocking pool (default limits) behind `spawn_blocking`.
pub fn tokio_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("building a tokio runtime")
}

/// Threads of this process now (entries of `/proc/self/task`).
pub fn threads_now() -> usize {
    std::fs::read_dir("/proc/self/task").map_or(0, |d| d.count())
}

/// Threads of this process blocked right now in one of the syscalls
/// `nrs` (the first field of `/proc/self/task/*/syscall`).
pub fn threads_in_syscalls(nrs: &[i64]) -> usize {
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    dir.filter_map(Result::ok)
        .filter(|t| {
            std::fs::read_to_string(t.path().join("syscall"))
                .ok()
                .and_then(|s| s.split_whitespace().next()?.parse::<i64>().ok())
                .is_some_and(|nr| nrs.contains(&nr))
        })
        .count()
}

/// Waits (sleeping) until the thread count has not dropped for 100 ms, at
/// most `limit`; returns it.
pub fn settle_threads(limit: Duration) -> usize {
    let start = Instant::now();
    let mut last = threads_now();
    let mut stable_since = Instant::now();
    while start.elapsed() < limit {
        std::thread::sleep(Duration::from_millis(10));
        let now = threads_now();
        if now < last {
            last = now;
            stable_since = Instant::now();
        } else if stable_since.elapsed() >= Duration::from_millis(100) {
            break;
        }
    }
    last
}

/// Prints what is about to run (to stderr, so stdout stays clean for JSON).
pub fn progress(what: &str) {
    eprintln!("[sysgate-bench] {what}");
}
