//! The embedded region server: hosts every region of a root directory behind one WAL and
//! one block cache, keeps the catalog, runs flushes, compactions and splits in a background
//! worker, and implements the table and admin operations the client API exposes.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use hfile::{BlockCache, Cell, CellView};
use parking_lot::{Mutex, RwLock};

use crate::catalog::{meta_descriptor, meta_region_info, Catalog, CatalogEdit};
use crate::compaction::{compact_region, CompactionConfig, CompactionReport};
use crate::error::{Error, Result};
use crate::region::{write_region_info, MemstoreAccounting, Region, RegionScanner, TMP_DIR};
use crate::row::{RowCells, RowCursor};
use crate::scan::{Bound, RowResult, Scan};
use crate::schema::{Durability, RegionInfo, TableDescriptor, TableName};
use crate::split::{split_point, valid_split_row, write_daughters};
use crate::storefile::{new_file_name, StoreFile};
use crate::wal::{self, Wal, WalDamage, WalEntry};

/// Tunables of a region server. Defaults follow HBase's.
#[derive(Clone, Debug)]
pub struct Config {
    /// Flush a region when its memstores reach this many bytes (128 MiB).
    pub flush_size: usize,
    /// Block writers while all memstores together exceed this (1 GiB)...
    pub global_memstore_limit: usize,
    /// ...until they are back under this fraction of it (0.95).
    pub global_low_water: f64,
    /// Roll the WAL past this size (64 MiB).
    pub wal_roll_size: u64,
    /// Force flushes when more rolled WAL files than this are pinned (32).
    pub max_wal_files: usize,
    /// Split a region whose store files exceed this size (10 GiB).
    pub max_file_size: u64,
    /// Minor compaction policy.
    pub compaction: CompactionConfig,
    /// Block cache capacity in bytes (256 MiB): memory of decompressed blocks and of what
    /// was derived from blocks; uncompressed blocks are read from the mapped files.
    pub block_cache_bytes: u64,
    /// How often ASYNC_WAL writes are synced (100 ms).
    pub async_wal_interval: Duration,
    /// Run flushes, compactions and splits automatically in a background worker.
    pub background: bool,
    /// How long a write waits for an offline region (split in progress) before failing.
    pub region_wait: Duration,
    /// Archived WAL files (`oldWALs/`) older than this are deleted (10 min, HBase's
    /// `hbase.master.logcleaner.ttl`): kept a while for tools that read them, then
    /// reclaimed.
    pub old_wal_ttl: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            flush_size: 128 << 20,
            global_memstore_limit: 1 << 30,
            global_low_water: 0.95,
            wal_roll_size: 64 << 20,
            max_wal_files: 32,
            max_file_size: 10 << 30,
            compaction: CompactionConfig::default(),
            block_cache_bytes: 256 << 20,
            async_wal_interval: Duration::from_millis(100),
            background: true,
            region_wait: Duration::from_secs(60),
            old_wal_ttl: Duration::from_secs(600),
        }
    }
}

/// What recovery found when the server opened.
#[derive(Clone, Debug, Default)]
pub struct RecoveryReport {
    /// WAL files read.
    pub wal_files: usize,
    /// WAL entries read.
    pub entries: usize,
    /// Cells replayed into memstores (newer than the store files).
    pub cells_replayed: usize,
    /// Damaged WAL tails found and cut.
    pub damage: Vec<WalDamage>,
}

/// A store file as reported by [`RegionServer::regions`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreFileDescription {
    /// File name.
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// Cells.
    pub entries: u64,
    /// Sequence id.
    pub seq_id: u64,
}

/// A region as reported by [`RegionServer::regions`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegionDescription {
    /// The region.
    pub info: RegionInfo,
    /// Whether it is online.
    pub online: bool,
    /// Memstore bytes.
    pub memstore_size: usize,
    /// Store files per family.
    pub stores: Vec<(Vec<u8>, Vec<StoreFileDescription>)>,
}

/// Files offered to [`RegionServer::bulk_load`] and where they went.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BulkLoadReport {
    /// (source file, region encoded name, sequence id) per loaded file.
    pub loaded: Vec<(PathBuf, String, u64)>,
}

#[derive(Clone, Debug)]
struct TableState {
    desc: TableDescriptor,
    regions: Vec<RegionInfo>,
}

enum Task {
    Flush(String),
    Compact(String),
}

/// The embedded region server (also acting as master in embedded mode).
pub struct RegionServer {
    root: PathBuf,
    config: Config,
    wal: Arc<Wal>,
    cache: Arc<BlockCache>,
    accounting: Arc<MemstoreAccounting>,
    catalog: Catalog,
    tables: RwLock<BTreeMap<TableName, TableState>>,
    online: RwLock<HashMap<String, Arc<Region>>>,
    ddl: Mutex<()>,
    recovery: Mutex<RecoveryReport>,
    last_region_id: Mutex<u64>,
    closed: AtomicBool,
    tasks: Mutex<Option<crossbeam_channel::Sender<Task>>>,
    worker: Mutex<Option<std::thread::JoinHandle<()>>>,
    lock_file: File,
}

impl std::fmt::Debug for RegionServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegionServer")
            .field("root", &self.root)
            .finish()
    }
}

fn io<T>(path: &Path, r: std::io::Result<T>) -> Result<T> {
    r.map_err(|e| Error::io(path, e))
}

fn list_dirs(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(Error::io(dir, e)),
    };
    for ent in rd {
        let ent = io(dir, ent)?;
        if ent.path().is_dir() {
            out.push(ent.path());
        }
    }
    out.sort();
    Ok(out)
}

/// A bulk-loaded file in its region's temporary directory, not yet published.
struct Staged {
    store: Arc<crate::store::Store>,
    /// Where it came from.
    source: PathBuf,
    /// Its store file name (before the sequence id suffix).
    name: String,
    /// Where it is now.
    path: PathBuf,
    /// Renamed from `source` (else copied).
    moved: bool,
}

impl RegionServer {
    /// Opens (creating if needed) the store rooted at `root`: takes the root's lock,
    /// recovers the WALs left by previous runs, opens the catalog and every region of every
    /// enabled table, and starts the background worker.
    pub fn open(root: &Path, config: Config) -> Result<Arc<RegionServer>> {
        for sub in ["data", "WALs", "oldWALs", "archive", "staging"] {
            let d = root.join(sub);
            io(&d, std::fs::create_dir_all(&d))?;
        }
        let lock_path = root.join(".lock");
        let lock = io(
            &lock_path,
            File::options()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&lock_path),
        )?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(Error::InvalidArgument(format!(
                    "{} is in use by another Basalt process",
                    root.display()
                )))
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(Error::io(&lock_path, e)),
        }

        // 1. Recover the WALs of previous runs.
        let mut recovery = RecoveryReport::default();
        let mut by_region: HashMap<String, Vec<WalEntry>> = HashMap::new();
        let old_dirs = list_dirs(&root.join("WALs"))?;
        for dir in &old_dirs {
            for f in wal::list_files(dir)? {
                let (entries, damage) = wal::recover_file(&f)?;
                recovery.wal_files += 1;
                recovery.entries += entries.len();
                recovery.damage.extend(damage);
                for e in entries {
                    by_region.entry(e.region.clone()).or_default().push(e);
                }
            }
        }
        // A start code no earlier run used: a reopen within the same millisecond must not
        // write into the log it is recovering.
        let mut start_code = crate::now_ms();
        let server_name = loop {
            let name = format!("embedded,{},{start_code}", std::process::id());
            if !root.join("WALs").join(&name).exists() {
                break name;
            }
            start_code += 1;
        };
        let wal = Wal::create(
            &root.join("WALs").join(&server_name),
            &root.join("oldWALs"),
            config.wal_roll_size,
            config.async_wal_interval,
        )?;
        let cache = BlockCache::new(config.block_cache_bytes);
        let accounting = MemstoreAccounting::new();

        // 2. The catalog.
        let meta_info = meta_region_info();
        let meta_dir = root
            .join("data")
            .join("basalt")
            .join("meta")
            .join(meta_info.encoded_name());
        let empty = Vec::new();
        let (meta, replayed) = Region::open(
            &meta_dir,
            meta_info.clone(),
            meta_descriptor(),
            Some(wal.clone()),
            Some(cache.clone()),
            accounting.clone(),
            by_region.get(&meta_info.encoded_name()).unwrap_or(&empty),
        )?;
        recovery.cells_replayed += replayed;
        if replayed > 0 {
            meta.flush()?;
        }
        let catalog = Catalog::new(meta.clone());
        let (descs, infos) = catalog.load()?;
        let mut tables = BTreeMap::new();
        let mut last_id = 0u64;
        for d in descs {
            tables.insert(
                d.name.clone(),
                TableState {
                    desc: d,
                    regions: Vec::new(),
                },
            );
        }
        for r in infos {
            last_id = last_id.max(r.region_id);
            if let Some(t) = tables.get_mut(&r.table) {
                t.regions.push(r);
            }
        }

        let server = Arc::new(RegionServer {
            root: root.to_path_buf(),
            config,
            wal,
            cache,
            accounting,
            catalog,
            tables: RwLock::new(tables),
            online: RwLock::new(HashMap::new()),
            ddl: Mutex::new(()),
            recovery: Mutex::new(RecoveryReport::default()),
            last_region_id: Mutex::new(last_id),
            closed: AtomicBool::new(false),
            tasks: Mutex::new(None),
            worker: Mutex::new(None),
            lock_file: lock,
        });
        server.online.write().insert(meta_info.encoded_name(), meta);

        // 3. Remove what interrupted DDL/splits left behind, then open the regions.
        server.remove_orphans()?;
        let states: Vec<TableState> = server.tables.read().values().cloned().collect();
        for t in states {
            for info in &t.regions {
                let entries = by_region.get(&info.encoded_name()).unwrap_or(&empty);
                if !t.desc.enabled && entries.is_empty() {
                    continue;
                }
                let (region, replayed) = server.open_region(info, &t.desc, entries)?;
                recovery.cells_replayed += replayed;
                if replayed > 0 {
                    region.flush()?;
                }
                if t.desc.enabled {
                    server.online.write().insert(info.encoded_name(), region);
                } else {
                    region.close()?;
                }
            }
        }

        // 4. Everything recovered is flushed: archive the old logs.
        for dir in &old_dirs {
            let dir_name = dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            for f in wal::list_files(dir)? {
                let name = f
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let target = root.join("oldWALs").join(format!("{dir_name}.{name}"));
                io(&f, std::fs::rename(&f, &target))?;
            }
            io(dir, std::fs::remove_dir_all(dir))?;
        }
        server.clean_old_wals();
        for d in &recovery.damage {
            tracing::warn!("recovered with damage: {d}");
        }
        *server.recovery.lock() = recovery;
        if server.config.background {
            server.start_worker()?;
        }
        Ok(server)
    }

    fn start_worker(self: &Arc<Self>) -> Result<()> {
        let (tx, rx) = crossbeam_channel::unbounded::<Task>();
        let weak: Weak<RegionServer> = Arc::downgrade(self);
        let handle = std::thread::Builder::new()
            .name("basalt-worker".into())
            .spawn(move || {
                while let Ok(task) = rx.recv() {
                    let Some(server) = weak.upgrade() else { return };
                    if server.closed.load(Ordering::Acquire) {
                        return;
                    }
                    if let Err(e) = server.run_task(task) {
                        tracing::error!("background task failed: {e}");
                    }
                }
            })
            .map_err(|e| Error::io(&self.root, e))?;
        *self.tasks.lock() = Some(tx);
        *self.worker.lock() = Some(handle);
        Ok(())
    }

    fn run_task(&self, task: Task) -> Result<()> {
        match task {
            Task::Flush(name) => {
                let Some(region) = self.online.read().get(&name).cloned() else {
                    return Ok(());
                };
                region.flush_queued.store(false, Ordering::Release);
                if region.is_closed() {
                    return Ok(());
                }
                self.flush_region(&region)?;
                let wants_compaction = region
                    .stores()
                    .values()
                    .any(|s| s.state().files.len() >= self.config.compaction.min_files);
                if wants_compaction {
                    self.submit(Task::Compact(name));
                } else {
                    self.maybe_split(&region)?;
                }
            }
            Task::Compact(name) => {
                let Some(region) = self.online.read().get(&name).cloned() else {
                    return Ok(());
                };
                if region.is_closed() {
                    return Ok(());
                }
                compact_region(&region, false, &self.config.compaction)?;
                self.maybe_split(&region)?;
            }
        }
        Ok(())
    }

    fn maybe_split(&self, region: &Arc<Region>) -> Result<()> {
        if region.info().table.is_system() || region.store_files_size() <= self.config.max_file_size
        {
            return Ok(());
        }
        if let Some(row) = split_point(region)? {
            match self.split_region(region, &row) {
                Ok(_) | Err(Error::RegionNotServing(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    fn submit(&self, task: Task) {
        if let Some(tx) = &*self.tasks.lock() {
            let _ = tx.send(task);
        }
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The write-ahead log.
    pub fn wal(&self) -> &Arc<Wal> {
        &self.wal
    }

    /// The shared block cache.
    pub fn block_cache(&self) -> &Arc<BlockCache> {
        &self.cache
    }

    /// What recovery found on open.
    pub fn recovery_report(&self) -> RecoveryReport {
        self.recovery.lock().clone()
    }

    /// Bytes in all memstores.
    pub fn global_memstore_size(&self) -> usize {
        self.accounting.size()
    }

    fn table_dir(&self, t: &TableName) -> PathBuf {
        self.root.join("data").join(&t.namespace).join(&t.name)
    }

    fn region_dir(&self, info: &RegionInfo) -> PathBuf {
        self.table_dir(&info.table).join(info.encoded_name())
    }

    fn open_region(
        &self,
        info: &RegionInfo,
        desc: &TableDescriptor,
        entries: &[WalEntry],
    ) -> Result<(Arc<Region>, usize)> {
        Region::open(
            &self.region_dir(info),
            info.clone(),
            desc.clone(),
            Some(self.wal.clone()),
            Some(self.cache.clone()),
            self.accounting.clone(),
            entries,
        )
    }

    fn remove_orphans(&self) -> Result<()> {
        let tables = self.tables.read();
        for ns_dir in list_dirs(&self.root.join("data"))? {
            let ns = ns_dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if ns == "basalt" {
                continue;
            }
            for t_dir in list_dirs(&ns_dir)? {
                let name = t_dir
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let tn = TableName {
                    namespace: ns.clone(),
                    name,
                };
                match tables.get(&tn) {
                    None => {
                        tracing::info!("removing orphan table directory {}", t_dir.display());
                        io(&t_dir, std::fs::remove_dir_all(&t_dir))?;
                    }
                    Some(state) => {
                        for r_dir in list_dirs(&t_dir)? {
                            let enc = r_dir
                                .file_name()
                                .map(|n| n.to_string_lossy().into_owned())
                                .unwrap_or_default();
                            if !state.regions.iter().any(|r| r.encoded_name() == enc) {
                                tracing::info!(
                                    "removing orphan region directory {}",
                                    r_dir.display()
                                );
                                io(&r_dir, std::fs::remove_dir_all(&r_dir))?;
                            }
                        }
                    }
                }
            }
        }
        Ok(())
    }

    fn next_region_id(&self) -> u64 {
        let mut g = self.last_region_id.lock();
        let id = (crate::now_ms() as u64).max(*g + 1);
        *g = id;
        id
    }

    fn check_open(&self) -> Result<()> {
        if self.closed.load(Ordering::Acquire) {
            Err(Error::Closed)
        } else {
            Ok(())
        }
    }

    // ----- tables -----

    /// The descriptor of a table.
    pub fn describe(&self, t: &TableName) -> Result<TableDescriptor> {
        self.tables
            .read()
            .get(t)
            .map(|s| s.desc.clone())
            .ok_or_else(|| Error::TableNotFound(t.to_string()))
    }

    /// Every user table.
    pub fn list_tables(&self) -> Vec<TableDescriptor> {
        self.tables
            .read()
            .values()
            .map(|s| s.desc.clone())
            .collect()
    }

    /// Creates a table with regions split at `split_keys` (sorted, distinct, non-empty).
    pub fn create_table(&self, desc: TableDescriptor, split_keys: &[Vec<u8>]) -> Result<()> {
        self.check_open()?;
        desc.validate()?;
        if desc.name.is_system() {
            return Err(Error::InvalidArgument(format!(
                "cannot create system table {}",
                desc.name
            )));
        }
        let mut keys = split_keys.to_vec();
        keys.sort();
        keys.dedup();
        if keys.iter().any(|k| k.is_empty()) {
            return Err(Error::InvalidArgument(
                "split keys must not be empty".into(),
            ));
        }
        let _d = self.ddl.lock();
        if self.tables.read().contains_key(&desc.name) {
            return Err(Error::TableExists(desc.name.to_string()));
        }
        let mut desc = desc;
        desc.enabled = true;
        let regions = self.new_region_infos(&desc.name, &keys);
        for r in &regions {
            write_region_info(&self.region_dir(r), r)?;
        }
        self.catalog.apply(&CatalogEdit {
            put_tables: vec![desc.clone()],
            put_regions: regions.clone(),
            ..CatalogEdit::default()
        })?;
        self.tables.write().insert(
            desc.name.clone(),
            TableState {
                desc: desc.clone(),
                regions: regions.clone(),
            },
        );
        self.open_table_regions(&desc, &regions)
    }

    fn new_region_infos(&self, t: &TableName, keys: &[Vec<u8>]) -> Vec<RegionInfo> {
        let mut bounds = vec![Vec::new()];
        bounds.extend(keys.iter().cloned());
        bounds.push(Vec::new());
        bounds
            .windows(2)
            .map(|w| RegionInfo {
                table: t.clone(),
                start_key: w[0].clone(),
                end_key: w[1].clone(),
                region_id: self.next_region_id(),
                parent_id: None,
                seq_floor: 0,
            })
            .collect()
    }

    fn open_table_regions(&self, desc: &TableDescriptor, regions: &[RegionInfo]) -> Result<()> {
        for r in regions {
            let (region, _) = self.open_region(r, desc, &[])?;
            self.online.write().insert(r.encoded_name(), region);
        }
        Ok(())
    }

    fn close_table_regions(&self, regions: &[RegionInfo]) -> Result<()> {
        for r in regions {
            let region = self.online.read().get(&r.encoded_name()).cloned();
            if let Some(region) = region {
                region.close()?;
                self.online.write().remove(&r.encoded_name());
            }
        }
        self.archive_wals()
    }

    fn table_state(&self, t: &TableName) -> Result<TableState> {
        self.tables
            .read()
            .get(t)
            .cloned()
            .ok_or_else(|| Error::TableNotFound(t.to_string()))
    }

    /// Disables a table: flushes and closes its regions.
    pub fn disable_table(&self, t: &TableName) -> Result<()> {
        self.check_open()?;
        let _d = self.ddl.lock();
        let mut st = self.table_state(t)?;
        if !st.desc.enabled {
            return Err(Error::TableDisabled(t.to_string()));
        }
        self.close_table_regions(&st.regions)?;
        st.desc.enabled = false;
        self.catalog.apply(&CatalogEdit {
            put_tables: vec![st.desc.clone()],
            ..CatalogEdit::default()
        })?;
        self.tables.write().insert(t.clone(), st);
        Ok(())
    }

    /// Runs `f` over the regions of a disabled table opened offline — not served, without a
    /// WAL or block cache — holding the DDL lock so the table cannot be enabled, altered or
    /// dropped meanwhile (HBase's `CompactionTool` works on a disabled table's files the same
    /// way). The regions are closed afterwards.
    pub fn with_offline_regions<T>(
        &self,
        t: &TableName,
        f: impl FnOnce(&[Arc<Region>]) -> Result<T>,
    ) -> Result<T> {
        self.check_open()?;
        let _d = self.ddl.lock();
        let st = self.table_state(t)?;
        if st.desc.enabled {
            return Err(Error::TableEnabled(t.to_string()));
        }
        let mut regions = Vec::with_capacity(st.regions.len());
        for r in &st.regions {
            let (region, _) = Region::open(
                &self.region_dir(r),
                r.clone(),
                st.desc.clone(),
                None,
                None,
                self.accounting.clone(),
                &[],
            )?;
            regions.push(region);
        }
        let out = f(&regions);
        for r in &regions {
            r.close()?;
        }
        out
    }

    /// Enables a disabled table: reopens its regions.
    pub fn enable_table(&self, t: &TableName) -> Result<()> {
        self.check_open()?;
        let _d = self.ddl.lock();
        let mut st = self.table_state(t)?;
        if st.desc.enabled {
            return Err(Error::TableEnabled(t.to_string()));
        }
        st.desc.enabled = true;
        self.catalog.apply(&CatalogEdit {
            put_tables: vec![st.desc.clone()],
            ..CatalogEdit::default()
        })?;
        self.open_table_regions(&st.desc, &st.regions)?;
        self.tables.write().insert(t.clone(), st);
        Ok(())
    }

    /// Drops a disabled table and its data.
    pub fn drop_table(&self, t: &TableName) -> Result<()> {
        self.check_open()?;
        let _d = self.ddl.lock();
        let st = self.table_state(t)?;
        if st.desc.enabled {
            return Err(Error::TableEnabled(t.to_string()));
        }
        self.catalog.apply(&CatalogEdit {
            delete_tables: vec![t.clone()],
            delete_regions: st.regions.clone(),
            ..CatalogEdit::default()
        })?;
        self.tables.write().remove(t);
        let dir = self.table_dir(t);
        if dir.exists() {
            io(&dir, std::fs::remove_dir_all(&dir))?;
        }
        Ok(())
    }

    /// Removes every row of a table, keeping its schema and region boundaries
    /// (HBase's `truncate_preserve`). The table ends up enabled.
    pub fn truncate_table(&self, t: &TableName) -> Result<()> {
        self.check_open()?;
        let _d = self.ddl.lock();
        let mut st = self.table_state(t)?;
        if st.desc.enabled {
            for r in &st.regions {
                let region = self.online.write().remove(&r.encoded_name());
                if let Some(region) = region {
                    region.abandon();
                }
            }
        }
        let keys: Vec<Vec<u8>> = st
            .regions
            .iter()
            .skip(1)
            .map(|r| r.start_key.clone())
            .collect();
        let new_regions = self.new_region_infos(t, &keys);
        for r in &new_regions {
            write_region_info(&self.region_dir(r), r)?;
        }
        st.desc.enabled = true;
        self.catalog.apply(&CatalogEdit {
            put_tables: vec![st.desc.clone()],
            delete_regions: st.regions.clone(),
            put_regions: new_regions.clone(),
            ..CatalogEdit::default()
        })?;
        for r in &st.regions {
            let d = self.region_dir(r);
            if d.exists() {
                io(&d, std::fs::remove_dir_all(&d))?;
            }
        }
        self.open_table_regions(&st.desc, &new_regions)?;
        st.regions = new_regions;
        self.tables.write().insert(t.clone(), st);
        Ok(())
    }

    /// Replaces a table's descriptor (add/modify/remove families, durability). Regions are
    /// reopened with the new schema; data of removed families is deleted.
    pub fn alter_table(&self, desc: TableDescriptor) -> Result<()> {
        self.check_open()?;
        desc.validate()?;
        let _d = self.ddl.lock();
        let mut st = self.table_state(&desc.name)?;
        let was_enabled = st.desc.enabled;
        if was_enabled {
            self.close_table_regions(&st.regions)?;
        }
        let removed: Vec<Vec<u8>> = st
            .desc
            .families
            .iter()
            .filter(|f| desc.family(&f.name).is_none())
            .map(|f| f.name.clone())
            .collect();
        let mut new_desc = desc;
        new_desc.enabled = was_enabled;
        self.catalog.apply(&CatalogEdit {
            put_tables: vec![new_desc.clone()],
            ..CatalogEdit::default()
        })?;
        for r in &st.regions {
            for f in &removed {
                let d = crate::region::family_dir(&self.region_dir(r), f);
                if d.exists() {
                    io(&d, std::fs::remove_dir_all(&d))?;
                }
            }
        }
        st.desc = new_desc.clone();
        if was_enabled {
            self.open_table_regions(&new_desc, &st.regions)?;
        }
        self.tables.write().insert(new_desc.name.clone(), st);
        Ok(())
    }

    // ----- regions -----

    /// The online regions of an enabled table, in key order (for tools that work region
    /// by region, such as `basalt compact`).
    pub fn table_regions(&self, t: &TableName) -> Result<Vec<Arc<Region>>> {
        self.online_regions(t)
    }

    /// Rows strictly inside `(lo, hi)` at which a reversed scan cuts its range into chunks:
    /// the region start keys and the first row of every root-index entry of every store
    /// file (a data block, or the blocks of one leaf index block), ascending. Any cut is
    /// correct; the index only keeps the chunks small.
    fn chunk_starts(&self, t: &TableName, lo: &[u8], hi: &Bound) -> Result<Vec<Vec<u8>>> {
        let inside = |row: &[u8]| row > lo && !hi.is_past(row);
        let mut out = Vec::new();
        for region in self.online_regions(t)? {
            let start = &region.info().start_key;
            if inside(start) {
                out.push(start.clone());
            }
            for store in region.stores().values() {
                for f in &store.state().files {
                    for e in f.reader().root_index() {
                        if let Some(row) = hfile::cell::key_row(&e.key).filter(|r| inside(r)) {
                            out.push(row.to_vec());
                        }
                    }
                }
            }
        }
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }

    fn online_regions(&self, t: &TableName) -> Result<Vec<Arc<Region>>> {
        let st = self.table_state(t)?;
        if !st.desc.enabled {
            return Err(Error::TableDisabled(t.to_string()));
        }
        let online = self.online.read();
        Ok(st
            .regions
            .iter()
            .filter_map(|r| online.get(&r.encoded_name()).cloned())
            .collect())
    }

    /// The region serving `row` of table `t`.
    pub fn locate(&self, t: &TableName, row: &[u8]) -> Result<Arc<Region>> {
        let tables = self.tables.read();
        let st = tables
            .get(t)
            .ok_or_else(|| Error::TableNotFound(t.to_string()))?;
        if !st.desc.enabled {
            return Err(Error::TableDisabled(t.to_string()));
        }
        let i = st
            .regions
            .partition_point(|r| r.start_key.as_slice() <= row);
        let info = st
            .regions
            .get(i.saturating_sub(1))
            .ok_or_else(|| Error::RegionNotServing(format!("{t} has no region for the row")))?;
        self.online
            .read()
            .get(info.encoded_name_digits().as_str())
            .cloned()
            .ok_or_else(|| Error::RegionNotServing(info.region_name()))
    }

    /// Runs `f` against the region serving `row`, re-locating while the region is offline
    /// (e.g. being split), for up to the configured wait.
    pub fn with_region<T>(
        &self,
        t: &TableName,
        row: &[u8],
        mut f: impl FnMut(&Arc<Region>) -> Result<T>,
    ) -> Result<T> {
        let deadline = Instant::now() + self.config.region_wait;
        let mut backoff = Duration::from_millis(1);
        loop {
            self.check_open()?;
            let r = self.locate(t, row).and_then(|region| f(&region));
            match r {
                Err(Error::RegionNotServing(name)) => {
                    if Instant::now() >= deadline {
                        return Err(Error::Timeout(format!("region {name} stayed offline")));
                    }
                    std::thread::sleep(backoff);
                    backoff = (backoff * 2).min(Duration::from_millis(50));
                }
                other => return other,
            }
        }
    }

    /// Checks the families of `cells` against table `t` and returns its durability.
    pub fn check_cells(&self, t: &TableName, cells: &[Cell]) -> Result<Durability> {
        let tables = self.tables.read();
        let st = tables
            .get(t)
            .ok_or_else(|| Error::TableNotFound(t.to_string()))?;
        if !st.desc.enabled {
            return Err(Error::TableDisabled(t.to_string()));
        }
        for c in cells {
            if st.desc.family(c.family()).is_none() {
                return Err(Error::FamilyNotFound {
                    table: t.to_string(),
                    family: hfile::cell::to_string_binary(c.family()),
                });
            }
            if c.row().is_empty() || c.row().len() > hfile::cell::MAX_ROW_LENGTH {
                return Err(Error::InvalidArgument(format!(
                    "row key must be 1..={} bytes, got {}",
                    hfile::cell::MAX_ROW_LENGTH,
                    c.row().len()
                )));
            }
            // A KeyValue's key and value lengths are 32-bit signed in every format.
            let size = c.key_len() + c.value().len() + c.tags().len();
            if size > i32::MAX as usize {
                return Err(Error::InvalidArgument(format!(
                    "cell of {size} bytes in row {} exceeds {} bytes",
                    hfile::cell::to_string_binary(c.row()),
                    i32::MAX
                )));
            }
        }
        Ok(st.desc.durability)
    }

    /// Blocks while the global memstore limit is exceeded, flushing the largest regions.
    fn throttle(&self) -> Result<()> {
        if self.accounting.size() < self.config.global_memstore_limit {
            return Ok(());
        }
        let low =
            (self.config.global_memstore_limit as f64 * self.config.global_low_water) as usize;
        let deadline = Instant::now() + self.config.region_wait;
        while self.accounting.size() >= low {
            let mut regions: Vec<Arc<Region>> = self.online.read().values().cloned().collect();
            regions.sort_by_key(|r| std::cmp::Reverse(r.memstore_size()));
            if let Some(big) = regions.first().filter(|r| r.memstore_size() > 0) {
                if self.config.background {
                    self.request_flush(big);
                    self.accounting.wait_below(low, Duration::from_millis(100));
                } else {
                    self.flush_region(big)?;
                }
            } else {
                break;
            }
            if Instant::now() >= deadline {
                return Err(Error::Timeout(
                    "memstores stayed above the global limit".into(),
                ));
            }
        }
        Ok(())
    }

    fn request_flush(&self, region: &Arc<Region>) {
        if !region.flush_queued.swap(true, Ordering::AcqRel) {
            self.submit(Task::Flush(region.encoded_name()));
        }
    }

    /// Writes cells (any rows of table `t`), each region's share atomically.
    pub fn mutate(
        &self,
        t: &TableName,
        cells: Vec<Cell>,
        durability: Option<Durability>,
    ) -> Result<()> {
        self.check_open()?;
        if cells.is_empty() {
            return Ok(());
        }
        let table_durability = self.check_cells(t, &cells)?;
        let durability = durability.unwrap_or(table_durability);
        self.throttle()?;
        let mut pending = cells;
        let deadline = Instant::now() + self.config.region_wait;
        let mut backoff = Duration::from_millis(1);
        while !pending.is_empty() {
            let mut groups: Vec<(Arc<Region>, Vec<Cell>)> = Vec::new();
            let mut offline = Vec::new();
            for c in pending.drain(..) {
                if let Some(g) = groups
                    .iter_mut()
                    .find(|(r, _)| r.info().contains_row(c.row()))
                {
                    g.1.push(c);
                    continue;
                }
                match self.locate(t, c.row()) {
                    Ok(r) => groups.push((r, vec![c])),
                    Err(Error::RegionNotServing(_)) => offline.push(c),
                    Err(e) => return Err(e),
                }
            }
            for (region, cells) in groups {
                match region.write(cells.clone(), durability) {
                    Ok(_) => {
                        if region.memstore_size() >= self.config.flush_size {
                            if self.config.background {
                                self.request_flush(&region);
                            } else {
                                self.flush_region(&region)?;
                            }
                        }
                    }
                    Err(Error::RegionNotServing(_)) => offline.extend(cells),
                    Err(e) => return Err(e),
                }
            }
            if !offline.is_empty() {
                if Instant::now() >= deadline {
                    return Err(Error::Timeout(format!("regions of {t} stayed offline")));
                }
                std::thread::sleep(backoff);
                backoff = (backoff * 2).min(Duration::from_millis(50));
                self.check_open()?;
            }
            pending = offline;
        }
        Ok(())
    }

    /// A scanner over table `t`.
    pub fn scan(self: &Arc<Self>, t: &TableName, scan: &Scan) -> Result<TableScanner> {
        self.check_open()?;
        let st = self.table_state(t)?;
        if !st.desc.enabled {
            return Err(Error::TableDisabled(t.to_string()));
        }
        for c in &scan.columns {
            if st.desc.family(&c.family).is_none() {
                return Err(Error::FamilyNotFound {
                    table: t.to_string(),
                    family: hfile::cell::to_string_binary(&c.family),
                });
            }
        }
        let (lo, hi) = scan.forward_bounds();
        // A reversed scan reads chunks of its range forward, last chunk first, and returns
        // each chunk's rows backwards: memory is bounded by a chunk, and a limit stops it
        // early.
        let reverse_chunks = if scan.reversed {
            let mut starts = vec![lo.clone()];
            starts.extend(self.chunk_starts(t, &lo, &hi)?);
            let ends = starts[1..]
                .iter()
                .map(|s| Bound::Exclusive(s.clone()))
                .chain(std::iter::once(hi.clone()));
            starts.iter().cloned().zip(ends).collect()
        } else {
            Vec::new()
        };
        let ts = TableScanner {
            server: self.clone(),
            table: t.clone(),
            scan: scan.clone(),
            next_row: (!scan.reversed).then_some(lo),
            hi,
            current: None,
            returned: 0,
            limit: scan.row_limit(),
            reverse_chunks,
            buffered: Vec::new().into_iter(),
            lent: RowCells::new(),
        };
        Ok(ts)
    }

    /// Flushes one region and archives WAL files that no longer hold unflushed edits.
    pub fn flush_region(&self, region: &Arc<Region>) -> Result<()> {
        region.flush()?;
        self.archive_wals()
    }

    fn archive_wals(&self) -> Result<()> {
        let online = self.online.read();
        let archived = self
            .wal
            .archive_flushed(&|name| online.get(name).map(|r| r.flushed_seq_id()))?;
        drop(online);
        if archived > 0 {
            self.clean_old_wals();
        }
        if self.wal.rolled_count() > self.config.max_wal_files {
            for name in self.wal.regions_pinning_oldest() {
                if let Some(r) = self.online.read().get(&name).cloned() {
                    self.request_flush(&r);
                }
            }
        }
        Ok(())
    }

    /// Deletes archived WAL files older than [`Config::old_wal_ttl`]; a file that cannot be
    /// deleted is logged and left for the next pass.
    fn clean_old_wals(&self) {
        match wal::delete_older_than(&self.root.join("oldWALs"), self.config.old_wal_ttl) {
            Ok(n) if n > 0 => tracing::debug!("deleted {n} archived WAL files"),
            Ok(_) => {}
            Err(e) => tracing::warn!("cleaning oldWALs: {e}"),
        }
    }

    /// Flushes every region of a table.
    pub fn flush_table(&self, t: &TableName) -> Result<()> {
        for r in self.online_regions(t)? {
            r.flush()?;
        }
        self.archive_wals()
    }

    /// Compacts every region of a table (major: all files, after a flush).
    pub fn compact_table(&self, t: &TableName, major: bool) -> Result<Vec<CompactionReport>> {
        let mut out = Vec::new();
        for r in self.online_regions(t)? {
            out.extend(compact_region(&r, major, &self.config.compaction)?);
        }
        Ok(out)
    }

    /// Splits the region containing `key` at `key`, or (no key) every region of the table
    /// at its mid key. Returns the number of regions split.
    pub fn split_table(&self, t: &TableName, key: Option<&[u8]>) -> Result<usize> {
        match key {
            Some(k) => {
                let region = self.locate(t, k)?;
                if !valid_split_row(&region, k) {
                    return Err(Error::InvalidArgument(format!(
                        "split key {} is a region boundary",
                        hfile::cell::to_string_binary(k)
                    )));
                }
                self.split_region(&region, k)?;
                Ok(1)
            }
            None => {
                let mut n = 0;
                for r in self.online_regions(t)? {
                    r.flush()?;
                    if let Some(row) = split_point(&r)? {
                        self.split_region(&r, &row)?;
                        n += 1;
                    }
                }
                Ok(n)
            }
        }
    }

    /// Splits `parent` at `row` into two daughters; returns their infos.
    pub fn split_region(
        &self,
        parent: &Arc<Region>,
        row: &[u8],
    ) -> Result<(RegionInfo, RegionInfo)> {
        let _d = self.ddl.lock();
        let _c = parent.compaction_lock.lock();
        if parent.is_closed() || !self.online.read().contains_key(&parent.encoded_name()) {
            return Err(Error::RegionNotServing(parent.info().region_name()));
        }
        if !valid_split_row(parent, row) {
            return Err(Error::InvalidArgument(format!(
                "split row {} is not inside region {}",
                hfile::cell::to_string_binary(row),
                parent.info().region_name()
            )));
        }
        let t = parent.info().table.clone();
        let desc = self.table_state(&t)?.desc;
        parent.close()?;
        let floor = parent.last_seq_id();
        let pinfo = parent.info().clone();
        let a = RegionInfo {
            table: t.clone(),
            start_key: pinfo.start_key.clone(),
            end_key: row.to_vec(),
            region_id: self.next_region_id(),
            parent_id: Some(pinfo.region_id),
            seq_floor: floor,
        };
        let b = RegionInfo {
            table: t.clone(),
            start_key: row.to_vec(),
            end_key: pinfo.end_key.clone(),
            region_id: self.next_region_id(),
            parent_id: Some(pinfo.region_id),
            seq_floor: floor,
        };
        let (a_dir, b_dir) = (self.region_dir(&a), self.region_dir(&b));
        let written = write_region_info(&a_dir, &a)
            .and_then(|_| write_region_info(&b_dir, &b))
            .and_then(|_| write_daughters(parent, row, &a_dir, &b_dir))
            .and_then(|_| {
                self.catalog.apply(&CatalogEdit {
                    put_regions: vec![a.clone(), b.clone()],
                    delete_regions: vec![pinfo.clone()],
                    ..CatalogEdit::default()
                })
            });
        if let Err(e) = written {
            // Roll back: drop the daughters' files and bring the parent back.
            let _ = std::fs::remove_dir_all(&a_dir);
            let _ = std::fs::remove_dir_all(&b_dir);
            let (reopened, _) = self.open_region(&pinfo, &desc, &[])?;
            self.online.write().insert(pinfo.encoded_name(), reopened);
            return Err(e);
        }
        let (ra, _) = self.open_region(&a, &desc, &[])?;
        let (rb, _) = self.open_region(&b, &desc, &[])?;
        {
            let mut online = self.online.write();
            online.insert(a.encoded_name(), ra);
            online.insert(b.encoded_name(), rb);
            online.remove(&pinfo.encoded_name());
        }
        {
            let mut tables = self.tables.write();
            if let Some(st) = tables.get_mut(&t) {
                st.regions.retain(|r| r.region_id != pinfo.region_id);
                st.regions.push(a.clone());
                st.regions.push(b.clone());
                st.regions.sort_by(|x, y| x.start_key.cmp(&y.start_key));
            }
        }
        let pdir = self.region_dir(&pinfo);
        if let Err(e) = std::fs::remove_dir_all(&pdir) {
            tracing::warn!("could not remove split parent {}: {e}", pdir.display());
        }
        self.archive_wals()?;
        Ok((a, b))
    }

    /// Describes every region of a table with its store files.
    pub fn regions(&self, t: &TableName) -> Result<Vec<RegionDescription>> {
        let st = self.table_state(t)?;
        let online = self.online.read();
        let mut out = Vec::new();
        for info in &st.regions {
            let region = online.get(&info.encoded_name());
            let mut stores = Vec::new();
            if let Some(r) = region {
                for (fam, s) in r.stores() {
                    let files = s
                        .state()
                        .files
                        .iter()
                        .map(|f| StoreFileDescription {
                            name: f.name().to_string(),
                            size: f.size(),
                            entries: f.entries(),
                            seq_id: f.seq_id(),
                        })
                        .collect();
                    stores.push((fam.clone(), files));
                }
            }
            out.push(RegionDescription {
                info: info.clone(),
                online: region.is_some(),
                memstore_size: region.map(|r| r.memstore_size()).unwrap_or(0),
                stores,
            });
        }
        Ok(out)
    }

    /// Loads HFiles, given as (family, file), into table `t`. Each file must fit inside one
    /// region (checked from its first and last keys) and hold only its family; files are
    /// copied into their region, given one new sequence id per region, and made visible
    /// atomically per region — all families together: a scan sees all of a region's new
    /// files or none. A file straddling a region boundary fails with
    /// [`Error::BulkLoadOutOfRange`] naming the region, and nothing is loaded.
    pub fn bulk_load(&self, t: &TableName, files: &[(Vec<u8>, PathBuf)]) -> Result<BulkLoadReport> {
        self.bulk_load_files(t, files, false)
    }

    /// [`RegionServer::bulk_load`] that moves the files into their regions (a rename; a
    /// copy only when the file is on another filesystem) instead of copying them: the
    /// sources are gone once their region has loaded them, as after HBase's bulk load.
    pub fn bulk_load_moving(
        &self,
        t: &TableName,
        files: &[(Vec<u8>, PathBuf)],
    ) -> Result<BulkLoadReport> {
        self.bulk_load_files(t, files, true)
    }

    fn bulk_load_files(
        &self,
        t: &TableName,
        files: &[(Vec<u8>, PathBuf)],
        moving: bool,
    ) -> Result<BulkLoadReport> {
        self.check_open()?;
        let st = self.table_state(t)?;
        type Batch = Vec<(Vec<u8>, PathBuf)>;
        let mut groups: Vec<(Arc<Region>, Batch)> = Vec::new();
        for (family, path) in files {
            let fam_name = hfile::cell::to_string_binary(family);
            if st.desc.family(family).is_none() {
                return Err(Error::FamilyNotFound {
                    table: t.to_string(),
                    family: fam_name,
                });
            }
            let reader = hfile::Reader::open(path, None)?;
            let (Some(first), Some(last)) = (reader.first_key(), reader.last_key()) else {
                continue; // an empty file has nothing to load
            };
            let parse = |k: &[u8]| {
                hfile::CellRef::new(k, &[], &[], 0)
                    .map(|c| (c.row().to_vec(), c.family().to_vec()))
                    .ok_or_else(|| {
                        Error::corrupt(path.display().to_string(), 0, "malformed first/last key")
                    })
            };
            let (first_row, first_fam) = parse(first)?;
            let (last_row, last_fam) = parse(last)?;
            for f in [&first_fam, &last_fam] {
                if f != family {
                    return Err(Error::BulkLoadWrongFamily {
                        file: path.clone(),
                        expected: fam_name.clone(),
                        found: hfile::cell::to_string_binary(f),
                    });
                }
            }
            let region = self.with_region(t, &first_row, |r| Ok(r.clone()))?;
            if !region.info().contains_row(&last_row) {
                let info = region.info();
                return Err(Error::BulkLoadOutOfRange(Box::new(
                    crate::error::OutOfRange {
                        file: path.clone(),
                        region: info.region_name(),
                        start: hfile::cell::to_string_binary(&info.start_key),
                        end: hfile::cell::to_string_binary(&info.end_key),
                        first_row: hfile::cell::to_string_binary(&first_row),
                        last_row: hfile::cell::to_string_binary(&last_row),
                    },
                )));
            }
            let entry = (family.clone(), path.clone());
            match groups.iter_mut().find(|(r, _)| Arc::ptr_eq(r, &region)) {
                Some(g) => g.1.push(entry),
                None => groups.push((region, vec![entry])),
            }
        }
        let mut report = BulkLoadReport::default();
        for (region, batch) in groups {
            // Stage first (a copy is slow; no locks), then publish under a fresh sequence id.
            let tmp = region.dir().join(TMP_DIR);
            io(&tmp, std::fs::create_dir_all(&tmp))?;
            let mut staged = Vec::new();
            let loaded = self
                .stage_files(t, &region, &batch, &tmp, moving, &mut staged)
                .and_then(|()| {
                    region.with_new_seq_after_flush(|seq| {
                        let mut opened = Vec::new();
                        for f in &staged {
                            let final_path = f.store.dir().join(format!("{}_SeqId_{seq}_", f.name));
                            io(&f.path, std::fs::rename(&f.path, &final_path))?;
                            let file = StoreFile::open(&final_path, Some(self.cache.clone()))?;
                            opened.push((f.store.clone(), f.source.clone(), file));
                        }
                        region.publish_files(opened.iter().map(|(s, _, f)| (s, f.clone())));
                        Ok(opened
                            .into_iter()
                            .map(|(_, src, _)| (src, seq))
                            .collect::<Vec<_>>())
                    })
                });
            let loaded = match loaded {
                Ok(l) => l,
                Err(e) => {
                    // Give moved files back so that the caller can retry; drop copies.
                    for f in &staged {
                        if f.moved {
                            let _ = std::fs::rename(&f.path, &f.source);
                        } else {
                            let _ = std::fs::remove_file(&f.path);
                        }
                    }
                    return Err(e);
                }
            };
            if moving {
                // Files from another filesystem were copied: the move ends with their removal.
                for f in staged.iter().filter(|f| !f.moved) {
                    io(&f.source, std::fs::remove_file(&f.source))?;
                }
            }
            for (src, seq) in loaded {
                report.loaded.push((src, region.encoded_name(), seq));
            }
        }
        Ok(report)
    }

    /// Copies (or moves) a region's files into its temporary directory.
    fn stage_files(
        &self,
        t: &TableName,
        region: &Region,
        batch: &[(Vec<u8>, PathBuf)],
        tmp: &Path,
        moving: bool,
        staged: &mut Vec<Staged>,
    ) -> Result<()> {
        for (family, p) in batch {
            let store =
                region
                    .stores()
                    .get(family)
                    .cloned()
                    .ok_or_else(|| Error::FamilyNotFound {
                        table: t.to_string(),
                        family: hfile::cell::to_string_binary(family),
                    })?;
            let name = new_file_name();
            let dest = tmp.join(&name);
            let moved = moving && std::fs::rename(p, &dest).is_ok();
            // Recorded before copying, so that a failed copy is cleaned up with the rest.
            staged.push(Staged {
                store,
                source: p.clone(),
                name,
                path: dest.clone(),
                moved,
            });
            if !moved {
                io(p, std::fs::copy(p, &dest))?;
                io(&dest, File::open(&dest).and_then(|f| f.sync_all()))?;
            }
        }
        Ok(())
    }

    /// Flushes everything, closes every region and the WAL. Idempotent.
    pub fn close(&self) -> Result<()> {
        if self.closed.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        *self.tasks.lock() = None;
        if let Some(h) = self.worker.lock().take() {
            if h.thread().id() != std::thread::current().id() {
                let _ = h.join();
            }
        }
        let regions: Vec<Arc<Region>> = self.online.read().values().cloned().collect();
        let mut first_err = None;
        for r in regions.iter().filter(|r| !r.info().table.is_system()) {
            if let Err(e) = r.close() {
                first_err.get_or_insert(e);
            }
        }
        if let Some(meta) = regions.iter().find(|r| r.info().table.is_system()) {
            if let Err(e) = meta.close() {
                first_err.get_or_insert(e);
            }
        }
        if let Err(e) = self.wal.close() {
            first_err.get_or_insert(e);
        }
        if let Err(e) = self.lock_file.unlock() {
            first_err.get_or_insert(Error::io(self.root.join(".lock"), e));
        }
        match first_err {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

impl Drop for RegionServer {
    fn drop(&mut self) {
        if let Err(e) = self.close() {
            tracing::error!("closing {}: {e}", self.root.display());
        }
    }
}

/// Iterates the rows of a table across its regions, following splits: as owned rows
/// ([`Iterator`]) or lending each row ([`RowCursor`]).
pub struct TableScanner {
    server: Arc<RegionServer>,
    table: TableName,
    scan: Scan,
    next_row: Option<Vec<u8>>,
    hi: Bound,
    current: Option<(RegionScanner, Vec<u8>)>,
    returned: usize,
    /// The scan's row limit ([`Scan::row_limit`]).
    limit: Option<usize>,
    /// A reversed scan's chunks not yet read, as (first row, end); taken from the back.
    reverse_chunks: Vec<(Vec<u8>, Bound)>,
    /// The rows of the reversed scan's current chunk, last row first.
    buffered: std::vec::IntoIter<RowCells>,
    /// The reversed scan's row being lent.
    lent: RowCells,
}

impl TableScanner {
    fn forward_rows(&mut self) -> Result<Vec<RowCells>> {
        let mut out = Vec::new();
        while let Some((scanner, _)) = self.advance_forward()? {
            out.push(scanner.row().clone());
        }
        Ok(out)
    }

    /// Moves to the next row of a forward scan and returns the scanner holding it.
    fn advance_forward(&mut self) -> Result<Option<&(RegionScanner, Vec<u8>)>> {
        loop {
            if let Some((scanner, end)) = &mut self.current {
                if scanner.advance_row()? {
                    break;
                }
                // Region exhausted: continue at its end key.
                self.next_row = if end.is_empty() || self.hi.is_past(end) {
                    None
                } else {
                    Some(end.clone())
                };
                self.current = None;
            }
            let Some(start) = self.next_row.clone() else {
                return Ok(None);
            };
            let scan = &self.scan;
            let hi = self.hi.clone();
            let opened = self.server.with_region(&self.table, &start, |region| {
                let end = region.info().end_key.clone();
                let region_hi = if end.is_empty() {
                    hi.clone()
                } else {
                    match &hi {
                        Bound::Unbounded => Bound::Exclusive(end.clone()),
                        Bound::Inclusive(h) | Bound::Exclusive(h)
                            if h.as_slice() < end.as_slice() =>
                        {
                            hi.clone()
                        }
                        _ => Bound::Exclusive(end.clone()),
                    }
                };
                Ok((region.scanner(scan, &start, region_hi)?, end))
            })?;
            self.current = Some(opened);
        }
        Ok(self.current.as_ref())
    }

    /// Moves to the next row; false at the end. The row is in `lent` (reversed scans) or
    /// in the current region scanner.
    fn advance(&mut self) -> Result<bool> {
        if self.limit.is_some_and(|n| self.returned >= n) {
            return Ok(false);
        }
        if !self.scan.reversed {
            // The common case in one step: the next row of the current region. At a
            // region's end `advance_forward` moves on.
            if let Some((scanner, _)) = &mut self.current {
                match scanner.advance_row() {
                    Ok(true) => {
                        self.returned += 1;
                        return Ok(true);
                    }
                    Ok(false) => {}
                    Err(e) => return Err(self.stop(e)),
                }
            }
        } else {
            loop {
                if let Some(row) = self.buffered.next() {
                    self.lent = row;
                    self.returned += 1;
                    return Ok(true);
                }
                let Some((start, end)) = self.reverse_chunks.pop() else {
                    return Ok(false);
                };
                self.next_row = Some(start);
                self.hi = end;
                self.current = None;
                match self.forward_rows() {
                    Ok(mut rows) => {
                        rows.reverse();
                        self.buffered = rows.into_iter();
                    }
                    Err(e) => {
                        self.reverse_chunks.clear();
                        return Err(e);
                    }
                }
            }
        }
        match self.advance_forward() {
            Ok(found) => {
                let found = found.is_some();
                self.returned += usize::from(found);
                Ok(found)
            }
            Err(e) => Err(self.stop(e)),
        }
    }

    /// Ends a forward scan that failed with `e` (a later call returns no rows).
    fn stop(&mut self, e: Error) -> Error {
        self.next_row = None;
        self.current = None;
        e
    }
}

impl RowCursor for TableScanner {
    fn next_row(&mut self) -> Result<Option<&RowCells>> {
        if !self.advance()? {
            return Ok(None);
        }
        Ok(match &self.current {
            Some((scanner, _)) if !self.scan.reversed => Some(scanner.row()),
            _ => Some(&self.lent),
        })
    }
}

impl Iterator for TableScanner {
    type Item = Result<RowResult>;

    fn next(&mut self) -> Option<Self::Item> {
        RowCursor::next_row(self)
            .map(|row| row.map(RowCells::to_result))
            .transpose()
    }
}
