//! Shared helpers of the bulkload integration tests: an embedded engine in a tempdir,
//! table dumps through the engine's scan, and small input writers.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use bulkload::{ColumnSpec, ImportOptions, SourceOptions};
use hfile::CellView;
use store_server::{Config, Connection, FamilyDescriptor, Get, Scan, TableDescriptor, TableName};

/// Test result: any error, reported with its message.
pub type TestResult<T = ()> = Result<T, Box<dyn std::error::Error>>;

/// One cell as read back: (row, family, qualifier, timestamp, value).
pub type Row = (Vec<u8>, Vec<u8>, Vec<u8>, i64, Vec<u8>);

/// Opens (or reopens) an embedded store rooted at `root`, without background work.
pub fn connect(root: &Path) -> TestResult<Connection> {
    let config = Config {
        background: false,
        ..Config::default()
    };
    Ok(Connection::embedded_with_config(root, config)?)
}

/// Creates `table` with `families` (names), split at `splits`.
pub fn create_table(
    conn: &Connection,
    table: &str,
    families: &[&str],
    splits: &[&str],
) -> TestResult {
    let desc = TableDescriptor::new(
        TableName::parse(table)?,
        families
            .iter()
            .map(|f| FamilyDescriptor::new(f.as_bytes()))
            .collect(),
    );
    let splits: Vec<Vec<u8>> = splits.iter().map(|s| s.as_bytes().to_vec()).collect();
    conn.admin().create_table(desc, &splits)?;
    Ok(())
}

/// Every visible cell of `table`, in scan order (through the client's `Table::scan`).
pub fn dump(conn: &Connection, table: &str) -> TestResult<Vec<Row>> {
    let mut out = Vec::new();
    for row in conn.table(table)?.scan(&Scan::new())? {
        for c in row?.cells {
            out.push((
                c.row().to_vec(),
                c.family().to_vec(),
                c.qualifier().to_vec(),
                c.timestamp(),
                c.value().to_vec(),
            ));
        }
    }
    Ok(out)
}

/// The cells of one row through the client's `Table::get`.
pub fn get_row(conn: &Connection, table: &str, row: &[u8]) -> TestResult<Vec<Row>> {
    let r = conn.table(table)?.get(&Get::new(row.to_vec()))?;
    Ok(r.cells
        .iter()
        .map(|c| {
            (
                c.row().to_vec(),
                c.family().to_vec(),
                c.qualifier().to_vec(),
                c.timestamp(),
                c.value().to_vec(),
            )
        })
        .collect())
}

/// Row starts of the table's regions.
pub fn region_starts(conn: &Connection, table: &str) -> TestResult<Vec<Vec<u8>>> {
    Ok(conn
        .admin()
        .regions(&TableName::parse(table)?)?
        .into_iter()
        .map(|r| r.info.start_key)
        .collect())
}

/// Import options with the usual test settings: one input, a spec, fixed timestamp,
/// two threads, no progress bars.
pub fn options(table: &str, input: &Path, columns: Option<&str>) -> TestResult<ImportOptions> {
    Ok(ImportOptions {
        table: table.to_string(),
        inputs: vec![input.to_path_buf()],
        source: SourceOptions::default(),
        columns: columns.map(ColumnSpec::parse).transpose()?,
        timestamp: Some(1_000),
        threads: Some(2),
        ..ImportOptions::default()
    })
}

/// Writes `text` to `dir/name` and returns the path.
pub fn write_file(dir: &Path, name: &str, text: &[u8]) -> TestResult<PathBuf> {
    let p = dir.join(name);
    std::fs::write(&p, text)?;
    Ok(p)
}

/// A cell tuple from string parts.
pub fn cell(row: &str, fam: &str, qual: &str, ts: i64, value: &str) -> Row {
    (
        row.as_bytes().to_vec(),
        fam.as_bytes().to_vec(),
        qual.as_bytes().to_vec(),
        ts,
        value.as_bytes().to_vec(),
    )
}

/// Every HFile under `dir` (recursively), sorted.
pub fn hfiles_under(dir: &Path) -> TestResult<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for ent in std::fs::read_dir(&d)? {
            let p = ent?.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}
