//! The Parquet peer: the same cells written through arrow-rs's `ArrowWriter` and read back
//! with `ParquetRecordBatchReader`.
//!
//! Schema: `row: binary, family: binary, qualifier: binary, ts: int64, value: binary`, one Parquet
//! row per cell. Cells are converted to Arrow record batches of [`BATCH_CELLS`] cells as they are
//! written (that conversion is part of the timed write, as it is for anyone writing Parquet from
//! cells). Writer properties are arrow-rs defaults (1 Mi-row row groups, 1 MiB pages, dictionary
//! encoding on with fallback) except the compression: NONE → `UNCOMPRESSED`, GZ → `GZIP` (level 6),
//! LZ4 → `LZ4_RAW`. Parquet has no point-get path, so it takes part in writes and scans only.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{Array, BinaryArray, BinaryBuilder, Int64Builder, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, GzipLevel};
use parquet::file::properties::WriterProperties;

use crate::cpu::Stopwatch;
use crate::data::{Dataset, FAMILY, QUALIFIER_LEN, VALUE_LEN};
use crate::mem::RssWindow;
use crate::stats::{Codec, ScanStats, WriteStats};
use crate::{alloc, Result};

/// Cells per Arrow record batch handed to the writer.
pub const BATCH_CELLS: usize = 64 * 1024;

fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("row", DataType::Binary, false),
        Field::new("family", DataType::Binary, false),
        Field::new("qualifier", DataType::Binary, false),
        Field::new("ts", DataType::Int64, false),
        Field::new("value", DataType::Binary, false),
    ]))
}

fn compression(codec: Codec) -> Compression {
    match codec {
        Codec::None => Compression::UNCOMPRESSED,
        Codec::Gz => Compression::GZIP(GzipLevel::default()),
        Codec::Lz4 => Compression::LZ4_RAW,
    }
}

fn batch(ds: &Dataset, schema: &SchemaRef, from: usize, to: usize) -> Result<RecordBatch> {
    let n = to - from;
    let mut row = BinaryBuilder::with_capacity(n, n * 32);
    let mut family = BinaryBuilder::with_capacity(n, n * FAMILY.len());
    let mut qualifier = BinaryBuilder::with_capacity(n, n * QUALIFIER_LEN);
    let mut ts = Int64Builder::with_capacity(n);
    let mut value = BinaryBuilder::with_capacity(n, n * VALUE_LEN);
    for i in from..to {
        let c = ds.view(i);
        row.append_value(c.row);
        family.append_value(FAMILY);
        qualifier.append_value(c.qualifier);
        ts.append_value(c.timestamp);
        value.append_value(c.value);
    }
    Ok(RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(row.finish()),
            Arc::new(family.finish()),
            Arc::new(qualifier.finish()),
            Arc::new(ts.finish()),
            Arc::new(value.finish()),
        ],
    )?)
}

/// Writes every cell of `ds` to a Parquet file at `path`, then `fsync`s it.
pub fn write(ds: &Dataset, path: &Path, codec: Codec) -> Result<WriteStats> {
    let schema = schema();
    let props = WriterProperties::builder()
        .set_compression(compression(codec))
        .build();
    let rss = RssWindow::start();
    let base = alloc::reset_peak();
    let sw = Stopwatch::start();
    let file = File::create(path)?;
    let mut w = ArrowWriter::try_new(file, schema.clone(), Some(props))?;
    let mut from = 0;
    while from < ds.len() {
        let to = (from + BATCH_CELLS).min(ds.len());
        w.write(&batch(ds, &schema, from, to)?)?;
        from = to;
    }
    let file = w.into_inner()?;
    file.sync_all()?;
    drop(file);
    let (elapsed, cpu) = sw.stop();
    let peak_heap = (alloc::peak() - base) as u64;
    Ok(WriteStats {
        elapsed,
        cpu,
        file_bytes: std::fs::metadata(path)?.len(),
        peak_heap,
        peak_rss: rss.peak_growth(),
    })
}

fn binary<'a>(b: &'a RecordBatch, name: &str) -> Result<&'a BinaryArray> {
    b.column_by_name(name)
        .and_then(|c| c.as_any().downcast_ref::<BinaryArray>())
        .ok_or_else(|| format!("parquet: column {name} missing or not binary").into())
}

/// Decodes the whole file into record batches and touches every cell's row and value.
pub fn scan(path: &Path) -> Result<ScanStats> {
    let sw = Stopwatch::start();
    let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(path)?)?
        .with_batch_size(8192)
        .build()?;
    let mut cells = 0u64;
    let mut acc = 0usize;
    for b in reader {
        let b = b?;
        let rows = binary(&b, "row")?;
        let values = binary(&b, "value")?;
        for i in 0..b.num_rows() {
            let v = values.value(i);
            let last = v.last().copied().unwrap_or(0) as usize;
            acc = acc.wrapping_add(rows.value(i).len() + v.len() + last);
        }
        cells += b.num_rows() as u64;
    }
    std::hint::black_box(acc);
    let (elapsed, cpu) = sw.stop();
    Ok(ScanStats {
        elapsed,
        cpu,
        cells,
    })
}

/// Streams cells (in the same schema as [`write`](fn@write)) into a Parquet file, one record batch per
/// [`BATCH_CELLS`] cells, for data sets generated on the fly.
pub struct CellFileWriter {
    writer: ArrowWriter<File>,
    schema: SchemaRef,
    row: BinaryBuilder,
    family: BinaryBuilder,
    qualifier: BinaryBuilder,
    ts: Int64Builder,
    value: BinaryBuilder,
    pending: usize,
}

impl CellFileWriter {
    /// Creates the file at `path` with `codec` compression.
    pub fn create(path: &Path, codec: Codec) -> Result<CellFileWriter> {
        let schema = schema();
        let props = WriterProperties::builder()
            .set_compression(compression(codec))
            .build();
        let writer = ArrowWriter::try_new(File::create(path)?, schema.clone(), Some(props))?;
        Ok(CellFileWriter {
            writer,
            schema,
            row: BinaryBuilder::new(),
            family: BinaryBuilder::new(),
            qualifier: BinaryBuilder::new(),
            ts: Int64Builder::new(),
            value: BinaryBuilder::new(),
            pending: 0,
        })
    }

    /// Appends one cell.
    pub fn push(&mut self, c: &crate::data::BenchCell<'_>) -> Result<()> {
        self.row.append_value(c.row);
        self.family.append_value(FAMILY);
        self.qualifier.append_value(c.qualifier);
        self.ts.append_value(c.timestamp);
        self.value.append_value(c.value);
        self.pending += 1;
        if self.pending >= BATCH_CELLS {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        if self.pending == 0 {
            return Ok(());
        }
        let batch = RecordBatch::try_new(
            self.schema.clone(),
            vec![
                Arc::new(self.row.finish()),
                Arc::new(self.family.finish()),
                Arc::new(self.qualifier.finish()),
                Arc::new(self.ts.finish()),
                Arc::new(self.value.finish()),
            ],
        )?;
        self.writer.write(&batch)?;
        self.pending = 0;
        Ok(())
    }

    /// Writes the rest and the footer, fsyncs, and returns the file size.
    pub fn finish(mut self) -> Result<u64> {
        self.flush()?;
        let file = self.writer.into_inner()?;
        file.sync_all()?;
        Ok(file.metadata()?.len())
    }
}
