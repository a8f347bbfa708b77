//! `sysgate repl` and `sysgate run FILE`: a shell in strace syntax.
//!
//! # Usage
//!
//! ```text
//! $ sysgate repl
//! sysgate> $fd = openat(AT_FDCWD, "/etc/hostname", O_RDONLY|O_CLOEXEC)
//! openat(AT_FDCWD, "/etc/hostname", O_RDONLY|O_CLOEXEC) = 4
//! sysgate> read($fd, "", 64)
//! read(4, "myhost\n", 64) = 7
//! sysgate> :set timing on
//! sysgate> fstat($fd, {})
//! fstat(4, {st_mode=S_IFREG|0644, st_size=7, ...}) = 0 <pool 0.000041>
//! sysgate> openat(AT_FDCWD, "/etc", O_RDONLY|O_DIRECTORY) -> fstat($prev, {}) -> close($1)
//! openat(AT_FDCWD, "/etc", O_RDONLY|O_DIRECTORY) = 5 <inline 0.000170>
//! fstat(5, {st_mode=S_IFDIR|0755, st_size=4096, ...}) = 0 <pool 0.000170>
//! close(5) = 0 <inline 0.000170>
//! sysgate> 1234 10:00:00.000001 lseek(4</etc/hostname>, 0, SEEK_SET) = 0 <0.000004>
//! lseek(4</etc/hostname>, 0, SEEK_SET) = 0 <inline 0.000025> (traced: 0 <0.000004>)
//! sysgate> :set timing off
//! sysgate> pipe2([0, 0], O_CLOEXEC)
//! pipe2([5, 6], O_CLOEXEC) = 0
//! sysgate> read(5, "", 64) &
//! [1]
//! sysgate> write(6, "hi\n", 3)
//! write(6, "hi\n", 3) = 3
//! [1] read(5, "hi\n", 64) = 3
//! ```
//!
//! Type a call the way strace prints it; sysgate lowers it to a request,
//! runs it through the gateway and prints the completion the way strace
//! would. Output buffers take a length or anything strace printed there
//! (`read(3, "", 64)`, `fstat(3, {})`, `pipe2([0, 0], 0)`).
//!
//! - **Variables.** `$fd = call` keeps the call's raw result (`-errno` when
//!   it failed) in `$fd`; `$_` is the last result printed. Printed lines
//!   show the values passed, not the variable names. Variables are read
//!   when a line is built: inside one batch, `$x` is the value from before
//!   the batch.
//! - **Background.** `call &` (also a batch or chain) submits without
//!   waiting. Its tag is the next number from 1 up and goes to `$_`; at a
//!   terminal `[N]` is printed. `:wait N` (or `:wait $_`) waits for it and
//!   prints its calls prefixed `[N] `; `:wait` waits for all, in tag order.
//!   `:cancel [N]` (the latest one in flight without a tag) cancels it: a
//!   single call completes `ECANCELED` and is printed at `:wait`; a batch or
//!   chain can only be dropped, which cancels what is in flight and
//!   discards its results. At a terminal, finished background requests are
//!   printed before the next prompt. At the end of input, background
//!   requests still in flight are cancelled and every one is printed.
//! - **Batches and chains.** `{ a; b; c }` submits the calls at once and
//!   prints them in order. `a -> b -> c` is a link chain: `$prev` is the
//!   previous call's result and `$1`…`$9` the chain's first…ninth call's,
//!   resolved by the executor. A call that fails — or a short `read` or
//!   `write`, as in io_uring — cancels the rest (`ECANCELED`): chain a
//!   read of a whole file with its exact size, or use a batch. Printed
//!   lines show the resolved values.
//! - **Pasted strace lines.** A whole strace line (pid, timestamps, `-y`
//!   annotations, `= result`, `<duration>`) runs the call and shows the
//!   traced result after the live one: `= 3 (traced: 3 <0.000016>)`.
//! - **Settings.** `:set strsize N` (bytes of strings printed, default
//!   32), `:set verbose on|off` (whole structs), `:set timing on|off`
//!   (appends `<inline|polled|pool SECONDS>`: where the call ran, from the
//!   completion's flags, and the request's wall time — for a batch or chain
//!   the whole batch's, for a background request until its completion was
//!   seen).
//! - **Other commands.** `:help`, `:help NAME` (signature, execution
//!   class, flag names), `:stats` (the executor's counters, one line),
//!   `:quit` (or Ctrl-D).
//! - **At a terminal**: history in `$XDG_STATE_HOME/sysgate/history` (or
//!   `~/.sysgate_history`; failures to write it are ignored), Tab completes
//!   syscall names, the flag names of the argument under the cursor,
//!   `$variables` and commands, and the signature of the call being typed
//!   is hinted after the cursor. Ctrl-C clears the line (it does not
//!   interrupt a call already waiting: use `&` for calls that may block).
//!
//! # Scripts
//!
//! When stdin is not a terminal, `sysgate repl` prints no banner and no
//! prompt, and `sysgate run FILE` reads FILE the same way (`-` is stdin).
//! stdout gets exactly one line per call (a batch or chain of three calls
//! prints three lines, an assignment its call's line, a background call its
//! `[N] ` line when waited for), plus the lines of `:help` and `:stats`
//! (one line); other commands, blank lines and comments print nothing.
//! Errors go to stderr as `line L, column C: message` (`line L: message`
//! where no column is at fault), and the script goes on. Input is read as
//! bytes: invalid UTF-8 becomes U+FFFD and so a parse error. The shell
//! reads and writes through its own copies of fds 0, 1 and 2, which the
//! gateway holds: a script may close or redirect those numbers (its
//! `write(1, …)` follows them) without silencing the shell.
//!
//! Exit status: 0 when every line parsed and its calls could be built, 1
//! otherwise — a line that does not parse, or whose calls cannot be built
//! (unknown variable, value of the wrong shape, a forbidden syscall such as
//! `execve`). A syscall returning an error is an ordinary output line, and
//! a request the client or executor refuses although the line was well
//! formed (a raw address in a pointer argument, a syscall sysgate has no
//! signature for) is reported on stderr without changing the exit status.
//! `:quit` ends a script early.

mod complete;
mod help;
mod interactive;
mod session;

use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, BufRead, BufReader, IsTerminal, Write};
use std::os::fd::AsFd;
use std::path::Path;
use std::process::ExitCode;

use sysgate::{Gateway, HeldFd};

pub use session::{Diagnostic, Flow, Mode, Session, Severity, Sink};

const REPL_USAGE: &str = "\
Usage: sysgate repl

An interactive shell in strace syntax (type :help). With stdin not a
terminal it runs the lines it reads as a script: no prompt, one output line
per call, errors on stderr as `line L, column C: message`, exit status 1 if
any line did not parse.
";

const RUN_USAGE: &str = "\
Usage: sysgate run FILE

Runs FILE (`-`: stdin) as a script of REPL lines: one output line per call,
errors on stderr as `line L, column C: message`, exit status 1 if any line
did not parse.
";

/// `sysgate repl [args]`: interactive at a terminal, a script otherwise.
pub fn repl_main<S: AsRef<OsStr>>(args: &[S]) -> ExitCode {
    match args {
        [] => {}
        [flag] if is_help(flag) => return print_usage(REPL_USAGE),
        [other, ..] => {
            return usage_error(&format!(
                "unknown argument `{}` for `repl`",
                other.as_ref().to_string_lossy()
            ));
        }
    }
    let Some(gw) = gateway() else {
        return ExitCode::from(1);
    };
    if io::stdin().is_terminal() {
        interactive::run(gw)
    } else {
        run_stdin(gw)
    }
}

/// The shell's own copies of stdin, stdout and stderr, held by the gateway
/// (see [`sysgate::hold_copy`]): a script that closes or redirects fd 0, 1
/// or 2 — `close(1)`, `dup2(3, 1)` — does not silence the shell, whose
/// lines keep going where its output went when it started.
struct OwnStdio {
    /// Dropped first: the copies are released before they are closed.
    _held: [HeldFd; 3],
    input: File,
    out: File,
    err: File,
}

impl OwnStdio {
    /// The copies, or `None` if one cannot be made (no descriptor left):
    /// then the shell uses fds 0, 1 and 2 themselves.
    fn new() -> Option<OwnStdio> {
        let (input, held_input) = sysgate::hold_copy(io::stdin().as_fd()).ok()?;
        let (out, held_out) = sysgate::hold_copy(io::stdout().as_fd()).ok()?;
        let (err, held_err) = sysgate::hold_copy(io::stderr().as_fd()).ok()?;
        Some(OwnStdio {
            _held: [held_input, held_out, held_err],
            input: input.into(),
            out: out.into(),
            err: err.into(),
        })
    }
}

/// Runs stdin as a script.
fn run_stdin(gw: Gateway) -> ExitCode {
    match OwnStdio::new() {
        Some(own) => {
            let result = run_script(gw, BufReader::new(&own.input), &own.out, &own.err);
            script_exit(result)
        }
        None => {
            let stdin = io::stdin();
            script_exit(run_script(gw, stdin.lock(), io::stdout(), io::stderr()))
        }
    }
}

/// `sysgate run FILE` (`-`: stdin).
pub fn run_main<S: AsRef<OsStr>>(args: &[S]) -> ExitCode {
    let path = match args {
        [flag] if is_help(flag) => return print_usage(RUN_USAGE),
        [path] => Path::new(path.as_ref()),
        [] => return usage_error("`run` needs a FILE"),
        [_, other, ..] => {
            return usage_error(&format!(
                "unexpected argument `{}` for `run`",
                other.as_ref().to_string_lossy()
            ));
        }
    };
    if path.as_os_str() == "-" {
        let Some(gw) = gateway() else {
            return ExitCode::from(1);
        };
        return run_stdin(gw);
    }
    // Read whole, so the file holds no descriptor while the script runs: a
    // script sees the same fd numbers as under `sysgate repl < FILE`.
    let script = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) => {
            eprintln!("sysgate: cannot read {}: {e}", path.display());
            return ExitCode::from(1);
        }
    };
    let Some(gw) = gateway() else {
        return ExitCode::from(1);
    };
    match OwnStdio::new() {
        Some(own) => script_exit(run_script(gw, &script[..], &own.out, &own.err)),
        None => script_exit(run_script(gw, &script[..], io::stdout(), io::stderr())),
    }
}

fn is_help<S: AsRef<OsStr>>(arg: &S) -> bool {
    let arg = arg.as_ref();
    arg == "-h" || arg == "--help"
}

fn print_usage(text: &str) -> ExitCode {
    let _ = io::stdout().write_all(text.as_bytes());
    ExitCode::SUCCESS
}

fn usage_error(message: &str) -> ExitCode {
    eprintln!("sysgate: {message}");
    eprintln!("Run `sysgate --help` for usage.");
    ExitCode::from(2)
}

fn gateway() -> Option<Gateway> {
    match Gateway::new() {
        Ok(gw) => Some(gw),
        Err(e) => {
            eprintln!("sysgate: cannot start the gateway: {e}");
            None
        }
    }
}

/// How a script run went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ScriptReport {
    /// Lines read.
    pub lines: usize,
    /// Lines with an [`Severity::Input`] error: they did not parse, or
    /// their calls could not be built.
    pub bad_lines: usize,
    /// Whether `:quit` ended the script before its end.
    pub quit: bool,
    /// Whether stdout was closed by its reader (the rest of the script did
    /// not run).
    pub output_closed: bool,
}

/// Why a script run stopped early.
#[derive(Debug)]
pub enum ScriptError {
    /// Reading the script failed.
    Read(io::Error),
    /// Writing output failed (other than its reader going away).
    Write(io::Error),
}

impl std::fmt::Display for ScriptError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ScriptError::Read(e) => write!(f, "reading the script failed: {e}"),
            ScriptError::Write(e) => write!(f, "writing output failed: {e}"),
        }
    }
}

impl std::error::Error for ScriptError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ScriptError::Read(e) | ScriptError::Write(e) => Some(e),
        }
    }
}

/// Where a script's output and diagnostics go.
struct ScriptSink<O, E> {
    out: O,
    err: E,
    line: usize,
    line_has_input_error: bool,
}

impl<O: Write, E: Write> Sink for ScriptSink<O, E> {
    fn line(&mut self, text: &str) -> io::Result<()> {
        writeln!(self.out, "{text}")?;
        self.out.flush()
    }

    fn diagnostic(&mut self, d: Diagnostic) {
        if d.severity == Severity::Note {
            return;
        }
        if d.severity == Severity::Input {
            self.line_has_input_error = true;
        }
        let line = d.line.unwrap_or(self.line);
        // Nothing sensible is left to do if stderr fails.
        let _ = match d.col {
            Some(col) => writeln!(self.err, "line {line}, column {col}: {}", d.message),
            None => writeln!(self.err, "line {line}: {}", d.message),
        };
    }
}

/// Runs the lines of `input` as a script through `gw`: output lines to
/// `out`, diagnostics to `err` as `line L, column C: message`.
///
/// Lines are read as bytes and converted lossily (invalid UTF-8 becomes
/// U+FFFD, which no line accepts); a trailing `\r` is dropped. At the end
/// of input (or `:quit`), background requests still in flight are
/// cancelled and reported.
///
/// # Errors
/// [`ScriptError`] when reading the input or writing `out` fails; a closed
/// pipe on `out` is not an error but ends the run
/// ([`ScriptReport::output_closed`]).
pub fn run_script(
    gw: Gateway,
    mut input: impl BufRead,
    out: impl Write,
    err: impl Write,
) -> Result<ScriptReport, ScriptError> {
    let mut session = Session::new(gw, Mode::Script);
    let mut sink = ScriptSink {
        out,
        err,
        line: 0,
        line_has_input_error: false,
    };
    let mut report = ScriptReport::default();
    let mut buf = Vec::new();
    let write_failed = |e: io::Error, report: &mut ScriptReport| {
        if e.kind() == io::ErrorKind::BrokenPipe {
            report.output_closed = true;
            Ok(())
        } else {
            Err(ScriptError::Write(e))
        }
    };
    loop {
        buf.clear();
        match input.read_until(b'\n', &mut buf) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(ScriptError::Read(e)),
        }
        if buf.last() == Some(&b'\n') {
            buf.pop();
        }
        if buf.last() == Some(&b'\r') {
            buf.pop();
        }
        let text = String::from_utf8_lossy(&buf);
        report.lines += 1;
        sink.line = report.lines;
        sink.line_has_input_error = false;
        let flow = session.run_line(&text, report.lines, &mut sink);
        if sink.line_has_input_error {
            report.bad_lines += 1;
        }
        match flow {
            Ok(Flow::Continue) => {}
            Ok(Flow::Quit) => {
                report.quit = true;
                break;
            }
            Err(e) => {
                write_failed(e, &mut report)?;
                return Ok(report);
            }
        }
    }
    if let Err(e) = session.finish(&mut sink) {
        write_failed(e, &mut report)?;
    }
    Ok(report)
}

fn script_exit(result: Result<ScriptReport, ScriptError>) -> ExitCode {
    match result {
        Ok(report) if report.bad_lines == 0 => ExitCode::SUCCESS,
        Ok(_) => ExitCode::from(1),
        Err(e) => {
            eprintln!("sysgate: {e}");
            ExitCode::from(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn script(text: &[u8]) -> (ScriptReport, String, String) {
        let mut out = Vec::new();
        let mut err = Vec::new();
        let report = run_script(Gateway::new().unwrap(), text, &mut out, &mut err).unwrap();
        (
            report,
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap(),
        )
    }

    #[test]
    fn scripts_print_one_line_per_call() {
        let (report, out, err) = script(
            b"# comment\n\n:set strsize 4\r\n{ getpid(); getppid(); umask(022) }\n\
              umask(022) -> umask($prev) -> umask($1)\n:quit\ngetpid()\n",
        );
        assert_eq!(err, "");
        assert!(report.quit);
        assert_eq!((report.lines, report.bad_lines), (6, 0));
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 6, "{out}");
        assert!(lines[2].starts_with("umask(022) = 0"), "{out}");
        assert_eq!(lines[3], "umask(022) = 022");
        assert_eq!(lines[4], "umask(022) = 022");
        assert_eq!(lines[5], "umask(022) = 022");
    }

    #[test]
    fn bad_bytes_are_parse_errors_not_panics() {
        let (report, out, err) = script(b"getpid(\xff)\n\xc3\x28\x00\ngetpid()\n");
        assert_eq!(report.bad_lines, 2);
        assert_eq!(out.lines().count(), 1);
        assert!(err.starts_with("line 1, column 8: "), "{err}");
        assert!(err.contains("\nline 2, column 1: "), "{err}");
    }

    #[test]
    fn a_closed_output_ends_the_run_quietly() {
        struct Closed;
        impl Write for Closed {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::ErrorKind::BrokenPipe.into())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let report = run_script(
            Gateway::new().unwrap(),
            &b"getpid()\ngetpid()\n"[..],
            Closed,
            io::sink(),
        )
        .unwrap();
        assert!(report.output_closed);
        assert_eq!(report.lines, 1);
    }
}
