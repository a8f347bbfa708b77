//! Command-line arguments (no parsing crate: five flags).

use std::fmt;
use std::path::PathBuf;

use sysgate::ReadinessBackend;

/// The scenarios, in the order they run.
pub const SCENARIOS: [&str; 8] = [
    "nonblocking",
    "cached_read",
    "blocking",
    "mixed",
    "sockets",
    "tree_walk",
    "codec",
    "big_read",
];

/// What the user asked for.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// The short run (under a minute on a 2-core VM).
    pub quick: bool,
    /// Scenarios to run (empty: all), in [`SCENARIOS`] order, no duplicates.
    pub only: Vec<&'static str>,
    /// JSON on stdout (the text table goes to stderr).
    pub json: bool,
    /// Where to write the SVG chart of the ratios.
    pub svg: Option<PathBuf>,
    /// The readiness backend every gateway of the run uses (default: what
    /// the machine allows).
    pub backend: Option<ReadinessBackend>,
}

impl Options {
    /// Whether scenario `name` runs.
    pub fn selected(&self, name: &str) -> bool {
        self.only.is_empty() || self.only.contains(&name)
    }
}

/// The parsed command line.
#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    /// Run the benchmarks.
    Run(Options),
    /// Print the README table for a saved JSON report.
    Render(PathBuf),
    /// Print the usage and exit 0.
    Help,
}

/// A command line that does not parse.
#[derive(Debug, PartialEq, Eq)]
pub enum ArgError {
    /// A flag this program does not know.
    UnknownFlag(String),
    /// A flag that needs a value came last.
    MissingValue(&'static str),
    /// `--only` named no scenario of [`SCENARIOS`].
    UnknownScenario(String),
    /// A flag given twice where that makes no sense.
    Repeated(&'static str),
    /// `--backend` named no readiness backend.
    UnknownBackend(String),
}

impl fmt::Display for ArgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArgError::UnknownFlag(a) => write!(f, "unknown argument `{a}`"),
            ArgError::MissingValue(flag) => write!(f, "`{flag}` needs a value"),
            ArgError::UnknownScenario(s) => write!(
                f,
                "unknown scenario `{s}` (scenarios: {})",
                SCENARIOS.join(", ")
            ),
            ArgError::Repeated(flag) => write!(f, "`{flag}` given twice"),
            ArgError::UnknownBackend(b) => {
                write!(f, "unknown readiness backend `{b}` (io_uring or epoll)")
            }
        }
    }
}

/// The usage text.
pub fn usage() -> String {
    format!(
        "usage: sysgate-bench [--quick] [--only NAME[,NAME...]]... [--json] [--svg FILE]\n\
         \x20                    [--backend io_uring|epoll]\n\
         \x20      sysgate-bench --render FILE\n\
         \n\
         Runs sysgate and its baselines side by side, interleaved, and reports the\n\
         median ns/op, min/max, CPU seconds and the ratio sysgate / baseline.\n\
         \n\
         \x20 --quick          short run (under a minute on a 2-core VM); default: full run\n\
         \x20 --only NAME      run only these scenarios (repeatable, or a comma list)\n\
         \x20 --json           print the JSON report on stdout (the table goes to stderr)\n\
         \x20 --svg FILE       write a bar chart of the ratios to FILE\n\
         \x20 --backend NAME   the readiness backend of every gateway (default: io_uring\n\
         \x20                  where the kernel allows it, else epoll)\n\
         \x20 --render FILE    print the README's Performance table for a saved --json report\n\
         \x20 -h, --help       this text\n\
         \n\
         scenarios: {}\n",
        SCENARIOS.join(", ")
    )
}

fn scenario(name: &str) -> Result<&'static str, ArgError> {
    SCENARIOS
        .iter()
        .copied()
        .find(|s| *s == name)
        .ok_or_else(|| ArgError::UnknownScenario(name.to_string()))
}

/// Parses the arguments after the program name. `--only` and `--svg` take
/// their value as the next argument or after `=`.
pub fn parse<I: IntoIterator<Item = String>>(args: I) -> Result<Command, ArgError> {
    let mut opts = Options::default();
    let mut only: Vec<&'static str> = Vec::new();
    let mut it = args.into_iter();
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        match flag.as_str() {
            "-h" | "--help" if inline.is_none() => return Ok(Command::Help),
            "--quick" if inline.is_none() => opts.quick = true,
            "--render" => {
                let value = match inline {
                    Some(v) => v,
                    None => it.next().ok_or(ArgError::MissingValue("--render"))?,
                };
                return Ok(Command::Render(PathBuf::from(value)));
            }
            "--json" if inline.is_none() => opts.json = true,
            "--only" => {
                let value = match inline {
                    Some(v) => v,
                    None => it.next().ok_or(ArgError::MissingValue("--only"))?,
                };
                for name in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                    let s = scenario(name)?;
                    if !only.contains(&s) {
                        only.push(s);
                    }
                }
                if value.split(',').all(|s| s.trim().is_empty()) {
                    return Err(ArgError::MissingValue("--only"));
                }
            }
            "--backend" => {
                if opts.backend.is_some() {
                    return Err(ArgError::Repeated("--backend"));
                }
                let value = match inline {
                    Some(v) => v,
                    None => it.next().ok_or(ArgError::MissingValue("--backend"))?,
                };
                opts.backend = Some(match value.as_str() {
                    "io_uring" | "uring" => ReadinessBackend::IoUring,
                    "epoll" => ReadinessBackend::Epoll,
                    _ => return Err(ArgError::UnknownBackend(value)),
                });
            }
            "--svg" => {
                if opts.svg.is_some() {
                    return Err(ArgError::Repeated("--svg"));
                }
                let value = match inline {
                    Some(v) => v,
                    None => it.next().ok_or(ArgError::MissingValue("--svg"))?,
                };
                if value.is_empty() {
                    return Err(ArgError::MissingValue("--svg"));
                }
                opts.svg = Some(PathBuf::from(value));
            }
            _ => return Err(ArgError::UnknownFlag(arg)),
        }
    }
    opts.only = SCENARIOS
        .iter()
        .copied()
        .filter(|s| only.contains(s))
        .collect();
    Ok(Command::Run(opts))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<Command, ArgError> {
        parse(args.iter().map(|s| s.to_string()))
    }

    fn run(args: &[&str]) -> Options {
        match p(args) {
            Ok(Command::Run(o)) => o,
            other => panic!("{args:?}: {other:?}"),
        }
    }

    #[test]
    fn defaults_run_everything_in_full() {
        let o = run(&[]);
        assert_eq!(o, Options::default());
        assert!(SCENARIOS.iter().all(|s| o.selected(s)));
    }

    #[test]
    fn flags() {
        let o = run(&["--quick", "--json", "--svg", "out.svg"]);
        assert!(o.quick && o.json);
        assert_eq!(o.svg, Some(PathBuf::from("out.svg")));
        assert_eq!(run(&["--svg=a.svg"]).svg, Some(PathBuf::from("a.svg")));
    }

    #[test]
    fn only_repeatable_comma_list_ordered_deduplicated() {
        let o = run(&[
            "--only",
            "codec,nonblocking",
            "--only=blocking",
            "--only",
            "codec",
        ]);
        assert_eq!(o.only, vec!["nonblocking", "blocking", "codec"]);
        assert!(o.selected("codec") && !o.selected("sockets"));
    }

    #[test]
    fn errors() {
        assert_eq!(p(&["--fast"]), Err(ArgError::UnknownFlag("--fast".into())));
        assert_eq!(p(&["extra"]), Err(ArgError::UnknownFlag("extra".into())));
        assert_eq!(p(&["--only"]), Err(ArgError::MissingValue("--only")));
        assert_eq!(p(&["--only", ","]), Err(ArgError::MissingValue("--only")));
        assert_eq!(p(&["--svg"]), Err(ArgError::MissingValue("--svg")));
        assert_eq!(p(&["--svg="]), Err(ArgError::MissingValue("--svg")));
        assert_eq!(
            p(&["--svg", "a", "--svg", "b"]),
            Err(ArgError::Repeated("--svg"))
        );
        assert_eq!(
            p(&["--only", "nonblocking,disk"]),
            Err(ArgError::UnknownScenario("disk".into()))
        );
        assert_eq!(
            p(&["--quick=yes"]),
            Err(ArgError::UnknownFlag("--quick=yes".into()))
        );
        assert!(
            ArgError::UnknownScenario("x".into())
                .to_string()
                .contains("tree_walk")
        );
    }

    #[test]
    fn help() {
        assert_eq!(p(&["--help"]), Ok(Command::Help));
        assert_eq!(p(&["--quick", "-h"]), Ok(Command::Help));
        assert!(usage().contains("--only NAME"));
    }
}
