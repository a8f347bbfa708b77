//! Deciding where a call runs, and the attempts that cannot block.
//!
//! The execution class comes from `sysgate-sys`. A nowait-capable call is
//! first tried in a form the kernel promises not to block on: `read`-like
//! and `write`-like calls become `preadv2`/`pwritev2` with `RWF_NOWAIT`, the
//! `recv`/`send` family gets `MSG_DONTWAIT`, and anything else runs inline
//! only on an `O_NONBLOCK` fd. `openat` and `openat2` first try
//! `RESOLVE_CACHED`. Only when such an attempt says "would block" does the
//! call go elsewhere.

use sysgate_proto::{SubmissionFlags, codes};
use sysgate_sys::{ArgKind, ExecClass};

use crate::call::PreparedCall;
use crate::fdinfo::{FdKind, fd_kind, is_listening, is_nonblocking, read_reached_eof};
use crate::pool::{Account, FileKey};
use crate::{bounds, creds, held, interrupt};

/// Why the executor does not run a call, judging by its words (answered
/// with [`codes::FORBIDDEN`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Its class, refined by its arguments: forbidden, breaking the thread
    /// that runs it, or per-thread state without a way to apply it to every
    /// thread. The table's reason.
    Class(Option<&'static str>),
    /// It names (or its range covers) a descriptor the gateway holds.
    HeldFd(i32),
    /// It would change the disposition of the signal the pool interrupts
    /// blocked calls with.
    InterruptSignal(i32),
}

/// Whether and why the executor refuses a call of class `class` (see
/// [`sysgate_sys::class_of_call`]) with these words.
pub(crate) fn refusal(nr: u32, args: &[u64; 6], class: ExecClass) -> Option<Refusal> {
    let refused = match class {
        ExecClass::PerThreadState => !creds::applies_to_every_thread(nr),
        other => other.is_refused(),
    };
    if refused {
        return Some(Refusal::Class(sysgate_sys::call_reason(nr, args)));
    }
    match nr as libc::c_long {
        // A range, not descriptors: it runs around the held ones
        // (`PreparedCall::run`).
        libc::SYS_close_range => return None,
        libc::SYS_rt_sigaction if args[1] != 0 && interrupt::is_ours(args[0] as i32) => {
            return Some(Refusal::InterruptSignal(args[0] as i32));
        }
        _ => {}
    }
    let mut fds = sysgate_sys::arg_masks(nr)?.fds;
    while fds != 0 {
        let fd = args[fds.trailing_zeros() as usize] as i32;
        if held::is_held(fd) {
            return Some(Refusal::HeldFd(fd));
        }
        fds &= fds - 1;
    }
    None
}

/// The argument of a call that installs a signal mask on the thread that
/// runs it (for good, or while it waits).
fn mask_arg(nr: u32) -> Option<usize> {
    match nr as libc::c_long {
        libc::SYS_rt_sigprocmask => Some(1),
        libc::SYS_rt_sigsuspend | libc::SYS_rt_sigtimedwait => Some(0),
        libc::SYS_ppoll => Some(3),
        libc::SYS_epoll_pwait | libc::SYS_epoll_pwait2 => Some(4),
        _ => None,
    }
}

/// Takes glibc's internal signals (see [`sysgate_sys::GLIBC_SIGNALS`]) and
/// the pool's interrupt signal out of a signal mask the call would
/// install, as glibc's own `sigprocmask`, `sigsuspend` and `sigtimedwait`
/// do: blocked, or waited for, they would make a `setuid` through the
/// gateway wait forever for this thread, and a cancel never interrupt it.
/// Only a mask in one of the call's buffers (its own or in the arena) is
/// changed; one behind an immediate pointer is the submitter's affair.
fn keep_signals_deliverable(call: &mut PreparedCall) {
    let Some(i) = mask_arg(call.nr) else {
        return;
    };
    let mut keep = interrupt::our_mask();
    for sig in sysgate_sys::GLIBC_SIGNALS {
        keep |= 1 << (sig - 1);
    }
    call.edit_arg(i, 8, |set| {
        let mask = u64::from_ne_bytes(set.try_into().unwrap_or([0; 8])) & !keep;
        set.copy_from_slice(&mask.to_ne_bytes());
    });
}

/// The thread a request is being dispatched on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Context {
    /// The submitting thread, inside `enter`.
    Submitter,
    /// The submission-polling thread.
    Poller,
    /// A pool worker, continuing a link chain.
    Worker,
}

/// What the inline step decided.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// The call ran (or was answered) here; this is its result.
    Done(i64),
    /// The executor refused the call; this is the code (see
    /// `sysgate_proto::codes`).
    Refused(i64),
    /// The call would block on a pollable fd: wait for `events`, then retry.
    WouldBlock {
        /// The fd to wait on.
        fd: i32,
        /// `POLLIN` or `POLLOUT`.
        events: i16,
    },
    /// The call must run on the pool.
    Punt(Account, Option<FileKey>),
}

fn nr(n: libc::c_long) -> u32 {
    n as u32
}

/// `RWF_NOWAIT` from `<linux/fs.h>`.
const RWF_NOWAIT: u64 = 0x8;
/// `RESOLVE_CACHED` from `<linux/openat2.h>`.
const RESOLVE_CACHED: u64 = 0x20;
/// `__O_TMPFILE`: `O_TMPFILE` without its `O_DIRECTORY` bit.
const O_TMPFILE_BIT: u64 = 0o20000000;

/// Decides and, where it can, runs `call` on this thread.
pub(crate) fn inline_step(call: &mut PreparedCall, flags: SubmissionFlags, ctx: Context) -> Step {
    let class = sysgate_sys::class_of_call(call.nr, &call.args);
    if refusal(call.nr, &call.args, class).is_some() {
        return Step::Refused(codes::FORBIDDEN);
    }
    if !call.is_immediate() {
        if !bounds::check(call) {
            return Step::Refused(codes::BAD_BUFFER);
        }
        keep_signals_deliverable(call);
    }
    match class {
        // Not refused: glibc's wrapper applies it to every thread, whichever
        // thread this is.
        ExecClass::PerThreadState => {
            return match creds::apply_to_every_thread(call) {
                Some(result) => Step::Done(result),
                None => Step::Refused(codes::FORBIDDEN),
            };
        }
        ExecClass::ThreadAffine => {
            return if ctx == Context::Submitter && !flags.contains(SubmissionFlags::ASYNC) {
                Step::Done(call.run())
            } else {
                Step::Refused(codes::WRONG_THREAD)
            };
        }
        _ => {}
    }
    if flags.contains(SubmissionFlags::ASYNC) {
        return punt(call, class);
    }
    match class {
        ExecClass::NonBlocking if waits_for_lock(call) => Step::Punt(Account::Unbounded, None),
        ExecClass::NonBlocking => Step::Done(call.run()),
        ExecClass::NowaitCapable => match try_nowait(call) {
            Step::Done(r) => Step::Done(call.total(r)),
            other => other,
        },
        ExecClass::CachedFirst => try_cached_open(call),
        _ => punt(call, class),
    }
}

/// `fcntl(fd, F_SETLKW | F_OFD_SETLKW, …)`: the one blocking use of a
/// non-blocking call.
fn waits_for_lock(call: &PreparedCall) -> bool {
    call.nr == nr(libc::SYS_fcntl)
        && [libc::F_SETLKW, libc::F_OFD_SETLKW].contains(&(call.args[1] as i32))
}

/// Where a call that must block goes: its account, and for writes to a
/// regular file the key that keeps them in order.
pub(crate) fn punt(call: &PreparedCall, class: ExecClass) -> Step {
    if blocks_indefinitely(call.nr) || class == ExecClass::Unknown {
        return Step::Punt(Account::Unbounded, None);
    }
    let Some(fd) = fd_arg(call) else {
        // Path-based file work (statx, unlinkat, mkdirat, …) always finishes.
        return Step::Punt(Account::Bounded, None);
    };
    match fd_kind(fd) {
        Some(FdKind::Regular(key)) if is_write(call.nr) => Step::Punt(Account::Bounded, Some(key)),
        Some(kind) => Step::Punt(kind.account(), None),
        // A closed fd: the call fails fast wherever it runs.
        None => Step::Punt(Account::Bounded, None),
    }
}

/// The fd argument of `call`, if its signature has one.
pub(crate) fn fd_arg(call: &PreparedCall) -> Option<i32> {
    let sig = sysgate_sys::signature(call.nr)?;
    let i = sig.args.iter().position(|a| a.kind == ArgKind::Fd)?;
    Some(call.args[i] as i32)
}

/// The argument whose buffer holds exactly as many bytes as the call
/// returns (`read`'s buffer, `getdents64`'s records), so the completion
/// carries only those.
pub(crate) fn filled_by_result(nr: u32) -> Option<usize> {
    sysgate_sys::signature(nr)?.filled_buffer()
}

fn is_write(n: u32) -> bool {
    [
        libc::SYS_write,
        libc::SYS_pwrite64,
        libc::SYS_writev,
        libc::SYS_pwritev,
        libc::SYS_pwritev2,
    ]
    .into_iter()
    .any(|w| nr(w) == n)
}

/// Calls that can wait for an unbounded time whatever their fd: they go to
/// the unbounded account so they can never starve file I/O.
fn blocks_indefinitely(n: u32) -> bool {
    [
        libc::SYS_nanosleep,
        libc::SYS_clock_nanosleep,
        libc::SYS_wait4,
        libc::SYS_waitid,
        libc::SYS_flock,
        libc::SYS_futex,
        libc::SYS_ppoll,
        libc::SYS_pselect6,
        libc::SYS_epoll_pwait,
        libc::SYS_epoll_pwait2,
        libc::SYS_rt_sigtimedwait,
        libc::SYS_msgrcv,
        libc::SYS_msgsnd,
        libc::SYS_semtimedop,
        libc::SYS_mq_timedreceive,
        libc::SYS_mq_timedsend,
        libc::SYS_fcntl, // only F_SETLKW and F_OFD_SETLKW get here
        #[cfg(target_arch = "x86_64")]
        libc::SYS_poll,
        #[cfg(target_arch = "x86_64")]
        libc::SYS_select,
        #[cfg(target_arch = "x86_64")]
        libc::SYS_epoll_wait,
        #[cfg(target_arch = "x86_64")]
        libc::SYS_pause,
    ]
    .into_iter()
    .any(|b| nr(b) == n)
}

/// The `preadv2`/`pwritev2` form of a read- or write-like call.
struct RwForm {
    vector_nr: libc::c_long,
    iov: [u64; 2],
    /// Whether `iov` is a single-entry iovec we build (true) or the call's
    /// own iovec array pointer and count (false).
    single: bool,
    offset: u64,
    flags: u64,
    events: i16,
}

fn rw_form(call: &PreparedCall) -> Option<RwForm> {
    let a = &call.args;
    let n = call.nr as libc::c_long;
    // A negative offset is EINVAL for the positioned calls, but means "the
    // file position" to preadv2/pwritev2: those calls keep their own form.
    let positioned = [
        libc::SYS_pread64,
        libc::SYS_pwrite64,
        libc::SYS_preadv,
        libc::SYS_pwritev,
    ];
    if positioned.contains(&n) && (a[3] as i64) < 0 {
        return None;
    }
    let (vector_nr, single, offset, flags, events) = match n {
        libc::SYS_read => (libc::SYS_preadv2, true, u64::MAX, 0, libc::POLLIN),
        libc::SYS_pread64 => (libc::SYS_preadv2, true, a[3], 0, libc::POLLIN),
        libc::SYS_readv => (libc::SYS_preadv2, false, u64::MAX, 0, libc::POLLIN),
        libc::SYS_preadv => (libc::SYS_preadv2, false, a[3], 0, libc::POLLIN),
        libc::SYS_preadv2 => (libc::SYS_preadv2, false, a[3], a[5], libc::POLLIN),
        libc::SYS_write => (libc::SYS_pwritev2, true, u64::MAX, 0, libc::POLLOUT),
        libc::SYS_pwrite64 => (libc::SYS_pwritev2, true, a[3], 0, libc::POLLOUT),
        libc::SYS_writev => (libc::SYS_pwritev2, false, u64::MAX, 0, libc::POLLOUT),
        libc::SYS_pwritev => (libc::SYS_pwritev2, false, a[3], 0, libc::POLLOUT),
        libc::SYS_pwritev2 => (libc::SYS_pwritev2, false, a[3], a[5], libc::POLLOUT),
        _ => return None,
    };
    Some(RwForm {
        vector_nr,
        iov: [a[1], a[2]],
        single,
        offset,
        flags,
        events,
    })
}

/// The index of the `flags` argument of the socket calls that take one.
fn msg_flags_arg(n: u32) -> Option<(usize, i16)> {
    match n as libc::c_long {
        libc::SYS_recvfrom => Some((3, libc::POLLIN)),
        libc::SYS_recvmsg => Some((2, libc::POLLIN)),
        libc::SYS_recvmmsg => Some((3, libc::POLLIN)),
        libc::SYS_sendto => Some((3, libc::POLLOUT)),
        libc::SYS_sendmsg => Some((2, libc::POLLOUT)),
        libc::SYS_sendmmsg => Some((3, libc::POLLOUT)),
        _ => None,
    }
}

fn is_again(r: i64) -> bool {
    r == -i64::from(libc::EAGAIN)
}

/// A nowait-capable call: one attempt that cannot block.
fn try_nowait(call: &mut PreparedCall) -> Step {
    let fd = call.args[0] as i32;
    if let Some(form) = rw_form(call) {
        return try_rw_nowait(call, fd, form);
    }
    if let Some((flags_arg, events)) = msg_flags_arg(call.nr) {
        let user_flags = call.args[flags_arg];
        let mut args = call.args;
        args[flags_arg] |= libc::MSG_DONTWAIT as u64;
        // SAFETY: the same words as the submitted call (whose buffers `call`
        // keeps alive), with only MSG_DONTWAIT added to the flags argument.
        let r = unsafe { sysgate_sys::raw_syscall(call.nr, args) };
        let user_nowait = user_flags & libc::MSG_DONTWAIT as u64 != 0;
        let partial_send = call.nr == nr(libc::SYS_sendto) && r > 0 && (r as u64) < call.args[2];
        if partial_send && !user_nowait && !is_nonblocking(fd) {
            // A blocking send sends everything: the rest once there is room.
            call.advance(r as u64, false);
            return Step::WouldBlock { fd, events };
        }
        if !is_again(r) || user_nowait || is_nonblocking(fd) {
            return Step::Done(r);
        }
        return Step::WouldBlock { fd, events };
    }
    // accept, accept4, connect, and anything else nowait-capable without a
    // per-call flag: inline only if the fd itself cannot block. An accept
    // on a listening socket waits for a connection without a thread (and
    // then runs on a worker, see `PuntedCall::retry`); on any other fd it
    // fails at once, so it runs here. The rest go to the pool.
    if is_nonblocking(fd) {
        return Step::Done(call.run());
    }
    let accept = [libc::SYS_accept, libc::SYS_accept4].contains(&(call.nr as libc::c_long));
    match fd_kind(fd) {
        Some(FdKind::Pollable) if accept && is_listening(fd) => Step::WouldBlock {
            fd,
            events: libc::POLLIN,
        },
        Some(FdKind::Pollable) if accept => Step::Done(call.run()),
        _ => punt(call, ExecClass::NowaitCapable),
    }
}

fn try_rw_nowait(call: &mut PreparedCall, fd: i32, form: RwForm) -> Step {
    let iov_ptr;
    let iov_cnt;
    if form.single {
        iov_ptr = form.iov.as_ptr() as u64;
        iov_cnt = 1;
    } else {
        iov_ptr = form.iov[0];
        iov_cnt = form.iov[1];
    }
    let args = [
        fd as u64,
        iov_ptr,
        iov_cnt,
        form.offset,
        0,
        form.flags | RWF_NOWAIT,
    ];
    // SAFETY: a single-entry iovec (`form.iov`, alive on this stack frame)
    // describing the submitted call's own buffer, or the submitted call's own
    // iovec array; buffers named by either are kept alive by `call`. The
    // offset -1 means "the file position", as plain read/write use.
    let r = unsafe { sysgate_sys::raw_syscall(nr(form.vector_nr), args) };
    let user_nowait = form.flags & RWF_NOWAIT != 0;
    if is_again(r) {
        return match fd_kind(fd) {
            Some(FdKind::Pollable) if user_nowait || is_nonblocking(fd) => Step::Done(r),
            Some(FdKind::Pollable) => Step::WouldBlock {
                fd,
                events: form.events,
            },
            _ if user_nowait => Step::Done(r),
            _ => punt(call, ExecClass::NowaitCapable),
        };
    }
    let partial = form.single && !user_nowait && r > 0 && (r as u64) < form.iov[1];
    let positioned = form.offset != u64::MAX;
    if partial && form.events == libc::POLLOUT {
        if !is_nonblocking(fd) && matches!(fd_kind(fd), Some(FdKind::Pollable)) {
            // A blocking write to a pipe or socket writes everything: the
            // rest once there is room (a partial result would break links
            // and differ from the blocking call's).
            call.advance(r as u64, positioned);
            return Step::WouldBlock {
                fd,
                events: form.events,
            };
        }
    } else if partial {
        let pos = positioned.then(|| form.offset.wrapping_add(r as u64));
        if !read_reached_eof(fd, pos) {
            // Part of a regular file was cached, the rest is not: a worker
            // reads the rest, as the blocking read would have.
            call.advance(r as u64, positioned);
            return punt(call, ExecClass::NowaitCapable);
        }
    }
    if r != -i64::from(libc::EOPNOTSUPP) || user_nowait {
        return Step::Done(r);
    }
    // This file does not take RWF_NOWAIT (a tty, some character devices,
    // some filesystems). One that polls is waited on once without a thread;
    // when ready, a worker makes the plain call (`PuntedCall::retry`), since
    // trying the refused form again would only be refused again.
    match fd_kind(fd) {
        Some(FdKind::Pollable) if is_nonblocking(fd) => Step::Done(call.run()),
        Some(FdKind::Pollable) => Step::WouldBlock {
            fd,
            events: form.events,
        },
        _ => punt(call, ExecClass::NowaitCapable),
    }
}

/// `openat`/`openat2`: try to resolve the path from the dentry cache alone.
fn try_cached_open(call: &mut PreparedCall) -> Step {
    let a = call.args;
    let (dirfd, path) = (a[0], a[1]);
    let how = match call.nr as libc::c_long {
        libc::SYS_openat => [a[2] & 0xffff_ffff, 0, RESOLVE_CACHED],
        #[cfg(target_arch = "x86_64")]
        libc::SYS_open => {
            return try_cached_open_at(
                call,
                libc::AT_FDCWD as u64,
                a[0],
                [a[1] & 0xffff_ffff, 0, RESOLVE_CACHED],
            );
        }
        libc::SYS_openat2 => {
            // Only an open_how we hold (not a raw pointer into the caller's
            // memory) of exactly the size we know is rewritten.
            match call.arg_buffer(2) {
                Some(b) if a[3] == 24 && b.len() >= 24 => {
                    let word =
                        |i: usize| u64::from_ne_bytes(b[i * 8..i * 8 + 8].try_into().unwrap());
                    [word(0), word(1), word(2) | RESOLVE_CACHED]
                }
                _ => return punt(call, ExecClass::CachedFirst),
            }
        }
        _ => return punt(call, ExecClass::CachedFirst),
    };
    try_cached_open_at(call, dirfd, path, how)
}

fn try_cached_open_at(call: &mut PreparedCall, dirfd: u64, path: u64, how: [u64; 3]) -> Step {
    let creates = (libc::O_CREAT | libc::O_TRUNC) as u64 | O_TMPFILE_BIT;
    if how[0] & creates != 0 {
        return punt(call, ExecClass::CachedFirst);
    }
    let args = [dirfd, path, how.as_ptr() as u64, 24, 0, 0];
    // SAFETY: dirfd and path are the submitted call's own words (its buffers
    // kept alive by `call`); `how` is a 24-byte `struct open_how` on this
    // stack frame.
    let r = unsafe { sysgate_sys::raw_syscall(nr(libc::SYS_openat2), args) };
    // EAGAIN: the lookup needs I/O. EINVAL/E2BIG: openat2 is stricter than
    // openat about flags and mode; let the real call decide. ENOSYS: a
    // kernel before 5.6, without openat2.
    let retry = [libc::EAGAIN, libc::EINVAL, libc::E2BIG, libc::ENOSYS];
    if retry.iter().any(|&e| r == -i64::from(e)) {
        return punt(call, ExecClass::CachedFirst);
    }
    Step::Done(r)
}
