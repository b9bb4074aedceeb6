//! Whole-file verification, the engine behind `basalt hfile check`.
//!
//! [`check`] opens a file and then, without trusting the index, walks every block from
//! offset 0 to the trailer: it verifies each header, checksum and decompression, decodes
//! every data block and checks cell order within and across blocks. It then cross-checks
//! what the walk found against the trailer (entry count, first/last data block offsets),
//! the data index (root → intermediate → leaf must reference exactly the data blocks, in
//! order, with keys that separate them), FileInfo (`LASTKEY`, time range, counters) and the
//! Bloom filters (every chunk readable, every row present). Each finding is a [`Problem`]
//! with the byte offset of the structure at fault; nothing here panics on bad input.
//!
//! [`walk_blocks`] is the cheap header-only walk used to count blocks by type.

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;

use crate::block::{read_block, read_header, BlockType};
use crate::bloom::{chunk_contains, rowcol_key, BloomMeta, BloomType};
use crate::cell::{key_to_string, CellType, CellView};
use crate::encoding::{BlockCursor, DataBlockEncoding};
use crate::error::Error;
use crate::fileinfo::{decode_time_range, keys};
use crate::index::NonRootIndex;
use crate::reader::Reader;

/// At most this many problems are listed per file; the rest are counted.
pub const MAX_PROBLEMS: usize = 100;

/// One thing wrong with a file, located by byte offset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// Byte offset of the damaged or inconsistent structure (usually a block start).
    pub offset: u64,
    /// What is wrong, in words an operator can act on.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "offset {}: {}", self.offset, self.message)
    }
}

impl Problem {
    /// Turns an `hfile` error into a problem at the error's offset (0 when it has none),
    /// with a message that does not repeat the file name.
    pub fn from_error(e: &Error) -> Problem {
        let (offset, message) = match e {
            Error::Corrupt { offset, reason, .. } => (*offset, reason.clone()),
            Error::Checksum { offset, chunk, stored, computed, .. } => (
                *offset,
                format!("checksum mismatch in block (chunk {chunk}: stored {stored:#010x}, computed {computed:#010x})"),
            ),
            Error::Unsupported { offset, what, .. } => (*offset, format!("unsupported: {what}")),
            Error::Io { source, .. } => (0, format!("I/O error: {source}")),
            other => (0, other.to_string()),
        };
        Problem { offset, message }
    }
}

/// The result of checking one file.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// The file checked.
    pub path: PathBuf,
    /// Problems found, in the order they were found (at most [`MAX_PROBLEMS`]).
    pub problems: Vec<Problem>,
    /// Problems found beyond [`MAX_PROBLEMS`] and not listed.
    pub omitted_problems: usize,
    /// Cells decoded from data blocks.
    pub cells: u64,
    /// Blocks walked between offset 0 and the trailer.
    pub blocks: u64,
    /// Data blocks among them.
    pub data_blocks: u64,
}

impl Report {
    /// True when no problem was found.
    pub fn is_sound(&self) -> bool {
        self.problems.is_empty() && self.omitted_problems == 0
    }

    fn push(&mut self, offset: u64, message: impl Into<String>) {
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(Problem {
                offset,
                message: message.into(),
            });
        } else {
            self.omitted_problems += 1;
        }
    }
}

/// One block found by [`walk_blocks`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockSummary {
    /// Offset of the block.
    pub offset: u64,
    /// Its type.
    pub block_type: BlockType,
    /// Bytes it occupies on disk, header and checksums included.
    pub on_disk_size: u64,
    /// Size of its data once decompressed, header excluded.
    pub uncompressed_size: u64,
}

/// Every block header between offset 0 and the trailer, as found by [`walk_blocks`].
#[derive(Debug, Default)]
pub struct BlockWalk {
    /// The blocks, in file order.
    pub blocks: Vec<BlockSummary>,
    /// The header that could not be parsed, if the walk stopped early.
    pub error: Option<Problem>,
}

impl BlockWalk {
    /// Number of blocks of each type, in the order types first appear in the file.
    pub fn counts(&self) -> Vec<(BlockType, u64)> {
        let mut out: Vec<(BlockType, u64)> = Vec::new();
        for b in &self.blocks {
            match out.iter_mut().find(|(t, _)| *t == b.block_type) {
                Some((_, n)) => *n += 1,
                None => out.push((b.block_type, 1)),
            }
        }
        out
    }
}

/// Walks block headers (no checksums, no decompression) from offset 0 to the trailer.
pub fn walk_blocks(reader: &Reader) -> BlockWalk {
    let mut walk = BlockWalk::default();
    let end = reader.trailer_offset();
    let mut offset = 0u64;
    while offset < end {
        match read_header(reader.path(), reader.bytes(), offset, reader.framing(), end) {
            Ok(h) => {
                let size = h.on_disk_size_with_header() as u64;
                walk.blocks.push(BlockSummary {
                    offset,
                    block_type: h.block_type,
                    on_disk_size: size,
                    uncompressed_size: h.uncompressed_size_without_header as u64,
                });
                offset += size;
            }
            Err(e) => {
                walk.error = Some(Problem::from_error(&e));
                break;
            }
        }
    }
    walk
}

/// Opens and fully verifies the HFile at `path`. Never fails: an unreadable file is a
/// report with one problem at the offset where opening failed.
pub fn check(path: impl AsRef<Path>) -> Report {
    let path = path.as_ref();
    match Reader::open(path, None) {
        Ok(reader) => check_reader(&reader),
        Err(e) => {
            let mut report = Report {
                path: path.to_path_buf(),
                ..Report::default()
            };
            let p = Problem::from_error(&e);
            // Errors found while reading the trailer usually mean a cut-off copy or a
            // file that is not an HFile at all; say so.
            let at_trailer = matches!(e, Error::Corrupt { .. })
                && tail_of(path).is_some_and(|tail| crate::trailer::Trailer::parse(&tail).is_err());
            let hint = if at_trailer {
                " (the trailer at the end of the file is unreadable: truncated, or not an HFile)"
            } else {
                ""
            };
            report.push(p.offset, format!("cannot open: {}{hint}", p.message));
            report
        }
    }
}

/// The last bytes of a file (enough for any trailer), if it can be read.
fn tail_of(path: &Path) -> Option<Vec<u8>> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = std::fs::File::open(path).ok()?;
    let len = f.metadata().ok()?.len();
    let n = len.min(crate::trailer::TRAILER_SIZE_V3 as u64);
    f.seek(SeekFrom::Start(len - n)).ok()?;
    let mut tail = Vec::with_capacity(n as usize);
    f.take(n).read_to_end(&mut tail).ok()?;
    Some(tail)
}

/// Fully verifies an open file (see the module documentation for what is checked).
pub fn check_reader(reader: &Arc<Reader>) -> Report {
    let mut c = Checker::new(reader);
    c.load_blooms();
    c.walk();
    c.check_trailer();
    c.check_index();
    c.check_meta_index();
    c.check_file_info();
    c.check_bloom_counts();
    c.report
}

/// A data block as seen by the walk.
struct DataBlock {
    offset: u64,
    on_disk_size: u64,
    /// First and last key, when the block decoded and held cells.
    keys: Option<(Vec<u8>, Vec<u8>)>,
}

/// One loaded Bloom filter: its metadata and the chunk bits by chunk number.
struct LoadedBloom {
    name: &'static str,
    meta_offset: u64,
    meta: BloomMeta,
    chunks: Vec<Option<Bytes>>,
    /// Distinct consecutive keys seen in the cells.
    keys_seen: u64,
    last_key: Option<Vec<u8>>,
    missing: u64,
}

impl LoadedBloom {
    /// Records `key`; returns the chunk offset if the filter does not contain it.
    fn observe(&mut self, key: &[u8]) -> Option<u64> {
        if self.last_key.as_deref() == Some(key) {
            return None;
        }
        self.keys_seen += 1;
        self.last_key = Some(key.to_vec());
        let cmp = self.meta.comparator;
        let n = self
            .meta
            .chunks
            .partition_point(|e| cmp.compare_keys(&e.key, key) != Ordering::Greater);
        let Some(i) = n.checked_sub(1) else {
            self.missing += 1;
            return Some(
                self.meta
                    .chunks
                    .first()
                    .map(|e| e.offset)
                    .unwrap_or(self.meta_offset),
            );
        };
        let chunk = self.meta.chunks.get(i)?;
        // Unreadable chunks were reported when loading them.
        let bits = self.chunks.get(i).and_then(|b| b.as_ref())?;
        if chunk_contains(bits, key, self.meta.hash_count) {
            None
        } else {
            self.missing += 1;
            Some(chunk.offset)
        }
    }
}

struct Checker<'a> {
    reader: &'a Arc<Reader>,
    report: Report,
    data_blocks: Vec<DataBlock>,
    /// Offset → (type, on-disk size) of every block whose header parsed.
    block_at: HashMap<u64, (BlockType, u64)>,
    all_data_decoded: bool,
    walk_complete: bool,
    last_key: Option<Vec<u8>>,
    max_seq_id: u64,
    max_tags_len: usize,
    min_ts: i64,
    max_ts: i64,
    delete_family_cells: i64,
    unknown_types: u64,
    general_bloom: Option<LoadedBloom>,
    delete_family_bloom: Option<LoadedBloom>,
    index_uncompressed: u64,
}

impl<'a> Checker<'a> {
    fn new(reader: &'a Arc<Reader>) -> Self {
        Checker {
            reader,
            report: Report {
                path: reader.path().to_path_buf(),
                ..Report::default()
            },
            data_blocks: Vec::new(),
            block_at: HashMap::new(),
            all_data_decoded: true,
            walk_complete: true,
            last_key: None,
            max_seq_id: 0,
            max_tags_len: 0,
            min_ts: i64::MAX,
            max_ts: i64::MIN,
            delete_family_cells: 0,
            unknown_types: 0,
            general_bloom: None,
            delete_family_bloom: None,
            index_uncompressed: 0,
        }
    }

    fn read(&self, offset: u64) -> crate::Result<crate::block::Block> {
        read_block(
            self.reader.path(),
            self.reader.bytes(),
            offset,
            self.reader.framing(),
            self.reader.trailer_offset(),
        )
    }

    /// Reads the chunks each Bloom filter's index references.
    fn load_blooms(&mut self) {
        let fi = self.reader.file_info();
        let declared = fi
            .get(keys::BLOOM_FILTER_TYPE)
            .map(|v| String::from_utf8_lossy(v).into_owned());
        let fi_offset = self.reader.trailer().file_info_offset;
        if let Some(name) = &declared {
            if BloomType::parse(name).is_none() {
                self.report.push(
                    fi_offset,
                    format!("FileInfo BLOOM_FILTER_TYPE is unknown: {name}"),
                );
            }
        }
        let general = self.reader.bloom_meta().cloned();
        if general.is_none()
            && matches!(self.reader.bloom_type(), BloomType::Row | BloomType::RowCol)
        {
            self.report.push(
                fi_offset,
                format!("FileInfo declares a {} Bloom filter but the file has no general Bloom meta block", self.reader.bloom_type().name()),
            );
        }
        let general_at = self.load_on_open_block(BlockType::GeneralBloomMeta);
        let delete_family_at = self.load_on_open_block(BlockType::DeleteFamilyBloomMeta);
        self.general_bloom =
            general.map(|m| self.load_bloom("general Bloom filter", general_at, m));
        self.delete_family_bloom = self
            .reader
            .delete_family_bloom_meta()
            .cloned()
            .map(|m| self.load_bloom("delete-family Bloom filter", delete_family_at, m));
    }

    /// Offset of the first block of `block_type` after FileInfo (where Bloom metas live),
    /// or the FileInfo offset if there is none.
    fn load_on_open_block(&self, block_type: BlockType) -> u64 {
        let end = self.reader.trailer_offset();
        let mut offset = self.reader.trailer().file_info_offset;
        while offset < end {
            match read_header(
                self.reader.path(),
                self.reader.bytes(),
                offset,
                self.reader.framing(),
                end,
            ) {
                Ok(h) if h.block_type == block_type => return offset,
                Ok(h) => offset += h.on_disk_size_with_header() as u64,
                Err(_) => break,
            }
        }
        self.reader.trailer().file_info_offset
    }

    fn load_bloom(&mut self, name: &'static str, meta_offset: u64, meta: BloomMeta) -> LoadedBloom {
        let mut chunks = Vec::with_capacity(meta.chunks.len());
        let mut total = 0i64;
        for (i, entry) in meta.chunks.iter().enumerate() {
            match self.read(entry.offset) {
                Ok(b) if b.header.block_type == BlockType::BloomChunk => {
                    let on_disk = b.header.on_disk_size_with_header() as u64;
                    if on_disk != entry.on_disk_size as u64 {
                        self.report.push(
                            entry.offset,
                            format!("{name} index says chunk {i} is {} bytes on disk, the block is {on_disk}", entry.on_disk_size),
                        );
                    }
                    total += b.data.len() as i64;
                    chunks.push(Some(b.data));
                }
                Ok(b) => {
                    self.report.push(
                        entry.offset,
                        format!(
                            "{name} chunk {i} should be a BloomChunk block, found {:?}",
                            b.header.block_type
                        ),
                    );
                    chunks.push(None);
                }
                Err(e) => {
                    let p = Problem::from_error(&e);
                    self.report.push(
                        p.offset,
                        format!("{name} chunk {i} is unreadable: {}", p.message),
                    );
                    chunks.push(None);
                }
            }
        }
        if chunks.iter().all(|c| c.is_some()) && total != meta.total_byte_size {
            self.report.push(
                meta_offset,
                format!(
                    "{name} meta says its chunks hold {} bytes, they hold {total}",
                    meta.total_byte_size
                ),
            );
        }
        LoadedBloom {
            name,
            meta_offset,
            meta,
            chunks,
            keys_seen: 0,
            last_key: None,
            missing: 0,
        }
    }

    /// Walks and verifies every block from offset 0 to the trailer.
    fn walk(&mut self) {
        let end = self.reader.trailer_offset();
        let mut prev_by_type: HashMap<BlockType, u64> = HashMap::new();
        let mut offset = 0u64;
        while offset < end {
            let header = match read_header(
                self.reader.path(),
                self.reader.bytes(),
                offset,
                self.reader.framing(),
                end,
            ) {
                Ok(h) => h,
                Err(e) => {
                    let p = Problem::from_error(&e);
                    self.report
                        .push(p.offset, format!("block walk stopped: {}", p.message));
                    self.walk_complete = false;
                    self.all_data_decoded = false;
                    return;
                }
            };
            let size = header.on_disk_size_with_header() as u64;
            let block_type = header.block_type;
            self.report.blocks += 1;
            self.block_at.insert(offset, (block_type, size));
            if matches!(
                block_type,
                BlockType::LeafIndex | BlockType::IntermediateIndex | BlockType::RootIndex
            ) {
                self.index_uncompressed += header.uncompressed_size_without_header as u64;
            }
            // HBase chains plain and encoded data blocks together (ENCODED_DATA shares
            // DATA's id in its block writer).
            let chain = if block_type.is_data() {
                BlockType::Data
            } else {
                block_type
            };
            let expected_prev = prev_by_type
                .insert(chain, offset)
                .map(|o| o as i64)
                .unwrap_or(-1);
            if header.prev_block_offset != expected_prev {
                self.report.push(
                    offset,
                    format!(
                        "{block_type:?} block's prevBlockOffset is {}, but the previous {chain:?} block is at {expected_prev}",
                        header.prev_block_offset
                    ),
                );
            }
            if matches!(block_type, BlockType::Trailer | BlockType::IndexV1) {
                self.report.push(
                    offset,
                    format!("unexpected {block_type:?} block before the trailer"),
                );
            }
            let block = match self.read(offset) {
                Ok(b) => Some(b),
                Err(e) => {
                    let p = Problem::from_error(&e);
                    self.report.push(p.offset, p.message);
                    None
                }
            };
            if block_type.is_data() {
                self.report.data_blocks += 1;
                let keys = match &block {
                    Some(b) => self.check_data_block(offset, block_type, &b.data),
                    None => {
                        self.all_data_decoded = false;
                        None
                    }
                };
                self.data_blocks.push(DataBlock {
                    offset,
                    on_disk_size: size,
                    keys,
                });
            }
            offset += size;
        }
    }

    /// Decodes one data block, checks its cells; returns its first and last keys.
    fn check_data_block(
        &mut self,
        offset: u64,
        block_type: BlockType,
        data: &[u8],
    ) -> Option<(Vec<u8>, Vec<u8>)> {
        let expected = if self.reader.encoding() == DataBlockEncoding::None {
            BlockType::Data
        } else {
            BlockType::EncodedData
        };
        if block_type != expected {
            self.report.push(
                offset,
                format!(
                    "{block_type:?} block in a file with data block encoding {}",
                    self.reader.encoding().name()
                ),
            );
            self.all_data_decoded = false;
            return None;
        }
        let cmp = self.reader.comparator();
        let mut cursor = BlockCursor::new(self.reader.encoding(), self.reader.cell_format());
        let mut has = match cursor.rewind(data) {
            Ok(h) => h,
            Err(e) => {
                self.report.push(
                    offset,
                    format!(
                        "cannot decode data block: {} at byte {} of its data",
                        e.reason, e.pos
                    ),
                );
                self.all_data_decoded = false;
                return None;
            }
        };
        if !has {
            self.report.push(offset, "data block holds no cells");
            return None;
        }
        let mut first: Option<Vec<u8>> = None;
        let mut index_in_block = 0u64;
        while has {
            let Some(cell) = cursor.current(data) else {
                self.report.push(
                    offset,
                    format!("cell {index_in_block} of the data block has a malformed key"),
                );
                self.all_data_decoded = false;
                break;
            };
            let key = cell.key();
            if let Some(prev) = &self.last_key {
                if cmp.compare_keys(prev, key) == Ordering::Greater {
                    let where_ = if index_in_block == 0 {
                        "first cell of the block sorts before the previous block's last cell"
                    } else {
                        "cells out of order"
                    };
                    self.report.push(
                        offset,
                        format!(
                            "{where_}: {} (cell {index_in_block}) after {}",
                            key_to_string(key),
                            key_to_string(prev)
                        ),
                    );
                }
            }
            if cell
                .cell_type()
                .is_none_or(|t| !(t.is_delete() || t == CellType::Put))
            {
                self.unknown_types += 1;
                if self.unknown_types <= 3 {
                    self.report.push(
                        offset,
                        format!(
                            "cell {} has unknown type byte {}",
                            key_to_string(key),
                            cell.type_code()
                        ),
                    );
                }
            }
            self.observe_cell(&cell);
            if first.is_none() {
                first = Some(key.to_vec());
            }
            match &mut self.last_key {
                Some(k) => {
                    k.clear();
                    k.extend_from_slice(key);
                }
                None => self.last_key = Some(key.to_vec()),
            }
            self.report.cells += 1;
            index_in_block += 1;
            has = match cursor.advance(data) {
                Ok(h) => h,
                Err(e) => {
                    self.report.push(
                        offset,
                        format!("cannot decode cell {index_in_block} of the data block: {} at byte {} of its data", e.reason, e.pos),
                    );
                    self.all_data_decoded = false;
                    false
                }
            };
        }
        Some((first?, self.last_key.clone()?))
    }

    /// Per-cell statistics and Bloom membership.
    fn observe_cell(&mut self, cell: &crate::cell::CellRef<'_>) {
        self.max_seq_id = self.max_seq_id.max(cell.seq_id());
        self.max_tags_len = self.max_tags_len.max(cell.tags().len());
        self.min_ts = self.min_ts.min(cell.timestamp());
        self.max_ts = self.max_ts.max(cell.timestamp());
        let is_df = matches!(
            cell.cell_type(),
            Some(CellType::DeleteFamily | CellType::DeleteFamilyVersion)
        );
        if is_df {
            self.delete_family_cells += 1;
        }
        let bloom_type = self.reader.bloom_type();
        if let Some(bloom) = &mut self.general_bloom {
            let missing = match bloom_type {
                BloomType::RowCol => bloom.observe(&rowcol_key(cell.row(), cell.qualifier())),
                _ => bloom.observe(cell.row()),
            };
            if let Some(chunk_offset) = missing {
                if bloom.missing <= 3 {
                    let what = if bloom_type == BloomType::RowCol {
                        "row/column"
                    } else {
                        "row"
                    };
                    let msg = format!(
                        "{} does not contain {what} {} of cell {}",
                        bloom.name,
                        crate::cell::to_string_binary(cell.row()),
                        key_to_string(cell.key())
                    );
                    self.report.push(chunk_offset, msg);
                }
            }
        }
        if is_df {
            if let Some(bloom) = &mut self.delete_family_bloom {
                if let Some(chunk_offset) = bloom.observe(cell.row()) {
                    if bloom.missing <= 3 {
                        let msg = format!(
                            "{} does not contain row {} of delete-family marker {}",
                            bloom.name,
                            crate::cell::to_string_binary(cell.row()),
                            key_to_string(cell.key())
                        );
                        self.report.push(chunk_offset, msg);
                    }
                }
            }
        }
    }

    fn check_trailer(&mut self) {
        let t = self.reader.trailer().clone();
        let at = self.reader.trailer_offset();
        if let (Some(first), Some(last)) = (self.data_blocks.first(), self.data_blocks.last()) {
            if t.first_data_block_offset != first.offset {
                self.report.push(
                    at,
                    format!(
                        "trailer's firstDataBlockOffset is {}, the first data block is at {}",
                        t.first_data_block_offset, first.offset
                    ),
                );
            }
            if self.walk_complete && t.last_data_block_offset != last.offset {
                self.report.push(
                    at,
                    format!(
                        "trailer's lastDataBlockOffset is {}, the last data block is at {}",
                        t.last_data_block_offset, last.offset
                    ),
                );
            }
        } else if self.walk_complete && t.entry_count > 0 {
            self.report.push(
                at,
                format!(
                    "trailer counts {} cells but the file has no data block",
                    t.entry_count
                ),
            );
        }
        if self.all_data_decoded && t.entry_count != self.report.cells {
            self.report.push(
                at,
                format!(
                    "trailer counts {} cells, the data blocks hold {}",
                    t.entry_count, self.report.cells
                ),
            );
        }
        if self.walk_complete
            && t.uncompressed_data_index_size != self.index_uncompressed_data_index()
        {
            self.report.push(
                at,
                format!(
                    "trailer's uncompressedDataIndexSize is {}, the data index blocks add up to {}",
                    t.uncompressed_data_index_size,
                    self.index_uncompressed_data_index()
                ),
            );
        }
    }

    /// Uncompressed bytes of the data index blocks (root indexes minus the meta index).
    fn index_uncompressed_data_index(&self) -> u64 {
        // The meta index is a RootIndex block right after the data root index.
        let meta_root = self
            .block_at
            .get(&self.reader.trailer().load_on_open_offset)
            .map(|(_, size)| self.reader.trailer().load_on_open_offset + size)
            .and_then(|meta_offset| {
                read_header(
                    self.reader.path(),
                    self.reader.bytes(),
                    meta_offset,
                    self.reader.framing(),
                    self.reader.trailer_offset(),
                )
                .ok()
            })
            .map(|h| h.uncompressed_size_without_header as u64)
            .unwrap_or(0);
        self.index_uncompressed.saturating_sub(meta_root)
    }

    /// Descends the data index and matches its leaf level against the data blocks walked.
    fn check_index(&mut self) {
        let levels = self.reader.trailer().num_data_index_levels;
        let root_offset = self.reader.trailer().load_on_open_offset;
        let cmp = self.reader.comparator();
        // (block offset, on-disk size, key, offset of the index block holding the entry)
        let mut level: Vec<(u64, u64, Vec<u8>, u64)> = self
            .reader
            .root_index()
            .iter()
            .map(|e| (e.offset, e.on_disk_size as u64, e.key.to_vec(), root_offset))
            .collect();
        self.check_level_order(&level, "root");
        for depth in 1..levels {
            let want = if depth + 1 == levels {
                BlockType::LeafIndex
            } else {
                BlockType::IntermediateIndex
            };
            let mut next = Vec::new();
            for (offset, size, key, holder) in &level {
                let b = match self.read(*offset) {
                    Ok(b) => b,
                    Err(e) => {
                        let p = Problem::from_error(&e);
                        self.report.push(
                            p.offset,
                            format!(
                                "index block referenced from {holder} is unreadable: {}",
                                p.message
                            ),
                        );
                        continue;
                    }
                };
                if b.header.block_type != want {
                    self.report.push(
                        *offset,
                        format!("index entry in block {holder} points at a {:?} block, expected {want:?}", b.header.block_type),
                    );
                    continue;
                }
                let on_disk = b.header.on_disk_size_with_header() as u64;
                if on_disk != *size {
                    self.report.push(*offset, format!("index entry in block {holder} gives size {size}, the block is {on_disk} bytes"));
                }
                let Some(idx) = NonRootIndex::parse(&b.data) else {
                    self.report
                        .push(*offset, format!("malformed {want:?} block"));
                    continue;
                };
                if idx.is_empty() {
                    self.report.push(*offset, format!("empty {want:?} block"));
                    continue;
                }
                let Some((_, _, child_first)) = idx.entry(0) else {
                    self.report
                        .push(*offset, format!("malformed first entry in {want:?} block"));
                    continue;
                };
                if cmp.compare_keys(key, child_first) == Ordering::Greater {
                    self.report.push(
                        *offset,
                        format!(
                            "first key {} of this index block sorts before its parent entry {} (in block {holder})",
                            key_to_string(child_first),
                            key_to_string(key)
                        ),
                    );
                }
                for i in 0..idx.len() {
                    let Some((o, s, k)) = idx.entry(i) else {
                        self.report
                            .push(*offset, format!("malformed entry {i} in {want:?} block"));
                        continue;
                    };
                    next.push((o, s as u64, k.to_vec(), *offset));
                }
            }
            self.check_level_order(
                &next,
                if want == BlockType::LeafIndex {
                    "leaf"
                } else {
                    "intermediate"
                },
            );
            level = next;
        }
        if let Err(e) = self.reader.mid_key() {
            let p = Problem::from_error(&e);
            self.report
                .push(p.offset, format!("mid-key metadata: {}", p.message));
        }
        self.match_leaves(&level);
    }

    /// Keys and offsets of one index level must increase.
    fn check_level_order(&mut self, level: &[(u64, u64, Vec<u8>, u64)], name: &str) {
        let cmp = self.reader.comparator();
        for w in level.windows(2) {
            let (a, b) = (&w[0], &w[1]);
            if b.0 <= a.0 {
                self.report.push(
                    b.3,
                    format!(
                        "{name} index entries out of offset order: {} after {}",
                        b.0, a.0
                    ),
                );
            }
            if cmp.compare_keys(&a.2, &b.2) == Ordering::Greater {
                self.report.push(
                    b.3,
                    format!(
                        "{name} index keys out of order: {} after {}",
                        key_to_string(&b.2),
                        key_to_string(&a.2)
                    ),
                );
            }
        }
    }

    /// The leaf entries must be exactly the data blocks, in order, with separating keys.
    fn match_leaves(&mut self, leaves: &[(u64, u64, Vec<u8>, u64)]) {
        let cmp = self.reader.comparator();
        let data_index: HashMap<u64, usize> = self
            .data_blocks
            .iter()
            .enumerate()
            .map(|(i, b)| (b.offset, i))
            .collect();
        let mut referenced = HashSet::new();
        for (n, (offset, size, key, holder)) in leaves.iter().enumerate() {
            let Some(&i) = data_index.get(offset) else {
                let what = match self.block_at.get(offset) {
                    Some((t, _)) => format!("a {t:?} block"),
                    None if *offset >= self.reader.trailer_offset() => {
                        "past the end of the data sections".to_string()
                    }
                    None => "no block start".to_string(),
                };
                // Without a complete walk the block may simply not have been reached.
                if self.walk_complete {
                    self.report.push(
                        *holder,
                        format!("data index entry {n} points at offset {offset}, which is {what}"),
                    );
                }
                continue;
            };
            referenced.insert(*offset);
            let block = &self.data_blocks[i];
            if *size != block.on_disk_size {
                self.report.push(
                    *holder,
                    format!("data index entry {n} gives size {size} for the block at {offset}, which is {} bytes", block.on_disk_size),
                );
            }
            if let Some((first, _)) = &block.keys {
                if cmp.compare_keys(key, first) == Ordering::Greater {
                    self.report.push(
                        *offset,
                        format!(
                            "data index key {} sorts after the block's first key {}",
                            key_to_string(key),
                            key_to_string(first)
                        ),
                    );
                }
            }
            if i > 0 {
                if let (Some((_, prev_last)), Some((first, _))) =
                    (&self.data_blocks[i - 1].keys, &block.keys)
                {
                    // Duplicate keys may span a block boundary (HBase allows equal keys); then
                    // the index key can only be that key itself.
                    let spans = cmp.compare_keys(prev_last, first) == Ordering::Equal;
                    let ok = if spans {
                        cmp.compare_keys(key, first) == Ordering::Equal
                    } else {
                        cmp.compare_keys(key, prev_last) == Ordering::Greater
                    };
                    if !ok {
                        self.report.push(
                            *offset,
                            format!(
                                "data index key {} does not sort after the previous block's last key {}",
                                key_to_string(key),
                                key_to_string(prev_last)
                            ),
                        );
                    }
                }
            }
            // The reader's own lookup must land on this block, or on the block before it:
            // a lookup of a real cell key equal to an index key steps back one block in
            // case duplicates of the key end the previous block. (Only blocks whose first
            // key is unique to them are tried.)
            if let Some((first, _)) = &block.keys {
                let prev_distinct = i == 0
                    || self.data_blocks[i - 1]
                        .keys
                        .as_ref()
                        .is_some_and(|(_, prev_last)| {
                            cmp.compare_keys(prev_last, first) == Ordering::Less
                        });
                let next_distinct = leaves.get(n + 1).is_none_or(|(_, _, next_key, _)| {
                    cmp.compare_keys(next_key, first) == Ordering::Greater
                });
                if prev_distinct && next_distinct {
                    match self.reader.locate(first) {
                        Ok(Some(found))
                            if found == *offset
                                || (i > 0 && found == self.data_blocks[i - 1].offset) => {}
                        Ok(found) => self.report.push(
                            *offset,
                            format!(
                                "index lookup of the block's first key {} leads to {}",
                                key_to_string(first),
                                found
                                    .map(|o| format!("offset {o}"))
                                    .unwrap_or_else(|| "no block".into())
                            ),
                        ),
                        Err(e) => {
                            let p = Problem::from_error(&e);
                            self.report
                                .push(p.offset, format!("index lookup failed: {}", p.message));
                        }
                    }
                }
            }
        }
        for b in &self.data_blocks {
            if !referenced.contains(&b.offset) {
                self.report
                    .push(b.offset, "data block is not referenced by the data index");
            }
        }
        let mut seen = HashSet::new();
        for (offset, _, _, holder) in leaves {
            if !seen.insert(*offset) {
                self.report.push(
                    *holder,
                    format!("data block at {offset} is referenced twice by the data index"),
                );
            }
        }
    }

    /// Every meta index entry must lead to a readable META block.
    fn check_meta_index(&mut self) {
        let entries: Vec<_> = self.reader.meta_index().to_vec();
        for e in entries {
            match self.block_at.get(&e.offset) {
                Some((BlockType::Meta, size)) if *size != e.on_disk_size as u64 => {
                    self.report.push(
                        e.offset,
                        format!(
                            "meta index gives size {} for meta block {}, which is {size} bytes",
                            e.on_disk_size,
                            crate::cell::to_string_binary(&e.key)
                        ),
                    )
                }
                Some((BlockType::Meta, _)) => {}
                Some((t, _)) => self.report.push(
                    e.offset,
                    format!(
                        "meta index entry {} points at a {t:?} block",
                        crate::cell::to_string_binary(&e.key)
                    ),
                ),
                None if self.walk_complete => self.report.push(
                    e.offset,
                    format!(
                        "meta index entry {} points at no block start",
                        crate::cell::to_string_binary(&e.key)
                    ),
                ),
                None => {}
            }
        }
    }

    fn check_file_info(&mut self) {
        if !self.all_data_decoded {
            return;
        }
        let at = self.reader.trailer().file_info_offset;
        let fi = self.reader.file_info();
        let mut found = Vec::new();
        match (fi.get(keys::LASTKEY), &self.last_key) {
            (Some(k), Some(last)) if k != last.as_slice() => found.push(format!(
                "FileInfo hfile.LASTKEY is {}, the last cell is {}",
                key_to_string(k),
                key_to_string(last)
            )),
            (None, Some(last)) => found.push(format!(
                "FileInfo has no hfile.LASTKEY; the last cell is {}",
                key_to_string(last)
            )),
            (Some(k), None) => found.push(format!(
                "FileInfo hfile.LASTKEY is {} but the file has no cell",
                key_to_string(k)
            )),
            _ => {}
        }
        if self.report.cells > 0 {
            if let Some(raw) = fi.get(keys::TIMERANGE) {
                match decode_time_range(raw) {
                    Some((min, max)) if self.min_ts < min || self.max_ts > max => found.push(format!(
                        "FileInfo TIMERANGE [{min}, {max}] does not cover the cells' timestamps [{}, {}]",
                        self.min_ts, self.max_ts
                    )),
                    Some(_) => {}
                    None => found.push("FileInfo TIMERANGE cannot be decoded".to_string()),
                }
            }
        }
        if let Some(max) = fi.get_i64(keys::MAX_MEMSTORE_TS_KEY) {
            if self.reader.cell_format().mvcc && (self.max_seq_id as i64) > max {
                found.push(format!(
                    "FileInfo MAX_MEMSTORE_TS_KEY is {max}, a cell has sequence id {}",
                    self.max_seq_id
                ));
            }
        }
        if let Some(n) = fi.get_i64(keys::DELETE_FAMILY_COUNT) {
            if n != self.delete_family_cells {
                found.push(format!(
                    "FileInfo DELETE_FAMILY_COUNT is {n}, the file has {} delete-family markers",
                    self.delete_family_cells
                ));
            }
        }
        if let Some(max) = fi.get_i32(keys::MAX_TAGS_LEN) {
            if (max as i64) < self.max_tags_len as i64 {
                found.push(format!(
                    "FileInfo hfile.MAX_TAGS_LEN is {max}, a cell has {} bytes of tags",
                    self.max_tags_len
                ));
            }
        }
        for m in found {
            self.report.push(at, m);
        }
    }

    fn check_bloom_counts(&mut self) {
        if !self.all_data_decoded {
            return;
        }
        for bloom in [self.general_bloom.take(), self.delete_family_bloom.take()]
            .into_iter()
            .flatten()
        {
            if bloom.meta.key_count != bloom.keys_seen as i64 {
                self.report.push(
                    bloom.meta_offset,
                    format!(
                        "{} meta counts {} keys, the cells have {}",
                        bloom.name, bloom.meta.key_count, bloom.keys_seen
                    ),
                );
            }
            if bloom.missing > 3 {
                self.report.push(
                    bloom
                        .meta
                        .chunks
                        .first()
                        .map(|c| c.offset)
                        .unwrap_or(bloom.meta_offset),
                    format!("{} is missing {} keys in all", bloom.name, bloom.missing),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::{Framing, HEADER_SIZE};
    use crate::cell::Cell;
    use crate::checksum::ChecksumType;
    use crate::compression::Compression;
    use crate::writer::{Writer, WriterOptions};

    /// 100 cells whose serialized forms all have the same length.
    fn cells() -> Vec<Cell> {
        (0..100u32)
            .map(|i| {
                let mut c = Cell::put(
                    format!("row{i:03}").into_bytes(),
                    &b"f"[..],
                    &b"q"[..],
                    7,
                    format!("v{i:02}").into_bytes(),
                );
                c.seq_id = 5;
                c
            })
            .collect()
    }

    fn write(opts: WriterOptions) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.hfile");
        let mut w = Writer::create(&path, opts).unwrap();
        for c in cells() {
            w.append(&c).unwrap();
        }
        w.finish().unwrap();
        (dir, path)
    }

    /// Recomputes the checksums of the (uncompressed) block at `offset` after an edit.
    fn reseal(file: &mut [u8], offset: u64) {
        let framing = Framing {
            checksums: true,
            compression: Compression::None,
        };
        let h = read_header(Path::new("t"), file, offset, framing, file.len() as u64).unwrap();
        let start = offset as usize;
        let data_end = start + h.on_disk_data_size_with_header as usize;
        let mut sums = Vec::new();
        ChecksumType::Crc32c.append_checksums(
            &file[start..data_end],
            h.bytes_per_checksum,
            &mut sums,
        );
        file[data_end..data_end + sums.len()].copy_from_slice(&sums);
    }

    fn check_bytes(bytes: Vec<u8>) -> Report {
        let r = Reader::from_bytes("t.hfile", Bytes::from(bytes), None).unwrap();
        check_reader(&r)
    }

    fn messages(report: &Report) -> String {
        report.problems.iter().map(|p| format!("{p}\n")).collect()
    }

    #[test]
    fn a_fresh_file_is_sound() {
        let (_d, path) = write(WriterOptions {
            block_size: 200,
            ..WriterOptions::default()
        });
        let report = check(&path);
        assert!(report.is_sound(), "{}", messages(&report));
        assert_eq!(report.cells, 100);
        assert!(report.data_blocks > 5);
        let r = Reader::open(&path, None).unwrap();
        let walk = walk_blocks(&r);
        assert!(walk.error.is_none());
        assert_eq!(walk.blocks.len() as u64, report.blocks);
        let data = walk
            .counts()
            .into_iter()
            .find(|(t, _)| *t == BlockType::Data)
            .map(|(_, n)| n);
        assert_eq!(data, Some(report.data_blocks));
    }

    #[test]
    fn swapped_cells_are_reported_with_both_keys() {
        let (_d, path) = write(WriterOptions {
            bloom_type: BloomType::None,
            ..WriterOptions::default()
        });
        let mut bytes = std::fs::read(&path).unwrap();
        // One data block at offset 0; all cells have the same serialized length.
        let cell_len = 4 + 4 + (2 + 6 + 1 + 1 + 1 + 9) + 3 + 2 + 1;
        let a = HEADER_SIZE + cell_len;
        let b = a + cell_len;
        let first: Vec<u8> = bytes[a..b].to_vec();
        let second: Vec<u8> = bytes[b..b + cell_len].to_vec();
        bytes[a..b].copy_from_slice(&second);
        bytes[b..b + cell_len].copy_from_slice(&first);
        reseal(&mut bytes, 0);
        let report = check_bytes(bytes);
        let text = messages(&report);
        assert!(
            text.contains(
                "offset 0: cells out of order: row001/f:q/7/Put (cell 2) after row002/f:q/7/Put"
            ),
            "{text}"
        );
        assert_eq!(report.cells, 100);
    }

    #[test]
    fn index_entries_that_miss_data_blocks_are_reported() {
        let (_d, path) = write(WriterOptions {
            block_size: 200,
            bloom_type: BloomType::None,
            ..WriterOptions::default()
        });
        let r = Reader::open(&path, None).unwrap();
        let root = r.trailer().load_on_open_offset;
        let entries = r.root_index().to_vec();
        assert!(entries.len() > 3);
        let mut bytes = std::fs::read(&path).unwrap();
        // Entry 1 now points at block 2, so block 1 is unreferenced and block 2 doubly so.
        let entry1 = root as usize + HEADER_SIZE + 12 + 1 + entries[0].key.len();
        bytes[entry1..entry1 + 8].copy_from_slice(&(entries[2].offset as i64).to_be_bytes());
        reseal(&mut bytes, root);
        let text = messages(&check_bytes(bytes));
        assert!(
            text.contains(&format!(
                "offset {}: data block is not referenced by the data index",
                entries[1].offset
            )),
            "{text}"
        );
        assert!(
            text.contains(&format!(
                "data block at {} is referenced twice",
                entries[2].offset
            )),
            "{text}"
        );
    }

    #[test]
    fn rows_missing_from_the_bloom_filter_are_reported() {
        let (_d, path) = write(WriterOptions {
            bloom_type: BloomType::Row,
            ..WriterOptions::default()
        });
        let r = Reader::open(&path, None).unwrap();
        let chunk = r.bloom_meta().unwrap().chunks[0].clone();
        let mut bytes = std::fs::read(&path).unwrap();
        let start = chunk.offset as usize + HEADER_SIZE;
        let end = chunk.offset as usize + chunk.on_disk_size as usize - 4;
        bytes[start..end].fill(0);
        reseal(&mut bytes, chunk.offset);
        let report = check_bytes(bytes);
        let text = messages(&report);
        assert!(
            text.contains(&format!(
                "offset {}: general Bloom filter does not contain row row000",
                chunk.offset
            )),
            "{text}"
        );
        assert!(
            text.contains("general Bloom filter is missing 100 keys in all"),
            "{text}"
        );
    }

    #[test]
    fn a_flipped_byte_is_a_checksum_problem_at_its_block() {
        let (_d, path) = write(WriterOptions {
            block_size: 200,
            ..WriterOptions::default()
        });
        let r = Reader::open(&path, None).unwrap();
        let third = walk_blocks(&r)
            .blocks
            .iter()
            .filter(|b| b.block_type.is_data())
            .nth(2)
            .unwrap()
            .offset;
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[third as usize + HEADER_SIZE + 3] ^= 1;
        let report = check_bytes(bytes);
        assert_eq!(report.problems.len(), 1, "{}", messages(&report));
        assert_eq!(report.problems[0].offset, third);
        assert!(report.problems[0].message.starts_with("checksum mismatch"));
    }

    #[test]
    fn an_unopenable_file_is_one_problem() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("junk");
        std::fs::write(&path, vec![7u8; 5000]).unwrap();
        let report = check(&path);
        assert!(!report.is_sound());
        assert_eq!(report.problems.len(), 1);
        assert!(
            report.problems[0].message.starts_with("cannot open:"),
            "{}",
            report.problems[0]
        );
    }
}
