//! The recursive-descent parser: REPL lines and strace output lines.
//!
//! Grammar (values):
//!
//! ```text
//! expr    := binary ('=>' binary)?
//! binary  := unary (op unary)*         C precedence; `|` chains become Flags
//! unary   := ('~' | '!' | '&') unary | primary
//! primary := NUM note? | STRING | NULL note? | NAME '(' args ')' | NAME note?
//!          | VAR | '{' fields '}' | '[' elems ']' | '...'
//!          | '@' STRING                 abstract socket name: leading NUL
//! note    := '<' text '>'              directly after the value (strace -y)
//! fields  := (NAME '=' expr | expr) (',' ...)*
//! elems   := expr ((',' | white space) expr)*
//! args    := ((NAME '=')? expr) (',' ...)*   strace's `clone(flags=…)`: names dropped
//! ```
//!
//! Lines:
//!
//! ```text
//! repl line := '' | '#' text | ':' command | prefix strace-line | statement
//! statement := (batch | chain) '&'?
//! batch     := '{' step (';' step)* ';'? '}'
//! chain     := step ('->' step)*        a single step may carry '= result'
//! step      := ('$' NAME '=')? call
//! prefix    := ('[pid' N ']' | N)? timestamp? ('[' HEX ']')?   the last is -i
//! ```
//!
//! Nesting is limited to [`MAX_DEPTH`] levels and a line to
//! [`MAX_OPERATORS`] binary operators, so no input can exhaust the stack.

use std::time::Duration;

use super::ast::{
    BinOp, Call, CallLine, Command, Expr, Field, Line, NonCall, Outcome, Prefix, Setting, Step,
    Tag, Timestamp, TraceLine, TracedResult, UnOp, Value, VarRef,
};
use super::check::check_call;
use super::error::{ParseError, ParseErrorKind};
use super::lex::{Lexer, Punct, Tok, Token};

/// How deeply values may nest (structs in arrays in structs, `~~~x`).
pub const MAX_DEPTH: usize = 64;

/// How many binary operators (other than `|`) one line may hold.
pub const MAX_OPERATORS: usize = 256;

const UNFINISHED: &str = "<unfinished ...>";

/// `parse_line(text)` — one line of REPL input.
///
/// Accepts calls in strace syntax, whole strace output lines (pid prefix,
/// timestamps, `= result`, `<duration>`, `-y` annotations), assignments,
/// batches, chains, `&`, `:commands`, comments and blank lines. Every call
/// is checked against sysgate's syscall table: its name, its argument count
/// and the names in its flag arguments.
///
/// # Errors
/// A [`ParseError`] with the 1-based column of the problem.
pub fn parse_line(text: &str) -> Result<Line, ParseError> {
    let line = Parser::new(text).repl_line()?;
    for call in calls_of(&line) {
        check_call(call)?;
    }
    Ok(line)
}

/// `parse_call(text)` — exactly one call, `name(args)`, with nothing
/// around it; checked against the syscall table like [`parse_line`].
///
/// # Errors
/// A [`ParseError`] with the 1-based column of the problem.
pub fn parse_call(text: &str) -> Result<Call, ParseError> {
    let mut p = Parser::new(text);
    let call = p.call()?;
    p.end()?;
    check_call(&call)?;
    Ok(call)
}

/// `parse_trace_line(text)` — one line of a strace log.
///
/// Unlike [`parse_line`] this does not check calls against the table: a
/// log holds syscalls sysgate has no signature for, and whatever strace
/// printed for their arguments.
///
/// # Errors
/// A [`ParseError`] with the 1-based column of the problem.
pub fn parse_trace_line(text: &str) -> Result<TraceLine, ParseError> {
    Parser::new(text).trace_line()
}

/// The call and result of a complete strace line without prefix, e.g. one
/// put together from its `<unfinished ...>` and `<... resumed>` halves.
pub(crate) fn parse_call_outcome(text: &str) -> Result<(Call, Option<Outcome>), ParseError> {
    let mut p = Parser::new(text);
    let call = p.call()?;
    let outcome = p.outcome()?;
    p.end()?;
    Ok((call, outcome))
}

/// Every call a line submits.
pub(crate) fn calls_of(line: &Line) -> Vec<&Call> {
    match line {
        Line::Call(l) | Line::Assign { line: l, .. } => vec![&l.call],
        Line::Batch(steps) | Line::Chain(steps) => steps.iter().map(|s| &s.call).collect(),
        Line::Background(inner) => calls_of(inner),
        Line::Blank | Line::Comment(_) | Line::Command(_) | Line::NotACall(_) => Vec::new(),
    }
}

/// A binary operator token: `|` (flags) or another [`BinOp`].
#[derive(Clone, Copy)]
enum Op {
    Pipe,
    Bin(BinOp),
}

const PIPE_PRECEDENCE: u8 = 4;

fn binop(tok: &Tok) -> Option<(Op, u8)> {
    let op = match tok {
        Tok::P(Punct::Pipe) => return Some((Op::Pipe, PIPE_PRECEDENCE)),
        Tok::P(Punct::Star) => BinOp::Mul,
        Tok::P(Punct::Plus) => BinOp::Add,
        Tok::P(Punct::Shl) => BinOp::Shl,
        Tok::P(Punct::EqEq) => BinOp::Eq,
        Tok::P(Punct::Ne) => BinOp::Ne,
        Tok::P(Punct::AndAnd) => BinOp::And,
        Tok::P(Punct::OrOr) => BinOp::Or,
        _ => return None,
    };
    Some((Op::Bin(op), op.precedence()))
}

fn starts_value(tok: &Tok) -> bool {
    matches!(
        tok,
        Tok::Ident(_)
            | Tok::Num(_)
            | Tok::Str { .. }
            | Tok::Var(_)
            | Tok::P(
                Punct::LBrace
                    | Punct::LBracket
                    | Punct::Tilde
                    | Punct::Bang
                    | Punct::Amp
                    | Punct::Ellipsis
            )
    )
}

pub(crate) struct Parser {
    lx: Lexer,
    depth: usize,
    operators: usize,
}

impl Parser {
    pub(crate) fn new(text: &str) -> Self {
        Parser {
            lx: Lexer::new(text),
            depth: 0,
            operators: 0,
        }
    }

    // ---- helpers ---------------------------------------------------------

    /// An "unexpected …" error for token `t`.
    fn error_at(&mut self, t: &Token, expected: &'static str) -> ParseError {
        self.lx.reset(t.col.saturating_sub(1));
        self.lx.unexpected(expected)
    }

    fn expect(&mut self, p: Punct, expected: &'static str) -> Result<Token, ParseError> {
        let t = self.lx.next()?;
        if t.tok == Tok::P(p) {
            Ok(t)
        } else {
            Err(self.error_at(&t, expected))
        }
    }

    fn peek_is(&mut self, p: Punct) -> Result<bool, ParseError> {
        Ok(self.lx.peek()?.tok == Tok::P(p))
    }

    /// Requires the end of the line.
    fn end(&mut self) -> Result<(), ParseError> {
        let t = self.lx.next()?;
        if t.tok == Tok::Eof {
            Ok(())
        } else {
            Err(self.error_at(&t, "end of line"))
        }
    }

    fn enter(&mut self, col: usize) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ParseError::new(col, ParseErrorKind::TooDeep));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    fn count_operator(&mut self, col: usize) -> Result<(), ParseError> {
        self.operators += 1;
        if self.operators > MAX_OPERATORS {
            return Err(ParseError::new(col, ParseErrorKind::TooDeep));
        }
        Ok(())
    }

    // ---- values ----------------------------------------------------------

    /// `binary ('=>' binary)?`
    pub(crate) fn expr(&mut self) -> Result<Expr, ParseError> {
        let col = self.lx.col();
        self.enter(col)?;
        let before = self.binary(0)?;
        let e = if self.peek_is(Punct::FatArrow)? {
            self.lx.next()?;
            let after = self.binary(0)?;
            Expr::new(
                before.col,
                Value::Changed {
                    before: Box::new(before),
                    after: Box::new(after),
                },
            )
        } else {
            before
        };
        self.leave();
        Ok(e)
    }

    /// Precedence climbing over the binary operators.
    fn binary(&mut self, min_precedence: u8) -> Result<Expr, ParseError> {
        let mut lhs = self.unary()?;
        loop {
            let t = self.lx.peek()?;
            let Some((op, precedence)) = binop(&t.tok) else {
                break;
            };
            if precedence < min_precedence {
                break;
            }
            self.lx.next()?;
            match op {
                Op::Pipe => {
                    let col = lhs.col;
                    let mut parts = vec![lhs];
                    loop {
                        parts.push(self.binary(precedence + 1)?);
                        if self.peek_is(Punct::Pipe)? {
                            self.lx.next()?;
                        } else {
                            break;
                        }
                    }
                    lhs = Expr::new(col, Value::Flags(parts));
                }
                Op::Bin(op) => {
                    self.count_operator(t.col)?;
                    let rhs = self.binary(precedence + 1)?;
                    lhs = Expr::new(
                        lhs.col,
                        Value::Binary {
                            op,
                            lhs: Box::new(lhs),
                            rhs: Box::new(rhs),
                        },
                    );
                }
            }
        }
        Ok(lhs)
    }

    fn unary(&mut self) -> Result<Expr, ParseError> {
        let t = self.lx.peek()?;
        let op = match t.tok {
            Tok::P(Punct::Tilde) => UnOp::Complement,
            Tok::P(Punct::Bang) => UnOp::Not,
            Tok::P(Punct::Amp) => UnOp::AddrOf,
            _ => return self.primary(),
        };
        self.lx.next()?;
        self.enter(t.col)?;
        let operand = self.unary()?;
        self.leave();
        Ok(Expr::new(
            t.col,
            Value::Unary {
                op,
                operand: Box::new(operand),
            },
        ))
    }

    fn primary(&mut self) -> Result<Expr, ParseError> {
        let t = self.lx.next()?;
        let col = t.col;
        match t.tok {
            Tok::Num(n) => self.note(Expr::new(col, Value::Num(n))),
            Tok::Str { bytes, truncated } => Ok(Expr::new(col, Value::Str { bytes, truncated })),
            Tok::Ident(name) if name == "NULL" => self.note(Expr::new(col, Value::Null)),
            Tok::Ident(name) => {
                if self.peek_is(Punct::LParen)? {
                    self.lx.next()?;
                    let (args, _) = self.args()?;
                    Ok(Expr::new(col, Value::Apply { func: name, args }))
                } else {
                    self.note(Expr::new(col, Value::Name(name)))
                }
            }
            Tok::Var(v) => Ok(Expr::new(col, Value::Var(v))),
            Tok::P(Punct::LBrace) => self.struct_body(col),
            Tok::P(Punct::LBracket) => self.array_body(col),
            Tok::P(Punct::Ellipsis) => Ok(Expr::new(col, Value::Ellipsis)),
            // strace's abstract socket names, `sun_path=@"name"`: the name
            // with its leading NUL.
            Tok::P(Punct::At) if self.lx.peek_char() == Some('"') => {
                let Tok::Str {
                    mut bytes,
                    truncated,
                } = self.lx.next()?.tok
                else {
                    return Err(self.lx.unexpected("a string"));
                };
                bytes.insert(0, 0);
                Ok(Expr::new(col, Value::Str { bytes, truncated }))
            }
            _ => Err(self.error_at(&t, "a value")),
        }
    }

    /// A `-y` annotation directly after a value: `3</etc/passwd>`.
    fn note(&mut self, e: Expr) -> Result<Expr, ParseError> {
        if self.lx.peek_char() == Some('<') && self.lx.char_at(1) != Some('<') {
            let note = self
                .lx
                .take_balanced('<', '>', ParseErrorKind::UnterminatedAnnotation)?;
            Ok(Expr::new(
                e.col,
                Value::Annotated {
                    value: Box::new(e),
                    note,
                },
            ))
        } else {
            Ok(e)
        }
    }

    fn struct_body(&mut self, col: usize) -> Result<Expr, ParseError> {
        let mut fields = Vec::new();
        if self.peek_is(Punct::RBrace)? {
            self.lx.next()?;
        } else {
            loop {
                let (a, b) = self.lx.peek2()?;
                let field = match (a.tok, b.tok) {
                    (Tok::Ident(name), Tok::P(Punct::Assign)) => {
                        self.lx.next()?;
                        self.lx.next()?;
                        Field {
                            name: Some(name),
                            value: self.expr()?,
                        }
                    }
                    _ => Field {
                        name: None,
                        value: self.expr()?,
                    },
                };
                fields.push(field);
                let t = self.lx.next()?;
                match t.tok {
                    Tok::P(Punct::Comma) => {}
                    Tok::P(Punct::RBrace) => break,
                    _ => return Err(self.error_at(&t, ", or }")),
                }
            }
        }
        Ok(Expr::new(col, Value::Struct(fields)))
    }

    fn array_body(&mut self, col: usize) -> Result<Expr, ParseError> {
        let mut elems = Vec::new();
        if self.peek_is(Punct::RBracket)? {
            self.lx.next()?;
        } else {
            loop {
                elems.push(self.expr()?);
                let t = self.lx.peek()?;
                match t.tok {
                    Tok::P(Punct::Comma) => {
                        self.lx.next()?;
                    }
                    Tok::P(Punct::RBracket) => {
                        self.lx.next()?;
                        break;
                    }
                    ref tok if starts_value(tok) => {}
                    _ => return Err(self.error_at(&t, ", or ]")),
                }
            }
        }
        Ok(Expr::new(col, Value::Array(elems)))
    }

    /// Arguments up to and including `)`; returns them and the column of
    /// the `)`.
    fn args(&mut self) -> Result<(Vec<Expr>, usize), ParseError> {
        let mut args = Vec::new();
        let t = self.lx.peek()?;
        if t.tok == Tok::P(Punct::RParen) {
            self.lx.next()?;
            return Ok((args, t.col));
        }
        loop {
            // strace names some arguments (`clone(child_stack=NULL, …)`):
            // the name is dropped, the value kept.
            let (a, b) = self.lx.peek2()?;
            if matches!((a.tok, b.tok), (Tok::Ident(_), Tok::P(Punct::Assign))) {
                self.lx.next()?;
                self.lx.next()?;
            }
            args.push(self.expr()?);
            let t = self.lx.next()?;
            match t.tok {
                Tok::P(Punct::Comma) => {}
                Tok::P(Punct::RParen) => return Ok((args, t.col)),
                _ => return Err(self.error_at(&t, ", or )")),
            }
        }
    }

    /// `name(args)`.
    pub(crate) fn call(&mut self) -> Result<Call, ParseError> {
        let t = self.lx.next()?;
        let Tok::Ident(name) = t.tok else {
            return Err(self.error_at(&t, "a syscall name"));
        };
        self.expect(Punct::LParen, "(")?;
        let (args, end_col) = self.args()?;
        Ok(Call {
            name,
            col: t.col,
            args,
            end_col,
        })
    }

    // ---- strace line parts -------------------------------------------------

    /// `[pid 1234] ` or `1234 `, then a timestamp, each optional.
    fn prefix(&mut self) -> Result<Prefix, ParseError> {
        self.lx.skip_spaces();
        let mut prefix = Prefix::default();
        if self.lx.starts_with("[pid") {
            let col = self.lx.col();
            self.lx.eat("[pid");
            self.lx.skip_spaces();
            let digits = self.lx.take_while(|c| c.is_ascii_digit());
            if digits.is_empty() {
                return Err(self.lx.unexpected("a pid"));
            }
            if !self.lx.eat("]") {
                return Err(self.lx.unexpected("]"));
            }
            prefix.pid = Some(parse_pid(&digits, col)?);
            self.lx.skip_spaces();
        } else if self.lx.peek_char().is_some_and(|c| c.is_ascii_digit()) {
            let mark = self.lx.mark();
            let col = self.lx.col();
            let digits = self.lx.take_while(|c| c.is_ascii_digit());
            if matches!(self.lx.peek_char(), Some(' ' | '\t')) {
                prefix.pid = Some(parse_pid(&digits, col)?);
                self.lx.skip_spaces();
            } else {
                self.lx.reset(mark);
            }
        }
        if self.lx.peek_char().is_some_and(|c| c.is_ascii_digit()) {
            prefix.timestamp = Some(self.timestamp()?);
        }
        // `-i`: the instruction pointer, `[00007f3a1b2c3d4e] `; not kept.
        if self.lx.peek_char() == Some('[') {
            let mark = self.lx.mark();
            self.lx.bump();
            let digits = self.lx.take_while(|c| c.is_ascii_hexdigit());
            if !digits.is_empty() && self.lx.eat("]") {
                self.lx.skip_spaces();
            } else {
                self.lx.reset(mark);
            }
        }
        Ok(prefix)
    }

    /// `12:34:56[.frac]` or `1700000000.123456`, then white space.
    fn timestamp(&mut self) -> Result<Timestamp, ParseError> {
        let col = self.lx.col();
        let bad = || ParseError::new(col, ParseErrorKind::BadTimestamp);
        let first = self.lx.take_while(|c| c.is_ascii_digit());
        let ts = if self.lx.eat(":") {
            let minutes = self.lx.take_while(|c| c.is_ascii_digit());
            if !self.lx.eat(":") {
                return Err(bad());
            }
            let seconds = self.lx.take_while(|c| c.is_ascii_digit());
            let nanos = self.fraction().ok_or_else(bad)?;
            let (Ok(h), Ok(m), Ok(s)) = (
                first.parse::<u64>(),
                minutes.parse::<u64>(),
                seconds.parse::<u64>(),
            ) else {
                return Err(bad());
            };
            if h > 23 || m > 59 || s > 60 {
                return Err(bad());
            }
            Timestamp::TimeOfDay(Duration::new(h * 3600 + m * 60 + s, nanos))
        } else if self.lx.peek_char() == Some('.') {
            let nanos = self.fraction().ok_or_else(bad)?;
            let secs = first.parse::<u64>().map_err(|_| bad())?;
            Timestamp::Seconds(Duration::new(secs, nanos))
        } else {
            return Err(bad());
        };
        if !matches!(self.lx.peek_char(), Some(' ' | '\t')) {
            return Err(bad());
        }
        self.lx.skip_spaces();
        Ok(ts)
    }

    /// `.123456` → nanoseconds (0 when absent); `None` when malformed.
    fn fraction(&mut self) -> Option<u32> {
        if !self.lx.eat(".") {
            return Some(0);
        }
        let digits = self.lx.take_while(|c| c.is_ascii_digit());
        if digits.is_empty() || digits.len() > 9 {
            return None;
        }
        let value: u32 = digits.parse().ok()?;
        Some(value * 10u32.pow(9 - digits.len() as u32))
    }

    /// `--- … ---`, `+++ … +++` or `strace: …`.
    fn non_call(&mut self) -> Option<NonCall> {
        let rest = self.lx.rest();
        let trimmed = rest.trim_end();
        let event = if let Some(s) = trimmed.strip_prefix("---") {
            NonCall::Signal(s.strip_suffix("---").unwrap_or(s).trim().to_owned())
        } else if let Some(s) = trimmed.strip_prefix("+++") {
            NonCall::Exit(s.strip_suffix("+++").unwrap_or(s).trim().to_owned())
        } else if let Some(s) = trimmed.strip_prefix("strace:") {
            NonCall::Message(s.trim().to_owned())
        } else {
            return None;
        };
        self.lx.take_rest();
        Some(event)
    }

    /// `<... name resumed>` → the name (possibly empty), cursor after `>`.
    fn resumed(&mut self) -> Result<Option<(usize, String)>, ParseError> {
        if !self.lx.starts_with("<...") {
            return Ok(None);
        }
        let col = self.lx.col();
        self.lx.eat("<...");
        self.lx.skip_spaces();
        let name = self
            .lx
            .take_while(|c| c.is_ascii_alphanumeric() || c == '_');
        self.lx.skip_spaces();
        if name == "resumed" && self.lx.eat(">") {
            return Ok(Some((col, String::new())));
        }
        if !self.lx.eat("resumed>") {
            return Err(self.lx.unexpected("resumed>"));
        }
        Ok(Some((col, name)))
    }

    /// If the rest of the line ends with `<unfinished ...>`: the column of
    /// that marker.
    fn unfinished_col(&self) -> Option<usize> {
        let rest = self.lx.rest();
        let trimmed = rest.trim_end();
        trimmed
            .ends_with(UNFINISHED)
            .then(|| self.lx.col() + trimmed.chars().count() - UNFINISHED.chars().count())
    }

    /// `= result [errno] [(comment)] [<duration>]`, if present.
    pub(crate) fn outcome(&mut self) -> Result<Option<Outcome>, ParseError> {
        self.lx.skip_ws()?;
        if !self.lx.starts_with("=") || self.lx.starts_with("=>") || self.lx.starts_with("==") {
            return Ok(None);
        }
        self.lx.bump();
        self.lx.skip_spaces();
        let mut result = TracedResult {
            value: None,
            hex: false,
            note: None,
            errno: None,
            comment: None,
        };
        if !self.lx.eat("?") {
            result.hex = self.lx.starts_with("0x") || self.lx.starts_with("0X");
            let t = self.lx.next()?;
            let Tok::Num(n) = t.tok else {
                return Err(self.error_at(&t, "a result"));
            };
            // Results above i64::MAX are addresses printed unsigned.
            result.value = Some(if n > i128::from(i64::MAX) {
                n as u64 as i64
            } else {
                n as i64
            });
            if self.lx.peek_char() == Some('<') {
                result.note = Some(self.lx.take_balanced(
                    '<',
                    '>',
                    ParseErrorKind::UnterminatedAnnotation,
                )?);
            }
        }
        self.lx.skip_spaces();
        if self.lx.peek_char() == Some('E') {
            result.errno = Some(
                self.lx
                    .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'),
            );
            self.lx.skip_spaces();
        }
        if self.lx.peek_char() == Some('(') {
            result.comment = Some(self.lx.take_balanced(
                '(',
                ')',
                ParseErrorKind::UnexpectedEnd { expected: ")" },
            )?);
            self.lx.skip_spaces();
        }
        let mut duration = None;
        if self.lx.peek_char() == Some('<') {
            let col = self.lx.col();
            let text = self
                .lx
                .take_balanced('<', '>', ParseErrorKind::UnterminatedAnnotation)?;
            if text != "unavailable" {
                duration = Some(
                    parse_seconds(&text)
                        .ok_or_else(|| ParseError::new(col, ParseErrorKind::BadDuration))?,
                );
            }
        }
        Ok(Some(Outcome { result, duration }))
    }

    // ---- lines ---------------------------------------------------------------

    fn trace_line(&mut self) -> Result<TraceLine, ParseError> {
        self.lx.skip_spaces();
        if self.lx.at_end() {
            return Ok(TraceLine::Blank);
        }
        let prefix = self.prefix()?;
        if let Some(event) = self.non_call() {
            return Ok(TraceLine::NotACall { prefix, event });
        }
        if let Some((_, name)) = self.resumed()? {
            let rest = self.lx.take_rest();
            return Ok(TraceLine::Resumed { prefix, name, rest });
        }
        if let Some(marker) = self.unfinished_col() {
            let t = self.lx.next()?;
            let Tok::Ident(name) = t.tok else {
                return Err(self.error_at(&t, "a syscall name"));
            };
            self.expect(Punct::LParen, "(")?;
            let mut partial = String::new();
            while self.lx.col() < marker {
                match self.lx.bump() {
                    Some(c) => partial.push(c),
                    None => break,
                }
            }
            return Ok(TraceLine::Unfinished {
                prefix,
                name,
                partial,
            });
        }
        let call = self.call()?;
        let outcome = self.outcome()?;
        self.end()?;
        Ok(TraceLine::Call(CallLine {
            prefix,
            call,
            outcome,
        }))
    }

    fn repl_line(&mut self) -> Result<Line, ParseError> {
        self.lx.skip_ws()?;
        match self.lx.peek_char() {
            None => return Ok(Line::Blank),
            Some('#') => {
                self.lx.bump();
                return Ok(Line::Comment(self.lx.take_rest().trim().to_owned()));
            }
            Some(':') => return self.command().map(Line::Command),
            _ => {}
        }
        let prefix = self.prefix()?;
        if let Some(event) = self.non_call() {
            return Ok(Line::NotACall(event));
        }
        if let Some((col, name)) = self.resumed()? {
            return Err(ParseError::new(
                col,
                ParseErrorKind::IncompleteCall { name },
            ));
        }
        if let Some(marker) = self.unfinished_col() {
            let name = match self.lx.peek()?.tok {
                Tok::Ident(name) => name,
                _ => String::new(),
            };
            return Err(ParseError::new(
                marker,
                ParseErrorKind::IncompleteCall { name },
            ));
        }
        let line = self.statement(prefix)?;
        self.end()?;
        Ok(line)
    }

    fn statement(&mut self, prefix: Prefix) -> Result<Line, ParseError> {
        let mut line = if prefix == Prefix::default() && self.peek_is(Punct::LBrace)? {
            self.lx.next()?;
            Line::Batch(self.batch()?)
        } else {
            let var = self.assignment()?;
            let call = self.call()?;
            let outcome = self.outcome()?;
            if outcome.is_none() && prefix == Prefix::default() && self.peek_is(Punct::Arrow)? {
                let mut steps = vec![Step { var, call }];
                while self.peek_is(Punct::Arrow)? {
                    self.lx.next()?;
                    let var = self.assignment()?;
                    steps.push(Step {
                        var,
                        call: self.call()?,
                    });
                }
                Line::Chain(steps)
            } else {
                let line = CallLine {
                    prefix,
                    call,
                    outcome,
                };
                match var {
                    Some(var) => Line::Assign { var, line },
                    None => Line::Call(line),
                }
            }
        };
        if self.peek_is(Punct::Amp)? {
            self.lx.next()?;
            line = Line::Background(Box::new(line));
        }
        Ok(line)
    }

    /// `step (';' step)* ';'? '}'`, the `{` already consumed.
    fn batch(&mut self) -> Result<Vec<Step>, ParseError> {
        let mut steps = Vec::new();
        loop {
            if self.peek_is(Punct::RBrace)? && !steps.is_empty() {
                self.lx.next()?;
                return Ok(steps);
            }
            let var = self.assignment()?;
            steps.push(Step {
                var,
                call: self.call()?,
            });
            let t = self.lx.next()?;
            match t.tok {
                Tok::P(Punct::Semi) => {}
                Tok::P(Punct::RBrace) => return Ok(steps),
                _ => return Err(self.error_at(&t, "; or }")),
            }
        }
    }

    /// An optional `$name =` before a call.
    fn assignment(&mut self) -> Result<Option<String>, ParseError> {
        let (a, b) = self.lx.peek2()?;
        let (Tok::Var(var), Tok::P(Punct::Assign)) = (a.tok, b.tok) else {
            return Ok(None);
        };
        match var {
            VarRef::Named(name) => {
                self.lx.next()?;
                self.lx.next()?;
                Ok(Some(name))
            }
            other => Err(ParseError::new(
                a.col,
                ParseErrorKind::ReservedVariable {
                    text: other.to_string(),
                },
            )),
        }
    }

    /// `:name args…`.
    fn command(&mut self) -> Result<Command, ParseError> {
        self.lx.bump(); // `:`
        let col = self.lx.col();
        let name = self
            .lx
            .take_while(|c| c.is_ascii_alphanumeric() || c == '_');
        let mut words: Vec<(usize, String)> = Vec::new();
        loop {
            // Any whitespace separates words (a vertical tab too: skipping
            // only spaces left the loop taking empty words forever — found
            // by the parse_line fuzz target).
            self.lx.take_while(char::is_whitespace);
            if self.lx.at_end() {
                break;
            }
            let wcol = self.lx.col();
            words.push((wcol, self.lx.take_while(|c| !c.is_whitespace())));
        }
        let usage = |command: &'static str, usage: &'static str| {
            ParseError::new(col, ParseErrorKind::BadCommandArgs { command, usage })
        };
        let word = |i: usize| words.get(i).map(|(_, w)| w.as_str());
        Ok(match name.as_str() {
            "wait" | "cancel" => {
                let (cmd, ctor): (&'static str, fn(Option<Tag>) -> Command) = if name == "wait" {
                    ("wait", Command::Wait)
                } else {
                    ("cancel", Command::Cancel)
                };
                match words.as_slice() {
                    [] => ctor(None),
                    [(wcol, w)] => ctor(Some(parse_tag(w, *wcol)?)),
                    _ => return Err(usage(cmd, "[tag]")),
                }
            }
            "set" => {
                const SET: &str = "strsize N | timing on|off | verbose on|off";
                if words.len() != 2 {
                    return Err(usage("set", SET));
                }
                let on_off = |w: Option<&str>| match w {
                    Some("on") => Some(true),
                    Some("off") => Some(false),
                    _ => None,
                };
                let setting = match word(0) {
                    Some("strsize") => word(1)
                        .and_then(|w| w.parse::<usize>().ok())
                        .map(Setting::Strsize),
                    Some("timing") => on_off(word(1)).map(Setting::Timing),
                    Some("verbose") => on_off(word(1)).map(Setting::Verbose),
                    _ => None,
                };
                Command::Set(setting.ok_or_else(|| usage("set", SET))?)
            }
            "help" | "h" => match words.as_slice() {
                [] => Command::Help(None),
                [(_, w)] => Command::Help(Some(w.clone())),
                _ => return Err(usage("help", "[syscall]")),
            },
            "stats" if words.is_empty() => Command::Stats,
            "stats" => return Err(usage("stats", "")),
            "quit" | "q" if words.is_empty() => Command::Quit,
            "quit" | "q" => return Err(usage("quit", "")),
            _ => {
                return Err(ParseError::new(
                    col,
                    ParseErrorKind::UnknownCommand { name },
                ));
            }
        })
    }
}

fn parse_pid(digits: &str, col: usize) -> Result<u32, ParseError> {
    digits.parse::<u32>().map_err(|_| {
        ParseError::new(
            col,
            ParseErrorKind::NumberOutOfRange {
                text: digits.to_owned(),
            },
        )
    })
}

/// A tag: a number, or a `$variable`.
fn parse_tag(word: &str, col: usize) -> Result<Tag, ParseError> {
    let mut lx = Lexer::new(word);
    let shift = |e: ParseError| ParseError::new(e.col + col - 1, e.kind);
    let t = lx.next().map_err(shift)?;
    let tag = match t.tok {
        Tok::Num(n) if n >= 0 => Tag::Num(n as u64),
        Tok::Var(v) => Tag::Var(v),
        _ => {
            return Err(ParseError::new(
                col,
                ParseErrorKind::BadCommandArgs {
                    command: "wait",
                    usage: "[tag]: a number or a $variable",
                },
            ));
        }
    };
    let end = lx.next().map_err(shift)?;
    if end.tok != Tok::Eof {
        return Err(ParseError::new(
            end.col + col - 1,
            ParseErrorKind::BadCommandArgs {
                command: "wait",
                usage: "[tag]: a number or a $variable",
            },
        ));
    }
    Ok(tag)
}

/// `0.000016` → 16 µs.
fn parse_seconds(text: &str) -> Option<Duration> {
    let (secs, frac) = text.split_once('.')?;
    if secs.is_empty()
        || !secs.bytes().all(|b| b.is_ascii_digit())
        || frac.is_empty()
        || frac.len() > 9
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let secs: u64 = secs.parse().ok()?;
    let frac_value: u32 = frac.parse().ok()?;
    Some(Duration::new(
        secs,
        frac_value * 10u32.pow(9 - frac.len() as u32),
    ))
}
