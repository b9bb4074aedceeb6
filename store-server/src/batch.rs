//! Rows as Arrow record batches in the *cell schema*: one record per cell, columns `row`,
//! `family`, `qualifier` (binary), `timestamp` (int64), `type` (UTF-8 HBase type name such
//! as `Put` or `DeleteColumn`) and `value` (binary). [`Table::scan_batches`] returns scans in
//! this form; map/reduce jobs and `export` share it.
//!
//! [`Table::scan_batches`]: crate::Table::scan_batches

use std::sync::Arc;

use arrow_array::builder::{BinaryBuilder, Int64Builder, StringBuilder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use hfile::{CellType, CellView};

use crate::error::Result;
use crate::row::{RowCells, RowCursor};

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
        match CellType::from_code(c.type_code()) {
            Some(t) => self.kind.append_value(t.name()),
            None => self
                .kind
                .append_value(format!("Unknown({})", c.type_code())),
        }
        self.value.append_value(c.value());
        self.len += 1;
        self.bytes += c.row().len() + c.family().len() + c.qualifier().len() + c.value().len() + 16;
    }

    /// Appends every cell of a row.
    pub fn push_row(&mut self, row: &RowCells) {
        for c in row.cells() {
            self.push(&c);
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

/// Record batches returned by [`crate::Table::scan_batches`].
pub type BatchIter = Box<dyn Iterator<Item = Result<RecordBatch>> + Send>;

/// Turns a row cursor into cell batches of about `batch_cells` cells, never splitting a
/// row; an error ends the batches after being returned.
pub struct RowBatches {
    rows: Option<Box<dyn RowCursor>>,
    builder: CellBatchBuilder,
    batch_cells: usize,
}

impl RowBatches {
    /// Batches of at least `batch_cells` cells (the last one smaller) from `rows`.
    pub fn new(rows: Box<dyn RowCursor>, batch_cells: usize) -> RowBatches {
        RowBatches {
            rows: Some(rows),
            builder: CellBatchBuilder::new(),
            batch_cells: batch_cells.max(1),
        }
    }
}

impl Iterator for RowBatches {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Result<RecordBatch>> {
        while let Some(rows) = &mut self.rows {
            match rows.next_row() {
                Ok(Some(row)) => {
                    self.builder.push_row(row);
                    if self.builder.len() >= self.batch_cells {
                        return Some(self.builder.finish());
                    }
                }
                Err(e) => {
                    self.rows = None;
                    self.builder = CellBatchBuilder::new();
                    return Some(Err(e));
                }
                Ok(None) => self.rows = None,
            }
        }
        (!self.builder.is_empty()).then(|| self.builder.finish())
    }
}
