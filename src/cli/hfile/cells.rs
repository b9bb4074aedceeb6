//! `basalt hfile cells`: the cells of a file in order, as a table or as JSON lines.
//!
//! Every byte string (row, family, qualifier, value, tags) is rendered like HBase's
//! `Bytes.toStringBinary`: printable ASCII as is, everything else (and `\`) as `\xNN`, so
//! the output is plain ASCII and can be turned back into bytes exactly. The JSON form is
//! one object per line (JSON lines), which streams and pipes into `jq` without loading a
//! whole file.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;
use hfile::{CellView, Reader};

use super::FormatArg;
use crate::display;
use crate::error::Result;

/// Width the row column is padded to in the table format (as the HBase shell does).
const ROW_WIDTH: usize = 30;

/// Arguments of `basalt hfile cells`.
#[derive(Debug, Args)]
pub struct CellsArgs {
    /// The HFile to print.
    pub file: PathBuf,
    /// Print at most this many cells.
    #[arg(long, short = 'n', value_name = "N")]
    pub limit: Option<u64>,
    /// Output format: an aligned table, or JSON lines (one object per cell).
    #[arg(long, value_enum, default_value_t = FormatArg::Table)]
    pub format: FormatArg,
}

/// Runs `basalt hfile cells`.
pub fn run(args: &CellsArgs, out: &mut dyn Write) -> Result<()> {
    let path = super::existing_file(&args.file)?;
    let reader = Reader::open(&path, None)?;
    print_cells(&reader, args.limit, args.format, out)
}

/// The type name HBase prints, or `type<N>` for a byte that is no known type.
fn type_name<C: CellView + ?Sized>(cell: &C) -> String {
    cell.cell_type()
        .map(|t| t.name().to_string())
        .unwrap_or_else(|| format!("type{}", cell.type_code()))
}

/// A string as a JSON string literal (quoted and escaped).
fn json_string(s: &str) -> String {
    // Serializing a &str cannot fail; fall back to an empty literal rather than panic.
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_string())
}

/// One cell as a JSON object on one line, fields in cell order (byte strings as
/// `toStringBinary` text).
pub fn cell_json<C: CellView + ?Sized>(cell: &C) -> String {
    format!(
        "{{\"row\":{},\"family\":{},\"qualifier\":{},\"timestamp\":{},\"type\":{},\"seq_id\":{},\"value\":{},\"tags\":{}}}",
        json_string(&display::binary(cell.row())),
        json_string(&display::binary(cell.family())),
        json_string(&display::binary(cell.qualifier())),
        cell.timestamp(),
        json_string(&type_name(cell)),
        cell.seq_id(),
        json_string(&display::binary(cell.value())),
        json_string(&display::binary(cell.tags())),
    )
}

/// One cell as a table line, HBase shell style.
pub fn cell_line<C: CellView + ?Sized>(cell: &C) -> String {
    let mut line = format!(
        " {:<width$} column={}:{}, timestamp={}, type={}, seqid={}, value={}",
        display::binary(cell.row()),
        display::binary(cell.family()),
        display::binary(cell.qualifier()),
        cell.timestamp(),
        type_name(cell),
        cell.seq_id(),
        display::binary(cell.value()),
        width = ROW_WIDTH - 1
    );
    if !cell.tags().is_empty() {
        line.push_str(", tags=");
        line.push_str(&display::binary(cell.tags()));
    }
    line
}

/// Prints up to `limit` cells of `reader` in `format`.
pub fn print_cells(
    reader: &Arc<Reader>,
    limit: Option<u64>,
    format: FormatArg,
    out: &mut dyn Write,
) -> Result<()> {
    let limit = limit.unwrap_or(u64::MAX);
    let mut scanner = reader.scanner();
    let mut n = 0u64;
    if format == FormatArg::Table {
        writeln!(out, "{:<ROW_WIDTH$} COLUMN+CELL", " ROW")?;
    }
    let mut more = n < limit && scanner.seek_to_first()?;
    while more {
        let Some(cell) = scanner.current() else { break };
        match format {
            FormatArg::Table => writeln!(out, "{}", cell_line(&cell))?,
            FormatArg::Json => writeln!(out, "{}", cell_json(&cell))?,
        }
        n += 1;
        more = n < limit && scanner.next()?;
    }
    if format == FormatArg::Table {
        let total = reader.entry_count();
        if n < total {
            writeln!(
                out,
                "{} of {} cell(s)",
                display::count(n),
                display::count(total)
            )?;
        } else {
            writeln!(out, "{} cell(s)", display::count(n))?;
        }
    }
    Ok(())
}
