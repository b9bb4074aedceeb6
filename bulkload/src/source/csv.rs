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
use std::os::unix::fs::FileExt;
use std::path::PathBuf;

use csv_core::ReadRecordResult;
use memchr::{memchr, memchr2, memchr_iter};
use rayon::prelude::*;

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
/// RFC 4180 CSV come in pairs within a field (TSV has no quoting). The line ends and quote
/// characters before each cut are counted in bulk, the stretches between cuts in parallel
/// (on the current rayon pool); single bytes are looked at only from a cut to the line end
/// after it.
pub fn split(file: &InputFile, n: usize) -> Result<Vec<Piece>> {
    let quoting = file.format != Format::Tsv;
    let size = file.size;
    let n = n.max(1) as u64;
    let target = |k: u64| if k < n { size / n * k } else { size };
    let f = File::open(&file.path).map_err(|e| Error::io(&file.path, e))?;
    let counts = (0..n)
        .into_par_iter()
        .map(|k| count_range(&f, file, target(k)..target(k + 1)))
        .collect::<Result<Vec<Counts>>>()?;
    let mut pieces = vec![Piece::whole(file)];
    let mut before = Counts::default();
    for (k, stretch) in (1..n).zip(&counts) {
        before.lines += stretch.lines;
        before.quotes += stretch.quotes;
        let t = target(k);
        if pieces.last().is_some_and(|p| t < p.start) {
            // An earlier cut's record ran past this one.
            continue;
        }
        let odd_quotes = quoting && before.quotes % 2 == 1;
        match boundary_after(&f, file, t, odd_quotes, quoting)? {
            Some((start, lines)) if start < size => pieces.push(Piece {
                start,
                end: size,
                lines_before: before.lines + lines,
            }),
            _ => break,
        }
    }
    for i in 1..pieces.len() {
        pieces[i - 1].end = pieces[i].start;
    }
    Ok(pieces)
}

/// Line ends and quote characters in a stretch of a file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Counts {
    lines: u64,
    quotes: u64,
}

/// Bytes [`split`] reads at a time.
const SPLIT_READ: usize = 1 << 20;

/// [`Counts`] of bytes `range` of `file` (open as `f`).
fn count_range(f: &File, file: &InputFile, range: std::ops::Range<u64>) -> Result<Counts> {
    let mut buf = vec![0u8; SPLIT_READ.min((range.end - range.start) as usize)];
    let mut counts = Counts::default();
    let mut pos = range.start;
    while pos < range.end {
        let want = buf.len().min((range.end - pos) as usize);
        let len = f
            .read_at(&mut buf[..want], pos)
            .map_err(|e| Error::io(&file.path, e))?;
        if len == 0 {
            break;
        }
        let c = count_lines_and_quotes(&buf[..len]);
        counts.lines += c.lines;
        counts.quotes += c.quotes;
        pos += len as u64;
    }
    Ok(counts)
}

/// The first line end at or after byte `from` of `file` (open as `f`) that lies outside
/// quotes, given whether the quotes before `from` are odd: the byte after it and the line
/// ends from `from` up to it. `None` if the file ends first.
fn boundary_after(
    f: &File,
    file: &InputFile,
    from: u64,
    mut odd_quotes: bool,
    quoting: bool,
) -> Result<Option<(u64, u64)>> {
    let mut buf = vec![0u8; 64 << 10];
    let (mut pos, mut lines) = (from, 0u64);
    loop {
        let len = f
            .read_at(&mut buf, pos)
            .map_err(|e| Error::io(&file.path, e))?;
        if len == 0 {
            return Ok(None);
        }
        for (i, &b) in buf[..len].iter().enumerate() {
            if quoting && b == b'"' {
                odd_quotes = !odd_quotes;
            } else if b == b'\n' {
                lines += 1;
                if !odd_quotes {
                    return Ok(Some((pos + i as u64 + 1, lines)));
                }
            }
        }
        pos += len as u64;
    }
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

/// Line ends and quote characters in `bytes`, counted 255 bytes at a time in byte-wide
/// lanes (which the compiler vectorizes; a `usize` count per byte does not).
fn count_lines_and_quotes(bytes: &[u8]) -> Counts {
    let mut counts = Counts::default();
    for c in bytes.chunks(255) {
        let (lines, quotes) = c.iter().fold((0u8, 0u8), |(l, q), &b| {
            (l + u8::from(b == b'\n'), q + u8::from(b == b'"'))
        });
        counts.lines += u64::from(lines);
        counts.quotes += u64::from(quotes);
    }
    counts
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
    fn counts_lines_and_quotes_across_lane_chunks() {
        let bytes: Vec<u8> = (0..2000u32)
            .map(|i| match i % 5 {
                0 | 3 => b'\n',
                1 => b'"',
                _ => b'x',
            })
            .collect();
        for len in [0, 1, 254, 255, 256, 1000, 2000] {
            let count = |c: u8| bytes[..len].iter().filter(|&&b| b == c).count() as u64;
            let want = Counts {
                lines: count(b'\n'),
                quotes: count(b'"'),
            };
            assert_eq!(count_lines_and_quotes(&bytes[..len]), want, "{len}");
        }
        assert_eq!(count_lines_and_quotes(&[b'"'; 600]).quotes, 600);
    }

    /// The cuts [`split`] must make, found byte by byte: after the first line end outside
    /// quotes at or after each target, skipping targets an earlier cut passed.
    fn cuts_by_definition(bytes: &[u8], n: u64, quoting: bool) -> Vec<(u64, u64)> {
        let size = bytes.len() as u64;
        let target = |k: u64| size / n * k;
        let mut cuts = vec![(0, 0)];
        let (mut k, mut odd, mut lines) = (1, false, 0);
        for (i, &b) in bytes.iter().enumerate() {
            let searching = k < n && i as u64 >= target(k);
            if quoting && b == b'"' {
                odd = !odd;
            } else if b == b'\n' {
                lines += 1;
                let start = i as u64 + 1;
                if searching && !odd && start < size {
                    cuts.push((start, lines));
                    while k < n && target(k) < start {
                        k += 1;
                    }
                }
            }
        }
        cuts
    }

    /// Random text of line ends, quotes, separators and letters, cut into 1 to 12 pieces
    /// with and without quoting: the cuts of the definition, each piece ending where the
    /// next starts.
    #[test]
    fn split_cuts_where_a_byte_by_byte_scan_would() {
        let dir = tempfile::tempdir().unwrap();
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for case in 0..60 {
            let len = (next() % 3000) as usize;
            let bytes: Vec<u8> = (0..len)
                .map(|_| match next() % 16 {
                    0 => b'\n',
                    1 if case % 3 > 0 => b'"',
                    2 => b',',
                    _ => b'a',
                })
                .collect();
            let path = dir.path().join(format!("in{case}"));
            std::fs::write(&path, &bytes).unwrap();
            for format in [Format::Csv, Format::Tsv] {
                let file = InputFile {
                    path: path.clone(),
                    format,
                    size: len as u64,
                    mtime_ms: 0,
                };
                for n in 1..=12u64 {
                    let pieces = split(&file, n as usize).unwrap();
                    let got: Vec<(u64, u64)> =
                        pieces.iter().map(|p| (p.start, p.lines_before)).collect();
                    let want = cuts_by_definition(&bytes, n, format == Format::Csv);
                    assert_eq!(got, want, "case {case}, {format:?}, {n} pieces");
                    assert!(pieces.windows(2).all(|w| w[0].end == w[1].start));
                    assert_eq!(pieces.last().map(|p| p.end), Some(len as u64));
                }
            }
        }
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
