//! HFile blocks: the block types, the on-disk header, and framing (compression + checksums).
//!
//! Header layout (HFile v2 minor ≥ 1 and v3, 33 bytes):
//! `magic (8) | onDiskSizeWithoutHeader (i32) | uncompressedSizeWithoutHeader (i32) |
//! prevBlockOffset (i64) | checksumType (u8) | bytesPerChecksum (i32) |
//! onDiskDataSizeWithHeader (i32)`, then the (compressed) data, then one checksum per
//! `bytesPerChecksum` chunk of header + data. Minor version 0 has only the first 24 bytes.

use std::borrow::Cow;
use std::path::Path;

use bytes::Bytes;

use crate::checksum::ChecksumType;
use crate::compression::Compression;
use crate::derived::Derived;
use crate::error::{Error, Result};
use crate::varint::{be_i32, be_i64};

/// Header size with checksum fields (minor version ≥ 1).
pub const HEADER_SIZE: usize = 33;
/// Header size without checksum fields (minor version 0).
pub const HEADER_SIZE_NO_CHECKSUM: usize = 24;
/// Default checksum chunk size (`hbase.bytes.per.checksum`).
pub const DEFAULT_BYTES_PER_CHECKSUM: u32 = 16 * 1024;

/// The kind of a block, identified by its 8-byte magic.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BlockType {
    /// Plain data block.
    Data,
    /// Data block with a data block encoding.
    EncodedData,
    /// Leaf level of the multi-level data index.
    LeafIndex,
    /// One chunk of a compound Bloom filter.
    BloomChunk,
    /// A named meta block.
    Meta,
    /// Intermediate level of the data index.
    IntermediateIndex,
    /// Root level of an index (data or meta).
    RootIndex,
    /// The FileInfo map.
    FileInfo,
    /// Metadata of the general Bloom filter.
    GeneralBloomMeta,
    /// Metadata of the delete-family Bloom filter.
    DeleteFamilyBloomMeta,
    /// The fixed file trailer.
    Trailer,
    /// HFile v1 index block.
    IndexV1,
}

const MAGICS: [(BlockType, &[u8; 8]); 12] = [
    (BlockType::Data, b"DATABLK*"),
    (BlockType::EncodedData, b"DATABLKE"),
    (BlockType::LeafIndex, b"IDXLEAF2"),
    (BlockType::BloomChunk, b"BLMFBLK2"),
    (BlockType::Meta, b"METABLKc"),
    (BlockType::IntermediateIndex, b"IDXINTE2"),
    (BlockType::RootIndex, b"IDXROOT2"),
    (BlockType::FileInfo, b"FILEINF2"),
    (BlockType::GeneralBloomMeta, b"BLMFMET2"),
    (BlockType::DeleteFamilyBloomMeta, b"DFBLMET2"),
    (BlockType::Trailer, b"TRABLK\"$"),
    (BlockType::IndexV1, b"IDXBLK)+"),
];

impl BlockType {
    /// The 8-byte magic written at the start of the block.
    pub fn magic(self) -> &'static [u8; 8] {
        MAGICS
            .iter()
            .find(|(t, _)| *t == self)
            .map(|(_, m)| *m)
            .unwrap_or(b"DATABLK*")
    }

    /// Identifies a block type by its magic.
    pub fn from_magic(magic: &[u8]) -> Option<BlockType> {
        MAGICS
            .iter()
            .find(|(_, m)| &m[..] == magic)
            .map(|(t, _)| *t)
    }

    /// True for data blocks (plain or encoded).
    pub fn is_data(self) -> bool {
        matches!(self, BlockType::Data | BlockType::EncodedData)
    }
}

/// A parsed block header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockHeader {
    /// Kind of block.
    pub block_type: BlockType,
    /// Bytes after the header on disk: compressed data plus checksums.
    pub on_disk_size_without_header: u32,
    /// Bytes of the data once decompressed (without header).
    pub uncompressed_size_without_header: u32,
    /// Offset of the previous block of the same type, or -1.
    pub prev_block_offset: i64,
    /// Checksum algorithm (NULL for minor version 0).
    pub checksum_type: ChecksumType,
    /// Checksum chunk size.
    pub bytes_per_checksum: u32,
    /// Header plus compressed data, without checksums.
    pub on_disk_data_size_with_header: u32,
    /// Size of this header on disk (24 or 33).
    pub header_size: usize,
}

impl BlockHeader {
    /// Total bytes the block occupies on disk.
    pub fn on_disk_size_with_header(&self) -> usize {
        self.header_size + self.on_disk_size_without_header as usize
    }
}

/// A block read from disk, verified and decompressed.
#[derive(Clone, Debug)]
pub struct Block {
    /// Its header.
    pub header: BlockHeader,
    /// Offset of the block in the file.
    pub offset: u64,
    /// Uncompressed data without header or checksums.
    pub data: Bytes,
    /// What readers derived from `data` once (index validation, cell offsets), kept with
    /// the block in the cache.
    pub(crate) derived: Derived,
    /// Whether `data` is a slice of the file's own bytes (an uncompressed block of a mapped
    /// or in-memory file) rather than memory of its own (a decompressed block).
    pub(crate) data_in_file: bool,
}

impl Block {
    /// Memory the block holds beyond its file: its data if it was decompressed (an
    /// uncompressed block is a slice of the mapped file, whose pages are the operating
    /// system's page cache) plus what was derived from it.
    pub fn memory_bytes(&self) -> u64 {
        let own_data = if self.data_in_file {
            0
        } else {
            self.data.len()
        };
        own_data as u64 + self.derived.heap_bytes()
    }
}

/// How blocks are framed in one file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Framing {
    /// Whether headers carry checksum fields (minor version ≥ 1).
    pub checksums: bool,
    /// The file's compression.
    pub compression: Compression,
}

/// Parses and sanity-checks the header of the block at `offset`, without reading its data.
///
/// `limit` is the end of the region blocks may occupy (the trailer's start).
pub fn read_header(
    path: &Path,
    file: &[u8],
    offset: u64,
    framing: Framing,
    limit: u64,
) -> Result<BlockHeader> {
    let corrupt = |reason: String| Error::corrupt(path, offset, reason);
    let limit = limit.min(file.len() as u64);
    let header_size = if framing.checksums {
        HEADER_SIZE
    } else {
        HEADER_SIZE_NO_CHECKSUM
    };
    if offset.saturating_add(header_size as u64) > limit {
        return Err(corrupt(format!(
            "block header runs past the end of its section ({} bytes available)",
            limit.saturating_sub(offset)
        )));
    }
    let off = offset as usize;
    let h = &file[off..off + header_size];
    let block_type = BlockType::from_magic(&h[..8]).ok_or_else(|| {
        corrupt(format!(
            "bad block magic {}",
            crate::cell::to_string_binary(&h[..8])
        ))
    })?;
    let field = |pos: usize| be_i32(h, pos).unwrap_or(-1);
    let on_disk = field(8);
    let uncompressed = field(12);
    if on_disk < 0 || uncompressed < 0 {
        return Err(corrupt("negative block size in header".into()));
    }
    let prev_block_offset = be_i64(h, 16).unwrap_or(-1);
    let (checksum_type, bytes_per_checksum, data_with_header) = if framing.checksums {
        let ct = ChecksumType::from_code(h[24])
            .ok_or_else(|| corrupt(format!("unknown checksum type {}", h[24])))?;
        let bpc = field(25);
        let dwh = field(29);
        if bpc <= 0 && ct != ChecksumType::Null {
            return Err(corrupt(format!("invalid bytesPerChecksum {bpc}")));
        }
        if dwh < header_size as i32 || dwh as i64 > header_size as i64 + on_disk as i64 {
            return Err(corrupt(format!("invalid onDiskDataSizeWithHeader {dwh}")));
        }
        (ct, bpc.max(0) as u32, dwh as u32)
    } else {
        (
            ChecksumType::Null,
            0,
            (header_size as i64 + on_disk as i64).min(u32::MAX as i64) as u32,
        )
    };
    let header = BlockHeader {
        block_type,
        on_disk_size_without_header: on_disk as u32,
        uncompressed_size_without_header: uncompressed as u32,
        prev_block_offset,
        checksum_type,
        bytes_per_checksum,
        on_disk_data_size_with_header: data_with_header,
        header_size,
    };
    if offset + header.on_disk_size_with_header() as u64 > limit {
        return Err(corrupt(format!(
            "block of {} bytes runs past the end of its section at {limit}",
            header.on_disk_size_with_header()
        )));
    }
    Ok(header)
}

/// Reads and verifies the block at `offset` of `file` (checksums, then decompression).
///
/// `file` is the whole file (usually memory-mapped); uncompressed blocks are returned as
/// slices of it without copying.
pub fn read_block(
    path: &Path,
    file: &Bytes,
    offset: u64,
    framing: Framing,
    limit: u64,
) -> Result<Block> {
    let corrupt = |reason: String| Error::corrupt(path, offset, reason);
    let header = read_header(path, file, offset, framing, limit)?;
    let off = offset as usize;
    let header_size = header.header_size;
    let checksum_type = header.checksum_type;
    let bytes_per_checksum = header.bytes_per_checksum;
    let data_with_header = header.on_disk_data_size_with_header;
    let uncompressed = header.uncompressed_size_without_header;
    let end = offset + header.on_disk_size_with_header() as u64;
    let data_end = off + data_with_header as usize;
    let block_end = end as usize;
    if framing.checksums {
        let expected_sums =
            checksum_type.checksum_bytes(data_with_header as usize, bytes_per_checksum);
        if block_end - data_end != expected_sums {
            return Err(corrupt(format!(
                "checksum area is {} bytes, expected {expected_sums}",
                block_end - data_end
            )));
        }
        checksum_type
            .verify(
                &file[off..data_end],
                bytes_per_checksum,
                &file[data_end..block_end],
            )
            .map_err(|(chunk, stored, computed)| Error::Checksum {
                path: path.to_path_buf(),
                offset,
                chunk,
                stored,
                computed,
            })?;
    }
    let payload = off + header_size..data_end;
    let data_in_file = framing.compression == Compression::None;
    let data = if data_in_file {
        if payload.len() != uncompressed as usize {
            return Err(corrupt(format!(
                "uncompressed block has {} data bytes, header says {uncompressed}",
                payload.len()
            )));
        }
        file.slice(payload)
    } else {
        let out = framing
            .compression
            .decompress(&file[payload], uncompressed as usize)
            .map_err(|e| corrupt(e.0))?;
        Bytes::from(out)
    };
    Ok(Block {
        header,
        offset,
        data,
        derived: Derived::None,
        data_in_file,
    })
}

/// Writes blocks: compression, header and checksums.
#[derive(Clone, Copy, Debug)]
pub struct BlockFramer {
    /// Compression of every block.
    pub compression: Compression,
    /// Checksum algorithm.
    pub checksum_type: ChecksumType,
    /// Checksum chunk size.
    pub bytes_per_checksum: u32,
}

impl BlockFramer {
    /// Compresses a block body (the part that can run on another thread).
    pub fn compress(&self, uncompressed: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(match self.compression {
            Compression::None => uncompressed.len(),
            _ => uncompressed.len() / 2 + 64,
        });
        self.compression.compress(uncompressed, &mut out);
        out
    }

    /// The on-disk body of `uncompressed`: itself when blocks are not compressed.
    pub fn compressed<'a>(&self, uncompressed: &'a [u8]) -> Cow<'a, [u8]> {
        match self.compression {
            Compression::None => Cow::Borrowed(uncompressed),
            _ => Cow::Owned(self.compress(uncompressed)),
        }
    }

    /// The header of the block whose body is `compressed`, with its checksums appended to
    /// `sums`: the block on disk is the header, the body, then the checksums.
    pub fn frame_parts(
        &self,
        block_type: BlockType,
        uncompressed_len: usize,
        compressed: &[u8],
        prev_block_offset: i64,
        sums: &mut Vec<u8>,
    ) -> [u8; HEADER_SIZE] {
        let data_with_header = HEADER_SIZE + compressed.len();
        let sums_len = self
            .checksum_type
            .checksum_bytes(data_with_header, self.bytes_per_checksum);
        let mut header = [0u8; HEADER_SIZE];
        let mut at = 0;
        let mut put = |bytes: &[u8]| {
            header[at..at + bytes.len()].copy_from_slice(bytes);
            at += bytes.len();
        };
        put(block_type.magic());
        put(&((compressed.len() + sums_len) as i32).to_be_bytes());
        put(&(uncompressed_len as i32).to_be_bytes());
        put(&prev_block_offset.to_be_bytes());
        put(&[self.checksum_type.code()]);
        put(&(self.bytes_per_checksum as i32).to_be_bytes());
        put(&(data_with_header as i32).to_be_bytes());
        self.checksum_type
            .append_checksums_of(&header, compressed, self.bytes_per_checksum, sums);
        header
    }

    /// Appends the complete on-disk block (header, compressed data, checksums) to `out`.
    pub fn frame(
        &self,
        block_type: BlockType,
        uncompressed_len: usize,
        compressed: &[u8],
        prev_block_offset: i64,
        out: &mut Vec<u8>,
    ) {
        let mut sums = Vec::new();
        let header = self.frame_parts(
            block_type,
            uncompressed_len,
            compressed,
            prev_block_offset,
            &mut sums,
        );
        out.extend_from_slice(&header);
        out.extend_from_slice(compressed);
        out.extend_from_slice(&sums);
    }
}
