//! `export`: writes a table's cells to Parquet or CSV part files, one per split, like
//! HBase's `Export`. The cell schema is [`crate::batch::cell_schema`]; a `.tableinfo` file
//! (the encoded table descriptor) and `.splits` (region start keys, one `\xNN`-escaped key
//! a line) are written beside the parts so `import-export` can recreate the table. The
//! directory appears only when the whole export succeeded.

use std::path::PathBuf;

use store_server::{Connection, Scan, TableName, TimeRange};

use crate::batch::cell_schema;
use crate::counters::Counters;
use crate::error::Result;
use crate::format::FileFormat;
use crate::job::{Input, Job};
use crate::output::FileOutput;
use crate::runner::{RunOptions, Runner};

/// Name of the table-descriptor file beside the parts.
pub const TABLEINFO: &str = ".tableinfo";
/// Name of the region start keys file beside the parts.
pub const SPLITS: &str = ".splits";

/// What to export.
#[derive(Clone, Debug)]
pub struct ExportOptions {
    /// The table.
    pub table: String,
    /// Output directory (must not exist, or be empty).
    pub out_dir: PathBuf,
    /// Part file format.
    pub format: FileFormat,
    /// Versions per column (HBase's default: 1).
    pub versions: u32,
    /// Export delete markers and masked cells too (HBase's `--raw`), for an exact restore.
    pub raw: bool,
    /// Timestamps exported.
    pub time_range: TimeRange,
    /// First row (inclusive).
    pub start_row: Option<Vec<u8>>,
    /// Row to stop at (exclusive).
    pub stop_row: Option<Vec<u8>>,
}

impl Default for ExportOptions {
    fn default() -> Self {
        ExportOptions {
            table: String::new(),
            out_dir: PathBuf::new(),
            format: FileFormat::Parquet,
            versions: 1,
            raw: false,
            time_range: TimeRange::all(),
            start_row: None,
            stop_row: None,
        }
    }
}

/// What an export wrote.
#[derive(Clone, Debug)]
pub struct ExportReport {
    /// The part files, one per split.
    pub files: Vec<PathBuf>,
    /// The job's counters.
    pub counters: Counters,
}

/// Exports a table.
pub fn run(conn: &Connection, opts: &ExportOptions, run: &RunOptions) -> Result<ExportReport> {
    let table = TableName::parse(&opts.table)?;
    let admin = conn.admin();
    let desc = admin.describe(&table)?;
    let splits: String = admin
        .regions(&table)?
        .iter()
        .filter(|r| !r.info.start_key.is_empty())
        .map(|r| hfile::cell::to_string_binary(&r.info.start_key) + "\n")
        .collect();
    let mut scan = Scan::new()
        .with_max_versions(opts.versions)
        .with_time_range(opts.time_range)
        .raw(opts.raw);
    if let Some(r) = &opts.start_row {
        scan = scan.with_start_row(r.clone());
    }
    if let Some(r) = &opts.stop_row {
        scan = scan.with_stop_row(r.clone());
    }
    let runner = Runner::new(conn.clone(), run.clone())?;
    let output = FileOutput::new(&opts.out_dir, opts.format, cell_schema())?;
    output.add_file(TABLEINFO, desc.encode())?;
    output.add_file(SPLITS, splits.into_bytes())?;
    let job = Job::map_batches("export", Input::table(table, scan), |batch, _ctx, out| {
        out.emit(batch.clone())
    });
    let report = runner.run_map_only(&job, &output)?;
    Ok(ExportReport {
        files: report.output,
        counters: report.counters,
    })
}
