//! Symbolic constants: parse `O_RDONLY|O_CLOEXEC` and print bits the way
//! strace does.
//!
//! A [`FlagTable`] describes one argument's constants. It has three parts,
//! applied in this order when printing:
//!
//! 1. an optional *value field* ([`ValueField`]): a group of bits that holds a
//!    number rather than independent flags (`O_ACCMODE` holding `O_RDONLY`,
//!    `O_WRONLY` or `O_RDWR`; `S_IFMT` holding the file type; the low nibble
//!    of a socket type). Enumerations such as `lseek` whence or clock ids are
//!    tables whose field covers every bit;
//! 2. single- and multi-bit *flags*, in print order; a multi-bit flag
//!    (`O_SYNC`, `STATX_BASIC_STATS`) is listed before the flags it contains
//!    and is printed only when all of its bits are set;
//! 3. the *leftover*: bits no name claimed, printed as hex
//!    (`O_RDONLY|0x80000000`), signed decimal (signal numbers) or, for file
//!    modes, octal (`S_IFREG|0644`).
//!
//! A value of zero that nothing names prints as the table's zero name
//! (`F_OK`, `PROT_NONE`, `MAP_FILE`) or `0`.
//!
//! [`FlagTable::parse`] is the inverse: names, aliases and numbers
//! (decimal, `0x` hex, `0o` or C-style leading-zero octal, optionally
//! negative) joined by `|`, with spaces allowed around each part. For every
//! table and every `x`, `parse(format(x)) == x`.

use std::fmt;

mod tables;
pub use tables::*;

/// One symbolic name and the bits it stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Named {
    /// The name as strace prints it, e.g. `O_CLOEXEC`.
    pub name: &'static str,
    /// Its value. Negative constants (`AT_FDCWD`, `RUSAGE_CHILDREN`) are
    /// stored sign-extended to 64 bits.
    pub value: u64,
}

/// A group of bits holding one number out of a list (`O_ACCMODE`, `S_IFMT`).
#[derive(Debug, Clone, Copy)]
pub struct ValueField {
    /// The bits of the field. `u64::MAX` makes the table an enumeration.
    pub mask: u64,
    /// The named values; each lies inside `mask`.
    pub values: &'static [Named],
}

/// How bits that no name claims are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leftover {
    /// `0x80000000`, as strace prints unknown flag bits.
    Hex,
    /// Signed decimal, as strace prints unknown signal numbers and fds.
    Decimal,
    /// File-mode style: the bits inside `mask` always print as C octal with
    /// at least three digits (`0644`, `000`); bits outside it as hex.
    Octal {
        /// The bits printed in octal.
        mask: u64,
    },
}

/// The constants of one kind of argument (open flags, clock ids, …).
#[derive(Debug)]
pub struct FlagTable {
    /// What the table describes, e.g. `open flags`; used in errors.
    pub name: &'static str,
    /// How a signature shows the argument's constants, e.g. `O_*`.
    pub pattern: &'static str,
    /// The value field, if the table has one.
    pub field: Option<ValueField>,
    /// The flags, in print order (multi-bit flags before their parts).
    pub bits: &'static [Named],
    /// Further names `parse` accepts but `format` never prints
    /// (`O_NDELAY`, `MAP_ANON`, `AF_LOCAL`).
    pub aliases: &'static [Named],
    /// How zero prints when no field value names it (`F_OK`); `0` if `None`.
    pub zero: Option<&'static str>,
    /// How unclaimed bits print.
    pub leftover: Leftover,
}

impl FlagTable {
    /// `format(bits)` — the strace spelling of `bits`, e.g.
    /// `O_RDONLY|O_CLOEXEC` or `O_RDWR|0x80000000`.
    pub fn format(&self, bits: u64) -> String {
        self.display(bits).to_string()
    }

    /// Like [`format`](Self::format) but without allocating: a value that
    /// prints itself.
    pub fn display(&self, bits: u64) -> FlagsDisplay<'_> {
        FlagsDisplay { table: self, bits }
    }

    /// `parse(text)` — the bits `text` names, e.g. `"O_RDONLY|O_CLOEXEC"`.
    ///
    /// Accepts the table's names, its aliases, its zero name and numbers
    /// (`42`, `-100`, `0x80000000`, `0644`, `0o644`), joined by `|`.
    ///
    /// # Errors
    /// [`FlagParseError`] naming the first part that is empty, an unknown
    /// name or a malformed number, with its byte offset in `text`.
    pub fn parse(&self, text: &str) -> Result<u64, FlagParseError> {
        let mut bits = 0u64;
        let mut start = 0usize;
        for part in text.split('|') {
            let trimmed = part.trim_start();
            let offset = start + (part.len() - trimmed.len());
            let token = trimmed.trim_end();
            start += part.len() + 1;
            if token.is_empty() {
                return Err(FlagParseError::Empty {
                    table: self.name,
                    offset,
                });
            }
            let first = token.as_bytes()[0];
            let value = if first.is_ascii_digit() || first == b'-' || first == b'+' {
                parse_number(token).ok_or_else(|| FlagParseError::BadNumber {
                    table: self.name,
                    text: token.to_owned(),
                    offset,
                })?
            } else {
                self.lookup(token)
                    .ok_or_else(|| FlagParseError::UnknownName {
                        table: self.name,
                        name: token.to_owned(),
                        offset,
                    })?
            };
            bits |= value;
        }
        Ok(bits)
    }

    /// The value of one name (field value, flag, alias or zero name).
    pub fn lookup(&self, name: &str) -> Option<u64> {
        let field_values = self.field.map_or(&[][..], |f| f.values);
        field_values
            .iter()
            .chain(self.bits)
            .chain(self.aliases)
            .find(|n| n.name == name)
            .map(|n| n.value)
            .or_else(|| (self.zero == Some(name)).then_some(0))
    }

    /// Every name `format` may print: field values, then flags.
    pub fn names(&self) -> impl Iterator<Item = &'static Named> + '_ {
        self.field
            .map_or(&[][..], |f| f.values)
            .iter()
            .chain(self.bits)
    }
}

/// Tables are statics; two tables are equal when they are the same table.
impl PartialEq for FlagTable {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self, other)
    }
}

impl Eq for FlagTable {}

/// [`FlagTable::display`]: prints a value in strace's spelling.
#[derive(Debug, Clone, Copy)]
pub struct FlagsDisplay<'a> {
    table: &'a FlagTable,
    bits: u64,
}

impl fmt::Display for FlagsDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let table = self.table;
        let mut rest = self.bits;
        let mut first = true;
        let mut sep = |f: &mut fmt::Formatter<'_>| -> fmt::Result {
            if !std::mem::take(&mut first) {
                f.write_str("|")?;
            }
            Ok(())
        };
        if let Some(field) = table.field {
            let v = rest & field.mask;
            // An unnamed field value stays in `rest` and prints with the
            // leftover, so the output still parses back to the same bits.
            if let Some(named) = field.values.iter().find(|n| n.value == v) {
                sep(f)?;
                f.write_str(named.name)?;
                rest &= !field.mask;
            }
        }
        for flag in table.bits {
            if flag.value != 0 && rest & flag.value == flag.value {
                sep(f)?;
                f.write_str(flag.name)?;
                rest &= !flag.value;
            }
        }
        match table.leftover {
            Leftover::Octal { mask } => {
                sep(f)?;
                let oct = rest & mask;
                if oct == 0 {
                    f.write_str("000")?;
                } else {
                    // C's `%#03o`: a leading zero, at least three digits.
                    let digits = (64 - oct.leading_zeros()).div_ceil(3);
                    for _ in digits + 1..3 {
                        f.write_str("0")?;
                    }
                    write!(f, "0{oct:o}")?;
                }
                rest &= !mask;
                if rest != 0 {
                    sep(f)?;
                    write!(f, "{rest:#x}")?;
                }
            }
            Leftover::Hex if rest != 0 => {
                sep(f)?;
                write!(f, "{rest:#x}")?;
            }
            Leftover::Decimal if rest != 0 => {
                sep(f)?;
                write!(f, "{}", rest as i64)?;
            }
            Leftover::Hex | Leftover::Decimal => {}
        }
        if first {
            f.write_str(table.zero.unwrap_or("0"))?;
        }
        Ok(())
    }
}

/// A number as the REPL and strace write it: decimal, `0x` hex, `0o` or
/// leading-zero octal, `0b` binary, optionally signed. Negative numbers are
/// returned sign-extended (two's complement).
pub fn parse_number(text: &str) -> Option<u64> {
    let (negative, body) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let (radix, digits) =
        if let Some(d) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
            (16, d)
        } else if let Some(d) = body.strip_prefix("0o") {
            (8, d)
        } else if let Some(d) = body.strip_prefix("0b") {
            (2, d)
        } else if body.len() > 1 && body.starts_with('0') {
            (8, &body[1..])
        } else {
            (10, body)
        };
    // `from_str_radix` accepts a sign of its own; we already took ours.
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    let magnitude = u64::from_str_radix(digits, radix).ok()?;
    if negative {
        // Allow down to i64::MIN; anything larger has no two's complement.
        if magnitude > 1u64 << 63 {
            return None;
        }
        Some(magnitude.wrapping_neg())
    } else {
        Some(magnitude)
    }
}

/// Why [`FlagTable::parse`] rejected its input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlagParseError {
    /// The input, or a part between two `|`, is empty.
    Empty {
        /// The table's name, e.g. `open flags`.
        table: &'static str,
        /// Byte offset of the empty part.
        offset: usize,
    },
    /// A name the table does not know.
    UnknownName {
        /// The table's name, e.g. `open flags`.
        table: &'static str,
        /// The name as written.
        name: String,
        /// Byte offset of the name in the input.
        offset: usize,
    },
    /// Something that starts like a number but is not one (or overflows 64
    /// bits).
    BadNumber {
        /// The table's name, e.g. `open flags`.
        table: &'static str,
        /// The text as written.
        text: String,
        /// Byte offset of the text in the input.
        offset: usize,
    },
}

impl FlagParseError {
    /// Byte offset of the offending part in the input.
    pub fn offset(&self) -> usize {
        match self {
            Self::Empty { offset, .. }
            | Self::UnknownName { offset, .. }
            | Self::BadNumber { offset, .. } => *offset,
        }
    }
}

impl fmt::Display for FlagParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty { table, offset } => {
                write!(f, "empty {table} part at byte {offset}")
            }
            Self::UnknownName {
                table,
                name,
                offset,
            } => write!(f, "unknown {table} name `{name}` at byte {offset}"),
            Self::BadNumber {
                table,
                text,
                offset,
            } => write!(f, "malformed number `{text}` in {table} at byte {offset}"),
        }
    }
}

impl std::error::Error for FlagParseError {}

#[cfg(test)]
mod tests;
