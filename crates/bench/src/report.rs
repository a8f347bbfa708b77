//! Rows of results, the targets of issue 9, and the text and JSON reports.
//!
//! # JSON schema
//!
//! ```text
//! {
//!   "machine": { "kernel", "cpu_model", "cores", "memory_gib", "arch", "date", "mode", "sysgate_version" },
//!   "scenarios": [
//!     { "name": "nonblocking", "variant": "batch=32",
//!       "sysgate":   { "median_ns", "min_ns", "max_ns", "cpu_s" } | null,
//!       "baselines": { "<baseline>": { "median_ns", "min_ns", "max_ns", "cpu_s" }, ... },
//!       "ratios":    { "<baseline>": sysgate.median_ns / baseline.median_ns, ... } }
//!   ]
//! }
//! ```
//!
//! - Every time is **nanoseconds per operation**, also in the throughput
//!   scenarios (`blocking`, `mixed`): there `median_ns` is the wall time of a
//!   round divided by the operations it completed, so ops/s = 1e9 /
//!   `median_ns`. A ratio below 1 always means sysgate is faster.
//! - `median_ns`/`min_ns`/`max_ns`: median, fastest and slowest over the
//!   measured rounds (the warm-up round is not recorded).
//! - `cpu_s`: CPU seconds (user + system, the whole process and its waited-for
//!   children) charged for the row's nominal work — CPU ns per operation of
//!   each measured round × the row's nominal operations per round, summed
//!   over the measured rounds — so it compares directly across a row.
//! - `sysgate` is `null` and `ratios` is `{}` when the sysgate variant of a
//!   scenario is pending (`tree_walk` until the client crate's `du` example
//!   exists).
//! - `targets`: each target with its baseline, `met` (true, false, or null
//!   when not measured) and what was measured.
//! - Keys are sorted; a scenario that was skipped has no entry.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::harness::{Stats, ratio};
use crate::machine::Machine;

/// How a row's speed is best read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// Latency: ns per operation.
    NsPerOp,
    /// Throughput: ops/s (still reported as ns per operation in JSON).
    Throughput,
}

/// One measured variant.
#[derive(Clone, Debug)]
pub struct Measured {
    /// The JSON name.
    pub key: &'static str,
    /// What the text table shows.
    pub label: String,
    /// The numbers.
    pub stats: Stats,
}

/// The sysgate side of a row.
#[derive(Clone, Debug)]
pub enum SysgateOutcome {
    /// Measured like the baselines.
    Measured(Measured),
    /// Not measurable yet; why.
    Pending(String),
}

/// A target from issue 9, checked against one baseline of a row.
#[derive(Clone, Debug)]
pub struct Target {
    /// The baseline it compares with.
    pub baseline: &'static str,
    /// The condition.
    pub goal: Goal,
    /// The target as the issue words it.
    pub label: &'static str,
}

/// The condition of a [`Target`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Goal {
    /// `sysgate / baseline ≤ x` (time per operation).
    RatioAtMost(f64),
    /// `baseline / sysgate ≥ x`: sysgate x times as fast (or x × the ops/s).
    SpeedupAtLeast(f64),
    /// sysgate used less CPU than the baseline.
    LessCpu,
    /// sysgate's median time per operation is at most this many ns (the
    /// baseline is shown beside it).
    AtMostNs(f64),
    /// `baseline / sysgate ≤ x`: the baseline (another sysgate variant) at
    /// most x times sysgate's time per operation.
    BaselineAtMost(f64),
}

/// Whether a target was met.
#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    /// Met; the measured value.
    Met(String),
    /// Missed; the measured value and by how much.
    Missed(String),
    /// No sysgate measurement yet.
    Pending,
    /// The baseline was not measured (skipped).
    NoBaseline,
}

impl Target {
    /// Checks the target against `row`.
    pub fn check(&self, row: &Row) -> Verdict {
        let SysgateOutcome::Measured(s) = &row.sysgate else {
            return Verdict::Pending;
        };
        let Some(b) = row.baselines.iter().find(|b| b.key == self.baseline) else {
            return Verdict::NoBaseline;
        };
        let r = ratio(s.stats.median_ns, b.stats.median_ns);
        match self.goal {
            Goal::RatioAtMost(x) => {
                let v = fmt_ratio(r);
                if r <= x {
                    Verdict::Met(v)
                } else {
                    Verdict::Missed(format!("{v}, {:.0}% over", (r / x - 1.0) * 100.0))
                }
            }
            Goal::SpeedupAtLeast(x) => {
                let speedup = 1.0 / r;
                let v = format!("sysgate {speedup:.2}× as fast");
                if speedup >= x {
                    Verdict::Met(v)
                } else {
                    Verdict::Missed(format!("{v}, {:.0}% short", (1.0 - speedup / x) * 100.0))
                }
            }
            Goal::BaselineAtMost(x) => {
                let inverse = 1.0 / r;
                let v = fmt_ratio(inverse);
                if inverse <= x {
                    Verdict::Met(v)
                } else {
                    Verdict::Missed(format!("{v}, {:.0}% over", (inverse / x - 1.0) * 100.0))
                }
            }
            Goal::AtMostNs(x) => {
                let ns = s.stats.median_ns;
                let v = format!("{ns:.1} ns");
                if ns <= x {
                    Verdict::Met(v)
                } else {
                    Verdict::Missed(format!("{v}, {:.0}% over", (ns / x - 1.0) * 100.0))
                }
            }
            Goal::LessCpu => {
                let v = format!("cpu {:.3} s vs {:.3} s", s.stats.cpu_s, b.stats.cpu_s);
                if s.stats.cpu_s < b.stats.cpu_s {
                    Verdict::Met(v)
                } else {
                    Verdict::Missed(format!(
                        "{v}, {:.0}% more",
                        (s.stats.cpu_s / b.stats.cpu_s - 1.0) * 100.0
                    ))
                }
            }
        }
    }
}

/// One line of results: a scenario at one setting, sysgate and its baselines.
#[derive(Clone, Debug)]
pub struct Row {
    /// The scenario (`nonblocking`, …).
    pub scenario: &'static str,
    /// The setting (`batch=32`, …).
    pub variant: String,
    /// What one operation is.
    pub what: String,
    /// How speed is best read.
    pub unit: Unit,
    /// Operations per round every variant is charged CPU for.
    pub nominal_ops: u64,
    /// The sysgate variant.
    pub sysgate: SysgateOutcome,
    /// The baselines, in display order.
    pub baselines: Vec<Measured>,
    /// Targets to report.
    pub targets: Vec<Target>,
    /// Extra lines for the text report (threads used, checks, …).
    pub notes: Vec<String>,
}

impl Row {
    /// `sysgate median / baseline median` for each baseline (none while
    /// sysgate is pending).
    pub fn ratios(&self) -> Vec<(&'static str, f64)> {
        match &self.sysgate {
            SysgateOutcome::Measured(s) => self
                .baselines
                .iter()
                .map(|b| (b.key, ratio(s.stats.median_ns, b.stats.median_ns)))
                .collect(),
            SysgateOutcome::Pending(_) => Vec::new(),
        }
    }
}

/// Everything a run produced.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// Measured rows, in run order.
    pub rows: Vec<Row>,
    /// Scenarios (or parts) that could not run, with why.
    pub skipped: Vec<(String, String)>,
}

/// A ratio as `0.123×` / `1.23×` / `123×`.
pub fn fmt_ratio(r: f64) -> String {
    if !r.is_finite() {
        "—".into()
    } else if r >= 100.0 {
        format!("{r:.0}×")
    } else if r >= 0.1 {
        format!("{r:.2}×")
    } else {
        format!("{r:.3}×")
    }
}

/// ns per operation as the reports show it.
pub fn fmt_ns(ns: f64) -> String {
    if ns >= 100_000.0 {
        format!("{:.0}", ns)
    } else if ns >= 100.0 {
        format!("{ns:.1}")
    } else {
        format!("{ns:.2}")
    }
}

/// The text report.
pub fn text(report: &Report, machine: &Machine) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "sysgate-bench · {}", machine.line());
    let _ = writeln!(
        out,
        "times are medians over interleaved rounds (min/max beside them); ratio = sysgate / baseline\n\
         of the medians, below 1 = sysgate faster; cpu s = user+sys CPU of the process charged for\n\
         the row's nominal work over all measured rounds (see README)"
    );
    for row in &report.rows {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "── {} · {} · {} (nominal {} ops/round)",
            row.scenario, row.variant, row.what, row.nominal_ops
        );
        let thr = row.unit == Unit::Throughput;
        let _ = write!(
            out,
            "  {:<40} {:>11} {:>11} {:>11}",
            "variant", "median ns", "min ns", "max ns"
        );
        if thr {
            let _ = write!(out, " {:>11}", "ops/s");
        }
        let _ = writeln!(out, " {:>9} {:>10} {:>8}", "cpu s", "cpu ns/op", "ratio");
        let line = |out: &mut String, m: &Measured, ratio: Option<f64>| {
            let s = &m.stats;
            let _ = write!(
                out,
                "  {:<40} {:>11} {:>11} {:>11}",
                m.label,
                fmt_ns(s.median_ns),
                fmt_ns(s.min_ns),
                fmt_ns(s.max_ns)
            );
            if thr {
                let _ = write!(out, " {:>11.0}", 1e9 / s.median_ns);
            }
            let _ = writeln!(
                out,
                " {:>9.3} {:>10.1} {:>8}",
                s.cpu_s,
                s.cpu_ns_per_op,
                ratio.map_or("—".to_string(), fmt_ratio)
            );
        };
        match &row.sysgate {
            SysgateOutcome::Measured(m) => line(&mut out, m, None),
            SysgateOutcome::Pending(why) => {
                let _ = writeln!(out, "  {:<40} pending: {why}", "sysgate");
            }
        }
        let ratios = row.ratios();
        for b in &row.baselines {
            let r = ratios.iter().find(|(k, _)| *k == b.key).map(|(_, r)| *r);
            line(&mut out, b, r);
        }
        for t in &row.targets {
            let verdict = match t.check(row) {
                Verdict::Met(v) => format!("met ({v})"),
                Verdict::Missed(v) => format!("MISSED ({v})"),
                Verdict::Pending => "pending (no sysgate measurement yet)".into(),
                Verdict::NoBaseline => "not checked (baseline skipped)".into(),
            };
            let _ = writeln!(out, "  target {}: {verdict}", t.label);
        }
        for n in &row.notes {
            let _ = writeln!(out, "  note: {n}");
        }
    }
    for (what, why) in &report.skipped {
        let _ = writeln!(out, "\n{what}: skipped: {why}");
    }
    out
}

/// The JSON form of [`Stats`]: exactly these four keys.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct JsonStats {
    /// Median wall ns per operation.
    pub median_ns: f64,
    /// Fastest round, ns per operation.
    pub min_ns: f64,
    /// Slowest round, ns per operation.
    pub max_ns: f64,
    /// CPU seconds charged for the row's nominal work.
    pub cpu_s: f64,
}

impl From<&Stats> for JsonStats {
    fn from(s: &Stats) -> Self {
        JsonStats {
            median_ns: s.median_ns,
            min_ns: s.min_ns,
            max_ns: s.max_ns,
            cpu_s: s.cpu_s,
        }
    }
}

/// One row in JSON.
#[derive(Clone, Debug, Serialize)]
pub struct JsonScenario {
    /// The scenario.
    pub name: &'static str,
    /// Its setting.
    pub variant: String,
    /// `null` while pending.
    pub sysgate: Option<JsonStats>,
    /// By baseline name.
    pub baselines: BTreeMap<&'static str, JsonStats>,
    /// `sysgate.median_ns / baseline.median_ns` by baseline name.
    pub ratios: BTreeMap<&'static str, f64>,
    /// The row's targets with what was measured, met or missed.
    pub targets: Vec<JsonTarget>,
}

/// A target and its verdict in JSON.
#[derive(Clone, Debug, Serialize)]
pub struct JsonTarget {
    /// The baseline it compares with.
    pub baseline: &'static str,
    /// The target as the issue words it.
    pub target: &'static str,
    /// `true` met, `false` missed, `null` not measured (pending sysgate or
    /// a skipped baseline).
    pub met: Option<bool>,
    /// What was measured (and by how much it missed).
    pub measured: String,
}

impl From<(&Target, Verdict)> for JsonTarget {
    fn from((t, v): (&Target, Verdict)) -> Self {
        let (met, measured) = match v {
            Verdict::Met(m) => (Some(true), m),
            Verdict::Missed(m) => (Some(false), m),
            Verdict::Pending => (None, "sysgate pending".into()),
            Verdict::NoBaseline => (None, "baseline not measured".into()),
        };
        JsonTarget {
            baseline: t.baseline,
            target: t.label,
            met,
            measured,
        }
    }
}

/// The whole JSON report.
#[derive(Clone, Debug, Serialize)]
pub struct JsonReport {
    /// Where it ran.
    pub machine: Machine,
    /// One entry per row.
    pub scenarios: Vec<JsonScenario>,
}

/// The JSON report (see the module docs for the schema).
pub fn json(report: &Report, machine: &Machine) -> JsonReport {
    JsonReport {
        machine: machine.clone(),
        scenarios: report
            .rows
            .iter()
            .map(|row| JsonScenario {
                name: row.scenario,
                variant: row.variant.clone(),
                sysgate: match &row.sysgate {
                    SysgateOutcome::Measured(m) => Some(JsonStats::from(&m.stats)),
                    SysgateOutcome::Pending(_) => None,
                },
                baselines: row
                    .baselines
                    .iter()
                    .map(|b| (b.key, JsonStats::from(&b.stats)))
                    .collect(),
                ratios: row.ratios().into_iter().collect(),
                targets: row
                    .targets
                    .iter()
                    .map(|t| JsonTarget::from((t, t.check(row))))
                    .collect(),
            })
            .collect(),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn stats(median: f64, cpu: f64) -> Stats {
        Stats {
            median_ns: median,
            min_ns: median * 0.9,
            max_ns: median * 1.2,
            cpu_s: cpu,
            cpu_ns_per_op: median,
            rounds: 5,
        }
    }

    fn m(key: &'static str, median: f64, cpu: f64) -> Measured {
        Measured {
            key,
            label: key.to_string(),
            stats: stats(median, cpu),
        }
    }

    pub(crate) fn sample_report() -> Report {
        Report {
            rows: vec![
                Row {
                    scenario: "nonblocking",
                    variant: "batch=32".into(),
                    what: "getppid".into(),
                    unit: Unit::NsPerOp,
                    nominal_ops: 1000,
                    sysgate: SysgateOutcome::Measured(m("sysgate", 200.0, 0.01)),
                    baselines: vec![m("direct", 160.0, 0.008), m("sysgate_async", 20_000.0, 1.0)],
                    targets: vec![
                        Target {
                            baseline: "direct",
                            goal: Goal::RatioAtMost(1.3),
                            label: "≤ 1.3× direct",
                        },
                        Target {
                            baseline: "sysgate_async",
                            goal: Goal::SpeedupAtLeast(10.0),
                            label: "≥ 10× faster than always-punt",
                        },
                    ],
                    notes: vec!["a note".into()],
                },
                Row {
                    scenario: "tree_walk",
                    variant: "entries=1000".into(),
                    what: "one entry".into(),
                    unit: Unit::NsPerOp,
                    nominal_ops: 1000,
                    sysgate: SysgateOutcome::Pending("needs the client crate".into()),
                    baselines: vec![m("std_fs", 1000.0, 0.1)],
                    targets: vec![Target {
                        baseline: "std_fs",
                        goal: Goal::SpeedupAtLeast(1.0),
                        label: "faster than std::fs",
                    }],
                    notes: vec![],
                },
            ],
            skipped: vec![("sockets".into(), "why".into())],
        }
    }

    fn machine() -> Machine {
        Machine::probe(true)
    }

    #[test]
    fn verdicts() {
        let r = sample_report();
        let row = &r.rows[0];
        // 200 / 160 = 1.25 ≤ 1.3.
        assert_eq!(row.targets[0].check(row), Verdict::Met("1.25×".into()));
        // 20,000 / 200 = 100× ≥ 10×.
        assert!(matches!(row.targets[1].check(row), Verdict::Met(_)));
        let tight = Target {
            baseline: "direct",
            goal: Goal::RatioAtMost(1.1),
            label: "",
        };
        assert_eq!(tight.check(row), Verdict::Missed("1.25×, 14% over".into()));
        let cpu = Target {
            baseline: "direct",
            goal: Goal::LessCpu,
            label: "",
        };
        assert!(matches!(cpu.check(row), Verdict::Missed(_)));
        let absent = Target {
            baseline: "tokio",
            goal: Goal::LessCpu,
            label: "",
        };
        assert_eq!(absent.check(row), Verdict::NoBaseline);
        let pending = &r.rows[1];
        assert_eq!(pending.targets[0].check(pending), Verdict::Pending);
    }

    #[test]
    fn json_shape_is_exact() {
        let v = serde_json::to_value(json(&sample_report(), &machine())).unwrap();
        let top: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(top, ["machine", "scenarios"]);
        for k in ["kernel", "cpu_model", "cores", "date"] {
            assert!(v["machine"].get(k).is_some(), "machine.{k}");
        }
        let s = &v["scenarios"][0];
        let keys: Vec<&String> = s.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            [
                "baselines",
                "name",
                "ratios",
                "sysgate",
                "targets",
                "variant"
            ]
        );
        // 200 / 160 = 1.25 ≤ 1.3: met; 20,000 / 200 = 100× ≥ 10×: met.
        let t = &s["targets"];
        assert_eq!(t[0]["baseline"], "direct");
        assert_eq!(t[0]["target"], "≤ 1.3× direct");
        assert_eq!(t[0]["met"], true);
        assert_eq!(t[1]["met"], true);
        assert_eq!(s["name"], "nonblocking");
        assert_eq!(s["variant"], "batch=32");
        let stat_keys: Vec<&String> = s["sysgate"].as_object().unwrap().keys().collect();
        assert_eq!(stat_keys, ["cpu_s", "max_ns", "median_ns", "min_ns"]);
        let b: Vec<&String> = s["baselines"].as_object().unwrap().keys().collect();
        assert_eq!(b, ["direct", "sysgate_async"]);
        for (k, want) in [("direct", 1.25), ("sysgate_async", 0.01)] {
            assert!((s["ratios"][k].as_f64().unwrap() - want).abs() < 1e-12);
        }
        let bk: Vec<&String> = s["baselines"]["direct"]
            .as_object()
            .unwrap()
            .keys()
            .collect();
        assert_eq!(bk, stat_keys);
        // Pending sysgate: null, no ratios, baselines still there.
        let p = &v["scenarios"][1];
        assert!(p["sysgate"].is_null());
        assert!(p["ratios"].as_object().unwrap().is_empty());
        assert!(p["baselines"]["std_fs"].is_object());
        assert!(p["targets"][0]["met"].is_null());
        assert_eq!(p["targets"][0]["measured"], "sysgate pending");
    }

    #[test]
    fn text_mentions_targets_and_pending() {
        let t = text(&sample_report(), &machine());
        assert!(t.contains("target ≤ 1.3× direct: met (1.25×)"), "{t}");
        assert!(t.contains("pending: needs the client crate"), "{t}");
        assert!(t.contains("note: a note"));
        assert!(t.contains("sockets: skipped: why"));
    }

    #[test]
    fn ratio_format() {
        assert_eq!(fmt_ratio(1.234), "1.23×");
        assert_eq!(fmt_ratio(0.01234), "0.012×");
        assert_eq!(fmt_ratio(250.0), "250×");
        assert_eq!(fmt_ratio(f64::NAN), "—");
    }
}
