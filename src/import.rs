//! `basalt import` and `basalt load`: bulk import of CSV/TSV/Parquet/JSON-lines files into a
//! table through sorted HFiles (the `bulkload` crate), and loading a directory of HFiles.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use store_server::{Config, Connection};

use crate::error::{Error, Result};

/// Arguments of `basalt import`.
#[derive(Debug, Args)]
#[command(
    after_help = "Column spec (ImportTsv style): HBASE_ROW_KEY,cf:a,,cf:b,HBASE_TS_KEY — an empty entry
skips a field; SOURCE=TARGET entries pick fields by name (CSV --header, Parquet, JSON lines).
Without --columns, named fields map themselves: `cf:q` is a column, `rowkey` (else the first
field) is the row key. Empty fields and nulls produce no cell.

Typed tables (SQL CREATE TABLE): each field is parsed by its column's SQL type (timestamps as
ISO-8601 or epoch ms; an empty field is NULL) and the primary key is encoded into the row key,
salted if the table is. Fields match columns by header name, by --import-columns, or by
position in the table's declaration order.

Cells without HBASE_TS_KEY get --timestamp, else the newest input file's modification time,
so running the same import twice leaves the same table contents.

Examples:
  basalt import users users.csv --header
  basalt import logs drop/ --format tsv --columns HBASE_ROW_KEY,d:host,,d:msg,HBASE_TS_KEY
  basalt import events events.parquet --create e --presplit 8 --memory 4G
  basalt import t big.csv --columns HBASE_ROW_KEY,f:v --skip-bad-lines --bad-lines-file bad.txt
  basalt import t big.csv --columns HBASE_ROW_KEY,f:v --output-dir /tmp/hfiles && basalt load /tmp/hfiles t
  basalt import orders orders.csv --import-columns ID,CUSTOMER,TOTAL,PLACED_AT"
)]
pub struct ImportArgs {
    /// Target table, `[namespace:]name`.
    pub table: String,
    /// Input files or directories (their files, in name order; names starting with `.` or
    /// `_` are skipped).
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// Input format (default: from the file extension, else csv).
    #[arg(long, value_parser = parse_format)]
    pub format: Option<bulkload::Format>,
    /// Column mapping, e.g. `HBASE_ROW_KEY,cf:a,cf:b,HBASE_TS_KEY`.
    #[arg(long, value_parser = parse_columns)]
    pub columns: Option<bulkload::ColumnSpec>,
    /// Typed tables: the SQL columns the fields feed, in field order (Phoenix's
    /// --import-columns), e.g. `ID,NAME,PRICE`.
    #[arg(long, value_delimiter = ',')]
    pub import_columns: Option<Vec<String>>,
    /// CSV/TSV files start with a header line naming the fields.
    #[arg(long)]
    pub header: bool,
    /// Field separator for CSV/TSV (one character; `\t` or `tab` for a tab).
    #[arg(long, value_parser = parse_separator)]
    pub separator: Option<u8>,
    /// Timestamp (ms since the epoch) of cells without a timestamp field.
    #[arg(long)]
    pub timestamp: Option<i64>,
    /// Write HFiles to DIR/<family>/<hfile> and stop (load later with `basalt load`).
    #[arg(long, value_name = "DIR")]
    pub output_dir: Option<PathBuf>,
    /// Skip malformed records instead of aborting the import.
    #[arg(long)]
    pub skip_bad_lines: bool,
    /// With --skip-bad-lines: write each skipped record's reason and original text here.
    #[arg(long, value_name = "PATH")]
    pub bad_lines_file: Option<PathBuf>,
    /// Memory budget for sorting, e.g. `512M`, `4G` (default: a quarter of RAM).
    #[arg(long, value_parser = parse_size, value_name = "BYTES")]
    pub memory: Option<u64>,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Create the table if missing with these families, e.g.
    /// `cf1:COMPRESSION=LZ4,BLOOMFILTER=ROWCOL,cf2`.
    #[arg(long, value_name = "FAMILIES")]
    pub create: Option<String>,
    /// With --create: pre-split into N regions at split points sampled from the input.
    #[arg(long, value_name = "N")]
    pub presplit: Option<usize>,
    /// Prefix row keys with a one-byte hash bucket (Phoenix SALT_BUCKETS); with --create,
    /// one region per bucket.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(1..))]
    pub salt_buckets: Option<u8>,
    /// Roll output HFiles at this size (default 10G).
    #[arg(long, value_parser = parse_size, value_name = "BYTES")]
    pub max_file_size: Option<u64>,
    /// No progress bars.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Arguments of `basalt load`.
#[derive(Debug, Args)]
#[command(
    after_help = "Loads every HFile under DIR/<family>/ (as written by `basalt import --output-dir` or
HBase's HFileOutputFormat2) into TABLE, atomically per region; files that straddle a region
boundary are cut and retried, as HBase's LoadIncrementalHFiles does. DIR is left unchanged.

Example:
  basalt load /tmp/hfiles users"
)]
pub struct LoadArgs {
    /// Directory holding `<family>/<hfile>`.
    pub dir: PathBuf,
    /// Target table, `[namespace:]name`.
    pub table: String,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
}

fn parse_format(s: &str) -> std::result::Result<bulkload::Format, String> {
    bulkload::Format::parse(s).map_err(|e| e.to_string())
}

fn parse_columns(s: &str) -> std::result::Result<bulkload::ColumnSpec, String> {
    bulkload::ColumnSpec::parse(s).map_err(|e| e.to_string())
}

fn parse_separator(s: &str) -> std::result::Result<u8, String> {
    match s {
        "\\t" | "tab" | "\t" => Ok(b'\t'),
        _ if s.len() == 1 => Ok(s.as_bytes()[0]),
        _ => Err(format!("separator must be one ASCII character, got '{s}'")),
    }
}

/// Parses `123`, `64K`, `512M`, `4G`, `1T` (binary multiples; optional trailing `B`/`iB`).
pub fn parse_size(s: &str) -> std::result::Result<u64, String> {
    let t = s.trim();
    let t = t
        .strip_suffix("iB")
        .or_else(|| t.strip_suffix('B'))
        .or_else(|| t.strip_suffix('b'))
        .unwrap_or(t);
    let (num, mult) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let m: u64 = match c.to_ascii_uppercase() {
                'K' => 1 << 10,
                'M' => 1 << 20,
                'G' => 1 << 30,
                'T' => 1 << 40,
                _ => return Err(format!("unknown size unit in '{s}' (K, M, G, T)")),
            };
            (&t[..i], m)
        }
        _ => (t, 1),
    };
    let n: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("'{s}' is not a size (e.g. 512M, 4G)"))?;
    if !(n.is_finite() && n >= 0.0) {
        return Err(format!("'{s}' is not a size"));
    }
    Ok((n * mult as f64) as u64)
}

fn failed(e: bulkload::Error) -> Error {
    Error::Failed(e.to_string())
}

/// The store root: `--root`, else `$BASALT_ROOT`, else `./basalt-data`.
fn resolve_root(root: Option<PathBuf>) -> PathBuf {
    root.or_else(|| std::env::var_os("BASALT_ROOT").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("basalt-data"))
}

fn connect(root: Option<PathBuf>) -> Result<Connection> {
    let root = resolve_root(root);
    Connection::embedded_with_config(&root, Config::default())
        .map_err(|e| Error::Failed(format!("opening store {}: {e}", root.display())))
}

/// Runs `basalt import` against the store at `root` (the global `--root`).
pub fn run_import(root: Option<PathBuf>, args: ImportArgs) -> Result<ExitCode> {
    let create = args
        .create
        .as_deref()
        .map(bulkload::parse_families)
        .transpose()
        .map_err(failed)?;
    let opts = bulkload::ImportOptions {
        table: args.table,
        inputs: args.inputs,
        source: bulkload::SourceOptions {
            format: args.format,
            header: args.header,
            separator: args.separator,
        },
        columns: args.columns,
        import_columns: args.import_columns,
        timestamp: args.timestamp,
        output_dir: args.output_dir,
        skip_bad_lines: args.skip_bad_lines,
        bad_lines_file: args.bad_lines_file,
        memory: args.memory.map(|m| m.min(usize::MAX as u64) as usize),
        threads: args.threads,
        piece_size: None,
        create,
        presplit: args.presplit,
        salt_buckets: args.salt_buckets,
        max_file_size: args.max_file_size,
        progress: !args.quiet,
        hooks: None,
    };
    let conn = connect(root)?;
    let summary = bulkload::run_import(&conn, &opts).map_err(failed)?;
    conn.close()
        .map_err(|e| Error::Failed(format!("closing store: {e}")))?;
    println!("{summary}");
    Ok(ExitCode::SUCCESS)
}

/// Runs `basalt load` against the store at `root` (the global `--root`).
pub fn run_load(root: Option<PathBuf>, args: LoadArgs) -> Result<ExitCode> {
    let conn = connect(root)?;
    let summary =
        bulkload::run_load(&conn, &args.dir, &args.table, None, !args.quiet).map_err(failed)?;
    conn.close()
        .map_err(|e| Error::Failed(format!("closing store: {e}")))?;
    println!("{summary}");
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("123"), Ok(123));
        assert_eq!(parse_size("64K"), Ok(64 << 10));
        assert_eq!(parse_size("512M"), Ok(512 << 20));
        assert_eq!(parse_size("1.5G"), Ok(3 << 29));
        assert_eq!(parse_size("4GiB"), Ok(4 << 30));
        assert!(parse_size("12Q").is_err());
        assert!(parse_size("lots").is_err());
        assert_eq!(parse_separator("tab"), Ok(b'\t'));
        assert_eq!(parse_separator(";"), Ok(b';'));
        assert!(parse_separator(";;").is_err());
    }
}
