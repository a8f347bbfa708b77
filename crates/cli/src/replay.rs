//! `sysgate replay TRACE` — run an strace log again through the gateway.
//!
//! **A replay runs the traced calls for real.** It opens, writes, renames
//! and unlinks where the trace did — a trace of `rm -rf ~/x` replayed
//! removes `~/x` again — and connects and sends where the trace did.
//! Relative paths resolve against the directory the replay runs in
//! (strace's `AT_FDCWD</dir>` annotations are not used to change it).
//! Replay only logs you trust, or logs of programs that worked in a
//! scratch directory.
//!
//! # What runs
//!
//! The log is read ([`parse_trace`]: plain, `-f`, `-t`/`-tt`/`-ttt`,
//! `-r`, `-T`, `-y`, `<unfinished ...>` / `<... resumed>` put back
//! together; malformed lines are counted, never fatal) and classified call by call in log order
//! ([`Classifier`](crate::strace::Classifier)). Skipped, counted by
//! reason: memory mapping, process control (`clone`, `execve`, `exit`,
//! `wait4`, `futex`, thread-affine calls, …), signals, calls on fds the
//! trace never opened, calls that pass addresses of the traced process,
//! calls the log ends in the middle of, calls the trace shows interrupted
//! (`EINTR`, `ERESTART*`: the program repeats them on a later line), and
//! calls that act on the machine or on other processes by pid (`mount`,
//! `settimeofday`, `setpriority`, `keyctl`, …). Everything else is
//! lowered to a request and submitted.
//!
//! # File descriptors
//!
//! Traced fd numbers are mapped to the live fds the replay opens: the
//! result of `openat`, `socket`, `accept4`, `dup`, `fcntl(F_DUPFD)`,
//! `eventfd`, `epoll_create1`, … and the pair `pipe2`/`socketpair` write.
//! Each open of a traced number is a new *generation* with its own live
//! fd (so `3` closed and opened again does not make the second file wait
//! for the first one's calls); `dup2`/`dup3` onto a traced number give it
//! a fresh live fd. A generation's live fd is closed once every replayed
//! call that refers to it has run — by the trace's own `close`, or by the
//! replay when the trace never closes it (its process exited, a `dup2`
//! replaced it). A traced open that fails live leaves its generation
//! without a live fd, and the calls on it are skipped ("fd not open
//! live"); a live open where the trace failed is closed at once. All pids
//! share one table of numbers (see [`crate::strace`]'s trace module).
//!
//! **Standard streams.** Traced fds 0, 1 and 2 map to three fds on
//! `/dev/null` opened for the replay, never to the replayer's own stdio:
//! reads from 0 see end-of-file, writes to 1 and 2 are discarded (and
//! return the count the trace wrote), and `close(1)` in the trace closes
//! the stand-in, not our stdout. If the replayer starts with one of its
//! own stdio fds closed, `/dev/null` fills that slot first, so no live fd
//! the replay opens can land on 0, 1 or 2 either. A read from traced
//! stdin therefore differs from the trace whenever the program read
//! input; that shows up as a difference, as it should.
//!
//! # Order and parallelism
//!
//! Independent calls are submitted together (up to
//! [`ReplayOptions::max_in_flight`]) and complete in whatever order the
//! gateway finishes them — inline, after readiness, or on the pool. The
//! rule that decides "independent" is: *a call waits for every earlier
//! call that takes one of its resources in a conflicting way (at least
//! one of the two changing it) and had returned in the trace before it
//! started*. The resources:
//!
//! - each fd generation a call uses, creates or ends (always
//!   conflicting) — so each open file's calls keep their order, and the
//!   call that opens an fd comes before the calls that use it;
//! - the file behind an fd when the log names it (`-y`): calls that
//!   change a regular file wait for calls that read it and the other way
//!   round, so two fds of one file (a `dup`, the same file opened twice,
//!   both ends of a pipe) keep their relative order; pipes, sockets and
//!   devices are changed by every call;
//! - the filesystem namespace, across all pids: lookups (`stat`,
//!   `access`, an `openat` that neither creates nor truncates,
//!   `getdents64`) run side by side; changes (`mkdir`, `rename`, `unlink`,
//!   a creating `openat`, `chmod`, `chdir`, `umask`, …) wait for the
//!   lookups before them and the lookups after them wait for the change.
//!   A `close` that ends an fd through which data was written counts as a
//!   change (close-to-open order: `write; close; rename; open; read` keeps
//!   its order). One chain for all pids, so the file one process creates
//!   exists before another looks for it (per-pid order would lose that:
//!   `wait4` is not replayed);
//! - otherwise the call's pid: `getuid`, `getrandom`, `nanosleep` keep
//!   their pid's order.
//!
//! Calls that overlapped in the trace (one `<unfinished ...>` while the
//! other started) were concurrent in the kernel and are not ordered: a
//! `read` on a pipe that waited for a later `write` does not block that
//! write. The planner, and why its edges are exactly these, is in the
//! `plan` submodule. Limits: without `-y`, data written through one fd
//! and read through another is ordered only by the writer's `close`; a
//! call that blocked in the trace on something replay skipped (a peer
//! process's signal, a network client) waits at most
//! [`ReplayOptions::timeout`] plus its traced time, is then cancelled and
//! reported as a difference, and the replay goes on.
//!
//! # Differences
//!
//! Each live result is compared with the traced one. A *difference* is:
//! success against failure, two different errnos, or — for calls whose
//! value is a byte count, an element count, an offset, or zero
//! (`read`, `write`, `getdents64`, `lseek`, `poll`, `copy_file_range`,
//! …) — a different value. Fd numbers, pids, ids, addresses, modes,
//! flags and other call-specific integers are not compared; neither are
//! output buffers (a `stat` with other times is not a difference).
//!
//! # Exit status of `sysgate replay`
//!
//! 0: replayed (differences are reported, not fatal); 1: malformed lines
//! in the log, or any difference with `--strict`; 2: bad command line,
//! unreadable log, or the gateway (or `/dev/null`) could not be opened.

mod live;
mod plan;
mod report;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt;
use std::io::{self, BufWriter, Read, Write};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use sysgate_sys::{Errno, RetKind, Signature};

use crate::strace::{Call, MalformedLine, SkipReason, format_call, format_result, parse_trace};

/// How to replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayOptions {
    /// Parse and plan only; submit nothing (no gateway is created).
    pub dry_run: bool,
    /// How long a call may run beyond its traced time (`-T`) before it is
    /// cancelled and reported as a difference. Default 10 s.
    pub timeout: Duration,
    /// Most calls in flight at once. Default 64.
    pub max_in_flight: usize,
}

impl Default for ReplayOptions {
    fn default() -> Self {
        ReplayOptions {
            dry_run: false,
            timeout: Duration::from_secs(10),
            max_in_flight: 64,
        }
    }
}

/// Why a traced call was not replayed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SkipCause {
    /// The classifier's reason (memory mapping, process control, signals,
    /// unknown fd, unsupported, incomplete).
    Trace(SkipReason),
    /// It acts on the machine (mounts, clocks, modules, keyrings) or on
    /// another process by pid.
    SystemWide,
    /// The trace shows it interrupted (`EINTR`, `ERESTARTSYS`, …); the
    /// program repeats it on a later line.
    Interrupted,
    /// It uses a traced fd whose live counterpart does not exist: the open
    /// failed live, or was itself skipped.
    NotOpenLive {
        /// The traced fd.
        fd: i64,
    },
    /// The gateway did not run it: refused client-side (a pointer
    /// immediate, no signature), by the executor, or a protocol error.
    Gateway(sysgate::Error),
}

impl SkipCause {
    /// A short label to count by: the classifier's labels, `system-wide`,
    /// `interrupted`, `fd not open live`, `unsupported`, `refused`,
    /// `rejected`, `worker panicked`.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Trace(r) => r.label(),
            Self::SystemWide => "system-wide",
            Self::Interrupted => "interrupted",
            Self::NotOpenLive { .. } => "fd not open live",
            Self::Gateway(e) => match e {
                sysgate::Error::Refused { .. } => "refused",
                sysgate::Error::Protocol(_) => "rejected",
                sysgate::Error::WorkerPanicked => "worker panicked",
                _ => "unsupported",
            },
        }
    }
}

impl fmt::Display for SkipCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Trace(r) => write!(f, "{r}"),
            Self::SystemWide => f.write_str("acts on the machine or on another process"),
            Self::Interrupted => f.write_str("interrupted in the trace"),
            Self::NotOpenLive { fd } => write!(f, "traced fd {fd} has no live fd"),
            Self::Gateway(e) => write!(f, "{}: {e}", self.label()),
        }
    }
}

/// Where a replayed call ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ran {
    /// On the submitting thread.
    Inline,
    /// Inline, after waiting for readiness.
    Polled,
    /// On a pool worker.
    Pool,
}

/// The live outcome of a replayed call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Live {
    /// Its result: the value, or `-errno`.
    Result(i64),
    /// Still running after the timeout: cancelled.
    TimedOut,
}

/// A replayed call whose live result differs from the traced one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// 1-based line of the call in the log.
    pub line: usize,
    /// Its traced pid, if the log has them.
    pub pid: Option<u32>,
    /// The call as traced, shortened for printing.
    pub call: String,
    /// What it did live.
    pub live: Live,
    /// What the trace says it returned (value or `-errno`).
    pub traced: i64,
    /// Its signature, to print results.
    pub signature: &'static Signature,
}

impl fmt::Display for Difference {
    /// `line 12: read(3, "ab"..., 64) = 0 (traced: 2)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let traced = format_result(Some(self.signature), self.traced);
        match self.live {
            Live::Result(r) => write!(
                f,
                "line {}: {} = {} (traced: {traced})",
                self.line,
                self.call,
                format_result(Some(self.signature), r)
            ),
            Live::TimedOut => write!(
                f,
                "line {}: {} = ? timed out, cancelled (traced: {traced})",
                self.line, self.call
            ),
        }
    }
}

/// Whether a live result differs from the traced one (see the module
/// docs): kind or errno always; the value only for counts, offsets and
/// zero.
pub fn results_differ(signature: &Signature, traced: i64, live: i64) -> bool {
    match (Errno::from_ret(traced), Errno::from_ret(live)) {
        (Some(a), Some(b)) => a != b,
        (Some(_), None) | (None, Some(_)) => true,
        (None, None) => {
            matches!(
                signature.ret,
                RetKind::Size | RetKind::Count | RetKind::Offset | RetKind::Zero
            ) && traced != live
        }
    }
}

/// Something that happened to one traced call, in completion order.
#[derive(Debug, Clone, Copy)]
pub enum Event<'a> {
    /// It ran (or timed out).
    Replayed {
        /// 1-based line in the log.
        line: usize,
        /// Traced pid.
        pid: Option<u32>,
        /// The call as traced.
        call: &'a Call,
        /// What it did.
        live: Live,
        /// What the trace says.
        traced: i64,
        /// Where it ran (`None` if it timed out).
        ran: Option<Ran>,
        /// From submission to completion, as seen by the replayer.
        elapsed: Duration,
        /// Whether this is a [`Difference`].
        differs: bool,
    },
    /// It was not replayed.
    Skipped {
        /// 1-based line in the log.
        line: usize,
        /// Traced pid.
        pid: Option<u32>,
        /// The call as traced.
        call: &'a Call,
        /// Why.
        cause: &'a SkipCause,
    },
}

/// The executor's counters over a replay (differences of
/// [`sysgate::ExecStats`] before and after).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExecCounts {
    /// Requests answered inline.
    pub inline: u64,
    /// Requests handed to the bounded pool account.
    pub punted_bounded: u64,
    /// Requests handed to the unbounded pool account.
    pub punted_unbounded: u64,
    /// Parkings on readiness.
    pub parked: u64,
    /// Requests that completed inline after waiting for readiness.
    pub polled: u64,
    /// Calls the executor refused.
    pub refused: u64,
}

impl ExecCounts {
    fn between(before: &sysgate::ExecStats, after: &sysgate::ExecStats) -> Self {
        ExecCounts {
            inline: after.inline.saturating_sub(before.inline),
            punted_bounded: after.punted_bounded.saturating_sub(before.punted_bounded),
            punted_unbounded: after
                .punted_unbounded
                .saturating_sub(before.punted_unbounded),
            parked: after.parked_total.saturating_sub(before.parked_total),
            polled: after.polled.saturating_sub(before.polled),
            refused: after.refused.saturating_sub(before.refused),
        }
    }
}

/// What a replay did.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Lines in the log.
    pub lines: usize,
    /// Calls in the log.
    pub calls: usize,
    /// Traced pids (timelines).
    pub pids: usize,
    /// Lines that did not parse.
    pub malformed: Vec<MalformedLine>,
    /// Calls the plan would replay.
    pub planned: usize,
    /// The longest chain of dependent calls in the plan.
    pub depth: usize,
    /// Calls submitted and completed (or timed out).
    pub replayed: usize,
    /// Calls not replayed, by [`SkipCause::label`].
    pub skipped: BTreeMap<&'static str, usize>,
    /// Replayed calls whose results differ from the trace, in log order.
    pub differences: Vec<Difference>,
    /// How many of the differences are timeouts.
    pub timed_out: usize,
    /// Replayed calls that ran inline, per their completions.
    pub ran_inline: usize,
    /// … inline after waiting for readiness.
    pub ran_polled: usize,
    /// … on the pool.
    pub ran_pool: usize,
    /// The executor's counters over the replay; `None` for a dry run.
    pub exec: Option<ExecCounts>,
    /// Time to read and plan the log.
    pub parse_time: Duration,
    /// Time from the first submission to the last completion.
    pub wall: Duration,
    /// Whether this was a dry run.
    pub dry_run: bool,
}

impl Summary {
    /// Calls skipped, all reasons together.
    pub fn skipped_total(&self) -> usize {
        self.skipped.values().sum()
    }

    /// The exit status `sysgate replay` ends with: 1 for malformed lines,
    /// or for differences when `strict`; 0 otherwise.
    pub fn exit_status(&self, strict: bool) -> u8 {
        if !self.malformed.is_empty() || (strict && !self.differences.is_empty()) {
            1
        } else {
            0
        }
    }

    /// Prints the summary; at most `listed` differences and malformed
    /// lines are listed one by one.
    pub fn write_report(&self, out: &mut dyn Write, listed: usize) -> io::Result<()> {
        report::write(self, out, listed)
    }

    fn skip(&mut self, cause: &SkipCause) {
        *self.skipped.entry(cause.label()).or_default() += 1;
    }
}

/// Why a replay could not run at all.
#[derive(Debug)]
#[non_exhaustive]
pub enum ReplayError {
    /// The gateway could not be created, or its ring broke mid-replay.
    Gateway(sysgate::Error),
    /// `/dev/null` could not be opened for the traced stdio stand-ins.
    DevNull(io::Error),
}

impl fmt::Display for ReplayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Gateway(e) => write!(f, "gateway: {e}"),
            Self::DevNull(e) => write!(f, "cannot open /dev/null: {e}"),
        }
    }
}

impl std::error::Error for ReplayError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Gateway(e) => Some(e),
            Self::DevNull(e) => Some(e),
        }
    }
}

/// `replay(log, options)` — replays an strace log (see the module docs)
/// and says what happened.
///
/// # Errors
/// Only when nothing can run: the gateway cannot start (or its ring
/// breaks), or `/dev/null` cannot be opened. Bad lines, skipped calls and
/// differences are in the [`Summary`].
pub fn replay(log: &str, options: &ReplayOptions) -> Result<Summary, ReplayError> {
    replay_with(log, options, &mut |_| {})
}

/// [`replay`], telling `observer` about every call as it completes or is
/// skipped (in completion order; statically skipped calls first).
///
/// # Errors
/// As [`replay`].
pub fn replay_with(
    log: &str,
    options: &ReplayOptions,
    observer: &mut dyn FnMut(&Event<'_>),
) -> Result<Summary, ReplayError> {
    let start = Instant::now();
    let trace = parse_trace(log);
    let plan = plan::plan(&trace);
    let mut summary = Summary {
        lines: trace.lines,
        calls: trace.calls.len(),
        pids: trace.timelines.len(),
        malformed: trace.malformed.clone(),
        planned: plan.steps.len(),
        depth: plan.depth(),
        dry_run: options.dry_run,
        ..Summary::default()
    };
    for (index, why) in &plan.skipped {
        let tc = &trace.calls[*index];
        let cause = match why {
            plan::PlanSkip::Trace(r) => SkipCause::Trace(r.clone()),
            plan::PlanSkip::SystemWide => SkipCause::SystemWide,
            plan::PlanSkip::Interrupted => SkipCause::Interrupted,
            plan::PlanSkip::NotOpened { fd } => SkipCause::NotOpenLive { fd: *fd },
        };
        summary.skip(&cause);
        observer(&Event::Skipped {
            line: tc.line,
            pid: tc.pid,
            call: &tc.call,
            cause: &cause,
        });
    }
    summary.parse_time = start.elapsed();
    if options.dry_run {
        return Ok(summary);
    }
    live::run(&trace, &plan, options, &mut summary, observer)?;
    summary.differences.sort_by_key(|d| d.line);
    Ok(summary)
}

/// `call` as strace would print it, cut to about `max` characters.
pub(crate) fn shorten(call: &Call, max: usize) -> String {
    let text = format_call(call);
    if text.chars().count() <= max {
        return text;
    }
    let mut cut: String = text.chars().take(max.saturating_sub(4)).collect();
    cut.push_str(" ...");
    cut
}

/// `read_log(path)` — the log at `path` (`-` for stdin) as text: invalid
/// UTF-8 is replaced (strace escapes non-ASCII bytes anyway), so the
/// parser reports such a line as malformed instead of the read failing.
///
/// # Errors
/// The file cannot be read.
pub fn read_log(path: &str) -> io::Result<String> {
    let mut bytes = Vec::new();
    if path == "-" {
        io::stdin().lock().read_to_end(&mut bytes)?;
    } else {
        bytes = std::fs::read(path)?;
    }
    Ok(match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    })
}

/// Usage of `sysgate replay`.
pub const USAGE: &str = "\
Usage: sysgate replay [OPTIONS] TRACE

Runs the calls of an strace log again through the gateway (TRACE may be
`-` for stdin) and compares each live result with the traced one.
Record with e.g. `strace -f -tt -T -y -o TRACE program`.

WARNING: the calls run for real. A replay writes, renames and removes
files where the traced program did (relative paths resolve against the
current directory), and connects and sends where it did. Replay only
logs of programs that worked in a scratch directory.

Options:
  -n, --dry-run       parse and plan only; submit nothing
      --strict        exit 1 if any result differs from the trace
  -q, --quiet         print nothing but errors
  -v, --verbose       print every call as it completes or is skipped,
                      and every difference
      --timeout SECS  cancel a call still running SECS after its traced
                      time (default 10)
  -j, --jobs N        at most N calls in flight (default 64)
  -h, --help          print this help

Traced fds 0, 1 and 2 are /dev/null for the replay: reads see end-of-file,
writes are discarded, the replayer's own stdio is never touched.

Exit status: 0 replayed; 1 malformed lines in TRACE, or differences with
--strict; 2 bad arguments, unreadable TRACE, or the gateway failed.
";

/// A parsed `sysgate replay` command line.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Command {
    trace: String,
    options: ReplayOptions,
    strict: bool,
    quiet: bool,
    verbose: bool,
}

/// `None`: `--help`.
fn parse_args(args: &[String]) -> Result<Option<Command>, String> {
    let mut options = ReplayOptions::default();
    let (mut strict, mut quiet, mut verbose) = (false, false, false);
    let mut trace = None;
    let mut it = args.iter();
    let mut only_operands = false;
    while let Some(arg) = it.next() {
        if only_operands || arg == "-" || !arg.starts_with('-') {
            if trace.replace(arg.clone()).is_some() {
                return Err(format!("more than one TRACE (`{arg}`)"));
            }
            continue;
        }
        let mut value = |name: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| format!("`{name}` needs a value"))
        };
        match arg.as_str() {
            "--" => only_operands = true,
            "-h" | "--help" => return Ok(None),
            "-n" | "--dry-run" => options.dry_run = true,
            "--strict" => strict = true,
            "-q" | "--quiet" => quiet = true,
            "-v" | "--verbose" => verbose = true,
            "--timeout" => {
                let v = value("--timeout")?;
                let secs: f64 = v
                    .parse()
                    .ok()
                    .filter(|s: &f64| s.is_finite() && *s >= 0.0 && *s <= 1e9)
                    .ok_or_else(|| format!("`--timeout {v}`: expected seconds"))?;
                options.timeout = Duration::from_secs_f64(secs);
            }
            "-j" | "--jobs" => {
                let v = value("--jobs")?;
                options.max_in_flight =
                    v.parse()
                        .ok()
                        .filter(|n: &usize| (1..=4096).contains(n))
                        .ok_or_else(|| format!("`--jobs {v}`: expected 1 to 4096"))?;
            }
            other => return Err(format!("unknown option `{other}`")),
        }
    }
    if quiet && verbose {
        return Err("`--quiet` and `--verbose` exclude each other".to_owned());
    }
    let trace = trace.ok_or_else(|| "missing TRACE".to_owned())?;
    Ok(Some(Command {
        trace,
        options,
        strict,
        quiet,
        verbose,
    }))
}

/// `sysgate replay [OPTIONS] TRACE` — `args` are the words after
/// `replay`. See [`USAGE`] and the module docs; exit status 0, 1 or 2 as
/// documented there.
pub fn replay_main(args: &[String]) -> ExitCode {
    let command = match parse_args(args) {
        Ok(Some(c)) => c,
        Ok(None) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("sysgate replay: {message}");
            eprintln!("Run `sysgate replay --help` for usage.");
            return ExitCode::from(2);
        }
    };
    let log = match read_log(&command.trace) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("sysgate replay: cannot read {}: {e}", command.trace);
            return ExitCode::from(2);
        }
    };
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    // A closed stdout (`| head`) ends the listing, not the replay.
    let mut out_ok = true;
    let mut observer = |event: &Event<'_>| {
        if command.verbose && out_ok {
            out_ok = report::write_event(&mut out, event).is_ok();
        }
    };
    let result = replay_with(&log, &command.options, &mut observer);
    let summary = match result {
        Ok(s) => s,
        Err(e) => {
            let _ = out.flush();
            eprintln!("sysgate replay: {e}");
            return ExitCode::from(2);
        }
    };
    let name = if command.trace == "-" {
        "<stdin>"
    } else {
        command.trace.as_str()
    };
    const SHOWN: usize = 20;
    for m in summary.malformed.iter().take(SHOWN) {
        eprintln!("sysgate replay: {name}: malformed {m}");
    }
    if summary.malformed.len() > SHOWN {
        eprintln!(
            "sysgate replay: {name}: ... and {} more malformed lines",
            summary.malformed.len() - SHOWN
        );
    }
    if !command.quiet && out_ok {
        let listed = if command.verbose { usize::MAX } else { 10 };
        let _ = summary.write_report(&mut out, listed);
    }
    let _ = out.flush();
    ExitCode::from(summary.exit_status(command.strict))
}
