//! Reads the real HBase 0.94-written HFiles in `shared/fixtures/hbase-0.94` and pins what
//! they hold.

use std::path::{Path, PathBuf};

use hfile::{CellView, Comparator, Reader};

fn fixture_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/hbase-0.94/table-dir")
}

fn hfiles_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for region in std::fs::read_dir(dir).expect("fixture dir") {
        let region = region.expect("entry").path();
        for family in ["f1", "info"] {
            let fam = region.join(family);
            if let Ok(files) = std::fs::read_dir(&fam) {
                for f in files {
                    out.push(f.expect("entry").path());
                }
            }
        }
    }
    out.sort();
    out
}

const PINNED_TEST_TABLE_CELLS: usize = 663;

#[test]
fn test_table_files_hold_rows_1_to_100() {
    let files = hfiles_under(&fixture_root().join("TestTable"));
    assert_eq!(files.len(), 16);
    let mut rows = Vec::new();
    for f in &files {
        let r = Reader::open(f, None).unwrap();
        assert_eq!(r.trailer().major_version, 2);
        assert_eq!(r.trailer().minor_version, 0);
        assert_eq!(r.comparator(), Comparator::Default);
        let mut n = 0;
        for c in r.cells() {
            let c = c.unwrap();
            assert_eq!(c.family(), b"f1");
            assert_eq!(c.qualifier(), b"c1");
            let row = std::str::from_utf8(c.row()).unwrap().to_string();
            let num = row.strip_prefix("row").unwrap();
            assert_eq!(c.value(), num.as_bytes(), "value of {row}");
            rows.push(row);
            n += 1;
        }
        assert_eq!(n, r.entry_count(), "{}", f.display());
    }
    // Split parents and daughters both still hold files, so rows repeat across regions;
    // the distinct rows are row1..row100.
    assert_eq!(rows.len(), PINNED_TEST_TABLE_CELLS);
    rows.sort();
    rows.dedup();
    let mut expected: Vec<String> = (1..=100).map(|i| format!("row{i}")).collect();
    expected.sort();
    assert_eq!(rows, expected);
}

#[test]
fn every_fixture_file_reads_and_counts_746_cells() {
    let root = fixture_root();
    let mut files = hfiles_under(&root.join("TestTable"));
    files.extend(hfiles_under(&root.join("-META-")));
    files.extend(hfiles_under(&root.join("-ROOT-")));
    assert_eq!(files.len(), 21);
    let mut total = 0;
    for f in &files {
        let r = Reader::open(f, None).unwrap();
        let cells: Vec<_> = r.cells().collect::<Result<_, _>>().unwrap();
        assert_eq!(cells.len() as u64, r.entry_count());
        // Cells come out in the file's comparator order.
        for w in cells.windows(2) {
            assert_ne!(
                r.comparator().compare_cells(&w[0], &w[1]),
                std::cmp::Ordering::Greater,
                "{}",
                f.display()
            );
        }
        total += cells.len();
    }
    assert_eq!(total, 746);
}

#[test]
fn first_and_last_rows_of_a_test_table_region() {
    let f = fixture_root()
        .join("TestTable/8e60cd292ac4c8a359cea5ea6b43f7fa/f1/b6f69a2e76d34506930be125a0ce202c");
    let r = Reader::open(&f, None).unwrap();
    let cells: Vec<_> = r.cells().collect::<Result<_, _>>().unwrap();
    assert_eq!(cells.len(), 66);
    assert_eq!(cells.first().unwrap().row(), b"row4");
    assert_eq!(cells.last().unwrap().row(), b"row99");
    assert_eq!(
        r.last_key().map(hfile::cell::key_to_string),
        Some("row99/f1:c1/1344395649849/Put".to_string())
    );
    assert_eq!(r.max_seq_id(), Some(111));
    // Point lookups by seek.
    let got = r.get_row(b"row57").unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].value(), b"57");
    assert!(r.get_row(b"row0").unwrap().is_empty());
}
