//! Markdown reports for the engine benchmarks: timings of several runs by label, their
//! medians, and tables of rates, ratios and target verdicts.

use std::fmt::Write as _;
use std::time::Duration;

use crate::cpu::Timing;
use crate::stats::median;

/// Timings of repeated runs, by label, in first-seen order, plus named scalar values
/// (e.g. the CPU time of a job's busiest worker thread).
#[derive(Clone, Debug, Default)]
pub struct Samples {
    entries: Vec<(String, Vec<Timing>)>,
    values: Vec<(String, Vec<f64>)>,
}

impl Samples {
    /// Records one run's value of `name`.
    pub fn add_value(&mut self, name: &str, v: f64) {
        match self.values.iter_mut().find(|(l, _)| l == name) {
            Some((_, x)) => x.push(v),
            None => self.values.push((name.to_string(), vec![v])),
        }
    }

    /// Median of the values of `name`.
    pub fn value(&self, name: &str) -> Option<f64> {
        self.values
            .iter()
            .find(|(l, _)| l == name)
            .and_then(|(_, v)| median(v))
    }

    /// Every value of `name`, formatted with two decimals.
    pub fn describe_values(&self, name: &str) -> String {
        self.values
            .iter()
            .find(|(l, _)| l == name)
            .map(|(_, v)| {
                v.iter()
                    .map(|x| format!("{x:.2}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default()
    }

    /// Records one run of `label`.
    pub fn add(&mut self, label: &str, t: Timing) {
        match self.entries.iter_mut().find(|(l, _)| l == label) {
            Some((_, v)) => v.push(t),
            None => self.entries.push((label.to_string(), vec![t])),
        }
    }

    /// All runs of `label`.
    pub fn runs(&self, label: &str) -> &[Timing] {
        self.entries
            .iter()
            .find(|(l, _)| l == label)
            .map(|(_, v)| v.as_slice())
            .unwrap_or(&[])
    }

    /// Median wall time of `label` in seconds.
    pub fn wall(&self, label: &str) -> Option<f64> {
        let v: Vec<f64> = self
            .runs(label)
            .iter()
            .map(|t| t.wall.as_secs_f64())
            .collect();
        median(&v)
    }

    /// Median CPU time of `label` in seconds (`None` if CPU time is not measurable here).
    pub fn cpu(&self, label: &str) -> Option<f64> {
        let v: Vec<f64> = self
            .runs(label)
            .iter()
            .map(|t| t.cpu.as_secs_f64())
            .filter(|&c| c > 0.0)
            .collect();
        median(&v)
    }

    /// Every run of `label` as `wall/CPU` seconds, for the raw-data line under a table.
    pub fn describe(&self, label: &str) -> String {
        self.runs(label)
            .iter()
            .map(|t| format!("{:.2}/{:.2}", t.wall.as_secs_f64(), t.cpu.as_secs_f64()))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Labels in first-seen order.
    pub fn labels(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(l, _)| l.as_str())
    }
}

/// Prints a benchmark's markdown report and, with `--out`, also writes it to that file.
pub fn publish(report: &str, out: Option<&std::path::Path>) -> crate::Result<()> {
    println!("{report}");
    if let Some(out) = out {
        std::fs::write(out, report)?;
    }
    Ok(())
}

/// `amount / secs`, if there is a (positive) time.
pub fn rate(amount: f64, secs: Option<f64>) -> Option<f64> {
    secs.filter(|&s| s > 0.0).map(|s| amount / s)
}

/// `a / b`, if both exist and `b` is not zero.
pub fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) if b != 0.0 => Some(a / b),
        _ => None,
    }
}

/// A number with three significant digits (or `n/a`).
pub fn num(v: Option<f64>) -> String {
    match v {
        None => "n/a".to_string(),
        Some(x) if x.abs() >= 100.0 => format!("{x:.0}"),
        Some(x) if x.abs() >= 10.0 => format!("{x:.1}"),
        Some(x) => format!("{x:.2}"),
    }
}

/// A ratio as `1.23×` (or `n/a`).
pub fn times(v: Option<f64>) -> String {
    match v {
        None => "n/a".to_string(),
        Some(x) => format!("{x:.2}×"),
    }
}

/// `✅ met` / `❌ missed` for a ratio that must be at least `min`.
pub fn at_least(v: Option<f64>, min: f64) -> String {
    match v {
        None => "n/a".to_string(),
        Some(x) if x >= min => format!("✅ ≥ {min}"),
        Some(_) => format!("❌ ≥ {min}"),
    }
}

/// Seconds with two decimals.
pub fn secs(d: Duration) -> String {
    format!("{:.2}s", d.as_secs_f64())
}

/// A markdown table.
#[derive(Clone, Debug)]
pub struct MdTable {
    header: Vec<String>,
    right: Vec<bool>,
    rows: Vec<Vec<String>>,
}

impl MdTable {
    /// A table with these column headers; a header starting with `>` is right-aligned
    /// (the `>` is not shown).
    pub fn new(header: &[&str]) -> MdTable {
        MdTable {
            header: header
                .iter()
                .map(|h| h.trim_start_matches('>').to_string())
                .collect(),
            right: header.iter().map(|h| h.starts_with('>')).collect(),
            rows: Vec::new(),
        }
    }

    /// Appends a row (missing cells are left empty, extra cells dropped).
    pub fn row(&mut self, mut cells: Vec<String>) {
        cells.resize(self.header.len(), String::new());
        self.rows.push(cells);
    }

    /// The table as markdown.
    pub fn render(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "| {} |", self.header.join(" | "));
        let align: Vec<&str> = self
            .right
            .iter()
            .map(|&r| if r { "---:" } else { "---" })
            .collect();
        let _ = writeln!(s, "|{}|", align.join("|"));
        for r in &self.rows {
            let _ = writeln!(s, "| {} |", r.join(" | "));
        }
        s
    }
}

/// The machine line every report starts with: cores, memory and the load average now.
pub fn machine() -> String {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let mem_gib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0 / 1024.0);
    format!(
        "{cores} cores, {} GiB RAM, load average {}",
        num(mem_gib),
        loadavg()
    )
}

/// The 1/5/15-minute load averages from `/proc/loadavg` (or `n/a`).
pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "n/a".to_string())
}

/// Fails the benchmark when a peer's count differs from the expected one (a wrong answer
/// must never be timed as a fast one).
pub fn check(what: &str, got: u64, want: u64) -> crate::Result<()> {
    if got != want {
        return Err(format!("{what}: got {got}, expected {want}").into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_medians_and_tables() {
        let mut s = Samples::default();
        for (w, c) in [(3, 2), (1, 1), (2, 4)] {
            s.add(
                "x",
                Timing {
                    wall: Duration::from_secs(w),
                    cpu: Duration::from_secs(c),
                },
            );
        }
        assert_eq!(s.wall("x"), Some(2.0));
        assert_eq!(s.cpu("x"), Some(2.0));
        assert_eq!(s.wall("y"), None);
        assert_eq!(s.labels().collect::<Vec<_>>(), vec!["x"]);
        s.add_value("v", 3.0);
        s.add_value("v", 1.0);
        s.add_value("v", 2.0);
        assert_eq!(s.value("v"), Some(2.0));
        assert_eq!(s.describe_values("v"), "3.00, 1.00, 2.00");
        assert_eq!(rate(10.0, Some(2.0)), Some(5.0));
        assert_eq!(rate(10.0, Some(0.0)), None);
        assert_eq!(ratio(Some(3.0), Some(2.0)), Some(1.5));
        assert_eq!(num(Some(1234.5)), "1234");
        assert_eq!(times(Some(1.5)), "1.50×");
        assert!(at_least(Some(0.5), 0.7).starts_with('❌'));
        let mut t = MdTable::new(&["a", ">b"]);
        t.row(vec!["1".into()]);
        assert_eq!(t.render(), "| a | b |\n|---|---:|\n| 1 |  |\n");
    }
}
