//! The RocksDB peer of `bench import`: the same CSV turned into one SST with
//! `SstFileWriter` and handed to a DB with `ingest_external_file` — RocksDB's own bulk-load
//! path, written the simple way on one thread:
//!
//! 1. read the file and parse it with the `csv` crate (as the importer does) into an arena
//!    (row key + 7 fields per line);
//! 2. sort the lines by row key (`sort_unstable_by`, one thread);
//! 3. write one cell per field in row order, key `row ‖ f ‖ qualifier ‖ (u64::MAX − ts) ‖
//!    Put` (as in [`crate::rocksdb_peer`]), value the field; no compression, 64 KiB blocks,
//!    10 bits/key Bloom filter, like the HFiles of the family;
//! 4. ingest the SST (moved) into a fresh DB.

use std::path::Path;

use rocksdb::{IngestExternalFileOptions, SstFileWriter, DB};

use crate::csvgen::{qualifier, VALUE_FIELDS};
use crate::rocksdb_compact::sst_options;
use crate::rocksdb_peer::encode_key;
use crate::Result;

/// Fields per line: the row key and the values.
const FIELDS: usize = 1 + VALUE_FIELDS;

/// What the import produced.
#[derive(Clone, Copy, Debug, Default)]
pub struct RocksImport {
    /// Lines read.
    pub rows: u64,
    /// Cells (key/value pairs) written.
    pub cells: u64,
    /// Size of the SST.
    pub sst_bytes: u64,
}

/// Imports `csv` into a fresh DB in `db_dir`, staging the SST at `sst`.
pub fn import(csv: &Path, sst: &Path, db_dir: &Path, ts: i64) -> Result<RocksImport> {
    // 1. Parse into an arena: FIELDS + 1 offsets per line.
    let mut arena: Vec<u8> = Vec::new();
    let mut offsets: Vec<u32> = Vec::new();
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_path(csv)?;
    let mut rec = csv::ByteRecord::new();
    while reader.read_byte_record(&mut rec)? {
        if rec.len() != FIELDS {
            return Err(format!("rocksdb import: line with {} fields", rec.len()).into());
        }
        for f in rec.iter() {
            offsets.push(u32::try_from(arena.len()).map_err(|_| "rocksdb import: arena > 4 GiB")?);
            arena.extend_from_slice(f);
        }
    }
    offsets.push(u32::try_from(arena.len()).map_err(|_| "rocksdb import: arena > 4 GiB")?);
    let rows = (offsets.len() - 1) / FIELDS;
    let field = |row: usize, i: usize| -> &[u8] {
        let k = row * FIELDS + i;
        &arena[offsets[k] as usize..offsets[k + 1] as usize]
    };

    // 2. Sort lines by row key.
    let mut order: Vec<u32> = (0..rows as u32).collect();
    order.sort_unstable_by(|&a, &b| field(a as usize, 0).cmp(field(b as usize, 0)));

    // 3. Write the SST.
    let opts = sst_options();
    let mut w = SstFileWriter::create(&opts);
    w.open(sst)?;
    let quals: Vec<Vec<u8>> = (0..VALUE_FIELDS)
        .map(|i| qualifier(i).into_bytes())
        .collect();
    let mut key = Vec::with_capacity(64);
    let mut cells = 0u64;
    let mut prev: Option<&[u8]> = None;
    for &r in &order {
        let row = field(r as usize, 0);
        if prev == Some(row) {
            return Err("rocksdb import: duplicate row key".into());
        }
        prev = Some(row);
        for (i, q) in quals.iter().enumerate() {
            key.clear();
            encode_key(&mut key, row, q, ts);
            w.put(&key, field(r as usize, i + 1))?;
            cells += 1;
        }
    }
    w.finish()?;
    drop(w);
    let sst_bytes = std::fs::metadata(sst)?.len();

    // 4. Ingest.
    let mut dbo = sst_options();
    dbo.create_if_missing(true);
    let db = DB::open(&dbo, db_dir)?;
    let mut ingest = IngestExternalFileOptions::default();
    ingest.set_move_files(true);
    db.ingest_external_file_opts(&ingest, vec![sst])?;
    drop(db);
    Ok(RocksImport {
        rows: rows as u64,
        cells,
        sst_bytes,
    })
}
