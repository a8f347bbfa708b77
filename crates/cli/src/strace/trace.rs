//! Reading a whole strace log for replay, and deciding which of its calls
//! can be replayed.
//!
//! [`parse_trace`] splits a log into calls (putting `<unfinished ...>` and
//! `<... resumed>` halves back together), one timeline per traced pid,
//! counts the lines that are not calls and reports malformed lines
//! without stopping. [`Classifier`] then walks the calls in log order and
//! says for each whether it can be replayed, tracking which fds the trace
//! itself opened; the executor maps those traced fd numbers to live ones
//! using [`FdEffects`].
//!
//! Simplification: the whole trace shares one fd table. Threads share fds
//! anyway; separate processes that use the same number for different
//! files are told apart only by their opens and closes.

use std::collections::BTreeSet;
use std::fmt;
use std::time::Duration;

use sysgate_sys::{ArgKind, ExecClass, RetKind, Signature};

use super::ast::{Call, Expr, Outcome, Timestamp, TraceLine, Value};
use super::check::syscall_number;
use super::error::{LowerErrorKind, ParseError, ParseErrorKind};
use super::lower::{LowerContext, lower};
use super::parse::{parse_call_outcome, parse_trace_line};

/// One call of a trace, with its traced result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TracedCall {
    /// 1-based line where the call starts.
    pub line: usize,
    /// 1-based line holding its result (the `<... resumed>` line for a
    /// split call; `line` otherwise).
    pub end_line: usize,
    /// The traced pid, if the log has them (`-f`). Lines without a pid in
    /// a `-f` log (strace leaves it out while only one process runs) have
    /// `None`.
    pub pid: Option<u32>,
    /// When it started, if the log has timestamps.
    pub timestamp: Option<Timestamp>,
    /// The call.
    pub call: Call,
    /// Its result and duration; `None` when the log ends before it
    /// returned.
    pub outcome: Option<Outcome>,
}

impl TracedCall {
    /// The traced result: the value, or `-errno`. `None` when unknown
    /// (`= ?`, or no result in the log).
    pub fn result(&self) -> Option<i64> {
        self.outcome.as_ref()?.result.raw()
    }

    /// The traced time in the call (`-T`).
    pub fn duration(&self) -> Option<Duration> {
        self.outcome.as_ref()?.duration
    }
}

/// The calls of one traced pid, in log order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timeline {
    /// The pid (`None`: lines without a pid).
    pub pid: Option<u32>,
    /// Indices into [`Trace::calls`].
    pub calls: Vec<usize>,
}

/// Lines that are not calls, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NonCallCounts {
    /// `--- SIGCHLD ... ---`.
    pub signals: usize,
    /// `+++ exited with 0 +++`.
    pub exits: usize,
    /// `strace: ...`.
    pub messages: usize,
}

/// A line that did not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MalformedLine {
    /// 1-based line number.
    pub line: usize,
    /// Why. For a split call the column counts in the joined text
    /// `name(first half` + `second half`.
    pub error: ParseError,
}

impl fmt::Display for MalformedLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, {}", self.line, self.error)
    }
}

/// A parsed strace log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trace {
    /// Every call, ordered by the line it starts on.
    pub calls: Vec<TracedCall>,
    /// One timeline per pid, in order of first appearance.
    pub timelines: Vec<Timeline>,
    /// Lines that are not calls.
    pub non_calls: NonCallCounts,
    /// Lines that did not parse (the rest of the log still did).
    pub malformed: Vec<MalformedLine>,
    /// Lines read.
    pub lines: usize,
}

/// A first half waiting for its `<... resumed>`.
struct Pending {
    pid: Option<u32>,
    name: String,
    partial: String,
    line: usize,
    timestamp: Option<Timestamp>,
}

/// `parse_trace(text)` — every call of a strace log (plain, `-f`,
/// `-t`/`-tt`/`-ttt`, `-T`, `-y`), split calls put together.
///
/// Never fails: malformed lines are collected in [`Trace::malformed`]. A
/// call whose log ends before it returned is kept with no outcome when its
/// first half parses on its own.
pub fn parse_trace(text: &str) -> Trace {
    let mut trace = Trace::default();
    let mut pending: Vec<Pending> = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let line = n + 1;
        trace.lines = line;
        let parsed = match parse_trace_line(raw) {
            Ok(p) => p,
            Err(error) => {
                trace.malformed.push(MalformedLine { line, error });
                continue;
            }
        };
        match parsed {
            TraceLine::Blank => {}
            TraceLine::NotACall { event, .. } => match event {
                super::ast::NonCall::Signal(_) => trace.non_calls.signals += 1,
                super::ast::NonCall::Exit(_) => trace.non_calls.exits += 1,
                super::ast::NonCall::Message(_) => trace.non_calls.messages += 1,
            },
            TraceLine::Call(cl) => trace.calls.push(TracedCall {
                line,
                end_line: line,
                pid: cl.prefix.pid,
                timestamp: cl.prefix.timestamp,
                call: cl.call,
                outcome: cl.outcome,
            }),
            TraceLine::Unfinished {
                prefix,
                name,
                partial,
            } => pending.push(Pending {
                pid: prefix.pid,
                name,
                partial,
                line,
                timestamp: prefix.timestamp,
            }),
            TraceLine::Resumed { prefix, name, rest } => {
                let matches = |p: &Pending| name.is_empty() || p.name == name;
                let found = pending
                    .iter()
                    .rposition(|p| p.pid == prefix.pid && matches(p))
                    .or_else(|| {
                        // strace drops the pid once only one process is left.
                        prefix
                            .pid
                            .is_none()
                            .then(|| pending.iter().rposition(matches))
                            .flatten()
                    });
                let Some(i) = found else {
                    trace.malformed.push(MalformedLine {
                        line,
                        error: ParseError::new(1, ParseErrorKind::UnmatchedResumed { name }),
                    });
                    continue;
                };
                let first = pending.remove(i);
                let joined = format!("{}({}{}", first.name, first.partial, rest);
                match parse_call_outcome(&joined) {
                    Ok((call, outcome)) => trace.calls.push(TracedCall {
                        line: first.line,
                        end_line: line,
                        pid: first.pid,
                        timestamp: first.timestamp,
                        call,
                        outcome,
                    }),
                    Err(error) => trace.malformed.push(MalformedLine { line, error }),
                }
            }
        }
    }
    // First halves that never resumed: keep those whose arguments are all
    // there.
    for p in pending {
        let partial = p.partial.trim_end().trim_end_matches(',');
        match parse_call_outcome(&format!("{}({partial})", p.name)) {
            Ok((call, _)) => trace.calls.push(TracedCall {
                line: p.line,
                end_line: p.line,
                pid: p.pid,
                timestamp: p.timestamp,
                call,
                outcome: None,
            }),
            Err(error) => trace.malformed.push(MalformedLine {
                line: p.line,
                error,
            }),
        }
    }
    trace.calls.sort_by_key(|c| c.line);
    trace.malformed.sort_by_key(|m| m.line);
    for (i, call) in trace.calls.iter().enumerate() {
        match trace.timelines.iter_mut().find(|t| t.pid == call.pid) {
            Some(t) => t.calls.push(i),
            None => trace.timelines.push(Timeline {
                pid: call.pid,
                calls: vec![i],
            }),
        }
    }
    trace
}

// ---- replayability -----------------------------------------------------------

/// Why a traced call is not replayed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkipReason {
    /// `mmap`, `munmap`, `mprotect`, `brk`, `mremap`, `madvise`, …: the
    /// traced addresses mean nothing here.
    MemoryMapping,
    /// `clone`, `fork`, `execve`, `exit`, `wait4`, `prctl`, `arch_prctl`,
    /// `set_tid_address`, `futex`, … and every thread-affine or forbidden
    /// call: they act on the traced process, not on files.
    ProcessControl,
    /// `rt_sigaction`, `rt_sigprocmask`, `kill`, …
    Signals,
    /// Uses an fd the trace never opened (0, 1 and 2 count as open).
    UnknownFd {
        /// The argument.
        arg: usize,
        /// The traced fd number.
        fd: i64,
    },
    /// Replay cannot build it.
    Unsupported(Unsupported),
    /// The log ends before the call returned (or its result is `?`).
    Incomplete,
}

/// Why replay cannot build a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unsupported {
    /// sysgate has no signature for it.
    NoSignature,
    /// It passes an address from the traced process (a `Ptr` argument).
    TracedAddress {
        /// The argument.
        arg: usize,
    },
    /// An fd argument that is not a number.
    BadFd {
        /// The argument.
        arg: usize,
    },
    /// `close_range` would close fds replay does not own.
    FdRange,
    /// Lowering refused it.
    Lowering(LowerErrorKind),
}

impl SkipReason {
    /// A short label for counting: `memory mapping`, `process control`,
    /// `signals`, `unknown fd`, `unsupported`, `incomplete`.
    pub fn label(&self) -> &'static str {
        match self {
            Self::MemoryMapping => "memory mapping",
            Self::ProcessControl => "process control",
            Self::Signals => "signals",
            Self::UnknownFd { .. } => "unknown fd",
            Self::Unsupported(_) => "unsupported",
            Self::Incomplete => "incomplete",
        }
    }
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownFd { arg, fd } => {
                write!(f, "unknown fd {fd} (argument {})", arg + 1)
            }
            Self::Unsupported(u) => match u {
                Unsupported::NoSignature => f.write_str("unsupported: no signature"),
                Unsupported::TracedAddress { arg } => write!(
                    f,
                    "unsupported: argument {} is an address in the traced process",
                    arg + 1
                ),
                Unsupported::BadFd { arg } => {
                    write!(f, "unsupported: argument {} is not an fd number", arg + 1)
                }
                Unsupported::FdRange => f.write_str("unsupported: closes a range of fds"),
                Unsupported::Lowering(kind) => write!(f, "unsupported: {kind}"),
            },
            other => f.write_str(other.label()),
        }
    }
}

/// How an fd argument is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FdRole {
    /// The call operates on an existing fd: map traced → live.
    Use,
    /// The call makes this number refer to something (`dup2`/`dup3`'s
    /// `newfd`): pick a live number for it.
    Target,
}

/// One fd argument of a call and its traced value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FdArg {
    /// The argument's index.
    pub arg: usize,
    /// The traced fd number.
    pub fd: i64,
    /// How the call uses it.
    pub role: FdRole,
}

/// New fds a call creates, as traced numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opens {
    /// None.
    Nothing,
    /// The result is a new fd (`openat`, `socket`, `dup`, `accept4`,
    /// `fcntl(F_DUPFD)`): map traced `fd` to the live result.
    Result {
        /// The traced result.
        fd: i64,
    },
    /// `pipe2`/`socketpair` write two fds into argument `arg`: map them to
    /// the two the live call wrote.
    Pair {
        /// The `int[2]` argument.
        arg: usize,
        /// The traced fds.
        fds: [i64; 2],
    },
}

/// What a replayable call does to the fd table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FdEffects {
    /// Its fd arguments (`AT_FDCWD` and negative numbers left out: they
    /// are passed as they are).
    pub fd_args: Vec<FdArg>,
    /// The fds it creates.
    pub opens: Opens,
    /// The traced fd a successful `close` releases.
    pub closes: Option<i64>,
}

/// Whether to replay a traced call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Replay it, mapping fds as described.
    Replay(FdEffects),
    /// Skip it.
    Skip(SkipReason),
}

const MEMORY: &[&str] = &[
    "mmap",
    "mmap2",
    "munmap",
    "mprotect",
    "pkey_mprotect",
    "brk",
    "mremap",
    "madvise",
    "process_madvise",
    "msync",
    "mlock",
    "mlock2",
    "munlock",
    "mlockall",
    "munlockall",
    "mincore",
    "remap_file_pages",
    "mseal",
    "map_shadow_stack",
];

const PROCESS: &[&str] = &[
    "clone",
    "clone3",
    "fork",
    "vfork",
    "execve",
    "execveat",
    "exit",
    "exit_group",
    "wait4",
    "waitid",
    "prctl",
    "arch_prctl",
    "set_tid_address",
    "set_robust_list",
    "get_robust_list",
    "rseq",
    "futex",
    "futex_waitv",
    "futex_wake",
    "futex_wait",
    "futex_requeue",
    "ptrace",
    "setsid",
    "setpgid",
    "unshare",
    "setns",
    "seccomp",
    "personality",
    "sched_setaffinity",
    "sched_getaffinity",
    "pidfd_open",
    "pidfd_getfd",
    "prlimit64",
    "setrlimit",
];

const SIGNALS: &[&str] = &[
    "rt_sigaction",
    "rt_sigprocmask",
    "rt_sigreturn",
    "rt_sigsuspend",
    "rt_sigpending",
    "rt_sigtimedwait",
    "rt_sigqueueinfo",
    "rt_tgsigqueueinfo",
    "sigaltstack",
    "kill",
    "tkill",
    "tgkill",
    "pidfd_send_signal",
    "signalfd",
    "signalfd4",
    "alarm",
    "pause",
    "setitimer",
    "getitimer",
    "restart_syscall",
];

/// The category a syscall is skipped for by name alone.
fn category(name: &str) -> Option<SkipReason> {
    if MEMORY.contains(&name) {
        Some(SkipReason::MemoryMapping)
    } else if PROCESS.contains(&name) {
        Some(SkipReason::ProcessControl)
    } else if SIGNALS.contains(&name) {
        Some(SkipReason::Signals)
    } else {
        None
    }
}

/// `fd_args(sig)` — the arguments of `sig` that are fds (`Fd` and `DirFd`
/// kinds), with their role.
pub fn fd_args(sig: &Signature) -> Vec<(usize, FdRole)> {
    sig.args
        .iter()
        .enumerate()
        .filter(|(_, a)| matches!(a.kind, ArgKind::Fd | ArgKind::DirFd))
        .map(|(i, _)| {
            let target = i == 1 && matches!(sig.name, "dup2" | "dup3");
            (i, if target { FdRole::Target } else { FdRole::Use })
        })
        .collect()
}

/// `result_is_fd(sig, call)` — whether a successful `call` returns a new
/// fd: [`RetKind::Fd`], or `fcntl` with `F_DUPFD`/`F_DUPFD_CLOEXEC`.
pub fn result_is_fd(sig: &Signature, call: &Call) -> bool {
    if sig.ret == RetKind::Fd {
        return true;
    }
    sig.name == "fcntl"
        && call.args.get(1).is_some_and(|e| {
            matches!(&e.unannotated().value,
                Value::Name(n) if n == "F_DUPFD" || n == "F_DUPFD_CLOEXEC")
        })
}

/// The fd number an argument holds: a number (annotation ignored), or
/// `AT_FDCWD` (-100).
pub fn fd_value(e: &Expr) -> Option<i64> {
    match &e.unannotated().value {
        Value::Num(n) => i64::try_from(*n).ok(),
        Value::Name(n) if n == "AT_FDCWD" => Some(-100),
        _ => None,
    }
}

/// `map_fds(call, sig, f)` — `call` with every non-negative fd argument
/// replaced by `f(traced, role)` (annotations dropped).
///
/// # Errors
/// The traced fd for which `f` returned `None`.
pub fn map_fds(
    call: &Call,
    sig: &Signature,
    mut f: impl FnMut(i64, FdRole) -> Option<i64>,
) -> Result<Call, i64> {
    let mut out = call.clone();
    for (i, role) in fd_args(sig) {
        let Some(e) = out.args.get_mut(i) else {
            continue;
        };
        let Some(fd) = fd_value(e) else {
            continue;
        };
        if fd < 0 {
            continue;
        }
        let live = f(fd, role).ok_or(fd)?;
        *e = Expr::new(e.col, Value::Num(i128::from(live)));
    }
    Ok(out)
}

/// The two fds an `int[2]` argument shows: `[3, 4]`.
fn fd_pair(e: &Expr) -> Option<[i64; 2]> {
    let Value::Array(elems) = &e.unannotated().value else {
        return None;
    };
    match elems.as_slice() {
        [a, b] => Some([fd_value(a)?, fd_value(b)?]),
        _ => None,
    }
}

/// Decides, call by call in log order, what replay can do; tracks the fds
/// the trace opens and closes.
#[derive(Debug, Clone)]
pub struct Classifier {
    open: BTreeSet<i64>,
}

impl Default for Classifier {
    fn default() -> Self {
        Self::new()
    }
}

impl Classifier {
    /// A classifier that knows fds 0, 1 and 2.
    pub fn new() -> Self {
        Classifier {
            open: [0, 1, 2].into_iter().collect(),
        }
    }

    /// Whether traced fd `fd` is open (opened by a replayable call, or a
    /// standard fd) at this point of the trace.
    pub fn is_open(&self, fd: i64) -> bool {
        self.open.contains(&fd)
    }

    /// `classify(call)` — whether to replay `call`; calls must come in log
    /// order. A replayable call's traced result updates the fd table (its
    /// new fds become known, a successful `close` forgets one).
    pub fn classify(&mut self, tc: &TracedCall) -> Verdict {
        match self.check(tc) {
            Ok(effects) => {
                match effects.opens {
                    Opens::Result { fd } => {
                        self.open.insert(fd);
                    }
                    Opens::Pair { fds, .. } => self.open.extend(fds),
                    Opens::Nothing => {}
                }
                if let Some(fd) = effects.closes {
                    self.open.remove(&fd);
                }
                Verdict::Replay(effects)
            }
            Err(reason) => Verdict::Skip(reason),
        }
    }

    fn check(&self, tc: &TracedCall) -> Result<FdEffects, SkipReason> {
        let name = tc.call.name.as_str();
        if let Some(reason) = category(name) {
            return Err(reason);
        }
        let unsupported = |u| Err(SkipReason::Unsupported(u));
        let Some(nr) = syscall_number(name) else {
            return unsupported(Unsupported::NoSignature);
        };
        if matches!(
            sysgate_sys::class_of(nr),
            ExecClass::Forbidden
                | ExecClass::ThreadAffine
                | ExecClass::PerThreadState
                | ExecClass::BreaksRunner
        ) {
            return Err(SkipReason::ProcessControl);
        }
        let Some(sig) = sysgate_sys::signature(nr) else {
            return unsupported(Unsupported::NoSignature);
        };
        if name == "close_range" {
            return unsupported(Unsupported::FdRange);
        }
        let mut args = Vec::new();
        for (arg, role) in fd_args(sig) {
            let Some(e) = tc.call.args.get(arg) else {
                continue;
            };
            let Some(fd) = fd_value(e) else {
                return unsupported(Unsupported::BadFd { arg });
            };
            if fd < 0 {
                continue;
            }
            if role == FdRole::Use && !self.open.contains(&fd) {
                return Err(SkipReason::UnknownFd { arg, fd });
            }
            args.push(FdArg { arg, fd, role });
        }
        for (arg, spec) in sig.args.iter().enumerate() {
            if matches!(spec.kind, ArgKind::Ptr | ArgKind::Addr | ArgKind::MapRange)
                && tc
                    .call
                    .args
                    .get(arg)
                    .is_some_and(|e| !matches!(e.unannotated().value, Value::Null | Value::Num(0)))
            {
                return unsupported(Unsupported::TracedAddress { arg });
            }
        }
        if let Err(e) = lower(&tc.call, &LowerContext::standalone()) {
            return unsupported(Unsupported::Lowering(e.kind));
        }
        let Some(result) = tc.result() else {
            return Err(SkipReason::Incomplete);
        };
        let mut opens = Opens::Nothing;
        let mut closes = None;
        if result >= 0 {
            if result_is_fd(sig, &tc.call) {
                opens = Opens::Result { fd: result };
            } else if let Some(arg) = sig
                .args
                .iter()
                .position(|a| a.kind == ArgKind::OutStruct(sysgate_sys::StructKind::FdPair))
                && let Some(fds) = tc.call.args.get(arg).and_then(fd_pair)
            {
                opens = Opens::Pair { arg, fds };
            }
            if name == "close" {
                closes = args.first().map(|a| a.fd);
            }
        }
        Ok(FdEffects {
            fd_args: args,
            opens,
            closes,
        })
    }
}

/// `classify_trace(trace)` — a [`Verdict`] for every call of `trace`, in
/// the order of [`Trace::calls`].
pub fn classify_trace(trace: &Trace) -> Vec<Verdict> {
    let mut c = Classifier::new();
    trace.calls.iter().map(|call| c.classify(call)).collect()
}
