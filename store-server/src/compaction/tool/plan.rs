//! `basalt compact plan`: what a compaction would do, per region and family, without
//! changing anything. The selected files are merged and classified exactly as the
//! compaction would (a read-only pass), so the dropped-cell estimates are exact for the
//! files on disk (memstore contents, flushed first by a major compaction, are not counted).

use std::sync::Arc;

use crate::compaction::{
    cell_write_estimate, classify_cells, family_rules, files_to_compact, CompactionConfig,
    DropCounts,
};
use crate::error::Result;
use crate::matcher::Verdict;
use crate::region::Region;
use crate::schema::TableName;
use crate::server::RegionServer;
use crate::storefile::StoreFile;

/// What to plan for.
#[derive(Clone, Copy, Debug)]
pub struct PlanOptions {
    /// Plan a major compaction (all files) instead of the exploring selection.
    pub major: bool,
    /// Minor policy (`min_files`, `ratio` overridable from the command line).
    pub policy: CompactionConfig,
    /// Flag stores with more files than this.
    pub too_many_files: usize,
    /// Flag a TTL that would drop more than this fraction of a store's cells.
    pub ttl_drop_fraction: f64,
    /// Evaluate TTLs as of this time (ms since the epoch).
    pub now_ms: i64,
    /// Plan disabled tables from their files (regions opened offline) instead of enabled
    /// tables' online regions.
    pub offline: bool,
}

impl PlanOptions {
    /// Options for `major` with the server's policy and default advice thresholds.
    pub fn new(server: &RegionServer, major: bool) -> PlanOptions {
        PlanOptions {
            major,
            policy: server.config().compaction,
            too_many_files: server.config().compaction.max_files,
            ttl_drop_fraction: 0.5,
            now_ms: crate::now_ms(),
            offline: false,
        }
    }
}

/// One input file of a planned compaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedFile {
    /// File name.
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// Cells.
    pub entries: u64,
}

/// A warning attached to a store of the plan.
#[derive(Clone, Debug, PartialEq)]
pub enum Advice {
    /// The store has more files than the threshold.
    TooManyFiles {
        /// Files in the store.
        files: usize,
        /// The threshold.
        limit: usize,
    },
    /// The region's store files exceed the split size.
    RegionAboveSplitSize {
        /// The region's store file bytes.
        size: u64,
        /// The split size (`max_file_size`).
        limit: u64,
    },
    /// The family's TTL would drop most of the store's cells.
    TtlDropsMost {
        /// Fraction of the store's cells that are expired.
        fraction: f64,
    },
}

impl std::fmt::Display for Advice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Advice::TooManyFiles { files, limit } => {
                write!(f, "too many files ({files} > {limit})")
            }
            Advice::RegionAboveSplitSize { size, limit } => {
                write!(f, "region above split size ({size} > {limit} bytes)")
            }
            Advice::TtlDropsMost { fraction } => {
                write!(f, "TTL would drop {:.0}% of the cells", fraction * 100.0)
            }
        }
    }
}

/// The plan for one store (one family of one region).
#[derive(Clone, Debug, PartialEq)]
pub struct StorePlan {
    /// The table.
    pub table: TableName,
    /// The region's encoded name.
    pub region: String,
    /// The family.
    pub family: Vec<u8>,
    /// Files in the store now.
    pub files_total: usize,
    /// Files the compaction would take (empty: nothing to do).
    pub selected: Vec<PlannedFile>,
    /// Bytes of the selected files.
    pub bytes_in: u64,
    /// Expected size of the output file.
    pub expected_bytes_out: u64,
    /// Cells in the selected files.
    pub cells_in: u64,
    /// Cells the compaction would keep.
    pub cells_out: u64,
    /// Cells it would drop, by reason.
    pub dropped: DropCounts,
    /// Warnings.
    pub advice: Vec<Advice>,
}

/// Plans every store of every online region of `tables` (of every region opened offline,
/// with [`PlanOptions::offline`]). Changes nothing.
pub fn plan(
    server: &RegionServer,
    tables: &[TableName],
    opts: &PlanOptions,
) -> Result<Vec<StorePlan>> {
    let mut out = Vec::new();
    for t in tables {
        if opts.offline {
            server.with_offline_regions(t, |regions| {
                plan_regions(server, t, regions, opts, &mut out)
            })?;
        } else {
            plan_regions(server, t, &server.table_regions(t)?, opts, &mut out)?;
        }
    }
    Ok(out)
}

/// Appends the plans of every store of `regions` (of table `t`) to `out`.
fn plan_regions(
    server: &RegionServer,
    t: &TableName,
    regions: &[Arc<Region>],
    opts: &PlanOptions,
    out: &mut Vec<StorePlan>,
) -> Result<()> {
    let split_size = server.config().max_file_size;
    for region in regions {
        let region_size = region.store_files_size();
        for (fam, store) in region.stores() {
            let all = store.state().files;
            let files = files_to_compact(store, opts.major, &opts.policy);
            let rules = family_rules(region, fam);
            let (cells_in, cells_out, dropped, est_in, est_out) =
                dry_run(fam, &files, &rules, opts.major, opts.now_ms)?;
            let bytes_in: u64 = files.iter().map(|f| f.size()).sum();
            let expected_bytes_out = if est_in == 0 {
                0
            } else {
                (bytes_in as f64 * est_out as f64 / est_in as f64).round() as u64
            };
            let mut advice = Vec::new();
            if all.len() > opts.too_many_files {
                advice.push(Advice::TooManyFiles {
                    files: all.len(),
                    limit: opts.too_many_files,
                });
            }
            if region_size > split_size {
                advice.push(Advice::RegionAboveSplitSize {
                    size: region_size,
                    limit: split_size,
                });
            }
            if rules.ttl_ms.is_some() {
                // Expiry is judged over the whole store, whatever the selection.
                let (_, _, whole, _, _) = if opts.major {
                    (cells_in, cells_out, dropped, est_in, est_out)
                } else {
                    dry_run(fam, &all, &rules, true, opts.now_ms)?
                };
                let total: u64 = all.iter().map(|f| f.entries()).sum();
                if total > 0 {
                    let fraction = whole.expired_ttl as f64 / total as f64;
                    if fraction > opts.ttl_drop_fraction {
                        advice.push(Advice::TtlDropsMost { fraction });
                    }
                }
            }
            out.push(StorePlan {
                table: t.clone(),
                region: region.encoded_name(),
                family: fam.clone(),
                files_total: all.len(),
                selected: files
                    .iter()
                    .map(|f| PlannedFile {
                        name: f.name().to_string(),
                        size: f.size(),
                        entries: f.entries(),
                    })
                    .collect(),
                bytes_in,
                expected_bytes_out,
                cells_in,
                cells_out,
                dropped,
                advice,
            });
        }
    }
    Ok(())
}

/// Merges `files` read-only and classifies every cell: (cells in, cells kept, drops,
/// estimated bytes in, estimated bytes kept).
fn dry_run(
    family: &[u8],
    files: &[Arc<StoreFile>],
    rules: &crate::matcher::FamilyRules,
    major: bool,
    now_ms: i64,
) -> Result<(u64, u64, DropCounts, u64, u64)> {
    let mut dropped = DropCounts::default();
    let (mut cells_in, mut cells_out, mut est_in, mut est_out) = (0u64, 0u64, 0u64, 0u64);
    if files.is_empty() {
        return Ok((0, 0, dropped, 0, 0));
    }
    classify_cells(files, family, *rules, major, now_ms, |c, verdict| {
        let bytes = cell_write_estimate(c);
        cells_in += 1;
        est_in += bytes;
        match verdict {
            Verdict::Keep => {
                cells_out += 1;
                est_out += bytes;
            }
            Verdict::Skip(reason) => dropped.count(reason),
        }
        Ok(())
    })?;
    Ok((cells_in, cells_out, dropped, est_in, est_out))
}
