//! The operation model: what an op submits and how its completion turns
//! into a result; file-descriptor and result references; the raw layer.

use std::marker::PhantomData;
use std::os::fd::{AsFd, AsRawFd, RawFd};

use sysgate_proto::{Arg, Buffer, Bytes, Completion, CompletionFlags, Op, SyscallOp, codes};
use sysgate_sys::Errno;

use crate::completed::Completed;
use crate::error::{Error, InvalidRequest};

/// A request's completion as the executor posted it (borrowed), or why it
/// never ran: what [`Operation::complete`] gets.
pub type Outcome<'a> = Result<Completed<'a>, Error>;

/// A completion as the executor posted it, owned, or why the request never
/// ran: what a [`Request`] yields.
pub type Posted = Result<Completion<'static>, Error>;

/// Something the gateway can submit: it describes its request (borrowing
/// its own buffers) and turns the completion into its output, handing
/// owned buffers back.
///
/// The executor copies input buffers out of the submission and output
/// buffers into the completion, so no request ever points into memory the
/// op owns: dropping an op (or the future holding it) before its
/// completion arrives cannot leave the kernel writing into freed memory.
pub trait Operation: Send + 'static {
    /// What the op yields.
    type Output: Send + 'static;

    /// The request to submit. Arguments may name earlier ops of a batch
    /// with [`Fd::Result`] / [`RawArg::Result`] (as `Arg::LinkResult(i)`
    /// with `i` = the op's position in the batch).
    fn request(&self) -> Result<Op<'_>, Error>;

    /// Builds the output from the completion, read in place (or from the
    /// error that kept the request from running).
    fn complete(self, outcome: Outcome<'_>) -> Self::Output;

    /// What to do with the completion if nobody waits for it any more.
    fn on_abandon(&self) -> Abandon {
        Abandon::Nothing
    }

    /// The descriptor this op closes, if any: a batch whose later op
    /// closes a descriptor an earlier op opened neither hands that
    /// descriptor out nor closes it again.
    fn closes(&self) -> Option<Fd> {
        None
    }
}

/// What the gateway does with the completion of an op whose future was
/// dropped before it completed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Abandon {
    /// Nothing to clean up.
    Nothing,
    /// The result is a new file descriptor: close it.
    CloseResultFd,
}

/// Submission options (the wire format's `ASYNC` and `NOWAIT`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Flags(u8);

impl Flags {
    /// No options: inline first.
    pub const NONE: Flags = Flags(0);
    /// Skip the inline attempt and go straight to the pool (the
    /// always-punt design; useful to compare, or for calls known to block).
    pub const ASYNC: Flags = Flags(1);
    /// Never use the pool: a call that would block fails with `EAGAIN`.
    pub const NOWAIT: Flags = Flags(2);

    pub(crate) fn wire(self) -> sysgate_proto::SubmissionFlags {
        let mut f = sysgate_proto::SubmissionFlags::empty();
        if self.0 & 1 != 0 {
            f = f | sysgate_proto::SubmissionFlags::ASYNC;
        }
        if self.0 & 2 != 0 {
            f = f | sysgate_proto::SubmissionFlags::NOWAIT;
        }
        f
    }
}

impl std::ops::BitOr for Flags {
    type Output = Flags;
    fn bitor(self, rhs: Flags) -> Flags {
        Flags(self.0 | rhs.0)
    }
}

/// A file descriptor argument: a number, or the result of an earlier op of
/// the same link chain (resolved by the executor when that op has run).
///
/// Ops take descriptors by number, like the syscalls: the caller keeps the
/// descriptor open until the op completes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fd {
    /// This descriptor (or `AT_FDCWD`).
    Raw(RawFd),
    /// The result of the op at this position of the batch.
    Result(usize),
}

impl Fd {
    /// `AT_FDCWD`: paths relative to the current directory.
    pub const CWD: Fd = Fd::Raw(libc::AT_FDCWD);

    pub(crate) fn arg(self) -> Arg {
        match self {
            Fd::Raw(fd) => Arg::Imm(fd as i64 as u64),
            Fd::Result(i) => link(i),
        }
    }
}

impl From<RawFd> for Fd {
    fn from(fd: RawFd) -> Fd {
        Fd::Raw(fd)
    }
}

impl<T: AsFd> From<&T> for Fd {
    fn from(fd: &T) -> Fd {
        Fd::Raw(fd.as_fd().as_raw_fd())
    }
}

/// `Arg::LinkResult` carrying a batch position (rewritten to the chain
/// position when the batch is submitted). Positions past `u16::MAX` become
/// `u16::MAX`, which no chain reaches, so validation rejects them.
fn link(i: usize) -> Arg {
    Arg::LinkResult(u16::try_from(i).unwrap_or(u16::MAX))
}

/// The place of an op in a [`crate::Batch`], typed by the op, to take its
/// output from the [`crate::BatchResults`] or to use its result in a later
/// op of the same chain.
pub struct Handle<O> {
    pub(crate) index: usize,
    _op: PhantomData<fn() -> O>,
}

impl<O> Handle<O> {
    pub(crate) fn new(index: usize) -> Self {
        Handle {
            index,
            _op: PhantomData,
        }
    }

    /// The op's position in its batch.
    pub fn index(&self) -> usize {
        self.index
    }

    /// The op's result as a file descriptor argument of a later linked op.
    pub fn fd(&self) -> Fd {
        Fd::Result(self.index)
    }

    /// The op's result as a raw argument of a later linked op.
    pub fn result(&self) -> RawArg {
        RawArg::Result(self.index)
    }
}

impl<O> Clone for Handle<O> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<O> Copy for Handle<O> {}
impl<O> std::fmt::Debug for Handle<O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Handle({})", self.index)
    }
}

/// The result word of a completion, with errors typed; the outputs come
/// along. A refusal says why in general terms ([`refusal_reason`] says it
/// for a given call).
pub fn check(outcome: Outcome<'_>) -> Result<(i64, Completed<'_>), Error> {
    let c = outcome?;
    let (result, flags) = (c.result(), c.flags());
    if flags.contains(CompletionFlags::PROTOCOL_ERROR) {
        return Err(Error::Protocol(result));
    }
    if result == codes::WORKER_PANICKED && flags.contains(CompletionFlags::POOL) {
        return Err(Error::WorkerPanicked);
    }
    match Errno::from_ret(result) {
        Some(errno) if flags.contains(CompletionFlags::REFUSED) => Err(Error::Refused {
            errno,
            reason: refusal_reason(None, &[], result),
        }),
        Some(e) => Err(Error::Os(e)),
        None => Ok((result, c)),
    }
}

/// `refusal_reason(nr, args, code)` — why the executor refused syscall
/// `nr` with these arguments and result `code` (a completion with the
/// REFUSED flag): for a call it never runs, the syscall table's reason for
/// this call (its option, for `prctl` and `arch_prctl`) or the descriptor
/// the gateway holds that it names; for the other codes, what they mean.
/// Without `nr`, the general meaning of `code`.
pub fn refusal_reason(nr: Option<u32>, args: &[Arg], code: i64) -> String {
    let words = nr.map(|nr| {
        let mut words = [0; 6];
        for (w, a) in words.iter_mut().zip(args) {
            // Buffers and link results: the refusal never depends on them.
            *w = if let Arg::Imm(v) = a { *v } else { 0 };
        }
        (nr, words)
    });
    match code {
        codes::FORBIDDEN => words
            .and_then(|(nr, w)| sysgate_exec::refusal_reason(nr, &w))
            .unwrap_or_else(|| {
                "the gateway never runs this call: it is forbidden, would break the thread that \
                 runs it, changes per-thread state the gateway cannot apply to every thread, or \
                 names a descriptor the gateway holds"
                    .to_owned()
            }),
        codes::WRONG_THREAD => "it acts on the calling thread, so it runs only inline on the \
            submitting thread: not forced async, not on the polling thread, not on a pool worker"
            .to_owned(),
        codes::BAD_BUFFER => "it would read or write outside the request's buffers: a buffer \
            shorter than its length, count or struct, a pointer inside one (iovec, msghdr) that \
            points elsewhere, a signal handler address, or a buffer where the call takes an \
            address to map"
            .to_owned(),
        _ => "refused by the executor".to_owned(),
    }
}

/// An argument of [`raw`]: an immediate word, a buffer the kernel reads,
/// writes or both, or the result of an earlier op of the same link chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RawArg {
    /// A plain word (an integer, flags, an fd, or 0 for `NULL`).
    Imm(u64),
    /// Bytes the kernel reads (a path needs its trailing NUL: see
    /// [`RawArg::path`]).
    In(Vec<u8>),
    /// A buffer of this many bytes the kernel writes; its contents come
    /// back in [`RawOutput::outputs`].
    Out(usize),
    /// Bytes the kernel reads and writes back.
    InOut(Vec<u8>),
    /// The result of the op at this position of the batch.
    Result(usize),
}

impl RawArg {
    /// A NUL-terminated string argument (fails on an inner NUL).
    pub fn path(s: impl AsRef<std::ffi::OsStr>) -> Result<RawArg, Error> {
        Ok(RawArg::In(c_bytes(s.as_ref(), 0)?))
    }
}

impl From<u64> for RawArg {
    fn from(v: u64) -> Self {
        RawArg::Imm(v)
    }
}
impl From<i64> for RawArg {
    fn from(v: i64) -> Self {
        RawArg::Imm(v as u64)
    }
}
impl From<i32> for RawArg {
    /// Sign-extended, as the kernel reads an `int` (`AT_FDCWD` = -100).
    fn from(v: i32) -> Self {
        RawArg::Imm(v as i64 as u64)
    }
}
impl From<u32> for RawArg {
    fn from(v: u32) -> Self {
        RawArg::Imm(u64::from(v))
    }
}
impl From<usize> for RawArg {
    fn from(v: usize) -> Self {
        RawArg::Imm(v as u64)
    }
}

/// A path or string as the kernel wants it: its bytes and a NUL.
pub(crate) fn c_bytes(s: &std::ffi::OsStr, arg: usize) -> Result<Vec<u8>, Error> {
    use std::os::unix::ffi::OsStrExt;
    let bytes = s.as_bytes();
    if bytes.contains(&0) {
        return Err(InvalidRequest::NulInString { arg }.into());
    }
    let mut v = Vec::with_capacity(bytes.len() + 1);
    v.extend_from_slice(bytes);
    v.push(0);
    Ok(v)
}

/// `nr(args...)`: any system call, with owned buffers (see [`raw`] and
/// [`Syscall::by_name`]). Yields a [`RawOutput`].
#[derive(Clone, Debug)]
pub struct Syscall {
    op: SyscallOp<'static>,
    /// Built by `raw_ptr`: immediates may be pointers.
    unchecked: bool,
    too_many: usize,
}

/// What a [`Syscall`] returns: its non-negative result and the bytes the
/// kernel wrote into its `Out`/`InOut` buffers, in argument order (trimmed
/// to what the call reports it wrote, for calls whose result is a count).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawOutput {
    /// The syscall's return value.
    pub value: i64,
    /// The output buffers.
    pub outputs: Vec<Vec<u8>>,
}

/// `nr(args...)` — any system call with typed arguments.
///
/// Pointers are passed as buffers ([`RawArg::In`], [`RawArg::Out`],
/// [`RawArg::InOut`]) the executor owns, so the call cannot touch memory of
/// this program. For that promise sysgate must know which arguments are
/// pointers: syscalls without a signature in `sysgate-sys`, immediates
/// other than 0 (`NULL`) in a pointer position (also the integer arguments
/// that are pointers for some options: `fcntl(F_GETLK)`,
/// `prctl(PR_GET_NAME)`, `arch_prctl(ARCH_GET_FS)`), and calls that change
/// this program's mappings at an address (`munmap`, `mprotect`, `mremap`,
/// `madvise`, `mmap` with `MAP_FIXED`) are refused with
/// [`InvalidRequest::NoSignature`] / [`InvalidRequest::PointerImmediate`] /
/// [`InvalidRequest::ChangesMappings`] when submitted; the executor in turn
/// refuses a buffer shorter than what the call reaches through it.
/// [`raw_ptr`] is the unsafe way around.
pub fn raw(nr: u32, args: impl IntoIterator<Item = RawArg>) -> Syscall {
    let mut call = Syscall {
        op: SyscallOp::immediate(nr, &[]),
        unchecked: false,
        too_many: 0,
    };
    for a in args {
        call = call.arg(a);
    }
    call
}

/// `nr(args...)` with six raw words, any of which may be a pointer into
/// this program's memory.
///
/// # Safety
///
/// This is `syscall(2)`: every word the call uses as a pointer must point
/// at memory valid for the access the call makes, and stay valid until the
/// request **completes** — not merely until its future is dropped (a dropped
/// future cancels the request, but a call already running on a worker may
/// still write). The call must not break invariants Rust code relies on
/// (unmapping memory in use, closing descriptors owned elsewhere, …).
pub unsafe fn raw_ptr(nr: u32, args: [u64; 6]) -> Syscall {
    Syscall {
        op: SyscallOp::immediate(nr, &args),
        unchecked: true,
        too_many: 0,
    }
}

impl Syscall {
    /// The syscall named `name` on this architecture, without arguments
    /// yet: `Syscall::by_name("fchmodat")?.arg(..)`.
    pub fn by_name(name: &str) -> Result<Syscall, Error> {
        let nr = sysgate_sys::number_of(name)
            .ok_or_else(|| InvalidRequest::UnknownSyscall(name.to_owned()))?;
        Ok(raw(nr, []))
    }

    /// A request spelled in the wire format (nested pointers with
    /// relocations, as the REPL builds them). Checked like [`raw`].
    pub fn from_op(op: SyscallOp<'static>) -> Syscall {
        Syscall {
            op,
            unchecked: false,
            too_many: 0,
        }
    }

    /// Appends an argument.
    pub fn arg(mut self, arg: impl Into<RawArg>) -> Syscall {
        if self.op.args.len() == sysgate_proto::MAX_ARGS {
            self.too_many += 1;
            return self;
        }
        let mut buf = |b: Buffer<'static>| {
            self.op.bufs.push(b);
            Arg::Buf(u16::try_from(self.op.bufs.len() - 1).unwrap_or(u16::MAX))
        };
        let a = match arg.into() {
            RawArg::Imm(v) => Arg::Imm(v),
            RawArg::In(v) => buf(Buffer::In(Bytes::from(v))),
            RawArg::Out(n) => buf(Buffer::Out(u32::try_from(n).unwrap_or(u32::MAX))),
            RawArg::InOut(v) => buf(Buffer::InOut(Bytes::from(v))),
            RawArg::Result(i) => link(i),
        };
        self.op.args.push(a);
        self
    }

    /// The syscall number.
    pub fn nr(&self) -> u32 {
        self.op.nr
    }

    fn check_pointers(&self) -> Result<(), InvalidRequest> {
        if self.unchecked {
            return Ok(());
        }
        Syscall::check(&self.op)
    }

    /// Refuses what a call without raw pointers must not do: immediates
    /// where the signature (or, for `fcntl`, `prctl` and `arch_prctl`, the
    /// option) says pointer, and changes to the program's mappings.
    fn check(op: &SyscallOp<'_>) -> Result<(), InvalidRequest> {
        let Some(masks) = sysgate_sys::arg_masks(op.nr) else {
            return Err(InvalidRequest::NoSignature(op.nr));
        };
        let mut nonzero = 0u8;
        for (i, a) in op.args.as_slice().iter().enumerate() {
            if matches!(a, Arg::Imm(v) if *v != 0) {
                nonzero |= 1 << i;
            }
        }
        // The common case: the signature alone decides.
        if !masks.options_matter {
            let wrong = nonzero & masks.addresses;
            if wrong == 0 {
                return Ok(());
            }
            let sig = sysgate_sys::signature(op.nr).expect("a signature: it has masks");
            return Err(InvalidRequest::PointerImmediate {
                syscall: sig.name,
                arg: wrong.trailing_zeros() as usize,
            });
        }
        let sig = sysgate_sys::signature(op.nr).expect("a signature: it has masks");
        let mut known = [Some(0); 6];
        for (k, a) in known.iter_mut().zip(op.args.as_slice()) {
            *k = match a {
                Arg::Imm(v) => Some(*v),
                _ => None,
            };
        }
        if let Some(arg) = sysgate_sys::map_hazard(op.nr, &known) {
            return Err(InvalidRequest::ChangesMappings {
                syscall: sig.name,
                arg,
            });
        }
        let words = known.map(|k| k.unwrap_or(0));
        let option_pointer = sysgate_sys::pointer_arg(op.nr, &words).map_or(0, |p| 1 << p.arg);
        let wrong = nonzero & (masks.addresses | option_pointer);
        if wrong != 0 {
            return Err(InvalidRequest::PointerImmediate {
                syscall: sig.name,
                arg: wrong.trailing_zeros() as usize,
            });
        }
        Ok(())
    }
}

impl Operation for Syscall {
    type Output = Result<RawOutput, Error>;

    fn request(&self) -> Result<Op<'_>, Error> {
        if self.too_many > 0 {
            return Err(
                InvalidRequest::TooManyArgs(sysgate_proto::MAX_ARGS + self.too_many).into(),
            );
        }
        self.check_pointers()?;
        Ok(Op::Syscall(borrow(&self.op)))
    }

    fn complete(self, outcome: Outcome<'_>) -> Self::Output {
        let (value, c) = check(outcome).map_err(|e| match e {
            Error::Refused { errno, .. } => Error::Refused {
                errno,
                reason: refusal_reason(
                    Some(self.op.nr),
                    self.op.args.as_slice(),
                    -i64::from(errno.raw()),
                ),
            },
            other => other,
        })?;
        Ok(RawOutput {
            value,
            outputs: match c.output_count() {
                0 => Vec::new(),
                _ => c.outputs().map(<[u8]>::to_vec).collect(),
            },
        })
    }
}

/// Any request of the wire format (a syscall with relocations, a `Nop`, a
/// `Cancel`, a `Timeout`), yielding the completion exactly as the executor
/// posted it — result word, flags (where it ran) and outputs. The raw layer
/// under the typed ops; the REPL uses it. Syscalls are checked like
/// [`raw`].
#[derive(Clone, Debug)]
pub struct Request {
    op: Op<'static>,
}

impl Request {
    /// A request for `op`.
    pub fn new(op: Op<'static>) -> Request {
        Request { op }
    }
}

impl Operation for Request {
    type Output = Posted;

    fn request(&self) -> Result<Op<'_>, Error> {
        Ok(match &self.op {
            Op::Syscall(s) => {
                let op = borrow(s);
                Syscall::check(&op)?;
                Op::Syscall(op)
            }
            other => other.clone(),
        })
    }

    fn complete(self, outcome: Outcome<'_>) -> Posted {
        outcome.map(|c| c.to_completion())
    }
}

/// A view of `op` borrowing its buffers (no copy of their bytes).
fn borrow<'a>(op: &'a SyscallOp<'static>) -> SyscallOp<'a> {
    if op.bufs.is_empty() && op.relocs.is_empty() {
        // Words only (most calls): nothing to borrow, nothing to collect.
        return SyscallOp {
            nr: op.nr,
            args: op.args.clone(),
            bufs: Vec::new(),
            relocs: Vec::new(),
        };
    }
    SyscallOp {
        nr: op.nr,
        args: op.args.clone(),
        bufs: op
            .bufs
            .iter()
            .map(|b| match b {
                Buffer::In(d) => Buffer::In(Bytes::borrowed(d)),
                Buffer::InOut(d) => Buffer::InOut(Bytes::borrowed(d)),
                // No bytes to borrow.
                other => other.clone(),
            })
            .collect(),
        relocs: op.relocs.clone(),
    }
}
