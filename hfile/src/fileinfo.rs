//! The FileInfo block: a sorted byte map of file metadata.
//!
//! HBase 2 writes it as `PBUF` + a length-delimited `FileInfoProto`; HBase 0.94 wrote a
//! Writable map (`count (i32)`, then per entry: key as vint-prefixed bytes, a class code
//! byte, value as vint-prefixed bytes). Both are read; the protobuf form is written.

use std::collections::BTreeMap;

use prost::Message;

use crate::varint::{be_i32, read_byte_array};

/// The protobuf magic prefix HBase puts before serialized messages.
pub const PB_MAGIC: &[u8; 4] = b"PBUF";

/// Well-known FileInfo keys.
pub mod keys {
    /// Last key of the file (serialized key).
    pub const LASTKEY: &[u8] = b"hfile.LASTKEY";
    /// Average key length (i32).
    pub const AVG_KEY_LEN: &[u8] = b"hfile.AVG_KEY_LEN";
    /// Average value length (i32).
    pub const AVG_VALUE_LEN: &[u8] = b"hfile.AVG_VALUE_LEN";
    /// File creation time in ms (i64).
    pub const CREATE_TIME_KEY: &[u8] = b"hfile.CREATE_TIME_KEY";
    /// Maximum tags length (i32); its presence means cells carry a tags length.
    pub const MAX_TAGS_LEN: &[u8] = b"hfile.MAX_TAGS_LEN";
    /// Whether tags are compressed (bool).
    pub const TAGS_COMPRESSED: &[u8] = b"hfile.TAGS_COMPRESSED";
    /// 1 when each cell carries a memstore timestamp vlong (i32).
    pub const KEY_VALUE_VERSION: &[u8] = b"KEY_VALUE_VERSION";
    /// Largest memstore timestamp (i64).
    pub const MAX_MEMSTORE_TS_KEY: &[u8] = b"MAX_MEMSTORE_TS_KEY";
    /// Data block encoding name.
    pub const DATA_BLOCK_ENCODING: &[u8] = b"DATA_BLOCK_ENCODING";
    /// Largest sequence id of the edits in the file (i64).
    pub const MAX_SEQ_ID_KEY: &[u8] = b"MAX_SEQ_ID_KEY";
    /// Written by a major compaction (bool).
    pub const MAJOR_COMPACTION_KEY: &[u8] = b"MAJOR_COMPACTION_KEY";
    /// Time range of the cells (protobuf `TimeRangeTracker` or two i64s).
    pub const TIMERANGE: &[u8] = b"TIMERANGE";
    /// Earliest put timestamp (i64).
    pub const EARLIEST_PUT_TS: &[u8] = b"EARLIEST_PUT_TS";
    /// General Bloom filter type name.
    pub const BLOOM_FILTER_TYPE: &[u8] = b"BLOOM_FILTER_TYPE";
    /// Last key added to the general Bloom filter.
    pub const LAST_BLOOM_KEY: &[u8] = b"LAST_BLOOM_KEY";
    /// Number of delete-family markers (i64).
    pub const DELETE_FAMILY_COUNT: &[u8] = b"DELETE_FAMILY_COUNT";
    /// Bulk-load time in ms (i64); its presence marks a bulk-loaded file.
    pub const BULKLOAD_TIME_KEY: &[u8] = b"BULKLOAD_TIMESTAMP";
    /// Task that bulk-loaded the file.
    pub const BULKLOAD_TASK_KEY: &[u8] = b"BULKLOAD_SOURCE_TASK";
    /// Exclude from minor compactions (bool).
    pub const EXCLUDE_FROM_MINOR_COMPACTION_KEY: &[u8] = b"EXCLUDE_FROM_MINOR_COMPACTION";
    /// Basalt's own (bool): every cell is a Put and no column of a row holds two cells,
    /// so a reader of this file alone has no versions or delete markers to resolve.
    /// HBase ignores file info keys it does not know.
    pub const ONE_PUT_PER_COLUMN: &[u8] = b"BASALT_ONE_PUT_PER_COLUMN";
}

#[derive(Clone, PartialEq, Message)]
struct BytesBytesPair {
    #[prost(bytes = "vec", tag = "1")]
    first: Vec<u8>,
    #[prost(bytes = "vec", tag = "2")]
    second: Vec<u8>,
}

#[derive(Clone, PartialEq, Message)]
struct FileInfoProto {
    #[prost(message, repeated, tag = "1")]
    map_entry: Vec<BytesBytesPair>,
}

#[derive(Clone, PartialEq, Message)]
struct TimeRangeTrackerProto {
    #[prost(uint64, optional, tag = "1")]
    from: Option<u64>,
    #[prost(uint64, optional, tag = "2")]
    to: Option<u64>,
}

/// The FileInfo map, sorted by key bytes as HBase keeps it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileInfo {
    map: BTreeMap<Vec<u8>, Vec<u8>>,
}

impl FileInfo {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `key` to `value`.
    pub fn insert(&mut self, key: &[u8], value: Vec<u8>) {
        self.map.insert(key.to_vec(), value);
    }

    /// The value of `key`.
    pub fn get(&self, key: &[u8]) -> Option<&[u8]> {
        self.map.get(key).map(|v| v.as_slice())
    }

    /// All entries in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.map.iter().map(|(k, v)| (k.as_slice(), v.as_slice()))
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True if empty.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Reads a big-endian i64 value.
    pub fn get_i64(&self, key: &[u8]) -> Option<i64> {
        Some(i64::from_be_bytes(self.get(key)?.try_into().ok()?))
    }

    /// Reads a big-endian i32 value.
    pub fn get_i32(&self, key: &[u8]) -> Option<i32> {
        Some(i32::from_be_bytes(self.get(key)?.try_into().ok()?))
    }

    /// Reads a boolean (one byte, non-zero = true).
    pub fn get_bool(&self, key: &[u8]) -> Option<bool> {
        match self.get(key)? {
            [b] => Some(*b != 0),
            _ => None,
        }
    }

    /// Serializes as `PBUF` + delimited `FileInfoProto`.
    pub fn encode(&self) -> Vec<u8> {
        let proto = FileInfoProto {
            map_entry: self
                .map
                .iter()
                .map(|(k, v)| BytesBytesPair {
                    first: k.clone(),
                    second: v.clone(),
                })
                .collect(),
        };
        let mut out = PB_MAGIC.to_vec();
        out.extend_from_slice(&proto.encode_length_delimited_to_vec());
        out
    }

    /// Parses either the protobuf or the Writable form.
    pub fn decode(buf: &[u8]) -> Result<FileInfo, String> {
        let mut info = FileInfo::new();
        if buf.starts_with(PB_MAGIC) {
            let proto = FileInfoProto::decode_length_delimited(&buf[4..])
                .map_err(|e| format!("FileInfo protobuf: {e}"))?;
            for e in proto.map_entry {
                info.map.insert(e.first, e.second);
            }
            return Ok(info);
        }
        let count = be_i32(buf, 0).ok_or("truncated FileInfo")?;
        if count < 0 {
            return Err(format!("negative FileInfo entry count {count}"));
        }
        let mut pos = 4;
        for i in 0..count {
            let key = read_byte_array(buf, &mut pos)
                .ok_or_else(|| format!("truncated FileInfo key {i}"))?;
            pos += 1; // Writable class code of the value (byte[]).
            let value = read_byte_array(buf, &mut pos)
                .ok_or_else(|| format!("truncated FileInfo value {i}"))?;
            info.map.insert(key.to_vec(), value.to_vec());
        }
        Ok(info)
    }
}

/// Encodes a time range as HBase 2 does (`PBUF` + `TimeRangeTracker`).
pub fn encode_time_range(min: i64, max: i64) -> Vec<u8> {
    let proto = TimeRangeTrackerProto {
        from: Some(min as u64),
        to: Some(max as u64),
    };
    let mut out = PB_MAGIC.to_vec();
    out.extend_from_slice(&proto.encode_to_vec());
    out
}

/// Decodes a time range in either the protobuf or the Writable (two i64s) form.
pub fn decode_time_range(buf: &[u8]) -> Option<(i64, i64)> {
    if buf.starts_with(PB_MAGIC) {
        let p = TimeRangeTrackerProto::decode(&buf[4..]).ok()?;
        return Some((
            p.from.unwrap_or(0) as i64,
            p.to.unwrap_or(i64::MAX as u64) as i64,
        ));
    }
    let min = i64::from_be_bytes(buf.get(0..8)?.try_into().ok()?);
    let max = i64::from_be_bytes(buf.get(8..16)?.try_into().ok()?);
    Some((min, max))
}
