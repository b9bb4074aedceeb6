//! Parallel scan jobs on the `basalt` CLI (the `mapreduce` crate): `rowcounter`,
//! `cellcounter`, `copytable`, `export`, `import-export` and `verify`. Each opens the store
//! at the root the shell verbs use (`--root`, else `$BASALT_ROOT`, else `./basalt-data`),
//! runs the job on `--threads` threads with a progress bar over splits, prints the job's
//! counters, and ends with a one-line answer.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};
use hfile::cell::{from_string_binary, to_string_binary};
use mapreduce::jobs::{cellcounter, copytable, export, import_export, rowcounter, verify};
use mapreduce::{Counters, FileFormat, RunOptions};
use store_server::{Connection, TimeRange};

/// Options every job takes.
#[derive(Debug, Clone, Args)]
pub struct JobArgs {
    /// Worker threads (default: one per core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Attempts per task before the job fails.
    #[arg(long, default_value_t = 3)]
    pub attempts: u32,
    /// Minimum number of splits (large regions are sub-split at block-index keys;
    /// default: twice the threads).
    #[arg(long, default_value_t = 0)]
    pub splits: usize,
    /// Hide the progress bar.
    #[arg(long)]
    pub quiet: bool,
}

impl JobArgs {
    fn run_options(&self) -> RunOptions {
        let mut o = RunOptions {
            threads: self.threads,
            max_attempts: self.attempts.max(1),
            progress: !self.quiet && std::io::stderr().is_terminal(),
            ..RunOptions::default()
        };
        o.split_policy.target_splits = self.splits;
        if self.splits > 0 {
            o.split_policy.min_split_bytes = 0;
        }
        o
    }
}

/// Part file format of `export`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// Parquet (schema: row, family, qualifier: binary; timestamp: int64; type: string
    /// such as `Put` or `DeleteColumn`; value: binary).
    Parquet,
    /// CSV with the same columns, binary bytes escaped as `\xNN`.
    Csv,
}

/// The map/reduce job subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum JobCommand {
    /// Count rows in parallel over regions; the last line is `ROWS=N`.
    ///
    /// Example: `basalt rowcounter users --start a --stop m --columns info:name,stats`
    Rowcounter {
        /// Table name.
        table: String,
        /// Start row (inclusive, `\xNN` allowed).
        #[arg(long)]
        start: Option<String>,
        /// Stop row (exclusive).
        #[arg(long)]
        stop: Option<String>,
        /// Count only rows having one of these columns (`F` or `F:Q`, comma separated).
        #[arg(long, value_delimiter = ',')]
        columns: Vec<String>,
        #[command(flatten)]
        job: JobArgs,
    },
    /// Count cells per family and qualifier; the last line is `CELLS=N`.
    ///
    /// Example: `basalt cellcounter users --versions 1`
    Cellcounter {
        /// Table name.
        table: String,
        /// Versions per column counted (default: all kept versions).
        #[arg(long)]
        versions: Option<u32>,
        /// Count raw cells (delete markers and masked cells too).
        #[arg(long)]
        raw: bool,
        #[command(flatten)]
        job: JobArgs,
    },
    /// Copy a table through HFiles and bulk load (creates --dst like --src if missing).
    ///
    /// Example: `basalt copytable --src users --dst users_copy --families info --versions 3`
    Copytable {
        /// Source table.
        #[arg(long)]
        src: String,
        /// Destination table.
        #[arg(long)]
        dst: String,
        /// Families to copy (comma separated; default all).
        #[arg(long, value_delimiter = ',')]
        families: Vec<String>,
        /// Smallest timestamp copied (ms, inclusive).
        #[arg(long)]
        start_time: Option<i64>,
        /// First timestamp not copied (ms, exclusive).
        #[arg(long)]
        end_time: Option<i64>,
        /// Versions per column copied.
        #[arg(long, default_value_t = 1)]
        versions: u32,
        #[command(flatten)]
        job: JobArgs,
    },
    /// Export a table to Parquet or CSV, one part file per split.
    ///
    /// Example: `basalt export users /backups/users --format parquet --versions 10 --raw`
    Export {
        /// Table name.
        table: String,
        /// Output directory (must not exist or be empty; appears only on success).
        out_dir: PathBuf,
        /// Part file format.
        #[arg(long, value_enum, default_value = "parquet")]
        format: ExportFormat,
        /// Versions per column exported.
        #[arg(long, default_value_t = 1)]
        versions: u32,
        /// Export delete markers and masked cells too, for an exact restore.
        #[arg(long)]
        raw: bool,
        /// Smallest timestamp exported (ms, inclusive).
        #[arg(long)]
        start_time: Option<i64>,
        /// First timestamp not exported (ms, exclusive).
        #[arg(long)]
        end_time: Option<i64>,
        #[command(flatten)]
        job: JobArgs,
    },
    /// Restore an `export` directory into a table (created from the export if missing).
    ///
    /// Example: `basalt import-export /backups/users users_restored`
    ImportExport {
        /// The export directory.
        dir: PathBuf,
        /// Destination table.
        table: String,
        #[command(flatten)]
        job: JobArgs,
    },
    /// Compare two tables range by range with hashes; lists differing row ranges and exits
    /// with code 1 if there are any.
    ///
    /// Example: `basalt verify users users_copy --batch-rows 100`
    Verify {
        /// First table.
        table1: String,
        /// Second table.
        table2: String,
        /// Rows per hashed range.
        #[arg(long, default_value_t = 1000)]
        batch_rows: usize,
        /// Versions per column compared (default: all kept versions).
        #[arg(long)]
        versions: Option<u32>,
        /// Compare raw cells (delete markers too).
        #[arg(long)]
        raw: bool,
        #[command(flatten)]
        job: JobArgs,
    },
}

/// The root directory: `--root`, else `$BASALT_ROOT`, else `./basalt-data` (as the shell
/// verbs resolve it).
fn resolve_root(root: Option<PathBuf>) -> PathBuf {
    root.or_else(|| std::env::var_os("BASALT_ROOT").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("basalt-data"))
}

fn time_range(start: Option<i64>, end: Option<i64>) -> TimeRange {
    TimeRange::new(start.unwrap_or(i64::MIN), end.unwrap_or(i64::MAX))
}

fn print_counters(out: &mut dyn Write, c: &Counters) -> std::io::Result<()> {
    write!(out, "{c}")
}

/// Runs one job command against the store at `root`; returns the process exit code
/// (0 success, 1 failure or — for `verify` — tables that differ).
pub fn main(root: Option<PathBuf>, cmd: JobCommand) -> ExitCode {
    let root = resolve_root(root);
    let stdout = std::io::stdout();
    let result = (|| -> Result<bool, String> {
        let conn = Connection::embedded(&root).map_err(|e| e.to_string())?;
        let r = run(&conn, &cmd, &mut stdout.lock());
        let closed = conn.close().map_err(|e| e.to_string());
        let ok = r?;
        closed?;
        Ok(ok)
    })();
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("ERROR: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs one job command on an open connection, writing its report to `out`. Returns
/// `Ok(false)` when the job ran but its answer is a failure (`verify` found differences).
pub fn run(conn: &Connection, cmd: &JobCommand, out: &mut dyn Write) -> Result<bool, String> {
    let io = |e: std::io::Error| format!("writing output: {e}");
    let e = |e: mapreduce::Error| e.to_string();
    match cmd {
        JobCommand::Rowcounter {
            table,
            start,
            stop,
            columns,
            job,
        } => {
            let opts = rowcounter::RowCounterOptions {
                table: table.clone(),
                start: start.as_deref().map(from_string_binary),
                stop: stop.as_deref().map(from_string_binary),
                columns: rowcounter::parse_columns(columns).map_err(e)?,
            };
            let (rows, counters) = rowcounter::run(conn, &opts, &job.run_options()).map_err(e)?;
            print_counters(out, &counters).map_err(io)?;
            writeln!(out, "ROWS={rows}").map_err(io)?;
        }
        JobCommand::Cellcounter {
            table,
            versions,
            raw,
            job,
        } => {
            let opts = cellcounter::CellCounterOptions {
                table: table.clone(),
                versions: versions.unwrap_or(u32::MAX),
                raw: *raw,
                ..Default::default()
            };
            let counts = cellcounter::run(conn, &opts, &job.run_options()).map_err(e)?;
            print_counters(out, &counts.counters).map_err(io)?;
            for (f, n) in &counts.per_family {
                writeln!(out, "{}\t{n}", to_string_binary(f)).map_err(io)?;
            }
            for ((f, q), n) in &counts.per_column {
                writeln!(out, "{}:{}\t{n}", to_string_binary(f), to_string_binary(q))
                    .map_err(io)?;
            }
            writeln!(out, "ROWS={}", counts.rows).map_err(io)?;
            writeln!(out, "CELLS={}", counts.cells).map_err(io)?;
        }
        JobCommand::Copytable {
            src,
            dst,
            families,
            start_time,
            end_time,
            versions,
            job,
        } => {
            let opts = copytable::CopyTableOptions {
                src: src.clone(),
                dst: dst.clone(),
                families: families.iter().map(|f| from_string_binary(f)).collect(),
                start_time: *start_time,
                end_time: *end_time,
                versions: *versions,
                ..Default::default()
            };
            let r = copytable::run(conn, &opts, &job.run_options()).map_err(e)?;
            print_counters(out, &r.counters).map_err(io)?;
            if r.created {
                writeln!(out, "created {dst} like {src}").map_err(io)?;
            }
            writeln!(out, "HFILES={}", r.load.files).map_err(io)?;
            writeln!(out, "CELLS={}", r.load.cells).map_err(io)?;
        }
        JobCommand::Export {
            table,
            out_dir,
            format,
            versions,
            raw,
            start_time,
            end_time,
            job,
        } => {
            let opts = export::ExportOptions {
                table: table.clone(),
                out_dir: out_dir.clone(),
                format: match format {
                    ExportFormat::Parquet => FileFormat::Parquet,
                    ExportFormat::Csv => FileFormat::Csv,
                },
                versions: *versions,
                raw: *raw,
                time_range: time_range(*start_time, *end_time),
                ..Default::default()
            };
            let r = export::run(conn, &opts, &job.run_options()).map_err(e)?;
            print_counters(out, &r.counters).map_err(io)?;
            for f in &r.files {
                writeln!(out, "{}", f.display()).map_err(io)?;
            }
            writeln!(
                out,
                "FILES={} CELLS={}",
                r.files.len(),
                r.counters.get(
                    mapreduce::counters::FRAMEWORK,
                    mapreduce::counters::MAP_INPUT_CELLS
                )
            )
            .map_err(io)?;
        }
        JobCommand::ImportExport { dir, table, job } => {
            let opts = import_export::ImportOptions {
                dir: dir.clone(),
                table: table.clone(),
            };
            let r = import_export::run(conn, &opts, &job.run_options()).map_err(e)?;
            print_counters(out, &r.counters).map_err(io)?;
            if r.created {
                writeln!(out, "created {table} from {}", dir.display()).map_err(io)?;
            }
            writeln!(out, "HFILES={}", r.load.files).map_err(io)?;
            writeln!(out, "CELLS={}", r.load.cells).map_err(io)?;
        }
        JobCommand::Verify {
            table1,
            table2,
            batch_rows,
            versions,
            raw,
            job,
        } => {
            let opts = verify::VerifyOptions {
                table1: table1.clone(),
                table2: table2.clone(),
                batch_rows: *batch_rows,
                versions: versions.unwrap_or(u32::MAX),
                raw: *raw,
            };
            let r = verify::run(conn, &opts, &job.run_options()).map_err(e)?;
            print_counters(out, &r.counters).map_err(io)?;
            for range in &r.differing {
                writeln!(out, "DIFFERS {range}").map_err(io)?;
            }
            if r.identical() {
                writeln!(out, "IDENTICAL").map_err(io)?;
            } else {
                writeln!(out, "DIFFERENT_RANGES={}", r.differing.len()).map_err(io)?;
                return Ok(false);
            }
        }
    }
    Ok(true)
}
