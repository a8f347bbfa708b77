//! From frame to start: decoding, DRAIN, link chains, and the inline step
//! of each request.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use sysgate_proto::{
    Completion, CompletionFlags, DecodeError, Op, PlainCall, Submission, SubmissionFlags, codes,
    decode, peek_user_data,
};

use crate::call::{ChainSoFar, Outputs, PreparedCall};
use crate::dispatch::{Context, Step, inline_step};
use crate::pool::{Account, PoolHandle, WorkerPool};
use crate::rings::CompletionBatch;
use crate::timers::TimerEvent;

use super::Shared;
use super::control::{arm, cancel};
use super::jobs::{PuntedCall, punt_job};

/// What one pass over the submission ring produced on this thread: its
/// completions, encoded locally, and its counts. [`Shared::end_pass`] hands
/// them over at once — one lock, one publish, a few atomic adds per batch
/// rather than per request.
#[derive(Default)]
pub(super) struct Pass {
    pub(super) batch: CompletionBatch,
    /// A link chain whose last member has not arrived yet.
    pub(super) chain: Option<ChainBuilder>,
    /// A DRAIN request waiting for everything before it, and the frames
    /// held behind it.
    pub(super) drain: Option<Drain>,
    pub(super) submitted: u64,
    pub(super) inline: u64,
    pub(super) refused: u64,
    pub(super) protocol_errors: u64,
}

impl Pass {
    pub(super) fn post(&mut self, user_data: u64, result: i64, flags: CompletionFlags) {
        self.batch.push_plain(user_data, result, flags);
    }
}

impl Shared {
    pub(super) fn end_pass(&self, pass: &mut Pass) {
        let c = &self.counters;
        for (counter, n) in [
            (&c.submitted, &mut pass.submitted),
            (&c.inline, &mut pass.inline),
            (&c.refused, &mut pass.refused),
            (&c.protocol_errors, &mut pass.protocol_errors),
        ] {
            if *n > 0 {
                counter.fetch_add(std::mem::take(n), Ordering::Relaxed);
            }
        }
        // Counted before posting, so whoever reaps them sees them counted.
        let n = pass.batch.len() as u64;
        let done = c.completed.fetch_add(n, Ordering::Relaxed) + n;
        if self.cq.post_batch(&mut pass.batch) {
            self.wake_reaper();
        }
        self.fire_counted(done);
    }
}

/// Decodes, validates and dispatches one submission frame. Every path ends
/// in exactly one completion: in `pass` now, or from the pool later.
pub(super) fn process(
    shared: &Arc<Shared>,
    pool: &WorkerPool,
    frame: &[u8],
    ctx: Context,
    pass: &mut Pass,
) {
    // This frame's place in arrival order: how many came before it.
    let seq = shared.counters.submitted.load(Ordering::Relaxed) + pass.submitted;
    pass.submitted += 1;
    if let Some(drain) = &mut pass.drain {
        drain.held.push_back((seq, frame.to_vec()));
        return;
    }
    dispatch_frame(shared, pool, frame, seq, ctx, pass, true);
}

/// A DRAIN request that must wait, and the frames held behind it, with
/// their arrival numbers. Until it starts, `gate` is its own arrival number
/// (it starts once that many completions — everything before it — have
/// been posted); after, `gate` is one more (what follows it starts once it
/// has completed too, as with io_uring's IOSQE_IO_DRAIN).
pub(super) struct Drain {
    pub(super) gate: u64,
    pub(super) started: bool,
    pub(super) held: VecDeque<(u64, Vec<u8>)>,
}

/// Completions posted so far, including those still in `pass`. Each
/// request completes exactly once and nothing after a waiting DRAIN has
/// started, so "all requests before arrival number n completed" is
/// "n completions posted".
pub(super) fn completed_so_far(shared: &Shared, pass: &Pass) -> u64 {
    // Posted, not merely counted: a DRAIN request's completion must not
    // overtake those it waited for on the ring.
    shared.cq.posted() + pass.batch.len() as u64
}

/// Starts what a waiting DRAIN held back as far as the completions posted
/// allow. Returns whether a DRAIN still waits.
pub(super) fn release_drain(
    shared: &Arc<Shared>,
    pool: &WorkerPool,
    ctx: Context,
    pass: &mut Pass,
) -> bool {
    loop {
        let Some(gate) = pass.drain.as_ref().map(|d| d.gate) else {
            return false;
        };
        if completed_so_far(shared, pass) < gate {
            return true;
        }
        let Some(drain) = pass.drain.take() else {
            return false;
        };
        let mut held = drain.held;
        if !drain.started {
            let Some((seq, frame)) = held.pop_front() else {
                continue;
            };
            dispatch_frame(shared, pool, &frame, seq, ctx, pass, false);
            pass.drain = Some(Drain {
                gate: seq + 1,
                started: true,
                held,
            });
            continue;
        }
        // Past the barrier: the rest start in order; a later DRAIN among
        // them holds back what follows it.
        for (seq, frame) in held {
            match &mut pass.drain {
                Some(d) => d.held.push_back((seq, frame)),
                None => dispatch_frame(shared, pool, &frame, seq, ctx, pass, true),
            }
        }
    }
}

/// Decodes, validates and starts one frame; with `check_drain`, a DRAIN
/// frame that must wait is held instead.
pub(super) fn dispatch_frame(
    shared: &Arc<Shared>,
    pool: &WorkerPool,
    frame: &[u8],
    seq: u64,
    ctx: Context,
    pass: &mut Pass,
    check_drain: bool,
) {
    let drain_flag = frame
        .get(9)
        .is_some_and(|&f| f & SubmissionFlags::DRAIN.bits() != 0);
    // (A DRAIN inside a link chain does not wait on its own.)
    if check_drain && drain_flag && pass.chain.is_none() && completed_so_far(shared, pass) < seq {
        let held = VecDeque::from([(seq, frame.to_vec())]);
        pass.drain = Some(Drain {
            gate: seq,
            started: false,
            held,
        });
        return;
    }
    if pass.chain.is_none()
        && let Some(plain) = PlainCall::decode(frame)
        && !plain.flags.links_next()
    {
        // The common shape, valid as decoded: no `Submission` is built.
        let call = PreparedCall::immediate(plain.nr, plain.args);
        let started = start_call(shared, ctx, pass, plain.user_data, plain.flags, call, false);
        if let Started::Pooled(job) = started {
            job.submit(shared, &pool.handle(), None, ctx);
        }
        return;
    }
    let sub: Submission<'_> = match decode(frame) {
        Ok(sub) => sub,
        Err(e) => {
            let user_data = peek_user_data(frame).unwrap_or(codes::UNKNOWN_USER_DATA);
            let code = match e {
                DecodeError::UnsupportedVersion { .. } => codes::UNSUPPORTED_VERSION,
                _ => codes::UNDECODABLE,
            };
            pass.protocol_errors += 1;
            pass.post(user_data, code, CompletionFlags::PROTOCOL_ERROR);
            // An unreadable member breaks its chain: the other members are
            // cancelled. Its flags byte, if there is one, says whether the
            // chain goes on past it.
            let links_on = frame
                .get(9)
                .is_some_and(|&f| SubmissionFlags::from_bits_retain(f).links_next());
            if links_on || pass.chain.is_some() {
                pass.chain.get_or_insert_with(ChainBuilder::default).broken = true;
            }
            if !links_on {
                close_chain(shared, pool, ctx, pass);
            }
            return;
        }
    };
    if pass.chain.is_some() || sub.flags.links_next() {
        let last = !sub.flags.links_next();
        pass.chain
            .get_or_insert_with(ChainBuilder::default)
            .subs
            .push(sub.into_owned());
        if last {
            close_chain(shared, pool, ctx, pass);
        }
        return;
    }
    if !shared.valid(&sub, None) {
        pass.protocol_errors += 1;
        pass.post(
            sub.user_data,
            codes::INVALID,
            CompletionFlags::PROTOCOL_ERROR,
        );
        return;
    }
    if let Started::Pooled(job) = start(shared, ctx, pass, &sub, None) {
        job.submit(shared, &pool.handle(), None, ctx);
    }
}

/// A link chain being read off the ring: it runs once its last member (one
/// without LINK/HARDLINK) has arrived.
#[derive(Default)]
pub(super) struct ChainBuilder {
    pub(super) subs: Vec<Submission<'static>>,
    /// A member failed to decode: the rest are cancelled, not run.
    pub(super) broken: bool,
}

/// The members of a chain still to run, and the results and outputs of
/// those that ran (what `Arg::LinkResult` and `Buffer::Linked` refer to).
pub(super) struct Chain {
    pub(super) subs: VecDeque<Submission<'static>>,
    results: Vec<i64>,
    outputs: Vec<Outputs>,
}

impl Chain {
    pub(super) fn new(subs: Vec<Submission<'static>>) -> Chain {
        Chain {
            subs: subs.into(),
            results: Vec::new(),
            outputs: Vec::new(),
        }
    }

    /// Records the next member's result and outputs.
    pub(super) fn record(&mut self, result: i64, outputs: Outputs) {
        self.results.push(result);
        self.outputs.push(outputs);
    }

    fn so_far(&self) -> ChainSoFar<'_> {
        ChainSoFar {
            results: &self.results,
            outputs: &self.outputs,
        }
    }
}

pub(super) fn close_chain(shared: &Arc<Shared>, pool: &WorkerPool, ctx: Context, pass: &mut Pass) {
    let Some(b) = pass.chain.take() else { return };
    let mut chain = Chain::new(b.subs);
    if b.broken {
        cancel_rest(&mut chain, pass);
    } else {
        run_chain(shared, &pool.handle(), ctx, pass, chain);
    }
}

/// Answers every frame a DRAIN still holds back with -ECANCELED.
pub(super) fn abandon_drain(pass: &mut Pass) {
    for (_, frame) in pass.drain.take().into_iter().flat_map(|d| d.held) {
        let user_data = peek_user_data(&frame).unwrap_or(codes::UNKNOWN_USER_DATA);
        pass.post(
            user_data,
            -i64::from(libc::ECANCELED),
            CompletionFlags::empty(),
        );
    }
}

/// Cancels the members of a chain still waiting for its last member.
pub(super) fn abandon_open_chain(pass: &mut Pass) {
    if let Some(b) = pass.chain.take() {
        let mut chain = Chain::new(b.subs);
        cancel_rest(&mut chain, pass);
    }
}

pub(super) fn cancel_rest(chain: &mut Chain, pass: &mut Pass) {
    for sub in chain.subs.drain(..) {
        pass.post(
            sub.user_data,
            -i64::from(libc::ECANCELED),
            CompletionFlags::empty(),
        );
    }
}

/// Runs a chain's members in order, here as far as they finish here; the
/// first that must go to the pool takes the rest of the chain with it.
pub(super) fn run_chain(
    shared: &Arc<Shared>,
    pool: &PoolHandle,
    ctx: Context,
    pass: &mut Pass,
    mut chain: Chain,
) {
    while let Some(sub) = chain.subs.pop_front() {
        let position = u16::try_from(chain.results.len()).unwrap_or(u16::MAX);
        // A LinkTimeout right after a linked request bounds that request.
        let link_timeout = match chain.subs.front() {
            Some(Submission {
                op: Op::LinkTimeout { nanos },
                ..
            }) if sub.flags.links_next() => {
                let nanos = *nanos;
                chain.subs.pop_front().map(|lt| (lt.user_data, nanos))
            }
            _ => None,
        };
        let (result, ok, outputs) = if !shared.valid(&sub, Some(position)) {
            pass.protocol_errors += 1;
            pass.post(
                sub.user_data,
                codes::INVALID,
                CompletionFlags::PROTOCOL_ERROR,
            );
            (codes::INVALID, false, Outputs::default())
        } else {
            match start(shared, ctx, pass, &sub, Some(chain.so_far())) {
                Started::Here {
                    result,
                    ok,
                    outputs,
                } => (result, ok, outputs),
                Started::Armed => (0, true, Outputs::default()),
                Started::Pooled(mut job) => {
                    job.rest = Some((sub.flags, chain));
                    return job.submit(shared, pool, link_timeout, ctx);
                }
            }
        };
        chain.record(result, outputs);
        if let Some((lt_user_data, _)) = link_timeout {
            // The request finished before any timer could: the link
            // timeout is cancelled.
            let canceled = -i64::from(libc::ECANCELED);
            pass.post(lt_user_data, canceled, CompletionFlags::empty());
            chain.record(canceled, Outputs::default());
        }

        if !link_continues(sub.flags, ok) {
            return cancel_rest(&mut chain, pass);
        }
    }
}

/// Whether the request after one with `flags` runs, given whether this one
/// succeeded (a non-negative result that is not a short read or write).
pub(super) fn link_continues(flags: SubmissionFlags, ok: bool) -> bool {
    flags.contains(SubmissionFlags::HARDLINK) || ok
}

/// Where [`start`] left a request.
pub(super) enum Started {
    /// It finished here and its completion is in the pass.
    Here {
        result: i64,
        /// Succeeded in full: a linked successor may run.
        ok: bool,
        /// Its outputs (for a linked successor's `Buffer::Linked`).
        outputs: Outputs,
    },
    /// It must run on the pool; the caller submits the job.
    Pooled(Box<PuntedCall>),
    /// A `Timeout`: armed, it completes later.
    Armed,
}

/// Runs one validated request on this thread if it can finish here;
/// `chain` holds what the earlier members of its link chain produced, if it
/// is in one.
pub(super) fn start(
    shared: &Arc<Shared>,
    ctx: Context,
    pass: &mut Pass,
    sub: &Submission<'_>,
    chain: Option<ChainSoFar<'_>>,
) -> Started {
    let in_chain = chain.is_some();
    let chain = chain.unwrap_or_default();
    let op = match &sub.op {
        Op::Syscall(op) => op,
        Op::Nop => {
            pass.inline += 1;
            pass.post(sub.user_data, 0, CompletionFlags::INLINE);
            return Started::Here {
                result: 0,
                ok: true,
                outputs: Outputs::default(),
            };
        }
        Op::Cancel { target } => {
            let result = cancel(shared, *target);
            pass.post(sub.user_data, result, CompletionFlags::INLINE);
            return Started::Here {
                result,
                ok: result >= 0,
                outputs: Outputs::default(),
            };
        }
        Op::Timeout { nanos, count } => {
            let at = Instant::now() + Duration::from_nanos(*nanos);
            // Completions so far, plus those of this pass not yet counted.
            let posted = shared.counters.completed.load(Ordering::Relaxed);
            let so_far = posted + pass.batch.len() as u64;
            let target = (*count > 0).then(|| so_far + u64::from(*count));
            arm(
                shared,
                at,
                target,
                TimerEvent::Timeout {
                    user_data: sub.user_data,
                },
            );
            return Started::Armed;
        }
        Op::LinkTimeout { .. } => {
            // Only valid right after a linked request; `run_chain` takes it
            // there. Anywhere else it bounds nothing.
            pass.protocol_errors += 1;
            pass.post(
                sub.user_data,
                codes::INVALID,
                CompletionFlags::PROTOCOL_ERROR,
            );
            return Started::Here {
                result: codes::INVALID,
                ok: false,
                outputs: Outputs::default(),
            };
        }
    };
    let call = PreparedCall::new(op, chain, shared.arena.get());
    start_call(shared, ctx, pass, sub.user_data, sub.flags, call, in_chain)
}

/// Runs a prepared call on this thread if it can finish here (the syscall
/// part of [`start`]).
fn start_call(
    shared: &Arc<Shared>,
    ctx: Context,
    pass: &mut Pass,
    user_data: u64,
    flags: SubmissionFlags,
    mut call: PreparedCall,
    in_chain: bool,
) -> Started {
    let filled = filled_buffer(&call);
    let result = match inline_step(&mut call, flags, ctx) {
        Step::Done(result) => result,
        Step::Refused(code) => {
            pass.refused += 1;
            pass.post(user_data, code, CompletionFlags::REFUSED);
            return Started::Here {
                result: code,
                ok: false,
                outputs: Outputs::default(),
            };
        }
        _ if flags.contains(SubmissionFlags::NOWAIT) => -i64::from(libc::EAGAIN),
        // Parked on readiness (or, without a reactor, given a worker).
        Step::WouldBlock { fd, events } => {
            let mut job = punt_job(
                shared,
                Account::Unbounded,
                None,
                (user_data, flags),
                call,
                filled,
            );
            job.wait = Some((fd, events));
            return Started::Pooled(job);
        }
        Step::Punt(account, key) => {
            return Started::Pooled(punt_job(
                shared,
                account,
                key,
                (user_data, flags),
                call,
                filled,
            ));
        }
    };
    pass.inline += 1;
    let ok = result >= 0 && !is_short(&call, result);
    if call.is_immediate() {
        pass.post(user_data, result, CompletionFlags::INLINE);
        return Started::Here {
            result,
            ok,
            outputs: Outputs::default(),
        };
    }
    if !in_chain {
        // Nothing after it reads its outputs: written straight from the
        // call's memory into the frame.
        let outputs = call.output_slices(result, filled);
        pass.batch
            .push_outputs(user_data, result, CompletionFlags::INLINE, outputs);
        return Started::Here {
            result,
            ok,
            outputs: Outputs::default(),
        };
    }
    let c = completion(user_data, result, CompletionFlags::INLINE, &call, filled);
    pass.batch.push(&c);
    Started::Here {
        result,
        ok,
        outputs: Outputs {
            bytes: c.outputs,
            arena: call.arena_outputs(result, filled),
        },
    }
}

/// Whether a read- or write-like call moved fewer bytes than asked: a
/// short transfer breaks a LINK chain, as in io_uring.
pub(super) fn is_short(call: &PreparedCall, result: i64) -> bool {
    let Some(sig) = sysgate_sys::signature(call.nr) else {
        return false;
    };
    if sig.ret != sysgate_sys::RetKind::Size {
        return false;
    }
    sig.args.iter().any(|a| match a.kind {
        sysgate_sys::ArgKind::InBuf { len_arg } | sysgate_sys::ArgKind::OutBuf { len_arg } => call
            .args
            .get(usize::from(len_arg))
            .is_some_and(|&len| (result as u64) < len),
        _ => false,
    })
}

/// Which of the call's buffers holds as many bytes as the call returns.
pub(super) fn filled_buffer(call: &PreparedCall) -> Option<usize> {
    call.arg_buffer_index(crate::dispatch::filled_by_result(call.nr)?)
}

/// The completion of a call that returned `result`, with its outputs.
pub(super) fn completion(
    user_data: u64,
    result: i64,
    flags: CompletionFlags,
    call: &PreparedCall,
    filled: Option<usize>,
) -> Completion<'static> {
    let mut c = Completion::new(user_data, result, flags);
    if !call.is_immediate() {
        c.outputs = call.outputs(result, filled);
    }
    c
}
