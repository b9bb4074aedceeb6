//! Seeks and point gets against a sorted model, across many data block boundaries: with a
//! block cache (NONE-encoded blocks are then searched by binary search over the cell offsets
//! cached with each block) and without one (cell by cell), for both encodings, with and
//! without memstore timestamps and with tags.

use std::cmp::Ordering;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use hfile::cell::{first_on_row, last_on_row, make_key, CellView};
use hfile::{
    BlockCache, Cell, CellType, Comparator, Compression, DataBlockEncoding, Reader, Writer,
    WriterOptions,
};

/// Rows `r000000`, `r000002`, … (odd numbers are absent), one to three columns each, values
/// of varying length, tags on every fifth cell, distinct sequence ids.
fn model(rows: usize) -> Vec<Cell> {
    let mut out = Vec::new();
    for i in 0..rows {
        let row = format!("r{:06}", 2 * i);
        for q in 0..=(i % 3) {
            let n = out.len();
            let mut c = Cell::put(
                Bytes::from(row.clone()),
                &b"f"[..],
                Bytes::from(format!("q{q}")),
                1_000 + (i % 7) as i64,
                Bytes::from(vec![b'a' + (n % 26) as u8; (n * 37) % 90]),
            );
            if n % 5 == 0 {
                c.tags = Bytes::from(vec![1, 0, 2, b't']);
            }
            c.seq_id = n as u64 + 1;
            out.push(c);
        }
    }
    out
}

fn write(path: &Path, cells: &[Cell], encoding: DataBlockEncoding, mvcc: bool) -> u64 {
    let opts = WriterOptions {
        block_size: 1024,
        index_chunk_size: 512,
        encoding,
        compression: Compression::Lz4,
        include_mvcc: mvcc,
        ..WriterOptions::default()
    };
    write_with(path, cells, opts)
}

/// Writes `cells` with `opts`; returns the number of data blocks.
fn write_with(path: &Path, cells: &[Cell], opts: WriterOptions) -> u64 {
    let mut w = Writer::create(path, opts).unwrap();
    for c in cells {
        w.append(c).unwrap();
    }
    w.finish().unwrap().data_blocks
}

/// The index of the first model cell whose key is ≥ `key`.
fn first_not_less(keys: &[Vec<u8>], key: &[u8]) -> usize {
    keys.partition_point(|k| Comparator::Default.compare_keys(k, key) == Ordering::Less)
}

fn check_seek(s: &mut hfile::Scanner, keys: &[Vec<u8>], key: &[u8], what: &str) {
    let want = first_not_less(keys, key);
    let found = s.seek(key).unwrap();
    assert_eq!(found, want < keys.len(), "{what}: seek result");
    match keys.get(want) {
        Some(k) => assert_eq!(s.current().unwrap().key(), k.as_slice(), "{what}"),
        None => assert!(s.current().is_none(), "{what}: positioned past the end"),
    }
}

/// Every row found with exactly its cells, absent rows not found, and seeks to every key,
/// to keys between keys and to absent rows land on the first cell at or after them.
fn check_reader(r: &Arc<Reader>, cells: &[Cell], mvcc: bool, what: &str) {
    let expected: Vec<Cell> = cells
        .iter()
        .map(|c| Cell {
            seq_id: if mvcc { c.seq_id } else { 0 },
            ..c.clone()
        })
        .collect();
    let keys: Vec<Vec<u8>> = cells.iter().map(|c| c.key_bytes()).collect();
    // Gets, twice (the second pass finds every block cached with its offsets).
    for pass in 0..2 {
        let mut i = 0;
        while i < expected.len() {
            let row = &expected[i].row;
            let n = expected[i..].iter().take_while(|c| c.row == *row).count();
            let got = r.get_row(row).unwrap();
            assert_eq!(got, &expected[i..i + n], "{what} pass {pass}: get {row:?}");
            // Rows just after this one are absent: the next odd number, and a longer row.
            let number: usize = std::str::from_utf8(&row[1..]).unwrap().parse().unwrap();
            let odd = format!("r{:06}", number + 1);
            assert!(
                r.get_row(odd.as_bytes()).unwrap().is_empty(),
                "{what}: {odd}"
            );
            let longer = [&row[..], b"0"].concat();
            assert!(r.get_row(&longer).unwrap().is_empty(), "{what}: {longer:?}");
            i += n;
        }
        for absent in [&b"a"[..], b"r", b"r0000001", b"r999999", b"s"] {
            assert!(r.get_row(absent).unwrap().is_empty(), "{what}: {absent:?}");
        }
    }
    // One scanner for everything: forward reseeks within a block, jumps back, block changes.
    let mut s = r.scanner();
    for (i, c) in cells.iter().enumerate() {
        check_seek(&mut s, &keys, &keys[i], &format!("{what}: key {i}"));
        // Same column, an older timestamp: strictly between this cell and the next one.
        let between = make_key(
            &c.row,
            &c.family,
            &c.qualifier,
            c.timestamp - 1,
            CellType::Put,
        );
        check_seek(&mut s, &keys, &between, &format!("{what}: after key {i}"));
        check_seek(
            &mut s,
            &keys,
            &last_on_row(&c.row),
            &format!("{what}: row end {i}"),
        );
        if i % 7 == 0 {
            let back = i / 2;
            check_seek(
                &mut s,
                &keys,
                &keys[back],
                &format!("{what}: back to {back}"),
            );
        }
    }
    for i in (0..cells.len()).step_by(3).rev() {
        check_seek(&mut s, &keys, &keys[i], &format!("{what}: backwards {i}"));
    }
    for row in ["a", "r000001", "r000101", "r001235", "r999999", "s"] {
        let key = first_on_row(row.as_bytes());
        check_seek(&mut s, &keys, &key, &format!("{what}: absent {row}"));
        check_seek(
            &mut r.scanner(),
            &keys,
            &key,
            &format!("{what}: fresh {row}"),
        );
    }
}

#[test]
fn gets_and_seeks_agree_with_the_model_across_block_boundaries() {
    let dir = tempfile::tempdir().unwrap();
    let cells = model(1500);
    for encoding in [DataBlockEncoding::None, DataBlockEncoding::FastDiff] {
        for mvcc in [true, false] {
            let path = dir.path().join(format!("{}-{mvcc}", encoding.name()));
            let blocks = write(&path, &cells, encoding, mvcc);
            assert!(blocks > 50, "{blocks} data blocks");
            let uncached = Reader::open(&path, None).unwrap();
            assert!(uncached.trailer().num_data_index_levels >= 2);
            let what = format!("{} mvcc={mvcc}", encoding.name());
            check_reader(&uncached, &cells, mvcc, &format!("{what} uncached"));
            // A cache big enough for the file, and one so small blocks keep being evicted
            // (and cached again without, then with, their cell offsets).
            for capacity in [64 << 20, 8 << 10] {
                let cache = BlockCache::new(capacity);
                let r = Reader::open(&path, Some(cache.clone())).unwrap();
                // A scan first caches the data blocks without their cell offsets.
                assert_eq!(r.cells().count(), cells.len());
                check_reader(&r, &cells, mvcc, &format!("{what} cache {capacity}"));
                assert!(cache.stats().hits > 0, "{what}: the cache was used");
            }
        }
    }
}

#[test]
fn a_scanner_told_its_last_row_stops_where_the_index_shows_the_row_ends() {
    // Rows of one to three cells in 1 KiB blocks, many crossing a block boundary: a scanner
    // seeking a row with that row as its last one returns every cell of it (reading on into
    // the next block while the row continues there), and mostly stops at the end of the
    // block where the row ends instead of reading on to the end of the file.
    let dir = tempfile::tempdir().unwrap();
    let cells = model(1500);
    for encoding in [DataBlockEncoding::None, DataBlockEncoding::FastDiff] {
        let path = dir.path().join(encoding.name());
        write(&path, &cells, encoding, true);
        for cache in [None, Some(BlockCache::new(64 << 20))] {
            let r = Reader::open(&path, cache).unwrap();
            let mut stopped = 0;
            let mut from = 0;
            while from < cells.len() {
                let row = cells[from].row.clone();
                let n = cells[from..].iter().take_while(|c| c.row == row).count();
                let mut s = r.scanner();
                s.set_last_row(row.clone());
                let (mut seen, mut visited) = (Vec::new(), 0);
                let mut more = s.seek(&first_on_row(&row)).unwrap();
                while more {
                    let c = s.current().unwrap().to_cell();
                    if c.row == row {
                        seen.push(c);
                    }
                    visited += 1;
                    more = s.next().unwrap();
                }
                assert_eq!(
                    seen,
                    cells[from..from + n],
                    "{} row {row:?}",
                    encoding.name()
                );
                stopped += usize::from(visited < cells.len() - from);
                from += n;
            }
            let rows = 1500;
            assert!(
                stopped > rows * 9 / 10,
                "stopped early for {stopped} of {rows} rows"
            );
        }
    }
}

#[test]
fn seeks_in_cached_blocks_find_the_first_of_duplicate_keys() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dups");
    let mut w = Writer::create(&path, WriterOptions::default()).unwrap();
    let mut cells = Vec::new();
    for row in [&b"a"[..], b"b", b"c"] {
        // Ten copies of one key (newest sequence id first), all in one 64 KiB block.
        for seq in (1..=10u64).rev() {
            let mut c = Cell::put(row, &b"f"[..], &b"q"[..], 5, vec![b'v'; 30]);
            c.seq_id = seq;
            w.append(&c).unwrap();
            cells.push(c);
        }
    }
    w.finish().unwrap();
    let r = Reader::open(&path, Some(BlockCache::new(1 << 20))).unwrap();
    assert_eq!(r.root_index().len(), 1);
    for _ in 0..2 {
        let mut s = r.scanner();
        let key = make_key(b"b", b"f", b"q", 5, CellType::Put);
        assert!(s.seek(&key).unwrap());
        assert_eq!(s.current().unwrap().seq_id(), 10);
        // A forward reseek to the same key from a later copy stays put, as a scan would.
        assert!(s.next().unwrap() && s.next().unwrap());
        assert!(s.seek(&key).unwrap());
        assert_eq!(s.current().unwrap().seq_id(), 8);
        assert_eq!(r.get_row(b"b").unwrap(), &cells[10..20]);
        assert_eq!(r.get_row(b"c").unwrap(), &cells[20..30]);
        assert!(r.get_row(b"bb").unwrap().is_empty());
    }
}

#[test]
fn get_row_cells_share_one_buffer_but_keep_their_own_row_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("meta");
    // Under the catalog comparator `t,x` and `t,x,` are the same row (an empty region id),
    // so one get returns cells with different row bytes.
    let opts = WriterOptions {
        comparator: Comparator::Meta,
        bloom_type: hfile::BloomType::None,
        ..WriterOptions::default()
    };
    let mut w = Writer::create(&path, opts).unwrap();
    let cells = [
        Cell::put(&b"t,x"[..], &b"info"[..], &b"a"[..], 2, &b"one"[..]),
        Cell::put(&b"t,x,"[..], &b"info"[..], &b"b"[..], 2, &b""[..]),
        Cell::put(&b"t,x"[..], &b"info"[..], &b"c"[..], 1, &b"three"[..]),
        Cell::put(&b"t,y"[..], &b"info"[..], &b"a"[..], 1, &b"four"[..]),
    ];
    for c in &cells {
        w.append(c).unwrap();
    }
    w.finish().unwrap();
    for cache in [None, Some(BlockCache::new(1 << 20))] {
        let r = Reader::open(&path, cache).unwrap();
        let got = r.get_row(b"t,x").unwrap();
        let want: Vec<Cell> = cells[..3]
            .iter()
            .map(|c| Cell {
                seq_id: 0,
                ..c.clone()
            })
            .collect();
        assert_eq!(got, want);
        assert_eq!(r.get_row(b"t,y").unwrap(), &cells[3..]);
    }
}

#[test]
fn bloom_checks_keep_their_chunks_out_of_the_block_cache() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bloom");
    let rows = 3_000;
    write(&path, &model(rows), DataBlockEncoding::None, true);
    let cache = BlockCache::new(1 << 20);
    let r = Reader::open(&path, Some(cache.clone())).unwrap();
    let chunks = r.bloom_meta().map_or(0, |m| m.chunks.len()) as u64;
    assert!(chunks > 0);
    let row = |i: usize| format!("r{i:06}");
    for _ in 0..2 {
        for i in 0..rows {
            assert!(
                r.may_contain_row(row(2 * i).as_bytes()).unwrap(),
                "{}",
                row(2 * i)
            );
        }
    }
    let absent = (0..rows)
        .filter(|i| !r.may_contain_row(row(2 * i + 1).as_bytes()).unwrap())
        .count();
    assert!(
        absent > rows * 9 / 10,
        "{absent} of {rows} absent rows ruled out"
    );
    // Each chunk was read once, and none went through the cache.
    let read = r
        .stats()
        .blocks_read
        .load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(read, chunks);
    let st = cache.stats();
    assert_eq!((st.hits, st.misses, st.used_bytes), (0, 0, 0));
}

#[test]
fn cached_blocks_weigh_the_memory_they_hold_beyond_the_file() {
    // An uncompressed block is a slice of the mapped file: its cache entry weighs its
    // derived cell offsets and bookkeeping only. A compressed block weighs the data it was
    // decompressed into.
    let dir = tempfile::tempdir().unwrap();
    let cells = model(1500);
    for compression in [Compression::None, Compression::Lz4] {
        let path = dir.path().join(compression.name());
        let opts = WriterOptions {
            block_size: 1024,
            compression,
            ..WriterOptions::default()
        };
        write_with(&path, &cells, opts);
        let cache = BlockCache::new(64 << 20);
        let r = Reader::open(&path, Some(cache.clone())).unwrap();
        // Two passes of gets: the first reads the blocks, the second builds their offsets.
        for _ in 0..2 {
            for c in cells.iter().step_by(3) {
                assert!(!r.get_row(&c.row).unwrap().is_empty());
            }
        }
        let used = cache.stats().used_bytes;
        let file = r.trailer().total_uncompressed_bytes;
        match compression {
            Compression::None => assert!(used * 2 < file, "used {used} of {file}"),
            _ => assert!(used > file, "used {used} of {file}"),
        }
        // A mapped block's entry keeps its file mapped: the reader's blocks leave with it.
        drop(r);
        assert_eq!(cache.stats().used_bytes, 0);
    }
}
