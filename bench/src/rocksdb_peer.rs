//! The RocksDB peer: `SstFileWriter` for writes; a `DB` that ingests the SST for reads.
//!
//! The crate exposes no stand-alone SST reader, so reads go through a DB with auto-compaction
//! off into which the file was ingested (moved, not copied): the DB then holds exactly that one
//! file at the bottom level, and scans and gets hit it alone.
//!
//! **Key layout.** RocksDB compares keys byte-wise, and HBase's `KeyValue` key starts with a
//! 2-byte row length, which does not sort byte-wise in row order when row lengths vary. So the
//! RocksDB key is `row ‖ family ‖ qualifier ‖ (u64::MAX - ts) big-endian ‖ type` — the `KeyValue`
//! key without its 2-byte row-length and 1-byte family-length prefixes, the timestamp inverted so
//! newer versions sort first as in HBase. It is 3 bytes shorter per cell than Basalt's key. With
//! the generated rows (fixed-width unique number after `user`) this byte order equals HBase's
//! order; a general-purpose layout would need an escaped or length-suffixed row.
//!
//! **Get** of a row = a fresh raw iterator, `seek(row ‖ family)`, and read forward while keys
//! share that prefix, copying each key and value out (Basalt's `get_row` returns owned cells).

use std::path::Path;
use std::time::{Duration, Instant};

use rocksdb::{
    BlockBasedOptions, Cache, DBCompressionType, IngestExternalFileOptions, Options, ReadOptions,
    SstFileWriter, DB,
};

use crate::cpu::Stopwatch;
use crate::data::{Dataset, FAMILY, TYPE_PUT};
use crate::mem::RssWindow;
use crate::stats::{Codec, GetStats, ScanStats, WriteStats};
use crate::{alloc, Result};

/// Bloom filter bits per key (RocksDB's customary 10 ≈ 1% false positives).
const BLOOM_BITS_PER_KEY: f64 = 10.0;

fn compression(codec: Codec) -> DBCompressionType {
    match codec {
        Codec::None => DBCompressionType::None,
        Codec::Gz => DBCompressionType::Zlib,
        Codec::Lz4 => DBCompressionType::Lz4,
    }
}

/// Options for a block-based table with `codec`, `block_size`-byte blocks, an optional
/// 10 bits/key full Bloom filter and an optional block cache (none = caching disabled).
pub fn options(codec: Codec, block_size: usize, bloom: bool, cache: Option<&Cache>) -> Options {
    let mut table = BlockBasedOptions::default();
    table.set_block_size(block_size);
    if bloom {
        table.set_bloom_filter(BLOOM_BITS_PER_KEY, false);
    }
    match cache {
        Some(c) => table.set_block_cache(c),
        None => table.disable_cache(),
    }
    let mut opts = Options::default();
    opts.set_compression_type(compression(codec));
    opts.set_block_based_table_factory(&table);
    opts
}

/// Appends the RocksDB key of `(row, qualifier, ts)` to `out` (see the module docs).
pub fn encode_key(out: &mut Vec<u8>, row: &[u8], qualifier: &[u8], ts: i64) {
    out.extend_from_slice(row);
    out.extend_from_slice(FAMILY);
    out.extend_from_slice(qualifier);
    out.extend_from_slice(&(u64::MAX - ts as u64).to_be_bytes());
    out.push(TYPE_PUT);
}

/// Writes every cell of `ds` to an SST at `path` and `fsync`s it (`SstFileWriter::Finish` syncs).
pub fn write(
    ds: &Dataset,
    path: &Path,
    codec: Codec,
    block_size: usize,
    bloom: bool,
) -> Result<WriteStats> {
    let opts = options(codec, block_size, bloom, None);
    let rss = RssWindow::start();
    let base = alloc::reset_peak();
    let sw = Stopwatch::start();
    let mut w = SstFileWriter::create(&opts);
    w.open(path)?;
    let mut key = Vec::with_capacity(64);
    for i in 0..ds.len() {
        let c = ds.view(i);
        key.clear();
        encode_key(&mut key, c.row, c.qualifier, c.timestamp);
        w.put(&key, c.value)?;
    }
    w.finish()?;
    drop(w);
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

/// A DB holding one ingested SST.
pub struct Ingested {
    db: DB,
}

impl Ingested {
    /// Creates a fresh DB in `db_dir` (removing an old one) and moves the SST at `sst` into it.
    pub fn open(
        db_dir: &Path,
        sst: &Path,
        codec: Codec,
        block_size: usize,
        bloom: bool,
        cache_bytes: usize,
    ) -> Result<Ingested> {
        if db_dir.exists() {
            std::fs::remove_dir_all(db_dir)?;
        }
        let cache = Cache::new_lru_cache(cache_bytes)?;
        let mut opts = options(codec, block_size, bloom, Some(&cache));
        opts.create_if_missing(true);
        opts.set_disable_auto_compactions(true);
        opts.set_max_open_files(-1);
        let db = DB::open(&opts, db_dir)?;
        let mut ingest = IngestExternalFileOptions::default();
        ingest.set_move_files(true);
        db.ingest_external_file_opts(&ingest, vec![sst])?;
        Ok(Ingested { db })
    }

    /// Reads every key and value in order without filling the block cache.
    pub fn scan(&self) -> Result<ScanStats> {
        let sw = Stopwatch::start();
        let mut ro = ReadOptions::default();
        ro.fill_cache(false);
        let mut it = self.db.raw_iterator_opt(ro);
        it.seek_to_first();
        let mut cells = 0u64;
        let mut acc = 0usize;
        while it.valid() {
            let (k, v) = (it.key().unwrap_or_default(), it.value().unwrap_or_default());
            acc = acc.wrapping_add(k.len() + v.len() + v.last().copied().unwrap_or(0) as usize);
            cells += 1;
            it.next();
        }
        it.status()?;
        std::hint::black_box(acc);
        let (elapsed, cpu) = sw.stop();
        Ok(ScanStats {
            elapsed,
            cpu,
            cells,
        })
    }

    /// All cells of `row` as owned (key, value) pairs.
    pub fn get_row(&self, row: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let mut prefix = Vec::with_capacity(row.len() + FAMILY.len());
        prefix.extend_from_slice(row);
        prefix.extend_from_slice(FAMILY);
        let mut it = self.db.raw_iterator_opt(ReadOptions::default());
        it.seek(&prefix);
        let mut out = Vec::new();
        while let (Some(k), Some(v)) = (it.key(), it.value()) {
            if !k.starts_with(&prefix) {
                break;
            }
            out.push((k.to_vec(), v.to_vec()));
            it.next();
        }
        it.status()?;
        Ok(out)
    }

    /// One warm-up pass over `rows`, then a timed pass recording each get's latency.
    pub fn gets(&self, ds: &Dataset, rows: &[usize]) -> Result<GetStats> {
        for &r in rows {
            self.check_row(ds, r, &self.get_row(ds.row(r))?)?;
        }
        let mut lat = Vec::with_capacity(rows.len());
        let sw = Stopwatch::start();
        for &r in rows {
            let t = Instant::now();
            let cells = self.get_row(ds.row(r))?;
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

    fn check_row(&self, ds: &Dataset, r: usize, cells: &[(Vec<u8>, Vec<u8>)]) -> Result<()> {
        let want = ds.cells_in_row(r);
        if cells.len() != want {
            return Err(format!(
                "rocksdb: row {r} has {} cells, expected {want}",
                cells.len()
            )
            .into());
        }
        let first = ds.view(r * ds.cells_per_row());
        if cells[0].1 != first.value {
            return Err(format!("rocksdb: row {r} returned a wrong value").into());
        }
        Ok(())
    }
}
