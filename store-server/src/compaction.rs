//! Compactions: choosing files with HBase's exploring policy (minor) or all files (major),
//! and rewriting them into one file that becomes visible atomically before the inputs are
//! deleted. Minor compactions keep every cell (except exact duplicates); major compactions
//! drop delete markers and deleted, expired and excess versions.

use std::collections::HashMap;
use std::sync::Arc;

use hfile::Cell;

use crate::cursor::{first_on_row, next_row_cells, CellCursor, MergeCursor};
use crate::error::Result;
use crate::matcher::{process_row, FamilyRules, Mode};
use crate::region::Region;
use crate::store::Store;
use crate::storefile::{write_store_file, FileMeta, StoreFile};

/// Knobs of the minor compaction policy (HBase's `hbase.hstore.compaction.*`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CompactionConfig {
    /// Fewest files a minor compaction takes (`compaction.min`, default 3).
    pub min_files: usize,
    /// Most files a minor compaction takes (`compaction.max`, default 10).
    pub max_files: usize,
    /// A file is eligible if it is at most `ratio` times the sum of the others (1.2).
    pub ratio: f64,
}

impl Default for CompactionConfig {
    fn default() -> Self {
        CompactionConfig {
            min_files: 3,
            max_files: 10,
            ratio: 1.2,
        }
    }
}

fn files_in_ratio(sizes: &[u64], ratio: f64) -> bool {
    if sizes.len() < 2 {
        return true;
    }
    let total: u64 = sizes.iter().sum();
    sizes
        .iter()
        .all(|&s| (s as f64) <= ratio * (total - s) as f64)
}

/// HBase's exploring selection over `sizes` (files oldest first): the contiguous window of
/// `min_files..=max_files` files, every one within `ratio` of the rest, with the most files
/// and, among those, the smallest total size. Returns the window's index range.
pub fn explore(sizes: &[u64], cfg: &CompactionConfig) -> Option<std::ops::Range<usize>> {
    let min = cfg.min_files.max(2);
    let mut best: Option<(std::ops::Range<usize>, u64)> = None;
    for start in 0..sizes.len() {
        for end in (start + min)..=sizes.len() {
            if end - start > cfg.max_files {
                break;
            }
            let window = &sizes[start..end];
            if !files_in_ratio(window, cfg.ratio) {
                continue;
            }
            let total: u64 = window.iter().sum();
            let better = match &best {
                None => true,
                Some((r, sz)) => window.len() > r.len() || (window.len() == r.len() && total < *sz),
            };
            if better {
                best = Some((start..end, total));
            }
        }
    }
    best.map(|(r, _)| r)
}

/// Files a minor compaction of `store` would take, if any.
pub fn select_minor(store: &Store, cfg: &CompactionConfig) -> Vec<Arc<StoreFile>> {
    let files = store.state().files;
    let sizes: Vec<u64> = files.iter().map(|f| f.size()).collect();
    match explore(&sizes, cfg) {
        Some(r) => files[r].to_vec(),
        None => Vec::new(),
    }
}

/// What one store compaction did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CompactionReport {
    /// The family.
    pub family: Vec<u8>,
    /// Whether it was a major compaction.
    pub major: bool,
    /// Input files.
    pub files_in: usize,
    /// Input bytes.
    pub bytes_in: u64,
    /// Output bytes (0 if everything was dropped).
    pub bytes_out: u64,
    /// Cells read.
    pub cells_in: u64,
    /// Cells written.
    pub cells_out: u64,
    /// Delete markers dropped.
    pub tombstones_dropped: u64,
}

/// Rewrites `files` of `store` into one file and swaps it in.
pub fn compact_files(
    store: &Store,
    files: Vec<Arc<StoreFile>>,
    major: bool,
    rules: FamilyRules,
    now_ms: i64,
) -> Result<CompactionReport> {
    let mut report = CompactionReport {
        family: store.family().name.clone(),
        major,
        files_in: files.len(),
        bytes_in: files.iter().map(|f| f.size()).sum(),
        ..CompactionReport::default()
    };
    if files.is_empty() {
        return Ok(report);
    }
    let children: Vec<Box<dyn CellCursor>> = files
        .iter()
        .map(|f| Box::new(f.cursor()) as Box<dyn CellCursor>)
        .collect();
    let mut cursor = MergeCursor::new(children);
    cursor.seek(&first_on_row(b""))?;
    let mut rule_map = HashMap::new();
    rule_map.insert(store.family().name.clone(), rules);
    let max_seq = files.iter().map(|f| f.seq_id()).max().unwrap_or(0);
    let mut cells_in = 0u64;
    let mut tombstones = 0u64;
    let mut cells_out = 0u64;
    let mut pending: std::vec::IntoIter<Cell> = Vec::new().into_iter();
    let mut failed: Option<crate::Error> = None;
    let mut iter = std::iter::from_fn(|| loop {
        if let Some(c) = pending.next() {
            cells_out += 1;
            return Some(Ok(c));
        }
        if failed.is_some() {
            return None;
        }
        match next_row_cells(&mut cursor) {
            Ok(None) => return None,
            Err(e) => {
                failed = Some(e);
                return Some(Err(crate::Error::InvalidArgument(
                    "compaction input failed".into(),
                )));
            }
            Ok(Some(row)) => {
                cells_in += row.len() as u64;
                tombstones += row
                    .iter()
                    .filter(|c| {
                        hfile::CellType::from_code(c.type_code)
                            .map(|t| t.is_delete())
                            .unwrap_or(false)
                    })
                    .count() as u64;
                let kept = if major {
                    process_row(&row, &rule_map, Mode::MajorCompaction, now_ms)
                } else {
                    let mut kept: Vec<Cell> = Vec::with_capacity(row.len());
                    for c in row {
                        let dup = kept.last().map(|p: &Cell| {
                            p.family == c.family
                                && p.qualifier == c.qualifier
                                && p.timestamp == c.timestamp
                                && p.type_code == c.type_code
                        });
                        if dup != Some(true) {
                            kept.push(c);
                        }
                    }
                    kept
                };
                pending = kept.into_iter();
            }
        }
    });
    let out = write_store_file(
        store.tmp_dir(),
        store.dir(),
        None,
        store.family(),
        &mut iter,
        &FileMeta {
            max_seq_id: max_seq,
            major,
            compacted_from: files.iter().map(|f| f.name().to_string()).collect(),
        },
        store.cache(),
    );
    if let Some(e) = failed {
        return Err(e);
    }
    let out = out?;
    report.cells_in = cells_in;
    report.cells_out = cells_out;
    report.tombstones_dropped = if major { tombstones } else { 0 };
    report.bytes_out = out.as_ref().map(|f| f.size()).unwrap_or(0);
    store.replace_files(&files, out.into_iter().collect())?;
    Ok(report)
}

/// Compacts every store of a region: all files if `major` (the memstore is flushed first
/// so the result reflects every acknowledged write), else the exploring selection.
pub fn compact_region(
    region: &Region,
    major: bool,
    cfg: &CompactionConfig,
) -> Result<Vec<CompactionReport>> {
    let _c = region.compaction_lock.lock();
    if major {
        region.flush()?;
    }
    let now = crate::now_ms();
    let mut reports = Vec::new();
    for (fam, store) in region.stores() {
        let files = if major {
            store.state().files
        } else {
            select_minor(store, cfg)
        };
        if files.is_empty()
            || (major
                && files.len() == 1
                && files[0].reader().is_major_compaction()
                && store.family().ttl_secs.is_none())
        {
            continue;
        }
        let rules = region.rules().get(fam).copied().unwrap_or(FamilyRules {
            max_versions: 1,
            min_versions: 0,
            ttl_ms: None,
        });
        reports.push(compact_files(store, files, major, rules, now)?);
    }
    Ok(reports)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exploring_policy() {
        let cfg = CompactionConfig::default();
        // Too few files.
        assert_eq!(explore(&[10, 10], &cfg), None);
        // Three similar files qualify.
        assert_eq!(explore(&[10, 10, 10], &cfg), Some(0..3));
        // A huge old file is out of ratio with the rest: pick the small ones.
        assert_eq!(explore(&[1000, 10, 10, 10], &cfg), Some(1..4));
        // More files win over fewer.
        assert_eq!(explore(&[10, 10, 10, 10, 10], &cfg), Some(0..5));
        // Max files caps the window.
        let many = vec![5u64; 14];
        assert_eq!(explore(&many, &cfg).map(|r| r.len()), Some(10));
    }
}
