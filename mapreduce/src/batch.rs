//! Rows as Arrow record batches: the cell schema shared by batch-style map functions and by
//! `export`/`import-export` (`row`, `family`, `qualifier`: binary; `timestamp`: int64;
//! `type`: UTF-8 HBase type name such as `Put` or `DeleteColumn`; `value`: binary), and the
//! conversions between batches, cells and rows.

use std::sync::Arc;

use arrow_array::builder::{BinaryBuilder, Int64Builder, StringBuilder};
use arrow_array::{Array, ArrayRef, BinaryArray, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use bytes::Bytes;
use hfile::{Cell, CellType, CellView};
use store_server::RowResult;

use crate::error::{Error, Result};

/// Column names of the cell schema, in order.
pub const CELL_COLUMNS: [&str; 6] = ["row", "family", "qualifier", "timestamp", "type", "value"];

/// The Arrow schema of cell batches.
pub fn cell_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("row", DataType::Binary, false),
        Field::new("family", DataType::Binary, false),
        Field::new("qualifier", DataType::Binary, false),
        Field::new("timestamp", DataType::Int64, false),
        Field::new("type", DataType::Utf8, false),
        Field::new("value", DataType::Binary, false),
    ]))
}

/// Parses an HBase cell type name (`Put`, `Delete`, `DeleteColumn`, `DeleteFamily`,
/// `DeleteFamilyVersion`).
pub fn parse_cell_type(name: &str) -> Option<CellType> {
    [
        CellType::Put,
        CellType::Delete,
        CellType::DeleteColumn,
        CellType::DeleteFamily,
        CellType::DeleteFamilyVersion,
    ]
    .into_iter()
    .find(|t| t.name() == name)
}

/// The name written to the `type` column for a type byte.
fn type_name(code: u8) -> String {
    match CellType::from_code(code) {
        Some(t) => t.name().to_string(),
        None => format!("Unknown({code})"),
    }
}

/// Accumulates cells into a record batch of the cell schema.
pub struct CellBatchBuilder {
    row: BinaryBuilder,
    family: BinaryBuilder,
    qualifier: BinaryBuilder,
    timestamp: Int64Builder,
    kind: StringBuilder,
    value: BinaryBuilder,
    len: usize,
    bytes: usize,
}

impl Default for CellBatchBuilder {
    fn default() -> Self {
        CellBatchBuilder::new()
    }
}

impl CellBatchBuilder {
    /// An empty builder.
    pub fn new() -> CellBatchBuilder {
        CellBatchBuilder {
            row: BinaryBuilder::new(),
            family: BinaryBuilder::new(),
            qualifier: BinaryBuilder::new(),
            timestamp: Int64Builder::new(),
            kind: StringBuilder::new(),
            value: BinaryBuilder::new(),
            len: 0,
            bytes: 0,
        }
    }

    /// Appends one cell.
    pub fn push<C: CellView + ?Sized>(&mut self, c: &C) {
        self.row.append_value(c.row());
        self.family.append_value(c.family());
        self.qualifier.append_value(c.qualifier());
        self.timestamp.append_value(c.timestamp());
        self.kind.append_value(type_name(c.type_code()));
        self.value.append_value(c.value());
        self.len += 1;
        self.bytes += c.row().len() + c.family().len() + c.qualifier().len() + c.value().len() + 16;
    }

    /// Appends every cell of a row.
    pub fn push_row(&mut self, row: &RowResult) {
        for c in &row.cells {
            self.push(c);
        }
    }

    /// Cells appended since the last [`finish`](Self::finish).
    pub fn len(&self) -> usize {
        self.len
    }

    /// True if no cell is pending.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Approximate bytes pending.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// The pending cells as a batch (the builder starts over).
    pub fn finish(&mut self) -> Result<RecordBatch> {
        let cols: Vec<ArrayRef> = vec![
            Arc::new(self.row.finish()),
            Arc::new(self.family.finish()),
            Arc::new(self.qualifier.finish()),
            Arc::new(self.timestamp.finish()),
            Arc::new(self.kind.finish()),
            Arc::new(self.value.finish()),
        ];
        self.len = 0;
        self.bytes = 0;
        Ok(RecordBatch::try_new(cell_schema(), cols)?)
    }
}

/// Typed access to the columns of a cell batch.
pub struct CellColumns<'a> {
    row: &'a BinaryArray,
    family: &'a BinaryArray,
    qualifier: &'a BinaryArray,
    timestamp: &'a Int64Array,
    kind: &'a StringArray,
    value: &'a BinaryArray,
}

fn column<'a, T: 'static>(batch: &'a RecordBatch, name: &str, what: &str) -> Result<&'a T> {
    let col = batch
        .column_by_name(name)
        .ok_or_else(|| Error::format(what, format!("batch has no '{name}' column")))?;
    if col.null_count() > 0 {
        return Err(Error::format(what, format!("column '{name}' has nulls")));
    }
    col.as_any().downcast_ref::<T>().ok_or_else(|| {
        Error::format(
            what,
            format!("column '{name}' has type {}", col.data_type()),
        )
    })
}

impl<'a> CellColumns<'a> {
    /// Checks that `batch` has the cell schema's columns (by name and type); `what` names
    /// the batch's origin in errors.
    pub fn new(batch: &'a RecordBatch, what: &str) -> Result<CellColumns<'a>> {
        Ok(CellColumns {
            row: column(batch, "row", what)?,
            family: column(batch, "family", what)?,
            qualifier: column(batch, "qualifier", what)?,
            timestamp: column(batch, "timestamp", what)?,
            kind: column(batch, "type", what)?,
            value: column(batch, "value", what)?,
        })
    }

    /// Number of cells.
    pub fn len(&self) -> usize {
        self.row.len()
    }

    /// True if the batch has no cells.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The row key of cell `i`.
    pub fn row(&self, i: usize) -> &'a [u8] {
        self.row.value(i)
    }

    /// Cell `i` as an owned cell (fails on an unknown type name).
    pub fn cell(&self, i: usize) -> Result<Cell> {
        let name = self.kind.value(i);
        let t = parse_cell_type(name)
            .ok_or_else(|| Error::format("cell batch", format!("unknown cell type '{name}'")))?;
        Ok(Cell {
            row: Bytes::copy_from_slice(self.row.value(i)),
            family: Bytes::copy_from_slice(self.family.value(i)),
            qualifier: Bytes::copy_from_slice(self.qualifier.value(i)),
            timestamp: self.timestamp.value(i),
            type_code: t.code(),
            value: Bytes::copy_from_slice(self.value.value(i)),
            tags: Bytes::new(),
            seq_id: 0,
        })
    }
}

/// Every cell of a cell batch, in batch order.
pub fn batch_cells(batch: &RecordBatch) -> Result<Vec<Cell>> {
    let cols = CellColumns::new(batch, "cell batch")?;
    (0..cols.len()).map(|i| cols.cell(i)).collect()
}

/// The cells of a cell batch grouped into rows (consecutive cells with the same row key).
pub fn batch_rows(batch: &RecordBatch) -> Result<Vec<RowResult>> {
    let mut rows: Vec<RowResult> = Vec::new();
    for c in batch_cells(batch)? {
        match rows.last_mut() {
            Some(r) if r.row == c.row => r.cells.push(c),
            _ => rows.push(RowResult {
                row: c.row.clone(),
                cells: vec![c],
            }),
        }
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_through_a_batch() {
        let mut b = CellBatchBuilder::new();
        let r1 = RowResult {
            row: Bytes::from_static(b"a"),
            cells: vec![
                Cell::put(&b"a"[..], &b"f"[..], &b"q"[..], 2, &b"v2"[..]),
                Cell::delete(&b"a"[..], &b"f"[..], &b"q"[..], 1, CellType::DeleteColumn),
            ],
        };
        let r2 = RowResult {
            row: Bytes::from_static(b"b"),
            cells: vec![Cell::put(&b"b"[..], &b"g"[..], &b""[..], 5, &b""[..])],
        };
        b.push_row(&r1);
        b.push_row(&r2);
        assert_eq!(b.len(), 3);
        let batch = b.finish().expect("batch");
        assert!(b.is_empty());
        assert_eq!(batch.num_rows(), 3);
        assert_eq!(batch_rows(&batch).expect("rows"), vec![r1, r2]);
        assert_eq!(parse_cell_type("Nope"), None);
    }
}
