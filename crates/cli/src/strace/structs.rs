//! Kernel structures: encoding the ones the REPL passes in from strace's
//! `{field=value, ...}` form, and decoding the ones the kernel fills into
//! strace's form.
//!
//! Layouts are the kernel's for the host architecture (x86_64 or
//! aarch64), native endian; sizes agree with
//! [`StructKind::size`](sysgate_sys::StructKind::size).

use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr};

use sysgate_sys::StructKind;
use sysgate_sys::flags::{
    EPOLL_EVENTS, FlagTable, MODE, OPEN_FLAGS, POLL_EVENTS, RESOLVE_FLAGS, SOCKET_DOMAIN,
    STATX_MASK,
};

use super::ast::{Expr, Field, UnOp, Value};
use super::error::{LowerError, LowerErrorKind};
use super::eval::Eval;
use super::format::{FormatOptions, quote};
use super::names::{dirent_type, major, minor, signal_number, signal_set_name};

// ---- encoding ------------------------------------------------------------------

/// The named fields of a struct value, checked against the names the
/// struct has.
struct Fields<'e> {
    fields: &'e [Field],
    what: &'static str,
}

impl<'e> Fields<'e> {
    /// `e` must be `{...}` whose named fields are all in `known`; unnamed
    /// fields other than `...` are refused unless `unnamed_ok`.
    fn new(
        e: &'e Expr,
        what: &'static str,
        known: &[&str],
        unnamed_ok: bool,
    ) -> Result<Self, LowerError> {
        let Value::Struct(fields) = &e.value else {
            return Err(LowerError::new(
                e.col,
                LowerErrorKind::Expected {
                    arg: what.to_owned(),
                    what: "a struct {field=value, ...}",
                },
            ));
        };
        for f in fields {
            match &f.name {
                Some(name) if !known.contains(&name.as_str()) => {
                    return Err(LowerError::new(
                        f.value.col,
                        LowerErrorKind::UnknownField {
                            what,
                            field: name.clone(),
                        },
                    ));
                }
                None if !unnamed_ok && f.value.value != Value::Ellipsis => {
                    return Err(LowerError::new(
                        f.value.col,
                        LowerErrorKind::Expected {
                            arg: what.to_owned(),
                            what: "named fields (field=value)",
                        },
                    ));
                }
                _ => {}
            }
        }
        Ok(Fields { fields, what })
    }

    fn get(&self, name: &str) -> Option<&'e Expr> {
        self.fields
            .iter()
            .find(|f| f.name.as_deref() == Some(name))
            .map(|f| &f.value)
    }

    /// Field `name` as an integer; 0 when absent.
    fn int(
        &self,
        ev: &Eval<'_>,
        name: &'static str,
        table: Option<&'static FlagTable>,
    ) -> Result<u64, LowerError> {
        match self.get(name) {
            Some(e) => ev.int(e, table, name),
            None => Ok(0),
        }
    }

    /// Field `name`, which must be present.
    fn required(&self, name: &'static str, col: usize) -> Result<&'e Expr, LowerError> {
        self.get(name).ok_or_else(|| {
            LowerError::new(
                col,
                LowerErrorKind::MissingField {
                    what: self.what,
                    field: name,
                },
            )
        })
    }
}

/// `[N]` (or a bare `N`): the value a pointer to a scalar holds.
fn pointed_int(ev: &Eval<'_>, e: &Expr, arg: &str) -> Result<u64, LowerError> {
    match &e.value {
        Value::Array(elems) => match elems.as_slice() {
            [x] => ev.int(x, None, arg),
            _ => Err(LowerError::expected(
                e,
                arg,
                "one value in brackets, like [16]",
            )),
        },
        Value::Changed { before, .. } => pointed_int(ev, before, arg),
        _ => ev.int(e, None, arg),
    }
}

/// `{tv_sec=S, tv_nsec=N}` (or `tv_usec` with `usec`).
fn time_pair(ev: &Eval<'_>, e: &Expr, usec: bool) -> Result<[u8; 16], LowerError> {
    let (what, frac) = if usec {
        ("struct timeval", "tv_usec")
    } else {
        ("struct timespec", "tv_nsec")
    };
    let mut out = [0u8; 16];
    // `UTIME_NOW` / `UTIME_OMIT` alone stand for `{tv_sec=0, tv_nsec=…}`.
    if let Value::Name(_) = e.value {
        out[8..].copy_from_slice(&ev.int(e, None, frac)?.to_ne_bytes());
        return Ok(out);
    }
    let f = Fields::new(e, what, &["tv_sec", frac], false)?;
    out[..8].copy_from_slice(&f.int(ev, "tv_sec", None)?.to_ne_bytes());
    out[8..].copy_from_slice(&f.int(ev, frac, None)?.to_ne_bytes());
    Ok(out)
}

/// `[a, b]` of two time values.
fn time_pairs(ev: &Eval<'_>, e: &Expr, usec: bool) -> Result<Vec<u8>, LowerError> {
    let Value::Array(elems) = &e.value else {
        return Err(LowerError::expected(e, "times", "two times in brackets"));
    };
    let [a, b] = elems.as_slice() else {
        return Err(LowerError::expected(e, "times", "two times in brackets"));
    };
    let mut out = time_pair(ev, a, usec)?.to_vec();
    out.extend_from_slice(&time_pair(ev, b, usec)?);
    Ok(out)
}

/// `{it_interval=…, it_value=…}`.
fn interval(ev: &Eval<'_>, e: &Expr, usec: bool) -> Result<Vec<u8>, LowerError> {
    let what = if usec {
        "struct itimerval"
    } else {
        "struct itimerspec"
    };
    let f = Fields::new(e, what, &["it_interval", "it_value"], false)?;
    let mut out = Vec::with_capacity(32);
    for name in ["it_interval", "it_value"] {
        match f.get(name) {
            Some(v) => out.extend_from_slice(&time_pair(ev, v, usec)?),
            None => out.extend_from_slice(&[0; 16]),
        }
    }
    Ok(out)
}

/// `[INT TERM]`, `~[]`, `[]`: a signal mask.
pub(crate) fn sigset(ev: &Eval<'_>, e: &Expr) -> Result<u64, LowerError> {
    match &e.value {
        Value::Unary {
            op: UnOp::Complement,
            operand,
        } => Ok(!sigset(ev, operand)?),
        Value::Array(elems) => {
            let mut mask = 0u64;
            for el in elems {
                let n = match &el.value {
                    Value::Name(name) => signal_number(name).ok_or_else(|| {
                        LowerError::new(
                            el.col,
                            LowerErrorKind::UnknownName {
                                table: Some("signal"),
                                name: name.clone(),
                            },
                        )
                    })?,
                    _ => ev.int(el, None, "signal")?,
                };
                if !(1..=64).contains(&n) {
                    return Err(LowerError::new(
                        el.col,
                        LowerErrorKind::OutOfRange { what: "signal" },
                    ));
                }
                mask |= 1 << (n - 1);
            }
            Ok(mask)
        }
        _ => Err(LowerError::expected(
            e,
            "sigset_t",
            "a signal set like [INT TERM]",
        )),
    }
}

fn u32_field(v: u64, what: &'static str, col: usize) -> Result<[u8; 4], LowerError> {
    // Negative numbers arrive sign-extended; their low 32 bits are meant.
    let fits = v <= u64::from(u32::MAX) || v >= 0xffff_ffff_8000_0000;
    if !fits {
        return Err(LowerError::new(col, LowerErrorKind::OutOfRange { what }));
    }
    Ok((v as u32).to_ne_bytes())
}

/// The bytes of an input struct of `kind`, from its strace form.
pub(crate) fn encode_struct(
    ev: &Eval<'_>,
    kind: StructKind,
    e: &Expr,
    arg: &str,
) -> Result<Vec<u8>, LowerError> {
    let col = e.col;
    Ok(match kind {
        StructKind::Timespec => time_pair(ev, e, false)?.to_vec(),
        StructKind::Timeval => time_pair(ev, e, true)?.to_vec(),
        StructKind::TimespecPair => time_pairs(ev, e, false)?,
        StructKind::TimevalPair => time_pairs(ev, e, true)?,
        StructKind::Itimerspec => interval(ev, e, false)?,
        StructKind::Itimerval => interval(ev, e, true)?,
        StructKind::Timezone => {
            let f = Fields::new(
                e,
                "struct timezone",
                &["tz_minuteswest", "tz_dsttime"],
                false,
            )?;
            let mut out =
                u32_field(f.int(ev, "tz_minuteswest", None)?, "tz_minuteswest", col)?.to_vec();
            out.extend_from_slice(&u32_field(
                f.int(ev, "tz_dsttime", None)?,
                "tz_dsttime",
                col,
            )?);
            out
        }
        StructKind::Rlimit => {
            let f = Fields::new(e, "struct rlimit", &["rlim_cur", "rlim_max"], false)?;
            let mut out = f.int(ev, "rlim_cur", None)?.to_ne_bytes().to_vec();
            out.extend_from_slice(&f.int(ev, "rlim_max", None)?.to_ne_bytes());
            out
        }
        StructKind::Sigset => sigset(ev, e)?.to_ne_bytes().to_vec(),
        StructKind::OpenHow => {
            let f = Fields::new(e, "struct open_how", &["flags", "mode", "resolve"], false)?;
            let mut out = f
                .int(ev, "flags", Some(&OPEN_FLAGS))?
                .to_ne_bytes()
                .to_vec();
            out.extend_from_slice(&f.int(ev, "mode", Some(&MODE))?.to_ne_bytes());
            out.extend_from_slice(&f.int(ev, "resolve", Some(&RESOLVE_FLAGS))?.to_ne_bytes());
            out
        }
        StructKind::SchedParam => {
            let f = Fields::new(e, "struct sched_param", &["sched_priority"], false)?;
            u32_field(f.int(ev, "sched_priority", None)?, "sched_priority", col)?.to_vec()
        }
        StructKind::Int | StructKind::U32 | StructKind::Socklen => {
            u32_field(pointed_int(ev, e, arg)?, "value", col)?.to_vec()
        }
        StructKind::Long | StructKind::Loff => pointed_int(ev, e, arg)?.to_ne_bytes().to_vec(),
        StructKind::EpollEvent => {
            let f = Fields::new(e, "struct epoll_event", &["events", "data"], false)?;
            let events = u32_field(f.int(ev, "events", Some(&EPOLL_EVENTS))?, "events", col)?;
            let data = match f.get("data") {
                None => 0,
                Some(
                    d @ Expr {
                        value: Value::Struct(_),
                        ..
                    },
                ) => {
                    let df = Fields::new(d, "epoll_data", &["ptr", "fd", "u32", "u64"], false)?;
                    match ["u64", "ptr", "u32", "fd"]
                        .into_iter()
                        .find_map(|n| df.get(n))
                    {
                        Some(v) => ev.int(v, None, "data")?,
                        None => 0,
                    }
                }
                Some(d) => ev.int(d, None, "data")?,
            };
            let mut out = events.to_vec();
            #[cfg(target_arch = "aarch64")]
            out.extend_from_slice(&[0; 4]);
            out.extend_from_slice(&data.to_ne_bytes());
            out
        }
        StructKind::Pollfd => {
            let f = Fields::new(e, "struct pollfd", &["fd", "events", "revents"], false)?;
            let mut out = u32_field(f.int(ev, "fd", None)?, "fd", col)?.to_vec();
            for name in ["events", "revents"] {
                let v = f.int(ev, name, Some(&POLL_EVENTS))?;
                let v16 = u16::try_from(v).map_err(|_| {
                    LowerError::new(
                        col,
                        LowerErrorKind::OutOfRange {
                            what: "poll events",
                        },
                    )
                })?;
                out.extend_from_slice(&v16.to_ne_bytes());
            }
            out
        }
        StructKind::CapHeader => {
            let f = Fields::new(e, "cap_user_header_t", &["version", "pid"], false)?;
            let mut out = u32_field(f.int(ev, "version", None)?, "version", col)?.to_vec();
            out.extend_from_slice(&u32_field(f.int(ev, "pid", None)?, "pid", col)?);
            out
        }
        StructKind::CapData => {
            let f = Fields::new(
                e,
                "cap_user_data_t",
                &["effective", "permitted", "inheritable"],
                false,
            )?;
            let sets = [
                f.int(ev, "effective", None)?,
                f.int(ev, "permitted", None)?,
                f.int(ev, "inheritable", None)?,
            ];
            let mut out = Vec::with_capacity(24);
            for half in [0, 32] {
                for s in sets {
                    out.extend_from_slice(&((s >> half) as u32).to_ne_bytes());
                }
            }
            out
        }
        other => {
            return Err(LowerError::new(
                col,
                LowerErrorKind::Unsupported {
                    what: other.c_name(),
                },
            ));
        }
    })
}

/// The elements of an input array of `elem`s.
pub(crate) fn encode_array(
    ev: &Eval<'_>,
    elem: StructKind,
    e: &Expr,
    arg: &str,
) -> Result<Vec<u8>, LowerError> {
    let Value::Array(elems) = &e.value else {
        return Err(LowerError::expected(e, arg, "an array [...]"));
    };
    let mut out = Vec::new();
    for el in elems {
        if el.value == Value::Ellipsis {
            return Err(LowerError::new(el.col, LowerErrorKind::Truncated));
        }
        match elem {
            StructKind::U32 | StructKind::Int => {
                out.extend_from_slice(&u32_field(ev.int(el, None, arg)?, "element", el.col)?);
            }
            StructKind::Pollfd | StructKind::EpollEvent => {
                out.extend_from_slice(&encode_struct(ev, elem, el, arg)?);
            }
            other => {
                return Err(LowerError::new(
                    el.col,
                    LowerErrorKind::Unsupported {
                        what: other.c_name(),
                    },
                ));
            }
        }
    }
    Ok(out)
}

/// A port: `htons(80)` or `80`.
fn port(ev: &Eval<'_>, e: &Expr, what: &'static str) -> Result<[u8; 2], LowerError> {
    let v = match &e.value {
        Value::Apply { func, args } if func == "htons" && args.len() == 1 => {
            ev.int(&args[0], None, what)?
        }
        _ => ev.int(e, None, what)?,
    };
    let v = u16::try_from(v)
        .map_err(|_| LowerError::new(e.col, LowerErrorKind::OutOfRange { what }))?;
    Ok(v.to_be_bytes())
}

/// The text of `"addr"` or `func(…, "addr", …)`.
fn address_text<'e>(e: &'e Expr, what: &str) -> Result<(&'e [u8], usize), LowerError> {
    match &e.value {
        Value::Str { bytes, .. } => Ok((bytes, e.col)),
        Value::Apply { args, .. } => args
            .iter()
            .find_map(|a| match &a.value {
                Value::Str { bytes, .. } => Some((bytes.as_slice(), a.col)),
                _ => None,
            })
            .ok_or_else(|| LowerError::expected(e, what, "an address string")),
        _ => Err(LowerError::expected(
            e,
            what,
            "an address like inet_addr(\"127.0.0.1\")",
        )),
    }
}

fn parse_ip<T: std::str::FromStr>(bytes: &[u8], col: usize) -> Result<T, LowerError> {
    let text = String::from_utf8_lossy(bytes);
    text.parse().map_err(|_| {
        LowerError::new(
            col,
            LowerErrorKind::BadAddress {
                text: text.into_owned(),
            },
        )
    })
}

/// The longest `sun_path`.
const SUN_PATH_MAX: usize = 108;

/// A socket address from strace's form, e.g. `{sa_family=AF_INET,
/// sin_port=htons(80), sin_addr=inet_addr("127.0.0.1")}`: AF_UNIX,
/// AF_INET, AF_INET6, AF_NETLINK, or any family with `sa_data`.
pub(crate) fn encode_sockaddr(ev: &Eval<'_>, e: &Expr) -> Result<Vec<u8>, LowerError> {
    const WHAT: &str = "struct sockaddr";
    let any = Fields::new(
        e,
        WHAT,
        &[
            "sa_family",
            "sun_path",
            "sin_port",
            "sin_addr",
            "sin6_port",
            "sin6_flowinfo",
            "sin6_addr",
            "sin6_scope_id",
            "nl_pid",
            "nl_groups",
            "sa_data",
        ],
        true,
    )?;
    let family_expr = any.required("sa_family", e.col)?;
    let family = ev.int(family_expr, Some(&SOCKET_DOMAIN), "sa_family")?;
    let family16 = u16::try_from(family).map_err(|_| {
        LowerError::new(
            family_expr.col,
            LowerErrorKind::OutOfRange { what: "sa_family" },
        )
    })?;
    let mut out = family16.to_ne_bytes().to_vec();
    match family {
        1 => {
            let f = Fields::new(e, "struct sockaddr_un", &["sa_family", "sun_path"], false)?;
            if let Some(p) = f.get("sun_path") {
                let Value::Str { bytes, truncated } = &p.value else {
                    return Err(LowerError::expected(p, "sun_path", "a string"));
                };
                if *truncated {
                    return Err(LowerError::new(p.col, LowerErrorKind::Truncated));
                }
                if bytes.len() > SUN_PATH_MAX {
                    return Err(LowerError::new(
                        p.col,
                        LowerErrorKind::OutOfRange { what: "sun_path" },
                    ));
                }
                out.extend_from_slice(bytes);
                if bytes.len() < SUN_PATH_MAX {
                    out.push(0);
                }
            }
        }
        2 => {
            let f = Fields::new(
                e,
                "struct sockaddr_in",
                &["sa_family", "sin_port", "sin_addr"],
                false,
            )?;
            match f.get("sin_port") {
                Some(p) => out.extend_from_slice(&port(ev, p, "sin_port")?),
                None => out.extend_from_slice(&[0; 2]),
            }
            match f.get("sin_addr") {
                Some(a) => {
                    let (text, col) = address_text(a, "sin_addr")?;
                    out.extend_from_slice(&parse_ip::<Ipv4Addr>(text, col)?.octets());
                }
                None => out.extend_from_slice(&[0; 4]),
            }
            out.extend_from_slice(&[0; 8]);
        }
        10 => {
            let f = Fields::new(
                e,
                "struct sockaddr_in6",
                &[
                    "sa_family",
                    "sin6_port",
                    "sin6_flowinfo",
                    "sin6_addr",
                    "sin6_scope_id",
                ],
                true,
            )?;
            match f.get("sin6_port") {
                Some(p) => out.extend_from_slice(&port(ev, p, "sin6_port")?),
                None => out.extend_from_slice(&[0; 2]),
            }
            let flow = match f.get("sin6_flowinfo") {
                Some(Expr {
                    value: Value::Apply { func, args },
                    ..
                }) if func == "htonl" && args.len() == 1 => ev.int(&args[0], None, "flowinfo")?,
                Some(v) => ev.int(v, None, "flowinfo")?,
                None => 0,
            };
            out.extend_from_slice(&(flow as u32).to_be_bytes());
            // `sin6_addr=…`, or strace's unnamed `inet_pton(AF_INET6, "::1", &sin6_addr)`.
            let addr = f.get("sin6_addr").or_else(|| {
                f.fields.iter().find_map(|fl| match &fl.value.value {
                    Value::Apply { func, .. } if fl.name.is_none() && func == "inet_pton" => {
                        Some(&fl.value)
                    }
                    _ => None,
                })
            });
            match addr {
                Some(a) => {
                    let (text, col) = address_text(a, "sin6_addr")?;
                    out.extend_from_slice(&parse_ip::<Ipv6Addr>(text, col)?.octets());
                }
                None => out.extend_from_slice(&[0; 16]),
            }
            let scope = f.int(ev, "sin6_scope_id", None)?;
            out.extend_from_slice(&u32_field(scope, "sin6_scope_id", e.col)?);
        }
        16 => {
            let f = Fields::new(
                e,
                "struct sockaddr_nl",
                &["sa_family", "nl_pid", "nl_groups"],
                false,
            )?;
            out.extend_from_slice(&[0; 2]);
            out.extend_from_slice(&u32_field(f.int(ev, "nl_pid", None)?, "nl_pid", e.col)?);
            out.extend_from_slice(&u32_field(
                f.int(ev, "nl_groups", None)?,
                "nl_groups",
                e.col,
            )?);
        }
        _ => {
            let f = Fields::new(e, WHAT, &["sa_family", "sa_data"], false)?;
            if let Some(d) = f.get("sa_data") {
                let Value::Str { bytes, .. } = &d.value else {
                    return Err(LowerError::expected(d, "sa_data", "a string"));
                };
                out.extend_from_slice(bytes);
            }
        }
    }
    Ok(out)
}

// ---- decoding ------------------------------------------------------------------

/// Little readers that never panic: `None` past the end.
fn bytes_at<const N: usize>(b: &[u8], at: usize) -> Option<[u8; N]> {
    b.get(at..at.checked_add(N)?)?.try_into().ok()
}
fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    bytes_at(b, at).map(u16::from_ne_bytes)
}
fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    bytes_at(b, at).map(u32::from_ne_bytes)
}
fn i32_at(b: &[u8], at: usize) -> Option<i32> {
    bytes_at(b, at).map(i32::from_ne_bytes)
}
fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    bytes_at(b, at).map(u64::from_ne_bytes)
}
fn i64_at(b: &[u8], at: usize) -> Option<i64> {
    bytes_at(b, at).map(i64::from_ne_bytes)
}

/// `{tv_sec=S, tv_nsec=N}` at `at`.
fn time_at(b: &[u8], at: usize, usec: bool) -> Option<String> {
    let sec = i64_at(b, at)?;
    let frac = i64_at(b, at + 8)?;
    Some(if usec {
        format!("{{tv_sec={sec}, tv_usec={frac}}}")
    } else {
        format!("{{tv_sec={sec}, tv_nsec={frac}}}")
    })
}

/// strace's spelling of a limit: `RLIM64_INFINITY`, `8192*1024`, `100`.
fn rlim(v: u64) -> String {
    if v == u64::MAX {
        "RLIM64_INFINITY".to_owned()
    } else if v > 0 && v.is_multiple_of(1024) {
        format!("{}*1024", v / 1024)
    } else {
        v.to_string()
    }
}

fn dev(v: u64) -> String {
    let hex = |n: u64| {
        if n == 0 {
            "0".to_owned()
        } else {
            format!("{n:#x}")
        }
    };
    format!("makedev({}, {})", hex(major(v)), hex(minor(v)))
}

/// A NUL-terminated string in a fixed-size field.
fn c_string(b: &[u8], at: usize, len: usize, opts: &FormatOptions) -> Option<String> {
    let field = b.get(at..at.checked_add(len)?)?;
    let end = field.iter().position(|&c| c == 0).unwrap_or(field.len());
    Some(quote(&field[..end], Some(opts.strsize), false))
}

/// A signal mask as strace prints it: `[INT TERM]`, or `~[KILL STOP]` when
/// more than half the signals are in it.
pub(crate) fn format_sigset(mask: u64) -> String {
    let names = |set: u64| -> String {
        (1..=64u64)
            .filter(|n| set & (1 << (n - 1)) != 0)
            .map(signal_set_name)
            .collect::<Vec<_>>()
            .join(" ")
    };
    if mask.count_ones() > 32 {
        format!("~[{}]", names(!mask))
    } else {
        format!("[{}]", names(mask))
    }
}

/// `struct stat` offsets: (dev, ino, nlink (and its width), mode, uid, gid,
/// rdev, size, blksize, blocks, atime).
#[cfg(target_arch = "x86_64")]
mod stat_layout {
    pub(super) const DEV: usize = 0;
    pub(super) const INO: usize = 8;
    pub(super) const NLINK: usize = 16;
    pub(super) const NLINK_64: bool = true;
    pub(super) const MODE: usize = 24;
    pub(super) const UID: usize = 28;
    pub(super) const GID: usize = 32;
    pub(super) const RDEV: usize = 40;
    pub(super) const SIZE: usize = 48;
    pub(super) const BLKSIZE: usize = 56;
    pub(super) const BLOCKS: usize = 64;
    pub(super) const ATIME: usize = 72;
}
#[cfg(target_arch = "aarch64")]
mod stat_layout {
    pub(super) const DEV: usize = 0;
    pub(super) const INO: usize = 8;
    pub(super) const MODE: usize = 16;
    pub(super) const NLINK: usize = 20;
    pub(super) const NLINK_64: bool = false;
    pub(super) const UID: usize = 24;
    pub(super) const GID: usize = 28;
    pub(super) const RDEV: usize = 32;
    pub(super) const SIZE: usize = 48;
    pub(super) const BLKSIZE: usize = 56;
    pub(super) const BLOCKS: usize = 64;
    pub(super) const ATIME: usize = 72;
}

fn decode_stat(b: &[u8], opts: &FormatOptions) -> Option<String> {
    use stat_layout as l;
    let raw_mode = u32_at(b, l::MODE)?;
    let mode = MODE.format(u64::from(raw_mode));
    let rdev = u64_at(b, l::RDEV)?;
    let size = i64_at(b, l::SIZE)?;
    let is_dev = matches!(raw_mode & 0o170000, 0o020000 | 0o060000);
    if !opts.verbose {
        return Some(if is_dev {
            format!("{{st_mode={mode}, st_rdev={}, ...}}", dev(rdev))
        } else {
            format!("{{st_mode={mode}, st_size={size}, ...}}")
        });
    }
    let nlink = if l::NLINK_64 {
        u64_at(b, l::NLINK)?
    } else {
        u64::from(u32_at(b, l::NLINK)?)
    };
    let mut s = format!(
        "{{st_dev={}, st_ino={}, st_mode={mode}, st_nlink={nlink}, st_uid={}, st_gid={}, \
         st_blksize={}, st_blocks={}, ",
        dev(u64_at(b, l::DEV)?),
        u64_at(b, l::INO)?,
        u32_at(b, l::UID)?,
        u32_at(b, l::GID)?,
        i64_at(b, l::BLKSIZE)?,
        i64_at(b, l::BLOCKS)?,
    );
    if is_dev {
        let _ = write!(s, "st_rdev={}, ", dev(rdev));
    } else {
        let _ = write!(s, "st_size={size}, ");
    }
    for (i, name) in ["st_atime", "st_mtime", "st_ctime"].iter().enumerate() {
        let at = l::ATIME + 16 * i;
        let _ = write!(
            s,
            "{name}={}, {name}_nsec={}",
            i64_at(b, at)?,
            i64_at(b, at + 8)?
        );
        s.push_str(if i < 2 { ", " } else { "}" });
    }
    Some(s)
}

fn decode_statx(b: &[u8], opts: &FormatOptions) -> Option<String> {
    let mask = STATX_MASK.format(u64::from(u32_at(b, 0)?));
    let attributes = u64_at(b, 8)?;
    let mode = MODE.format(u64::from(u16_at(b, 28)?));
    let size = u64_at(b, 40)?;
    let attrs = if attributes == 0 {
        "0".to_owned()
    } else {
        format!("{attributes:#x}")
    };
    if !opts.verbose {
        return Some(format!(
            "{{stx_mask={mask}, stx_attributes={attrs}, stx_mode={mode}, stx_size={size}, ...}}"
        ));
    }
    let ts = |at: usize| -> Option<String> {
        Some(format!(
            "{{tv_sec={}, tv_nsec={}}}",
            i64_at(b, at)?,
            u32_at(b, at + 8)?
        ))
    };
    Some(format!(
        "{{stx_mask={mask}, stx_blksize={}, stx_attributes={attrs}, stx_nlink={}, stx_uid={}, \
         stx_gid={}, stx_mode={mode}, stx_ino={}, stx_size={size}, stx_blocks={}, \
         stx_attributes_mask={:#x}, stx_atime={}, stx_btime={}, stx_ctime={}, stx_mtime={}, \
         stx_rdev_major={}, stx_rdev_minor={}, stx_dev_major={}, stx_dev_minor={}}}",
        u32_at(b, 4)?,
        u32_at(b, 16)?,
        u32_at(b, 20)?,
        u32_at(b, 24)?,
        u64_at(b, 32)?,
        u64_at(b, 48)?,
        u64_at(b, 56)?,
        ts(64)?,
        ts(80)?,
        ts(96)?,
        ts(112)?,
        u32_at(b, 128)?,
        u32_at(b, 132)?,
        u32_at(b, 136)?,
        u32_at(b, 140)?,
    ))
}

/// A struct the kernel filled, in strace's form; `None` for kinds the REPL
/// does not decode or bytes too short for the kind.
pub(crate) fn decode_struct(kind: StructKind, b: &[u8], opts: &FormatOptions) -> Option<String> {
    Some(match kind {
        StructKind::Timespec => time_at(b, 0, false)?,
        StructKind::Timeval => time_at(b, 0, true)?,
        StructKind::TimespecPair => {
            format!("[{}, {}]", time_at(b, 0, false)?, time_at(b, 16, false)?)
        }
        StructKind::TimevalPair => format!("[{}, {}]", time_at(b, 0, true)?, time_at(b, 16, true)?),
        StructKind::Itimerspec => format!(
            "{{it_interval={}, it_value={}}}",
            time_at(b, 0, false)?,
            time_at(b, 16, false)?
        ),
        StructKind::Itimerval => format!(
            "{{it_interval={}, it_value={}}}",
            time_at(b, 0, true)?,
            time_at(b, 16, true)?
        ),
        StructKind::Timezone => format!(
            "{{tz_minuteswest={}, tz_dsttime={}}}",
            i32_at(b, 0)?,
            i32_at(b, 4)?
        ),
        StructKind::Stat => decode_stat(b, opts)?,
        StructKind::Statx => decode_statx(b, opts)?,
        StructKind::Statfs => format!(
            "{{f_type={:#x}, f_bsize={}, f_blocks={}, f_bfree={}, f_bavail={}, f_files={}, \
             f_ffree={}, f_fsid={{val=[{:#x}, {:#x}]}}, f_namelen={}, f_frsize={}, f_flags={:#x}}}",
            u64_at(b, 0)?,
            i64_at(b, 8)?,
            u64_at(b, 16)?,
            u64_at(b, 24)?,
            u64_at(b, 32)?,
            u64_at(b, 40)?,
            u64_at(b, 48)?,
            u32_at(b, 56)?,
            u32_at(b, 60)?,
            i64_at(b, 64)?,
            i64_at(b, 72)?,
            u64_at(b, 80)?,
        ),
        StructKind::Rlimit => format!(
            "{{rlim_cur={}, rlim_max={}}}",
            rlim(u64_at(b, 0)?),
            rlim(u64_at(b, 8)?)
        ),
        StructKind::Rusage => {
            let mut s = format!(
                "{{ru_utime={}, ru_stime={}",
                time_at(b, 0, true)?,
                time_at(b, 16, true)?
            );
            if opts.verbose {
                const NAMES: [&str; 14] = [
                    "ru_maxrss",
                    "ru_ixrss",
                    "ru_idrss",
                    "ru_isrss",
                    "ru_minflt",
                    "ru_majflt",
                    "ru_nswap",
                    "ru_inblock",
                    "ru_oublock",
                    "ru_msgsnd",
                    "ru_msgrcv",
                    "ru_nsignals",
                    "ru_nvcsw",
                    "ru_nivcsw",
                ];
                for (i, name) in NAMES.iter().enumerate() {
                    let _ = write!(s, ", {name}={}", i64_at(b, 32 + 8 * i)?);
                }
                s.push('}');
            } else {
                s.push_str(", ...}");
            }
            s
        }
        StructKind::Utsname => {
            const NAMES: [&str; 6] = [
                "sysname",
                "nodename",
                "release",
                "version",
                "machine",
                "domainname",
            ];
            let shown = if opts.verbose { 6 } else { 2 };
            let mut parts = Vec::new();
            for (i, name) in NAMES.iter().take(shown).enumerate() {
                parts.push(format!("{name}={}", c_string(b, 65 * i, 65, opts)?));
            }
            if !opts.verbose {
                parts.push("...".to_owned());
            }
            format!("{{{}}}", parts.join(", "))
        }
        StructKind::Sysinfo => format!(
            "{{uptime={}, loads=[{}, {}, {}], totalram={}, freeram={}, sharedram={}, \
             bufferram={}, totalswap={}, freeswap={}, procs={}, totalhigh={}, freehigh={}, \
             mem_unit={}}}",
            i64_at(b, 0)?,
            u64_at(b, 8)?,
            u64_at(b, 16)?,
            u64_at(b, 24)?,
            u64_at(b, 32)?,
            u64_at(b, 40)?,
            u64_at(b, 48)?,
            u64_at(b, 56)?,
            u64_at(b, 64)?,
            u64_at(b, 72)?,
            u16_at(b, 80)?,
            u64_at(b, 88)?,
            u64_at(b, 96)?,
            u32_at(b, 104)?,
        ),
        StructKind::Tms => format!(
            "{{tms_utime={}, tms_stime={}, tms_cutime={}, tms_cstime={}}}",
            i64_at(b, 0)?,
            i64_at(b, 8)?,
            i64_at(b, 16)?,
            i64_at(b, 24)?
        ),
        StructKind::Sigset => format_sigset(u64_at(b, 0)?),
        StructKind::SchedParam => format!("{{sched_priority={}}}", i32_at(b, 0)?),
        StructKind::CapHeader => format!("{{version={:#x}, pid={}}}", u32_at(b, 0)?, i32_at(b, 4)?),
        StructKind::CapData => {
            let set = |i: usize| -> Option<u64> {
                Some(u64::from(u32_at(b, 4 * i)?) | u64::from(u32_at(b, 12 + 4 * i)?) << 32)
            };
            format!(
                "{{effective={:#x}, permitted={:#x}, inheritable={:#x}}}",
                set(0)?,
                set(1)?,
                set(2)?
            )
        }
        StructKind::FdPair => format!("[{}, {}]", i32_at(b, 0)?, i32_at(b, 4)?),
        StructKind::Int | StructKind::Socklen => format!("[{}]", i32_at(b, 0)?),
        StructKind::U32 => format!("[{}]", u32_at(b, 0)?),
        StructKind::Long | StructKind::Loff => format!("[{}]", i64_at(b, 0)?),
        StructKind::EpollEvent => decode_epoll_event(b, 0)?,
        StructKind::Pollfd => decode_pollfd(b, 0, true)?,
        StructKind::Siginfo => format!(
            "{{si_signo={}, si_code={}, ...}}",
            sysgate_sys::flags::SIGNAL.format(u64::from(u32_at(b, 0)?)),
            i32_at(b, 8)?
        ),
        _ => return None,
    })
}

#[cfg(target_arch = "x86_64")]
const EPOLL_DATA_AT: usize = 4;
#[cfg(target_arch = "aarch64")]
const EPOLL_DATA_AT: usize = 8;

fn decode_epoll_event(b: &[u8], at: usize) -> Option<String> {
    let events = EPOLL_EVENTS.format(u64::from(u32_at(b, at)?));
    let data = u64_at(b, at + EPOLL_DATA_AT)?;
    Some(format!(
        "{{events={events}, data={{u32={}, u64={data}}}}}",
        data as u32
    ))
}

fn decode_pollfd(b: &[u8], at: usize, revents: bool) -> Option<String> {
    let fd = i32_at(b, at)?;
    let events = POLL_EVENTS.format(u64::from(u16_at(b, at + 4)?));
    if revents {
        let r = POLL_EVENTS.format(u64::from(u16_at(b, at + 6)?));
        Some(format!("{{fd={fd}, events={events}, revents={r}}}"))
    } else {
        Some(format!("{{fd={fd}, events={events}}}"))
    }
}

/// `count` elements of an output array.
pub(crate) fn decode_array(
    elem: StructKind,
    b: &[u8],
    count: usize,
    opts: &FormatOptions,
) -> Option<String> {
    let size = elem.size()?;
    let mut parts = Vec::new();
    for i in 0..count {
        if i >= opts.strsize {
            parts.push("...".to_owned());
            break;
        }
        let at = i.checked_mul(size)?;
        parts.push(match elem {
            StructKind::U32 => u32_at(b, at)?.to_string(),
            StructKind::Int => i32_at(b, at)?.to_string(),
            StructKind::EpollEvent => decode_epoll_event(b, at)?,
            StructKind::Pollfd => decode_pollfd(b, at, true)?,
            other => decode_struct(other, b.get(at..at.checked_add(size)?)?, opts)?,
        });
    }
    Some(format!("[{}]", parts.join(", ")))
}

/// `revents` of polled fds: strace's `([{fd=3, revents=POLLIN}])` after a
/// poll result.
pub(crate) fn poll_revents(b: &[u8]) -> String {
    let mut parts = Vec::new();
    let mut at = 0;
    while let (Some(fd), Some(r)) = (i32_at(b, at), u16_at(b, at + 6)) {
        if r != 0 {
            parts.push(format!(
                "{{fd={fd}, revents={}}}",
                POLL_EVENTS.format(u64::from(r))
            ));
        }
        at += 8;
    }
    format!("[{}]", parts.join(", "))
}

/// A socket address the kernel wrote (`len` bytes of it are valid).
pub(crate) fn decode_sockaddr(b: &[u8], opts: &FormatOptions) -> String {
    let Some(family) = u16_at(b, 0) else {
        return "{}".to_owned();
    };
    let fam = SOCKET_DOMAIN.format(u64::from(family));
    match family {
        1 => {
            let path = b.get(2..).unwrap_or(&[]);
            if path.is_empty() {
                return format!("{{sa_family={fam}}}");
            }
            if path[0] == 0 {
                // Abstract socket: strace prints `@` and the name.
                return format!(
                    "{{sa_family={fam}, sun_path=@{}}}",
                    quote(&path[1..], Some(opts.strsize.max(SUN_PATH_MAX)), false)
                );
            }
            let end = path.iter().position(|&c| c == 0).unwrap_or(path.len());
            format!(
                "{{sa_family={fam}, sun_path={}}}",
                quote(&path[..end], Some(SUN_PATH_MAX), false)
            )
        }
        2 => match (bytes_at::<2>(b, 2), bytes_at::<4>(b, 4)) {
            (Some(p), Some(a)) => format!(
                "{{sa_family={fam}, sin_port=htons({}), sin_addr=inet_addr(\"{}\")}}",
                u16::from_be_bytes(p),
                Ipv4Addr::from(a)
            ),
            _ => format!("{{sa_family={fam}}}"),
        },
        10 => match (
            bytes_at::<2>(b, 2),
            bytes_at::<4>(b, 4),
            bytes_at::<16>(b, 8),
            u32_at(b, 24),
        ) {
            (Some(p), Some(flow), Some(a), Some(scope)) => format!(
                "{{sa_family={fam}, sin6_port=htons({}), sin6_flowinfo=htonl({}), \
                 inet_pton({fam}, \"{}\", &sin6_addr), sin6_scope_id={scope}}}",
                u16::from_be_bytes(p),
                u32::from_be_bytes(flow),
                Ipv6Addr::from(a)
            ),
            _ => format!("{{sa_family={fam}}}"),
        },
        16 => match (u32_at(b, 4), u32_at(b, 8)) {
            (Some(pid), Some(groups)) => {
                format!("{{sa_family={fam}, nl_pid={pid}, nl_groups={groups:#010x}}}")
            }
            _ => format!("{{sa_family={fam}}}"),
        },
        _ => format!(
            "{{sa_family={fam}, sa_data={}}}",
            quote(b.get(2..).unwrap_or(&[]), Some(opts.strsize), false)
        ),
    }
}

/// `getdents64` (or legacy `getdents`) records.
pub(crate) fn decode_dirents(b: &[u8], legacy: bool, opts: &FormatOptions) -> String {
    let mut parts = Vec::new();
    let mut at = 0usize;
    let name_at = if legacy { 18 } else { 19 };
    while at + name_at <= b.len() {
        if parts.len() >= opts.strsize {
            parts.push("...".to_owned());
            break;
        }
        let (Some(ino), Some(off), Some(reclen)) =
            (u64_at(b, at), i64_at(b, at + 8), u16_at(b, at + 16))
        else {
            break;
        };
        let reclen = usize::from(reclen);
        let Some(rec) = b.get(at..at + reclen) else {
            break;
        };
        if reclen < name_at + 1 {
            break;
        }
        let (d_type, name_bytes) = if legacy {
            (rec[reclen - 1], &rec[name_at..reclen - 1])
        } else {
            (rec[18], &rec[name_at..])
        };
        let end = name_bytes
            .iter()
            .position(|&c| c == 0)
            .unwrap_or(name_bytes.len());
        let name = quote(&name_bytes[..end], None, false);
        let t = dirent_type(d_type).map_or_else(|| d_type.to_string(), str::to_owned);
        parts.push(if legacy {
            format!("{{d_ino={ino}, d_off={off}, d_reclen={reclen}, d_name={name}, d_type={t}}}")
        } else {
            format!("{{d_ino={ino}, d_off={off}, d_reclen={reclen}, d_type={t}, d_name={name}}}")
        });
        at += reclen;
    }
    format!("[{}]", parts.join(", "))
}
