//! Writing HFile v3 files as HBase 2 writes them, streaming: memory is bounded by a few
//! blocks, the current index chunk and the current Bloom chunk, whatever the file size.
//!
//! With `compress_threads > 1`, data blocks are compressed on worker threads while the
//! writer goes on; blocks are still written in order and the output is byte-identical to
//! the single-threaded path.

use std::collections::{BTreeMap, VecDeque};
use std::fs::File;
use std::io::{BufWriter, IoSlice, Write};
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;
use std::time::{SystemTime, UNIX_EPOCH};

use crossbeam_channel::{bounded, unbounded, Receiver, Sender};

use crate::block::{BlockFramer, BlockType, DEFAULT_BYTES_PER_CHECKSUM, HEADER_SIZE};
use crate::bloom::{rowcol_key, BloomType, BloomWriter, ReadyChunk, DEFAULT_ERROR_RATE};
use crate::cell::{
    key_to_string, make_key, CellSlices, CellType, CellView, Comparator, MAX_FAMILY_LENGTH,
    MAX_ROW_LENGTH,
};
use crate::checksum::ChecksumType;
use crate::compression::Compression;
use crate::encoding::{BlockEncoder, CellFormat, DataBlockEncoding, EncoderCell, SiblingCell};
use crate::error::{Error, Result};
use crate::fileinfo::{encode_time_range, keys, FileInfo};
use crate::index::{IndexChunk, DEFAULT_MAX_CHUNK_SIZE, MIN_INDEX_NUM_ENTRIES};
use crate::trailer::{Trailer, V3_MINOR_VERSION};

/// Bytes the writer buffers before a write call. A block at least this large (a data block
/// of the default size) goes to the file in one vectored write of its header, body and
/// checksums, copied by nothing but the kernel.
const WRITE_BUFFER: usize = 64 * 1024;

/// Writes all of `parts` in order.
fn write_all_vectored(out: &mut impl Write, mut parts: &mut [IoSlice<'_>]) -> std::io::Result<()> {
    while !parts.is_empty() {
        match out.write_vectored(parts) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(n) => IoSlice::advance_slices(&mut parts, n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Options of one file.
#[derive(Clone, Debug)]
pub struct WriterOptions {
    /// Target uncompressed data block size (HBase's `BLOCKSIZE`, default 64 KiB).
    pub block_size: usize,
    /// Block compression.
    pub compression: Compression,
    /// Data block encoding.
    pub encoding: DataBlockEncoding,
    /// General Bloom filter type.
    pub bloom_type: BloomType,
    /// Bloom filter target false-positive rate.
    pub bloom_error_rate: f64,
    /// Checksum algorithm.
    pub checksum_type: ChecksumType,
    /// Checksum chunk size.
    pub bytes_per_checksum: u32,
    /// Write a memstore timestamp (sequence id) with each cell.
    pub include_mvcc: bool,
    /// Row order of the file.
    pub comparator: Comparator,
    /// Maximum serialized size of an index chunk before a new level is started.
    pub index_chunk_size: usize,
    /// Threads compressing data blocks (1 = compress on the writing thread).
    pub compress_threads: usize,
}

impl Default for WriterOptions {
    fn default() -> Self {
        WriterOptions {
            block_size: 64 * 1024,
            compression: Compression::None,
            encoding: DataBlockEncoding::None,
            bloom_type: BloomType::Row,
            bloom_error_rate: DEFAULT_ERROR_RATE,
            checksum_type: ChecksumType::Crc32c,
            bytes_per_checksum: DEFAULT_BYTES_PER_CHECKSUM,
            include_mvcc: true,
            comparator: Comparator::Default,
            index_chunk_size: DEFAULT_MAX_CHUNK_SIZE,
            compress_threads: 1,
        }
    }
}

/// What a finished file holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WriteSummary {
    /// The file written.
    pub path: PathBuf,
    /// Number of cells.
    pub entries: u64,
    /// File size in bytes.
    pub file_size: u64,
    /// Number of data blocks.
    pub data_blocks: u64,
    /// Levels of the data index.
    pub index_levels: u32,
    /// First key, if any cell was written.
    pub first_key: Option<Vec<u8>>,
    /// Last key, if any cell was written.
    pub last_key: Option<Vec<u8>>,
    /// Sum of key and value bytes appended.
    pub raw_bytes: u64,
}

/// Which of the file's two Bloom filters a chunk belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum BloomKind {
    General,
    DeleteFamily,
}

/// A data block waiting for its compressed bytes.
struct PendingBlock {
    block_type: BlockType,
    uncompressed_len: usize,
    index_key: Vec<u8>,
    bloom_chunks: Vec<(BloomKind, ReadyChunk)>,
}

/// Compression on worker threads, results re-ordered by sequence number.
struct Pipeline {
    jobs: Option<Sender<(u64, Vec<u8>)>>,
    results: Receiver<(u64, Vec<u8>)>,
    workers: Vec<JoinHandle<()>>,
    done: BTreeMap<u64, Vec<u8>>,
    next_submit: u64,
    next_write: u64,
    max_in_flight: usize,
}

impl Pipeline {
    fn new(threads: usize, framer: BlockFramer) -> Pipeline {
        let (job_tx, job_rx) = bounded::<(u64, Vec<u8>)>(threads * 2);
        let (res_tx, res_rx) = unbounded();
        let workers = (0..threads)
            .map(|_| {
                let rx = job_rx.clone();
                let tx = res_tx.clone();
                std::thread::spawn(move || {
                    for (seq, raw) in rx {
                        if tx.send((seq, framer.compress(&raw))).is_err() {
                            break;
                        }
                    }
                })
            })
            .collect();
        Pipeline {
            jobs: Some(job_tx),
            results: res_rx,
            workers,
            done: BTreeMap::new(),
            next_submit: 0,
            next_write: 0,
            max_in_flight: threads * 3,
        }
    }
}

impl Drop for Pipeline {
    fn drop(&mut self) {
        self.jobs = None;
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

/// The index of data blocks while they are written: leaf chunks written inline, the root
/// kept in memory (one entry per leaf block).
struct DataIndexWriter {
    leaf: IndexChunk,
    root: IndexChunk,
    total_entries: u64,
    levels: u32,
    uncompressed_size: u64,
}

/// Streams cells into a new HFile v3.
pub struct Writer {
    path: PathBuf,
    out: BufWriter<File>,
    pos: u64,
    opts: WriterOptions,
    framer: BlockFramer,
    encoder: BlockEncoder,
    block_buf: Vec<u8>,
    /// The checksums of the block being written.
    sums_buf: Vec<u8>,
    block_first_key: Vec<u8>,
    prev_key: Vec<u8>,
    prev_block_last_key: Vec<u8>,
    first_key: Option<Vec<u8>>,
    key_scratch: Vec<u8>,
    entries: u64,
    total_key_len: u64,
    total_value_len: u64,
    max_tags_len: usize,
    max_seq: u64,
    min_ts: i64,
    max_ts: i64,
    earliest_put_ts: i64,
    delete_family_count: i64,
    /// No delete marker and no second cell of a column so far.
    one_put_per_column: bool,
    data_blocks: u64,
    index: DataIndexWriter,
    bloom: Option<BloomWriter>,
    delete_family_bloom: Option<BloomWriter>,
    pending_chunks: Vec<(BloomKind, ReadyChunk)>,
    prev_offsets: BTreeMap<&'static [u8; 8], i64>,
    first_data_block_offset: Option<u64>,
    last_data_block_offset: u64,
    total_uncompressed_bytes: u64,
    file_info: FileInfo,
    pipeline: Option<Pipeline>,
    queue: VecDeque<PendingBlock>,
    max_seq_id_override: Option<u64>,
}

impl Writer {
    /// Creates `path` (truncating it) and prepares to write.
    pub fn create(path: impl AsRef<Path>, opts: WriterOptions) -> Result<Writer> {
        let path = path.as_ref().to_path_buf();
        if opts.block_size == 0 || opts.bytes_per_checksum == 0 || opts.index_chunk_size == 0 {
            return Err(Error::InvalidArgument(
                "block size, bytes per checksum and index chunk size must be positive".into(),
            ));
        }
        let file = File::create(&path).map_err(|e| Error::io(&path, e))?;
        let framer = BlockFramer {
            compression: opts.compression,
            checksum_type: opts.checksum_type,
            bytes_per_checksum: opts.bytes_per_checksum,
        };
        let format = CellFormat {
            tags: true,
            mvcc: opts.include_mvcc,
        };
        let pipeline = (opts.compress_threads > 1 && opts.compression != Compression::None)
            .then(|| Pipeline::new(opts.compress_threads, framer));
        let bloom = (opts.bloom_type != BloomType::None)
            .then(|| BloomWriter::new(opts.bloom_type, opts.bloom_error_rate));
        let delete_family_bloom = (opts.bloom_type != BloomType::None)
            .then(|| BloomWriter::new(BloomType::Row, opts.bloom_error_rate));
        let mut encoder = BlockEncoder::new(opts.encoding, format);
        let mut block_buf = Vec::with_capacity(opts.block_size + opts.block_size / 4);
        encoder.start(&mut block_buf);
        Ok(Writer {
            path,
            out: BufWriter::with_capacity(WRITE_BUFFER, file),
            pos: 0,
            framer,
            encoder,
            block_buf,
            sums_buf: Vec::new(),
            block_first_key: Vec::new(),
            prev_key: Vec::new(),
            prev_block_last_key: Vec::new(),
            first_key: None,
            key_scratch: Vec::new(),
            entries: 0,
            total_key_len: 0,
            total_value_len: 0,
            max_tags_len: 0,
            max_seq: 0,
            min_ts: i64::MAX,
            max_ts: i64::MIN,
            earliest_put_ts: i64::MAX,
            delete_family_count: 0,
            one_put_per_column: true,
            data_blocks: 0,
            index: DataIndexWriter {
                leaf: IndexChunk::default(),
                root: IndexChunk::default(),
                total_entries: 0,
                levels: 1,
                uncompressed_size: 0,
            },
            bloom,
            delete_family_bloom,
            pending_chunks: Vec::new(),
            prev_offsets: BTreeMap::new(),
            first_data_block_offset: None,
            last_data_block_offset: 0,
            total_uncompressed_bytes: 0,
            file_info: FileInfo::new(),
            pipeline,
            queue: VecDeque::new(),
            max_seq_id_override: None,
            opts,
        })
    }

    /// The file being written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Cells appended so far.
    pub fn entries(&self) -> u64 {
        self.entries
    }

    /// Bytes written to the file so far (excluding buffered blocks).
    pub fn bytes_written(&self) -> u64 {
        self.pos
    }

    /// Sets `MAX_SEQ_ID_KEY` (default: the largest cell sequence id).
    pub fn set_max_seq_id(&mut self, seq_id: u64) {
        self.max_seq_id_override = Some(seq_id);
    }

    /// Sets `MAJOR_COMPACTION_KEY`.
    pub fn set_major_compaction(&mut self, major: bool) {
        self.file_info
            .insert(keys::MAJOR_COMPACTION_KEY, vec![major as u8]);
    }

    /// Marks the file as bulk loaded at `time_ms` (`BULKLOAD_TIMESTAMP`).
    pub fn set_bulk_load_time(&mut self, time_ms: i64) {
        self.file_info
            .insert(keys::BULKLOAD_TIME_KEY, time_ms.to_be_bytes().to_vec());
    }

    /// Adds an arbitrary FileInfo entry.
    pub fn append_file_info(&mut self, key: &[u8], value: Vec<u8>) {
        self.file_info.insert(key, value);
    }

    /// Appends a cell; cells must come in comparator order.
    pub fn append<C: CellView + ?Sized>(&mut self, cell: &C) -> Result<()> {
        let row = cell.row();
        if row.len() > MAX_ROW_LENGTH {
            return Err(Error::InvalidArgument(format!(
                "row key of {} bytes exceeds {MAX_ROW_LENGTH}",
                row.len()
            )));
        }
        if cell.family().len() > MAX_FAMILY_LENGTH {
            return Err(Error::InvalidArgument(format!(
                "family of {} bytes exceeds {MAX_FAMILY_LENGTH}",
                cell.family().len()
            )));
        }
        if cell.tags().len() > u16::MAX as usize {
            return Err(Error::InvalidArgument(format!(
                "tags of {} bytes exceed 65535",
                cell.tags().len()
            )));
        }
        if self.opts.encoding == DataBlockEncoding::FastDiff && self.entries > 0 {
            let prev = crate::cell::CellRef::new(&self.prev_key, &[], &[], 0);
            if prev.is_none_or(|p| !crate::cell::same_bytes(p.family(), cell.family())) {
                return Err(Error::InvalidArgument(format!(
                    "FAST_DIFF files hold one column family, as HBase store files do: {} after {}",
                    key_to_string(&cell.key_bytes()),
                    key_to_string(&self.prev_key)
                )));
            }
        }
        let mut key = std::mem::take(&mut self.key_scratch);
        key.clear();
        cell.write_key(&mut key);
        if self.entries > 0
            && self.opts.comparator.compare_keys(&self.prev_key, &key)
                == std::cmp::Ordering::Greater
        {
            return Err(self.out_of_order(key));
        }
        // Keys end with timestamp (8 bytes) and type (1): the rest names the column. Only
        // asked while the file may still hold one put per column.
        let same_column = self.one_put_per_column
            && self.entries > 0
            && crate::cell::same_bytes(
                &key[..key.len().saturating_sub(9)],
                &self.prev_key[..self.prev_key.len().saturating_sub(9)],
            );
        self.start_cell(&key)?;
        self.add_bloom_keys(cell);
        self.add_cell(key, cell, same_column);
        Ok(())
    }

    /// Appends the `Put` cells of one row and family that share a timestamp and sequence
    /// id — one imported record — given as (qualifier, value) in qualifier order. The
    /// same file as appending each cell, for less work: the row and family are checked,
    /// ordered against the file and added to a row Bloom filter once, and each later
    /// cell is ordered and encoded by its qualifier alone.
    pub fn append_puts<'c>(
        &mut self,
        row: &[u8],
        family: &[u8],
        timestamp: i64,
        seq_id: u64,
        cells: impl IntoIterator<Item = (&'c [u8], &'c [u8])>,
    ) -> Result<()> {
        let mut cells = cells.into_iter();
        let Some((qualifier, value)) = cells.next() else {
            return Ok(());
        };
        self.append(&CellSlices::put(
            row, family, qualifier, timestamp, value, seq_id,
        ))?;
        if self.opts.comparator == Comparator::RawBytes {
            // Raw-bytes files order whole keys; no shortcut.
            for (qualifier, value) in cells {
                self.append(&CellSlices::put(
                    row, family, qualifier, timestamp, value, seq_id,
                ))?;
            }
            return Ok(());
        }
        let prefix = 2 + row.len() + 1 + family.len();
        let mut suffix = [0u8; 9];
        suffix[..8].copy_from_slice(&timestamp.to_be_bytes());
        suffix[8] = CellType::Put.code();
        for (qualifier, value) in cells {
            // A full block is finished first (it would be at the next cell anyway).
            let first_in_block = self.make_room()?;
            // `prev_key` is the previous cell's key: this record's row and family.
            let prev_key = &self.prev_key;
            let prev_qualifier = prev_key
                .get(prefix..prev_key.len().saturating_sub(9))
                .unwrap_or_default();
            let same_column = match crate::cell::compare_short(prev_qualifier, qualifier) {
                std::cmp::Ordering::Less => false,
                std::cmp::Ordering::Equal => true,
                std::cmp::Ordering::Greater => {
                    let key = [&prev_key[..prefix], qualifier, &suffix].concat();
                    return Err(self.out_of_order(key));
                }
            };
            let sibling = SiblingCell {
                prefix: &prev_key[..prefix],
                qualifier,
                suffix: &suffix,
                value,
                seq_id,
                prev_qualifier,
            };
            self.encoder.add_sibling(sibling, &mut self.block_buf);
            self.prev_key.truncate(prefix);
            self.prev_key.extend_from_slice(qualifier);
            self.prev_key.extend_from_slice(&suffix);
            if first_in_block {
                self.block_first_key.clear();
                self.block_first_key.extend_from_slice(&self.prev_key);
            }
            if self.opts.bloom_type == BloomType::RowCol {
                self.add_general_bloom_key(&rowcol_key(row, qualifier));
            }
            // Timestamp, type, sequence id and tags are the first cell's: only the column
            // counts and sizes change.
            self.one_put_per_column &= !same_column;
            self.total_key_len += self.prev_key.len() as u64;
            self.total_value_len += value.len() as u64;
            self.entries += 1;
        }
        Ok(())
    }

    /// The error for `key` arriving after the larger previous key.
    fn out_of_order(&mut self, key: Vec<u8>) -> Error {
        let err = Error::OutOfOrder {
            prev: key_to_string(&self.prev_key),
            next: key_to_string(&key),
        };
        self.key_scratch = key;
        err
    }

    /// Finishes the current block if it is full (HBase checks before adding a cell); true
    /// if the next cell starts a block.
    fn make_room(&mut self) -> Result<bool> {
        if self.encoder.cells() > 0 && self.encoder.unencoded_size() >= self.opts.block_size {
            self.finish_block()?;
        }
        Ok(self.encoder.cells() == 0)
    }

    /// [`Writer::make_room`], noting `key` as the first of a new block.
    fn start_cell(&mut self, key: &[u8]) -> Result<()> {
        if self.make_room()? {
            self.block_first_key.clear();
            self.block_first_key.extend_from_slice(key);
        }
        Ok(())
    }

    /// Encodes `cell`, whose key is `key`, into the block and updates the file's totals;
    /// `same_column` says the previous cell named the same column.
    fn add_cell<C: CellView + ?Sized>(&mut self, key: Vec<u8>, cell: &C, same_column: bool) {
        let (value, tags, ts, type_code) = (
            cell.value(),
            cell.tags(),
            cell.timestamp(),
            cell.type_code(),
        );
        let input = EncoderCell {
            key: &key,
            value,
            tags,
            seq_id: cell.seq_id(),
            prev_key: &self.prev_key,
        };
        self.encoder.add(input, &mut self.block_buf);
        self.min_ts = self.min_ts.min(ts);
        self.max_ts = self.max_ts.max(ts);
        if type_code == CellType::Put.code() {
            self.earliest_put_ts = self.earliest_put_ts.min(ts);
        } else {
            self.one_put_per_column = false;
        }
        if same_column {
            self.one_put_per_column = false;
        }
        if type_code == CellType::DeleteFamily.code()
            || type_code == CellType::DeleteFamilyVersion.code()
        {
            self.delete_family_count += 1;
        }
        self.max_seq = self.max_seq.max(cell.seq_id());
        self.max_tags_len = self.max_tags_len.max(tags.len());
        self.total_key_len += key.len() as u64;
        self.total_value_len += value.len() as u64;
        if self.first_key.is_none() {
            self.first_key = Some(key.clone());
        }
        self.key_scratch = std::mem::replace(&mut self.prev_key, key);
        self.entries += 1;
    }

    fn add_bloom_keys<C: CellView + ?Sized>(&mut self, cell: &C) {
        match self.opts.bloom_type {
            BloomType::RowCol => {
                self.add_general_bloom_key(&rowcol_key(cell.row(), cell.qualifier()))
            }
            _ => self.add_general_bloom_key(cell.row()),
        }
        let t = cell.type_code();
        if t == CellType::DeleteFamily.code() || t == CellType::DeleteFamilyVersion.code() {
            if let Some(bloom) = &mut self.delete_family_bloom {
                if let Some(chunk) = bloom.add(cell.row()) {
                    self.pending_chunks.push((BloomKind::DeleteFamily, chunk));
                }
            }
        }
    }

    /// Adds `key` to the general Bloom filter, if the file has one.
    fn add_general_bloom_key(&mut self, key: &[u8]) {
        if let Some(bloom) = &mut self.bloom {
            if let Some(chunk) = bloom.add(key) {
                self.pending_chunks.push((BloomKind::General, chunk));
            }
        }
    }

    /// Index key of the block being finished: a short separator between the previous
    /// block's last key and this block's first key (HBase's `getMidpoint`).
    fn index_key(&self) -> Vec<u8> {
        let right = &self.block_first_key;
        if self.data_blocks == 0 || self.opts.comparator != Comparator::Default {
            return right.clone();
        }
        midpoint_key(&self.prev_block_last_key, right).unwrap_or_else(|| right.clone())
    }

    fn finish_block(&mut self) -> Result<()> {
        if self.encoder.cells() == 0 {
            return Ok(());
        }
        self.encoder.finish(&mut self.block_buf);
        let block_type = if self.opts.encoding == DataBlockEncoding::None {
            BlockType::Data
        } else {
            BlockType::EncodedData
        };
        let pending = PendingBlock {
            block_type,
            uncompressed_len: self.block_buf.len(),
            index_key: self.index_key(),
            bloom_chunks: std::mem::take(&mut self.pending_chunks),
        };
        self.prev_block_last_key.clear();
        self.prev_block_last_key.extend_from_slice(&self.prev_key);
        self.data_blocks += 1;
        let mut raw = std::mem::take(&mut self.block_buf);
        match &mut self.pipeline {
            None => {
                let body = self.framer.compressed(&raw);
                self.write_data_block(pending, &body)?;
                drop(body);
                raw.clear();
                self.block_buf = raw;
                self.encoder.start(&mut self.block_buf);
            }
            Some(p) => {
                self.block_buf =
                    Vec::with_capacity(self.opts.block_size + self.opts.block_size / 4);
                self.encoder.start(&mut self.block_buf);
                let seq = p.next_submit;
                p.next_submit += 1;
                if let Some(tx) = &p.jobs {
                    tx.send((seq, raw))
                        .map_err(|_| Error::InvalidArgument("compression worker stopped".into()))?;
                }
                self.queue.push_back(pending);
                self.drain_pipeline(false)?;
            }
        }
        Ok(())
    }

    /// Writes compressed blocks that are ready, in order; waits while too many are in flight
    /// (or for all of them when `all`).
    fn drain_pipeline(&mut self, all: bool) -> Result<()> {
        loop {
            let Some(p) = &mut self.pipeline else {
                return Ok(());
            };
            while let Ok((seq, data)) = p.results.try_recv() {
                p.done.insert(seq, data);
            }
            if let Some(data) = p.done.remove(&p.next_write) {
                p.next_write += 1;
                let pending = self
                    .queue
                    .pop_front()
                    .ok_or_else(|| Error::InvalidArgument("pipeline out of sync".into()))?;
                self.write_data_block(pending, &data)?;
                continue;
            }
            let in_flight = (p.next_submit - p.next_write) as usize;
            if in_flight == 0 || (!all && in_flight < p.max_in_flight) {
                return Ok(());
            }
            let (seq, data) = p
                .results
                .recv()
                .map_err(|_| Error::InvalidArgument("compression worker stopped".into()))?;
            p.done.insert(seq, data);
        }
    }

    fn write_block_bytes(
        &mut self,
        block_type: BlockType,
        uncompressed_len: usize,
        compressed: &[u8],
    ) -> Result<(u64, u32)> {
        let offset = self.pos;
        let prev = self
            .prev_offsets
            .insert(block_type.magic(), offset as i64)
            .unwrap_or(-1);
        self.sums_buf.clear();
        let header = self.framer.frame_parts(
            block_type,
            uncompressed_len,
            compressed,
            prev,
            &mut self.sums_buf,
        );
        let mut parts = [
            IoSlice::new(&header),
            IoSlice::new(compressed),
            IoSlice::new(&self.sums_buf),
        ];
        write_all_vectored(&mut self.out, &mut parts).map_err(|e| Error::io(&self.path, e))?;
        let size = HEADER_SIZE + compressed.len() + self.sums_buf.len();
        self.pos += size as u64;
        self.total_uncompressed_bytes += (HEADER_SIZE + uncompressed_len) as u64;
        Ok((offset, size as u32))
    }

    /// Compresses and writes a non-data block.
    fn write_block(&mut self, block_type: BlockType, raw: &[u8]) -> Result<(u64, u32)> {
        let body = self.framer.compressed(raw);
        self.write_block_bytes(block_type, raw.len(), &body)
    }

    fn write_data_block(&mut self, pending: PendingBlock, compressed: &[u8]) -> Result<()> {
        let (offset, size) =
            self.write_block_bytes(pending.block_type, pending.uncompressed_len, compressed)?;
        self.first_data_block_offset.get_or_insert(offset);
        self.last_data_block_offset = offset;
        self.index.leaf.add(pending.index_key, offset, size, None);
        self.index.total_entries += 1;
        // Inline blocks: the leaf index when it is full, then the Bloom chunks that filled up.
        if self.index.leaf.non_root_size() >= self.opts.index_chunk_size {
            self.write_leaf_index()?;
        }
        for (kind, chunk) in pending.bloom_chunks {
            self.write_bloom_chunk(kind, chunk)?;
        }
        Ok(())
    }

    fn write_leaf_index(&mut self) -> Result<()> {
        let mut raw = Vec::with_capacity(self.index.leaf.non_root_size());
        self.index.leaf.write_non_root(&mut raw);
        let first = self
            .index
            .leaf
            .first_key()
            .map(|k| k.to_vec())
            .unwrap_or_default();
        self.index.leaf.take();
        let (offset, size) = self.write_block(BlockType::LeafIndex, &raw)?;
        self.index.uncompressed_size += raw.len() as u64;
        self.index
            .root
            .add(first, offset, size, Some(self.index.total_entries));
        self.index.levels = 2;
        Ok(())
    }

    fn bloom_mut(&mut self, kind: BloomKind) -> Option<&mut BloomWriter> {
        match kind {
            BloomKind::General => self.bloom.as_mut(),
            BloomKind::DeleteFamily => self.delete_family_bloom.as_mut(),
        }
    }

    fn write_bloom_chunk(&mut self, kind: BloomKind, chunk: ReadyChunk) -> Result<()> {
        let (offset, size) = self.write_block(BlockType::BloomChunk, &chunk.bits)?;
        if let Some(b) = self.bloom_mut(kind) {
            b.chunk_written(chunk.first_key, offset, size);
        }
        Ok(())
    }

    /// Writes the index, FileInfo, Bloom metadata and trailer, and syncs the file.
    pub fn finish(mut self) -> Result<WriteSummary> {
        self.finish_block()?;
        self.drain_pipeline(true)?;
        self.pipeline = None;
        // Closing inline blocks: the last leaf chunk (if the index is multi-level), then the
        // last Bloom chunks.
        if self.index.levels > 1 && !self.index.leaf.is_empty() {
            self.write_leaf_index()?;
        }
        for kind in [BloomKind::General, BloomKind::DeleteFamily] {
            if let Some(chunk) = self.bloom_mut(kind).and_then(|b| b.take_chunk()) {
                self.write_bloom_chunk(kind, chunk)?;
            }
        }
        let load_on_open_offset = self.write_data_index()?;
        // Empty meta index.
        self.write_block(BlockType::RootIndex, &[])?;
        self.fill_file_info();
        let file_info_offset = self.pos;
        let fi = self.file_info.encode();
        self.write_block(BlockType::FileInfo, &fi)?;
        for (kind, block_type) in [
            (BloomKind::General, BlockType::GeneralBloomMeta),
            (BloomKind::DeleteFamily, BlockType::DeleteFamilyBloomMeta),
        ] {
            let meta = self
                .bloom_mut(kind)
                .filter(|b| b.key_count() > 0)
                .map(|b| b.meta_block());
            if let Some(meta) = meta {
                self.write_block(block_type, &meta)?;
            }
        }
        let trailer = Trailer {
            major_version: 3,
            minor_version: V3_MINOR_VERSION,
            file_info_offset,
            load_on_open_offset,
            uncompressed_data_index_size: self.index.uncompressed_size,
            total_uncompressed_bytes: self.total_uncompressed_bytes
                + crate::trailer::TRAILER_SIZE_V3 as u64,
            data_index_count: self.index.root.len() as u32,
            meta_index_count: 0,
            entry_count: self.entries,
            num_data_index_levels: self.index.levels,
            // HBase writes -1 when there is no data block.
            first_data_block_offset: self.first_data_block_offset.unwrap_or(u64::MAX),
            last_data_block_offset: self.last_data_block_offset,
            comparator_class_name: self.opts.comparator.class_name().to_string(),
            compression_codec: self.opts.compression.ordinal(),
            encrypted: false,
        };
        let t = trailer.encode_v3();
        self.out
            .write_all(&t)
            .map_err(|e| Error::io(&self.path, e))?;
        self.pos += t.len() as u64;
        let file = self
            .out
            .into_inner()
            .map_err(|e| Error::io(&self.path, e.into_error()))?;
        file.sync_all().map_err(|e| Error::io(&self.path, e))?;
        Ok(WriteSummary {
            path: self.path,
            entries: self.entries,
            file_size: self.pos,
            data_blocks: self.data_blocks,
            index_levels: self.index.levels,
            first_key: self.first_key,
            last_key: (self.entries > 0).then_some(self.prev_key),
            raw_bytes: self.total_key_len + self.total_value_len,
        })
    }

    /// Writes intermediate levels (if the root is too big) and the root; returns its offset.
    fn write_data_index(&mut self) -> Result<u64> {
        if self.index.levels == 1 {
            // Single level: the leaf chunk becomes the root.
            let leaf = std::mem::take(&mut self.index.leaf);
            self.index.root = leaf;
        }
        let mid_key = (self.index.levels > 1)
            .then(|| self.index.root.mid_key_metadata())
            .flatten();
        while self.index.levels > 1
            && self.index.root.root_size() > self.opts.index_chunk_size
            && self.index.root.len() > MIN_INDEX_NUM_ENTRIES
            && self.index.levels < 16
        {
            let entries = self.index.root.take();
            let mut parent = IndexChunk::default();
            let mut chunk = IndexChunk::default();
            let n = entries.len();
            for (i, (key, offset, size)) in entries.into_iter().enumerate() {
                chunk.add(key, offset, size, None);
                if (i >= MIN_INDEX_NUM_ENTRIES && chunk.root_size() >= self.opts.index_chunk_size)
                    || i + 1 == n
                {
                    let mut raw = Vec::with_capacity(chunk.non_root_size());
                    chunk.write_non_root(&mut raw);
                    let first = chunk.first_key().map(|k| k.to_vec()).unwrap_or_default();
                    chunk.take();
                    let (off, sz) = self.write_block(BlockType::IntermediateIndex, &raw)?;
                    self.index.uncompressed_size += raw.len() as u64;
                    // HBase leaves intermediate and root index blocks out of the total.
                    self.total_uncompressed_bytes -= (HEADER_SIZE + raw.len()) as u64;
                    parent.add(first, off, sz, None);
                }
            }
            self.index.root = parent;
            self.index.levels += 1;
        }
        let mut raw = Vec::with_capacity(self.index.root.root_size() + 16);
        self.index.root.write_root(&mut raw);
        if let Some(m) = mid_key {
            raw.extend_from_slice(&m);
        }
        let (offset, _) = self.write_block(BlockType::RootIndex, &raw)?;
        self.index.uncompressed_size += raw.len() as u64;
        self.total_uncompressed_bytes -= (HEADER_SIZE + raw.len()) as u64;
        Ok(offset)
    }

    fn fill_file_info(&mut self) {
        let fi = &mut self.file_info;
        let n = self.entries.max(1);
        if self.entries > 0 {
            fi.insert(keys::LASTKEY, self.prev_key.clone());
        }
        fi.insert(
            keys::AVG_KEY_LEN,
            ((self.total_key_len / n) as i32).to_be_bytes().to_vec(),
        );
        fi.insert(
            keys::AVG_VALUE_LEN,
            ((self.total_value_len / n) as i32).to_be_bytes().to_vec(),
        );
        if fi.get(keys::CREATE_TIME_KEY).is_none() {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_millis() as i64)
                .unwrap_or(0);
            fi.insert(keys::CREATE_TIME_KEY, now.to_be_bytes().to_vec());
        }
        fi.insert(
            keys::MAX_TAGS_LEN,
            (self.max_tags_len as i32).to_be_bytes().to_vec(),
        );
        fi.insert(keys::TAGS_COMPRESSED, vec![0]);
        if self.opts.include_mvcc {
            fi.insert(keys::KEY_VALUE_VERSION, 1i32.to_be_bytes().to_vec());
            fi.insert(
                keys::MAX_MEMSTORE_TS_KEY,
                (self.max_seq as i64).to_be_bytes().to_vec(),
            );
        }
        if self.opts.encoding != DataBlockEncoding::None {
            fi.insert(
                keys::DATA_BLOCK_ENCODING,
                self.opts.encoding.name().as_bytes().to_vec(),
            );
        }
        let max_seq = self.max_seq_id_override.unwrap_or(self.max_seq);
        fi.insert(
            keys::MAX_SEQ_ID_KEY,
            (max_seq as i64).to_be_bytes().to_vec(),
        );
        if fi.get(keys::MAJOR_COMPACTION_KEY).is_none() {
            fi.insert(keys::MAJOR_COMPACTION_KEY, vec![0]);
        }
        fi.insert(keys::TIMERANGE, encode_time_range(self.min_ts, self.max_ts));
        fi.insert(
            keys::EARLIEST_PUT_TS,
            self.earliest_put_ts.to_be_bytes().to_vec(),
        );
        fi.insert(
            keys::DELETE_FAMILY_COUNT,
            self.delete_family_count.to_be_bytes().to_vec(),
        );
        fi.insert(
            keys::ONE_PUT_PER_COLUMN,
            vec![self.one_put_per_column as u8],
        );
        if let Some(b) = self.bloom.as_ref().filter(|b| b.key_count() > 0) {
            fi.insert(
                keys::BLOOM_FILTER_TYPE,
                self.opts.bloom_type.name().as_bytes().to_vec(),
            );
            fi.insert(keys::LAST_BLOOM_KEY, b.last_key().to_vec());
        }
    }
}

/// A key `k` with `left < k <= right`, shorter than `right` where possible
/// (HBase's `CellComparatorImpl.getMidpoint`). `None` if no shortening applies.
pub fn midpoint_key(left: &[u8], right: &[u8]) -> Option<Vec<u8>> {
    let l = crate::cell::CellRef::new(left, &[], &[], 0)?;
    let r = crate::cell::CellRef::new(right, &[], &[], 0)?;
    let latest = crate::cell::LATEST_TIMESTAMP;
    if l.row() < r.row() {
        let mid = min_midpoint(l.row(), r.row());
        return Some(make_key(&mid, b"", b"", latest, CellType::Maximum));
    }
    if l.row() != r.row() {
        return None;
    }
    if l.family() < r.family() {
        let mid = min_midpoint(l.family(), r.family());
        return Some(make_key(r.row(), &mid, b"", latest, CellType::Maximum));
    }
    if l.family() == r.family() && l.qualifier() < r.qualifier() {
        let mid = min_midpoint(l.qualifier(), r.qualifier());
        return Some(make_key(
            r.row(),
            r.family(),
            &mid,
            latest,
            CellType::Maximum,
        ));
    }
    None
}

/// Shortest byte string `m` with `left < m <= right` (for `left < right`).
fn min_midpoint(left: &[u8], right: &[u8]) -> Vec<u8> {
    let min = left.len().min(right.len());
    let diff = left.iter().zip(right).take_while(|(a, b)| a == b).count();
    if diff >= min {
        return right[..(diff + 1).min(right.len())].to_vec();
    }
    let lb = left[diff];
    if lb < 0xff && lb + 1 < right[diff] {
        let mut m = left[..diff].to_vec();
        m.push(lb + 1);
        m
    } else {
        right[..diff + 1].to_vec()
    }
}
