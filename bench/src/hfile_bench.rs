//! Basalt's side: the `hfile` crate's `Writer`, `Reader`, scanner and `get_row`.
//!
//! Everything that touches the `hfile` API lives here, so API changes stay in one place.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hfile::{
    BlockCache, BloomType, CellView, Compression, DataBlockEncoding, Reader, Writer, WriterOptions,
};

use crate::cpu::Stopwatch;
use crate::data::Dataset;
use crate::mem::RssWindow;
use crate::stats::{Codec, GetStats, ScanStats, WriteStats};
use crate::{alloc, Result};

fn compression(codec: Codec) -> Compression {
    match codec {
        Codec::None => Compression::None,
        Codec::Gz => Compression::Gz,
        Codec::Lz4 => Compression::Lz4,
    }
}

/// Writer settings for one benchmark file.
#[derive(Clone, Copy, Debug)]
pub struct Settings {
    /// Target uncompressed data-block size.
    pub block_size: usize,
    /// FAST_DIFF data-block encoding instead of NONE.
    pub fast_diff: bool,
    /// ROW Bloom filter (HBase's default) instead of none.
    pub row_bloom: bool,
    /// Threads compressing data blocks (1 = on the writing thread).
    pub compress_threads: usize,
}

/// Writes every cell of `ds` to an HFile at `path` (the writer `fsync`s it in `finish`).
pub fn write(ds: &Dataset, path: &Path, codec: Codec, s: Settings) -> Result<WriteStats> {
    let opts = WriterOptions {
        block_size: s.block_size,
        compression: compression(codec),
        encoding: if s.fast_diff {
            DataBlockEncoding::FastDiff
        } else {
            DataBlockEncoding::None
        },
        bloom_type: if s.row_bloom {
            BloomType::Row
        } else {
            BloomType::None
        },
        compress_threads: s.compress_threads,
        ..Default::default()
    };
    let rss = RssWindow::start();
    let base = alloc::reset_peak();
    let sw = Stopwatch::start();
    let mut w = Writer::create(path, opts)?;
    for i in 0..ds.len() {
        w.append(&ds.view(i))?;
    }
    // `finish` writes the index, Bloom chunks, FileInfo and trailer, then fsyncs the file.
    let summary = w.finish()?;
    std::hint::black_box(&summary);
    let (elapsed, cpu) = sw.stop();
    let peak_heap = (alloc::peak() - base) as u64;
    Ok(WriteStats {
        elapsed,
        cpu,
        file_bytes: std::fs::metadata(path)?.len(),
        peak_heap,
        peak_rss: rss.peak_growth(),
    })
}

/// Scans the whole file in order without a block cache, touching every cell's key and value.
pub fn scan(path: &Path) -> Result<ScanStats> {
    let reader = Reader::open(path, None)?;
    let sw = Stopwatch::start();
    let mut s = reader.scanner();
    s.seek_to_first()?;
    let mut cells = 0u64;
    let mut acc = 0usize;
    while let Some(c) = s.current() {
        let v = c.value();
        acc = acc.wrapping_add(c.key_len() + v.len() + v.last().copied().unwrap_or(0) as usize);
        cells += 1;
        s.next()?;
    }
    std::hint::black_box(acc);
    let (elapsed, cpu) = sw.stop();
    Ok(ScanStats {
        elapsed,
        cpu,
        cells,
    })
}

/// An open file with a block cache, for gets.
pub struct Opened {
    reader: Arc<Reader>,
}

impl Opened {
    /// Opens `path` with a fresh block cache of `cache_bytes`.
    pub fn open(path: &Path, cache_bytes: usize) -> Result<Opened> {
        let cache = BlockCache::new(cache_bytes as u64);
        Ok(Opened {
            reader: Reader::open(path, Some(cache))?,
        })
    }

    /// One warm-up pass over `rows` (checking the results), then a timed pass recording each
    /// get's latency.
    pub fn gets(&self, ds: &Dataset, rows: &[usize]) -> Result<GetStats> {
        for &r in rows {
            let cells = self.reader.get_row(ds.row(r))?;
            let want = ds.cells_in_row(r);
            if cells.len() != want {
                return Err(
                    format!("hfile: row {r} has {} cells, expected {want}", cells.len()).into(),
                );
            }
            if cells[0].value() != ds.view(r * ds.cells_per_row()).value {
                return Err(format!("hfile: row {r} returned a wrong value").into());
            }
        }
        let mut lat = Vec::with_capacity(rows.len());
        let sw = Stopwatch::start();
        for &r in rows {
            let t = Instant::now();
            let cells = self.reader.get_row(ds.row(r))?;
            lat.push(t.elapsed());
            std::hint::black_box(&cells);
        }
        let (elapsed, cpu) = sw.stop();
        Ok(GetStats::from_latencies(
            lat,
            elapsed.max(Duration::from_nanos(1)),
            cpu,
        ))
    }
}

/// What a raw scan of several files found.
#[derive(Clone, Copy, Debug, Default)]
pub struct FilesScan {
    /// Wall and CPU time of the scan (opening the files included).
    pub timing: crate::cpu::Timing,
    /// Distinct rows (files are scanned in order, so a row spanning two files counts twice).
    pub rows: u64,
    /// Cells read.
    pub cells: u64,
}

/// Scans `paths` one after the other on this thread, without a block cache, touching every
/// cell's key and value and counting rows (a row = a run of cells with the same row key):
/// the single-core limit of any scan of these files.
pub fn scan_files(paths: &[std::path::PathBuf]) -> Result<FilesScan> {
    let sw = Stopwatch::start();
    let mut out = FilesScan::default();
    let mut acc = 0usize;
    let mut prev_row: Vec<u8> = Vec::new();
    for path in paths {
        let reader = Reader::open(path, None)?;
        let mut s = reader.scanner();
        s.seek_to_first()?;
        prev_row.clear();
        let mut first = true;
        while let Some(c) = s.current() {
            let row = c.row();
            if first || row != prev_row.as_slice() {
                out.rows += 1;
                prev_row.clear();
                prev_row.extend_from_slice(row);
                first = false;
            }
            let v = c.value();
            acc = acc.wrapping_add(c.key_len() + v.len() + v.last().copied().unwrap_or(0) as usize);
            out.cells += 1;
            s.next()?;
        }
    }
    std::hint::black_box(acc);
    out.timing = sw.timing();
    Ok(out)
}
