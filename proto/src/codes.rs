//! Result codes the executor itself produces (as opposed to the kernel).
//!
//! They are negative errnos like any other result, set together with a
//! completion flag that says the executor, not the call, produced them.
//! The errno values are Linux's generic ones (the same on x86_64 and
//! aarch64).

/// `user_data` of a completion for a frame too short to carry one.
pub const UNKNOWN_USER_DATA: u64 = u64::MAX;

/// `-EBADMSG`, with [`crate::CompletionFlags::PROTOCOL_ERROR`]: the frame
/// could not be decoded.
pub const UNDECODABLE: i64 = -74;

/// `-EPROTONOSUPPORT`, with [`crate::CompletionFlags::PROTOCOL_ERROR`]: the
/// frame's version byte is not [`crate::VERSION`].
pub const UNSUPPORTED_VERSION: i64 = -93;

/// `-EINVAL`, with [`crate::CompletionFlags::PROTOCOL_ERROR`]: the frame
/// decoded but failed [`crate::Submission::validate`].
pub const INVALID: i64 = -22;

/// `-EPERM`, with [`crate::CompletionFlags::REFUSED`]: the executor does not
/// run this call — it is forbidden (exit, exit_group, clone, execve,
/// rt_sigreturn, …), would break the thread that runs it (arch_prctl
/// ARCH_SET_FS, set_tid_address, rseq, sigaltstack, seccomp,
/// prctl PR_SET_SECCOMP, …), changes per-thread state it cannot apply to
/// every thread (setfsuid, capset, unshare, setns, …), or names a
/// descriptor the gateway itself holds.
pub const FORBIDDEN: i64 = -1;

/// `-EXDEV`, with [`crate::CompletionFlags::REFUSED`]: the call acts on the
/// calling thread (gettid, rt_sigprocmask, unshare, …) and would have run on
/// another one (forced async, or submitted to the polling thread), so it was
/// not run.
pub const WRONG_THREAD: i64 = -18;

/// `-EFAULT`, with [`crate::CompletionFlags::REFUSED`]: the call would
/// read or write outside the memory the request gave it (its buffers and
/// the arena) — a buffer shorter than its length or count argument or its
/// struct, an iovec, msghdr or mmsghdr pointing elsewhere, a handler
/// address in a `struct sigaction`, or a buffer where the call takes an
/// address to map — so it was not run.
pub const BAD_BUFFER: i64 = -14;

/// `-EOWNERDEAD`, with [`crate::CompletionFlags::POOL`]: the pool worker
/// running the call panicked. The pool goes on; the call may or may not
/// have run.
pub const WORKER_PANICKED: i64 = -130;

/// `-E2BIG`, with [`crate::CompletionFlags::PROTOCOL_ERROR`]: the call ran,
/// but its completion with its outputs does not fit a frame of the
/// completion ring; this smaller completion, without outputs, stands in for
/// it (the request still completes exactly once).
pub const OUTPUT_TOO_LARGE: i64 = -7;
