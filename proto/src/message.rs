//! The message types: what a submitter asks for and what comes back.
//!
//! These are plain data. Their byte layout is fixed by the field order here
//! and by [`crate::codec`]; `proto/SPEC.md` documents it. Reordering a field
//! or a variant changes the wire format and must bump [`crate::VERSION`].

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, EnumAccess, SeqAccess, VariantAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::MAX_ARGS;

/// A request: run `op`, and tag its completion with `user_data`.
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Submission<'a> {
    /// Opaque to the executor; copied into the completion.
    pub user_data: u64,
    /// How the request relates to its neighbours and where it may run.
    pub flags: SubmissionFlags,
    /// What to do.
    #[serde(borrow)]
    pub op: Op<'a>,
}

impl<'a> Submission<'a> {
    /// A submission of `op` with no flags.
    pub fn new(user_data: u64, op: Op<'a>) -> Self {
        Submission {
            user_data,
            flags: SubmissionFlags::empty(),
            op,
        }
    }

    /// The same submission with `flags` added.
    pub fn with_flags(mut self, flags: SubmissionFlags) -> Self {
        self.flags = self.flags | flags;
        self
    }

    /// A copy that owns all its bytes, so it no longer borrows the frame it
    /// was decoded from.
    pub fn into_owned(self) -> Submission<'static> {
        Submission {
            user_data: self.user_data,
            flags: self.flags,
            op: self.op.into_owned(),
        }
    }
}

/// Submission flags (one byte on the wire).
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SubmissionFlags(u8);

impl SubmissionFlags {
    /// The next submission starts only after this one succeeds; a failure
    /// (or a short read/write) cancels the rest of the chain.
    pub const LINK: Self = SubmissionFlags(1 << 0);
    /// The next submission starts after this one completes, whatever its
    /// result.
    pub const HARDLINK: Self = SubmissionFlags(1 << 1);
    /// Start only after everything submitted before has completed.
    pub const DRAIN: Self = SubmissionFlags(1 << 2);
    /// Skip the inline attempt: always run on the worker pool.
    pub const ASYNC: Self = SubmissionFlags(1 << 3);
    /// Never use the worker pool: complete with `-EAGAIN` instead.
    pub const NOWAIT: Self = SubmissionFlags(1 << 4);
    /// Every bit with a meaning.
    pub const ALL: Self = SubmissionFlags(0b1_1111);

    /// No flags.
    pub const fn empty() -> Self {
        SubmissionFlags(0)
    }
    /// Flags from raw bits, unknown bits included (validation rejects them).
    pub const fn from_bits_retain(bits: u8) -> Self {
        SubmissionFlags(bits)
    }
    /// The raw bits.
    pub const fn bits(self) -> u8 {
        self.0
    }
    /// Whether every bit of `other` is set.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }
    /// The bits that have no meaning.
    pub const fn unknown_bits(self) -> u8 {
        self.0 & !Self::ALL.0
    }
    /// Whether the next submission is linked to this one (LINK or HARDLINK).
    pub const fn links_next(self) -> bool {
        self.0 & (Self::LINK.0 | Self::HARDLINK.0) != 0
    }
}

impl std::ops::BitOr for SubmissionFlags {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        SubmissionFlags(self.0 | rhs.0)
    }
}

impl fmt::Debug for SubmissionFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const NAMES: [(SubmissionFlags, &str); 5] = [
            (SubmissionFlags::LINK, "LINK"),
            (SubmissionFlags::HARDLINK, "HARDLINK"),
            (SubmissionFlags::DRAIN, "DRAIN"),
            (SubmissionFlags::ASYNC, "ASYNC"),
            (SubmissionFlags::NOWAIT, "NOWAIT"),
        ];
        write_flag_names(f, self.0.into(), &NAMES.map(|(b, n)| (b.0.into(), n)))
    }
}

/// What a submission asks the executor to do.
///
/// The variant order is the wire tag (`u32`): never reorder, only append.
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum Op<'a> {
    /// Tag 0: run system call `nr` with `args`.
    Syscall(SyscallOp<'a>),
    /// Tag 1: do nothing; completes with 0.
    Nop,
    /// Tag 2: cancel in-flight requests.
    Cancel {
        /// Which requests.
        target: CancelTarget,
    },
    /// Tag 3: complete with `-ETIME` after `nanos`, or with 0 once `count`
    /// other requests have completed (`count == 0`: only the clock counts).
    Timeout {
        /// Duration in nanoseconds.
        nanos: u64,
        /// Completions to wait for.
        count: u32,
    },
    /// Tag 4: bounds the linked request just before it: when `nanos` pass
    /// first, that request is cancelled.
    LinkTimeout {
        /// Duration in nanoseconds.
        nanos: u64,
    },
}

impl Op<'_> {
    /// A copy that owns all its bytes.
    pub fn into_owned(self) -> Op<'static> {
        match self {
            Op::Syscall(s) => Op::Syscall(s.into_owned()),
            Op::Nop => Op::Nop,
            Op::Cancel { target } => Op::Cancel { target },
            Op::Timeout { nanos, count } => Op::Timeout { nanos, count },
            Op::LinkTimeout { nanos } => Op::LinkTimeout { nanos },
        }
    }
}

/// Which requests a [`Op::Cancel`] targets.
///
/// The variant order is the wire tag (`u32`): never reorder, only append.
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum CancelTarget {
    /// Tag 0: the request submitted with this `user_data`.
    UserData(u64),
    /// Tag 1: every request whose fd argument is this descriptor.
    Fd(i32),
}

/// `nr(args...)`: one system call with its arguments and the memory they
/// point to.
///
/// Arguments are words. A pointer argument names a buffer from `bufs` by
/// index; the executor allocates every buffer, copies input bytes in, and
/// returns output bytes in the completion. Pointers stored *inside* buffers
/// (iovec arrays, msghdr, …) are written by `relocs`.
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyscallOp<'a> {
    /// The system call number on the executor's architecture.
    pub nr: u32,
    /// At most [`MAX_ARGS`] arguments (more decode, but fail validation).
    pub args: Args,
    /// Memory the arguments and relocations point into.
    #[serde(borrow, deserialize_with = "de_bounded_vec")]
    pub bufs: Vec<Buffer<'a>>,
    /// Pointers to write into buffers before the call.
    #[serde(deserialize_with = "de_bounded_vec")]
    pub relocs: Vec<Reloc>,
}

impl<'a> SyscallOp<'a> {
    /// A call whose arguments are all plain words.
    pub fn immediate(nr: u32, words: &[u64]) -> Self {
        let mut args = Args::new();
        for &w in words {
            args.push(Arg::Imm(w));
        }
        SyscallOp {
            nr,
            args,
            bufs: Vec::new(),
            relocs: Vec::new(),
        }
    }

    /// A copy that owns all its bytes.
    pub fn into_owned(self) -> SyscallOp<'static> {
        SyscallOp {
            nr: self.nr,
            args: self.args,
            bufs: self.bufs.into_iter().map(Buffer::into_owned).collect(),
            relocs: self.relocs,
        }
    }
}

/// One argument word.
///
/// The variant order is the wire tag (`u32`): never reorder, only append.
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Arg {
    /// Tag 0: this value, as is.
    Imm(u64),
    /// Tag 1: the address of buffer `n` of the call.
    Buf(u16),
    /// Tag 2: the result of request `n` of the same link chain (0 = the
    /// chain's first request), which must come earlier in the chain.
    LinkResult(u16),
}

/// The arguments of a call, stored inline: decoding a call of up to
/// [`MAX_ARGS`] arguments allocates nothing.
///
/// More than [`MAX_ARGS`] arguments still decode (into a heap vector) so that
/// [`crate::Submission::validate`] can report them as a typed error.
#[derive(Clone)]
pub struct Args {
    inline: [Arg; MAX_ARGS],
    len: u8,
    spilled: Vec<Arg>,
}

impl Args {
    /// No arguments.
    pub const fn new() -> Self {
        Args {
            inline: [Arg::Imm(0); MAX_ARGS],
            len: 0,
            spilled: Vec::new(),
        }
    }

    /// Appends an argument. Past [`MAX_ARGS`] the list moves to the heap and
    /// will fail validation.
    pub fn push(&mut self, arg: Arg) {
        if self.spilled.is_empty() && usize::from(self.len) < MAX_ARGS {
            self.inline[usize::from(self.len)] = arg;
            self.len += 1;
        } else {
            if self.spilled.is_empty() {
                self.spilled
                    .extend_from_slice(&self.inline[..usize::from(self.len)]);
                self.len = 0;
            }
            self.spilled.push(arg);
        }
    }

    /// The arguments in order.
    pub fn as_slice(&self) -> &[Arg] {
        if self.spilled.is_empty() {
            &self.inline[..usize::from(self.len)]
        } else {
            &self.spilled
        }
    }

    /// How many arguments there are.
    pub fn len(&self) -> usize {
        self.as_slice().len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.as_slice().is_empty()
    }
}

#[cfg(feature = "arbitrary")]
impl<'a> arbitrary::Arbitrary<'a> for Args {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        // Up to 8: a few more than a call may have, so validation sees those too.
        let n = u.int_in_range(0..=8)?;
        (0..n).map(|_| Arg::arbitrary(u)).collect()
    }
}

#[cfg(feature = "arbitrary")]
impl<'a> arbitrary::Arbitrary<'a> for Bytes<'a> {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(Bytes::borrowed(<&[u8]>::arbitrary(u)?))
    }
}

impl Default for Args {
    fn default() -> Self {
        Args::new()
    }
}

impl FromIterator<Arg> for Args {
    fn from_iter<I: IntoIterator<Item = Arg>>(iter: I) -> Self {
        let mut args = Args::new();
        for a in iter {
            args.push(a);
        }
        args
    }
}

impl PartialEq for Args {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}
impl Eq for Args {}

impl fmt::Debug for Args {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.as_slice()).finish()
    }
}

/// Memory for a call: input bytes, an output area, or both.
///
/// The variant order is the wire tag (`u32`): never reorder, only append.
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum Buffer<'a> {
    /// Tag 0: bytes the call reads (a path, data to write, a struct in).
    In(Bytes<'a>),
    /// Tag 1: `n` bytes the call writes (zeroed before the call); returned in
    /// the completion.
    Out(u32),
    /// Tag 2: bytes the call reads and writes back; returned in the
    /// completion.
    InOut(Bytes<'a>),
    /// Tag 3: bytes the call reads, copied when it runs from an output of
    /// an earlier request of its link chain — how a linked `write` sends
    /// what a linked `read` before it read. Its size is that output's (0 if
    /// the request produced no such output). An output that lives in the
    /// arena is not copied: the call reads it there.
    Linked(LinkedOutput),
    /// Tag 4: bytes of the submitter's arena the call reads (data to write,
    /// a struct in), passed by address: the executor copies nothing.
    ArenaIn(ArenaRange),
    /// Tag 5: bytes of the submitter's arena the call writes. The executor
    /// neither zeroes them nor copies them into the completion, whose
    /// output for this buffer is an empty placeholder: the call's result
    /// says how many bytes it wrote.
    ArenaOut(ArenaRange),
    /// Tag 6: bytes of the submitter's arena the call reads and writes back
    /// (an empty placeholder in the completion, as for
    /// [`Buffer::ArenaOut`]).
    ArenaInOut(ArenaRange),
}

/// `len` bytes of the submitter's buffer arena from byte `offset` — see
/// [`Buffer::ArenaIn`]. `offset` must be a multiple of 16 (validation),
/// and the range must lie inside the executor's arena (checked against its
/// size by [`crate::Submission::validate_arena`]).
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ArenaRange {
    /// Where the bytes start in the arena.
    pub offset: u64,
    /// How many there are.
    pub len: u32,
}

/// Output `output` (in output order: the request's output buffers, arena
/// ones included, as its completion lists them) of request `member` (its
/// position in the link chain, 0 = first) — see [`Buffer::Linked`].
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LinkedOutput {
    /// The chain position of the request whose output it is.
    pub member: u16,
    /// Which of that request's outputs.
    pub output: u16,
}

impl Buffer<'_> {
    /// The size of the memory the call gets (0 for a [`Buffer::Linked`],
    /// whose size is known only when the call runs).
    pub fn len(&self) -> usize {
        match self {
            Buffer::In(b) | Buffer::InOut(b) => b.len(),
            Buffer::Out(n) => *n as usize,
            Buffer::Linked(_) => 0,
            Buffer::ArenaIn(r) | Buffer::ArenaOut(r) | Buffer::ArenaInOut(r) => r.len as usize,
        }
    }

    /// Whether the buffer has no bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes of this buffer frames carry — in the submission, the
    /// completion, or both: its length for `In`, `Out` and `InOut`, 0 for
    /// `Linked` and the arena buffers. What counts toward
    /// [`crate::MAX_DATA_LEN`].
    pub fn frame_len(&self) -> usize {
        match self {
            Buffer::In(_) | Buffer::Out(_) | Buffer::InOut(_) => self.len(),
            _ => 0,
        }
    }

    /// Whether the call writes it back: it has an entry among the
    /// completion's outputs (an empty placeholder for an arena buffer).
    pub fn is_output(&self) -> bool {
        matches!(
            self,
            Buffer::Out(_) | Buffer::InOut(_) | Buffer::ArenaOut(_) | Buffer::ArenaInOut(_)
        )
    }

    /// The arena bytes it names, for the arena variants.
    pub fn arena(&self) -> Option<ArenaRange> {
        match self {
            Buffer::ArenaIn(r) | Buffer::ArenaOut(r) | Buffer::ArenaInOut(r) => Some(*r),
            _ => None,
        }
    }

    /// A copy that owns its bytes.
    pub fn into_owned(self) -> Buffer<'static> {
        match self {
            Buffer::In(b) => Buffer::In(b.into_owned()),
            Buffer::Out(n) => Buffer::Out(n),
            Buffer::InOut(b) => Buffer::InOut(b.into_owned()),
            Buffer::Linked(l) => Buffer::Linked(l),
            Buffer::ArenaIn(r) => Buffer::ArenaIn(r),
            Buffer::ArenaOut(r) => Buffer::ArenaOut(r),
            Buffer::ArenaInOut(r) => Buffer::ArenaInOut(r),
        }
    }
}

/// "Write the address of buffer `target`, plus `offset`, at byte `at` of
/// buffer `buf`" — how nested pointers (iovec bases, msghdr fields) are
/// expressed.
///
/// The address is written as a native-endian 64-bit word, so `at` must be a
/// multiple of 8 and `buf` an input (or in/out) buffer.
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Reloc {
    /// The buffer written into.
    pub buf: u16,
    /// The byte offset in `buf` of the pointer word.
    pub at: u32,
    /// The buffer whose address is written.
    pub target: u16,
    /// Added to the address of `target` (may equal its length: one past the
    /// end).
    pub offset: u32,
}

/// The result of one submission.
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Completion<'a> {
    /// The submission's `user_data`.
    pub user_data: u64,
    /// The call's return value, or `-errno`.
    pub result: i64,
    /// Where it ran and how it ended.
    pub flags: CompletionFlags,
    /// The contents of the call's output and in/out buffers, in buffer
    /// order. An output may be shorter than its buffer when the call's
    /// result says only that many bytes were written. An arena buffer's
    /// entry is an empty placeholder: its bytes are in the arena.
    #[serde(borrow, deserialize_with = "de_bounded_vec")]
    pub outputs: Vec<Bytes<'a>>,
}

impl Completion<'_> {
    /// A completion with no outputs.
    pub fn new(user_data: u64, result: i64, flags: CompletionFlags) -> Self {
        Completion {
            user_data,
            result,
            flags,
            outputs: Vec::new(),
        }
    }

    /// A copy that owns all its bytes.
    pub fn into_owned(self) -> Completion<'static> {
        Completion {
            user_data: self.user_data,
            result: self.result,
            flags: self.flags,
            outputs: self.outputs.into_iter().map(Bytes::into_owned).collect(),
        }
    }
}

/// Completion flags (a `u32` on the wire).
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CompletionFlags(u32);

impl CompletionFlags {
    /// The call ran on the submitting (or polling) thread.
    pub const INLINE: Self = CompletionFlags(1 << 0);
    /// The call waited for readiness, then ran inline.
    pub const POLLED: Self = CompletionFlags(1 << 1);
    /// The call ran on a pool worker.
    pub const POOL: Self = CompletionFlags(1 << 2);
    /// The submission frame could not be decoded or validated; see
    /// [`crate::codes`] for the `result` values.
    pub const PROTOCOL_ERROR: Self = CompletionFlags(1 << 3);
    /// The executor refused to run the call (a forbidden syscall, or a
    /// thread-affine one off its thread); see [`crate::codes`].
    pub const REFUSED: Self = CompletionFlags(1 << 4);
    /// Every bit with a meaning.
    pub const ALL: Self = CompletionFlags(0b1_1111);

    /// No flags.
    pub const fn empty() -> Self {
        CompletionFlags(0)
    }
    /// Flags from raw bits, unknown bits included.
    pub const fn from_bits_retain(bits: u32) -> Self {
        CompletionFlags(bits)
    }
    /// The raw bits.
    pub const fn bits(self) -> u32 {
        self.0
    }
    /// Whether every bit of `other` is set.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }
    /// The bits that have no meaning.
    pub const fn unknown_bits(self) -> u32 {
        self.0 & !Self::ALL.0
    }
}

impl std::ops::BitOr for CompletionFlags {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        CompletionFlags(self.0 | rhs.0)
    }
}

impl fmt::Debug for CompletionFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const NAMES: [(CompletionFlags, &str); 5] = [
            (CompletionFlags::INLINE, "INLINE"),
            (CompletionFlags::POLLED, "POLLED"),
            (CompletionFlags::POOL, "POOL"),
            (CompletionFlags::PROTOCOL_ERROR, "PROTOCOL_ERROR"),
            (CompletionFlags::REFUSED, "REFUSED"),
        ];
        write_flag_names(f, self.0, &NAMES.map(|(b, n)| (b.0, n)))
    }
}

fn write_flag_names(f: &mut fmt::Formatter<'_>, bits: u32, names: &[(u32, &str)]) -> fmt::Result {
    let mut rest = bits;
    let mut first = true;
    for &(bit, name) in names {
        if rest & bit != 0 {
            f.write_str(if first { "" } else { "|" })?;
            f.write_str(name)?;
            rest &= !bit;
            first = false;
        }
    }
    if rest != 0 || first {
        write!(f, "{}{rest:#x}", if first { "" } else { "|" })?;
    }
    Ok(())
}

/// Bytes that are borrowed from a decoded frame or owned.
///
/// On the wire: a `u64` length, then the bytes.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Bytes<'a>(pub Cow<'a, [u8]>);

impl<'a> Bytes<'a> {
    /// Bytes borrowed from `b`.
    pub fn borrowed(b: &'a [u8]) -> Self {
        Bytes(Cow::Borrowed(b))
    }
    /// A copy that owns its bytes.
    pub fn into_owned(self) -> Bytes<'static> {
        Bytes(Cow::Owned(self.0.into_owned()))
    }
}

impl From<Vec<u8>> for Bytes<'static> {
    fn from(v: Vec<u8>) -> Self {
        Bytes(Cow::Owned(v))
    }
}

impl<'a> From<&'a [u8]> for Bytes<'a> {
    fn from(b: &'a [u8]) -> Self {
        Bytes::borrowed(b)
    }
}

impl std::ops::Deref for Bytes<'_> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Bytes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "b\"{}\"", self.0.escape_ascii())
    }
}

// ---- serde: hand-written where the derive would allocate or lose types ----

impl Serialize for Args {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.as_slice())
    }
}

impl<'de> Deserialize<'de> for Args {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ArgsVisitor;
        impl<'de> Visitor<'de> for ArgsVisitor {
            type Value = Args;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a sequence of arguments")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Args, A::Error> {
                let mut args = Args::new();
                while let Some(a) = seq.next_element()? {
                    args.push(a);
                }
                Ok(args)
            }
        }
        d.deserialize_seq(ArgsVisitor)
    }
}

impl Serialize for Bytes<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(&self.0)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Bytes<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct BytesVisitor;
        impl<'de> Visitor<'de> for BytesVisitor {
            type Value = Bytes<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("bytes")
            }
            fn visit_borrowed_bytes<E: de::Error>(self, v: &'de [u8]) -> Result<Self::Value, E> {
                Ok(Bytes(Cow::Borrowed(v)))
            }
            fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Self::Value, E> {
                Ok(Bytes(Cow::Owned(v.to_vec())))
            }
            fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<Self::Value, E> {
                Ok(Bytes(Cow::Owned(v)))
            }
        }
        d.deserialize_bytes(BytesVisitor)
    }
}

/// Deserializes a vector without trusting the length prefix for its
/// capacity: it grows only as elements actually decode, so a forged length
/// cannot make the decoder allocate more than the input justifies.
fn de_bounded_vec<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    struct VecVisitor<T>(std::marker::PhantomData<T>);
    impl<'de, T: Deserialize<'de>> Visitor<'de> for VecVisitor<T> {
        type Value = Vec<T>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a sequence")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
            let mut v = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(16));
            while let Some(x) = seq.next_element()? {
                v.push(x);
            }
            Ok(v)
        }
    }
    d.deserialize_seq(VecVisitor(std::marker::PhantomData))
}

/// The enum tag the last failed decode on this thread did not recognise.
///
/// serde reports errors as strings; the codec reads this to return a typed
/// [`crate::DecodeError::UnknownTag`] instead.
pub(crate) mod rejected_tag {
    use std::cell::Cell;

    thread_local! {
        static LAST: Cell<Option<(&'static str, u32)>> = const { Cell::new(None) };
    }

    /// Records the rejection and builds the serde error that aborts decoding.
    pub(crate) fn reject<E: serde::de::Error>(ty: &'static str, tag: u32) -> E {
        LAST.with(|c| c.set(Some((ty, tag))));
        E::custom(format_args!("unknown {ty} tag {tag}"))
    }

    /// Takes (and clears) the last rejection.
    pub(crate) fn take() -> Option<(&'static str, u32)> {
        LAST.with(|c| c.take())
    }
}

/// Writes `Deserialize` for an enum whose wire tag is its variant index, so
/// that an unknown tag becomes a typed error (see [`rejected_tag`]).
macro_rules! deserialize_tagged_enum {
    ($ty:ident $(<$lt:lifetime>)?, $name:literal, |$tag:ident, $variant:ident| $body:expr) => {
        impl<'de $(: $lt, $lt)?> Deserialize<'de> for $ty $(<$lt>)? {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct TagVisitor $(<$lt>)? (std::marker::PhantomData<$ty $(<$lt>)?>);
                impl<'de $(: $lt, $lt)?> Visitor<'de> for TagVisitor $(<$lt>)? {
                    type Value = $ty $(<$lt>)?;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str($name)
                    }
                    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Self::Value, A::Error> {
                        let ($tag, $variant): (u32, A::Variant) = data.variant()?;
                        $body
                    }
                }
                d.deserialize_enum($name, &[], TagVisitor(std::marker::PhantomData))
            }
        }
    };
}

/// Field layout shared by `Timeout`'s struct variant.
#[derive(Deserialize)]
struct TimeoutFields {
    nanos: u64,
    count: u32,
}

deserialize_tagged_enum!(Op<'a>, "Op", |tag, v| match tag {
    0 => v.newtype_variant().map(Op::Syscall),
    1 => v.unit_variant().map(|()| Op::Nop),
    2 => v.newtype_variant().map(|target| Op::Cancel { target }),
    3 => v.newtype_variant().map(|t: TimeoutFields| Op::Timeout {
        nanos: t.nanos,
        count: t.count
    }),
    4 => v.newtype_variant().map(|nanos| Op::LinkTimeout { nanos }),
    other => Err(rejected_tag::reject("Op", other)),
});

deserialize_tagged_enum!(CancelTarget, "CancelTarget", |tag, v| match tag {
    0 => v.newtype_variant().map(CancelTarget::UserData),
    1 => v.newtype_variant().map(CancelTarget::Fd),
    other => Err(rejected_tag::reject("CancelTarget", other)),
});

deserialize_tagged_enum!(Arg, "Arg", |tag, v| match tag {
    0 => v.newtype_variant().map(Arg::Imm),
    1 => v.newtype_variant().map(Arg::Buf),
    2 => v.newtype_variant().map(Arg::LinkResult),
    other => Err(rejected_tag::reject("Arg", other)),
});

deserialize_tagged_enum!(Buffer<'a>, "Buffer", |tag, v| match tag {
    0 => v.newtype_variant().map(Buffer::In),
    1 => v.newtype_variant().map(Buffer::Out),
    2 => v.newtype_variant().map(Buffer::InOut),
    3 => v.newtype_variant().map(Buffer::Linked),
    4 => v.newtype_variant().map(Buffer::ArenaIn),
    5 => v.newtype_variant().map(Buffer::ArenaOut),
    6 => v.newtype_variant().map(Buffer::ArenaInOut),
    other => Err(rejected_tag::reject("Buffer", other)),
});
