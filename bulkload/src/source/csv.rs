//! CSV and TSV files through the `csv` crate: RFC 4180 quoting (embedded separators, quotes
//! and newlines), a leading UTF-8 byte-order mark, LF/CRLF line ends. TSV is ImportTsv's
//! format: tab separated, no quoting.

use std::cell::RefCell;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
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

fn open(file: &InputFile) -> Result<BufReader<File>> {
    let f = File::open(&file.path).map_err(|e| Error::io(&file.path, e))?;
    let mut r = BufReader::with_capacity(256 * 1024, f);
    let head = r.fill_buf().map_err(|e| Error::io(&file.path, e))?;
    if head.starts_with(UTF8_BOM) {
        r.consume(UTF8_BOM.len());
    }
    Ok(r)
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
    let mut rdr = builder(file, opts).from_reader(open(file)?);
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

/// Reads every record of a CSV/TSV file into `ctx`.
pub fn read(file: &InputFile, opts: &SourceOptions, ctx: &mut ReadCtx<'_>) -> Result<()> {
    let recording = ctx
        .keep_text
        .then(|| Rc::new(RefCell::new(Recording::default())));
    let reader = Recorder {
        inner: open(file)?,
        rec: recording.clone(),
    };
    let mut rdr = builder(file, opts)
        .buffer_capacity(64 * 1024)
        .from_reader(reader);
    let mut rec = ByteRecord::new();
    let mut first = true;
    let mut n: u64 = 0;
    loop {
        if !rdr
            .read_byte_record(&mut rec)
            .map_err(|e| csv_error(file, e))?
        {
            break;
        }
        let start = rec.position().map(|p| p.byte()).unwrap_or(0);
        let end = rdr.position().byte();
        let line = rec.position().map(|p| p.line()).unwrap_or(0);
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
            ctx.progress(end);
            if ctx.cancelled() {
                return Ok(());
            }
        }
    }
    ctx.progress(file.size);
    ctx.flush()
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
