//! The sweep: every syscall sysgate has a signature for, with hostile
//! arguments, through the real shell (`sysgate run -` as a child), each
//! call followed by `getpid()`. The child must answer every call or refuse
//! it with a reason — never die of a signal, never hang. Calls that are
//! documented to wait may wait: they are stopped after a short time and
//! counted as *waited*; any other call that makes no progress within a
//! generous time fails the test, named.
//!
//! # Patterns
//!
//! Every call is tried with each pattern that applies to it:
//!
//! | pattern | integer arguments | pointer arguments |
//! |---|---|---|
//! | `0` | 0 | NULL |
//! | `-1` | -1 | NULL |
//! | `1` | 1 | NULL |
//! | `raw pointers` | 0 | the raw address `0x7f0000001000` (expected: refused) |
//! | `huge` | lengths, counts, offsets 1 << 40; others 0 | small buffers (a string, a struct, one element) |
//! | `past the end` | lengths and counts 64; others 0 | the same small buffers |
//! | `gateway fd N` | every descriptor argument N, a descriptor the child's gateway holds (its ring memfd, its io_uring, the shell's own copies of stdin/stdout/stderr); others 0 | the same small buffers |
//! | `option NAME` | the first argument with a table of names (a `prctl` option, an `arch_prctl` code, an `fcntl` command, a signal, a clock, open flags, …) takes each of its names in turn; others 0 | the same small buffers |
//!
//! The hostile numbers find what breaks on any value; the named options
//! find what breaks on one (`arch_prctl(ARCH_SET_FS, 0)`,
//! `prctl(PR_SET_SECCOMP, …)`). [`SEQUENCES`] adds a few scripts of calls
//! that are harmless alone and were not together (a worker waiting with a
//! full signal mask while a `setuid` goes to every thread), each the
//! regression of a bug found with this sweep.
//!
//! Paths are relative (`sweep-path`) and every child runs in its own empty
//! temporary directory, so nothing outside it is named.
//!
//! # What runs by default, and with `SYSGATE_SWEEP=full`
//!
//! Both run every case. By default (CI) the cases of one syscall share one
//! child (a new child takes over after a call that waited, or one that
//! ended the child), a waiting call is stopped after 0.5 s, and one
//! descriptor of each kind the gateway holds is tried. With
//! `SYSGATE_SWEEP=full` every case gets a child of its own, waits are given
//! 2 s, and every held descriptor is tried.
//!
//! # Harm
//!
//! The sweep runs as root on the machine it tests. Calls that could reach
//! beyond the child — signals to other processes, the clock, other
//! processes' priority or limits — are excluded (whole, or the patterns
//! that could), each with its reason in [`EXCLUDED`]; they are counted and
//! printed. Syscalls without a signature (mount, reboot, init_module,
//! kexec_load, swapon, pivot_root, ptrace, keyctl, bpf, syslog, vhangup,
//! the SysV IPC calls, …) are not part of the sweep: the shell never runs
//! them (it cannot tell their pointers).

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::Duration;

use sysgate_sys::{ArgKind, Signature, StructKind};

/// Calls (or some of their patterns) the sweep does not run, and why.
const EXCLUDED: &[Exclusion] = &[
    Exclusion {
        name: "kill",
        only_run: &[],
        reason: "sends signals: pid 1 is init, -1 every process",
    },
    Exclusion {
        name: "tkill",
        only_run: &[],
        reason: "sends signals to any thread of the machine",
    },
    Exclusion {
        name: "tgkill",
        only_run: &[],
        reason: "sends signals to any thread of the machine",
    },
    Exclusion {
        name: "settimeofday",
        only_run: &[],
        reason: "sets the clock (a zero timeval is 1970)",
    },
    Exclusion {
        name: "clock_settime",
        only_run: &[],
        reason: "sets the clock (a zero timespec is 1970)",
    },
    Exclusion {
        name: "setpriority",
        only_run: &["0"],
        reason: "which 1, who 1 renices the process group of init; PRIO_USER, who 0 every root process",
    },
    Exclusion {
        name: "setrlimit",
        only_run: &["0", "-1", "1", "raw pointers"],
        reason: "a zero rlimit of the child's own ends it as asked (RLIMIT_CPU: SIGXCPU, RLIMIT_AS: \
                 allocation fails)",
    },
    Exclusion {
        name: "prlimit64",
        only_run: &["0", "-1", "1", "raw pointers"],
        reason: "a zero rlimit of the child's own ends it as asked; pid 1 would be init's",
    },
    Exclusion {
        name: "sched_setscheduler",
        only_run: &["0", "-1", "1", "raw pointers", "huge", "past the end"],
        reason: "SCHED_IDLE on the shell's thread starves it on a busy machine: slow, not a finding",
    },
    Exclusion {
        name: "alarm",
        only_run: &["0", "-1", "raw pointers", "huge", "past the end", "option"],
        reason: "alarm(1) asks for SIGALRM in a second, which ends the child as asked",
    },
];

/// Scripts whose lines run in one child, in order: regressions of bugs
/// where one call set the trap and a later one sprang it. A background
/// line (`… &`) answers nothing until waited for; a `:wait` line answers
/// with what it waited for.
const SEQUENCES: &[(&str, &[&str])] = &[
    (
        "setuid while a worker waits with every signal blocked",
        &[
            // Background request [2] ([1] is the preamble's read). With
            // glibc's signal blocked the worker would not take part in the
            // setuid, which would wait for it the whole 100 s.
            "ppoll(NULL, 0, {tv_sec=100, tv_nsec=0}, ~[], 8) &",
            "nanosleep({tv_sec=0, tv_nsec=50000000}, NULL)",
            "setresuid(-1, -1, -1)",
            ":wait 2",
        ],
    ),
    (
        "closing every descriptor from 3 up",
        &[
            "close_range(3, 4294967295, 0)",
            "openat(AT_FDCWD, \".\", O_RDONLY|O_DIRECTORY)",
            "nanosleep({tv_sec=0, tv_nsec=1000}, NULL)",
        ],
    ),
    (
        "closing and redirecting the shell's stdio",
        &["close(0)", "dup3(2, 1, 0)", "close(2)", "write(1, \"\", 0)"],
    ),
];

/// Calls documented to wait (for a signal, a timeout, a child, a lock,
/// data): a case of these that makes no progress is *waited*, not a hang.
const WAITS: &[&str] = &[
    "pause",
    "rt_sigsuspend",
    "rt_sigtimedwait",
    "poll",
    "ppoll",
    "select",
    "pselect6",
    "epoll_wait",
    "epoll_pwait",
    "epoll_pwait2",
    "nanosleep",
    "clock_nanosleep",
    "futex",
    "wait4",
    "waitid",
    "flock",
    "read",
    "readv",
    "pread64",
    "preadv",
    "preadv2",
    "recvfrom",
    "recvmsg",
    "recvmmsg",
    "accept",
    "accept4",
    "connect",
    "write",
    "writev",
    "sendto",
    "sendmsg",
    "sendmmsg",
    "splice",
    "tee",
];

/// Children run at once.
fn parallel() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// A call stuck this long is a hang.
const HANG: Duration = Duration::from_secs(30);

struct Exclusion {
    name: &'static str,
    /// The patterns that still run (empty: none).
    only_run: &'static [&'static str],
    reason: &'static str,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pattern {
    Zeros,
    MinusOne,
    Ones,
    RawPointers,
    Huge,
    PastEnd,
    GatewayFd(i32),
    /// Argument `.0` is the name `.1`.
    Option(usize, &'static str),
    /// A line of one of [`SEQUENCES`].
    Sequence(&'static str),
}

impl Pattern {
    fn name(self) -> String {
        match self {
            Pattern::Option(_, name) => format!("option {name}"),
            Pattern::Sequence(name) => name.into(),
            Pattern::GatewayFd(fd) => format!("gateway fd {fd}"),
            other => other.family().into(),
        }
    }

    /// What [`Exclusion::only_run`] names it by.
    fn family(self) -> &'static str {
        match self {
            Pattern::Zeros => "0",
            Pattern::MinusOne => "-1",
            Pattern::Ones => "1",
            Pattern::RawPointers => "raw pointers",
            Pattern::Huge => "huge",
            Pattern::PastEnd => "past the end",
            Pattern::GatewayFd(_) => "gateway fd",
            Pattern::Option(..) => "option",
            Pattern::Sequence(_) => "sequence",
        }
    }

    fn buffers(self) -> bool {
        matches!(
            self,
            Pattern::Huge | Pattern::PastEnd | Pattern::GatewayFd(_) | Pattern::Option(..)
        )
    }
}

/// One call to try.
#[derive(Clone, Debug)]
struct Case {
    syscall: &'static str,
    pattern: Pattern,
    line: String,
}

impl Case {
    fn waits(&self) -> bool {
        WAITS.contains(&self.syscall)
    }
}

#[derive(Debug)]
enum Outcome {
    Answered,
    /// By the executor, after submission (its completion says why).
    RefusedByExecutor,
    /// Before submission, by the shell or the client (the message says why).
    RefusedBefore,
    Waited,
}

// --- Rendering arguments --------------------------------------------------

const LENGTH_HUGE: &str = "1099511627776";
const RAW_ADDRESS: &str = "0x7f0000001000";

fn is_scalar(kind: ArgKind) -> bool {
    use ArgKind::*;
    matches!(
        kind,
        Fd | DirFd
            | Flags(_)
            | Mode
            | Int
            | Uint
            | Size
            | Offset
            | Dev
            | Signal
            | Pid
            | Uid
            | Gid
            | ClockId
            | Whence
    )
}

fn struct_value(k: StructKind, pattern: Pattern) -> Option<String> {
    use StructKind as S;
    Some(match k {
        S::Timespec
        | S::Timeval
        | S::Itimerspec
        | S::Itimerval
        | S::Timezone
        | S::Rlimit
        | S::OpenHow
        | S::SchedParam
        | S::EpollEvent
        | S::CapHeader
        | S::CapData => "{}".into(),
        S::TimespecPair | S::TimevalPair => "[{}, {}]".into(),
        S::Sigset => "[]".into(),
        S::Int | S::U32 | S::Socklen | S::Long | S::Loff => "[16]".into(),
        S::Msghdr => {
            let iovlen = match pattern {
                Pattern::Huge => LENGTH_HUGE,
                Pattern::PastEnd => "64",
                _ => "1",
            };
            format!(
                "{{msg_name=NULL, msg_iov=[{{iov_base=\"x\", iov_len=1}}], msg_iovlen={iovlen}}}"
            )
        }
        _ => return None,
    })
}

fn buffer_value(kind: ArgKind, pattern: Pattern) -> String {
    use ArgKind::*;
    let value = match kind {
        Path => Some("\"sweep-path\"".into()),
        Str => Some("\"sweep\"".into()),
        InBuf { .. } => Some("\"x\"".into()),
        OutBuf { .. } | OutRecords { .. } | OutBufLenPtr { .. } | OutSockaddr { .. } => {
            Some("\"\"".into())
        }
        OutArray { .. } => Some("\"\"".into()),
        OutStruct(_) => Some("{}".into()),
        InStruct(k) | InOutStruct(k) => struct_value(k, pattern),
        InArray { elem, .. } | InOutArray { elem, .. } => match elem {
            StructKind::U32 | StructKind::Int => Some("[0]".into()),
            StructKind::Pollfd => Some("[{fd=0, events=POLLIN}]".into()),
            StructKind::EpollEvent => Some("[{}]".into()),
            _ => None,
        },
        InIovec { .. } => Some("[{iov_base=\"x\", iov_len=1}]".into()),
        OutIovec { .. } => Some("[{iov_base=\"\", iov_len=1}]".into()),
        InSockaddr { .. } => Some("{sa_family=AF_UNIX, sun_path=\"sweep-sock\"}".into()),
        _ => None,
    };
    value.unwrap_or_else(|| "NULL".into())
}

fn value(kind: ArgKind, pattern: Pattern) -> String {
    use ArgKind::*;
    let length_like = matches!(kind, Size | Offset | Int | Uint);
    if is_scalar(kind) {
        return match pattern {
            Pattern::Zeros | Pattern::RawPointers => "0".into(),
            Pattern::MinusOne => "-1".into(),
            Pattern::Ones => "1".into(),
            Pattern::Huge if length_like => LENGTH_HUGE.into(),
            Pattern::PastEnd if length_like => "64".into(),
            Pattern::GatewayFd(fd) if matches!(kind, Fd | DirFd) => fd.to_string(),
            _ => "0".into(),
        };
    }
    match pattern {
        Pattern::RawPointers => RAW_ADDRESS.into(),
        p if p.buffers() => buffer_value(kind, p),
        _ => "NULL".into(),
    }
}

fn render(sig: &Signature, pattern: Pattern) -> String {
    let args: Vec<String> = sig
        .args
        .iter()
        .enumerate()
        .map(|(i, a)| match pattern {
            Pattern::Option(at, name) if at == i => name.to_owned(),
            _ => value(a.kind, pattern),
        })
        .collect();
    format!("{}({})", sig.name, args.join(", "))
}

/// The option patterns of `sig`: each name of the table of its first
/// argument that has one (but modes and `AT_FDCWD`).
fn options(sig: &Signature) -> Vec<Pattern> {
    let Some((i, table)) = sig.args.iter().enumerate().find_map(|(i, a)| {
        let named = !matches!(a.kind, ArgKind::Mode | ArgKind::DirFd);
        a.kind.table().filter(|_| named).map(|t| (i, t))
    }) else {
        return Vec::new();
    };
    let mut names: Vec<&'static str> = table.names().map(|n| n.name).collect();
    names.dedup();
    names.into_iter().map(|n| Pattern::Option(i, n)).collect()
}

// --- The cases -------------------------------------------------------------

struct Plan {
    /// The cases, one group per syscall, then one per sequence.
    cases: Vec<Vec<Case>>,
    /// The syscalls with a signature.
    signed: usize,
    /// One entry per case not run.
    excluded: Vec<&'static Exclusion>,
}

fn plan(held: &[i32]) -> Plan {
    let mut cases = Vec::new();
    let mut excluded = Vec::new();
    for sig in sysgate_sys::signatures() {
        let has_fd = sig
            .args
            .iter()
            .any(|a| matches!(a.kind, ArgKind::Fd | ArgKind::DirFd));
        let mut patterns = vec![
            Pattern::Zeros,
            Pattern::MinusOne,
            Pattern::Ones,
            Pattern::RawPointers,
            Pattern::Huge,
            Pattern::PastEnd,
        ];
        if has_fd {
            patterns.extend(held.iter().map(|&fd| Pattern::GatewayFd(fd)));
        }
        patterns.extend(options(sig));
        let exclusion = EXCLUDED.iter().find(|e| e.name == sig.name);
        let mut group = Vec::new();
        for pattern in patterns {
            if let Some(e) = exclusion
                && !e.only_run.contains(&pattern.family())
            {
                excluded.push(e);
                continue;
            }
            group.push(Case {
                syscall: sig.name,
                pattern,
                line: render(sig, pattern),
            });
        }
        cases.extend(in_pieces(group));
    }
    for (name, lines) in SEQUENCES {
        let group = lines
            .iter()
            .map(|line| Case {
                syscall: line.split('(').next().unwrap_or(line),
                pattern: Pattern::Sequence(name),
                line: (*line).to_owned(),
            })
            .collect();
        cases.push(group);
    }
    Plan {
        cases,
        signed: sysgate_sys::signatures().len(),
        excluded,
    }
}

// --- Children ----------------------------------------------------------------

/// The most a child's script holds: `PIPE_BUF`, so that it reaches the
/// shell in one read, before any call of it can read fd 0 itself.
const SCRIPT_MAX: usize = 4096;

/// `group` cut into runs of cases whose scripts fit [`SCRIPT_MAX`].
fn in_pieces(group: Vec<Case>) -> Vec<Vec<Case>> {
    let budget = SCRIPT_MAX - preamble(999).len();
    let mut pieces: Vec<Vec<Case>> = Vec::new();
    let mut used = budget;
    for case in group {
        let len = case.line.len() + "\ngetpid()\n".len();
        assert!(len <= budget, "a case longer than a script: {}", case.line);
        if used + len > budget {
            pieces.push(Vec::new());
            used = 0;
        }
        used += len;
        pieces.last_mut().unwrap().push(case);
    }
    pieces
}

/// Starts `sysgate run -` in `dir`, stdin piped.
fn spawn(dir: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_sysgate"))
        .args(["run", "-"])
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run sysgate")
}

/// Lines of `r`, sent as they come.
fn lines_of(r: impl Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(r).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

const MARKER: &str = "getpid() = ";

/// What every child runs first: a pipe, a read parked on it (which makes
/// the executor open its io_uring) and a call that starts a pool worker.
fn preamble(read_fd: i32) -> String {
    format!(
        "pipe2([0, 0], O_CLOEXEC)\nread({read_fd}, \"\", 1) &\n\
         nanosleep({{tv_sec=0, tv_nsec=1}}, NULL)\ngetpid()\n"
    )
}
const PREAMBLE_LINES: usize = 4;

/// The probe: which descriptors does a child's gateway hold after the
/// preamble? Returns the read end of the preamble's pipe and the held fds.
fn probe(dir: &Path) -> (i32, String, Vec<(i32, String)>) {
    let mut child = spawn(dir);
    let mut stdin = child.stdin.take().unwrap();
    let out = lines_of(child.stdout.take().unwrap());
    let next = |what: &str| {
        out.recv_timeout(HANG)
            .unwrap_or_else(|_| panic!("the probe child printed no {what}"))
    };
    stdin.write_all(b"pipe2([0, 0], O_CLOEXEC)\n").unwrap();
    let pipe_line = next("pipe2 line");
    let read_fd: i32 = pipe_line
        .strip_prefix("pipe2([")
        .and_then(|s| s.split(',').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no pipe in {pipe_line:?}"));
    let rest = preamble(read_fd);
    let rest: Vec<&str> = rest.lines().skip(1).collect();
    stdin
        .write_all((rest.join("\n") + "\n").as_bytes())
        .unwrap();
    loop {
        if next("getpid line").contains(MARKER) {
            break;
        }
    }
    let pid = child.id();
    let mut held = Vec::new();
    for entry in std::fs::read_dir(format!("/proc/{pid}/fd")).unwrap() {
        let entry = entry.unwrap();
        let fd: i32 = entry.file_name().to_str().unwrap().parse().unwrap();
        let target = std::fs::read_link(entry.path())
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        let gateways = target.contains("memfd:sysgate") || target.contains("[io_uring]");
        // The shell's own copies of 0, 1 and 2 sit at 512 and up.
        if gateways || fd >= 512 {
            held.push((fd, target));
        }
    }
    drop(stdin);
    let _ = child.wait();
    held.sort();
    (read_fd, pipe_line, held)
}

/// What became of the cases given to one child.
struct ChildRun {
    /// An outcome for the first cases, in order.
    done: Vec<Outcome>,
    /// Why the child stopped before the rest (they go to a new child), if
    /// it did; `Err` is a failure of the case at `done.len()`.
    stopped: Option<Result<(), String>>,
}

fn run_child(
    dir: &Path,
    read_fd: i32,
    pipe_line: &str,
    cases: &[Case],
    wait: Duration,
) -> ChildRun {
    let mut script = preamble(read_fd);
    for c in cases {
        script.push_str(&c.line);
        script.push_str("\ngetpid()\n");
    }
    let mut child = spawn(dir);
    let mut stdin = child.stdin.take().unwrap();
    // Written whole, then closed: the shell reads it as it goes.
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(script.as_bytes());
    });
    let out = lines_of(child.stdout.take().unwrap());
    let err = lines_of(child.stderr.take().unwrap());
    // Segments of stdout between markers: [preamble, case 0, case 1, …].
    let mut segments: Vec<Vec<String>> = vec![Vec::new()];
    let mut stopped = None;
    loop {
        // The case now running is the one after the last marker (the
        // first marker ends the preamble).
        let markers = segments.len() - 1;
        let running = markers.checked_sub(1).and_then(|k| cases.get(k));
        let patience = match running {
            Some(c) if c.waits() => wait,
            _ => HANG,
        };
        match out.recv_timeout(patience) {
            Ok(line) => {
                let marker = line.contains(MARKER);
                segments.last_mut().unwrap().push(line);
                if marker {
                    segments.push(Vec::new());
                }
            }
            Err(RecvTimeoutError::Disconnected) => break,
            Err(RecvTimeoutError::Timeout) => {
                let _ = child.kill();
                stopped = Some(match running {
                    Some(c) if c.waits() => Ok(()),
                    Some(c) => Err(format!(
                        "{} [{}] made no progress in {HANG:?}: {}",
                        c.syscall,
                        c.pattern.name(),
                        c.line
                    )),
                    None => Err(format!("the preamble made no progress in {HANG:?}")),
                });
                break;
            }
        }
    }
    let status = child.wait().unwrap();
    let _ = writer.join();
    let stderr: Vec<String> = err.iter().collect();
    let mut done = Vec::new();
    if segments.len() < 2 || !segments[0].iter().any(|l| l == pipe_line) {
        return ChildRun {
            done,
            stopped: Some(Err(format!(
                "the preamble went wrong (status {status}): {:?} {stderr:?}",
                segments.first()
            ))),
        };
    }
    let answered_cases = segments.len() - 2;
    for (k, case) in cases.iter().enumerate().take(answered_cases) {
        let line_no = PREAMBLE_LINES + 2 * k + 1;
        let prefix = format!("line {line_no}");
        let said: Vec<&String> = stderr
            .iter()
            .filter(|l| {
                l.starts_with(&format!("{prefix},")) || l.starts_with(&format!("{prefix}:"))
            })
            .collect();
        let seg = &segments[k + 1];
        let executor_refusal = seg
            .iter()
            .find(|l| l.contains("(refused by the executor: "));
        let outcome = if let Some(l) = executor_refusal {
            let reason = l.split("(refused by the executor: ").nth(1).unwrap_or("");
            if reason.trim_end_matches(')').trim().is_empty() {
                return fail(
                    done,
                    format!(
                        "{} [{}] refused without a reason: {l}",
                        case.syscall,
                        case.pattern.name()
                    ),
                );
            }
            Outcome::RefusedByExecutor
        } else if !said.is_empty() {
            let message = said[0].split_once(": ").map_or("", |(_, m)| m);
            if message.trim().is_empty() {
                return fail(
                    done,
                    format!(
                        "{} [{}] refused without a reason: {}",
                        case.syscall,
                        case.pattern.name(),
                        said[0]
                    ),
                );
            }
            Outcome::RefusedBefore
        } else if seg.iter().any(|l| l.contains(case.syscall))
            || case.line.starts_with(':') && seg.len() > 1
            || case.line.ends_with('&')
        {
            Outcome::Answered
        } else {
            return fail(
                done,
                format!(
                    "{} [{}] printed nothing: {seg:?}",
                    case.syscall,
                    case.pattern.name()
                ),
            );
        };
        done.push(outcome);
    }
    if done.len() == cases.len() {
        if let Some(sig) = status.signal() {
            let last = cases.last().map_or(String::new(), |c| c.line.clone());
            return fail(
                done,
                format!(
                    "the child died of signal {sig} after its last call, {last}; stderr {stderr:?}"
                ),
            );
        }
        return ChildRun {
            done,
            stopped: None,
        };
    }
    // Stopped early: waited (killed by us), or died.
    let case = &cases[done.len()];
    let what = format!("{} [{}]: {}", case.syscall, case.pattern.name(), case.line);
    let stopped = match stopped {
        Some(Ok(())) => {
            done.push(Outcome::Waited);
            Ok(())
        }
        Some(Err(e)) => Err(e),
        None => match status.signal() {
            Some(sig) => Err(format!("the child died of signal {sig} on {what}")),
            None => Err(format!(
                "the child exited ({status}) before answering {what}; stderr {stderr:?}"
            )),
        },
    };
    ChildRun {
        done,
        stopped: Some(stopped),
    }
}

fn fail(done: Vec<Outcome>, why: String) -> ChildRun {
    ChildRun {
        done,
        stopped: Some(Err(why)),
    }
}

#[derive(Default)]
struct Tally {
    answered: usize,
    refused_executor: usize,
    refused_before: usize,
    waited: Vec<String>,
    children: usize,
    failures: Vec<String>,
}

#[test]
fn every_signed_syscall_answers_or_refuses_never_dies_never_hangs() {
    let full = std::env::var("SYSGATE_SWEEP").is_ok_and(|v| v == "full");
    let root = std::env::temp_dir().join(format!("sysgate-sweep-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    let fresh_dir = {
        let n = std::sync::atomic::AtomicUsize::new(0);
        let root = root.clone();
        move || -> PathBuf {
            let d = root.join(
                n.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                    .to_string(),
            );
            std::fs::create_dir_all(&d).unwrap();
            d
        }
    };

    let (read_fd, pipe_line, held) = probe(&fresh_dir());
    let kinds = |needle: &str| held.iter().filter(|(_, t)| t.contains(needle)).count();
    assert!(kinds("memfd:sysgate") >= 1, "no ring memfd among {held:?}");
    if kinds("[io_uring]") == 0 {
        // The rest of the sweep runs; only this part of it cannot.
        let reason = "no io_uring here, so no io_uring fd of the gateway to try";
        sysgate_testkit::skip(sysgate_testkit::Need::IoUring, reason);
    }
    assert!(
        held.iter().filter(|(fd, _)| *fd >= 512).count() >= 3,
        "no shell copies among {held:?}"
    );
    let mut tried: Vec<i32> = Vec::new();
    let mut seen_kinds: Vec<String> = Vec::new();
    for (fd, target) in &held {
        let kind = if target.contains("memfd") {
            "memfd"
        } else if target.contains("io_uring") {
            "io_uring"
        } else {
            "copy"
        };
        if full || !seen_kinds.iter().any(|k| k == kind) {
            seen_kinds.push(kind.into());
            tried.push(*fd);
        }
    }

    let plan = plan(&tried);
    let wait = if full {
        Duration::from_secs(2)
    } else {
        Duration::from_millis(500)
    };
    let total: usize = plan.cases.iter().map(Vec::len).sum();
    let queue: Mutex<VecDeque<Vec<Case>>> = Mutex::new(if full {
        let sequence = |g: &[Case]| matches!(g[0].pattern, Pattern::Sequence(_));
        let (together, apart): (Vec<_>, Vec<_>) = plan.cases.iter().partition(|g| sequence(g));
        let apart = apart.into_iter().flatten().map(|c| vec![c.clone()]);
        together.into_iter().cloned().chain(apart).collect()
    } else {
        plan.cases.clone().into()
    });
    let tally = Mutex::new(Tally::default());
    std::thread::scope(|s| {
        for _ in 0..parallel() {
            s.spawn(|| {
                loop {
                    let Some(cases) = queue.lock().unwrap().pop_front() else {
                        break;
                    };
                    let dir = fresh_dir();
                    let run = run_child(&dir, read_fd, &pipe_line, &cases, wait);
                    let _ = std::fs::remove_dir_all(&dir);
                    let mut t = tally.lock().unwrap();
                    t.children += 1;
                    for (case, outcome) in cases.iter().zip(&run.done) {
                        match outcome {
                            Outcome::Answered => t.answered += 1,
                            Outcome::RefusedByExecutor => t.refused_executor += 1,
                            Outcome::RefusedBefore => t.refused_before += 1,
                            Outcome::Waited => {
                                t.waited
                                    .push(format!("{} [{}]", case.syscall, case.pattern.name()))
                            }
                        }
                    }
                    let next = run.done.len() + usize::from(matches!(run.stopped, Some(Err(_))));
                    if let Some(Err(e)) = run.stopped {
                        t.failures.push(e);
                    }
                    if next < cases.len() {
                        drop(t);
                        queue.lock().unwrap().push_back(cases[next..].to_vec());
                    }
                }
            });
        }
    });
    let _ = std::fs::remove_dir_all(&root);
    let t = tally.into_inner().unwrap();
    let refused = t.refused_executor + t.refused_before;
    let run = t.answered + refused + t.waited.len();
    let mode = if full { "full" } else { "ci" };
    let mut report = format!(
        "sweep ({mode}): {} signed syscalls, {total} cases in {} children; held fds tried: {tried:?} of {held:?}\n\
         \x20 run       {run:>5}\n\
         \x20 answered  {:>5}\n\
         \x20 refused   {refused:>5}  (by the executor {}, before submission {})\n\
         \x20 waited    {:>5}  {:?}\n\
         \x20 excluded  {:>5}\n\
         \x20 failed    {:>5}\n",
        plan.signed,
        t.children,
        t.answered,
        t.refused_executor,
        t.refused_before,
        t.waited.len(),
        t.waited,
        plan.excluded.len(),
        t.failures.len(),
    );
    for e in EXCLUDED {
        let n = plan.excluded.iter().filter(|x| x.name == e.name).count();
        let which = match e.only_run {
            [] => "all".to_owned(),
            run => format!("all but {}", run.join(", ")),
        };
        report.push_str(&format!(
            "  excluded {}: {n} cases ({which}): {}\n",
            e.name, e.reason
        ));
    }
    let _ = std::io::stderr().write_all(report.as_bytes());
    assert!(
        t.failures.is_empty(),
        "{report}failures:\n{}",
        t.failures.join("\n")
    );
    assert_eq!(run + t.failures.len(), total, "every case accounted for");
}
