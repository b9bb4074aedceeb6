//! Arrow columns built straight from the store's bytes: one [`ColumnBuilder`] per output
//! column of a scan, fed row by row with decoded cell values and primary-key columns.
//!
//! Scans used to decode every value into a [`Value`] (a `String` per VARCHAR, a `Vec` per
//! key column) and build the arrays from those; this appends into Arrow builders instead, so a
//! VARCHAR cell or an ASC key column costs no allocation. The decoding itself stays with
//! `store_server::rowkey` ([`decode_value`], [`decode_key_column`]); only the byte layout of ASC
//! key columns (fixed width = the value encoding; VARCHAR up to [`SEPARATOR`]) is read here, and
//! everything else — DESC columns, VARBINARY, DECIMAL (variable length), invalid bytes — goes
//! through those functions, so results and error messages are the same as theirs.

use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayBuilder, ArrayRef, BinaryBuilder, BooleanBuilder, Date32Builder, Decimal128Builder,
    Float32Builder, Float64Builder, Int16Builder, Int32Builder, Int64Builder, Int8Builder,
    StringViewBuilder, Time32MillisecondBuilder, TimestampNanosecondBuilder,
};
use store_server::rowkey::{decode_key_column, decode_value, SortOrder, SqlType, Value, SEPARATOR};
use store_server::typed::TypedSchema;

use crate::error::{Result, SqlError};
use crate::types::{MS_PER_DAY, NS_PER_MS};

/// An Arrow builder for one SQL type.
#[derive(Debug)]
pub enum ColumnBuilder {
    /// VARCHAR, CHAR (as string views: short values inline, no offsets to rebuild).
    Utf8(StringViewBuilder),
    /// VARBINARY.
    Binary(BinaryBuilder),
    /// TINYINT.
    Int8(Int8Builder),
    /// SMALLINT.
    Int16(Int16Builder),
    /// INTEGER.
    Int32(Int32Builder),
    /// BIGINT.
    Int64(Int64Builder),
    /// FLOAT.
    Float32(Float32Builder),
    /// DOUBLE.
    Float64(Float64Builder),
    /// BOOLEAN.
    Boolean(BooleanBuilder),
    /// DATE.
    Date32(Date32Builder),
    /// TIME.
    Time32(Time32MillisecondBuilder),
    /// TIMESTAMP (nanoseconds).
    Timestamp(TimestampNanosecondBuilder),
    /// DECIMAL(precision, scale).
    Decimal(Decimal128Builder, u8, i8),
}

impl ColumnBuilder {
    /// An empty builder for SQL type `ty` (the Arrow type of [`crate::types::arrow_type`]).
    pub fn new(ty: SqlType) -> ColumnBuilder {
        match ty {
            SqlType::Varchar | SqlType::Char(_) => ColumnBuilder::Utf8(StringViewBuilder::new()),
            SqlType::Varbinary => ColumnBuilder::Binary(BinaryBuilder::new()),
            SqlType::TinyInt => ColumnBuilder::Int8(Int8Builder::new()),
            SqlType::SmallInt => ColumnBuilder::Int16(Int16Builder::new()),
            SqlType::Integer => ColumnBuilder::Int32(Int32Builder::new()),
            SqlType::BigInt => ColumnBuilder::Int64(Int64Builder::new()),
            SqlType::Float => ColumnBuilder::Float32(Float32Builder::new()),
            SqlType::Double => ColumnBuilder::Float64(Float64Builder::new()),
            SqlType::Boolean => ColumnBuilder::Boolean(BooleanBuilder::new()),
            SqlType::Date => ColumnBuilder::Date32(Date32Builder::new()),
            SqlType::Time => ColumnBuilder::Time32(Time32MillisecondBuilder::new()),
            SqlType::Timestamp => ColumnBuilder::Timestamp(TimestampNanosecondBuilder::new()),
            SqlType::Decimal { precision, scale } => {
                ColumnBuilder::Decimal(Decimal128Builder::new(), precision, scale as i8)
            }
        }
    }

    /// Rows appended since the last [`ColumnBuilder::finish`].
    pub fn len(&self) -> usize {
        match self {
            ColumnBuilder::Utf8(b) => b.len(),
            ColumnBuilder::Binary(b) => b.len(),
            ColumnBuilder::Int8(b) => b.len(),
            ColumnBuilder::Int16(b) => b.len(),
            ColumnBuilder::Int32(b) => b.len(),
            ColumnBuilder::Int64(b) => b.len(),
            ColumnBuilder::Float32(b) => b.len(),
            ColumnBuilder::Float64(b) => b.len(),
            ColumnBuilder::Boolean(b) => b.len(),
            ColumnBuilder::Date32(b) => b.len(),
            ColumnBuilder::Time32(b) => b.len(),
            ColumnBuilder::Timestamp(b) => b.len(),
            ColumnBuilder::Decimal(b, ..) => b.len(),
        }
    }

    /// True if nothing was appended since the last [`ColumnBuilder::finish`].
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends a NULL.
    pub fn append_null(&mut self) {
        match self {
            ColumnBuilder::Utf8(b) => b.append_null(),
            ColumnBuilder::Binary(b) => b.append_null(),
            ColumnBuilder::Int8(b) => b.append_null(),
            ColumnBuilder::Int16(b) => b.append_null(),
            ColumnBuilder::Int32(b) => b.append_null(),
            ColumnBuilder::Int64(b) => b.append_null(),
            ColumnBuilder::Float32(b) => b.append_null(),
            ColumnBuilder::Float64(b) => b.append_null(),
            ColumnBuilder::Boolean(b) => b.append_null(),
            ColumnBuilder::Date32(b) => b.append_null(),
            ColumnBuilder::Time32(b) => b.append_null(),
            ColumnBuilder::Timestamp(b) => b.append_null(),
            ColumnBuilder::Decimal(b, ..) => b.append_null(),
        }
    }

    /// Appends a decoded value; a value of another type than the builder's is NULL.
    pub fn append_value(&mut self, v: &Value) {
        match (self, v) {
            (ColumnBuilder::Utf8(b), Value::Str(s)) => b.append_value(s),
            (ColumnBuilder::Binary(b), Value::Bytes(x)) => b.append_value(x),
            (ColumnBuilder::Int8(b), Value::I8(x)) => b.append_value(*x),
            (ColumnBuilder::Int16(b), Value::I16(x)) => b.append_value(*x),
            (ColumnBuilder::Int32(b), Value::I32(x)) => b.append_value(*x),
            (ColumnBuilder::Int64(b), Value::I64(x)) => b.append_value(*x),
            (ColumnBuilder::Float32(b), Value::F32(x)) => b.append_value(*x),
            (ColumnBuilder::Float64(b), Value::F64(x)) => b.append_value(*x),
            (ColumnBuilder::Boolean(b), Value::Bool(x)) => b.append_value(*x),
            (ColumnBuilder::Date32(b), Value::Date(x)) => b.append_value(*x),
            (ColumnBuilder::Time32(b), Value::Time(x)) => {
                b.append_value(i32::try_from(x.rem_euclid(MS_PER_DAY)).unwrap_or(0))
            }
            (ColumnBuilder::Timestamp(b), Value::Timestamp { millis, nanos }) => b.append_option(
                millis
                    .checked_mul(NS_PER_MS)
                    .and_then(|n| n.checked_add(i64::from(*nanos))),
            ),
            (ColumnBuilder::Decimal(b, ..), Value::Decimal(x)) => b.append_value(*x),
            (other, _) => other.append_null(),
        }
    }

    /// Appends a typed non-key cell value (as [`decode_value`] decodes it).
    pub fn append_cell(&mut self, ty: SqlType, bytes: &[u8]) -> Result<()> {
        match (&mut *self, ty) {
            (ColumnBuilder::Utf8(b), SqlType::Varchar) => match std::str::from_utf8(bytes) {
                Ok("") => b.append_null(),
                Ok(s) => b.append_value(s),
                Err(_) => {
                    return Err(decode_value(ty, bytes).err().map_or_else(
                        || SqlError::invalid("VARCHAR value is not valid UTF-8"),
                        SqlError::from,
                    ))
                }
            },
            (ColumnBuilder::Binary(b), SqlType::Varbinary) => {
                if bytes.is_empty() {
                    b.append_null()
                } else {
                    b.append_value(bytes)
                }
            }
            _ => {
                let v = decode_value(ty, bytes)?;
                self.append_value(&v);
            }
        }
        Ok(())
    }

    /// Appends a raw table's bytes: lossy UTF-8 text for VARCHAR, else the bytes.
    pub fn append_raw(&mut self, bytes: &[u8]) {
        match self {
            ColumnBuilder::Utf8(b) => b.append_value(String::from_utf8_lossy(bytes)),
            ColumnBuilder::Binary(b) => b.append_value(bytes),
            other => other.append_null(),
        }
    }

    /// The array of everything appended; the builder starts over empty.
    pub fn finish(&mut self) -> Result<ArrayRef> {
        Ok(match self {
            ColumnBuilder::Utf8(b) => Arc::new(b.finish()),
            ColumnBuilder::Binary(b) => Arc::new(b.finish()),
            ColumnBuilder::Int8(b) => Arc::new(b.finish()),
            ColumnBuilder::Int16(b) => Arc::new(b.finish()),
            ColumnBuilder::Int32(b) => Arc::new(b.finish()),
            ColumnBuilder::Int64(b) => Arc::new(b.finish()),
            ColumnBuilder::Float32(b) => Arc::new(b.finish()),
            ColumnBuilder::Float64(b) => Arc::new(b.finish()),
            ColumnBuilder::Boolean(b) => Arc::new(b.finish()),
            ColumnBuilder::Date32(b) => Arc::new(b.finish()),
            ColumnBuilder::Time32(b) => Arc::new(b.finish()),
            ColumnBuilder::Timestamp(b) => Arc::new(b.finish()),
            ColumnBuilder::Decimal(b, p, s) => {
                Arc::new(b.finish().with_precision_and_scale(*p, *s)?)
            }
        })
    }
}

/// Walks the primary-key columns of row keys, appending the wanted ones to builders.
#[derive(Debug)]
pub struct KeyDecoder {
    schema: Arc<TypedSchema>,
    /// Per key position, the output columns it feeds.
    targets: Vec<Vec<usize>>,
    /// Key positions up to the last wanted one (later columns need not be walked).
    walk: usize,
}

impl KeyDecoder {
    /// A decoder for `schema`'s keys; `wanted` lists (key position, output column) pairs.
    pub fn new(schema: Arc<TypedSchema>, wanted: &[(usize, usize)]) -> KeyDecoder {
        let n = schema.primary_key.len();
        let mut targets = vec![Vec::new(); n];
        for &(pos, out) in wanted {
            if let Some(t) = targets.get_mut(pos) {
                t.push(out);
            }
        }
        let walk = targets
            .iter()
            .rposition(|t| !t.is_empty())
            .map_or(0, |p| p + 1);
        KeyDecoder {
            schema,
            targets,
            walk,
        }
    }

    /// True if no key column is wanted.
    pub fn is_empty(&self) -> bool {
        self.walk == 0
    }

    /// Decodes `key` and appends each wanted key column to its builder(s).
    pub fn append(&self, key: &[u8], builders: &mut [ColumnBuilder]) -> Result<()> {
        let s = &*self.schema;
        let n = s.primary_key.len();
        let mut pos = usize::from(s.salt_buckets.is_some());
        for (i, k) in s.primary_key.iter().enumerate().take(self.walk) {
            let ty = s.columns[k.column].sql_type;
            let last = i + 1 == n;
            let rest = key.get(pos..).unwrap_or_default();
            let outs = &self.targets[i];
            match (k.order, ty.fixed_width(), ty) {
                // ASC fixed width: the key bytes are the value encoding.
                (SortOrder::Asc, Some(w), _) if rest.len() >= w => {
                    pos += w;
                    if !outs.is_empty() {
                        let v = decode_value(ty, &rest[..w])?;
                        for &o in outs {
                            builders[o].append_value(&v);
                        }
                    }
                }
                // ASC VARCHAR: the bytes up to the separator (or the end).
                (SortOrder::Asc, None, SqlType::Varchar) => {
                    let (body, used) = match (last, rest.iter().position(|&b| b == SEPARATOR)) {
                        (false, Some(i)) => (&rest[..i], i + 1),
                        _ => (rest, rest.len()),
                    };
                    let Ok(text) = std::str::from_utf8(body) else {
                        // The codec's own error (it rejects the same bytes).
                        let mut at = pos;
                        return Err(decode_key_column(ty, k.order, key, &mut at, last)
                            .err()
                            .map_or_else(
                                || SqlError::invalid("VARCHAR key column is not UTF-8"),
                                SqlError::from,
                            ));
                    };
                    pos += used;
                    for &o in outs {
                        if text.is_empty() {
                            builders[o].append_null();
                        } else if let ColumnBuilder::Utf8(b) = &mut builders[o] {
                            b.append_value(text);
                        } else {
                            builders[o].append_null();
                        }
                    }
                }
                // Everything else (DESC, VARBINARY, DECIMAL, short keys) through the key codec.
                _ => {
                    let v = decode_key_column(ty, k.order, key, &mut pos, last)?;
                    for &o in outs {
                        builders[o].append_value(&v);
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Array, AsArray};
    use datafusion::arrow::datatypes::{Float64Type, Int64Type};
    use store_server::typed::{ColumnDef, KeyColumn};

    fn schema(order: SortOrder, salt: Option<u16>) -> Arc<TypedSchema> {
        key_schema(
            [
                ("host", SqlType::Varchar),
                ("ts", SqlType::BigInt),
                ("name", SqlType::Varchar),
            ],
            order,
            salt,
        )
    }

    /// Three key columns, all in `order`, no other columns.
    fn key_schema(
        columns: [(&str, SqlType); 3],
        order: SortOrder,
        salt: Option<u16>,
    ) -> Arc<TypedSchema> {
        Arc::new(TypedSchema {
            columns: columns
                .into_iter()
                .map(|(name, ty)| ColumnDef::key(name, ty))
                .collect(),
            primary_key: vec![
                KeyColumn { column: 0, order },
                KeyColumn { column: 1, order },
                KeyColumn { column: 2, order },
            ],
            salt_buckets: salt,
            marker: true,
        })
    }

    #[test]
    fn keys_decode_like_the_key_codec() {
        for order in [SortOrder::Asc, SortOrder::Desc] {
            for salt in [None, Some(4)] {
                let s = schema(order, salt);
                let rows = [
                    vec![
                        Value::Str("web1".into()),
                        Value::I64(-5),
                        Value::Str("x".into()),
                    ],
                    vec![Value::Str("b".into()), Value::I64(i64::MAX), Value::Null],
                    vec![Value::Null, Value::I64(0), Value::Str("zz".into())],
                ];
                let mut builders = vec![
                    ColumnBuilder::new(SqlType::BigInt),
                    ColumnBuilder::new(SqlType::Varchar),
                    ColumnBuilder::new(SqlType::Varchar),
                ];
                let dec = KeyDecoder::new(s.clone(), &[(1, 0), (0, 1), (2, 2)]);
                for r in &rows {
                    let key = s.encode_row_key(r).unwrap();
                    assert_eq!(s.decode_row_key(&key).unwrap(), *r);
                    dec.append(&key, &mut builders).unwrap();
                }
                let ts = builders[0].finish().unwrap();
                let host = builders[1].finish().unwrap();
                let name = builders[2].finish().unwrap();
                let ts = ts.as_primitive::<Int64Type>();
                assert_eq!(ts.values().to_vec(), vec![-5, i64::MAX, 0]);
                let host = host.as_string_view();
                assert_eq!(host.value(0), "web1");
                assert_eq!(host.value(1), "b");
                assert!(host.is_null(2));
                let name = name.as_string_view();
                assert_eq!(name.value(0), "x");
                assert!(name.is_null(1), "{order:?} {salt:?}");
                assert_eq!(name.value(2), "zz");
            }
        }
    }

    /// DECIMAL key columns (variable length) decode in the middle and at the end of the
    /// key, ASC and DESC, NULL included.
    #[test]
    fn decimal_keys_decode() {
        use datafusion::arrow::datatypes::Decimal128Type;
        let dec = SqlType::Decimal {
            precision: 10,
            scale: 2,
        };
        for order in [SortOrder::Asc, SortOrder::Desc] {
            let s = key_schema(
                [("a", dec), ("b", SqlType::Varchar), ("c", dec)],
                order,
                None,
            );
            let rows = [
                [
                    Value::Decimal(150),
                    Value::Str("x".into()),
                    Value::Decimal(-1),
                ],
                [Value::Decimal(-10000), Value::Null, Value::Decimal(0)],
                [Value::Null, Value::Str("y".into()), Value::Null],
            ];
            let mut builders = vec![ColumnBuilder::new(dec), ColumnBuilder::new(dec)];
            let keys = KeyDecoder::new(s.clone(), &[(0, 0), (2, 1)]);
            for r in &rows {
                let key = s.encode_row_key(r).unwrap();
                assert_eq!(s.decode_row_key(&key).unwrap(), *r);
                keys.append(&key, &mut builders).unwrap();
            }
            let a = builders[0].finish().unwrap();
            let c = builders[1].finish().unwrap();
            let (a, c) = (
                a.as_primitive::<Decimal128Type>(),
                c.as_primitive::<Decimal128Type>(),
            );
            assert_eq!((a.value(0), a.value(1)), (150, -10000));
            assert!(a.is_null(2), "{order:?}");
            assert_eq!((c.value(0), c.value(1)), (-1, 0));
            assert!(c.is_null(2), "{order:?}");
        }
    }

    #[test]
    fn cells_decode_like_decode_value() {
        let mut b = ColumnBuilder::new(SqlType::Double);
        let enc = store_server::rowkey::encode_value(SqlType::Double, &Value::F64(2.5))
            .unwrap()
            .unwrap();
        b.append_cell(SqlType::Double, &enc).unwrap();
        b.append_null();
        assert!(b.append_cell(SqlType::Double, &[1, 2]).is_err());
        let a = b.finish().unwrap();
        assert_eq!(a.as_primitive::<Float64Type>().value(0), 2.5);
        assert!(a.is_null(1));

        let mut s = ColumnBuilder::new(SqlType::Varchar);
        s.append_cell(SqlType::Varchar, b"abc").unwrap();
        s.append_cell(SqlType::Varchar, b"").unwrap();
        assert!(s.append_cell(SqlType::Varchar, &[0xff, 0xfe]).is_err());
        let a = s.finish().unwrap();
        assert_eq!(a.as_string_view().value(0), "abc");
        assert!(a.is_null(1));
        assert!(s.is_empty());
    }
}
