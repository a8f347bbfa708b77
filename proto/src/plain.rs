//! The two shapes nearly every frame has, read and written in place.
//!
//! A call whose arguments are all plain words (no buffers, relocations or
//! link results) and a completion without outputs are most of the traffic
//! of a gateway: `getppid`, `close`, `fsync`, `lseek` and every answer
//! that carries only a result word. [`PlainCall`] and [`PlainCompletion`]
//! read those frames straight out of the ring's bytes and write them
//! straight into it: the same bytes as [`crate::encode_into`] writes for
//! the equivalent [`Submission`](crate::Submission) or
//! [`Completion`](crate::Completion) (SPEC.md; property tests compare the
//! two), without building either. A frame of any other shape is `None`
//! here and goes through [`crate::decode`].
//!
//! A [`PlainCall`] that decodes is also valid: its flags are all known
//! bits, and it has at most [`MAX_ARGS`] arguments, which is everything
//! [`Submission::validate`](crate::Submission::validate) checks of such a
//! call outside a link chain.

use crate::{CompletionFlags, MAX_ARGS, SubmissionFlags, VERSION};

/// Offsets of a submission frame (SPEC.md): version, `user_data`, flags,
/// the op's tag (`Syscall` = 0), `nr`, the argument count, then per
/// argument a tag (`Imm` = 0) and a word, then the buffer and relocation
/// counts.
const SUB_USER_DATA: usize = 1;
const SUB_FLAGS: usize = 9;
const SUB_OP_TAG: usize = 10;
const SUB_NR: usize = 14;
const SUB_ARGC: usize = 18;
const SUB_ARGS: usize = 26;
/// Bytes of one argument: its tag and its word.
const ARG_LEN: usize = 12;

/// Offsets of a completion frame: version, `user_data`, result, flags,
/// output count.
const COMP_USER_DATA: usize = 1;
const COMP_RESULT: usize = 9;
const COMP_FLAGS: usize = 17;
const COMP_OUTPUTS: usize = 21;

/// Bytes of a plain call with `n` arguments.
pub const fn plain_call_len(n: usize) -> usize {
    SUB_ARGS + ARG_LEN * n + 16
}

/// Bytes of a plain completion.
pub const PLAIN_COMPLETION_LEN: usize = COMP_OUTPUTS + 8;

#[inline(always)]
fn word(b: &[u8], at: usize) -> u64 {
    let mut w = [0; 8];
    w.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(w)
}

#[inline(always)]
fn word32(b: &[u8], at: usize) -> u32 {
    let mut w = [0; 4];
    w.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(w)
}

/// A syscall whose arguments are all words: what `Op::Syscall` with only
/// `Arg::Imm` arguments, no buffers and no relocations encodes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlainCall {
    /// The request's `user_data`.
    pub user_data: u64,
    /// Its flags (known bits only).
    pub flags: SubmissionFlags,
    /// The syscall number.
    pub nr: u32,
    /// How many of `args` the call has (at most [`MAX_ARGS`]).
    pub argc: u8,
    /// The argument words; those past `argc` are 0.
    pub args: [u64; MAX_ARGS],
}

impl PlainCall {
    /// `PlainCall::decode(frame)` — the call `frame` carries (version byte
    /// included) if it has this shape and only known flags; `None`
    /// otherwise (decode it with [`crate::decode`], which reports what is
    /// wrong, if anything).
    #[inline]
    pub fn decode(frame: &[u8]) -> Option<PlainCall> {
        if frame.len() < plain_call_len(0) || frame[0] != VERSION || word32(frame, SUB_OP_TAG) != 0
        {
            return None;
        }
        let flags = SubmissionFlags::from_bits_retain(frame[SUB_FLAGS]);
        if flags.unknown_bits() != 0 {
            return None;
        }
        let argc = usize::try_from(word(frame, SUB_ARGC))
            .ok()
            .filter(|&n| n <= MAX_ARGS)?;
        if frame.len() != plain_call_len(argc) {
            return None;
        }
        let counts = SUB_ARGS + ARG_LEN * argc;
        let mut args = [0; MAX_ARGS];
        let mut tags = 0;
        for (arg, bytes) in args
            .iter_mut()
            .zip(frame[SUB_ARGS..counts].chunks_exact(ARG_LEN))
        {
            tags |= word32(bytes, 0);
            *arg = word(bytes, 4);
        }
        if tags != 0 || word(frame, counts) | word(frame, counts + 8) != 0 {
            return None;
        }
        Some(PlainCall {
            user_data: word(frame, SUB_USER_DATA),
            flags,
            nr: word32(frame, SUB_NR),
            argc: argc as u8,
            args,
        })
    }

    /// `call.encode(dst)` — writes the frame into `dst`; its length, or
    /// `None` if `dst` is shorter than [`plain_call_len`]`(argc)` or `argc`
    /// is over [`MAX_ARGS`].
    #[inline]
    pub fn encode(&self, dst: &mut [u8]) -> Option<usize> {
        let argc = usize::from(self.argc);
        if argc > MAX_ARGS {
            return None;
        }
        let len = plain_call_len(argc);
        let out = dst.get_mut(..len)?;
        out[0] = VERSION;
        out[SUB_USER_DATA..SUB_FLAGS].copy_from_slice(&self.user_data.to_le_bytes());
        out[SUB_FLAGS] = self.flags.bits();
        out[SUB_OP_TAG..SUB_NR].fill(0);
        out[SUB_NR..SUB_ARGC].copy_from_slice(&self.nr.to_le_bytes());
        out[SUB_ARGC..SUB_ARGS].copy_from_slice(&(argc as u64).to_le_bytes());
        let (args, counts) = out[SUB_ARGS..].split_at_mut(ARG_LEN * argc);
        for (w, bytes) in self.args.iter().zip(args.chunks_exact_mut(ARG_LEN)) {
            bytes[..4].fill(0);
            bytes[4..].copy_from_slice(&w.to_le_bytes());
        }
        counts.fill(0);
        Some(len)
    }
}

/// A completion without outputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlainCompletion {
    /// The request's `user_data`.
    pub user_data: u64,
    /// The result word.
    pub result: i64,
    /// Its flags (unknown bits kept, as [`crate::decode`] keeps them).
    pub flags: CompletionFlags,
}

impl PlainCompletion {
    /// `PlainCompletion::decode(frame)` — the completion `frame` carries if
    /// it has no outputs; `None` otherwise.
    #[inline]
    pub fn decode(frame: &[u8]) -> Option<PlainCompletion> {
        if frame.len() != PLAIN_COMPLETION_LEN
            || frame[0] != VERSION
            || word(frame, COMP_OUTPUTS) != 0
        {
            return None;
        }
        Some(PlainCompletion {
            user_data: word(frame, COMP_USER_DATA),
            result: word(frame, COMP_RESULT) as i64,
            flags: CompletionFlags::from_bits_retain(word32(frame, COMP_FLAGS)),
        })
    }

    /// `c.encode(dst)` — writes the frame into `dst`; its length, or
    /// `None` if `dst` is shorter than [`PLAIN_COMPLETION_LEN`].
    #[inline]
    pub fn encode(&self, dst: &mut [u8]) -> Option<usize> {
        let out = dst.get_mut(..PLAIN_COMPLETION_LEN)?;
        out[0] = VERSION;
        out[COMP_USER_DATA..COMP_RESULT].copy_from_slice(&self.user_data.to_le_bytes());
        out[COMP_RESULT..COMP_FLAGS].copy_from_slice(&self.result.to_le_bytes());
        out[COMP_FLAGS..COMP_OUTPUTS].copy_from_slice(&self.flags.bits().to_le_bytes());
        out[COMP_OUTPUTS..].fill(0);
        Some(PLAIN_COMPLETION_LEN)
    }
}

/// A completion read in place: its words, and its outputs borrowed from
/// the frame, found without building a [`Completion`](crate::Completion)
/// (whose outputs are a vector).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CompletionView<'a> {
    /// The request's `user_data`.
    pub user_data: u64,
    /// The result word.
    pub result: i64,
    /// Its flags (unknown bits kept).
    pub flags: CompletionFlags,
    count: usize,
    /// The encoded outputs: per output a `u64` length and its bytes.
    outputs: &'a [u8],
}

impl<'a> CompletionView<'a> {
    /// `CompletionView::parse(frame)` — the completion `frame` carries if
    /// [`crate::decode`] would accept it; `None` otherwise.
    pub fn parse(frame: &'a [u8]) -> Option<CompletionView<'a>> {
        if frame.len() < PLAIN_COMPLETION_LEN
            || frame.len() > crate::MAX_MESSAGE_LEN
            || frame[0] != VERSION
        {
            return None;
        }
        let count = usize::try_from(word(frame, COMP_OUTPUTS)).ok()?;
        let outputs = &frame[PLAIN_COMPLETION_LEN..];
        // Every length within the frame, and nothing after the last.
        let mut rest = outputs;
        for _ in 0..count {
            let len = usize::try_from(word(rest.get(..8)?, 0)).ok()?;
            rest = rest.get(8..)?.get(len..)?;
        }
        if !rest.is_empty() {
            return None;
        }
        Some(CompletionView {
            user_data: word(frame, COMP_USER_DATA),
            result: word(frame, COMP_RESULT) as i64,
            flags: CompletionFlags::from_bits_retain(word32(frame, COMP_FLAGS)),
            count,
            outputs,
        })
    }

    /// How many outputs it has.
    pub fn output_count(&self) -> usize {
        self.count
    }

    /// Its outputs, in buffer order.
    pub fn outputs(&self) -> impl Iterator<Item = &'a [u8]> + use<'a> {
        let mut rest = self.outputs;
        (0..self.count).map(move |_| {
            // Lengths were checked by `parse`.
            let len = word(rest, 0) as usize;
            let (bytes, after) = rest[8..].split_at(len);
            rest = after;
            bytes
        })
    }

    /// Output `i`, if it has one.
    pub fn output(&self, i: usize) -> Option<&'a [u8]> {
        self.outputs().nth(i)
    }

    /// The same completion as a [`Completion`](crate::Completion) borrowing
    /// the frame's bytes.
    pub fn to_completion(&self) -> crate::Completion<'a> {
        let mut c = crate::Completion::new(self.user_data, self.result, self.flags);
        c.outputs = self.outputs().map(crate::Bytes::borrowed).collect();
        c
    }
}

/// `encode_completion(head, outputs, dst)` — appends to `dst` the frame of
/// the completion `head` with `outputs` (what
/// [`crate::encode_into`] writes for that [`Completion`](crate::Completion)),
/// without building it; returns the frame's length. Fails with
/// [`EncodeError::TooLarge`](crate::EncodeError::TooLarge), leaving `dst`
/// as it was, if the frame would be longer than [`crate::MAX_MESSAGE_LEN`].
pub fn encode_completion<'o>(
    head: PlainCompletion,
    outputs: impl Iterator<Item = &'o [u8]> + Clone,
    dst: &mut Vec<u8>,
) -> Result<usize, crate::EncodeError> {
    let (count, data) = outputs
        .clone()
        .fold((0usize, 0usize), |(n, len), o| (n + 1, len + 8 + o.len()));
    let len = PLAIN_COMPLETION_LEN + data;
    if len > crate::MAX_MESSAGE_LEN {
        return Err(crate::EncodeError::TooLarge { len });
    }
    let start = dst.len();
    dst.resize(start + PLAIN_COMPLETION_LEN, 0);
    // Cannot fail: the room was just made.
    let _ = head.encode(&mut dst[start..]);
    dst[start + COMP_OUTPUTS..start + PLAIN_COMPLETION_LEN]
        .copy_from_slice(&(count as u64).to_le_bytes());
    dst.reserve(data);
    for o in outputs {
        dst.extend_from_slice(&(o.len() as u64).to_le_bytes());
        dst.extend_from_slice(o);
    }
    Ok(len)
}

impl From<PlainCompletion> for CompletionView<'_> {
    fn from(c: PlainCompletion) -> Self {
        CompletionView {
            user_data: c.user_data,
            result: c.result,
            flags: c.flags,
            count: 0,
            outputs: &[],
        }
    }
}
