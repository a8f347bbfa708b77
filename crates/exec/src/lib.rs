//! The sysgate executor: inline-first dispatch and an io-wq-style worker
//! pool.
//!
//! An [`Executor`] takes submission frames off a `sysgate-ring` submission
//! ring, decodes and validates them, and runs each call where it belongs:
//!
//! | class (from `sysgate-sys`) | where it runs |
//! |---|---|
//! | non-blocking | inline, on the thread that called [`Executor::enter`] |
//! | nowait-capable | inline in a form that cannot block (`RWF_NOWAIT`, `MSG_DONTWAIT`, or an `O_NONBLOCK` fd); if it would block on a pollable fd, parked until ready (no thread held) and retried inline; on a regular file, the pool |
//! | cached-first (`openat`, `openat2`) | inline with `RESOLVE_CACHED`; creating/truncating opens and cache misses on the pool |
//! | blocking, unknown | the pool |
//! | thread-affine | inline on the submitting thread only; otherwise refused with [`sysgate_proto::codes::WRONG_THREAD`] |
//! | per-thread state | the `setuid` family: inline on whichever thread takes it, through glibc's wrappers, which change every thread of the process at once (threads started later inherit the change); the rest (`setfsuid`, `capset`, `unshare`, `setns`, credential `prctl`s): refused with [`sysgate_proto::codes::FORBIDDEN`] |
//! | breaks the runner | refused with [`sysgate_proto::codes::FORBIDDEN`], never run |
//! | forbidden | refused with [`sysgate_proto::codes::FORBIDDEN`], never run |
//!
//! The class comes from [`sysgate_sys::class_of_call`], so `prctl` and
//! `arch_prctl` are judged by their option. Besides its class, a call is
//! refused when it names a descriptor the gateway holds ([`hold_fd`]), and
//! a call with buffers when it would read or write outside them
//! ([`sysgate_proto::codes::BAD_BUFFER`]; the signature says how far each
//! length, count and nested pointer reaches). [`refusal_reason`] says why.
//! Signal masks a call installs keep glibc's internal signals and the
//! pool's interrupt signal deliverable, as glibc's `sigprocmask` does.
//!
//! Readiness is processed where submissions are: by [`Executor::enter`]
//! (which, while requests are parked, sleeps in the executor's io_uring and
//! retries ready calls on the submitting thread) or by the polling thread
//! (which sleeps on its polls and its ring's futex at once). Link chains
//! (`LINK`, `HARDLINK`, results forwarded with `Arg::LinkResult`),
//! `Cancel`, `Timeout`, `LinkTimeout` and `DRAIN` work as in io_uring.
//!
//! The `ASYNC` submission flag skips the inline attempt; `NOWAIT` never uses
//! the pool and completes `-EAGAIN` instead. Every accepted submission gets
//! exactly one completion on the completion ring — also for frames that fail
//! to decode ([`sysgate_proto::codes`]), for a worker that panics
//! ([`sysgate_proto::codes::WORKER_PANICKED`]), and when the executor is dropped (queued work
//! completes `-ECANCELED`).
//!
//! # Trust
//!
//! Submitting a call is the same contract as calling `syscall(2)` with its
//! words: an immediate argument used as a pointer must point at memory that
//! is valid for the call. The executor protects itself from malformed
//! frames (nothing in a frame can make it read or write outside the memory
//! it allocated for the call's buffers, or outside the submitter's buffer
//! arena: every arena buffer is checked against the arena given to
//! [`ExecutorBuilder::arena`] and refused with a protocol error otherwise),
//! but it runs the calls it is asked to run with the process's authority: a
//! path such as `/proc/self/mem` or `/proc/self/fd/N` still reaches the
//! process's memory and descriptors.
//!
//! Arena buffers are passed to the kernel by address, never copied; their
//! outputs are not copied into the completion (its output is an empty
//! placeholder and the result says how much was written). The submitter
//! must not reuse an arena range before the request's completion: the
//! executor posts it only once the call is done with the memory.
#![warn(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

mod bounds;
mod call;
mod creds;
mod dispatch;
mod executor;
mod fdinfo;
#[doc(hidden)]
pub mod fuzz;
mod held;
mod interrupt;
mod pool;
mod reactor;
mod rings;
mod timers;

use std::fmt;

use dispatch::Refusal;

/// `refusal_reason(nr, args)` — why the executor refuses a call with these
/// words (answering [`sysgate_proto::codes::FORBIDDEN`] with the REFUSED
/// flag), if it does: the syscall table's reason for a call that is
/// forbidden, would break the thread that runs it, or changes per-thread
/// state that cannot be applied to every thread; or the descriptor the
/// gateway holds that it names. `None` if its words alone are no reason to
/// refuse it.
pub fn refusal_reason(nr: u32, args: &[u64; 6]) -> Option<String> {
    let class = sysgate_sys::class_of_call(nr, args);
    Some(match dispatch::refusal(nr, args, class)? {
        Refusal::Class(reason) => reason
            .unwrap_or("the gateway never runs this call")
            .to_owned(),
        Refusal::HeldFd(fd) => format!(
            "descriptor {fd} is one the gateway itself holds (its rings, its io_uring, or one its \
             program registered with hold_fd, such as the shell's own input and output): using, \
             closing or replacing it would break what holds it"
        ),
        Refusal::InterruptSignal(sig) => format!(
            "signal {sig} is the one the gateway's pool interrupts blocked calls with: changing its \
             handler would leave cancelled calls running"
        ),
    })
}

pub use executor::{CompletionWaiter, Executor, ExecutorBuilder, WaitInterrupter, Waited};
pub use held::{HeldFd, hold_copy, hold_fd, is_held};
pub use interrupt::default_signal;
pub use pool::{Account, AccountStats, PoolConfig, PoolStats, WorkerPool};
pub use reactor::ReadinessBackend;

/// Why [`Executor::enter`] returned early.
#[derive(Debug)]
#[non_exhaustive]
pub enum EnterError {
    /// The submission ring is corrupt (its header or a frame length is
    /// impossible); nothing more can be read from it.
    Ring(sysgate_ring::RingError),
    /// The timeout passed before `min_complete` completions were waiting.
    TimedOut {
        /// Submissions taken off the ring before the wait.
        taken: u32,
    },
}

impl fmt::Display for EnterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EnterError::Ring(e) => write!(f, "enter: submission ring: {e}"),
            EnterError::TimedOut { taken } => {
                write!(
                    f,
                    "enter: timed out waiting for completions ({taken} submissions taken)"
                )
            }
        }
    }
}

impl std::error::Error for EnterError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            EnterError::Ring(e) => Some(e),
            EnterError::TimedOut { .. } => None,
        }
    }
}

/// Counters of an executor, readable at any time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExecStats {
    /// Frames taken off the submission ring.
    pub submitted: u64,
    /// Requests answered on the submitting (or polling) thread.
    pub inline: u64,
    /// Requests handed to the bounded account of the pool.
    pub punted_bounded: u64,
    /// Requests handed to the unbounded account of the pool.
    pub punted_unbounded: u64,
    /// Calls refused (forbidden, or thread-affine off their thread).
    pub refused: u64,
    /// Frames that failed to decode or validate.
    pub protocol_errors: u64,
    /// Requests parked on readiness since the start (each parking counts).
    pub parked_total: u64,
    /// Requests parked on readiness now.
    pub parked: u64,
    /// Requests that completed inline after waiting for readiness.
    pub polled: u64,
    /// Completions posted.
    pub completed: u64,
    /// Completions that could not be posted because the completion ring is
    /// corrupt (a peer broke it). A completion too large for a frame is
    /// not lost: a stand-in without outputs
    /// ([`sysgate_proto::codes::OUTPUT_TOO_LARGE`]) is posted instead.
    pub lost: u64,
    /// Requests on the pool now.
    pub in_pool: u64,
    /// The pool's own counters (shared with other executors on the pool).
    pub pool: PoolStats,
    /// How parked requests wait for readiness (see
    /// [`Executor::readiness`]); `None` in the default value only.
    pub readiness: Option<ReadinessBackend>,
}
