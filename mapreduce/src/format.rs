//! Part files: the on-disk formats of file outputs (Parquet and CSV) for record batches,
//! and reading cell-schema part files back (for `import-export`).

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use arrow_array::{
    Array, ArrayRef, BinaryArray, Int64Array, Int8Array, RecordBatch, StringArray, UInt64Array,
};
use arrow_schema::{DataType, SchemaRef};
use hfile::cell::{from_string_binary, to_string_binary};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use crate::batch::CellBatchBuilder;
use crate::error::{Error, Result};

/// A file format of [`FileOutput`](crate::output::FileOutput) parts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum FileFormat {
    /// Apache Parquet (Snappy-compressed).
    #[default]
    Parquet,
    /// CSV with a header line; binary columns written with HBase's `\xNN` escaping.
    Csv,
}

impl FileFormat {
    /// The file extension (`parquet`, `csv`).
    pub fn extension(self) -> &'static str {
        match self {
            FileFormat::Parquet => "parquet",
            FileFormat::Csv => "csv",
        }
    }

    /// Parses `parquet` or `csv` (any case).
    pub fn parse(s: &str) -> Result<FileFormat> {
        match s.to_ascii_lowercase().as_str() {
            "parquet" => Ok(FileFormat::Parquet),
            "csv" => Ok(FileFormat::Csv),
            _ => Err(Error::InvalidArgument(format!(
                "unknown format '{s}' (parquet, csv)"
            ))),
        }
    }

    /// The format of a part file, from its extension.
    pub fn of_path(p: &Path) -> Option<FileFormat> {
        match p.extension().and_then(|e| e.to_str()) {
            Some("parquet") => Some(FileFormat::Parquet),
            Some("csv") => Some(FileFormat::Csv),
            _ => None,
        }
    }
}

fn parquet_err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Parquet {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

fn csv_err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Csv {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// Writes record batches of one schema to one part file.
pub enum PartWriter {
    /// A Parquet file.
    Parquet(PathBuf, Box<ArrowWriter<File>>),
    /// A CSV file.
    Csv(PathBuf, Box<csv::Writer<BufWriter<File>>>),
}

impl PartWriter {
    /// Creates `path` in `format` for batches of `schema`.
    pub fn create(path: &Path, format: FileFormat, schema: SchemaRef) -> Result<PartWriter> {
        let file = File::create(path).map_err(|e| Error::io(path, e))?;
        match format {
            FileFormat::Parquet => {
                let props = WriterProperties::builder()
                    .set_compression(Compression::SNAPPY)
                    .build();
                let w = ArrowWriter::try_new(file, schema, Some(props))
                    .map_err(|e| parquet_err(path, e))?;
                Ok(PartWriter::Parquet(path.to_path_buf(), Box::new(w)))
            }
            FileFormat::Csv => {
                let mut w = csv::Writer::from_writer(BufWriter::new(file));
                w.write_record(schema.fields().iter().map(|f| f.name().as_str()))
                    .map_err(|e| csv_err(path, e))?;
                Ok(PartWriter::Csv(path.to_path_buf(), Box::new(w)))
            }
        }
    }

    /// Appends a batch.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        match self {
            PartWriter::Parquet(p, w) => w.write(batch).map_err(|e| parquet_err(p, e)),
            PartWriter::Csv(p, w) => {
                let cols: Vec<&ArrayRef> = batch.columns().iter().collect();
                let mut fields = Vec::with_capacity(cols.len());
                for i in 0..batch.num_rows() {
                    fields.clear();
                    for c in &cols {
                        fields.push(csv_field(c.as_ref(), i, p)?);
                    }
                    w.write_record(&fields).map_err(|e| csv_err(p, e))?;
                }
                Ok(())
            }
        }
    }

    /// Finishes the file and syncs it to disk.
    pub fn finish(self) -> Result<PathBuf> {
        match self {
            PartWriter::Parquet(p, w) => {
                let file = w.into_inner().map_err(|e| parquet_err(&p, e))?;
                file.sync_all().map_err(|e| Error::io(&p, e))?;
                Ok(p)
            }
            PartWriter::Csv(p, w) => {
                let buf = w.into_inner().map_err(|e| csv_err(&p, e))?;
                let file = buf
                    .into_inner()
                    .map_err(|e| Error::io(&p, e.into_error()))?;
                file.sync_all().map_err(|e| Error::io(&p, e))?;
                Ok(p)
            }
        }
    }
}

fn csv_field(col: &dyn Array, i: usize, path: &Path) -> Result<String> {
    if col.is_null(i) {
        return Ok(String::new());
    }
    let any = col.as_any();
    if let Some(a) = any.downcast_ref::<BinaryArray>() {
        return Ok(to_string_binary(a.value(i)));
    }
    if let Some(a) = any.downcast_ref::<StringArray>() {
        return Ok(a.value(i).to_string());
    }
    if let Some(a) = any.downcast_ref::<Int64Array>() {
        return Ok(a.value(i).to_string());
    }
    if let Some(a) = any.downcast_ref::<UInt64Array>() {
        return Ok(a.value(i).to_string());
    }
    if let Some(a) = any.downcast_ref::<Int8Array>() {
        return Ok(a.value(i).to_string());
    }
    Err(csv_err(
        path,
        format!("cannot write a {} column as CSV", col.data_type()),
    ))
}

/// Reads a cell-schema part file (Parquet or CSV, by extension) as record batches.
pub fn read_cell_file(path: &Path) -> Result<Vec<RecordBatch>> {
    match FileFormat::of_path(path) {
        Some(FileFormat::Parquet) => {
            let file = File::open(path).map_err(|e| Error::io(path, e))?;
            let reader = ParquetRecordBatchReaderBuilder::try_new(file)
                .map_err(|e| parquet_err(path, e))?
                .build()
                .map_err(|e| parquet_err(path, e))?;
            let mut out = Vec::new();
            for b in reader {
                out.push(b.map_err(|e| parquet_err(path, e))?);
            }
            Ok(out)
        }
        Some(FileFormat::Csv) => read_cell_csv(path),
        None => Err(Error::InvalidArgument(format!(
            "{}: not a .parquet or .csv part file",
            path.display()
        ))),
    }
}

fn read_cell_csv(path: &Path) -> Result<Vec<RecordBatch>> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut r = csv::Reader::from_reader(std::io::BufReader::new(file));
    let header = r.headers().map_err(|e| csv_err(path, e))?.clone();
    let want = crate::batch::CELL_COLUMNS;
    if header.iter().ne(want.iter().copied()) {
        return Err(csv_err(path, format!("header must be {}", want.join(","))));
    }
    let mut b = CellBatchBuilder::new();
    let mut out = Vec::new();
    for (n, rec) in r.records().enumerate() {
        let line = n + 2;
        let rec = rec.map_err(|e| csv_err(path, e))?;
        let f = |i: usize| rec.get(i).unwrap_or_default();
        let ts: i64 = f(3)
            .parse()
            .map_err(|_| csv_err(path, format!("line {line}: bad timestamp '{}'", f(3))))?;
        let t = crate::batch::parse_cell_type(f(4))
            .ok_or_else(|| csv_err(path, format!("line {line}: bad cell type '{}'", f(4))))?;
        let cell = hfile::Cell {
            row: from_string_binary(f(0)).into(),
            family: from_string_binary(f(1)).into(),
            qualifier: from_string_binary(f(2)).into(),
            timestamp: ts,
            type_code: t.code(),
            value: from_string_binary(f(5)).into(),
            tags: bytes::Bytes::new(),
            seq_id: 0,
        };
        b.push(&cell);
        if b.len() >= 8192 {
            out.push(b.finish()?);
        }
    }
    if !b.is_empty() {
        out.push(b.finish()?);
    }
    Ok(out)
}

/// True if `schema`'s columns can be written as CSV.
pub fn csv_supported(schema: &SchemaRef) -> bool {
    schema.fields().iter().all(|f| {
        matches!(
            f.data_type(),
            DataType::Binary | DataType::Utf8 | DataType::Int64 | DataType::UInt64 | DataType::Int8
        )
    })
}
