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
pub trait Message<'de>: Serialize + Deserialize<'de> + private::Sealed<'de> {}
impl<'de> Message<'de> for Submission<'de> {}
impl<'de> Message<'de> for Completion<'de> {}

mod private {
    /// The common shapes — a call with only immediate arguments, a
    /// completion without outputs — written and read directly, without
    /// serde. They produce exactly the bytes bincode does (SPEC.md; a
    /// property test compares the two), just without the generic machinery,
    /// because the executor's inline path lives on them.
    pub trait Sealed<'de>: Sized {
        /// Encodes `self` if it has the common shape; `None` otherwise.
        fn encode_fast(&self, dst: &mut [u8]) -> Option<Result<usize, super::EncodeError>>;
        /// Decodes `frame` (version byte included) if it has the common
        /// shape; `None` otherwise.
        fn decode_fast(frame: &'de [u8]) -> Option<Self>;
    }
}

/// Bytes of an immediate-only submission with `n` arguments: version,
/// user_data, flags, op tag, nr, argument count, `n` × (tag, word), buffer
/// count, relocation count.
const fn immediate_len(n: usize) -> usize {
    1 + 8 + 1 + 4 + 4 + 8 + 12 * n + 8 + 8
}

/// Bytes of a completion without outputs.
const PLAIN_COMPLETION_LEN: usize = 1 + 8 + 8 + 4 + 8;

fn word(b: &[u8], at: usize) -> u64 {
    let mut w = [0; 8];
    w.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(w)
}

fn word32(b: &[u8], at: usize) -> u32 {
    let mut w = [0; 4];
    w.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(w)
}

impl<'de> private::Sealed<'de> for Submission<'de> {
    fn encode_fast(&self, dst: &mut [u8]) -> Option<Result<usize, EncodeError>> {
        let crate::Op::Syscall(call) = &self.op else {
            return None;
        };
        let args = call.args.as_slice();
        if !call.bufs.is_empty() || !call.relocs.is_empty() || args.len() > crate::MAX_ARGS {
            return None;
        }
        let mut words = [0u64; crate::MAX_ARGS];
        for (w, a) in words.iter_mut().zip(args) {
            let crate::Arg::Imm(v) = a else { return None };
            *w = *v;
        }
        let len = immediate_len(args.len());
        let Some(out) = dst.get_mut(..len) else {
            return Some(Err(EncodeError::BufferTooSmall { needed: len }));
        };
        out[0] = VERSION;
        out[1..9].copy_from_slice(&self.user_data.to_le_bytes());
        out[9] = self.flags.bits();
        out[10..14].copy_from_slice(&0u32.to_le_bytes());
        out[14..18].copy_from_slice(&call.nr.to_le_bytes());
        out[18..26].copy_from_slice(&(args.len() as u64).to_le_bytes());
        let mut at = 26;
        for w in &words[..args.len()] {
            out[at..at + 4].copy_from_slice(&0u32.to_le_bytes());
            out[at + 4..at + 12].copy_from_slice(&w.to_le_bytes());
            at += 12;
        }
        out[at..at + 16].fill(0);
        Some(Ok(len))
    }

    fn decode_fast(b: &'de [u8]) -> Option<Self> {
        if b.len() < immediate_len(0) || b[0] != VERSION || word32(b, 10) != 0 {
            return None;
        }
        let n = usize::try_from(word(b, 18))
            .ok()
            .filter(|&n| n <= crate::MAX_ARGS)?;
        if b.len() != immediate_len(n) {
            return None;
        }
        let mut args = crate::Args::new();
        for i in 0..n {
            let at = 26 + 12 * i;
            if word32(b, at) != 0 {
                return None;
            }
            args.push(crate::Arg::Imm(word(b, at + 4)));
        }
        let at = 26 + 12 * n;
        if word(b, at) != 0 || word(b, at + 8) != 0 {
            return None;
        }
        Some(Submission {
            user_data: word(b, 1),
            flags: crate::SubmissionFlags::from_bits_retain(b[9]),
            op: crate::Op::Syscall(crate::SyscallOp {
                nr: word32(b, 14),
                args,
                bufs: Vec::new(),
                relocs: Vec::new(),
            }),
        })
    }
}

impl<'de> private::Sealed<'de> for Completion<'de> {
    fn encode_fast(&self, dst: &mut [u8]) -> Option<Result<usize, EncodeError>> {
        if !self.outputs.is_empty() {
            return None;
        }
        let Some(out) = dst.get_mut(..PLAIN_COMPLETION_LEN) else {
            return Some(Err(EncodeError::BufferTooSmall {
                needed: PLAIN_COMPLETION_LEN,
            }));
        };
        out[0] = VERSION;
        out[1..9].copy_from_slice(&self.user_data.to_le_bytes());
        out[9..17].copy_from_slice(&self.result.to_le_bytes());
        out[17..21].copy_from_slice(&self.flags.bits().to_le_bytes());
        out[21..29].fill(0);
        Some(Ok(PLAIN_COMPLETION_LEN))
    }

    fn decode_fast(b: &'de [u8]) -> Option<Self> {
        if b.len() != PLAIN_COMPLETION_LEN || b[0] != VERSION || word(b, 21) != 0 {
            return None;
        }
        Some(Completion {
            user_data: word(b, 1),
            result: word(b, 9) as i64,
            flags: crate::CompletionFlags::from_bits_retain(word32(b, 17)),
            outputs: Vec::new(),
        })
    }
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
    if let Some(done) = msg.encode_fast(dst) {
        return done;
    }
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
    if let Some(msg) = M::decode_fast(bytes) {
        return Ok(msg);
    }
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

#[cfg(test)]
mod tests {
    use super::private::Sealed;
    use super::*;
    use crate::{Arg, CompletionFlags, Op, SubmissionFlags, SyscallOp};
    use proptest::prelude::*;

    /// The bincode path alone, for comparing with the direct one.
    fn slow<'de, M: Message<'de>>(msg: &M) -> Vec<u8> {
        let mut v = vec![VERSION];
        v.extend(bincode::serde::encode_to_vec(msg, config()).unwrap());
        v
    }

    fn slow_decode<'de, M: Message<'de>>(b: &'de [u8]) -> M {
        bincode::serde::borrow_decode_from_slice(&b[1..], config())
            .unwrap()
            .0
    }

    proptest! {
        #[test]
        fn direct_submissions_match_bincode(
            ud in any::<u64>(), flags in any::<u8>(), nr in any::<u32>(),
            words in proptest::collection::vec(any::<u64>(), 0..=6),
        ) {
            let sub = Submission::new(ud, Op::Syscall(SyscallOp::immediate(nr, &words)))
                .with_flags(SubmissionFlags::from_bits_retain(flags));
            let mut buf = [0u8; 128];
            let n = sub.encode_fast(&mut buf).unwrap().unwrap();
            prop_assert_eq!(&buf[..n], &slow(&sub)[..]);
            prop_assert_eq!(Submission::decode_fast(&buf[..n]).unwrap(), slow_decode::<Submission>(&buf[..n]));
        }

        #[test]
        fn direct_completions_match_bincode(ud in any::<u64>(), result in any::<i64>(), flags in any::<u32>()) {
            let c = Completion::new(ud, result, CompletionFlags::from_bits_retain(flags));
            let mut buf = [0u8; 64];
            let n = c.encode_fast(&mut buf).unwrap().unwrap();
            prop_assert_eq!(&buf[..n], &slow(&c)[..]);
            prop_assert_eq!(Completion::decode_fast(&buf[..n]).unwrap(), slow_decode::<Completion>(&buf[..n]));
        }
    }

    #[test]
    fn other_shapes_take_the_bincode_path() {
        let mut sub = Submission::new(1, Op::Syscall(SyscallOp::immediate(1, &[1; 7])));
        assert!(sub.encode_fast(&mut [0; 256]).is_none(), "seven arguments");
        sub.op = Op::Syscall(SyscallOp {
            nr: 1,
            args: [Arg::LinkResult(0)].into_iter().collect(),
            bufs: vec![],
            relocs: vec![],
        });
        assert!(sub.encode_fast(&mut [0; 256]).is_none(), "a link result");
        let bytes = encode_to_vec(&sub).unwrap();
        assert!(Submission::decode_fast(&bytes).is_none());
        assert_eq!(decode::<Submission>(&bytes).unwrap(), sub);
        assert!(
            Submission::new(1, Op::Nop)
                .encode_fast(&mut [0; 64])
                .is_none()
        );
    }
}
