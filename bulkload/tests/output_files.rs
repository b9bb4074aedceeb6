//! The HFiles of `--output-dir`: they pass the full `hfile::verify` check, carry the
//! family's compression, encoding, Bloom type and block size, roll at the size limit at
//! row boundaries; and tables created by the import get sampled or salted split points.

mod common;

use std::path::Path;

use bulkload::parse_families;
use common::*;
use hfile::{BloomType, CellView, Compression, DataBlockEncoding, Reader};
use store_server::{FamilyDescriptor, TableDescriptor, TableName};

fn input(dir: &Path, n: usize) -> TestResult<std::path::PathBuf> {
    let mut s = String::new();
    for i in 0..n {
        let noise = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        s.push_str(&format!(
            "row{:06},{noise:016x}{:024},{}\n",
            (i * 37) % n,
            noise >> 7,
            i
        ));
    }
    write_file(dir, "in.csv", s.as_bytes())
}

#[test]
fn output_files_verify_and_follow_family_options() -> TestResult {
    let dir = tempfile::tempdir()?;
    let conn = connect(&dir.path().join("root"))?;
    let mut fams = parse_families(
        "f1:COMPRESSION=LZ4,BLOOMFILTER=ROWCOL,BLOCKSIZE=4096,DATA_BLOCK_ENCODING=FAST_DIFF,f2:COMPRESSION=GZ",
    )?;
    assert_eq!(fams.len(), 2);
    fams[1].bloom = store_server::schema::BloomType::None;
    conn.admin().create_table(
        TableDescriptor::new(TableName::parse("t")?, fams),
        &[b"row005000".to_vec()],
    )?;
    let n = 10_000;
    let src = input(dir.path(), n)?;
    let out = dir.path().join("out");
    let mut opts = options("t", &src, Some("HBASE_ROW_KEY,f1:pad,f2:i"))?;
    opts.output_dir = Some(out.clone());
    opts.max_file_size = Some(32 * 1024);
    let s = bulkload::run_import(&conn, &opts)?;
    assert_eq!(s.cells, 2 * n as u64);
    let files = hfiles_under(&out)?;
    assert_eq!(files.len(), s.hfiles);
    assert!(s.hfiles > 4, "f1 rolls at 32 KiB: {} files", s.hfiles);
    let mut f1_rows: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    let mut cells = 0;
    for f in &files {
        let report = hfile::verify::check(f);
        assert!(report.is_sound(), "{}: {:?}", f.display(), report.problems);
        cells += report.cells;
        let r = Reader::open(f, None)?;
        let fam = f
            .parent()
            .and_then(|p| p.file_name())
            .and_then(|n| n.to_str())
            .unwrap_or("");
        assert!(r.bulk_load_time().is_some());
        if fam == "f1" {
            assert_eq!(r.compression(), Compression::Lz4);
            assert_eq!(r.encoding(), DataBlockEncoding::FastDiff);
            assert_eq!(r.bloom_type(), BloomType::RowCol);
            let first = r.cells().next().ok_or("empty file")??;
            let last = r.cells().last().ok_or("empty file")??;
            f1_rows.push((first.row().to_vec(), last.row().to_vec()));
        } else {
            assert_eq!(fam, "f2");
            assert_eq!(r.compression(), Compression::Gz);
            assert_eq!(r.bloom_type(), BloomType::None);
        }
    }
    assert_eq!(cells, 2 * n as u64);
    // Rolled files of a region do not overlap and never straddle the region boundary.
    f1_rows.sort();
    for w in f1_rows.windows(2) {
        assert!(w[0].1 < w[1].0, "overlapping files {w:?}");
    }
    assert!(f1_rows
        .iter()
        .all(|(a, b)| (b.as_slice() < b"row005000".as_slice())
            || (a.as_slice() >= b"row005000".as_slice())));
    // And the directory loads.
    bulkload::run_load(&conn, &out, "t", None, false)?;
    assert_eq!(dump(&conn, "t")?.len(), 2 * n);
    Ok(())
}

/// `--create --presplit 4` samples the keys for four roughly equal regions.
#[test]
fn create_with_sampled_presplit() -> TestResult {
    let dir = tempfile::tempdir()?;
    let conn = connect(&dir.path().join("root"))?;
    let n = 20_000;
    let src = input(dir.path(), n)?;
    let mut opts = options("fresh", &src, Some("HBASE_ROW_KEY,d:pad,d:i"))?;
    opts.create = Some(vec![FamilyDescriptor::new("d")]);
    opts.presplit = Some(4);
    let s = bulkload::run_import(&conn, &opts)?;
    assert!(s.created_table);
    assert_eq!(s.regions, 4);
    let regions = conn.admin().regions(&TableName::parse("fresh")?)?;
    assert_eq!(regions.len(), 4);
    for r in &regions {
        let entries: u64 = r
            .stores
            .iter()
            .flat_map(|(_, f)| f.iter())
            .map(|f| f.entries)
            .sum();
        let share = entries as f64 / (2 * n) as f64;
        assert!(
            (0.15..0.35).contains(&share),
            "region {:?} holds {share}",
            r.info.start_key
        );
    }
    assert_eq!(dump(&conn, "fresh")?.len(), 2 * n);
    // Re-running with --create on the existing table reuses it.
    let s = bulkload::run_import(&conn, &opts)?;
    assert!(!s.created_table);
    assert_eq!(dump(&conn, "fresh")?.len(), 2 * n);
    Ok(())
}

/// `--salt-buckets 4 --create`: row keys get a one-byte bucket prefix and each bucket is a
/// region.
#[test]
fn create_with_salt_buckets() -> TestResult {
    let dir = tempfile::tempdir()?;
    let conn = connect(&dir.path().join("root"))?;
    let src = write_file(
        dir.path(),
        "in.csv",
        b"a,1\nb,2\nc,3\nd,4\ne,5\nf,6\ng,7\nh,8\n",
    )?;
    let mut opts = options("salty", &src, Some("HBASE_ROW_KEY,d:v"))?;
    opts.create = Some(vec![FamilyDescriptor::new("d")]);
    opts.salt_buckets = Some(4);
    let s = bulkload::run_import(&conn, &opts)?;
    assert_eq!(s.regions, 4);
    let starts = region_starts(&conn, "salty")?;
    assert_eq!(starts, vec![vec![], vec![1u8], vec![2u8], vec![3u8]]);
    let rows = dump(&conn, "salty")?;
    assert_eq!(rows.len(), 8);
    for (row, _, _, _, value) in &rows {
        let key = &row[1..];
        assert_eq!(row[0], store_server::rowkey::salt_byte(key, 4));
        assert_eq!(value[0] - b'0', key[0] - b'a' + 1);
    }
    Ok(())
}
