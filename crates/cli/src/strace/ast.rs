//! The syntax tree of one line of strace syntax.
//!
//! The tree records what was written, not what it means: `O_RDONLY|0x10`
//! stays a list of a name and a number until [lowering](super::lower) looks
//! the name up in the argument's flag table. Every [`Expr`] remembers the
//! column it starts at so later stages can point at it.
//!
//! Equality ignores columns: two trees are equal when they say the same
//! thing, wherever it was written. That is what makes
//! `parse(format(call)) == call` a meaningful property.

use std::fmt;
use std::time::Duration;

/// A value and the 1-based character column where it starts.
///
/// `PartialEq` compares the values only, never the columns.
#[derive(Debug, Clone)]
pub struct Expr {
    /// 1-based character column of the value's first character.
    pub col: usize,
    /// What was written.
    pub value: Value,
}

impl Expr {
    /// A value at column `col`.
    pub fn new(col: usize, value: Value) -> Self {
        Expr { col, value }
    }

    /// A value without a meaningful column (built by code, not parsed).
    pub fn bare(value: Value) -> Self {
        Expr { col: 0, value }
    }

    /// The value under any `-y` annotation: `3</etc/passwd>` is `3`.
    pub fn unannotated(&self) -> &Expr {
        let mut e = self;
        while let Value::Annotated { value, .. } = &e.value {
            e = value;
        }
        e
    }
}

impl PartialEq for Expr {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}

impl Eq for Expr {}

/// One value of strace syntax.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// An integer written in decimal, `0x` hex or leading-zero octal,
    /// possibly negative. Always within `i64::MIN..=u64::MAX`.
    Num(i128),
    /// A string literal's bytes (escapes decoded). `truncated` when strace's
    /// `...` marker followed the closing quote: the real data was longer.
    Str {
        /// The bytes between the quotes.
        bytes: Vec<u8>,
        /// Whether the `"..."...` marker says more bytes were cut off.
        truncated: bool,
    },
    /// `NULL`.
    Null,
    /// A symbolic name: `O_RDONLY`, `AT_FDCWD`, `SEEK_SET`, `INT` (in a
    /// signal set).
    Name(String),
    /// Two or more parts joined by `|`: `O_RDONLY|O_CLOEXEC|0x10`.
    Flags(Vec<Expr>),
    /// Another binary operator: `8192*1024`, `1<<20`,
    /// `WIFEXITED(s) && WEXITSTATUS(s) == 0`.
    Binary {
        /// The operator.
        op: BinOp,
        /// Its left operand.
        lhs: Box<Expr>,
        /// Its right operand.
        rhs: Box<Expr>,
    },
    /// A prefix operator: `~[INT]`, `!x`, `&sin6_addr`.
    Unary {
        /// The operator.
        op: UnOp,
        /// Its operand.
        operand: Box<Expr>,
    },
    /// A function-like form: `htons(80)`, `inet_addr("127.0.0.1")`,
    /// `makedev(0x1, 0x3)`, `inet_pton(AF_INET6, "::1", &sin6_addr)`.
    Apply {
        /// The function's name.
        func: String,
        /// Its arguments.
        args: Vec<Expr>,
    },
    /// `{field=value, ...}`.
    Struct(Vec<Field>),
    /// `[a, b, c]`, or strace's space-separated sets `[INT TERM]`.
    Array(Vec<Expr>),
    /// `...`: something strace left out.
    Ellipsis,
    /// A value with strace `-y` annotation: `3</etc/passwd>`,
    /// `AT_FDCWD</tmp>`, `4<socket:[1234]>`.
    Annotated {
        /// The value.
        value: Box<Expr>,
        /// The text between `<` and `>`.
        note: String,
    },
    /// `before => after`: an in/out value as the call found and left it
    /// (`[110 => 2]`).
    Changed {
        /// What went in.
        before: Box<Expr>,
        /// What came out.
        after: Box<Expr>,
    },
    /// A REPL variable: `$fd`, `$_`, `$prev`, `$1`.
    Var(VarRef),
}

/// One field of a struct: `name=value`, or a bare value (strace prints
/// `inet_pton(AF_INET6, "::1", &sin6_addr)` and `...` without a name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// The field's name, when written as `name=value`.
    pub name: Option<String>,
    /// Its value.
    pub value: Expr,
}

/// Binary operators other than `|` (which makes [`Value::Flags`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BinOp {
    /// `*`
    Mul,
    /// `+`
    Add,
    /// `<<`
    Shl,
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `&&`
    And,
    /// `||`
    Or,
}

impl BinOp {
    /// The operator as written.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Mul => "*",
            Self::Add => "+",
            Self::Shl => "<<",
            Self::Eq => "==",
            Self::Ne => "!=",
            Self::And => "&&",
            Self::Or => "||",
        }
    }

    /// C precedence, higher binds tighter (`|` sits at 4).
    pub(crate) const fn precedence(self) -> u8 {
        match self {
            Self::Mul => 10,
            Self::Add => 9,
            Self::Shl => 8,
            Self::Eq | Self::Ne => 6,
            Self::And => 2,
            Self::Or => 1,
        }
    }
}

/// Prefix operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UnOp {
    /// `~`: bitwise complement (`~[INT]`: every signal but `SIGINT`).
    Complement,
    /// `!`: logical not.
    Not,
    /// `&`: address-of (`&sin6_addr`).
    AddrOf,
}

impl UnOp {
    /// The operator as written.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Complement => "~",
            Self::Not => "!",
            Self::AddrOf => "&",
        }
    }
}

/// A `$` reference.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum VarRef {
    /// `$name`: a session variable.
    Named(String),
    /// `$_`: the last result (or the last background tag).
    Last,
    /// `$prev`: the result of the previous call of a link chain.
    Prev,
    /// `$1` … `$9`: the result of the chain's first … ninth call.
    Chain(u8),
}

impl fmt::Display for VarRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Named(n) => write!(f, "${n}"),
            Self::Last => f.write_str("$_"),
            Self::Prev => f.write_str("$prev"),
            Self::Chain(n) => write!(f, "${n}"),
        }
    }
}

/// `name(arg, ...)`: one system call as written.
///
/// `PartialEq` compares the name and the arguments, not the columns.
#[derive(Debug, Clone)]
pub struct Call {
    /// The syscall's name as written (`openat`, or `syscall_0x1c3` for a
    /// number strace has no name for).
    pub name: String,
    /// Column of the name.
    pub col: usize,
    /// The arguments in register order, as written (strace leaves some
    /// trailing ones out, e.g. `openat`'s mode).
    pub args: Vec<Expr>,
    /// Column of the closing parenthesis.
    pub end_col: usize,
}

impl Call {
    /// A call built by code (columns 0).
    pub fn new(name: impl Into<String>, args: Vec<Expr>) -> Self {
        Call {
            name: name.into(),
            col: 0,
            args,
            end_col: 0,
        }
    }
}

impl PartialEq for Call {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.args == other.args
    }
}

impl Eq for Call {}

/// What strace prints before the call: `[pid 1234] ` or `1234 `, then a
/// timestamp.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Prefix {
    /// The traced process or thread (`-f`).
    pub pid: Option<u32>,
    /// The time the call started (`-t`, `-tt`, `-ttt`, `-r`).
    pub timestamp: Option<Timestamp>,
}

/// A timestamp from the start of a strace line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timestamp {
    /// `12:34:56` or `12:34:56.123456` (`-t`, `-tt`): time since midnight.
    TimeOfDay(Duration),
    /// `1700000000.123456` (`-ttt`, since the epoch) or `0.000123` (`-r`,
    /// since the previous line).
    Seconds(Duration),
}

/// The result strace printed after `=`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TracedResult {
    /// The number (`3`, `-1`, `0x7f3a…`); `None` for `?` (the call did not
    /// return, or its result is unknown).
    pub value: Option<i64>,
    /// Whether strace printed the value in hex (addresses, `0x…`).
    pub hex: bool,
    /// The `-y` annotation of an fd result: `/etc/passwd` in
    /// `= 3</etc/passwd>`.
    pub note: Option<String>,
    /// The errno name of a failed call: `ENOENT`.
    pub errno: Option<String>,
    /// The text in parentheses: `No such file or directory`, `Timeout`,
    /// `flags O_RDONLY`.
    pub comment: Option<String>,
}

impl TracedResult {
    /// The raw result: the value, or `-errno` when the call failed. `None`
    /// for `= ?` without an errno, or an errno name sysgate does not know.
    pub fn raw(&self) -> Option<i64> {
        match &self.errno {
            Some(name) => sysgate_sys::Errno::from_name(name).map(|e| -i64::from(e.raw())),
            None => self.value,
        }
    }
}

impl fmt::Display for TracedResult {
    /// `3`, `3</etc/passwd>`, `-1 ENOENT (No such file or directory)`, `?`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.value {
            Some(v) if self.hex => write!(f, "{v:#x}")?,
            Some(v) => write!(f, "{v}")?,
            None => f.write_str("?")?,
        }
        if let Some(note) = &self.note {
            write!(f, "<{note}>")?;
        }
        if let Some(errno) = &self.errno {
            write!(f, " {errno}")?;
        }
        if let Some(comment) = &self.comment {
            write!(f, " ({comment})")?;
        }
        Ok(())
    }
}

/// The tail of a complete strace line: `= result` and the `-T` time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// What the call returned.
    pub result: TracedResult,
    /// Time spent in the call (`<0.000016>`).
    pub duration: Option<Duration>,
}

/// A call with whatever strace printed around it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallLine {
    /// Pid and timestamp, if the line had them.
    pub prefix: Prefix,
    /// The call.
    pub call: Call,
    /// The traced result, if the line had one.
    pub outcome: Option<Outcome>,
}

/// A strace line that is not a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NonCall {
    /// `--- SIGCHLD {si_signo=SIGCHLD, ...} ---`: a signal was delivered.
    Signal(String),
    /// `+++ exited with 0 +++`, `+++ killed by SIGKILL +++`.
    Exit(String),
    /// `strace: Process 1234 attached` and other messages from strace.
    Message(String),
}

/// One call of a batch or chain, optionally bound to a variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// `$name = ` in front of the call.
    pub var: Option<String>,
    /// The call.
    pub call: Call,
}

/// One line of REPL input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// Nothing but white space.
    Blank,
    /// `# text`.
    Comment(String),
    /// `:wait 3`, `:set strsize 64`, …
    Command(Command),
    /// A strace line that is not a call (`--- SIGCHLD ... ---`).
    NotACall(NonCall),
    /// A call: `openat(AT_FDCWD, "/etc/hostname", O_RDONLY)`, or a whole
    /// strace output line with prefix and result.
    Call(CallLine),
    /// `$fd = openat(...)`.
    Assign {
        /// The variable, without `$`.
        var: String,
        /// The call.
        line: CallLine,
    },
    /// `{ a; b; c }`: submitted together.
    Batch(Vec<Step>),
    /// `a -> b -> c`: a link chain.
    Chain(Vec<Step>),
    /// `line &`: submit without waiting.
    Background(Box<Line>),
}

impl Line {
    /// Every call the line submits, in order (none for blank lines,
    /// comments, commands and non-call strace lines).
    pub fn calls(&self) -> Vec<&Call> {
        super::parse::calls_of(self)
    }
}

/// A `:` command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `:wait [tag]`: wait for a background request (all, without a tag).
    Wait(Option<Tag>),
    /// `:cancel [tag]`: cancel a background request (the last one,
    /// without a tag).
    Cancel(Option<Tag>),
    /// `:set name value`.
    Set(Setting),
    /// `:help [syscall]`.
    Help(Option<String>),
    /// `:stats`: the executor's counters.
    Stats,
    /// `:quit` (or `:q`).
    Quit,
}

/// Which background request a command means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tag {
    /// A tag number as printed by `call &`.
    Num(u64),
    /// A variable holding one (`$_`, `$t`).
    Var(VarRef),
}

/// A `:set` option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setting {
    /// `:set strsize N`: how many bytes of a string to print.
    Strsize(usize),
    /// `:set timing on|off`: show where each request ran and its time.
    Timing(bool),
    /// `:set verbose on|off`: print structs in full (strace `-v`).
    Verbose(bool),
}

/// One line of a strace log, before split calls are put together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TraceLine {
    /// An empty line.
    Blank,
    /// A complete call (with its result, unless the log ends mid-call).
    Call(CallLine),
    /// `read(3,  <unfinished ...>`: the first half of a call another
    /// process interrupted.
    Unfinished {
        /// Pid and timestamp.
        prefix: Prefix,
        /// The syscall's name.
        name: String,
        /// The arguments printed so far (text after the `(`).
        partial: String,
    },
    /// `<... read resumed>"abc", 64) = 3`: the second half.
    Resumed {
        /// Pid and timestamp.
        prefix: Prefix,
        /// The syscall's name (empty when strace did not print it).
        name: String,
        /// The rest of the line after `resumed>`.
        rest: String,
    },
    /// A line that is not a call.
    NotACall {
        /// Pid and timestamp.
        prefix: Prefix,
        /// What it says.
        event: NonCall,
    },
}
