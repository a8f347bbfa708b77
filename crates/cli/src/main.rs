//! The `sysgate` command.

use std::ffi::OsString;
use std::io::{self, BufWriter, Write};
use std::process::ExitCode;

use serde_json::Value;

const VERSION: &str = env!("CARGO_PKG_VERSION");

const USAGE: &str = "\
Usage: sysgate <command> [args]

Commands:
  syscalls [--json]   print what sysgate knows about every syscall of this
                      architecture, one per line: name, number, execution
                      class, the signature (or `-` where only the name is
                      known) and, after `#`, why it has that class where
                      that is not obvious (the reason a refused call is
                      refused); --json prints a JSON array instead
  repl                a shell in strace syntax: type a syscall as strace
                      prints it, see the kernel's answer the same way
                      (:help inside); with stdin not a terminal, runs
                      its lines as a script
  run FILE            run FILE (`-`: stdin) as a script of REPL lines:
                      one output line per call, errors on stderr as
                      `line L, column C: message`, exit 1 if a line
                      did not parse
  replay TRACE        run the calls of an strace log again through the
                      gateway and report what differs
                      (`sysgate replay --help`)

Options:
  -h, --help          print this help
  -V, --version       print the version
";

/// How a command ended, mapped onto the exit status.
enum Outcome {
    /// Exit 0.
    Done,
    /// Bad command line: message on stderr, exit 2.
    Usage(String),
    /// Writing the output failed (other than a closed pipe): exit 1.
    Io(io::Error),
    /// A subcommand that printed its own messages and chose its status.
    Exit(ExitCode),
}

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    match run(&args) {
        Outcome::Done => ExitCode::SUCCESS,
        Outcome::Usage(message) => {
            eprintln!("sysgate: {message}");
            eprintln!("Run `sysgate --help` for usage.");
            ExitCode::from(2)
        }
        Outcome::Io(err) => {
            eprintln!("sysgate: writing output failed: {err}");
            ExitCode::from(1)
        }
        Outcome::Exit(code) => code,
    }
}

fn run(args: &[OsString]) -> Outcome {
    let Some(command) = args.first() else {
        return write_out(|out| write!(out, "sysgate {VERSION}\n\n{USAGE}"));
    };
    let rest = &args[1..];
    match command.to_str() {
        Some("-h" | "--help" | "help") => {
            write_out(|out| write!(out, "sysgate {VERSION}\n\n{USAGE}"))
        }
        Some("-V" | "--version") => write_out(|out| writeln!(out, "sysgate {VERSION}")),
        Some("syscalls") => {
            let mut json = false;
            for arg in rest {
                match arg.to_str() {
                    Some("--json") => json = true,
                    Some("-h" | "--help") => {
                        return write_out(|out| write!(out, "sysgate {VERSION}\n\n{USAGE}"));
                    }
                    _ => {
                        return Outcome::Usage(format!(
                            "unknown argument `{}` for `syscalls`",
                            arg.to_string_lossy()
                        ));
                    }
                }
            }
            if json {
                write_out(print_syscalls_json)
            } else {
                write_out(print_syscalls)
            }
        }
        Some("repl") => Outcome::Exit(sysgate_cli::repl::repl_main(rest)),
        Some("run") => Outcome::Exit(sysgate_cli::repl::run_main(rest)),
        Some("replay") => {
            let args: Vec<String> = rest
                .iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect();
            Outcome::Exit(sysgate_cli::replay::replay_main(&args))
        }
        _ => Outcome::Usage(format!("unknown command `{}`", command.to_string_lossy())),
    }
}

/// Runs `print` against buffered stdout. A closed pipe (`sysgate syscalls |
/// head`) ends the output quietly.
fn write_out(print: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> Outcome {
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    match print(&mut out).and_then(|()| out.flush()) {
        Ok(()) => Outcome::Done,
        Err(err) if err.kind() == io::ErrorKind::BrokenPipe => Outcome::Done,
        Err(err) => Outcome::Io(err),
    }
}

/// `name  number  class  signature[  # reason]`, one syscall a line, by
/// number.
fn print_syscalls(out: &mut dyn Write) -> io::Result<()> {
    for sc in sysgate_sys::syscalls() {
        let class = sc.class.as_str();
        let signature = sc.signature.map(|s| s.to_string());
        let signature = signature.as_deref().unwrap_or("-");
        write!(
            out,
            "{:<24} {:>4}  {class:<16}  {signature}",
            sc.name, sc.nr
        )?;
        match sc.reason {
            Some(reason) => writeln!(out, "  # {reason}")?,
            None => writeln!(out)?,
        }
    }
    Ok(())
}

/// A JSON array, one object a line, keys in this order: `name`, `number`,
/// `class`, `signature` (string or null) and `reason` (string or null).
fn print_syscalls_json(out: &mut dyn Write) -> io::Result<()> {
    out.write_all(b"[")?;
    for (i, sc) in sysgate_sys::syscalls().enumerate() {
        out.write_all(if i == 0 { b"\n" } else { b",\n" })?;
        let signature = sc.signature.map(|s| s.to_string());
        write!(
            out,
            "{{\"name\":{},\"number\":{},\"class\":{},\"signature\":{},\"reason\":{}}}",
            Value::from(sc.name),
            sc.nr,
            Value::from(sc.class.as_str()),
            Value::from(signature),
            Value::from(sc.reason),
        )?;
    }
    out.write_all(b"\n]\n")
}
