//! Input sources: CSV/TSV ([`csv`]), Parquet ([`parquet`]) and JSON lines ([`jsonl`]).
//!
//! Each source reads one file, hands every record to the [`ReadCtx`] as [`Fields`], and the
//! context turns it into cells (or a bad line) and ships full batches to the sorter.

pub mod csv;
pub mod jsonl;
pub mod parquet;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::UNIX_EPOCH;

use crossbeam_channel::Sender;

use crate::bucket::{Part, Router};
use crate::cells::{ordinal, Batch, Fields, RowBuilder};
use crate::error::{Error, Result};
use crate::partition::Sampler;

/// Input file formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Comma-separated values with RFC 4180 quoting.
    Csv,
    /// Tab-separated values without quoting (ImportTsv's format).
    Tsv,
    /// Apache Parquet.
    Parquet,
    /// One JSON object per line.
    Jsonl,
}

impl Format {
    /// Parses `csv`, `tsv`, `parquet`, `jsonl` (also `json`, `ndjson`).
    pub fn parse(s: &str) -> Result<Format> {
        match s.to_ascii_lowercase().as_str() {
            "csv" => Ok(Format::Csv),
            "tsv" | "tab" => Ok(Format::Tsv),
            "parquet" | "pq" => Ok(Format::Parquet),
            "jsonl" | "json" | "ndjson" => Ok(Format::Jsonl),
            _ => Err(Error::InvalidOption(format!(
                "unknown format '{s}' (csv, tsv, parquet, jsonl)"
            ))),
        }
    }

    /// The format a file name's extension suggests.
    pub fn from_extension(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "csv" => Some(Format::Csv),
            "tsv" | "tab" => Some(Format::Tsv),
            "parquet" | "pq" => Some(Format::Parquet),
            "jsonl" | "json" | "ndjson" => Some(Format::Jsonl),
            _ => None,
        }
    }

    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Tsv => "tsv",
            Format::Parquet => "parquet",
            Format::Jsonl => "jsonl",
        }
    }
}

/// How to read text inputs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SourceOptions {
    /// Force a format (default: by extension, else CSV).
    pub format: Option<Format>,
    /// CSV/TSV files start with a header line naming the fields.
    pub header: bool,
    /// Field separator for CSV/TSV (default `,` for CSV, tab for TSV).
    pub separator: Option<u8>,
}

/// One input file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputFile {
    /// Its path.
    pub path: PathBuf,
    /// Its format.
    pub format: Format,
    /// Size in bytes.
    pub size: u64,
    /// Modification time in ms since the epoch.
    pub mtime_ms: i64,
}

/// Expands files and directories (their non-hidden regular files, sorted by name) into the
/// list of inputs, in the order given.
pub fn expand_inputs(paths: &[PathBuf], opts: &SourceOptions) -> Result<Vec<InputFile>> {
    let mut files = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).map_err(|e| Error::io(p, e))?;
        if meta.is_dir() {
            let mut inner = Vec::new();
            for ent in std::fs::read_dir(p).map_err(|e| Error::io(p, e))? {
                let ent = ent.map_err(|e| Error::io(p, e))?;
                let name = ent.file_name();
                let name = name.to_string_lossy();
                if name.starts_with('.') || name.starts_with('_') {
                    continue;
                }
                let ft = ent.file_type().map_err(|e| Error::io(ent.path(), e))?;
                if ft.is_file() {
                    inner.push(ent.path());
                }
            }
            inner.sort();
            for f in inner {
                files.push(input_file(&f, opts)?);
            }
        } else {
            files.push(input_file(p, opts)?);
        }
    }
    if files.is_empty() {
        return Err(Error::InvalidOption("no input files".into()));
    }
    Ok(files)
}

fn input_file(path: &Path, opts: &SourceOptions) -> Result<InputFile> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    let mtime_ms = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    Ok(InputFile {
        path: path.to_path_buf(),
        format: opts
            .format
            .or_else(|| Format::from_extension(path))
            .unwrap_or(Format::Csv),
        size: meta.len(),
        mtime_ms,
    })
}

/// The field names of an input: the CSV/TSV header (with `header`), the Parquet schema's
/// top-level fields, or the keys of the first JSON object. `None` for headerless CSV/TSV.
pub fn field_names(file: &InputFile, opts: &SourceOptions) -> Result<Option<Vec<String>>> {
    match file.format {
        Format::Csv | Format::Tsv if opts.header => csv::header(file, opts).map(Some),
        Format::Csv | Format::Tsv => Ok(None),
        Format::Parquet => parquet::field_names(&file.path).map(Some),
        Format::Jsonl => jsonl::field_names(&file.path).map(Some),
    }
}

/// A record that could not be imported, kept for the bad-lines file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadLine {
    /// The input file.
    pub file: PathBuf,
    /// 1-based line (Parquet: row) number.
    pub line: u64,
    /// 1-based column, 0 for the whole record.
    pub column: usize,
    /// What is wrong.
    pub reason: String,
    /// The record's original text (when it was kept).
    pub text: Vec<u8>,
}

/// What readers send to the sorter.
#[derive(Debug)]
pub enum Msg {
    /// Chunks of cells ready to sort, and the rows and cells read since the last message.
    Parts {
        /// Chunks that filled up (or, at a reader's end, every chunk it still had open).
        parts: Vec<Part>,
        /// Records that produced a row.
        rows: u64,
        /// Cells in those records.
        cells: u64,
    },
    /// A skipped record.
    Bad(BadLine),
}

/// Whether a unit of reading (a file, or a piece of one; numbered in input order) should
/// stop: once a unit fails, the ones after it stop, and the ones before it go on, since
/// their errors come first in the input.
#[derive(Clone, Copy, Debug)]
pub struct Cancel<'a> {
    /// The lowest unit that failed (`usize::MAX`: none; 0 stops everything).
    pub failed: &'a AtomicUsize,
    /// This unit.
    pub unit: usize,
}

impl Cancel<'_> {
    /// True if this unit should stop.
    pub fn is_set(&self) -> bool {
        self.failed.load(Ordering::Relaxed) <= self.unit
    }
}

/// Per-file reading state shared by the sources: builds cells, fills and ships batches,
/// applies the bad-line policy, samples row keys and counts progress.
pub struct ReadCtx<'a> {
    /// Index of the file among the inputs (orders records across files).
    pub file_idx: usize,
    /// The file.
    pub path: &'a Path,
    builder: RowBuilder,
    batch: Batch,
    batch_limit: usize,
    tx: &'a Sender<Msg>,
    skip_bad: bool,
    /// Whether sources should keep each record's original text (for the bad-lines file).
    pub keep_text: bool,
    cancel: Cancel<'a>,
    sampler: Option<&'a mut Sampler>,
    /// Where batches go; without one they stay in the batch ([`ReadCtx::into_batch`]).
    router: Option<&'a mut Router>,
    bytes_done: &'a AtomicU64,
    reported: u64,
    record_no: u64,
}

impl<'a> ReadCtx<'a> {
    /// A context for file `file_idx`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        file_idx: usize,
        path: &'a Path,
        builder: RowBuilder,
        batch_limit: usize,
        tx: &'a Sender<Msg>,
        skip_bad: bool,
        keep_text: bool,
        cancel: Cancel<'a>,
        sampler: Option<&'a mut Sampler>,
        router: Option<&'a mut Router>,
        bytes_done: &'a AtomicU64,
    ) -> ReadCtx<'a> {
        ReadCtx {
            file_idx,
            path,
            builder,
            batch: Batch::with_capacity(batch_limit.min(1 << 20)),
            batch_limit,
            tx,
            skip_bad,
            keep_text,
            cancel,
            sampler,
            router,
            bytes_done,
            reported: 0,
            record_no: 0,
        }
    }

    /// True once a reader of an earlier unit (or this one) failed; sources stop early.
    pub fn cancelled(&self) -> bool {
        self.cancel.is_set()
    }

    /// Reading starts at byte `pos` of the file (a piece of it): progress counts from
    /// there, and record ordinals too (a record takes at least a byte, so the ordinals of
    /// successive pieces never meet).
    pub fn start_at(&mut self, pos: u64) {
        self.reported = pos;
        self.record_no = pos;
    }

    /// Records the file's read position (bytes) for progress.
    pub fn progress(&mut self, pos: u64) {
        if pos > self.reported {
            self.bytes_done
                .fetch_add(pos - self.reported, Ordering::Relaxed);
            self.reported = pos;
        }
    }

    /// Imports one record found at `line`; `text` yields its original text for the
    /// bad-lines file if it is malformed.
    pub fn record(
        &mut self,
        fields: &mut dyn Fields,
        line: u64,
        text: &dyn Fn() -> Vec<u8>,
    ) -> Result<()> {
        let ord = ordinal(self.file_idx, self.record_no);
        self.record_no += 1;
        match self.builder.add(fields, ord, &mut self.batch) {
            Ok(()) => {
                if let Some(s) = self.sampler.as_deref_mut() {
                    s.offer(self.builder.row());
                }
                if self.batch.mem_size() >= self.batch_limit {
                    self.flush()?;
                }
                Ok(())
            }
            Err(bad) => self.bad(line, bad.column, bad.reason, text),
        }
    }

    /// Handles a malformed record: abort, or report it and go on.
    pub fn bad(
        &mut self,
        line: u64,
        column: usize,
        reason: String,
        text: &dyn Fn() -> Vec<u8>,
    ) -> Result<()> {
        if !self.skip_bad {
            return Err(Error::BadLine {
                file: self.path.to_path_buf(),
                line,
                column,
                reason,
            });
        }
        let bad = BadLine {
            file: self.path.to_path_buf(),
            line,
            column,
            reason,
            text: if self.keep_text { text() } else { Vec::new() },
        };
        self.tx
            .send(Msg::Bad(bad))
            .map_err(|_| Error::Internal("import cancelled".into()))
    }

    /// Routes the current batch into its buckets' chunks and ships those that filled up.
    pub fn flush(&mut self) -> Result<()> {
        let Some(router) = self.router.as_deref_mut() else {
            return Ok(());
        };
        if self.batch.groups.is_empty() && self.batch.rows == 0 {
            return Ok(());
        }
        let mut parts = Vec::new();
        router.route(&self.batch, &mut parts)?;
        let (rows, cells) = (self.batch.rows, self.batch.cells);
        self.batch.clear();
        self.tx
            .send(Msg::Parts { parts, rows, cells })
            .map_err(|_| Error::Internal("import cancelled".into()))
    }

    /// The records read, when there is no router (a sample).
    pub fn into_batch(self) -> Batch {
        self.batch
    }
}

/// Renders fields as one CSV line (for the original text of records without one, e.g. a
/// Parquet row).
pub fn fields_to_text(fields: &mut dyn Fields) -> Vec<u8> {
    let mut out = Vec::new();
    let mut field = Vec::new();
    for i in 0..fields.count() {
        if i > 0 {
            out.push(b',');
        }
        field.clear();
        match fields.append(i, &mut field) {
            Ok(true) => {
                let needs_quotes = field
                    .iter()
                    .any(|&b| b == b',' || b == b'"' || b == b'\n' || b == b'\r');
                if needs_quotes {
                    out.push(b'"');
                    for &b in &field {
                        if b == b'"' {
                            out.push(b'"');
                        }
                        out.push(b);
                    }
                    out.push(b'"');
                } else {
                    out.extend_from_slice(&field);
                }
            }
            Ok(false) => {}
            Err(e) => out.extend_from_slice(format!("<{e}>").as_bytes()),
        }
    }
    out
}
