//! The README's Performance table, rendered from a saved JSON report.
//!
//! `sysgate-bench --json > crates/bench/results.json` keeps a run;
//! `sysgate-bench --render crates/bench/results.json` prints this table,
//! which goes into the README between the `bench:begin`/`bench:end`
//! markers. A test renders the committed JSON and compares it with the
//! README, so the table cannot drift from the run it claims to show.
//!
//! Every row of the run appears, every baseline of it on its own line, and
//! every target next to what was measured, met or missed.

use std::fmt::Write as _;

use serde_json::Value;

use crate::report::{fmt_ns, fmt_ratio};

/// A JSON report that lacks what the table needs.
#[derive(Debug, PartialEq, Eq)]
pub struct RenderError(pub String);

fn field<'a>(v: &'a Value, key: &str, what: &str) -> Result<&'a Value, RenderError> {
    v.get(key)
        .ok_or_else(|| RenderError(format!("{what} has no `{key}`")))
}

fn text<'a>(v: &'a Value, key: &str, what: &str) -> Result<&'a str, RenderError> {
    field(v, key, what)?
        .as_str()
        .ok_or_else(|| RenderError(format!("{what}.{key} is not a string")))
}

fn number(v: &Value, key: &str, what: &str) -> Result<f64, RenderError> {
    field(v, key, what)?
        .as_f64()
        .ok_or_else(|| RenderError(format!("{what}.{key} is not a number")))
}

/// The Markdown table (with its machine line) for the JSON report `json`.
pub fn render(json: &Value) -> Result<String, RenderError> {
    let machine = field(json, "machine", "the report")?;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} run, {} · Linux {} · {} × {} · {:.1} GiB{} (median ns per operation; ratio = sysgate ÷ baseline, below 1 = sysgate faster):\n",
        text(machine, "mode", "machine")?,
        text(machine, "date", "machine")?,
        text(machine, "kernel", "machine")?,
        number(machine, "cores", "machine")?,
        text(machine, "cpu_model", "machine")?,
        number(machine, "memory_gib", "machine")?,
        // Reports from before the epoll backend do not say.
        machine
            .get("readiness")
            .and_then(Value::as_str)
            .map_or(String::new(), |r| format!(" · readiness {r}")),
    );
    out.push_str("| scenario | setting | sysgate | baseline | baseline ns | ratio | targets |\n");
    out.push_str("|---|---|---|---|---|---|---|\n");
    let rows = field(json, "scenarios", "the report")?
        .as_array()
        .ok_or_else(|| RenderError("scenarios is not a list".into()))?;
    for row in rows {
        let name = text(row, "name", "a scenario")?;
        let setting = text(row, "variant", name)?;
        let sysgate = match field(row, "sysgate", name)? {
            Value::Null => "pending".to_string(),
            s => fmt_ns(number(s, "median_ns", name)?),
        };
        let baselines = field(row, "baselines", name)?
            .as_object()
            .ok_or_else(|| RenderError(format!("{name}.baselines is not an object")))?;
        let targets = row
            .get("targets")
            .and_then(Value::as_array)
            .map_or(&[][..], Vec::as_slice);
        for (i, (key, b)) in baselines.iter().enumerate() {
            let ratio = row
                .get("ratios")
                .and_then(|r| r.get(key))
                .and_then(Value::as_f64)
                .map_or("—".to_string(), fmt_ratio);
            let mut verdicts = Vec::new();
            for t in targets
                .iter()
                .filter(|t| t.get("baseline") == Some(&Value::from(key.as_str())))
            {
                let verdict = match t.get("met") {
                    Some(Value::Bool(true)) => "met",
                    Some(Value::Bool(false)) => "**missed**",
                    _ => "not measured",
                };
                verdicts.push(format!(
                    "{}: {verdict} ({})",
                    text(t, "target", name)?,
                    text(t, "measured", name)?
                ));
            }
            let (scenario, setting, sysgate) = if i == 0 {
                (name, setting, sysgate.as_str())
            } else {
                ("", "", "")
            };
            let _ = writeln!(
                out,
                "| {scenario} | {setting} | {sysgate} | {key} | {} | {ratio} | {} |",
                fmt_ns(number(b, "median_ns", name)?),
                verdicts.join("; ")
            );
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The marker lines around the table in the README.
    const BEGIN: &str =
        "<!-- bench:begin (generated: sysgate-bench --render crates/bench/results.json) -->";
    /// See [`BEGIN`].
    const END: &str = "<!-- bench:end -->";

    /// The text between the README's markers (without the marker lines).
    fn readme_section(readme: &str) -> Option<&str> {
        let start = readme.find(BEGIN)? + BEGIN.len() + 1;
        let end = readme[start..].find(END)? + start;
        Some(&readme[start..end])
    }

    #[test]
    fn the_readme_shows_the_committed_run() {
        let json: Value = serde_json::from_str(include_str!("../results.json")).unwrap();
        let readme = include_str!("../../../README.md");
        let section = readme_section(readme).expect("README has the bench markers");
        assert_eq!(
            section,
            render(&json).unwrap(),
            "README's Performance table differs from crates/bench/results.json: \
             regenerate it with `sysgate-bench --render crates/bench/results.json`"
        );
    }

    #[test]
    fn every_baseline_and_target_is_shown() {
        let json = serde_json::json!({
            "machine": {"mode": "full", "date": "2026-01-01T00:00:00Z", "kernel": "6.1",
                        "cores": 2, "cpu_model": "CPU", "memory_gib": 4.0},
            "scenarios": [{
                "name": "nonblocking", "variant": "batch=32",
                "sysgate": {"median_ns": 1234.0},
                "baselines": {"direct": {"median_ns": 190.0}, "io_uring_nop": {"median_ns": 86.0}},
                "ratios": {"direct": 6.49, "io_uring_nop": 14.3},
                "targets": [{"baseline": "direct", "target": "≤ 1.3× direct", "met": false,
                             "measured": "6.49×, 399% over"}]
            }]
        });
        let table = render(&json).unwrap();
        assert!(table.contains("| nonblocking | batch=32 | 1234.0 | direct | 190.0 | 6.49× | ≤ 1.3× direct: **missed** (6.49×, 399% over) |"), "{table}");
        assert!(
            table.contains("|  |  |  | io_uring_nop | 86.00 | 14.30× |  |"),
            "{table}"
        );
        assert_eq!(
            render(&serde_json::json!({"scenarios": []})),
            Err(RenderError("the report has no `machine`".into()))
        );
    }
}
