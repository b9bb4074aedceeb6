//! Compound Bloom filters as HBase writes them: Hadoop's MurmurHash, chunks of at most
//! 128 KiB written inline between data blocks, folded when under-full, and a meta block
//! (version 3) with a single-level index of chunk first keys.

use std::cmp::Ordering;

use bytes::Bytes;

use crate::cell::{make_key, CellType, Comparator, LATEST_TIMESTAMP};
use crate::index::{parse_root, IndexChunk, IndexEntry};
use crate::varint::{be_i32, be_i64, read_byte_array, write_byte_array};

/// Default target false-positive rate (`io.storefile.bloom.error.rate`).
pub const DEFAULT_ERROR_RATE: f64 = 0.01;
/// Default chunk size (`io.storefile.bloom.block.size`).
pub const DEFAULT_CHUNK_BYTES: usize = 128 * 1024;
/// Default maximum fold factor (`io.storefile.bloom.max.fold`).
pub const MAX_FOLD: u32 = 7;
/// `Hash.MURMUR_HASH`.
pub const MURMUR_HASH: i32 = 1;
const BLOOM_META_VERSION: i32 = 3;

/// Which keys a file's general Bloom filter holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum BloomType {
    /// No Bloom filter.
    None,
    /// Row keys (HBase's default).
    #[default]
    Row,
    /// Row + qualifier.
    RowCol,
}

impl BloomType {
    /// The name stored in FileInfo under `BLOOM_FILTER_TYPE`.
    pub fn name(self) -> &'static str {
        match self {
            BloomType::None => "NONE",
            BloomType::Row => "ROW",
            BloomType::RowCol => "ROWCOL",
        }
    }

    /// Parses a name, case-insensitively.
    pub fn parse(name: &str) -> Option<Self> {
        match name.to_ascii_uppercase().as_str() {
            "NONE" => Some(BloomType::None),
            "ROW" => Some(BloomType::Row),
            "ROWCOL" => Some(BloomType::RowCol),
            _ => None,
        }
    }
}

/// The ROWCOL Bloom key: a `KeyValue` key with empty family, latest timestamp, type Maximum.
pub fn rowcol_key(row: &[u8], qualifier: &[u8]) -> Vec<u8> {
    make_key(row, b"", qualifier, LATEST_TIMESTAMP, CellType::Maximum)
}

/// Hadoop's `MurmurHash.hash` (MurmurHash2, 32-bit), including its signed-byte tail quirk.
pub fn murmur_hash(data: &[u8], seed: i32) -> i32 {
    let m: i32 = 0x5bd1_e995;
    let r = 24;
    let len = data.len();
    let mut h: i32 = seed ^ (len as i32);
    let len4 = len >> 2;
    for i in 0..len4 {
        let b = &data[i * 4..i * 4 + 4];
        let mut k = i32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        k = k.wrapping_mul(m);
        k ^= ((k as u32) >> r) as i32;
        k = k.wrapping_mul(m);
        h = h.wrapping_mul(m);
        h ^= k;
    }
    let tail = &data[len4 * 4..];
    if !tail.is_empty() {
        if tail.len() >= 3 {
            h ^= ((tail[2] as i8) as i32) << 16;
        }
        if tail.len() >= 2 {
            h ^= ((tail[1] as i8) as i32) << 8;
        }
        h ^= (tail[0] as i8) as i32;
        h = h.wrapping_mul(m);
    }
    h ^= ((h as u32) >> 13) as i32;
    h = h.wrapping_mul(m);
    h ^= ((h as u32) >> 15) as i32;
    h
}

fn bit_positions(key: &[u8], hash_count: u32, bit_size: u64) -> impl Iterator<Item = u64> {
    let h1 = murmur_hash(key, 0);
    let h2 = murmur_hash(key, h1);
    let bits = bit_size as i64;
    // HBase takes the `int` composite modulo a `long` bit count; for a chunk of fewer than
    // 2^31 bits (every chunk HBase writes) 32-bit arithmetic gives the same remainder at a
    // fraction of a 64-bit division's cost.
    let small = i32::try_from(bit_size).ok();
    (0..hash_count as i32).map(move |i| {
        let composite = h1.wrapping_add(i.wrapping_mul(h2));
        match small {
            Some(b) => u64::from((composite % b).unsigned_abs()),
            None => ((composite as i64) % bits).unsigned_abs(),
        }
    })
}

/// Tests `key` against one chunk's bits.
pub fn chunk_contains(bits: &[u8], key: &[u8], hash_count: u32) -> bool {
    if bits.is_empty() {
        return true;
    }
    bit_positions(key, hash_count, bits.len() as u64 * 8)
        .all(|p| bits[(p / 8) as usize] & (1 << (p % 8)) != 0)
}

/// `ByteBloomFilter.computeFoldableByteSize`.
fn foldable_byte_size(bit_size: u64, fold: u32) -> usize {
    let mut bytes = bit_size.div_ceil(8);
    let mask = (1u64 << fold) - 1;
    if bytes & mask != 0 {
        bytes >>= fold;
        bytes += 1;
        bytes <<= fold;
    }
    bytes as usize
}

/// Chunk geometry derived exactly as `ByteBloomFilter.createBySize` does.
#[derive(Clone, Copy, Debug)]
struct ChunkShape {
    byte_size: usize,
    max_keys: u64,
    hash_count: u32,
}

fn chunk_shape(chunk_bytes_hint: usize, error_rate: f64) -> ChunkShape {
    let byte_size = foldable_byte_size(chunk_bytes_hint as u64 * 8, MAX_FOLD);
    let bit_size = byte_size as u64 * 8;
    let log2_sq = std::f64::consts::LN_2 * std::f64::consts::LN_2;
    let ideal_max_keys = (bit_size as f64 * (log2_sq / -error_rate.ln())) as u64;
    let hash_count =
        (std::f64::consts::LN_2 * (bit_size / ideal_max_keys.max(1)) as f64).ceil() as u32;
    let hc = hash_count.max(1) as f64;
    let max_keys = (-(bit_size as f64) / hc * (1.0 - (error_rate.ln() / hc).exp()).ln()) as u64;
    ChunkShape {
        byte_size,
        max_keys: max_keys.max(1),
        hash_count: hash_count.max(1),
    }
}

/// A finished chunk ready to be written as a `BLMFBLK2` block.
#[derive(Debug)]
pub struct ReadyChunk {
    /// First key added to the chunk.
    pub first_key: Vec<u8>,
    /// The (folded) bit array.
    pub bits: Vec<u8>,
}

/// Builds a compound Bloom filter while a file is written.
#[derive(Debug)]
pub struct BloomWriter {
    shape: ChunkShape,
    bloom_type: BloomType,
    bits: Vec<u8>,
    keys_in_chunk: u64,
    first_key: Option<Vec<u8>>,
    last_key: Vec<u8>,
    total_keys: u64,
    total_max_keys: u64,
    total_bytes: u64,
    chunk_count: u32,
    index: IndexChunk,
}

impl BloomWriter {
    /// A writer for a Bloom filter of `bloom_type` keys (Row also serves delete-family blooms).
    pub fn new(bloom_type: BloomType, error_rate: f64) -> Self {
        let err = if bloom_type == BloomType::RowCol {
            1.0 - (1.0 - error_rate).sqrt()
        } else {
            error_rate
        };
        BloomWriter {
            shape: chunk_shape(DEFAULT_CHUNK_BYTES, err),
            bloom_type,
            bits: Vec::new(),
            keys_in_chunk: 0,
            first_key: None,
            last_key: Vec::new(),
            total_keys: 0,
            total_max_keys: 0,
            total_bytes: 0,
            chunk_count: 0,
            index: IndexChunk::default(),
        }
    }

    /// The last key added (HBase stores it as `LAST_BLOOM_KEY`).
    pub fn last_key(&self) -> &[u8] {
        &self.last_key
    }

    /// Number of keys added.
    pub fn key_count(&self) -> u64 {
        self.total_keys
    }

    /// Adds a key unless it equals the previous key. Returns a chunk that became full.
    pub fn add(&mut self, key: &[u8]) -> Option<ReadyChunk> {
        if self.total_keys > 0 && crate::cell::same_bytes(&self.last_key, key) {
            return None;
        }
        if self.first_key.is_none() {
            self.first_key = Some(key.to_vec());
            self.bits = vec![0u8; self.shape.byte_size];
            self.chunk_count += 1;
        }
        let bit_size = self.bits.len() as u64 * 8;
        for p in bit_positions(key, self.shape.hash_count, bit_size) {
            self.bits[(p / 8) as usize] |= 1 << (p % 8);
        }
        self.keys_in_chunk += 1;
        self.total_keys += 1;
        self.last_key.clear();
        self.last_key.extend_from_slice(key);
        if self.keys_in_chunk >= self.shape.max_keys {
            return self.take_chunk();
        }
        None
    }

    /// Finishes the current partial chunk, if any (called when the file is closed).
    pub fn take_chunk(&mut self) -> Option<ReadyChunk> {
        let first_key = self.first_key.take()?;
        let mut bits = std::mem::take(&mut self.bits);
        let mut max_keys = self.shape.max_keys;
        // Fold while the filter is at least twice as large as needed (compactBloom).
        let mut pieces = 1usize;
        let mut size = bits.len();
        while size & 1 == 0 && max_keys > self.keys_in_chunk << 1 {
            pieces <<= 1;
            size >>= 1;
            max_keys >>= 1;
        }
        if pieces > 1 {
            for p in 1..pieces {
                for i in 0..size {
                    bits[i] |= bits[p * size + i];
                }
            }
            bits.truncate(size);
        }
        self.total_max_keys += max_keys;
        self.total_bytes += bits.len() as u64;
        self.keys_in_chunk = 0;
        Some(ReadyChunk { first_key, bits })
    }

    /// Records where a chunk was written.
    pub fn chunk_written(&mut self, first_key: Vec<u8>, offset: u64, on_disk_size: u32) {
        self.index.add(first_key, offset, on_disk_size, None);
    }

    /// Serializes the Bloom meta block body (`BLMFMET2` / `DFBLMET2`).
    pub fn meta_block(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&BLOOM_META_VERSION.to_be_bytes());
        out.extend_from_slice(&(self.total_bytes as i64).to_be_bytes());
        out.extend_from_slice(&(self.shape.hash_count as i32).to_be_bytes());
        out.extend_from_slice(&MURMUR_HASH.to_be_bytes());
        out.extend_from_slice(&(self.total_keys as i64).to_be_bytes());
        out.extend_from_slice(&(self.total_max_keys as i64).to_be_bytes());
        out.extend_from_slice(&(self.index.len() as i32).to_be_bytes());
        let cmp = match self.bloom_type {
            BloomType::RowCol => Comparator::Default,
            _ => Comparator::RawBytes,
        };
        write_byte_array(&mut out, cmp.class_name().as_bytes());
        self.index.write_root(&mut out);
        out
    }
}

/// A loaded Bloom filter's metadata; chunks are read on demand by the reader.
#[derive(Clone, Debug)]
pub struct BloomMeta {
    /// Total bytes of all chunks.
    pub total_byte_size: i64,
    /// Hash functions per key.
    pub hash_count: u32,
    /// Hash type (1 = murmur).
    pub hash_type: i32,
    /// Keys added.
    pub key_count: i64,
    /// Capacity at the target error rate.
    pub max_keys: i64,
    /// Comparator of the chunk index.
    pub comparator: Comparator,
    /// Chunk index.
    pub chunks: Vec<IndexEntry>,
}

impl BloomMeta {
    /// Parses a Bloom meta block body.
    pub fn parse(buf: &Bytes) -> Result<BloomMeta, String> {
        let version = be_i32(buf, 0).ok_or("truncated bloom meta")?;
        if version != BLOOM_META_VERSION {
            return Err(format!("unsupported bloom meta version {version}"));
        }
        let total_byte_size = be_i64(buf, 4).ok_or("truncated bloom meta")?;
        let hash_count = be_i32(buf, 12).ok_or("truncated bloom meta")?;
        let hash_type = be_i32(buf, 16).ok_or("truncated bloom meta")?;
        let key_count = be_i64(buf, 20).ok_or("truncated bloom meta")?;
        let max_keys = be_i64(buf, 28).ok_or("truncated bloom meta")?;
        let num_chunks = be_i32(buf, 36).ok_or("truncated bloom meta")?;
        if hash_type != MURMUR_HASH {
            return Err(format!("unsupported bloom hash type {hash_type}"));
        }
        if !(1..=64).contains(&hash_count) || num_chunks < 0 {
            return Err(format!(
                "invalid bloom meta (hash count {hash_count}, chunks {num_chunks})"
            ));
        }
        let mut pos = 40;
        let name = read_byte_array(buf, &mut pos).ok_or("truncated bloom comparator")?;
        let comparator = if name.is_empty() {
            Comparator::RawBytes
        } else {
            Comparator::from_class_name(&String::from_utf8_lossy(name))
                .unwrap_or(Comparator::RawBytes)
        };
        let (chunks, _) = parse_root(&buf.slice(pos..), num_chunks as usize)
            .ok_or("truncated bloom chunk index")?;
        Ok(BloomMeta {
            total_byte_size,
            hash_count: hash_count as u32,
            hash_type,
            key_count,
            max_keys,
            comparator,
            chunks,
        })
    }

    /// The chunk that may hold `key` (last chunk whose first key ≤ key).
    pub fn chunk_for(&self, key: &[u8]) -> Option<&IndexEntry> {
        self.chunk_index(key).map(|i| &self.chunks[i])
    }

    /// Index in [`BloomMeta::chunks`] of the chunk that covers `key`, if any.
    pub fn chunk_index(&self, key: &[u8]) -> Option<usize> {
        let cmp = self.comparator;
        let n = self
            .chunks
            .partition_point(|e| cmp.compare_keys(&e.key, key) != Ordering::Greater);
        n.checked_sub(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bit positions as HBase computes them (an `int` composite modulo a `long` bit count)
    /// for bit counts on both sides of 2^31.
    #[test]
    fn bit_positions_match_the_long_modulo() {
        for bit_size in [1u64, 7, 1 << 20, (1 << 31) - 1, 1 << 31, 5 << 31] {
            for key in [&b"row1"[..], b"", b"\xff\x80x", b"row12345"] {
                let h1 = murmur_hash(key, 0);
                let h2 = murmur_hash(key, h1);
                let want: Vec<u64> = (0..7i32)
                    .map(|i| {
                        ((h1.wrapping_add(i.wrapping_mul(h2)) as i64) % bit_size as i64)
                            .unsigned_abs()
                    })
                    .collect();
                let got: Vec<u64> = bit_positions(key, 7, bit_size).collect();
                assert_eq!(got, want, "{bit_size} bits, key {key:?}");
            }
        }
    }

    #[test]
    fn murmur_matches_hadoop_reference_values() {
        // (key, hash(seed 0), hash(seed = first hash)) from Hadoop/HBase's MurmurHash.
        let cases: [(&[u8], i32, i32); 6] = [
            (b"", 0, 0),
            (b"a", -1838653602, 1529584742),
            (b"row1", 155469074, -1581353726),
            (b"row12345", 2111839199, -1785707447),
            (&[0xff, 0x80, b'x'], -2074683219, 656355983),
            (b"hello world!!", -332450106, -466341365),
        ];
        for (key, h1, h2) in cases {
            assert_eq!(murmur_hash(key, 0), h1, "{key:?}");
            assert_eq!(murmur_hash(key, h1), h2, "{key:?}");
        }
    }

    #[test]
    fn chunk_shape_matches_hbase_defaults() {
        let s = chunk_shape(DEFAULT_CHUNK_BYTES, DEFAULT_ERROR_RATE);
        assert_eq!(s.byte_size, 131072);
        assert_eq!(s.hash_count, 7);
        assert!(
            s.max_keys > 100_000 && s.max_keys < 115_000,
            "{}",
            s.max_keys
        );
    }

    #[test]
    fn added_keys_are_found_and_folding_keeps_them() {
        let mut w = BloomWriter::new(BloomType::Row, DEFAULT_ERROR_RATE);
        for i in 0..1000u32 {
            assert!(w.add(format!("row{i:05}").as_bytes()).is_none());
        }
        let chunk = w.take_chunk().unwrap();
        assert!(chunk.bits.len() < 131072, "folded to {}", chunk.bits.len());
        for i in 0..1000u32 {
            assert!(chunk_contains(
                &chunk.bits,
                format!("row{i:05}").as_bytes(),
                7
            ));
        }
        let fp = (0..10_000u32)
            .filter(|i| chunk_contains(&chunk.bits, format!("other{i}").as_bytes(), 7))
            .count();
        assert!(fp < 500, "false positives {fp}");
    }
}
