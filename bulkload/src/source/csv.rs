//! CSV and TSV files through the `csv` crate: RFC 4180 quoting (embedded separators, quotes
//! and newlines), a leading UTF-8 byte-order mark, LF/CRLF line ends. TSV is ImportTsv's
//! format: tab separated, no quoting.
//!
//! A large file is read by several threads at once, each a [`Piece`] that [`split`] cut at
//! a record boundary; [`read`] reports where a piece's last record ended, so that a cut
//! that was not a boundary after all (a file whose quoting breaks RFC 4180) is noticed.

use std::cell::RefCell;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::rc::Rc;

use csv::ByteRecord;

use super::{Format, InputFile, ReadCtx, SourceOptions};
use crate::cells::Fields;
use crate::error::{Error, Result};

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Bytes read so far, kept from `base` on, so a record's original text can be cut out.
#[derive(Default)]
struct Recording {
    buf: Vec<u8>,
    base: u64,
}

/// A reader that copies everything it reads into a shared [`Recording`].
struct Recorder<R> {
    inner: R,
    rec: Option<Rc<RefCell<Recording>>>,
}

impl<R: Read> Read for Recorder<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(out)?;
        if let Some(rec) = &self.rec {
            rec.borrow_mut().buf.extend_from_slice(&out[..n]);
        }
        Ok(n)
    }
}

/// Opens `file` at byte `start`, skipping a byte-order mark at the very beginning; returns
/// the reader and the byte it starts at.
fn open(file: &InputFile, start: u64) -> Result<(BufReader<File>, u64)> {
    let mut f = File::open(&file.path).map_err(|e| Error::io(&file.path, e))?;
    if start > 0 {
        f.seek(SeekFrom::Start(start))
            .map_err(|e| Error::io(&file.path, e))?;
    }
    let mut r = BufReader::with_capacity(256 * 1024, f);
    let head = r.fill_buf().map_err(|e| Error::io(&file.path, e))?;
    if start == 0 && head.starts_with(UTF8_BOM) {
        r.consume(UTF8_BOM.len());
        return Ok((r, UTF8_BOM.len() as u64));
    }
    Ok((r, start))
}

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

fn builder(file: &InputFile, opts: &SourceOptions) -> csv::ReaderBuilder {
    let mut b = csv::ReaderBuilder::new();
    b.has_headers(false).flexible(true);
    match file.format {
        Format::Tsv => {
            b.delimiter(opts.separator.unwrap_or(b'\t')).quoting(false);
        }
        _ => {
            b.delimiter(opts.separator.unwrap_or(b','));
        }
    }
    b
}

fn csv_error(file: &InputFile, e: csv::Error) -> Error {
    let line = e.position().map(|p| p.line()).unwrap_or(0);
    match e.into_kind() {
        csv::ErrorKind::Io(io) => Error::io(&file.path, io),
        other => Error::BadInput {
            file: file.path.clone(),
            reason: format!("line {line}: {other:?}"),
        },
    }
}

/// The header line's field names.
pub fn header(file: &InputFile, opts: &SourceOptions) -> Result<Vec<String>> {
    let mut rdr = builder(file, opts).from_reader(open(file, 0)?.0);
    let mut rec = ByteRecord::new();
    if !rdr
        .read_byte_record(&mut rec)
        .map_err(|e| csv_error(file, e))?
    {
        return Err(Error::BadInput {
            file: file.path.clone(),
            reason: "empty file: no header line".into(),
        });
    }
    rec.iter()
        .enumerate()
        .map(|(i, f)| {
            String::from_utf8(f.to_vec()).map_err(|_| Error::BadLine {
                file: file.path.clone(),
                line: 1,
                column: i + 1,
                reason: "header field is not UTF-8".into(),
            })
        })
        .collect()
}

struct RecordFields<'a>(&'a ByteRecord);

impl Fields for RecordFields<'_> {
    fn count(&self) -> usize {
        self.0.len()
    }
    fn append(&mut self, i: usize, out: &mut Vec<u8>) -> std::result::Result<bool, String> {
        match self.0.get(i) {
            Some(f) => {
                out.extend_from_slice(f);
                Ok(true)
            }
            None => Ok(false),
        }
    }
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
    let recording = ctx
        .keep_text
        .then(|| Rc::new(RefCell::new(Recording::default())));
    let (inner, base) = open(file, piece.start)?;
    let reader = Recorder {
        inner,
        rec: recording.clone(),
    };
    let mut rdr = builder(file, opts)
        .buffer_capacity(64 * 1024)
        .from_reader(reader);
    let mut rec = ByteRecord::new();
    let mut first = piece.start == 0;
    let mut n: u64 = 0;
    let len = piece.end.saturating_sub(base);
    let last = piece.end >= file.size;
    ctx.start_at(piece.start);
    let stopped = loop {
        // Between records: stop at the piece's end. The piece was cut right after a line
        // end, so one byte short of it is that line end, a terminator still unread (CRLF).
        let at = rdr.position().byte();
        if !last && at + 1 >= len {
            break base + at.max(len);
        }
        if !rdr
            .read_byte_record(&mut rec)
            .map_err(|e| csv_error(file, e))?
        {
            break piece.end.max(base + rdr.position().byte());
        }
        let start = rec.position().map(|p| p.byte()).unwrap_or(0);
        let end = rdr.position().byte();
        let line = piece.lines_before + rec.position().map(|p| p.line()).unwrap_or(0);
        if std::mem::take(&mut first) && opts.header {
            cut(&recording, end);
            continue;
        }
        let text = || -> Vec<u8> {
            let Some(r) = &recording else {
                return Vec::new();
            };
            let r = r.borrow();
            let s = start.saturating_sub(r.base) as usize;
            let e = (end.saturating_sub(r.base) as usize).min(r.buf.len());
            let mut t = r.buf.get(s..e).unwrap_or_default().to_vec();
            while t.last().is_some_and(|&b| b == b'\n' || b == b'\r') {
                t.pop();
            }
            t
        };
        ctx.record(&mut RecordFields(&rec), line, &text)?;
        cut(&recording, end);
        n += 1;
        if n.is_multiple_of(4096) {
            ctx.progress(base + end);
            if ctx.cancelled() {
                return Ok(piece.end);
            }
        }
    };
    ctx.progress(piece.end);
    ctx.flush()?;
    Ok(stopped)
}

/// Forgets recorded bytes before `pos`.
fn cut(recording: &Option<Rc<RefCell<Recording>>>, pos: u64) {
    if let Some(r) = recording {
        let mut r = r.borrow_mut();
        let n = (pos.saturating_sub(r.base) as usize).min(r.buf.len());
        r.buf.drain(..n);
        r.base += n as u64;
    }
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
}
