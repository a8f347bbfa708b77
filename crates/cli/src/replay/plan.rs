//! The replay plan: which traced calls run, which of them wait for which,
//! and which live fd each traced fd argument stands for.
//!
//! # Resources
//!
//! Every replayable call takes some *resources*, each for reading or for
//! writing:
//!
//! - **an fd generation**, for writing: every open of a traced fd number
//!   starts a new generation (`3` opened, closed and opened again is two
//!   different resources), and each call that uses, creates or ends a
//!   generation takes it. So one open file's calls keep their order, the
//!   call that opens it comes first, and a reused number does not chain
//!   unrelated files together. Each generation gets its own live fd;
//! - **the file behind an fd** when the log names it (`-y`): a regular
//!   file (`/…`, not `/dev/…`) for reading by calls that only look at it
//!   and for writing by calls that change it ([`DATA_WRITES`], opens with
//!   `O_CREAT`/`O_TRUNC`, the close after such writes); a pipe, socket or
//!   device for writing by every call (a read consumes);
//! - **the namespace**, across all pids: for reading by calls that only
//!   look a path up or list a directory (`stat`, `access`, `readlink`,
//!   an `openat` without `O_CREAT`/`O_TRUNC`, `connect`, `getdents64`),
//!   for writing by calls that change it
//!   or how paths resolve (`mkdir`, `rename`, `unlink`, an `openat` that
//!   creates, `chmod`, `bind`, `chdir`, `umask`, every path call not known
//!   to only read) — and by the close (or `dup2` over it) that ends an fd
//!   generation which wrote data: close-to-open order, so `write; close;
//!   rename; open; read` keeps its order although the write and the read
//!   use different fds and names;
//! - **the pid**, for writing, by calls that take nothing else
//!   (`getuid`, `getrandom`, `nanosleep`).
//!
//! # Edges
//!
//! A call waits for every earlier call that took one of its resources in
//! a conflicting way (at least one of the two writing) **and had returned
//! in the trace before this call started** (its `end_line` is before this
//! call's `line`). Calls that overlapped in the trace (a `<unfinished
//! ...>` call still running when the other started) were concurrent in
//! the kernel, so replay does not order them either — that is what keeps
//! a `read` that waited for a later `write` on a pipe from waiting for it
//! forever.
//!
//! Per resource the planner keeps a *frontier*: the last writers and the
//! readers since, plus any earlier call still running when a later one
//! started. A new call waits for each conflicting frontier member that
//! had returned before it started; for one that had not, it waits for
//! what that member waited for on this resource (all of those had
//! returned before the member started, so before this call). Members
//! that returned before a new writer leave the frontier (the writer
//! covers them). The edges are exactly "conflicting, returned before",
//! up to transitivity.

use std::collections::HashMap;

use sysgate_sys::{ArgKind, Signature, StructKind};

use crate::strace::{
    Classifier, Expr, FdEffects, FdRole, Opens, SkipReason, Trace, TracedCall, Unsupported, Value,
    Verdict, fd_value,
};

/// A traced fd number and its generation (see the module docs).
pub(crate) type FdGen = (i64, u32);

/// What two calls can share that makes their order matter.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Resource {
    Fd(FdGen),
    File(String),
    Namespace,
    Pid(Option<u32>),
}

/// How a call takes a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    Read,
    Write,
}

/// Calls that replay leaves alone although the classifier would let them
/// through: they act on the machine (mounts, clocks, modules, host name,
/// keyrings) or on other processes named by a pid that now means
/// something else. Replay runs file and socket I/O, nothing more.
const SYSTEM_WIDE: &[&str] = &[
    "chroot",
    "pivot_root",
    "mount",
    "umount2",
    "mount_setattr",
    "move_mount",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "open_tree",
    "reboot",
    "kexec_load",
    "kexec_file_load",
    "swapon",
    "swapoff",
    "init_module",
    "finit_module",
    "delete_module",
    "sethostname",
    "setdomainname",
    "settimeofday",
    "clock_settime",
    "clock_adjtime",
    "adjtimex",
    "acct",
    "quotactl",
    "quotactl_fd",
    "syslog",
    "vhangup",
    "iopl",
    "ioperm",
    "bpf",
    "perf_event_open",
    "add_key",
    "request_key",
    "keyctl",
    "setpriority",
    "getpriority",
    "sched_setparam",
    "sched_getparam",
    "sched_setscheduler",
    "sched_getscheduler",
    "sched_setattr",
    "sched_getattr",
    "ioprio_set",
    "ioprio_get",
    "migrate_pages",
    "move_pages",
    "process_vm_readv",
    "process_vm_writev",
    "process_mrelease",
    "kcmp",
    "capset",
    "setgroups",
];

/// Errors that mean a signal interrupted the call: it did nothing, and
/// the program (or the kernel, for `ERESTART*`) repeats it on a later
/// line. Replaying it would do its work twice.
const INTERRUPTED: &[&str] = &[
    "EINTR",
    "ERESTARTSYS",
    "ERESTARTNOINTR",
    "ERESTARTNOHAND",
    "ERESTART_RESTARTBLOCK",
];

/// Path calls that only look names up. An `open`/`openat` is one unless
/// its flags create or truncate (see [`open_writes`]).
const NAMESPACE_READS: &[&str] = &[
    "open",
    "openat",
    "stat",
    "lstat",
    "newfstatat",
    "statx",
    "statfs",
    "access",
    "faccessat",
    "faccessat2",
    "readlink",
    "readlinkat",
    "getxattr",
    "lgetxattr",
    "listxattr",
    "llistxattr",
    "inotify_add_watch",
    "name_to_handle_at",
    "connect",
    "sendto",
];

/// Calls without a path that still change how later paths resolve or
/// what they create: namespace writers.
const NAMESPACE_STATE: &[&str] = &["chdir", "fchdir", "umask"];

/// Calls without a path that read the namespace: a directory listing
/// must not see entries created after it in the trace.
const NAMESPACE_LISTINGS: &[&str] = &["getdents64", "getdents"];

/// Calls that change a file's data or attributes through an fd.
const DATA_WRITES: &[&str] = &[
    "write",
    "pwrite64",
    "writev",
    "pwritev",
    "pwritev2",
    "ftruncate",
    "fallocate",
    "fsync",
    "fdatasync",
    "sync_file_range",
    "copy_file_range",
    "sendfile",
    "splice",
    "tee",
    "fchmod",
    "fchown",
    "fsetxattr",
    "fremovexattr",
    "futimesat",
    "utimensat",
    "ioctl",
];

/// Why the planner skips a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PlanSkip {
    /// The classifier's reason.
    Trace(SkipReason),
    /// It acts on the machine or on other processes ([`SYSTEM_WIDE`]).
    SystemWide,
    /// The trace shows it interrupted ([`INTERRUPTED`]).
    Interrupted,
    /// It uses a traced fd whose open replay skips.
    NotOpened {
        /// The traced fd.
        fd: i64,
    },
}

/// One call to replay.
#[derive(Debug, Clone)]
pub(crate) struct Step {
    /// Index into [`Trace::calls`].
    pub call: usize,
    /// How it maps fds.
    pub effects: FdEffects,
    /// The generation of every traced fd it uses (fd arguments in the
    /// `Use` role, `struct pollfd` fds).
    pub uses: Vec<FdGen>,
    /// The generations it creates (its result fd, the pair of
    /// `pipe2`/`socketpair`, a `dup2` target), in [`Opens`] order.
    pub creates: Vec<FdGen>,
    /// The generation a successful `close` ends.
    pub closes: Option<FdGen>,
    /// The generations `dup2`/`dup3` replace (the target's previous one).
    pub replaces: Vec<FdGen>,
    /// Traced fds inside `struct pollfd` arrays (`poll`, `ppoll`): argument
    /// index, element index, fd.
    pub pollfds: Vec<(usize, usize, i64)>,
    /// Steps (indices into [`Plan::steps`]) that must complete first;
    /// sorted, no duplicates, all earlier than this one.
    pub deps: Vec<usize>,
}

impl Step {
    /// The generation of traced fd `fd` as this step uses it.
    pub fn use_of(&self, fd: i64) -> Option<FdGen> {
        self.uses.iter().copied().find(|u| u.0 == fd)
    }

    /// Every generation this step refers to (each once).
    pub fn generations(&self) -> Vec<FdGen> {
        let mut all: Vec<FdGen> = self
            .uses
            .iter()
            .chain(&self.creates)
            .chain(&self.closes)
            .chain(&self.replaces)
            .copied()
            .collect();
        all.sort_unstable();
        all.dedup();
        all
    }
}

/// A planned trace.
#[derive(Debug, Clone, Default)]
pub(crate) struct Plan {
    /// The calls to replay, in log order.
    pub steps: Vec<Step>,
    /// The calls not replayed: index into [`Trace::calls`], and why.
    pub skipped: Vec<(usize, PlanSkip)>,
    /// How many steps refer to each fd generation (its live fd can be
    /// closed once they have all run). The stdio generations (0, 1 and 2,
    /// generation 0) are included.
    pub users: HashMap<FdGen, usize>,
}

impl Plan {
    /// The longest chain of dependent steps (0 for an empty plan): how
    /// many rounds replay needs at least, however much runs in parallel.
    pub fn depth(&self) -> usize {
        let mut depth = vec![0usize; self.steps.len()];
        for (i, step) in self.steps.iter().enumerate() {
            depth[i] = 1 + step.deps.iter().map(|&d| depth[d]).max().unwrap_or(0);
        }
        depth.into_iter().max().unwrap_or(0)
    }
}

/// A frontier member: a step and what it waited for on this resource.
struct Member {
    step: usize,
    end_line: usize,
    deps: Vec<usize>,
}

/// The frontier of one resource: its last writers and the readers since
/// (kept apart so a run of readers costs each reader only a look at the
/// few writers).
#[derive(Default)]
struct Frontier {
    writers: Vec<Member>,
    readers: Vec<Member>,
}

/// The generation bookkeeping while planning.
struct Generations {
    current: HashMap<i64, u32>,
    next: u32,
    /// Generations through which data was written.
    wrote: Vec<FdGen>,
}

impl Generations {
    fn new() -> Self {
        Generations {
            current: (0..3).map(|fd| (fd, 0)).collect(),
            next: 1,
            wrote: Vec::new(),
        }
    }

    fn create(&mut self, fd: i64) -> FdGen {
        let g = self.next;
        self.next += 1;
        self.current.insert(fd, g);
        (fd, g)
    }
}

/// `plan(trace)` — classify every call in log order, give fds their
/// generations, and link the replayable calls by the resources they share.
pub(crate) fn plan(trace: &Trace) -> Plan {
    let mut classifier = Classifier::new();
    let mut gens = Generations::new();
    let mut frontier: HashMap<Resource, Frontier> = HashMap::new();
    let mut plan = Plan::default();
    for fd in 0..3 {
        plan.users.insert((fd, 0), 0);
    }
    for (index, tc) in trace.calls.iter().enumerate() {
        let verdict = classifier.classify(tc);
        let errno = tc.outcome.as_ref().and_then(|o| o.result.errno.as_deref());
        if errno.is_some_and(|e| INTERRUPTED.contains(&e)) {
            plan.skipped.push((index, PlanSkip::Interrupted));
            continue;
        }
        let effects = match verdict {
            Verdict::Replay(effects) => effects,
            Verdict::Skip(reason) => {
                plan.skipped.push((index, PlanSkip::Trace(reason)));
                continue;
            }
        };
        let name = tc.call.name.as_str();
        if SYSTEM_WIDE.contains(&name) {
            plan.skipped.push((index, PlanSkip::SystemWide));
            continue;
        }
        // The classifier only admits calls with a signature.
        let Some(sig) = sysgate_sys::signature_by_name(name) else {
            plan.skipped.push((
                index,
                PlanSkip::Trace(SkipReason::Unsupported(Unsupported::NoSignature)),
            ));
            continue;
        };
        let pollfds = match pollfds(tc, sig, &classifier) {
            Ok(p) => p,
            Err(reason) => {
                plan.skipped.push((index, PlanSkip::Trace(reason)));
                continue;
            }
        };
        // Generations: what it uses (as they are now), then what it ends
        // and creates.
        let mut uses = Vec::new();
        let mut missing = None;
        let used_fds = effects
            .fd_args
            .iter()
            .filter(|a| a.role == FdRole::Use)
            .map(|a| a.fd)
            .chain(pollfds.iter().map(|p| p.2));
        for fd in used_fds {
            match gens.current.get(&fd) {
                Some(&g) => {
                    if !uses.contains(&(fd, g)) {
                        uses.push((fd, g));
                    }
                }
                None => missing = missing.or(Some(fd)),
            }
        }
        if let Some(fd) = missing {
            plan.skipped.push((index, PlanSkip::NotOpened { fd }));
            continue;
        }
        let writes_data = DATA_WRITES.contains(&name) || open_writes(tc, sig);
        if writes_data {
            gens.wrote.extend_from_slice(&uses);
        }
        // `dup2`/`dup3` end the target's current generation.
        let replaced: Vec<FdGen> = effects
            .fd_args
            .iter()
            .filter(|a| a.role == FdRole::Target)
            .filter_map(|a| gens.current.get(&a.fd).map(|&g| (a.fd, g)))
            .collect();
        let closes = effects
            .closes
            .and_then(|fd| gens.current.get(&fd).map(|&g| (fd, g)));
        if let Some((fd, _)) = closes {
            gens.current.remove(&fd);
        }
        let ends_written = closes
            .iter()
            .chain(&replaced)
            .any(|g| gens.wrote.contains(g));
        let creates: Vec<FdGen> = match effects.opens {
            Opens::Nothing => Vec::new(),
            Opens::Result { fd } => vec![gens.create(fd)],
            Opens::Pair { fds, .. } => fds.iter().map(|&fd| gens.create(fd)).collect(),
        };
        if writes_data {
            gens.wrote.extend_from_slice(&creates);
        }

        let mut resources: Vec<(Resource, Access)> = Vec::new();
        for g in uses.iter().chain(&creates).chain(&replaced).chain(&closes) {
            take(&mut resources, Resource::Fd(*g), Access::Write);
        }
        let changes_file = writes_data || ends_written;
        for note in notes(tc, &effects) {
            let access = if changes_file || !is_regular_file(note) {
                Access::Write
            } else {
                Access::Read
            };
            take(&mut resources, Resource::File(note.to_owned()), access);
        }
        if let Some(access) = namespace_access(tc, sig, ends_written) {
            take(&mut resources, Resource::Namespace, access);
        }
        if resources.is_empty() {
            resources.push((Resource::Pid(tc.pid), Access::Write));
        }

        let me = plan.steps.len();
        let mut deps = Vec::new();
        for (resource, access) in resources {
            let f = frontier.entry(resource).or_default();
            let conflicting: &[Member] = match access {
                Access::Read => &[],
                Access::Write => &f.readers,
            };
            let mut mine = Vec::new();
            for m in f.writers.iter().chain(conflicting) {
                if m.end_line < tc.line {
                    mine.push(m.step);
                } else {
                    mine.extend_from_slice(&m.deps);
                }
            }
            mine.sort_unstable();
            mine.dedup();
            deps.extend_from_slice(&mine);
            let member = Member {
                step: me,
                end_line: tc.end_line,
                deps: mine,
            };
            match access {
                Access::Read => f.readers.push(member),
                Access::Write => {
                    // Covered by this writer, unless still running when it
                    // started.
                    f.writers.retain(|m| m.end_line >= tc.line);
                    f.readers.retain(|m| m.end_line >= tc.line);
                    f.writers.push(member);
                }
            }
        }
        deps.sort_unstable();
        deps.dedup();
        let step = Step {
            call: index,
            effects,
            uses,
            creates,
            closes,
            replaces: replaced,
            pollfds,
            deps,
        };
        for g in step.generations() {
            *plan.users.entry(g).or_default() += 1;
        }
        plan.steps.push(step);
    }
    plan
}

/// Adds `r` to `resources`, or upgrades it to writing.
fn take(resources: &mut Vec<(Resource, Access)>, r: Resource, a: Access) {
    match resources.iter_mut().find(|x| x.0 == r) {
        Some(x) => {
            if a == Access::Write {
                x.1 = Access::Write;
            }
        }
        None => resources.push((r, a)),
    }
}

/// Whether an `open`/`openat`/`creat`/`openat2` may create or truncate
/// (numeric flags and `openat2` count as yes).
fn open_writes(tc: &TracedCall, sig: &Signature) -> bool {
    let flags_arg = match sig.name {
        "open" => 1,
        "openat" => 2,
        "creat" | "openat2" => return true,
        _ => return false,
    };
    let Some(e) = tc.call.args.get(flags_arg) else {
        return false;
    };
    let parts: Vec<&Expr> = match &e.unannotated().value {
        Value::Flags(parts) => parts.iter().collect(),
        _ => vec![e.unannotated()],
    };
    parts.iter().any(|p| match &p.value {
        Value::Name(n) => matches!(n.as_str(), "O_CREAT" | "O_TRUNC" | "O_TMPFILE"),
        Value::Num(n) => *n != 0,
        _ => true,
    })
}

/// How a call takes the namespace, if at all (see the module docs).
fn namespace_access(tc: &TracedCall, sig: &Signature, ends_written: bool) -> Option<Access> {
    let name = tc.call.name.as_str();
    if ends_written || NAMESPACE_STATE.contains(&name) {
        return Some(Access::Write);
    }
    if NAMESPACE_LISTINGS.contains(&name) {
        return Some(Access::Read);
    }
    let names_a_path = sig.args.iter().enumerate().any(|(i, spec)| {
        let arg = tc.call.args.get(i).map(Expr::unannotated);
        match spec.kind {
            ArgKind::Path => {
                matches!(arg, Some(Expr { value: Value::Str { bytes, .. }, .. }) if !bytes.is_empty())
            }
            ArgKind::InSockaddr { .. } => {
                arg.is_some_and(|e| !matches!(e.value, Value::Null | Value::Num(0)))
            }
            _ => false,
        }
    });
    if !names_a_path {
        return None;
    }
    if NAMESPACE_READS.contains(&name) && !open_writes(tc, sig) {
        Some(Access::Read)
    } else {
        Some(Access::Write)
    }
}

/// A `-y` note that names a regular file's path (not a device, pipe or
/// socket): calls that only look at it may run side by side.
fn is_regular_file(note: &str) -> bool {
    note.starts_with('/') && !note.starts_with("/dev/")
}

/// The `-y` notes of a call's fds: its fd arguments (`3</etc/passwd>`),
/// its result (`= 3</etc/passwd>`) and the fds of a pair.
fn notes<'t>(tc: &'t TracedCall, effects: &FdEffects) -> Vec<&'t str> {
    let mut out = Vec::new();
    for fa in &effects.fd_args {
        out.extend(tc.call.args.get(fa.arg).and_then(note));
    }
    match effects.opens {
        Opens::Nothing => {}
        Opens::Result { .. } => {
            out.extend(tc.outcome.as_ref().and_then(|o| o.result.note.as_deref()));
        }
        Opens::Pair { arg, .. } => {
            if let Some(Value::Array(elems)) = tc.call.args.get(arg).map(|e| &e.unannotated().value)
            {
                out.extend(elems.iter().filter_map(note));
            }
        }
    }
    out
}

/// The `-y` note of an argument: `/etc/passwd` in `3</etc/passwd>`.
fn note(e: &Expr) -> Option<&str> {
    match &e.value {
        Value::Annotated { note, .. } => Some(note),
        _ => None,
    }
}

/// The traced fds of `poll`/`ppoll`'s `struct pollfd` arrays. Negative
/// fds are left out (the kernel ignores them); an fd the trace never
/// opened skips the call like any other unknown fd.
fn pollfds(
    tc: &TracedCall,
    sig: &Signature,
    classifier: &Classifier,
) -> Result<Vec<(usize, usize, i64)>, SkipReason> {
    let mut out = Vec::new();
    for (arg, spec) in sig.args.iter().enumerate() {
        let is_pollfd = matches!(
            spec.kind,
            ArgKind::InArray {
                elem: StructKind::Pollfd,
                ..
            } | ArgKind::InOutArray {
                elem: StructKind::Pollfd,
                ..
            }
        );
        if !is_pollfd {
            continue;
        }
        let Some(Value::Array(elems)) = tc.call.args.get(arg).map(|e| &e.unannotated().value)
        else {
            continue;
        };
        for (k, el) in elems.iter().enumerate() {
            let Some(fd) = pollfd_fd(el) else {
                continue;
            };
            if fd < 0 {
                continue;
            }
            if !classifier.is_open(fd) {
                return Err(SkipReason::UnknownFd { arg, fd });
            }
            out.push((arg, k, fd));
        }
    }
    Ok(out)
}

/// The `fd=` field of a `{fd=3, events=POLLIN}` element.
fn pollfd_fd(el: &Expr) -> Option<i64> {
    let Value::Struct(fields) = &el.value else {
        return None;
    };
    let f = fields.iter().find(|f| f.name.as_deref() == Some("fd"))?;
    fd_value(&f.value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strace::parse_trace;

    /// The deps of every step, as traced line numbers.
    fn deps_by_line(text: &str) -> Vec<(usize, Vec<usize>)> {
        let trace = parse_trace(text);
        assert!(trace.malformed.is_empty(), "{:?}", trace.malformed);
        let plan = plan(&trace);
        plan.steps
            .iter()
            .map(|s| {
                (
                    trace.calls[s.call].line,
                    s.deps
                        .iter()
                        .map(|&d| trace.calls[plan.steps[d].call].line)
                        .collect(),
                )
            })
            .collect()
    }

    #[test]
    fn calls_on_one_fd_stay_in_order_and_other_fds_run_beside_them() {
        let text = "\
openat(AT_FDCWD, \"/tmp/a\", O_RDONLY) = 3
openat(AT_FDCWD, \"/tmp/b\", O_WRONLY|O_CREAT, 0644) = 4
read(3, \"abc\", 3) = 3
write(4, \"abc\", 3) = 3
read(3, \"\", 3) = 0
close(3) = 0
write(4, \"x\", 1) = 1
getuid() = 0
close(4) = 0
openat(AT_FDCWD, \"/tmp/c\", O_RDONLY) = 3
stat(\"/tmp/b\", {st_mode=S_IFREG|0644, st_size=4, ...}) = 0
";
        assert_eq!(
            deps_by_line(text),
            vec![
                (1, vec![]),
                // Creating is a namespace write: after the lookup of /tmp/a.
                (2, vec![1]),
                (3, vec![1]),
                (4, vec![2]),
                (5, vec![3]),
                // A close of an fd that only read ends nothing in the
                // namespace.
                (6, vec![5]),
                // Not after the reads on fd 3.
                (7, vec![4]),
                // No fd, no path: only its pid's order (nothing before).
                (8, vec![]),
                // This close ends writes: a namespace write, after the
                // create.
                (9, vec![2, 7]),
                // fd 3 again, a new generation: not after line 6; a
                // namespace read after the close that ended writes.
                (10, vec![9]),
                (11, vec![9]),
            ]
        );
    }

    #[test]
    fn namespace_lookups_run_side_by_side_and_changes_wait_for_them() {
        let text = "\
stat(\"/a\", 0x7ffc0000) = -1 ENOENT (No such file or directory)
access(\"/b\", R_OK) = 0
mkdir(\"/a\", 0755) = 0
stat(\"/a\", {st_mode=S_IFDIR|0755, st_size=4096, ...}) = 0
readlink(\"/c\", \"x\", 64) = 1
";
        assert_eq!(
            deps_by_line(text),
            vec![
                (1, vec![]),
                (2, vec![]),
                (3, vec![1, 2]),
                (4, vec![3]),
                (5, vec![3]),
            ]
        );
    }

    #[test]
    fn calls_that_overlapped_in_the_trace_are_not_ordered() {
        // pid 2's read waits for pid 1's later write on the other end of
        // the pipe: the write must not wait for the read.
        let text = "\
1 pipe2([3<pipe:[7]>, 4<pipe:[7]>], 0) = 0
2 read(3<pipe:[7]>,  <unfinished ...>
1 write(4<pipe:[7]>, \"hi\", 2) = 2
2 <... read resumed>\"hi\", 16) = 2
1 close(4<pipe:[7]>) = 0
2 read(3<pipe:[7]>, \"\", 16) = 0
";
        assert_eq!(
            deps_by_line(text),
            vec![
                (1, vec![]),
                (2, vec![1]),
                (3, vec![1]),
                // After the write (fd 4) and, through the pipe's note, after
                // the read that had returned by then.
                (5, vec![2, 3]),
                (6, vec![2, 5]),
            ]
        );
    }

    #[test]
    fn a_call_skips_over_an_overlapping_one_to_what_it_waited_for() {
        // Line 3 overlaps line 4 (still running when 4 started); line 4
        // must still wait for line 1, which line 3 waited for.
        let text = "\
1 write(1, \"a\", 1) = 1
2 getuid() = 0
2 write(1, \"b\", 1 <unfinished ...>
1 write(1, \"c\", 1) = 1
2 <... write resumed>) = 1
1 write(1, \"d\", 1) = 1
";
        assert_eq!(
            deps_by_line(text),
            vec![
                (1, vec![]),
                (2, vec![]),
                (3, vec![1]),
                (4, vec![1]),
                (6, vec![3, 4]),
            ]
        );
    }

    #[test]
    fn generations_and_their_users() {
        let text = "\
openat(AT_FDCWD, \"/a\", O_RDONLY) = 3
close(3) = 0
openat(AT_FDCWD, \"/b\", O_RDONLY) = 3
dup2(3, 1) = 1
write(1, \"x\", 1) = 1
";
        let trace = parse_trace(text);
        let plan = plan(&trace);
        let gens: Vec<(Vec<FdGen>, Vec<FdGen>, Option<FdGen>)> = plan
            .steps
            .iter()
            .map(|s| (s.uses.clone(), s.creates.clone(), s.closes))
            .collect();
        assert_eq!(
            gens,
            vec![
                (vec![], vec![(3, 1)], None),
                (vec![(3, 1)], vec![], Some((3, 1))),
                (vec![], vec![(3, 2)], None),
                (vec![(3, 2)], vec![(1, 3)], None),
                (vec![(1, 3)], vec![], None),
            ]
        );
        // The dup2 also ends stdout's generation 0: it counts as its user.
        assert_eq!(plan.users[&(1, 0)], 1);
        assert_eq!(plan.users[&(3, 1)], 2);
        assert_eq!(plan.users[&(1, 3)], 2);
        // The write waits for the dup2 only; the second open did not wait
        // for the first close.
        assert_eq!(plan.steps[2].deps, Vec::<usize>::new());
        assert_eq!(plan.steps[4].deps, vec![3]);
    }

    #[test]
    fn machine_wide_calls_are_skipped_and_depth_counts_rounds() {
        let text = "\
mount(\"none\", \"/mnt\", \"tmpfs\", 0, NULL) = 0
sethostname(\"x\", 1) = 0
getuid() = 0
getgid() = 0
";
        let trace = parse_trace(text);
        let plan = plan(&trace);
        assert_eq!(plan.skipped.len(), 2);
        assert_eq!(plan.steps.len(), 2);
        assert_eq!(plan.depth(), 2);
    }

    #[test]
    fn poll_fds_are_resources_and_unknown_ones_skip_the_call() {
        let text = "\
pipe2([3, 4], 0) = 0
poll([{fd=3, events=POLLIN}, {fd=-1, events=0}], 2, 0) = 0 (Timeout)
poll([{fd=9, events=POLLIN}], 1, 0) = 0 (Timeout)
";
        let trace = parse_trace(text);
        let plan = plan(&trace);
        assert_eq!(plan.steps.len(), 2);
        assert_eq!(plan.steps[1].pollfds, vec![(0, 0, 3)]);
        assert_eq!(plan.steps[1].uses, vec![(3, 1)]);
        assert_eq!(plan.steps[1].deps, vec![0]);
        assert_eq!(
            plan.skipped,
            vec![(2, PlanSkip::Trace(SkipReason::UnknownFd { arg: 0, fd: 9 }))]
        );
    }
}
