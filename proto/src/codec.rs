//! Bytes ↔ messages. The only module that names bincode.
//!
//! A frame is one version byte ([`VERSION`]) followed by the message encoded
//! by bincode 2.0.1 (serde mode) with its standard configuration switched to
//! fixed-width little-endian integers, and a byte limit of
//! [`MAX_MESSAGE_LEN`] on every decode. `proto/SPEC.md` spells the bytes out.

use std::fmt;

use bincode::config::{self, Config};
use bincode::error::{DecodeError as BinDecodeError, EncodeError as BinEncodeError};
use serde::{Deserialize, Serialize};

use crate::message::rejected_tag;
use crate::{Completion, MAX_MESSAGE_LEN, Submission, VERSION};

fn config() -> impl Config {
    config::standard()
        .with_little_endian()
        .with_fixed_int_encoding()
        .with_limit::<MAX_MESSAGE_LEN>()
}

/// The messages a frame can carry. Sealed: only [`Submission`] and
/// [`Completion`].
pub trait Message<'de>: Serialize + Deserialize<'de> + private::Sealed {}
impl<'de> Message<'de> for Submission<'de> {}
impl<'de> Message<'de> for Completion<'de> {}
mod private {
    pub trait Sealed {}
    impl Sealed for crate::Submission<'_> {}
    impl Sealed for crate::Completion<'_> {}
}

/// Why a message could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EncodeError {
    /// The destination slice is too small; `needed` bytes would fit it.
    BufferTooSmall {
        /// The encoded length of the message.
        needed: usize,
    },
    /// The message encodes to more than [`MAX_MESSAGE_LEN`] bytes.
    TooLarge {
        /// The encoded length of the message.
        len: usize,
    },
    /// The codec failed for another reason. The message types are plain
    /// data with known lengths, so this is not expected; the text is for
    /// humans.
    Codec(String),
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::BufferTooSmall { needed } => {
                write!(f, "encode: destination too small, {needed} bytes needed")
            }
            EncodeError::TooLarge { len } => {
                write!(
                    f,
                    "encode: message is {len} bytes, over the {MAX_MESSAGE_LEN}-byte limit"
                )
            }
            EncodeError::Codec(why) => write!(f, "encode: {why}"),
        }
    }
}
impl std::error::Error for EncodeError {}

/// Why bytes could not be decoded into a message.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// The frame has no bytes at all.
    Empty,
    /// The version byte is not [`VERSION`].
    UnsupportedVersion {
        /// The byte found.
        found: u8,
    },
    /// The bytes end in the middle of a field (a length prefix may claim
    /// more bytes than there are).
    Truncated,
    /// The frame is longer than [`MAX_MESSAGE_LEN`], or a length field
    /// claims more than the limit allows.
    LimitExceeded,
    /// An enum tag has no variant.
    UnknownTag {
        /// The enum.
        ty: &'static str,
        /// The tag found.
        tag: u32,
    },
    /// The message ends before the frame does.
    TrailingBytes {
        /// How many bytes are left over.
        count: usize,
    },
    /// A length does not fit this machine's address space.
    LengthOverflow,
    /// Any other structural failure reported by the codec; the text is
    /// for humans only.
    Malformed(String),
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Empty => f.write_str("decode: empty frame"),
            DecodeError::UnsupportedVersion { found } => {
                write!(
                    f,
                    "decode: format version {found}, this decoder speaks {VERSION}"
                )
            }
            DecodeError::Truncated => f.write_str("decode: frame ends inside a field"),
            DecodeError::LimitExceeded => {
                write!(f, "decode: frame exceeds the {MAX_MESSAGE_LEN}-byte limit")
            }
            DecodeError::UnknownTag { ty, tag } => write!(f, "decode: unknown {ty} tag {tag}"),
            DecodeError::TrailingBytes { count } => {
                write!(f, "decode: {count} bytes after the end of the message")
            }
            DecodeError::LengthOverflow => f.write_str("decode: length does not fit in usize"),
            DecodeError::Malformed(why) => write!(f, "decode: malformed frame: {why}"),
        }
    }
}
impl std::error::Error for DecodeError {}

/// Encodes `msg` (version byte first) into `dst`; returns the length used.
pub fn encode_into<'de, M: Message<'de>>(msg: &M, dst: &mut [u8]) -> Result<usize, EncodeError> {
    let Some((version, body)) = dst.split_first_mut() else {
        return Err(EncodeError::BufferTooSmall {
            needed: encoded_len(msg)?,
        });
    };
    *version = VERSION;
    match bincode::serde::encode_into_slice(msg, body, config()) {
        Ok(n) => check_len(1 + n),
        Err(BinEncodeError::UnexpectedEnd) => Err(EncodeError::BufferTooSmall {
            needed: encoded_len(msg)?,
        }),
        Err(other) => Err(EncodeError::Codec(other.to_string())),
    }
}

/// The number of bytes `msg` encodes to, version byte included.
pub fn encoded_len<'de, M: Message<'de>>(msg: &M) -> Result<usize, EncodeError> {
    let mut counter = LenCounter(0);
    match bincode::serde::encode_into_writer(msg, &mut counter, config()) {
        Ok(()) => check_len(1 + counter.0),
        Err(other) => Err(EncodeError::Codec(other.to_string())),
    }
}

/// Encodes `msg` into a new vector of exactly its length.
pub fn encode_to_vec<'de, M: Message<'de>>(msg: &M) -> Result<Vec<u8>, EncodeError> {
    let mut buf = vec![0; encoded_len(msg)?];
    let n = encode_into(msg, &mut buf)?;
    debug_assert_eq!(n, buf.len());
    Ok(buf)
}

fn check_len(len: usize) -> Result<usize, EncodeError> {
    if len > MAX_MESSAGE_LEN {
        Err(EncodeError::TooLarge { len })
    } else {
        Ok(len)
    }
}

struct LenCounter(usize);
impl bincode::enc::write::Writer for LenCounter {
    fn write(&mut self, bytes: &[u8]) -> Result<(), BinEncodeError> {
        self.0 += bytes.len();
        Ok(())
    }
}

/// Decodes one whole frame. Byte buffers in the result borrow from
/// `bytes`; a [`Submission`] whose arguments are all immediate decodes
/// without allocating.
///
/// Decoding checks structure only; call `validate` on the result before
/// acting on it.
pub fn decode<'de, M: Message<'de>>(bytes: &'de [u8]) -> Result<M, DecodeError> {
    let (&version, body) = bytes.split_first().ok_or(DecodeError::Empty)?;
    if version != VERSION {
        return Err(DecodeError::UnsupportedVersion { found: version });
    }
    if bytes.len() > MAX_MESSAGE_LEN {
        return Err(DecodeError::LimitExceeded);
    }
    rejected_tag::take();
    match bincode::serde::borrow_decode_from_slice(body, config()) {
        Ok((msg, used)) if used == body.len() => Ok(msg),
        Ok((_, used)) => Err(DecodeError::TrailingBytes {
            count: body.len() - used,
        }),
        Err(e) => Err(map_decode_error(e)),
    }
}

/// Reads the `user_data` of a submission frame without decoding the rest, so
/// that even a frame that fails to decode can be answered.
pub fn peek_user_data(bytes: &[u8]) -> Option<u64> {
    let word = bytes.get(1..9)?;
    Some(u64::from_le_bytes(word.try_into().ok()?))
}

fn map_decode_error(e: BinDecodeError) -> DecodeError {
    if let Some((ty, tag)) = rejected_tag::take() {
        return DecodeError::UnknownTag { ty, tag };
    }
    match e {
        BinDecodeError::UnexpectedEnd { .. } => DecodeError::Truncated,
        BinDecodeError::LimitExceeded => DecodeError::LimitExceeded,
        BinDecodeError::OutsideUsizeRange(_) => DecodeError::LengthOverflow,
        other => DecodeError::Malformed(other.to_string()),
    }
}
