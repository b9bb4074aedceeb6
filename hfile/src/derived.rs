//! What a reader derives from a block's bytes once and keeps with the block in the cache,
//! so that point lookups do not redo it on every hit:
//!
//! * non-root index blocks are validated entry by entry once ([`Derived::ValidIndex`]); later
//!   lookups binary-search them through the O(1) [`NonRootIndex::view`];
//! * NONE-encoded data blocks get an array of cell start offsets ([`CellOffsets`]), so a seek
//!   inside the block is a binary search instead of decoding cells one by one. The file
//!   format is unchanged: the array is built from the block's cells when a seek finds the
//!   block in the cache (a block read once and evicted never pays for it).
//!
//! [`NonRootIndex::view`]: crate::index::NonRootIndex::view

use std::cmp::Ordering;
use std::sync::Arc;

use crate::cell::Comparator;
use crate::encoding::{BlockCursor, CellFormat, DataBlockEncoding, DecodeError};
use crate::varint::be_i32;

/// Data derived from a block once and cached with it.
#[derive(Clone, Debug, Default)]
pub enum Derived {
    /// Nothing derived yet (a block fresh from the file, or cached by a scan).
    #[default]
    None,
    /// A non-root index block whose every entry offset `NonRootIndex::parse` accepted.
    ValidIndex,
    /// The cell start offsets of a NONE-encoded data block.
    CellOffsets(Arc<CellOffsets>),
    /// A data block seeks walk cell by cell: FAST_DIFF (cells depend on their predecessor),
    /// or a block whose cells did not all decode (the walk reports where).
    Linear,
}

impl Derived {
    /// Heap bytes held, for the block cache's weight.
    pub fn heap_bytes(&self) -> u64 {
        match self {
            Derived::CellOffsets(o) => o.heap_bytes(),
            _ => 0,
        }
    }
}

/// Start offsets of the cells of one NONE-encoded data block, in block order.
///
/// Built by decoding every cell with the same checks as a scan, so each offset is the start
/// of a well-formed cell of the block it was built from. Lookups are still bounds-checked and
/// give `None` rather than panicking if handed another block.
#[derive(Debug)]
pub struct CellOffsets {
    starts: Box<[u32]>,
}

impl CellOffsets {
    /// Decodes every cell of `block` (encoding NONE) and records where each starts.
    pub fn build(block: &[u8], format: CellFormat) -> Result<CellOffsets, DecodeError> {
        let mut cursor = BlockCursor::new(DataBlockEncoding::None, format);
        // KeyValue infrastructure is 8 (lengths) + 12 (key) bytes; real cells are larger.
        let mut starts = Vec::with_capacity(block.len() / 64 + 1);
        let mut more = cursor.rewind(block)?;
        while more {
            let start = u32::try_from(cursor.cell_start()).map_err(|_| DecodeError {
                pos: cursor.cell_start(),
                reason: "cell offset beyond 4 GiB",
            })?;
            starts.push(start);
            more = cursor.advance(block)?;
        }
        Ok(CellOffsets {
            starts: starts.into_boxed_slice(),
        })
    }

    /// Number of cells.
    pub fn len(&self) -> usize {
        self.starts.len()
    }

    /// True if the block has no cells.
    pub fn is_empty(&self) -> bool {
        self.starts.is_empty()
    }

    /// Where cell `i` starts; `None` past the last cell.
    pub fn start(&self, i: usize) -> Option<usize> {
        self.starts.get(i).map(|&s| s as usize)
    }

    /// Index of the cell starting at byte `start`, if one does.
    pub fn index_of(&self, start: usize) -> Option<usize> {
        let start = u32::try_from(start).ok()?;
        self.starts.binary_search(&start).ok()
    }

    /// The key of cell `i` of `block`; `None` if `i` is out of range or the bytes there do
    /// not hold a key.
    pub fn key<'a>(&self, block: &'a [u8], i: usize) -> Option<&'a [u8]> {
        let start = self.start(i)?;
        let klen = usize::try_from(be_i32(block, start)?).ok()?;
        let kstart = start.checked_add(8)?;
        block.get(kstart..kstart.checked_add(klen)?)
    }

    /// Index of the first cell at or after `from` whose key is ≥ `key` (`len()` if none is),
    /// by binary search. `None` if a key could not be read.
    pub fn search(&self, block: &[u8], from: usize, key: &[u8], cmp: Comparator) -> Option<usize> {
        let (mut lo, mut hi) = (from.min(self.len()), self.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if cmp.compare_keys(self.key(block, mid)?, key) == Ordering::Less {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        Some(lo)
    }

    /// Heap bytes held.
    pub fn heap_bytes(&self) -> u64 {
        (self.starts.len() * std::mem::size_of::<u32>()) as u64 + 32
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cell::{make_key, CellType};

    fn block(rows: &[&str], format: CellFormat) -> Vec<u8> {
        let mut out = Vec::new();
        for r in rows {
            let key = make_key(r.as_bytes(), b"f", b"q", 1, CellType::Put);
            out.extend_from_slice(&(key.len() as i32).to_be_bytes());
            out.extend_from_slice(&3i32.to_be_bytes());
            out.extend_from_slice(&key);
            out.extend_from_slice(b"val");
            if format.tags {
                out.extend_from_slice(&0u16.to_be_bytes());
            }
            if format.mvcc {
                out.push(7);
            }
        }
        out
    }

    #[test]
    fn offsets_point_at_every_cell_and_search_finds_the_first_not_less() {
        for (tags, mvcc) in [(false, false), (true, true), (false, true)] {
            let format = CellFormat { tags, mvcc };
            let b = block(&["b", "d", "f", "h"], format);
            let o = CellOffsets::build(&b, format).unwrap();
            assert_eq!(o.len(), 4);
            assert_eq!(o.start(0), Some(0));
            assert_eq!(o.index_of(o.start(2).unwrap()), Some(2));
            assert_eq!(o.index_of(1), None);
            let probe = |row: &str, from: usize| {
                let k = make_key(row.as_bytes(), b"f", b"q", 1, CellType::Put);
                o.search(&b, from, &k, Comparator::Default).unwrap()
            };
            assert_eq!(probe("a", 0), 0);
            assert_eq!(probe("b", 0), 0);
            assert_eq!(probe("c", 0), 1);
            assert_eq!(probe("h", 0), 3);
            assert_eq!(probe("i", 0), 4);
            assert_eq!(probe("a", 2), 2);
            assert_eq!(probe("a", 9), 4);
            let k = o.key(&b, 1).unwrap();
            assert_eq!(&k[2..3], b"d");
        }
    }

    /// Writes 2000 cells in 1 KiB blocks and opens the file with a cache.
    fn cached_reader(
        dir: &std::path::Path,
        encoding: DataBlockEncoding,
    ) -> (Arc<crate::Reader>, Arc<crate::BlockCache>) {
        let path = dir.join(encoding.name());
        let opts = crate::WriterOptions {
            block_size: 1024,
            index_chunk_size: 256,
            encoding,
            ..Default::default()
        };
        let mut w = crate::Writer::create(&path, opts).unwrap();
        for i in 0..2000 {
            let row = format!("row{i:05}");
            w.append(&crate::Cell::put(
                row.into_bytes(),
                &b"f"[..],
                &b"q"[..],
                1,
                &b"v"[..],
            ))
            .unwrap();
        }
        w.finish().unwrap();
        let cache = crate::BlockCache::new(1 << 20);
        (
            crate::Reader::open(&path, Some(cache.clone())).unwrap(),
            cache,
        )
    }

    #[test]
    fn seeks_cache_validated_index_blocks_and_data_blocks_with_their_offsets() {
        let dir = tempfile::tempdir().unwrap();
        let (r, cache) = cached_reader(dir.path(), DataBlockEncoding::None);
        assert!(r.trailer().num_data_index_levels >= 2);
        let key = crate::cell::first_on_row(b"row01234");
        let mut s = r.scanner();
        assert!(s.seek(&key).unwrap());
        // The seek that reads a data block from the file walks it; the next one builds
        // its offsets.
        assert!(!s.has_cell_offsets());
        let mut s = r.scanner();
        assert!(s.seek(&key).unwrap());
        assert!(s.has_cell_offsets());
        let leaf = r.root_index()
            [crate::index::search_root(r.root_index(), &key, Comparator::Default).unwrap()]
        .offset;
        let cached = |offset: u64| cache.get(&(r.id(), offset)).unwrap().derived;
        assert!(matches!(cached(leaf), Derived::ValidIndex));
        let data = r.locate(&key).unwrap().unwrap();
        assert!(matches!(cached(data), Derived::CellOffsets(_)));
        // A scan reuses cached offsets but does not build them.
        let mut scan = r.scanner();
        assert!(scan.seek_to_first().unwrap());
        assert!(!scan.has_cell_offsets());
        // FAST_DIFF blocks are walked cell by cell.
        let (r, cache) = cached_reader(dir.path(), DataBlockEncoding::FastDiff);
        for _ in 0..2 {
            let mut s = r.scanner();
            assert!(s.seek(&key).unwrap());
            assert!(!s.has_cell_offsets());
        }
        let data = r.locate(&key).unwrap().unwrap();
        assert!(matches!(
            cache.get(&(r.id(), data)).unwrap().derived,
            Derived::Linear
        ));
    }

    #[test]
    fn a_malformed_cell_fails_the_build_and_foreign_bytes_give_none() {
        let format = CellFormat {
            tags: false,
            mvcc: false,
        };
        let mut b = block(&["a", "b"], format);
        b.truncate(b.len() - 1);
        assert!(CellOffsets::build(&b, format).is_err());
        let good = block(&["a", "b"], format);
        let o = CellOffsets::build(&good, format).unwrap();
        // Offsets of one block applied to a shorter one: no panic, just `None`.
        assert_eq!(o.key(&good[..10], 1), None);
        assert_eq!(o.search(&good[..10], 0, b"x", Comparator::Default), None);
        assert_eq!(o.key(&good, 2), None);
    }
}
