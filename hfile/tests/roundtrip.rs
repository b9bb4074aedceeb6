//! Round-trip property tests: random cells written with every option combination read back
//! exactly; seeks, point gets, Bloom filters and the mid key agree with a sorted model.

use std::cmp::Ordering;

use bytes::Bytes;
use hfile::cell::{first_on_row, CellView};
use hfile::{
    BloomType, Cell, CellType, Comparator, Compression, DataBlockEncoding, Reader, Writer,
    WriterOptions,
};
use proptest::prelude::*;

const TYPES: [CellType; 5] = [
    CellType::Put,
    CellType::Delete,
    CellType::DeleteColumn,
    CellType::DeleteFamily,
    CellType::DeleteFamilyVersion,
];

fn arb_cell() -> impl Strategy<Value = Cell> {
    (
        prop_oneof![
            3 => proptest::collection::vec(any::<u8>(), 1..24),
            1 => proptest::collection::vec(prop_oneof![Just(b'a'), Just(b'b'), Just(0u8), Just(0xffu8)], 1..4),
        ],
        proptest::collection::vec(any::<u8>(), 0..12),
        prop_oneof![Just(i64::MAX), Just(0i64), Just(-5i64), 0i64..2_000_000_000_000i64],
        0usize..5,
        prop_oneof![3 => proptest::collection::vec(any::<u8>(), 0..200), 1 => Just(Vec::new())],
        prop_oneof![4 => Just(Vec::new()), 1 => proptest::collection::vec(any::<u8>(), 1..20)],
        any::<u64>(),
    )
        .prop_map(|(row, qual, ts, t, value, tags, seq)| Cell {
            row: Bytes::from(row),
            family: Bytes::from_static(b"cf"),
            qualifier: Bytes::from(qual),
            timestamp: ts,
            type_code: TYPES[t].code(),
            value: Bytes::from(value),
            tags: Bytes::from(tags),
            seq_id: seq % (1 << 40),
        })
}

fn sorted_unique(mut cells: Vec<Cell>) -> Vec<Cell> {
    cells.sort_by(|a, b| Comparator::Default.compare_cells(a, b));
    cells.dedup_by(|a, b| Comparator::Default.compare_cells(a, b) == Ordering::Equal);
    cells
}

fn options() -> impl Strategy<Value = WriterOptions> {
    (
        prop_oneof![
            Just(Compression::None),
            Just(Compression::Gz),
            Just(Compression::Lz4)
        ],
        prop_oneof![
            Just(DataBlockEncoding::None),
            Just(DataBlockEncoding::FastDiff)
        ],
        prop_oneof![
            Just(BloomType::None),
            Just(BloomType::Row),
            Just(BloomType::RowCol)
        ],
        prop_oneof![Just(64usize), Just(512), Just(4096), Just(65536)],
        prop_oneof![Just(96usize), Just(1024), Just(128 * 1024)],
        prop_oneof![Just(1usize), Just(3)],
        any::<bool>(),
    )
        .prop_map(
            |(compression, encoding, bloom_type, block_size, index_chunk_size, threads, mvcc)| {
                WriterOptions {
                    compression,
                    encoding,
                    bloom_type,
                    block_size,
                    index_chunk_size,
                    compress_threads: threads,
                    include_mvcc: mvcc,
                    ..Default::default()
                }
            },
        )
}

fn write(cells: &[Cell], opts: WriterOptions) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.hfile");
    let mut w = Writer::create(&path, opts).unwrap();
    for c in cells {
        w.append(c).unwrap();
    }
    let summary = w.finish().unwrap();
    assert_eq!(summary.entries, cells.len() as u64);
    (dir, path)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn cells_round_trip_exactly(cells in proptest::collection::vec(arb_cell(), 0..400), opts in options(), probes in proptest::collection::vec(arb_cell(), 8)) {
        let cells = sorted_unique(cells);
        let mvcc = opts.include_mvcc;
        let bloom = opts.bloom_type;
        let (_dir, path) = write(&cells, opts);
        let r = Reader::open(&path, Some(hfile::BlockCache::new(1 << 20))).unwrap();
        let back: Vec<Cell> = r.cells().collect::<Result<_, _>>().unwrap();
        let expected: Vec<Cell> = cells.iter().map(|c| Cell { seq_id: if mvcc { c.seq_id } else { 0 }, ..c.clone() }).collect();
        prop_assert_eq!(&back, &expected);
        prop_assert_eq!(r.entry_count(), cells.len() as u64);
        prop_assert_eq!(r.first_key().map(|k| k.to_vec()), cells.first().map(|c| c.key_bytes()));
        prop_assert_eq!(r.last_key().map(|k| k.to_vec()), cells.last().map(|c| c.key_bytes()));
        // The writer's "one put per column" flag: only Puts, no column twice.
        let one_put = cells.iter().all(|c| c.type_code == CellType::Put.code())
            && cells.windows(2).all(|w| (&w[0].row, &w[0].qualifier) != (&w[1].row, &w[1].qualifier));
        prop_assert_eq!(r.one_put_per_column(), one_put);

        // Seeks land on the first cell >= the probe key.
        let mut s = r.scanner();
        for p in probes.iter().chain(cells.iter().step_by(37)) {
            let key = p.key_bytes();
            let want = cells.iter().find(|c| Comparator::Default.compare_keys(&c.key_bytes(), &key) != Ordering::Less);
            let found = s.seek(&key).unwrap();
            prop_assert_eq!(found, want.is_some());
            if let Some(w) = want {
                let wk = w.key_bytes();
                prop_assert_eq!(s.current().unwrap().key(), wk.as_slice());
            }
            // Seeking to the first key of a row and point gets.
            let row_cells: Vec<&Cell> = cells.iter().filter(|c| c.row == p.row).collect();
            let got = r.get_row(&p.row).unwrap();
            prop_assert_eq!(got.len(), row_cells.len());
            let mut s2 = r.scanner();
            prop_assert_eq!(s2.seek(&first_on_row(&p.row)).unwrap(), cells.iter().any(|c| c.row >= p.row));
        }
        // No false negatives from the Bloom filter.
        for c in &cells {
            prop_assert!(r.may_contain_row(&c.row).unwrap());
            prop_assert!(r.may_contain_row_col(&c.row, &c.qualifier).unwrap());
            if c.type_code == CellType::DeleteFamily.code() || c.type_code == CellType::DeleteFamilyVersion.code() {
                prop_assert!(r.may_contain_delete_family(&c.row).unwrap());
            }
        }
        prop_assert_eq!(r.bloom_type(), if cells.is_empty() { BloomType::None } else { bloom });
        // The mid key is one of the index keys and sorts within the file.
        if let Some(mid) = r.mid_key().unwrap() {
            let first = cells.first().unwrap().key_bytes();
            let last = cells.last().unwrap().key_bytes();
            prop_assert!(Comparator::Default.compare_keys(&mid, &first) != Ordering::Less);
            prop_assert!(Comparator::Default.compare_keys(&mid, &last) != Ordering::Greater);
        }
    }
}

#[test]
fn pipelined_compression_is_byte_identical() {
    let cells: Vec<Cell> = (0..20_000u32)
        .map(|i| {
            Cell::put(
                format!("row{i:08}").into_bytes(),
                &b"f"[..],
                &b"q"[..],
                1000 + i as i64,
                format!("value-{}", i % 97).into_bytes(),
            )
        })
        .collect();
    for compression in [Compression::Gz, Compression::Lz4] {
        let bytes: Vec<Vec<u8>> = [1usize, 4]
            .iter()
            .map(|&threads| {
                let opts = WriterOptions {
                    compression,
                    compress_threads: threads,
                    block_size: 4096,
                    ..Default::default()
                };
                let dir = tempfile::tempdir().unwrap();
                let path = dir.path().join("f");
                let mut w = Writer::create(&path, opts).unwrap();
                // A fixed creation time: the only field that would differ run to run.
                w.append_file_info(
                    hfile::fileinfo::keys::CREATE_TIME_KEY,
                    42i64.to_be_bytes().to_vec(),
                );
                for c in &cells {
                    w.append(c).unwrap();
                }
                w.finish().unwrap();
                std::fs::read(&path).unwrap()
            })
            .collect();
        assert_eq!(bytes[0].len(), bytes[1].len());
        assert!(
            bytes[0] == bytes[1],
            "{compression:?}: pipelined output differs"
        );
    }
}

#[test]
fn large_rows_and_multi_level_index() {
    let big_row = vec![b'r'; hfile::cell::MAX_ROW_LENGTH];
    let mut cells = vec![Cell::put(
        big_row.clone(),
        &b"f"[..],
        &b"q"[..],
        1,
        vec![7u8; 70_000],
    )];
    for i in 0..5000u32 {
        cells.push(Cell::put(
            format!("s{i:06}").into_bytes(),
            &b"f"[..],
            format!("q{}", i % 3).into_bytes(),
            5,
            Vec::new(),
        ));
    }
    let cells = sorted_unique(cells);
    let opts = WriterOptions {
        block_size: 256,
        index_chunk_size: 200,
        encoding: DataBlockEncoding::FastDiff,
        ..Default::default()
    };
    let (_dir, path) = write(&cells, opts);
    let r = Reader::open(&path, None).unwrap();
    assert!(
        r.trailer().num_data_index_levels >= 3,
        "levels {}",
        r.trailer().num_data_index_levels
    );
    let back: Vec<Cell> = r.cells().collect::<Result<_, _>>().unwrap();
    assert_eq!(back, cells);
    assert_eq!(r.get_row(&big_row).unwrap().len(), 1);
    assert_eq!(r.get_row(b"s002500").unwrap()[0].qualifier(), b"q1");
    let mid = r.mid_key().unwrap().unwrap();
    let mid_row = hfile::CellRef::new(&mid, &[], &[], 0)
        .unwrap()
        .row()
        .to_vec();
    assert!(
        mid_row.as_slice() > b"s001000".as_slice() && mid_row.as_slice() < b"s004000".as_slice(),
        "{:?}",
        String::from_utf8_lossy(&mid_row)
    );
}

#[test]
fn out_of_order_cells_are_rejected_naming_both_keys() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = Writer::create(dir.path().join("x"), WriterOptions::default()).unwrap();
    w.append(&Cell::put(&b"b"[..], &b"f"[..], &b"q"[..], 1, &b""[..]))
        .unwrap();
    let err = w
        .append(&Cell::put(&b"a"[..], &b"f"[..], &b"q"[..], 1, &b""[..]))
        .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, hfile::Error::OutOfOrder { .. }));
    assert!(
        msg.contains("a/f:q/1/Put") && msg.contains("b/f:q/1/Put"),
        "{msg}"
    );
    // Same row and column: a newer timestamp must come first.
    let mut w = Writer::create(dir.path().join("y"), WriterOptions::default()).unwrap();
    w.append(&Cell::put(&b"a"[..], &b"f"[..], &b"q"[..], 1, &b""[..]))
        .unwrap();
    assert!(w
        .append(&Cell::put(&b"a"[..], &b"f"[..], &b"q"[..], 2, &b""[..]))
        .is_err());
}

#[test]
fn seek_finds_the_first_of_duplicate_keys_spanning_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dups");
    let opts = WriterOptions {
        block_size: 64,
        ..Default::default()
    };
    let mut w = Writer::create(&path, opts).unwrap();
    for seq in (1..=10u64).rev() {
        let mut c = Cell::put(&b"row"[..], &b"f"[..], &b"q"[..], 5, vec![b'v'; 30]);
        c.seq_id = seq;
        w.append(&c).unwrap();
    }
    w.finish().unwrap();
    let r = Reader::open(&path, None).unwrap();
    assert!(r.root_index().len() > 2);
    let mut s = r.scanner();
    assert!(s
        .seek(&hfile::cell::make_key(b"row", b"f", b"q", 5, CellType::Put))
        .unwrap());
    let mut seqs = vec![s.current().unwrap().seq_id()];
    while s.next().unwrap() {
        seqs.push(s.current().unwrap().seq_id());
    }
    assert_eq!(seqs, (1..=10u64).rev().collect::<Vec<_>>());
}

#[test]
fn fast_diff_rejects_a_second_family() {
    let dir = tempfile::tempdir().unwrap();
    let opts = WriterOptions {
        encoding: DataBlockEncoding::FastDiff,
        ..Default::default()
    };
    let mut w = Writer::create(dir.path().join("two"), opts).unwrap();
    w.append(&Cell::put(&b"r1"[..], &b"a"[..], &b"q"[..], 1, &b""[..]))
        .unwrap();
    let err = w
        .append(&Cell::put(&b"r1"[..], &b"b"[..], &b"q"[..], 1, &b""[..]))
        .unwrap_err();
    assert!(matches!(err, hfile::Error::InvalidArgument(_)), "{err}");
}

/// Rows of puts sharing a timestamp, as an import writes them: (row, [(qualifier, value)]).
type PutRow = (Vec<u8>, Vec<(Vec<u8>, Vec<u8>)>);

fn arb_put_rows() -> impl Strategy<Value = Vec<PutRow>> {
    proptest::collection::btree_map(
        proptest::collection::vec(any::<u8>(), 1..12),
        proptest::collection::btree_map(
            proptest::collection::vec(prop_oneof![Just(b'a'), Just(b'b'), Just(0u8)], 0..4),
            // Repeated values too: FAST_DIFF writes a value equal to the previous one once.
            prop_oneof![
                proptest::collection::vec(any::<u8>(), 0..40),
                Just(b"same".to_vec()),
                Just(b"SAME".to_vec()),
            ],
            1..6,
        ),
        0..120,
    )
    .prop_map(|rows| {
        rows.into_iter()
            .map(|(row, cells)| (row, cells.into_iter().collect()))
            .collect()
    })
}

/// Writes `rows` (each row's cells through one `append_puts` call, or each cell through
/// `append`) and returns the file's bytes.
fn write_puts(rows: &[PutRow], opts: &WriterOptions, by_row: bool) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f");
    let mut w = Writer::create(&path, opts.clone()).unwrap();
    w.append_file_info(
        hfile::fileinfo::keys::CREATE_TIME_KEY,
        42i64.to_be_bytes().to_vec(),
    );
    for (row, cells) in rows {
        if by_row {
            let pairs = cells.iter().map(|(q, v)| (q.as_slice(), v.as_slice()));
            w.append_puts(row, b"cf", 7, 3, pairs).unwrap();
        } else {
            for (q, v) in cells {
                w.append(&hfile::CellSlices::put(row, b"cf", q, 7, v, 3))
                    .unwrap();
            }
        }
    }
    w.finish().unwrap();
    std::fs::read(&path).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn appending_a_row_of_puts_writes_the_same_file_as_its_cells(rows in arb_put_rows(), opts in options()) {
        let by_cell = write_puts(&rows, &opts, false);
        let by_row = write_puts(&rows, &opts, true);
        prop_assert!(by_cell == by_row, "append_puts wrote a different file");
    }
}

#[test]
fn a_row_of_puts_out_of_qualifier_order_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = Writer::create(dir.path().join("x"), WriterOptions::default()).unwrap();
    let cells: [(&[u8], &[u8]); 2] = [(b"b", b"1"), (b"a", b"2")];
    let err = w.append_puts(b"r", b"f", 1, 0, cells).unwrap_err();
    assert!(matches!(err, hfile::Error::OutOfOrder { .. }), "{err}");
    // A row that sorts before the previous one is caught at its first cell.
    let mut w = Writer::create(dir.path().join("y"), WriterOptions::default()).unwrap();
    w.append_puts(b"r2", b"f", 1, 0, [(&b"a"[..], &b""[..])])
        .unwrap();
    let err = w
        .append_puts(b"r1", b"f", 1, 0, [(&b"a"[..], &b""[..])])
        .unwrap_err();
    assert!(err.to_string().contains("r1/f:a/1/Put"), "{err}");
}
