//! Store files: immutable HFiles of one family of one region, plus the cursor the read path
//! uses over them and the helper that writes new ones (flush, compaction, split).
//!
//! Metadata travels inside the file as HBase does: max sequence id, major-compaction flag,
//! bulk-load time and time range in FileInfo. Basalt adds `BASALT_COMPACTED_FROM` (names of
//! the files a compaction replaced, so a crash between writing the output and deleting the
//! inputs is repaired on open). A bulk-loaded file carries its assigned sequence id in its
//! name (`<name>_SeqId_<n>_`), like HBase.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use hfile::{BlockCache, Cell, CellSlices, CellView, Reader, Scanner, WriterOptions};

use crate::cursor::CellCursor;
use crate::error::{Error, Result};
use crate::schema::{BloomType, Compression, FamilyDescriptor};

/// FileInfo key listing the files a compaction output replaced (newline separated).
pub const COMPACTED_FROM_KEY: &[u8] = b"BASALT_COMPACTED_FROM";

/// One open store file.
pub struct StoreFile {
    path: PathBuf,
    name: String,
    reader: Arc<Reader>,
    seq_id: u64,
    bulk: bool,
    first_row: Vec<u8>,
    last_row: Vec<u8>,
    compacted_from: Vec<String>,
    /// The file's time range if it holds one put per column (see
    /// [`FileCursor::plain_time_range`]).
    plain_time_range: Option<(i64, i64)>,
}

impl std::fmt::Debug for StoreFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreFile")
            .field("path", &self.path)
            .field("seq_id", &self.seq_id)
            .field("entries", &self.reader.entry_count())
            .finish()
    }
}

/// Parses the sequence id out of a bulk-loaded file name (`..._SeqId_<n>_`).
pub fn bulk_seq_from_name(name: &str) -> Option<u64> {
    let i = name.find("_SeqId_")?;
    let rest = &name[i + 7..];
    let end = rest.find('_')?;
    rest[..end].parse().ok()
}

fn row_of_key(key: &[u8], path: &Path) -> Result<Vec<u8>> {
    hfile::cell::key_row(key)
        .map(<[u8]>::to_vec)
        .ok_or_else(|| Error::corrupt(path.display().to_string(), 0, "malformed first/last key"))
}

impl StoreFile {
    /// Opens a store file, sharing the server's block cache.
    pub fn open(path: &Path, cache: Option<Arc<BlockCache>>) -> Result<Arc<StoreFile>> {
        let reader = Reader::open(path, cache)?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let name_seq = bulk_seq_from_name(&name);
        let seq_id = name_seq.or(reader.max_seq_id()).unwrap_or(0);
        let first_row = match reader.first_key() {
            Some(k) => row_of_key(k, path)?,
            None => Vec::new(),
        };
        let last_row = match reader.last_key() {
            Some(k) => row_of_key(k, path)?,
            None => Vec::new(),
        };
        let compacted_from = reader
            .file_info()
            .get(COMPACTED_FROM_KEY)
            .map(|v| {
                String::from_utf8_lossy(v)
                    .split('\n')
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        let plain_time_range = if reader.one_put_per_column() {
            reader.time_range()
        } else {
            None
        };
        Ok(Arc::new(StoreFile {
            path: path.to_path_buf(),
            name,
            reader,
            seq_id,
            bulk: name_seq.is_some(),
            first_row,
            last_row,
            compacted_from,
            plain_time_range,
        }))
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file's name inside its family directory.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The HFile reader.
    pub fn reader(&self) -> &Arc<Reader> {
        &self.reader
    }

    /// The sequence id of the file: its max sequence id, or the id assigned at bulk load.
    pub fn seq_id(&self) -> u64 {
        self.seq_id
    }

    /// True for a bulk-loaded file.
    pub fn is_bulk(&self) -> bool {
        self.bulk
    }

    /// Size on disk in bytes.
    pub fn size(&self) -> u64 {
        self.reader.file_size()
    }

    /// Number of cells.
    pub fn entries(&self) -> u64 {
        self.reader.entry_count()
    }

    /// First row (empty if the file has no cells).
    pub fn first_row(&self) -> &[u8] {
        &self.first_row
    }

    /// Last row.
    pub fn last_row(&self) -> &[u8] {
        &self.last_row
    }

    /// Names of the files this one replaced in a compaction.
    pub fn compacted_from(&self) -> &[String] {
        &self.compacted_from
    }

    /// True if the file may hold cells of rows in `[lo, hi]` (`hi` = `None` unbounded).
    pub fn overlaps_rows(&self, lo: &[u8], hi: Option<&[u8]>) -> bool {
        if self.entries() == 0 {
            return false;
        }
        self.last_row.as_slice() >= lo && hi.map(|h| self.first_row.as_slice() <= h).unwrap_or(true)
    }

    /// A cursor over the file; cells with no sequence id (and every cell of a bulk-loaded
    /// file) get the file's sequence id. `cache_blocks`: whether the blocks it reads moving
    /// forward are added to the block cache (not for compactions and one-pass scan jobs).
    pub fn cursor(&self, cache_blocks: bool) -> FileCursor {
        let mut scanner = self.reader.scanner();
        scanner.set_cache_blocks(cache_blocks);
        FileCursor {
            scanner,
            valid: false,
            file_seq: self.seq_id,
            force_seq: self.bulk,
            plain_time_range: self.plain_time_range,
        }
    }
}

/// A [`CellCursor`] over one store file: cells are borrowed from the current block.
pub struct FileCursor {
    scanner: Scanner,
    valid: bool,
    file_seq: u64,
    force_seq: bool,
    plain_time_range: Option<(i64, i64)>,
}

impl FileCursor {
    /// Declares that the read wants no row after `row` (a get): the cursor ends at a block
    /// boundary the index shows the row does not cross, without reading the next block.
    pub fn end_after_row(&mut self, row: bytes::Bytes) {
        self.scanner.set_last_row(row);
    }

    /// The (min, max) timestamps of the file if its writer recorded that every cell is a
    /// Put and no column of a row holds two: a read of this file alone has no versions,
    /// duplicates or delete markers to resolve.
    pub fn plain_time_range(&self) -> Option<(i64, i64)> {
        self.plain_time_range
    }

    /// The file's last row (`None` for an empty or malformed file).
    pub fn last_row(&self) -> Option<&[u8]> {
        self.scanner
            .reader()
            .last_key()
            .and_then(hfile::cell::key_row)
    }

    /// The sequence id a cell stored with `stored` carries: the file's own for bulk-loaded
    /// files and for cells stored without one.
    fn seq(&self, stored: u64) -> u64 {
        if self.force_seq || stored == 0 {
            self.file_seq
        } else {
            stored
        }
    }
}

impl CellCursor for FileCursor {
    // Always inlined: built in the caller's frame, the cell is not copied out of a
    // returned struct (whose one-byte type field stalls the copy's wide loads).
    #[inline(always)]
    fn peek(&self) -> Option<CellSlices<'_>> {
        if !self.valid {
            return None;
        }
        self.scanner.current().map(|c| CellSlices {
            seq_id: self.seq(c.seq_id()),
            ..CellSlices::from(c)
        })
    }

    #[inline]
    fn peek_key(&self) -> Option<(&[u8], u64)> {
        if !self.valid {
            return None;
        }
        let (key, seq) = self.scanner.current_key()?;
        Some((key, self.seq(seq)))
    }

    #[inline]
    fn peek_row(&self) -> Option<&[u8]> {
        if !self.valid {
            return None;
        }
        self.scanner.current_row()
    }

    #[inline]
    fn block(&self) -> Option<&bytes::Bytes> {
        if !self.valid {
            return None;
        }
        self.scanner.current_block()
    }

    #[inline]
    fn advance(&mut self) -> Result<()> {
        if self.valid {
            self.valid = self.scanner.next()?;
        }
        Ok(())
    }

    fn seek(&mut self, probe: &Cell) -> Result<()> {
        thread_local! {
            /// The serialized probe key, in a buffer each thread reuses.
            static KEY: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        self.valid = KEY.with_borrow_mut(|key| {
            key.clear();
            probe.write_key(key);
            self.scanner.seek(key)
        })?;
        Ok(())
    }
}

static FILE_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A fresh, unique 32-hex-digit store file name (like HBase's UUID names).
pub fn new_file_name() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let n = FILE_COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{nanos:016x}{:08x}{:08x}", std::process::id(), n as u32)
}

/// HFile writer options for a family.
pub fn writer_options(family: &FamilyDescriptor) -> WriterOptions {
    WriterOptions {
        block_size: family.block_size as usize,
        compression: match family.compression {
            Compression::None => hfile::Compression::None,
            Compression::Gz => hfile::Compression::Gz,
            Compression::Lz4 => hfile::Compression::Lz4,
        },
        encoding: hfile::DataBlockEncoding::parse(&family.data_block_encoding).unwrap_or_default(),
        bloom_type: match family.bloom {
            BloomType::None => hfile::BloomType::None,
            BloomType::Row => hfile::BloomType::Row,
            BloomType::RowCol => hfile::BloomType::RowCol,
        },
        ..WriterOptions::default()
    }
}

/// What to record in a new store file.
#[derive(Clone, Debug, Default)]
pub struct FileMeta {
    /// Max sequence id of the edits in the file.
    pub max_seq_id: u64,
    /// Written by a major compaction.
    pub major: bool,
    /// Files the new one replaces.
    pub compacted_from: Vec<String>,
    /// Write the file even without cells. A compaction that drops everything keeps its
    /// (empty) output so the store still records `max_seq_id`: otherwise WAL replay on the
    /// next open would bring back the edits the compaction removed.
    pub keep_empty: bool,
}

fn sync_dir(dir: &Path) {
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

/// A new store file being written: first under a temporary directory, renamed into the
/// family directory by [`StoreFileWriter::finish`]. Dropped unfinished, it removes itself.
pub struct StoreFileWriter {
    writer: Option<hfile::Writer>,
    tmp: PathBuf,
    dest: PathBuf,
    family_dir: PathBuf,
    cells: u64,
}

impl StoreFileWriter {
    /// Starts `family_dir/name` (a fresh name if `None`) under `tmp_dir`.
    pub fn create(
        tmp_dir: &Path,
        family_dir: &Path,
        name: Option<String>,
        family: &FamilyDescriptor,
    ) -> Result<StoreFileWriter> {
        std::fs::create_dir_all(tmp_dir).map_err(|e| Error::io(tmp_dir, e))?;
        std::fs::create_dir_all(family_dir).map_err(|e| Error::io(family_dir, e))?;
        let name = name.unwrap_or_else(new_file_name);
        let tmp = tmp_dir.join(&name);
        let writer = hfile::Writer::create(&tmp, writer_options(family))?;
        Ok(StoreFileWriter {
            writer: Some(writer),
            tmp,
            dest: family_dir.join(&name),
            family_dir: family_dir.to_path_buf(),
            cells: 0,
        })
    }

    /// Appends the next cell (in order).
    pub fn append<C: CellView + ?Sized>(&mut self, c: &C) -> Result<()> {
        let w = self
            .writer
            .as_mut()
            .ok_or_else(|| Error::InvalidArgument("store file writer already finished".into()))?;
        w.append(c)?;
        self.cells += 1;
        Ok(())
    }

    /// Cells appended so far.
    pub fn cells(&self) -> u64 {
        self.cells
    }

    /// Completes the file with `meta`, moves it into place and opens it. Returns `None`
    /// (and leaves nothing behind) if no cell was appended, unless `meta.keep_empty`.
    pub fn finish(
        mut self,
        meta: &FileMeta,
        cache: Option<Arc<BlockCache>>,
    ) -> Result<Option<Arc<StoreFile>>> {
        let Some(mut w) = self.writer.take() else {
            return Ok(None);
        };
        if self.cells == 0 && !meta.keep_empty {
            drop(w);
            let _ = std::fs::remove_file(&self.tmp);
            return Ok(None);
        }
        w.set_max_seq_id(meta.max_seq_id);
        w.set_major_compaction(meta.major);
        if !meta.compacted_from.is_empty() {
            w.append_file_info(
                COMPACTED_FROM_KEY,
                meta.compacted_from.join("\n").into_bytes(),
            );
        }
        if let Err(e) = w.finish() {
            let _ = std::fs::remove_file(&self.tmp);
            return Err(e.into());
        }
        std::fs::rename(&self.tmp, &self.dest).map_err(|e| Error::io(&self.dest, e))?;
        sync_dir(&self.family_dir);
        StoreFile::open(&self.dest, cache).map(Some)
    }
}

impl Drop for StoreFileWriter {
    fn drop(&mut self) {
        if let Some(w) = self.writer.take() {
            drop(w);
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes `cells` (sorted) to a new store file through a [`StoreFileWriter`]. Returns
    /// `None` (and leaves nothing behind) if there were no cells.
    fn write_store_file(
        tmp_dir: &Path,
        family_dir: &Path,
        name: Option<String>,
        family: &FamilyDescriptor,
        cells: &mut dyn Iterator<Item = Result<Cell>>,
        meta: &FileMeta,
        cache: Option<Arc<BlockCache>>,
    ) -> Result<Option<Arc<StoreFile>>> {
        let mut w = StoreFileWriter::create(tmp_dir, family_dir, name, family)?;
        for c in cells {
            w.append(&c?)?;
        }
        w.finish(meta, cache)
    }

    #[test]
    fn bulk_names() {
        assert_eq!(bulk_seq_from_name("abc_SeqId_42_"), Some(42));
        assert_eq!(bulk_seq_from_name("abc"), None);
        assert_eq!(new_file_name().len(), 32);
    }

    #[test]
    fn write_open_and_cursor() -> Result<()> {
        let d = tempfile::tempdir().map_err(|e| Error::io("tmp", e))?;
        let fam = FamilyDescriptor::new("f");
        let mut cells = (0..100).map(|i| {
            let mut c = Cell::put(format!("row{i:03}"), "f", "q", 5, format!("v{i}"));
            c.seq_id = i + 1;
            Ok(c)
        });
        let sf = write_store_file(
            &d.path().join(".tmp"),
            &d.path().join("f"),
            None,
            &fam,
            &mut cells,
            &FileMeta {
                max_seq_id: 100,
                major: false,
                compacted_from: vec!["old1".into()],
                keep_empty: false,
            },
            None,
        )?
        .ok_or_else(|| Error::InvalidArgument("no file".into()))?;
        assert_eq!(sf.entries(), 100);
        assert_eq!(sf.seq_id(), 100);
        assert_eq!(sf.first_row(), b"row000");
        assert_eq!(sf.last_row(), b"row099");
        assert_eq!(sf.compacted_from(), &["old1".to_string()]);
        let mut cur = sf.cursor(true);
        cur.seek(&crate::cursor::first_on_row(b"row050"))?;
        assert_eq!(cur.peek().map(|c| c.row), Some(&b"row050"[..]));
        assert_eq!(cur.peek().map(|c| c.seq_id), Some(51));
        cur.advance()?;
        assert_eq!(cur.peek().map(|c| c.row), Some(&b"row051"[..]));
        cur.seek(&crate::cursor::first_on_row(b"zzz"))?;
        assert!(cur.peek().is_none());
        // No cells: no file.
        let none = write_store_file(
            &d.path().join(".tmp"),
            &d.path().join("f"),
            None,
            &fam,
            &mut std::iter::empty(),
            &FileMeta::default(),
            None,
        )?;
        assert!(none.is_none());
        // Kept empty: a readable file with no cells that still records its sequence id.
        let empty = write_store_file(
            &d.path().join(".tmp"),
            &d.path().join("f"),
            None,
            &fam,
            &mut std::iter::empty(),
            &FileMeta {
                max_seq_id: 7,
                keep_empty: true,
                ..FileMeta::default()
            },
            None,
        )?
        .ok_or_else(|| Error::InvalidArgument("empty file not kept".into()))?;
        assert_eq!((empty.entries(), empty.seq_id()), (0, 7));
        assert!(!empty.overlaps_rows(b"", None));
        let mut cur = empty.cursor(true);
        cur.seek(&crate::cursor::first_on_row(b""))?;
        assert!(cur.peek().is_none());
        Ok(())
    }
}
