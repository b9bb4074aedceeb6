//! The import job, phase by phase: plan (inputs, field names, column mapping, table check),
//! read (parallel over files) into the sorter, sort (spilling past the memory budget),
//! partition by region (creating the table with sampled split points if asked), write
//! HFiles, and hand them to the regions.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::{bounded, RecvTimeoutError};
use hfile::cell::to_string_binary;
use store_server::schema::FamilyDescriptor;
use store_server::typed::TypedSchema;

use crate::bucket::{Bounds, Router};
use crate::cells::{ColumnTable, RowBuilder};
use crate::error::{Error, Result};
use crate::hfiles::{write_output, OutputConfig};
use crate::load::{load_files, BulkTarget, LoadFile, LoadHooks, LoadOptions};
use crate::partition::{hash64, salt_split_points, Sampler};
use crate::report::{ImportSummary, PhaseBar, PhaseTimes};
use crate::sort::{Sorted, Sorter};
use crate::source::{self, expand_inputs, Cancel, Format, InputFile, Msg, ReadCtx, SourceOptions};
use crate::spec::{ColumnSpec, Mapping};
use crate::typed::TypedFields;

/// Default size at which an output HFile is rolled (HBase's `hbase.hregion.max.filesize`).
pub const DEFAULT_MAX_FILE_SIZE: u64 = 10 << 30;

/// Everything `basalt import` can be told.
#[derive(Clone, Default)]
pub struct ImportOptions {
    /// Target table (`[namespace:]name`).
    pub table: String,
    /// Input files and directories.
    pub inputs: Vec<PathBuf>,
    /// Format, header and separator.
    pub source: SourceOptions,
    /// The column mapping (`--columns`); `None` = from field names.
    pub columns: Option<ColumnSpec>,
    /// For a typed table: the SQL columns the input's fields feed, in field order
    /// (Phoenix's `--import-columns`); `None` = by field names, else by position.
    pub import_columns: Option<Vec<String>>,
    /// Timestamp of every cell without a timestamp column (`--timestamp`).
    pub timestamp: Option<i64>,
    /// Stop after writing HFiles into this directory.
    pub output_dir: Option<PathBuf>,
    /// Skip (and report) malformed records instead of aborting.
    pub skip_bad_lines: bool,
    /// Write skipped records (original text + reason) here.
    pub bad_lines_file: Option<PathBuf>,
    /// Memory budget in bytes (default: a quarter of RAM).
    pub memory: Option<usize>,
    /// Worker threads (default: all cores).
    pub threads: Option<usize>,
    /// CSV/TSV files of at least twice this size are read by several threads, in pieces of
    /// at least this size (default [`DEFAULT_PIECE_SIZE`]).
    pub piece_size: Option<u64>,
    /// Create the table with these families if it does not exist.
    pub create: Option<Vec<FamilyDescriptor>>,
    /// With `create`: number of regions, split points sampled from the input.
    pub presplit: Option<usize>,
    /// Prefix row keys with a one-byte hash bucket (and pre-split on it when creating).
    pub salt_buckets: Option<u8>,
    /// Roll output HFiles at this size (default [`DEFAULT_MAX_FILE_SIZE`]).
    pub max_file_size: Option<u64>,
    /// Draw progress bars on stderr.
    pub progress: bool,
    /// Load-phase callbacks.
    pub hooks: Option<std::sync::Arc<dyn LoadHooks>>,
}

impl std::fmt::Debug for ImportOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImportOptions")
            .field("table", &self.table)
            .field("inputs", &self.inputs)
            .field("source", &self.source)
            .field("columns", &self.columns)
            .field("import_columns", &self.import_columns)
            .field("timestamp", &self.timestamp)
            .field("output_dir", &self.output_dir)
            .field("skip_bad_lines", &self.skip_bad_lines)
            .field("memory", &self.memory)
            .field("threads", &self.threads)
            .finish_non_exhaustive()
    }
}

/// Parses `--create`: comma-separated families, each `NAME[:OPT=V]`; an entry holding `=`
/// but no `:` continues the previous family's options
/// (`cf1:COMPRESSION=LZ4,BLOOMFILTER=ROWCOL,cf2`).
pub fn parse_families(spec: &str) -> Result<Vec<FamilyDescriptor>> {
    let mut specs: Vec<String> = Vec::new();
    for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match specs.last_mut() {
            Some(last) if part.contains('=') && !part.contains(':') => {
                last.push(',');
                last.push_str(part);
            }
            _ => specs.push(part.to_string()),
        }
    }
    if specs.is_empty() {
        return Err(Error::InvalidOption("--create names no family".into()));
    }
    specs
        .iter()
        .map(|s| FamilyDescriptor::parse_spec(s).map_err(Error::from))
        .collect()
}

/// A quarter of the machine's memory (from /proc/meminfo), or 1 GiB if unknown.
pub fn default_memory() -> usize {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<usize>().ok())
        })
        .map(|kb| kb * 1024 / 4)
        .unwrap_or(1 << 30)
}

/// The directory an import works in; removed when dropped unless kept.
struct WorkDir {
    path: PathBuf,
    remove: bool,
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        if self.remove {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

fn prepare_output_dir(dir: &Path) -> Result<()> {
    match std::fs::read_dir(dir) {
        Ok(mut rd) => {
            if rd.next().is_some() {
                return Err(Error::OutputDirNotEmpty(dir.to_path_buf()));
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))
        }
        Err(e) => Err(Error::io(dir, e)),
    }
}

/// A stable fingerprint of a run: table, inputs (path, size, mtime), mapping and timestamp.
fn fingerprint(opts: &ImportOptions, files: &[InputFile], ts: i64) -> u64 {
    let mut s = format!(
        "{}|{ts}|{:?}|{:?}|{:?}|{:?}",
        opts.table, opts.columns, opts.import_columns, opts.source, opts.salt_buckets
    );
    for f in files {
        s.push_str(&format!("|{}:{}:{}", f.path.display(), f.size, f.mtime_ms));
    }
    hash64(s.as_bytes())
}

/// What the planning step decided.
struct Plan {
    files: Vec<InputFile>,
    names: Vec<Option<Vec<String>>>,
    mappings: Vec<Mapping>,
    table: ColumnTable,
}

fn plan(opts: &ImportOptions, schema: Option<Arc<TypedSchema>>) -> Result<Plan> {
    let files = expand_inputs(&opts.inputs, &opts.source)?;
    let mut names = Vec::new();
    let mut mappings = Vec::new();
    for f in &files {
        let n = match (&opts.columns, f.format) {
            // A named spec selects JSON fields by name, whatever the first object holds.
            (Some(spec), Format::Jsonl) if spec.is_named() => Some(
                spec.entries
                    .iter()
                    .filter_map(|e| e.source.clone())
                    .collect(),
            ),
            _ => source::field_names(f, &opts.source)?,
        };
        let m = match &schema {
            Some(schema) => {
                TypedFields::resolve(schema.clone(), opts.import_columns.as_deref(), n.as_deref())
                    .map(|t| t.into_mapping(n.as_deref()))
            }
            None => Mapping::resolve(opts.columns.as_ref(), n.as_deref()),
        };
        let m = m.map_err(|e| match e {
            Error::Spec(m) => Error::Spec(format!("{}: {m}", f.path.display())),
            other => other,
        })?;
        names.push(n);
        mappings.push(m);
    }
    let table = ColumnTable::from_mappings(&mappings)?;
    Ok(Plan {
        files,
        names,
        mappings,
        table,
    })
}

/// Checks the mapped families against the table (or the families to create).
fn check_families(
    table: &str,
    have: &[FamilyDescriptor],
    cols: &ColumnTable,
    creating: bool,
) -> Result<()> {
    for fam in &cols.families {
        if !have.iter().any(|d| &d.name == fam) {
            return Err(Error::UnknownFamily {
                table: table.to_string(),
                family: to_string_binary(fam),
                origin: if creating {
                    "the column mapping; add it to --create".into()
                } else {
                    "the column mapping".into()
                },
            });
        }
    }
    Ok(())
}

struct ReadOutcome<'t> {
    sorter: Sorter<'t>,
    sampler: Option<Sampler>,
    bad_lines: u64,
    rows: u64,
}

/// Default of [`ImportOptions::piece_size`].
pub const DEFAULT_PIECE_SIZE: u64 = 8 << 20;

/// Most key-range buckets of the sort buffer (see [`crate::bucket`]).
const MAX_BUCKETS: u64 = 32;

/// Bytes at the start of every piece of a CSV/TSV input whose row keys set the bounds of
/// the buckets.
const SAMPLE_BYTES: u64 = 256 << 10;

/// The bounds of about one bucket per eight pieces of input (`piece_size`), from the row
/// keys of the first records of every CSV/TSV unit. Other formats are not sampled; with
/// no sample there is one bucket.
fn bucket_bounds(
    opts: &ImportOptions,
    plan: &Plan,
    units: &[Unit],
    default_ts: i64,
    piece_size: u64,
) -> Result<Bounds> {
    let bytes: u64 = plan.files.iter().map(|f| f.size).sum();
    let n = (bytes / piece_size.max(1) / 8).clamp(1, MAX_BUCKETS) as usize;
    if n == 1 {
        return Ok(Bounds::default());
    }
    let (tx, _rx) = crossbeam_channel::unbounded::<Msg>();
    let never = AtomicUsize::new(usize::MAX);
    let bytes_done = AtomicU64::new(0);
    let mut rows = Vec::new();
    for unit in units {
        let file = &plan.files[unit.file];
        if !matches!(file.format, Format::Csv | Format::Tsv) {
            continue;
        }
        let piece = unit
            .piece
            .unwrap_or_else(|| source::csv::Piece::whole(file));
        let piece = source::csv::Piece {
            end: piece.end.min(piece.start + SAMPLE_BYTES),
            ..piece
        };
        let builder = RowBuilder::new(
            &plan.mappings[unit.file],
            &plan.table,
            default_ts,
            opts.salt_buckets,
        )?;
        let cancel = Cancel {
            failed: &never,
            unit: 0,
        };
        let mut ctx = ReadCtx::new(
            unit.file,
            &file.path,
            builder,
            usize::MAX,
            &tx,
            true,
            false,
            cancel,
            None,
            None,
            &bytes_done,
        );
        // A sample only balances the buckets: what cannot be read here is reported by
        // the read itself.
        if source::csv::read(file, &opts.source, piece, &mut ctx).is_ok() {
            let batch = ctx.into_batch();
            rows.extend(batch.groups.iter().map(|g| batch.row(g).to_vec()));
        }
    }
    Ok(Bounds::from_sample(rows, n))
}

/// What one reader thread reads: a file, or a piece of a CSV/TSV file.
struct Unit {
    file: usize,
    piece: Option<source::csv::Piece>,
}

/// The units of reading, in input order: large CSV/TSV files cut into pieces (when
/// `split`), every other file whole.
fn units(plan: &Plan, threads: usize, piece_size: u64, split: bool) -> Result<Vec<Unit>> {
    let mut out = Vec::new();
    for (i, f) in plan.files.iter().enumerate() {
        let pieces = (f.size / piece_size.max(1)).min(4 * threads as u64) as usize;
        if split && threads > 1 && pieces > 1 && matches!(f.format, Format::Csv | Format::Tsv) {
            for p in source::csv::split(f, pieces)? {
                out.push(Unit {
                    file: i,
                    piece: Some(p),
                });
            }
        } else {
            out.push(Unit {
                file: i,
                piece: None,
            });
        }
    }
    Ok(out)
}

/// Reads every input into the sorter with up to `threads` reader threads, a file or a
/// piece of one each. Fails with [`Error::UnsplittableInput`] if a piece did not start at
/// a record boundary.
#[allow(clippy::too_many_arguments)]
fn read_phase<'t>(
    opts: &ImportOptions,
    plan: &'t Plan,
    sort_budget: usize,
    spill_dir: &Path,
    default_ts: i64,
    threads: usize,
    batch_limit: usize,
    sample_k: Option<usize>,
    split: bool,
    bar: &PhaseBar,
) -> Result<ReadOutcome<'t>> {
    let piece_size = opts.piece_size.unwrap_or(DEFAULT_PIECE_SIZE);
    let units = units(plan, threads, piece_size, split)?;
    let bounds = Arc::new(bucket_bounds(opts, plan, &units, default_ts, piece_size)?);
    let chunk_size = (2 * batch_limit).clamp(16 << 10, 2 << 20);
    let (tx, rx) = bounded::<Msg>(threads.max(1));
    let next = AtomicUsize::new(0);
    let failed = AtomicUsize::new(usize::MAX);
    let bytes_done = AtomicU64::new(0);
    let keep_text = opts.bad_lines_file.is_some();
    let mut bad_out = match &opts.bad_lines_file {
        Some(p) => Some(BufWriter::new(
            File::create(p).map_err(|e| Error::io(p, e))?,
        )),
        None => None,
    };
    let readers = threads.clamp(1, units.len().max(1));
    let mut outcome = ReadOutcome {
        sorter: Sorter::new(&plan.table, sort_budget, bounds.len(), spill_dir),
        sampler: sample_k.map(Sampler::new),
        bad_lines: 0,
        rows: 0,
    };
    // The error to report: the earliest unit's, errors of our own (sorter, bad-lines file)
    // first (keyed 0).
    let mut first_err: Option<(usize, Error)> = None;
    let keep_err = |first_err: &mut Option<(usize, Error)>, key: usize, e: Error| {
        failed.fetch_min(key, Ordering::Relaxed);
        if first_err.as_ref().is_none_or(|(k, _)| key < *k) {
            *first_err = Some((key, e));
        }
    };
    // Where each piece's reading stopped.
    let mut stops: Vec<(usize, u64)> = Vec::new();
    std::thread::scope(|s| {
        let mut handles = Vec::new();
        for _ in 0..readers {
            let tx = tx.clone();
            let (next, failed, bytes_done, units) = (&next, &failed, &bytes_done, &units);
            let mut router = Router::new(Arc::clone(&bounds), chunk_size);
            handles.push(s.spawn(move || {
                let mut sampler = sample_k.map(Sampler::new);
                let mut stops = Vec::new();
                let finish = |router: &mut Router| {
                    let mut parts = Vec::new();
                    router.finish(&mut parts);
                    let msg = Msg::Parts {
                        parts,
                        rows: 0,
                        cells: 0,
                    };
                    tx.send(msg)
                        .map_err(|_| (usize::MAX, Error::Internal("import cancelled".into())))
                };
                loop {
                    let u = next.fetch_add(1, Ordering::Relaxed);
                    let cancel = Cancel { failed, unit: u };
                    let Some(unit) = units.get(u) else {
                        return (finish(&mut router), sampler, stops);
                    };
                    if cancel.is_set() {
                        return (finish(&mut router), sampler, stops);
                    }
                    let r = read_one(
                        opts,
                        plan,
                        unit,
                        default_ts,
                        batch_limit,
                        &tx,
                        keep_text,
                        cancel,
                        sampler.as_mut(),
                        &mut router,
                        bytes_done,
                    );
                    match r {
                        Ok(stop) => stops.push((u, stop)),
                        Err(e) => {
                            failed.fetch_min(u, Ordering::Relaxed);
                            return (Err((u, e)), sampler, stops);
                        }
                    }
                }
            }));
        }
        drop(tx);
        loop {
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(Msg::Parts { parts, rows, cells }) => {
                    outcome.rows += rows;
                    outcome.sorter.count_cells(cells);
                    for part in parts {
                        if first_err.is_some() {
                            break;
                        }
                        if let Err(e) = outcome.sorter.push(part) {
                            keep_err(&mut first_err, 0, e);
                        }
                    }
                }
                Ok(Msg::Bad(bad)) => {
                    outcome.bad_lines += 1;
                    if let (Some(w), None) = (bad_out.as_mut(), &first_err) {
                        let r = writeln!(
                            w,
                            "# {}:{}:{}: {}",
                            bad.file.display(),
                            bad.line,
                            bad.column,
                            bad.reason
                        )
                        .and_then(|_| w.write_all(&bad.text))
                        .and_then(|_| w.write_all(b"\n"));
                        if let Err(e) = r {
                            let path = opts.bad_lines_file.clone().unwrap_or_default();
                            keep_err(&mut first_err, 0, Error::io(path, e));
                        }
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            bar.set(bytes_done.load(Ordering::Relaxed));
        }
        for h in handles {
            match h.join() {
                Ok((r, sampler, mine)) => {
                    if let (Some(all), Some(mine)) = (outcome.sampler.as_mut(), sampler) {
                        all.merge(mine);
                    }
                    stops.extend(mine);
                    if let Err((u, e)) = r {
                        // "import cancelled" is the echo of another failure.
                        let key = if matches!(e, Error::Internal(_)) {
                            usize::MAX
                        } else {
                            u + 1
                        };
                        keep_err(&mut first_err, key, e);
                    }
                }
                Err(_) => keep_err(
                    &mut first_err,
                    0,
                    Error::Internal("a reader thread panicked".into()),
                ),
            }
        }
    });
    // A piece that did not end where the next began means the next began inside a record:
    // what it read, errors included, is void.
    let mismatch = stops
        .iter()
        .filter(|&&(u, stop)| units[u].piece.is_some_and(|p| p.end != stop))
        .map(|&(u, _)| u)
        .min();
    match (first_err, mismatch) {
        (Some((key, e)), m) if m.is_none_or(|m| key <= m + 1) => return Err(e),
        (_, Some(m)) => {
            return Err(Error::UnsplittableInput {
                file: plan.files[units[m].file].path.clone(),
                offset: units[m].piece.map_or(0, |p| p.end),
            })
        }
        (_, None) => {}
    }
    if let Some(w) = bad_out.as_mut() {
        let p = opts.bad_lines_file.clone().unwrap_or_default();
        w.flush().map_err(|e| Error::io(p, e))?;
    }
    bar.finish();
    Ok(outcome)
}

/// Reads one unit; for a piece, returns where its last record ended.
#[allow(clippy::too_many_arguments)]
fn read_one(
    opts: &ImportOptions,
    plan: &Plan,
    unit: &Unit,
    default_ts: i64,
    batch_limit: usize,
    tx: &crossbeam_channel::Sender<Msg>,
    keep_text: bool,
    cancel: Cancel<'_>,
    sampler: Option<&mut Sampler>,
    router: &mut Router,
    bytes_done: &AtomicU64,
) -> Result<u64> {
    let i = unit.file;
    let file = &plan.files[i];
    let mapping = &plan.mappings[i];
    let builder = RowBuilder::new(mapping, &plan.table, default_ts, opts.salt_buckets)?;
    let mut ctx = ReadCtx::new(
        i,
        &file.path,
        builder,
        batch_limit,
        tx,
        opts.skip_bad_lines,
        keep_text,
        cancel,
        sampler,
        Some(router),
        bytes_done,
    );
    match file.format {
        Format::Csv | Format::Tsv => {
            let piece = unit
                .piece
                .unwrap_or_else(|| source::csv::Piece::whole(file));
            source::csv::read(file, &opts.source, piece, &mut ctx)
        }
        Format::Jsonl => {
            let names = plan.names[i].as_deref().unwrap_or_default();
            // Without a spec the first object defines the fields and others are errors; with
            // one, unmapped fields are ignored.
            source::jsonl::read(file, names, opts.columns.is_none(), &mut ctx).map(|()| file.size)
        }
        Format::Parquet => {
            let used = mapping.used_fields();
            let rows = (batch_limit / 256).clamp(64, 8192);
            source::parquet::read(file, &used, rows, &mut ctx).map(|()| file.size)
        }
    }
}

/// Runs an import against `target`.
pub fn run_import(target: &dyn BulkTarget, opts: &ImportOptions) -> Result<ImportSummary> {
    let threads = opts
        .threads
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        })
        .max(1);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| Error::Internal(format!("thread pool: {e}")))?;
    // A CSV file whose quoting breaks RFC 4180 can defeat the cut into pieces: nothing has
    // been created or loaded by then, so the import starts over reading files whole.
    pool.install(|| match import_in_pool(target, opts, threads, true) {
        Err(Error::UnsplittableInput { .. }) => import_in_pool(target, opts, threads, false),
        r => r,
    })
}

fn import_in_pool(
    target: &dyn BulkTarget,
    opts: &ImportOptions,
    threads: usize,
    split: bool,
) -> Result<ImportSummary> {
    if opts.bad_lines_file.is_some() && !opts.skip_bad_lines {
        return Err(Error::InvalidOption(
            "--bad-lines-file needs --skip-bad-lines".into(),
        ));
    }
    if opts.presplit.is_some() && opts.create.is_none() {
        return Err(Error::InvalidOption("--presplit needs --create".into()));
    }
    if opts.salt_buckets == Some(0) {
        return Err(Error::InvalidOption(
            "--salt-buckets must be 1..=255".into(),
        ));
    }
    let mut times = PhaseTimes::default();
    let mut summary = ImportSummary {
        table: opts.table.clone(),
        ..ImportSummary::default()
    };

    // Plan.
    let timer = PhaseTimes::start("plan");
    let schema = target.schema(&opts.table)?.map(Arc::new);
    if schema.is_some() {
        let not_typed = [
            (opts.columns.is_some(), "--columns (use --import-columns)"),
            (
                opts.salt_buckets.is_some(),
                "--salt-buckets (the table's own salting applies)",
            ),
        ];
        if let Some((_, what)) = not_typed.iter().find(|(set, _)| *set) {
            return Err(Error::InvalidOption(format!(
                "{} is a typed table: {what} does not apply",
                opts.table
            )));
        }
    } else if opts.import_columns.is_some() {
        return Err(Error::InvalidOption(format!(
            "--import-columns needs a typed table (created with SQL CREATE TABLE); {} is not one",
            opts.table
        )));
    }
    let plan = plan(opts, schema)?;
    let existing = target.families(&opts.table)?;
    let family_descs: Vec<FamilyDescriptor> = match (&existing, &opts.create) {
        (Some(f), _) => {
            check_families(&opts.table, f, &plan.table, false)?;
            f.clone()
        }
        (None, Some(create)) => {
            check_families(&opts.table, create, &plan.table, true)?;
            create.clone()
        }
        (None, None) => return Err(Error::TableNotFound(opts.table.clone())),
    };
    let (ts, ts_source) = match opts.timestamp {
        Some(t) => (t, "--timestamp".to_string()),
        None => (
            plan.files.iter().map(|f| f.mtime_ms).max().unwrap_or(0),
            "newest input file's modification time".to_string(),
        ),
    };
    summary.timestamp = ts;
    summary.timestamp_source = ts_source;
    summary.input_files = plan.files.len();
    summary.bytes_in = plan.files.iter().map(|f| f.size).sum();
    let work = match &opts.output_dir {
        Some(d) => {
            prepare_output_dir(d)?;
            WorkDir {
                path: d.clone(),
                remove: false,
            }
        }
        None => {
            let safe: String = opts
                .table
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .collect();
            let dir = target.staging_dir().join(format!(
                "bulkload-{safe}-{:016x}",
                fingerprint(opts, &plan.files, ts)
            ));
            // A previous run of this very import that was killed leaves its directory: start over.
            if dir.exists() {
                std::fs::remove_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
            }
            std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
            WorkDir {
                path: dir,
                remove: true,
            }
        }
    };
    summary.output_dir = work.path.clone();
    let spill = WorkDir {
        path: work.path.join(".spill"),
        remove: true,
    };
    timer.stop(&mut times);

    // Read + sort.
    let memory = opts.memory.unwrap_or_else(default_memory).max(256 * 1024);
    summary.memory_budget = memory;
    let sort_budget = memory / 4 * 3;
    let batch_limit = (memory / 4 / (4 * (threads + 1))).clamp(4 * 1024, 1 << 20);
    let creating = existing.is_none();
    let sample_k = (creating && opts.presplit.is_some_and(|n| n > 1)).then(|| {
        opts.presplit
            .unwrap_or(1)
            .saturating_mul(200)
            .clamp(2_000, 200_000)
    });
    let timer = PhaseTimes::start("read");
    let bar = PhaseBar::new(opts.progress, "read", summary.bytes_in, true);
    let outcome = read_phase(
        opts,
        &plan,
        sort_budget,
        &spill.path,
        ts,
        threads,
        batch_limit,
        sample_k,
        split,
        &bar,
    )?;
    summary.rows = outcome.rows;
    summary.bad_lines = outcome.bad_lines;
    timer.stop(&mut times);
    let timer = PhaseTimes::start("sort");
    summary.sort_buckets = outcome.sorter.buckets();
    let (sorted, stats) = outcome.sorter.finish()?;
    summary.spills = stats.spills;
    summary.peak_buffer_bytes = stats.peak_buffer_bytes;
    summary.duplicate_cells = stats.duplicates;
    timer.stop(&mut times);

    // Partition: region boundaries (creating the table first if needed).
    let regions = if creating {
        let mut split_keys = match (&outcome.sampler, opts.salt_buckets) {
            (Some(s), _) => s.split_points(opts.presplit.unwrap_or(1)),
            (None, Some(b)) => salt_split_points(b),
            (None, None) => Vec::new(),
        };
        split_keys.dedup();
        target.create_table(&opts.table, &family_descs, &split_keys)?;
        summary.created_table = true;
        target.regions(&opts.table)?
    } else {
        target.regions(&opts.table)?
    };
    summary.regions = regions.len();

    // Write.
    let timer = PhaseTimes::start("write");
    let family_options = plan
        .table
        .families
        .iter()
        .map(|f| {
            family_descs
                .iter()
                .find(|d| &d.name == f)
                .map(store_server::storefile::writer_options)
                .unwrap_or_default()
        })
        .collect();
    let cfg = OutputConfig {
        dir: work.path.clone(),
        family_options,
        max_file_size: opts.max_file_size.unwrap_or(DEFAULT_MAX_FILE_SIZE),
        bulk_load_time: store_server::now_ms(),
        threads,
    };
    let total_cells = match &sorted {
        Sorted::Memory { .. } => stats.cells_in - stats.duplicates,
        Sorted::Runs(r) => r.iter().flatten().map(|r| r.cells).sum(),
    };
    let bar = PhaseBar::new(opts.progress, "write", total_cells, false);
    let cells_written = AtomicU64::new(0);
    let done = AtomicBool::new(false);
    let files = std::thread::scope(|s| {
        let (done_ref, written_ref, bar_ref) = (&done, &cells_written, &bar);
        s.spawn(move || {
            while !done_ref.load(Ordering::Relaxed) {
                bar_ref.set(written_ref.load(Ordering::Relaxed));
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        let r = write_output(sorted, &plan.table, &regions, &cfg, &cells_written);
        done.store(true, Ordering::Relaxed);
        r
    })?;
    bar.set(cells_written.load(Ordering::Relaxed));
    bar.finish();
    drop(spill);
    summary.cells = files.iter().map(|f| f.cells).sum();
    summary.hfiles = files.len();
    summary.hfile_bytes = files.iter().map(|f| f.bytes).sum();
    timer.stop(&mut times);

    // Load.
    if opts.output_dir.is_none() {
        let timer = PhaseTimes::start("load");
        let load_files_list: Vec<LoadFile> = files
            .iter()
            .filter_map(|f| LoadFile::open(&f.family, &f.path).transpose())
            .collect::<Result<_>>()?;
        let bar = PhaseBar::new(opts.progress, "load", load_files_list.len() as u64, false);
        let progress = |n: u64| bar.set(n);
        let lopts = LoadOptions {
            work_dir: work.path.clone(),
            max_rounds: None,
            hooks: opts.hooks.as_deref(),
            on_progress: Some(&progress),
            move_files: true,
        };
        let report = load_files(target, &opts.table, load_files_list, &lopts)?;
        bar.finish();
        summary.load = Some(report);
        timer.stop(&mut times);
    }
    summary.times = times;
    Ok(summary)
}

/// Runs `basalt load DIR TABLE`: loads every HFile under `DIR/<family>/`.
pub fn run_load(
    target: &dyn BulkTarget,
    dir: &Path,
    table: &str,
    hooks: Option<&dyn LoadHooks>,
    progress: bool,
) -> Result<crate::report::LoadSummary> {
    let start = std::time::Instant::now();
    let files = crate::load::collect_dir(dir)?;
    let bar = PhaseBar::new(progress, "load", files.len() as u64, false);
    let on_progress = |n: u64| bar.set(n);
    let opts = LoadOptions {
        work_dir: dir.to_path_buf(),
        max_rounds: None,
        hooks,
        on_progress: Some(&on_progress),
        move_files: false,
    };
    let load = load_files(target, table, files, &opts)?;
    bar.finish();
    Ok(crate::report::LoadSummary {
        table: table.to_string(),
        dir: dir.to_path_buf(),
        load,
        elapsed: start.elapsed(),
    })
}
