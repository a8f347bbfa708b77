//! The terminal front end: rustyline with history, completion and the
//! signature hint.

use std::cell::RefCell;
use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::rc::Rc;

use rustyline::completion::Completer;
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::{Hint, Hinter};
use rustyline::history::DefaultHistory;
use rustyline::validate::Validator;
use rustyline::{CompletionType, Config, Context, Editor, Helper};
use sysgate::Gateway;

use super::complete::{candidates, hint, syscall_names, word_at};
use super::session::{Diagnostic, Flow, Mode, Session, Severity, Sink};

const PROMPT: &str = "sysgate> ";

/// What completion needs from the session, refreshed before each prompt.
#[derive(Default)]
struct Known {
    vars: Vec<String>,
    last: bool,
}

/// rustyline's helper: completion and hints; no highlighting, no
/// validation.
struct ReplHelper {
    syscalls: Vec<&'static str>,
    known: Rc<RefCell<Known>>,
}

/// A hint: what is shown after the cursor, and what → inserts.
struct LineHint {
    display: String,
    insert: Option<String>,
}

impl Hint for LineHint {
    fn display(&self) -> &str {
        &self.display
    }

    fn completion(&self) -> Option<&str> {
        self.insert.as_deref()
    }
}

impl Completer for ReplHelper {
    type Candidate = String;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<String>)> {
        let word = word_at(line, pos);
        let known = self.known.borrow();
        let found = candidates(
            &word,
            &self.syscalls,
            known.vars.iter().map(String::as_str),
            known.last,
        );
        Ok((word.start, found))
    }
}

impl Hinter for ReplHelper {
    type Hint = LineHint;

    fn hint(&self, line: &str, pos: usize, _ctx: &Context<'_>) -> Option<LineHint> {
        hint(line, pos, &self.syscalls).map(|(display, insert)| LineHint { display, insert })
    }
}

impl Highlighter for ReplHelper {}

impl Validator for ReplHelper {}

impl Helper for ReplHelper {}

/// Output to the terminal: diagnostics about the line just typed get a
/// caret under the column at fault.
struct TerminalSink;

impl Sink for TerminalSink {
    fn line(&mut self, text: &str) -> io::Result<()> {
        let mut out = io::stdout().lock();
        writeln!(out, "{text}")?;
        out.flush()
    }

    fn diagnostic(&mut self, d: Diagnostic) {
        let mut err = io::stderr().lock();
        // Nothing sensible is left to do if stderr fails.
        let _ = match (d.severity, d.line, d.col) {
            (Severity::Note, _, _) => writeln!(err, "{}", d.message),
            (_, Some(line), Some(col)) => {
                writeln!(err, "error: line {line}, column {col}: {}", d.message)
            }
            (_, Some(line), None) => writeln!(err, "error: line {line}: {}", d.message),
            (_, None, Some(col)) => {
                let pad = PROMPT.len() + col.saturating_sub(1);
                writeln!(err, "{:pad$}^\nerror: column {col}: {}", "", d.message)
            }
            (_, None, None) => writeln!(err, "error: {}", d.message),
        };
    }
}

/// `$XDG_STATE_HOME/sysgate/history` (the directory is created), else
/// `~/.sysgate_history`.
fn history_path() -> Option<PathBuf> {
    if let Some(state) = std::env::var_os("XDG_STATE_HOME").map(PathBuf::from)
        && state.is_absolute()
    {
        let dir = state.join("sysgate");
        if std::fs::create_dir_all(&dir).is_ok() {
            return Some(dir.join("history"));
        }
    }
    let home = std::env::var_os("HOME").map(PathBuf::from)?;
    home.is_absolute().then(|| home.join(".sysgate_history"))
}

/// Runs the interactive shell until `:quit` or end of input.
pub(crate) fn run(gw: Gateway) -> ExitCode {
    let config = Config::builder()
        .auto_add_history(false)
        .history_ignore_space(true)
        .completion_type(CompletionType::List)
        .build();
    let mut editor: Editor<ReplHelper, DefaultHistory> = match Editor::with_config(config) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("sysgate: cannot start the line editor: {e}");
            return ExitCode::from(1);
        }
    };
    let known = Rc::new(RefCell::new(Known::default()));
    editor.set_helper(Some(ReplHelper {
        syscalls: syscall_names(),
        known: Rc::clone(&known),
    }));
    let history = history_path();
    if let Some(path) = &history {
        // A missing or unreadable history file is not worth a word.
        let _ = editor.load_history(path);
    }
    println!(
        "sysgate {} — system calls in strace syntax. :help for help, :quit or Ctrl-D to leave.",
        env!("CARGO_PKG_VERSION")
    );
    let mut session = Session::new(gw, Mode::Interactive);
    let mut sink = TerminalSink;
    let mut line_no = 0;
    let mut status = ExitCode::SUCCESS;
    loop {
        if let Err(e) = session.report_finished(&mut sink) {
            status = output_failed(&e);
            break;
        }
        {
            let mut k = known.borrow_mut();
            k.vars = session.var_names().map(str::to_owned).collect();
            k.last = session.has_last();
        }
        let line = match editor.readline(PROMPT) {
            Ok(line) => line,
            // Ctrl-C: a fresh line.
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => break,
            Err(e) => {
                eprintln!("sysgate: reading input failed: {e}");
                status = ExitCode::from(1);
                break;
            }
        };
        line_no += 1;
        // History is a convenience: failing to write it is ignored.
        if !line.trim().is_empty()
            && editor.add_history_entry(line.as_str()).unwrap_or(false)
            && let Some(path) = &history
        {
            let _ = editor.append_history(path);
        }
        match session.run_line(&line, line_no, &mut sink) {
            Ok(Flow::Continue) => {}
            Ok(Flow::Quit) => break,
            Err(e) => {
                status = output_failed(&e);
                break;
            }
        }
    }
    if let Err(e) = session.finish(&mut sink) {
        status = output_failed(&e);
    }
    status
}

fn output_failed(e: &io::Error) -> ExitCode {
    if e.kind() == io::ErrorKind::BrokenPipe {
        return ExitCode::SUCCESS;
    }
    eprintln!("sysgate: writing output failed: {e}");
    ExitCode::from(1)
}
