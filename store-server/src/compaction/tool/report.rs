//! The compaction history: one JSON object per run, appended as a line to
//! `<root>/compaction-history.jsonl` after the run ends (a killed run leaves no line).

use std::io::Write;
use std::path::{Path, PathBuf};

use super::run::RunSummary;
use crate::compaction::DropCounts;
use crate::error::{Error, Result};

/// File name of the history inside the root directory.
pub const HISTORY_FILE: &str = "compaction-history.jsonl";

/// The history file of the store rooted at `root`.
pub fn history_path(root: &Path) -> PathBuf {
    root.join(HISTORY_FILE)
}

fn json_str(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            c if (c as u32) < 0x20 => o.push_str(&format!("\\u{:04x}", c as u32)),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

fn drops_json(d: &DropCounts) -> String {
    format!(
        "{{\"delete_markers\":{},\"deleted\":{},\"expired_ttl\":{},\"excess_versions\":{},\"duplicates\":{},\"other\":{}}}",
        d.delete_markers, d.deleted, d.expired_ttl, d.excess_versions, d.duplicates, d.other
    )
}

/// One run as a single JSON line (no trailing newline).
pub fn to_json_line(s: &RunSummary) -> String {
    let tables: Vec<String> = s
        .tables
        .iter()
        .map(|t| {
            let mbps = if s.duration_ms == 0 {
                0.0
            } else {
                t.bytes_written as f64 / 1e6 / (s.duration_ms as f64 / 1000.0)
            };
            format!(
                "{{\"table\":{},\"regions\":{},\"regions_skipped\":{},\"files_before\":{},\"files_after\":{},\"compactions\":{},\"bytes_read\":{},\"bytes_written\":{},\"cells_read\":{},\"cells_written\":{},\"dropped\":{},\"write_mb_per_sec\":{:.3}}}",
                json_str(&t.table),
                t.regions,
                t.regions_skipped,
                t.files_before,
                t.files_after,
                t.compactions,
                t.bytes_read,
                t.bytes_written,
                t.cells_read,
                t.cells_written,
                drops_json(&t.dropped),
                mbps
            )
        })
        .collect();
    format!(
        "{{\"started_ms\":{},\"duration_ms\":{},\"major\":{},\"throttle_bytes_per_sec\":{},\"parallel\":{},\"completed\":{},\"write_mb_per_sec\":{:.3},\"tables\":[{}]}}",
        s.started_ms,
        s.duration_ms,
        s.major,
        s.throttle_bytes_per_sec
            .map(|b| b.to_string())
            .unwrap_or_else(|| "null".into()),
        s.parallel,
        s.completed,
        s.write_mb_per_sec(),
        tables.join(",")
    )
}

/// Appends `s` to the history of `root` (one line, synced).
pub fn append_history(root: &Path, s: &RunSummary) -> Result<()> {
    let path = history_path(root);
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|e| Error::io(&path, e))?;
    let mut line = to_json_line(s);
    line.push('\n');
    f.write_all(line.as_bytes())
        .and_then(|_| f.sync_data())
        .map_err(|e| Error::io(&path, e))
}

/// The history lines of `root`, oldest first (empty if there is no history yet). Lines are
/// returned as written; parsing is left to the caller.
pub fn read_history(root: &Path) -> Result<Vec<String>> {
    let path = history_path(root);
    match std::fs::read_to_string(&path) {
        Ok(s) => Ok(s
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_string)
            .collect()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(Error::io(&path, e)),
    }
}
