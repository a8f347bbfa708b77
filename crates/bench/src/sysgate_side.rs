//! The sysgate side of every scenario — the only module that talks to
//! sysgate, here through `sysgate-exec`, `sysgate-ring` and
//! `sysgate-proto` directly because the client crate (`sysgate`) does not
//! exist yet.
//!
//! # Porting to the client crate
//!
//! Each item below is one thing a scenario needs; the scenarios call nothing
//! else of sysgate. To port, keep the signatures and replace the bodies:
//!
//! | here | on the client crate |
//! |---|---|
//! | [`Gate::new`] / [`Gate::with_pool_idle`] | the client builder (ring sizes as below; pool idle timeout) |
//! | [`Gate::getppid_batch`] | a batch of `raw(getppid)` calls (flag ASYNC when `punt`), submitted together, waited for together |
//! | [`Gate::pread_batch`] | a batch of typed `pread` ops into 4 KiB buffers |
//! | [`Gate::run_stream`] | a submit-as-completions-arrive loop with `inflight` outstanding calls (`getppid` / `nanosleep`) |
//! | [`Gate::arm_recvs`] + [`Gate::reap_one`] | submit one `recv` per socket without waiting, then wait for one completion at a time |
//! | [`Gate::parked`], [`Gate::unbounded_busy`], [`Gate::counters`] | the client's stats |
//! | [`encode_decode_6arg`], [`FrameRing`] | stay as they are (they measure proto and ring, not the client) |
//! | [`sysgate_tree_walk`] | the client crate's `du` example, as a function |
//!
//! Every call waits with a generous timeout and panics on a protocol or ring
//! error: a benchmark has no way to recover and must not report a number
//! for a broken run.

use std::os::fd::RawFd;
use std::path::Path;
use std::time::Duration;

use sysgate_exec::{Executor, PoolConfig};
use sysgate_proto::{
    Arg, Buffer, Bytes, Completion, Op, Submission, SubmissionFlags, SyscallOp, decode, encode_into,
};
use sysgate_ring::{Consumer, Producer, Region, RegionSizes};

/// How long any wait for completions may take before the run is declared
/// broken.
const WAIT: Duration = Duration::from_secs(60);

/// One ring pair and its executor, in default mode (`enter` takes
/// submissions and runs non-blocking calls on this thread).
pub struct Gate {
    exec: Executor,
    sq: Producer,
    cq: Consumer,
    frame: Vec<u8>,
    enc: Vec<u8>,
    _region: Region,
}

/// One operation of [`Gate::run_stream`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamOp {
    /// `getppid()`.
    Getppid,
    /// `nanosleep(&{0, ns}, NULL)`.
    Sleep {
        /// How long.
        nanos: u32,
    },
}

impl Gate {
    /// A gate with the executor's default pool.
    pub fn new() -> Self {
        Self::build(None)
    }

    /// A gate whose pool lets idle workers go after `idle` (so a scenario can
    /// count the threads it really needs).
    pub fn with_pool_idle(idle: Duration) -> Self {
        Self::build(Some(idle))
    }

    fn build(idle: Option<Duration>) -> Self {
        // Room for 1,000+ submissions in flight and 32 completions of 4 KiB
        // each without touching the overflow backlog.
        let sizes = RegionSizes {
            sq_bytes: 1 << 20,
            cq_bytes: 4 << 20,
            max_frame: 64 * 1024,
        };
        let region = Region::create(sizes).expect("creating the ring region");
        let mut builder = Executor::builder();
        if let Some(idle) = idle {
            let mut config = PoolConfig::for_entries(sizes.sq_bytes as usize / 128);
            config.idle_timeout = idle;
            builder = builder.pool_config(config);
        }
        let exec = builder.build(
            region.sq_consumer().expect("sq consumer"),
            region.cq_producer().expect("cq producer"),
        );
        Gate {
            exec,
            sq: region.sq_producer().expect("sq producer"),
            cq: region.cq_consumer().expect("cq consumer"),
            frame: Vec::new(),
            enc: vec![0; 4096],
            _region: region,
        }
    }

    fn stage(&mut self, sub: &Submission<'_>) {
        let n = encode_into(sub, &mut self.enc).expect("encoding a submission");
        self.sq
            .stage(&self.enc[..n])
            .expect("the submission ring has room");
    }

    /// Reads every completion on the ring, calling `f` on each.
    fn drain(&mut self, mut f: impl FnMut(&Completion<'_>)) -> u32 {
        let mut n = 0;
        while self
            .cq
            .read(&mut self.frame)
            .expect("reading the cq")
            .is_some()
        {
            let c: Completion = decode(&self.frame).expect("decoding a completion");
            f(&c);
            n += 1;
        }
        self.cq.release().expect("releasing the cq");
        n
    }

    /// `batch` × `getppid()`, submitted together, run, and reaped; `punt`
    /// sets ASYNC (the pool, the always-punt design). Returns the sum of
    /// the results.
    pub fn getppid_batch(&mut self, batch: u32, punt: bool) -> i64 {
        let flags = if punt {
            SubmissionFlags::ASYNC
        } else {
            SubmissionFlags::empty()
        };
        let nr = libc::SYS_getppid as u32;
        for i in 0..batch {
            let sub = Submission::new(u64::from(i), Op::Syscall(SyscallOp::immediate(nr, &[])))
                .with_flags(flags);
            self.stage(&sub);
        }
        self.sq.publish().expect("publishing the sq");
        self.exec
            .enter(batch, batch, Some(WAIT))
            .expect("enter (getppid)");
        let mut sum = 0;
        let got = self.drain(|c| sum += c.result);
        assert_eq!(got, batch, "one completion per getppid");
        sum
    }

    /// `batch` × `pread(fd, buf[4096], 4096, offset(i))`, submitted
    /// together, run, and reaped; returns the bytes read (copied out of the
    /// completions, as a client would hand them over).
    pub fn pread_batch(&mut self, fd: RawFd, batch: u32, offset: impl Fn(u32) -> u64) -> usize {
        let nr = libc::SYS_pread64 as u32;
        for i in 0..batch {
            let args = [
                Arg::Imm(fd as u64),
                Arg::Buf(0),
                Arg::Imm(4096),
                Arg::Imm(offset(i)),
            ];
            let sub = Submission::new(
                u64::from(i),
                Op::Syscall(SyscallOp {
                    nr,
                    args: args.into_iter().collect(),
                    bufs: vec![Buffer::Out(4096)],
                    relocs: vec![],
                }),
            );
            self.stage(&sub);
        }
        self.sq.publish().expect("publishing the sq");
        self.exec
            .enter(batch, batch, Some(WAIT))
            .expect("enter (pread)");
        let mut bytes = 0;
        let mut sink = [0u8; 4096];
        let got = self.drain(|c| {
            assert_eq!(c.result, 4096, "pread of a cached page");
            let out = &c.outputs[0].0;
            sink[..out.len()].copy_from_slice(out);
            bytes += out.len();
        });
        std::hint::black_box(&sink);
        assert_eq!(got, batch, "one completion per pread");
        bytes
    }

    /// Runs `total` operations, `op(i)` for i in 0..total, keeping
    /// `inflight` submitted and not yet completed: each pass submits until
    /// `inflight` are outstanding, enters (running inline what can run
    /// inline), waits for at least one completion and reaps all there are.
    /// `punt` sets ASYNC on every submission. Returns the operations
    /// completed.
    pub fn run_stream(
        &mut self,
        total: u64,
        inflight: u32,
        punt: bool,
        mut op: impl FnMut(u64) -> StreamOp,
    ) -> u64 {
        let flags = if punt {
            SubmissionFlags::ASYNC
        } else {
            SubmissionFlags::empty()
        };
        let (mut submitted, mut completed, mut outstanding) = (0u64, 0u64, 0u32);
        while completed < total {
            let mut new = 0;
            while outstanding < inflight && submitted < total {
                let kind = op(submitted);
                let ts = match kind {
                    StreamOp::Sleep { nanos } => timespec_bytes(0, i64::from(nanos)),
                    StreamOp::Getppid => [0; 16],
                };
                let call = match kind {
                    StreamOp::Getppid => SyscallOp::immediate(libc::SYS_getppid as u32, &[]),
                    StreamOp::Sleep { .. } => SyscallOp {
                        nr: libc::SYS_nanosleep as u32,
                        args: [Arg::Buf(0), Arg::Imm(0)].into_iter().collect(),
                        bufs: vec![Buffer::In(Bytes::borrowed(&ts))],
                        relocs: vec![],
                    },
                };
                let sub = Submission::new(submitted, Op::Syscall(call)).with_flags(flags);
                self.stage(&sub);
                submitted += 1;
                outstanding += 1;
                new += 1;
            }
            if new > 0 {
                self.sq.publish().expect("publishing the sq");
            }
            self.exec.enter(new, 1, Some(WAIT)).expect("enter (stream)");
            let got = self.drain(|c| assert!(c.result >= 0, "stream op failed: {}", c.result));
            completed += u64::from(got);
            outstanding -= got;
        }
        completed
    }

    /// Submits `recv(fd, buf[1], 1, 0)` for every fd without waiting for any
    /// (`punt`: with ASYNC, each on a pool worker; otherwise tried inline
    /// with MSG_DONTWAIT and parked on readiness).
    pub fn arm_recvs(&mut self, fds: &[RawFd], punt: bool) {
        let flags = if punt {
            SubmissionFlags::ASYNC
        } else {
            SubmissionFlags::empty()
        };
        for chunk in fds.chunks(256) {
            for &fd in chunk {
                let args = [
                    Arg::Imm(fd as u64),
                    Arg::Buf(0),
                    Arg::Imm(1),
                    Arg::Imm(0),
                    Arg::Imm(0),
                    Arg::Imm(0),
                ];
                let sub = Submission::new(
                    fd as u64,
                    Op::Syscall(SyscallOp {
                        nr: libc::SYS_recvfrom as u32,
                        args: args.into_iter().collect(),
                        bufs: vec![Buffer::Out(1)],
                        relocs: vec![],
                    }),
                )
                .with_flags(flags);
                self.stage(&sub);
            }
            self.sq.publish().expect("publishing the sq");
            self.exec
                .enter(chunk.len() as u32, 0, Some(WAIT))
                .expect("enter (arm recv)");
        }
    }

    /// Waits for one completion and returns (user_data, result).
    pub fn reap_one(&mut self) -> (u64, i64) {
        loop {
            if self
                .cq
                .read(&mut self.frame)
                .expect("reading the cq")
                .is_some()
            {
                let c: Completion = decode(&self.frame).expect("decoding a completion");
                let out = (c.user_data, c.result);
                self.cq.release().expect("releasing the cq");
                return out;
            }
            self.exec.enter(0, 1, Some(WAIT)).expect("enter (reap one)");
        }
    }

    /// Requests parked on readiness now.
    pub fn parked(&self) -> u64 {
        self.exec.stats().parked
    }

    /// Workers of the unbounded account running a job now.
    pub fn unbounded_busy(&self) -> usize {
        self.exec.stats().pool.unbounded.busy
    }

    /// A one-line summary of the executor's counters.
    pub fn counters(&self) -> String {
        let s = self.exec.stats();
        format!(
            "{} inline, {} polled after parking, {} pool (peak workers: {} bounded, {} unbounded)",
            s.inline,
            s.polled,
            s.punted_bounded + s.punted_unbounded,
            s.pool.bounded.peak,
            s.pool.unbounded.peak
        )
    }
}

/// A `struct timespec` as the bytes an input buffer carries.
fn timespec_bytes(sec: i64, nsec: i64) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&sec.to_ne_bytes());
    b[8..].copy_from_slice(&nsec.to_ne_bytes());
    b
}

/// Encodes an immediate-only 6-argument submission into `buf` and decodes
/// it back; returns a word of the result so nothing is optimised away.
pub fn encode_decode_6arg(buf: &mut [u8], user_data: u64, words: &[u64; 6]) -> u64 {
    let sub = Submission::new(
        user_data,
        Op::Syscall(SyscallOp::immediate(libc::SYS_pread64 as u32, words)),
    );
    let n = encode_into(&sub, buf).expect("encoding");
    let back: Submission = decode(&buf[..n]).expect("decoding");
    match back.op {
        Op::Syscall(s) => back.user_data ^ u64::from(s.nr) ^ s.args.len() as u64,
        _ => unreachable!("decoded what was encoded"),
    }
}

/// The encoded length of the submission [`encode_decode_6arg`] uses.
pub fn encoded_6arg_len() -> usize {
    let mut buf = [0u8; 256];
    let sub = Submission::new(
        1,
        Op::Syscall(SyscallOp::immediate(
            libc::SYS_pread64 as u32,
            &[1, 2, 3, 4, 5, 6],
        )),
    );
    encode_into(&sub, &mut buf).expect("encoding")
}

/// A sysgate ring whose both ends live on this thread, for push+pop.
pub struct FrameRing {
    tx: Producer,
    rx: Consumer,
    out: Vec<u8>,
    _region: Region,
}

impl FrameRing {
    /// A ring of 64 KiB.
    pub fn new() -> Self {
        let region = Region::create(RegionSizes {
            sq_bytes: 1 << 16,
            cq_bytes: 4096,
            max_frame: 256,
        })
        .expect("creating the ring region");
        FrameRing {
            tx: region.sq_producer().expect("producer"),
            rx: region.sq_consumer().expect("consumer"),
            out: Vec::with_capacity(256),
            _region: region,
        }
    }

    /// Pushes `frame` (published at once) and pops it back; returns its
    /// first byte.
    pub fn push_pop(&mut self, frame: &[u8; 64]) -> u8 {
        self.tx.push(frame.as_slice()).expect("ring has room");
        self.rx.pop(&mut self.out).expect("pop").expect("a frame");
        self.out[0]
    }
}

/// Why a sysgate variant cannot run yet.
#[derive(Debug)]
pub struct Pending(pub &'static str);

impl std::fmt::Display for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

// ---------------------------------------------------------------------------
// HOOK FOR THE LEAD: the `tree_walk` scenario's sysgate variant.
// ---------------------------------------------------------------------------

/// `du -sb --apparent-size ROOT` on sysgate: returns (bytes, entries) —
/// the apparent sizes (`lstat` `st_size`) of every entry under `root`,
/// `root` itself and directories included, and how many entries that is.
///
/// **Hook**: this is where the client crate's `du` example goes (the
/// scenario checks the byte count against `du` itself and times it next to
/// the std::fs, tokio::fs and `du` baselines). Until then it returns
/// [`Pending`] and the scenario prints sysgate as "pending" — no number is
/// faked.
pub fn sysgate_tree_walk(root: &Path) -> Result<(u64, u64), Pending> {
    let _ = root;
    Err(Pending("needs the client crate (the `du` example)"))
}
