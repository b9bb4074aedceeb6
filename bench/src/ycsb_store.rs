//! The two stores YCSB drives, behind one small trait with YCSB's DB interface (read,
//! update, insert, scan of whole records).
//!
//! * **Basalt** ([`BasaltStore`]): the embedded store's `Table` API, one row per record,
//!   one cell per field in family `f` (as YCSB's HBase binding stores them). Read = `get`
//!   of the row; update = `put` of one column; insert = `put` of ten columns; scan =
//!   `scan` with a start row and a row limit. Durability is the table's (`SYNC_WAL`).
//! * **RocksDB** ([`RocksStore`]): as YCSB's RocksDB binding, one key per record whose
//!   value is the serialized field map; update = get + modify + put (the binding's
//!   read-modify-write); every write with `WriteOptions::set_sync(true)` (WAL on, synced
//!   before the write returns).

use std::path::Path;
use std::sync::Arc;

use rocksdb::{BlockBasedOptions, Cache, DBCompressionType, Options, WriteBatch, WriteOptions, DB};
use store_server::{Connection, Get, Put, Scan, Table};

use crate::rowgen::FAMILY;
use crate::Result;

/// A record: (field name, value) pairs.
pub type Record = Vec<(Vec<u8>, Vec<u8>)>;

/// YCSB's DB interface over whole records.
pub trait KvStore: Sync {
    /// Reads all fields of `key`; the number of fields found.
    fn read(&self, key: &[u8]) -> Result<usize>;
    /// Overwrites one field of `key`.
    fn update(&self, key: &[u8], field: &[u8], value: &[u8]) -> Result<()>;
    /// Writes a whole record.
    fn insert(&self, key: &[u8], record: &Record) -> Result<()>;
    /// Writes many records (the load phase).
    fn insert_batch(&self, records: &[(Vec<u8>, Record)]) -> Result<()>;
    /// Reads up to `n` records from `start` on; the number of records read.
    fn scan(&self, start: &[u8], n: usize) -> Result<usize>;
    /// `fsync`s done so far, if this store can tell.
    fn fsyncs(&self) -> Option<u64>;
    /// Flushes and closes the store.
    fn close(&self) -> Result<()>;
}

/// Basalt through `Connection::embedded` and `Table`.
pub struct BasaltStore {
    conn: Connection,
    table: Arc<dyn Table>,
}

impl BasaltStore {
    /// Wraps table `name` of `conn`.
    pub fn new(conn: Connection, name: &str) -> Result<BasaltStore> {
        let table = conn.table(name)?;
        Ok(BasaltStore { conn, table })
    }

    fn put_for(key: &[u8], record: &Record) -> Put {
        let mut p = Put::new(key.to_vec());
        for (f, v) in record {
            p = p.add(FAMILY.to_vec(), f.clone(), v.clone());
        }
        p
    }
}

impl KvStore for BasaltStore {
    fn read(&self, key: &[u8]) -> Result<usize> {
        Ok(self.table.get(&Get::new(key.to_vec()))?.cells.len())
    }

    fn update(&self, key: &[u8], field: &[u8], value: &[u8]) -> Result<()> {
        let p = Put::new(key.to_vec()).add(FAMILY.to_vec(), field.to_vec(), value.to_vec());
        Ok(self.table.put(&p)?)
    }

    fn insert(&self, key: &[u8], record: &Record) -> Result<()> {
        Ok(self.table.put(&Self::put_for(key, record))?)
    }

    fn insert_batch(&self, records: &[(Vec<u8>, Record)]) -> Result<()> {
        let puts: Vec<Put> = records.iter().map(|(k, r)| Self::put_for(k, r)).collect();
        Ok(self.table.put_batch(&puts)?)
    }

    fn scan(&self, start: &[u8], n: usize) -> Result<usize> {
        let scan = Scan::new().with_start_row(start.to_vec()).with_limit(n);
        let mut rows = 0;
        for r in self.table.scan(&scan)?.take(n) {
            std::hint::black_box(r?);
            rows += 1;
        }
        Ok(rows)
    }

    fn fsyncs(&self) -> Option<u64> {
        Some(self.conn.server().wal().stats().fsyncs)
    }

    fn close(&self) -> Result<()> {
        Ok(self.conn.close()?)
    }
}

/// RocksDB as YCSB's RocksDB binding uses it.
pub struct RocksStore {
    db: DB,
    opts: Options,
    write: WriteOptions,
    stats: bool,
}

/// Serializes a record as YCSB's binding does: per field, name length (u32 BE), name,
/// value length (u32 BE), value.
fn serialize(record: &Record, out: &mut Vec<u8>) {
    out.clear();
    for (f, v) in record {
        out.extend_from_slice(&(f.len() as u32).to_be_bytes());
        out.extend_from_slice(f);
        out.extend_from_slice(&(v.len() as u32).to_be_bytes());
        out.extend_from_slice(v);
    }
}

fn deserialize(mut buf: &[u8]) -> Result<Record> {
    let mut out = Vec::with_capacity(crate::ycsb::FIELDS);
    let take = |buf: &mut &[u8]| -> Result<Vec<u8>> {
        let (len, rest) = buf.split_at_checked(4).ok_or("rocksdb: truncated record")?;
        let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
        let (v, rest) = rest
            .split_at_checked(len)
            .ok_or("rocksdb: truncated record")?;
        *buf = rest;
        Ok(v.to_vec())
    };
    while !buf.is_empty() {
        let f = take(&mut buf)?;
        let v = take(&mut buf)?;
        out.push((f, v));
    }
    Ok(out)
}

impl RocksStore {
    /// Opens a fresh DB in `dir`: RocksDB's defaults (4 KiB blocks, 64 MiB memtables, 2
    /// background jobs) except no compression (as Basalt's family), a 10 bits/key Bloom
    /// filter (Basalt's family has a ROW Bloom) and an LRU block cache of `cache_bytes`
    /// (Basalt's default is 256 MiB); `block_size` replaces the 4 KiB blocks. `stats`
    /// enables RocksDB's statistics (to count WAL syncs; costs some speed); `mmap_reads`
    /// reads SST files through memory maps (`allow_mmap_reads`), as Basalt reads HFiles.
    pub fn open(
        dir: &Path,
        cache_bytes: usize,
        block_size: Option<u32>,
        stats: bool,
        mmap_reads: bool,
    ) -> Result<RocksStore> {
        let cache = Cache::new_lru_cache(cache_bytes)?;
        let mut table = BlockBasedOptions::default();
        if let Some(b) = block_size {
            table.set_block_size(b as usize);
        }
        table.set_bloom_filter(10.0, false);
        table.set_block_cache(&cache);
        let mut opts = Options::default();
        opts.create_if_missing(true);
        opts.set_compression_type(DBCompressionType::None);
        opts.set_block_based_table_factory(&table);
        opts.set_allow_mmap_reads(mmap_reads);
        if stats {
            opts.enable_statistics();
        }
        let db = DB::open(&opts, dir)?;
        let mut write = WriteOptions::default();
        write.set_sync(true);
        Ok(RocksStore {
            db,
            opts,
            write,
            stats,
        })
    }

    fn get_record(&self, key: &[u8]) -> Result<Option<Record>> {
        match self.db.get_pinned(key)? {
            Some(v) => Ok(Some(deserialize(&v)?)),
            None => Ok(None),
        }
    }
}

impl KvStore for RocksStore {
    fn read(&self, key: &[u8]) -> Result<usize> {
        Ok(self.get_record(key)?.map(|r| r.len()).unwrap_or(0))
    }

    fn update(&self, key: &[u8], field: &[u8], value: &[u8]) -> Result<()> {
        let mut rec = self.get_record(key)?.unwrap_or_default();
        match rec.iter_mut().find(|(f, _)| f.as_slice() == field) {
            Some(slot) => slot.1 = value.to_vec(),
            None => rec.push((field.to_vec(), value.to_vec())),
        }
        let mut buf = Vec::with_capacity(1100);
        serialize(&rec, &mut buf);
        Ok(self.db.put_opt(key, &buf, &self.write)?)
    }

    fn insert(&self, key: &[u8], record: &Record) -> Result<()> {
        let mut buf = Vec::with_capacity(1100);
        serialize(record, &mut buf);
        Ok(self.db.put_opt(key, &buf, &self.write)?)
    }

    fn insert_batch(&self, records: &[(Vec<u8>, Record)]) -> Result<()> {
        let mut batch = WriteBatch::default();
        let mut buf = Vec::with_capacity(1100);
        for (k, r) in records {
            serialize(r, &mut buf);
            batch.put(k, &buf);
        }
        Ok(self.db.write_opt(batch, &self.write)?)
    }

    fn scan(&self, start: &[u8], n: usize) -> Result<usize> {
        let mut it = self.db.raw_iterator();
        it.seek(start);
        let mut rows = 0;
        while rows < n {
            let Some(v) = it.value() else { break };
            std::hint::black_box(deserialize(v)?);
            rows += 1;
            it.next();
        }
        it.status()?;
        Ok(rows)
    }

    fn fsyncs(&self) -> Option<u64> {
        if !self.stats {
            return None;
        }
        let s = self.opts.get_statistics()?;
        s.lines().find_map(|l| {
            let rest = l.strip_prefix("rocksdb.wal.synced COUNT : ")?;
            rest.trim().parse().ok()
        })
    }

    fn close(&self) -> Result<()> {
        Ok(self.db.flush()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip() -> Result<()> {
        let rec: Record = vec![
            (b"field0".to_vec(), b"abc".to_vec()),
            (b"f1".to_vec(), vec![]),
        ];
        let mut buf = Vec::new();
        serialize(&rec, &mut buf);
        assert_eq!(deserialize(&buf)?, rec);
        assert!(deserialize(&buf[..buf.len() - 1]).is_err());
        Ok(())
    }
}
