//! The lexer: characters to tokens, with 1-based character columns.
//!
//! The input is held as a vector of `char`s, so a position is a column and
//! no slicing can land inside a UTF-8 sequence. The parser drives the
//! lexer one token at a time and, for the few places where strace's syntax
//! is not made of tokens (`-y` annotations, timestamps, result comments),
//! reads raw characters through the same cursor.

use super::ast::VarRef;
use super::error::{ParseError, ParseErrorKind};

/// A punctuation token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Punct {
    LParen,
    RParen,
    LBrace,
    RBrace,
    LBracket,
    RBracket,
    Comma,
    Semi,
    /// `=`
    Assign,
    /// `==`
    EqEq,
    /// `!=`
    Ne,
    /// `|`
    Pipe,
    /// `||`
    OrOr,
    /// `&&`
    AndAnd,
    /// `&`
    Amp,
    /// `~`
    Tilde,
    /// `!`
    Bang,
    /// `*`
    Star,
    /// `+`
    Plus,
    /// `<<`
    Shl,
    /// `->`
    Arrow,
    /// `=>`
    FatArrow,
    /// `...`
    Ellipsis,
    /// `<`
    Lt,
    /// `>`
    Gt,
    /// `:`
    Colon,
    /// `?`
    Question,
    /// `@`
    At,
    /// `#`
    Hash,
}

/// A token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Tok {
    /// `[A-Za-z_][A-Za-z0-9_]*`
    Ident(String),
    /// An integer literal, range-checked.
    Num(i128),
    /// A string literal.
    Str { bytes: Vec<u8>, truncated: bool },
    /// `$name`, `$_`, `$prev`, `$1`.
    Var(VarRef),
    /// Punctuation.
    P(Punct),
    /// The end of the line.
    Eof,
}

/// A token and the column where it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token {
    pub(crate) tok: Tok,
    pub(crate) col: usize,
}

/// A cursor over one line.
#[derive(Debug, Clone)]
pub(crate) struct Lexer {
    chars: Vec<char>,
    pos: usize,
}

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

impl Lexer {
    /// A lexer at the start of `text`.
    pub(crate) fn new(text: &str) -> Self {
        Lexer {
            chars: text.chars().collect(),
            pos: 0,
        }
    }

    /// The column of the next character.
    pub(crate) fn col(&self) -> usize {
        self.pos + 1
    }

    /// The saved position, for [`reset`](Self::reset).
    pub(crate) fn mark(&self) -> usize {
        self.pos
    }

    /// Goes back to a [`mark`](Self::mark).
    pub(crate) fn reset(&mut self, mark: usize) {
        self.pos = mark.min(self.chars.len());
    }

    pub(crate) fn at_end(&self) -> bool {
        self.pos >= self.chars.len()
    }

    pub(crate) fn peek_char(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    pub(crate) fn char_at(&self, offset: usize) -> Option<char> {
        self.chars.get(self.pos + offset).copied()
    }

    pub(crate) fn bump(&mut self) -> Option<char> {
        let c = self.peek_char()?;
        self.pos += 1;
        Some(c)
    }

    /// Whether the remaining input starts with `s`.
    pub(crate) fn starts_with(&self, s: &str) -> bool {
        s.chars()
            .enumerate()
            .all(|(i, c)| self.chars.get(self.pos + i) == Some(&c))
    }

    /// Consumes `s` if the input starts with it.
    pub(crate) fn eat(&mut self, s: &str) -> bool {
        if self.starts_with(s) {
            self.pos += s.chars().count();
            true
        } else {
            false
        }
    }

    /// The rest of the line, unconsumed.
    pub(crate) fn rest(&self) -> String {
        self.chars.get(self.pos..).unwrap_or(&[]).iter().collect()
    }

    /// Consumes and returns the rest of the line.
    pub(crate) fn take_rest(&mut self) -> String {
        let s = self.rest();
        self.pos = self.chars.len();
        s
    }

    /// Skips spaces and tabs (and a stray carriage return), not comments.
    pub(crate) fn skip_spaces(&mut self) {
        while matches!(self.peek_char(), Some(' ' | '\t' | '\r')) {
            self.pos += 1;
        }
    }

    /// Skips white space and `/* comments */`.
    pub(crate) fn skip_ws(&mut self) -> Result<(), ParseError> {
        loop {
            self.skip_spaces();
            if self.starts_with("/*") {
                let col = self.col();
                self.pos += 2;
                loop {
                    if self.eat("*/") {
                        break;
                    }
                    if self.bump().is_none() {
                        return Err(ParseError::new(col, ParseErrorKind::UnterminatedComment));
                    }
                }
            } else {
                return Ok(());
            }
        }
    }

    /// Takes characters while `f` holds.
    pub(crate) fn take_while(&mut self, f: impl Fn(char) -> bool) -> String {
        let mut s = String::new();
        while let Some(c) = self.peek_char() {
            if !f(c) {
                break;
            }
            s.push(c);
            self.pos += 1;
        }
        s
    }

    /// With the cursor on `open`, consumes up to the matching `close`
    /// (nesting counted) and returns the text between them.
    pub(crate) fn take_balanced(
        &mut self,
        open: char,
        close: char,
        unterminated: ParseErrorKind,
    ) -> Result<String, ParseError> {
        let col = self.col();
        if self.peek_char() != Some(open) {
            return Err(self.unexpected(format_expected(open)));
        }
        self.pos += 1;
        let mut depth = 1usize;
        let mut text = String::new();
        while let Some(c) = self.bump() {
            if c == open {
                depth += 1;
            } else if c == close && !(c == '>' && text.ends_with('-')) {
                // (`->` inside a `-yy` note, `TCP:[1.2.3.4:5->6.7.8.9:10]`,
                // does not close it.)
                depth -= 1;
                if depth == 0 {
                    return Ok(text);
                }
            }
            text.push(c);
        }
        Err(ParseError::new(col, unterminated))
    }

    /// An error for the character under the cursor (or the end of line).
    pub(crate) fn unexpected(&self, expected: &'static str) -> ParseError {
        match self.peek_char() {
            Some(found) => ParseError::new(
                self.col(),
                ParseErrorKind::UnexpectedChar { found, expected },
            ),
            None => ParseError::new(self.col(), ParseErrorKind::UnexpectedEnd { expected }),
        }
    }

    /// The next token without consuming it.
    pub(crate) fn peek(&mut self) -> Result<Token, ParseError> {
        let mark = self.pos;
        let t = self.next();
        self.pos = mark;
        t
    }

    /// The next two tokens without consuming them.
    pub(crate) fn peek2(&mut self) -> Result<(Token, Token), ParseError> {
        let mark = self.pos;
        let a = self.next();
        let b = self.next();
        self.pos = mark;
        Ok((a?, b?))
    }

    /// Skips white space and comments, then reads one token.
    pub(crate) fn next(&mut self) -> Result<Token, ParseError> {
        self.skip_ws()?;
        let col = self.col();
        let Some(c) = self.peek_char() else {
            return Ok(Token { tok: Tok::Eof, col });
        };
        let tok = if is_ident_start(c) {
            Tok::Ident(self.take_while(is_ident_char))
        } else if c.is_ascii_digit()
            || (c == '-' && self.char_at(1).is_some_and(|d| d.is_ascii_digit()))
        {
            Tok::Num(self.number()?)
        } else if c == '"' {
            let (bytes, truncated) = self.string()?;
            Tok::Str { bytes, truncated }
        } else if c == '$' {
            Tok::Var(self.var()?)
        } else {
            Tok::P(self.punct()?)
        };
        Ok(Token { tok, col })
    }

    fn punct(&mut self) -> Result<Punct, ParseError> {
        use Punct::*;
        const MULTI: [(&str, Punct); 8] = [
            ("...", Ellipsis),
            ("->", Arrow),
            ("=>", FatArrow),
            ("==", EqEq),
            ("!=", Ne),
            ("||", OrOr),
            ("&&", AndAnd),
            ("<<", Shl),
        ];
        for (s, p) in MULTI {
            if self.eat(s) {
                return Ok(p);
            }
        }
        let p = match self.peek_char() {
            Some('(') => LParen,
            Some(')') => RParen,
            Some('{') => LBrace,
            Some('}') => RBrace,
            Some('[') => LBracket,
            Some(']') => RBracket,
            Some(',') => Comma,
            Some(';') => Semi,
            Some('=') => Assign,
            Some('|') => Pipe,
            Some('&') => Amp,
            Some('~') => Tilde,
            Some('!') => Bang,
            Some('*') => Star,
            Some('+') => Plus,
            Some('<') => Lt,
            Some('>') => Gt,
            Some(':') => Colon,
            Some('?') => Question,
            Some('@') => At,
            Some('#') => Hash,
            _ => return Err(self.unexpected("a value")),
        };
        self.pos += 1;
        Ok(p)
    }

    /// An integer: decimal, `0x` hex or leading-zero octal, optionally
    /// negative, within `i64::MIN..=u64::MAX`.
    fn number(&mut self) -> Result<i128, ParseError> {
        let col = self.col();
        let negative = self.peek_char() == Some('-');
        if negative {
            self.pos += 1;
        }
        let body = self.take_while(is_ident_char);
        let text = if negative {
            format!("-{body}")
        } else {
            body.clone()
        };
        let malformed =
            || ParseError::new(col, ParseErrorKind::MalformedNumber { text: text.clone() });
        let (radix, digits) =
            if let Some(d) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
                (16, d)
            } else if body.len() > 1 && body.starts_with('0') {
                (8, &body[1..])
            } else {
                (10, body.as_str())
            };
        if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
            return Err(malformed());
        }
        let magnitude = u128::from_str_radix(digits, radix).map_err(|_| {
            ParseError::new(col, ParseErrorKind::NumberOutOfRange { text: text.clone() })
        })?;
        let out_of_range = if negative {
            magnitude > 1u128 << 63
        } else {
            magnitude > u128::from(u64::MAX)
        };
        if out_of_range {
            return Err(ParseError::new(
                col,
                ParseErrorKind::NumberOutOfRange { text },
            ));
        }
        // In range: magnitude <= 2^64 - 1 fits an i128 either way.
        let value = magnitude as i128;
        Ok(if negative { -value } else { value })
    }

    /// A `"string"` with C escapes, and strace's `...` marker after it.
    fn string(&mut self) -> Result<(Vec<u8>, bool), ParseError> {
        let start = self.col();
        self.pos += 1; // the opening quote
        let mut bytes = Vec::new();
        loop {
            let Some(c) = self.bump() else {
                return Err(ParseError::new(start, ParseErrorKind::UnterminatedString));
            };
            match c {
                '"' => break,
                '\\' => self.escape(&mut bytes, start)?,
                c => {
                    let mut buf = [0u8; 4];
                    bytes.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
            }
        }
        let truncated = self.eat("...");
        Ok((bytes, truncated))
    }

    /// One escape, the backslash already consumed.
    fn escape(&mut self, bytes: &mut Vec<u8>, string_col: usize) -> Result<(), ParseError> {
        let col = self.col() - 1;
        let Some(c) = self.bump() else {
            return Err(ParseError::new(
                string_col,
                ParseErrorKind::UnterminatedString,
            ));
        };
        let bad = |escape: String| ParseError::new(col, ParseErrorKind::BadEscape { escape });
        let b = match c {
            'n' => b'\n',
            't' => b'\t',
            'r' => b'\r',
            'v' => 0x0b,
            'f' => 0x0c,
            'a' => 0x07,
            'b' => 0x08,
            'e' => 0x1b,
            '"' => b'"',
            '\\' => b'\\',
            '\'' => b'\'',
            '?' => b'?',
            'x' => {
                let mut value = 0u32;
                let mut n = 0;
                while n < 2 {
                    match self.peek_char().and_then(|d| d.to_digit(16)) {
                        Some(d) => {
                            value = value * 16 + d;
                            self.pos += 1;
                            n += 1;
                        }
                        None => break,
                    }
                }
                if n == 0 {
                    return Err(bad("\\x".to_owned()));
                }
                value as u8
            }
            '0'..='7' => {
                let mut value = c.to_digit(8).unwrap_or(0);
                let mut text = format!("\\{c}");
                for _ in 0..2 {
                    match self.peek_char().and_then(|d| d.to_digit(8)) {
                        Some(d) => {
                            value = value * 8 + d;
                            text.push(self.peek_char().unwrap_or('0'));
                            self.pos += 1;
                        }
                        None => break,
                    }
                }
                u8::try_from(value).map_err(|_| bad(text))?
            }
            other => return Err(bad(format!("\\{other}"))),
        };
        bytes.push(b);
        Ok(())
    }

    /// `$name`, `$_`, `$prev`, `$1`…`$9`.
    fn var(&mut self) -> Result<VarRef, ParseError> {
        let col = self.col();
        self.pos += 1; // `$`
        let bad = |text: String| ParseError::new(col, ParseErrorKind::BadVariable { text });
        match self.peek_char() {
            Some(c) if is_ident_start(c) => {
                let name = self.take_while(is_ident_char);
                Ok(match name.as_str() {
                    "_" => VarRef::Last,
                    "prev" => VarRef::Prev,
                    _ => VarRef::Named(name),
                })
            }
            Some(c) if c.is_ascii_digit() => {
                let digits = self.take_while(is_ident_char);
                match digits.as_bytes() {
                    [d @ b'1'..=b'9'] => Ok(VarRef::Chain(d - b'0')),
                    _ => Err(bad(format!("${digits}"))),
                }
            }
            _ => Err(bad("$".to_owned())),
        }
    }
}

fn format_expected(c: char) -> &'static str {
    match c {
        '<' => "<",
        '(' => "(",
        '[' => "[",
        '{' => "{",
        _ => "a bracket",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Tok> {
        let mut lx = Lexer::new(s);
        let mut out = Vec::new();
        loop {
            let t = lx.next().unwrap();
            if t.tok == Tok::Eof {
                return out;
            }
            out.push(t.tok);
        }
    }

    fn err(s: &str) -> ParseError {
        let mut lx = Lexer::new(s);
        loop {
            match lx.next() {
                Ok(t) if t.tok == Tok::Eof => panic!("{s:?} lexed"),
                Ok(_) => {}
                Err(e) => return e,
            }
        }
    }

    #[test]
    fn numbers_in_every_radix() {
        assert_eq!(
            toks("0 42 -100 0x1F 0644 18446744073709551615 -9223372036854775808"),
            vec![
                Tok::Num(0),
                Tok::Num(42),
                Tok::Num(-100),
                Tok::Num(31),
                Tok::Num(0o644),
                Tok::Num(u64::MAX.into()),
                Tok::Num(i64::MIN.into()),
            ]
        );
    }

    #[test]
    fn bad_numbers() {
        assert!(matches!(
            err("18446744073709551616").kind,
            ParseErrorKind::NumberOutOfRange { .. }
        ));
        assert!(matches!(
            err("-9223372036854775809").kind,
            ParseErrorKind::NumberOutOfRange { .. }
        ));
        assert!(matches!(
            err("0x").kind,
            ParseErrorKind::MalformedNumber { .. }
        ));
        assert!(matches!(
            err("  09").kind,
            ParseErrorKind::MalformedNumber { .. }
        ));
        assert_eq!(err("  09").col, 3);
        assert!(matches!(
            err("12ab").kind,
            ParseErrorKind::MalformedNumber { .. }
        ));
    }

    #[test]
    fn strings_with_escapes_and_truncation() {
        assert_eq!(
            toks(r#""a\n\t\"\\\x41\101\0\1775" "x"... "é""#),
            vec![
                Tok::Str {
                    bytes: b"a\n\t\"\\AA\0\x7f5".to_vec(),
                    truncated: false
                },
                Tok::Str {
                    bytes: b"x".to_vec(),
                    truncated: true
                },
                Tok::Str {
                    bytes: "é".as_bytes().to_vec(),
                    truncated: false
                },
            ]
        );
    }

    #[test]
    fn bad_strings() {
        let e = err(r#"ab "abc"#);
        assert_eq!((e.col, e.kind), (4, ParseErrorKind::UnterminatedString));
        let e = err(r#""a\qb""#);
        assert_eq!(e.col, 3);
        assert!(matches!(e.kind, ParseErrorKind::BadEscape { .. }));
        assert!(matches!(
            err(r#""\400""#).kind,
            ParseErrorKind::BadEscape { .. }
        ));
        assert!(matches!(
            err(r#""\xg""#).kind,
            ParseErrorKind::BadEscape { .. }
        ));
        assert_eq!(err(r#""abc\"#).kind, ParseErrorKind::UnterminatedString);
    }

    #[test]
    fn vars_puncts_and_comments() {
        assert_eq!(
            toks("$fd $_ $prev $3 -> => ... /* note */ | || && == != << ~"),
            vec![
                Tok::Var(VarRef::Named("fd".into())),
                Tok::Var(VarRef::Last),
                Tok::Var(VarRef::Prev),
                Tok::Var(VarRef::Chain(3)),
                Tok::P(Punct::Arrow),
                Tok::P(Punct::FatArrow),
                Tok::P(Punct::Ellipsis),
                Tok::P(Punct::Pipe),
                Tok::P(Punct::OrOr),
                Tok::P(Punct::AndAnd),
                Tok::P(Punct::EqEq),
                Tok::P(Punct::Ne),
                Tok::P(Punct::Shl),
                Tok::P(Punct::Tilde),
            ]
        );
        assert!(matches!(
            err("$10").kind,
            ParseErrorKind::BadVariable { .. }
        ));
        assert!(matches!(err("$ ").kind, ParseErrorKind::BadVariable { .. }));
        assert_eq!(err("a /* b").kind, ParseErrorKind::UnterminatedComment);
        assert_eq!(err("a /* b").col, 3);
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        let mut lx = Lexer::new("\"ééé\" x");
        lx.next().unwrap();
        assert_eq!(lx.next().unwrap().col, 7);
        let e = err("\"é\" `");
        assert_eq!(e.col, 5);
    }
}
