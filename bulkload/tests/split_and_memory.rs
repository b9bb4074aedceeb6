//! Regions that split between partitioning and loading, and inputs far larger than the
//! memory budget.

mod common;

use std::sync::Mutex;

use bulkload::partition::Regions;
use bulkload::LoadHooks;
use common::*;
use store_server::{Connection, TableName};

fn numbered_csv(rows: usize) -> Vec<u8> {
    let mut s = String::new();
    for i in 0..rows {
        s.push_str(&format!("r{i:06},v{i},{}\n", i * 3));
    }
    s.into_bytes()
}

fn expected(rows: usize) -> Vec<Row> {
    expected_padded(rows, "")
}

fn expected_padded(rows: usize, pad: &str) -> Vec<Row> {
    let mut out = Vec::new();
    for i in 0..rows {
        let r = format!("r{i:06}");
        out.push(cell(&r, "f", "a", 1000, &format!("v{i}{pad}")));
        out.push(cell(&r, "g", "b", 1000, &(i * 3).to_string()));
    }
    out
}

/// `--output-dir`, then the table splits twice, then `basalt load`: the one file per
/// family is cut at the new boundaries and every cell lands.
#[test]
fn load_after_split_cuts_files() -> TestResult {
    let dir = tempfile::tempdir()?;
    let conn = connect(&dir.path().join("root"))?;
    create_table(&conn, "t", &["f", "g"], &[])?;
    let input = write_file(dir.path(), "in.csv", &numbered_csv(1000))?;
    let out = dir.path().join("out");
    let mut opts = options("t", &input, Some("HBASE_ROW_KEY,f:a,g:b"))?;
    opts.output_dir = Some(out.clone());
    let s = bulkload::run_import(&conn, &opts)?;
    assert!(s.load.is_none());
    assert_eq!(s.hfiles, 2);
    assert!(dump(&conn, "t")?.is_empty(), "--output-dir loads nothing");

    let t = TableName::parse("t")?;
    conn.admin().split(&t, Some(b"r000300"))?;
    conn.admin().split(&t, Some(b"r000700"))?;
    assert_eq!(region_starts(&conn, "t")?.len(), 3);

    let l = bulkload::run_load(&conn, &out, "t", None, false)?;
    assert_eq!(l.load.files_split, 2, "{:?}", l.load);
    assert_eq!(l.load.files_loaded, 6);
    assert_eq!(l.load.regions_touched, 3);
    assert_eq!(dump(&conn, "t")?, expected(1000));
    // The output directory is left as it was (only the cut pieces were temporary).
    assert_eq!(hfiles_under(&out)?.len(), 2);
    Ok(())
}

/// Splits a region after the loader read the boundaries of round 1, so round 1 offers a
/// file to a region that no longer matches: the engine refuses (typed straddle error),
/// round 2 re-reads the boundaries, cuts the file and loads it.
struct SplitOnce {
    conn: Connection,
    done: Mutex<bool>,
}

impl LoadHooks for SplitOnce {
    fn before_round(&self, round: usize, _regions: &Regions) {
        let mut done = self.done.lock().unwrap_or_else(|e| e.into_inner());
        if round == 1 && !*done {
            *done = true;
            if let Ok(t) = TableName::parse("t") {
                let r = self.conn.admin().split(&t, Some(b"r000250"));
                assert!(r.is_ok(), "split failed: {r:?}");
            }
        }
    }
}

#[test]
fn region_split_during_import_is_retried() -> TestResult {
    let dir = tempfile::tempdir()?;
    let conn = connect(&dir.path().join("root"))?;
    create_table(&conn, "t", &["f", "g"], &["r000500"])?;
    let input = write_file(dir.path(), "in.csv", &numbered_csv(1000))?;
    let mut opts = options("t", &input, Some("HBASE_ROW_KEY,f:a,g:b"))?;
    opts.hooks = Some(std::sync::Arc::new(SplitOnce {
        conn: conn.clone(),
        done: Mutex::new(false),
    }));
    let s = bulkload::run_import(&conn, &opts)?;
    let load = s.load.as_ref().ok_or("no load")?;
    assert_eq!(s.regions, 2, "partitioned for two regions");
    assert_eq!(load.rounds, 2, "{load:?}");
    assert_eq!(load.files_split, 2, "{load:?}");
    assert_eq!(region_starts(&conn, "t")?.len(), 3);
    assert_eq!(dump(&conn, "t")?, expected(1000));
    Ok(())
}

/// An input many times larger than `--memory` spills many sorted runs and still produces exactly the right table; the sort buffer never held
/// more than its share of the budget.
#[test]
fn input_far_larger_than_memory() -> TestResult {
    let dir = tempfile::tempdir()?;
    let conn = connect(&dir.path().join("root"))?;
    create_table(&conn, "t", &["f", "g"], &["r020000", "r050000"])?;
    // Rows in a scrambled order so every run spans every region.
    let n = 80_000usize;
    let mut s = String::new();
    for k in 0..n {
        let i = (k * 7919) % n;
        s.push_str(&format!("r{i:06},v{i}{PAD},{}\n", i * 3));
    }
    let input = write_file(dir.path(), "big.csv", s.as_bytes())?;
    let memory = 256 * 1024;
    let mut opts = options("t", &input, Some("HBASE_ROW_KEY,f:a,g:b"))?;
    opts.memory = Some(memory);
    let summary = bulkload::run_import(&conn, &opts)?;
    assert!(
        summary.bytes_in >= 10 * memory as u64,
        "input {} bytes",
        summary.bytes_in
    );
    assert!(summary.spills > 10, "{} spills", summary.spills);
    assert!(
        summary.peak_buffer_bytes <= memory,
        "peak {}",
        summary.peak_buffer_bytes
    );
    assert_eq!(summary.rows, n as u64);
    assert_eq!(summary.cells, 2 * n as u64);
    assert_eq!(dump(&conn, "t")?, expected_padded(n, PAD));
    Ok(())
}

/// An input cut into many key-range buckets (small pieces): the same table whether the
/// buckets fit in memory or spill, read by one thread or three.
#[test]
fn input_in_many_buckets() -> TestResult {
    let dir = tempfile::tempdir()?;
    let conn = connect(&dir.path().join("root"))?;
    let n = 60_000usize;
    let mut s = String::new();
    for k in 0..n {
        let i = (k * 7919) % n;
        s.push_str(&format!("r{i:06},v{i}{PAD},{}\n", i * 3));
    }
    let input = write_file(dir.path(), "big.csv", s.as_bytes())?;
    for (table, threads, memory) in [
        ("one", 1, None),
        ("three", 3, None),
        ("spill", 2, Some(1 << 20)),
    ] {
        create_table(&conn, table, &["f", "g"], &["r020000", "r050000"])?;
        let mut opts = options(table, &input, Some("HBASE_ROW_KEY,f:a,g:b"))?;
        opts.threads = Some(threads);
        opts.piece_size = Some(16 << 10);
        opts.memory = memory;
        let summary = bulkload::run_import(&conn, &opts)?;
        assert!(
            summary.sort_buckets > 10,
            "{table}: {} buckets",
            summary.sort_buckets
        );
        assert_eq!(
            summary.spills > 0,
            memory.is_some(),
            "{table}: {} spills",
            summary.spills
        );
        assert_eq!(
            (summary.rows, summary.cells),
            (n as u64, 2 * n as u64),
            "{table}"
        );
        assert_eq!(dump(&conn, table)?, expected_padded(n, PAD), "{table}");
    }
    Ok(())
}

const PAD: &str = "-padding-padding-padding";
