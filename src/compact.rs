//! `basalt compact plan|run|report`: the nightly compaction tool. Operators turn automatic
//! major compactions off and run them at night, table by table, throttled; `plan` shows
//! what a run would do without changing anything, `run` does it, and `report` shows the
//! history kept in `<root>/compaction-history.jsonl`.

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::Duration;

use clap::{Args, Subcommand};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use store_server::compaction::tool::plan::{plan, PlanOptions, StorePlan};
use store_server::compaction::tool::report::{append_history, history_path, read_history};
use store_server::compaction::tool::resolve_tables;
use store_server::compaction::tool::run::{run, Progress, RunOptions, RunSummary, Window};
use store_server::{Config, Connection};

/// Which tables and which kind of compaction.
#[derive(Debug, Clone, Args)]
pub struct Selection {
    /// Tables to compact (or `--all`).
    #[arg(value_name = "TABLE")]
    pub tables: Vec<String>,
    /// Every enabled user table.
    #[arg(long, conflicts_with = "tables")]
    pub all: bool,
    /// Major compaction: all files of each store, dropping delete markers and the cells
    /// they cover, expired cells and excess versions.
    #[arg(long)]
    pub major: bool,
    /// Minor policy: fewest files a minor compaction takes.
    #[arg(long, value_name = "N")]
    pub min_files: Option<usize>,
    /// Minor policy: a file is eligible if at most R times the sum of the others.
    #[arg(long, value_name = "R")]
    pub ratio: Option<f64>,
    /// Work on disabled tables, straight from their files without serving them (HBase's
    /// CompactionTool); with --all, every disabled user table.
    #[arg(long)]
    pub offline: bool,
}

/// Arguments of `compact run`.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// Tables and policy.
    #[command(flatten)]
    pub sel: Selection,
    /// Global write limit in MB/s (10^6 bytes) across all parallel compactions.
    #[arg(long, value_name = "MB/s")]
    pub throttle: Option<f64>,
    /// Regions compacted at once.
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub parallel: usize,
    /// Start no new region after this long (e.g. 90s, 30m, 2h, 1h30m); running ones finish.
    #[arg(long, value_name = "D", value_parser = parse_duration)]
    pub max_duration: Option<Duration>,
    /// Start regions only inside this daily window, in UTC (e.g. 22:00-06:00).
    #[arg(long, value_name = "HH:MM-HH:MM")]
    pub window: Option<String>,
}

/// The `compact` subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum CompactCommand {
    /// Dry run: per region and family, the files a compaction would take, their sizes, the
    /// expected output size and the cells it would drop, with advice. Changes nothing.
    Plan {
        /// Tables and policy.
        #[command(flatten)]
        sel: Selection,
        /// Print one JSON object per store instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Compact regions in parallel under one global write throttle; safe to interrupt
    /// (Ctrl-C or kill -9): a re-run continues.
    Run(RunArgs),
    /// The last runs from the history: per table files before/after, bytes read/written,
    /// cells dropped by reason, duration and MB/s.
    Report {
        /// Print the history lines as stored (JSON lines).
        #[arg(long)]
        json: bool,
        /// How many of the latest runs to show.
        #[arg(long, value_name = "N", default_value_t = 10)]
        last: usize,
    },
}

/// Parses `90`, `90s`, `30m`, `2h` or combinations like `1h30m`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    if let Ok(secs) = s.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    let mut total = 0u64;
    let mut num = String::new();
    for c in s.chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let n: u64 = num
            .parse()
            .map_err(|_| format!("bad duration '{s}': expected e.g. 90s, 30m, 2h"))?;
        num.clear();
        let mult = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            _ => return Err(format!("bad duration '{s}': unknown unit '{c}'")),
        };
        total = total.saturating_add(n.saturating_mul(mult));
    }
    if !num.is_empty() {
        return Err(format!(
            "bad duration '{s}': number without unit at the end"
        ));
    }
    Ok(Duration::from_secs(total))
}

/// Runs one `compact` subcommand against the store at `root` (`--root`, `$BASALT_ROOT` or
/// `./basalt-data`). Errors go to stderr.
pub fn main(root: Option<PathBuf>, cmd: CompactCommand) -> ExitCode {
    let root = crate::shell::resolve_root(root);
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let result = match cmd {
        CompactCommand::Report { json, last } => report(&root, json, last, &mut out),
        cmd => with_store(&root, |conn| match &cmd {
            CompactCommand::Plan { sel, json } => do_plan(conn, sel, *json, &mut out),
            CompactCommand::Run(args) => do_run(conn, &root, args, &mut out),
            CompactCommand::Report { .. } => Ok(()),
        }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("basalt: error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Opens the store with background flushes and compactions off (the tool is the only
/// compactor while it runs), runs `f`, closes.
fn with_store(
    root: &Path,
    f: impl FnOnce(&Connection) -> Result<(), String>,
) -> Result<(), String> {
    if !root.exists() {
        return Err(format!("no store at {}", root.display()));
    }
    let config = Config {
        background: false,
        ..Config::default()
    };
    let conn = Connection::embedded_with_config(root, config).map_err(|e| e.to_string())?;
    let r = f(&conn);
    let closed = conn.close().map_err(|e| e.to_string());
    r.and(closed)
}

fn apply_policy(
    sel: &Selection,
    policy: &mut store_server::compaction::CompactionConfig,
) -> Result<(), String> {
    if let Some(n) = sel.min_files {
        if n < 2 {
            return Err("--min-files must be at least 2".into());
        }
        policy.min_files = n;
        policy.max_files = policy.max_files.max(n);
    }
    if let Some(r) = sel.ratio {
        if !(r.is_finite() && r > 0.0) {
            return Err("--ratio must be a positive number".into());
        }
        policy.ratio = r;
    }
    Ok(())
}

fn mb(bytes: u64) -> String {
    format!("{:.2} MB", bytes as f64 / 1e6)
}

fn do_plan(
    conn: &Connection,
    sel: &Selection,
    json: bool,
    out: &mut dyn Write,
) -> Result<(), String> {
    let server = conn.server();
    let tables =
        resolve_tables(server, &sel.tables, sel.all, sel.offline).map_err(|e| e.to_string())?;
    let mut opts = PlanOptions::new(server, sel.major);
    opts.offline = sel.offline;
    apply_policy(sel, &mut opts.policy)?;
    let plans = plan(server, &tables, &opts).map_err(|e| e.to_string())?;
    let w = |r: std::io::Result<()>| r.map_err(|e| e.to_string());
    if json {
        for p in &plans {
            w(writeln!(out, "{}", plan_json(p)))?;
        }
        return Ok(());
    }
    w(writeln!(
        out,
        "{} compaction plan (dry run, nothing changed)",
        if sel.major { "major" } else { "minor" }
    ))?;
    for p in &plans {
        let fam = String::from_utf8_lossy(&p.family);
        w(writeln!(
            out,
            "{} region {} family {}: {} of {} files, {} -> ~{}, drops {} markers, {} deleted, {} expired, {} excess versions, {} duplicates",
            p.table,
            p.region,
            fam,
            p.selected.len(),
            p.files_total,
            mb(p.bytes_in),
            mb(p.expected_bytes_out),
            p.dropped.delete_markers,
            p.dropped.deleted,
            p.dropped.expired_ttl,
            p.dropped.excess_versions,
            p.dropped.duplicates,
        ))?;
        for f in &p.selected {
            w(writeln!(
                out,
                "    {}  {} bytes  {} cells",
                f.name, f.size, f.entries
            ))?;
        }
        for a in &p.advice {
            w(writeln!(out, "    ADVICE: {a}"))?;
        }
    }
    let total_in: u64 = plans.iter().map(|p| p.bytes_in).sum();
    let total_out: u64 = plans.iter().map(|p| p.expected_bytes_out).sum();
    let stores = plans.iter().filter(|p| !p.selected.is_empty()).count();
    w(writeln!(
        out,
        "total: {stores} stores to compact, {} -> ~{}",
        mb(total_in),
        mb(total_out)
    ))
}

fn plan_json(p: &StorePlan) -> String {
    let d = &p.dropped;
    serde_json::json!({
        "table": p.table.to_string(),
        "region": p.region,
        "family": String::from_utf8_lossy(&p.family),
        "files_total": p.files_total,
        "selected": p.selected.iter().map(|f| serde_json::json!({
            "name": f.name, "size": f.size, "entries": f.entries
        })).collect::<Vec<_>>(),
        "bytes_in": p.bytes_in,
        "expected_bytes_out": p.expected_bytes_out,
        "cells_in": p.cells_in,
        "cells_out": p.cells_out,
        "dropped": {
            "delete_markers": d.delete_markers,
            "deleted": d.deleted,
            "expired_ttl": d.expired_ttl,
            "excess_versions": d.excess_versions,
            "duplicates": d.duplicates,
            "other": d.other,
        },
        "advice": p.advice.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
    })
    .to_string()
}

fn do_run(
    conn: &Connection,
    root: &Path,
    args: &RunArgs,
    out: &mut dyn Write,
) -> Result<(), String> {
    let (sel, throttle, parallel) = (&args.sel, args.throttle, args.parallel);
    let window = match &args.window {
        Some(w) => Some(Window::parse(w).map_err(|e| e.to_string())?),
        None => None,
    };
    let server = conn.server();
    let tables =
        resolve_tables(server, &sel.tables, sel.all, sel.offline).map_err(|e| e.to_string())?;
    let throttle_bytes_per_sec = match throttle {
        None => None,
        Some(t) if t.is_finite() && t > 0.0 => Some((t * 1e6).max(1.0) as u64),
        Some(t) => {
            return Err(format!(
                "--throttle must be a positive number of MB/s, got {t}"
            ))
        }
    };
    if parallel == 0 {
        return Err("--parallel must be at least 1".into());
    }
    let mut opts = RunOptions {
        major: sel.major,
        policy: server.config().compaction,
        throttle_bytes_per_sec,
        parallel,
        max_duration: args.max_duration,
        window,
        offline: sel.offline,
    };
    apply_policy(sel, &mut opts.policy)?;
    let bars = TableBars::new();
    let summary = run(server, &tables, &opts, &|p| bars.update(p)).map_err(|e| match e {
        store_server::Error::TableDisabled(t) => {
            format!("table is disabled: {t} (compact disabled tables with --offline)")
        }
        e => e.to_string(),
    })?;
    append_history(root, &summary).map_err(|e| e.to_string())?;
    print_summary(&summary, out).map_err(|e| e.to_string())
}

/// Progress per table: one bar each on a terminal, else one log line per finished region
/// (for cron logs).
struct TableBars {
    multi: Option<MultiProgress>,
    bars: Mutex<HashMap<String, ProgressBar>>,
}

impl TableBars {
    fn new() -> TableBars {
        TableBars {
            multi: std::io::stderr().is_terminal().then(MultiProgress::new),
            bars: Mutex::new(HashMap::new()),
        }
    }

    fn update(&self, p: Progress<'_>) {
        let Some(multi) = &self.multi else {
            eprintln!("compact: {}: {}/{} regions", p.table, p.done, p.total);
            return;
        };
        let mut bars = self.bars.lock().unwrap_or_else(|e| e.into_inner());
        let bar = bars.entry(p.table.to_string()).or_insert_with(|| {
            let bar = multi.add(ProgressBar::new(p.total as u64));
            if let Ok(style) = ProgressStyle::with_template(
                "{prefix:>16} [{bar:30}] {pos}/{len} regions {elapsed}",
            ) {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.set_prefix(p.table.to_string());
            bar
        });
        bar.set_position(p.done as u64);
        if p.done >= p.total {
            bar.finish();
        }
    }
}

fn print_summary(s: &RunSummary, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(
        out,
        "{} compaction: {:.1} s, {:.2} MB/s written{}",
        if s.major { "major" } else { "minor" },
        s.duration_ms as f64 / 1000.0,
        s.write_mb_per_sec(),
        if s.completed {
            ""
        } else {
            " (stopped early: --max-duration reached)"
        }
    )?;
    for t in &s.tables {
        writeln!(
            out,
            "  {}: files {} -> {}, read {}, wrote {}, dropped {} markers, {} deleted, {} expired, {} excess versions, {} duplicates{}",
            t.table,
            t.files_before,
            t.files_after,
            mb(t.bytes_read),
            mb(t.bytes_written),
            t.dropped.delete_markers,
            t.dropped.deleted,
            t.dropped.expired_ttl,
            t.dropped.excess_versions,
            t.dropped.duplicates,
            if t.regions_skipped > 0 {
                format!(", {} of {} regions not started", t.regions_skipped, t.regions)
            } else {
                String::new()
            }
        )?;
    }
    Ok(())
}

fn report(root: &Path, json: bool, last: usize, out: &mut dyn Write) -> Result<(), String> {
    let lines = read_history(root).map_err(|e| e.to_string())?;
    let start = lines.len().saturating_sub(last);
    let w = |r: std::io::Result<()>| r.map_err(|e| e.to_string());
    if lines.is_empty() {
        return w(writeln!(
            out,
            "no compaction history yet ({})",
            history_path(root).display()
        ));
    }
    for (i, line) in lines[start..].iter().enumerate() {
        if json {
            w(writeln!(out, "{line}"))?;
            continue;
        }
        let v: serde_json::Value = serde_json::from_str(line).map_err(|e| {
            format!(
                "{}: line {}: {e}",
                history_path(root).display(),
                start + i + 1
            )
        })?;
        let num = |v: &serde_json::Value, k: &str| v.get(k).and_then(|x| x.as_u64()).unwrap_or(0);
        w(writeln!(
            out,
            "run at {} ms: {}, {:.1} s, {:.2} MB/s{}",
            num(&v, "started_ms"),
            if v.get("major").and_then(|x| x.as_bool()).unwrap_or(false) {
                "major"
            } else {
                "minor"
            },
            num(&v, "duration_ms") as f64 / 1000.0,
            v.get("write_mb_per_sec")
                .and_then(|x| x.as_f64())
                .unwrap_or(0.0),
            if v.get("completed").and_then(|x| x.as_bool()).unwrap_or(true) {
                ""
            } else {
                " (stopped early)"
            }
        ))?;
        let empty = Vec::new();
        for t in v.get("tables").and_then(|x| x.as_array()).unwrap_or(&empty) {
            let d = t.get("dropped").cloned().unwrap_or_default();
            w(writeln!(
                out,
                "  {}: files {} -> {}, read {}, wrote {}, dropped: deleted {} (+{} markers), expired TTL {}, excess versions {}",
                t.get("table").and_then(|x| x.as_str()).unwrap_or("?"),
                num(t, "files_before"),
                num(t, "files_after"),
                mb(num(t, "bytes_read")),
                mb(num(t, "bytes_written")),
                num(&d, "deleted"),
                num(&d, "delete_markers"),
                num(&d, "expired_ttl"),
                num(&d, "excess_versions"),
            ))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("30m"), Ok(Duration::from_secs(1800)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert!(parse_duration("5x").is_err());
        assert!(parse_duration("h").is_err());
        assert!(parse_duration("1h30").is_err());
    }
}
