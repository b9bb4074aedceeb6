//! Quick write/scan throughput check: `cargo run --release -p hfile --example scan_speed`.

use std::time::Instant;

use hfile::{Cell, CellView, Compression, DataBlockEncoding, Reader, Writer, WriterOptions};

fn main() -> hfile::Result<()> {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(2_000_000);
    let dir = std::env::var_os("SCAN_SPEED_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("basalt-scan-speed"));
    std::fs::create_dir_all(&dir).map_err(|e| hfile::Error::io(&dir, e))?;
    let cells: Vec<Cell> = (0..n)
        .map(|i| {
            Cell::put(
                format!("user{i:012}-{}", "x".repeat(i % 16)).into_bytes(),
                &b"f"[..],
                &b"qualifier0"[..],
                1_700_000_000_000,
                format!("{:0100}", i * 7919).into_bytes(),
            )
        })
        .collect();
    let raw: usize = cells.iter().map(|c| c.key_len() + c.value().len()).sum();
    for (compression, encoding) in [
        (Compression::None, DataBlockEncoding::None),
        (Compression::Lz4, DataBlockEncoding::None),
        (Compression::Gz, DataBlockEncoding::None),
        (Compression::None, DataBlockEncoding::FastDiff),
        (Compression::None, DataBlockEncoding::None),
    ] {
        let path = dir.join("f.hfile");
        let t = Instant::now();
        let opts = WriterOptions {
            compression,
            encoding,
            compress_threads: 2,
            ..Default::default()
        };
        let mut w = Writer::create(&path, opts)?;
        for c in &cells {
            w.append(c)?;
        }
        let s = w.finish()?;
        let wt = t.elapsed().as_secs_f64();
        let r = Reader::open(&path, None)?;
        let t = Instant::now();
        let mut sc = r.scanner();
        let mut count = 0usize;
        let mut bytes = 0usize;
        let mut ok = sc.seek_to_first()?;
        while ok {
            if let Some(c) = sc.current() {
                bytes += c.value().len();
                count += 1;
            }
            ok = sc.next()?;
        }
        let rt = t.elapsed().as_secs_f64();
        assert_eq!(count, n);
        println!(
            "{:>4} {:>9}: write {:7.1} MB/s ({:.2}s, {} MB file), scan {:7.1} MB/s ({:.2}s) [{bytes}]",
            compression.name(),
            encoding.name(),
            raw as f64 / wt / 1e6,
            wt,
            s.file_size / 1_000_000,
            raw as f64 / rt / 1e6,
            rt
        );
    }
    Ok(())
}
