//! The RocksDB side of `bench compact`: the same cells as SST files ingested as overlapping
//! L0 files, then a manual full compaction (`compact_range(None, None)`).
//!
//! **Key layout.** A cell is stored as key `row ‖ family ‖ qualifier` (no timestamp: RocksDB
//! keeps one value per user key, newest sequence number wins, and drops the older ones in a
//! compaction — the counterpart of a family with `VERSIONS => 1`), value `timestamp (8 bytes
//! BE) ‖ value`. Each input file is ingested in a separate `ingest_external_file` call in
//! file order, so a later file's version gets a higher global sequence number, as a later
//! HFile has a higher sequence id in Basalt. Auto-compactions are off so the 12 files stay
//! in L0 until the timed manual compaction.

use std::path::{Path, PathBuf};

use rocksdb::{IngestExternalFileOptions, SstFileWriter, DB};

use crate::cpu::{Stopwatch, Timing};
use crate::data::BenchCell;
use crate::rocksdb_peer::options;
use crate::rowgen::FAMILY;
use crate::stats::Codec;
use crate::Result;

/// Block size of every table (as the HFiles' 64 KiB).
const BLOCK_SIZE: usize = 64 * 1024;

/// Options of every SST and of the DB: no compression, 64 KiB blocks, 10 bits/key Bloom
/// filter, no block cache.
pub fn sst_options() -> rocksdb::Options {
    options(Codec::None, BLOCK_SIZE, true, None)
}

/// Writes SSTs in the key layout of this module.
pub struct SstWriter<'a> {
    w: SstFileWriter<'a>,
    key: Vec<u8>,
    value: Vec<u8>,
}

impl<'a> SstWriter<'a> {
    /// Creates an SST at `path` with `opts` (see [`sst_options`]).
    pub fn create(opts: &'a rocksdb::Options, path: &Path) -> Result<SstWriter<'a>> {
        let w = SstFileWriter::create(opts);
        w.open(path)?;
        Ok(SstWriter {
            w,
            key: Vec::with_capacity(64),
            value: Vec::with_capacity(256),
        })
    }

    /// Appends a cell (cells must come in key order).
    pub fn put(&mut self, c: &BenchCell<'_>) -> Result<()> {
        self.key.clear();
        self.key.extend_from_slice(c.row);
        self.key.extend_from_slice(FAMILY);
        self.key.extend_from_slice(c.qualifier);
        self.value.clear();
        self.value.extend_from_slice(&c.timestamp.to_be_bytes());
        self.value.extend_from_slice(c.value);
        self.w.put(&self.key, &self.value)?;
        Ok(())
    }

    /// Finishes (and syncs) the file.
    pub fn finish(mut self) -> Result<()> {
        self.w.finish()?;
        Ok(())
    }
}

/// What the manual compaction did.
#[derive(Clone, Copy, Debug, Default)]
pub struct CompactStats {
    /// Wall and CPU time of `compact_range`.
    pub timing: Timing,
    /// Live SST files before the compaction.
    pub files_in: usize,
    /// Their total size.
    pub bytes_in: u64,
    /// Entries in them.
    pub cells_in: u64,
    /// Live SST files after.
    pub files_out: usize,
    /// Their total size.
    pub bytes_out: u64,
    /// Entries in them.
    pub cells_out: u64,
}

fn live(db: &DB) -> Result<(usize, u64, u64)> {
    let files = db.live_files()?;
    Ok((
        files.len(),
        files.iter().map(|f| f.size as u64).sum(),
        files.iter().map(|f| f.num_entries).sum(),
    ))
}

/// Creates a fresh DB in `db_dir`, ingests `ssts` one by one (copied, in order), and times
/// a manual compaction of the whole key range.
pub fn ingest_and_compact(db_dir: &Path, ssts: &[PathBuf]) -> Result<CompactStats> {
    let mut opts = sst_options();
    opts.create_if_missing(true);
    opts.set_disable_auto_compactions(true);
    opts.set_max_open_files(-1);
    let db = DB::open(&opts, db_dir)?;
    let mut ingest = IngestExternalFileOptions::default();
    ingest.set_move_files(false);
    for sst in ssts {
        db.ingest_external_file_opts(&ingest, vec![sst])?;
    }
    let (files_in, bytes_in, cells_in) = live(&db)?;
    let sw = Stopwatch::start();
    db.compact_range::<&[u8], &[u8]>(None, None);
    let timing = sw.timing();
    let (files_out, bytes_out, cells_out) = live(&db)?;
    Ok(CompactStats {
        timing,
        files_in,
        bytes_in,
        cells_in,
        files_out,
        bytes_out,
        cells_out,
    })
}
