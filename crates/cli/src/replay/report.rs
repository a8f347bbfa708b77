//! Printing a replay: the summary, and one line per call with `-v`.

use std::io::{self, Write};
use std::time::Duration;

use super::{Event, Live, Ran, Summary, shorten};
use crate::strace::format_result;

/// `1.234 ms`, `56 µs`, `2.500 s`.
fn duration(d: Duration) -> String {
    let us = d.as_micros();
    if us < 1_000 {
        format!("{us} µs")
    } else if us < 1_000_000 {
        format!("{:.3} ms", d.as_secs_f64() * 1e3)
    } else {
        format!("{:.3} s", d.as_secs_f64())
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The summary (see [`Summary::write_report`]).
pub(super) fn write(s: &Summary, out: &mut dyn Write, listed: usize) -> io::Result<()> {
    writeln!(
        out,
        "trace: {}, {} from {}, {} malformed",
        plural(s.lines, "line", "lines"),
        plural(s.calls, "call", "calls"),
        plural(s.pids.max(1), "pid", "pids"),
        s.malformed.len()
    )?;
    for m in s.malformed.iter().take(listed) {
        writeln!(out, "  malformed {m}")?;
    }
    if s.malformed.len() > listed {
        writeln!(out, "  ... and {} more", s.malformed.len() - listed)?;
    }
    let skipped = s.skipped_total();
    if s.dry_run {
        writeln!(
            out,
            "plan: {} to replay, {} skipped, dependency depth {} (dry run: nothing submitted)",
            plural(s.planned, "call", "calls"),
            skipped,
            s.depth
        )?;
    } else {
        writeln!(
            out,
            "replayed: {} in {} (parsing and planning {}), dependency depth {}",
            plural(s.replayed, "call", "calls"),
            duration(s.wall),
            duration(s.parse_time),
            s.depth
        )?;
        writeln!(
            out,
            "ran: {} inline, {} after waiting for readiness, {} on the pool{}",
            s.ran_inline,
            s.ran_polled,
            s.ran_pool,
            if s.timed_out > 0 {
                format!(", {} timed out", s.timed_out)
            } else {
                String::new()
            }
        )?;
        if let Some(e) = &s.exec {
            writeln!(
                out,
                "executor: {} inline, {} punted ({} bounded, {} unbounded), {} parked, {} polled{}",
                e.inline,
                e.punted_bounded + e.punted_unbounded,
                e.punted_bounded,
                e.punted_unbounded,
                e.parked,
                e.polled,
                if e.refused > 0 {
                    format!(", {} refused", e.refused)
                } else {
                    String::new()
                }
            )?;
        }
    }
    writeln!(out, "skipped: {skipped}")?;
    let mut by_count: Vec<(&&str, &usize)> = s.skipped.iter().collect();
    by_count.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    for (label, n) in by_count {
        writeln!(out, "  {n:>7}  {label}")?;
    }
    if !s.dry_run {
        writeln!(out, "differences: {}", s.differences.len())?;
        for d in s.differences.iter().take(listed) {
            writeln!(out, "  {d}")?;
        }
        if s.differences.len() > listed {
            writeln!(
                out,
                "  ... and {} more (-v lists them all)",
                s.differences.len() - listed
            )?;
        }
    }
    Ok(())
}

/// One `-v` line: `line 12 [pid 7]: read(3, ...) = 5 (traced: 5) inline 4 µs`.
pub(super) fn write_event(out: &mut dyn Write, event: &Event<'_>) -> io::Result<()> {
    let (line, pid, call) = match event {
        Event::Replayed {
            line, pid, call, ..
        }
        | Event::Skipped {
            line, pid, call, ..
        } => (*line, *pid, *call),
    };
    write!(out, "line {line}")?;
    if let Some(pid) = pid {
        write!(out, " [pid {pid}]")?;
    }
    write!(out, ": {}", shorten(call, 100))?;
    match event {
        Event::Skipped { cause, .. } => writeln!(out, " skipped: {cause}"),
        Event::Replayed {
            live,
            traced,
            ran,
            elapsed,
            differs,
            ..
        } => {
            let sig = sysgate_sys::signature_by_name(&call.name);
            let live = match live {
                Live::Result(r) => format!("= {}", format_result(sig, *r)),
                Live::TimedOut => "= ? timed out, cancelled".to_owned(),
            };
            let ran = match ran {
                Some(Ran::Inline) => "inline",
                Some(Ran::Polled) => "polled",
                Some(Ran::Pool) => "pool",
                None => "-",
            };
            writeln!(
                out,
                " {live} (traced: {}) {ran} {}{}",
                format_result(sig, *traced),
                duration(*elapsed),
                if *differs { "  <- differs" } else { "" }
            )
        }
    }
}
