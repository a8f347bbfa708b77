//! The machine line: kernel, CPU, cores, memory, date.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;
use sysgate::ReadinessBackend;

/// What the report says about where it ran. The `machine` object of the
/// JSON report (more keys may be added; none is removed or renamed).
#[derive(Clone, Debug, Serialize)]
pub struct Machine {
    /// `uname -r`.
    pub kernel: String,
    /// The first `model name` of `/proc/cpuinfo`.
    pub cpu_model: String,
    /// CPUs this process may run on.
    pub cores: usize,
    /// `MemTotal` of `/proc/meminfo`, in GiB.
    pub memory_gib: f64,
    /// `x86_64` or `aarch64`.
    pub arch: &'static str,
    /// When the run started, UTC, ISO 8601.
    pub date: String,
    /// `quick` or `full`.
    pub mode: &'static str,
    /// The version of sysgate-bench.
    pub sysgate_version: &'static str,
    /// The readiness backend of the run's gateways (`io_uring` or `epoll`).
    pub readiness: &'static str,
}

impl Machine {
    /// This machine, now.
    pub fn probe(quick: bool) -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Machine {
            kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .map(|s| s.trim().to_string())
                .unwrap_or_else(|_| "unknown".into()),
            cpu_model: field(&cpuinfo, "model name").unwrap_or_else(|| "unknown".into()),
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            memory_gib: field(&meminfo, "MemTotal")
                .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
                .map_or(0.0, |kib| (kib / (1024.0 * 1024.0) * 10.0).round() / 10.0),
            arch: std::env::consts::ARCH,
            date: iso8601_utc(secs),
            mode: if quick { "quick" } else { "full" },
            sysgate_version: env!("CARGO_PKG_VERSION"),
            readiness: ReadinessBackend::resolve(ReadinessBackend::from_env()).name(),
        }
    }

    /// One line for the text report.
    pub fn line(&self) -> String {
        format!(
            "{} · Linux {} · {} × {} · {} GiB · {} run · readiness {}",
            self.date,
            self.kernel,
            self.cores,
            self.cpu_model,
            self.memory_gib,
            self.mode,
            self.readiness
        )
    }
}

/// The value of the first `key : value` line of a /proc file.
fn field(text: &str, key: &str) -> Option<String> {
    text.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        (k.trim() == key).then(|| v.trim().to_string())
    })
}

/// `secs` since the Unix epoch as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn iso8601_utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's days-to-civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3_600,
        rem % 3_600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(iso8601_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601_utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(iso8601_utc(1_700_000_000), "2023-11-14T22:13:20Z");
    }

    #[test]
    fn proc_fields() {
        let t = "processor\t: 0\nmodel name\t: AMD EPYC\n";
        assert_eq!(field(t, "model name").as_deref(), Some("AMD EPYC"));
        assert_eq!(field(t, "nope"), None);
    }
}
