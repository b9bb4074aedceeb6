//! The hand-off: offering HFiles to the live regions of a table, atomically per region,
//! through the engine's bulk-ingest API — the last phase of `basalt import` and all of
//! `basalt load DIR TABLE`.
//!
//! Like HBase's `LoadIncrementalHFiles`, each round re-reads the region boundaries, groups
//! files by the region holding their first row, and gives up after
//! `max(10, regions + 1)` rounds. Where HBase splits a straddling file in two at the end key
//! of the region holding its first row (and recurses), Basalt cuts it at *every* boundary it
//! crosses in one pass over the file, so a file spanning n regions is read once, not
//! `log n` times. A region that changes while its batch is offered (the engine's typed
//! straddle / not-serving errors) sends its files back to the next round.
//!
//! The engine is reached through the small [`BulkTarget`] trait so the rest of the crate does
//! not depend on how the engine is hosted (embedded server today, a cluster client later).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use hfile::cell::to_string_binary;
use hfile::{CellRef, CellView, Reader, Writer, WriterOptions};
use rayon::prelude::*;
use store_server::schema::{FamilyDescriptor, TableDescriptor, TableName};
use store_server::typed::TypedSchema;
use store_server::Connection;

use crate::error::{Error, Result};
use crate::partition::{RegionSpan, Regions};

/// What the loader needs from the storage engine.
pub trait BulkTarget: Sync {
    /// The table's families, or `None` if the table does not exist.
    fn families(&self, table: &str) -> Result<Option<Vec<FamilyDescriptor>>>;
    /// The table's SQL schema if it is a typed table (created by SQL `CREATE TABLE`).
    fn schema(&self, _table: &str) -> Result<Option<TypedSchema>> {
        Ok(None)
    }
    /// Creates a table with these families, pre-split at `split_keys`.
    fn create_table(
        &self,
        table: &str,
        families: &[FamilyDescriptor],
        split_keys: &[Vec<u8>],
    ) -> Result<()>;
    /// The table's current regions.
    fn regions(&self, table: &str) -> Result<Regions>;
    /// Loads `files` (family, path) — every one inside `region` — into that region, all or
    /// nothing; `moving` moves the files (they are gone once loaded) instead of copying
    /// them. A region that split or closed meanwhile yields [`Error::RegionChanged`] (and
    /// leaves the files where they were).
    fn bulk_load(
        &self,
        table: &str,
        region: &RegionSpan,
        files: &[(Vec<u8>, PathBuf)],
        moving: bool,
    ) -> Result<()>;
    /// A directory on the engine's storage for staging files of a run.
    fn staging_dir(&self) -> PathBuf;
}

fn table_name(table: &str) -> Result<TableName> {
    Ok(TableName::parse(table)?)
}

/// A Basalt connection (embedded today, cluster later) as a bulk-load target, through its
/// [`Admin`](store_server::client::Admin) interface.
///
/// The engine's `bulk_load` takes a region's files of every family in one call and makes
/// them visible together.
impl BulkTarget for Connection {
    fn families(&self, table: &str) -> Result<Option<Vec<FamilyDescriptor>>> {
        match self.admin().describe(&table_name(table)?) {
            Ok(d) => Ok(Some(d.families)),
            Err(store_server::Error::TableNotFound(_)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    fn schema(&self, table: &str) -> Result<Option<TypedSchema>> {
        match self.admin().describe(&table_name(table)?) {
            Ok(d) => Ok(TypedSchema::from_descriptor(&d)?),
            Err(store_server::Error::TableNotFound(_)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    fn create_table(
        &self,
        table: &str,
        families: &[FamilyDescriptor],
        split_keys: &[Vec<u8>],
    ) -> Result<()> {
        let desc = TableDescriptor::new(table_name(table)?, families.to_vec());
        self.admin().create_table(desc, split_keys)?;
        Ok(())
    }

    fn regions(&self, table: &str) -> Result<Regions> {
        let regions = self.admin().regions(&table_name(table)?)?;
        Ok(Regions::new(
            regions
                .into_iter()
                .map(|r| RegionSpan {
                    name: r.info.region_name(),
                    start: r.info.start_key,
                    end: r.info.end_key,
                })
                .collect(),
        ))
    }

    fn bulk_load(
        &self,
        table: &str,
        region: &RegionSpan,
        files: &[(Vec<u8>, PathBuf)],
        moving: bool,
    ) -> Result<()> {
        let t = table_name(table)?;
        let admin = self.admin();
        let loaded = if moving {
            admin.bulk_load_moving(&t, files)
        } else {
            admin.bulk_load(&t, files)
        };
        match loaded {
            Ok(_) => Ok(()),
            Err(e @ store_server::Error::BulkLoadOutOfRange { .. })
            | Err(e @ store_server::Error::RegionNotServing(_))
            | Err(e @ store_server::Error::Timeout(_)) => Err(Error::RegionChanged {
                region: region.name.clone(),
                reason: e.to_string(),
            }),
            Err(store_server::Error::FamilyNotFound { table, family }) => {
                Err(Error::UnknownFamily {
                    table,
                    family,
                    origin: format!("{} file(s) for region {}", files.len(), region.name),
                })
            }
            Err(e) => Err(e.into()),
        }
    }

    fn staging_dir(&self) -> PathBuf {
        self.server().root().join("staging")
    }
}

/// One HFile to load.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadFile {
    /// Its family.
    pub family: Vec<u8>,
    /// Its path.
    pub path: PathBuf,
    /// First row in the file.
    pub first_row: Vec<u8>,
    /// Last row in the file.
    pub last_row: Vec<u8>,
}

fn row_of(key: &[u8], path: &Path) -> Result<(Vec<u8>, Vec<u8>)> {
    CellRef::new(key, &[], &[], 0)
        .map(|c| (c.row().to_vec(), c.family().to_vec()))
        .ok_or_else(|| {
            Error::HFile(hfile::Error::corrupt(
                path,
                0,
                "malformed first or last key",
            ))
        })
}

impl LoadFile {
    /// Describes the HFile at `path` (first and last row from its trailer and FileInfo);
    /// `None` for a file without cells.
    pub fn open(family: &[u8], path: &Path) -> Result<Option<LoadFile>> {
        let r = Reader::open(path, None)?;
        let (Some(first), Some(last)) = (r.first_key(), r.last_key()) else {
            return Ok(None);
        };
        let (first_row, f1) = row_of(first, path)?;
        let (last_row, f2) = row_of(last, path)?;
        for f in [f1, f2] {
            if f != family {
                return Err(Error::InvalidOption(format!(
                    "{} is in directory '{}' but holds family '{}'",
                    path.display(),
                    to_string_binary(family),
                    to_string_binary(&f)
                )));
            }
        }
        Ok(Some(LoadFile {
            family: family.to_vec(),
            path: path.to_path_buf(),
            first_row,
            last_row,
        }))
    }
}

/// The HFiles of an output directory: `DIR/<family>/<file>` (names starting with `.` or
/// `_` are skipped, as HBase does).
pub fn collect_dir(dir: &Path) -> Result<Vec<LoadFile>> {
    let mut out = Vec::new();
    let mut fams = Vec::new();
    for ent in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let ent = ent.map_err(|e| Error::io(dir, e))?;
        let name = ent.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || name.starts_with('_') {
            continue;
        }
        if ent
            .file_type()
            .map_err(|e| Error::io(ent.path(), e))?
            .is_dir()
        {
            fams.push((name, ent.path()));
        }
    }
    fams.sort();
    for (fam, path) in fams {
        let mut files = Vec::new();
        for ent in std::fs::read_dir(&path).map_err(|e| Error::io(&path, e))? {
            let ent = ent.map_err(|e| Error::io(&path, e))?;
            let name = ent.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || name.starts_with('_') {
                continue;
            }
            if ent
                .file_type()
                .map_err(|e| Error::io(ent.path(), e))?
                .is_file()
            {
                files.push(ent.path());
            }
        }
        files.sort();
        for f in files {
            if let Some(lf) = LoadFile::open(fam.as_bytes(), &f)? {
                out.push(lf);
            }
        }
    }
    Ok(out)
}

/// Callbacks at points of the load, for progress reporting and for tests that change the
/// table or stop the process mid-load.
pub trait LoadHooks: Sync + Send {
    /// Called before each round, after the region boundaries were read (1-based round).
    fn before_round(&self, _round: usize, _regions: &Regions) {}
    /// Called after a region accepted its files.
    fn region_loaded(&self, _region: &RegionSpan, _files: usize) {}
}

/// How to load.
pub struct LoadOptions<'a> {
    /// Where files cut at new region boundaries are written (removed afterwards).
    pub work_dir: PathBuf,
    /// Rounds before giving up; default `max(10, regions + 1)` as in HBase.
    pub max_rounds: Option<usize>,
    /// Callbacks.
    pub hooks: Option<&'a dyn LoadHooks>,
    /// Called with the number of files loaded so far (progress).
    pub on_progress: Option<&'a (dyn Fn(u64) + Sync)>,
    /// Move the files into the regions instead of copying them (files of the import's own
    /// staging directory; `basalt load` leaves the user's directory as it was).
    pub move_files: bool,
}

/// What a load did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoadReport {
    /// Rounds used.
    pub rounds: usize,
    /// Files handed to regions (after any cutting).
    pub files_loaded: usize,
    /// Bytes handed to regions.
    pub bytes_loaded: u64,
    /// Files that straddled a boundary and were cut.
    pub files_split: usize,
    /// Distinct regions that received files.
    pub regions_touched: usize,
}

/// Cuts `file` at every boundary of `regions` it crosses; returns the pieces.
fn split_file(
    file: &LoadFile,
    regions: &Regions,
    opts: &WriterOptions,
    dir: &Path,
) -> Result<Vec<LoadFile>> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let reader = Reader::open(&file.path, None)?;
    let bulk_time = reader.bulk_load_time();
    let stem = file
        .path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "hfile".into());
    let mut pieces = Vec::new();
    let mut current: Option<(usize, Writer, Vec<u8>, Vec<u8>)> = None;
    let finish = |cur: Option<(usize, Writer, Vec<u8>, Vec<u8>)>,
                  pieces: &mut Vec<LoadFile>|
     -> Result<()> {
        if let Some((_, w, first, last)) = cur {
            let s = w.finish()?;
            pieces.push(LoadFile {
                family: file.family.clone(),
                path: s.path,
                first_row: first,
                last_row: last,
            });
        }
        Ok(())
    };
    for cell in reader.cells() {
        let cell = cell?;
        let region = regions.index_of(&cell.row);
        if current.as_ref().is_some_and(|c| c.0 != region) {
            finish(current.take(), &mut pieces)?;
        }
        if current.is_none() {
            let path = dir.join(format!("{stem}.{region:06}"));
            let mut w = Writer::create(&path, opts.clone())?;
            if let Some(t) = bulk_time {
                w.set_bulk_load_time(t);
            }
            current = Some((region, w, cell.row.to_vec(), Vec::new()));
        }
        if let Some((_, w, _, last)) = &mut current {
            w.append(&cell)?;
            if last.as_slice() != cell.row.as_ref() {
                *last = cell.row.to_vec();
            }
        }
    }
    finish(current, &mut pieces)?;
    Ok(pieces)
}

/// Loads `files` into `table`, cutting files at region boundaries and retrying regions that
/// changed, until every file is in or the round limit is reached.
pub fn load_files(
    target: &dyn BulkTarget,
    table: &str,
    files: Vec<LoadFile>,
    opts: &LoadOptions<'_>,
) -> Result<LoadReport> {
    let families = target
        .families(table)?
        .ok_or_else(|| Error::TableNotFound(table.to_string()))?;
    for f in &files {
        if !families.iter().any(|d| d.name == f.family) {
            return Err(Error::UnknownFamily {
                table: table.to_string(),
                family: to_string_binary(&f.family),
                origin: f.path.display().to_string(),
            });
        }
    }
    let writer_opts = |family: &[u8]| -> WriterOptions {
        families
            .iter()
            .find(|d| d.name == family)
            .map(store_server::storefile::writer_options)
            .unwrap_or_default()
    };
    let mut report = LoadReport::default();
    let mut touched = BTreeSet::new();
    let mut pending = files;
    let mut max_rounds = opts.max_rounds;
    let mut last_problem = String::new();
    let loaded_count = AtomicU64::new(0);
    let split_root = opts.work_dir.join(".split");
    let result = (|| -> Result<()> {
        let mut round = 0;
        while !pending.is_empty() {
            round += 1;
            let regions = target.regions(table)?;
            let limit = *max_rounds.get_or_insert(10.max(regions.len() + 1));
            if round > limit {
                return Err(Error::TooManyRounds {
                    table: table.to_string(),
                    rounds: limit,
                    remaining: pending.len(),
                    last: last_problem.clone(),
                });
            }
            report.rounds = round;
            if let Some(h) = opts.hooks {
                h.before_round(round, &regions);
            }
            // Group by region, cutting straddlers.
            let mut groups: BTreeMap<usize, Vec<LoadFile>> = BTreeMap::new();
            let mut straddlers = Vec::new();
            for f in std::mem::take(&mut pending) {
                let i = regions.index_of(&f.first_row);
                if regions.spans()[i].contains(&f.last_row) {
                    groups.entry(i).or_default().push(f);
                } else {
                    straddlers.push(f);
                }
            }
            let dir = split_root.join(format!("round-{round:03}"));
            let cut: Vec<Result<Vec<LoadFile>>> = straddlers
                .par_iter()
                .map(|f| {
                    split_file(
                        f,
                        &regions,
                        &writer_opts(&f.family),
                        &dir.join(to_string_binary(&f.family)),
                    )
                })
                .collect();
            report.files_split += straddlers.len();
            for pieces in cut {
                for p in pieces? {
                    groups
                        .entry(regions.index_of(&p.first_row))
                        .or_default()
                        .push(p);
                }
            }
            let groups: Vec<(usize, Vec<LoadFile>)> = groups.into_iter().collect();
            let results: Vec<(usize, u64, Result<()>)> = groups
                .par_iter()
                .map(|(i, files)| {
                    let span = &regions.spans()[*i];
                    let list: Vec<(Vec<u8>, PathBuf)> = files
                        .iter()
                        .map(|f| (f.family.clone(), f.path.clone()))
                        .collect();
                    let bytes = files
                        .iter()
                        .map(|f| std::fs::metadata(&f.path).map(|m| m.len()).unwrap_or(0))
                        .sum();
                    let r = target.bulk_load(table, span, &list, opts.move_files);
                    if r.is_ok() {
                        let n = loaded_count.fetch_add(files.len() as u64, Ordering::Relaxed)
                            + files.len() as u64;
                        if let Some(p) = opts.on_progress {
                            p(n);
                        }
                        if let Some(h) = opts.hooks {
                            h.region_loaded(span, files.len());
                        }
                    }
                    (*i, bytes, r)
                })
                .collect();
            let mut fatal = None;
            for ((i, files), (_, bytes, r)) in groups.into_iter().zip(results) {
                match r {
                    Ok(()) => {
                        touched.insert(regions.spans()[i].name.clone());
                        report.files_loaded += files.len();
                        report.bytes_loaded += bytes;
                    }
                    Err(e) if e.is_retryable() => {
                        last_problem = e.to_string();
                        pending.extend(files);
                    }
                    Err(e) => {
                        fatal.get_or_insert(e);
                    }
                }
            }
            if let Some(e) = fatal {
                return Err(e);
            }
        }
        Ok(())
    })();
    let _ = std::fs::remove_dir_all(&split_root);
    result?;
    report.regions_touched = touched.len();
    Ok(report)
}
