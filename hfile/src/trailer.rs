//! The fixed file trailer at the end of every HFile.
//!
//! The last four bytes hold the version: `major | minor << 24`. Version 2 with minor < 2
//! uses a 212-byte Writable trailer; v2 minor ≥ 2 and v3 use `TRABLK"$` + a delimited
//! `FileTrailerProto`, zero-padded to 212 (v2) or 4096 (v3) bytes.

use prost::Message;

use crate::cell::Comparator;
use crate::compression::Compression;
use crate::varint::{be_i32, be_i64};

/// Trailer size of version 2 files.
pub const TRAILER_SIZE_V2: usize = 212;
/// Trailer size of version 3 files.
pub const TRAILER_SIZE_V3: usize = 4096;
/// The minor version HBase 2 writes for v3 files.
pub const V3_MINOR_VERSION: u8 = 3;
const TRAILER_MAGIC: &[u8; 8] = b"TRABLK\"$";

#[derive(Clone, PartialEq, Message)]
struct FileTrailerProto {
    #[prost(uint64, optional, tag = "1")]
    file_info_offset: Option<u64>,
    #[prost(uint64, optional, tag = "2")]
    load_on_open_data_offset: Option<u64>,
    #[prost(uint64, optional, tag = "3")]
    uncompressed_data_index_size: Option<u64>,
    #[prost(uint64, optional, tag = "4")]
    total_uncompressed_bytes: Option<u64>,
    #[prost(uint32, optional, tag = "5")]
    data_index_count: Option<u32>,
    #[prost(uint32, optional, tag = "6")]
    meta_index_count: Option<u32>,
    #[prost(uint64, optional, tag = "7")]
    entry_count: Option<u64>,
    #[prost(uint32, optional, tag = "8")]
    num_data_index_levels: Option<u32>,
    #[prost(uint64, optional, tag = "9")]
    first_data_block_offset: Option<u64>,
    #[prost(uint64, optional, tag = "10")]
    last_data_block_offset: Option<u64>,
    #[prost(string, optional, tag = "11")]
    comparator_class_name: Option<String>,
    #[prost(uint32, optional, tag = "12")]
    compression_codec: Option<u32>,
    #[prost(bytes = "vec", optional, tag = "13")]
    encryption_key: Option<Vec<u8>>,
}

/// The decoded trailer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trailer {
    /// Major format version (2 or 3).
    pub major_version: u8,
    /// Minor format version.
    pub minor_version: u8,
    /// Offset of the FileInfo block.
    pub file_info_offset: u64,
    /// Offset of the load-on-open section (the root data index).
    pub load_on_open_offset: u64,
    /// Uncompressed size of the whole data index.
    pub uncompressed_data_index_size: u64,
    /// Uncompressed bytes of all blocks, headers included.
    pub total_uncompressed_bytes: u64,
    /// Entries in the root data index.
    pub data_index_count: u32,
    /// Entries in the meta index.
    pub meta_index_count: u32,
    /// Number of cells.
    pub entry_count: u64,
    /// Levels of the data index (1 = root only).
    pub num_data_index_levels: u32,
    /// Offset of the first data block.
    pub first_data_block_offset: u64,
    /// Offset of the last data block.
    pub last_data_block_offset: u64,
    /// The comparator class name as stored.
    pub comparator_class_name: String,
    /// Compression codec ordinal as stored.
    pub compression_codec: u32,
    /// Whether the file is encrypted (Basalt cannot read those).
    pub encrypted: bool,
}

impl Trailer {
    /// Trailer size for a major version.
    pub fn size_for(major: u8) -> usize {
        if major >= 3 {
            TRAILER_SIZE_V3
        } else {
            TRAILER_SIZE_V2
        }
    }

    /// Whether block headers carry checksum fields.
    pub fn has_checksums(&self) -> bool {
        self.major_version >= 3 || self.minor_version >= 1
    }

    /// The comparator, if the class name is known.
    pub fn comparator(&self) -> Option<Comparator> {
        Comparator::from_class_name(&self.comparator_class_name)
    }

    /// Reads the version from the last four bytes of the file.
    pub fn read_version(file: &[u8]) -> Result<(u8, u8), String> {
        if file.len() < 4 {
            return Err("file too short for an HFile trailer".into());
        }
        let v = be_i32(file, file.len() - 4).ok_or("truncated version")? as u32;
        let major = (v & 0x00ff_ffff) as u8;
        let minor = (v >> 24) as u8;
        if (v & 0x00ff_ffff) > 255 || !(2..=3).contains(&major) {
            return Err(format!(
                "unsupported HFile version {} (minor {minor})",
                v & 0x00ff_ffff
            ));
        }
        if minor > 3 {
            return Err(format!("unsupported HFile minor version {minor}"));
        }
        Ok((major, minor))
    }

    /// Parses the trailer from the whole file's bytes.
    pub fn parse(file: &[u8]) -> Result<Trailer, String> {
        let (major, minor) = Self::read_version(file)?;
        let size = Self::size_for(major);
        if file.len() < size {
            return Err(format!(
                "file of {} bytes is shorter than its {size}-byte trailer",
                file.len()
            ));
        }
        let t = &file[file.len() - size..];
        if &t[..8] != TRAILER_MAGIC {
            return Err("bad trailer magic".into());
        }
        let body = &t[8..size - 4];
        if major >= 3 || minor >= 2 {
            let p = FileTrailerProto::decode_length_delimited(body)
                .map_err(|e| format!("trailer protobuf: {e}"))?;
            return Ok(Trailer {
                major_version: major,
                minor_version: minor,
                file_info_offset: p.file_info_offset.unwrap_or(0),
                load_on_open_offset: p.load_on_open_data_offset.unwrap_or(0),
                uncompressed_data_index_size: p.uncompressed_data_index_size.unwrap_or(0),
                total_uncompressed_bytes: p.total_uncompressed_bytes.unwrap_or(0),
                data_index_count: p.data_index_count.unwrap_or(0),
                meta_index_count: p.meta_index_count.unwrap_or(0),
                entry_count: p.entry_count.unwrap_or(0),
                num_data_index_levels: p.num_data_index_levels.unwrap_or(1),
                first_data_block_offset: p.first_data_block_offset.unwrap_or(0),
                last_data_block_offset: p.last_data_block_offset.unwrap_or(0),
                comparator_class_name: p
                    .comparator_class_name
                    .unwrap_or_else(|| Comparator::Default.class_name().into()),
                compression_codec: p.compression_codec.unwrap_or(Compression::None.ordinal()),
                encrypted: p.encryption_key.is_some_and(|k| !k.is_empty()),
            });
        }
        // Writable trailer of v2 minor 0/1.
        let i64_at = |p: usize| be_i64(body, p).ok_or("truncated trailer");
        let i32_at = |p: usize| be_i32(body, p).ok_or("truncated trailer");
        let u64_at = |p: usize| -> Result<u64, String> {
            u64::try_from(i64_at(p)?).map_err(|_| "negative trailer field".to_string())
        };
        let u32_at = |p: usize| -> Result<u32, String> {
            u32::try_from(i32_at(p)?).map_err(|_| "negative trailer field".to_string())
        };
        let name_bytes = body
            .get(72..72 + 128)
            .ok_or("truncated trailer comparator")?;
        let name_end = name_bytes
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(name_bytes.len());
        Ok(Trailer {
            major_version: major,
            minor_version: minor,
            file_info_offset: u64_at(0)?,
            load_on_open_offset: u64_at(8)?,
            data_index_count: u32_at(16)?,
            uncompressed_data_index_size: u64_at(20)?,
            meta_index_count: u32_at(28)?,
            total_uncompressed_bytes: u64_at(32)?,
            entry_count: u64_at(40)?,
            compression_codec: u32_at(48)?,
            num_data_index_levels: u32_at(52)?,
            first_data_block_offset: u64_at(56)?,
            last_data_block_offset: u64_at(64)?,
            comparator_class_name: String::from_utf8_lossy(&name_bytes[..name_end]).into_owned(),
            encrypted: false,
        })
    }

    /// Serializes a v3 trailer (4096 bytes).
    pub fn encode_v3(&self) -> Vec<u8> {
        let p = FileTrailerProto {
            file_info_offset: Some(self.file_info_offset),
            load_on_open_data_offset: Some(self.load_on_open_offset),
            uncompressed_data_index_size: Some(self.uncompressed_data_index_size),
            total_uncompressed_bytes: Some(self.total_uncompressed_bytes),
            data_index_count: Some(self.data_index_count),
            meta_index_count: Some(self.meta_index_count),
            entry_count: Some(self.entry_count),
            num_data_index_levels: Some(self.num_data_index_levels),
            first_data_block_offset: Some(self.first_data_block_offset),
            last_data_block_offset: Some(self.last_data_block_offset),
            comparator_class_name: Some(self.comparator_class_name.clone()),
            compression_codec: Some(self.compression_codec),
            encryption_key: None,
        };
        let mut out = Vec::with_capacity(TRAILER_SIZE_V3);
        out.extend_from_slice(TRAILER_MAGIC);
        out.extend_from_slice(&p.encode_length_delimited_to_vec());
        out.resize(TRAILER_SIZE_V3 - 4, 0);
        let version = (self.major_version as u32) | ((self.minor_version as u32) << 24);
        out.extend_from_slice(&version.to_be_bytes());
        out
    }
}
