//! JSON lines: one object per line, fields mapped by name. Without `--columns`, the first
//! object's keys are the field names (its key order counts, so without a `rowkey` field the
//! first key is the row key) and later objects may omit fields (no cell) but may not add
//! unknown ones. With a `SOURCE=TARGET` spec, the named fields are picked from every object
//! and other keys are ignored.
//!
//! Values become cell bytes as text: strings unescaped, numbers and booleans as written,
//! arrays and objects as compact JSON, `null` as no cell.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use serde_json::{Map, Value};

use super::{InputFile, ReadCtx};
use crate::cells::Fields;
use crate::error::{Error, Result};

fn strip_line(line: &[u8]) -> &[u8] {
    let mut l = line;
    while let Some((&last, rest)) = l.split_last() {
        if last == b'\n' || last == b'\r' {
            l = rest;
        } else {
            break;
        }
    }
    l.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(l)
}

fn is_blank(line: &[u8]) -> bool {
    line.iter().all(|b| b.is_ascii_whitespace())
}

fn parse_object(line: &[u8]) -> std::result::Result<Map<String, Value>, String> {
    match serde_json::from_slice::<Value>(line) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err("not a JSON object".into()),
        Err(e) => Err(format!("invalid JSON at character {}: {e}", e.column())),
    }
}

/// The keys of the first object in the file.
pub fn field_names(path: &Path) -> Result<Vec<String>> {
    let f = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut r = BufReader::new(f);
    let mut line = Vec::new();
    let mut no = 0u64;
    loop {
        line.clear();
        no += 1;
        if r.read_until(b'\n', &mut line)
            .map_err(|e| Error::io(path, e))?
            == 0
        {
            return Err(Error::BadInput {
                file: path.to_path_buf(),
                reason: "no JSON object in the file".into(),
            });
        }
        let l = strip_line(&line);
        if is_blank(l) {
            continue;
        }
        let obj = parse_object(l).map_err(|reason| Error::BadLine {
            file: path.to_path_buf(),
            line: no,
            column: 0,
            reason: format!("{reason} (the first object names the fields)"),
        })?;
        return Ok(obj.keys().cloned().collect());
    }
}

/// One parsed object seen through the file's field names.
struct ObjectFields<'a> {
    names: &'a [String],
    obj: &'a Map<String, Value>,
}

impl Fields for ObjectFields<'_> {
    fn count(&self) -> usize {
        self.names.len()
    }
    fn append(&mut self, i: usize, out: &mut Vec<u8>) -> std::result::Result<bool, String> {
        let Some(v) = self.names.get(i).and_then(|n| self.obj.get(n)) else {
            return Ok(false);
        };
        match v {
            Value::Null => return Ok(false),
            Value::String(s) => out.extend_from_slice(s.as_bytes()),
            Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
            Value::Number(n) => out.extend_from_slice(n.to_string().as_bytes()),
            other => out.extend_from_slice(other.to_string().as_bytes()),
        }
        Ok(true)
    }
}

/// Reads every line of a JSON-lines file into `ctx`; `names` are the file's field names.
/// With `strict`, an object holding a key outside `names` is a bad line.
pub fn read(file: &InputFile, names: &[String], strict: bool, ctx: &mut ReadCtx<'_>) -> Result<()> {
    let f = File::open(&file.path).map_err(|e| Error::io(&file.path, e))?;
    let mut r = BufReader::with_capacity(256 * 1024, f);
    let mut line = Vec::new();
    let mut no = 0u64;
    let mut pos = 0u64;
    loop {
        line.clear();
        let n = r
            .read_until(b'\n', &mut line)
            .map_err(|e| Error::io(&file.path, e))?;
        if n == 0 {
            break;
        }
        no += 1;
        pos += n as u64;
        let l = strip_line(&line);
        if is_blank(l) {
            continue;
        }
        let text = || l.to_vec();
        let obj = match parse_object(l) {
            Ok(o) => o,
            Err(reason) => {
                ctx.bad(no, 0, reason, &text)?;
                continue;
            }
        };
        let unknown = obj
            .keys()
            .enumerate()
            .find(|(_, k)| strict && !names.iter().any(|n| n == *k));
        if let Some((i, k)) = unknown {
            let reason = format!("unexpected field '{k}' (the first object names the fields)");
            ctx.bad(no, i + 1, reason, &text)?;
            continue;
        }
        ctx.record(&mut ObjectFields { names, obj: &obj }, no, &text)?;
        if no.is_multiple_of(4096) {
            ctx.progress(pos);
            if ctx.cancelled() {
                return Ok(());
            }
        }
    }
    ctx.progress(file.size);
    ctx.flush()
}
