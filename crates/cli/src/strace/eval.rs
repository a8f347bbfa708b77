//! Integer expressions: numbers, names from flag tables, `A|B`, `8192*1024`,
//! `makedev(1, 3)`, variables.

use sysgate_proto::Arg;
use sysgate_sys::flags::FlagTable;

use super::ast::{BinOp, Expr, UnOp, Value, VarRef};
use super::error::{LowerError, LowerErrorKind};
use super::names::{constant, makedev};

/// Evaluates expressions for one call.
pub(crate) struct Eval<'a> {
    /// `$name` lookup (`$_` is `_`).
    pub(crate) vars: &'a dyn Fn(&str) -> Option<u64>,
    /// The call's position in its link chain.
    pub(crate) chain_position: Option<u16>,
}

/// A number as the 64-bit word the kernel sees: negatives in two's
/// complement (the lexer keeps every literal within `i64::MIN..=u64::MAX`).
pub(crate) fn word_of(n: i128) -> u64 {
    if n < 0 { n as i64 as u64 } else { n as u64 }
}

impl Eval<'_> {
    /// A whole argument: `$prev`/`$N` become link results, everything else
    /// an immediate.
    pub(crate) fn word(
        &self,
        e: &Expr,
        table: Option<&'static FlagTable>,
        arg: &str,
    ) -> Result<Arg, LowerError> {
        let inner = e.unannotated();
        match &inner.value {
            Value::Var(v @ (VarRef::Prev | VarRef::Chain(_))) => self.link(v, inner.col),
            _ => Ok(Arg::Imm(self.int(e, table, arg)?)),
        }
    }

    /// `$prev` / `$N` → `Arg::LinkResult(index)`.
    fn link(&self, v: &VarRef, col: usize) -> Result<Arg, LowerError> {
        let var = v.to_string();
        let Some(position) = self.chain_position else {
            return Err(LowerError::new(
                col,
                LowerErrorKind::LinkOutsideChain { var },
            ));
        };
        let index = match v {
            VarRef::Prev => position.checked_sub(1),
            VarRef::Chain(n) => u16::from(*n).checked_sub(1),
            _ => None,
        };
        match index {
            Some(i) if i < position => Ok(Arg::LinkResult(i)),
            _ => Err(LowerError::new(
                col,
                LowerErrorKind::LinkNotEarlier { var, position },
            )),
        }
    }

    /// An integer: names from `table` (then the extra constants), `|`,
    /// `*`, `+`, `<<`, `~`, `makedev()`, `$variables`.
    pub(crate) fn int(
        &self,
        e: &Expr,
        table: Option<&'static FlagTable>,
        arg: &str,
    ) -> Result<u64, LowerError> {
        let err = |kind| LowerError::new(e.col, kind);
        match &e.value {
            Value::Num(n) => Ok(word_of(*n)),
            Value::Null => Ok(0),
            Value::Name(name) => constant(table, name).ok_or_else(|| {
                err(LowerErrorKind::UnknownName {
                    table: table.map(|t| t.name),
                    name: name.clone(),
                })
            }),
            Value::Flags(parts) => parts
                .iter()
                .try_fold(0u64, |acc, p| Ok(acc | self.int(p, table, arg)?)),
            Value::Binary { op, lhs, rhs } => {
                let a = self.int(lhs, table, arg)?;
                let b = self.int(rhs, table, arg)?;
                match op {
                    BinOp::Mul => Ok(a.wrapping_mul(b)),
                    BinOp::Add => Ok(a.wrapping_add(b)),
                    BinOp::Shl => u32::try_from(b)
                        .ok()
                        .and_then(|s| a.checked_shl(s))
                        .ok_or_else(|| err(LowerErrorKind::OutOfRange { what: "shift" })),
                    other => Err(err(LowerErrorKind::BadOperator { op: other.as_str() })),
                }
            }
            Value::Unary {
                op: UnOp::Complement,
                operand,
            } => Ok(!self.int(operand, table, arg)?),
            Value::Unary { op, .. } => Err(err(LowerErrorKind::BadOperator { op: op.as_str() })),
            Value::Apply { func, args } if func == "makedev" && args.len() == 2 => {
                let major = self.int(&args[0], None, arg)?;
                let minor = self.int(&args[1], None, arg)?;
                Ok(makedev(major, minor))
            }
            Value::Annotated { value, .. } => self.int(value, table, arg),
            Value::Changed { before, .. } => self.int(before, table, arg),
            Value::Var(VarRef::Named(name)) => (self.vars)(name).ok_or_else(|| {
                err(LowerErrorKind::UnknownVariable {
                    var: format!("${name}"),
                })
            }),
            Value::Var(VarRef::Last) => (self.vars)("_").ok_or_else(|| {
                err(LowerErrorKind::UnknownVariable {
                    var: "$_".to_owned(),
                })
            }),
            Value::Var(v) => Err(err(LowerErrorKind::LinkNotHere { var: v.to_string() })),
            Value::Str { .. }
            | Value::Struct(_)
            | Value::Array(_)
            | Value::Ellipsis
            | Value::Apply { .. } => Err(err(LowerErrorKind::Expected {
                arg: arg.to_owned(),
                what: "an integer",
            })),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strace::parse::Parser;

    fn no_vars(name: &str) -> Option<u64> {
        (name == "fd").then_some(7)
    }

    fn eval(text: &str, table: Option<&'static FlagTable>) -> Result<u64, LowerError> {
        let e = Parser::new(text).expr().unwrap();
        Eval {
            vars: &no_vars,
            chain_position: None,
        }
        .int(&e, table, "x")
    }

    #[test]
    fn integers() {
        use sysgate_sys::flags::{MODE, OPEN_FLAGS};
        assert_eq!(eval("O_RDWR|O_CLOEXEC", Some(&OPEN_FLAGS)), Ok(0o2000002));
        assert_eq!(eval("O_RDONLY|0x10", Some(&OPEN_FLAGS)), Ok(0x10));
        assert_eq!(eval("S_IFREG|0644", Some(&MODE)), Ok(0o100644));
        assert_eq!(eval("8192*1024", None), Ok(8 << 20));
        assert_eq!(eval("1<<20", None), Ok(1 << 20));
        assert_eq!(eval("-100", None), Ok((-100i64) as u64));
        assert_eq!(eval("~0", None), Ok(u64::MAX));
        assert_eq!(eval("makedev(0x1, 0x3)", None), Ok(0x103));
        assert_eq!(eval("$fd", None), Ok(7));
        assert_eq!(eval("3</etc/passwd>", None), Ok(3));
        assert_eq!(eval("IPPROTO_TCP", None), Ok(6));
        assert!(matches!(
            eval("O_NOPE", Some(&OPEN_FLAGS)).unwrap_err().kind,
            LowerErrorKind::UnknownName { .. }
        ));
        assert!(matches!(
            eval("$nope", None).unwrap_err().kind,
            LowerErrorKind::UnknownVariable { .. }
        ));
        assert!(matches!(
            eval("1<<64", None).unwrap_err().kind,
            LowerErrorKind::OutOfRange { .. }
        ));
        assert!(matches!(
            eval("\"x\"", None).unwrap_err().kind,
            LowerErrorKind::Expected { .. }
        ));
    }

    #[test]
    fn links() {
        let e = |t: &str| Parser::new(t).expr().unwrap();
        let at = |pos| Eval {
            vars: &no_vars,
            chain_position: pos,
        };
        assert_eq!(
            at(Some(2)).word(&e("$prev"), None, "x"),
            Ok(Arg::LinkResult(1))
        );
        assert_eq!(
            at(Some(2)).word(&e("$1"), None, "x"),
            Ok(Arg::LinkResult(0))
        );
        assert!(at(Some(1)).word(&e("$2"), None, "x").is_err());
        assert!(at(Some(0)).word(&e("$prev"), None, "x").is_err());
        assert!(at(None).word(&e("$prev"), None, "x").is_err());
    }
}
