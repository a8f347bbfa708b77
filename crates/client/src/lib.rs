//! Run any Linux system call asynchronously.
//!
//! A [`Gateway`] owns a pair of shared-memory rings and the sysgate
//! executor behind them. Submit typed operations ([`ops`]) or any syscall
//! ([`raw`], [`Syscall::by_name`]); calls that cannot block run inline on
//! the submitting thread, calls waiting on a socket or pipe are parked on
//! readiness without holding a thread, and only calls that really block go
//! to a worker pool. Every op can be awaited as a future (under any async
//! runtime), called blocking ([`Gateway::call`]), or pushed into a
//! [`Batch`] with links between ops.
//!
//! ```
//! use sysgate::{Fd, Gateway, ops};
//! let gw = Gateway::new()?;
//! let fd = gw.call(ops::OpenAt::new(Fd::CWD, "/etc/hostname", libc::O_RDONLY))?;
//! let (n, text) = gw.call(ops::Read::new(&fd, Vec::with_capacity(256)));
//! println!("{} bytes: {}", n?, String::from_utf8_lossy(&text));
//! # Ok::<(), sysgate::Error>(())
//! ```
//!
//! # Buffers and safety
//!
//! Ops own their buffers and hand them back with the result
//! ([`BufResult`]). The executor never sees the program's memory: input
//! bytes are copied into the submission frame, the call runs on memory the
//! executor allocated for it, and output bytes come back in the completion
//! frame, where the op copies them into its buffer. So dropping a future
//! (or the whole gateway) mid-flight cannot leave the kernel writing into
//! freed memory — there is no pointer to the caller's memory to write
//! through. A dropped future cancels its request; a descriptor an
//! abandoned `openat`/`accept4` produces anyway is closed when its
//! completion arrives. This is why the tests that drop futures mid-flight
//! need no Miri: the property is structural, not timing-dependent.
//!
//! # Big buffers
//!
//! A frame carries at most 1 MiB of buffers. Buffers that do not fit go
//! through the gateway's *buffer arena* instead, transparently: at
//! submission the largest are copied into a shared-memory arena beside the
//! rings (or, for outputs, named there), the kernel reads and writes them
//! in place, and on completion the outputs are copied back — every layer
//! (typed ops, [`raw`], [`Request`], batches) sees the same results as for
//! a small request. The arena belongs to the gateway, not to the op: its
//! pages stay reserved until the request's completion has arrived and been
//! taken (or, for a dropped future, reaped), so a cancelled read still
//! running on a worker never writes into pages another request was given.
//! The most one request can move is the arena's size,
//! [`DEFAULT_ARENA_BYTES`] (256 MiB) unless
//! [`GatewayBuilder::arena_bytes`] says otherwise; past it a request fails
//! at once with [`Error::BuffersTooLarge`], and while requests in flight
//! hold the arena with [`Error::ArenaFull`]. Its pages cost memory only
//! while in use and are given back after each request.
//!
//! The same holds for [`raw`]: pointers are passed as buffers, and an
//! immediate word in a position the syscall's signature calls a pointer is
//! refused. Only [`raw_ptr`] passes raw words that may point into the
//! program, and it is `unsafe`.
//!
//! # Where a future is woken
//!
//! A call that completes inline is ready on the first poll, with no thread
//! involved. For the others a driver thread (one per gateway, started on
//! first need, asleep when nothing waits) waits for completions — and for
//! readiness of parked calls — and wakes the task whose request completed.
//! No future busy-polls. A thread blocked in [`Gateway::call`] (or a
//! `wait`) waits in the executor itself when nobody else does, so its
//! completion wakes it directly, without the driver's hand-off.
#![warn(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]
// Under `cfg(loom)` the crate is only its waiting protocol (`handoff`),
// public for the loom model in `tests/loom.rs`: the rest needs the
// executor, which does not build under loom.

#[cfg(not(loom))]
mod arena;
#[cfg(not(loom))]
mod batch;
#[cfg(not(loom))]
mod completed;
#[cfg(not(loom))]
mod error;
#[cfg(not(loom))]
mod gateway;
#[cfg(loom)]
#[doc(hidden)]
pub mod handoff;
#[cfg(not(loom))]
mod handoff;
#[cfg(not(loom))]
mod op;
#[cfg(not(loom))]
pub mod ops;
#[cfg(not(loom))]
mod set;
mod shim;
#[cfg(not(loom))]
mod types;

#[cfg(not(loom))]
use std::{
    future::Future,
    pin::pin,
    sync::Arc,
    task::{Context, Poll, Wake, Waker},
};

#[cfg(not(loom))]
pub use batch::{Batch, BatchFuture, BatchResults};
#[cfg(not(loom))]
pub use completed::Completed;
#[cfg(not(loom))]
pub use error::{BufResult, Errno, Error, InvalidRequest};
#[cfg(not(loom))]
pub use gateway::{DEFAULT_ARENA_BYTES, Gateway, GatewayBuilder, RequestId, Submitted};
#[cfg(not(loom))]
pub use op::{
    Abandon, Fd, Flags, Handle, Operation, Outcome, Posted, RawArg, RawOutput, Request, Syscall,
    check, raw, raw_ptr, refusal_reason,
};
#[cfg(not(loom))]
pub use set::OpSet;
#[cfg(not(loom))]
pub use sysgate_exec::{ExecStats, HeldFd, ReadinessBackend, hold_copy, hold_fd};
#[cfg(not(loom))]
pub use types::{DirEntries, DirEntry, SockAddr, Stat, Statx, Timespec};

/// Wire-format types, for [`Request`] and [`Operation`] implementations.
#[cfg(not(loom))]
pub use sysgate_proto as proto;

/// Runs a future to completion on this thread, sleeping (never spinning)
/// until it is woken: the smallest executor that works with sysgate's
/// futures.
#[cfg(not(loom))]
pub fn block_on<F: Future>(fut: F) -> F::Output {
    let waker = thread_waker();
    let mut cx = Context::from_waker(&waker);
    let mut fut = pin!(fut);
    loop {
        if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
            return out;
        }
        std::thread::park();
    }
}

/// A waker that unparks the current thread.
#[cfg(not(loom))]
fn thread_waker() -> Waker {
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
        fn wake_by_ref(self: &Arc<Self>) {
            self.0.unpark();
        }
    }
    Waker::from(Arc::new(Unpark(std::thread::current())))
}
