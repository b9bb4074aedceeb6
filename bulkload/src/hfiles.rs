//! Writing the output: one HFile per region per family (rolled at a size limit, at a row
//! boundary), with the family's compression, encoding, Bloom type and block size, laid out
//! as `DIR/<family>/<hfile>` — the layout `basalt load` (and HBase's bulk load) expects.
//! Region × family tasks run in parallel.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use hfile::{CellSlices, CellView, Reader, Writer, WriterOptions};
use rayon::prelude::*;

use crate::cells::{CellOut, ColumnTable};
use crate::error::{Error, Result};
use crate::partition::Regions;
use crate::row_sort::for_each_row;
use crate::sort::{family_ranges, open_runs, Bucket, Run, RunMerge, Sorted};

/// How to write the output files.
#[derive(Clone, Debug)]
pub struct OutputConfig {
    /// The output directory (`DIR/<family>/<hfile>`).
    pub dir: PathBuf,
    /// Writer options per family index (from the family descriptors).
    pub family_options: Vec<WriterOptions>,
    /// Start a new file once one reaches this many bytes (at the next row).
    pub max_file_size: u64,
    /// Bulk-load time recorded in each file's FileInfo.
    pub bulk_load_time: i64,
    /// Worker threads available.
    pub threads: usize,
}

/// One HFile written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WrittenFile {
    /// Its family.
    pub family: Vec<u8>,
    /// Its path.
    pub path: PathBuf,
    /// Index of the region it was written for.
    pub region: usize,
    /// Cells.
    pub cells: u64,
    /// Size in bytes.
    pub bytes: u64,
}

/// The directory files of `family` go to.
pub fn family_dir(dir: &Path, family: &[u8]) -> PathBuf {
    dir.join(String::from_utf8_lossy(family).as_ref())
}

/// Streams the sorted cells of one region and family into size-rolled files.
pub struct RollingWriter<'a> {
    dir: PathBuf,
    family: &'a [u8],
    region: usize,
    opts: WriterOptions,
    max_size: u64,
    bulk_time: i64,
    current: Option<Writer>,
    rolls: usize,
    /// The row at which the current file reached the size limit: it is closed at the
    /// next row.
    full_row: Option<Vec<u8>>,
    done: Vec<WrittenFile>,
    cells_written: &'a AtomicU64,
    unreported: u64,
}

/// Cells a [`RollingWriter`] appends between updates of the shared progress counter.
const REPORT_EVERY: u64 = 4096;

impl<'a> RollingWriter<'a> {
    /// A writer for region `region` of `family` under `cfg.dir`.
    pub fn new(
        cfg: &OutputConfig,
        family: &'a [u8],
        opts: WriterOptions,
        region: usize,
        cells_written: &'a AtomicU64,
    ) -> RollingWriter<'a> {
        RollingWriter {
            dir: family_dir(&cfg.dir, family),
            family,
            region,
            opts,
            max_size: cfg.max_file_size.max(1),
            bulk_time: cfg.bulk_load_time,
            current: None,
            rolls: 0,
            full_row: None,
            done: Vec::new(),
            cells_written,
            unreported: 0,
        }
    }

    /// Appends a cell (cells must come sorted; sequence ids are written as 0).
    pub fn append(&mut self, c: &CellSlices<'_>) -> Result<()> {
        let w = self.writer_for(c.row)?;
        w.append(&CellSlices { seq_id: 0, ..*c })?;
        self.appended(c.row, 1);
        Ok(())
    }

    /// Appends the cells of one row (sorted, after the rows before; sequence ids are
    /// written as 0).
    pub fn append_row(&mut self, table: &ColumnTable, cells: &[CellOut<'_>]) -> Result<()> {
        let Some(first) = cells.first() else {
            return Ok(());
        };
        let w = self.writer_for(first.row)?;
        table.append_row(w, cells, false)?;
        self.appended(first.row, cells.len() as u64);
        Ok(())
    }

    /// The file a cell of `row` goes to: the current one, or a new one when the current
    /// one is full and `row` starts a new row.
    fn writer_for(&mut self, row: &[u8]) -> Result<&mut Writer> {
        if self.full_row.as_deref().is_some_and(|r| r != row) {
            self.close_current()?;
        }
        if self.current.is_none() {
            std::fs::create_dir_all(&self.dir).map_err(|e| Error::io(&self.dir, e))?;
            let name = format!("{:016x}{:08x}", self.region, self.rolls);
            self.rolls += 1;
            let mut w = Writer::create(self.dir.join(name), self.opts.clone())?;
            w.set_bulk_load_time(self.bulk_time);
            self.current = Some(w);
        }
        // (A writer is large: it stays in place rather than move per row.)
        self.current
            .as_mut()
            .ok_or_else(|| Error::Internal("no open output file".into()))
    }

    /// Notes `cells` appended for `row`: the file is full once it reaches the size limit
    /// (it is closed at the next row).
    fn appended(&mut self, row: &[u8], cells: u64) {
        if self.full_row.is_none()
            && self
                .current
                .as_ref()
                .is_some_and(|w| w.bytes_written() >= self.max_size)
        {
            self.full_row = Some(row.to_vec());
        }
        self.unreported += cells;
        if self.unreported >= REPORT_EVERY {
            self.report();
        }
    }

    /// Adds the cells appended since the last report to the shared counter (one shared
    /// write per [`REPORT_EVERY`] cells: a write per cell made the writers contend).
    fn report(&mut self) {
        self.cells_written
            .fetch_add(std::mem::take(&mut self.unreported), Ordering::Relaxed);
    }

    fn close_current(&mut self) -> Result<()> {
        self.full_row = None;
        if let Some(w) = self.current.take() {
            let s = w.finish()?;
            self.done.push(WrittenFile {
                family: self.family.to_vec(),
                path: s.path,
                region: self.region,
                cells: s.entries,
                bytes: s.file_size,
            });
        }
        Ok(())
    }

    /// Finishes the open file and returns every file written.
    pub fn finish(mut self) -> Result<Vec<WrittenFile>> {
        self.report();
        self.close_current()?;
        Ok(self.done)
    }
}

/// Writes the sorted cells as HFiles, one set per (region, family), in parallel. The
/// memory of in-memory buckets is given back as each is written.
pub fn write_output(
    sorted: Sorted,
    table: &ColumnTable,
    regions: &Regions,
    cfg: &OutputConfig,
    cells_written: &AtomicU64,
) -> Result<Vec<WrittenFile>> {
    let mut files = match sorted {
        Sorted::Memory(buckets) => write_from_memory(buckets, table, regions, cfg, cells_written)?,
        Sorted::Runs(runs) => write_from_runs(&runs, table, regions, cfg, cells_written)?,
    };
    files.sort_by(|a, b| (&a.family, a.region, &a.path).cmp(&(&b.family, b.region, &b.path)));
    Ok(files)
}

fn options_for(cfg: &OutputConfig, fam: u16, tasks: usize) -> WriterOptions {
    let mut o = cfg
        .family_options
        .get(fam as usize)
        .cloned()
        .unwrap_or_default();
    o.compress_threads = (cfg.threads / tasks.max(1)).max(1);
    o
}

/// The ranges of one bucket's groups that one (family, region) writes.
type Segment = (Arc<Bucket>, usize, usize);

fn write_from_memory(
    buckets: Vec<Bucket>,
    table: &ColumnTable,
    regions: &Regions,
    cfg: &OutputConfig,
    cells_written: &AtomicU64,
) -> Result<Vec<WrittenFile>> {
    // Tasks: per (family, region), its segments in key order.
    let mut tasks: BTreeMap<(u16, usize), Vec<Segment>> = BTreeMap::new();
    for bucket in buckets.into_iter().map(Arc::new) {
        for (fam, start, end) in family_ranges(&bucket.groups) {
            let fam_groups = &bucket.groups[start..end];
            let mut s = 0;
            while let Some(first) = fam_groups.get(s) {
                let region = regions.index_of(bucket.arena.row(first));
                let span = &regions.spans()[region];
                let e = if span.end.is_empty() {
                    fam_groups.len()
                } else {
                    s + fam_groups[s..]
                        .partition_point(|g| bucket.arena.row(g) < span.end.as_slice())
                };
                let segment = (Arc::clone(&bucket), start + s, start + e);
                tasks.entry((fam, region)).or_default().push(segment);
                s = e;
            }
        }
    }
    // Each bucket now lives until the last task writing from it is done with it.
    let n = tasks.len();
    let results: Vec<Result<Vec<WrittenFile>>> = tasks
        .into_iter()
        .collect::<Vec<_>>()
        .into_par_iter()
        .map(|((fam, region), segments)| {
            let family = table.family_name(fam);
            let mut w =
                RollingWriter::new(cfg, family, options_for(cfg, fam, n), region, cells_written);
            for (bucket, s, e) in segments {
                for_each_row(&bucket.arena, &bucket.groups[s..e], |cells| {
                    w.append_row(table, cells)
                })?;
            }
            w.finish()
        })
        .collect();
    let mut out = Vec::new();
    for r in results {
        out.extend(r?);
    }
    Ok(out)
}

fn write_from_runs(
    runs: &[Vec<Run>],
    table: &ColumnTable,
    regions: &Regions,
    cfg: &OutputConfig,
    cells_written: &AtomicU64,
) -> Result<Vec<WrittenFile>> {
    let readers: Vec<Vec<Arc<Reader>>> =
        runs.iter().map(|r| open_runs(r)).collect::<Result<_>>()?;
    let mut tasks = Vec::new();
    for (fam, rs) in readers.iter().enumerate() {
        if rs.is_empty() {
            continue;
        }
        for region in 0..regions.len() {
            tasks.push((fam as u16, region));
        }
    }
    let n = tasks.len().min(cfg.threads.max(1) * 2);
    let results: Vec<Result<Vec<WrittenFile>>> = tasks
        .par_iter()
        .map(|&(fam, region)| {
            let span = &regions.spans()[region];
            let family = table.family_name(fam);
            let mut merge = RunMerge::open(&readers[fam as usize], &span.start)?;
            let mut w =
                RollingWriter::new(cfg, family, options_for(cfg, fam, n), region, cells_written);
            while let Some(c) = merge.current() {
                if !span.end.is_empty() && c.row() >= span.end.as_slice() {
                    break;
                }
                w.append(&CellSlices::put(
                    c.row(),
                    family,
                    c.qualifier(),
                    c.timestamp(),
                    c.value(),
                    0,
                ))?;
                merge.advance()?;
            }
            w.finish()
        })
        .collect();
    let mut out = Vec::new();
    for r in results {
        out.extend(r?);
    }
    Ok(out)
}
