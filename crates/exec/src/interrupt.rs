//! Interrupting a call that blocks on a pool worker.
//!
//! A worker blocked in a syscall is interrupted by sending its thread a
//! signal whose handler does nothing and is installed *without*
//! `SA_RESTART`: the kernel then returns `EINTR` from the blocking call
//! instead of restarting it. The signal is a real-time one
//! ([`default_signal`], configurable per pool), sent only to our own worker
//! threads with `tgkill`, so the host program's threads never see it. If the
//! host already handles that signal, sysgate leaves its handler alone and
//! running calls simply cannot be interrupted (cancelling one reports
//! `-EALREADY`, and dropping an executor waits for it).

use std::sync::Mutex;

/// The signal used when none is configured: `SIGRTMIN + 6` (glibc keeps the
/// first two or three real-time signals for itself; `SIGRTMIN()` already
/// accounts for them).
pub fn default_signal() -> i32 {
    libc::SIGRTMIN() + 6
}

extern "C" fn on_interrupt(_: libc::c_int) {}

/// Signals whose handler is ours.
static INSTALLED: Mutex<Vec<i32>> = Mutex::new(Vec::new());

/// Installs the do-nothing handler for `sig` unless someone else handles it.
/// Returns whether `sig` can be used to interrupt workers.
pub(crate) fn install(sig: i32) -> bool {
    let mut installed = INSTALLED.lock().unwrap_or_else(|e| e.into_inner());
    if installed.contains(&sig) {
        return true;
    }
    let mut old = std::mem::MaybeUninit::<libc::sigaction>::zeroed();
    // SAFETY: a null new action only reads the current one into `old`.
    if unsafe { libc::sigaction(sig, std::ptr::null(), old.as_mut_ptr()) } != 0 {
        return false;
    }
    // SAFETY: sigaction succeeded and filled `old` (zeroed before anyway).
    let old = unsafe { old.assume_init() };
    if old.sa_sigaction != libc::SIG_DFL && old.sa_sigaction != libc::SIG_IGN {
        return false;
    }
    // SAFETY: `sigaction` is plain data; zeroed is a valid empty value.
    let mut act: libc::sigaction = unsafe { std::mem::zeroed() };
    act.sa_sigaction = on_interrupt as *const () as libc::sighandler_t;
    // No SA_RESTART: that is the point. No SA_SIGINFO: a plain handler.
    act.sa_flags = 0;
    // SAFETY: `act.sa_mask` is a valid sigset_t inside `act`.
    unsafe { libc::sigemptyset(&mut act.sa_mask) };
    // SAFETY: installs a valid, async-signal-safe (empty) handler.
    if unsafe { libc::sigaction(sig, &act, std::ptr::null_mut()) } != 0 {
        return false;
    }
    installed.push(sig);
    true
}

/// Whether `sig` is a signal the pool interrupts workers with (its
/// handler is ours).
pub(crate) fn is_ours(sig: i32) -> bool {
    INSTALLED
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .contains(&sig)
}

/// The signals the pool interrupts workers with, as a kernel signal mask
/// (signal n is bit n − 1).
pub(crate) fn our_mask() -> u64 {
    INSTALLED
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .filter(|&&sig| (1..=64).contains(&sig))
        .fold(0, |mask, &sig| mask | 1 << (sig - 1))
}

/// Lets `sig` reach the calling thread, whatever mask it inherited.
pub(crate) fn unblock_on_this_thread(sig: i32) {
    // SAFETY: builds a one-signal set on the stack and changes only this
    // thread's mask.
    unsafe {
        let mut set = std::mem::zeroed::<libc::sigset_t>();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, sig);
        libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
    }
}

/// Sends `sig` to thread `tid` of this process.
pub(crate) fn interrupt(tid: i32, sig: i32) {
    // SAFETY: tgkill with our own pid only signals a thread of this process;
    // `sig` has our empty handler installed (checked by the caller).
    unsafe {
        libc::syscall(libc::SYS_tgkill, libc::getpid(), tid, sig);
    }
}
