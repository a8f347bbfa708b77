//! What can go wrong, typed.

use std::fmt;
use std::io;

pub use sysgate_sys::Errno;

/// Why an operation failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The system call ran and failed: `-1 ENOENT (No such file or
    /// directory)`. A cancelled request fails with `ECANCELED`, an expired
    /// timeout with `ETIME`.
    Os(Errno),
    /// The executor refused to run the call: it is forbidden
    /// (`EPERM`: `exit`, `execve`, `fork`, …) or thread-affine and would
    /// have run off the submitting thread (`EXDEV`).
    Refused(Errno),
    /// The request was built wrong; nothing was submitted.
    Invalid(InvalidRequest),
    /// The executor could not decode or validate the request (a protocol
    /// result code, see `sysgate_proto::codes`).
    Protocol(i64),
    /// The request does not fit the ring's frame limit, or the codec failed.
    Encode(sysgate_proto::EncodeError),
    /// A ring is corrupt; the gateway cannot go on.
    Ring(sysgate_ring::RingError),
    /// The shared-memory region or buffer arena could not be created.
    Region(sysgate_ring::RegionError),
    /// The worker running the call panicked.
    WorkerPanicked,
    /// The request's buffers are too big for a frame and need `bytes` of
    /// the buffer arena (whole pages), more than all of it: `limit` bytes,
    /// the most one request can move. Nothing was submitted. A gateway
    /// built with a larger [`crate::GatewayBuilder::arena_bytes`] takes it.
    BuffersTooLarge {
        /// Arena bytes the request needs.
        bytes: u64,
        /// The arena's size.
        limit: u64,
    },
    /// The request's buffers need `bytes` of the buffer arena, but earlier
    /// big requests hold it: the longest free range is `largest_free`
    /// bytes. Nothing was submitted; it fits once their completions have
    /// been taken (awaited, or their futures dropped and the completions
    /// reaped).
    ArenaFull {
        /// Arena bytes the request needs.
        bytes: u64,
        /// The longest free range now.
        largest_free: u64,
    },
}

/// What is wrong with a request (found before it is submitted).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum InvalidRequest {
    /// No syscall has this name on this architecture.
    UnknownSyscall(String),
    /// A path or string argument holds a NUL byte.
    NulInString {
        /// The argument's position.
        arg: usize,
    },
    /// More than six arguments.
    TooManyArgs(usize),
    /// An immediate value where the syscall takes a pointer: sysgate cannot
    /// know the memory stays valid. Pass a buffer, or use the unsafe
    /// [`crate::raw_ptr`].
    PointerImmediate {
        /// The syscall.
        syscall: &'static str,
        /// The argument's position.
        arg: usize,
    },
    /// sysgate has no signature for this syscall, so it cannot tell which
    /// arguments are pointers; only the unsafe [`crate::raw_ptr`] may run
    /// it with immediates.
    NoSignature(u32),
    /// A result reference (`Fd::Result`, `RawArg::Result`) names an op that
    /// is not earlier in the same link chain.
    ResultOutsideChain {
        /// The op holding the reference (its position in the batch).
        op: usize,
        /// The op it names.
        names: usize,
    },
    /// The batch marks a link after its last op (`then` with nothing to
    /// link from).
    LinkWithoutPrevious,
    /// The request fails the wire format's validation.
    Validation(sysgate_proto::ValidationError),
    /// Buffer `buf` names bytes of the buffer arena: only the gateway
    /// places buffers there (a request's own arena reference could overlap
    /// another request's).
    ArenaBuffer {
        /// The buffer's position.
        buf: usize,
    },
}

impl Error {
    /// The errno, for [`Error::Os`] and [`Error::Refused`].
    pub fn errno(&self) -> Option<Errno> {
        match self {
            Error::Os(e) | Error::Refused(e) => Some(*e),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Os(e) => write!(f, "{e}"),
            Error::Refused(e) => write!(f, "refused by the executor: {e}"),
            Error::Invalid(e) => write!(f, "invalid request: {e}"),
            Error::Protocol(code) => write!(f, "the executor rejected the request (code {code})"),
            Error::Encode(e) => write!(f, "cannot encode the request: {e}"),
            Error::Ring(e) => write!(f, "ring: {e}"),
            Error::Region(e) => write!(f, "cannot create the rings: {e}"),
            Error::WorkerPanicked => write!(f, "the worker running the call panicked"),
            Error::BuffersTooLarge { bytes, limit } => write!(
                f,
                "the request's buffers need {bytes} bytes of the buffer arena, which holds \
                 {limit} (the most one request can move; see GatewayBuilder::arena_bytes)"
            ),
            Error::ArenaFull {
                bytes,
                largest_free,
            } => write!(
                f,
                "the buffer arena has no {bytes} free bytes now (longest free range \
                 {largest_free}): requests in flight hold it"
            ),
        }
    }
}

impl fmt::Display for InvalidRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InvalidRequest::UnknownSyscall(name) => write!(f, "no syscall named {name:?}"),
            InvalidRequest::NulInString { arg } => {
                write!(f, "argument {arg} holds a NUL byte")
            }
            InvalidRequest::TooManyArgs(n) => write!(f, "{n} arguments; a syscall takes at most 6"),
            InvalidRequest::PointerImmediate { syscall, arg } => write!(
                f,
                "argument {arg} of {syscall} is a pointer: pass a buffer, or use the unsafe raw_ptr"
            ),
            InvalidRequest::NoSignature(nr) => write!(
                f,
                "syscall {nr} has no signature, so its pointer arguments are unknown: use the unsafe raw_ptr"
            ),
            InvalidRequest::ResultOutsideChain { op, names } => write!(
                f,
                "op {op} uses the result of op {names}, which is not earlier in its link chain"
            ),
            InvalidRequest::LinkWithoutPrevious => write!(f, "a link needs an op before it"),
            InvalidRequest::Validation(e) => write!(f, "{e}"),
            InvalidRequest::ArenaBuffer { buf } => write!(
                f,
                "buffer {buf} names arena bytes; only the gateway places buffers in the arena"
            ),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Os(e) | Error::Refused(e) => Some(e),
            Error::Encode(e) => Some(e),
            Error::Ring(e) => Some(e),
            Error::Region(e) => Some(e),
            _ => None,
        }
    }
}

impl std::error::Error for InvalidRequest {}

impl From<InvalidRequest> for Error {
    fn from(e: InvalidRequest) -> Self {
        Error::Invalid(e)
    }
}

impl From<Error> for io::Error {
    fn from(e: Error) -> Self {
        match e {
            Error::Os(errno) => errno.into(),
            Error::Refused(errno) => {
                io::Error::new(io::ErrorKind::PermissionDenied, Error::Refused(errno))
            }
            Error::Invalid(_) => io::Error::new(io::ErrorKind::InvalidInput, e),
            other => io::Error::other(other),
        }
    }
}

/// The result of an operation that hands a buffer back: the buffer comes
/// back whether the call succeeded or not.
pub type BufResult<T, B> = (Result<T, Error>, B);
