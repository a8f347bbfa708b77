//! Parse errors: what went wrong and in which column.

use std::fmt;

/// Why a line did not parse, and the 1-based character column where the
/// problem starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based character (not byte) column.
    pub col: usize,
    /// What went wrong.
    pub kind: ParseErrorKind,
}

impl ParseError {
    /// An error of `kind` at column `col`.
    pub fn new(col: usize, kind: ParseErrorKind) -> Self {
        ParseError { col, kind }
    }
}

/// The kinds of [`ParseError`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// A character that cannot start or continue what was expected.
    UnexpectedChar {
        /// The character found.
        found: char,
        /// What would have fit, e.g. `a value`, `, or )`.
        expected: &'static str,
    },
    /// The line ended too early.
    UnexpectedEnd {
        /// What was still missing.
        expected: &'static str,
    },
    /// A `"` without its closing quote.
    UnterminatedString,
    /// A `/*` without its `*/`.
    UnterminatedComment,
    /// A `-y` annotation (`3</etc/passwd>`) or `<...>` without its `>`.
    UnterminatedAnnotation,
    /// A backslash escape C does not have, or `\x` without hex digits, or an
    /// octal escape above `\377`.
    BadEscape {
        /// The escape as written, e.g. `\q`.
        escape: String,
    },
    /// Something that starts like a number but is not one (`12ab`, `0x`,
    /// `09`).
    MalformedNumber {
        /// The text as written.
        text: String,
    },
    /// A number outside `i64::MIN..=u64::MAX`.
    NumberOutOfRange {
        /// The text as written.
        text: String,
    },
    /// Values nested deeper than the parser allows (structs in arrays in
    /// structs …, or very long operator chains).
    TooDeep,
    /// A `$` that is not `$name`, `$_`, `$prev` or `$1`…`$9`.
    BadVariable {
        /// The text as written.
        text: String,
    },
    /// `$_`, `$prev` or `$N` on the left of `=`: those are not assignable.
    ReservedVariable {
        /// The variable as written.
        text: String,
    },
    /// A syscall name this architecture does not have.
    UnknownSyscall {
        /// The name as written.
        name: String,
    },
    /// Too many or too few arguments for the syscall's signature.
    WrongArgCount {
        /// The syscall.
        name: String,
        /// The fewest arguments it takes (strace leaves out some trailing
        /// ones, like `openat`'s mode).
        min: usize,
        /// The most it takes.
        max: usize,
        /// How many were written.
        got: usize,
    },
    /// A name the argument's flag table does not know.
    BadFlag {
        /// The table, e.g. `open flags`.
        table: &'static str,
        /// The name as written.
        name: String,
    },
    /// A symbolic name where the argument has no table of names (an fd, a
    /// size, a pid).
    UnknownName {
        /// The argument's name in the signature.
        arg: &'static str,
        /// The name as written.
        name: String,
    },
    /// A `:command` the REPL does not have.
    UnknownCommand {
        /// The name as written.
        name: String,
    },
    /// A `:command` with arguments it does not take.
    BadCommandArgs {
        /// The command.
        command: &'static str,
        /// What it takes, e.g. `[tag]`.
        usage: &'static str,
    },
    /// A malformed timestamp at the start of a strace line.
    BadTimestamp,
    /// A malformed `-T` duration (`<0.000016>`).
    BadDuration,
    /// Half of a call strace split in two (`<unfinished ...>` or
    /// `<... read resumed>`): only a whole trace can put it together.
    IncompleteCall {
        /// The syscall.
        name: String,
    },
    /// `<... name resumed>` with no earlier `<unfinished ...>` half.
    UnmatchedResumed {
        /// The syscall.
        name: String,
    },
}

impl fmt::Display for ParseErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnexpectedChar { found, expected } => {
                write!(f, "unexpected {found:?}, expected {expected}")
            }
            Self::UnexpectedEnd { expected } => {
                write!(f, "unexpected end of line, expected {expected}")
            }
            Self::UnterminatedString => f.write_str("unterminated string"),
            Self::UnterminatedComment => f.write_str("unterminated /* comment"),
            Self::UnterminatedAnnotation => f.write_str("unterminated <...>"),
            Self::BadEscape { escape } => write!(f, "bad escape `{escape}` in string"),
            Self::MalformedNumber { text } => write!(f, "malformed number `{text}`"),
            Self::NumberOutOfRange { text } => {
                write!(f, "number `{text}` does not fit in 64 bits")
            }
            Self::TooDeep => f.write_str("values nested too deeply"),
            Self::BadVariable { text } => write!(
                f,
                "bad variable `{text}` (use $name, $_, $prev or $1 to $9)"
            ),
            Self::ReservedVariable { text } => {
                write!(f, "`{text}` cannot be assigned to")
            }
            Self::UnknownSyscall { name } => write!(f, "unknown syscall `{name}`"),
            Self::WrongArgCount {
                name,
                min,
                max,
                got,
            } => {
                if min == max {
                    write!(f, "{name} takes {max} argument")?;
                } else {
                    write!(f, "{name} takes {min} to {max} argument")?;
                }
                write!(f, "{}, got {got}", if *max == 1 { "" } else { "s" })
            }
            Self::BadFlag { table, name } => write!(f, "unknown {table} name `{name}`"),
            Self::UnknownName { arg, name } => {
                write!(f, "unknown name `{name}` for argument `{arg}`")
            }
            Self::UnknownCommand { name } => {
                write!(f, "unknown command `:{name}` (try :help)")
            }
            Self::BadCommandArgs { command, usage } => {
                write!(f, "usage: :{command} {usage}")
            }
            Self::BadTimestamp => f.write_str("malformed timestamp"),
            Self::BadDuration => f.write_str("malformed duration <seconds>"),
            Self::IncompleteCall { name } => write!(
                f,
                "half of a split `{name}` call (<unfinished ...>/<... resumed>); \
                 replay the whole trace instead"
            ),
            Self::UnmatchedResumed { name } => {
                write!(
                    f,
                    "`<... {name} resumed>` without its <unfinished ...> half"
                )
            }
        }
    }
}

impl fmt::Display for ParseError {
    /// `column 12: unterminated string`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "column {}: {}", self.col, self.kind)
    }
}

impl std::error::Error for ParseError {}

/// Why a parsed call cannot become a [`SyscallOp`](sysgate_proto::SyscallOp),
/// and the column of the value at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LowerError {
    /// 1-based character column (0 for calls built by code).
    pub col: usize,
    /// What went wrong.
    pub kind: LowerErrorKind,
}

impl LowerError {
    /// An error of `kind` at column `col`.
    pub fn new(col: usize, kind: LowerErrorKind) -> Self {
        LowerError { col, kind }
    }

    /// Argument `arg`, written as `e`, is not the `what` it must be.
    pub(crate) fn expected(e: &super::ast::Expr, arg: &str, what: &'static str) -> Self {
        LowerError::new(
            e.col,
            LowerErrorKind::Expected {
                arg: arg.to_owned(),
                what,
            },
        )
    }
}

/// The kinds of [`LowerError`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LowerErrorKind {
    /// A syscall name this architecture does not have.
    UnknownSyscall {
        /// The name as written.
        name: String,
    },
    /// A syscall the gateway never runs (`exit`, `execve`, `fork`, …).
    Forbidden {
        /// The syscall.
        name: String,
        /// Why, from the syscall table.
        reason: Option<&'static str>,
    },
    /// Too many or too few arguments.
    WrongArgCount {
        /// The syscall.
        name: String,
        /// The fewest it takes.
        min: usize,
        /// The most it takes.
        max: usize,
        /// How many were written.
        got: usize,
    },
    /// A string, struct or array passed to a syscall sysgate has no
    /// signature for: without one it cannot know what the kernel reads.
    NeedsSignature {
        /// The syscall.
        name: String,
    },
    /// A value of the wrong shape for its argument.
    Expected {
        /// The argument (or struct field).
        arg: String,
        /// What it takes, e.g. `an integer`, `a string`.
        what: &'static str,
    },
    /// A symbolic name nothing defines.
    UnknownName {
        /// The table searched first, if the argument has one.
        table: Option<&'static str>,
        /// The name as written.
        name: String,
    },
    /// `$name` that the session does not define.
    UnknownVariable {
        /// The variable as written.
        var: String,
    },
    /// `$prev` or `$N` outside a link chain.
    LinkOutsideChain {
        /// The variable as written.
        var: String,
    },
    /// `$prev` or `$N` naming a call that does not come before this one in
    /// its chain.
    LinkNotEarlier {
        /// The variable as written.
        var: String,
        /// This call's position in the chain (0 = first).
        position: u16,
    },
    /// `$prev` or `$N` somewhere other than a whole argument (inside a
    /// struct, as a length): the executor can only substitute whole
    /// argument words.
    LinkNotHere {
        /// The variable as written.
        var: String,
    },
    /// A buffer whose size would come from a chain result, which is not
    /// known when the call is built.
    LengthFromLink {
        /// The length argument.
        arg: &'static str,
    },
    /// Buffers larger than the gateway carries for one call
    /// ([`MAX_CALL_BYTES`](super::MAX_CALL_BYTES) in all, its buffer
    /// arena).
    TooLarge {
        /// The size asked for.
        bytes: u64,
    },
    /// More buffers or relocations than one call may carry.
    TooManyBuffers,
    /// A length larger than the bytes given for it (`write(1, "ab", 10)`).
    /// A string strace cut short (`"ab"...`) is padded with zero bytes
    /// instead.
    LengthExceedsData {
        /// The length written.
        len: u64,
        /// How many bytes the string holds.
        have: usize,
    },
    /// A string or array strace cut short (`"…"...`, `[…, ...]`) where the
    /// whole value is needed (a path, an iovec array).
    Truncated,
    /// An argument kind the REPL cannot build yet.
    Unsupported {
        /// What, e.g. `struct sigaction`.
        what: &'static str,
    },
    /// A field the struct does not have.
    UnknownField {
        /// The struct.
        what: &'static str,
        /// The field as written.
        field: String,
    },
    /// A field the struct needs.
    MissingField {
        /// The struct.
        what: &'static str,
        /// The field.
        field: &'static str,
    },
    /// An IP address that does not parse.
    BadAddress {
        /// The text as written.
        text: String,
    },
    /// An operator that makes no number (`&&`, `==`, `!`, `&`).
    BadOperator {
        /// The operator.
        op: &'static str,
    },
    /// A number too large for its place (a port above 65535, `1<<64`).
    OutOfRange {
        /// What it is.
        what: &'static str,
    },
}

impl fmt::Display for LowerErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownSyscall { name } => write!(f, "unknown syscall `{name}`"),
            Self::Forbidden { name, reason } => {
                write!(f, "{name} is refused by the gateway")?;
                match reason {
                    Some(r) => write!(f, ": {r}"),
                    None => Ok(()),
                }
            }
            Self::WrongArgCount {
                name,
                min,
                max,
                got,
            } => ParseErrorKind::WrongArgCount {
                name: name.clone(),
                min: *min,
                max: *max,
                got: *got,
            }
            .fmt(f),
            Self::NeedsSignature { name } => write!(
                f,
                "sysgate has no signature for {name}: only integer arguments can be passed"
            ),
            Self::Expected { arg, what } => write!(f, "`{arg}` takes {what}"),
            Self::UnknownName { table, name } => match table {
                Some(t) => write!(f, "unknown {t} name `{name}`"),
                None => write!(f, "unknown name `{name}`"),
            },
            Self::UnknownVariable { var } => write!(f, "`{var}` is not set"),
            Self::LinkOutsideChain { var } => {
                write!(f, "`{var}` only means something inside a chain (a -> b)")
            }
            Self::LinkNotEarlier { var, position } => write!(
                f,
                "`{var}` does not name a call before call {} of the chain",
                u32::from(*position) + 1
            ),
            Self::LinkNotHere { var } => write!(
                f,
                "`{var}` can only be a whole argument (the executor substitutes argument words)"
            ),
            Self::LengthFromLink { arg } => write!(
                f,
                "the buffer size comes from `{arg}`, which a chain result cannot give"
            ),
            Self::TooLarge { bytes } => write!(
                f,
                "{bytes} bytes of buffers; a call carries at most {} (the buffer arena)",
                super::MAX_CALL_BYTES
            ),
            Self::TooManyBuffers => f.write_str("too many buffers for one call"),
            Self::LengthExceedsData { len, have } => {
                write!(f, "length {len} is more than the {have} bytes given")
            }
            Self::Truncated => {
                f.write_str("this value was cut short (`...`); the whole value is needed here")
            }
            Self::Unsupported { what } => write!(f, "{what} is not supported yet"),
            Self::UnknownField { what, field } => write!(f, "{what} has no field `{field}`"),
            Self::MissingField { what, field } => write!(f, "{what} needs `{field}`"),
            Self::BadAddress { text } => write!(f, "bad address `{text}`"),
            Self::BadOperator { op } => write!(f, "`{op}` does not make a number"),
            Self::OutOfRange { what } => write!(f, "{what} out of range"),
        }
    }
}

impl fmt::Display for LowerError {
    /// `column 12: unknown open flags name `O_FOO``.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "column {}: {}", self.col, self.kind)
    }
}

impl std::error::Error for LowerError {}
