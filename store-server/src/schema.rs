//! Table schemas: table names, column-family descriptors with their options, table
//! descriptors, durability levels and region descriptors, plus their catalog encoding.

use std::fmt;

use hfile::cell::{from_string_binary, to_string_binary};

use crate::codec::{Decoder, Encoder};
use crate::error::{Error, Result};

/// The namespace tables land in when none is given.
pub const DEFAULT_NAMESPACE: &str = "default";
/// The namespace of system tables.
pub const SYSTEM_NAMESPACE: &str = "basalt";

/// A namespace-qualified table name (`ns:table`, or just `table` in `default`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TableName {
    /// The namespace.
    pub namespace: String,
    /// The table's name inside its namespace.
    pub name: String,
}

fn valid_name_part(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
        && !s.starts_with('.')
        && !s.starts_with('-')
}

impl TableName {
    /// Parses `ns:name` or `name`; names are `[A-Za-z0-9_.-]`, not starting with `.` or `-`.
    pub fn parse(s: &str) -> Result<TableName> {
        let (ns, name) = match s.split_once(':') {
            Some((ns, name)) => (ns, name),
            None => (DEFAULT_NAMESPACE, s),
        };
        if !valid_name_part(ns) || !valid_name_part(name) {
            return Err(Error::InvalidArgument(format!(
                "invalid table name '{s}' (use [ns:]name with letters, digits, '_', '-', '.')"
            )));
        }
        Ok(TableName {
            namespace: ns.to_string(),
            name: name.to_string(),
        })
    }

    /// The catalog table's name, `basalt:meta`.
    pub fn meta() -> TableName {
        TableName {
            namespace: SYSTEM_NAMESPACE.to_string(),
            name: "meta".to_string(),
        }
    }

    /// True for tables in the system namespace.
    pub fn is_system(&self) -> bool {
        self.namespace == SYSTEM_NAMESPACE
    }
}

impl fmt::Display for TableName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.namespace == DEFAULT_NAMESPACE {
            f.write_str(&self.name)
        } else {
            write!(f, "{}:{}", self.namespace, self.name)
        }
    }
}

/// How a table's writes reach the write-ahead log before they are acknowledged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Durability {
    /// Append to the WAL and fsync (group commit) before acknowledging. The default.
    #[default]
    Sync,
    /// Append to the WAL; a background thread syncs it shortly after.
    Async,
    /// Do not write the WAL at all (data since the last flush is lost on a crash).
    Skip,
}

impl Durability {
    /// The HBase-style name (`SYNC_WAL`, `ASYNC_WAL`, `SKIP_WAL`).
    pub fn name(self) -> &'static str {
        match self {
            Durability::Sync => "SYNC_WAL",
            Durability::Async => "ASYNC_WAL",
            Durability::Skip => "SKIP_WAL",
        }
    }

    /// Parses `SYNC`, `SYNC_WAL`, `FSYNC_WAL`, `ASYNC(_WAL)`, `SKIP(_WAL)` (any case).
    pub fn parse(s: &str) -> Result<Durability> {
        match s.to_ascii_uppercase().as_str() {
            "SYNC" | "SYNC_WAL" | "FSYNC_WAL" | "USE_DEFAULT" => Ok(Durability::Sync),
            "ASYNC" | "ASYNC_WAL" => Ok(Durability::Async),
            "SKIP" | "SKIP_WAL" => Ok(Durability::Skip),
            _ => Err(Error::InvalidArgument(format!(
                "unknown durability '{s}' (SYNC_WAL, ASYNC_WAL, SKIP_WAL)"
            ))),
        }
    }

    fn code(self) -> u8 {
        match self {
            Durability::Sync => 0,
            Durability::Async => 1,
            Durability::Skip => 2,
        }
    }

    fn from_code(c: u8) -> Option<Durability> {
        Some(match c {
            0 => Durability::Sync,
            1 => Durability::Async,
            2 => Durability::Skip,
            _ => return None,
        })
    }
}

/// Block compression of a family's store files.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Compression {
    /// No compression.
    #[default]
    None,
    /// Gzip (zlib deflate), HBase's `GZ`.
    Gz,
    /// LZ4, HBase's `LZ4`.
    Lz4,
}

impl Compression {
    /// HBase's name for the algorithm.
    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "NONE",
            Compression::Gz => "GZ",
            Compression::Lz4 => "LZ4",
        }
    }

    /// Parses `NONE`, `GZ`, `LZ4` (any case).
    pub fn parse(s: &str) -> Result<Compression> {
        match s.to_ascii_uppercase().as_str() {
            "NONE" => Ok(Compression::None),
            "GZ" | "GZIP" => Ok(Compression::Gz),
            "LZ4" => Ok(Compression::Lz4),
            _ => Err(Error::InvalidArgument(format!(
                "unknown compression '{s}' (NONE, GZ, LZ4)"
            ))),
        }
    }
}

/// The Bloom filter kept in a family's store files.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum BloomType {
    /// No Bloom filter.
    None,
    /// Row Bloom filter (HBase's default).
    #[default]
    Row,
    /// Row + column Bloom filter.
    RowCol,
}

impl BloomType {
    /// HBase's name.
    pub fn name(self) -> &'static str {
        match self {
            BloomType::None => "NONE",
            BloomType::Row => "ROW",
            BloomType::RowCol => "ROWCOL",
        }
    }

    /// Parses `NONE`, `ROW`, `ROWCOL`.
    pub fn parse(s: &str) -> Result<BloomType> {
        match s.to_ascii_uppercase().as_str() {
            "NONE" => Ok(BloomType::None),
            "ROW" => Ok(BloomType::Row),
            "ROWCOL" => Ok(BloomType::RowCol),
            _ => Err(Error::InvalidArgument(format!(
                "unknown bloom filter type '{s}' (NONE, ROW, ROWCOL)"
            ))),
        }
    }
}

/// A column family and its options (HBase's `ColumnFamilyDescriptor`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FamilyDescriptor {
    /// Family name (printable bytes, no ':').
    pub name: Vec<u8>,
    /// Versions kept per column (default 1).
    pub max_versions: u32,
    /// Versions kept even when expired by TTL (default 0).
    pub min_versions: u32,
    /// Time to live in seconds; `None` = forever.
    pub ttl_secs: Option<u64>,
    /// Block compression.
    pub compression: Compression,
    /// Data block encoding name (`NONE` unless the HFile layer supports more).
    pub data_block_encoding: String,
    /// Block size in bytes (default 64 KiB).
    pub block_size: u32,
    /// Bloom filter type (default ROW).
    pub bloom: BloomType,
    /// Whether blocks should be kept in the cache with priority.
    pub in_memory: bool,
}

impl FamilyDescriptor {
    /// A family with HBase's defaults.
    pub fn new(name: impl Into<Vec<u8>>) -> FamilyDescriptor {
        FamilyDescriptor {
            name: name.into(),
            max_versions: 1,
            min_versions: 0,
            ttl_secs: None,
            compression: Compression::None,
            data_block_encoding: "NONE".to_string(),
            block_size: 64 * 1024,
            bloom: BloomType::Row,
            in_memory: false,
        }
    }

    /// Sets the maximum number of versions (builder style).
    pub fn with_max_versions(mut self, v: u32) -> Self {
        self.max_versions = v;
        self
    }

    /// Sets the TTL in seconds (builder style).
    pub fn with_ttl_secs(mut self, ttl: u64) -> Self {
        self.ttl_secs = Some(ttl);
        self
    }

    /// Checks the name and option values.
    pub fn validate(&self) -> Result<()> {
        if self.name.is_empty() || self.name.len() > hfile::cell::MAX_FAMILY_LENGTH {
            return Err(Error::InvalidArgument(format!(
                "family name must be 1..={} bytes",
                hfile::cell::MAX_FAMILY_LENGTH
            )));
        }
        if self.name.contains(&b':') || self.name.iter().any(|b| !(b' '..=b'~').contains(b)) {
            return Err(Error::InvalidArgument(format!(
                "family name '{}' must be printable and contain no ':'",
                to_string_binary(&self.name)
            )));
        }
        if self.max_versions == 0 {
            return Err(Error::InvalidArgument("VERSIONS must be at least 1".into()));
        }
        if self.min_versions > self.max_versions {
            return Err(Error::InvalidArgument(
                "MIN_VERSIONS must not exceed VERSIONS".into(),
            ));
        }
        if self.block_size < 512 {
            return Err(Error::InvalidArgument(
                "BLOCKSIZE must be at least 512".into(),
            ));
        }
        if hfile::DataBlockEncoding::parse(&self.data_block_encoding).is_none() {
            return Err(Error::InvalidArgument(format!(
                "DATA_BLOCK_ENCODING {} is not supported (NONE, FAST_DIFF)",
                self.data_block_encoding
            )));
        }
        Ok(())
    }

    /// Applies one `KEY=VALUE` option as the shell writes it (`VERSIONS`, `MIN_VERSIONS`,
    /// `TTL`, `COMPRESSION`, `DATA_BLOCK_ENCODING`, `BLOCKSIZE`, `BLOOMFILTER`, `IN_MEMORY`).
    pub fn set_option(&mut self, key: &str, value: &str) -> Result<()> {
        let num = |v: &str| -> Result<u64> {
            v.parse::<u64>()
                .map_err(|_| Error::InvalidArgument(format!("{key}: '{v}' is not a number")))
        };
        match key.to_ascii_uppercase().as_str() {
            "VERSIONS" => self.max_versions = num(value)? as u32,
            "MIN_VERSIONS" => self.min_versions = num(value)? as u32,
            "TTL" => {
                self.ttl_secs = if value.eq_ignore_ascii_case("FOREVER") {
                    None
                } else {
                    Some(num(value)?)
                }
            }
            "COMPRESSION" => self.compression = Compression::parse(value)?,
            "DATA_BLOCK_ENCODING" => self.data_block_encoding = value.to_ascii_uppercase(),
            "BLOCKSIZE" => self.block_size = num(value)? as u32,
            "BLOOMFILTER" => self.bloom = BloomType::parse(value)?,
            "IN_MEMORY" => {
                self.in_memory = match value.to_ascii_lowercase().as_str() {
                    "true" => true,
                    "false" => false,
                    _ => {
                        return Err(Error::InvalidArgument(format!(
                            "IN_MEMORY: '{value}' is not true/false"
                        )))
                    }
                }
            }
            other => {
                return Err(Error::InvalidArgument(format!(
                    "unknown family option '{other}'"
                )))
            }
        }
        Ok(())
    }

    /// Parses the shell form `NAME[:OPT=V,OPT=V...]`.
    pub fn parse_spec(spec: &str) -> Result<FamilyDescriptor> {
        let (name, opts) = match spec.split_once(':') {
            Some((n, o)) => (n, Some(o)),
            None => (spec, None),
        };
        let mut fam = FamilyDescriptor::new(from_string_binary(name));
        if let Some(opts) = opts {
            for opt in opts.split(',').filter(|o| !o.is_empty()) {
                let (k, v) = opt.split_once('=').ok_or_else(|| {
                    Error::InvalidArgument(format!("family option '{opt}' is not KEY=VALUE"))
                })?;
                fam.set_option(k.trim(), v.trim())?;
            }
        }
        fam.validate()?;
        Ok(fam)
    }

    /// HBase-shell-style rendering: `{NAME => 'f', VERSIONS => '1', ...}`.
    pub fn describe(&self) -> String {
        format!(
            "{{NAME => '{}', VERSIONS => '{}', MIN_VERSIONS => '{}', TTL => '{}', COMPRESSION => '{}', DATA_BLOCK_ENCODING => '{}', BLOCKSIZE => '{}', BLOOMFILTER => '{}', IN_MEMORY => '{}'}}",
            to_string_binary(&self.name),
            self.max_versions,
            self.min_versions,
            self.ttl_secs.map(|t| t.to_string()).unwrap_or_else(|| "FOREVER".into()),
            self.compression.name(),
            self.data_block_encoding,
            self.block_size,
            self.bloom.name(),
            self.in_memory
        )
    }

    fn encode(&self, e: &mut Encoder) {
        e.bytes(&self.name)
            .u32(self.max_versions)
            .u32(self.min_versions)
            .u64(self.ttl_secs.map(|t| t.saturating_add(1)).unwrap_or(0))
            .str(self.compression.name())
            .str(&self.data_block_encoding)
            .u32(self.block_size)
            .str(self.bloom.name())
            .bool(self.in_memory);
    }

    fn decode(d: &mut Decoder<'_>) -> Result<FamilyDescriptor> {
        let name = d.bytes()?.to_vec();
        let max_versions = d.u32()?;
        let min_versions = d.u32()?;
        let ttl = d.u64()?;
        let compression = Compression::parse(&d.str()?)?;
        let data_block_encoding = d.str()?;
        let block_size = d.u32()?;
        let bloom = BloomType::parse(&d.str()?)?;
        let in_memory = d.bool()?;
        Ok(FamilyDescriptor {
            name,
            max_versions,
            min_versions,
            ttl_secs: if ttl == 0 { None } else { Some(ttl - 1) },
            compression,
            data_block_encoding,
            block_size,
            bloom,
            in_memory,
        })
    }
}

/// A table's schema and state (HBase's `TableDescriptor` plus the table state).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableDescriptor {
    /// The table's name.
    pub name: TableName,
    /// Column families, in name order.
    pub families: Vec<FamilyDescriptor>,
    /// WAL durability of writes.
    pub durability: Durability,
    /// Whether the table is enabled (served) or disabled.
    pub enabled: bool,
    /// Table-level attributes (HBase's table `METADATA`), e.g. the SQL schema of a typed
    /// table kept by [`crate::typed`]. Encoded only when non-empty, so older entries decode.
    pub attributes: std::collections::BTreeMap<String, Vec<u8>>,
}

impl TableDescriptor {
    /// A new enabled table with the given families (sorted by name).
    pub fn new(name: TableName, mut families: Vec<FamilyDescriptor>) -> TableDescriptor {
        families.sort_by(|a, b| a.name.cmp(&b.name));
        TableDescriptor {
            name,
            families,
            durability: Durability::Sync,
            enabled: true,
            attributes: std::collections::BTreeMap::new(),
        }
    }

    /// Checks that there is at least one family and no duplicate.
    pub fn validate(&self) -> Result<()> {
        if self.families.is_empty() {
            return Err(Error::InvalidArgument(format!(
                "table {} needs at least one column family",
                self.name
            )));
        }
        for f in &self.families {
            f.validate()?;
        }
        for w in self.families.windows(2) {
            if w[0].name == w[1].name {
                return Err(Error::InvalidArgument(format!(
                    "duplicate family '{}'",
                    to_string_binary(&w[0].name)
                )));
            }
        }
        Ok(())
    }

    /// The descriptor of `family`, if the table has it.
    pub fn family(&self, family: &[u8]) -> Option<&FamilyDescriptor> {
        self.families.iter().find(|f| f.name == family)
    }

    /// Encodes for the catalog.
    pub fn encode(&self) -> Vec<u8> {
        let mut e = Encoder::new();
        e.u8(1)
            .str(&self.name.namespace)
            .str(&self.name.name)
            .u8(self.durability.code())
            .bool(self.enabled)
            .u32(self.families.len() as u32);
        for f in &self.families {
            f.encode(&mut e);
        }
        if !self.attributes.is_empty() {
            e.u32(self.attributes.len() as u32);
            for (k, v) in &self.attributes {
                e.str(k).bytes(v);
            }
        }
        e.finish()
    }

    /// Decodes a catalog entry; `what` names it in errors.
    pub fn decode(buf: &[u8], what: &str) -> Result<TableDescriptor> {
        let mut d = Decoder::new(buf, what);
        let version = d.u8()?;
        if version != 1 {
            return Err(Error::corrupt(
                what,
                0,
                format!("unknown table descriptor version {version}"),
            ));
        }
        let namespace = d.str()?;
        let name = d.str()?;
        let dcode = d.u8()?;
        let durability = Durability::from_code(dcode)
            .ok_or_else(|| Error::corrupt(what, 0, format!("unknown durability code {dcode}")))?;
        let enabled = d.bool()?;
        let n = d.u32()?;
        let mut families = Vec::new();
        for _ in 0..n {
            families.push(FamilyDescriptor::decode(&mut d)?);
        }
        let mut attributes = std::collections::BTreeMap::new();
        if !d.is_done() {
            let n = d.u32()?;
            for _ in 0..n {
                let k = d.str()?;
                let v = d.bytes()?.to_vec();
                attributes.insert(k, v);
            }
        }
        d.expect_done()?;
        Ok(TableDescriptor {
            name: TableName { namespace, name },
            families,
            durability,
            enabled,
            attributes,
        })
    }

    /// HBase-shell-style multi-line description.
    pub fn describe(&self) -> String {
        let mut s = format!(
            "Table {} is {}\n{}, {{DURABILITY => '{}'}}\nCOLUMN FAMILIES DESCRIPTION\n",
            self.name,
            if self.enabled { "ENABLED" } else { "DISABLED" },
            self.name,
            self.durability.name()
        );
        for f in &self.families {
            s.push_str(&f.describe());
            s.push('\n');
        }
        s
    }
}

/// A region: the row range `[start_key, end_key)` of a table (empty end = end of table).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegionInfo {
    /// The table.
    pub table: TableName,
    /// First row (inclusive); empty = start of table.
    pub start_key: Vec<u8>,
    /// First row not in the region; empty = end of table.
    pub end_key: Vec<u8>,
    /// Unique id (also the directory name, in hex).
    pub region_id: u64,
    /// The region this one was split from, if any.
    pub parent_id: Option<u64>,
    /// Sequence ids of this region start above this floor (a daughter inherits its parent's).
    pub seq_floor: u64,
}

/// A region id as 16 lowercase hex digits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HexId([u8; 16]);

impl HexId {
    /// The digits as a string.
    pub fn as_str(&self) -> &str {
        // Only ASCII hex digits are ever stored.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl RegionInfo {
    /// The encoded name: the region id as 16 hex digits (also the directory name).
    pub fn encoded_name(&self) -> String {
        self.encoded_name_digits().as_str().to_owned()
    }

    /// [`RegionInfo::encoded_name`] without allocating (what a get's region lookup uses).
    pub fn encoded_name_digits(&self) -> HexId {
        let mut d = [0u8; 16];
        for (i, b) in d.iter_mut().enumerate() {
            let nibble = (self.region_id >> (60 - 4 * i)) & 0xf;
            *b = b"0123456789abcdef"[nibble as usize];
        }
        HexId(d)
    }

    /// HBase-style full name: `table,startkey,id`.
    pub fn region_name(&self) -> String {
        format!(
            "{},{},{}",
            self.table,
            to_string_binary(&self.start_key),
            self.region_id
        )
    }

    /// True if `row` falls in `[start_key, end_key)`.
    pub fn contains_row(&self, row: &[u8]) -> bool {
        row >= self.start_key.as_slice()
            && (self.end_key.is_empty() || row < self.end_key.as_slice())
    }

    /// Encodes for the catalog and `.regioninfo`.
    pub fn encode(&self) -> Vec<u8> {
        let mut e = Encoder::new();
        e.u8(1)
            .str(&self.table.namespace)
            .str(&self.table.name)
            .bytes(&self.start_key)
            .bytes(&self.end_key)
            .u64(self.region_id)
            .u64(self.parent_id.map(|p| p.wrapping_add(1)).unwrap_or(0))
            .u64(self.seq_floor);
        e.finish()
    }

    /// Decodes what [`RegionInfo::encode`] wrote; `what` names the source in errors.
    pub fn decode(buf: &[u8], what: &str) -> Result<RegionInfo> {
        let mut d = Decoder::new(buf, what);
        let version = d.u8()?;
        if version != 1 {
            return Err(Error::corrupt(
                what,
                0,
                format!("unknown region info version {version}"),
            ));
        }
        let namespace = d.str()?;
        let name = d.str()?;
        let start_key = d.bytes()?.to_vec();
        let end_key = d.bytes()?.to_vec();
        let region_id = d.u64()?;
        let parent = d.u64()?;
        let seq_floor = d.u64()?;
        d.expect_done()?;
        Ok(RegionInfo {
            table: TableName { namespace, name },
            start_key,
            end_key,
            region_id,
            parent_id: if parent == 0 { None } else { Some(parent - 1) },
            seq_floor,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_names_are_the_ids_in_sixteen_hex_digits() -> Result<()> {
        for id in [0u64, 1, 0xabc, 0x0123_4567_89ab_cdef, u64::MAX] {
            let info = RegionInfo {
                table: TableName::parse("t")?,
                start_key: Vec::new(),
                end_key: Vec::new(),
                region_id: id,
                parent_id: None,
                seq_floor: 0,
            };
            assert_eq!(info.encoded_name(), format!("{id:016x}"));
            assert_eq!(info.encoded_name_digits().as_str(), format!("{id:016x}"));
        }
        Ok(())
    }

    #[test]
    fn table_names() {
        let t = TableName::parse("ns:t1").ok();
        assert_eq!(t.as_ref().map(|t| t.namespace.as_str()), Some("ns"));
        assert_eq!(
            TableName::parse("t1")
                .map(|t| t.to_string())
                .ok()
                .as_deref(),
            Some("t1")
        );
        assert!(TableName::parse("bad name").is_err());
        assert!(TableName::parse("").is_err());
        assert!(TableName::parse(":x").is_err());
    }

    #[test]
    fn family_spec_and_round_trip() {
        let f =
            FamilyDescriptor::parse_spec("cf:VERSIONS=3,TTL=60,COMPRESSION=gz,BLOOMFILTER=ROWCOL")
                .ok();
        let f = match f {
            Some(f) => f,
            None => panic!("spec did not parse"),
        };
        assert_eq!(f.max_versions, 3);
        assert_eq!(f.ttl_secs, Some(60));
        assert_eq!(f.compression, Compression::Gz);
        assert_eq!(f.bloom, BloomType::RowCol);
        assert!(FamilyDescriptor::parse_spec("cf:VERSIONS=x").is_err());
        assert!(FamilyDescriptor::parse_spec("cf:NOPE=1").is_err());

        let mut td = TableDescriptor::new(
            TableName::parse("a:b")
                .map_err(|e| e.to_string())
                .unwrap_or_else(|e| panic!("{e}")),
            vec![f, FamilyDescriptor::new("z")],
        );
        td.durability = Durability::Async;
        td.enabled = false;
        td.attributes.insert("k".into(), b"v".to_vec());
        let back = TableDescriptor::decode(&td.encode(), "x").ok();
        assert_eq!(back.as_ref(), Some(&td));
        assert!(TableDescriptor::decode(&td.encode()[..10], "x").is_err());

        let ri = RegionInfo {
            table: td.name.clone(),
            start_key: b"a".to_vec(),
            end_key: vec![],
            region_id: 42,
            parent_id: Some(0),
            seq_floor: 9,
        };
        assert_eq!(RegionInfo::decode(&ri.encode(), "r").ok(), Some(ri.clone()));
        assert!(ri.contains_row(b"zzz"));
        assert!(!ri.contains_row(b""));
    }
}
