//! Renders statement results as an ASCII table, CSV or JSON (`--format table|csv|json`).

use datafusion::arrow::array::Array;
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::arrow::util::pretty::pretty_format_batches;

use crate::error::Result;
use crate::session::Output;

/// Output format of query results.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// Boxed ASCII table (the default).
    #[default]
    Table,
    /// RFC 4180 CSV with a header line.
    Csv,
    /// A JSON array of objects, one per row.
    Json,
}

/// Renders one statement's output.
pub fn render(out: &Output, format: Format) -> Result<String> {
    match out {
        Output::Done(msg) => Ok(msg.clone()),
        Output::Affected { verb, rows } => Ok(format!(
            "{rows} row{} {verb}",
            if *rows == 1 { "" } else { "s" }
        )),
        Output::Rows { schema, batches } => {
            let names: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
            match format {
                Format::Table => {
                    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
                    let body = if batches.is_empty() {
                        pretty_format_batches(&[RecordBatch::new_empty(schema.clone())])?
                            .to_string()
                    } else {
                        pretty_format_batches(batches)?.to_string()
                    };
                    Ok(format!(
                        "{body}\n{rows} row{}",
                        if rows == 1 { "" } else { "s" }
                    ))
                }
                Format::Csv => {
                    let mut s = names
                        .iter()
                        .map(|n| csv_field(n))
                        .collect::<Vec<_>>()
                        .join(",");
                    s.push('\n');
                    for_each_row(batches, |cells| {
                        let line: Vec<String> = cells
                            .iter()
                            .map(|c| c.as_ref().map(|(v, _)| csv_field(v)).unwrap_or_default())
                            .collect();
                        s.push_str(&line.join(","));
                        s.push('\n');
                    })?;
                    Ok(s.trim_end_matches('\n').to_string())
                }
                Format::Json => {
                    let mut rows = Vec::new();
                    for_each_row(batches, |cells| {
                        let mut obj = serde_json::Map::new();
                        for (n, c) in names.iter().zip(cells) {
                            obj.insert(n.clone(), json_value(c));
                        }
                        rows.push(serde_json::Value::Object(obj));
                    })?;
                    Ok(serde_json::Value::Array(rows).to_string())
                }
            }
        }
    }
}

/// Calls `f` with each row's cells: `None` for NULL, else (text, Arrow type).
fn for_each_row(
    batches: &[RecordBatch],
    mut f: impl FnMut(&[Option<(String, DataType)>]),
) -> Result<()> {
    let opts = FormatOptions::default();
    for b in batches {
        let fmts = b
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &opts))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let mut cells = Vec::with_capacity(b.num_columns());
        for r in 0..b.num_rows() {
            cells.clear();
            for (c, fm) in b.columns().iter().zip(&fmts) {
                cells.push(if c.is_null(r) {
                    None
                } else {
                    Some((fm.value(r).to_string(), c.data_type().clone()))
                });
            }
            f(&cells);
        }
    }
    Ok(())
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn json_value(c: &Option<(String, DataType)>) -> serde_json::Value {
    match c {
        None => serde_json::Value::Null,
        Some((s, t)) if t.is_numeric() && !matches!(t, DataType::Decimal128(..)) => {
            serde_json::from_str::<serde_json::Number>(s)
                .map(serde_json::Value::Number)
                .unwrap_or_else(|_| serde_json::Value::String(s.clone()))
        }
        Some((s, DataType::Boolean)) => serde_json::Value::Bool(s == "true"),
        Some((s, _)) => serde_json::Value::String(s.clone()),
    }
}
