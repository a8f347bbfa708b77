//! What sysgate's tests share: one visible way to skip.
//!
//! A test that needs something this machine may lack (a tool, a kernel
//! feature, root) probes for it and, when it is missing, calls [`skip`]
//! and returns. libtest captures `println!` and `eprintln!` of a passing
//! test, so a skip written with them is invisible; [`skip`] writes straight
//! to the process's standard error, which libtest does not capture, so
//! `cargo test` prints `SKIP <test>: <reason>` among its results.
//!
//! A machine that is meant to have a need (CI installs strace, allows
//! io_uring, raises the descriptor limit) lists it in `SYSGATE_REQUIRE`
//! (comma-separated [`Need::name`]s, or `all`): there a skip for that need
//! is a failure instead.
#![warn(missing_docs)]

use std::io::Write;

/// Something a test needs that a machine may lack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// A working `strace` on `PATH`.
    Strace,
    /// io_uring, allowed by the kernel and any seccomp filter.
    IoUring,
    /// A descriptor limit (`RLIMIT_NOFILE`) high enough for the test.
    FdLimit,
    /// Running as root.
    Root,
    /// A kernel or file-system feature (openat2, user xattrs, …).
    Kernel,
    /// Another tool the test compares against (`du`, …).
    Tool,
    /// The interrupt signal the pool uses to stop a running call, which the
    /// host program may have taken.
    InterruptSignal,
}

impl Need {
    /// The name used in `SKIP` lines and in `SYSGATE_REQUIRE`.
    pub const fn name(self) -> &'static str {
        match self {
            Need::Strace => "strace",
            Need::IoUring => "io_uring",
            Need::FdLimit => "fd_limit",
            Need::Root => "root",
            Need::Kernel => "kernel",
            Need::Tool => "tool",
            Need::InterruptSignal => "interrupt_signal",
        }
    }

    /// Whether `list` (the form of `SYSGATE_REQUIRE`) names this need.
    pub fn listed_in(self, list: &str) -> bool {
        list.split(',')
            .map(str::trim)
            .any(|n| n == "all" || n == self.name())
    }
}

/// Reports that the calling test is skipped for lack of `need`, and why.
///
/// Prints `SKIP <test> [<need>]: <reason>` where `cargo test` shows it.
/// Call it, then return from the test.
///
/// # Panics
///
/// If `SYSGATE_REQUIRE` lists `need`: this machine is meant to have it,
/// so the skip is a failure.
pub fn skip(need: Need, reason: &str) {
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("?");
    let required = std::env::var("SYSGATE_REQUIRE").unwrap_or_default();
    if need.listed_in(&required) {
        panic!(
            "{test} needs {} here (SYSGATE_REQUIRE), but: {reason}",
            need.name()
        );
    }
    let _ = writeln!(std::io::stderr(), "SKIP {test} [{}]: {reason}", need.name());
}

/// Why this process may not use io_uring (`None`: it may): the kernel
/// lacks it, `kernel.io_uring_disabled` is set, or a seccomp filter (as
/// Docker's default profile) refuses `io_uring_setup`.
pub fn io_uring_refused() -> Option<String> {
    // struct io_uring_params is 120 bytes; zeroed asks for nothing special.
    let mut params = [0u64; 15];
    // SAFETY: io_uring_setup reads and writes one io_uring_params, which
    // `params` holds; the fd it returns is closed below.
    let fd = unsafe { libc::syscall(libc::SYS_io_uring_setup, 1u32, params.as_mut_ptr()) };
    if fd < 0 {
        return Some(format!(
            "io_uring_setup: {}",
            std::io::Error::last_os_error()
        ));
    }
    // SAFETY: closes the descriptor io_uring_setup just returned.
    unsafe { libc::close(fd as i32) };
    None
}

/// `openpty()` — a new pseudo-terminal: (controller, terminal), in the
/// line discipline's default (cooked) mode.
///
/// # Panics
/// If the system has no pseudo-terminals to give.
pub fn openpty() -> (std::os::fd::OwnedFd, std::os::fd::OwnedFd) {
    use std::os::fd::FromRawFd;
    let (mut controller, mut terminal) = (-1, -1);
    // SAFETY: openpty writes two descriptors; the name, termios and winsize
    // pointers may be null.
    let rc = unsafe {
        libc::openpty(
            &mut controller,
            &mut terminal,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: both were just created and are owned by nobody else.
    unsafe {
        (
            std::os::fd::OwnedFd::from_raw_fd(controller),
            std::os::fd::OwnedFd::from_raw_fd(terminal),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_need_is_listed_by_name_or_by_all() {
        assert!(Need::IoUring.listed_in("strace, io_uring"));
        assert!(Need::Strace.listed_in("strace"));
        assert!(!Need::Root.listed_in("strace, io_uring"));
        assert!(!Need::Root.listed_in(""));
        assert!(Need::Root.listed_in("all"));
    }
}
