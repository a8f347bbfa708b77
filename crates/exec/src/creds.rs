//! Credentials: per thread in the kernel, process-wide to the program.
//!
//! The raw `setuid` syscall changes the credentials of the one thread that
//! makes it. A program's `setuid()` changes all of them: glibc's wrapper
//! signals every other thread of the process (`SIGSETXID`), has each make
//! the same syscall from its handler, and returns once all have — so
//! threads started later, which copy their creator's credentials, inherit
//! the change too. The executor calls those same wrappers, so a request
//! that drops privileges drops them on every thread that will ever run a
//! later request: the submitter, the polling thread, the reactor and every
//! pool worker.
//!
//! As in any program that calls `setuid`, the signal interrupts what the
//! other threads are doing: a pool worker sleeping or waiting in a call
//! that is never restarted after a signal handler (`nanosleep`, `poll`,
//! `epoll_wait`, … — see signal(7)) returns `EINTR` for it.
//!
//! `setfsuid`, `setfsgid`, `capset`, `unshare`, `setns` and the
//! credential `prctl` options have no such wrapper (glibc and libcap change
//! the calling thread only); the executor refuses them (see
//! [`sysgate_sys::ExecClass::PerThreadState`]).

use crate::call::PreparedCall;

/// The calls glibc applies to every thread of the process.
const EVERY_THREAD: [libc::c_long; 7] = [
    libc::SYS_setuid,
    libc::SYS_setgid,
    libc::SYS_setreuid,
    libc::SYS_setregid,
    libc::SYS_setresuid,
    libc::SYS_setresgid,
    libc::SYS_setgroups,
];

/// Whether the executor applies syscall `nr` to every thread (through
/// [`apply_to_every_thread`]).
pub(crate) fn applies_to_every_thread(nr: u32) -> bool {
    EVERY_THREAD.contains(&libc::c_long::from(nr))
}

/// Runs `call` through glibc's wrapper, which applies it to every thread
/// of the process; `None` if the call has no such wrapper (refuse it).
/// Returns the raw result (`-errno` on failure).
pub(crate) fn apply_to_every_thread(call: &PreparedCall) -> Option<i64> {
    let a = call.args;
    // The kernel takes the low 32 bits of an id; -1 means "unchanged" where
    // the call allows it, as for the wrappers.
    let id = |i: usize| a[i] as u32;
    // SAFETY: these wrappers take ids by value, except setgroups, whose
    // list is either one of the call's own buffers (checked to hold `size`
    // ids before any call runs) or an immediate the submitter vouches for,
    // as for any syscall it submits.
    let r = unsafe {
        match call.nr as libc::c_long {
            libc::SYS_setuid => libc::setuid(id(0)),
            libc::SYS_setgid => libc::setgid(id(0)),
            libc::SYS_setreuid => libc::setreuid(id(0), id(1)),
            libc::SYS_setregid => libc::setregid(id(0), id(1)),
            libc::SYS_setresuid => libc::setresuid(id(0), id(1), id(2)),
            libc::SYS_setresgid => libc::setresgid(id(0), id(1), id(2)),
            libc::SYS_setgroups => libc::setgroups(a[0] as usize, a[1] as *const libc::gid_t),
            _ => return None,
        }
    };
    Some(if r == 0 {
        0
    } else {
        -i64::from(
            std::io::Error::last_os_error()
                .raw_os_error()
                .unwrap_or(libc::EINVAL),
        )
    })
}
