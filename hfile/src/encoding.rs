//! Data block encodings: NONE (plain `KeyValue`s) and FAST_DIFF, byte-compatible with HBase.
//!
//! An encoded data block (`DATABLKE`) starts with the encoding id (u16) and the size the
//! block would have unencoded (i32), followed by the encoded cells.

use crate::cell::{common_prefix_len, parse_key, same_bytes, CellRef};
use crate::varint::{be_i32, read_compressed_int, read_vlong, write_compressed_int, write_vlong};

/// A data block encoding, with HBase's id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum DataBlockEncoding {
    /// Cells stored as plain `KeyValue`s.
    #[default]
    None,
    /// HBase's FAST_DIFF prefix/delta encoding.
    FastDiff,
}

impl DataBlockEncoding {
    /// The id HBase writes at the start of encoded blocks.
    pub fn id(self) -> u16 {
        match self {
            DataBlockEncoding::None => 0,
            DataBlockEncoding::FastDiff => 4,
        }
    }

    /// The name stored in FileInfo under `DATA_BLOCK_ENCODING`.
    pub fn name(self) -> &'static str {
        match self {
            DataBlockEncoding::None => "NONE",
            DataBlockEncoding::FastDiff => "FAST_DIFF",
        }
    }

    /// Parses an id; `Err(name)` for encodings HBase has but Basalt does not read.
    pub fn from_id(id: u16) -> Result<Self, String> {
        match id {
            0 => Ok(DataBlockEncoding::None),
            4 => Ok(DataBlockEncoding::FastDiff),
            2 => Err("PREFIX".into()),
            3 => Err("DIFF".into()),
            6 => Err("PREFIX_TREE".into()),
            7 => Err("ROW_INDEX_V1".into()),
            n => Err(format!("unknown encoding id {n}")),
        }
    }

    /// Parses a name, case-insensitively (`none`, `fast_diff`).
    pub fn parse(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "none" => Some(DataBlockEncoding::None),
            "fast_diff" | "fastdiff" => Some(DataBlockEncoding::FastDiff),
            _ => None,
        }
    }
}

/// What each cell of a data block carries besides key and value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CellFormat {
    /// A tags length (and tags) follows each value (HFile v3).
    pub tags: bool,
    /// A memstore timestamp / sequence id vlong follows each cell (`KEY_VALUE_VERSION` 1).
    pub mvcc: bool,
}

const FLAG_SAME_KEY_LENGTH: u8 = 1;
const FLAG_SAME_VALUE_LENGTH: u8 = 1 << 1;
const FLAG_SAME_TYPE: u8 = 1 << 2;
const FLAG_SAME_VALUE: u8 = 1 << 3;
const MASK_TIMESTAMP_LENGTH: u8 = (1 << 4) | (1 << 5) | (1 << 6);
const SHIFT_TIMESTAMP_LENGTH: u8 = 4;

/// One cell as a [`BlockEncoder`] takes it, with the key of the cell before.
#[derive(Clone, Copy, Debug)]
pub struct EncoderCell<'a> {
    /// Serialized `KeyValue` key.
    pub key: &'a [u8],
    /// Value.
    pub value: &'a [u8],
    /// Tags (HFile v3).
    pub tags: &'a [u8],
    /// Sequence id (memstore timestamp).
    pub seq_id: u64,
    /// The previous cell's key (any, or empty, for a block's first cell).
    pub prev_key: &'a [u8],
}

/// A `Put` whose key differs from the previous cell's only in its qualifier — the next
/// column of one imported record: same row, family, timestamp and type, no tags.
#[derive(Clone, Copy, Debug)]
pub struct SiblingCell<'a> {
    /// The key up to the qualifier (row length, row, family length, family).
    pub prefix: &'a [u8],
    /// Qualifier.
    pub qualifier: &'a [u8],
    /// Timestamp (big-endian) and type byte that end the key.
    pub suffix: &'a [u8; 9],
    /// Value.
    pub value: &'a [u8],
    /// Sequence id (memstore timestamp).
    pub seq_id: u64,
    /// The previous cell's qualifier.
    pub prev_qualifier: &'a [u8],
}

/// Builds the body of one data block, cell by cell.
pub struct BlockEncoder {
    encoding: DataBlockEncoding,
    format: CellFormat,
    /// Where the previous cell's value is in the block (FAST_DIFF; a value equal to its
    /// predecessor is not written again, so this may name an earlier cell's copy).
    prev_value: std::ops::Range<usize>,
    /// Bytes the block would take unencoded.
    unencoded_size: usize,
    cells: usize,
}

impl BlockEncoder {
    /// A new encoder for blocks of the given encoding and cell format.
    pub fn new(encoding: DataBlockEncoding, format: CellFormat) -> Self {
        BlockEncoder {
            encoding,
            format,
            prev_value: 0..0,
            unencoded_size: 0,
            cells: 0,
        }
    }

    /// Starts a new block in `out` (cleared first).
    pub fn start(&mut self, out: &mut Vec<u8>) {
        out.clear();
        self.cells = 0;
        self.prev_value = 0..0;
        self.unencoded_size = 0;
        if self.encoding != DataBlockEncoding::None {
            out.extend_from_slice(&self.encoding.id().to_be_bytes());
            out.extend_from_slice(&0i32.to_be_bytes());
        }
    }

    /// Number of cells in the current block.
    pub fn cells(&self) -> usize {
        self.cells
    }

    /// Size the current block would have unencoded (what HBase compares to the block size).
    pub fn unencoded_size(&self) -> usize {
        self.unencoded_size
    }

    /// Appends one cell to the block in `out`.
    pub fn add(&mut self, cell: EncoderCell<'_>, out: &mut Vec<u8>) {
        let EncoderCell {
            key, value, tags, ..
        } = cell;
        let klen = key.len();
        match self.encoding {
            DataBlockEncoding::None => {
                out.extend_from_slice(&(klen as u32).to_be_bytes());
                out.extend_from_slice(&(value.len() as u32).to_be_bytes());
                out.extend_from_slice(key);
                out.extend_from_slice(value);
                if self.format.tags {
                    out.extend_from_slice(&(tags.len() as u16).to_be_bytes());
                    out.extend_from_slice(tags);
                }
            }
            DataBlockEncoding::FastDiff => {
                self.fast_diff_cell(&cell, out);
                if self.format.tags {
                    write_compressed_int(out, tags.len() as u32);
                    out.extend_from_slice(tags);
                }
            }
        }
        self.end_cell(klen, value.len(), tags.len(), cell.seq_id, out);
    }

    /// Appends a [`SiblingCell`]: the same bytes [`BlockEncoder::add`] would write for its
    /// full key, without building or comparing that key (but for a block's first cell,
    /// which has no predecessor to share with).
    pub fn add_sibling(&mut self, cell: SiblingCell<'_>, out: &mut Vec<u8>) {
        let SiblingCell {
            prefix,
            qualifier,
            suffix,
            value,
            ..
        } = cell;
        if self.cells == 0 {
            let key = [prefix, qualifier, suffix].concat();
            let first = EncoderCell {
                key: &key,
                value,
                tags: &[],
                seq_id: cell.seq_id,
                prev_key: &[],
            };
            return self.add(first, out);
        }
        let klen = prefix.len() + qualifier.len() + suffix.len();
        match self.encoding {
            DataBlockEncoding::None => {
                out.extend_from_slice(&(klen as u32).to_be_bytes());
                out.extend_from_slice(&(value.len() as u32).to_be_bytes());
                out.extend_from_slice(prefix);
                out.extend_from_slice(qualifier);
                out.extend_from_slice(suffix);
                out.extend_from_slice(value);
                if self.format.tags {
                    out.extend_from_slice(&[0, 0]);
                }
            }
            DataBlockEncoding::FastDiff => {
                // Same type, and all of the timestamp shared (FAST_DIFF shares at most 7 bytes).
                let mut flag = FLAG_SAME_TYPE | (7 << SHIFT_TIMESTAMP_LENGTH);
                if qualifier.len() == cell.prev_qualifier.len() {
                    flag |= FLAG_SAME_KEY_LENGTH;
                }
                flag |= self.value_flags(value, out);
                out.push(flag);
                if flag & FLAG_SAME_KEY_LENGTH == 0 {
                    write_compressed_int(out, klen as u32);
                }
                if flag & FLAG_SAME_VALUE_LENGTH == 0 {
                    write_compressed_int(out, value.len() as u32);
                }
                let shared = common_prefix_len(cell.prev_qualifier, qualifier);
                write_compressed_int(out, (prefix.len() + shared) as u32);
                out.extend_from_slice(&qualifier[shared..]);
                out.push(suffix[7]);
                self.push_value(flag, value, out);
                if self.format.tags {
                    out.push(0);
                }
            }
        }
        self.end_cell(klen, value.len(), 0, cell.seq_id, out);
    }

    /// Ends a cell of `klen` key, `vlen` value and `tags_len` tag bytes: writes its sequence
    /// id if the format has one and counts the cell and the size it would have unencoded.
    fn end_cell(
        &mut self,
        klen: usize,
        vlen: usize,
        tags_len: usize,
        seq_id: u64,
        out: &mut Vec<u8>,
    ) {
        let mut unencoded = 8 + klen + vlen;
        if self.format.tags {
            unencoded += 2 + tags_len;
        }
        if self.format.mvcc {
            let at = out.len();
            write_vlong(out, seq_id as i64);
            unencoded += out.len() - at;
        }
        self.unencoded_size += unencoded;
        self.cells += 1;
    }

    /// FAST_DIFF's value flags for `value` against the previous cell's value in `out`.
    fn value_flags(&self, value: &[u8], out: &[u8]) -> u8 {
        let prev = out.get(self.prev_value.clone()).unwrap_or_default();
        if value.len() != prev.len() {
            0
        } else if same_bytes(value, prev) {
            FLAG_SAME_VALUE_LENGTH | FLAG_SAME_VALUE
        } else {
            FLAG_SAME_VALUE_LENGTH
        }
    }

    /// Writes `value` unless `flag` says it repeats the previous one, and notes where it is.
    fn push_value(&mut self, flag: u8, value: &[u8], out: &mut Vec<u8>) {
        if flag & FLAG_SAME_VALUE == 0 {
            self.prev_value = out.len()..out.len() + value.len();
            out.extend_from_slice(value);
        }
    }

    fn fast_diff_cell(&mut self, cell: &EncoderCell<'_>, out: &mut Vec<u8>) {
        let EncoderCell {
            key,
            value,
            prev_key: prev,
            ..
        } = *cell;
        let klen = key.len();
        let vlen = value.len();
        if self.cells == 0 {
            out.push(0);
            write_compressed_int(out, klen as u32);
            write_compressed_int(out, vlen as u32);
            write_compressed_int(out, 0);
            out.extend_from_slice(key);
            self.prev_value = out.len()..out.len() + vlen;
            out.extend_from_slice(value);
            return;
        }
        let row_len = u16::from_be_bytes([key[0], key[1]]) as usize;
        let fam_len = key[2 + row_len] as usize;
        let common = common_prefix_in_flat_key(key, prev);
        let mut flag = 0u8;
        if klen == prev.len() {
            flag |= FLAG_SAME_KEY_LENGTH;
        }
        flag |= self.value_flags(value, out);
        let ts = &key[klen - 9..klen - 1];
        let prev_ts = &prev[prev.len() - 9..prev.len() - 1];
        if key[klen - 1] == prev[prev.len() - 1] {
            flag |= FLAG_SAME_TYPE;
        }
        let common_ts = ts
            .iter()
            .zip(prev_ts)
            .take(7)
            .take_while(|(a, b)| a == b)
            .count();
        flag |= (common_ts as u8) << SHIFT_TIMESTAMP_LENGTH;
        out.push(flag);
        if flag & FLAG_SAME_KEY_LENGTH == 0 {
            write_compressed_int(out, klen as u32);
        }
        if flag & FLAG_SAME_VALUE_LENGTH == 0 {
            write_compressed_int(out, vlen as u32);
        }
        write_compressed_int(out, common as u32);
        let qual_start = 2 + row_len + 1 + fam_len;
        let qual = &key[qual_start..klen - 9];
        if common < row_len + 2 {
            // Rows differ: the differing part of row length + row, then the whole qualifier.
            match common {
                0 => out.extend_from_slice(&key[..2 + row_len]),
                1 => out.extend_from_slice(&key[1..2 + row_len]),
                c => out.extend_from_slice(&key[c..2 + row_len]),
            }
            out.extend_from_slice(qual);
        } else {
            let common_qual = common - (row_len + 2) - (fam_len + 1);
            out.extend_from_slice(&qual[common_qual..]);
        }
        out.extend_from_slice(&ts[common_ts..]);
        if flag & FLAG_SAME_TYPE == 0 {
            out.push(key[klen - 1]);
        }
        self.push_value(flag, value, out);
    }

    /// Finishes the block: patches the unencoded size into encoded blocks.
    pub fn finish(&mut self, out: &mut [u8]) {
        if self.encoding != DataBlockEncoding::None && out.len() >= 6 {
            out[2..6].copy_from_slice(&(self.unencoded_size as i32).to_be_bytes());
        }
    }
}

/// HBase's `findCommonPrefixInFlatKey(c1, c2, bypassFamily = true, withTsType = false)`.
fn common_prefix_in_flat_key(a: &[u8], b: &[u8]) -> usize {
    if a[0..2] != b[0..2] {
        return if a[0] == b[0] { 1 } else { 0 };
    }
    let row_len = u16::from_be_bytes([a[0], a[1]]) as usize;
    let (a_row, b_row) = (&a[2..2 + row_len], &b[2..2 + row_len]);
    let row_common = if same_bytes(a_row, b_row) {
        row_len
    } else {
        common_prefix_len(a_row, b_row)
    };
    let mut common = 2 + row_common;
    if row_common != row_len {
        return common;
    }
    let a_fam = a[2 + row_len] as usize;
    let b_fam = b[2 + row_len] as usize;
    common += 1 + a_fam;
    let aq = &a[2 + row_len + 1 + a_fam..a.len() - 9];
    let bq = &b[2 + row_len + 1 + b_fam..b.len() - 9];
    common + common_prefix_len(aq, bq)
}

/// A forward cursor over the cells of one decoded data block.
#[derive(Debug)]
pub struct BlockCursor {
    encoding: DataBlockEncoding,
    format: CellFormat,
    /// Next read position.
    pos: usize,
    /// Where the current cell starts.
    cell_start: usize,
    /// Current key (copied for FAST_DIFF; range into the block for NONE).
    key_buf: Vec<u8>,
    key_range: (usize, usize),
    value_range: (usize, usize),
    tags_range: (usize, usize),
    seq_id: u64,
    /// Row and family lengths of the current key (parsed and checked once per cell).
    row_len: u16,
    family_len: u8,
    valid: bool,
    first: bool,
    // FAST_DIFF state
    key_len: usize,
    value_len: usize,
    /// Spare key buffer reused for the next FAST_DIFF key.
    spare: Vec<u8>,
}

/// Why a block's cells could not be decoded: position within the block and reason.
#[derive(Debug)]
pub struct DecodeError {
    /// Byte position within the block body.
    pub pos: usize,
    /// What was wrong.
    pub reason: &'static str,
}

impl BlockCursor {
    /// A cursor for blocks of this encoding and cell format (not yet positioned).
    pub fn new(encoding: DataBlockEncoding, format: CellFormat) -> Self {
        BlockCursor {
            encoding,
            format,
            pos: 0,
            cell_start: 0,
            key_buf: Vec::new(),
            key_range: (0, 0),
            value_range: (0, 0),
            tags_range: (0, 0),
            seq_id: 0,
            row_len: 0,
            family_len: 0,
            valid: false,
            first: true,
            key_len: 0,
            value_len: 0,
            spare: Vec::new(),
        }
    }

    /// Positions the cursor on the first cell of `block`; returns whether there is one.
    pub fn rewind(&mut self, block: &[u8]) -> Result<bool, DecodeError> {
        self.first = true;
        self.valid = false;
        self.pos = 0;
        if self.encoding != DataBlockEncoding::None {
            let id = crate::varint::be_u16(block, 0).ok_or(DecodeError {
                pos: 0,
                reason: "truncated encoding id",
            })?;
            if id != self.encoding.id() {
                return Err(DecodeError {
                    pos: 0,
                    reason: "block encoding id does not match the file's encoding",
                });
            }
            be_i32(block, 2).ok_or(DecodeError {
                pos: 2,
                reason: "truncated encoded block",
            })?;
            self.pos = 6;
        }
        self.advance(block)
    }

    /// True while the cursor is on a cell.
    pub fn valid(&self) -> bool {
        self.valid
    }

    /// Byte position in the block where the current cell starts (meaningful while valid).
    pub fn cell_start(&self) -> usize {
        self.cell_start
    }

    /// Positions the cursor on the cell starting at byte `pos` of `block` (encoding NONE
    /// only, where cells stand alone); `pos` at or past the end leaves it on no cell.
    /// Returns whether it is on a cell. `pos` must be a cell start, such as one recorded by
    /// [`cell_start`](Self::cell_start) for this block; anything else decodes as garbage
    /// and gives an error or a wrong cell, never a panic.
    pub fn seek_to(&mut self, block: &[u8], pos: usize) -> Result<bool, DecodeError> {
        if self.encoding != DataBlockEncoding::None {
            self.valid = false;
            return Err(DecodeError {
                pos,
                reason: "cells of an encoded block cannot be read from the middle",
            });
        }
        self.first = false;
        self.pos = pos;
        self.advance(block)
    }

    /// The current cell (the cursor must be valid and `block` the block it was rewound on).
    #[inline]
    pub fn current<'a>(&'a self, block: &'a [u8]) -> Option<CellRef<'a>> {
        if !self.valid {
            return None;
        }
        let key = match self.encoding {
            DataBlockEncoding::None => &block[self.key_range.0..self.key_range.1],
            DataBlockEncoding::FastDiff => &self.key_buf,
        };
        Some(CellRef::parsed(
            key,
            &block[self.value_range.0..self.value_range.1],
            &block[self.tags_range.0..self.tags_range.1],
            self.seq_id,
            (self.row_len, self.family_len),
        ))
    }

    /// The current cell's key and sequence id (0 if the file has none), without building a
    /// [`CellRef`]; `None` if the cursor is not on a cell.
    #[inline]
    pub fn current_key<'a>(&'a self, block: &'a [u8]) -> Option<(&'a [u8], u64)> {
        self.valid.then(|| (self.key(block), self.seq_id))
    }

    /// The current cell's row key; `None` if the cursor is not on a cell.
    #[inline]
    pub fn current_row<'a>(&'a self, block: &'a [u8]) -> Option<&'a [u8]> {
        if !self.valid {
            return None;
        }
        // Decoding checked that the key holds its row.
        self.key(block).get(2..2 + self.row_len as usize)
    }

    /// The current key.
    #[inline]
    pub fn key<'a>(&'a self, block: &'a [u8]) -> &'a [u8] {
        match self.encoding {
            DataBlockEncoding::None => &block[self.key_range.0..self.key_range.1],
            DataBlockEncoding::FastDiff => &self.key_buf,
        }
    }

    /// Moves to the next cell; returns whether there is one.
    pub fn advance(&mut self, block: &[u8]) -> Result<bool, DecodeError> {
        if self.pos >= block.len() {
            self.valid = false;
            return Ok(false);
        }
        let start = self.pos;
        // Not on a cell until this one is fully decoded: an error below must not leave
        // `current` pointing at ranges of a half-decoded cell.
        self.valid = false;
        let r = match self.encoding {
            DataBlockEncoding::None => self.decode_plain(block),
            DataBlockEncoding::FastDiff => self.decode_fast_diff(block),
        };
        match r {
            Some(()) => {}
            None => {
                self.valid = false;
                return Err(DecodeError {
                    pos: start,
                    reason: "malformed cell",
                });
            }
        }
        if self.format.tags && self.encoding == DataBlockEncoding::None {
            let tl = crate::varint::be_u16(block, self.pos).ok_or(DecodeError {
                pos: self.pos,
                reason: "truncated tags length",
            })? as usize;
            self.pos += 2;
            self.tags_range = (self.pos, self.pos + tl);
            self.pos += tl;
        } else if self.format.tags {
            let tl = read_compressed_int(block, &mut self.pos).ok_or(DecodeError {
                pos: self.pos,
                reason: "truncated tags length",
            })? as usize;
            self.tags_range = (self.pos, self.pos + tl);
            self.pos += tl;
        } else {
            self.tags_range = (0, 0);
        }
        if self.format.mvcc {
            let v = read_vlong(block, &mut self.pos).ok_or(DecodeError {
                pos: self.pos,
                reason: "truncated memstore timestamp",
            })?;
            self.seq_id = v as u64;
        } else {
            self.seq_id = 0;
        }
        if self.pos > block.len() {
            self.valid = false;
            return Err(DecodeError {
                pos: start,
                reason: "cell runs past the end of the block",
            });
        }
        let Some((row_len, family_len)) = parse_key(self.key(block)) else {
            self.valid = false;
            return Err(DecodeError {
                pos: start,
                reason: "malformed key",
            });
        };
        (self.row_len, self.family_len) = (row_len, family_len);
        self.valid = true;
        self.first = false;
        self.cell_start = start;
        Ok(true)
    }

    fn decode_plain(&mut self, block: &[u8]) -> Option<()> {
        let klen = usize::try_from(be_i32(block, self.pos)?).ok()?;
        let vlen = usize::try_from(be_i32(block, self.pos + 4)?).ok()?;
        let kstart = self.pos + 8;
        let vstart = kstart.checked_add(klen)?;
        let vend = vstart.checked_add(vlen)?;
        if vend > block.len() {
            return None;
        }
        self.key_range = (kstart, vstart);
        self.value_range = (vstart, vend);
        self.pos = vend;
        Some(())
    }

    fn decode_fast_diff(&mut self, block: &[u8]) -> Option<()> {
        let take = |pos: &mut usize, n: usize| -> Option<(usize, usize)> {
            let end = pos.checked_add(n)?;
            if end > block.len() {
                return None;
            }
            let r = (*pos, end);
            *pos = end;
            Some(r)
        };
        let flag = *block.get(self.pos)?;
        self.pos += 1;
        if flag & FLAG_SAME_KEY_LENGTH == 0 || self.first {
            self.key_len = read_compressed_int(block, &mut self.pos)? as usize;
        }
        if flag & FLAG_SAME_VALUE_LENGTH == 0 || self.first {
            self.value_len = read_compressed_int(block, &mut self.pos)? as usize;
        }
        let common = read_compressed_int(block, &mut self.pos)? as usize;
        let klen = self.key_len;
        if klen < 12 {
            return None;
        }
        if self.first {
            if common != 0 {
                return None;
            }
            let (s, e) = take(&mut self.pos, klen - 9)?;
            self.key_buf.clear();
            self.key_buf.extend_from_slice(&block[s..e]);
            // The timestamp and type follow through the common path below.
            let (s, e) = take(&mut self.pos, 8)?;
            self.key_buf.extend_from_slice(&block[s..e]);
            let (s, _) = take(&mut self.pos, 1)?;
            self.key_buf.push(block[s]);
        } else {
            let prev = std::mem::take(&mut self.key_buf);
            if prev.len() < 12 || common > prev.len() - 9 {
                return None;
            }
            let prev_row_ws = 2 + u16::from_be_bytes([prev[0], prev[1]]) as usize;
            let fam_ws = 1 + *prev.get(prev_row_ws)? as usize;
            let mut key = std::mem::take(&mut self.spare);
            key.clear();
            key.extend_from_slice(&prev[..common]);
            if common < 2 {
                let (s, e) = take(&mut self.pos, 2 - common)?;
                key.extend_from_slice(&block[s..e]);
                let row_len = u16::from_be_bytes([key[0], key[1]]) as usize;
                let (s, e) = take(&mut self.pos, row_len)?;
                key.extend_from_slice(&block[s..e]);
                key.extend_from_slice(prev.get(prev_row_ws..prev_row_ws + fam_ws)?);
                let qlen = klen.checked_sub(2 + row_len + fam_ws + 9)?;
                let (s, e) = take(&mut self.pos, qlen)?;
                key.extend_from_slice(&block[s..e]);
            } else if common < prev_row_ws {
                let (s, e) = take(&mut self.pos, prev_row_ws - common)?;
                key.extend_from_slice(&block[s..e]);
                key.extend_from_slice(prev.get(prev_row_ws..prev_row_ws + fam_ws)?);
                let qlen = klen.checked_sub(prev_row_ws + fam_ws + 9)?;
                let (s, e) = take(&mut self.pos, qlen)?;
                key.extend_from_slice(&block[s..e]);
            } else {
                let rest = (klen - 9).checked_sub(common)?;
                let (s, e) = take(&mut self.pos, rest)?;
                key.extend_from_slice(&block[s..e]);
            }
            if key.len() != klen - 9 {
                return None;
            }
            let common_ts = ((flag & MASK_TIMESTAMP_LENGTH) >> SHIFT_TIMESTAMP_LENGTH) as usize;
            let prev_ts = &prev[prev.len() - 9..prev.len() - 1];
            key.extend_from_slice(&prev_ts[..common_ts]);
            let (s, e) = take(&mut self.pos, 8 - common_ts)?;
            key.extend_from_slice(&block[s..e]);
            if flag & FLAG_SAME_TYPE == 0 {
                let (s, _) = take(&mut self.pos, 1)?;
                key.push(block[s]);
            } else {
                key.push(prev[prev.len() - 1]);
            }
            self.key_buf = key;
            self.spare = prev;
        }
        if self.first || flag & FLAG_SAME_VALUE == 0 {
            self.value_range = take(&mut self.pos, self.value_len)?;
        } else if self.value_range.1 - self.value_range.0 != self.value_len {
            return None;
        }
        Some(())
    }
}
