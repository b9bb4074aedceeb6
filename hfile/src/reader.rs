//! Reading HFiles: open (trailer + load-on-open section), block access through the shared
//! cache, seeks by the block index, forward scans and Bloom-checked point gets.

use std::cmp::Ordering;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};
use std::sync::{Arc, OnceLock};

use bytes::Bytes;

use crate::block::{read_block, Block, BlockType, Framing};
use crate::bloom::{chunk_contains, rowcol_key, BloomMeta, BloomType};
use crate::cache::BlockCache;
use crate::cell::{first_on_row, Cell, CellRef, CellType, CellView, Comparator};
use crate::compression::Compression;
use crate::derived::{CellOffsets, Derived};
use crate::encoding::{BlockCursor, CellFormat, DataBlockEncoding};
use crate::error::{Error, Result};
use crate::fileinfo::{decode_time_range, keys, FileInfo};
use crate::index::{
    parse_mid_key_metadata, parse_root, search_root, IndexEntry, MidKeyMetadata, NonRootIndex,
};
use crate::trailer::Trailer;

static NEXT_FILE_ID: AtomicU64 = AtomicU64::new(1);

/// Keeps the memory map alive behind `Bytes` slices.
struct MmapOwner(memmap2::Mmap);

impl AsRef<[u8]> for MmapOwner {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// Counters of one reader, for scan metrics.
#[derive(Debug, Default)]
pub struct ReaderStats {
    /// Blocks read from the file (cache misses).
    pub blocks_read: AtomicU64,
    /// Blocks served by the cache.
    pub cache_hits: AtomicU64,
}

/// An open HFile.
pub struct Reader {
    path: PathBuf,
    file: Bytes,
    id: u64,
    trailer: Trailer,
    file_info: FileInfo,
    comparator: Comparator,
    framing: Framing,
    format: CellFormat,
    encoding: DataBlockEncoding,
    root_index: Vec<IndexEntry>,
    mid_key_meta: Option<MidKeyMetadata>,
    meta_index: Vec<IndexEntry>,
    bloom_type: BloomType,
    bloom: Option<Bloom>,
    delete_family_bloom: Option<Bloom>,
    cache: Option<Arc<BlockCache>>,
    trailer_offset: u64,
    stats: ReaderStats,
}

/// A Bloom filter of the file: its meta block and the chunks read so far, by chunk index.
/// The reader keeps the chunks (as RocksDB keeps filter blocks in its table reader), so
/// that a get's filter checks neither look up nor pin a block in the shared cache.
struct Bloom {
    meta: BloomMeta,
    chunks: Vec<OnceLock<Bytes>>,
}

impl Bloom {
    fn new(meta: BloomMeta) -> Bloom {
        let chunks = meta.chunks.iter().map(|_| OnceLock::new()).collect();
        Bloom { meta, chunks }
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        if let Some(cache) = &self.cache {
            cache.evict_file(self.id);
        }
    }
}

impl std::fmt::Debug for Reader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reader")
            .field("path", &self.path)
            .field("entries", &self.trailer.entry_count)
            .finish()
    }
}

impl Reader {
    /// Opens `path`, reading the trailer and the load-on-open section.
    pub fn open(path: impl AsRef<Path>, cache: Option<Arc<BlockCache>>) -> Result<Arc<Reader>> {
        let path = path.as_ref();
        let f = File::open(path).map_err(|e| Error::io(path, e))?;
        let len = f.metadata().map_err(|e| Error::io(path, e))?.len();
        if len == 0 {
            return Err(Error::corrupt(path, 0, "empty file"));
        }
        // SAFETY: the file is opened read-only; HFiles are immutable once written, and
        // Basalt never modifies a file in place (new files are written and renamed).
        let mmap = unsafe { memmap2::Mmap::map(&f) }.map_err(|e| Error::io(path, e))?;
        let file = Bytes::from_owner(MmapOwner(mmap));
        Self::from_bytes(path, file, cache)
    }

    /// Opens an HFile held in memory (`path` is used in error messages only).
    pub fn from_bytes(
        path: impl AsRef<Path>,
        file: Bytes,
        cache: Option<Arc<BlockCache>>,
    ) -> Result<Arc<Reader>> {
        let path = path.as_ref();
        let len = file.len() as u64;
        let trailer = Trailer::parse(&file).map_err(|r| {
            Error::corrupt(path, len.saturating_sub(Trailer::size_for(3) as u64), r)
        })?;
        let trailer_offset = len - Trailer::size_for(trailer.major_version) as u64;
        if trailer.encrypted {
            return Err(Error::Unsupported {
                path: path.into(),
                offset: trailer_offset,
                what: "encrypted HFile".into(),
            });
        }
        let compression = Compression::from_ordinal(trailer.compression_codec).map_err(|name| {
            Error::Unsupported {
                path: path.into(),
                offset: trailer_offset,
                what: format!("compression codec {name}"),
            }
        })?;
        let comparator = trailer.comparator().ok_or_else(|| Error::Unsupported {
            path: path.into(),
            offset: trailer_offset,
            what: format!("comparator {}", trailer.comparator_class_name),
        })?;
        for (what, off) in [
            ("load-on-open offset", trailer.load_on_open_offset),
            ("file info offset", trailer.file_info_offset),
        ] {
            if off >= trailer_offset {
                return Err(Error::corrupt(
                    path,
                    trailer_offset,
                    format!("{what} {off} points past the data sections"),
                ));
            }
        }
        if trailer.num_data_index_levels == 0 || trailer.num_data_index_levels > 16 {
            return Err(Error::corrupt(
                path,
                trailer_offset,
                format!(
                    "invalid index level count {}",
                    trailer.num_data_index_levels
                ),
            ));
        }
        let framing = Framing {
            checksums: trailer.has_checksums(),
            compression,
        };
        let read = |offset: u64, expect: &[BlockType]| -> Result<Block> {
            let b = read_block(path, &file, offset, framing, trailer_offset)?;
            if !expect.contains(&b.header.block_type) {
                return Err(Error::corrupt(
                    path,
                    offset,
                    format!(
                        "expected {:?} block, found {:?}",
                        expect, b.header.block_type
                    ),
                ));
            }
            Ok(b)
        };
        // Root data index, then the meta index right after it.
        let root_block = read(trailer.load_on_open_offset, &[BlockType::RootIndex])?;
        let (root_index, used) = parse_root(&root_block.data, trailer.data_index_count as usize)
            .ok_or_else(|| Error::corrupt(path, root_block.offset, "truncated root data index"))?;
        let extra = root_block.data.len() - used;
        let mid_key_len = if trailer.num_data_index_levels > 1 {
            crate::index::MID_KEY_METADATA_SIZE
        } else {
            0
        };
        if extra != 0 && extra != mid_key_len {
            return Err(Error::corrupt(
                path,
                root_block.offset,
                format!(
                    "root data index has {extra} bytes after its {} entries",
                    trailer.data_index_count
                ),
            ));
        }
        let mid_key_meta = if extra > 0 {
            parse_mid_key_metadata(&root_block.data[used..])
        } else {
            None
        };
        let meta_offset = root_block.offset + root_block.header.on_disk_size_with_header() as u64;
        let meta_block = read(meta_offset, &[BlockType::RootIndex])?;
        let (meta_index, _) = parse_root(&meta_block.data, trailer.meta_index_count as usize)
            .ok_or_else(|| Error::corrupt(path, meta_block.offset, "truncated meta index"))?;
        let fi_block = read(trailer.file_info_offset, &[BlockType::FileInfo])?;
        let file_info = FileInfo::decode(&fi_block.data)
            .map_err(|r| Error::corrupt(path, fi_block.offset, r))?;
        // Bloom metadata blocks follow the FileInfo block up to the trailer.
        let mut bloom = None;
        let mut delete_family_bloom = None;
        let mut next = fi_block.offset + fi_block.header.on_disk_size_with_header() as u64;
        while next < trailer_offset {
            let b = read(
                next,
                &[
                    BlockType::GeneralBloomMeta,
                    BlockType::DeleteFamilyBloomMeta,
                ],
            )?;
            let meta = BloomMeta::parse(&b.data).map_err(|r| Error::corrupt(path, b.offset, r))?;
            if b.header.block_type == BlockType::GeneralBloomMeta {
                bloom = Some(Bloom::new(meta));
            } else {
                delete_family_bloom = Some(Bloom::new(meta));
            }
            next = b.offset + b.header.on_disk_size_with_header() as u64;
        }
        let bloom_type = match file_info.get(keys::BLOOM_FILTER_TYPE) {
            Some(name) => {
                BloomType::parse(&String::from_utf8_lossy(name)).unwrap_or(BloomType::None)
            }
            None => BloomType::None,
        };
        if bloom_type == BloomType::None {
            bloom = None;
        }
        let encoding = match file_info.get(keys::DATA_BLOCK_ENCODING) {
            Some(name) => {
                let name = String::from_utf8_lossy(name);
                match name.as_ref() {
                    "NONE" => DataBlockEncoding::None,
                    "FAST_DIFF" => DataBlockEncoding::FastDiff,
                    other => {
                        return Err(Error::Unsupported {
                            path: path.into(),
                            offset: fi_block.offset,
                            what: format!("data block encoding {other}"),
                        })
                    }
                }
            }
            None => DataBlockEncoding::None,
        };
        let format = CellFormat {
            tags: trailer.major_version >= 3 && file_info.get(keys::MAX_TAGS_LEN).is_some(),
            mvcc: file_info.get_i32(keys::KEY_VALUE_VERSION) == Some(1),
        };
        if format.tags && file_info.get_bool(keys::TAGS_COMPRESSED) == Some(true) {
            return Err(Error::Unsupported {
                path: path.into(),
                offset: fi_block.offset,
                what: "compressed tags".into(),
            });
        }
        Ok(Arc::new(Reader {
            path: path.to_path_buf(),
            file,
            id: NEXT_FILE_ID.fetch_add(1, AtomicOrdering::Relaxed),
            trailer,
            file_info,
            comparator,
            framing,
            format,
            encoding,
            root_index,
            mid_key_meta,
            meta_index,
            bloom_type,
            bloom,
            delete_family_bloom,
            cache,
            trailer_offset,
            stats: ReaderStats::default(),
        }))
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The trailer.
    pub fn trailer(&self) -> &Trailer {
        &self.trailer
    }

    /// The FileInfo map.
    pub fn file_info(&self) -> &FileInfo {
        &self.file_info
    }

    /// The row comparator of the file.
    pub fn comparator(&self) -> Comparator {
        self.comparator
    }

    /// The compression of the file's blocks.
    pub fn compression(&self) -> Compression {
        self.framing.compression
    }

    /// The data block encoding.
    pub fn encoding(&self) -> DataBlockEncoding {
        self.encoding
    }

    /// What each cell carries (tags, MVCC).
    pub fn cell_format(&self) -> CellFormat {
        self.format
    }

    /// The general Bloom filter type.
    pub fn bloom_type(&self) -> BloomType {
        self.bloom_type
    }

    /// General Bloom filter metadata, if the file has one.
    pub fn bloom_meta(&self) -> Option<&BloomMeta> {
        self.bloom.as_ref().map(|b| &b.meta)
    }

    /// Delete-family Bloom filter metadata, if the file has one.
    pub fn delete_family_bloom_meta(&self) -> Option<&BloomMeta> {
        self.delete_family_bloom.as_ref().map(|b| &b.meta)
    }

    /// Root entries of the data index.
    pub fn root_index(&self) -> &[IndexEntry] {
        &self.root_index
    }

    /// Entries of the meta block index.
    pub fn meta_index(&self) -> &[IndexEntry] {
        &self.meta_index
    }

    /// Number of cells.
    pub fn entry_count(&self) -> u64 {
        self.trailer.entry_count
    }

    /// File size in bytes.
    pub fn file_size(&self) -> u64 {
        self.file.len() as u64
    }

    /// Offset where the trailer starts.
    pub fn trailer_offset(&self) -> u64 {
        self.trailer_offset
    }

    /// Reader counters.
    pub fn stats(&self) -> &ReaderStats {
        &self.stats
    }

    /// First key of the file (the first root index key is always a real key).
    pub fn first_key(&self) -> Option<&[u8]> {
        if self.trailer.entry_count == 0 {
            return None;
        }
        self.root_index.first().map(|e| e.key.as_ref())
    }

    /// Last key of the file, from FileInfo.
    pub fn last_key(&self) -> Option<&[u8]> {
        self.file_info.get(keys::LASTKEY)
    }

    /// Largest sequence id of the file's edits (`MAX_SEQ_ID_KEY`).
    pub fn max_seq_id(&self) -> Option<u64> {
        self.file_info
            .get_i64(keys::MAX_SEQ_ID_KEY)
            .map(|v| v as u64)
    }

    /// Whether the writer recorded that every cell is a Put and no column of a row holds
    /// two cells ([`keys::ONE_PUT_PER_COLUMN`]; false for files that do not say, such as
    /// HBase's).
    pub fn one_put_per_column(&self) -> bool {
        self.file_info
            .get_bool(keys::ONE_PUT_PER_COLUMN)
            .unwrap_or(false)
    }

    /// Whether a major compaction wrote this file.
    pub fn is_major_compaction(&self) -> bool {
        self.file_info
            .get_bool(keys::MAJOR_COMPACTION_KEY)
            .unwrap_or(false)
    }

    /// Bulk-load time, if the file was bulk loaded.
    pub fn bulk_load_time(&self) -> Option<i64> {
        self.file_info.get_i64(keys::BULKLOAD_TIME_KEY)
    }

    /// The (min, max) timestamps of the file's cells.
    pub fn time_range(&self) -> Option<(i64, i64)> {
        self.file_info
            .get(keys::TIMERANGE)
            .and_then(decode_time_range)
    }

    /// Whether data blocks' bytes are all inside the file (for `check`).
    pub(crate) fn bytes(&self) -> &Bytes {
        &self.file
    }

    /// This reader's id in block cache keys.
    #[cfg(test)]
    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    pub(crate) fn framing(&self) -> Framing {
        self.framing
    }

    /// Reads a block through the cache.
    pub fn block(&self, offset: u64) -> Result<Block> {
        self.block_filling(offset, true)
    }

    /// Reads a block: from the cache if it is there, else from the file, caching it only if
    /// `fill` (one-pass scans such as compactions leave the cache to the hot blocks).
    pub fn block_filling(&self, offset: u64, fill: bool) -> Result<Block> {
        if let Some(b) = self.cached_block(offset) {
            return Ok(b);
        }
        let b = self.block_uncached(offset)?;
        if let Some(cache) = self.cache.as_ref().filter(|_| fill) {
            cache.insert((self.id, offset), b.clone());
        }
        Ok(b)
    }

    fn cached_block(&self, offset: u64) -> Option<Block> {
        let b = self.cache.as_ref()?.get(&(self.id, offset))?;
        self.stats.cache_hits.fetch_add(1, AtomicOrdering::Relaxed);
        Some(b)
    }

    /// Reads a block through the cache with `derive` run on it: a cached block whose
    /// derived data satisfies `have` comes back as is; a cached block without it is derived
    /// and cached again (a new entry, so the cache's weight of an entry never changes while
    /// it is cached). A block read from the file is derived at once only if `first_read`
    /// (index blocks are validated before any use); otherwise derivation waits for the
    /// block's next use from the cache, so a block read once and evicted never pays for it.
    fn block_derived(
        &self,
        offset: u64,
        first_read: bool,
        have: impl FnOnce(&Derived) -> bool,
        derive: impl FnOnce(&Block) -> Result<Derived>,
    ) -> Result<Block> {
        let (mut b, was_cached) = match self.cached_block(offset) {
            Some(b) if have(&b.derived) => return Ok(b),
            Some(b) => (b, true),
            None => (self.block_uncached(offset)?, false),
        };
        if was_cached || first_read {
            b.derived = derive(&b)?;
        }
        if let Some(cache) = &self.cache {
            cache.insert((self.id, offset), b.clone());
        }
        Ok(b)
    }

    /// Reads a non-root index block of type `want`, validated entry by entry once (when it
    /// is first read, or first used by a lookup after a scan cached it).
    fn index_block(&self, offset: u64, want: BlockType) -> Result<Block> {
        let have = |d: &Derived| matches!(d, Derived::ValidIndex);
        self.block_derived(offset, true, have, |b| {
            if b.header.block_type != want {
                return Err(Error::corrupt(
                    &self.path,
                    offset,
                    format!("expected {want:?} block, found {:?}", b.header.block_type),
                ));
            }
            if NonRootIndex::parse(&b.data).is_none() {
                return Err(Error::corrupt(
                    &self.path,
                    offset,
                    "malformed non-root index block",
                ));
            }
            Ok(Derived::ValidIndex)
        })
    }

    /// Reads a data block for a seek: with a block cache, NONE-encoded blocks carry the start
    /// offsets of their cells (built when a seek finds the block in the cache, then cached
    /// with it; the seek that reads it from the file walks it).
    fn seek_block(&self, offset: u64) -> Result<Block> {
        let have = |d: &Derived| matches!(d, Derived::CellOffsets(_) | Derived::Linear);
        self.block_derived(offset, false, have, |b| {
            if b.header.block_type != BlockType::Data || self.encoding != DataBlockEncoding::None {
                return Ok(Derived::Linear);
            }
            // A block whose cells do not all decode stays linear: the cell-by-cell walk then
            // reports the damaged cell exactly as a scan would.
            Ok(match CellOffsets::build(&b.data, self.format) {
                Ok(offsets) => Derived::CellOffsets(Arc::new(offsets)),
                Err(_) => Derived::Linear,
            })
        })
    }

    /// Reads a block without caching it (for scans over inline blocks and checks).
    pub fn block_uncached(&self, offset: u64) -> Result<Block> {
        self.stats.blocks_read.fetch_add(1, AtomicOrdering::Relaxed);
        read_block(
            &self.path,
            &self.file,
            offset,
            self.framing,
            self.trailer_offset,
        )
    }

    /// Offset of the data block that may hold `key` (descending the index levels).
    pub fn locate(&self, key: &[u8]) -> Result<Option<u64>> {
        Ok(self.locate_block(key)?.map(|(offset, _)| offset))
    }

    /// Offset of the data block that may hold `key`, and where the index keeps the first
    /// key of the block after it.
    fn locate_block(&self, key: &[u8]) -> Result<Option<(u64, NextKey)>> {
        if self.root_index.is_empty() {
            return Ok(None);
        }
        let i = search_root(&self.root_index, key, self.comparator).unwrap_or(0);
        let i = self.first_block_with(i, key, |k| self.root_index.get(k).map(|e| &e.key[..]));
        let mut offset = self.root_index[i].offset;
        let mut next = NextKey::Root(i + 1);
        for level in 1..self.trailer.num_data_index_levels {
            let want = if level + 1 == self.trailer.num_data_index_levels {
                BlockType::LeafIndex
            } else {
                BlockType::IntermediateIndex
            };
            let b = self.index_block(offset, want)?;
            // Validated when loaded: an O(1) view, then a binary search.
            let malformed = |what: String| Error::corrupt(&self.path, offset, what);
            let idx = NonRootIndex::view(&b.data)
                .ok_or_else(|| malformed("malformed non-root index block".into()))?;
            if idx.is_empty() {
                return Err(malformed("empty index block".into()));
            }
            let j = idx
                .search(key, self.comparator)
                .map_err(|e| malformed(format!("malformed index entry {}", e.0)))?
                .unwrap_or(0);
            let j = self.first_block_with(j, key, |k| idx.key(k));
            offset = idx
                .entry(j)
                .ok_or_else(|| malformed(format!("malformed index entry {j}")))?
                .0;
            // The next entry of a lower level is the next block only if this block has it.
            next = if j + 1 < idx.len() {
                NextKey::Leaf(b.data.clone(), j + 1)
            } else {
                NextKey::Unknown
            };
        }
        Ok(Some((offset, next)))
    }

    /// The key `next` points at: the first key of a block, or a separator at or before it
    /// (and after every key of the block before).
    fn next_key<'a>(&'a self, next: &'a NextKey) -> Option<&'a [u8]> {
        match next {
            NextKey::Root(i) => self.root_index.get(*i).map(|e| &e.key[..]),
            NextKey::Leaf(block, j) => NonRootIndex::view(block)?.key(*j),
            NextKey::Unknown => None,
        }
    }

    /// The entry after `next` if `next` is the entry of the block at `offset` (a scanner
    /// moving into that block): the key of the block after that one.
    fn key_after(&self, next: &NextKey, offset: u64) -> NextKey {
        match next {
            NextKey::Root(i) if self.root_index.get(*i).is_some_and(|e| e.offset == offset) => {
                NextKey::Root(i + 1)
            }
            NextKey::Leaf(block, j) => match NonRootIndex::view(block) {
                Some(idx) if idx.entry(*j).is_some_and(|e| e.0 == offset) && j + 1 < idx.len() => {
                    NextKey::Leaf(block.clone(), j + 1)
                }
                _ => NextKey::Unknown,
            },
            _ => NextKey::Unknown,
        }
    }

    /// Steps back from index entry `i` when `key` is a real cell key equal to the entry's
    /// key: with duplicate keys (same key, different sequence ids) the previous block may
    /// end with copies of `key`. Search keys of type Maximum never equal a stored cell.
    fn first_block_with<'a>(
        &self,
        i: usize,
        key: &[u8],
        key_at: impl Fn(usize) -> Option<&'a [u8]>,
    ) -> usize {
        if key.last() == Some(&CellType::Maximum.code()) {
            return i;
        }
        let mut j = i;
        while j > 0
            && key_at(j).is_some_and(|k| self.comparator.compare_keys(k, key) == Ordering::Equal)
        {
            j -= 1;
        }
        j
    }

    /// The key at the middle of the file, used to pick split points.
    pub fn mid_key(&self) -> Result<Option<Vec<u8>>> {
        if self.root_index.is_empty() || self.trailer.entry_count == 0 {
            return Ok(None);
        }
        if let Some(m) = self.mid_key_meta {
            let b = self.block(m.leaf_offset)?;
            let idx = NonRootIndex::parse(&b.data).ok_or_else(|| {
                Error::corrupt(&self.path, m.leaf_offset, "malformed leaf index block")
            })?;
            if (m.entry as usize) < idx.len() {
                let key = idx.key(m.entry as usize).ok_or_else(|| {
                    Error::corrupt(&self.path, m.leaf_offset, "malformed mid-key entry")
                })?;
                return Ok(Some(key.to_vec()));
            }
            return Err(Error::corrupt(
                &self.path,
                m.leaf_offset,
                "mid-key entry out of range",
            ));
        }
        Ok(Some(
            self.root_index[(self.root_index.len() - 1) / 2]
                .key
                .to_vec(),
        ))
    }

    /// A scanner over this file (not yet positioned).
    pub fn scanner(self: &Arc<Self>) -> Scanner {
        Scanner {
            reader: Arc::clone(self),
            last_row: None,
            located: None,
            block: Bytes::new(),
            offsets: None,
            block_offset: None,
            next_offset: 0,
            cursor: BlockCursor::new(self.encoding, self.format),
            cache_blocks: true,
        }
    }

    /// All cells in order, as owned cells.
    pub fn cells(self: &Arc<Self>) -> CellIter {
        CellIter {
            scanner: self.scanner(),
            started: false,
            done: false,
        }
    }

    /// Whether `bloom` may contain `key` (true when there is no filter).
    fn bloom_may_contain(&self, bloom: Option<&Bloom>, key: &[u8]) -> Result<bool> {
        let Some(Bloom { meta, chunks }) = bloom else {
            return Ok(true);
        };
        let Some(i) = meta.chunk_index(key) else {
            return Ok(false);
        };
        let bits = match chunks[i].get() {
            Some(bits) => bits,
            None => {
                let offset = meta.chunks[i].offset;
                let b = self.block_uncached(offset)?;
                if b.header.block_type != BlockType::BloomChunk {
                    return Err(Error::corrupt(
                        &self.path,
                        offset,
                        format!("expected bloom chunk, found {:?}", b.header.block_type),
                    ));
                }
                // A racing reader may have kept it first: same bytes either way.
                chunks[i].get_or_init(|| b.data)
            }
        };
        Ok(chunk_contains(bits, key, meta.hash_count))
    }

    /// Whether `row` may be in the file, per the Bloom filter (ROW blooms only; true otherwise).
    pub fn may_contain_row(&self, row: &[u8]) -> Result<bool> {
        match self.bloom_type {
            BloomType::Row => self.bloom_may_contain(self.bloom.as_ref(), row),
            _ => Ok(true),
        }
    }

    /// Whether `row:qualifier` may be in the file (ROWCOL blooms; ROW blooms check the row).
    pub fn may_contain_row_col(&self, row: &[u8], qualifier: &[u8]) -> Result<bool> {
        match self.bloom_type {
            BloomType::RowCol => {
                self.bloom_may_contain(self.bloom.as_ref(), &rowcol_key(row, qualifier))
            }
            BloomType::Row => self.bloom_may_contain(self.bloom.as_ref(), row),
            BloomType::None => Ok(true),
        }
    }

    /// Whether the file may hold a delete-family marker for `row`.
    pub fn may_contain_delete_family(&self, row: &[u8]) -> Result<bool> {
        if self.file_info.get_i64(keys::DELETE_FAMILY_COUNT) == Some(0) {
            return Ok(false);
        }
        self.bloom_may_contain(self.delete_family_bloom.as_ref(), row)
    }

    /// All cells of `row`, after consulting the Bloom filter.
    ///
    /// The returned cells share one buffer holding the row (once per distinct row bytes) and
    /// each cell's family, qualifier, value and tags, rather than five allocations per cell.
    pub fn get_row(self: &Arc<Self>, row: &[u8]) -> Result<Vec<Cell>> {
        if !self.may_contain_row(row)? {
            return Ok(Vec::new());
        }
        let mut s = self.scanner();
        s.seek(&first_on_row(row))?;
        let mut buf: Vec<u8> = Vec::new();
        let mut parts: Vec<CellParts> = Vec::new();
        let mut row_at = 0..0;
        while let Some(c) = s.current() {
            if self.comparator.compare_rows(c.row(), row) != Ordering::Equal {
                break;
            }
            if parts.is_empty() {
                // Room for the row and a few cells like this one.
                buf.reserve(c.row().len() + 4 * (c.key_len() + c.value().len() + c.tags().len()));
            }
            // Rows that compare equal are byte-equal except under the catalog comparator.
            if parts.is_empty() || buf.get(row_at.clone()) != Some(c.row()) {
                row_at = buf.len()..buf.len() + c.row().len();
                buf.extend_from_slice(c.row());
            }
            parts.push(CellParts::new(&c, row_at.clone(), buf.len()));
            for part in [c.family(), c.qualifier(), c.value(), c.tags()] {
                buf.extend_from_slice(part);
            }
            s.next()?;
        }
        let buf = Bytes::from(buf);
        let mut row_bytes = Bytes::new();
        let mut row_at = 0..0;
        let mut out = Vec::with_capacity(parts.len());
        for p in &parts {
            if p.row != row_at || out.is_empty() {
                row_at = p.row.clone();
                row_bytes = buf.slice(row_at.clone());
            }
            let mut pos = p.start;
            let mut take = |n: usize| {
                pos += n;
                buf.slice(pos - n..pos)
            };
            out.push(Cell {
                row: row_bytes.clone(),
                family: take(p.family_len),
                qualifier: take(p.qualifier_len),
                timestamp: p.timestamp,
                type_code: p.type_code,
                value: take(p.value_len),
                tags: take(p.tags_len),
                seq_id: p.seq_id,
            });
        }
        Ok(out)
    }
}

/// Where one cell's parts are in [`Reader::get_row`]'s shared buffer, and its scalars.
struct CellParts {
    /// The cell's row bytes.
    row: std::ops::Range<usize>,
    /// Where its family, qualifier, value and tags follow one another.
    start: usize,
    family_len: usize,
    qualifier_len: usize,
    value_len: usize,
    tags_len: usize,
    timestamp: i64,
    type_code: u8,
    seq_id: u64,
}

impl CellParts {
    fn new(c: &CellRef<'_>, row: std::ops::Range<usize>, start: usize) -> CellParts {
        CellParts {
            row,
            start,
            family_len: c.family().len(),
            qualifier_len: c.qualifier().len(),
            value_len: c.value().len(),
            tags_len: c.tags().len(),
            timestamp: c.timestamp(),
            type_code: c.type_code(),
            seq_id: c.seq_id(),
        }
    }
}

/// Where the index keeps the key of the data block after a located one.
#[derive(Clone, Debug)]
enum NextKey {
    /// Entry `i` of the root index.
    Root(usize),
    /// Entry `j` of a leaf index block (its data).
    Leaf(Bytes, usize),
    /// In another index block, or no block follows.
    Unknown,
}

/// A forward cursor over the cells of one file.
pub struct Scanner {
    reader: Arc<Reader>,
    /// The last row the reader wants (a get's row), if it said so.
    last_row: Option<Bytes>,
    /// The data block a seek located (its offset) and where the index has the key of the
    /// block after it: with `last_row` set, a scanner at the end of that block stops
    /// without reading the next one when that key's row is past `last_row`.
    located: Option<(u64, NextKey)>,
    block: Bytes,
    /// Cell start offsets of `block`, when it came with them (see [`Reader::seek_block`]).
    offsets: Option<Arc<CellOffsets>>,
    block_offset: Option<u64>,
    next_offset: u64,
    cursor: BlockCursor,
    /// Whether the blocks it reads are added to the block cache.
    cache_blocks: bool,
}

impl Scanner {
    /// Whether blocks this scanner reads are added to the block cache (default yes; HBase's
    /// `Scan#setCacheBlocks`). Blocks already cached are used either way; without caching a
    /// seek walks its block linearly instead of building the block's cell offsets.
    pub fn set_cache_blocks(&mut self, cache: bool) {
        self.cache_blocks = cache;
    }

    /// Tells the scanner that no row after `row` is wanted (a get): at the end of a block
    /// a seek located, it stops instead of reading the next block when the index shows
    /// that block starts past `row`.
    pub fn set_last_row(&mut self, row: Bytes) {
        self.last_row = Some(row);
    }

    /// Whether the current block is the last one holding rows up to `last_row`.
    fn ends_wanted_rows(&self) -> bool {
        let (Some(last), Some((offset, next))) = (&self.last_row, &self.located) else {
            return false;
        };
        self.block_offset == Some(*offset)
            && self
                .reader
                .next_key(next)
                .and_then(crate::cell::key_row)
                .is_some_and(|row| {
                    self.reader.comparator.compare_rows(row, last) == Ordering::Greater
                })
    }

    /// The file being scanned.
    pub fn reader(&self) -> &Arc<Reader> {
        &self.reader
    }

    /// Loads the data block at `offset` and positions on its first cell; `for_seek` asks
    /// for the block's cell offsets (scans do not need them).
    fn load_data_block(&mut self, offset: u64, for_seek: bool) -> Result<bool> {
        self.install_data_block(offset, for_seek)?;
        let r = self.cursor.rewind(&self.block);
        r.map_err(|e| self.decode_error(e))
    }

    /// Makes the data block at `offset` the scanner's block, without positioning the cursor.
    fn install_data_block(&mut self, offset: u64, for_seek: bool) -> Result<()> {
        let b = if for_seek && self.cache_blocks {
            self.reader.seek_block(offset)?
        } else {
            self.reader.block_filling(offset, self.cache_blocks)?
        };
        if !b.header.block_type.is_data() {
            return Err(Error::corrupt(
                &self.reader.path,
                offset,
                format!("expected a data block, found {:?}", b.header.block_type),
            ));
        }
        let expected = if self.reader.encoding == DataBlockEncoding::None {
            BlockType::Data
        } else {
            BlockType::EncodedData
        };
        if b.header.block_type != expected {
            return Err(Error::corrupt(
                &self.reader.path,
                offset,
                format!(
                    "{:?} block in a file with encoding {}",
                    b.header.block_type,
                    self.reader.encoding.name()
                ),
            ));
        }
        self.next_offset = offset + b.header.on_disk_size_with_header() as u64;
        self.block_offset = Some(offset);
        self.block = b.data;
        self.offsets = match b.derived {
            Derived::CellOffsets(o) => Some(o),
            _ => None,
        };
        Ok(())
    }

    fn decode_error(&self, e: crate::encoding::DecodeError) -> Error {
        Error::corrupt(
            &self.reader.path,
            self.block_offset.unwrap_or(0),
            format!("{} at byte {} of the block's data", e.reason, e.pos),
        )
    }

    /// After the trailer's last data block only inline and index blocks may follow; a data
    /// block there means the trailer is damaged and a scan would silently stop early.
    fn check_no_data_after_last(&self) -> Result<()> {
        let r = &self.reader;
        if self.next_offset >= r.trailer_offset {
            return Ok(());
        }
        let header = crate::block::read_header(
            &r.path,
            r.bytes(),
            self.next_offset,
            r.framing(),
            r.trailer_offset,
        )?;
        if header.block_type.is_data() {
            return Err(Error::corrupt(
                &r.path,
                r.trailer_offset,
                format!(
                    "data block at {} follows the trailer's last data block offset {}",
                    self.next_offset, r.trailer.last_data_block_offset
                ),
            ));
        }
        Ok(())
    }

    /// Moves to the first cell of the next data block after the current one.
    fn next_block(&mut self) -> Result<bool> {
        let last = self.reader.trailer.last_data_block_offset;
        loop {
            if self.block_offset.is_some() && self.next_offset > last {
                self.check_no_data_after_last()?;
            }
            if self.block_offset.is_none()
                || self.next_offset > last
                || self.reader.trailer.entry_count == 0
            {
                self.block_offset = None;
                self.block = Bytes::new();
                self.offsets = None;
                return Ok(false);
            }
            let offset = self.next_offset;
            // Skip inline (leaf index, bloom) blocks by their header alone.
            let header = crate::block::read_header(
                &self.reader.path,
                self.reader.bytes(),
                offset,
                self.reader.framing(),
                self.reader.trailer_offset,
            )?;
            if !header.block_type.is_data() {
                self.next_offset = offset + header.on_disk_size_with_header() as u64;
                continue;
            }
            if self.load_data_block(offset, false)? {
                // A get's row went on into this block: know where the next one starts.
                if let Some((_, next)) = &self.located {
                    let after = self.reader.key_after(next, offset);
                    self.located = Some((offset, after));
                }
                return Ok(true);
            }
        }
    }

    /// Positions on the first cell of the file.
    pub fn seek_to_first(&mut self) -> Result<bool> {
        if self.reader.trailer.entry_count == 0 {
            self.block_offset = None;
            return Ok(false);
        }
        let first = self.reader.trailer.first_data_block_offset;
        if self.load_data_block(first, false)? {
            return Ok(true);
        }
        self.next_block()
    }

    /// Positions on the first cell ≥ `key` (a serialized key); false if there is none.
    pub fn seek(&mut self, key: &[u8]) -> Result<bool> {
        let Some((offset, next)) = self.reader.locate_block(key)? else {
            self.block_offset = None;
            return Ok(false);
        };
        if self.last_row.is_some() {
            self.located = Some((offset, next));
        }
        let cmp = self.reader.comparator;
        // Already in the block, at or before `key`: go forward from here, as a scan would.
        let forward = self.block_offset == Some(offset)
            && self.cursor.valid()
            && cmp.compare_keys(self.cursor.key(&self.block), key) != Ordering::Greater;
        if forward {
            self.jump_within_block(key)?;
        } else {
            self.install_data_block(offset, true)?;
            if !self.enter_block_at(key)? && !self.next_block()? {
                return Ok(false);
            }
        }
        loop {
            if !self.cursor.valid() {
                if !self.next_block()? {
                    return Ok(false);
                }
                continue;
            }
            if cmp.compare_keys(self.cursor.key(&self.block), key) != Ordering::Less {
                return Ok(true);
            }
            let r = self.cursor.advance(&self.block);
            r.map_err(|e| self.decode_error(e))?;
        }
    }

    /// Whether the current block came with its cell offsets (seeks in it binary-search).
    #[cfg(test)]
    pub(crate) fn has_cell_offsets(&self) -> bool {
        self.offsets.is_some()
    }

    /// Positions the cursor in a block just installed for a seek to `key`: with the block's
    /// cell offsets straight on the first cell ≥ `key` (past the last cell if all are
    /// smaller), without decoding the cells before it; otherwise on the first cell, for the
    /// cell-by-cell walk in `seek`. Returns whether the cursor is on a cell.
    fn enter_block_at(&mut self, key: &[u8]) -> Result<bool> {
        let cmp = self.reader.comparator;
        let found = self.offsets.as_deref().and_then(|offsets| {
            let i = offsets.search(&self.block, 0, key, cmp)?;
            Some((i, offsets.start(i).unwrap_or(self.block.len())))
        });
        let r = match found {
            Some((i, pos)) if i > 0 => self.cursor.seek_to(&self.block, pos),
            _ => self.cursor.rewind(&self.block),
        };
        r.map_err(|e| self.decode_error(e))
    }

    /// With the block's cell offsets, moves the cursor (on a cell ≤ `key` or on the block's
    /// first cell) straight to the first cell ≥ `key` of the block by binary search, or past
    /// the block's last cell if all are smaller. Without them (FAST_DIFF, no block cache,
    /// a block loaded by a scan) it leaves the cursor for the cell-by-cell walk in `seek`.
    fn jump_within_block(&mut self, key: &[u8]) -> Result<()> {
        let Some(offsets) = self.offsets.as_deref() else {
            return Ok(());
        };
        if !self.cursor.valid() {
            return Ok(());
        }
        let Some(from) = offsets.index_of(self.cursor.cell_start()) else {
            return Ok(());
        };
        let cmp = self.reader.comparator;
        let Some(i) = offsets.search(&self.block, from, key, cmp) else {
            return Ok(());
        };
        if i == from {
            return Ok(());
        }
        let pos = offsets.start(i).unwrap_or(self.block.len());
        let r = self.cursor.seek_to(&self.block, pos);
        r.map_err(|e| self.decode_error(e))?;
        Ok(())
    }

    /// The current cell, or `None` when the scanner is exhausted or not positioned.
    #[inline]
    pub fn current(&self) -> Option<CellRef<'_>> {
        self.block_offset?;
        self.cursor.current(&self.block)
    }

    /// The current cell's serialized key and sequence id (0 if the file stores none): what a
    /// merge compares, cheaper than [`Scanner::current`].
    #[inline]
    pub fn current_key(&self) -> Option<(&[u8], u64)> {
        self.block_offset?;
        self.cursor.current_key(&self.block)
    }

    /// The current cell's row key: what a row loop compares, cheaper still.
    #[inline]
    pub fn current_row(&self) -> Option<&[u8]> {
        self.block_offset?;
        self.cursor.current_row(&self.block)
    }

    /// The data block the current cell was decoded from: the parts of a cell of an
    /// unencoded block are slices of it (a reader may keep the block instead of copying).
    #[inline]
    pub fn current_block(&self) -> Option<&Bytes> {
        self.block_offset?;
        Some(&self.block)
    }

    /// Advances to the next cell; returns whether there is one.
    ///
    /// A lending cursor (the current cell borrows the scanner), hence not `Iterator`.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Result<bool> {
        if self.block_offset.is_none() {
            return Ok(false);
        }
        let r = self.cursor.advance(&self.block);
        if r.map_err(|e| self.decode_error(e))? {
            return Ok(true);
        }
        if self.ends_wanted_rows() {
            self.block_offset = None;
            self.block = Bytes::new();
            self.offsets = None;
            return Ok(false);
        }
        self.next_block()
    }
}

/// Iterator over owned cells of a file (see [`Reader::cells`]).
pub struct CellIter {
    scanner: Scanner,
    started: bool,
    done: bool,
}

impl Iterator for CellIter {
    type Item = Result<Cell>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let step = if self.started {
            self.scanner.next()
        } else {
            self.scanner.seek_to_first()
        };
        self.started = true;
        match step {
            Ok(true) => self.scanner.current().map(|c| Ok(c.to_cell())),
            Ok(false) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}
