//! Printing in strace's form: calls as written (for echo and dry runs) and
//! completed calls with their outputs decoded.
//!
//! Inputs print back the way they were parsed, with numbers in the radix
//! strace uses for the argument (hex for pointers and flag bits, octal for
//! modes), so `parse(format(call)) == call`. Outputs of a successful call
//! are decoded from the completion: strings escaped and cut at
//! [`FormatOptions::strsize`] bytes with strace's `"..."...`, structs
//! (stat, statx, timespec, sockaddr, dirents, …) in `{field=value, ...}`
//! form, flags by name. A failed call prints its outputs as written.

use std::fmt::Write as _;

use sysgate_proto::Completion;
use sysgate_sys::flags::Leftover;
use sysgate_sys::{ArgKind, Errno, RetKind, Signature, StructKind};

use super::ast::{BinOp, Call, Expr, Field, UnOp, Value};
use super::check::syscall_number;
use super::lower::{CallPlan, IovecPlan, Memory};
use super::structs::{decode_array, decode_dirents, decode_sockaddr, decode_struct, poll_revents};

/// How outputs are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FormatOptions {
    /// Bytes of a string (and elements of an array) printed before `...`
    /// (strace's `-s`, default 32).
    pub strsize: usize,
    /// Print structs in full (strace's `-v`).
    pub verbose: bool,
}

impl Default for FormatOptions {
    fn default() -> Self {
        FormatOptions {
            strsize: 32,
            verbose: false,
        }
    }
}

/// `quote(bytes, limit, hex)` — a C string literal the way strace prints
/// one: printable ASCII as is, `\n \t \r \v \f \" \\`, other bytes as
/// octal escapes (three digits when an octal digit follows) or, with
/// `hex`, every byte as `\xNN`. With a `limit` shorter than the bytes, the
/// first `limit` bytes and the `...` marker after the closing quote.
pub fn quote(bytes: &[u8], limit: Option<usize>, hex: bool) -> String {
    let shown = limit.map_or(bytes.len(), |l| l.min(bytes.len()));
    let mut s = String::with_capacity(shown + 2);
    s.push('"');
    for (i, &c) in bytes.iter().take(shown).enumerate() {
        if hex {
            let _ = write!(s, "\\x{c:02x}");
            continue;
        }
        match c {
            b'"' => s.push_str("\\\""),
            b'\\' => s.push_str("\\\\"),
            b'\n' => s.push_str("\\n"),
            b'\t' => s.push_str("\\t"),
            b'\r' => s.push_str("\\r"),
            0x0b => s.push_str("\\v"),
            0x0c => s.push_str("\\f"),
            0x20..=0x7e => s.push(char::from(c)),
            _ => {
                let next_is_octal =
                    bytes.get(i + 1).is_some_and(|n| (b'0'..=b'7').contains(n)) && i + 1 < shown;
                if next_is_octal {
                    let _ = write!(s, "\\{c:03o}");
                } else {
                    let _ = write!(s, "\\{c:o}");
                }
            }
        }
    }
    s.push('"');
    if shown < bytes.len() {
        s.push_str("...");
    }
    s
}

/// How a number prints in an argument position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Radix {
    Dec,
    Hex,
    Oct,
}

/// The style of a top-level argument, from its kind.
#[derive(Debug, Clone, Copy)]
struct Style {
    radix: Radix,
    /// Arrays of names print space-separated (signal sets).
    spaced: bool,
}

const PLAIN: Style = Style {
    radix: Radix::Dec,
    spaced: false,
};

fn style_of(kind: Option<ArgKind>) -> Style {
    let Some(kind) = kind else {
        return PLAIN;
    };
    let radix = match kind {
        ArgKind::Mode => Radix::Oct,
        ArgKind::Ptr | ArgKind::Addr | ArgKind::MapRange => Radix::Hex,
        k if k.table().is_some() => match k.table().map(|t| t.leftover) {
            Some(Leftover::Hex) => Radix::Hex,
            Some(Leftover::Octal { .. }) => Radix::Oct,
            _ => Radix::Dec,
        },
        ArgKind::Fd
        | ArgKind::Int
        | ArgKind::Uint
        | ArgKind::Size
        | ArgKind::Offset
        | ArgKind::Dev
        | ArgKind::Pid
        | ArgKind::Uid
        | ArgKind::Gid => Radix::Dec,
        // Every other kind is a pointer: a number there is an address.
        _ => Radix::Hex,
    };
    let spaced = matches!(
        kind,
        ArgKind::InStruct(StructKind::Sigset) | ArgKind::OutStruct(StructKind::Sigset)
    );
    Style { radix, spaced }
}

/// Numbers in struct fields: modes in octal, addresses in hex.
fn field_style(name: &str) -> Style {
    let radix = if name.ends_with("mode") {
        Radix::Oct
    } else if name.ends_with("_base") || name.ends_with("addr") || name.ends_with("ptr") {
        Radix::Hex
    } else {
        Radix::Dec
    };
    Style {
        radix,
        spaced: name.ends_with("mask"),
    }
}

fn write_num(out: &mut String, n: i128, radix: Radix) {
    let _ = match radix {
        Radix::Hex if n > 0 => write!(out, "{n:#x}"),
        Radix::Oct if n > 0 => write!(out, "0{n:o}"),
        Radix::Oct if n == 0 => write!(out, "000"),
        _ => write!(out, "{n}"),
    };
}

/// Writes `e` in strace syntax.
fn write_expr(out: &mut String, e: &Expr, style: Style) {
    match &e.value {
        Value::Num(n) => write_num(out, *n, style.radix),
        Value::Str { bytes, truncated } => {
            out.push_str(&quote(bytes, None, false));
            if *truncated {
                out.push_str("...");
            }
        }
        Value::Null => out.push_str("NULL"),
        Value::Name(n) => out.push_str(n),
        Value::Flags(parts) => {
            for (i, p) in parts.iter().enumerate() {
                if i > 0 {
                    out.push('|');
                }
                write_expr(out, p, style);
            }
        }
        Value::Binary { op, lhs, rhs } => {
            write_expr(out, lhs, style);
            match op {
                BinOp::Mul | BinOp::Add | BinOp::Shl => out.push_str(op.as_str()),
                _ => {
                    out.push(' ');
                    out.push_str(op.as_str());
                    out.push(' ');
                }
            }
            write_expr(out, rhs, style);
        }
        Value::Unary { op, operand } => {
            out.push_str(op.as_str());
            // `& &x` must not print as `&&x`.
            if *op == UnOp::AddrOf
                && matches!(
                    operand.value,
                    Value::Unary {
                        op: UnOp::AddrOf,
                        ..
                    }
                )
            {
                out.push(' ');
            }
            write_expr(out, operand, style);
        }
        Value::Apply { func, args } => {
            out.push_str(func);
            out.push('(');
            let style = if func == "makedev" {
                Style {
                    radix: Radix::Hex,
                    spaced: false,
                }
            } else {
                PLAIN
            };
            write_list(out, args, ", ", style);
            out.push(')');
        }
        Value::Struct(fields) => {
            out.push('{');
            for (i, f) in fields.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                let style = match &f.name {
                    Some(name) => {
                        out.push_str(name);
                        out.push('=');
                        field_style(name)
                    }
                    None => PLAIN,
                };
                write_expr(out, &f.value, style);
            }
            out.push('}');
        }
        Value::Array(elems) => {
            let spaced = style.spaced
                && elems
                    .iter()
                    .all(|x| matches!(x.value, Value::Name(_) | Value::Num(_)));
            out.push('[');
            write_list(out, elems, if spaced { " " } else { ", " }, PLAIN);
            out.push(']');
        }
        Value::Ellipsis => out.push_str("..."),
        Value::Annotated { value, note } => {
            write_expr(out, value, style);
            out.push('<');
            out.push_str(note);
            out.push('>');
        }
        Value::Changed { before, after } => {
            write_expr(out, before, style);
            out.push_str(" => ");
            write_expr(out, after, style);
        }
        Value::Var(v) => {
            let _ = write!(out, "{v}");
        }
    }
}

fn write_list(out: &mut String, items: &[Expr], sep: &str, style: Style) {
    for (i, x) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(sep);
        }
        write_expr(out, x, style);
    }
}

fn signature_of(call: &Call) -> Option<&'static Signature> {
    syscall_number(&call.name).and_then(sysgate_sys::signature)
}

/// `format_call(call)` — the call as strace would print it, without a
/// result: `openat(AT_FDCWD, "/etc/hostname", O_RDONLY|O_CLOEXEC)`.
pub fn format_call(call: &Call) -> String {
    let sig = signature_of(call);
    let mut out = String::new();
    out.push_str(&call.name);
    out.push('(');
    for (i, e) in call.args.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        let kind = sig.and_then(|s| s.args.get(i)).map(|a| a.kind);
        write_expr(&mut out, e, style_of(kind));
    }
    out.push(')');
    out
}

/// `format_expr(e)` — one value in strace syntax, numbers in decimal.
pub fn format_expr(e: &Expr) -> String {
    let mut out = String::new();
    write_expr(&mut out, e, PLAIN);
    out
}

impl std::fmt::Display for Call {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&format_call(self))
    }
}

impl std::fmt::Display for Expr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&format_expr(self))
    }
}

/// `format_result(signature, result)` — what strace prints after `= `:
/// `3`, `0x7f3a…` for addresses, `022` for a umask, or
/// `-1 ENOENT (No such file or directory)`.
pub fn format_result(signature: Option<&Signature>, result: i64) -> String {
    if let Some(errno) = Errno::from_ret(result) {
        return format!("-1 {errno}");
    }
    match signature.map(|s| s.ret) {
        Some(RetKind::Addr) => format!("{result:#x}"),
        Some(RetKind::Mode) => {
            // C's `%#03o`: a leading zero, at least three digits.
            let mut s = format!("0{result:o}");
            while s.len() < 3 {
                s.insert(0, '0');
            }
            s
        }
        _ => result.to_string(),
    }
}

/// `format_completion(plan, completion, opts)` — the whole line:
/// `read(3, "hello\n", 64) = 6`, outputs decoded from the completion.
pub fn format_completion(plan: &CallPlan, c: &Completion<'_>, opts: &FormatOptions) -> String {
    let ok = Errno::from_ret(c.result).is_none();
    let sig = plan.signature;
    let mut out = String::new();
    out.push_str(&plan.call.name);
    out.push('(');
    for (i, e) in plan.call.args.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        let kind = sig.and_then(|s| s.args.get(i)).map(|a| a.kind);
        let decoded = match (ok, kind, sig) {
            (true, Some(kind), Some(sig)) => decode_arg(plan, sig, i, kind, c, opts),
            _ => None,
        };
        match decoded {
            Some(text) => out.push_str(&text),
            // Data the call reads is cut at `strsize` like strace cuts it;
            // paths are printed whole.
            None if matches!(
                kind,
                Some(
                    ArgKind::InBuf { .. }
                        | ArgKind::InIovec { .. }
                        | ArgKind::InStruct(StructKind::Msghdr)
                )
            ) =>
            {
                write_expr(&mut out, &clip_strings(e, opts.strsize), style_of(kind));
            }
            None => write_expr(&mut out, e, style_of(kind)),
        }
    }
    out.push_str(") = ");
    out.push_str(&format_result(sig, c.result));
    if ok && c.result > 0 {
        // poll/ppoll: strace adds the ready fds after the result.
        if let Some(sig) = sig
            && let Some(i) = sig.args.iter().position(|a| {
                matches!(
                    a.kind,
                    ArgKind::InOutArray {
                        elem: StructKind::Pollfd,
                        ..
                    }
                )
            })
            && let Some(bytes) = single_output(plan, i, c)
        {
            let _ = write!(out, " ({})", poll_revents(bytes));
        }
    }
    out
}

/// `e` with every string longer than `strsize` bytes cut to that length
/// and marked as cut (`"…"...`).
fn clip_strings(e: &Expr, strsize: usize) -> Expr {
    let clip = |x: &Expr| clip_strings(x, strsize);
    let value = match &e.value {
        Value::Str { bytes, truncated } if bytes.len() > strsize => Value::Str {
            bytes: bytes[..strsize].to_vec(),
            truncated: true,
        },
        Value::Str { bytes, truncated } => Value::Str {
            bytes: bytes.clone(),
            truncated: *truncated,
        },
        Value::Array(elems) => Value::Array(elems.iter().map(clip).collect()),
        Value::Struct(fields) => Value::Struct(
            fields
                .iter()
                .map(|f| Field {
                    name: f.name.clone(),
                    value: clip(&f.value),
                })
                .collect(),
        ),
        Value::Annotated { value, note } => Value::Annotated {
            value: Box::new(clip(value)),
            note: note.clone(),
        },
        other => other.clone(),
    };
    Expr::new(e.col, value)
}

/// The one output buffer behind argument `i`.
fn single_output<'c>(plan: &CallPlan, i: usize, c: &'c Completion<'_>) -> Option<&'c [u8]> {
    match &plan.args.get(i)?.memory {
        Memory::Buffer(b) => plan.output(&c.outputs, *b),
        _ => None,
    }
}

/// The result as a byte count (0 for negative results).
fn result_len(c: &Completion<'_>) -> usize {
    usize::try_from(c.result).unwrap_or(0)
}

/// Fills `elems` with `total` bytes in order: strace's view of readv.
fn iovecs(
    plan: &CallPlan,
    iov: &IovecPlan,
    c: &Completion<'_>,
    total: usize,
    opts: &FormatOptions,
) -> String {
    let mut left = total;
    let mut parts = Vec::new();
    for (k, elem) in iov.elems.iter().enumerate() {
        if k >= opts.strsize {
            parts.push("...".to_owned());
            break;
        }
        let Some(buf) = elem else {
            parts.push("{iov_base=NULL, iov_len=0}".to_owned());
            continue;
        };
        let len = plan.buffers.get(usize::from(*buf)).map_or(0, |b| b.len);
        let data = plan.output(&c.outputs, *buf).unwrap_or(&[]);
        let n = left.min(len).min(data.len());
        left -= n;
        parts.push(format!(
            "{{iov_base={}, iov_len={len}}}",
            quote(&data[..n], Some(opts.strsize), false)
        ));
    }
    format!("[{}]", parts.join(", "))
}

/// An output argument of a successful call, decoded.
fn decode_arg(
    plan: &CallPlan,
    sig: &Signature,
    i: usize,
    kind: ArgKind,
    c: &Completion<'_>,
    opts: &FormatOptions,
) -> Option<String> {
    match kind {
        ArgKind::OutBuf { .. } => {
            let data = single_output(plan, i, c)?;
            let mut n = data.len();
            if sig.ret == RetKind::Size {
                n = n.min(result_len(c));
            }
            let mut bytes = &data[..n];
            if sig.name == "getcwd" {
                bytes = bytes.strip_suffix(&[0]).unwrap_or(bytes);
            }
            Some(quote(bytes, Some(opts.strsize), sig.name == "getrandom"))
        }
        ArgKind::OutBufLenPtr { len_ptr_arg } => {
            let data = single_output(plan, i, c)?;
            let len = single_output(plan, usize::from(len_ptr_arg), c)
                .and_then(|b| b.get(..4)?.try_into().ok())
                .map_or(data.len(), |b: [u8; 4]| u32::from_ne_bytes(b) as usize);
            let bytes = &data[..len.min(data.len())];
            Some(match <[u8; 4]>::try_from(bytes) {
                Ok(word) => format!("[{}]", i32::from_ne_bytes(word)),
                Err(_) => quote(bytes, Some(opts.strsize), false),
            })
        }
        ArgKind::OutRecords { elem, .. } => {
            let data = single_output(plan, i, c)?;
            let bytes = &data[..result_len(c).min(data.len())];
            Some(decode_dirents(bytes, elem == StructKind::Dirent, opts))
        }
        ArgKind::OutIovec { .. } => match &plan.args.get(i)?.memory {
            Memory::Iovec(iov) => Some(iovecs(plan, iov, c, result_len(c), opts)),
            _ => None,
        },
        ArgKind::OutStruct(k) => decode_struct(k, single_output(plan, i, c)?, opts),
        ArgKind::InOutStruct(StructKind::Msghdr) => match &plan.args.get(i)?.memory {
            Memory::Msghdr(m) => {
                let header = plan.output(&c.outputs, m.header)?;
                let field = |at: usize, n: usize| header.get(at..at + n);
                let namelen = u32::from_ne_bytes(field(8, 4)?.try_into().ok()?);
                let flags = u32::from_ne_bytes(field(48, 4)?.try_into().ok()?);
                let name = match m.name {
                    Some(b) => {
                        let data = plan.output(&c.outputs, b)?;
                        decode_sockaddr(&data[..(namelen as usize).min(data.len())], opts)
                    }
                    None => "NULL".to_owned(),
                };
                let (iov, iovlen) = match &m.iov {
                    Some(iov) => (iovecs(plan, iov, c, result_len(c), opts), iov.elems.len()),
                    None => ("NULL".to_owned(), 0),
                };
                Some(format!(
                    "{{msg_name={name}, msg_namelen={namelen}, msg_iov={iov}, \
                     msg_iovlen={iovlen}, msg_controllen=0, msg_flags={}}}",
                    sysgate_sys::flags::MSG_FLAGS.format(u64::from(flags))
                ))
            }
            _ => None,
        },
        ArgKind::InOutStruct(k) => {
            let after = single_output(plan, i, c)?;
            let Memory::Buffer(b) = plan.args.get(i)?.memory else {
                return None;
            };
            let before = &plan.buffers.get(usize::from(b))?.initial;
            let (a, z) = (
                decode_struct(k, before, opts)?,
                decode_struct(k, after, opts)?,
            );
            if a == z {
                Some(a)
            } else if matches!(k, StructKind::Socklen | StructKind::Int | StructKind::U32) {
                // strace: `[110 => 2]`.
                let inner = |s: &str| s.trim_start_matches('[').trim_end_matches(']').to_owned();
                Some(format!("[{} => {}]", inner(&a), inner(&z)))
            } else {
                Some(format!("{a} => {z}"))
            }
        }
        ArgKind::OutArray { elem, count_arg } => {
            let data = single_output(plan, i, c)?;
            let count = match sig.ret {
                RetKind::Count => result_len(c),
                _ => {
                    let per = elem.size()?.max(1);
                    let _ = count_arg;
                    data.len() / per
                }
            };
            decode_array(elem, data, count, opts)
        }
        ArgKind::OutSockaddr { len_ptr_arg } => {
            let data = single_output(plan, i, c)?;
            let len = single_output(plan, usize::from(len_ptr_arg), c)
                .and_then(|b| b.get(..4)?.try_into().ok())
                .map_or(data.len(), |b: [u8; 4]| u32::from_ne_bytes(b) as usize);
            Some(decode_sockaddr(&data[..len.min(data.len())], opts))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_follows_strace() {
        assert_eq!(quote(b"hello\n", None, false), r#""hello\n""#);
        assert_eq!(
            quote(b"\x7fELF\x02\x01\x01\x00\x00", None, false),
            r#""\177ELF\2\1\1\0\0""#
        );
        assert_eq!(quote(b"\x001", None, false), r#""\0001""#);
        assert_eq!(quote(b"\x10t", None, false), r#""\20t""#);
        assert_eq!(quote(b"a\"b\\", None, false), r#""a\"b\\""#);
        assert_eq!(quote(b"abcdef", Some(3), false), r#""abc"..."#);
        assert_eq!(quote(b"abc", Some(3), false), r#""abc""#);
        assert_eq!(quote(b"\x14\xae", None, true), r#""\x14\xae""#);
        // The digit after the cut does not count.
        assert_eq!(quote(b"\x01\x32", Some(1), false), r#""\1"..."#);
    }

    #[test]
    fn results() {
        let openat = sysgate_sys::signature_by_name("openat");
        assert_eq!(format_result(openat, 3), "3");
        assert_eq!(
            format_result(openat, -2),
            "-1 ENOENT (No such file or directory)"
        );
        let mmap = sysgate_sys::signature_by_name("mmap");
        assert_eq!(format_result(mmap, 0x7f00_0000_1000), "0x7f0000001000");
        let umask = sysgate_sys::signature_by_name("umask");
        assert_eq!(format_result(umask, 0o22), "022");
        assert_eq!(format_result(None, 5), "5");
    }
}
