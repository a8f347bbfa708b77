//! Interleaved rounds: every variant of a row runs once per round, in a
//! rotating order, after a warm-up round that is not recorded; each round
//! records wall time per operation and CPU time per operation.

use std::time::{Duration, Instant};

use nix::sys::resource::{UsageWho, getrusage};
use nix::sys::time::TimeValLike;

/// What one run of a variant did: how many operations, and the wall time
/// they took (a variant may leave its own setup out of `wall`; CPU time is
/// always measured around the whole run).
#[derive(Clone, Copy, Debug)]
pub struct Round {
    /// Operations completed.
    pub ops: u64,
    /// Wall time of those operations.
    pub wall: Duration,
}

/// Runs `f`, which performs `ops` operations, and times it.
pub fn timed<T>(ops: u64, f: impl FnOnce() -> T) -> (Round, T) {
    let start = Instant::now();
    let out = f();
    let wall = start.elapsed();
    (Round { ops, wall }, out)
}

/// User + system CPU time of this process and of its waited-for children
/// (`getrusage(RUSAGE_SELF)` + `getrusage(RUSAGE_CHILDREN)`): every thread
/// of the process counts, so pool workers and the kernel work done on their
/// behalf are included; a child (the `du` process) counts once waited for.
pub fn cpu_now() -> Duration {
    let mut total = Duration::ZERO;
    for who in [UsageWho::RUSAGE_SELF, UsageWho::RUSAGE_CHILDREN] {
        if let Ok(u) = getrusage(who) {
            for tv in [u.user_time(), u.system_time()] {
                total += Duration::from_micros(u64::try_from(tv.num_microseconds()).unwrap_or(0));
            }
        }
    }
    total
}

/// One variant of a row: a stable key (the JSON name), a label for people,
/// and the closure that runs one round.
pub struct Variant<'a> {
    /// The JSON name (`direct`, `tokio_spawn_blocking`, …); `sysgate` for
    /// the sysgate variant.
    pub key: &'static str,
    /// What the text table shows.
    pub label: String,
    run: Box<dyn FnMut() -> Round + 'a>,
}

impl<'a> Variant<'a> {
    /// A variant named `key`, shown as `label`, that runs one round with `run`.
    pub fn new(
        key: &'static str,
        label: impl Into<String>,
        run: impl FnMut() -> Round + 'a,
    ) -> Self {
        Variant {
            key,
            label: label.into(),
            run: Box::new(run),
        }
    }
}

/// The measured rounds of one variant.
#[derive(Clone, Debug, Default)]
pub struct Series {
    /// Wall ns per operation, one value per measured round.
    pub ns_per_op: Vec<f64>,
    /// CPU ns per operation, one value per measured round.
    pub cpu_ns_per_op: Vec<f64>,
}

/// The summary of a [`Series`], as reported.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stats {
    /// Median over rounds of the wall ns per operation.
    pub median_ns: f64,
    /// Fastest round.
    pub min_ns: f64,
    /// Slowest round.
    pub max_ns: f64,
    /// CPU seconds for the row's nominal work: CPU ns per operation of each
    /// measured round × the row's nominal operations per round, summed over
    /// the measured rounds. Every variant of a row is charged for the same
    /// work, so the column compares directly even where a fast variant ran
    /// more operations per round to be timed precisely.
    pub cpu_s: f64,
    /// Median CPU ns per operation.
    pub cpu_ns_per_op: f64,
    /// Measured rounds.
    pub rounds: usize,
}

impl Series {
    /// The summary, charging CPU for `nominal_ops` per round.
    pub fn stats(&self, nominal_ops: u64) -> Stats {
        let cpu_s = self
            .cpu_ns_per_op
            .iter()
            .map(|c| c * nominal_ops as f64 / 1e9)
            .sum();
        Stats {
            median_ns: median(&self.ns_per_op),
            min_ns: self.ns_per_op.iter().copied().fold(f64::INFINITY, f64::min),
            max_ns: self.ns_per_op.iter().copied().fold(0.0, f64::max),
            cpu_s,
            cpu_ns_per_op: median(&self.cpu_ns_per_op),
            rounds: self.ns_per_op.len(),
        }
    }
}

/// The median of `v` (the mean of the middle two for an even count; NaN for
/// an empty slice). NaNs sort last.
pub fn median(v: &[f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let mid = s.len() / 2;
    if s.len() % 2 == 1 {
        s[mid]
    } else {
        (s[mid - 1] + s[mid]) / 2.0
    }
}

/// `sysgate / baseline` of two medians: below 1 means sysgate took less
/// time per operation (is faster).
pub fn ratio(sysgate: f64, baseline: f64) -> f64 {
    sysgate / baseline
}

/// The order of `n` variants in round `round`: rotated by one each round
/// (A B C, B C A, C A B, …), so no variant always runs first or always
/// follows the same neighbour.
pub fn round_order(n: usize, round: usize) -> Vec<usize> {
    (0..n).map(|i| (i + round) % n.max(1)).collect()
}

/// Runs `warmup` unrecorded rounds, then `rounds` recorded ones, of every
/// variant, interleaved; returns one series per variant, in order.
pub fn interleave(warmup: usize, rounds: usize, variants: &mut [Variant<'_>]) -> Vec<Series> {
    let mut series = vec![Series::default(); variants.len()];
    for round in 0..warmup + rounds {
        for i in round_order(variants.len(), round) {
            let cpu0 = cpu_now();
            let r = (variants[i].run)();
            let cpu = cpu_now().saturating_sub(cpu0);
            if round >= warmup && r.ops > 0 {
                let ops = r.ops as f64;
                series[i].ns_per_op.push(r.wall.as_nanos() as f64 / ops);
                series[i].cpu_ns_per_op.push(cpu.as_nanos() as f64 / ops);
            }
        }
    }
    series
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_odd_even_empty() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(&[7.0]), 7.0);
        assert!(median(&[]).is_nan());
    }

    #[test]
    fn ratio_is_sysgate_over_baseline() {
        assert_eq!(ratio(50.0, 100.0), 0.5);
        assert_eq!(ratio(130.0, 100.0), 1.3);
    }

    #[test]
    fn rotation_covers_every_position() {
        assert_eq!(round_order(3, 0), vec![0, 1, 2]);
        assert_eq!(round_order(3, 1), vec![1, 2, 0]);
        assert_eq!(round_order(3, 2), vec![2, 0, 1]);
        assert_eq!(round_order(3, 3), vec![0, 1, 2]);
        assert!(round_order(0, 5).is_empty());
    }

    #[test]
    fn stats_charge_nominal_work() {
        let s = Series {
            ns_per_op: vec![10.0, 30.0, 20.0],
            cpu_ns_per_op: vec![100.0, 100.0, 100.0],
        };
        let st = s.stats(1_000);
        assert_eq!(st.median_ns, 20.0);
        assert_eq!(st.min_ns, 10.0);
        assert_eq!(st.max_ns, 30.0);
        // 100 ns/op × 1,000 ops × 3 rounds = 300 µs.
        assert!((st.cpu_s - 300e-6).abs() < 1e-12);
        assert_eq!(st.rounds, 3);
    }

    #[test]
    fn interleave_skips_warmup_and_records_each_variant() {
        let mut calls = Vec::new();
        let log = std::cell::RefCell::new(&mut calls);
        let mut vs = vec![
            Variant::new("a", "A", || {
                log.borrow_mut().push('a');
                Round {
                    ops: 10,
                    wall: Duration::from_nanos(100),
                }
            }),
            Variant::new("b", "B", || {
                log.borrow_mut().push('b');
                Round {
                    ops: 10,
                    wall: Duration::from_nanos(200),
                }
            }),
        ];
        let series = interleave(1, 2, &mut vs);
        drop(vs);
        assert_eq!(calls, vec!['a', 'b', 'b', 'a', 'a', 'b']);
        assert_eq!(series[0].ns_per_op, vec![10.0, 10.0]);
        assert_eq!(series[1].ns_per_op, vec![20.0, 20.0]);
    }
}
