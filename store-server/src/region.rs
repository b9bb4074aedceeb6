//! A region: the row range `[start, end)` of a table, one [`Store`] per family, MVCC row
//! atomicity, the write path through the server's WAL, flushes and the read path.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use hfile::cell::same_bytes;
use hfile::{BlockCache, Cell, CellView};
use parking_lot::{Condvar, Mutex, MutexGuard, RwLock};

use crate::cursor::{first_on_row, CellCursor, MergeCursor};
use crate::error::{Error, Result};
use crate::matcher::{FamilyRules, Mode, RowMatcher, Skip, Verdict};
use crate::mvcc::Mvcc;
use crate::row::RowCells;
use crate::scan::{Bound, Filter, Get, RowResult, Scan};
use crate::schema::{Durability, RegionInfo, TableDescriptor};
use crate::store::{SourceCursor, Store};
use crate::storefile::{FileCursor, StoreFile};
use crate::wal::{Wal, WalEntry};

/// Name of the file describing a region inside its directory.
pub const REGION_INFO_FILE: &str = ".regioninfo";
/// Name of the per-region directory for files being written.
pub const TMP_DIR: &str = ".tmp";
const ROW_LOCK_STRIPES: usize = 64;

/// Server-wide memstore accounting: the sum of all regions' memstores, with a condition
/// variable writers block on while the global limit is exceeded.
#[derive(Debug, Default)]
pub struct MemstoreAccounting {
    size: AtomicUsize,
    lock: Mutex<()>,
    shrunk: Condvar,
}

impl MemstoreAccounting {
    /// A new, empty accounting.
    pub fn new() -> Arc<MemstoreAccounting> {
        Arc::new(MemstoreAccounting::default())
    }

    /// Bytes held by all memstores.
    pub fn size(&self) -> usize {
        self.size.load(Ordering::Acquire)
    }

    fn add(&self, n: usize) {
        self.size.fetch_add(n, Ordering::AcqRel);
    }

    fn sub(&self, n: usize) {
        let mut cur = self.size.load(Ordering::Acquire);
        loop {
            let next = cur.saturating_sub(n);
            match self
                .size
                .compare_exchange(cur, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => break,
                Err(v) => cur = v,
            }
        }
        let _g = self.lock.lock();
        self.shrunk.notify_all();
    }

    /// Waits (at most `timeout`) until the total drops below `bytes`; returns whether it did.
    pub fn wait_below(&self, bytes: usize, timeout: std::time::Duration) -> bool {
        let deadline = std::time::Instant::now() + timeout;
        let mut g = self.lock.lock();
        while self.size() >= bytes {
            if self.shrunk.wait_until(&mut g, deadline).timed_out() {
                return self.size() < bytes;
            }
        }
        true
    }
}

/// Locks held on the rows of one mutation (striped; always taken in ascending order).
pub struct RowLocks<'a> {
    _guards: Vec<MutexGuard<'a, ()>>,
}

/// What a flush did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FlushResult {
    /// Sequence id the flush covers.
    pub flush_seq: u64,
    /// Memstore bytes written out.
    pub bytes: usize,
    /// Store files written.
    pub files: usize,
}

/// One open region.
pub struct Region {
    info: RegionInfo,
    dir: PathBuf,
    desc: TableDescriptor,
    stores: BTreeMap<Vec<u8>, Arc<Store>>,
    rules: Arc<HashMap<Vec<u8>, FamilyRules>>,
    mvcc: Mvcc,
    updates: RwLock<()>,
    /// Held shared while a scanner gathers its stores' cursors, exclusively while a bulk
    /// load publishes files in several stores: a scan sees all of them or none.
    publishing: RwLock<()>,
    closed: AtomicBool,
    row_locks: Vec<Mutex<()>>,
    flush_lock: Mutex<()>,
    pub(crate) compaction_lock: Mutex<()>,
    memstore_size: AtomicUsize,
    flushed_seq: AtomicU64,
    wal: Option<Arc<Wal>>,
    accounting: Arc<MemstoreAccounting>,
    /// Set while a background flush of this region is queued.
    pub(crate) flush_queued: AtomicBool,
}

impl std::fmt::Debug for Region {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Region")
            .field("name", &self.info.region_name())
            .field("dir", &self.dir)
            .finish()
    }
}

/// Writes `.regioninfo` into a region directory (creating it).
pub fn write_region_info(dir: &Path, info: &RegionInfo) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let path = dir.join(REGION_INFO_FILE);
    let tmp = dir.join(".regioninfo.tmp");
    std::fs::write(&tmp, info.encode()).map_err(|e| Error::io(&tmp, e))?;
    std::fs::rename(&tmp, &path).map_err(|e| Error::io(&path, e))
}

/// The directory of `family` inside a region directory.
pub fn family_dir(region_dir: &Path, family: &[u8]) -> PathBuf {
    region_dir.join(String::from_utf8_lossy(family).into_owned())
}

impl Region {
    /// Opens (creating if needed) the region in `dir`, loading its store files and replaying
    /// the WAL `entries` newer than each store's files. Returns the region and the number of
    /// cells replayed.
    pub fn open(
        dir: &Path,
        info: RegionInfo,
        desc: TableDescriptor,
        wal: Option<Arc<Wal>>,
        cache: Option<Arc<BlockCache>>,
        accounting: Arc<MemstoreAccounting>,
        entries: &[WalEntry],
    ) -> Result<(Arc<Region>, usize)> {
        if !dir.join(REGION_INFO_FILE).exists() {
            write_region_info(dir, &info)?;
        }
        let tmp = dir.join(TMP_DIR);
        let mut stores = BTreeMap::new();
        let mut rules = HashMap::new();
        for fam in &desc.families {
            let store = Store::open(
                &family_dir(dir, &fam.name),
                &tmp,
                fam.clone(),
                cache.clone(),
            )?;
            stores.insert(fam.name.clone(), Arc::new(store));
            rules.insert(fam.name.clone(), FamilyRules::of(fam));
        }
        let mut max_seq = info.seq_floor;
        let mut flushed = info.seq_floor;
        for s in stores.values() {
            max_seq = max_seq.max(s.max_file_seq_id());
            flushed = flushed.max(s.max_file_seq_id());
        }
        let mut replayed = 0usize;
        let mut replay_bytes = 0usize;
        for e in entries {
            for c in &e.cells {
                let Some(store) = stores.get(c.family()) else {
                    continue;
                };
                if c.seq_id <= store.max_file_seq_id() || !info.contains_row(c.row()) {
                    continue;
                }
                let mut c = c.clone();
                c.seq_id = e.seq;
                replay_bytes += store.add(&c);
                replayed += 1;
            }
            max_seq = max_seq.max(e.seq);
        }
        accounting.add(replay_bytes);
        let region = Region {
            dir: dir.to_path_buf(),
            desc,
            stores,
            rules: Arc::new(rules),
            mvcc: Mvcc::new(max_seq),
            updates: RwLock::new(()),
            publishing: RwLock::new(()),
            closed: AtomicBool::new(false),
            row_locks: (0..ROW_LOCK_STRIPES).map(|_| Mutex::new(())).collect(),
            flush_lock: Mutex::new(()),
            compaction_lock: Mutex::new(()),
            memstore_size: AtomicUsize::new(replay_bytes),
            flushed_seq: AtomicU64::new(if replayed == 0 { max_seq } else { flushed }),
            wal,
            accounting,
            flush_queued: AtomicBool::new(false),
            info,
        };
        Ok((Arc::new(region), replayed))
    }

    /// The region's descriptor.
    pub fn info(&self) -> &RegionInfo {
        &self.info
    }

    /// The table descriptor the region was opened with.
    pub fn table_descriptor(&self) -> &TableDescriptor {
        &self.desc
    }

    /// The region directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The encoded name (WAL key and directory name).
    pub fn encoded_name(&self) -> String {
        self.info.encoded_name()
    }

    /// The stores by family.
    pub fn stores(&self) -> &BTreeMap<Vec<u8>, Arc<Store>> {
        &self.stores
    }

    /// The per-family read rules.
    pub fn rules(&self) -> &Arc<HashMap<Vec<u8>, FamilyRules>> {
        &self.rules
    }

    /// Bytes in this region's memstores.
    pub fn memstore_size(&self) -> usize {
        self.memstore_size.load(Ordering::Acquire)
    }

    /// Highest sequence id whose edits are all in store files.
    pub fn flushed_seq_id(&self) -> u64 {
        self.flushed_seq.load(Ordering::Acquire)
    }

    /// The last sequence id handed out.
    pub fn last_seq_id(&self) -> u64 {
        self.mvcc.last_assigned()
    }

    /// The current MVCC read point.
    pub fn read_point(&self) -> u64 {
        self.mvcc.read_point()
    }

    /// Total size of all store files.
    pub fn store_files_size(&self) -> u64 {
        self.stores.values().map(|s| s.files_size()).sum()
    }

    /// True once the region has been closed (split, disable, shutdown).
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    fn not_serving(&self) -> Error {
        Error::RegionNotServing(self.info.region_name())
    }

    /// Takes the row locks for `rows`.
    pub fn lock_rows<'a>(&'a self, rows: &[&[u8]]) -> RowLocks<'a> {
        let mut idx: Vec<usize> = rows
            .iter()
            .map(|r| {
                let mut h: u64 = 0xcbf29ce484222325;
                for b in r.iter() {
                    h ^= *b as u64;
                    h = h.wrapping_mul(0x100000001b3);
                }
                (h % ROW_LOCK_STRIPES as u64) as usize
            })
            .collect();
        idx.sort_unstable();
        idx.dedup();
        RowLocks {
            _guards: idx.into_iter().map(|i| self.row_locks[i].lock()).collect(),
        }
    }

    /// Applies cells (of any rows of this region) atomically under one sequence id: logged
    /// per `durability`, then added to the memstores and made visible together.
    pub fn write(&self, cells: Vec<Cell>, durability: Durability) -> Result<u64> {
        let mut rows: Vec<&[u8]> = cells.iter().map(|c| c.row()).collect();
        rows.dedup();
        let _locks = self.lock_rows(&rows);
        self.write_locked(cells, durability)
    }

    /// Like [`Region::write`] for a caller that already holds the row locks.
    pub fn write_locked(&self, mut cells: Vec<Cell>, durability: Durability) -> Result<u64> {
        if cells.is_empty() {
            return Ok(self.mvcc.read_point());
        }
        for c in &cells {
            if !self.info.contains_row(c.row()) {
                return Err(self.not_serving());
            }
            if !self.stores.contains_key(c.family()) {
                return Err(Error::FamilyNotFound {
                    table: self.desc.name.to_string(),
                    family: hfile::cell::to_string_binary(c.family()),
                });
            }
        }
        let _u = self.updates.read();
        if self.is_closed() {
            return Err(self.not_serving());
        }
        let seq = self.mvcc.begin();
        for c in &mut cells {
            c.seq_id = seq;
        }
        let logged = match (&self.wal, durability) {
            (Some(wal), Durability::Sync | Durability::Async) => {
                let entry = WalEntry {
                    region: self.encoded_name(),
                    seq,
                    write_time: crate::now_ms(),
                    cells,
                };
                let r = wal.append(&entry).and_then(|tx| {
                    if durability == Durability::Sync {
                        wal.sync(tx)
                    } else {
                        Ok(())
                    }
                });
                cells = entry.cells;
                r
            }
            _ => Ok(()),
        };
        if let Err(e) = logged {
            self.mvcc.complete(seq);
            return Err(e);
        }
        let mut added = 0;
        for c in cells {
            if let Some(store) = self.stores.get(c.family()) {
                added += store.add(&c);
            }
        }
        self.memstore_size.fetch_add(added, Ordering::AcqRel);
        self.accounting.add(added);
        self.mvcc.complete_and_wait(seq);
        Ok(seq)
    }

    /// Runs a read-modify-write on one row under its row lock: `f` may read the region and
    /// returns the cells to write (or `None` to write nothing).
    pub fn read_modify_write<T>(
        &self,
        row: &[u8],
        durability: Durability,
        f: impl FnOnce(&Region) -> Result<(Option<Vec<Cell>>, T)>,
    ) -> Result<T> {
        let _locks = self.lock_rows(&[row]);
        if self.is_closed() {
            return Err(self.not_serving());
        }
        let (cells, out) = f(self)?;
        if let Some(cells) = cells {
            self.write_locked(cells, durability)?;
        }
        Ok(out)
    }

    /// Reads one row.
    pub fn get(&self, get: &Get) -> Result<RowResult> {
        let hi = Bound::Inclusive(get.row.clone());
        let mut s = self.open_scanner(get.row_scan(), &get.row, hi)?;
        Ok(s.next_row()?.unwrap_or_else(|| RowResult {
            row: bytes::Bytes::copy_from_slice(&get.row),
            cells: Vec::new(),
        }))
    }

    /// A scanner over rows `[lo, hi)` of this region (the caller clips to the region range)
    /// honouring the scan's columns, versions, time range and filter.
    pub fn scanner(&self, scan: &Scan, lo: &[u8], hi: Bound) -> Result<RegionScanner> {
        self.open_scanner(Arc::new(scan.clone()), lo, hi)
    }

    /// [`scanner`](Self::scanner) with the scan already shared (the row bounds in it are
    /// not read: `lo` and `hi` are).
    fn open_scanner(&self, scan: Arc<Scan>, lo: &[u8], hi: Bound) -> Result<RegionScanner> {
        if self.is_closed() {
            return Err(self.not_serving());
        }
        let read_point = self.mvcc.read_point();
        let hi_row = match &hi {
            Bound::Unbounded => None,
            Bound::Inclusive(r) | Bound::Exclusive(r) => Some(r.as_slice()),
        };
        let now = crate::now_ms();
        let mut children = Vec::with_capacity(4);
        // Whether every cell the sources hold is visible: at most one plain file per
        // family, wholly inside the time range and the TTL.
        let mut plain = !scan.raw;
        let publishing = self.publishing.read();
        for (fam, store) in &self.stores {
            if !scan.wants_family(fam) {
                continue;
            }
            let from = children.len();
            store.cursors(&mut children, read_point, lo, hi_row, scan.cache_blocks)?;
            plain &= match &children[from..] {
                [] => true,
                [SourceCursor::File(f)] => f.plain_time_range().is_some_and(|(min, max)| {
                    let ttl = self.rules.get(fam).map(|r| r.ttl_ms);
                    scan.time_range.contains(min)
                        && scan.time_range.contains(max)
                        && ttl.is_some_and(|t| t.is_none_or(|t| min >= now.saturating_sub(t)))
                }),
                _ => false,
            };
        }
        drop(publishing);
        let start = first_on_row(lo);
        let merged = |children: Vec<SourceCursor>| -> Result<Sources> {
            let mut c = MergeCursor::new(children);
            c.seek(&start)?;
            Ok(Sources::Merged(c))
        };
        let mut hi = hi;
        let sources = match <[SourceCursor; 1]>::try_from(children) {
            Ok([SourceCursor::File(mut c)]) => {
                // A file that ends before the upper bound needs no test per row.
                if c.last_row().is_some_and(|last| !hi.is_past(last)) {
                    hi = Bound::Unbounded;
                }
                c.seek(&start)?;
                Sources::File(c)
            }
            Ok([other]) => merged(vec![other])?,
            Err(children) => merged(children)?,
        };
        let filter = scan.filter.as_ref();
        let all_columns = scan.columns.is_empty() && filter.is_none_or(Filter::passes_every_column);
        let all_cells = scan.raw || filter.is_some_and(Filter::needs_row_cells);
        let max_cells = if all_cells {
            None
        } else {
            filter.and_then(Filter::cells_per_row)
        };
        Ok(RegionScanner {
            sources,
            rows: RowAssembler {
                hi,
                matcher: RowMatcher::new(self.rules.clone(), Mode::User(scan.clone()), now),
                plain,
                all_columns,
                all_cells,
                max_cells,
                scan,
                row: RowCells::spare(),
            },
        })
    }

    /// Flushes every memstore to new store files. Readers are never blocked; writers are
    /// blocked only while the memstores are swapped.
    pub fn flush(&self) -> Result<FlushResult> {
        let _f = self.flush_lock.lock();
        let (snaps, flush_seq) = {
            let _w = self.updates.write();
            let seq = self.mvcc.last_assigned();
            let snaps: Vec<_> = self
                .stores
                .values()
                .filter_map(|s| s.snapshot().map(|m| (s.clone(), m)))
                .collect();
            (snaps, seq)
        };
        let mut res = FlushResult {
            flush_seq,
            ..FlushResult::default()
        };
        for (store, snap) in &snaps {
            let freed = store.flush_snapshot(snap, flush_seq)?;
            res.bytes += freed;
            res.files += 1;
            let mut cur = self.memstore_size.load(Ordering::Acquire);
            loop {
                let next = cur.saturating_sub(freed);
                match self.memstore_size.compare_exchange(
                    cur,
                    next,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                ) {
                    Ok(_) => break,
                    Err(v) => cur = v,
                }
            }
            self.accounting.sub(freed);
        }
        self.flushed_seq.fetch_max(flush_seq, Ordering::AcqRel);
        Ok(res)
    }

    /// Blocks new writes, flushes, and marks the region closed. Later writes and new
    /// scanners fail with [`Error::RegionNotServing`].
    pub fn close(&self) -> Result<()> {
        if self.is_closed() {
            return Ok(());
        }
        // Flush most data while writes continue, then close and flush the rest.
        self.flush()?;
        {
            let _w = self.updates.write();
            self.closed.store(true, Ordering::Release);
        }
        self.flush()?;
        Ok(())
    }

    /// Marks the region closed without flushing (used when dropping a region whose data is
    /// being discarded). Memory accounting is released.
    pub fn abandon(&self) {
        {
            let _w = self.updates.write();
            self.closed.store(true, Ordering::Release);
        }
        let sz = self.memstore_size.swap(0, Ordering::AcqRel);
        self.accounting.sub(sz);
    }

    /// Adds store files to their stores so that a scanner sees all of them or none (the
    /// commit of a bulk load).
    pub fn publish_files<'a>(
        &self,
        files: impl IntoIterator<Item = (&'a Arc<Store>, Arc<StoreFile>)>,
    ) {
        let _p = self.publishing.write();
        for (store, file) in files {
            store.add_files(vec![file]);
        }
    }

    /// Assigns a new sequence id with writes blocked and runs `f` with it (bulk load):
    /// memstores are snapshotted first, flushed, and only then `f` runs, so a crash can never
    /// lose unflushed edits older than the new id.
    pub fn with_new_seq_after_flush<T>(&self, f: impl FnOnce(u64) -> Result<T>) -> Result<T> {
        self.flush()?;
        let _f = self.flush_lock.lock();
        let _w = self.updates.write();
        if self.is_closed() {
            return Err(self.not_serving());
        }
        // Anything written between the flush above and taking the lock is flushed now.
        let seq_before = self.mvcc.last_assigned();
        let mut freed_total = 0;
        for store in self.stores.values() {
            if let Some(snap) = store.snapshot() {
                freed_total += store.flush_snapshot(&snap, seq_before)?;
            }
        }
        if freed_total > 0 {
            self.memstore_size
                .fetch_sub(freed_total.min(self.memstore_size()), Ordering::AcqRel);
            self.accounting.sub(freed_total);
        }
        self.flushed_seq.fetch_max(seq_before, Ordering::AcqRel);
        let seq = self.mvcc.begin();
        self.mvcc.complete(seq);
        let out = f(seq)?;
        self.flushed_seq.fetch_max(seq, Ordering::AcqRel);
        Ok(out)
    }
}

/// Iterates the rows of one region for one scan.
pub struct RegionScanner {
    sources: Sources,
    rows: RowAssembler,
}

/// What a region scan reads: one store file directly (a compacted or bulk-loaded region
/// with an empty memstore), or the merge of several sources.
// One per region scan: the file cursor is kept inline, not boxed.
#[allow(clippy::large_enum_variant)]
enum Sources {
    File(FileCursor),
    Merged(MergeCursor<SourceCursor>),
}

/// Builds rows from a cell cursor: versions, deletes, columns and filters.
struct RowAssembler {
    hi: Bound,
    scan: Arc<Scan>,
    matcher: RowMatcher,
    /// Every cell of the sources is visible (see [`FileCursor::plain_time_range`]): the
    /// matcher is not consulted.
    plain: bool,
    /// The scan selects every column (no column list, no column filter).
    all_columns: bool,
    /// Row-level tests see every visible cell (raw scans, single-column-value filters);
    /// otherwise unselected columns are dropped as they stream by.
    all_cells: bool,
    /// The most cells a row returns (a first-key-only row stops at its first cell).
    max_cells: Option<usize>,
    row: RowCells,
}

impl Drop for RowAssembler {
    fn drop(&mut self) {
        std::mem::take(&mut self.row).recycle();
    }
}

impl RegionScanner {
    /// The next row with at least one visible cell, or `None` at the end of the range.
    pub fn next_row(&mut self) -> Result<Option<RowResult>> {
        Ok(if self.advance_row()? {
            Some(self.rows.row.to_result())
        } else {
            None
        })
    }

    /// The row [`advance_row`](Self::advance_row) assembled last.
    pub(crate) fn row(&self) -> &RowCells {
        &self.rows.row
    }

    /// Assembles the next row with at least one visible cell; false at the end of the range.
    pub(crate) fn advance_row(&mut self) -> Result<bool> {
        // One dispatch per row: the row loop is compiled for each kind of source.
        match &mut self.sources {
            Sources::File(c) => self.rows.next(c),
            Sources::Merged(c) => self.rows.next(c),
        }
    }
}

impl RowAssembler {
    /// Assembles the next row with at least one visible cell from `cursor`; false at the
    /// end of the range.
    fn next<C: CellCursor>(&mut self, cursor: &mut C) -> Result<bool> {
        let filter = self.scan.filter.as_ref();
        let (all_cells, max_cells) = (self.all_cells, self.max_cells);
        loop {
            match cursor.peek_row() {
                None => return Ok(false),
                Some(r) if self.hi.is_past(r) => return Ok(false),
                Some(r) => self.row.start_in(cursor.block(), r),
            }
            if !filter.is_none_or(|f| f.row_passes(self.row.row())) {
                let mut next = self.row.row().to_vec();
                next.push(0);
                cursor.seek(&first_on_row(&next))?;
                continue;
            }
            self.matcher.start_row();
            // The row is compared before the cell is built: cells a first-key-only row
            // skips are never built at all.
            while let Some(r) = cursor.peek_row() {
                if !same_bytes(r, self.row.row()) {
                    break;
                }
                if max_cells.is_some_and(|n| self.row.len() >= n) {
                    cursor.advance()?;
                    continue;
                }
                // Used in place: moving the cell out of the option costs a store-forwarding
                // stall (its one-byte type field is read back in eight-byte words).
                let peeked = cursor.peek();
                let Some(c) = peeked.as_ref() else { break };
                if self.plain {
                    if all_cells || self.all_columns || self.scan.selects(c.family, c.qualifier) {
                        self.row.push(c);
                    }
                    cursor.advance()?;
                    continue;
                }
                let verdict = self.matcher.check(c);
                if verdict == Verdict::Keep && (all_cells || self.matcher.selected()) {
                    self.row.push(c);
                }
                let counted =
                    matches!(verdict, Verdict::Keep | Verdict::Skip(Skip::ExcessVersions));
                if counted && self.matcher.column_done() {
                    // The rest of the column cannot show: skip its older versions
                    // without visiting them.
                    let (family, qualifier) = self.matcher.column();
                    cursor.skip_column(self.row.row(), family, qualifier)?;
                    continue;
                }
                cursor.advance()?;
            }
            if all_cells {
                self.row.apply(&self.scan);
            } else if let Some(f) = filter {
                // Cells were selected as they streamed by.
                self.row.transform(f);
            }
            if !self.row.is_empty() {
                return Ok(true);
            }
        }
    }
}
