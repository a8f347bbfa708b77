//! Semantic checks that follow decoding.
//!
//! Decoding only proves the bytes are well formed; validation proves the
//! message can be acted on without reading or writing out of bounds.

use std::fmt;

use crate::{
    Arg, Buffer, Completion, MAX_ARGS, MAX_BUFFERS, MAX_DATA_LEN, MAX_RELOCS, Op, Submission,
};

/// Why a decoded message cannot be acted on.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ValidationError {
    /// Flag bits without a meaning are set.
    UnknownFlags {
        /// The unknown bits.
        bits: u32,
    },
    /// A call has more than [`MAX_ARGS`] arguments.
    TooManyArgs {
        /// How many it has.
        count: usize,
    },
    /// A call (or completion) has more than [`MAX_BUFFERS`] buffers.
    TooManyBuffers {
        /// How many it has.
        count: usize,
    },
    /// A call has more than [`MAX_RELOCS`] relocations.
    TooManyRelocs {
        /// How many it has.
        count: usize,
    },
    /// The buffers frames carry together exceed [`MAX_DATA_LEN`] bytes
    /// (see [`Buffer::frame_len`]).
    DataTooLarge {
        /// Their total length.
        total: usize,
    },
    /// Argument `arg` names a buffer that does not exist.
    NoSuchBuffer {
        /// The argument's position.
        arg: usize,
        /// The buffer index it names.
        buf: u16,
    },
    /// Relocation `reloc` names a missing buffer, or its pointer word or
    /// target offset lies outside its buffer.
    RelocOutOfBounds {
        /// The relocation's position.
        reloc: usize,
    },
    /// Relocation `reloc` writes its pointer at an offset that is not a
    /// multiple of 8.
    RelocMisaligned {
        /// The relocation's position.
        reloc: usize,
        /// The offending offset.
        at: u32,
    },
    /// Relocation `reloc` writes into an output-only buffer (`Out` or
    /// `ArenaOut`), whose contents the call overwrites.
    RelocIntoOutput {
        /// The relocation's position.
        reloc: usize,
    },
    /// Buffer `buf` copies an output of chain request `member`, which does
    /// not come before this request (at `position`, `None` outside a
    /// chain).
    LinkedOutputNotEarlier {
        /// The buffer's position.
        buf: usize,
        /// The chain position it names.
        member: u16,
        /// This request's position in its chain, if it is in one.
        position: Option<u16>,
    },
    /// Arena buffer `buf` starts at an offset that is not a multiple of 16
    /// (every buffer a call gets starts on a 16-byte boundary).
    ArenaMisaligned {
        /// The buffer's position.
        buf: usize,
        /// Its offset.
        offset: u64,
    },
    /// Arena buffer `buf` does not lie inside the executor's arena of
    /// `arena_len` bytes (0: the executor has none), or `offset + len`
    /// overflows.
    ArenaOutOfBounds {
        /// The buffer's position.
        buf: usize,
        /// Its offset.
        offset: u64,
        /// Its length.
        len: u32,
        /// The arena's size.
        arena_len: u64,
    },
    /// Argument `arg` uses a link result, but the request is not part of a
    /// link chain.
    LinkResultWithoutChain {
        /// The argument's position.
        arg: usize,
    },
    /// Argument `arg` uses the result of request `index` of its chain, which
    /// does not come before this request (at `position`).
    LinkResultNotEarlier {
        /// The argument's position.
        arg: usize,
        /// The chain position it names.
        index: u16,
        /// This request's position in its chain.
        position: u16,
    },
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ValidationError::*;
        match *self {
            UnknownFlags { bits } => write!(f, "unknown flag bits {bits:#x}"),
            TooManyArgs { count } => write!(f, "{count} arguments, at most {MAX_ARGS} allowed"),
            TooManyBuffers { count } => write!(f, "{count} buffers, at most {MAX_BUFFERS} allowed"),
            TooManyRelocs { count } => {
                write!(f, "{count} relocations, at most {MAX_RELOCS} allowed")
            }
            DataTooLarge { total } => {
                write!(
                    f,
                    "{total} bytes of buffers, at most {MAX_DATA_LEN} allowed"
                )
            }
            NoSuchBuffer { arg, buf } => write!(f, "argument {arg} names missing buffer {buf}"),
            RelocOutOfBounds { reloc } => write!(f, "relocation {reloc} is out of bounds"),
            RelocMisaligned { reloc, at } => {
                write!(
                    f,
                    "relocation {reloc} writes at offset {at}, not a multiple of 8"
                )
            }
            RelocIntoOutput { reloc } => {
                write!(f, "relocation {reloc} writes into an output-only buffer")
            }
            LinkedOutputNotEarlier {
                buf,
                member,
                position: Some(position),
            } => write!(
                f,
                "buffer {buf} copies an output of chain request {member}, \
                 which does not precede this one (position {position})"
            ),
            LinkedOutputNotEarlier { buf, .. } => {
                write!(f, "buffer {buf} copies a link output outside a link chain")
            }
            ArenaMisaligned { buf, offset } => write!(
                f,
                "arena buffer {buf} starts at offset {offset}, not a multiple of 16"
            ),
            ArenaOutOfBounds {
                buf,
                offset,
                len,
                arena_len,
            } => write!(
                f,
                "arena buffer {buf} ({len} bytes at offset {offset}) is outside the \
                 {arena_len}-byte arena"
            ),
            LinkResultWithoutChain { arg } => {
                write!(f, "argument {arg} uses a link result outside a link chain")
            }
            LinkResultNotEarlier {
                arg,
                index,
                position,
            } => write!(
                f,
                "argument {arg} uses the result of chain request {index}, \
                 which does not precede this one (position {position})"
            ),
        }
    }
}
impl std::error::Error for ValidationError {}

impl Submission<'_> {
    /// Checks that the submission can be executed safely.
    ///
    /// `chain_position` is this request's index in its link chain (0 for
    /// the request that starts a chain), or `None` when it is not linked to
    /// anything; it decides which [`Arg::LinkResult`]s are legal.
    pub fn validate(&self, chain_position: Option<u16>) -> Result<(), ValidationError> {
        let unknown = self.flags.unknown_bits();
        if unknown != 0 {
            return Err(ValidationError::UnknownFlags {
                bits: unknown.into(),
            });
        }
        let Op::Syscall(call) = &self.op else {
            return Ok(());
        };
        let args = call.args.as_slice();
        if args.len() > MAX_ARGS {
            return Err(ValidationError::TooManyArgs { count: args.len() });
        }
        if call.bufs.len() > MAX_BUFFERS {
            return Err(ValidationError::TooManyBuffers {
                count: call.bufs.len(),
            });
        }
        if call.relocs.len() > MAX_RELOCS {
            return Err(ValidationError::TooManyRelocs {
                count: call.relocs.len(),
            });
        }
        let total: usize = call.bufs.iter().map(Buffer::frame_len).sum();
        if total > MAX_DATA_LEN {
            return Err(ValidationError::DataTooLarge { total });
        }
        for (i, arg) in args.iter().enumerate() {
            match *arg {
                Arg::Imm(_) => {}
                Arg::Buf(buf) => {
                    if usize::from(buf) >= call.bufs.len() {
                        return Err(ValidationError::NoSuchBuffer { arg: i, buf });
                    }
                }
                Arg::LinkResult(index) => match chain_position {
                    None => return Err(ValidationError::LinkResultWithoutChain { arg: i }),
                    Some(position) if index >= position => {
                        return Err(ValidationError::LinkResultNotEarlier {
                            arg: i,
                            index,
                            position,
                        });
                    }
                    Some(_) => {}
                },
            }
        }
        for (i, b) in call.bufs.iter().enumerate() {
            match b {
                Buffer::Linked(l) if chain_position.is_none_or(|p| l.member >= p) => {
                    return Err(ValidationError::LinkedOutputNotEarlier {
                        buf: i,
                        member: l.member,
                        position: chain_position,
                    });
                }
                Buffer::ArenaIn(r) | Buffer::ArenaOut(r) | Buffer::ArenaInOut(r)
                    if !r.offset.is_multiple_of(16) =>
                {
                    return Err(ValidationError::ArenaMisaligned {
                        buf: i,
                        offset: r.offset,
                    });
                }
                _ => {}
            }
        }
        for (i, r) in call.relocs.iter().enumerate() {
            let (Some(buf), Some(target)) = (
                call.bufs.get(usize::from(r.buf)),
                call.bufs.get(usize::from(r.target)),
            ) else {
                return Err(ValidationError::RelocOutOfBounds { reloc: i });
            };
            if !r.at.is_multiple_of(8) {
                return Err(ValidationError::RelocMisaligned { reloc: i, at: r.at });
            }
            if matches!(buf, Buffer::Out(_) | Buffer::ArenaOut(_)) {
                return Err(ValidationError::RelocIntoOutput { reloc: i });
            }
            let word_end = r.at as usize + 8;
            if word_end > buf.len() || r.offset as usize > target.len() {
                return Err(ValidationError::RelocOutOfBounds { reloc: i });
            }
        }
        Ok(())
    }

    /// Checks that every arena buffer lies inside an arena of `arena_len`
    /// bytes (0: there is none) — what the executor does, against its own
    /// arena, after [`Submission::validate`]. A submission without arena
    /// buffers always passes.
    pub fn validate_arena(&self, arena_len: u64) -> Result<(), ValidationError> {
        let Op::Syscall(call) = &self.op else {
            return Ok(());
        };
        for (i, b) in call.bufs.iter().enumerate() {
            if let Some(r) = b.arena()
                && r.offset
                    .checked_add(u64::from(r.len))
                    .is_none_or(|end| end > arena_len)
            {
                return Err(ValidationError::ArenaOutOfBounds {
                    buf: i,
                    offset: r.offset,
                    len: r.len,
                    arena_len,
                });
            }
        }
        Ok(())
    }
}

impl Completion<'_> {
    /// Checks that a completion is within the protocol's limits.
    pub fn validate(&self) -> Result<(), ValidationError> {
        let unknown = self.flags.unknown_bits();
        if unknown != 0 {
            return Err(ValidationError::UnknownFlags { bits: unknown });
        }
        if self.outputs.len() > MAX_BUFFERS {
            return Err(ValidationError::TooManyBuffers {
                count: self.outputs.len(),
            });
        }
        let total: usize = self.outputs.iter().map(|o| o.len()).sum();
        if total > MAX_DATA_LEN {
            return Err(ValidationError::DataTooLarge { total });
        }
        Ok(())
    }
}
