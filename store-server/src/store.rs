//! A store: one column family of one region — an active memstore, at most one snapshot
//! being flushed, and the store files, swapped atomically so readers never block.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use hfile::{BlockCache, Cell, CellSlices};
use parking_lot::RwLock;

use crate::cursor::{CellCursor, MemCursor};
use crate::error::{Error, Result};
use crate::memstore::MemStore;
use crate::schema::FamilyDescriptor;
use crate::storefile::{FileCursor, FileMeta, StoreFile, StoreFileWriter};

/// A cursor over one source of a store: a memstore or a store file. An enum rather than a
/// boxed trait object, so that the merge and the scanner's row loop inline the calls they
/// make for every cell.
// A scan holds a handful of these, and the file cursor is the one read per cell: kept
// inline rather than boxed behind another pointer.
#[allow(clippy::large_enum_variant)]
pub enum SourceCursor {
    /// An active memstore or a snapshot being flushed.
    Mem(MemCursor),
    /// A store file.
    File(FileCursor),
}

impl CellCursor for SourceCursor {
    #[inline(always)]
    fn peek(&self) -> Option<CellSlices<'_>> {
        match self {
            SourceCursor::Mem(c) => c.peek(),
            SourceCursor::File(c) => c.peek(),
        }
    }

    #[inline]
    fn peek_key(&self) -> Option<(&[u8], u64)> {
        match self {
            SourceCursor::Mem(c) => c.peek_key(),
            SourceCursor::File(c) => c.peek_key(),
        }
    }

    #[inline]
    fn peek_row(&self) -> Option<&[u8]> {
        match self {
            SourceCursor::Mem(c) => c.peek_row(),
            SourceCursor::File(c) => c.peek_row(),
        }
    }

    #[inline]
    fn block(&self) -> Option<&bytes::Bytes> {
        match self {
            SourceCursor::Mem(_) => None,
            SourceCursor::File(c) => c.block(),
        }
    }

    #[inline]
    fn advance(&mut self) -> Result<()> {
        match self {
            SourceCursor::Mem(c) => c.advance(),
            SourceCursor::File(c) => c.advance(),
        }
    }

    fn seek(&mut self, probe: &Cell) -> Result<()> {
        match self {
            SourceCursor::Mem(c) => c.seek(probe),
            SourceCursor::File(c) => c.seek(probe),
        }
    }

    fn skip_column(&mut self, row: &[u8], family: &[u8], qualifier: &[u8]) -> Result<()> {
        match self {
            SourceCursor::Mem(c) => c.skip_column(row, family, qualifier),
            SourceCursor::File(c) => c.skip_column(row, family, qualifier),
        }
    }
}

/// The mutable part of a store, replaced as a whole under a short write lock.
#[derive(Clone, Debug)]
pub struct StoreState {
    /// Memstore taking writes.
    pub active: Arc<MemStore>,
    /// Memstore being flushed, if any.
    pub snapshot: Option<Arc<MemStore>>,
    /// Store files, oldest (lowest sequence id) first.
    pub files: Vec<Arc<StoreFile>>,
}

/// One column family of one region.
pub struct Store {
    family: FamilyDescriptor,
    dir: PathBuf,
    tmp_dir: PathBuf,
    cache: Option<Arc<BlockCache>>,
    state: RwLock<StoreState>,
}

fn sort_files(files: &mut [Arc<StoreFile>]) {
    files.sort_by(|a, b| {
        a.seq_id()
            .cmp(&b.seq_id())
            .then_with(|| a.name().cmp(b.name()))
    });
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("dir", &self.dir).finish()
    }
}

impl Store {
    /// Opens the store in `dir` (the family directory), loading every store file. Files
    /// that a later compaction output replaced are deleted (finishing an interrupted
    /// compaction); leftovers in `tmp_dir` are ignored.
    pub fn open(
        dir: &Path,
        tmp_dir: &Path,
        family: FamilyDescriptor,
        cache: Option<Arc<BlockCache>>,
    ) -> Result<Store> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let mut files = Vec::new();
        for ent in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
            let ent = ent.map_err(|e| Error::io(dir, e))?;
            let name = ent.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || !ent.path().is_file() {
                continue;
            }
            files.push(StoreFile::open(&ent.path(), cache.clone())?);
        }
        let replaced: std::collections::HashSet<String> = files
            .iter()
            .flat_map(|f| f.compacted_from().iter().cloned())
            .collect();
        let mut kept = Vec::new();
        for f in files {
            if replaced.contains(f.name()) {
                tracing::info!("removing {} (replaced by a compaction)", f.path().display());
                std::fs::remove_file(f.path()).map_err(|e| Error::io(f.path(), e))?;
            } else {
                kept.push(f);
            }
        }
        sort_files(&mut kept);
        Ok(Store {
            family,
            dir: dir.to_path_buf(),
            tmp_dir: tmp_dir.to_path_buf(),
            cache,
            state: RwLock::new(StoreState {
                active: Arc::new(MemStore::new()),
                snapshot: None,
                files: kept,
            }),
        })
    }

    /// The family descriptor.
    pub fn family(&self) -> &FamilyDescriptor {
        &self.family
    }

    /// The family directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The region's temporary directory (for files being written).
    pub fn tmp_dir(&self) -> &Path {
        &self.tmp_dir
    }

    /// The shared block cache.
    pub fn cache(&self) -> Option<Arc<BlockCache>> {
        self.cache.clone()
    }

    /// A consistent copy of the current state (cheap: Arcs only).
    pub fn state(&self) -> StoreState {
        self.state.read().clone()
    }

    /// Adds a cell to the active memstore; returns the bytes added.
    pub fn add(&self, cell: &hfile::Cell) -> usize {
        let active = self.state.read().active.clone();
        active.add(cell)
    }

    /// Bytes in the active memstore and snapshot.
    pub fn memstore_size(&self) -> usize {
        let s = self.state.read();
        s.active.size() + s.snapshot.as_ref().map(|m| m.size()).unwrap_or(0)
    }

    /// Highest sequence id persisted in a store file (replay starts above it).
    pub fn max_file_seq_id(&self) -> u64 {
        self.state
            .read()
            .files
            .iter()
            .map(|f| f.seq_id())
            .max()
            .unwrap_or(0)
    }

    /// Total size of the store files.
    pub fn files_size(&self) -> u64 {
        self.state.read().files.iter().map(|f| f.size()).sum()
    }

    /// Moves the active memstore to the snapshot slot (unless a previous snapshot is still
    /// waiting to be flushed, which is then returned again). Call with region updates
    /// blocked.
    pub fn snapshot(&self) -> Option<Arc<MemStore>> {
        let mut s = self.state.write();
        if let Some(snap) = &s.snapshot {
            return Some(snap.clone());
        }
        if s.active.is_empty() {
            return None;
        }
        let snap = std::mem::replace(&mut s.active, Arc::new(MemStore::new()));
        s.snapshot = Some(snap.clone());
        Some(snap)
    }

    /// Writes a snapshot to a new store file tagged with `flush_seq` and swaps it in.
    /// Returns the bytes freed from memory.
    pub fn flush_snapshot(&self, snap: &Arc<MemStore>, flush_seq: u64) -> Result<usize> {
        let mut w = StoreFileWriter::create(&self.tmp_dir, &self.dir, None, &self.family)?;
        snap.try_for_each(|c| w.append(&c))?;
        let file = w.finish(
            &FileMeta {
                max_seq_id: flush_seq,
                major: false,
                compacted_from: Vec::new(),
                keep_empty: false,
            },
            self.cache.clone(),
        )?;
        let mut s = self.state.write();
        if let Some(f) = file {
            s.files.push(f);
            sort_files(&mut s.files);
        }
        if s.snapshot
            .as_ref()
            .map(|x| Arc::ptr_eq(x, snap))
            .unwrap_or(false)
        {
            s.snapshot = None;
        }
        Ok(snap.size())
    }

    /// Adds to `out` cursors over everything a reader at `read_point` may see, limited to
    /// files that may hold rows in `[lo, hi]`; for a single-row read (`lo == hi`) the Bloom
    /// filter skips files too, and file cursors end at the row. `cache_blocks` as
    /// [`StoreFile::cursor`].
    pub fn cursors(
        &self,
        out: &mut Vec<SourceCursor>,
        read_point: u64,
        lo: &[u8],
        hi: Option<&[u8]>,
        cache_blocks: bool,
    ) -> Result<()> {
        // Read under the lock rather than through a copy of the state: a get then clones
        // only the handles of the sources it reads.
        let st = self.state.read();
        let single = hi.filter(|h| *h == lo);
        // A memstore without the row (or empty) holds nothing this reader may see: a
        // write is added to the memstore before the read point can pass it.
        let holds = |m: &MemStore| !m.is_empty() && single.is_none_or(|row| m.may_contain_row(row));
        for m in std::iter::once(&st.active).chain(&st.snapshot) {
            if holds(m) {
                out.push(SourceCursor::Mem(MemCursor::new(m.clone(), read_point)));
            }
        }
        let mut last_row = None;
        for f in st.files.iter().rev() {
            if !f.overlaps_rows(lo, hi) {
                continue;
            }
            if let Some(row) = single {
                if !f.reader().may_contain_row(row)? {
                    continue;
                }
            }
            let mut cursor = f.cursor(cache_blocks);
            if let Some(row) = single {
                // One copy of the row for all the store's files.
                let row = last_row.get_or_insert_with(|| bytes::Bytes::copy_from_slice(row));
                cursor.end_after_row(row.clone());
            }
            out.push(SourceCursor::File(cursor));
        }
        Ok(())
    }

    /// Replaces `old` files with `new` (a compaction result) atomically for readers, then
    /// deletes the old files from disk.
    pub fn replace_files(&self, old: &[Arc<StoreFile>], new: Vec<Arc<StoreFile>>) -> Result<()> {
        {
            let mut s = self.state.write();
            s.files.retain(|f| !old.iter().any(|o| Arc::ptr_eq(o, f)));
            s.files.extend(new);
            sort_files(&mut s.files);
        }
        for f in old {
            match std::fs::remove_file(f.path()) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io(f.path(), e)),
            }
        }
        Ok(())
    }

    /// Adds files (bulk load) atomically for readers.
    pub fn add_files(&self, new: Vec<Arc<StoreFile>>) {
        let mut s = self.state.write();
        s.files.extend(new);
        sort_files(&mut s.files);
    }
}
