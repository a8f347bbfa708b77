//! The serialized form of everything that crosses a sysgate ring.
//!
//! A submitter encodes [`Submission`]s into the submission ring; the executor
//! answers each with one [`Completion`] on the completion ring. This crate
//! defines those messages, their byte encoding ([`encode_into`], [`decode`]),
//! and the semantic checks ([`Submission::validate`]) that come after
//! decoding. `proto/SPEC.md` documents the bytes.
//!
//! ```
//! use sysgate_proto::{decode, encode_to_vec, Op, Submission, SyscallOp};
//!
//! let sub = Submission::new(7, Op::Syscall(SyscallOp::immediate(110, &[]))); // getppid
//! let frame = encode_to_vec(&sub).unwrap();
//! let back: Submission = decode(&frame).unwrap();
//! back.validate(None).unwrap();
//! assert_eq!(back, sub);
//! ```
#![warn(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]
#![forbid(unsafe_code)]

mod codec;
pub mod codes;
#[doc(hidden)]
pub mod fuzz;
mod message;
mod plain;
mod validate;

pub use codec::{
    DecodeError, EncodeError, Message, decode, encode_into, encode_to_vec, encoded_len,
    peek_user_data,
};
pub use message::{
    ArenaRange, Arg, Args, Buffer, Bytes, CancelTarget, Completion, CompletionFlags, LinkedOutput,
    Op, Reloc, Submission, SubmissionFlags, SyscallOp,
};
pub use plain::{
    CompletionView, PLAIN_COMPLETION_LEN, PlainCall, PlainCompletion, encode_completion,
    plain_call_len,
};
pub use validate::ValidationError;

/// The format version: the first byte of every frame.
///
/// Compatibility rule: the version changes whenever the bytes of something
/// that already exists change (a field, its width or order, a tag). Adding a
/// new enum variant or flag bit at the end does not change it: an older
/// decoder rejects the newcomer with a typed error ([`DecodeError::UnknownTag`],
/// [`ValidationError::UnknownFlags`]) instead of misreading it. A decoder
/// accepts exactly its own version.
pub const VERSION: u8 = 1;

/// Arguments a system call takes at most.
pub const MAX_ARGS: usize = 6;
/// Buffers one call may carry at most (an iovec array of `IOV_MAX` entries
/// needs that many).
pub const MAX_BUFFERS: usize = 1024;
/// Relocations one call may carry at most.
pub const MAX_RELOCS: usize = 1024;
/// Bytes of buffer memory carried in frames (input, output and in/out
/// together, arena buffers not counted) one call may use at most; the same
/// bound holds for the outputs of a completion.
pub const MAX_DATA_LEN: usize = 1 << 20;
/// The longest frame, version byte included, that encodes or decodes. Every
/// message that passes validation fits: a submission with the most buffers,
/// relocations and data is 1,077,358 bytes, a completion at most 1,056,797.
pub const MAX_MESSAGE_LEN: usize = MAX_DATA_LEN + 32 * 1024;
