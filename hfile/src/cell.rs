//! The cell model: HBase's `KeyValue` key layout, cell types and the comparators.
//!
//! A serialized key is laid out exactly as HBase's `KeyValue` key:
//! `row length (u16) | row | family length (u8) | family | qualifier | timestamp (i64) | type (u8)`.

use std::cmp::Ordering;
use std::fmt;

use bytes::Bytes;

/// Largest row key HBase accepts (`Short.MAX_VALUE`).
pub const MAX_ROW_LENGTH: usize = i16::MAX as usize;
/// Largest family name HBase accepts (`Byte.MAX_VALUE`).
pub const MAX_FAMILY_LENGTH: usize = i8::MAX as usize;
/// The timestamp HBase uses for "latest" (`HConstants.LATEST_TIMESTAMP`).
pub const LATEST_TIMESTAMP: i64 = i64::MAX;
/// Bytes of a key that are not row, family or qualifier: row len, family len, ts, type.
pub const KEY_INFRASTRUCTURE_SIZE: usize = 2 + 1 + 8 + 1;

/// The type byte of a cell, with HBase's codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CellType {
    /// Sorts after every other type (used for "last on row" search keys).
    Minimum,
    /// A value.
    Put,
    /// Deletes one version of a column.
    Delete,
    /// Deletes one version (timestamp) across a whole family.
    DeleteFamilyVersion,
    /// Deletes all versions of a column at or below the timestamp.
    DeleteColumn,
    /// Deletes all columns of a family at or below the timestamp.
    DeleteFamily,
    /// Sorts before every other type (used for "first on row" search keys).
    Maximum,
}

impl CellType {
    /// The byte HBase stores for this type.
    pub fn code(self) -> u8 {
        match self {
            CellType::Minimum => 0,
            CellType::Put => 4,
            CellType::Delete => 8,
            CellType::DeleteFamilyVersion => 10,
            CellType::DeleteColumn => 12,
            CellType::DeleteFamily => 14,
            CellType::Maximum => 255,
        }
    }

    /// Parses HBase's type byte.
    pub fn from_code(code: u8) -> Option<CellType> {
        Some(match code {
            0 => CellType::Minimum,
            4 => CellType::Put,
            8 => CellType::Delete,
            10 => CellType::DeleteFamilyVersion,
            12 => CellType::DeleteColumn,
            14 => CellType::DeleteFamily,
            255 => CellType::Maximum,
            _ => return None,
        })
    }

    /// True for the four delete marker types.
    pub fn is_delete(self) -> bool {
        matches!(
            self,
            CellType::Delete
                | CellType::DeleteColumn
                | CellType::DeleteFamily
                | CellType::DeleteFamilyVersion
        )
    }

    /// The name HBase prints for this type.
    pub fn name(self) -> &'static str {
        match self {
            CellType::Minimum => "Minimum",
            CellType::Put => "Put",
            CellType::Delete => "Delete",
            CellType::DeleteFamilyVersion => "DeleteFamilyVersion",
            CellType::DeleteColumn => "DeleteColumn",
            CellType::DeleteFamily => "DeleteFamily",
            CellType::Maximum => "Maximum",
        }
    }
}

impl fmt::Display for CellType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Read access to the parts of a cell, implemented by owned [`Cell`]s and borrowed [`CellRef`]s.
pub trait CellView {
    /// Row key.
    fn row(&self) -> &[u8];
    /// Column family.
    fn family(&self) -> &[u8];
    /// Column qualifier.
    fn qualifier(&self) -> &[u8];
    /// Timestamp in milliseconds.
    fn timestamp(&self) -> i64;
    /// Raw type byte (see [`CellType::code`]).
    fn type_code(&self) -> u8;
    /// Value bytes.
    fn value(&self) -> &[u8];
    /// Serialized tags (HBase tag format), usually empty.
    fn tags(&self) -> &[u8];
    /// MVCC write number / sequence id (0 once it no longer matters).
    fn seq_id(&self) -> u64;

    /// The cell type, if the type byte is a known one.
    fn cell_type(&self) -> Option<CellType> {
        CellType::from_code(self.type_code())
    }

    /// Length of this cell's serialized key.
    fn key_len(&self) -> usize {
        KEY_INFRASTRUCTURE_SIZE + self.row().len() + self.family().len() + self.qualifier().len()
    }

    /// Appends this cell's key in `KeyValue` key format to `out`.
    fn write_key(&self, out: &mut Vec<u8>) {
        write_key(
            out,
            self.row(),
            self.family(),
            self.qualifier(),
            self.timestamp(),
            self.type_code(),
        );
    }

    /// This cell's key in `KeyValue` key format.
    fn key_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.key_len());
        self.write_key(&mut out);
        out
    }

    /// An owned copy of this cell.
    fn to_cell(&self) -> Cell {
        Cell {
            row: Bytes::copy_from_slice(self.row()),
            family: Bytes::copy_from_slice(self.family()),
            qualifier: Bytes::copy_from_slice(self.qualifier()),
            timestamp: self.timestamp(),
            type_code: self.type_code(),
            value: Bytes::copy_from_slice(self.value()),
            tags: Bytes::copy_from_slice(self.tags()),
            seq_id: self.seq_id(),
        }
    }
}

/// An owned cell: one versioned value (or delete marker) of one column of one row.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct Cell {
    /// Row key.
    pub row: Bytes,
    /// Column family.
    pub family: Bytes,
    /// Column qualifier.
    pub qualifier: Bytes,
    /// Timestamp in milliseconds.
    pub timestamp: i64,
    /// HBase type byte (see [`CellType::code`]).
    pub type_code: u8,
    /// Value.
    pub value: Bytes,
    /// Serialized tags.
    pub tags: Bytes,
    /// MVCC / sequence id.
    pub seq_id: u64,
}

impl Cell {
    /// A `Put` cell without tags and with sequence id 0.
    pub fn put(
        row: impl Into<Bytes>,
        family: impl Into<Bytes>,
        qualifier: impl Into<Bytes>,
        timestamp: i64,
        value: impl Into<Bytes>,
    ) -> Cell {
        Cell {
            row: row.into(),
            family: family.into(),
            qualifier: qualifier.into(),
            timestamp,
            type_code: CellType::Put.code(),
            value: value.into(),
            tags: Bytes::new(),
            seq_id: 0,
        }
    }

    /// A delete marker of type `kind` (value empty).
    pub fn delete(
        row: impl Into<Bytes>,
        family: impl Into<Bytes>,
        qualifier: impl Into<Bytes>,
        timestamp: i64,
        kind: CellType,
    ) -> Cell {
        Cell {
            row: row.into(),
            family: family.into(),
            qualifier: qualifier.into(),
            timestamp,
            type_code: kind.code(),
            value: Bytes::new(),
            tags: Bytes::new(),
            seq_id: 0,
        }
    }
}

impl CellView for Cell {
    fn row(&self) -> &[u8] {
        &self.row
    }
    fn family(&self) -> &[u8] {
        &self.family
    }
    fn qualifier(&self) -> &[u8] {
        &self.qualifier
    }
    fn timestamp(&self) -> i64 {
        self.timestamp
    }
    fn type_code(&self) -> u8 {
        self.type_code
    }
    fn value(&self) -> &[u8] {
        &self.value
    }
    fn tags(&self) -> &[u8] {
        &self.tags
    }
    fn seq_id(&self) -> u64 {
        self.seq_id
    }
}

/// A cell borrowed from a decoded block: a serialized key plus value, tags and sequence id.
///
/// The key must be well formed (see [`parse_key`]); readers validate keys before handing
/// out a `CellRef`.
#[derive(Clone, Copy, Debug)]
pub struct CellRef<'a> {
    key: &'a [u8],
    value: &'a [u8],
    tags: &'a [u8],
    seq_id: u64,
    row_len: u16,
    family_len: u8,
}

impl<'a> CellRef<'a> {
    /// Wraps a serialized key; returns `None` if the key is malformed.
    #[inline]
    pub fn new(key: &'a [u8], value: &'a [u8], tags: &'a [u8], seq_id: u64) -> Option<Self> {
        let (row_len, family_len) = parse_key(key)?;
        Some(CellRef {
            key,
            value,
            tags,
            seq_id,
            row_len,
            family_len,
        })
    }

    /// Wraps a key whose row and family lengths [`parse_key`] already returned.
    #[inline]
    pub(crate) fn parsed(
        key: &'a [u8],
        value: &'a [u8],
        tags: &'a [u8],
        seq_id: u64,
        (row_len, family_len): (u16, u8),
    ) -> Self {
        CellRef {
            key,
            value,
            tags,
            seq_id,
            row_len,
            family_len,
        }
    }

    /// The serialized `KeyValue` key.
    pub fn key(&self) -> &'a [u8] {
        self.key
    }

    fn qualifier_range(&self) -> (usize, usize) {
        let start = 2 + self.row_len as usize + 1 + self.family_len as usize;
        (start, self.key.len() - 9)
    }
}

impl CellView for CellRef<'_> {
    fn row(&self) -> &[u8] {
        &self.key[2..2 + self.row_len as usize]
    }
    fn family(&self) -> &[u8] {
        let start = 3 + self.row_len as usize;
        &self.key[start..start + self.family_len as usize]
    }
    fn qualifier(&self) -> &[u8] {
        let (s, e) = self.qualifier_range();
        &self.key[s..e]
    }
    fn timestamp(&self) -> i64 {
        let n = self.key.len();
        let mut ts = [0u8; 8];
        ts.copy_from_slice(&self.key[n - 9..n - 1]);
        i64::from_be_bytes(ts)
    }
    fn type_code(&self) -> u8 {
        self.key[self.key.len() - 1]
    }
    fn value(&self) -> &[u8] {
        self.value
    }
    fn tags(&self) -> &[u8] {
        self.tags
    }
    fn seq_id(&self) -> u64 {
        self.seq_id
    }
    fn key_len(&self) -> usize {
        self.key.len()
    }
    fn write_key(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.key);
    }
}

/// A cell whose parts are borrowed slices: one cheap view over owned [`Cell`]s and block
/// [`CellRef`]s alike, for merging cursors that must not copy what they only compare.
#[derive(Clone, Copy, Debug)]
pub struct CellSlices<'a> {
    /// Row key.
    pub row: &'a [u8],
    /// Column family.
    pub family: &'a [u8],
    /// Column qualifier.
    pub qualifier: &'a [u8],
    /// Timestamp in milliseconds.
    pub timestamp: i64,
    /// HBase type byte.
    pub type_code: u8,
    /// Value.
    pub value: &'a [u8],
    /// Serialized tags.
    pub tags: &'a [u8],
    /// MVCC / sequence id.
    pub seq_id: u64,
    /// The serialized `KeyValue` key when the cell came from one (a file block), so that
    /// writing it is one copy; empty otherwise. When not empty it must be the key of the
    /// parts above.
    pub key: &'a [u8],
}

impl<'a> CellSlices<'a> {
    /// A `Put` cell without tags.
    pub fn put(
        row: &'a [u8],
        family: &'a [u8],
        qualifier: &'a [u8],
        timestamp: i64,
        value: &'a [u8],
        seq_id: u64,
    ) -> Self {
        CellSlices {
            row,
            family,
            qualifier,
            timestamp,
            type_code: CellType::Put.code(),
            value,
            tags: &[],
            seq_id,
            key: &[],
        }
    }
}

impl<'a> From<&'a Cell> for CellSlices<'a> {
    fn from(c: &'a Cell) -> Self {
        CellSlices {
            row: &c.row,
            family: &c.family,
            qualifier: &c.qualifier,
            timestamp: c.timestamp,
            type_code: c.type_code,
            value: &c.value,
            tags: &c.tags,
            seq_id: c.seq_id,
            key: &[],
        }
    }
}

impl<'a> From<CellRef<'a>> for CellSlices<'a> {
    #[inline]
    fn from(c: CellRef<'a>) -> Self {
        let k = c.key;
        let fam = 3 + c.row_len as usize;
        let (qs, qe) = c.qualifier_range();
        let mut ts = [0u8; 8];
        ts.copy_from_slice(&k[k.len() - 9..k.len() - 1]);
        CellSlices {
            row: &k[2..2 + c.row_len as usize],
            family: &k[fam..fam + c.family_len as usize],
            qualifier: &k[qs..qe],
            timestamp: i64::from_be_bytes(ts),
            type_code: k[k.len() - 1],
            value: c.value,
            tags: c.tags,
            seq_id: c.seq_id,
            key: k,
        }
    }
}

impl CellView for CellSlices<'_> {
    fn row(&self) -> &[u8] {
        self.row
    }
    fn family(&self) -> &[u8] {
        self.family
    }
    fn qualifier(&self) -> &[u8] {
        self.qualifier
    }
    fn timestamp(&self) -> i64 {
        self.timestamp
    }
    fn type_code(&self) -> u8 {
        self.type_code
    }
    fn value(&self) -> &[u8] {
        self.value
    }
    fn tags(&self) -> &[u8] {
        self.tags
    }
    fn seq_id(&self) -> u64 {
        self.seq_id
    }
    #[inline]
    fn write_key(&self, out: &mut Vec<u8>) {
        if self.key.is_empty() {
            write_key(
                out,
                self.row,
                self.family,
                self.qualifier,
                self.timestamp,
                self.type_code,
            );
        } else {
            out.extend_from_slice(self.key);
        }
    }
}

/// Length of the common prefix of `a` and `b`, compared eight bytes at a time.
#[inline]
pub fn common_prefix_len(a: &[u8], b: &[u8]) -> usize {
    let n = a.len().min(b.len());
    let mut at = 0;
    while at + 8 <= n {
        let mut x = [0u8; 8];
        let mut y = [0u8; 8];
        x.copy_from_slice(&a[at..at + 8]);
        y.copy_from_slice(&b[at..at + 8]);
        let diff = u64::from_le_bytes(x) ^ u64::from_le_bytes(y);
        if diff != 0 {
            return at + (diff.trailing_zeros() / 8) as usize;
        }
        at += 8;
    }
    at + a[at..n]
        .iter()
        .zip(&b[at..n])
        .take_while(|(x, y)| x == y)
        .count()
}

/// `a.cmp(b)` for byte strings; those of at most eight bytes (most qualifiers) compared as
/// big-endian words in place instead of through the C library's `memcmp`.
#[inline]
pub fn compare_short(a: &[u8], b: &[u8]) -> Ordering {
    if a.len() > 8 || b.len() > 8 {
        return a.cmp(b);
    }
    // Shifted in byte by byte: a variable-length copy into a stack word is a `memcpy` call
    // whose byte stores then stall the word's load.
    let word = |s: &[u8]| {
        s.iter()
            .enumerate()
            .fold(0u64, |w, (i, &b)| w | (u64::from(b) << (56 - 8 * i)))
    };
    // Zero padding ties a string with its extensions by zero bytes: the length decides.
    word(a).cmp(&word(b)).then(a.len().cmp(&b.len()))
}

/// `a == b` for the short byte strings of keys (rows, families, qualifiers), compared in
/// place eight bytes at a time: the per-cell "same row? same column?" tests of scans cost
/// less than a call into the C library's `memcmp`, which `==` on slices becomes.
#[inline]
pub fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    let word = |s: &[u8], at: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&s[at..at + 8]);
        u64::from_ne_bytes(w)
    };
    let half = |s: &[u8], at: usize| {
        let mut w = [0u8; 4];
        w.copy_from_slice(&s[at..at + 4]);
        u32::from_ne_bytes(w)
    };
    // Short strings without a loop (one LLVM would turn back into a `memcmp` call):
    // two overlapping words cover 4..8 bytes; first, middle and last byte cover 1..3.
    if n < 4 {
        return n == 0 || (a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1]);
    }
    if n < 8 {
        return half(a, 0) == half(b, 0) && half(a, n - 4) == half(b, n - 4);
    }
    // Up to 32 bytes (most row keys) without a data-dependent loop: overlapping words
    // from both ends, all compared before one branch.
    let diff = |at: usize| word(a, at) ^ word(b, at);
    if n <= 16 {
        return diff(0) | diff(n - 8) == 0;
    }
    if n <= 32 {
        return diff(0) | diff(8) | diff(n - 16) | diff(n - 8) == 0;
    }
    let mut at = 0;
    while at + 8 < n {
        if word(a, at) != word(b, at) {
            return false;
        }
        at += 8;
    }
    // The last word ends at the last byte (it may overlap the one before).
    word(a, n - 8) == word(b, n - 8)
}

/// The row of a serialized key, or `None` if the key is malformed.
pub fn key_row(key: &[u8]) -> Option<&[u8]> {
    let (row_len, _) = parse_key(key)?;
    key.get(2..2 + usize::from(row_len))
}

/// Validates a serialized key and returns its (row length, family length).
pub fn parse_key(key: &[u8]) -> Option<(u16, u8)> {
    if key.len() < KEY_INFRASTRUCTURE_SIZE {
        return None;
    }
    let row_len = u16::from_be_bytes([key[0], key[1]]);
    let fam_pos = 2 + row_len as usize;
    if fam_pos + 1 + 9 > key.len() {
        return None;
    }
    let family_len = key[fam_pos];
    if fam_pos + 1 + family_len as usize + 9 > key.len() {
        return None;
    }
    Some((row_len, family_len))
}

/// Appends a `KeyValue` key built from its parts to `out`.
#[inline]
pub fn write_key(
    out: &mut Vec<u8>,
    row: &[u8],
    family: &[u8],
    qualifier: &[u8],
    timestamp: i64,
    type_code: u8,
) {
    out.extend_from_slice(&(row.len() as u16).to_be_bytes());
    out.extend_from_slice(row);
    out.push(family.len() as u8);
    out.extend_from_slice(family);
    out.extend_from_slice(qualifier);
    out.extend_from_slice(&timestamp.to_be_bytes());
    out.push(type_code);
}

/// Builds a `KeyValue` key from its parts.
pub fn make_key(
    row: &[u8],
    family: &[u8],
    qualifier: &[u8],
    timestamp: i64,
    kind: CellType,
) -> Vec<u8> {
    let mut out =
        Vec::with_capacity(KEY_INFRASTRUCTURE_SIZE + row.len() + family.len() + qualifier.len());
    write_key(&mut out, row, family, qualifier, timestamp, kind.code());
    out
}

/// The smallest key of `row`: every cell of the row sorts at or after it.
pub fn first_on_row(row: &[u8]) -> Vec<u8> {
    make_key(row, b"", b"", LATEST_TIMESTAMP, CellType::Maximum)
}

/// The smallest key of column `family:qualifier` in `row`.
pub fn first_on_column(row: &[u8], family: &[u8], qualifier: &[u8]) -> Vec<u8> {
    make_key(row, family, qualifier, LATEST_TIMESTAMP, CellType::Maximum)
}

/// A key sorting after every cell of `row` (HBase's "last on row").
pub fn last_on_row(row: &[u8]) -> Vec<u8> {
    make_key(row, b"", b"", i64::MIN, CellType::Minimum)
}

/// How the rows of a file are ordered; stored in the trailer by class name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Comparator {
    /// Plain unsigned byte order of rows (`KeyValue$KeyComparator` / `CellComparatorImpl`).
    #[default]
    Default,
    /// The catalog order `table,startkey,regionid` (`KeyValue$MetaKeyComparator`, also used
    /// for the 0.94 `-ROOT-` table).
    Meta,
    /// Raw byte order of whole keys (`KeyValue$RawBytesComparator`), used by Bloom indexes.
    RawBytes,
}

impl Comparator {
    /// The class name HBase writes for this comparator (HBase 1 compatible names, which
    /// HBase 2 translates on read).
    pub fn class_name(self) -> &'static str {
        match self {
            Comparator::Default => "org.apache.hadoop.hbase.KeyValue$KeyComparator",
            Comparator::Meta => "org.apache.hadoop.hbase.KeyValue$MetaKeyComparator",
            Comparator::RawBytes => "org.apache.hadoop.hbase.KeyValue$RawBytesComparator",
        }
    }

    /// Maps any class name HBase versions have written to a comparator.
    pub fn from_class_name(name: &str) -> Option<Comparator> {
        Some(match name {
            "org.apache.hadoop.hbase.KeyValue$KeyComparator"
            | "org.apache.hadoop.hbase.CellComparator"
            | "org.apache.hadoop.hbase.CellComparatorImpl"
            | "org.apache.hadoop.hbase.KeyValue$KVComparator" => Comparator::Default,
            "org.apache.hadoop.hbase.KeyValue$MetaKeyComparator"
            | "org.apache.hadoop.hbase.KeyValue$RootKeyComparator"
            | "org.apache.hadoop.hbase.CellComparatorImpl$MetaCellComparator"
            | "org.apache.hadoop.hbase.MetaCellComparator"
            | "org.apache.hadoop.hbase.KeyValue$MetaComparator" => Comparator::Meta,
            "org.apache.hadoop.hbase.KeyValue$RawBytesComparator"
            | "org.apache.hadoop.hbase.util.Bytes$ByteArrayComparator" => Comparator::RawBytes,
            _ => return None,
        })
    }

    /// Compares two rows.
    #[inline]
    pub fn compare_rows(self, a: &[u8], b: &[u8]) -> Ordering {
        match self {
            Comparator::Meta => compare_meta_rows(a, b),
            _ => a.cmp(b),
        }
    }

    /// Compares two serialized keys. Malformed keys compare by raw bytes.
    pub fn compare_keys(self, a: &[u8], b: &[u8]) -> Ordering {
        if self == Comparator::RawBytes {
            return a.cmp(b);
        }
        match (parse_key(a), parse_key(b)) {
            (Some((ar, af)), Some((br, bf))) => {
                let arow = &a[2..2 + ar as usize];
                let brow = &b[2..2 + br as usize];
                // Neighbouring keys (a writer's order check, a merge) mostly share the row.
                if !same_bytes(arow, brow) {
                    let ord = self.compare_rows(arow, brow);
                    if ord != Ordering::Equal {
                        return ord;
                    }
                }
                let a_rest = &a[2 + ar as usize..];
                let b_rest = &b[2 + br as usize..];
                compare_after_row(a_rest, af, b_rest, bf)
            }
            _ => a.cmp(b),
        }
    }

    /// Compares two cells.
    pub fn compare_cells<A: CellView + ?Sized, B: CellView + ?Sized>(
        self,
        a: &A,
        b: &B,
    ) -> Ordering {
        self.compare_rows(a.row(), b.row())
            .then_with(|| compare_columns_ts_type(a, b))
    }
}

/// Compares the family/qualifier/timestamp/type part of two cells of the same row.
fn compare_columns_ts_type<A: CellView + ?Sized, B: CellView + ?Sized>(a: &A, b: &B) -> Ordering {
    let a_last = a.family().is_empty() && a.qualifier().is_empty() && a.type_code() == 0;
    let b_last = b.family().is_empty() && b.qualifier().is_empty() && b.type_code() == 0;
    match (a_last, b_last) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Greater,
        (false, true) => return Ordering::Less,
        _ => {}
    }
    a.family()
        .cmp(b.family())
        .then_with(|| a.qualifier().cmp(b.qualifier()))
        .then_with(|| b.timestamp().cmp(&a.timestamp()))
        .then_with(|| b.type_code().cmp(&a.type_code()))
}

/// Compares `family len | family | qualifier | ts | type` tails of two keys.
fn compare_after_row(a: &[u8], af: u8, b: &[u8], bf: u8) -> Ordering {
    let a_type = a[a.len() - 1];
    let b_type = b[b.len() - 1];
    // Family + qualifier length is everything except the family-length byte, ts and type.
    let a_cols = a.len() - 1 - 9;
    let b_cols = b.len() - 1 - 9;
    let a_last = a_cols == 0 && a_type == 0;
    let b_last = b_cols == 0 && b_type == 0;
    match (a_last, b_last) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Greater,
        (false, true) => return Ordering::Less,
        _ => {}
    }
    let (af, bf) = (af as usize, bf as usize);
    let (a_fam, b_fam) = (&a[1..1 + af], &b[1..1 + bf]);
    if !same_bytes(a_fam, b_fam) {
        let ord = a_fam.cmp(b_fam);
        if ord != Ordering::Equal {
            return ord;
        }
    }
    let ord = compare_short(&a[1 + af..a.len() - 9], &b[1 + bf..b.len() - 9]);
    if ord != Ordering::Equal {
        return ord;
    }
    // Timestamps descending, then types descending.
    let ats = ts_of(a);
    let bts = ts_of(b);
    bts.cmp(&ats).then(b_type.cmp(&a_type))
}

/// Reads the timestamp of a key tail (`... | ts (8) | type (1)`).
fn ts_of(tail: &[u8]) -> i64 {
    let n = tail.len();
    let mut ts = [0u8; 8];
    ts.copy_from_slice(&tail[n - 9..n - 1]);
    i64::from_be_bytes(ts)
}

/// HBase's catalog row order: `table,startkey,regionid` compared part by part.
fn compare_meta_rows(a: &[u8], b: &[u8]) -> Ordering {
    let ad = a.iter().position(|&c| c == b',');
    let bd = b.iter().position(|&c| c == b',');
    let (ad, bd) = match (ad, bd) {
        (None, Some(_)) => return Ordering::Less,
        (Some(_), None) => return Ordering::Greater,
        (None, None) => return a.cmp(b),
        (Some(x), Some(y)) => (x, y),
    };
    let ord = a[..ad].cmp(&b[..bd]);
    if ord != Ordering::Equal {
        return ord;
    }
    let a_rest = &a[ad + 1..];
    let b_rest = &b[bd + 1..];
    let af = a_rest
        .iter()
        .rposition(|&c| c == b',')
        .unwrap_or(a_rest.len());
    let bf = b_rest
        .iter()
        .rposition(|&c| c == b',')
        .unwrap_or(b_rest.len());
    let ord = a_rest[..af].cmp(&b_rest[..bf]);
    if ord != Ordering::Equal {
        return ord;
    }
    let a_id = a_rest.get(af + 1..).unwrap_or(&[]);
    let b_id = b_rest.get(bf + 1..).unwrap_or(&[]);
    a_id.cmp(b_id)
}

/// Renders bytes the way the HBase shell does (`Bytes.toStringBinary`): printable ASCII
/// as is, everything else as `\xNN`.
pub fn to_string_binary(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len());
    for &b in bytes {
        if (b' '..=b'~').contains(&b) && b != b'\\' {
            s.push(b as char);
        } else {
            s.push_str(&format!("\\x{b:02X}"));
        }
    }
    s
}

/// Parses the `\xNN` notation of [`to_string_binary`] back into bytes.
pub fn from_string_binary(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() && b[i + 1] == b'x' {
            if let Some(v) = std::str::from_utf8(&b[i + 2..i + 4])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(v);
                i += 4;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

/// Renders a serialized key like HBase's `KeyValue.keyToString`: `row/family:qualifier/ts/Type`.
pub fn key_to_string(key: &[u8]) -> String {
    match CellRef::new(key, &[], &[], 0) {
        Some(c) => format!(
            "{}/{}:{}/{}/{}",
            to_string_binary(c.row()),
            to_string_binary(c.family()),
            to_string_binary(c.qualifier()),
            c.timestamp(),
            c.cell_type()
                .map(|t| t.name().to_string())
                .unwrap_or_else(|| format!("type{}", c.type_code()))
        ),
        None => to_string_binary(key),
    }
}

#[cfg(test)]
mod tests {
    use super::{common_prefix_len, compare_short, same_bytes};

    #[test]
    fn common_prefix_len_finds_the_first_difference() {
        let a: Vec<u8> = (1..=40u8).collect();
        for n in 0..a.len() {
            assert_eq!(common_prefix_len(&a[..n], &a), n);
            for at in 0..n {
                let mut b = a[..n].to_vec();
                b[at] ^= 0x40;
                assert_eq!(common_prefix_len(&a[..n], &b), at, "{n} {at}");
            }
        }
    }

    #[test]
    fn same_bytes_is_slice_equality() {
        let a: Vec<u8> = (0..40u8).collect();
        for n in 0..a.len() {
            let x = &a[..n];
            assert!(same_bytes(x, x), "{n}");
            assert!(!same_bytes(x, &a[..n + 1]), "{n}");
            for at in 0..n {
                let mut y = x.to_vec();
                y[at] ^= 0x80;
                assert!(!same_bytes(x, &y), "{n} bytes, differing at {at}");
            }
        }
    }

    /// Strings of up to ten bytes over {0, 1, 0xff} (every one up to three bytes, a sample
    /// of longer ones): the word comparison orders every pair as slices do.
    #[test]
    fn compare_short_is_slice_order() {
        let alphabet = [0u8, 1, 0xff];
        let mut strings: Vec<Vec<u8>> = Vec::new();
        let mut x = 1u64;
        for len in 0..=10usize {
            let count = if len <= 3 { 3usize.pow(len as u32) } else { 60 };
            for k in 0..count {
                let s: Vec<u8> = (0..len)
                    .map(|i| {
                        x = x
                            .wrapping_mul(6_364_136_223_846_793_005)
                            .wrapping_add(1442695040888963407);
                        let d = if len <= 3 {
                            k / 3usize.pow(i as u32)
                        } else {
                            (x >> 33) as usize
                        };
                        alphabet[d % 3]
                    })
                    .collect();
                strings.push(s);
            }
        }
        for a in &strings {
            for b in &strings {
                assert_eq!(compare_short(a, b), a.cmp(b), "{a:?} {b:?}");
            }
        }
    }
}
