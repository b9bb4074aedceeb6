//! Input splits: what one map task reads. A table scan becomes one split per region the
//! scan's row range touches; when the job has fewer regions than it wants tasks (so some
//! cores would idle), large regions are sub-split at row keys taken from their store files'
//! block indexes. Export parts become one split per file.

use std::fmt;
use std::path::PathBuf;

use hfile::cell::to_string_binary;
use hfile::{CellRef, CellView};
use store_server::{Connection, Scan, TableName};

use crate::error::{Error, Result};

/// Where a split's input comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SplitSource {
    /// The rows `[start, stop)` of a table (`stop` empty = end of table), inside one region.
    Table {
        /// The table.
        table: TableName,
        /// The region holding the range (encoded name).
        region: String,
        /// First row (inclusive; empty = start of table).
        start: Vec<u8>,
        /// First row excluded (empty = end of table).
        stop: Vec<u8>,
    },
    /// A file of cells in the cell schema (an `export` part: Parquet or CSV).
    File(PathBuf),
}

/// One unit of map work.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputSplit {
    /// Position of the split in the job (0-based, in row order for tables).
    pub index: usize,
    /// What the split reads.
    pub source: SplitSource,
    /// Approximate input bytes (store file bytes of the range, or the file size).
    pub size: u64,
}

impl fmt::Display for InputSplit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.source {
            SplitSource::Table {
                table,
                region,
                start,
                stop,
            } => write!(
                f,
                "split {} (table {table}, region {region}, rows ['{}', '{}'))",
                self.index,
                to_string_binary(start),
                to_string_binary(stop)
            ),
            SplitSource::File(p) => write!(f, "split {} (file {})", self.index, p.display()),
        }
    }
}

/// How a table's regions are cut into splits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SplitPolicy {
    /// Aim for at least this many splits (sub-splitting the largest regions when the table
    /// has fewer regions). 0 or 1 = one split per region.
    pub target_splits: usize,
    /// Never sub-split a region smaller than this many bytes of store files.
    pub min_split_bytes: u64,
}

impl Default for SplitPolicy {
    fn default() -> Self {
        SplitPolicy {
            target_splits: 0,
            min_split_bytes: 8 << 20,
        }
    }
}

/// True if `stop` (empty = unbounded) ends at or before `start`.
fn empty_range(start: &[u8], stop: &[u8]) -> bool {
    !stop.is_empty() && stop <= start
}

/// Rows usable as sub-split points of `[start, stop)`: the rows of the block-index keys of
/// every store file of the region, strictly inside the range, sorted and deduplicated.
fn index_rows(
    conn: &Connection,
    table: &TableName,
    start: &[u8],
    stop: &[u8],
) -> Result<Vec<Vec<u8>>> {
    let region = conn.server().locate(table, start)?;
    let mut rows = Vec::new();
    for store in region.stores().values() {
        for file in store.state().files {
            for entry in file.reader().root_index() {
                let Some(key) = CellRef::new(&entry.key, &[], &[], 0) else {
                    continue; // a malformed separator is simply not used as a split point
                };
                let row = key.row();
                if row > start && (stop.is_empty() || row < stop) {
                    rows.push(row.to_vec());
                }
            }
        }
    }
    rows.sort();
    rows.dedup();
    Ok(rows)
}

/// Picks `pieces - 1` evenly spaced keys of `candidates`.
fn pick_evenly(candidates: &[Vec<u8>], pieces: usize) -> Vec<Vec<u8>> {
    let want = pieces.saturating_sub(1).min(candidates.len());
    (1..=want)
        .map(|i| candidates[i * candidates.len() / (want + 1)].clone())
        .collect()
}

/// Plans the splits of a forward scan over `table`: one per region the scan's row range
/// touches, sub-split per `policy`.
pub fn plan_table_splits(
    conn: &Connection,
    table: &TableName,
    scan: &Scan,
    policy: &SplitPolicy,
) -> Result<Vec<InputSplit>> {
    if scan.reversed {
        return Err(Error::InvalidArgument(
            "map/reduce jobs read forward; reversed scans are not supported".into(),
        ));
    }
    let regions = conn.admin().regions(table)?;
    // (region, start, stop, bytes) per region piece the scan touches.
    let mut pieces: Vec<(String, Vec<u8>, Vec<u8>, u64)> = Vec::new();
    for r in &regions {
        let start = std::cmp::max(r.info.start_key.clone(), scan.start_row.clone());
        let stop = match (r.info.end_key.is_empty(), scan.stop_row.is_empty()) {
            (true, _) => scan.stop_row.clone(),
            (false, true) => r.info.end_key.clone(),
            (false, false) => std::cmp::min(r.info.end_key.clone(), scan.stop_row.clone()),
        };
        if empty_range(&start, &stop) {
            continue;
        }
        let bytes: u64 = r
            .stores
            .iter()
            .flat_map(|(_, files)| files.iter().map(|f| f.size))
            .sum::<u64>()
            + r.memstore_size as u64;
        pieces.push((r.info.encoded_name(), start, stop, bytes));
    }
    let total: u64 = pieces.iter().map(|p| p.3).sum();
    let mut splits = Vec::new();
    let sub_split = policy.target_splits > pieces.len() && total > 0;
    for (region, start, stop, bytes) in pieces {
        let mut bounds = Vec::new();
        if sub_split && bytes >= policy.min_split_bytes.max(1) {
            let share = (bytes as u128 * policy.target_splits as u128).div_ceil(total as u128);
            let want = usize::try_from(share).unwrap_or(usize::MAX).max(1);
            if want > 1 {
                bounds = pick_evenly(&index_rows(conn, table, &start, &stop)?, want);
            }
        }
        let n = bounds.len() + 1;
        let mut lo = start;
        for (i, hi) in bounds.into_iter().map(Some).chain([None]).enumerate() {
            let stop_i = hi.clone().unwrap_or_else(|| stop.clone());
            splits.push(InputSplit {
                index: splits.len(),
                source: SplitSource::Table {
                    table: table.clone(),
                    region: region.clone(),
                    start: lo.clone(),
                    stop: stop_i.clone(),
                },
                size: bytes / n as u64 + u64::from(i == 0) * (bytes % n as u64),
            });
            lo = stop_i;
        }
    }
    Ok(splits)
}

/// One split per file, in the order given.
pub fn plan_file_splits(files: &[PathBuf]) -> Result<Vec<InputSplit>> {
    files
        .iter()
        .enumerate()
        .map(|(index, p)| {
            let size = std::fs::metadata(p).map_err(|e| Error::io(p, e))?.len();
            Ok(InputSplit {
                index,
                source: SplitSource::File(p.clone()),
                size,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evenly_spaced_points() {
        let c: Vec<Vec<u8>> = (0u8..10).map(|i| vec![i]).collect();
        assert_eq!(pick_evenly(&c, 2), vec![vec![5]]);
        assert_eq!(pick_evenly(&c, 5).len(), 4);
        assert_eq!(pick_evenly(&c, 50).len(), 10);
        assert!(pick_evenly(&c, 1).is_empty());
        assert!(pick_evenly(&[], 4).is_empty());
        assert!(empty_range(b"b", b"a") && !empty_range(b"b", b"") && !empty_range(b"a", b"b"));
    }
}
