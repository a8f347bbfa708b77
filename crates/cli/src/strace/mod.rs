//! strace syntax: the text layer of the REPL and of trace replay.
//!
//! - [`parse_line`] reads one line of REPL input — a call written the way
//!   strace prints it (`openat(AT_FDCWD, "/etc/hostname", O_RDONLY)`), a
//!   whole strace output line (pid, timestamps, `= 3`, `<0.000016>`, `-y`
//!   annotations), `$var = call`, `call &`, `{ a; b }` batches, `a -> b`
//!   chains, `:commands` — into a [`Line`], checking each call against
//!   sysgate's syscall table. Errors carry the 1-based character column.
//! - [`lower`] turns a [`Call`] into a [`SyscallOp`](sysgate_proto::SyscallOp)
//!   ready to submit, with a [`CallPlan`] saying which argument owns which
//!   buffer.
//! - [`format_call`] prints a call back as strace would (for echo and dry
//!   runs); [`format_completion`] prints a finished call with its outputs
//!   decoded from the completion: `read(3, "hello\n", 64) = 6`.
//! - [`parse_trace`] reads a whole strace log into per-pid timelines, and
//!   [`Classifier`] says which traced calls can be replayed and how their
//!   fds map.
//!
//! ```
//! use sysgate_cli::strace::{Line, LowerContext, format_call, lower, parse_line};
//!
//! let Line::Call(line) = parse_line(r#"openat(AT_FDCWD, "/etc/hostname", O_RDONLY|O_CLOEXEC)"#)? else {
//!     unreachable!()
//! };
//! let lowered = lower(&line.call, &LowerContext::standalone())?;
//! assert_eq!(lowered.op.bufs.len(), 1); // the path, NUL-terminated
//! assert_eq!(
//!     format_call(&line.call),
//!     r#"openat(AT_FDCWD, "/etc/hostname", O_RDONLY|O_CLOEXEC)"#
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Modules: [`ast`] (the tree), `lex` and `parse` (text → tree), `check`
//! (tree ↔ syscall table), `eval` (integer expressions), `lower` (tree →
//! request), `structs` (kernel structs in and out), `format` (tree and
//! completions → text), `trace` (whole logs, replayability).

pub mod ast;
mod check;
mod error;
mod eval;
mod format;
mod lex;
mod lower;
mod names;
mod parse;
mod structs;
mod trace;

#[cfg(test)]
mod tests;

pub use ast::{
    BinOp, Call, CallLine, Command, Expr, Field, Line, NonCall, Outcome, Prefix, Setting, Step,
    Tag, Timestamp, TraceLine, TracedResult, UnOp, Value, VarRef,
};
pub use check::{MAX_SYSCALL_ARGS, min_args, syscall_number};
pub use error::{LowerError, LowerErrorKind, ParseError, ParseErrorKind};
pub use format::{
    FormatOptions, format_call, format_completion, format_expr, format_result, quote,
};
pub use lower::{
    ArgPlan, BufferPlan, CallPlan, IovecPlan, LowerContext, Lowered, MAX_CALL_BYTES, Memory,
    MsghdrPlan, is_supported, lower,
};
pub use parse::{MAX_DEPTH, MAX_OPERATORS, parse_call, parse_line, parse_trace_line};
pub use trace::{
    Classifier, FdArg, FdEffects, FdRole, MalformedLine, NonCallCounts, Opens, SkipReason,
    Timeline, Trace, TracedCall, Unsupported, Verdict, classify_trace, fd_args, fd_value, map_fds,
    parse_trace, result_is_fd,
};

/// The body of the `parse_line` fuzz target: bytes (lossy UTF-8) through
/// the REPL parser and the trace parser. Whatever parses as REPL input must
/// print and parse back to the same calls; a call that lowers must lower to
/// the same request after that round trip.
///
/// # Panics
/// When the round trip fails — that is the bug the fuzzer looks for.
pub fn fuzz_parse_line(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = parse_trace(&text);
    for line in text.lines() {
        let _ = parse_trace_line(line);
        let Ok(parsed) = parse_line(line) else {
            continue;
        };
        for call in parsed.calls() {
            let printed = format_call(call);
            let again = match parse_call(&printed) {
                Ok(c) => c,
                Err(e) => panic!("{printed:?} (from {line:?}) does not parse: {e}"),
            };
            assert_eq!(&again, call, "{line:?} printed as {printed:?}");
            let vars = |_: &str| Some(7u64);
            let ctx = LowerContext {
                vars: &vars,
                chain_position: Some(3),
            };
            if let Ok(first) = lower(call, &ctx) {
                let second = lower(&again, &ctx).unwrap_or_else(|e| {
                    panic!("{printed:?} lowered before printing but not after: {e}")
                });
                assert_eq!(first.op, second.op, "{line:?} printed as {printed:?}");
            }
        }
    }
}
