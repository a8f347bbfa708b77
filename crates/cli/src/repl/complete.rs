//! Tab completion and the signature hint: what the word under the cursor
//! is (a syscall name, a flag of some argument, a `$variable`, a command)
//! and what could complete it.
//!
//! Pure functions of the line, the cursor and the variable names, so they
//! are tested without a terminal.

use sysgate_sys::flags::ALL_TABLES;
use sysgate_sys::{ArgKind, Signature};

use crate::strace::syscall_number;

/// The commands, for completion (with a space after those that take an
/// argument).
const COMMANDS: [&str; 6] = [":wait ", ":cancel ", ":set ", ":help ", ":stats", ":quit"];

/// What the word under the cursor is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Slot {
    /// Nothing to complete (inside a string, a number, …).
    Nothing,
    /// A `:command`.
    Command,
    /// The option of `:set`.
    SetOption,
    /// `on` or `off` after `:set timing` / `:set verbose`.
    OnOff,
    /// A syscall name (a call's name, or `:help`'s argument).
    Syscall,
    /// A `$variable`.
    Var {
        /// Whether the line is a chain (`$prev`, `$1` mean something).
        chain: bool,
    },
    /// A symbolic name in argument `index` of `call`.
    Arg {
        /// The call.
        call: String,
        /// The argument's position.
        index: usize,
    },
    /// A symbolic name somewhere inside a struct or array.
    AnyName,
}

/// The word under the cursor: where it starts (a byte offset) and what it
/// is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Word<'a> {
    /// Byte offset of its first character.
    pub start: usize,
    /// The text from there to the cursor.
    pub text: &'a str,
    /// What it is.
    pub slot: Slot,
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// An open bracket while scanning.
enum Frame {
    /// `name(`: the call and the argument the scan is in.
    Call { name: Option<String>, index: usize },
    /// `{` or `[`.
    Other,
}

/// What the cursor at byte `pos` of `line` sits in.
pub(crate) fn word_at(line: &str, pos: usize) -> Word<'_> {
    let pos = floor_char_boundary(line, pos);
    let before = &line[..pos];
    let start = before
        .char_indices()
        .rev()
        .take_while(|&(_, c)| is_ident(c))
        .last()
        .map_or(pos, |(i, _)| i);
    let command = before.trim_start().starts_with(':');
    if command && !before.trim_start().contains(char::is_whitespace) {
        // Still typing the command itself: the word includes its `:`.
        let colon = before.len() - before.trim_start().len();
        return Word {
            start: colon,
            text: &line[colon..pos],
            slot: Slot::Command,
        };
    }
    let dollar = before[..start].ends_with('$');
    let word_start = if dollar { start - 1 } else { start };
    let text = &line[word_start..pos];
    let slot = if command {
        command_slot(&before[..word_start])
    } else if dollar {
        Slot::Var {
            chain: before.contains("->"),
        }
    } else {
        call_slot(&before[..word_start], text)
    };
    Word {
        start: word_start,
        text,
        slot,
    }
}

fn floor_char_boundary(s: &str, mut pos: usize) -> usize {
    pos = pos.min(s.len());
    while !s.is_char_boundary(pos) {
        pos -= 1;
    }
    pos
}

/// The slot of a word after the command of a `:command` line, given what
/// comes before the word.
fn command_slot(prefix: &str) -> Slot {
    let words: Vec<&str> = prefix.split_whitespace().collect();
    match words.as_slice() {
        [":help" | ":h"] => Slot::Syscall,
        [":set"] => Slot::SetOption,
        [":set", "timing" | "verbose"] => Slot::OnOff,
        _ => Slot::Nothing,
    }
}

/// The slot of an identifier that starts after `prefix` in a statement.
fn call_slot(prefix: &str, word: &str) -> Slot {
    let mut frames: Vec<Frame> = Vec::new();
    let mut ident = String::new();
    let mut last_ident: Option<String> = None;
    let mut in_string = false;
    let mut escaped = false;
    for c in prefix.chars() {
        if in_string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
            continue;
        }
        if is_ident(c) {
            ident.push(c);
            continue;
        }
        if !ident.is_empty() {
            last_ident = Some(std::mem::take(&mut ident));
        }
        match c {
            '"' => in_string = true,
            '(' => frames.push(Frame::Call {
                name: last_ident.take(),
                index: 0,
            }),
            '{' | '[' => frames.push(Frame::Other),
            ')' | '}' | ']' => {
                frames.pop();
            }
            ',' => {
                if let Some(Frame::Call { index, .. }) = frames.last_mut() {
                    *index += 1;
                }
            }
            c if c.is_whitespace() => continue,
            _ => {}
        }
        last_ident = None;
    }
    if in_string || word.starts_with(|c: char| c.is_ascii_digit()) {
        return Slot::Nothing;
    }
    match frames.last() {
        // Top level, or directly in a `{ a; b }` batch: a call's name.
        None => Slot::Syscall,
        Some(Frame::Other) if !frames.iter().any(|f| matches!(f, Frame::Call { .. })) => {
            Slot::Syscall
        }
        Some(Frame::Call {
            name: Some(name),
            index,
        }) => Slot::Arg {
            call: name.clone(),
            index: *index,
        },
        Some(_) => Slot::AnyName,
    }
}

/// The innermost call the cursor is in the arguments of, and the argument.
pub(crate) fn enclosing_call(line: &str, pos: usize) -> Option<(String, usize)> {
    let pos = floor_char_boundary(line, pos);
    if line.trim_start().starts_with(':') {
        return None;
    }
    match call_slot(&line[..pos], "") {
        Slot::Arg { call, index } => Some((call, index)),
        _ => None,
    }
}

/// Every syscall name, sorted.
pub(crate) fn syscall_names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = sysgate_sys::syscalls().map(|s| s.name).collect();
    names.sort_unstable();
    names
}

fn signature_of(name: &str) -> Option<&'static Signature> {
    syscall_number(name).and_then(sysgate_sys::signature)
}

/// The candidates for `word`, sorted and without duplicates. `vars` are the
/// session's variable names (without `$`), `last` whether `$_` is set.
pub(crate) fn candidates<'v>(
    word: &Word<'_>,
    syscalls: &[&'static str],
    vars: impl IntoIterator<Item = &'v str>,
    last: bool,
) -> Vec<String> {
    let text = word.text;
    let mut out: Vec<String> = match &word.slot {
        Slot::Nothing => Vec::new(),
        Slot::Command => COMMANDS.iter().map(|c| (*c).to_owned()).collect(),
        Slot::SetOption => ["strsize ", "timing ", "verbose "]
            .iter()
            .map(|c| (*c).to_owned())
            .collect(),
        Slot::OnOff => ["on", "off"].iter().map(|c| (*c).to_owned()).collect(),
        Slot::Syscall => syscalls.iter().map(|s| (*s).to_owned()).collect(),
        Slot::Var { chain } => {
            let mut v: Vec<String> = vars.into_iter().map(|n| format!("${n}")).collect();
            if last {
                v.push("$_".to_owned());
            }
            if *chain {
                v.push("$prev".to_owned());
                v.extend((1..=9).map(|n| format!("${n}")));
            }
            v
        }
        Slot::Arg { call, index } => {
            let kind = signature_of(call)
                .and_then(|s| s.arg(*index))
                .map(|a| a.kind);
            match kind {
                Some(kind) => match kind.table() {
                    Some(table) => table_names(&[table]),
                    None if takes_any_name(kind) => table_names(ALL_TABLES),
                    None => Vec::new(),
                },
                // No signature: integers only, any known name.
                None => table_names(ALL_TABLES),
            }
        }
        Slot::AnyName => table_names(ALL_TABLES),
    };
    out.retain(|c| c.starts_with(text));
    out.sort_unstable();
    out.dedup();
    out
}

/// Whether an argument without a table of its own still takes symbolic
/// names (`fcntl`'s argument, `ioctl`'s request, a socket option).
fn takes_any_name(kind: ArgKind) -> bool {
    matches!(kind, ArgKind::Int | ArgKind::Uint | ArgKind::Ptr)
}

fn table_names(tables: &[&sysgate_sys::flags::FlagTable]) -> Vec<String> {
    let mut names = Vec::new();
    for t in tables {
        names.extend(t.names().map(|n| n.name.to_owned()));
        names.extend(t.aliases.iter().map(|n| n.name.to_owned()));
        if let Some(zero) = t.zero {
            names.push(zero.to_owned());
        }
    }
    names
}

/// The hint shown after the cursor at the end of the line: the rest of a
/// syscall name that only one syscall starts with (and what inserting it
/// would add), or the signature of the call whose arguments the cursor is
/// in.
pub(crate) fn hint(
    line: &str,
    pos: usize,
    syscalls: &[&'static str],
) -> Option<(String, Option<String>)> {
    if pos < line.len() {
        return None;
    }
    let word = word_at(line, pos);
    if word.slot == Slot::Syscall && word.text.len() >= 2 && !line.trim_start().starts_with(':') {
        let mut matching = syscalls.iter().filter(|s| s.starts_with(word.text));
        if let (Some(only), None) = (matching.next(), matching.next()) {
            let rest = &only[word.text.len()..];
            let shown = match signature_of(only) {
                Some(sig) => {
                    let sig = sig.to_string();
                    format!("{rest}{}", &sig[only.len()..])
                }
                None => rest.to_owned(),
            };
            if shown.is_empty() {
                return None;
            }
            let insert = (!rest.is_empty()).then(|| format!("{rest}("));
            return Some((shown, insert));
        }
        return None;
    }
    let (call, _) = enclosing_call(line, pos)?;
    let sig = signature_of(&call)?;
    Some((format!("    {sig}"), None))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slot(line: &str) -> Slot {
        word_at(line, line.len()).slot
    }

    #[test]
    fn the_word_under_the_cursor_is_classified() {
        assert_eq!(slot("open"), Slot::Syscall);
        assert_eq!(slot("{ getpid(); getp"), Slot::Syscall);
        assert_eq!(slot("$fd = open"), Slot::Syscall);
        assert_eq!(slot("getpid() -> getp"), Slot::Syscall);
        assert_eq!(
            slot("openat(AT_FDCWD, \"/a,b\", O_RD"),
            Slot::Arg {
                call: "openat".into(),
                index: 2
            }
        );
        assert_eq!(
            slot("openat(AT_FDCWD, \"/a,b(\", O_RDONLY|O_CL"),
            Slot::Arg {
                call: "openat".into(),
                index: 2
            }
        );
        assert_eq!(slot("openat(AT_FDCWD, \"/tm"), Slot::Nothing);
        assert_eq!(slot("poll([{fd=3, events=POLLI"), Slot::AnyName);
        assert_eq!(slot("read($f"), Slot::Var { chain: false });
        assert_eq!(slot("getpid() -> kill($p"), Slot::Var { chain: true });
        assert_eq!(slot(":he"), Slot::Command);
        assert_eq!(slot(":help open"), Slot::Syscall);
        assert_eq!(slot(":set ti"), Slot::SetOption);
        assert_eq!(slot(":set timing o"), Slot::OnOff);
        assert_eq!(slot("read(12"), Slot::Nothing);
        // Not a character boundary: no panic.
        let w = word_at("é", 1);
        assert_eq!(w.text, "");
    }

    #[test]
    fn candidates_come_from_the_argument_table() {
        let names = syscall_names();
        let w = word_at("openat(AT_FDCWD, \"/x\", O_CLO", 28);
        assert_eq!(candidates(&w, &names, [], false), ["O_CLOEXEC"]);
        let w = word_at("lseek(3, 0, SEEK_S", 18);
        assert_eq!(candidates(&w, &names, [], false), ["SEEK_SET"]);
        let w = word_at("getdents", 8);
        assert_eq!(
            candidates(&w, &names, [], false),
            ["getdents", "getdents64"]
        );
        let w = word_at("close($", 7);
        assert_eq!(
            candidates(&w, &names, ["fd", "p"], true),
            ["$_", "$fd", "$p"]
        );
        let w = word_at(":st", 3);
        assert_eq!(candidates(&w, &names, [], false), [":stats"]);
        let w = word_at(":", 1);
        assert_eq!(candidates(&w, &names, [], false).len(), 6);
        let w = word_at(":he", 3);
        assert_eq!(candidates(&w, &names, [], false), [":help "]);
        let w = word_at(":help getpp", 11);
        assert_eq!(
            (w.start, candidates(&w, &names, [], false)),
            (6, vec!["getppid".to_owned()])
        );
    }

    #[test]
    fn hints_show_the_signature() {
        let names = syscall_names();
        let line = "openat(AT_FDCWD, ";
        assert_eq!(
            hint(line, line.len(), &names),
            Some((
                "    openat(dirfd, path, flags:O_*, mode) -> fd".to_owned(),
                None
            ))
        );
        let (shown, insert) = hint("getdents6", 9, &names).unwrap();
        assert_eq!(shown, "4(fd, dirp, count) -> size");
        assert_eq!(insert.as_deref(), Some("4("));
        assert_eq!(hint("getpid()", 3, &names), None);
    }
}
