//! Compactions: choosing files with HBase's exploring policy (minor) or all files (major),
//! and rewriting them into one file that becomes visible atomically before the inputs are
//! deleted. Minor compactions keep every cell (except exact duplicates); major compactions
//! drop delete markers and deleted, expired and excess versions.

use std::collections::HashMap;
use std::sync::Arc;

use hfile::{CellSlices, CellView};

use crate::cursor::{first_on_row, CellCursor, MergeCursor};
use crate::error::Result;
use crate::matcher::{FamilyRules, Mode, RowMatcher, Skip, Verdict};
use crate::region::Region;
use crate::store::Store;
use crate::storefile::{FileMeta, StoreFile, StoreFileWriter};

pub mod tool;

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
    /// Cells dropped, by reason.
    pub dropped: DropCounts,
}

/// Cells a compaction dropped, by reason (see [`crate::matcher::RowMatcher`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DropCounts {
    /// Delete markers themselves (major only).
    pub delete_markers: u64,
    /// Puts masked by a delete marker (major only).
    pub deleted: u64,
    /// Puts older than the family's TTL beyond `min_versions` (major only).
    pub expired_ttl: u64,
    /// Puts beyond the family's `max_versions` (major only).
    pub excess_versions: u64,
    /// Older writes of an identical key (same column, timestamp and type).
    pub duplicates: u64,
    /// Cells of an unknown type (major only).
    pub other: u64,
}

impl DropCounts {
    /// Adds `o` into `self`.
    pub fn add(&mut self, o: &DropCounts) {
        self.delete_markers += o.delete_markers;
        self.deleted += o.deleted;
        self.expired_ttl += o.expired_ttl;
        self.excess_versions += o.excess_versions;
        self.duplicates += o.duplicates;
        self.other += o.other;
    }

    /// Counts one dropped cell.
    pub fn count(&mut self, reason: Skip) {
        match reason {
            Skip::DeleteMarker => self.delete_markers += 1,
            Skip::Deleted => self.deleted += 1,
            Skip::ExpiredTtl => self.expired_ttl += 1,
            Skip::ExcessVersions => self.excess_versions += 1,
            Skip::Duplicate => self.duplicates += 1,
            Skip::OutsideTimeRange | Skip::NotSelected | Skip::UnknownType => self.other += 1,
        }
    }

    /// All dropped cells.
    pub fn total(&self) -> u64 {
        self.delete_markers
            + self.deleted
            + self.expired_ttl
            + self.excess_versions
            + self.duplicates
            + self.other
    }
}

/// Callbacks a compaction calls while it runs.
pub struct CompactionHooks<'a> {
    /// Called with (an upper estimate of) the bytes about to be written, in batches of
    /// about 64 KiB; may sleep to throttle the compaction.
    pub on_write: &'a (dyn Fn(u64) + Sync),
}

impl CompactionHooks<'static> {
    /// Hooks that do nothing.
    pub fn none() -> CompactionHooks<'static> {
        CompactionHooks { on_write: &|_| {} }
    }
}

/// Upper estimate of the bytes a cell takes in a store file (key and value with their
/// length prefixes, plus a memstore timestamp).
pub fn cell_write_estimate<C: CellView + ?Sized>(c: &C) -> u64 {
    (c.row().len() + c.family().len() + c.qualifier().len() + c.value().len() + c.tags().len() + 32)
        as u64
}

/// Rewrites `files` of `store` into one file and swaps it in.
pub fn compact_files(
    store: &Store,
    files: Vec<Arc<StoreFile>>,
    major: bool,
    rules: FamilyRules,
    now_ms: i64,
) -> Result<CompactionReport> {
    compact_files_with(store, files, major, rules, now_ms, &CompactionHooks::none())
}

/// [`compact_files`] calling `hooks` as it goes; the report counts dropped cells by reason.
pub fn compact_files_with(
    store: &Store,
    files: Vec<Arc<StoreFile>>,
    major: bool,
    rules: FamilyRules,
    now_ms: i64,
    hooks: &CompactionHooks<'_>,
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
    let max_seq = files.iter().map(|f| f.seq_id()).max().unwrap_or(0);
    let mut w = StoreFileWriter::create(store.tmp_dir(), store.dir(), None, store.family())?;
    let (mut cells_in, mut tombstones) = (0u64, 0u64);
    let mut dropped = DropCounts::default();
    let mut unpaid = 0u64;
    let family = &store.family().name;
    classify_cells(&files, family, rules, major, now_ms, |c, verdict| {
        cells_in += 1;
        if c.cell_type().is_some_and(|t| t.is_delete()) {
            tombstones += 1;
        }
        match verdict {
            Verdict::Keep => {
                unpaid += cell_write_estimate(c);
                w.append(c)?;
                if unpaid >= 64 << 10 {
                    (hooks.on_write)(unpaid);
                    unpaid = 0;
                }
            }
            Verdict::Skip(reason) => dropped.count(reason),
        }
        Ok(())
    })?;
    if unpaid > 0 {
        (hooks.on_write)(unpaid);
    }
    let cells_out = w.cells();
    let out = w.finish(
        &FileMeta {
            max_seq_id: max_seq,
            major,
            compacted_from: files.iter().map(|f| f.name().to_string()).collect(),
            keep_empty: true,
        },
        store.cache(),
    )?;
    report.cells_in = cells_in;
    report.cells_out = cells_out;
    report.tombstones_dropped = if major { tombstones } else { 0 };
    report.dropped = dropped;
    report.bytes_out = out.as_ref().map(|f| f.size()).unwrap_or(0);
    store.replace_files(&files, out.into_iter().collect())?;
    Ok(report)
}

/// Merges `files` (of `family`) and runs every cell through the rules a compaction applies
/// (major: what a read would return; minor: drop only duplicates), calling `f` with each cell
/// and its verdict in order.
pub fn classify_cells(
    files: &[Arc<StoreFile>],
    family: &[u8],
    rules: FamilyRules,
    major: bool,
    now_ms: i64,
    mut f: impl FnMut(&CellSlices<'_>, Verdict) -> Result<()>,
) -> Result<()> {
    let mut cursor = MergeCursor::new(files.iter().map(|f| f.cursor(false)).collect());
    cursor.seek(&first_on_row(b""))?;
    let mode = if major {
        Mode::MajorCompaction
    } else {
        Mode::MinorCompaction
    };
    let rules = HashMap::from([(family.to_vec(), rules)]);
    let mut matcher = RowMatcher::new(Arc::new(rules), mode, now_ms);
    let mut row: Vec<u8> = Vec::new();
    while let Some(c) = cursor.peek() {
        if c.row != row.as_slice() {
            row.clear();
            row.extend_from_slice(c.row);
            matcher.start_row();
        }
        let verdict = matcher.check(&c);
        f(&c, verdict)?;
        cursor.advance()?;
    }
    Ok(())
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
        let files = files_to_compact(store, major, cfg);
        if files.is_empty() {
            continue;
        }
        let rules = family_rules(region, fam);
        reports.push(compact_files(store, files, major, rules, now)?);
    }
    Ok(reports)
}

/// The files a compaction of `store` would take: all (major, unless the store is one
/// major-compacted file without TTL, which a rewrite would not change) or the exploring
/// selection (minor). Empty if there is nothing to do.
pub fn files_to_compact(store: &Store, major: bool, cfg: &CompactionConfig) -> Vec<Arc<StoreFile>> {
    let files = if major {
        store.state().files
    } else {
        select_minor(store, cfg)
    };
    if major
        && files.len() == 1
        && files[0].reader().is_major_compaction()
        && store.family().ttl_secs.is_none()
    {
        return Vec::new();
    }
    files
}

/// The rules of family `fam` of `region` (one version, no TTL if unknown).
pub fn family_rules(region: &Region, fam: &[u8]) -> FamilyRules {
    region.rules().get(fam).copied().unwrap_or(FamilyRules {
        max_versions: 1,
        min_versions: 0,
        ttl_ms: None,
    })
}

/// Compacts one store (family `fam`) of `region` like [`compact_region`] does, calling
/// `hooks` while writing. Returns `None` if the store had nothing to compact.
pub fn compact_store(
    region: &Region,
    fam: &[u8],
    major: bool,
    cfg: &CompactionConfig,
    hooks: &CompactionHooks<'_>,
) -> Result<Option<CompactionReport>> {
    let _c = region.compaction_lock.lock();
    if region.is_closed() {
        return Err(crate::Error::RegionNotServing(region.info().region_name()));
    }
    if major {
        region.flush()?;
    }
    let Some(store) = region.stores().get(fam) else {
        return Ok(None);
    };
    let files = files_to_compact(store, major, cfg);
    if files.is_empty() {
        return Ok(None);
    }
    let rules = family_rules(region, fam);
    compact_files_with(store, files, major, rules, crate::now_ms(), hooks).map(Some)
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
