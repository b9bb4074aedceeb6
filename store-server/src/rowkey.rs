//! Phoenix's order-preserving byte encodings of SQL values: how typed primary-key columns
//! become a row key (so encoded keys sort exactly as the values do) and how non-key column
//! values are stored in cells.
//!
//! Key encodings (Apache Phoenix's, per type):
//! - TINYINT/SMALLINT/INTEGER/BIGINT, DATE, TIME: big-endian with the sign bit flipped
//!   (DATE and TIME as 8-byte milliseconds, like Phoenix's `PLong` codec).
//! - FLOAT/DOUBLE: Phoenix's float encoding — IEEE bits, all bits flipped for negative
//!   numbers, only the sign bit for positive ones; NaN is canonicalised.
//! - TIMESTAMP: 12 bytes, milliseconds (sign-flipped big-endian) then the nanoseconds
//!   inside that millisecond as a big-endian `int`.
//! - BOOLEAN: one byte, 0 or 1. CHAR(n): the bytes padded with spaces to `n`.
//! - DECIMAL(p,s): **Basalt's own** fixed-width form — the unscaled value at the column's
//!   scale as a 16-byte sign-flipped big-endian `i128` (Phoenix uses a variable-length
//!   base-100 form; ours is simpler and equally order-preserving, not byte-compatible).
//! - VARCHAR: the UTF-8 bytes followed by a `0x00` separator unless it is the last key
//!   column; VARBINARY only as the last ASC key column (no separator is possible).
//! - DESC: every byte of the encoded value inverted; a variable-length DESC column is always
//!   followed by Phoenix's DESC separator `0xFF` (also when last), so that a value sorts
//!   after its own extensions, as DESC order requires.
//! - NULL: only variable-length key columns may be NULL; NULL is the empty string, so it
//!   sorts first ASC and last DESC (the exact reverse). Fixed-width key columns are NOT NULL.
//!
//! Value (non-key cell) encodings use the same ASC codecs without separators; a NULL value
//! is an absent cell. Salted tables prefix the key with [`salt_byte`].

use std::cmp::Ordering;

use crate::error::{Error, Result};

/// Separator after a variable-length ASC key column.
pub const SEPARATOR: u8 = 0x00;
/// Separator after a variable-length DESC key column (Phoenix's `DESC_SEPARATOR_BYTE`).
pub const DESC_SEPARATOR: u8 = 0xFF;
/// Milliseconds in a day (DATE values are stored as midnight UTC in milliseconds).
pub const MS_PER_DAY: i64 = 86_400_000;

/// A SQL column type of a typed table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SqlType {
    /// Variable-length UTF-8 string.
    Varchar,
    /// Fixed-length string of `n` bytes (space padded).
    Char(u32),
    /// 8-bit signed integer.
    TinyInt,
    /// 16-bit signed integer.
    SmallInt,
    /// 32-bit signed integer.
    Integer,
    /// 64-bit signed integer.
    BigInt,
    /// 32-bit IEEE float.
    Float,
    /// 64-bit IEEE float.
    Double,
    /// Exact decimal with `precision` digits, `scale` of them after the point.
    Decimal {
        /// Total digits (1..=38).
        precision: u8,
        /// Digits after the point (0..=precision).
        scale: u8,
    },
    /// true/false.
    Boolean,
    /// Calendar date (days since the epoch; stored as milliseconds at midnight UTC).
    Date,
    /// Time of day in milliseconds.
    Time,
    /// Timestamp with nanosecond precision.
    Timestamp,
    /// Variable-length bytes.
    Varbinary,
}

impl SqlType {
    /// The width in bytes of fixed-width types, `None` for VARCHAR and VARBINARY.
    pub fn fixed_width(self) -> Option<usize> {
        Some(match self {
            SqlType::Varchar | SqlType::Varbinary => return None,
            SqlType::Char(n) => n as usize,
            SqlType::TinyInt | SqlType::Boolean => 1,
            SqlType::SmallInt => 2,
            SqlType::Integer | SqlType::Float => 4,
            SqlType::BigInt | SqlType::Double | SqlType::Date | SqlType::Time => 8,
            SqlType::Timestamp => 12,
            SqlType::Decimal { .. } => 16,
        })
    }

    /// The SQL spelling (`DECIMAL(10,2)`, `CHAR(3)`, ...).
    pub fn sql_name(self) -> String {
        match self {
            SqlType::Varchar => "VARCHAR".into(),
            SqlType::Char(n) => format!("CHAR({n})"),
            SqlType::TinyInt => "TINYINT".into(),
            SqlType::SmallInt => "SMALLINT".into(),
            SqlType::Integer => "INTEGER".into(),
            SqlType::BigInt => "BIGINT".into(),
            SqlType::Float => "FLOAT".into(),
            SqlType::Double => "DOUBLE".into(),
            SqlType::Decimal { precision, scale } => format!("DECIMAL({precision},{scale})"),
            SqlType::Boolean => "BOOLEAN".into(),
            SqlType::Date => "DATE".into(),
            SqlType::Time => "TIME".into(),
            SqlType::Timestamp => "TIMESTAMP".into(),
            SqlType::Varbinary => "VARBINARY".into(),
        }
    }

    /// Parses a type name with optional arguments: `name` is the keyword (any case) and
    /// `args` the numbers in parentheses, if any.
    pub fn from_parts(name: &str, args: &[u32]) -> Result<SqlType> {
        let bad_args = || {
            Error::InvalidArgument(format!(
                "type {} does not take arguments {:?}",
                name.to_ascii_uppercase(),
                args
            ))
        };
        let upper = name.to_ascii_uppercase();
        let simple = |t: SqlType| {
            if args.is_empty() {
                Ok(t)
            } else {
                Err(bad_args())
            }
        };
        match upper.as_str() {
            // VARCHAR(n) is accepted; the length is not enforced.
            "VARCHAR" | "STRING" | "TEXT" => {
                if args.len() <= 1 {
                    Ok(SqlType::Varchar)
                } else {
                    Err(bad_args())
                }
            }
            "CHAR" => match args {
                [n] if *n >= 1 => Ok(SqlType::Char(*n)),
                [] => Ok(SqlType::Char(1)),
                _ => Err(bad_args()),
            },
            "TINYINT" => simple(SqlType::TinyInt),
            "SMALLINT" => simple(SqlType::SmallInt),
            "INTEGER" | "INT" => simple(SqlType::Integer),
            "BIGINT" => simple(SqlType::BigInt),
            "FLOAT" | "REAL" => simple(SqlType::Float),
            "DOUBLE" => simple(SqlType::Double),
            "DECIMAL" | "NUMERIC" => {
                let (precision, scale) = match args {
                    [] => (38, 10),
                    [p] => (*p, 0),
                    [p, s] => (*p, *s),
                    _ => return Err(bad_args()),
                };
                if !(1..=38).contains(&precision) || scale > precision {
                    return Err(Error::InvalidArgument(format!(
                        "DECIMAL({precision},{scale}): precision must be 1..=38 and scale <= precision"
                    )));
                }
                Ok(SqlType::Decimal {
                    precision: precision as u8,
                    scale: scale as u8,
                })
            }
            "BOOLEAN" => simple(SqlType::Boolean),
            "DATE" => simple(SqlType::Date),
            "TIME" => simple(SqlType::Time),
            "TIMESTAMP" => simple(SqlType::Timestamp),
            "VARBINARY" | "BINARY" => {
                if args.len() <= 1 {
                    Ok(SqlType::Varbinary)
                } else {
                    Err(bad_args())
                }
            }
            other => Err(Error::InvalidArgument(format!(
                "unknown SQL type '{other}'"
            ))),
        }
    }

    fn code(self) -> (u8, u32, u32) {
        match self {
            SqlType::Varchar => (1, 0, 0),
            SqlType::Char(n) => (2, n, 0),
            SqlType::TinyInt => (3, 0, 0),
            SqlType::SmallInt => (4, 0, 0),
            SqlType::Integer => (5, 0, 0),
            SqlType::BigInt => (6, 0, 0),
            SqlType::Float => (7, 0, 0),
            SqlType::Double => (8, 0, 0),
            SqlType::Decimal { precision, scale } => (9, precision as u32, scale as u32),
            SqlType::Boolean => (10, 0, 0),
            SqlType::Date => (11, 0, 0),
            SqlType::Time => (12, 0, 0),
            SqlType::Timestamp => (13, 0, 0),
            SqlType::Varbinary => (14, 0, 0),
        }
    }

    /// The catalog encoding: (type code, first argument, second argument).
    pub fn to_code(self) -> (u8, u32, u32) {
        self.code()
    }

    /// Inverse of [`SqlType::to_code`].
    pub fn from_code(code: u8, a: u32, b: u32) -> Option<SqlType> {
        Some(match code {
            1 => SqlType::Varchar,
            2 => SqlType::Char(a),
            3 => SqlType::TinyInt,
            4 => SqlType::SmallInt,
            5 => SqlType::Integer,
            6 => SqlType::BigInt,
            7 => SqlType::Float,
            8 => SqlType::Double,
            9 => SqlType::Decimal {
                precision: u8::try_from(a).ok()?,
                scale: u8::try_from(b).ok()?,
            },
            10 => SqlType::Boolean,
            11 => SqlType::Date,
            12 => SqlType::Time,
            13 => SqlType::Timestamp,
            14 => SqlType::Varbinary,
            _ => return None,
        })
    }
}

/// Sort order of a primary-key column.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum SortOrder {
    /// Ascending (the default).
    #[default]
    Asc,
    /// Descending: the encoded bytes are inverted.
    Desc,
}

/// A typed SQL value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// SQL NULL.
    Null,
    /// VARCHAR / CHAR.
    Str(String),
    /// TINYINT.
    I8(i8),
    /// SMALLINT.
    I16(i16),
    /// INTEGER.
    I32(i32),
    /// BIGINT.
    I64(i64),
    /// FLOAT.
    F32(f32),
    /// DOUBLE.
    F64(f64),
    /// DECIMAL: the unscaled value at the column's scale (`12.34` in DECIMAL(5,2) is 1234).
    Decimal(i128),
    /// BOOLEAN.
    Bool(bool),
    /// DATE: days since 1970-01-01.
    Date(i32),
    /// TIME: milliseconds since midnight.
    Time(i64),
    /// TIMESTAMP: milliseconds since the epoch plus nanoseconds inside that millisecond.
    Timestamp {
        /// Milliseconds since the epoch.
        millis: i64,
        /// Nanoseconds inside the millisecond (0..1_000_000).
        nanos: u32,
    },
    /// VARBINARY.
    Bytes(Vec<u8>),
}

impl Value {
    /// True for [`Value::Null`].
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// Compares two values of the same SQL type in SQL order (NULL first; floats by
    /// `total_cmp`); `None` if the variants differ.
    pub fn sql_cmp(&self, other: &Value) -> Option<Ordering> {
        use Value::*;
        Some(match (self, other) {
            (Null, Null) => Ordering::Equal,
            (Null, _) => Ordering::Less,
            (_, Null) => Ordering::Greater,
            (Str(a), Str(b)) => a.cmp(b),
            (I8(a), I8(b)) => a.cmp(b),
            (I16(a), I16(b)) => a.cmp(b),
            (I32(a), I32(b)) => a.cmp(b),
            (I64(a), I64(b)) => a.cmp(b),
            (F32(a), F32(b)) => a.total_cmp(b),
            (F64(a), F64(b)) => a.total_cmp(b),
            (Decimal(a), Decimal(b)) => a.cmp(b),
            (Bool(a), Bool(b)) => a.cmp(b),
            (Date(a), Date(b)) => a.cmp(b),
            (Time(a), Time(b)) => a.cmp(b),
            (
                Timestamp {
                    millis: a,
                    nanos: x,
                },
                Timestamp {
                    millis: b,
                    nanos: y,
                },
            ) => (a, x).cmp(&(b, y)),
            (Bytes(a), Bytes(b)) => a.cmp(b),
            _ => return None,
        })
    }

    /// A short SQL-literal rendering (for EXPLAIN and errors).
    pub fn render(&self) -> String {
        match self {
            Value::Null => "NULL".into(),
            Value::Str(s) => format!("'{}'", s.replace('\'', "''")),
            Value::I8(v) => v.to_string(),
            Value::I16(v) => v.to_string(),
            Value::I32(v) => v.to_string(),
            Value::I64(v) => v.to_string(),
            Value::F32(v) => v.to_string(),
            Value::F64(v) => v.to_string(),
            Value::Decimal(v) => format!("{v} (unscaled)"),
            Value::Bool(v) => v.to_string(),
            Value::Date(d) => format!("DATE {}", crate::typed::format_date(*d)),
            Value::Time(t) => format!("TIME {}", crate::typed::format_time(*t)),
            Value::Timestamp { millis, nanos } => {
                format!(
                    "TIMESTAMP {}",
                    crate::typed::format_timestamp(*millis, *nanos)
                )
            }
            Value::Bytes(b) => format!(
                "X'{}'",
                b.iter().map(|x| format!("{x:02X}")).collect::<String>()
            ),
        }
    }
}

fn mismatch(ty: SqlType, v: &Value) -> Error {
    Error::InvalidArgument(format!(
        "value {} does not fit type {}",
        v.render(),
        ty.sql_name()
    ))
}

fn flip_i64(v: i64) -> [u8; 8] {
    ((v as u64) ^ (1 << 63)).to_be_bytes()
}

fn unflip_i64(b: [u8; 8]) -> i64 {
    (u64::from_be_bytes(b) ^ (1 << 63)) as i64
}

/// Phoenix's float key encoding of the IEEE bits.
fn encode_f32(v: f32) -> [u8; 4] {
    let v = if v.is_nan() { f32::NAN } else { v };
    let i = v.to_bits() as i32;
    let i = i ^ ((i >> 31) | i32::MIN);
    (i as u32).to_be_bytes()
}

fn decode_f32(b: [u8; 4]) -> f32 {
    let i = u32::from_be_bytes(b) as i32;
    // Positive values had only the sign bit flipped (now set); negative ones had all bits.
    let i = if i < 0 { i ^ i32::MIN } else { !i };
    f32::from_bits(i as u32)
}

fn encode_f64(v: f64) -> [u8; 8] {
    let v = if v.is_nan() { f64::NAN } else { v };
    let i = v.to_bits() as i64;
    let i = i ^ ((i >> 63) | i64::MIN);
    (i as u64).to_be_bytes()
}

fn decode_f64(b: [u8; 8]) -> f64 {
    let i = u64::from_be_bytes(b) as i64;
    let i = if i < 0 { i ^ i64::MIN } else { !i };
    f64::from_bits(i as u64)
}

/// Largest unscaled magnitude + 1 for a precision.
fn decimal_limit(precision: u8) -> i128 {
    10i128.pow(u32::from(precision.min(38)))
}

/// Appends the fixed-width ASC encoding of a non-NULL value.
fn encode_fixed(ty: SqlType, v: &Value, out: &mut Vec<u8>) -> Result<()> {
    match (ty, v) {
        (SqlType::TinyInt, Value::I8(x)) => out.push((*x as u8) ^ 0x80),
        (SqlType::SmallInt, Value::I16(x)) => {
            out.extend_from_slice(&((*x as u16) ^ 0x8000).to_be_bytes())
        }
        (SqlType::Integer, Value::I32(x)) => {
            out.extend_from_slice(&((*x as u32) ^ 0x8000_0000).to_be_bytes())
        }
        (SqlType::BigInt, Value::I64(x)) => out.extend_from_slice(&flip_i64(*x)),
        (SqlType::Float, Value::F32(x)) => out.extend_from_slice(&encode_f32(*x)),
        (SqlType::Double, Value::F64(x)) => out.extend_from_slice(&encode_f64(*x)),
        (SqlType::Decimal { precision, .. }, Value::Decimal(x)) => {
            if x.unsigned_abs() >= decimal_limit(precision) as u128 {
                return Err(Error::InvalidArgument(format!(
                    "decimal value (unscaled {x}) exceeds {}",
                    ty.sql_name()
                )));
            }
            out.extend_from_slice(&((*x as u128) ^ (1 << 127)).to_be_bytes())
        }
        (SqlType::Boolean, Value::Bool(b)) => out.push(u8::from(*b)),
        (SqlType::Date, Value::Date(d)) => {
            out.extend_from_slice(&flip_i64(i64::from(*d) * MS_PER_DAY))
        }
        (SqlType::Time, Value::Time(t)) => out.extend_from_slice(&flip_i64(*t)),
        (SqlType::Timestamp, Value::Timestamp { millis, nanos }) => {
            if *nanos >= 1_000_000 {
                return Err(Error::InvalidArgument(format!(
                    "timestamp nanos-of-millisecond {nanos} out of range"
                )));
            }
            out.extend_from_slice(&flip_i64(*millis));
            out.extend_from_slice(&(*nanos as i32).to_be_bytes());
        }
        (SqlType::Char(n), Value::Str(s)) => {
            let n = n as usize;
            if s.len() > n {
                return Err(Error::InvalidArgument(format!(
                    "'{s}' is longer than CHAR({n})"
                )));
            }
            out.extend_from_slice(s.as_bytes());
            out.extend(std::iter::repeat_n(b' ', n - s.len()));
        }
        _ => return Err(mismatch(ty, v)),
    }
    Ok(())
}

fn take<const N: usize>(b: &[u8]) -> Result<[u8; N]> {
    b.get(..N)
        .and_then(|s| <[u8; N]>::try_from(s).ok())
        .ok_or_else(|| {
            Error::corrupt(
                "typed value",
                0,
                format!("need {N} bytes, have {}", b.len()),
            )
        })
}

/// Decodes a fixed-width ASC encoding (exactly `ty.fixed_width()` bytes).
fn decode_fixed(ty: SqlType, b: &[u8]) -> Result<Value> {
    Ok(match ty {
        SqlType::TinyInt => Value::I8((take::<1>(b)?[0] ^ 0x80) as i8),
        SqlType::SmallInt => Value::I16((u16::from_be_bytes(take(b)?) ^ 0x8000) as i16),
        SqlType::Integer => Value::I32((u32::from_be_bytes(take(b)?) ^ 0x8000_0000) as i32),
        SqlType::BigInt => Value::I64(unflip_i64(take(b)?)),
        SqlType::Float => Value::F32(decode_f32(take(b)?)),
        SqlType::Double => Value::F64(decode_f64(take(b)?)),
        SqlType::Decimal { .. } => {
            Value::Decimal((u128::from_be_bytes(take(b)?) ^ (1 << 127)) as i128)
        }
        SqlType::Boolean => Value::Bool(take::<1>(b)?[0] != 0),
        SqlType::Date => Value::Date(unflip_i64(take(b)?).div_euclid(MS_PER_DAY) as i32),
        SqlType::Time => Value::Time(unflip_i64(take(b)?)),
        SqlType::Timestamp => {
            let millis = unflip_i64(take(b)?);
            let nanos = i32::from_be_bytes(take(b.get(8..).unwrap_or_default())?);
            Value::Timestamp {
                millis,
                nanos: nanos.clamp(0, 999_999) as u32,
            }
        }
        SqlType::Char(n) => {
            let s = b.get(..n as usize).ok_or_else(|| {
                Error::corrupt("typed value", 0, format!("CHAR({n}) needs {n} bytes"))
            })?;
            let s = std::str::from_utf8(s)
                .map_err(|_| Error::corrupt("typed value", 0, "CHAR value is not UTF-8"))?;
            Value::Str(s.trim_end_matches(' ').to_string())
        }
        SqlType::Varchar | SqlType::Varbinary => {
            return Err(Error::InvalidArgument(format!(
                "{} is not fixed width",
                ty.sql_name()
            )))
        }
    })
}

/// Encodes a non-key column value; `None` for NULL (the cell is omitted).
pub fn encode_value(ty: SqlType, v: &Value) -> Result<Option<Vec<u8>>> {
    let mut out = Vec::new();
    match (ty, v) {
        (_, Value::Null) => return Ok(None),
        (SqlType::Varchar, Value::Str(s)) => out.extend_from_slice(s.as_bytes()),
        (SqlType::Varbinary, Value::Bytes(b)) => out.extend_from_slice(b),
        _ => encode_fixed(ty, v, &mut out)?,
    }
    Ok(Some(out))
}

/// Decodes a non-key cell value written by [`encode_value`] (or by Phoenix for the types
/// whose encodings match). An empty VARCHAR/VARBINARY value is NULL, as in Phoenix.
pub fn decode_value(ty: SqlType, b: &[u8]) -> Result<Value> {
    match ty {
        SqlType::Varchar => {
            if b.is_empty() {
                return Ok(Value::Null);
            }
            String::from_utf8(b.to_vec())
                .map(Value::Str)
                .map_err(|_| Error::corrupt("VARCHAR value", 0, "not valid UTF-8"))
        }
        SqlType::Varbinary => Ok(if b.is_empty() {
            Value::Null
        } else {
            Value::Bytes(b.to_vec())
        }),
        _ => {
            let w = ty.fixed_width().unwrap_or(0);
            if b.len() != w {
                return Err(Error::corrupt(
                    format!("{} value", ty.sql_name()),
                    0,
                    format!("expected {w} bytes, found {}", b.len()),
                ));
            }
            decode_fixed(ty, b)
        }
    }
}

/// Appends one primary-key column to a row key. `last` says whether it is the final key
/// column (an ASC variable-length last column gets no separator).
pub fn encode_key_column(
    ty: SqlType,
    order: SortOrder,
    v: &Value,
    last: bool,
    out: &mut Vec<u8>,
) -> Result<()> {
    let start = out.len();
    match ty {
        SqlType::Varchar | SqlType::Varbinary => {
            match (ty, v) {
                (_, Value::Null) => {}
                (SqlType::Varchar, Value::Str(s)) => {
                    if s.as_bytes().contains(&0) {
                        return Err(Error::InvalidArgument(
                            "a VARCHAR key value may not contain the NUL character".into(),
                        ));
                    }
                    out.extend_from_slice(s.as_bytes())
                }
                (SqlType::Varbinary, Value::Bytes(b)) => {
                    if !last || order == SortOrder::Desc {
                        return Err(Error::InvalidArgument(
                            "a VARBINARY key column must be the last one and ASC".into(),
                        ));
                    }
                    out.extend_from_slice(b)
                }
                _ => return Err(mismatch(ty, v)),
            }
            match order {
                SortOrder::Asc => {
                    if !last {
                        out.push(SEPARATOR)
                    }
                }
                SortOrder::Desc => {
                    invert(&mut out[start..]);
                    out.push(DESC_SEPARATOR);
                }
            }
        }
        _ => {
            if v.is_null() {
                return Err(Error::InvalidArgument(format!(
                    "a {} primary key column cannot be NULL",
                    ty.sql_name()
                )));
            }
            encode_fixed(ty, v, out)?;
            if order == SortOrder::Desc {
                invert(&mut out[start..]);
            }
        }
    }
    Ok(())
}

fn invert(b: &mut [u8]) {
    for x in b {
        *x = !*x;
    }
}

/// Decodes one primary-key column starting at `*pos`, advancing `*pos` past it (and its
/// separator). Inverse of [`encode_key_column`].
pub fn decode_key_column(
    ty: SqlType,
    order: SortOrder,
    key: &[u8],
    pos: &mut usize,
    last: bool,
) -> Result<Value> {
    let rest = key.get(*pos..).unwrap_or_default();
    let at = *pos as u64;
    let corrupt = move |why: String| Error::corrupt("row key", at, why);
    match ty.fixed_width() {
        Some(w) => {
            let mut b = rest
                .get(..w)
                .ok_or_else(|| corrupt(format!("{} needs {w} bytes", ty.sql_name())))?
                .to_vec();
            if order == SortOrder::Desc {
                invert(&mut b);
            }
            *pos += w;
            decode_fixed(ty, &b)
        }
        None => {
            let (mut body, used) = match order {
                SortOrder::Asc if last => (rest.to_vec(), rest.len()),
                SortOrder::Asc => match rest.iter().position(|&b| b == SEPARATOR) {
                    Some(i) => (rest[..i].to_vec(), i + 1),
                    // Phoenix drops trailing separators of NULL columns.
                    None => (rest.to_vec(), rest.len()),
                },
                SortOrder::Desc => match rest.iter().position(|&b| b == DESC_SEPARATOR) {
                    Some(i) => (rest[..i].to_vec(), i + 1),
                    None => (rest.to_vec(), rest.len()),
                },
            };
            if order == SortOrder::Desc {
                invert(&mut body);
            }
            *pos += used;
            if body.is_empty() {
                return Ok(Value::Null);
            }
            match ty {
                SqlType::Varbinary => Ok(Value::Bytes(body)),
                _ => String::from_utf8(body)
                    .map(Value::Str)
                    .map_err(|_| corrupt("VARCHAR key column is not UTF-8".into())),
            }
        }
    }
}

/// Phoenix's salt byte: Java's `Arrays.hashCode`-style `31*h + b` over the signed bytes of
/// the unsalted key (starting from 1), then `abs(h % buckets)`.
pub fn salt_byte(unsalted_key: &[u8], buckets: u16) -> u8 {
    let mut h: i32 = 1;
    for &b in unsalted_key {
        h = h.wrapping_mul(31).wrapping_add(i32::from(b as i8));
    }
    let n = i32::from(buckets.max(1));
    (h % n).unsigned_abs() as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_keys_flip_the_sign_bit() {
        let mut out = Vec::new();
        encode_key_column(
            SqlType::Integer,
            SortOrder::Asc,
            &Value::I32(1),
            true,
            &mut out,
        )
        .map_err(|e| e.to_string())
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(out, vec![0x80, 0, 0, 1]);
        let mut d = Vec::new();
        let r = encode_key_column(
            SqlType::Integer,
            SortOrder::Desc,
            &Value::I32(1),
            true,
            &mut d,
        );
        assert!(r.is_ok());
        assert_eq!(d, vec![0x7F, 0xFF, 0xFF, 0xFE]);
    }

    #[test]
    fn salt_matches_java_hash() {
        // Java: Arrays.hashCode(new byte[]{'a','b'}) = 31*(31*1+97)+98 = 4066; 4066 % 4 = 2.
        assert_eq!(salt_byte(b"ab", 4), 2);
        // A negative byte: hash = 31 + (-1) = 30 -> 30 % 7 = 2.
        assert_eq!(salt_byte(&[0xFF], 7), 2);
        // Hash overflowing to negative values still gives a bucket in range.
        let long = vec![0x80u8; 64];
        assert!(salt_byte(&long, 10) < 10);
    }

    #[test]
    fn nulls_and_separators() {
        let mut out = Vec::new();
        let ok = encode_key_column(
            SqlType::Varchar,
            SortOrder::Asc,
            &Value::Null,
            false,
            &mut out,
        );
        assert!(ok.is_ok());
        assert_eq!(out, vec![SEPARATOR]);
        assert!(encode_key_column(
            SqlType::BigInt,
            SortOrder::Asc,
            &Value::Null,
            true,
            &mut out
        )
        .is_err());
        assert!(encode_key_column(
            SqlType::Varchar,
            SortOrder::Asc,
            &Value::Str("a\0b".into()),
            true,
            &mut out
        )
        .is_err());
        assert!(decode_value(SqlType::Integer, &[1, 2]).is_err());
    }

    mod props {
        use super::super::*;
        use proptest::prelude::*;

        fn enc(ty: SqlType, order: SortOrder, v: &Value, last: bool) -> Vec<u8> {
            let mut out = Vec::new();
            match encode_key_column(ty, order, v, last, &mut out) {
                Ok(()) => out,
                Err(e) => panic!("encode {v:?} as {ty:?}: {e}"),
            }
        }

        /// Values of one type, chosen to exercise signs, prefixes and extremes.
        fn values(ty: SqlType) -> BoxedStrategy<Value> {
            match ty {
                SqlType::TinyInt => any::<i8>().prop_map(Value::I8).boxed(),
                SqlType::SmallInt => any::<i16>().prop_map(Value::I16).boxed(),
                SqlType::Integer => any::<i32>().prop_map(Value::I32).boxed(),
                SqlType::BigInt => any::<i64>().prop_map(Value::I64).boxed(),
                SqlType::Float => any::<f32>()
                    .prop_filter("no NaN payloads", |f| !f.is_nan())
                    .prop_map(Value::F32)
                    .boxed(),
                SqlType::Double => any::<f64>()
                    .prop_filter("no NaN payloads", |f| !f.is_nan())
                    .prop_map(Value::F64)
                    .boxed(),
                SqlType::Decimal { .. } => (-(10i128.pow(20)) + 1..10i128.pow(20))
                    .prop_map(Value::Decimal)
                    .boxed(),
                SqlType::Boolean => any::<bool>().prop_map(Value::Bool).boxed(),
                SqlType::Date => any::<i32>().prop_map(|d| Value::Date(d / 1000)).boxed(),
                SqlType::Time => (0i64..86_400_000).prop_map(Value::Time).boxed(),
                SqlType::Timestamp => (any::<i64>(), 0u32..1_000_000)
                    .prop_map(|(m, n)| Value::Timestamp {
                        millis: m / 2,
                        nanos: n,
                    })
                    .boxed(),
                SqlType::Char(_) => "[!-~]{0,4}".prop_map(Value::Str).boxed(),
                // Small alphabets make prefixes (and multi-byte UTF-8) common.
                SqlType::Varchar => prop_oneof![
                    Just(Value::Null),
                    "[ab\u{e9}\u{1F600}]{1,4}".prop_map(Value::Str)
                ]
                .boxed(),
                SqlType::Varbinary => prop_oneof![
                    Just(Value::Null),
                    proptest::collection::vec(any::<u8>(), 1..5).prop_map(Value::Bytes)
                ]
                .boxed(),
            }
        }

        const TYPES: [SqlType; 14] = [
            SqlType::TinyInt,
            SqlType::SmallInt,
            SqlType::Integer,
            SqlType::BigInt,
            SqlType::Float,
            SqlType::Double,
            SqlType::Decimal {
                precision: 20,
                scale: 3,
            },
            SqlType::Boolean,
            SqlType::Date,
            SqlType::Time,
            SqlType::Timestamp,
            SqlType::Char(4),
            SqlType::Varchar,
            SqlType::Varbinary,
        ];

        fn pair() -> impl Strategy<Value = (SqlType, Value, Value)> {
            (0..TYPES.len()).prop_flat_map(|i| {
                let ty = TYPES[i];
                (Just(ty), values(ty), values(ty))
            })
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(3000))]

            /// Encoded order equals value order for every type, ASC and DESC, as the
            /// last key column and (for types that allow it) in a middle position.
            #[test]
            fn single_column_order((ty, a, b) in pair()) {
                let want = a.sql_cmp(&b).unwrap_or(Ordering::Equal);
                for last in [true, false] {
                    if ty == SqlType::Varbinary && !last {
                        continue;
                    }
                    let (ea, eb) = (enc(ty, SortOrder::Asc, &a, last), enc(ty, SortOrder::Asc, &b, last));
                    prop_assert_eq!(ea.cmp(&eb), want, "ASC {:?} {:?} last={}", a, b, last);
                    if ty != SqlType::Varbinary {
                        let (da, db) = (enc(ty, SortOrder::Desc, &a, last), enc(ty, SortOrder::Desc, &b, last));
                        prop_assert_eq!(da.cmp(&db), want.reverse(), "DESC {:?} {:?}", a, b);
                        let mut pos = 0;
                        prop_assert_eq!(decode_key_column(ty, SortOrder::Desc, &da, &mut pos, last).ok(), Some(a.clone()));
                        prop_assert_eq!(pos, da.len());
                    }
                    let mut pos = 0;
                    prop_assert_eq!(decode_key_column(ty, SortOrder::Asc, &ea, &mut pos, last).ok(), Some(a.clone()));
                    prop_assert_eq!(pos, ea.len());
                }
                // Value encoding round-trips.
                if let Ok(Some(v)) = encode_value(ty, &a) {
                    prop_assert_eq!(decode_value(ty, &v).ok(), Some(a.clone()));
                }
            }

            /// Composite keys (VARCHAR ASC, INTEGER DESC, VARCHAR DESC, TIMESTAMP ASC,
            /// VARCHAR ASC last) sort like the tuples, NULLs included.
            #[test]
            fn composite_order(
                a in (values(SqlType::Varchar), values(SqlType::Integer), values(SqlType::Varchar), values(SqlType::Timestamp), values(SqlType::Varchar)),
                b in (values(SqlType::Varchar), values(SqlType::Integer), values(SqlType::Varchar), values(SqlType::Timestamp), values(SqlType::Varchar)),
            ) {
                let cols = [
                    (SqlType::Varchar, SortOrder::Asc),
                    (SqlType::Integer, SortOrder::Desc),
                    (SqlType::Varchar, SortOrder::Desc),
                    (SqlType::Timestamp, SortOrder::Asc),
                    (SqlType::Varchar, SortOrder::Asc),
                ];
                let va = [a.0, a.1, a.2, a.3, a.4];
                let vb = [b.0, b.1, b.2, b.3, b.4];
                let key = |v: &[Value]| {
                    let mut out = Vec::new();
                    for (i, ((ty, o), x)) in cols.iter().zip(v).enumerate() {
                        if let Err(e) = encode_key_column(*ty, *o, x, i + 1 == cols.len(), &mut out) {
                            panic!("{e}");
                        }
                    }
                    out
                };
                let mut want = Ordering::Equal;
                for ((_, o), (x, y)) in cols.iter().zip(va.iter().zip(&vb)) {
                    let c = x.sql_cmp(y).unwrap_or(Ordering::Equal);
                    let c = if *o == SortOrder::Desc { c.reverse() } else { c };
                    if c != Ordering::Equal {
                        want = c;
                        break;
                    }
                }
                let (ka, kb) = (key(&va), key(&vb));
                prop_assert_eq!(ka.cmp(&kb), want, "{:?} vs {:?}", va, vb);
                let mut pos = 0;
                let mut back = Vec::new();
                for (i, (ty, o)) in cols.iter().enumerate() {
                    back.push(decode_key_column(*ty, *o, &ka, &mut pos, i + 1 == cols.len()).ok());
                }
                prop_assert_eq!(back, va.iter().cloned().map(Some).collect::<Vec<_>>());
            }
        }

        #[test]
        fn nan_sorts_above_infinity() {
            let n = enc(SqlType::Double, SortOrder::Asc, &Value::F64(f64::NAN), true);
            let inf = enc(
                SqlType::Double,
                SortOrder::Asc,
                &Value::F64(f64::INFINITY),
                true,
            );
            assert!(n > inf);
        }
    }
}
