//! Shared-memory SQ/CQ rings of byte frames: the transport between a sysgate
//! client and its executor, in one process or across two.
//!
//! A [`Region`] is a sealed memfd mapped `MAP_SHARED`: a header (magic,
//! version, sizes, per-ring head and tail on cache lines of their own, a
//! flags word) followed by the submission ring (SQ) and the completion ring
//! (CQ). Each ring carries length-prefixed frames that never wrap. Each ring
//! has one [`Producer`] and one [`Consumer`]; the completion side wraps its
//! producer in a [`CompletionPoster`] so that no completion is ever dropped.
//! This crate knows bytes, not messages.
//!
//! - Steady-state [`Producer::push`] / [`Consumer::pop`] make no syscall and
//!   no allocation: indices are cached, and `FUTEX_WAKE` is called only when
//!   the other side has announced (NEED_WAKEUP) that it sleeps.
//! - [`Consumer::wait`] and [`Producer::wait_for_space`] sleep on shared
//!   futexes, with timeouts, and work across processes.
//! - The peer is not trusted: indices and record headers are checked against
//!   the ring before use and frames are copied out before anyone parses them;
//!   a corrupt peer yields a [`RingError`], never UB, a panic or a hang.
//!
//! An [`Arena`] beside the rings (a sealed memfd of its own, shared the same
//! way) holds the bytes of big buffers, which frames name by offset and
//! length.
//!
//! The byte layout is in [`layout`]; `README.md` has the loom command.
//!
//! # Example
//!
//! (Compiled, not run: `RUSTFLAGS="--cfg loom"` also reaches the doctests'
//! library but not the doctests, which would then touch loom types outside a
//! model. The same calls run in the unit tests.)
//!
//! ```no_run
//! use sysgate_ring::{CompletionPoster, Region, RegionSizes};
//!
//! let region = Region::create(RegionSizes { sq_bytes: 4096, cq_bytes: 4096, max_frame: 512 })?;
//! // Submit side.
//! let mut sq = region.sq_producer()?;
//! let mut cq = region.cq_consumer()?;
//! // Executor side (normally another thread, or another process that got
//! // `region.fd()` and called `Region::map`).
//! let mut requests = region.sq_consumer()?;
//! let mut completions = CompletionPoster::new(region.cq_producer()?);
//!
//! sq.push(b"request".as_slice())?;
//! let mut buf = Vec::new();
//! assert_eq!(requests.pop(&mut buf)?, Some(7));
//! completions.post(b"done".as_slice())?;
//! assert_eq!(cq.pop(&mut buf)?, Some(4));
//! assert_eq!(buf, b"done");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![warn(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

#[cfg(not(loom))]
mod arena;
mod error;
#[cfg(not(loom))]
mod fuzz;
pub mod layout;
mod poster;
mod region;
mod ring;
mod shim;
#[cfg(all(test, not(loom)))]
mod tests;

#[cfg(not(loom))]
pub use arena::{Arena, MAX_ARENA_BYTES};
pub use error::{
    Endpoint, Errno, FutexOp, HeaderField, IndexKind, PushError, RegionCall, RegionError,
    RingError, RingId, SizeField, WaitStatus,
};
#[cfg(not(loom))]
pub use fuzz::fuzz_ring;
pub use poster::{CompletionPoster, PostError, Posted};
pub use region::{Region, RegionSizes};
pub use ring::{Consumer, Producer, RingWaker};
