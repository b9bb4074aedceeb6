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
//! - DECIMAL(p,s): Phoenix's variable-length `PDecimal` form (byte for byte). The value is
//!   first normalised as Phoenix's `NumberUtil.normalize` does (trailing zeros stripped, so
//!   the scale may become negative: 100 is 1E+2; rounding to 38 digits never changes a
//!   DECIMAL(≤38) value). Zero is the single byte `0x80`. Otherwise an odd scale is made even
//!   by multiplying the unscaled value by 10, and the magnitude is written as base-100 digits
//!   `d1 d2 … dn` (most significant first, `d1` and `dn` non-zero) with the value equal to
//!   `d1.d2…dn × 100^E`. A positive value is the exponent byte `(E + 65) | 0x80` then each
//!   digit as `d + 1` (1..=100). A negative value is the exponent byte `!(E + 65 + 128) &
//!   0x7F` (= 62 − E), each digit as `101 − d` (2..=101), then the terminal byte 102 — unless
//!   that would make it longer than Phoenix's 21-byte maximum (38 digits at an odd scale),
//!   in which case the terminal byte is left off. The bytes sort as the values do, also
//!   when one is a prefix of another, and no byte is ever `0x00` or `0xFF` for DECIMAL(≤38),
//!   so as a key column it is variable length and separated like VARCHAR.
//! - VARCHAR: the UTF-8 bytes followed by a `0x00` separator unless it is the last key
//!   column (the same for DECIMAL); VARBINARY only as the last ASC key column (no separator
//!   is possible).
//! - DESC: every byte of the encoded value inverted; a variable-length DESC column is always
//!   followed by Phoenix's DESC separator `0xFF` (also when last), so that a value sorts
//!   after its own extensions, as DESC order requires.
//! - NULL: only variable-length key columns (VARCHAR, VARBINARY, DECIMAL) may be NULL; NULL
//!   is the empty string, so it sorts first ASC and last DESC (the exact reverse), as
//!   Phoenix's empty-bytes NULL does. Fixed-width key columns are NOT NULL.
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
    /// The width in bytes of fixed-width types, `None` for the variable-length VARCHAR,
    /// VARBINARY and DECIMAL (Phoenix's base-100 form is 1 to 21 bytes long).
    pub fn fixed_width(self) -> Option<usize> {
        Some(match self {
            SqlType::Varchar | SqlType::Varbinary | SqlType::Decimal { .. } => return None,
            SqlType::Char(n) => n as usize,
            SqlType::TinyInt | SqlType::Boolean => 1,
            SqlType::SmallInt => 2,
            SqlType::Integer | SqlType::Float => 4,
            SqlType::BigInt | SqlType::Double | SqlType::Date | SqlType::Time => 8,
            SqlType::Timestamp => 12,
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

/// Phoenix's `PDecimal` encoding of zero (`ZERO_BYTE`).
const DECIMAL_ZERO: u8 = 0x80;
/// Phoenix's `NEG_TERMINAL_BYTE`: ends a negative decimal (above every negative digit byte).
const DECIMAL_NEG_TERMINAL: u8 = 102;
/// Phoenix's `EXP_BYTE_OFFSET`: the bias of the base-100 exponent in the first byte.
const DECIMAL_EXP_OFFSET: i32 = 65;
/// Phoenix's `POS_DIGIT_OFFSET`: a positive value's base-100 digit `d` is the byte `d + 1`.
const DECIMAL_POS_DIGIT_OFFSET: u8 = 1;
/// Phoenix's `NEG_DIGIT_OFFSET`: a negative value's base-100 digit `d` is the byte `101 - d`.
const DECIMAL_NEG_DIGIT_OFFSET: u8 = 101;
/// Phoenix's `MAX_BIG_DECIMAL_BYTES`: the longest encoding (a negative value that would need
/// 22 bytes loses its terminal byte).
const DECIMAL_MAX_BYTES: usize = 21;

/// Appends Phoenix's `PDecimal` bytes (ASC) of `unscaled × 10^-scale` to `out`. The caller
/// has checked `|unscaled| < 10^38`.
///
/// Separator safety: for DECIMAL(≤38) the base-100 exponent `E` of a non-zero value lies in
/// -19..=18 (10^-38 ≤ |v| < 10^38), so the first byte is 174..=211 (positive) or 44..=81
/// (negative), zero is 0x80, digit bytes are 1..=101 and the terminal byte is 102. No byte is
/// ever 0x00 (the ASC key separator) or 0xFF (whose inversion, 0x00, would clash with the DESC
/// separator 0xFF), so a DECIMAL key column ends at the first separator byte.
fn encode_decimal(unscaled: i128, scale: u8, out: &mut Vec<u8>) {
    if unscaled == 0 {
        out.push(DECIMAL_ZERO);
        return;
    }
    let negative = unscaled < 0;
    // NumberUtil.normalize: strip trailing zeros (the scale may go negative). Rounding to 38
    // digits is a no-op here.
    let mut m = unscaled.unsigned_abs();
    let mut scale = i32::from(scale);
    while m.is_multiple_of(10) {
        m /= 10;
        scale -= 1;
    }
    // An odd scale: the lowest base-100 digit is the last decimal digit times ten, and the
    // scale becomes even. (Done on the digits, as 10 × m may not fit a u128.)
    let odd = scale.rem_euclid(2) == 1;
    if odd {
        scale += 1;
    }
    // Count the base-100 digits n.
    let mut n = 0usize;
    let mut rest = if odd { m / 10 } else { m };
    if odd {
        n += 1;
    }
    while rest != 0 {
        rest /= 100;
        n += 1;
    }
    // The value is d1.d2…dn × 100^e.
    let e = n as i32 - 1 - scale / 2;
    out.push(if negative {
        (!(e + DECIMAL_EXP_OFFSET + 128) & 0x7F) as u8
    } else {
        ((e + DECIMAL_EXP_OFFSET) | 0x80) as u8
    });
    let start = out.len();
    out.resize(start + n, 0);
    let digit = |d: u128| -> u8 {
        // d < 100, so the cast is exact.
        let d = d as u8;
        if negative {
            DECIMAL_NEG_DIGIT_OFFSET - d
        } else {
            d + DECIMAL_POS_DIGIT_OFFSET
        }
    };
    let mut i = start + n;
    if odd {
        i -= 1;
        out[i] = digit((m % 10) * 10);
        m /= 10;
    }
    while m != 0 {
        i -= 1;
        out[i] = digit(m % 100);
        m /= 100;
    }
    // Phoenix's length is 1 + n, plus the terminal byte for negative values; a 22-byte
    // negative value is cut to MAX_BIG_DECIMAL_BYTES by leaving the terminal byte off.
    if negative && n + 2 <= DECIMAL_MAX_BYTES {
        out.push(DECIMAL_NEG_TERMINAL);
    }
}

/// Appends the `PDecimal` encoding of a DECIMAL value, checking that it fits `ty`.
fn encode_decimal_value(ty: SqlType, v: &Value, out: &mut Vec<u8>) -> Result<()> {
    match (ty, v) {
        (SqlType::Decimal { precision, scale }, Value::Decimal(x)) => {
            if x.unsigned_abs() >= decimal_limit(precision) as u128 {
                return Err(Error::InvalidArgument(format!(
                    "decimal value (unscaled {x}) exceeds {}",
                    ty.sql_name()
                )));
            }
            encode_decimal(*x, scale, out);
            Ok(())
        }
        _ => Err(mismatch(ty, v)),
    }
}

/// Decodes Phoenix `PDecimal` bytes into the unscaled value at `ty`'s scale. Every byte is
/// XORed with `flip` first (0xFF reads a DESC column's inverted bytes in place). Any valid
/// encoding is accepted — also non-canonical ones with zero base-100 digits, which Phoenix's
/// decoder reads as their value — if the value fits the column: at most its scale after
/// trailing zeros are stripped and below `10^precision`. Malformed bytes and values that do
/// not fit are errors (the reason; the callers say where).
fn decode_decimal(ty: SqlType, b: &[u8], flip: u8) -> std::result::Result<i128, String> {
    let SqlType::Decimal { precision, scale } = ty else {
        return Err(format!("{} is not DECIMAL", ty.sql_name()));
    };
    let byte = |i: usize| b.get(i).map(|x| x ^ flip);
    let Some(first) = byte(0) else {
        return Err("empty DECIMAL encoding".into());
    };
    if b.len() == 1 && first == DECIMAL_ZERO {
        return Ok(0);
    }
    let negative = first & 0x80 == 0;
    let (e, end) = if negative {
        let end = if byte(b.len() - 1) == Some(DECIMAL_NEG_TERMINAL) {
            b.len() - 1
        } else {
            b.len()
        };
        // Inverse of `!(e + 65 + 128) & 0x7F` for a first byte below 0x80.
        (62 - i32::from(first), end)
    } else {
        (i32::from(first & 0x7F) - DECIMAL_EXP_OFFSET, b.len())
    };
    if end < 2 {
        return Err("a non-zero DECIMAL needs at least one digit byte".into());
    }
    // Base-100 digit i (1-based), validated.
    let digit = |i: usize| -> std::result::Result<u8, String> {
        let x = byte(i).unwrap_or(0);
        match negative {
            false if (1..=100).contains(&x) => Ok(x - DECIMAL_POS_DIGIT_OFFSET),
            true if (2..=101).contains(&x) => Ok(DECIMAL_NEG_DIGIT_OFFSET - x),
            _ => Err(format!(
                "byte {x:#04x} at {i} is not a {} DECIMAL digit",
                if negative { "negative" } else { "positive" }
            )),
        }
    };
    // Trailing zero digits do not change the value (digit i is worth 100^(e + 1 - i)), so
    // the digits taken are 1..=n, n the last non-zero one (all are validated).
    let mut n = 0;
    for i in 1..end {
        if digit(i)? != 0 {
            n = i;
        }
    }
    if n == 0 {
        return Ok(0);
    }
    let too_big = || format!("value does not fit {}", ty.sql_name());
    let too_precise = || format!("value has more than {scale} digits after the point");
    // magnitude = acc × 10^exp10; a last digit ending in 0 contributes only its tens digit,
    // so that 38 significant digits at an odd scale still fit a u128.
    let mut acc: u128 = 0;
    for i in 1..n {
        let d = u128::from(digit(i)?);
        acc = acc
            .checked_mul(100)
            .and_then(|a| a.checked_add(d))
            .ok_or_else(too_big)?;
    }
    let last = digit(n)?;
    let mut exp10 = 2 * (e - n as i32 + 1);
    acc = if last.is_multiple_of(10) {
        exp10 += 1;
        acc.checked_mul(10)
            .and_then(|a| a.checked_add(u128::from(last / 10)))
    } else {
        acc.checked_mul(100)
            .and_then(|a| a.checked_add(u128::from(last)))
    }
    .ok_or_else(too_big)?;
    // Rescale to the column's scale: multiply, or divide exactly (no digits may be lost).
    let shift = exp10 + i32::from(scale);
    let unscaled = if shift >= 0 {
        u32::try_from(shift)
            .ok()
            .and_then(|s| 10u128.checked_pow(s))
            .and_then(|p| acc.checked_mul(p))
            .ok_or_else(too_big)?
    } else {
        let p = u32::try_from(-shift)
            .ok()
            .and_then(|s| 10u128.checked_pow(s))
            .ok_or_else(too_precise)?;
        if !acc.is_multiple_of(p) {
            return Err(too_precise());
        }
        acc / p
    };
    if unscaled >= decimal_limit(precision) as u128 {
        return Err(too_big());
    }
    let v = i128::try_from(unscaled).map_err(|_| too_big())?;
    Ok(if negative { -v } else { v })
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
        SqlType::Varchar | SqlType::Varbinary | SqlType::Decimal { .. } => {
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
        (SqlType::Decimal { .. }, _) => encode_decimal_value(ty, v, &mut out)?,
        _ => encode_fixed(ty, v, &mut out)?,
    }
    Ok(Some(out))
}

/// Decodes a non-key cell value written by [`encode_value`] (or by Phoenix for the types
/// whose encodings match). An empty VARCHAR/VARBINARY/DECIMAL value is NULL, as in Phoenix.
pub fn decode_value(ty: SqlType, b: &[u8]) -> Result<Value> {
    match ty {
        SqlType::Decimal { .. } => Ok(if b.is_empty() {
            Value::Null
        } else {
            Value::Decimal(
                decode_decimal(ty, b, 0)
                    .map_err(|why| Error::corrupt(format!("{} value", ty.sql_name()), 0, why))?,
            )
        }),
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
        SqlType::Varchar | SqlType::Varbinary | SqlType::Decimal { .. } => {
            match (ty, v) {
                (_, Value::Null) => {}
                // No PDecimal byte is 0x00 or 0xFF (see `encode_decimal`): the separators
                // stay unambiguous.
                (SqlType::Decimal { .. }, _) => encode_decimal_value(ty, v, out)?,
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
            let (body, used) = match order {
                SortOrder::Asc if last => (rest, rest.len()),
                SortOrder::Asc => match rest.iter().position(|&b| b == SEPARATOR) {
                    Some(i) => (&rest[..i], i + 1),
                    // Phoenix drops trailing separators of NULL columns.
                    None => (rest, rest.len()),
                },
                SortOrder::Desc => match rest.iter().position(|&b| b == DESC_SEPARATOR) {
                    Some(i) => (&rest[..i], i + 1),
                    None => (rest, rest.len()),
                },
            };
            *pos += used;
            if body.is_empty() {
                return Ok(Value::Null);
            }
            let flip = if order == SortOrder::Desc { 0xFF } else { 0 };
            if let SqlType::Decimal { .. } = ty {
                return decode_decimal(ty, body, flip)
                    .map(Value::Decimal)
                    .map_err(|why| corrupt(format!("{} key column: {why}", ty.sql_name())));
            }
            let body: Vec<u8> = body.iter().map(|b| b ^ flip).collect();
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

    const DEC_10_2: SqlType = SqlType::Decimal {
        precision: 10,
        scale: 2,
    };

    /// The key-column bytes of a DECIMAL value.
    fn dec_key(ty: SqlType, order: SortOrder, unscaled: i128, last: bool) -> Vec<u8> {
        let mut out = Vec::new();
        let r = encode_key_column(ty, order, &Value::Decimal(unscaled), last, &mut out);
        assert!(r.is_ok(), "{r:?}");
        out
    }

    /// The last-column ASC key bytes (= the cell value bytes) of a DECIMAL value.
    fn dec_bytes(ty: SqlType, unscaled: i128) -> Vec<u8> {
        dec_key(ty, SortOrder::Asc, unscaled, true)
    }

    /// Phoenix's `PDecimal` bytes, derived by hand from `PDecimal.toBytes(Object)`:
    /// `NumberUtil.normalize` (stripTrailingZeros), `getLength` = (neg ? 2 : 1) +
    /// (precision + 1 + (scale odd ? 1 : 0)) / 2, then `PDataType.toBytes(v, result, 0, len)`:
    /// an odd scale makes the first (lowest) digit `(u % 10) * 10` (multiplyBy = 10); positive:
    /// `scale -= (len - 2) * 2`, exponent byte `(-(scale + expOffset) / 2 + 65) | 0x80`, digit
    /// bytes `d + 1`; negative: `scale -= (len - 3) * 2`, exponent byte
    /// `~(-(scale + expOffset) / 2 + 65 + 128) & 0x7F`, digit bytes `101 - d` (Java's
    /// remainder of a negative number is negative), terminal byte 102 last.
    #[test]
    fn decimal_reference_vectors() {
        let cases: [(i128, &[u8]); 10] = [
            // 0.00 -> signum 0 -> ZERO_BYTE.
            (0, &[0x80]),
            // 1.00 -> 1 (u=1, scale 0, precision 1); len = 1 + 2/2 = 2; scale 0;
            // exp = (0 + 65) | 0x80 = 0xC1; digit 1 -> 0x02.
            (100, &[0xC1, 0x02]),
            // -1 -> len = 2 + 1 = 3; scale -= 0; exp = ~(65 + 128) & 0x7F = ~0xC1 & 0x7F = 0x3E;
            // digit -1 -> -1 + 101 = 100 = 0x64; terminal 102 = 0x66.
            (-100, &[0x3E, 0x64, 0x66]),
            // 12.34 (u=1234, scale 2, precision 4); len = 1 + 5/2 = 3; scale = 2 - 2 = 0;
            // exp 0xC1; digits 1234 % 100 = 34 -> 35 = 0x23, then 12 -> 13 = 0x0D.
            (1234, &[0xC1, 0x0D, 0x23]),
            // -12.34: len = 2 + 2 = 4; scale = 2 - (4 - 3) * 2 = 0; exp 0x3E;
            // digits -34 -> 67 = 0x43, -12 -> 89 = 0x59; terminal 0x66.
            (-1234, &[0x3E, 0x59, 0x43, 0x66]),
            // 100.00 -> 1E+2 (u=1, scale -2, precision 1); len = 2; expOffset 0;
            // exp = (-(-2) / 2 + 65) | 0x80 = 66 | 0x80 = 0xC2; digit 1 -> 0x02.
            (10000, &[0xC2, 0x02]),
            // 0.01 (u=1, scale 2); len = 2; exp = (-2 / 2 + 65) | 0x80 = 0xC0; digit 0x02.
            (1, &[0xC0, 0x02]),
            // 1.50 -> 1.5 (u=15, scale 1 odd, precision 2); len = 1 + 4/2 = 3; expOffset 1;
            // scale = 1 - 2 = -1; exp = (-(-1 + 1) / 2 + 65) | 0x80 = 0xC1;
            // digits 15 % 10 = 5 -> 5 * 10 + 1 = 51 = 0x33, then 1 -> 0x02.
            (150, &[0xC1, 0x02, 0x33]),
            // -1.5: len = 2 + 2 = 4; scale = 1 - 2 = -1; exp 0x3E;
            // digits -5 -> -50 + 101 = 51 = 0x33, -1 -> 0x64; terminal 0x66.
            (-150, &[0x3E, 0x64, 0x33, 0x66]),
            // 12345678.9 (u=123456789, scale 1 odd, precision 9); len = 1 + 11/2 = 6;
            // scale = 1 - 8 = -7; exp = (-(-7 + 1) / 2 + 65) | 0x80 = 68 | 0x80 = 0xC4;
            // digits 9 * 10 -> 91 = 0x5B, 78 -> 0x4F, 56 -> 0x39, 34 -> 0x23, 12 -> 0x0D.
            (1_234_567_890, &[0xC4, 0x0D, 0x23, 0x39, 0x4F, 0x5B]),
        ];
        for (unscaled, want) in cases {
            let got = dec_bytes(DEC_10_2, unscaled);
            assert_eq!(got, want, "{unscaled}");
            assert_eq!(
                encode_value(DEC_10_2, &Value::Decimal(unscaled)).ok(),
                Some(Some(want.to_vec()))
            );
            assert_eq!(
                decode_value(DEC_10_2, want).ok(),
                Some(Value::Decimal(unscaled))
            );
            // DESC: inverted, then the DESC separator.
            let desc = dec_key(DEC_10_2, SortOrder::Desc, unscaled, false);
            let mut inv: Vec<u8> = want.iter().map(|b| !b).collect();
            inv.push(DESC_SEPARATOR);
            assert_eq!(desc, inv);
            let mut pos = 0;
            assert_eq!(
                decode_key_column(DEC_10_2, SortOrder::Desc, &desc, &mut pos, false).ok(),
                Some(Value::Decimal(unscaled))
            );
            assert_eq!(pos, desc.len());
        }
        // The same number at another column scale has the same bytes: 12.34 in DECIMAL(6,4).
        let d64 = SqlType::Decimal {
            precision: 6,
            scale: 4,
        };
        assert_eq!(dec_bytes(d64, 123_400), [0xC1, 0x0D, 0x23]);
        // 38 nines at scale 1, negative: precision 38, odd scale -> getLength = 2 + 40/2 = 22 >
        // MAX_BIG_DECIMAL_BYTES, so 21 bytes without the terminal byte. scale = 1 - (22 - 3) * 2
        // = -37; exp = ~(-(-37 + 1) / 2 + 193) & 0x7F = ~211 & 0x7F = 44 = 0x2C. Digits from
        // the end: first -9 (divideBy 10) -> -90 + 101 = 11 = 0x0B, then the 37 nines left
        // give eighteen -99 (-> 2) and a leading -9 (-> 92 = 0x5C): 20 digit bytes.
        let d38 = SqlType::Decimal {
            precision: 38,
            scale: 1,
        };
        let nines = 10i128.pow(38) - 1;
        let mut want = vec![0x2C, 0x5C];
        want.extend([0x02; 18]);
        want.push(0x0B);
        assert_eq!(dec_bytes(d38, -nines), want);
        assert_eq!(decode_value(d38, &want).ok(), Some(Value::Decimal(-nines)));
        // Positive: len = 1 + 40/2 = 21, exp = (18 + 65) | 0x80 = 0xD3; digits 9 -> 10,
        // eighteen 99 -> 100, 90 -> 91.
        let mut want = vec![0xD3, 10];
        want.extend([100; 18]);
        want.push(91);
        assert_eq!(dec_bytes(d38, nines), want);
        assert_eq!(decode_value(d38, &want).ok(), Some(Value::Decimal(nines)));
        // The smallest DECIMAL(38,38) value, 1E-38 (u=1, scale 38): len 2; scale = 38;
        // exp = (-38 / 2 + 65) | 0x80 = 46 | 0x80 = 0xAE; digit 1 -> 0x02.
        let tiny = SqlType::Decimal {
            precision: 38,
            scale: 38,
        };
        assert_eq!(dec_bytes(tiny, 1), [0xAE, 0x02]);
        assert_eq!(
            decode_value(tiny, &[0xAE, 0x02]).ok(),
            Some(Value::Decimal(1))
        );
        // 1E+37 in DECIMAL(38,0) (u=1, scale -37 odd): len = 1 + 3/2 = 2;
        // scale = -37; exp = (-(-37 + 1) / 2 + 65) | 0x80 = 83 | 0x80 = 0xD3; digit 1 * 10 -> 11.
        let whole = SqlType::Decimal {
            precision: 38,
            scale: 0,
        };
        assert_eq!(dec_bytes(whole, 10i128.pow(37)), [0xD3, 0x0B]);
    }

    #[test]
    fn decimal_decoding_checks_the_bytes_and_the_column() {
        let bad = |ty: SqlType, b: &[u8]| {
            let value = decode_value(ty, b);
            let mut pos = 0;
            let key = decode_key_column(ty, SortOrder::Asc, b, &mut pos, true);
            value.is_err() && key.is_err()
        };
        // Malformed: no digit, a digit byte out of range, a terminal byte on a positive.
        assert!(bad(DEC_10_2, &[0xC1]));
        assert!(bad(DEC_10_2, &[0x3E, 0x66]));
        assert!(bad(DEC_10_2, &[0xC1, 0x00]));
        assert!(bad(DEC_10_2, &[0xC1, 0x65]));
        assert!(bad(DEC_10_2, &[0xC1, 0x02, 0x66]));
        assert!(bad(DEC_10_2, &[0x3E, 0x01, 0x66]));
        assert!(bad(DEC_10_2, &[0x3E, 0x66, 0x64, 0x66]));
        // The old 16-byte form of 12.50 is not a PDecimal.
        let mut old = [0u8; 16];
        old[0] = 0x80;
        old[15] = 0xE2;
        old[14] = 0x04;
        assert!(bad(DEC_10_2, &old));
        // Valid PDecimal bytes of values that do not fit DECIMAL(10,2): 0.001 (three digits
        // after the point), 1E+10 (11 digits before it), 1E+200.
        assert!(bad(DEC_10_2, &[0xBF, 0x0B]));
        assert!(bad(DEC_10_2, &[0xC6, 0x02]));
        assert!(bad(DEC_10_2, &[0xFF, 0x02]));
        assert!(bad(DEC_10_2, &[0x00, 0x64, 0x66]));
        // Encoding checks the precision too.
        let mut out = Vec::new();
        let too_big = Value::Decimal(10i128.pow(10));
        assert!(encode_key_column(DEC_10_2, SortOrder::Asc, &too_big, true, &mut out).is_err());
        assert!(encode_value(DEC_10_2, &too_big).is_err());
        assert!(encode_value(DEC_10_2, &Value::I32(1)).is_err());
        // Accepted as Phoenix's decoder accepts them: a 1.0 written with a trailing zero
        // digit, and a negative without its terminal byte.
        assert_eq!(
            decode_value(DEC_10_2, &[0xC1, 0x02, 0x01]).ok(),
            Some(Value::Decimal(100))
        );
        assert_eq!(
            decode_value(DEC_10_2, &[0x3E, 0x64]).ok(),
            Some(Value::Decimal(-100))
        );
        // NULL: the empty value (an empty cell; an empty key column).
        assert_eq!(decode_value(DEC_10_2, &[]).ok(), Some(Value::Null));
        let mut k = Vec::new();
        let r = encode_key_column(DEC_10_2, SortOrder::Asc, &Value::Null, false, &mut k);
        assert!(r.is_ok());
        assert_eq!(k, [SEPARATOR]);
        assert_eq!(DEC_10_2.fixed_width(), None);
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

        /// Asserts that the keys of `va` and `vb` over `cols` sort like the tuples (DESC
        /// columns reversed, NULL first) and that the first decodes back to its values.
        fn check_composite(
            cols: &[(SqlType, SortOrder)],
            va: &[Value],
            vb: &[Value],
        ) -> std::result::Result<(), TestCaseError> {
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
            for ((_, o), (x, y)) in cols.iter().zip(va.iter().zip(vb)) {
                let c = x.sql_cmp(y).unwrap_or(Ordering::Equal);
                let c = if *o == SortOrder::Desc {
                    c.reverse()
                } else {
                    c
                };
                if c != Ordering::Equal {
                    want = c;
                    break;
                }
            }
            let (ka, kb) = (key(va), key(vb));
            prop_assert_eq!(ka.cmp(&kb), want, "{:?} vs {:?}", va, vb);
            let mut pos = 0;
            let mut back = Vec::new();
            for (i, (ty, o)) in cols.iter().enumerate() {
                back.push(decode_key_column(*ty, *o, &ka, &mut pos, i + 1 == cols.len()).ok());
            }
            prop_assert_eq!(back, va.iter().cloned().map(Some).collect::<Vec<_>>());
            prop_assert_eq!(pos, ka.len());
            Ok(())
        }

        /// An independent derivation of Phoenix's `PDecimal` bytes from the decimal digits
        /// (not from its arithmetic): strip trailing zeros, pad the digit string with zeros
        /// so that base-100 pairs align on the decimal point, and write the pairs after the
        /// exponent of the leading pair.
        fn pdecimal_by_digits(unscaled: i128, scale: u8) -> Vec<u8> {
            if unscaled == 0 {
                return vec![0x80];
            }
            let negative = unscaled < 0;
            let mut digits = unscaled.unsigned_abs().to_string();
            let mut scale = i32::from(scale);
            while digits.ends_with('0') {
                digits.pop();
                scale -= 1;
            }
            // The power of ten of the leading digit; an even one is the low digit of a pair.
            let p = digits.len() as i32 - scale - 1;
            if p.rem_euclid(2) == 0 {
                digits.insert(0, '0');
            }
            if digits.len() % 2 == 1 {
                digits.push('0');
            }
            let e = p.div_euclid(2);
            let mut out = vec![if negative { 62 - e } else { 128 + 65 + e } as u8];
            for pair in digits.as_bytes().chunks(2) {
                let d = (pair[0] - b'0') * 10 + (pair[1] - b'0');
                out.push(if negative { 101 - d } else { d + 1 });
            }
            // The terminal byte, unless the value would exceed 21 bytes.
            if negative && out.len() < 21 {
                out.push(102);
            }
            out
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
                // NULL, zero, the extremes, any value, small ones, and values with trailing
                // zeros (which Phoenix strips, so their encodings are short).
                SqlType::Decimal { precision, .. } => {
                    let lim = 10i128.pow(u32::from(precision));
                    let zeros = u32::from(precision).saturating_sub(2);
                    prop_oneof![
                        Just(Value::Null),
                        Just(Value::Decimal(0)),
                        Just(Value::Decimal(lim - 1)),
                        Just(Value::Decimal(1 - lim)),
                        (1 - lim..lim).prop_map(Value::Decimal),
                        (-1000i128..1000).prop_map(Value::Decimal),
                        (-99i128..100, 0..=zeros)
                            .prop_map(|(x, k)| Value::Decimal(x * 10i128.pow(k))),
                    ]
                    .boxed()
                }
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

        const D10_2: SqlType = SqlType::Decimal {
            precision: 10,
            scale: 2,
        };
        const D38_11: SqlType = SqlType::Decimal {
            precision: 38,
            scale: 11,
        };
        const D20_3: SqlType = SqlType::Decimal {
            precision: 20,
            scale: 3,
        };
        const D5_5: SqlType = SqlType::Decimal {
            precision: 5,
            scale: 5,
        };

        const TYPES: [SqlType; 17] = [
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
            SqlType::Decimal {
                precision: 38,
                scale: 11,
            },
            SqlType::Decimal {
                precision: 38,
                scale: 0,
            },
            SqlType::Decimal {
                precision: 5,
                scale: 5,
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
                // DECIMAL values are Phoenix's bytes: they match the digit-string derivation,
                // equal the last ASC key bytes (so cell values sort too), are at most 21
                // bytes long and hold no separator byte.
                if let (SqlType::Decimal { scale, .. }, Value::Decimal(x)) = (ty, &a) {
                    let v = encode_value(ty, &a).ok().flatten().unwrap_or_default();
                    prop_assert_eq!(&v, &pdecimal_by_digits(*x, scale), "{}", x);
                    prop_assert_eq!(&v, &enc(ty, SortOrder::Asc, &a, true));
                    prop_assert!(v.len() <= 21);
                    prop_assert!(!v.contains(&SEPARATOR) && !v.contains(&DESC_SEPARATOR));
                }
            }

            /// Decoding arbitrary bytes as DECIMAL never panics, and whatever decodes
            /// re-encodes to bytes that decode to the same value.
            #[test]
            fn decimal_decoding_any_bytes(
                b in proptest::collection::vec(prop_oneof![Just(0x80u8), 40u8..110, 170u8..215, any::<u8>()], 0..24),
                t in 0usize..3,
            ) {
                let ty = [
                    SqlType::Decimal { precision: 38, scale: 0 },
                    SqlType::Decimal { precision: 38, scale: 38 },
                    SqlType::Decimal { precision: 10, scale: 2 },
                ][t];
                for order in [SortOrder::Asc, SortOrder::Desc] {
                    for last in [true, false] {
                        let mut pos = 0;
                        if let Ok(v) = decode_key_column(ty, order, &b, &mut pos, last) {
                            prop_assert!(pos <= b.len());
                            let again = enc(ty, order, &v, last);
                            let mut p2 = 0;
                            prop_assert_eq!(decode_key_column(ty, order, &again, &mut p2, last).ok(), Some(v));
                        }
                    }
                }
                if let Ok(v) = decode_value(ty, &b) {
                    if let Ok(Some(again)) = encode_value(ty, &v) {
                        prop_assert_eq!(decode_value(ty, &again).ok(), Some(v));
                    }
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
                check_composite(&cols, &[a.0, a.1, a.2, a.3, a.4], &[b.0, b.1, b.2, b.3, b.4])?;
            }

            /// Composite keys with variable-length DECIMAL columns followed by others
            /// (DECIMAL ASC, INTEGER ASC, DECIMAL DESC, VARCHAR ASC, DECIMAL ASC last) sort
            /// like the tuples, NULLs, zeros and trailing zeros included.
            #[test]
            fn composite_order_with_decimals(
                a in (values(D10_2), values(SqlType::Integer), values(D38_11), values(SqlType::Varchar), values(D20_3)),
                b in (values(D10_2), values(SqlType::Integer), values(D38_11), values(SqlType::Varchar), values(D20_3)),
            ) {
                let cols = [
                    (D10_2, SortOrder::Asc),
                    (SqlType::Integer, SortOrder::Asc),
                    (D38_11, SortOrder::Desc),
                    (SqlType::Varchar, SortOrder::Asc),
                    (D20_3, SortOrder::Asc),
                ];
                check_composite(&cols, &[a.0, a.1, a.2, a.3, a.4], &[b.0, b.1, b.2, b.3, b.4])?;
            }

            /// DECIMALs next to each other (DESC, ASC, DESC last); small values so that
            /// equal leading columns are common.
            #[test]
            fn composite_order_decimal_runs(
                a in (values(D5_5), values(D5_5), values(D10_2)),
                b in (values(D5_5), values(D5_5), values(D10_2)),
            ) {
                let cols = [
                    (D5_5, SortOrder::Desc),
                    (D5_5, SortOrder::Asc),
                    (D10_2, SortOrder::Desc),
                ];
                check_composite(&cols, &[a.0, a.1, a.2], &[b.0, b.1, b.2])?;
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
