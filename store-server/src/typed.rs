//! Typed (Phoenix-like) tables: the SQL schema of a table — columns with SQL types,
//! NOT NULL, the primary key with ASC/DESC columns, the column → family mapping and
//! SALT_BUCKETS — kept in the catalog as an attribute of the [`TableDescriptor`], plus the
//! row codec that turns typed rows into a row key and cells and back.
//!
//! Layout, as Apache Phoenix writes it with `COLUMN_ENCODED_BYTES=0`: the primary key is
//! encoded into the row key with the order-preserving codecs of [`crate::rowkey`] (salted
//! tables prefix the salt byte); every other column is one cell whose qualifier is the
//! column's **readable name** (Phoenix ≥ 4.10 defaults to numeric encoded qualifiers; Basalt
//! does not), in family `fam` for a column declared `fam.col`, else in the default family
//! `0`. Every row also carries the empty marker cell `0:_0` (value `x`) so a row whose
//! other columns are all NULL still exists. Column names are stored as given after SQL
//! identifier normalisation (the SQL layer lower-cases unquoted names).
//!
//! Views over raw tables use the same schema type with `marker == false`; they are stored as
//! attributes of the raw table they map ([`VIEW_ATTRIBUTE_PREFIX`]).

use crate::codec::{Decoder, Encoder};
use crate::error::{Error, Result};
use crate::rowkey::{self, SortOrder, SqlType, Value};
use crate::schema::TableDescriptor;

pub use crate::rowkey::{decode_value, encode_value};

/// The descriptor attribute holding a typed table's schema.
pub const SCHEMA_ATTRIBUTE: &str = "basalt.sql.schema";
/// Prefix of the descriptor attributes holding views over a raw table (`prefix + view`).
pub const VIEW_ATTRIBUTE_PREFIX: &str = "basalt.sql.view.";
/// Phoenix's default column family.
pub const DEFAULT_FAMILY: &[u8] = b"0";
/// Qualifier of Phoenix's empty marker column.
pub const EMPTY_QUALIFIER: &[u8] = b"_0";
/// Value of the empty marker column (Phoenix's `EMPTY_COLUMN_VALUE`).
pub const EMPTY_VALUE: &[u8] = b"x";

/// One column of a typed table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ColumnDef {
    /// The SQL column name.
    pub name: String,
    /// Its SQL type.
    pub sql_type: SqlType,
    /// False for NOT NULL columns (primary-key columns of fixed width are always NOT NULL).
    pub nullable: bool,
    /// The family of a non-key column (`0` unless declared `fam.col`); empty for key columns.
    pub family: Vec<u8>,
    /// The qualifier of a non-key column (its name unless mapped by a view); empty for keys.
    pub qualifier: Vec<u8>,
}

impl ColumnDef {
    /// A non-key column in `family` whose qualifier is its name.
    pub fn new(name: &str, sql_type: SqlType, family: &[u8]) -> ColumnDef {
        ColumnDef {
            name: name.to_string(),
            sql_type,
            nullable: true,
            family: family.to_vec(),
            qualifier: name.as_bytes().to_vec(),
        }
    }

    /// A primary-key column (no family).
    pub fn key(name: &str, sql_type: SqlType) -> ColumnDef {
        ColumnDef {
            name: name.to_string(),
            sql_type,
            nullable: sql_type.fixed_width().is_none(),
            family: Vec::new(),
            qualifier: Vec::new(),
        }
    }
}

/// One primary-key column: an index into [`TypedSchema::columns`] and its sort order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyColumn {
    /// Index of the column in the table's column list.
    pub column: usize,
    /// ASC or DESC.
    pub order: SortOrder,
}

/// The SQL schema of a typed table (or of a view over a raw table).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TypedSchema {
    /// All columns in declaration order.
    pub columns: Vec<ColumnDef>,
    /// The primary key, in key order.
    pub primary_key: Vec<KeyColumn>,
    /// Number of salt buckets (1..=256), if salted.
    pub salt_buckets: Option<u16>,
    /// Whether rows carry (and writes add) the empty marker cell `0:_0`.
    pub marker: bool,
}

/// A typed row encoded for the store: its row key and one entry per non-key column
/// (`None` = NULL, i.e. delete/omit the cell), plus the marker cell if the schema has one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncodedRow {
    /// The (salted) row key.
    pub key: Vec<u8>,
    /// One cell per non-key column, and the marker cell last.
    pub cells: Vec<EncodedCell>,
}

/// One non-key cell of an [`EncodedRow`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncodedCell {
    /// Column family.
    pub family: Vec<u8>,
    /// Qualifier (the column name).
    pub qualifier: Vec<u8>,
    /// Encoded value; `None` for NULL (write nothing, or delete the column on update).
    pub value: Option<Vec<u8>>,
}

impl TypedSchema {
    /// Builds and validates a schema.
    pub fn new(
        columns: Vec<ColumnDef>,
        primary_key: Vec<KeyColumn>,
        salt_buckets: Option<u16>,
    ) -> Result<TypedSchema> {
        let s = TypedSchema {
            columns,
            primary_key,
            salt_buckets,
            marker: true,
        };
        s.validate()?;
        Ok(s)
    }

    /// Checks names, key columns and the salt bucket count.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::InvalidArgument(m));
        if self.primary_key.is_empty() {
            return bad("a typed table needs a PRIMARY KEY".into());
        }
        for (i, c) in self.columns.iter().enumerate() {
            if c.name.is_empty() {
                return bad("empty column name".into());
            }
            if self.columns[..i].iter().any(|o| o.name == c.name) {
                return bad(format!("duplicate column '{}'", c.name));
            }
        }
        let n = self.primary_key.len();
        for (pos, k) in self.primary_key.iter().enumerate() {
            let Some(c) = self.columns.get(k.column) else {
                return bad(format!("primary key refers to column #{}", k.column));
            };
            if self.primary_key[..pos].iter().any(|o| o.column == k.column) {
                return bad(format!(
                    "column '{}' appears twice in the primary key",
                    c.name
                ));
            }
            if c.sql_type == SqlType::Varbinary && (pos + 1 != n || k.order == SortOrder::Desc) {
                return bad(format!(
                    "VARBINARY key column '{}' must be the last primary key column and ASC",
                    c.name
                ));
            }
        }
        for (i, c) in self.columns.iter().enumerate() {
            if self.key_position(i).is_none() {
                if c.family.is_empty() || c.qualifier.is_empty() {
                    return bad(format!("column '{}' has no family/qualifier", c.name));
                }
                if self.marker && c.family == DEFAULT_FAMILY && c.qualifier == EMPTY_QUALIFIER {
                    return bad("column name _0 is reserved in family 0".into());
                }
            }
        }
        if let Some(b) = self.salt_buckets {
            if !(1..=256).contains(&b) {
                return bad(format!("SALT_BUCKETS must be 1..=256, got {b}"));
            }
        }
        Ok(())
    }

    /// Index of the column named `name`.
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// Position in the primary key of column `col`, if it is a key column.
    pub fn key_position(&self, col: usize) -> Option<usize> {
        self.primary_key.iter().position(|k| k.column == col)
    }

    /// The column families the table needs (sorted, unique; `0` when rows carry a marker).
    pub fn families(&self) -> Vec<Vec<u8>> {
        let mut f: Vec<Vec<u8>> = self
            .columns
            .iter()
            .enumerate()
            .filter(|(i, _)| self.key_position(*i).is_none())
            .map(|(_, c)| c.family.clone())
            .collect();
        if self.marker {
            f.push(DEFAULT_FAMILY.to_vec());
        }
        f.sort();
        f.dedup();
        f
    }

    /// Encodes the primary-key values (in key order) without the salt byte.
    pub fn encode_unsalted_key(&self, key_values: &[Value]) -> Result<Vec<u8>> {
        if key_values.len() != self.primary_key.len() {
            return Err(Error::InvalidArgument(format!(
                "expected {} primary key values, got {}",
                self.primary_key.len(),
                key_values.len()
            )));
        }
        let mut out = Vec::new();
        let n = self.primary_key.len();
        for (pos, (k, v)) in self.primary_key.iter().zip(key_values).enumerate() {
            let c = &self.columns[k.column];
            if v.is_null() && !c.nullable {
                return Err(Error::InvalidArgument(format!(
                    "primary key column '{}' cannot be NULL",
                    c.name
                )));
            }
            rowkey::encode_key_column(c.sql_type, k.order, v, pos + 1 == n, &mut out).map_err(
                |e| Error::InvalidArgument(format!("column '{}': {}", c.name, strip(e))),
            )?;
        }
        Ok(out)
    }

    /// Encodes the primary-key values (in key order) into the row key, salt byte included.
    pub fn encode_row_key(&self, key_values: &[Value]) -> Result<Vec<u8>> {
        let key = self.encode_unsalted_key(key_values)?;
        Ok(self.salt(key))
    }

    /// Prefixes the salt byte (if the table is salted) to an unsalted key.
    pub fn salt(&self, unsalted: Vec<u8>) -> Vec<u8> {
        match self.salt_buckets {
            Some(n) => {
                let mut k = Vec::with_capacity(unsalted.len() + 1);
                k.push(rowkey::salt_byte(&unsalted, n));
                k.extend_from_slice(&unsalted);
                k
            }
            None => unsalted,
        }
    }

    /// Decodes a row key into the primary-key values (in key order).
    pub fn decode_row_key(&self, key: &[u8]) -> Result<Vec<Value>> {
        let mut pos = usize::from(self.salt_buckets.is_some());
        let n = self.primary_key.len();
        let mut out = Vec::with_capacity(n);
        for (i, k) in self.primary_key.iter().enumerate() {
            let c = &self.columns[k.column];
            out.push(rowkey::decode_key_column(
                c.sql_type,
                k.order,
                key,
                &mut pos,
                i + 1 == n,
            )?);
        }
        Ok(out)
    }

    /// Encodes a full row given every column's value in declaration order.
    pub fn encode_row(&self, values: &[Value]) -> Result<EncodedRow> {
        if values.len() != self.columns.len() {
            return Err(Error::InvalidArgument(format!(
                "expected {} values, got {}",
                self.columns.len(),
                values.len()
            )));
        }
        let key_values: Vec<Value> = self
            .primary_key
            .iter()
            .map(|k| values[k.column].clone())
            .collect();
        let key = self.encode_row_key(&key_values)?;
        let mut cells = Vec::new();
        for (i, (c, v)) in self.columns.iter().zip(values).enumerate() {
            if self.key_position(i).is_some() {
                continue;
            }
            if v.is_null() && !c.nullable {
                return Err(Error::InvalidArgument(format!(
                    "column '{}' is NOT NULL",
                    c.name
                )));
            }
            let enc = encode_value(c.sql_type, v).map_err(|e| {
                Error::InvalidArgument(format!("column '{}': {}", c.name, strip(e)))
            })?;
            cells.push(EncodedCell {
                family: c.family.clone(),
                qualifier: c.qualifier.clone(),
                value: enc,
            });
        }
        if self.marker {
            cells.push(EncodedCell {
                family: DEFAULT_FAMILY.to_vec(),
                qualifier: EMPTY_QUALIFIER.to_vec(),
                value: Some(EMPTY_VALUE.to_vec()),
            });
        }
        Ok(EncodedRow { key, cells })
    }

    /// Split keys that pre-split a salted table on its salt byte (`[1]`, `[2]`, ...).
    pub fn salt_split_keys(&self) -> Vec<Vec<u8>> {
        match self.salt_buckets {
            Some(n) => (1..n).map(|b| vec![b as u8]).collect(),
            None => Vec::new(),
        }
    }

    /// Serialises the schema for the catalog.
    pub fn encode(&self) -> Vec<u8> {
        let mut e = Encoder::new();
        e.u8(1)
            .u32(u32::from(self.salt_buckets.unwrap_or(0)))
            .bool(self.marker)
            .u32(self.columns.len() as u32);
        for c in &self.columns {
            let (code, a, b) = c.sql_type.to_code();
            e.str(&c.name)
                .u8(code)
                .u32(a)
                .u32(b)
                .bool(c.nullable)
                .bytes(&c.family)
                .bytes(&c.qualifier);
        }
        e.u32(self.primary_key.len() as u32);
        for k in &self.primary_key {
            e.u32(k.column as u32).bool(k.order == SortOrder::Desc);
        }
        e.finish()
    }

    /// Decodes what [`TypedSchema::encode`] wrote; `what` names the source in errors.
    pub fn decode(buf: &[u8], what: &str) -> Result<TypedSchema> {
        let mut d = Decoder::new(buf, what);
        let version = d.u8()?;
        if version != 1 {
            return Err(Error::corrupt(
                what,
                0,
                format!("unknown schema version {version}"),
            ));
        }
        let salt = d.u32()?;
        let marker = d.bool()?;
        let n = d.u32()?;
        let mut columns = Vec::new();
        for _ in 0..n {
            let name = d.str()?;
            let code = d.u8()?;
            let a = d.u32()?;
            let b = d.u32()?;
            let sql_type = SqlType::from_code(code, a, b)
                .ok_or_else(|| Error::corrupt(what, 0, format!("unknown type code {code}")))?;
            let nullable = d.bool()?;
            let family = d.bytes()?.to_vec();
            let qualifier = d.bytes()?.to_vec();
            columns.push(ColumnDef {
                name,
                sql_type,
                nullable,
                family,
                qualifier,
            });
        }
        let k = d.u32()?;
        let mut primary_key = Vec::new();
        for _ in 0..k {
            let column = d.u32()? as usize;
            let desc = d.bool()?;
            primary_key.push(KeyColumn {
                column,
                order: if desc {
                    SortOrder::Desc
                } else {
                    SortOrder::Asc
                },
            });
        }
        d.expect_done()?;
        let s = TypedSchema {
            columns,
            primary_key,
            salt_buckets: u16::try_from(salt).ok().filter(|s| *s > 0),
            marker,
        };
        s.validate()
            .map_err(|e| Error::corrupt(what, 0, format!("invalid schema: {e}")))?;
        Ok(s)
    }

    /// Stores the schema in a table descriptor's attributes.
    pub fn attach(&self, desc: &mut TableDescriptor) {
        desc.attributes
            .insert(SCHEMA_ATTRIBUTE.to_string(), self.encode());
    }

    /// The typed schema of a table, if it has one.
    pub fn from_descriptor(desc: &TableDescriptor) -> Result<Option<TypedSchema>> {
        match desc.attributes.get(SCHEMA_ATTRIBUTE) {
            Some(b) => TypedSchema::decode(b, &format!("schema of table {}", desc.name)).map(Some),
            None => Ok(None),
        }
    }

    /// The views defined over a raw table: (view name, schema).
    pub fn views_of(desc: &TableDescriptor) -> Result<Vec<(String, TypedSchema)>> {
        let mut out = Vec::new();
        for (k, v) in &desc.attributes {
            if let Some(view) = k.strip_prefix(VIEW_ATTRIBUTE_PREFIX) {
                let s = TypedSchema::decode(v, &format!("view {view} over {}", desc.name))?;
                out.push((view.to_string(), s));
            }
        }
        Ok(out)
    }

    /// Parses one text field (e.g. a CSV cell) as a value of column `col`.
    pub fn parse_column(&self, col: usize, field: &str) -> Result<Value> {
        let c = self
            .columns
            .get(col)
            .ok_or_else(|| Error::InvalidArgument(format!("no column #{col}")))?;
        parse_field(c.sql_type, field)
            .map_err(|e| Error::InvalidArgument(format!("column '{}': {}", c.name, strip(e))))
    }
}

/// The message of an `InvalidArgument` without its prefix.
fn strip(e: Error) -> String {
    match e {
        Error::InvalidArgument(m) => m,
        other => other.to_string(),
    }
}

/// Parses a text field as a value of `ty` (for CSV import and literals): the empty string
/// is NULL; integers and floats in Rust syntax; DECIMAL rounded half away from zero to the
/// scale; BOOLEAN `true/false/t/f/1/0/yes/no`; DATE `YYYY-MM-DD` (a time part is ignored)
/// or epoch milliseconds; TIME `HH:MM:SS[.fff]`; TIMESTAMP ISO-8601
/// `YYYY-MM-DD[T ]HH:MM:SS[.fffffffff][Z|±HH:MM]` or epoch milliseconds; VARBINARY the
/// field's UTF-8 bytes.
pub fn parse_field(ty: SqlType, field: &str) -> Result<Value> {
    let s = field.trim();
    if s.is_empty() {
        return Ok(Value::Null);
    }
    let bad = || Error::InvalidArgument(format!("cannot parse '{field}' as {}", ty.sql_name()));
    Ok(match ty {
        SqlType::Varchar => Value::Str(field.to_string()),
        SqlType::Char(n) => {
            if field.len() > n as usize {
                return Err(Error::InvalidArgument(format!(
                    "'{field}' is longer than CHAR({n})"
                )));
            }
            Value::Str(field.trim_end_matches(' ').to_string())
        }
        SqlType::TinyInt => Value::I8(s.parse().map_err(|_| bad())?),
        SqlType::SmallInt => Value::I16(s.parse().map_err(|_| bad())?),
        SqlType::Integer => Value::I32(s.parse().map_err(|_| bad())?),
        SqlType::BigInt => Value::I64(s.parse().map_err(|_| bad())?),
        SqlType::Float => Value::F32(s.parse().map_err(|_| bad())?),
        SqlType::Double => Value::F64(s.parse().map_err(|_| bad())?),
        SqlType::Decimal { precision, scale } => {
            let v = parse_decimal(s, scale).ok_or_else(bad)?;
            if v.unsigned_abs() >= 10u128.pow(u32::from(precision)) {
                return Err(Error::InvalidArgument(format!(
                    "'{field}' exceeds {}",
                    ty.sql_name()
                )));
            }
            Value::Decimal(v)
        }
        SqlType::Boolean => match s.to_ascii_lowercase().as_str() {
            "true" | "t" | "1" | "yes" | "y" => Value::Bool(true),
            "false" | "f" | "0" | "no" | "n" => Value::Bool(false),
            _ => return Err(bad()),
        },
        SqlType::Date => {
            if let Ok(ms) = s.parse::<i64>() {
                Value::Date(ms.div_euclid(rowkey::MS_PER_DAY) as i32)
            } else {
                let d = s.get(..10).and_then(parse_date).ok_or_else(bad)?;
                Value::Date(d)
            }
        }
        SqlType::Time => Value::Time(parse_time(s).map(|(ms, _)| ms).ok_or_else(bad)?),
        SqlType::Timestamp => {
            if let Ok(ms) = s.parse::<i64>() {
                Value::Timestamp {
                    millis: ms,
                    nanos: 0,
                }
            } else {
                let (millis, nanos) = parse_timestamp(s).ok_or_else(bad)?;
                Value::Timestamp { millis, nanos }
            }
        }
        SqlType::Varbinary => Value::Bytes(field.as_bytes().to_vec()),
    })
}

/// Parses a decimal string into its unscaled value at `scale`, rounding half away from zero.
pub fn parse_decimal(s: &str, scale: u8) -> Option<i128> {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let (int, frac) = match body.split_once('.') {
        Some((i, f)) => (i, f),
        None => (body, ""),
    };
    if (int.is_empty() && frac.is_empty())
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let scale = usize::from(scale);
    let mut v: i128 = 0;
    for b in int.bytes() {
        v = v.checked_mul(10)?.checked_add(i128::from(b - b'0'))?;
    }
    let fb = frac.as_bytes();
    for i in 0..scale {
        let d = fb.get(i).map(|b| i128::from(b - b'0')).unwrap_or(0);
        v = v.checked_mul(10)?.checked_add(d)?;
    }
    if fb.get(scale).is_some_and(|b| *b >= b'5') {
        v = v.checked_add(1)?;
    }
    Some(if neg { -v } else { v })
}

/// Renders an unscaled decimal at `scale` (`1234`, 2 → `12.34`).
pub fn format_decimal(v: i128, scale: u8) -> String {
    if scale == 0 {
        return v.to_string();
    }
    let p = 10u128.pow(u32::from(scale));
    let a = v.unsigned_abs();
    format!(
        "{}{}.{:0width$}",
        if v < 0 { "-" } else { "" },
        a / p,
        a % p,
        width = usize::from(scale)
    )
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The (year, month, day) of a day number (inverse of [`days_from_civil`]).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn parse_date(s: &str) -> Option<i32> {
    let mut it = s.splitn(3, '-');
    let y: i64 = it.next()?.parse().ok()?;
    let m: u32 = it.next()?.parse().ok()?;
    let d: u32 = it.next()?.parse().ok()?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let days = days_from_civil(y, m, d);
    // Reject dates like 2023-02-30.
    (civil_from_days(days) == (y, m, d))
        .then_some(days)?
        .try_into()
        .ok()
}

/// Parses `HH:MM[:SS[.fffffffff]]` into (milliseconds of day, nanos inside the millisecond).
fn parse_time(s: &str) -> Option<(i64, u32)> {
    let mut it = s.splitn(3, ':');
    let h: i64 = it.next()?.parse().ok()?;
    let m: i64 = it.next()?.parse().ok()?;
    let (sec, frac) = match it.next() {
        Some(x) => match x.split_once('.') {
            Some((a, f)) => (a.parse::<i64>().ok()?, f),
            None => (x.parse::<i64>().ok()?, ""),
        },
        None => (0, ""),
    };
    if !(0..24).contains(&h) || !(0..60).contains(&m) || !(0..61).contains(&sec) {
        return None;
    }
    if frac.len() > 9 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut ns: i64 = 0;
    for i in 0..9 {
        ns = ns * 10
            + frac
                .as_bytes()
                .get(i)
                .map(|b| i64::from(b - b'0'))
                .unwrap_or(0);
    }
    let ms = ((h * 60 + m) * 60 + sec) * 1000 + ns / 1_000_000;
    Some((ms, (ns % 1_000_000) as u32))
}

fn parse_timestamp(s: &str) -> Option<(i64, u32)> {
    let date = parse_date(s.get(..10)?)?;
    let rest = s.get(10..)?;
    let rest = rest
        .strip_prefix('T')
        .or_else(|| rest.strip_prefix(' '))
        .unwrap_or(rest);
    if rest.is_empty() {
        return Some((i64::from(date) * rowkey::MS_PER_DAY, 0));
    }
    // Split off a zone designator.
    let (time, offset_ms) = if let Some(t) = rest.strip_suffix('Z') {
        (t, 0)
    } else if let Some(i) = rest.rfind(['+', '-']).filter(|&i| i >= 5) {
        let (t, z) = rest.split_at(i);
        let sign = if z.starts_with('-') { -1 } else { 1 };
        let z = &z[1..];
        let (hh, mm) = z
            .split_once(':')
            .unwrap_or((z.get(..2)?, z.get(2..).unwrap_or("0")));
        let off = hh.parse::<i64>().ok()? * 60 + mm.parse::<i64>().ok()?;
        (t, sign * off * 60_000)
    } else {
        (rest, 0)
    };
    let (ms, nanos) = parse_time(time)?;
    Some((i64::from(date) * rowkey::MS_PER_DAY + ms - offset_ms, nanos))
}

/// `YYYY-MM-DD` of a day number.
pub fn format_date(days: i32) -> String {
    let (y, m, d) = civil_from_days(i64::from(days));
    format!("{y:04}-{m:02}-{d:02}")
}

/// `HH:MM:SS.fff` of milliseconds since midnight.
pub fn format_time(ms: i64) -> String {
    let ms = ms.rem_euclid(rowkey::MS_PER_DAY);
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        ms / 3_600_000,
        ms / 60_000 % 60,
        ms / 1000 % 60,
        ms % 1000
    )
}

/// ISO-8601 rendering of a timestamp (UTC).
pub fn format_timestamp(millis: i64, nanos: u32) -> String {
    let days = millis.div_euclid(rowkey::MS_PER_DAY);
    let (y, m, d) = civil_from_days(days);
    let t = format_time(millis.rem_euclid(rowkey::MS_PER_DAY));
    if nanos == 0 {
        format!("{y:04}-{m:02}-{d:02} {t}")
    } else {
        format!("{y:04}-{m:02}-{d:02} {t}{nanos:06}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema() -> TypedSchema {
        let r = TypedSchema::new(
            vec![
                ColumnDef::key("host", SqlType::Varchar),
                ColumnDef::key("ts", SqlType::Timestamp),
                ColumnDef::new("cpu", SqlType::Double, DEFAULT_FAMILY),
                ColumnDef::new("note", SqlType::Varchar, b"x"),
            ],
            vec![
                KeyColumn {
                    column: 0,
                    order: SortOrder::Asc,
                },
                KeyColumn {
                    column: 1,
                    order: SortOrder::Desc,
                },
            ],
            Some(4),
        );
        match r {
            Ok(s) => s,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn schema_round_trips_through_the_descriptor() {
        let s = schema();
        let mut desc = TableDescriptor::new(
            crate::schema::TableName::parse("t").unwrap_or_else(|e| panic!("{e}")),
            vec![],
        );
        s.attach(&mut desc);
        let back = TableDescriptor::decode(&desc.encode(), "t")
            .and_then(|d| TypedSchema::from_descriptor(&d));
        assert_eq!(back.ok().flatten(), Some(s.clone()));
        assert_eq!(s.families(), vec![b"0".to_vec(), b"x".to_vec()]);
        assert_eq!(s.salt_split_keys(), vec![vec![1], vec![2], vec![3]]);
    }

    #[test]
    fn rows_encode_and_decode() {
        let s = schema();
        let vals = vec![
            Value::Str("h1".into()),
            Value::Timestamp {
                millis: 1_700_000_000_123,
                nanos: 456,
            },
            Value::F64(0.5),
            Value::Null,
        ];
        let row = s.encode_row(&vals).unwrap_or_else(|e| panic!("{e}"));
        // salt + "h1" + separator + 12-byte timestamp.
        assert_eq!(row.key.len(), 1 + 2 + 1 + 12);
        assert_eq!(row.key[0], rowkey::salt_byte(&row.key[1..], 4));
        let back = s.decode_row_key(&row.key).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, vec![vals[0].clone(), vals[1].clone()]);
        assert_eq!(row.cells.len(), 3);
        assert_eq!(row.cells[1].value, None);
        assert_eq!(row.cells[2].qualifier, EMPTY_QUALIFIER.to_vec());
        assert!(s.encode_row(&vals[..2]).is_err());
    }

    #[test]
    fn fields_parse() {
        let ts = parse_field(SqlType::Timestamp, "2024-02-29T12:34:56.789012345Z")
            .unwrap_or_else(|e| panic!("{e}"));
        let day = days_from_civil(2024, 2, 29);
        assert_eq!(
            ts,
            Value::Timestamp {
                millis: day * 86_400_000 + (12 * 3600 + 34 * 60 + 56) * 1000 + 789,
                nanos: 12_345
            }
        );
        assert_eq!(
            parse_field(SqlType::Timestamp, "1000").ok(),
            Some(Value::Timestamp {
                millis: 1000,
                nanos: 0
            })
        );
        assert_eq!(
            parse_field(SqlType::Timestamp, "1970-01-01T01:00:00+01:00").ok(),
            Some(Value::Timestamp {
                millis: 0,
                nanos: 0
            })
        );
        assert_eq!(parse_field(SqlType::Integer, "").ok(), Some(Value::Null));
        assert!(parse_field(SqlType::Integer, "x1").is_err());
        assert!(parse_field(SqlType::Date, "2023-02-30").is_err());
        let dec = SqlType::Decimal {
            precision: 5,
            scale: 2,
        };
        assert_eq!(
            parse_field(dec, "-12.345").ok(),
            Some(Value::Decimal(-1235))
        );
        assert!(parse_field(dec, "1000").is_err());
        assert_eq!(format_decimal(-1235, 2), "-12.35");
        assert_eq!(format_date(day as i32), "2024-02-29");
        for d in [-800_000i64, -1, 0, 59, 738_000] {
            let (y, m, dd) = civil_from_days(d);
            assert_eq!(days_from_civil(y, m, dd), d);
        }
    }
}
