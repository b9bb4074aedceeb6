//! Parquet files through the `parquet` crate's Arrow reader, fields mapped by the schema's
//! top-level column names.
//!
//! Values become cell bytes in the text form a CSV export of the same data would have, so a
//! CSV and a Parquet copy of one data set import to identical cells: strings as UTF-8,
//! binary as is, integers and floats in decimal, booleans as `true`/`false`, decimals with
//! their scale, dates as `YYYY-MM-DD`, timestamps as `YYYY-MM-DD HH:MM:SS[.fraction]` (UTC);
//! nulls produce no cell. Other column types are rejected up front, naming the column.

use std::fmt::Write as _;
use std::fs::File;
use std::io::Write as _;
use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Date64Type, Decimal128Type, Float32Type, Float64Type, Int16Type, Int32Type,
    Int64Type, Int8Type, TimestampMicrosecondType, TimestampMillisecondType,
    TimestampNanosecondType, TimestampSecondType, UInt16Type, UInt32Type, UInt64Type, UInt8Type,
};
use arrow_array::{Array, RecordBatch};
use arrow_schema::{DataType, TimeUnit};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::{fields_to_text, InputFile, ReadCtx};
use crate::cells::Fields;
use crate::error::{Error, Result};

fn parquet_err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Parquet {
        file: path.to_path_buf(),
        reason: e.to_string(),
    }
}

fn open(path: &Path) -> Result<ParquetRecordBatchReaderBuilder<File>> {
    let f = File::open(path).map_err(|e| Error::io(path, e))?;
    ParquetRecordBatchReaderBuilder::try_new(f).map_err(|e| parquet_err(path, e))
}

/// The schema's top-level column names.
pub fn field_names(path: &Path) -> Result<Vec<String>> {
    let b = open(path)?;
    Ok(b.schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect())
}

/// Whether values of this type can be turned into cell bytes.
fn supported(dt: &DataType) -> bool {
    match dt {
        DataType::Utf8
        | DataType::LargeUtf8
        | DataType::Utf8View
        | DataType::Binary
        | DataType::LargeBinary
        | DataType::BinaryView
        | DataType::FixedSizeBinary(_)
        | DataType::Boolean
        | DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32
        | DataType::UInt64
        | DataType::Float32
        | DataType::Float64
        | DataType::Decimal128(_, _)
        | DataType::Date32
        | DataType::Date64
        | DataType::Timestamp(_, _)
        | DataType::Null => true,
        DataType::Dictionary(k, v) => k.is_integer() && supported(v),
        _ => false,
    }
}

/// Days since 1970-01-01 → (year, month, day) (H. Hinnant's civil_from_days).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn write_date(out: &mut Vec<u8>, days: i64) {
    let (y, m, d) = civil_from_days(days);
    let _ = write!(out, "{y:04}-{m:02}-{d:02}");
}

/// Writes `v` units of `per_sec` per second since the epoch as a UTC date-time.
fn write_timestamp(out: &mut Vec<u8>, v: i64, per_sec: i64, digits: usize) {
    let secs = v.div_euclid(per_sec);
    let frac = v.rem_euclid(per_sec);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    write_date(out, days);
    let _ = write!(
        out,
        " {:02}:{:02}:{:02}",
        sod / 3600,
        (sod / 60) % 60,
        sod % 60
    );
    if frac != 0 {
        let mut s = format!("{frac:0digits$}");
        while s.ends_with('0') {
            s.pop();
        }
        let _ = write!(out, ".{s}");
    }
}

fn write_decimal(out: &mut Vec<u8>, v: i128, scale: i8) {
    if scale <= 0 {
        let _ = write!(out, "{v}");
        for _ in 0..(-scale) {
            out.push(b'0');
        }
        return;
    }
    let scale = scale as usize;
    let digits = v.unsigned_abs().to_string();
    let mut s = String::new();
    if v < 0 {
        s.push('-');
    }
    if digits.len() <= scale {
        s.push_str("0.");
        s.push_str(&"0".repeat(scale - digits.len()));
        s.push_str(&digits);
    } else {
        let (int, frac) = digits.split_at(digits.len() - scale);
        let _ = write!(s, "{int}.{frac}");
    }
    out.extend_from_slice(s.as_bytes());
}

fn dict_key(keys: &dyn Array, i: usize) -> Option<usize> {
    let k = match keys.data_type() {
        DataType::Int8 => keys.as_primitive::<Int8Type>().value(i) as i64,
        DataType::Int16 => keys.as_primitive::<Int16Type>().value(i) as i64,
        DataType::Int32 => keys.as_primitive::<Int32Type>().value(i) as i64,
        DataType::Int64 => keys.as_primitive::<Int64Type>().value(i),
        DataType::UInt8 => keys.as_primitive::<UInt8Type>().value(i) as i64,
        DataType::UInt16 => keys.as_primitive::<UInt16Type>().value(i) as i64,
        DataType::UInt32 => keys.as_primitive::<UInt32Type>().value(i) as i64,
        DataType::UInt64 => keys.as_primitive::<UInt64Type>().value(i) as i64,
        _ => return None,
    };
    usize::try_from(k).ok()
}

/// Appends the text form of `a[i]`; false for null.
fn append_value(a: &dyn Array, i: usize, out: &mut Vec<u8>) -> std::result::Result<bool, String> {
    if a.is_null(i) {
        return Ok(false);
    }
    macro_rules! num {
        ($t:ty) => {{
            let _ = write!(out, "{}", a.as_primitive::<$t>().value(i));
        }};
    }
    match a.data_type() {
        DataType::Null => return Ok(false),
        DataType::Utf8 => out.extend_from_slice(a.as_string::<i32>().value(i).as_bytes()),
        DataType::LargeUtf8 => out.extend_from_slice(a.as_string::<i64>().value(i).as_bytes()),
        DataType::Utf8View => out.extend_from_slice(a.as_string_view().value(i).as_bytes()),
        DataType::Binary => out.extend_from_slice(a.as_binary::<i32>().value(i)),
        DataType::LargeBinary => out.extend_from_slice(a.as_binary::<i64>().value(i)),
        DataType::BinaryView => out.extend_from_slice(a.as_binary_view().value(i)),
        DataType::FixedSizeBinary(_) => out.extend_from_slice(a.as_fixed_size_binary().value(i)),
        DataType::Boolean => out.extend_from_slice(if a.as_boolean().value(i) {
            b"true"
        } else {
            b"false"
        }),
        DataType::Int8 => num!(Int8Type),
        DataType::Int16 => num!(Int16Type),
        DataType::Int32 => num!(Int32Type),
        DataType::Int64 => num!(Int64Type),
        DataType::UInt8 => num!(UInt8Type),
        DataType::UInt16 => num!(UInt16Type),
        DataType::UInt32 => num!(UInt32Type),
        DataType::UInt64 => num!(UInt64Type),
        DataType::Float32 => num!(Float32Type),
        DataType::Float64 => num!(Float64Type),
        DataType::Decimal128(_, scale) => {
            write_decimal(out, a.as_primitive::<Decimal128Type>().value(i), *scale)
        }
        DataType::Date32 => write_date(out, a.as_primitive::<Date32Type>().value(i) as i64),
        DataType::Date64 => {
            let ms = a.as_primitive::<Date64Type>().value(i);
            write_timestamp(out, ms, 1000, 3)
        }
        DataType::Timestamp(unit, _) => match unit {
            TimeUnit::Second => {
                write_timestamp(out, a.as_primitive::<TimestampSecondType>().value(i), 1, 0)
            }
            TimeUnit::Millisecond => write_timestamp(
                out,
                a.as_primitive::<TimestampMillisecondType>().value(i),
                1000,
                3,
            ),
            TimeUnit::Microsecond => write_timestamp(
                out,
                a.as_primitive::<TimestampMicrosecondType>().value(i),
                1_000_000,
                6,
            ),
            TimeUnit::Nanosecond => write_timestamp(
                out,
                a.as_primitive::<TimestampNanosecondType>().value(i),
                1_000_000_000,
                9,
            ),
        },
        DataType::Dictionary(_, _) => {
            let d = a
                .as_any_dictionary_opt()
                .ok_or_else(|| "malformed dictionary column".to_string())?;
            let k = dict_key(d.keys(), i).ok_or_else(|| "bad dictionary key".to_string())?;
            if k >= d.values().len() {
                return Err(format!("dictionary key {k} out of range"));
            }
            return append_value(d.values().as_ref(), k, out);
        }
        other => return Err(format!("unsupported Parquet column type {other}")),
    }
    Ok(true)
}

/// One row of a record batch.
struct RowFields<'a> {
    batch: &'a RecordBatch,
    row: usize,
}

impl Fields for RowFields<'_> {
    fn count(&self) -> usize {
        self.batch.num_columns()
    }
    fn append(&mut self, i: usize, out: &mut Vec<u8>) -> std::result::Result<bool, String> {
        match self.batch.columns().get(i) {
            Some(a) => append_value(a.as_ref(), self.row, out),
            None => Ok(false),
        }
    }
}

/// Reads every row of a Parquet file into `ctx`; only the fields in `used` are checked
/// for supported types.
pub fn read(
    file: &InputFile,
    used: &[usize],
    batch_rows: usize,
    ctx: &mut ReadCtx<'_>,
) -> Result<()> {
    let b = open(&file.path)?;
    for &i in used {
        if let Some(f) = b.schema().fields().get(i) {
            if !supported(f.data_type()) {
                return Err(Error::BadInput {
                    file: file.path.clone(),
                    reason: format!(
                        "column {} '{}' has type {}, which cannot be imported",
                        i + 1,
                        f.name(),
                        f.data_type()
                    ),
                });
            }
        }
    }
    let total_rows = b.metadata().file_metadata().num_rows().max(1) as u64;
    let reader = b
        .with_batch_size(batch_rows.max(1))
        .build()
        .map_err(|e| parquet_err(&file.path, e))?;
    let mut row_no: u64 = 0;
    for batch in reader {
        let batch = batch.map_err(|e| parquet_err(&file.path, e))?;
        for row in 0..batch.num_rows() {
            row_no += 1;
            let text = || {
                let mut out = Vec::new();
                let _ = out.write_all(&fields_to_text(&mut RowFields { batch: &batch, row }));
                out
            };
            ctx.record(&mut RowFields { batch: &batch, row }, row_no, &text)?;
        }
        ctx.progress(file.size.saturating_mul(row_no) / total_rows);
        if ctx.cancelled() {
            return Ok(());
        }
    }
    ctx.progress(file.size);
    ctx.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_times_and_decimals() {
        let mut out = Vec::new();
        write_date(&mut out, 0);
        out.push(b'|');
        write_date(&mut out, 19_723); // 2024-01-01
        out.push(b'|');
        write_timestamp(&mut out, 1_704_067_200_123, 1000, 3);
        out.push(b'|');
        write_timestamp(&mut out, -1, 1, 0);
        out.push(b'|');
        write_decimal(&mut out, -1234, 2);
        out.push(b'|');
        write_decimal(&mut out, 5, 3);
        out.push(b'|');
        write_decimal(&mut out, 7, -2);
        assert_eq!(
            String::from_utf8_lossy(&out),
            "1970-01-01|2024-01-01|2024-01-01 00:00:00.123|1969-12-31 23:59:59|-12.34|0.005|700"
        );
    }
}
