//! `sysgate-bench`: sysgate against its alternatives, side by side, in one
//! run (issue 9). See `crates/bench/README.md` for what every scenario and
//! variant measures, the JSON schema and how to read the numbers.
//!
//! Layout: [`harness`] (interleaved rounds, CPU time, medians), [`report`]
//! (rows, targets, text and JSON), [`svg`] (the chart), [`scenarios`] (one
//! module per scenario, plus the plain thread-pool baseline), [`uring`] (the
//! io_uring baselines: the only unsafe code), and [`sysgate_side`] — the
//! only module that talks to sysgate, to be ported to the client crate.
#![deny(unsafe_op_in_unsafe_fn)]

mod args;
mod harness;
mod machine;
mod markdown;
mod report;
mod scenarios;
mod svg;
mod sysgate_side;
mod uring;

use std::process::ExitCode;
use std::time::Instant;

use args::{Command, Options, parse, usage};
use machine::Machine;
use report::Report;
use scenarios::Config;

/// A scenario: runs its variants and adds its rows to the report.
type ScenarioFn = fn(&Config, &mut Report);

fn main() -> ExitCode {
    let opts = match parse(std::env::args().skip(1)) {
        Ok(Command::Run(o)) => o,
        Ok(Command::Render(path)) => return render(&path),
        Ok(Command::Help) => {
            print!("{}", usage());
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("sysgate-bench: {e}\n\n{}", usage());
            return ExitCode::from(2);
        }
    };
    run(&opts)
}

/// Prints the README table for the JSON report at `path`.
fn render(path: &std::path::Path) -> ExitCode {
    let json = std::fs::read_to_string(path)
        .map_err(|e| e.to_string())
        .and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string()))
        .and_then(|v| markdown::render(&v).map_err(|e| e.0));
    match json {
        Ok(table) => {
            print!("{table}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("sysgate-bench: {}: {e}", path.display());
            ExitCode::from(2)
        }
    }
}

fn run(opts: &Options) -> ExitCode {
    if let Some(backend) = opts.backend {
        // SAFETY: nothing else runs yet (no thread has been started: the
        // scenarios start theirs later), so nothing reads the environment
        // while it changes. Every gateway of the run reads it.
        unsafe { std::env::set_var("SYSGATE_READINESS", backend.name()) };
    }
    let machine = Machine::probe(opts.quick);
    let cfg = Config::new(opts.quick);
    let started = Instant::now();
    let mut report = Report::default();
    let all: [(&str, ScenarioFn); 8] = [
        ("nonblocking", scenarios::nonblocking::run),
        ("cached_read", scenarios::cached_read::run),
        ("blocking", scenarios::blocking::run),
        ("mixed", scenarios::mixed::run),
        ("sockets", scenarios::sockets::run),
        ("tree_walk", scenarios::tree_walk::run),
        ("codec", scenarios::codec::run),
        ("big_read", scenarios::big_read::run),
    ];
    for (name, f) in all {
        if opts.selected(name) {
            f(&cfg, &mut report);
        }
    }
    let text = report::text(&report, &machine);
    let tail = format!(
        "\nwall time of the run: {:.1} s",
        started.elapsed().as_secs_f64()
    );
    if opts.json {
        eprint!("{text}");
        eprintln!("{tail}");
        match serde_json::to_string_pretty(&report::json(&report, &machine)) {
            Ok(j) => println!("{j}"),
            Err(e) => {
                eprintln!("sysgate-bench: cannot serialise the report: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        print!("{text}");
        println!("{tail}");
    }
    if let Some(path) = &opts.svg {
        if let Err(e) = std::fs::write(path, svg::chart(&report, &machine)) {
            eprintln!("sysgate-bench: cannot write {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
        eprintln!("[sysgate-bench] chart written to {}", path.display());
    }
    ExitCode::SUCCESS
}
