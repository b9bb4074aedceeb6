//! The write-ahead log: one per region server, shared by all its regions.
//!
//! File layout: an 8-byte magic `BASALTW1`, then records `len: u32 | crc32c(payload): u32 |
//! payload`. A payload is one [`WalEntry`]: the region's encoded name, the sequence id, the
//! write time and the cells of one mutation (a whole row mutation or batch, so replay is
//! all-or-nothing per mutation).
//!
//! Writers append to an in-memory buffer and get a transaction id; [`Wal::sync`] makes
//! everything up to a transaction id durable. Concurrent syncs are *group committed*: one
//! caller becomes the leader, writes the buffer and calls `fsync` once for everybody waiting.
//! The log rolls to a new file past a size; a rolled file is archived (moved to `oldWALs/`)
//! once every region's edits in it are flushed to store files, and deleted from there by
//! [`delete_older_than`] once it is older than a time to live.
//!
//! On reading, a torn or corrupt tail (short record, length past the end, checksum mismatch,
//! undecodable payload) is detected, reported with file and offset, and cut.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use bytes::Bytes;
use hfile::{Cell, CellView};
use parking_lot::{Condvar, Mutex};

use crate::codec::{Decoder, Encoder};
use crate::error::{Error, Result};

/// Magic bytes at the start of every WAL file.
pub const WAL_MAGIC: &[u8; 8] = b"BASALTW1";
/// Largest record payload accepted on read (guards against a garbage length).
pub const MAX_RECORD: u32 = 1 << 30;
const RECORD_HEADER: usize = 8;

/// One logged mutation: the cells written to one region under one sequence id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WalEntry {
    /// Encoded name of the region written to.
    pub region: String,
    /// The mutation's sequence id (also each cell's `seq_id`).
    pub seq: u64,
    /// Wall-clock time of the write, ms since the epoch.
    pub write_time: i64,
    /// The cells, with timestamps resolved.
    pub cells: Vec<Cell>,
}

impl WalEntry {
    /// Serializes the entry payload.
    pub fn encode(&self) -> Vec<u8> {
        let mut e = Encoder::with_buffer(Vec::with_capacity(64 + self.cells.len() * 64));
        e.str(&self.region)
            .u64(self.seq)
            .i64(self.write_time)
            .u32(self.cells.len() as u32);
        for c in &self.cells {
            e.bytes(c.row())
                .bytes(c.family())
                .bytes(c.qualifier())
                .i64(c.timestamp())
                .u8(c.type_code())
                .bytes(c.value())
                .bytes(c.tags());
        }
        e.finish()
    }

    /// Parses a payload; `what`/`base` locate it in errors.
    pub fn decode(buf: &[u8], what: &str, base: u64) -> Result<WalEntry> {
        let mut d = Decoder::with_base(buf, what, base);
        let region = d.str()?;
        let seq = d.u64()?;
        let write_time = d.i64()?;
        let n = d.u32()?;
        let mut cells = Vec::with_capacity((n as usize).min(1 << 16));
        for _ in 0..n {
            let row = Bytes::copy_from_slice(d.bytes()?);
            let family = Bytes::copy_from_slice(d.bytes()?);
            let qualifier = Bytes::copy_from_slice(d.bytes()?);
            let timestamp = d.i64()?;
            let type_code = d.u8()?;
            let value = Bytes::copy_from_slice(d.bytes()?);
            let tags = Bytes::copy_from_slice(d.bytes()?);
            cells.push(Cell {
                row,
                family,
                qualifier,
                timestamp,
                type_code,
                value,
                tags,
                seq_id: seq,
            });
        }
        d.expect_done()?;
        Ok(WalEntry {
            region,
            seq,
            write_time,
            cells,
        })
    }
}

/// Damage found at the tail of a WAL file (and cut off) during recovery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WalDamage {
    /// The damaged file.
    pub path: PathBuf,
    /// Offset of the first bad record; the file was cut to this length.
    pub offset: u64,
    /// Bytes discarded.
    pub discarded: u64,
    /// What was wrong.
    pub reason: String,
}

impl std::fmt::Display for WalDamage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: damaged WAL tail at offset {} ({}); {} bytes discarded",
            self.path.display(),
            self.offset,
            self.reason,
            self.discarded
        )
    }
}

/// Frames one payload as a WAL record.
pub fn frame_record(payload: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    out.extend_from_slice(&crc32c::crc32c(payload).to_be_bytes());
    out.extend_from_slice(payload);
}

/// Reads every intact entry of a WAL file. Stops at the first damaged record and reports
/// it (without modifying the file); see [`recover_file`] to also cut the tail.
pub fn read_file(path: &Path) -> Result<(Vec<WalEntry>, Option<WalDamage>)> {
    let mut buf = Vec::new();
    File::open(path)
        .and_then(|mut f| f.read_to_end(&mut buf))
        .map_err(|e| Error::io(path, e))?;
    let what = path.display().to_string();
    let total = buf.len() as u64;
    let damage = |offset: usize, reason: String| WalDamage {
        path: path.to_path_buf(),
        offset: offset as u64,
        discarded: total - offset as u64,
        reason,
    };
    if buf.len() < WAL_MAGIC.len() || &buf[..WAL_MAGIC.len()] != WAL_MAGIC {
        let d = if buf.is_empty() {
            None
        } else {
            Some(damage(0, "missing or bad WAL header".into()))
        };
        return Ok((Vec::new(), d));
    }
    let mut pos = WAL_MAGIC.len();
    let mut entries = Vec::new();
    while pos < buf.len() {
        let left = buf.len() - pos;
        if left < RECORD_HEADER {
            return Ok((
                entries,
                Some(damage(pos, format!("torn record header ({left} bytes)"))),
            ));
        }
        let len = u32::from_be_bytes([buf[pos], buf[pos + 1], buf[pos + 2], buf[pos + 3]]);
        let crc = u32::from_be_bytes([buf[pos + 4], buf[pos + 5], buf[pos + 6], buf[pos + 7]]);
        if len > MAX_RECORD || len as usize > left - RECORD_HEADER {
            return Ok((
                entries,
                Some(damage(
                    pos,
                    format!(
                        "record length {len} exceeds the {} bytes left",
                        left - RECORD_HEADER
                    ),
                )),
            ));
        }
        let payload = &buf[pos + RECORD_HEADER..pos + RECORD_HEADER + len as usize];
        let actual = crc32c::crc32c(payload);
        if actual != crc {
            return Ok((
                entries,
                Some(damage(
                    pos,
                    format!("checksum mismatch (stored {crc:#010x}, computed {actual:#010x})"),
                )),
            ));
        }
        match WalEntry::decode(payload, &what, (pos + RECORD_HEADER) as u64) {
            Ok(e) => entries.push(e),
            Err(e) => {
                return Ok((
                    entries,
                    Some(damage(pos, format!("undecodable record: {e}"))),
                ))
            }
        }
        pos += RECORD_HEADER + len as usize;
    }
    Ok((entries, None))
}

/// Reads a WAL file and, if its tail is damaged, truncates the file to the last intact
/// record so the damage is never half-applied or re-reported.
pub fn recover_file(path: &Path) -> Result<(Vec<WalEntry>, Option<WalDamage>)> {
    let (entries, damage) = read_file(path)?;
    if let Some(d) = &damage {
        tracing::warn!("{d}");
        let f = OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(|e| Error::io(path, e))?;
        f.set_len(d.offset).map_err(|e| Error::io(path, e))?;
        f.sync_all().map_err(|e| Error::io(path, e))?;
    }
    Ok((entries, damage))
}

/// Lists the WAL files of a directory in the order they were written.
pub fn list_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(Error::io(dir, e)),
    };
    for ent in rd {
        let ent = ent.map_err(|e| Error::io(dir, e))?;
        let name = ent.file_name().to_string_lossy().into_owned();
        if name.starts_with("wal.") || name.contains(".wal.") {
            out.push(ent.path());
        }
    }
    out.sort();
    Ok(out)
}

/// Deletes the WAL files in `dir` (an archive) last modified more than `ttl` ago, as HBase's
/// `TimeToLiveLogCleaner` does; returns how many. A missing directory holds none.
pub fn delete_older_than(dir: &Path, ttl: std::time::Duration) -> Result<usize> {
    let now = std::time::SystemTime::now();
    let mut deleted = 0;
    for f in list_files(dir)? {
        let modified = std::fs::metadata(&f)
            .and_then(|m| m.modified())
            .map_err(|e| Error::io(&f, e))?;
        if now.duration_since(modified).unwrap_or_default() >= ttl {
            match std::fs::remove_file(&f) {
                Ok(()) => deleted += 1,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io(&f, e)),
            }
        }
    }
    Ok(deleted)
}

/// A rolled (no longer written) WAL file and the highest sequence id per region in it.
#[derive(Debug)]
struct RolledFile {
    path: PathBuf,
    regions: HashMap<String, u64>,
}

#[derive(Debug)]
struct Inner {
    buf: Vec<u8>,
    last_txid: u64,
    file: Arc<File>,
    path: PathBuf,
    file_no: u64,
    size: u64,
    regions: HashMap<String, u64>,
    rolled: Vec<RolledFile>,
    closed: bool,
}

#[derive(Debug, Default)]
struct SyncState {
    synced_txid: u64,
    syncing: bool,
}

/// Counters describing the log's activity (for tests and benchmarks).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WalStats {
    /// Entries appended.
    pub appends: u64,
    /// `fsync` calls made.
    pub fsyncs: u64,
    /// Files rolled.
    pub rolls: u64,
    /// Files archived.
    pub archived: u64,
}

/// The region server's write-ahead log.
#[derive(Debug)]
pub struct Wal {
    dir: PathBuf,
    archive_dir: PathBuf,
    roll_size: u64,
    inner: Mutex<Inner>,
    sync_state: Mutex<SyncState>,
    sync_cv: Condvar,
    failed: Mutex<Option<String>>,
    appends: AtomicU64,
    fsyncs: AtomicU64,
    rolls: AtomicU64,
    archived: AtomicU64,
    shutdown: AtomicBool,
    syncer: Mutex<Option<std::thread::JoinHandle<()>>>,
}

fn new_file(dir: &Path, file_no: u64) -> Result<(Arc<File>, PathBuf)> {
    let path = dir.join(format!("wal.{file_no:020}"));
    let mut f = OpenOptions::new()
        .create_new(true)
        .write(true)
        .open(&path)
        .map_err(|e| Error::io(&path, e))?;
    f.write_all(WAL_MAGIC).map_err(|e| Error::io(&path, e))?;
    f.sync_all().map_err(|e| Error::io(&path, e))?;
    if let Ok(d) = File::open(dir) {
        // Make the new directory entry durable; not all platforms allow syncing a dir.
        let _ = d.sync_all();
    }
    Ok((Arc::new(f), path))
}

impl Wal {
    /// Creates a new log in `dir` (which must hold no live log), archiving rolled files to
    /// `archive_dir`. Files roll past `roll_size` bytes. A background thread syncs
    /// `ASYNC` writes every `async_interval`.
    pub fn create(
        dir: &Path,
        archive_dir: &Path,
        roll_size: u64,
        async_interval: Duration,
    ) -> Result<Arc<Wal>> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        std::fs::create_dir_all(archive_dir).map_err(|e| Error::io(archive_dir, e))?;
        let (file, path) = new_file(dir, 1)?;
        let wal = Arc::new(Wal {
            dir: dir.to_path_buf(),
            archive_dir: archive_dir.to_path_buf(),
            roll_size: roll_size.max(1024),
            inner: Mutex::new(Inner {
                buf: Vec::new(),
                last_txid: 0,
                file,
                path,
                file_no: 1,
                size: WAL_MAGIC.len() as u64,
                regions: HashMap::new(),
                rolled: Vec::new(),
                closed: false,
            }),
            sync_state: Mutex::new(SyncState::default()),
            sync_cv: Condvar::new(),
            failed: Mutex::new(None),
            appends: AtomicU64::new(0),
            fsyncs: AtomicU64::new(0),
            rolls: AtomicU64::new(0),
            archived: AtomicU64::new(0),
            shutdown: AtomicBool::new(false),
            syncer: Mutex::new(None),
        });
        let weak: Weak<Wal> = Arc::downgrade(&wal);
        let handle = std::thread::Builder::new()
            .name("wal-syncer".into())
            .spawn(move || loop {
                std::thread::park_timeout(async_interval);
                let Some(w) = weak.upgrade() else { return };
                if w.shutdown.load(Ordering::Acquire) {
                    return;
                }
                let last = w.inner.lock().last_txid;
                if last > w.sync_state.lock().synced_txid {
                    if let Err(e) = w.sync(last) {
                        tracing::error!("background WAL sync failed: {e}");
                    }
                }
            })
            .map_err(|e| Error::io(dir, e))?;
        *wal.syncer.lock() = Some(handle);
        Ok(wal)
    }

    /// The directory holding the live log files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn check_failed(&self) -> Result<()> {
        match &*self.failed.lock() {
            Some(m) => Err(Error::WalFailed(m.clone())),
            None => Ok(()),
        }
    }

    /// Appends an entry to the log buffer and returns its transaction id; call
    /// [`Wal::sync`] with it to make it durable.
    pub fn append(&self, entry: &WalEntry) -> Result<u64> {
        self.check_failed()?;
        let payload = entry.encode();
        let mut g = self.inner.lock();
        if g.closed {
            return Err(Error::Closed);
        }
        let before = g.buf.len();
        frame_record(&payload, &mut g.buf);
        g.size += (g.buf.len() - before) as u64;
        g.last_txid += 1;
        let m = g.regions.entry(entry.region.clone()).or_insert(0);
        *m = (*m).max(entry.seq);
        self.appends.fetch_add(1, Ordering::Relaxed);
        Ok(g.last_txid)
    }

    /// Waits until every entry up to `txid` is on disk (fsynced). Concurrent callers share
    /// one fsync.
    pub fn sync(&self, txid: u64) -> Result<()> {
        let mut s = self.sync_state.lock();
        loop {
            self.check_failed()?;
            if s.synced_txid >= txid {
                return Ok(());
            }
            if !s.syncing {
                s.syncing = true;
                drop(s);
                let r = self.leader_sync();
                s = self.sync_state.lock();
                s.syncing = false;
                match r {
                    Ok(upto) => s.synced_txid = s.synced_txid.max(upto),
                    Err(e) => {
                        let msg = e.to_string();
                        tracing::error!("WAL sync failed: {msg}");
                        *self.failed.lock() = Some(msg);
                    }
                }
                self.sync_cv.notify_all();
                continue;
            }
            self.sync_cv.wait(&mut s);
        }
    }

    /// Writes the buffer and fsyncs; rolls if the file is too big. Returns the txid synced.
    fn leader_sync(&self) -> Result<u64> {
        let (data, upto, file, path, size) = {
            let mut g = self.inner.lock();
            (
                std::mem::take(&mut g.buf),
                g.last_txid,
                g.file.clone(),
                g.path.clone(),
                g.size,
            )
        };
        if !data.is_empty() {
            (&*file).write_all(&data).map_err(|e| Error::io(&path, e))?;
            file.sync_data().map_err(|e| Error::io(&path, e))?;
            self.fsyncs.fetch_add(1, Ordering::Relaxed);
        }
        if size > self.roll_size {
            return Ok(upto.max(self.roll()?));
        }
        Ok(upto)
    }

    /// Closes the current file (writing and syncing whatever is buffered) and starts a new
    /// one. Returns the last txid now durable.
    pub fn roll(&self) -> Result<u64> {
        let mut g = self.inner.lock();
        if g.closed {
            return Err(Error::Closed);
        }
        let data = std::mem::take(&mut g.buf);
        if !data.is_empty() {
            (&*g.file)
                .write_all(&data)
                .map_err(|e| Error::io(&g.path, e))?;
        }
        g.file.sync_data().map_err(|e| Error::io(&g.path, e))?;
        self.fsyncs.fetch_add(1, Ordering::Relaxed);
        let next_no = g.file_no + 1;
        let (file, path) = new_file(&self.dir, next_no)?;
        let old_path = std::mem::replace(&mut g.path, path);
        g.file = file;
        g.file_no = next_no;
        g.size = WAL_MAGIC.len() as u64;
        let regions = std::mem::take(&mut g.regions);
        g.rolled.push(RolledFile {
            path: old_path,
            regions,
        });
        self.rolls.fetch_add(1, Ordering::Relaxed);
        Ok(g.last_txid)
    }

    /// Syncs everything appended so far.
    pub fn sync_all(&self) -> Result<()> {
        let last = self.inner.lock().last_txid;
        self.sync(last)
    }

    /// Moves every rolled file whose edits are all flushed to the archive directory.
    /// `flushed(region)` gives the highest flushed sequence id of an online region, or
    /// `None` if the region is not online (closed regions were flushed when closed).
    pub fn archive_flushed(&self, flushed: &dyn Fn(&str) -> Option<u64>) -> Result<usize> {
        let done: Vec<PathBuf> = {
            let mut g = self.inner.lock();
            let mut keep = Vec::new();
            let mut done = Vec::new();
            for f in g.rolled.drain(..) {
                let all_flushed = f
                    .regions
                    .iter()
                    .all(|(r, max)| flushed(r).map(|fl| fl >= *max).unwrap_or(true));
                if all_flushed {
                    done.push(f.path);
                } else {
                    keep.push(f);
                }
            }
            g.rolled = keep;
            done
        };
        for p in &done {
            let dir_name = self
                .dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let target = self.archive_dir.join(format!("{dir_name}.{name}"));
            std::fs::rename(p, &target).map_err(|e| Error::io(p, e))?;
            self.archived.fetch_add(1, Ordering::Relaxed);
        }
        Ok(done.len())
    }

    /// Number of rolled files not yet archived.
    pub fn rolled_count(&self) -> usize {
        self.inner.lock().rolled.len()
    }

    /// Regions holding edits in the oldest rolled file (flush them to free it).
    pub fn regions_pinning_oldest(&self) -> Vec<String> {
        self.inner
            .lock()
            .rolled
            .first()
            .map(|f| f.regions.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// Activity counters.
    pub fn stats(&self) -> WalStats {
        WalStats {
            appends: self.appends.load(Ordering::Relaxed),
            fsyncs: self.fsyncs.load(Ordering::Relaxed),
            rolls: self.rolls.load(Ordering::Relaxed),
            archived: self.archived.load(Ordering::Relaxed),
        }
    }

    /// Syncs and closes the log; later appends fail with [`Error::Closed`].
    pub fn close(&self) -> Result<()> {
        let r = self.sync_all();
        self.inner.lock().closed = true;
        self.shutdown.store(true, Ordering::Release);
        if let Some(h) = self.syncer.lock().take() {
            h.thread().unpark();
            if h.thread().id() != std::thread::current().id() {
                let _ = h.join();
            }
        }
        r
    }
}

impl Drop for Wal {
    fn drop(&mut self) {
        self.shutdown.store(true, Ordering::Release);
        if let Some(h) = self.syncer.lock().take() {
            h.thread().unpark();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(region: &str, seq: u64, row: &str) -> WalEntry {
        WalEntry {
            region: region.into(),
            seq,
            write_time: 7,
            cells: vec![Cell::put(row.to_string(), "f", "q", 1, "value")],
        }
    }

    #[test]
    fn append_sync_read_back() -> Result<()> {
        let d = tempfile::tempdir().map_err(|e| Error::io("tmp", e))?;
        let wal = Wal::create(
            &d.path().join("w"),
            &d.path().join("old"),
            1 << 20,
            Duration::from_millis(50),
        )?;
        for i in 0..10 {
            let t = wal.append(&entry("r1", i + 1, &format!("row{i}")))?;
            wal.sync(t)?;
        }
        let files = list_files(&d.path().join("w"))?;
        assert_eq!(files.len(), 1);
        let (entries, damage) = read_file(&files[0])?;
        assert!(damage.is_none());
        assert_eq!(entries.len(), 10);
        assert_eq!(entries[3], {
            let mut e = entry("r1", 4, "row3");
            e.cells[0].seq_id = 4;
            e
        });
        assert!(wal.stats().fsyncs >= 1);
        wal.close()?;
        assert!(matches!(
            wal.append(&entry("r1", 99, "x")),
            Err(Error::Closed)
        ));
        Ok(())
    }

    #[test]
    fn torn_and_corrupt_tails_are_cut() -> Result<()> {
        let d = tempfile::tempdir().map_err(|e| Error::io("tmp", e))?;
        let wal = Wal::create(
            &d.path().join("w"),
            &d.path().join("old"),
            1 << 20,
            Duration::from_millis(50),
        )?;
        for i in 0..5 {
            let t = wal.append(&entry("r1", i + 1, "row"))?;
            wal.sync(t)?;
        }
        wal.close()?;
        let path = list_files(&d.path().join("w"))?.remove(0);
        let full = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;

        // Truncate in the middle of the last record.
        std::fs::write(&path, &full[..full.len() - 3]).map_err(|e| Error::io(&path, e))?;
        let (entries, damage) = recover_file(&path)?;
        assert_eq!(entries.len(), 4);
        let damage = damage.ok_or_else(|| Error::InvalidArgument("no damage".into()))?;
        assert!(damage.reason.contains("exceeds"), "{}", damage.reason);
        let cut_len = std::fs::metadata(&path)
            .map_err(|e| Error::io(&path, e))?
            .len();
        assert_eq!(cut_len, damage.offset);
        // Re-reading after the cut is clean.
        let (entries, damage) = read_file(&path)?;
        assert_eq!((entries.len(), damage), (4, None));

        // Flip a byte inside the last record's payload.
        let mut flipped = full.clone();
        let n = flipped.len();
        flipped[n - 2] ^= 0x5a;
        std::fs::write(&path, &flipped).map_err(|e| Error::io(&path, e))?;
        let (entries, damage) = recover_file(&path)?;
        assert_eq!(entries.len(), 4);
        assert!(damage
            .map(|d| d.reason.contains("checksum"))
            .unwrap_or(false));
        Ok(())
    }

    #[test]
    fn group_commit_shares_fsyncs_and_rolls_archive() -> Result<()> {
        let d = tempfile::tempdir().map_err(|e| Error::io("tmp", e))?;
        let wal = Wal::create(
            &d.path().join("w"),
            &d.path().join("old"),
            4096,
            Duration::from_secs(60),
        )?;
        std::thread::scope(|s| {
            for t in 0..8 {
                let wal = &wal;
                s.spawn(move || {
                    for i in 0..50u64 {
                        let seq = t * 1000 + i + 1;
                        let txid = wal.append(&entry(&format!("r{t}"), seq, "row"));
                        let ok = txid.and_then(|x| wal.sync(x)).is_ok();
                        assert!(ok);
                    }
                });
            }
        });
        let st = wal.stats();
        assert_eq!(st.appends, 400);
        assert!(
            st.fsyncs <= 400 + st.rolls,
            "fsyncs {} rolls {}",
            st.fsyncs,
            st.rolls
        );
        assert!(st.rolls >= 1, "4 KiB roll size must have rolled");
        // Nothing flushed yet: nothing archivable.
        assert_eq!(wal.archive_flushed(&|_| Some(0))?, 0);
        // Everything flushed: all rolled files archived.
        let rolled = wal.rolled_count();
        assert_eq!(wal.archive_flushed(&|_| Some(u64::MAX))?, rolled);
        assert_eq!(list_files(&d.path().join("old"))?.len(), rolled);
        // Archived files live out their time to live, then go.
        let old = d.path().join("old");
        assert_eq!(delete_older_than(&old, Duration::from_secs(600))?, 0);
        assert_eq!(list_files(&old)?.len(), rolled);
        assert_eq!(delete_older_than(&old, Duration::ZERO)?, rolled);
        assert!(list_files(&old)?.is_empty());
        assert_eq!(
            delete_older_than(&d.path().join("missing"), Duration::ZERO)?,
            0
        );
        Ok(())
    }
}
