//! WAL tail corruption: a writer process is killed, the tail of its newest WAL file is
//! truncated or has a byte flipped; reopening succeeds, earlier edits are intact and the
//! damage is reported.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::{create, test_config};
use store_server::{Connection, Get, Put, Result};

fn row_of(i: u64) -> String {
    format!("row{:08}", (i * 7919) % 1_000_000)
}

fn newest_wal(root: &Path) -> Option<PathBuf> {
    let mut files = Vec::new();
    for d in std::fs::read_dir(root.join("WALs")).ok()?.flatten() {
        for f in std::fs::read_dir(d.path()).ok()?.flatten() {
            files.push(f.path());
        }
    }
    files.sort();
    files.pop()
}

fn write_and_kill(root: &Path, n: u64) -> Result<Vec<u64>> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_basalt-crash-writer"))
        .arg(root)
        .arg("w")
        .arg("0")
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| store_server::Error::io("basalt-crash-writer", e))?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| store_server::Error::InvalidArgument("no stdout".into()))?;
    let mut acked = Vec::new();
    for l in BufReader::new(stdout).lines().map_while(|l| l.ok()) {
        if let Some(i) = l.strip_prefix("ACK ").and_then(|s| s.parse().ok()) {
            acked.push(i);
        }
        if acked.len() as u64 >= n {
            break;
        }
    }
    child
        .kill()
        .map_err(|e| store_server::Error::io("kill", e))?;
    let _ = child.wait();
    Ok(acked)
}

fn check(corrupt: impl Fn(&Path) -> std::io::Result<()>) -> Result<()> {
    let dir = tempfile::tempdir().map_err(|e| store_server::Error::io("tempdir", e))?;
    {
        let conn = Connection::embedded_with_config(dir.path(), test_config())?;
        create(&conn, "w", &["f"], 1, &[])?;
        conn.close()?;
    }
    let acked = write_and_kill(dir.path(), 60)?;
    let wal = newest_wal(dir.path())
        .ok_or_else(|| store_server::Error::InvalidArgument("no WAL".into()))?;
    corrupt(&wal).map_err(|e| store_server::Error::io(&wal, e))?;
    let conn = Connection::embedded_with_config(dir.path(), test_config())?;
    let report = conn.server().recovery_report();
    assert_eq!(report.damage.len(), 1, "{report:?}");
    assert!(report.damage[0]
        .path
        .ends_with(wal.file_name().unwrap_or_default()));
    let t = conn.table("w")?;
    // Only the damaged last record may be lost; every earlier acknowledged edit is intact.
    let (last, earlier) = acked
        .split_last()
        .ok_or_else(|| store_server::Error::InvalidArgument("no acks".into()))?;
    for &i in earlier {
        assert!(!t.get(&Get::new(row_of(i)))?.is_empty(), "row {i} lost");
    }
    let r = t.get(&Get::new(row_of(*last)))?;
    assert!(r.is_empty() || r.cells.len() == 3, "never half-applied");
    conn.close()?;
    // The damage was cut: a second reopen is clean.
    let conn = Connection::embedded_with_config(dir.path(), test_config())?;
    assert!(conn.server().recovery_report().damage.is_empty());
    Ok(())
}

#[test]
fn truncated_wal_tail_is_cut_and_reported() -> Result<()> {
    check(|p| {
        let len = std::fs::metadata(p)?.len();
        let f = std::fs::OpenOptions::new().write(true).open(p)?;
        f.set_len(len - 5)
    })
}

#[test]
fn flipped_byte_in_last_wal_record_is_cut_and_reported() -> Result<()> {
    check(|p| {
        let mut b = std::fs::read(p)?;
        let n = b.len();
        b[n - 3] ^= 0xff;
        std::fs::write(p, b)
    })
}

/// Reopening a store right after dropping it (no clean close, so every open recovers the
/// last one's log and starts a log of its own), again and again: every edit survives.
#[test]
fn back_to_back_reopens_keep_every_edit() -> Result<()> {
    let dir = tempfile::tempdir().map_err(|e| store_server::Error::io("tempdir", e))?;
    let conn = Connection::embedded_with_config(dir.path(), test_config())?;
    create(&conn, "w", &["f"], 1, &[])?;
    drop(conn);
    for i in 0..30u64 {
        let conn = Connection::embedded_with_config(dir.path(), test_config())?;
        conn.table("w")?
            .put(&Put::new(row_of(i)).add("f", "q", "v"))?;
    }
    let conn = Connection::embedded_with_config(dir.path(), test_config())?;
    let t = conn.table("w")?;
    for i in 0..30u64 {
        assert!(!t.get(&Get::new(row_of(i)))?.is_empty(), "row {i} lost");
    }
    conn.close()
}
