//! Checks a parsed call against sysgate's syscall table: its name, its
//! argument count and the symbolic names in its integer and flag
//! arguments. Shapes (a string where a struct belongs, …) are lowering's
//! business.

use sysgate_sys::{ArgKind, ArgSpec, Signature};

use super::ast::{Call, Expr, Value};
use super::error::{ParseError, ParseErrorKind};
use super::names::constant;

/// Most arguments a syscall takes.
pub const MAX_SYSCALL_ARGS: usize = sysgate_proto::MAX_ARGS;

/// `syscall_number(name)` — the number of syscall `name` on this
/// architecture. Besides the names the table knows, accepts strace's
/// spelling for numbers it has no name for: `syscall_0x1c3`,
/// `syscall_451`.
pub fn syscall_number(name: &str) -> Option<u32> {
    if let Some(nr) = sysgate_sys::number_of(name) {
        return Some(nr);
    }
    let digits = name.strip_prefix("syscall_")?;
    let n = match digits.strip_prefix("0x") {
        Some(hex) => u32::from_str_radix(hex, 16).ok()?,
        None => digits.parse().ok()?,
    };
    // Only numbers below the table size are real syscalls.
    (n < sysgate_sys::TABLE_SIZE as u32).then_some(n)
}

/// The fewest arguments strace prints for a call: a few calls leave out
/// trailing arguments that their other arguments make meaningless
/// (`openat`'s mode without `O_CREAT`, `fcntl`'s argument for `F_GETFL`,
/// `futex`'s timeout and second address for `FUTEX_WAKE`). Missing
/// arguments are passed as 0.
pub fn min_args(sig: &Signature) -> usize {
    let min = match sig.name {
        "open" => 2,
        "openat" => 3,
        "fcntl" => 2,
        "futex" => 3,
        "mremap" => 4,
        "prctl" => 1,
        "ioctl" => 2,
        _ => sig.args.len(),
    };
    min.min(sig.args.len())
}

/// Whether an argument kind is a plain integer whose symbolic names come
/// from [`ArgKind::table`] or the extra constants (`IPPROTO_TCP`, …).
pub(crate) fn is_scalar(kind: &ArgKind) -> bool {
    matches!(
        kind,
        ArgKind::Fd
            | ArgKind::DirFd
            | ArgKind::Flags(_)
            | ArgKind::Mode
            | ArgKind::Int
            | ArgKind::Uint
            | ArgKind::Size
            | ArgKind::Offset
            | ArgKind::Dev
            | ArgKind::Ptr
            | ArgKind::Addr
            | ArgKind::MapRange
            | ArgKind::Signal
            | ArgKind::Pid
            | ArgKind::Uid
            | ArgKind::Gid
            | ArgKind::ClockId
            | ArgKind::Whence
    )
}

/// Checks `call` against the table: unknown names, wrong argument counts
/// and unknown flag names are errors with their columns.
pub(crate) fn check_call(call: &Call) -> Result<(), ParseError> {
    let Some(nr) = syscall_number(&call.name) else {
        return Err(ParseError::new(
            call.col,
            ParseErrorKind::UnknownSyscall {
                name: call.name.clone(),
            },
        ));
    };
    let got = call.args.len();
    let Some(sig) = sysgate_sys::signature(nr) else {
        if let Some(extra) = call.args.get(MAX_SYSCALL_ARGS) {
            return Err(ParseError::new(
                extra.col,
                ParseErrorKind::WrongArgCount {
                    name: call.name.clone(),
                    min: 0,
                    max: MAX_SYSCALL_ARGS,
                    got,
                },
            ));
        }
        return Ok(());
    };
    let (min, max) = (min_args(sig), sig.args.len());
    if got < min || got > max {
        let col = call.args.get(max).map_or(call.end_col, |e| e.col);
        return Err(ParseError::new(
            col,
            ParseErrorKind::WrongArgCount {
                name: call.name.clone(),
                min,
                max,
                got,
            },
        ));
    }
    for (expr, spec) in call.args.iter().zip(sig.args) {
        check_names(expr, spec)?;
    }
    Ok(())
}

/// Every name in an integer argument must mean something to its table.
fn check_names(expr: &Expr, spec: &ArgSpec) -> Result<(), ParseError> {
    if !is_scalar(&spec.kind) {
        return Ok(());
    }
    let table = spec.kind.table();
    visit_names(expr, &mut |name, col| {
        if constant(table, name).is_some() {
            return Ok(());
        }
        Err(ParseError::new(
            col,
            match table {
                Some(t) => ParseErrorKind::BadFlag {
                    table: t.name,
                    name: name.to_owned(),
                },
                None => ParseErrorKind::UnknownName {
                    arg: spec.name,
                    name: name.to_owned(),
                },
            },
        ))
    })
}

/// Calls `f` on every name an integer expression combines.
fn visit_names(
    expr: &Expr,
    f: &mut impl FnMut(&str, usize) -> Result<(), ParseError>,
) -> Result<(), ParseError> {
    match &expr.value {
        Value::Name(name) => f(name, expr.col),
        Value::Flags(parts) => parts.iter().try_for_each(|p| visit_names(p, f)),
        Value::Binary { lhs, rhs, .. } => {
            visit_names(lhs, f)?;
            visit_names(rhs, f)
        }
        Value::Unary { operand, .. } => visit_names(operand, f),
        Value::Annotated { value, .. } => visit_names(value, f),
        Value::Changed { before, .. } => visit_names(before, f),
        _ => Ok(()),
    }
}
