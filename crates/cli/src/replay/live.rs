//! Running a plan through the gateway: the live fd table, submission in
//! dependency order, completions in any order, comparison with the trace.
//!
//! One thread does it all. Steps whose dependencies have completed wait
//! in a queue (lowest log position first); up to `max_in_flight` of them
//! are submitted (a call that cannot block has already run when `submit`
//! returns), then the thread sleeps until a gateway future wakes it or
//! the earliest deadline passes, takes every completed future, applies
//! its fd effects, compares its result, and releases the steps that
//! waited for it. A step's traced fds are mapped to the live fds of the
//! generations the plan gave them when it is submitted — after the step
//! that created each generation has completed (it depends on it). A
//! generation's live fd is closed once every step that refers to it has
//! completed.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::fs::{File, OpenOptions};
use std::future::Future;
use std::os::fd::{AsRawFd, IntoRawFd};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::Thread;
use std::time::{Duration, Instant};

use sysgate::proto::{Arg, CompletionFlags, Op, SyscallOp, codes};
use sysgate::{Abandon, Gateway, Operation, Outcome, Posted, Request, Submitted};
use sysgate_sys::{ArgKind, Errno, Signature, StructKind};

use super::plan::{FdGen, Plan, Step};
use super::{
    Difference, Event, ExecCounts, Live, Ran, ReplayError, ReplayOptions, SkipCause, Summary,
    results_differ, shorten,
};
use crate::strace::{
    CallPlan, Expr, FdRole, LowerContext, Memory, Opens, SkipReason, Trace, Unsupported, Value,
    lower, map_fds, result_is_fd,
};

/// How long a printed call may be in a [`Difference`].
const CALL_WIDTH: usize = 100;

/// A raw request that closes the fd it returns if its future is dropped
/// (a cancelled `openat` that completes anyway must not leak).
struct ReplayRequest {
    inner: Request,
    abandon: Abandon,
}

impl Operation for ReplayRequest {
    type Output = Posted;

    fn request(&self) -> Result<Op<'_>, sysgate::Error> {
        self.inner.request()
    }

    fn complete(self, outcome: Outcome<'_>) -> Posted {
        self.inner.complete(outcome)
    }

    fn on_abandon(&self) -> Abandon {
        self.abandon
    }
}

/// Traced fd generation → live fd. Every live fd in it belongs to the
/// replay, and no two generations share one (each gets a fresh fd, and
/// leaves the table when its live fd is closed).
struct FdTable {
    live: HashMap<FdGen, i32>,
}

/// A new fd on `/dev/null`, for reading and writing, owned by the caller
/// as a bare number (closed through the gateway).
fn open_devnull() -> std::io::Result<i32> {
    devnull_file().map(IntoRawFd::into_raw_fd)
}

fn devnull_file() -> std::io::Result<File> {
    OpenOptions::new().read(true).write(true).open("/dev/null")
}

impl FdTable {
    /// Traced 0, 1 and 2 (generation 0) on three fresh `/dev/null` fds. A
    /// closed stdio slot of our own is filled with `/dev/null` first (and
    /// stays so), so that no replayed open can land on 0, 1 or 2.
    fn new() -> std::io::Result<FdTable> {
        loop {
            let f = devnull_file()?;
            if f.as_raw_fd() > 2 {
                break;
            }
            // Keep it: it is our stdin/stdout/stderr from now on.
            let _ = f.into_raw_fd();
        }
        let mut live = HashMap::new();
        for traced in 0..3 {
            live.insert((traced, 0), open_devnull()?);
        }
        Ok(FdTable { live })
    }

    fn get(&self, g: Option<FdGen>) -> Option<i32> {
        self.live.get(&g?).copied()
    }
}

/// A submitted step.
struct InFlight {
    step: usize,
    future: Submitted<ReplayRequest>,
    plan: CallPlan,
    /// A `/dev/null` fd opened to give a `dup2` target a number.
    reserved: Option<i32>,
    started: Instant,
    deadline: Instant,
}

/// What became of a step.
enum Done {
    Ran {
        result: i64,
        ran: Ran,
        outputs: Vec<Vec<u8>>,
    },
    TimedOut,
    Skipped(SkipCause),
}

struct Unpark(Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

struct Runner<'a> {
    trace: &'a Trace,
    plan: &'a Plan,
    options: &'a ReplayOptions,
    gw: Gateway,
    fds: FdTable,
    summary: &'a mut Summary,
    observer: &'a mut dyn FnMut(&Event<'_>),
    /// Steps still waiting for this many dependencies.
    waiting: Vec<usize>,
    /// Steps still to run that refer to each fd generation.
    users_left: HashMap<FdGen, usize>,
    dependents: Vec<Vec<usize>>,
    ready: BinaryHeap<Reverse<usize>>,
    /// The first live `umask` result (the replayer's own mask), to put
    /// back at the end.
    umask: Option<i64>,
    /// Whether a `chdir`/`fchdir` ran.
    moved: bool,
}

/// `run(trace, plan, …)` — replays `plan`'s steps, filling `summary`.
pub(super) fn run(
    trace: &Trace,
    plan: &Plan,
    options: &ReplayOptions,
    summary: &mut Summary,
    observer: &mut dyn FnMut(&Event<'_>),
) -> Result<(), ReplayError> {
    let gw = Gateway::new().map_err(ReplayError::Gateway)?;
    let fds = FdTable::new().map_err(ReplayError::DevNull)?;
    let cwd = std::env::current_dir().ok();
    let mut dependents = vec![Vec::new(); plan.steps.len()];
    let mut waiting = Vec::with_capacity(plan.steps.len());
    let mut ready = BinaryHeap::new();
    for (i, step) in plan.steps.iter().enumerate() {
        for &d in &step.deps {
            dependents[d].push(i);
        }
        waiting.push(step.deps.len());
        if step.deps.is_empty() {
            ready.push(Reverse(i));
        }
    }
    let mut runner = Runner {
        trace,
        plan,
        options,
        gw,
        fds,
        summary,
        observer,
        waiting,
        users_left: plan.users.clone(),
        dependents,
        ready,
        umask: None,
        moved: false,
    };
    let before = runner.gw.stats();
    let start = Instant::now();
    let outcome = runner.run_all();
    runner.summary.wall = start.elapsed();
    let after = runner.gw.stats();
    runner.summary.exec = Some(ExecCounts::between(&before, &after));
    runner.restore(cwd);
    outcome
}

impl Runner<'_> {
    fn run_all(&mut self) -> Result<(), ReplayError> {
        let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
        let mut in_flight: Vec<InFlight> = Vec::new();
        loop {
            while in_flight.len() < self.options.max_in_flight.max(1) {
                let Some(Reverse(step)) = self.ready.pop() else {
                    break;
                };
                match self.submit(step) {
                    Ok(f) => in_flight.push(f),
                    Err(cause) => {
                        self.apply_effects(step, None, None, None);
                        self.finish(step, Done::Skipped(cause), Duration::ZERO);
                    }
                }
            }
            if in_flight.is_empty() {
                if self.ready.is_empty() {
                    return Ok(());
                }
                continue;
            }
            for (f, outcome) in wait_any(&mut in_flight, &waker) {
                let elapsed = f.started.elapsed();
                let done = match outcome {
                    None => Done::TimedOut,
                    Some(outcome) => completion(outcome, &f.plan)?,
                };
                let live = match &done {
                    Done::Ran { result, .. } => Some(*result),
                    _ => None,
                };
                let outputs = match &done {
                    Done::Ran { outputs, .. } => Some(outputs.as_slice()),
                    _ => None,
                };
                self.apply_effects(f.step, live, outputs.map(|o| (o, &f.plan)), f.reserved);
                self.finish(f.step, done, elapsed);
            }
        }
    }

    /// Maps and lowers step `s` and submits it.
    fn submit(&mut self, s: usize) -> Result<InFlight, SkipCause> {
        let (plan, trace) = (self.plan, self.trace);
        let step: &Step = &plan.steps[s];
        let tc = &trace.calls[step.call];
        let sig = signature(&tc.call.name)?;
        let mut reserved = None;
        let fds = &self.fds;
        // A `dup2` target always gets a fresh number: the generation it
        // replaces keeps its live fd until its own calls are done.
        let mapped = map_fds(&tc.call, sig, |traced, role| {
            let live = match role {
                FdRole::Use => fds.get(step.use_of(traced)),
                FdRole::Target => {
                    let r = open_devnull().ok()?;
                    reserved = Some(r);
                    Some(r)
                }
            };
            live.map(i64::from)
        });
        let mut mapped = match mapped {
            Ok(call) => call,
            Err(fd) => {
                if let Some(r) = reserved {
                    self.close_live(r);
                }
                return Err(SkipCause::NotOpenLive { fd });
            }
        };
        for &(arg, k, traced) in &step.pollfds {
            let Some(live) = self.fds.get(step.use_of(traced)) else {
                if let Some(r) = reserved {
                    self.close_live(r);
                }
                return Err(SkipCause::NotOpenLive { fd: traced });
            };
            set_pollfd(&mut mapped.args, arg, k, live);
        }
        let lowered = match lower(&mapped, &LowerContext::standalone()) {
            Ok(l) => l,
            Err(e) => {
                if let Some(r) = reserved {
                    self.close_live(r);
                }
                return Err(SkipCause::Trace(SkipReason::Unsupported(
                    Unsupported::Lowering(e.kind),
                )));
            }
        };
        let targets = step
            .effects
            .fd_args
            .iter()
            .any(|a| a.role == FdRole::Target);
        let abandon = if result_is_fd(sig, &tc.call) && !targets {
            Abandon::CloseResultFd
        } else {
            Abandon::Nothing
        };
        let request = ReplayRequest {
            inner: Request::new(Op::Syscall(lowered.op)),
            abandon,
        };
        let started = Instant::now();
        let allowed = self.options.timeout + tc.duration().unwrap_or(Duration::ZERO);
        Ok(InFlight {
            step: s,
            future: self.gw.submit(request),
            plan: lowered.plan,
            reserved,
            started,
            deadline: started
                .checked_add(allowed)
                .or_else(|| started.checked_add(Duration::from_secs(86_400)))
                .unwrap_or(started),
        })
    }

    /// Updates the fd table after step `s`: `live` is its live result
    /// (`None`: it did not run), `outputs` its output buffers, `reserved`
    /// the fresh number a `dup2` target got.
    fn apply_effects(
        &mut self,
        s: usize,
        live: Option<i64>,
        outputs: Option<(&[Vec<u8>], &CallPlan)>,
        reserved: Option<i32>,
    ) {
        let (plan, trace) = (self.plan, self.trace);
        let step = &plan.steps[s];
        let tc = &trace.calls[step.call];
        let ok = live.filter(|&r| r >= 0 && Errno::from_ret(r).is_none());
        let name = tc.call.name.as_str();
        let mut keep = None;
        match (step.effects.opens, step.creates.as_slice()) {
            (Opens::Result { .. }, &[g]) => {
                if let Some(new) = ok.and_then(|r| i32::try_from(r).ok()) {
                    self.fds.live.insert(g, new);
                    keep = Some(new);
                }
            }
            (Opens::Pair { arg, .. }, &[g0, g1]) => {
                if let Some([a, b]) = ok
                    .and(outputs)
                    .and_then(|(o, plan)| live_pair(o, plan, arg))
                {
                    self.fds.live.insert(g0, a);
                    self.fds.live.insert(g1, b);
                }
            }
            _ => {
                // The trace's call failed (or opened nothing); ours may
                // have opened something anyway: close it.
                if let (Some(r), Some(sig)) = (ok, sysgate_sys::signature_by_name(name)) {
                    let targets = step
                        .effects
                        .fd_args
                        .iter()
                        .any(|a| a.role == FdRole::Target);
                    if result_is_fd(sig, &tc.call) && !targets {
                        if let Ok(fd) = i32::try_from(r) {
                            self.close_live(fd);
                        }
                    } else if let Some(arg) = sig
                        .args
                        .iter()
                        .position(|a| a.kind == ArgKind::OutStruct(StructKind::FdPair))
                        && let Some(pair) = outputs.and_then(|(o, plan)| live_pair(o, plan, arg))
                    {
                        pair.into_iter().for_each(|fd| self.close_live(fd));
                    }
                }
            }
        }
        if let Some(r) = reserved.filter(|&r| Some(r) != keep) {
            self.close_live(r);
        }
        if name == "close"
            && live.is_some()
            && let Some(&g) = step.uses.first()
        {
            // Closed live (or never valid): forget it either way.
            self.fds.live.remove(&g);
        }
        if live.is_some() {
            if name == "umask" && self.umask.is_none() {
                self.umask = ok;
            }
            if matches!(name, "chdir" | "fchdir") {
                self.moved = true;
            }
        }
        // A generation whose calls have all run is closed now (the trace
        // closed it, its process exited, or a dup2 replaced it).
        for g in step.generations() {
            let left = self.users_left.entry(g).or_default();
            *left = left.saturating_sub(1);
            if *left == 0
                && let Some(fd) = self.fds.live.remove(&g)
            {
                self.close_live(fd);
            }
        }
    }

    /// Closes a live fd of ours through the gateway.
    fn close_live(&self, fd: i32) {
        if let Some(nr) = sysgate_sys::number_of("close") {
            let op = SyscallOp {
                nr,
                args: [Arg::Imm(fd as i64 as u64)].into_iter().collect(),
                bufs: Vec::new(),
                relocs: Vec::new(),
            };
            // Nothing to do if it fails: the number is forgotten anyway.
            let _ = self.gw.call(Request::new(Op::Syscall(op)));
        }
    }

    /// Records what became of step `s` and releases the steps waiting
    /// for it.
    fn finish(&mut self, s: usize, done: Done, elapsed: Duration) {
        let (plan, trace) = (self.plan, self.trace);
        let step = &plan.steps[s];
        let tc = &trace.calls[step.call];
        let traced = tc.result().unwrap_or(0);
        match done {
            Done::Skipped(cause) => {
                self.summary.skip(&cause);
                (self.observer)(&Event::Skipped {
                    line: tc.line,
                    pid: tc.pid,
                    call: &tc.call,
                    cause: &cause,
                });
            }
            Done::Ran { .. } | Done::TimedOut => {
                let (live, ran) = match done {
                    Done::Ran { result, ran, .. } => (Live::Result(result), Some(ran)),
                    _ => (Live::TimedOut, None),
                };
                self.summary.replayed += 1;
                match ran {
                    Some(Ran::Inline) => self.summary.ran_inline += 1,
                    Some(Ran::Polled) => self.summary.ran_polled += 1,
                    Some(Ran::Pool) => self.summary.ran_pool += 1,
                    None => self.summary.timed_out += 1,
                }
                let sig = sysgate_sys::signature_by_name(&tc.call.name);
                let differs = match (live, sig) {
                    (Live::TimedOut, _) => true,
                    (Live::Result(r), Some(sig)) => results_differ(sig, traced, r),
                    (Live::Result(_), None) => false,
                };
                if differs && let Some(signature) = sig {
                    self.summary.differences.push(Difference {
                        line: tc.line,
                        pid: tc.pid,
                        call: shorten(&tc.call, CALL_WIDTH),
                        live,
                        traced,
                        signature,
                    });
                }
                (self.observer)(&Event::Replayed {
                    line: tc.line,
                    pid: tc.pid,
                    call: &tc.call,
                    live,
                    traced,
                    ran,
                    elapsed,
                    differs,
                });
            }
        }
        for i in 0..self.dependents[s].len() {
            let d = self.dependents[s][i];
            self.waiting[d] -= 1;
            if self.waiting[d] == 0 {
                self.ready.push(Reverse(d));
            }
        }
    }

    /// Closes every live fd the replay still holds; puts back the umask
    /// and the working directory if the trace changed them.
    fn restore(&mut self, cwd: Option<std::path::PathBuf>) {
        let mut held: Vec<i32> = self.fds.live.drain().map(|(_, live)| live).collect();
        held.sort_unstable();
        for fd in held {
            self.close_live(fd);
        }
        if let (Some(mask), Some(nr)) = (self.umask, sysgate_sys::number_of("umask")) {
            let op = SyscallOp {
                nr,
                args: [Arg::Imm(mask as u64)].into_iter().collect(),
                bufs: Vec::new(),
                relocs: Vec::new(),
            };
            let _ = self.gw.call(Request::new(Op::Syscall(op)));
        }
        if self.moved
            && let Some(dir) = cwd
        {
            let _ = std::env::set_current_dir(dir);
        }
    }
}

/// The signature the classifier found for `name`.
fn signature(name: &str) -> Result<&'static Signature, SkipCause> {
    sysgate_sys::signature_by_name(name).ok_or(SkipCause::Trace(SkipReason::Unsupported(
        Unsupported::NoSignature,
    )))
}

/// Element `k` of the `struct pollfd` array in argument `arg` gets `fd`.
fn set_pollfd(args: &mut [Expr], arg: usize, k: usize, fd: i32) {
    let Some(e) = args.get_mut(arg) else {
        return;
    };
    let e = match &mut e.value {
        Value::Annotated { value, .. } => value.as_mut(),
        _ => e,
    };
    let Value::Array(elems) = &mut e.value else {
        return;
    };
    let Some(Value::Struct(fields)) = elems.get_mut(k).map(|el| &mut el.value) else {
        return;
    };
    if let Some(f) = fields.iter_mut().find(|f| f.name.as_deref() == Some("fd")) {
        f.value = Expr::new(f.value.col, Value::Num(i128::from(fd)));
    }
}

/// The two fds a live `pipe2`/`socketpair` wrote into argument `arg`.
fn live_pair(outputs: &[Vec<u8>], plan: &CallPlan, arg: usize) -> Option<[i32; 2]> {
    let Memory::Buffer(buf) = plan.args.get(arg)?.memory else {
        return None;
    };
    let slot = plan.buffers.get(usize::from(buf))?.output?;
    let bytes = outputs.get(slot)?;
    let a = i32::from_ne_bytes(bytes.get(0..4)?.try_into().ok()?);
    let b = i32::from_ne_bytes(bytes.get(4..8)?.try_into().ok()?);
    Some([a, b])
}

/// What a completion says: the result and where it ran, or why the call
/// did not run.
///
/// # Errors
/// The ring broke: nothing more can be submitted.
fn completion(outcome: Posted, plan: &CallPlan) -> Result<Done, ReplayError> {
    let c = match outcome {
        Ok(c) => c,
        Err(e @ (sysgate::Error::Ring(_) | sysgate::Error::Region(_))) => {
            return Err(ReplayError::Gateway(e));
        }
        Err(e) => return Ok(Done::Skipped(SkipCause::Gateway(e))),
    };
    let flags = c.flags;
    if flags.contains(CompletionFlags::PROTOCOL_ERROR) {
        return Ok(Done::Skipped(SkipCause::Gateway(sysgate::Error::Protocol(
            c.result,
        ))));
    }
    if flags.contains(CompletionFlags::REFUSED)
        && let Some(e) = Errno::from_ret(c.result)
    {
        let args: Vec<_> = plan.args.iter().map(|a| a.word).collect();
        return Ok(Done::Skipped(SkipCause::Gateway(sysgate::Error::Refused {
            errno: e,
            reason: sysgate::refusal_reason(Some(plan.nr), &args, c.result),
        })));
    }
    if flags.contains(CompletionFlags::POOL) && c.result == codes::WORKER_PANICKED {
        return Ok(Done::Skipped(SkipCause::Gateway(
            sysgate::Error::WorkerPanicked,
        )));
    }
    let ran = if flags.contains(CompletionFlags::POOL) {
        Ran::Pool
    } else if flags.contains(CompletionFlags::POLLED) {
        Ran::Polled
    } else {
        Ran::Inline
    };
    Ok(Done::Ran {
        result: c.result,
        ran,
        outputs: c.outputs.into_iter().map(|b| b.to_vec()).collect(),
    })
}

/// Sleeps until at least one future in `in_flight` is ready or past its
/// deadline; removes and returns those (`None`: timed out — dropping the
/// future cancels the request).
fn wait_any(in_flight: &mut Vec<InFlight>, waker: &Waker) -> Vec<(InFlight, Option<Posted>)> {
    let mut cx = Context::from_waker(waker);
    loop {
        let mut done = Vec::new();
        let mut i = 0;
        while i < in_flight.len() {
            match Pin::new(&mut in_flight[i].future).poll(&mut cx) {
                Poll::Ready(outcome) => done.push((in_flight.swap_remove(i), Some(outcome))),
                Poll::Pending => i += 1,
            }
        }
        if !done.is_empty() {
            return done;
        }
        let now = Instant::now();
        let mut i = 0;
        while i < in_flight.len() {
            if in_flight[i].deadline <= now {
                done.push((in_flight.swap_remove(i), None));
            } else {
                i += 1;
            }
        }
        if !done.is_empty() {
            return done;
        }
        let next = in_flight.iter().map(|f| f.deadline).min().unwrap_or(now);
        std::thread::park_timeout(next.saturating_duration_since(now));
    }
}
