//! Block indexes: the multi-level data index, the meta index and the Bloom chunk index.
//!
//! Root-format entries: `offset (i64) | on-disk size (i32) | key (vint length + bytes)`.
//! Non-root format (leaf and intermediate blocks): `entry count (i32) | secondary index:
//! count + 1 entry offsets (i32) | entries: offset (i64) | on-disk size (i32) | key`.

use std::cmp::Ordering;

use bytes::Bytes;

use crate::cell::Comparator;
use crate::varint::{be_i32, be_i64, read_byte_array, vlong_size, write_byte_array};

/// Default maximum serialized size of one index chunk (`hfile.index.block.max.size`).
pub const DEFAULT_MAX_CHUNK_SIZE: usize = 128 * 1024;
/// Minimum entries per intermediate chunk (`hfile.index.block.min.entries`).
pub const MIN_INDEX_NUM_ENTRIES: usize = 16;
/// Size of the mid-key metadata after a multi-level root index.
pub const MID_KEY_METADATA_SIZE: usize = 8 + 4 + 4;

/// One index entry: a key and the block it leads to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexEntry {
    /// Offset of the block.
    pub offset: u64,
    /// On-disk size of the block, header included.
    pub on_disk_size: u32,
    /// First key (or a separator ≤ the first key) of the block.
    pub key: Bytes,
}

/// Where the mid key of a multi-level index is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MidKeyMetadata {
    /// Offset of the leaf index block holding the mid key.
    pub leaf_offset: u64,
    /// On-disk size of that leaf block.
    pub leaf_on_disk_size: u32,
    /// Index of the mid key inside the leaf block.
    pub entry: u32,
}

/// Parses `count` root-format entries from `buf`; returns them and the bytes consumed.
pub fn parse_root(buf: &Bytes, count: usize) -> Option<(Vec<IndexEntry>, usize)> {
    let mut entries = Vec::with_capacity(count.min(buf.len() / 13 + 1));
    let mut pos = 0;
    for _ in 0..count {
        let offset = be_i64(buf, pos)?;
        let size = be_i32(buf, pos + 8)?;
        pos += 12;
        let key = read_byte_array(buf, &mut pos)?;
        let start = key.as_ptr() as usize - buf.as_ptr() as usize;
        if offset < 0 || size < 0 {
            return None;
        }
        entries.push(IndexEntry {
            offset: offset as u64,
            on_disk_size: size as u32,
            key: buf.slice(start..start + key.len()),
        });
    }
    Some((entries, pos))
}

/// Parses mid-key metadata (if present) after a multi-level root index.
pub fn parse_mid_key_metadata(rest: &[u8]) -> Option<MidKeyMetadata> {
    if rest.len() < MID_KEY_METADATA_SIZE {
        return None;
    }
    Some(MidKeyMetadata {
        leaf_offset: u64::try_from(be_i64(rest, 0)?).ok()?,
        leaf_on_disk_size: u32::try_from(be_i32(rest, 8)?).ok()?,
        entry: u32::try_from(be_i32(rest, 12)?).ok()?,
    })
}

/// Index of the last entry whose key is ≤ `key`, or `None` if `key` sorts before all of them.
pub fn search_root(entries: &[IndexEntry], key: &[u8], cmp: Comparator) -> Option<usize> {
    let n = entries.partition_point(|e| cmp.compare_keys(&e.key, key) != Ordering::Greater);
    n.checked_sub(1)
}

/// A view of a non-root (leaf or intermediate) index block.
///
/// [`NonRootIndex::parse`] validates every entry offset (O(entries)); readers do that once,
/// when the block is loaded, and later wrap the same bytes with [`NonRootIndex::view`]
/// (O(1)). Every accessor is bounds-checked either way: bad offsets give `None` or
/// [`BadIndexEntry`], never a panic.
#[derive(Clone, Copy, Debug)]
pub struct NonRootIndex<'a> {
    buf: &'a [u8],
    count: usize,
}

/// An entry of a non-root index block whose offsets do not describe a valid entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BadIndexEntry(pub usize);

impl<'a> NonRootIndex<'a> {
    /// Validates the block structure: the entry count and every entry offset.
    pub fn parse(buf: &'a [u8]) -> Option<Self> {
        let idx = Self::view(buf)?;
        let entries_start = idx.entries_start();
        let mut prev = 0usize;
        for i in 0..=idx.count {
            let rel = usize::try_from(be_i32(buf, 4 + i * 4)?).ok()?;
            if rel < prev || entries_start + rel > buf.len() {
                return None;
            }
            if i > 0 && rel - prev < 12 {
                return None;
            }
            prev = rel;
        }
        Some(idx)
    }

    /// Wraps a block [`parse`](Self::parse) has already accepted, checking only the entry
    /// count against the block size (O(1)). Entries are still checked as they are read.
    pub fn view(buf: &'a [u8]) -> Option<Self> {
        let count = usize::try_from(be_i32(buf, 0)?).ok()?;
        let entries_start = 4usize.checked_add(count.checked_add(1)?.checked_mul(4)?)?;
        if entries_start > buf.len() {
            return None;
        }
        Some(NonRootIndex { buf, count })
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.count
    }

    /// True if there are no entries.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    fn entries_start(&self) -> usize {
        4 + (self.count + 1) * 4
    }

    /// Byte range of entry `i` within the block, if its offsets are sane.
    fn range(&self, i: usize) -> Option<(usize, usize)> {
        if i >= self.count {
            return None;
        }
        let rel = |j: usize| usize::try_from(be_i32(self.buf, 4 + j * 4)?).ok();
        let start = self.entries_start().checked_add(rel(i)?)?;
        let end = self.entries_start().checked_add(rel(i + 1)?)?;
        if end > self.buf.len() || start.checked_add(12)? > end {
            return None;
        }
        Some((start, end))
    }

    /// The entry at `i` (offset, on-disk size, key); `None` if `i` is out of range or the
    /// entry is malformed.
    pub fn entry(&self, i: usize) -> Option<(u64, u32, &'a [u8])> {
        let (start, end) = self.range(i)?;
        let offset = u64::try_from(be_i64(self.buf, start)?).ok()?;
        let size = u32::try_from(be_i32(self.buf, start + 8)?).ok()?;
        Some((offset, size, self.buf.get(start + 12..end)?))
    }

    /// The key of entry `i`; `None` if `i` is out of range or the entry is malformed.
    pub fn key(&self, i: usize) -> Option<&'a [u8]> {
        let (start, end) = self.range(i)?;
        self.buf.get(start + 12..end)
    }

    /// Index of the last entry with key ≤ `key`, or `None` if before all (a binary search).
    pub fn search(&self, key: &[u8], cmp: Comparator) -> Result<Option<usize>, BadIndexEntry> {
        let (mut lo, mut hi) = (0usize, self.count);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let k = self.key(mid).ok_or(BadIndexEntry(mid))?;
            if cmp.compare_keys(k, key) != Ordering::Greater {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        Ok(lo.checked_sub(1))
    }
}

/// One level's worth of index entries being accumulated by the writer.
#[derive(Default, Debug)]
pub struct IndexChunk {
    entries: Vec<(Vec<u8>, u64, u32)>,
    /// Cumulative count of sub-entries (leaf entries) up to and including each entry.
    sub_entries: Vec<u64>,
    non_root_size: usize,
    root_size: usize,
}

impl IndexChunk {
    /// Adds an entry; `sub_entries_total` is the running leaf-entry count (or `None`).
    pub fn add(&mut self, key: Vec<u8>, offset: u64, size: u32, sub_entries_total: Option<u64>) {
        self.non_root_size += 4 + 12 + key.len();
        self.root_size += 12 + vlong_size(key.len() as i64) + key.len();
        self.entries.push((key, offset, size));
        if let Some(t) = sub_entries_total {
            self.sub_entries.push(t);
        }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True if empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Serialized size in non-root format.
    pub fn non_root_size(&self) -> usize {
        4 + 4 + self.non_root_size
    }

    /// Serialized size in root format.
    pub fn root_size(&self) -> usize {
        self.root_size
    }

    /// First key of the chunk.
    pub fn first_key(&self) -> Option<&[u8]> {
        self.entries.first().map(|e| e.0.as_slice())
    }

    /// Writes the chunk in root format.
    pub fn write_root(&self, out: &mut Vec<u8>) {
        for (key, offset, size) in &self.entries {
            out.extend_from_slice(&(*offset as i64).to_be_bytes());
            out.extend_from_slice(&(*size as i32).to_be_bytes());
            write_byte_array(out, key);
        }
    }

    /// Writes the chunk in non-root format.
    pub fn write_non_root(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&(self.entries.len() as i32).to_be_bytes());
        let mut rel = 0i32;
        for (key, _, _) in &self.entries {
            out.extend_from_slice(&rel.to_be_bytes());
            rel += 12 + key.len() as i32;
        }
        out.extend_from_slice(&rel.to_be_bytes());
        for (key, offset, size) in &self.entries {
            out.extend_from_slice(&(*offset as i64).to_be_bytes());
            out.extend_from_slice(&(*size as i32).to_be_bytes());
            out.extend_from_slice(key);
        }
    }

    /// Mid-key metadata for a root chunk whose entries point at leaf blocks.
    pub fn mid_key_metadata(&self) -> Option<[u8; MID_KEY_METADATA_SIZE]> {
        let total = *self.sub_entries.last()?;
        if total == 0 {
            return None;
        }
        let mid = (total - 1) / 2;
        // First entry whose cumulative count exceeds `mid`.
        let i = self.sub_entries.partition_point(|&c| c <= mid);
        let (_, offset, size) = self.entries.get(i)?;
        let before = if i > 0 { self.sub_entries[i - 1] } else { 0 };
        let mut out = [0u8; MID_KEY_METADATA_SIZE];
        out[..8].copy_from_slice(&(*offset as i64).to_be_bytes());
        out[8..12].copy_from_slice(&(*size as i32).to_be_bytes());
        out[12..].copy_from_slice(&((mid - before) as i32).to_be_bytes());
        Some(out)
    }

    /// Takes the entries out, leaving the chunk empty.
    pub fn take(&mut self) -> Vec<(Vec<u8>, u64, u32)> {
        self.non_root_size = 0;
        self.root_size = 0;
        self.sub_entries.clear();
        std::mem::take(&mut self.entries)
    }
}
