//! The sysgate side of every scenario — the only module that talks to
//! sysgate. The scenarios go through the client crate (`sysgate`), as a
//! program would; only the `codec` scenario uses `sysgate-proto` and
//! `sysgate-ring` directly, since it measures those layers alone.
//!
//! Every call panics on an error a benchmark cannot recover from: it must
//! not report a number for a broken run.

use std::collections::HashMap;
use std::os::fd::RawFd;
use std::path::Path;
use std::sync::OnceLock;
use std::time::Duration;

use sysgate::{
    Batch, Flags, Gateway, OpSet, RawArg, ReadinessBackend, Submitted, Timespec, ops, raw,
};
use sysgate_proto::{
    CompletionFlags, Op, PlainCall, PlainCompletion, Submission, SubmissionFlags, SyscallOp,
    decode, encode_into,
};
use sysgate_ring::{Consumer, Producer, Region, RegionSizes};

#[path = "../../client/examples/du/walk.rs"]
mod du_walk;

/// One gateway, in default mode (calls that cannot block run inline on the
/// submitting thread).
pub struct Gate {
    gw: Gateway,
    /// 4 KiB read buffers handed back by each batch and reused.
    bufs: Vec<Vec<u8>>,
    /// Receives armed by [`Gate::arm_recvs`], by fd.
    recvs: HashMap<RawFd, Submitted<ops::Recv>>,
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
    /// A gateway with the default pool.
    pub fn new() -> Self {
        Self::build(None)
    }

    /// A gateway whose pool lets idle workers go after `idle` (so a scenario
    /// can count the threads it really needs).
    pub fn with_pool_idle(idle: Duration) -> Self {
        Self::build(Some(idle))
    }

    /// A gateway whose parked requests wait on `backend`.
    pub fn with_readiness(backend: ReadinessBackend) -> Self {
        Self::build_with(Gateway::builder().readiness(backend))
    }

    fn build(idle: Option<Duration>) -> Self {
        let mut builder = Gateway::builder();
        if let Some(idle) = idle {
            builder = builder.idle_timeout(idle);
        }
        Self::build_with(builder)
    }

    fn build_with(builder: sysgate::GatewayBuilder) -> Self {
        Gate {
            gw: builder.build().expect("creating a gateway"),
            bufs: Vec::new(),
            recvs: HashMap::new(),
        }
    }

    /// One `getppid()` through `gw.call`.
    pub fn getppid_call(&self) -> i64 {
        let nr = libc::SYS_getppid as u32;
        self.gw.call(raw(nr, [])).expect("getppid").value
    }

    /// `batch` × `getppid()` as one batch, waited for together; `punt` sets
    /// ASYNC (the pool, the always-punt design). Returns the sum of the
    /// results.
    pub fn getppid_batch(&mut self, batch: u32, punt: bool) -> i64 {
        let flags = if punt { Flags::ASYNC } else { Flags::NONE };
        let nr = libc::SYS_getppid as u32;
        let mut b = Batch::new();
        let handles: Vec<_> = (0..batch)
            .map(|_| b.push_with(raw(nr, []), flags))
            .collect();
        let mut done = self.gw.run(b);
        handles
            .into_iter()
            .map(|h| done.take(h).expect("in the batch").expect("getppid").value)
            .sum()
    }

    /// `batch` × `pread(fd, buf, 4096, offset(i))` as one batch into reused
    /// 4 KiB buffers; returns the bytes read (handed back in the buffers,
    /// as the client does).
    pub fn pread_batch(&mut self, fd: RawFd, batch: u32, offset: impl Fn(u32) -> u64) -> usize {
        let mut b = Batch::new();
        let handles: Vec<_> = (0..batch)
            .map(|i| {
                let buf = self.bufs.pop().unwrap_or_else(|| Vec::with_capacity(4096));
                b.push(ops::Pread::new(fd, buf, offset(i) as i64))
            })
            .collect();
        let mut done = self.gw.run(b);
        let mut bytes = 0;
        for h in handles {
            let (n, buf) = done.take(h).expect("in the batch");
            assert_eq!(n.expect("pread"), 4096, "pread of a cached page");
            bytes += buf.len();
            self.bufs.push(buf);
        }
        bytes
    }

    /// `pread(fd, buf, buf.capacity(), offset)` as one op, waited for;
    /// returns the bytes read and the buffer holding them.
    pub fn pread_into(&mut self, fd: RawFd, buf: Vec<u8>, offset: u64) -> (usize, Vec<u8>) {
        let (n, buf) = self.gw.call(ops::Pread::new(fd, buf, offset as i64));
        (n.expect("pread"), buf)
    }

    /// Bytes of the gateway's buffer arena held now.
    pub fn arena_in_use(&self) -> u64 {
        self.gw.arena_in_use()
    }

    /// Runs `total` operations, `op(i)` for i in 0..total, keeping
    /// `inflight` submitted and not yet completed in an [`OpSet`]: submits
    /// until `inflight` are outstanding (what cannot block has run by then),
    /// then takes the next completion (sleeping until there is one). `punt`
    /// sets ASYNC on every submission. Returns the operations completed.
    pub fn run_stream(
        &mut self,
        total: u64,
        inflight: u32,
        punt: bool,
        mut op: impl FnMut(u64) -> StreamOp,
    ) -> u64 {
        let flags = if punt { Flags::ASYNC } else { Flags::NONE };
        let mut set = OpSet::new(&self.gw);
        let (mut submitted, mut completed) = (0u64, 0u64);
        while completed < total {
            while set.len() < inflight as usize && submitted < total {
                let call = match op(submitted) {
                    StreamOp::Getppid => raw(libc::SYS_getppid as u32, []),
                    StreamOp::Sleep { nanos } => {
                        let ts = Timespec::from(Duration::from_nanos(nanos.into()));
                        raw(
                            libc::SYS_nanosleep as u32,
                            [RawArg::In(ts.to_bytes().to_vec()), RawArg::Imm(0)],
                        )
                    }
                };
                set.push_with(call, flags).expect("submitting a stream op");
                submitted += 1;
            }
            let (_, out) = set.wait_next().expect("an op in flight");
            out.expect("stream op");
            completed += 1;
        }
        completed
    }

    /// Submits `recv(fd, buf[1], 1, 0)` for every fd without waiting for any
    /// (`punt`: with ASYNC, each on a pool worker; otherwise tried inline
    /// and parked on readiness).
    pub fn arm_recvs(&mut self, fds: &[RawFd], punt: bool) {
        let flags = if punt { Flags::ASYNC } else { Flags::NONE };
        for &fd in fds {
            let recv = self
                .gw
                .submit_with(ops::Recv::new(fd, Vec::with_capacity(1), 0), flags);
            self.recvs.insert(fd, recv);
        }
    }

    /// Waits for the receive armed on `fd`; returns its result.
    pub fn reap(&mut self, fd: RawFd) -> i64 {
        let recv = self.recvs.remove(&fd).expect("a receive armed on this fd");
        let (n, _) = recv.wait();
        n.expect("recv") as i64
    }

    /// Requests parked on readiness now.
    /// The readiness backend its parked requests wait on.
    pub fn readiness(&self) -> ReadinessBackend {
        self.gw.stats().readiness.expect("a live gateway's backend")
    }

    pub fn parked(&self) -> u64 {
        self.gw.stats().parked
    }

    /// Workers of the unbounded account running a job now.
    pub fn unbounded_busy(&self) -> usize {
        self.gw.stats().pool.unbounded.busy
    }

    /// A one-line summary of the executor's counters.
    pub fn counters(&self) -> String {
        let s = self.gw.stats();
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

/// Writes an immediate-only 6-argument call into `buf` and reads it back
/// the way the gateway and the executor do (`PlainCall`: the same bytes
/// as the general codec, in place); returns a word of the result so
/// nothing is optimised away.
pub fn plain_encode_decode_6arg(buf: &mut [u8], user_data: u64, words: &[u64; 6]) -> u64 {
    let call = PlainCall {
        user_data,
        flags: SubmissionFlags::empty(),
        nr: libc::SYS_pread64 as u32,
        argc: 6,
        args: *words,
    };
    let n = call.encode(buf).expect("encoding");
    let back = PlainCall::decode(&buf[..n]).expect("decoding");
    back.user_data ^ u64::from(back.nr) ^ u64::from(back.argc)
}

/// Writes a completion without outputs and reads it back, as the executor
/// and the gateway do (`PlainCompletion`).
pub fn plain_completion_round_trip(buf: &mut [u8], user_data: u64, result: i64) -> u64 {
    let c = PlainCompletion {
        user_data,
        result,
        flags: CompletionFlags::INLINE,
    };
    let n = c.encode(buf).expect("encoding");
    let back = PlainCompletion::decode(&buf[..n]).expect("decoding");
    back.user_data ^ back.result as u64
}

/// Encodes an immediate-only 6-argument submission into `buf` with the
/// general codec (`encode_into`, `decode` into a `Submission`) and decodes
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

/// Why a sysgate variant cannot run.
#[derive(Debug)]
pub struct Pending(pub String);

impl std::fmt::Display for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// `du -sb --apparent-size ROOT` on sysgate — the client crate's `du`
/// example (`crates/client/examples/du`), on a two-worker tokio runtime
/// as the example runs it (gateway and runtime made once, like the tokio
/// baseline's runtime). Returns (bytes, entries), the root and
/// directories included.
pub fn sysgate_tree_walk(root: &Path) -> Result<(u64, u64), Pending> {
    static WALKER: OnceLock<Result<(Gateway, tokio::runtime::Runtime), String>> = OnceLock::new();
    let walker = WALKER.get_or_init(|| {
        let gw = Gateway::new().map_err(|e| e.to_string())?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .map_err(|e| e.to_string())?;
        Ok((gw, rt))
    });
    let (gw, rt) = walker.as_ref().map_err(|e| Pending(e.clone()))?;
    let u = rt
        .block_on(du_walk::du(gw, root))
        .map_err(|e| Pending(e.to_string()))?;
    Ok((u.bytes, u.files + u.dirs))
}
