//! Rows as Arrow record batches: the engine's cell schema ([`store_server::batch`], shared
//! by batch-style map functions and by `export`/`import-export`), and the conversions from
//! batches back to cells and rows.

use arrow_array::{Array, BinaryArray, Int64Array, RecordBatch, StringArray};
use bytes::Bytes;
use hfile::Cell;
use store_server::RowResult;

pub use store_server::batch::{cell_schema, parse_cell_type, CellBatchBuilder, CELL_COLUMNS};

use crate::error::{Error, Result};

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
    use hfile::CellType;

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
        for c in r1.cells.iter().chain(&r2.cells) {
            b.push(c);
        }
        assert_eq!(b.len(), 3);
        let batch = b.finish().expect("batch");
        assert!(b.is_empty());
        assert_eq!(batch.num_rows(), 3);
        assert_eq!(batch_rows(&batch).expect("rows"), vec![r1, r2]);
        assert_eq!(parse_cell_type("Nope"), None);
    }
}
