//! What a reader derives from a block's bytes once and keeps with the block in the cache,
//! so that point lookups do not redo it on every hit:
//!
//! * non-root index blocks are validated entry by entry once ([`Derived::ValidIndex`]); later
//!   lookups binary-search them through the O(1) [`NonRootIndex::view`];
//! * NONE-encoded data blocks get an array of cell start offsets ([`CellOffsets`]), so a seek
//!   inside the block is a binary search instead of decoding cells one by one, and where
//!   each row starts, with a word of its key, so a seek from the block's start finds its row
//!   without reading the block's other rows. The file format is unchanged: the arrays are
//!   built from the block's cells when a seek finds the block in the cache (a block read
//!   once and evicted never pays for it).
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
    rows: RowStarts,
}

/// Where each row of a block begins, for a seek that searches rows before cells: a block of
/// 1 KiB rows holds ten times fewer rows than cells, and the rows are compared through a
/// word kept here rather than read from the block (each read of the block during a search
/// is a cache and TLB miss on a page of the mapped file; the entries of 64 rows fit in 16
/// cache lines).
#[derive(Debug, Default)]
struct RowStarts {
    /// The row prefix every row of the block shares, up to [`PREFIX_MAX`] bytes (kept here
    /// so a search does not read the block's first row for it).
    prefix: [u8; PREFIX_MAX],
    /// Its length.
    prefix_len: usize,
    /// One entry per row, in block order.
    rows: Box<[RowStart]>,
}

/// Where one row of a block starts, and its word.
#[derive(Clone, Copy, Debug)]
struct RowStart {
    /// The 8 row bytes after the shared prefix, zero-padded, big-endian: if two rows' words
    /// differ they order as the rows do; equal words say nothing.
    word: u64,
    /// Index of the row's first cell.
    cell: u32,
    /// Where that cell starts in the block (beside the word: no second miss for it).
    start: u32,
}

/// The longest shared row prefix [`RowStarts`] keeps; rows sharing a longer one get equal
/// words, and a search among them reads rows from the block.
const PREFIX_MAX: usize = 24;

/// The word of `row` after its first `prefix_len` bytes (see [`RowStart::word`]).
#[inline]
fn row_word(row: &[u8], prefix_len: usize) -> u64 {
    let tail = row.get(prefix_len..).unwrap_or_default();
    let mut w = [0u8; 8];
    let n = tail.len().min(8);
    w[..n].copy_from_slice(&tail[..n]);
    u64::from_be_bytes(w)
}

/// Asks the CPU to load `bytes` (a row a seek found) at once: the seek's caller reads them
/// next, and walking them cell by cell would meet each cache line's miss only after the
/// previous cell's lengths were read.
#[inline]
fn prefetch(bytes: &[u8]) {
    #[cfg(target_arch = "x86_64")]
    for line in bytes.chunks(64) {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        // SAFETY: a prefetch is a hint; it never faults and reads nothing into the program,
        // and `line` is a live slice anyway.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(line.as_ptr().cast::<i8>()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = bytes;
}

/// The row of the cell starting at `start` in `block`.
#[inline]
fn row_at(block: &[u8], start: usize) -> Option<&[u8]> {
    let kstart = start.checked_add(8)?;
    let len = u16::from_be_bytes([*block.get(kstart)?, *block.get(kstart + 1)?]);
    block.get(kstart + 2..kstart + 2 + usize::from(len))
}

impl CellOffsets {
    /// Decodes every cell of `block` (encoding NONE) and records where each starts.
    pub fn build(block: &[u8], format: CellFormat) -> Result<CellOffsets, DecodeError> {
        let mut cursor = BlockCursor::new(DataBlockEncoding::None, format);
        // KeyValue infrastructure is 8 (lengths) + 12 (key) bytes; real cells are larger.
        let mut starts = Vec::with_capacity(block.len() / 64 + 1);
        let mut firsts: Vec<u32> = Vec::new();
        let mut more = cursor.rewind(block)?;
        let mut prev_row: &[u8] = &[];
        while more {
            let start = u32::try_from(cursor.cell_start()).map_err(|_| DecodeError {
                pos: cursor.cell_start(),
                reason: "cell offset beyond 4 GiB",
            })?;
            let row = row_at(block, cursor.cell_start()).ok_or(DecodeError {
                pos: cursor.cell_start(),
                reason: "cell key without a row",
            })?;
            if starts.is_empty() || row != prev_row {
                firsts.push(starts.len() as u32);
                prev_row = row;
            }
            starts.push(start);
            more = cursor.advance(block)?;
        }
        let row = |i: &u32| row_at(block, starts[*i as usize] as usize).unwrap_or_default();
        let first = firsts.first().map(row).unwrap_or_default();
        let prefix_len = firsts
            .iter()
            .map(row)
            .fold(first.len().min(PREFIX_MAX), |n, r| {
                n.min(first.iter().zip(r).take_while(|(a, b)| a == b).count())
            });
        let mut prefix = [0; PREFIX_MAX];
        prefix[..prefix_len].copy_from_slice(&first[..prefix_len]);
        let rows = firsts
            .iter()
            .map(|i| RowStart {
                word: row_word(row(i), prefix_len),
                cell: *i,
                start: starts[*i as usize],
            })
            .collect();
        Ok(CellOffsets {
            rows: RowStarts {
                prefix,
                prefix_len,
                rows,
            },
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
        self.key_at(block, self.start(i)?)
    }

    /// The key of the cell starting at byte `start` of `block`.
    fn key_at<'a>(&self, block: &'a [u8], start: usize) -> Option<&'a [u8]> {
        let klen = usize::try_from(be_i32(block, start)?).ok()?;
        let kstart = start.checked_add(8)?;
        block.get(kstart..kstart.checked_add(klen)?)
    }

    /// Index of the first cell at or after `from` whose key is ≥ `key` (`len()` if none is),
    /// by binary search. `None` if a key could not be read.
    pub fn search(&self, block: &[u8], from: usize, key: &[u8], cmp: Comparator) -> Option<usize> {
        if from == 0 && cmp == Comparator::Default {
            return self.search_rows(block, key);
        }
        self.search_cells(block, from, self.len(), key, cmp)
    }

    /// [`search`](Self::search) from the first cell, in row order: finds the sought row
    /// among the row words, then the cell among that row's cells.
    fn search_rows(&self, block: &[u8], key: &[u8]) -> Option<usize> {
        let RowStarts {
            prefix,
            prefix_len,
            rows,
        } = &self.rows;
        let sought = crate::cell::key_row(key)?;
        if rows.is_empty() {
            return Some(0);
        }
        let prefix = &prefix[..*prefix_len];
        if !sought.starts_with(prefix) {
            // Every row of the block starts with `prefix`.
            return Some(if sought < prefix { 0 } else { self.len() });
        }
        let word = row_word(sought, *prefix_len);
        // The row's order against row `r`'s, by word when the words differ.
        let order = |r: &RowStart| -> Option<Ordering> {
            if r.word != word {
                return Some(r.word.cmp(&word));
            }
            Some(row_at(block, r.start as usize)?.cmp(sought))
        };
        let (mut lo, mut hi) = (0, rows.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if order(&rows[mid])? == Ordering::Less {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        let (found, next) = (rows.get(lo), rows.get(lo + 1));
        let first_cell = |r: Option<&RowStart>| r.map_or(self.len(), |r| r.cell as usize);
        let found = match found {
            Some(r) if order(r)? == Ordering::Equal => r,
            // No row of the block is the sought one: the next row starts the answer.
            other => return Some(first_cell(other)),
        };
        let (begin, end) = (
            found.start as usize,
            next.map_or(block.len(), |r| r.start as usize),
        );
        prefetch(block.get(begin..end.min(begin + 4096))?);
        // A seek to the start of a row stops at its first cell, already in the cache.
        let first_key = self.key_at(block, begin)?;
        if Comparator::Default.compare_keys(first_key, key) != Ordering::Less {
            return Some(found.cell as usize);
        }
        let cell = found.cell as usize;
        self.search_cells(block, cell + 1, first_cell(next), key, Comparator::Default)
    }

    /// Index of the first cell in `[from, to)` whose key is ≥ `key` (`to` if none is).
    fn search_cells(
        &self,
        block: &[u8],
        from: usize,
        to: usize,
        key: &[u8],
        cmp: Comparator,
    ) -> Option<usize> {
        let (mut lo, mut hi) = (from.min(to), to.min(self.len()));
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
        let rows = &self.rows;
        (std::mem::size_of_val(&*self.starts) + std::mem::size_of_val(&*rows.rows)) as u64 + 64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cell::{make_key, CellType};
    use proptest::prelude::*;

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

    /// A NONE block holding one cell per key (keys in order).
    fn block_of(keys: &[Vec<u8>]) -> Vec<u8> {
        let mut out = Vec::new();
        for key in keys {
            out.extend_from_slice(&(key.len() as i32).to_be_bytes());
            out.extend_from_slice(&1i32.to_be_bytes());
            out.extend_from_slice(key);
            out.push(b'v');
        }
        out
    }

    /// Rows over a small alphabet with zero bytes, long shared prefixes and tails longer
    /// than a row word, so the words tie and pad.
    fn rows() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(prop::sample::select(vec![0u8, 1, b'a', 0xff]), 0..14)
    }

    /// A row, a qualifier, a timestamp, and whether the key seeks to the row's start.
    type KeyParts = (Vec<u8>, Vec<u8>, i64, bool);

    /// Qualifiers of 0–2 bytes and small timestamps.
    fn key_parts() -> impl Strategy<Value = KeyParts> {
        (
            rows(),
            proptest::collection::vec(0u8..3, 0..3),
            0i64..3,
            any::<bool>(),
        )
    }

    /// The key of `parts` with `pad` leading `p`s on its row (a shared prefix longer than
    /// [`PREFIX_MAX`] when `pad` exceeds it).
    fn key((row, q, ts, first): &KeyParts, pad: usize) -> Vec<u8> {
        let row = [vec![b'p'; pad], row.clone()].concat();
        if *first {
            crate::cell::first_on_row(&row)
        } else {
            make_key(&row, b"f", q, *ts, CellType::Put)
        }
    }

    proptest! {
        /// The row-first search finds the same cell as a plain binary search over cells.
        #[test]
        fn row_search_agrees_with_cell_search(
            pad in prop::sample::select(vec![0usize, 20, 30]),
            cells in proptest::collection::vec(key_parts(), 1..80),
            probes in proptest::collection::vec(key_parts(), 1..40),
        ) {
            let cmp = Comparator::Default;
            let mut cells: Vec<Vec<u8>> = cells.iter().map(|k| key(k, pad)).collect();
            cells.sort_by(|a, b| cmp.compare_keys(a, b));
            cells.dedup();
            let b = block_of(&cells);
            let format = CellFormat { tags: false, mvcc: false };
            let o = CellOffsets::build(&b, format).unwrap();
            let probes: Vec<Vec<u8>> = probes
                .iter()
                .flat_map(|k| [key(k, pad), key(k, 0)])
                .collect();
            for p in probes.iter().chain(&cells) {
                let want = o.search_cells(&b, 0, o.len(), p, cmp).unwrap();
                prop_assert_eq!(o.search(&b, 0, p, cmp), Some(want));
                let first_not_less = cells.iter().position(|c| cmp.compare_keys(c, p).is_ge());
                prop_assert_eq!(want, first_not_less.unwrap_or(cells.len()));
            }
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
