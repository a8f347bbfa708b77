//! Execution classes: how the executor runs a syscall.

use std::fmt;

/// How the executor runs a syscall (the design's execution-class table).
///
/// The class is a property of the syscall; the executor may refine it per
/// call from the arguments and the fd type (for example `fcntl(F_SETLKW)`
/// is punted, `openat(O_CREAT)` skips the cached attempt). Each entry's
/// reason, where it is not obvious, is in [`class_reason`](crate::class_reason).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ExecClass {
    /// Never waits: run inline on the submitting thread (`getpid`, `dup`,
    /// `lseek`, `close`).
    NonBlocking,
    /// Can be tried without waiting (`RWF_NOWAIT`, `MSG_DONTWAIT`, an
    /// `O_NONBLOCK` or pollable fd); on `EAGAIN` from a pollable fd, wait
    /// for readiness and retry inline; otherwise punt (`read`, `send*`,
    /// `accept`, `connect`).
    NowaitCapable,
    /// Try `RESOLVE_CACHED` inline, punt on `EAGAIN`; `O_CREAT`, `O_TRUNC`
    /// and `O_TMPFILE` go straight to the pool (`openat`, `openat2`).
    CachedFirst,
    /// May wait on I/O, locks or time: punt to the worker pool (`fsync`,
    /// `statx`, `getdents64`, `nanosleep`).
    Blocking,
    /// Acts on the calling thread: only inline on the submitting thread;
    /// forcing it elsewhere is an error (`gettid`, `rt_sigprocmask`,
    /// `sched_setaffinity(0, …)`, most `prctl` options).
    ThreadAffine,
    /// Process state that Linux keeps per thread (credentials,
    /// capabilities, namespaces, the descriptor table and working
    /// directory after `unshare`): applied to every thread of the process
    /// at once, the way glibc does it (`setuid`, `setresgid`, `setgroups`,
    /// …, through glibc's own wrappers; threads started later inherit it),
    /// or refused with the reason where there is no such way (`setfsuid`,
    /// `capset`, `unshare`, `setns`). Never applied to one thread only.
    PerThreadState,
    /// Would break the thread that runs it (its thread pointer, TLS, tid
    /// address, robust-futex list, rseq area, signal stack, seccomp
    /// filter, LDT): refused, never run (`arch_prctl(ARCH_SET_FS)`,
    /// `set_tid_address`, `rseq`, `sigaltstack`, `seccomp`,
    /// `prctl(PR_SET_SECCOMP)`).
    BreaksRunner,
    /// Refused, never run (`exit`, `exit_group`, `clone`, `execve`,
    /// `rt_sigreturn`).
    Forbidden,
    /// A number sysgate has no name for; treated as [`Blocking`](Self::Blocking).
    Unknown,
}

impl ExecClass {
    /// Every class, in declaration order.
    pub const ALL: [ExecClass; 9] = [
        Self::NonBlocking,
        Self::NowaitCapable,
        Self::CachedFirst,
        Self::Blocking,
        Self::ThreadAffine,
        Self::PerThreadState,
        Self::BreaksRunner,
        Self::Forbidden,
        Self::Unknown,
    ];

    /// The lower-case name used in output and JSON: `non-blocking`,
    /// `nowait-capable`, `cached-first`, `blocking`, `thread-affine`,
    /// `per-thread-state`, `breaks-runner`, `forbidden`, `unknown`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::NonBlocking => "non-blocking",
            Self::NowaitCapable => "nowait-capable",
            Self::CachedFirst => "cached-first",
            Self::Blocking => "blocking",
            Self::ThreadAffine => "thread-affine",
            Self::PerThreadState => "per-thread-state",
            Self::BreaksRunner => "breaks-runner",
            Self::Forbidden => "forbidden",
            Self::Unknown => "unknown",
        }
    }

    /// The class named by [`as_str`](Self::as_str), if any.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == name)
    }

    /// Whether the executor may run the call on a pool worker: everything
    /// but [`ThreadAffine`](Self::ThreadAffine),
    /// [`PerThreadState`](Self::PerThreadState) (applied to every thread at
    /// once, or refused), [`BreaksRunner`](Self::BreaksRunner) and
    /// [`Forbidden`](Self::Forbidden).
    pub const fn may_punt(self) -> bool {
        !matches!(
            self,
            Self::ThreadAffine | Self::PerThreadState | Self::BreaksRunner | Self::Forbidden
        )
    }

    /// Whether the executor never runs a call of this class:
    /// [`BreaksRunner`](Self::BreaksRunner) and
    /// [`Forbidden`](Self::Forbidden). ([`PerThreadState`](Self::PerThreadState)
    /// calls are refused too unless the executor has a way to apply them to
    /// every thread.)
    pub const fn is_refused(self) -> bool {
        matches!(self, Self::BreaksRunner | Self::Forbidden)
    }
}

impl fmt::Display for ExecClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
