//! A hand-written SVG bar chart of the ratios: one horizontal bar per
//! (row, baseline), on a log scale centred on 1.0 — green bars to the left
//! (sysgate takes less time), red bars to the right (sysgate takes more).

use std::fmt::Write as _;

use crate::machine::Machine;
use crate::report::{Report, SysgateOutcome, fmt_ratio};

const WIDTH: f64 = 1040.0;
const LABEL_RIGHT: f64 = 440.0;
const PLOT_LEFT: f64 = 456.0;
const PLOT_RIGHT: f64 = 940.0;
const VALUE_LEFT: f64 = 952.0;
const TOP: f64 = 96.0;
const PITCH: f64 = 22.0;
const BAR: f64 = 15.0;
const GROUP_GAP: f64 = 30.0;
const FASTER: &str = "#2e7d32";
const SLOWER: &str = "#c62828";

/// Escapes text for XML character data and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// The decades the axis spans: at least 0.1..10, widened to every ratio,
/// at most 1e-4..1e4 (ratios beyond are drawn at the edge).
pub fn decades(ratios: impl IntoIterator<Item = f64>) -> (i32, i32) {
    let (mut lo, mut hi) = (-1i32, 1i32);
    for r in ratios {
        if r.is_finite() && r > 0.0 {
            let l = r.log10();
            lo = lo.min(l.floor() as i32);
            hi = hi.max(l.ceil() as i32);
        }
    }
    (lo.max(-4), hi.min(4))
}

/// `10^d` written out: `0.01×`, `0.1×`, `1×`, `10×`, `100×`.
pub fn decade_label(d: i32) -> String {
    let zeros = "0".repeat(d.unsigned_abs() as usize);
    if d < 0 {
        format!("0.{}1×", &zeros[1..])
    } else {
        format!("1{zeros}×")
    }
}

/// The chart for `report`.
pub fn chart(report: &Report, machine: &Machine) -> String {
    let all: Vec<f64> = report
        .rows
        .iter()
        .flat_map(|r| r.ratios().into_iter().map(|(_, v)| v))
        .collect();
    let (lo, hi) = decades(all.iter().copied());
    let x = |r: f64| {
        let l = if r.is_finite() && r > 0.0 {
            r.log10().clamp(f64::from(lo), f64::from(hi))
        } else {
            0.0
        };
        PLOT_LEFT + (l - f64::from(lo)) / f64::from(hi - lo) * (PLOT_RIGHT - PLOT_LEFT)
    };

    // Lay out first, to know the height.
    let mut body = String::new();
    let mut y = TOP;
    let mut scenario = "";
    for row in &report.rows {
        if row.scenario != scenario {
            scenario = row.scenario;
            y += if y > TOP {
                GROUP_GAP - PITCH + 8.0
            } else {
                0.0
            };
            let _ = writeln!(
                body,
                r#"<text x="8" y="{:.1}" class="group">{}</text>"#,
                y + 12.0,
                escape(scenario)
            );
            y += PITCH;
        }
        match &row.sysgate {
            SysgateOutcome::Pending(why) => {
                let _ = writeln!(
                    body,
                    r#"<text x="{LABEL_RIGHT}" y="{:.1}" class="label" text-anchor="end">{}</text>"#,
                    y + 12.0,
                    escape(&row.variant)
                );
                let text = format!("sysgate pending: {why}");
                // A white box under the text, so the grid does not cross it
                // (about 6.6 px per character at 12 px).
                let _ = writeln!(
                    body,
                    r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{BAR}" fill="white" class="backdrop"/>"#,
                    PLOT_LEFT - 3.0,
                    y + 1.0,
                    text.chars().count() as f64 * 6.6 + 6.0
                );
                let _ = writeln!(
                    body,
                    r#"<text x="{PLOT_LEFT}" y="{:.1}" class="pending">{}</text>"#,
                    y + 12.0,
                    escape(&text)
                );
                y += PITCH;
            }
            SysgateOutcome::Measured(_) => {
                for (key, r) in row.ratios() {
                    let label = row
                        .baselines
                        .iter()
                        .find(|b| b.key == key)
                        .map_or(key.to_string(), |b| b.label.clone());
                    let (x0, x1) = (x(1.0), x(r));
                    let (left, w) = (x0.min(x1), (x1 - x0).abs().max(1.0));
                    let color = if r <= 1.0 { FASTER } else { SLOWER };
                    let _ = writeln!(
                        body,
                        r#"<text x="{LABEL_RIGHT}" y="{:.1}" class="label" text-anchor="end">{} · vs {}</text>"#,
                        y + 12.0,
                        escape(&row.variant),
                        escape(&label)
                    );
                    let _ = writeln!(
                        body,
                        r#"<rect x="{left:.1}" y="{:.1}" width="{w:.1}" height="{BAR}" fill="{color}"><title>{} {} vs {}: {}</title></rect>"#,
                        y + 1.0,
                        escape(row.scenario),
                        escape(&row.variant),
                        escape(&label),
                        escape(&fmt_ratio(r))
                    );
                    let _ = writeln!(
                        body,
                        r#"<text x="{VALUE_LEFT}" y="{:.1}" class="value" fill="{color}">{}</text>"#,
                        y + 12.0,
                        escape(&fmt_ratio(r))
                    );
                    y += PITCH;
                }
            }
        }
    }
    let bottom = y + 8.0;
    let height = bottom + 40.0;

    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height:.0}" viewBox="0 0 {WIDTH} {height:.0}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(
        svg,
        "<style>.group{{font-weight:bold;font-size:14px}} .label{{fill:#222}} .pending{{fill:#666;font-style:italic}} .value{{font-weight:bold}} .tick{{fill:#555;font-size:11px}}</style>"
    );
    let _ = writeln!(
        svg,
        r#"<rect x="0" y="0" width="{WIDTH}" height="{height:.0}" fill="white"/>"#
    );
    let _ = writeln!(
        svg,
        r#"<text x="8" y="22" font-size="17" font-weight="bold">sysgate vs. baselines: time per operation, sysgate ÷ baseline (log scale)</text>"#
    );
    let _ = writeln!(
        svg,
        r#"<text x="8" y="42"><tspan fill="{FASTER}" font-weight="bold">◀ green, left of 1×: sysgate takes less time</tspan>   <tspan fill="{SLOWER}" font-weight="bold">red, right of 1×: sysgate takes more ▶</tspan></text>"#
    );
    let _ = writeln!(
        svg,
        r#"<text x="8" y="60" class="tick">{}</text>"#,
        escape(&machine.line())
    );
    // Decade grid and labels, top and bottom.
    for d in lo..=hi {
        let r = 10f64.powi(d);
        let gx = x(r);
        let (stroke, w) = if d == 0 { ("#000", 2.0) } else { ("#ccc", 1.0) };
        let _ = writeln!(
            svg,
            r#"<line x1="{gx:.1}" y1="{:.1}" x2="{gx:.1}" y2="{bottom:.1}" stroke="{stroke}" stroke-width="{w}"/>"#,
            TOP - 8.0
        );
        let label = if d == 0 {
            "1× (parity)".to_string()
        } else {
            decade_label(d)
        };
        for ty in [TOP - 12.0, bottom + 16.0] {
            let _ = writeln!(
                svg,
                r#"<text x="{gx:.1}" y="{ty:.1}" class="tick" text-anchor="middle">{}</text>"#,
                escape(&label)
            );
        }
    }
    svg.push_str(&body);
    let _ = writeln!(
        svg,
        r#"<text x="{PLOT_LEFT}" y="{:.1}" class="tick">ratio of medians; below 1 = sysgate faster (throughput rows: higher ops/s)</text>"#,
        bottom + 32.0
    );
    svg.push_str("</svg>\n");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::sample_report;

    /// A small XML well-formedness check: balanced, properly nested tags,
    /// quoted attributes, no raw `<` or stray `&` in text, one root.
    fn well_formed(doc: &str) -> Result<(), String> {
        let mut stack: Vec<String> = Vec::new();
        let mut roots = 0;
        let mut rest = doc;
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix('<') {
                let end = after.find('>').ok_or("unclosed tag")?;
                let tag = &after[..end];
                rest = &after[end + 1..];
                if tag.starts_with('?') || tag.starts_with('!') {
                    continue;
                }
                if let Some(name) = tag.strip_prefix('/') {
                    let open = stack.pop().ok_or(format!("stray </{name}>"))?;
                    if open != name.trim() {
                        return Err(format!("<{open}> closed by </{name}>"));
                    }
                    continue;
                }
                let self_closing = tag.ends_with('/');
                let tag = tag.trim_end_matches('/');
                let name = tag.split_whitespace().next().ok_or("empty tag")?;
                if tag.matches('"').count() % 2 != 0 {
                    return Err(format!("unbalanced quotes in <{tag}>"));
                }
                if tag.contains('<') {
                    return Err(format!("'<' inside <{tag}>"));
                }
                if stack.is_empty() {
                    roots += 1;
                }
                if !self_closing {
                    stack.push(name.to_string());
                }
            } else {
                let end = rest.find('<').unwrap_or(rest.len());
                let text = &rest[..end];
                let mut amp = text;
                while let Some(i) = amp.find('&') {
                    let tail = &amp[i + 1..];
                    let semi = tail.find(';').ok_or("& without ;")?;
                    let ent = &tail[..semi];
                    if !["amp", "lt", "gt", "quot", "apos"].contains(&ent) {
                        return Err(format!("unknown entity &{ent};"));
                    }
                    amp = &tail[semi + 1..];
                }
                if !stack.is_empty() || text.trim().is_empty() {
                    rest = &rest[end..];
                } else {
                    return Err(format!("text outside the root: {text:?}"));
                }
            }
        }
        if !stack.is_empty() {
            return Err(format!("unclosed {stack:?}"));
        }
        if roots != 1 {
            return Err(format!("{roots} roots"));
        }
        Ok(())
    }

    #[test]
    fn checker_catches_errors() {
        assert!(well_formed("<a><b/></a>").is_ok());
        assert!(well_formed("<a><b></a>").is_err());
        assert!(well_formed("<a>x & y</a>").is_err());
        assert!(well_formed("<a x=\"1></a>").is_err());
        assert!(well_formed("<a/><b/>").is_err());
    }

    #[test]
    fn chart_is_well_formed_with_a_parity_line_and_one_bar_per_ratio() {
        let mut report = sample_report();
        // Labels with characters that need escaping.
        report.rows[0].baselines[0].label = "direct <getppid> & \"friends\"".into();
        let svg = chart(&report, &Machine::probe(true));
        well_formed(&svg).unwrap_or_else(|e| panic!("{e}\n{svg}"));
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.contains("1× (parity)"));
        assert!(svg.contains("stroke=\"#000\" stroke-width=\"2\""));
        // Minus the background and the pending row's backdrop.
        let bars = svg.matches("<rect").count() - 1 - svg.matches("class=\"backdrop\"").count();
        let ratios: usize = report.rows.iter().map(|r| r.ratios().len()).sum();
        assert_eq!(bars, ratios);
        assert!(svg.contains("sysgate pending: needs the client crate"));
        assert!(svg.contains("&lt;getppid&gt; &amp; &quot;friends&quot;"));
    }

    #[test]
    fn axis_covers_ratios() {
        assert_eq!(decades([]), (-1, 1));
        assert_eq!(decades([0.004, 2.0]), (-3, 1));
        assert_eq!(decades([150.0]), (-1, 3));
        assert_eq!(decades([1e-9, f64::NAN, 0.0]), (-4, 1));
    }

    #[test]
    fn decade_labels() {
        assert_eq!(decade_label(-3), "0.001×");
        assert_eq!(decade_label(-1), "0.1×");
        assert_eq!(decade_label(0), "1×");
        assert_eq!(decade_label(2), "100×");
    }

    #[test]
    fn escaping() {
        assert_eq!(escape("a<b>&\"'"), "a&lt;b&gt;&amp;&quot;&apos;");
    }
}
