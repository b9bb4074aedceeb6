//! Writes the seed corpus of the reader fuzz targets: small HFiles written by
//! `hfile::Writer` with every codec, encoding, Bloom type and checksum type, plus the real
//! HBase 0.94 files from the shared fixtures.
//!
//! Usage: `seed_corpus OUT_DIR [FIXTURE_TABLE_DIR]`

use std::path::{Path, PathBuf};

use bytes::Bytes;
use hfile::cell::Comparator;
use hfile::{
    BloomType, Cell, CellType, ChecksumType, Compression, DataBlockEncoding, Writer, WriterOptions,
};

fn cells(n: usize, with_tags: bool, deletes: bool) -> Vec<Cell> {
    let mut out = Vec::new();
    for i in 0..n {
        let row = format!("row{i:04}");
        for q in 0..2u8 {
            let mut c = Cell::put(
                Bytes::from(row.clone()),
                &b"f"[..],
                Bytes::from(vec![b'q', b'0' + q]),
                1_700_000_000_000 + i as i64,
                Bytes::from(format!("value-{i}-{q}").repeat(1 + i % 3)),
            );
            c.seq_id = i as u64;
            if with_tags && i % 3 == 0 {
                c.tags = Bytes::from_static(&[0, 3, 1, b'a', b'b']);
            }
            out.push(c);
        }
        if deletes && i % 5 == 0 {
            // A delete-family marker sorts before the row's other cells (empty qualifier,
            // family "f"); insert it at the row's start.
            let at = out.len() - 2;
            out.insert(
                at,
                Cell::delete(
                    Bytes::from(row.clone()),
                    &b"f"[..],
                    &b""[..],
                    i64::MAX - 1,
                    CellType::DeleteFamily,
                ),
            );
        }
    }
    out
}

fn write(dir: &Path, name: &str, opts: WriterOptions, cells: &[Cell]) -> PathBuf {
    let path = dir.join(name);
    let mut w = Writer::create(&path, opts).unwrap_or_else(|e| panic!("{name}: {e}"));
    for c in cells {
        w.append(c).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    w.finish().unwrap_or_else(|e| panic!("{name}: {e}"));
    path
}

fn main() {
    let mut args = std::env::args().skip(1);
    let out = PathBuf::from(
        args.next()
            .expect("usage: seed_corpus OUT_DIR [FIXTURE_TABLE_DIR]"),
    );
    let fixtures = args.next().map(PathBuf::from);
    std::fs::create_dir_all(&out).expect("create output dir");
    let mut n = 0;
    for compression in [Compression::None, Compression::Gz, Compression::Lz4] {
        for encoding in [DataBlockEncoding::None, DataBlockEncoding::FastDiff] {
            for bloom in [BloomType::None, BloomType::Row, BloomType::RowCol] {
                for (count, block_size, chunk) in [(3, 64 * 1024, 128 * 1024), (40, 200, 128)] {
                    let opts = WriterOptions {
                        block_size,
                        compression,
                        encoding,
                        bloom_type: bloom,
                        index_chunk_size: chunk,
                        include_mvcc: count > 3,
                        bytes_per_checksum: if count > 3 { 512 } else { 16 * 1024 },
                        ..WriterOptions::default()
                    };
                    let name = format!(
                        "{}-{}-{}-{count}",
                        compression.name(),
                        encoding.name(),
                        bloom.name()
                    );
                    write(
                        &out,
                        &name,
                        opts,
                        &cells(count, count > 3, bloom != BloomType::None),
                    );
                    n += 1;
                }
            }
        }
    }
    // Other checksum types, an empty file and the catalog comparator.
    for (name, ct) in [
        ("crc32", ChecksumType::Crc32),
        ("nullsum", ChecksumType::Null),
    ] {
        let opts = WriterOptions {
            checksum_type: ct,
            block_size: 300,
            ..WriterOptions::default()
        };
        write(&out, name, opts, &cells(10, false, false));
        n += 1;
    }
    write(&out, "empty", WriterOptions::default(), &[]);
    let meta_cells: Vec<Cell> = (0..5)
        .map(|i| {
            Cell::put(
                Bytes::from(format!("TestTable,row{i},1344395649849.abc.")),
                &b"info"[..],
                &b"regioninfo"[..],
                1,
                &b"x"[..],
            )
        })
        .collect();
    let opts = WriterOptions {
        comparator: Comparator::Meta,
        ..WriterOptions::default()
    };
    write(&out, "meta", opts, &meta_cells);
    n += 2;
    if let Some(root) = fixtures {
        for table in ["TestTable", "-META-", "-ROOT-"] {
            let Ok(regions) = std::fs::read_dir(root.join(table)) else {
                continue;
            };
            for region in regions.flatten() {
                for family in ["f1", "info"] {
                    let Ok(files) = std::fs::read_dir(region.path().join(family)) else {
                        continue;
                    };
                    for f in files.flatten() {
                        let name = format!("hbase094-{table}-{}", f.file_name().to_string_lossy());
                        std::fs::copy(f.path(), out.join(name)).expect("copy fixture");
                        n += 1;
                    }
                }
            }
        }
    }
    println!("wrote {n} seed files to {}", out.display());
}
