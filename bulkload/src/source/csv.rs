//! CSV and TSV files: RFC 4180 quoting (embedded separators, quotes and newlines), a
//! leading UTF-8 byte-order mark, LF/CRLF line ends, blank lines skipped. TSV is
//! ImportTsv's format: tab separated, no quoting.
//!
//! Most lines of a real file need no state machine: a line without a quote character (and
//! without a carriage return before its end) is one record, split where the separator is.
//! Any other record is parsed by `csv_core`'s RFC 4180 reader, which the `csv` crate is
//! built on.
//!
//! A large file is read by several threads at once, each a [`Piece`] that [`split`] cut at
//! a record boundary; [`read`] reports where a piece's last record ended, so that a cut
//! that was not a boundary after all (a file whose quoting breaks RFC 4180) is noticed.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;

use csv_core::ReadRecordResult;
use memchr::{memchr, memchr2, memchr_iter};

use super::{Format, InputFile, ReadCtx, SourceOptions};
use crate::cells::Fields;
use crate::error::{Error, Result};

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// A stretch of a CSV/TSV file that begins at a record boundary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Piece {
    /// Its first byte.
    pub start: u64,
    /// One past its last byte: the next piece's start, or the file's size.
    pub end: u64,
    /// Line ends before `start` (the piece's line numbers continue from there).
    pub lines_before: u64,
}

impl Piece {
    /// The whole of `file`.
    pub fn whole(file: &InputFile) -> Piece {
        Piece {
            start: 0,
            end: file.size,
            lines_before: 0,
        }
    }
}

/// Cuts `file` into at most `n` pieces of about equal size, each starting right after a
/// line end that lies outside quotes: after an even number of quote characters, which in
/// RFC 4180 CSV come in pairs within a field (TSV has no quoting). The file is read once,
/// counting quotes and line ends in bulk and looking at single bytes only near the cuts.
pub fn split(file: &InputFile, n: usize) -> Result<Vec<Piece>> {
    let quoting = file.format != Format::Tsv;
    let size = file.size;
    let n = n.max(1) as u64;
    let target = |k: u64| size / n * k;
    let mut f = File::open(&file.path).map_err(|e| Error::io(&file.path, e))?;
    let mut buf = vec![0u8; 4 << 20];
    let mut pieces = vec![Piece::whole(file)];
    let (mut pos, mut k) = (0u64, 1u64);
    let (mut odd_quotes, mut lines) = (false, 0u64);
    loop {
        let len = f.read(&mut buf).map_err(|e| Error::io(&file.path, e))?;
        if len == 0 {
            break;
        }
        let block = &buf[..len];
        let mut i = 0;
        while i < len {
            let next_cut = if k < n { target(k) } else { u64::MAX };
            let bulk_end = next_cut.saturating_sub(pos).min(len as u64) as usize;
            if bulk_end > i {
                let bytes = &block[i..bulk_end];
                lines += count_byte(bytes, b'\n');
                if quoting {
                    odd_quotes ^= count_byte(bytes, b'"') % 2 == 1;
                }
                i = bulk_end;
                continue;
            }
            // Past a cut point: find the next line end outside quotes.
            let b = block[i];
            i += 1;
            if quoting && b == b'"' {
                odd_quotes = !odd_quotes;
            } else if b == b'\n' {
                lines += 1;
                let start = pos + i as u64;
                if !odd_quotes && start < size {
                    pieces.push(Piece {
                        start,
                        end: size,
                        lines_before: lines,
                    });
                    while k < n && target(k) < start {
                        k += 1;
                    }
                }
            }
        }
        pos += len as u64;
    }
    for i in 1..pieces.len() {
        pieces[i - 1].end = pieces[i].start;
    }
    Ok(pieces)
}

/// Bytes read from the file at a time (the buffer grows for a longer record).
const READ_SIZE: usize = 1 << 20;

/// The records of a CSV/TSV file from some byte on.
struct Records {
    file: File,
    path: PathBuf,
    /// Bytes `lo..hi` of `buf` are read and not yet consumed.
    buf: Vec<u8>,
    lo: usize,
    hi: usize,
    /// File offset of `buf[0]`.
    base: u64,
    eof: bool,
    separator: u8,
    quoting: bool,
    core: csv_core::Reader,
    /// A `csv_core` record's unescaped fields.
    out: Vec<u8>,
    /// Field ends (in the line, or in `out`).
    ends: Vec<usize>,
    /// Line number of the next byte (1-based, counted from line `lines_before + 1`).
    line: u64,
}

/// One record.
struct Record<'a> {
    fields: Split<'a>,
    /// Its first line's number.
    line: u64,
    /// File offset one past its last byte (its terminator included, when consumed).
    end: u64,
    /// Its original text, without the line end.
    text: &'a [u8],
}

/// A record's fields: field `i` ends at `ends[i]` of `bytes` and the next one starts `gap`
/// bytes later (1 in a line split at separators, 0 in `csv_core`'s output).
struct Split<'a> {
    bytes: &'a [u8],
    ends: &'a [usize],
    gap: usize,
}

impl Split<'_> {
    fn get(&self, i: usize) -> Option<&[u8]> {
        let end = *self.ends.get(i)?;
        let start = match i {
            0 => 0,
            _ => self.ends[i - 1] + self.gap,
        };
        self.bytes.get(start..end)
    }
}

impl Fields for Split<'_> {
    fn count(&self) -> usize {
        self.ends.len()
    }
    fn append(&mut self, i: usize, out: &mut Vec<u8>) -> std::result::Result<bool, String> {
        match self.get(i) {
            Some(f) => {
                out.extend_from_slice(f);
                Ok(true)
            }
            None => Ok(false),
        }
    }
}

impl Records {
    /// Reads `file` from byte `start` (skipping a byte-order mark at the very beginning);
    /// the first line there is line `lines_before + 1`; reads `buf_size` bytes at a time.
    fn open(
        file: &InputFile,
        opts: &SourceOptions,
        start: u64,
        lines_before: u64,
        buf_size: usize,
    ) -> Result<Records> {
        let mut f = File::open(&file.path).map_err(|e| Error::io(&file.path, e))?;
        if start > 0 {
            f.seek(SeekFrom::Start(start))
                .map_err(|e| Error::io(&file.path, e))?;
        }
        let quoting = file.format != Format::Tsv;
        let separator = opts.separator.unwrap_or(if quoting { b',' } else { b'\t' });
        let core = csv_core::ReaderBuilder::new()
            .delimiter(separator)
            .quoting(quoting)
            .build();
        let mut r = Records {
            file: f,
            path: file.path.clone(),
            buf: vec![0; buf_size.max(1)],
            lo: 0,
            hi: 0,
            base: start,
            eof: false,
            separator,
            quoting,
            core,
            out: vec![0; 1024],
            ends: vec![0; 64],
            line: lines_before + 1,
        };
        if start == 0 {
            while r.hi < UTF8_BOM.len() && r.fill()? {}
            if r.buf[..r.hi].starts_with(UTF8_BOM) {
                r.lo = UTF8_BOM.len();
            }
        }
        Ok(r)
    }

    /// File offset of the next unread byte.
    fn position(&self) -> u64 {
        self.base + self.lo as u64
    }

    /// Reads more bytes after `hi`, first moving the unconsumed ones to the front (and
    /// growing the buffer when they fill it); false at the end of the file.
    fn fill(&mut self) -> Result<bool> {
        if self.eof {
            return Ok(false);
        }
        if self.lo > 0 {
            self.buf.copy_within(self.lo..self.hi, 0);
            self.base += self.lo as u64;
            self.hi -= self.lo;
            self.lo = 0;
        }
        if self.hi == self.buf.len() {
            self.buf.resize(self.buf.len() * 2, 0);
        }
        let n = loop {
            match self.file.read(&mut self.buf[self.hi..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::io(&self.path, e)),
            }
        };
        self.hi += n;
        self.eof = n == 0;
        Ok(n > 0)
    }

    /// The next record, or `None` at the end of the file.
    fn next(&mut self) -> Result<Option<Record<'_>>> {
        // Blank lines (and the LF of a CRLF the state machine stopped before) are skipped.
        loop {
            if self.lo == self.hi && !self.fill()? {
                return Ok(None);
            }
            match self.buf[self.lo] {
                b'\n' => self.line += 1,
                b'\r' => {}
                _ => break,
            }
            self.lo += 1;
        }
        let (line_end, next) = loop {
            match memchr(b'\n', &self.buf[self.lo..self.hi]) {
                Some(i) => break (self.lo + i, self.lo + i + 1),
                None if self.eof => break (self.hi, self.hi),
                None => {
                    self.fill()?;
                }
            }
        };
        let start = self.lo;
        let content_end = if line_end > start && self.buf[line_end - 1] == b'\r' {
            line_end - 1
        } else {
            line_end
        };
        let content = &self.buf[start..content_end];
        let needs_core = if self.quoting {
            memchr2(b'"', b'\r', content).is_some()
        } else {
            memchr(b'\r', content).is_some()
        };
        if needs_core {
            return self.next_by_core();
        }
        self.ends.clear();
        self.ends.extend(memchr_iter(self.separator, content));
        self.ends.push(content.len());
        let line = self.line;
        self.line += u64::from(next > line_end);
        self.lo = next;
        Ok(Some(Record {
            fields: Split {
                bytes: &self.buf[start..content_end],
                ends: &self.ends,
                gap: 1,
            },
            line,
            end: self.base + next as u64,
            text: &self.buf[start..content_end],
        }))
    }

    /// The next record through `csv_core` (quotes, or a carriage return inside a line).
    fn next_by_core(&mut self) -> Result<Option<Record<'_>>> {
        let (mut used, mut nout, mut nend) = (0, 0, 0);
        loop {
            let input = &self.buf[self.lo + used..self.hi];
            let (res, nin, no, ne) =
                self.core
                    .read_record(input, &mut self.out[nout..], &mut self.ends[nend..]);
            used += nin;
            nout += no;
            nend += ne;
            match res {
                ReadRecordResult::InputEmpty => {
                    // At the end of the file, an empty input tells the reader so.
                    if !self.eof {
                        self.fill()?;
                    }
                }
                ReadRecordResult::OutputFull => {
                    let len = self.out.len() * 2;
                    self.out.resize(len, 0);
                }
                ReadRecordResult::OutputEndsFull => {
                    let len = self.ends.len() * 2;
                    self.ends.resize(len, 0);
                }
                ReadRecordResult::Record => break,
                ReadRecordResult::End => {
                    self.lo += used;
                    return Ok(None);
                }
            }
        }
        let start = self.lo;
        self.lo += used;
        let line = self.line;
        self.line += memchr_iter(b'\n', &self.buf[start..self.lo]).count() as u64;
        let mut text = &self.buf[start..self.lo];
        while let [rest @ .., b'\n' | b'\r'] = text {
            text = rest;
        }
        Ok(Some(Record {
            fields: Split {
                bytes: &self.out[..nout],
                ends: &self.ends[..nend],
                gap: 0,
            },
            line,
            end: self.position(),
            text,
        }))
    }
}

/// The header line's field names.
pub fn header(file: &InputFile, opts: &SourceOptions) -> Result<Vec<String>> {
    let mut records = Records::open(file, opts, 0, 0, READ_SIZE)?;
    let Some(rec) = records.next()? else {
        return Err(Error::BadInput {
            file: file.path.clone(),
            reason: "empty file: no header line".into(),
        });
    };
    (0..rec.fields.ends.len())
        .map(|i| {
            String::from_utf8(rec.fields.get(i).unwrap_or_default().to_vec()).map_err(|_| {
                Error::BadLine {
                    file: file.path.clone(),
                    line: rec.line,
                    column: i + 1,
                    reason: "header field is not UTF-8".into(),
                }
            })
        })
        .collect()
}

/// Occurrences of `needle` in `bytes`, counted 255 bytes at a time in byte-wide lanes
/// (which the compiler vectorizes; a `usize` count per byte does not).
fn count_byte(bytes: &[u8], needle: u8) -> u64 {
    bytes
        .chunks(255)
        .map(|c| u64::from(c.iter().fold(0u8, |n, &b| n + u8::from(b == needle))))
        .sum()
}

/// Reads every record of `piece` of a CSV/TSV file into `ctx`; returns where its last
/// record ended, which is `piece.end` unless the piece did not end at a record boundary.
pub fn read(
    file: &InputFile,
    opts: &SourceOptions,
    piece: Piece,
    ctx: &mut ReadCtx<'_>,
) -> Result<u64> {
    let mut records = Records::open(file, opts, piece.start, piece.lines_before, READ_SIZE)?;
    let mut first = piece.start == 0;
    let mut n: u64 = 0;
    let last = piece.end >= file.size;
    ctx.start_at(piece.start);
    let stopped = loop {
        // Between records: stop at the piece's end. The piece was cut right after a line
        // end, so one byte short of it is that line end, a terminator still unread (CRLF).
        let at = records.position();
        if !last && at + 1 >= piece.end {
            break at.max(piece.end);
        }
        let Some(rec) = records.next()? else {
            break piece.end.max(records.position());
        };
        if std::mem::take(&mut first) && opts.header {
            continue;
        }
        let (line, end, text) = (rec.line, rec.end, rec.text);
        let mut fields = rec.fields;
        ctx.record(&mut fields, line, &|| text.to_vec())?;
        n += 1;
        if n.is_multiple_of(4096) {
            ctx.progress(end);
            if ctx.cancelled() {
                return Ok(piece.end);
            }
        }
    };
    ctx.progress(piece.end);
    ctx.flush()?;
    Ok(stopped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_byte_counts_across_lane_chunks() {
        let bytes: Vec<u8> = (0..2000u32)
            .map(|i| if i % 3 == 0 { b'\n' } else { b'x' })
            .collect();
        for len in [0, 1, 254, 255, 256, 1000, 2000] {
            let want = bytes[..len].iter().filter(|&&b| b == b'\n').count() as u64;
            assert_eq!(count_byte(&bytes[..len], b'\n'), want, "{len}");
        }
        assert_eq!(count_byte(&[b'"'; 600], b'"'), 600);
    }

    /// Every record of `bytes` as (line, fields), read with a buffer of `buf_size` bytes.
    fn records(bytes: &[u8], format: Format, buf_size: usize) -> Vec<(u64, Vec<Vec<u8>>)> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in");
        std::fs::write(&path, bytes).unwrap();
        let file = InputFile {
            path,
            format,
            size: bytes.len() as u64,
            mtime_ms: 0,
        };
        let mut r = Records::open(&file, &SourceOptions::default(), 0, 0, buf_size).unwrap();
        let mut out = Vec::new();
        while let Some(rec) = r.next().unwrap() {
            let fields = (0..rec.fields.ends.len())
                .map(|i| rec.fields.get(i).unwrap().to_vec())
                .collect();
            out.push((rec.line, fields));
        }
        out
    }

    /// The `csv` crate's reading of `bytes`, as the import read files before.
    fn reference(bytes: &[u8], format: Format) -> Vec<(u64, Vec<Vec<u8>>)> {
        let mut b = ::csv::ReaderBuilder::new();
        b.has_headers(false).flexible(true);
        if format == Format::Tsv {
            b.delimiter(b'\t').quoting(false);
        }
        let input = bytes.strip_prefix(UTF8_BOM).unwrap_or(bytes);
        let mut rdr = b.from_reader(input);
        let mut rec = ::csv::ByteRecord::new();
        let mut out = Vec::new();
        while rdr.read_byte_record(&mut rec).unwrap() {
            // The crate gives the line where it began to look (before blank lines); the
            // import names the line the record is on.
            let mut at = rec.position().unwrap().byte() as usize;
            while input.get(at).is_some_and(|&b| b == b'\n' || b == b'\r') {
                at += 1;
            }
            let line = 1 + input[..at].iter().filter(|&&b| b == b'\n').count() as u64;
            out.push((line, rec.iter().map(|f| f.to_vec()).collect()));
        }
        out
    }

    /// Random files of quotes, separators, CRs and LFs read like the `csv` crate reads them
    /// (fields and line numbers), whatever the buffer size.
    #[test]
    fn records_match_the_csv_crate() {
        let alphabet = [b'a', b'b', b',', b'\t', b'"', b'\n', b'\r', b' '];
        let mut x = 12345u64;
        for case in 0..400 {
            let len = case % 120;
            let mut bytes: Vec<u8> = if case % 7 == 0 {
                UTF8_BOM.to_vec()
            } else {
                Vec::new()
            };
            for _ in 0..len {
                x = x
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                // Mostly plain text, so that plain lines and quoted records alternate.
                let k = (x >> 33) as usize % 16;
                bytes.push(if k < 8 {
                    alphabet[k]
                } else {
                    b'a' + (k as u8 - 8)
                });
            }
            for format in [Format::Csv, Format::Tsv] {
                let want = reference(&bytes, format);
                for buf_size in [1, 3, 16, 1 << 20] {
                    let got = records(&bytes, format, buf_size);
                    assert_eq!(
                        got,
                        want,
                        "{format:?}, buffer {buf_size}: {:?}",
                        String::from_utf8_lossy(&bytes)
                    );
                }
            }
        }
    }
}
