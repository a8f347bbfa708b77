//! The inline path's cost against the bare syscall, interleaved in one run:
//! `getppid` direct vs. through sysgate (encode, SQ, enter, decode, run,
//! encode, CQ, decode) at batch 1 and 32, and through the pool (ASYNC).
//!
//! `cargo bench -p sysgate-exec --bench inline [-- --quick]`. The full
//! side-by-side comparison against io_uring and tokio lives in
//! `sysgate-bench`; this one keeps the executor's own hot path honest.

use std::hint::black_box;
use std::time::Instant;

use sysgate_exec::Executor;
use sysgate_proto::{Completion, Op, Submission, SubmissionFlags, SyscallOp, decode, encode_into};
use sysgate_ring::{Consumer, Producer, Region, RegionSizes};

struct Gate {
    exec: Executor,
    sq: Producer,
    cq: Consumer,
    frame: Vec<u8>,
    _region: Region,
}

impl Gate {
    fn new() -> Self {
        let region = Region::create(RegionSizes {
            sq_bytes: 1 << 16,
            cq_bytes: 1 << 16,
            max_frame: 4096,
        })
        .unwrap();
        let exec =
            Executor::builder().build(region.sq_consumer().unwrap(), region.cq_producer().unwrap());
        Gate {
            exec,
            sq: region.sq_producer().unwrap(),
            cq: region.cq_consumer().unwrap(),
            frame: Vec::new(),
            _region: region,
        }
    }

    /// Submits `batch` getppid calls, runs them, reaps them; returns the
    /// sum of results (so nothing is optimised away).
    fn round(&mut self, batch: u32, flags: SubmissionFlags) -> i64 {
        let nr = libc::SYS_getppid as u32;
        let mut buf = [0u8; 128];
        for i in 0..batch {
            let sub = Submission::new(u64::from(i), Op::Syscall(SyscallOp::immediate(nr, &[])))
                .with_flags(flags);
            let n = encode_into(&sub, &mut buf).unwrap();
            self.sq.stage(&buf[..n]).unwrap();
        }
        self.sq.publish().unwrap();
        self.exec.enter(batch, batch, None).unwrap();
        let mut sum = 0;
        for _ in 0..batch {
            self.cq.read(&mut self.frame).unwrap().unwrap();
            let c: Completion = decode(&self.frame).unwrap();
            sum += c.result;
        }
        self.cq.release().unwrap();
        sum
    }
}

fn direct(batch: u32) -> i64 {
    let mut sum = 0;
    for _ in 0..batch {
        // SAFETY: getppid has no arguments and no preconditions.
        sum += unsafe { sysgate_sys::raw_syscall(libc::SYS_getppid as u32, [0; 6]) };
    }
    sum
}

fn time_per_op(ops: u64, f: &mut dyn FnMut() -> i64) -> f64 {
    let start = Instant::now();
    let mut sink = 0;
    let mut done = 0;
    while done < ops {
        sink += f();
        done += 1;
    }
    black_box(sink);
    start.elapsed().as_nanos() as f64
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let rounds = if quick { 7 } else { 21 };
    let ops_per_sample: u64 = if quick { 20_000 } else { 100_000 };
    let mut gate = Gate::new();
    if std::env::args().any(|a| a == "--profile") {
        // Only the inline path at batch 32, for `perf record`.
        for _ in 0..200_000 {
            black_box(gate.round(32, SubmissionFlags::empty()));
        }
        return;
    }
    println!(
        "inline getppid: median ns/op over {rounds} interleaved rounds of {ops_per_sample} ops"
    );
    println!(
        "{:<28} {:>10} {:>10} {:>10} {:>8}",
        "variant", "median", "min", "max", "x direct"
    );
    for batch in [1u32, 32] {
        let reps = ops_per_sample / u64::from(batch);
        let mut samples: [Vec<f64>; 3] = Default::default();
        for round in 0..=rounds {
            let mut variants: [(usize, &mut dyn FnMut() -> i64); 2] = [
                (0, &mut || direct(batch)),
                (1, &mut || gate.round(batch, SubmissionFlags::empty())),
            ];
            if round % 2 == 1 {
                variants.reverse();
            }
            for (i, f) in variants.iter_mut() {
                let ns = time_per_op(reps, *f) / (reps * u64::from(batch)) as f64;
                if round > 0 {
                    samples[*i].push(ns);
                }
            }
            // The pool path is ~100x slower: fewer ops, same interleaving.
            let pool_reps = (reps / 50).max(1);
            let ns = time_per_op(pool_reps, &mut || gate.round(batch, SubmissionFlags::ASYNC))
                / (pool_reps * u64::from(batch)) as f64;
            if round > 0 {
                samples[2].push(ns);
            }
        }
        let direct_median = median(&mut samples[0].clone());
        for (name, s) in ["direct syscall", "sysgate inline", "sysgate ASYNC (pool)"]
            .iter()
            .zip(samples.iter_mut())
        {
            let m = median(s);
            let (min, max) = (s[0], s[s.len() - 1]);
            println!(
                "{:<28} {:>10.1} {:>10.1} {:>10.1} {:>8.2}",
                format!("{name}, batch {batch}"),
                m,
                min,
                max,
                m / direct_median
            );
        }
    }
    let s = gate.exec.stats();
    println!(
        "executor: {} inline, {} punted",
        s.inline,
        s.punted_bounded + s.punted_unbounded
    );
}
