//! The write path peer of `bench import`: the same CSV lines loaded through the store's
//! `Table::put_batch` (batched puts, the table's default `SYNC_WAL` durability), then a
//! flush so the data ends in HFiles as an import's does.
//!
//! One thread parses the CSV (the `csv` crate, as the importer) into batches of puts; `writers`
//! threads send them. Every cell gets the same fixed timestamp as the import's.

use std::path::Path;
use std::sync::mpsc::sync_channel;
use std::sync::{Arc, Mutex};

use store_server::{Connection, Put, TableName};

use crate::csvgen::{qualifier, VALUE_FIELDS};
use crate::rowgen::FAMILY;
use crate::Result;

/// Loads the first `max_rows` lines of `csv` into table `table`; returns the rows loaded and
/// the CSV bytes they took.
pub fn load(
    conn: &Connection,
    table: &str,
    csv: &Path,
    max_rows: u64,
    batch: usize,
    writers: usize,
    ts: i64,
) -> Result<(u64, u64)> {
    let t = conn.table(table)?;
    let quals: Vec<Vec<u8>> = (0..VALUE_FIELDS)
        .map(|i| qualifier(i).into_bytes())
        .collect();
    let (tx, rx) = sync_channel::<Vec<Put>>(writers * 2);
    let rx = Arc::new(Mutex::new(rx));
    let loaded = std::thread::scope(|s| -> Result<(u64, u64)> {
        let mut handles = Vec::new();
        for _ in 0..writers.max(1) {
            let (rx, t) = (rx.clone(), t.clone());
            handles.push(s.spawn(move || -> Result<()> {
                loop {
                    let next = rx.lock().map_err(|_| "put loader: poisoned")?.recv();
                    let Ok(puts) = next else { return Ok(()) };
                    t.put_batch(&puts)?;
                }
            }));
        }
        // Only the writers hold the receiver: if they all fail, sending fails instead of
        // blocking.
        drop(rx);
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_path(csv)?;
        let mut rec = csv::ByteRecord::new();
        let mut puts = Vec::with_capacity(batch);
        let mut rows = 0u64;
        let mut failed: Option<crate::BoxError> = None;
        while rows < max_rows {
            match reader.read_byte_record(&mut rec) {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => {
                    failed = Some(e.into());
                    break;
                }
            }
            let key = rec.get(0).ok_or("put loader: empty line")?;
            let mut p = Put::new(key.to_vec());
            for (i, q) in quals.iter().enumerate() {
                let v = rec.get(i + 1).ok_or("put loader: short line")?;
                p = p.add_ts(FAMILY.to_vec(), q.clone(), ts, v.to_vec());
            }
            puts.push(p);
            rows += 1;
            if puts.len() == batch && tx.send(std::mem::take(&mut puts)).is_err() {
                break;
            }
        }
        if !puts.is_empty() {
            let _ = tx.send(puts);
        }
        drop(tx);
        for h in handles {
            h.join().map_err(|_| "put loader: writer panicked")??;
        }
        match failed {
            Some(e) => Err(e),
            None => Ok((rows, reader.position().byte())),
        }
    })?;
    conn.admin().flush(&TableName::parse(table)?)?;
    Ok(loaded)
}
