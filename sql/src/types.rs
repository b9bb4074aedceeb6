//! SQL types and values ↔ Arrow: the Arrow type of each SQL type, and reading typed values
//! back out of Arrow arrays and DataFusion scalars (for UPSERT and key-range push-down).
//! Arrays are built from stored values by [`crate::columns`].

use datafusion::arrow::array::{
    Array, ArrayRef, BinaryArray, BooleanArray, Date32Array, Decimal128Array, Float32Array,
    Float64Array, Int16Array, Int32Array, Int64Array, Int8Array, StringViewArray,
    Time32MillisecondArray, TimestampNanosecondArray,
};
use datafusion::arrow::compute::{cast_with_options, CastOptions};
use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::common::ScalarValue;
use store_server::rowkey::{SqlType, Value};

use crate::error::{Result, SqlError};

/// Nanoseconds per millisecond (TIMESTAMP columns are nanoseconds in Arrow).
pub(crate) const NS_PER_MS: i64 = 1_000_000;
/// Milliseconds per day (TIME values are a time of day).
pub(crate) const MS_PER_DAY: i64 = 86_400_000;

/// The Arrow type a SQL column is exposed as. Strings are string views, as DataFusion reads
/// Parquet strings: grouping and comparing short values works on the inline bytes.
pub fn arrow_type(t: SqlType) -> DataType {
    match t {
        SqlType::Varchar | SqlType::Char(_) => DataType::Utf8View,
        SqlType::TinyInt => DataType::Int8,
        SqlType::SmallInt => DataType::Int16,
        SqlType::Integer => DataType::Int32,
        SqlType::BigInt => DataType::Int64,
        SqlType::Float => DataType::Float32,
        SqlType::Double => DataType::Float64,
        SqlType::Decimal { precision, scale } => DataType::Decimal128(precision, scale as i8),
        SqlType::Boolean => DataType::Boolean,
        SqlType::Date => DataType::Date32,
        SqlType::Time => DataType::Time32(TimeUnit::Millisecond),
        SqlType::Timestamp => DataType::Timestamp(TimeUnit::Nanosecond, None),
        SqlType::Varbinary => DataType::Binary,
    }
}

/// Casts `array` to SQL type `t` (strictly: overflow is an error, not NULL) and reads every
/// element as a [`Value`].
pub fn array_values(array: &ArrayRef, t: SqlType) -> Result<Vec<Value>> {
    let target = arrow_type(t);
    let opts = CastOptions {
        safe: false,
        ..CastOptions::default()
    };
    let a = if array.data_type() == &target {
        array.clone()
    } else {
        cast_with_options(array, &target, &opts)?
    };
    let n = a.len();
    let mut out = Vec::with_capacity(n);
    macro_rules! read {
        ($arr:ty, $x:ident => $e:expr) => {{
            let arr = a
                .as_any()
                .downcast_ref::<$arr>()
                .ok_or_else(|| SqlError::invalid(format!("cannot read {:?}", a.data_type())))?;
            for i in 0..n {
                out.push(if arr.is_null(i) {
                    Value::Null
                } else {
                    let $x = arr.value(i);
                    $e
                });
            }
        }};
    }
    match t {
        SqlType::Varchar => read!(StringViewArray, x => Value::Str(x.to_string())),
        SqlType::Char(_) => {
            read!(StringViewArray, x => Value::Str(x.trim_end_matches(' ').to_string()))
        }
        SqlType::TinyInt => read!(Int8Array, x => Value::I8(x)),
        SqlType::SmallInt => read!(Int16Array, x => Value::I16(x)),
        SqlType::Integer => read!(Int32Array, x => Value::I32(x)),
        SqlType::BigInt => read!(Int64Array, x => Value::I64(x)),
        SqlType::Float => read!(Float32Array, x => Value::F32(x)),
        SqlType::Double => read!(Float64Array, x => Value::F64(x)),
        SqlType::Boolean => read!(BooleanArray, x => Value::Bool(x)),
        SqlType::Date => read!(Date32Array, x => Value::Date(x)),
        SqlType::Time => read!(Time32MillisecondArray, x => Value::Time(i64::from(x))),
        SqlType::Timestamp => read!(TimestampNanosecondArray, x => Value::Timestamp {
            millis: x.div_euclid(NS_PER_MS),
            nanos: x.rem_euclid(NS_PER_MS) as u32,
        }),
        SqlType::Varbinary => read!(BinaryArray, x => Value::Bytes(x.to_vec())),
        SqlType::Decimal { .. } => read!(Decimal128Array, x => Value::Decimal(x)),
    }
    // Empty strings are NULL in Phoenix (and cannot be told apart in the key encoding).
    for v in &mut out {
        if matches!(v, Value::Str(s) if s.is_empty())
            || matches!(v, Value::Bytes(b) if b.is_empty())
        {
            *v = Value::Null;
        }
    }
    Ok(out)
}

/// Converts a literal to a value of SQL type `t`, only if the conversion is exact (the value
/// converts back to the same literal). `None` for NULL literals and inexact conversions.
pub fn scalar_to_value(s: &ScalarValue, t: SqlType) -> Option<Value> {
    if s.is_null() {
        return None;
    }
    let target = arrow_type(t);
    let cast = if s.data_type() == target {
        s.clone()
    } else {
        let c = s.cast_to(&target).ok()?;
        let back = c.cast_to(&s.data_type()).ok()?;
        if &back != s {
            return None;
        }
        c
    };
    let arr = cast.to_array().ok()?;
    let mut v = array_values(&arr, t).ok()?;
    match v.pop() {
        Some(Value::Null) | None => None,
        Some(v) => Some(v),
    }
}

/// Renders a value of SQL type `t` for EXPLAIN output.
pub fn render(v: &Value, t: SqlType) -> String {
    match (v, t) {
        (Value::Decimal(x), SqlType::Decimal { scale, .. }) => {
            store_server::typed::format_decimal(*x, scale)
        }
        _ => v.render(),
    }
}
