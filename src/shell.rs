//! HBase-shell verbs for the `basalt` CLI (`create`, `put`, `get`, `scan`, ...) and
//! `basalt shell`, which reads the same verbs from standard input (one command a line, `#`
//! comments) and prints each command's output followed by `OK` or `ERROR: ...`.
//!
//! Row keys, qualifiers and values are shown with non-printable bytes as `\xNN` and
//! accepted the same way.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use hfile::cell::{from_string_binary, to_string_binary};
use store_server::client::{Delete, DeleteSpec, RowIter};
use store_server::scan::Column;
use store_server::split::{hex_string_split_keys, uniform_split_keys};
use store_server::{Connection, FamilyDescriptor, Get, Put, Scan, TableDescriptor, TableName};

/// Output format of `scan`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ScanFormat {
    /// HBase shell layout (`ROW  COLUMN+CELL`).
    Table,
    /// `row<TAB>family:qualifier<TAB>timestamp<TAB>value`.
    Tsv,
    /// One JSON object per cell.
    Json,
}

/// Pre-split algorithm for `create --presplit N`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SplitAlgo {
    /// `HexStringSplit`: 8-hex-digit row keys.
    Hex,
    /// `UniformSplit`: uniformly over 8-byte keys.
    Uniform,
}

/// The HBase-shell verbs.
#[derive(Debug, Clone, Subcommand)]
pub enum ShellCommand {
    /// Create a table: `create T F1[:VERSIONS=3,TTL=60,COMPRESSION=GZ,...] F2 ...`.
    ///
    /// Example: `basalt create users info:VERSIONS=3 stats --splits g,n,t`
    Create {
        /// Table name (`[namespace:]name`).
        table: String,
        /// Column families with options (VERSIONS, MIN_VERSIONS, TTL, COMPRESSION,
        /// DATA_BLOCK_ENCODING, BLOCKSIZE, BLOOMFILTER, IN_MEMORY).
        #[arg(required = true)]
        families: Vec<String>,
        /// Explicit split keys (comma separated, `\xNN` allowed).
        #[arg(long, value_delimiter = ',')]
        splits: Vec<String>,
        /// Pre-split into N regions.
        #[arg(long)]
        presplit: Option<usize>,
        /// Algorithm for --presplit.
        #[arg(long, value_enum, default_value = "hex")]
        algo: SplitAlgo,
    },
    /// List tables. Example: `basalt list`
    List,
    /// Show a table's schema. Example: `basalt describe users`
    Describe {
        /// Table name.
        table: String,
    },
    /// Disable a table. Example: `basalt disable users`
    Disable {
        /// Table name.
        table: String,
    },
    /// Enable a table. Example: `basalt enable users`
    Enable {
        /// Table name.
        table: String,
    },
    /// Drop a disabled table. Example: `basalt drop users`
    Drop {
        /// Table name.
        table: String,
    },
    /// Remove all rows, keeping schema and regions. Example: `basalt truncate users`
    Truncate {
        /// Table name.
        table: String,
    },
    /// Write one cell. Example: `basalt put users row1 info:name Alice`
    Put {
        /// Table name.
        table: String,
        /// Row key.
        row: String,
        /// `family:qualifier`.
        column: String,
        /// Value.
        value: String,
        /// Timestamp in ms (default: now).
        #[arg(long)]
        ts: Option<i64>,
    },
    /// Read one row. Example: `basalt get users row1 --columns info:name --versions 3`
    Get {
        /// Table name.
        table: String,
        /// Row key.
        row: String,
        /// Columns (`family` or `family:qualifier`, comma separated).
        #[arg(long, value_delimiter = ',')]
        columns: Vec<String>,
        /// Versions per column.
        #[arg(long, default_value_t = 1)]
        versions: u32,
    },
    /// Scan rows. Example: `basalt scan users --prefix row --limit 10 --format tsv`
    Scan {
        /// Table name.
        table: String,
        /// Start row (inclusive).
        #[arg(long)]
        start: Option<String>,
        /// Stop row (exclusive).
        #[arg(long)]
        stop: Option<String>,
        /// Row prefix.
        #[arg(long)]
        prefix: Option<String>,
        /// Columns (`family` or `family:qualifier`, comma separated).
        #[arg(long, value_delimiter = ',')]
        columns: Vec<String>,
        /// Versions per column.
        #[arg(long, default_value_t = 1)]
        versions: u32,
        /// Maximum rows.
        #[arg(long)]
        limit: Option<usize>,
        /// Scan backwards.
        #[arg(long)]
        reversed: bool,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: ScanFormat,
    },
    /// Delete a column's versions at or below --ts (all versions by default), or the whole
    /// row without a column. Example: `basalt delete users row1 info:name`
    Delete {
        /// Table name.
        table: String,
        /// Row key.
        row: String,
        /// `family:qualifier` (or `family`).
        column: Option<String>,
        /// Timestamp (default: now).
        #[arg(long)]
        ts: Option<i64>,
    },
    /// Delete a whole row. Example: `basalt deleteall users row1`
    Deleteall {
        /// Table name.
        table: String,
        /// Row key.
        row: String,
    },
    /// Count rows; the last line is `N row(s)`. Example: `basalt count users`
    Count {
        /// Table name.
        table: String,
    },
    /// Flush memstores to store files. Example: `basalt flush users`
    Flush {
        /// Table name.
        table: String,
    },
    /// Split at KEY, or every region at its mid key. Example: `basalt split users m`
    Split {
        /// Table name.
        table: String,
        /// Split key.
        key: Option<String>,
    },
    /// Major-compact every region. Example: `basalt major-compact users`
    MajorCompact {
        /// Table name.
        table: String,
    },
    /// Show regions with their key ranges and store files. Example: `basalt regions users`
    Regions {
        /// Table name.
        table: String,
    },
    /// Run verbs read from standard input, one a line (`#` comments), printing `OK` or
    /// `ERROR: ...` after each. Example: `basalt shell < script.txt`
    Shell,
}

/// The root directory: `--root`, else `$BASALT_ROOT`, else `./basalt-data`.
pub fn resolve_root(root: Option<PathBuf>) -> PathBuf {
    root.or_else(|| std::env::var_os("BASALT_ROOT").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("basalt-data"))
}

/// Runs one verb as a CLI command: opens the store, runs, closes. Errors go to stderr.
pub fn main(root: Option<PathBuf>, cmd: ShellCommand) -> ExitCode {
    let root = resolve_root(root);
    let stdout = std::io::stdout();
    let result = (|| -> Result<(), String> {
        let conn = Connection::embedded(&root).map_err(|e| e.to_string())?;
        let r = if matches!(cmd, ShellCommand::Shell) {
            let stdin = std::io::stdin();
            run_script(&conn, stdin.lock(), &mut stdout.lock()).map_err(|e| e.to_string())
        } else {
            run(&conn, &cmd, &mut stdout.lock())
        };
        let closed = conn.close().map_err(|e| e.to_string());
        r.and(closed)
    })();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ERROR: {e}");
            ExitCode::FAILURE
        }
    }
}

#[derive(Parser, Debug)]
#[command(name = "basalt", no_binary_name = true, disable_help_flag = false)]
struct Line {
    #[command(subcommand)]
    cmd: ShellCommand,
}

/// Splits a script line into words: whitespace separated, with '...' and "..." quoting.
pub fn tokenize(line: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    for ch in line.chars() {
        match quote {
            Some(q) if ch == q => quote = None,
            Some(_) => cur.push(ch),
            None if ch == '\'' || ch == '"' => {
                quote = Some(ch);
                in_word = true;
            }
            None if ch.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            None => {
                cur.push(ch);
                in_word = true;
            }
        }
    }
    if quote.is_some() {
        return Err("unterminated quote".into());
    }
    if in_word {
        out.push(cur);
    }
    Ok(out)
}

/// Runs a script: each non-empty, non-comment line is one verb; after its output comes `OK`
/// or `ERROR: ...`. Keeps going after errors. Returns an error only if output fails.
pub fn run_script(
    conn: &Connection,
    input: impl BufRead,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    for line in input.lines() {
        let line = line?;
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let result = tokenize(trimmed).and_then(|words| {
            let parsed = Line::try_parse_from(words)
                .map_err(|e| e.to_string().trim_end().replace('\n', " "))?;
            if matches!(parsed.cmd, ShellCommand::Shell) {
                return Err("'shell' cannot be nested".into());
            }
            let mut buf = Vec::new();
            let r = run(conn, &parsed.cmd, &mut buf);
            out.write_all(&buf).map_err(|e| e.to_string())?;
            r
        });
        match result {
            Ok(()) => writeln!(out, "OK")?,
            Err(e) => writeln!(out, "ERROR: {e}")?,
        }
        out.flush()?;
    }
    Ok(())
}

fn table_name(s: &str) -> Result<TableName, String> {
    TableName::parse(s).map_err(|e| e.to_string())
}

fn split_column(s: &str) -> (Vec<u8>, Option<Vec<u8>>) {
    match s.split_once(':') {
        Some((f, q)) => (from_string_binary(f), Some(from_string_binary(q))),
        None => (from_string_binary(s), None),
    }
}

fn columns(specs: &[String]) -> Vec<Column> {
    specs
        .iter()
        .filter(|s| !s.is_empty())
        .map(|s| {
            let (family, qualifier) = split_column(s);
            Column { family, qualifier }
        })
        .collect()
}

fn w(out: &mut dyn Write, s: std::fmt::Arguments<'_>) -> Result<(), String> {
    out.write_fmt(s).map_err(|e| e.to_string())
}

/// A JSON string literal for `s`.
fn json_str(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}

fn print_rows(rows: RowIter, format: ScanFormat, out: &mut dyn Write) -> Result<usize, String> {
    if format == ScanFormat::Table {
        w(out, format_args!("{:<24} {}\n", "ROW", "COLUMN+CELL"))?;
    }
    let mut n = 0;
    for r in rows {
        let r = r.map_err(|e| e.to_string())?;
        n += 1;
        let row = to_string_binary(&r.row);
        for c in &r.cells {
            let col = format!(
                "{}:{}",
                to_string_binary(&c.family),
                to_string_binary(&c.qualifier)
            );
            let val = to_string_binary(&c.value);
            match format {
                ScanFormat::Table => w(
                    out,
                    format_args!(
                        " {row:<23} column={col}, timestamp={}, value={val}\n",
                        c.timestamp
                    ),
                )?,
                ScanFormat::Tsv => w(out, format_args!("{row}\t{col}\t{}\t{val}\n", c.timestamp))?,
                ScanFormat::Json => w(
                    out,
                    format_args!(
                        "{{\"row\":{},\"column\":{},\"timestamp\":{},\"value\":{}}}\n",
                        json_str(&row),
                        json_str(&col),
                        c.timestamp,
                        json_str(&val)
                    ),
                )?,
            }
        }
    }
    Ok(n)
}

/// Runs one verb against an open connection, writing its output to `out`.
pub fn run(conn: &Connection, cmd: &ShellCommand, out: &mut dyn Write) -> Result<(), String> {
    let admin = conn.admin();
    let e = |e: store_server::Error| e.to_string();
    match cmd {
        ShellCommand::Create {
            table,
            families,
            splits,
            presplit,
            algo,
        } => {
            let fams = families
                .iter()
                .map(|f| FamilyDescriptor::parse_spec(f))
                .collect::<Result<Vec<_>, _>>()
                .map_err(e)?;
            let desc = TableDescriptor::new(table_name(table)?, fams);
            let mut keys: Vec<Vec<u8>> = splits
                .iter()
                .filter(|s| !s.is_empty())
                .map(|s| from_string_binary(s))
                .collect();
            if let Some(n) = presplit {
                if !keys.is_empty() {
                    return Err("use either --splits or --presplit".into());
                }
                keys = match algo {
                    SplitAlgo::Hex => hex_string_split_keys(*n),
                    SplitAlgo::Uniform => uniform_split_keys(*n),
                };
            }
            admin.create_table(desc, &keys).map_err(e)?;
            w(
                out,
                format_args!("Created table {table} with {} region(s)\n", keys.len() + 1),
            )
        }
        ShellCommand::List => {
            let tables = admin.list_tables().map_err(e)?;
            w(out, format_args!("TABLE\n"))?;
            for t in &tables {
                w(out, format_args!("{}\n", t.name))?;
            }
            w(out, format_args!("{} row(s)\n", tables.len()))
        }
        ShellCommand::Describe { table } => {
            let d = admin.describe(&table_name(table)?).map_err(e)?;
            w(out, format_args!("{}", d.describe()))
        }
        ShellCommand::Disable { table } => admin.disable_table(&table_name(table)?).map_err(e),
        ShellCommand::Enable { table } => admin.enable_table(&table_name(table)?).map_err(e),
        ShellCommand::Drop { table } => admin.drop_table(&table_name(table)?).map_err(e),
        ShellCommand::Truncate { table } => admin.truncate_table(&table_name(table)?).map_err(e),
        ShellCommand::Put {
            table,
            row,
            column,
            value,
            ts,
        } => {
            let t = conn.table(table).map_err(e)?;
            let (f, q) = split_column(column);
            let q = q.ok_or_else(|| format!("column '{column}' must be FAMILY:QUALIFIER"))?;
            let row = from_string_binary(row);
            let value = from_string_binary(value);
            let put = match ts {
                Some(ts) => Put::new(row).add_ts(f, q, *ts, value),
                None => Put::new(row).add(f, q, value),
            };
            // Returns only once durable per the table's durability.
            t.put(&put).map_err(e)
        }
        ShellCommand::Get {
            table,
            row,
            columns: cols,
            versions,
        } => {
            let t = conn.table(table).map_err(e)?;
            let mut g = Get::new(from_string_binary(row)).with_max_versions(*versions);
            g.columns = columns(cols);
            let r = t.get(&g).map_err(e)?;
            w(out, format_args!("{:<24} {}\n", "COLUMN", "CELL"))?;
            for c in &r.cells {
                let col = format!(
                    "{}:{}",
                    to_string_binary(&c.family),
                    to_string_binary(&c.qualifier)
                );
                w(
                    out,
                    format_args!(
                        " {col:<23} timestamp={}, value={}\n",
                        c.timestamp,
                        to_string_binary(&c.value)
                    ),
                )?;
            }
            w(out, format_args!("{} row(s)\n", usize::from(!r.is_empty())))
        }
        ShellCommand::Scan {
            table,
            start,
            stop,
            prefix,
            columns: cols,
            versions,
            limit,
            reversed,
            format,
        } => {
            let t = conn.table(table).map_err(e)?;
            let mut s = Scan::new().with_max_versions(*versions).reversed(*reversed);
            if let Some(p) = prefix {
                s = s.with_prefix(from_string_binary(p));
            }
            if let Some(r) = start {
                s.start_row = from_string_binary(r);
            }
            if let Some(r) = stop {
                s.stop_row = from_string_binary(r);
            }
            s.columns = columns(cols);
            s.limit = *limit;
            let n = print_rows(t.scan(&s).map_err(e)?, *format, out)?;
            if *format == ScanFormat::Table {
                w(out, format_args!("{n} row(s)\n"))?;
            }
            Ok(())
        }
        ShellCommand::Delete {
            table,
            row,
            column,
            ts,
        } => {
            let t = conn.table(table).map_err(e)?;
            let mut d = Delete::new(from_string_binary(row));
            match column {
                None => d.ts = *ts,
                Some(c) => {
                    let (family, q) = split_column(c);
                    d = d.with_spec(match q {
                        Some(qualifier) => DeleteSpec::Columns {
                            family,
                            qualifier,
                            ts: *ts,
                        },
                        None => DeleteSpec::Family { family, ts: *ts },
                    });
                }
            }
            t.delete(&d).map_err(e)
        }
        ShellCommand::Deleteall { table, row } => {
            let t = conn.table(table).map_err(e)?;
            t.delete(&Delete::new(from_string_binary(row))).map_err(e)
        }
        ShellCommand::Count { table } => {
            let t = conn.table(table).map_err(e)?;
            let scan = Scan::new().with_filter(store_server::Filter::All(vec![
                store_server::Filter::FirstKeyOnly,
                store_server::Filter::KeyOnly,
            ]));
            let mut n = 0u64;
            for r in t.scan(&scan).map_err(e)? {
                r.map_err(e)?;
                n += 1;
                if n.is_multiple_of(100_000) {
                    w(out, format_args!("Current count: {n}\n"))?;
                }
            }
            w(out, format_args!("{n} row(s)\n"))
        }
        ShellCommand::Flush { table } => admin.flush(&table_name(table)?).map_err(e),
        ShellCommand::Split { table, key } => {
            let key = key.as_ref().map(|k| from_string_binary(k));
            let n = admin
                .split(&table_name(table)?, key.as_deref())
                .map_err(e)?;
            w(out, format_args!("{n} region(s) split\n"))
        }
        ShellCommand::MajorCompact { table } => {
            let reports = admin.compact(&table_name(table)?, true).map_err(e)?;
            let files: usize = reports.iter().map(|r| r.files_in).sum();
            let bytes_in: u64 = reports.iter().map(|r| r.bytes_in).sum();
            let bytes_out: u64 = reports.iter().map(|r| r.bytes_out).sum();
            let tomb: u64 = reports.iter().map(|r| r.tombstones_dropped).sum();
            w(
                out,
                format_args!(
                    "compacted {} store(s): {files} file(s), {bytes_in} -> {bytes_out} bytes, {tomb} tombstone(s) dropped\n",
                    reports.len()
                ),
            )?;
            // A typed table's regions are quiet now: give SQL scans their columnar copies.
            let copies = sql::columnar::ColumnarCopies::new(conn, false);
            let Some(r) = copies.build_table(conn, table).map_err(|e| e.to_string())? else {
                return Ok(());
            };
            w(
                out,
                format_args!(
                    "columnar copies: {} region(s), {} row(s), {} bytes ({} written)\n",
                    r.regions, r.rows, r.bytes, r.built
                ),
            )?;
            for why in &r.skipped {
                w(out, format_args!("no columnar copy for {why}\n"))?;
            }
            Ok(())
        }
        ShellCommand::Regions { table } => {
            let regions = admin.regions(&table_name(table)?).map_err(e)?;
            for r in &regions {
                w(
                    out,
                    format_args!(
                        "{} start={} end={} online={} memstore={}B\n",
                        r.info.encoded_name(),
                        to_string_binary(&r.info.start_key),
                        to_string_binary(&r.info.end_key),
                        r.online,
                        r.memstore_size
                    ),
                )?;
                for (fam, files) in &r.stores {
                    for f in files {
                        w(
                            out,
                            format_args!(
                                "  {}/{} size={} entries={} seq={}\n",
                                to_string_binary(fam),
                                f.name,
                                f.size,
                                f.entries,
                                f.seq_id
                            ),
                        )?;
                    }
                }
            }
            w(out, format_args!("{} region(s)\n", regions.len()))
        }
        ShellCommand::Shell => Err("'shell' reads commands from stdin; run `basalt shell`".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokenizer_handles_quotes() {
        assert_eq!(
            tokenize(r#"put t 'row 1' f:q "a b""#).ok(),
            Some(vec![
                "put".into(),
                "t".into(),
                "row 1".into(),
                "f:q".into(),
                "a b".into()
            ])
        );
        assert!(tokenize("put 'x").is_err());
    }

    #[test]
    fn script_mode_prints_ok_and_error_lines() {
        let dir = match tempfile::tempdir() {
            Ok(d) => d,
            Err(e) => panic!("tempdir: {e}"),
        };
        let conn = match Connection::embedded(dir.path()) {
            Ok(c) => c,
            Err(e) => panic!("open: {e}"),
        };
        let script = "# comment\ncreate t f:VERSIONS=2 --splits m\nput t row1 f:a v1 --ts 5\nput t 'row\\x002' f:a v2\nput t row1 nope:a v\nget t row1\nscan t --format tsv\ncount t\nregions t\nbogus\n";
        let mut out = Vec::new();
        let r = run_script(&conn, script.as_bytes(), &mut out);
        assert!(r.is_ok());
        let text = String::from_utf8_lossy(&out);
        let status: Vec<&str> = text
            .lines()
            .filter(|l| *l == "OK" || l.starts_with("ERROR"))
            .collect();
        assert_eq!(status.len(), 9, "{text}");
        assert!(status[3].starts_with("ERROR"), "{text}");
        assert!(text.contains("row1\tf:a\t5\tv1"), "{text}");
        assert!(text.contains("row\\x002\tf:a"), "{text}");
        assert!(text.contains("2 row(s)\nOK"), "{text}");
        assert!(text.contains("2 region(s)"), "{text}");
        assert!(status[8].starts_with("ERROR"), "{text}");
    }
}
