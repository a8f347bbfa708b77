//! Lowering: a parsed [`Call`] and its [`Signature`] become a
//! [`SyscallOp`] ready to submit, plus a [`CallPlan`] that remembers which
//! argument owns which buffer so the completion can be printed.
//!
//! Rules, by argument kind:
//!
//! | kind | written as | becomes |
//! |---|---|---|
//! | fd, int, flags, mode, … | `3`, `-100`, `O_RDONLY\|O_CLOEXEC`, `$fd` | `Imm` (negatives sign-extended) |
//! | `$prev`, `$1`…`$9` | in a chain | `LinkResult(k)`, k = 0 for the chain's first call |
//! | path, string | `"/etc/hostname"`, `NULL` | `In` buffer with a trailing NUL, or `Imm(0)` |
//! | input bytes | `"data"` (or `[1]` for an int option) | `In` buffer; see below for lengths |
//! | output bytes, records | anything (`""`, `0x7ffc…`, `64`) | `Out` buffer, capacity from the length argument |
//! | output struct | anything | `Out` buffer of the struct's size |
//! | input struct | `{tv_sec=1, tv_nsec=0}`, `[INT]`, … | `In` buffer with the encoded struct |
//! | socklen / loff pointer | `[16]`, `[110 => 2]` | 4- or 8-byte `InOut` buffer |
//! | socket address in | `{sa_family=AF_INET, …}` | `In` buffer, zero-padded to the length argument (at most 128) |
//! | socket address out | anything | `Out` buffer, capacity from the socklen pointer |
//! | iovec array | `[{iov_base="ab", iov_len=2}, …]` | `In` array of iovecs + one buffer per element + relocations |
//! | msghdr | `{msg_name=…, msg_iov=[…], …}` | header + name + iovecs, relocated (no control data) |
//!
//! **Lengths of input bytes.** The length argument is passed as written.
//! If it is larger than the string: a string strace cut short (`"ab"...`)
//! is padded with zero bytes up to the length, so a replayed `write` writes
//! as many bytes as the traced one; any other string is an error
//! ([`LowerErrorKind::LengthExceedsData`]). A length smaller than the
//! string is allowed (the kernel reads only that many bytes).
//!
//! Syscalls without a signature take up to six integer arguments; a
//! string, struct or array needs a signature. Forbidden syscalls (`exit`,
//! `execve`, `fork`, …) are refused here with the table's reason.

use sysgate_proto::{Arg, Buffer, MAX_BUFFERS, MAX_RELOCS, Reloc, SyscallOp};
use sysgate_sys::flags::MSG_FLAGS;
use sysgate_sys::{ArgKind, ExecClass, Signature, StructKind};

use super::ast::{Call, Expr, Value, VarRef};
use super::check::{MAX_SYSCALL_ARGS, is_scalar, min_args, syscall_number};
use super::error::{LowerError, LowerErrorKind};
use super::eval::Eval;
use super::structs::{encode_array, encode_sockaddr, encode_struct};

/// What lowering needs from the session.
pub struct LowerContext<'a> {
    /// Looks up `$name` (called with the name without `$`; `$_` is `_`).
    pub vars: &'a dyn Fn(&str) -> Option<u64>,
    /// This call's position in a link chain (0 = its first call), or `None`
    /// when the call is not part of a chain (then `$prev` and `$N` are
    /// errors).
    pub chain_position: Option<u16>,
}

fn no_vars(_: &str) -> Option<u64> {
    None
}

impl LowerContext<'static> {
    /// No variables, no chain.
    pub fn standalone() -> Self {
        LowerContext {
            vars: &no_vars,
            chain_position: None,
        }
    }
}

/// A call ready to submit, and how to print its completion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lowered {
    /// The request.
    pub op: SyscallOp<'static>,
    /// Which argument owns which buffer.
    pub plan: CallPlan,
}

/// How a lowered call's arguments map onto its buffers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallPlan {
    /// The syscall number.
    pub nr: u32,
    /// Its signature, if sysgate has one.
    pub signature: Option<&'static Signature>,
    /// The call as written (inputs print back from here).
    pub call: Call,
    /// One entry per argument word of the op (omitted trailing arguments
    /// included, as `Imm(0)`).
    pub args: Vec<ArgPlan>,
    /// One entry per buffer of the op, in order.
    pub buffers: Vec<BufferPlan>,
}

impl CallPlan {
    /// The completion output of buffer `buf`, if it is an output.
    pub fn output<'c>(
        &self,
        outputs: &'c [sysgate_proto::Bytes<'_>],
        buf: u16,
    ) -> Option<&'c [u8]> {
        let slot = self.buffers.get(usize::from(buf))?.output?;
        outputs.get(slot).map(|b| &b[..])
    }
}

/// One argument word and the memory behind it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgPlan {
    /// The word passed.
    pub word: Arg,
    /// The buffers it points at.
    pub memory: Memory,
}

/// The buffers behind an argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Memory {
    /// None: an immediate, a link result, or NULL.
    None,
    /// One buffer.
    Buffer(u16),
    /// An iovec array and its elements.
    Iovec(IovecPlan),
    /// A msghdr, its name and its iovecs.
    Msghdr(MsghdrPlan),
}

/// The buffers of an iovec array.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IovecPlan {
    /// The buffer holding the `struct iovec` array.
    pub array: u16,
    /// Each element's data buffer (`None` for a NULL `iov_base`).
    pub elems: Vec<Option<u16>>,
}

/// The buffers of a msghdr.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MsghdrPlan {
    /// The 56-byte header.
    pub header: u16,
    /// The address buffer, if `msg_name` is not NULL.
    pub name: Option<u16>,
    /// The iovecs, if `msg_iov` is not NULL.
    pub iov: Option<IovecPlan>,
}

/// One buffer of the op.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BufferPlan {
    /// Its size in bytes.
    pub len: usize,
    /// Its index among the completion's outputs, if it is an output.
    pub output: Option<usize>,
    /// The bytes an in/out buffer started with (empty otherwise), to print
    /// `[110 => 2]`.
    pub initial: Vec<u8>,
}

/// The most buffer bytes one call may have: what the gateway's buffer
/// arena moves for one request (buffers beyond a frame's 1 MiB go through
/// it). Checked here too, so that a length in a trace line never makes the
/// shell allocate more than a call could submit.
pub const MAX_CALL_BYTES: u64 = sysgate::DEFAULT_ARENA_BYTES as u64;

/// Buffers and relocations under construction.
#[derive(Default)]
struct Builder {
    bufs: Vec<Buffer<'static>>,
    relocs: Vec<Reloc>,
    total: u64,
}

impl Builder {
    fn push(&mut self, buf: Buffer<'static>, col: usize) -> Result<u16, LowerError> {
        self.total += buf.len() as u64;
        if self.total > MAX_CALL_BYTES {
            return Err(LowerError::new(
                col,
                LowerErrorKind::TooLarge { bytes: self.total },
            ));
        }
        if self.bufs.len() >= MAX_BUFFERS {
            return Err(LowerError::new(col, LowerErrorKind::TooManyBuffers));
        }
        let index = self.bufs.len() as u16;
        self.bufs.push(buf);
        Ok(index)
    }

    fn reloc(&mut self, buf: u16, at: usize, target: u16, col: usize) -> Result<(), LowerError> {
        if self.relocs.len() >= MAX_RELOCS {
            return Err(LowerError::new(col, LowerErrorKind::TooManyBuffers));
        }
        self.relocs.push(Reloc {
            buf,
            at: at as u32,
            target,
            offset: 0,
        });
        Ok(())
    }
}

/// Capacity of an output buffer, bounded by what one call may carry.
fn capacity(n: u64, col: usize) -> Result<u32, LowerError> {
    if n > MAX_CALL_BYTES {
        return Err(LowerError::new(col, LowerErrorKind::TooLarge { bytes: n }));
    }
    Ok(n as u32)
}

fn plain(word: Arg) -> ArgPlan {
    ArgPlan {
        word,
        memory: Memory::None,
    }
}

/// `lower(call, ctx)` — the request for `call`, and its plan.
///
/// # Errors
/// A [`LowerError`] with the column of the value at fault: an unknown or
/// forbidden syscall, a value of the wrong shape, an unknown name or
/// variable, a buffer too large, … (see [`LowerErrorKind`]).
pub fn lower(call: &Call, ctx: &LowerContext<'_>) -> Result<Lowered, LowerError> {
    let nr = syscall_number(&call.name).ok_or_else(|| {
        LowerError::new(
            call.col,
            LowerErrorKind::UnknownSyscall {
                name: call.name.clone(),
            },
        )
    })?;
    if sysgate_sys::class_of(nr) == ExecClass::Forbidden {
        return Err(LowerError::new(
            call.col,
            LowerErrorKind::Forbidden {
                name: call.name.clone(),
                reason: sysgate_sys::class_reason(nr),
            },
        ));
    }
    let ev = Eval {
        vars: ctx.vars,
        chain_position: ctx.chain_position,
    };
    let signature = sysgate_sys::signature(nr);
    let mut b = Builder::default();
    let mut args = Vec::new();
    match signature {
        None => {
            if let Some(extra) = call.args.get(MAX_SYSCALL_ARGS) {
                return Err(LowerError::new(
                    extra.col,
                    LowerErrorKind::WrongArgCount {
                        name: call.name.clone(),
                        min: 0,
                        max: MAX_SYSCALL_ARGS,
                        got: call.args.len(),
                    },
                ));
            }
            for e in &call.args {
                if matches!(
                    e.unannotated().value,
                    Value::Str { .. } | Value::Struct(_) | Value::Array(_)
                ) {
                    return Err(LowerError::new(
                        e.col,
                        LowerErrorKind::NeedsSignature {
                            name: call.name.clone(),
                        },
                    ));
                }
                args.push(plain(ev.word(e, None, "argument")?));
            }
        }
        Some(sig) => {
            let (min, max) = (min_args(sig), sig.args.len());
            let got = call.args.len();
            if got < min || got > max {
                return Err(LowerError::new(
                    call.args.get(max).map_or(call.end_col, |e| e.col),
                    LowerErrorKind::WrongArgCount {
                        name: call.name.clone(),
                        min,
                        max,
                        got,
                    },
                ));
            }
            for i in 0..max {
                args.push(match call.args.get(i) {
                    Some(e) => lower_arg(&ev, &mut b, call, sig, i, e)?,
                    None => plain(Arg::Imm(0)),
                });
            }
        }
    }
    let mut outputs = 0;
    let buffers = b
        .bufs
        .iter()
        .map(|buf| BufferPlan {
            len: buf.len(),
            output: buf.is_output().then(|| {
                outputs += 1;
                outputs - 1
            }),
            initial: match buf {
                Buffer::InOut(bytes) => bytes.to_vec(),
                _ => Vec::new(),
            },
        })
        .collect();
    let op = SyscallOp {
        nr,
        args: args.iter().map(|a| a.word).collect(),
        bufs: b.bufs,
        relocs: b.relocs,
    };
    Ok(Lowered {
        op,
        plan: CallPlan {
            nr,
            signature,
            call: call.clone(),
            args,
            buffers,
        },
    })
}

/// Whether lowering handles every argument kind of `sig` (the REPL can
/// build and print its calls). Forbidden syscalls are supported in this
/// sense; [`lower`] still refuses them.
pub fn is_supported(sig: &Signature) -> bool {
    sig.args.iter().all(|a| supports_kind(a.kind))
}

fn supports_kind(kind: ArgKind) -> bool {
    use StructKind as S;
    let encodes = |k: S| {
        matches!(
            k,
            S::Timespec
                | S::TimespecPair
                | S::Timeval
                | S::TimevalPair
                | S::Timezone
                | S::Itimerspec
                | S::Itimerval
                | S::Rlimit
                | S::Sigset
                | S::OpenHow
                | S::SchedParam
                | S::Int
                | S::U32
                | S::Socklen
                | S::Long
                | S::Loff
                | S::EpollEvent
                | S::Pollfd
                | S::CapHeader
                | S::CapData
                | S::Msghdr
        )
    };
    match kind {
        k if is_scalar(&k) => true,
        ArgKind::Path | ArgKind::Str => true,
        ArgKind::InBuf { .. }
        | ArgKind::OutBuf { .. }
        | ArgKind::OutBufLenPtr { .. }
        | ArgKind::OutRecords { .. }
        | ArgKind::InSockaddr { .. }
        | ArgKind::OutSockaddr { .. }
        | ArgKind::InIovec { .. }
        | ArgKind::OutIovec { .. } => true,
        ArgKind::OutStruct(k) => k.size().is_some(),
        ArgKind::InStruct(k) | ArgKind::InOutStruct(k) => encodes(k),
        ArgKind::InArray { elem, .. } | ArgKind::InOutArray { elem, .. } => {
            matches!(elem, S::U32 | S::Int | S::Pollfd | S::EpollEvent)
        }
        ArgKind::OutArray { elem, .. } => elem.size().is_some(),
        _ => false,
    }
}

/// The value of length argument `j`: `None` when it is a chain result.
fn length(
    ev: &Eval<'_>,
    call: &Call,
    sig: &Signature,
    j: usize,
) -> Result<Option<u64>, LowerError> {
    let (Some(e), Some(spec)) = (call.args.get(j), sig.args.get(j)) else {
        return Ok(Some(0));
    };
    match e.unannotated().value {
        Value::Var(VarRef::Prev | VarRef::Chain(_)) => Ok(None),
        _ => ev.int(e, spec.kind.table(), spec.name).map(Some),
    }
}

/// The value of a length argument that must be known now.
fn known_length(
    ev: &Eval<'_>,
    call: &Call,
    sig: &Signature,
    j: usize,
    col: usize,
) -> Result<u64, LowerError> {
    length(ev, call, sig, j)?.ok_or_else(|| {
        LowerError::new(
            col,
            LowerErrorKind::LengthFromLink {
                arg: sig.args.get(j).map_or("length", |a| a.name),
            },
        )
    })
}

/// The length a `socklen_t *` argument `j` points at: `[16]`,
/// `[110 => 2]`, or 0 for NULL.
fn socklen(ev: &Eval<'_>, call: &Call, j: usize) -> Result<u64, LowerError> {
    let Some(e) = call.args.get(j) else {
        return Ok(0);
    };
    let inner = e.unannotated();
    match &inner.value {
        Value::Null => Ok(0),
        Value::Array(elems) if elems.len() == 1 => ev.int(&elems[0], None, "socklen"),
        Value::Changed { before, .. } => match &before.value {
            Value::Array(elems) if elems.len() == 1 => ev.int(&elems[0], None, "socklen"),
            _ => Err(LowerError::expected(
                inner,
                "socklen",
                "a length in brackets, like [16]",
            )),
        },
        _ => Err(LowerError::expected(
            inner,
            "socklen",
            "a length in brackets, like [16]",
        )),
    }
}

/// The bytes of an input buffer: a string, or `[1]`-style ints (socket
/// options), and whether strace cut the string short.
fn input_bytes(ev: &Eval<'_>, e: &Expr, arg: &str) -> Result<(Vec<u8>, bool), LowerError> {
    match &e.value {
        Value::Str { bytes, truncated } => Ok((bytes.clone(), *truncated)),
        Value::Array(_) => Ok((encode_array(ev, StructKind::Int, e, arg)?, false)),
        _ => Err(LowerError::expected(e, arg, "the bytes to pass (a string)")),
    }
}

/// Fits input bytes to a length: pads a cut-short string with zeros, and
/// refuses a length longer than a whole string.
fn fit(
    bytes: &mut Vec<u8>,
    truncated: bool,
    len: Option<u64>,
    col: usize,
) -> Result<(), LowerError> {
    let Some(len) = len else {
        return Ok(());
    };
    let have = bytes.len();
    if len > have as u64 {
        if !truncated {
            return Err(LowerError::new(
                col,
                LowerErrorKind::LengthExceedsData { len, have },
            ));
        }
        // Zeroed by the allocator (fresh pages for big lengths), not
        // filled byte by byte.
        let mut padded = vec![0; capacity(len, col)? as usize];
        padded[..have].copy_from_slice(bytes);
        *bytes = padded;
    }
    Ok(())
}

fn lower_arg(
    ev: &Eval<'_>,
    b: &mut Builder,
    call: &Call,
    sig: &Signature,
    i: usize,
    e: &Expr,
) -> Result<ArgPlan, LowerError> {
    let spec = &sig.args[i];
    let inner = e.unannotated();
    let col = inner.col;
    let one = |b: &mut Builder, buf: Buffer<'static>| -> Result<ArgPlan, LowerError> {
        let index = b.push(buf, col)?;
        Ok(ArgPlan {
            word: Arg::Buf(index),
            memory: Memory::Buffer(index),
        })
    };
    if is_scalar(&spec.kind) {
        return Ok(plain(ev.word(e, spec.kind.table(), spec.name)?));
    }
    if inner.value == Value::Null {
        return Ok(plain(Arg::Imm(0)));
    }
    match spec.kind {
        ArgKind::Path | ArgKind::Str => {
            let Value::Str { bytes, truncated } = &inner.value else {
                return Err(LowerError::expected(inner, spec.name, "a string"));
            };
            if *truncated {
                return Err(LowerError::new(col, LowerErrorKind::Truncated));
            }
            let mut bytes = bytes.clone();
            bytes.push(0);
            one(b, Buffer::In(bytes.into()))
        }
        ArgKind::InBuf { len_arg } => {
            let (mut bytes, truncated) = input_bytes(ev, inner, spec.name)?;
            fit(
                &mut bytes,
                truncated,
                length(ev, call, sig, usize::from(len_arg))?,
                col,
            )?;
            one(b, Buffer::In(bytes.into()))
        }
        ArgKind::OutBuf { len_arg } | ArgKind::OutRecords { len_arg, .. } => {
            let n = known_length(ev, call, sig, usize::from(len_arg), col)?;
            one(b, Buffer::Out(capacity(n, col)?))
        }
        ArgKind::OutBufLenPtr { len_ptr_arg } | ArgKind::OutSockaddr { len_ptr_arg } => {
            let n = socklen(ev, call, usize::from(len_ptr_arg))?;
            one(b, Buffer::Out(capacity(n, col)?))
        }
        ArgKind::OutStruct(k) => {
            let size = k.size().ok_or_else(|| {
                LowerError::new(col, LowerErrorKind::Unsupported { what: k.c_name() })
            })?;
            one(b, Buffer::Out(size as u32))
        }
        ArgKind::InStruct(StructKind::Msghdr) => msghdr(ev, b, inner, false),
        ArgKind::InOutStruct(StructKind::Msghdr) => msghdr(ev, b, inner, true),
        ArgKind::InStruct(k) => one(
            b,
            Buffer::In(encode_struct(ev, k, inner, spec.name)?.into()),
        ),
        ArgKind::InOutStruct(k) => one(
            b,
            Buffer::InOut(encode_struct(ev, k, inner, spec.name)?.into()),
        ),
        ArgKind::InArray { elem, .. } => one(
            b,
            Buffer::In(encode_array(ev, elem, inner, spec.name)?.into()),
        ),
        ArgKind::InOutArray { elem, .. } => one(
            b,
            Buffer::InOut(encode_array(ev, elem, inner, spec.name)?.into()),
        ),
        ArgKind::OutArray { elem, count_arg } => {
            let count = known_length(ev, call, sig, usize::from(count_arg), col)?;
            let size = elem.size().ok_or_else(|| {
                LowerError::new(
                    col,
                    LowerErrorKind::Unsupported {
                        what: elem.c_name(),
                    },
                )
            })?;
            let bytes = count.saturating_mul(size as u64);
            one(b, Buffer::Out(capacity(bytes, col)?))
        }
        ArgKind::InIovec { .. } => {
            let plan = iovec(ev, b, inner, false)?;
            Ok(ArgPlan {
                word: Arg::Buf(plan.array),
                memory: Memory::Iovec(plan),
            })
        }
        ArgKind::OutIovec { .. } => {
            let plan = iovec(ev, b, inner, true)?;
            Ok(ArgPlan {
                word: Arg::Buf(plan.array),
                memory: Memory::Iovec(plan),
            })
        }
        ArgKind::InSockaddr { len_arg } => {
            let mut bytes = encode_sockaddr(ev, inner)?;
            if let Some(len) = length(ev, call, sig, usize::from(len_arg))? {
                // The kernel reads `len` bytes: give it that many, up to
                // the size of a `sockaddr_storage`.
                let want = (len.min(SOCKADDR_STORAGE) as usize).max(bytes.len());
                bytes.resize(want, 0);
            }
            one(b, Buffer::In(bytes.into()))
        }
        _ => Err(LowerError::new(
            col,
            LowerErrorKind::Unsupported {
                what: "this argument kind",
            },
        )),
    }
}

/// `sizeof(struct sockaddr_storage)`.
const SOCKADDR_STORAGE: u64 = 128;

/// `[{iov_base=…, iov_len=N}, …]`: elements first, then the array, then
/// one relocation per non-NULL base.
fn iovec(ev: &Eval<'_>, b: &mut Builder, e: &Expr, out: bool) -> Result<IovecPlan, LowerError> {
    let Value::Array(elems) = &e.value else {
        return Err(LowerError::expected(
            e,
            "iov",
            "an iovec array [{iov_base=..., iov_len=N}, ...]",
        ));
    };
    let mut array = vec![0u8; elems.len().saturating_mul(16)];
    let mut bufs = Vec::with_capacity(elems.len());
    for (k, el) in elems.iter().enumerate() {
        if el.value == Value::Ellipsis {
            return Err(LowerError::new(el.col, LowerErrorKind::Truncated));
        }
        let Value::Struct(fields) = &el.value else {
            return Err(LowerError::expected(el, "iov", "{iov_base=..., iov_len=N}"));
        };
        let mut base = None;
        let mut len = None;
        for f in fields {
            match f.name.as_deref() {
                Some("iov_base") => base = Some(&f.value),
                Some("iov_len") => len = Some(ev.int(&f.value, None, "iov_len")?),
                Some(other) => {
                    return Err(LowerError::new(
                        f.value.col,
                        LowerErrorKind::UnknownField {
                            what: "struct iovec",
                            field: other.to_owned(),
                        },
                    ));
                }
                None => {
                    return Err(LowerError::expected(
                        &f.value,
                        "iov",
                        "named fields (field=value)",
                    ));
                }
            }
        }
        let base = base.map(Expr::unannotated);
        let buf = match base {
            None => None,
            Some(x) if x.value == Value::Null => None,
            Some(x) if out => {
                let n = len.ok_or_else(|| {
                    LowerError::new(
                        el.col,
                        LowerErrorKind::MissingField {
                            what: "struct iovec",
                            field: "iov_len",
                        },
                    )
                })?;
                Some(b.push(Buffer::Out(capacity(n, x.col)?), x.col)?)
            }
            Some(x) => {
                let (mut bytes, truncated) = input_bytes(ev, x, "iov_base")?;
                fit(&mut bytes, truncated, len, x.col)?;
                Some(b.push(Buffer::In(bytes.into()), x.col)?)
            }
        };
        let len = match (len, base, buf) {
            (Some(n), _, _) => n,
            (None, _, Some(index)) => b.bufs[usize::from(index)].len() as u64,
            (None, _, None) => 0,
        };
        array[16 * k + 8..16 * k + 16].copy_from_slice(&len.to_ne_bytes());
        bufs.push(buf);
    }
    let index = b.push(Buffer::In(array.into()), e.col)?;
    for (k, buf) in bufs.iter().enumerate() {
        if let Some(target) = buf {
            b.reloc(index, 16 * k, *target, e.col)?;
        }
    }
    Ok(IovecPlan {
        array: index,
        elems: bufs,
    })
}

/// `struct msghdr` (56 bytes: name@0 namelen@8 iov@16 iovlen@24
/// control@32 controllen@40 flags@48). `recv`: the header is in/out, the
/// name and the iovec data are outputs.
fn msghdr(ev: &Eval<'_>, b: &mut Builder, e: &Expr, recv: bool) -> Result<ArgPlan, LowerError> {
    const WHAT: &str = "struct msghdr";
    const KNOWN: [&str; 7] = [
        "msg_name",
        "msg_namelen",
        "msg_iov",
        "msg_iovlen",
        "msg_control",
        "msg_controllen",
        "msg_flags",
    ];
    let Value::Struct(fields) = &e.value else {
        return Err(LowerError::expected(e, WHAT, "a struct {field=value, ...}"));
    };
    let get = |name: &str| fields.iter().find(|f| f.name.as_deref() == Some(name));
    for f in fields {
        match &f.name {
            Some(n) if !KNOWN.contains(&n.as_str()) => {
                return Err(LowerError::new(
                    f.value.col,
                    LowerErrorKind::UnknownField {
                        what: WHAT,
                        field: n.clone(),
                    },
                ));
            }
            None if f.value.value != Value::Ellipsis => {
                return Err(LowerError::expected(
                    &f.value,
                    WHAT,
                    "named fields (field=value)",
                ));
            }
            _ => {}
        }
    }
    let int = |name: &str, table| -> Result<Option<u64>, LowerError> {
        match fields.iter().find(|f| f.name.as_deref() == Some(name)) {
            Some(f) => ev.int(&f.value, table, name).map(Some),
            None => Ok(None),
        }
    };
    if let Some(c) = get("msg_control")
        && c.value.unannotated().value != Value::Null
    {
        return Err(LowerError::new(
            c.value.col,
            LowerErrorKind::Unsupported {
                what: "control messages (msg_control)",
            },
        ));
    }
    if int("msg_controllen", None)?.unwrap_or(0) != 0 {
        return Err(LowerError::new(
            e.col,
            LowerErrorKind::Unsupported {
                what: "control messages (msg_controllen)",
            },
        ));
    }
    let mut header = [0u8; 56];
    let namelen_written = int("msg_namelen", None)?;
    let name = match get("msg_name").map(|f| f.value.unannotated()) {
        None => None,
        Some(x) if x.value == Value::Null => None,
        Some(x) if recv => {
            let n = namelen_written.unwrap_or(SOCKADDR_STORAGE);
            Some(b.push(Buffer::Out(capacity(n, x.col)?), x.col)?)
        }
        Some(x) => {
            let mut bytes = encode_sockaddr(ev, x)?;
            if let Some(len) = namelen_written {
                let want = (len.min(SOCKADDR_STORAGE) as usize).max(bytes.len());
                bytes.resize(want, 0);
            }
            Some(b.push(Buffer::In(bytes.into()), x.col)?)
        }
    };
    let namelen = match (namelen_written, name) {
        (Some(n), _) => n,
        (None, Some(index)) => b.bufs[usize::from(index)].len() as u64,
        (None, None) => 0,
    };
    header[8..12].copy_from_slice(&(namelen as u32).to_ne_bytes());
    let iov = match get("msg_iov").map(|f| f.value.unannotated()) {
        None => None,
        Some(x) if x.value == Value::Null => None,
        Some(x) => Some(iovec(ev, b, x, recv)?),
    };
    let iovlen = match (int("msg_iovlen", None)?, &iov) {
        (Some(n), _) => n,
        (None, Some(plan)) => plan.elems.len() as u64,
        (None, None) => 0,
    };
    header[24..32].copy_from_slice(&iovlen.to_ne_bytes());
    let flags = int("msg_flags", Some(&MSG_FLAGS))?.unwrap_or(0);
    header[48..52].copy_from_slice(&(flags as u32).to_ne_bytes());
    let bytes = header.to_vec().into();
    let index = b.push(
        if recv {
            Buffer::InOut(bytes)
        } else {
            Buffer::In(bytes)
        },
        e.col,
    )?;
    if let Some(target) = name {
        b.reloc(index, 0, target, e.col)?;
    }
    if let Some(plan) = &iov {
        b.reloc(index, 16, plan.array, e.col)?;
    }
    Ok(ArgPlan {
        word: Arg::Buf(index),
        memory: Memory::Msghdr(MsghdrPlan {
            header: index,
            name,
            iov,
        }),
    })
}
