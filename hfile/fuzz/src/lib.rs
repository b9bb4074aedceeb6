//! Shared driver of the `hfile` reader fuzz targets.
//!
//! [`exercise`] opens the input as an HFile and, if it opens, drives every read path of
//! the reader: a full scan, seeks, point gets, the mid key and the Bloom filters. Any
//! panic is a finding; so is an error that does not name the file (the reader promises
//! that every error about file contents carries the path).

use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use hfile::block::{read_header, Framing, HEADER_SIZE};
use hfile::cell::{first_on_row, last_on_row, make_key, CellType};
use hfile::{BlockCache, CellView, ChecksumType, Compression, Error, Reader};

/// The name errors must carry.
pub const FUZZ_PATH: &str = "fuzz-input.hfile";

/// Cells read by one full scan at most (inputs are small; this only bounds the work).
const MAX_CELLS: usize = 100_000;
/// Rows sampled from the scan for seeks and gets.
const SAMPLED_ROWS: usize = 12;

/// Panics unless `e` names the fuzzed file.
fn check_error(e: &Error) {
    let msg = e.to_string();
    assert!(
        msg.contains(FUZZ_PATH),
        "error does not name the file: {msg}"
    );
    match e {
        Error::OutOfOrder { .. } | Error::InvalidArgument(_) => {
            panic!("writer-only error from the reader: {msg}")
        }
        _ => {}
    }
}

fn ok<T>(r: hfile::Result<T>) -> Option<T> {
    match r {
        Ok(v) => Some(v),
        Err(e) => {
            check_error(&e);
            None
        }
    }
}

/// Opens `data` as an HFile and runs every read path over it.
pub fn exercise(data: &[u8]) {
    // Alternate between no cache and a tiny shared cache, so cached blocks are exercised.
    let cache = data
        .len()
        .is_multiple_of(2)
        .then(|| BlockCache::new(64 * 1024));
    let Some(r) = ok(Reader::from_bytes(
        FUZZ_PATH,
        Bytes::copy_from_slice(data),
        cache,
    )) else {
        return;
    };
    let _ = r.first_key();
    let _ = r.last_key();
    let _ = r.time_range();
    let _ = r.max_seq_id();
    let _ = r.bulk_load_time();
    let _ = r.is_major_compaction();
    let mid = ok(r.mid_key()).flatten();

    // Full scan, keeping a few rows to look up afterwards.
    let mut rows: Vec<Bytes> = Vec::new();
    let mut scanned = 0u64;
    let mut scan_failed = false;
    for (i, c) in r.cells().enumerate() {
        match c {
            Ok(c) => {
                scanned += 1;
                if i < SAMPLED_ROWS / 2 || (i % 97 == 0 && rows.len() < SAMPLED_ROWS) {
                    rows.push(c.row.clone());
                }
            }
            Err(e) => {
                check_error(&e);
                scan_failed = true;
                break;
            }
        }
        if i >= MAX_CELLS {
            break;
        }
    }

    // The verifier behind `basalt hfile check` must not panic either, and a file it calls
    // sound must scan without error to exactly the trailer's cell count.
    let _ = hfile::verify::walk_blocks(&r);
    let report = hfile::verify::check_reader(&r);
    if report.is_sound() && scanned <= MAX_CELLS as u64 {
        assert!(!scan_failed, "check found no problem but the scan failed");
        assert_eq!(
            scanned,
            r.entry_count(),
            "check found no problem but the scan count differs"
        );
    }

    // Seeks to keys from the index, FileInfo and the scan, and to extreme keys.
    let mut keys: Vec<Vec<u8>> = Vec::new();
    keys.extend(r.first_key().map(<[u8]>::to_vec));
    keys.extend(r.last_key().map(<[u8]>::to_vec));
    keys.extend(mid);
    keys.extend(r.root_index().iter().take(4).map(|e| e.key.to_vec()));
    keys.push(first_on_row(b""));
    keys.push(last_on_row(b"\xff\xff\xff\xff"));
    keys.push(make_key(b"row", b"f", b"q", 0, CellType::Put));
    keys.push(Vec::new());
    keys.push(vec![0xff; 5]);
    for key in &keys {
        let mut s = r.scanner();
        match s.seek(key) {
            Ok(true) => {
                let _ = s.current().map(|c| c.to_cell());
                for _ in 0..3 {
                    match s.next() {
                        Ok(true) => {
                            let _ = s.current().map(|c| c.to_cell());
                        }
                        Ok(false) => break,
                        Err(e) => {
                            check_error(&e);
                            break;
                        }
                    }
                }
            }
            Ok(false) => {}
            Err(e) => check_error(&e),
        }
        // Whatever happened, asking for the current cell must not panic.
        let _ = s.current().map(|c| c.to_cell());
    }

    // Point gets and Bloom checks on scanned rows and rows that are not there.
    rows.push(Bytes::from_static(b""));
    rows.push(Bytes::from_static(b"\xff\xff"));
    rows.push(Bytes::from_static(b"row57"));
    for row in &rows {
        if let Some(cells) = ok(r.get_row(row)) {
            for c in &cells {
                assert_eq!(c.row(), &row[..], "get_row returned a cell of another row");
            }
        }
        let _ = ok(r.may_contain_row(row));
        let _ = ok(r.may_contain_row_col(row, b"q"));
        let _ = ok(r.may_contain_delete_family(row));
    }
    exercise_blocks(&r);
}

/// Reads every block header and block from the start of the file, as `basalt hfile check` does.
fn exercise_blocks(r: &Arc<Reader>) {
    let mut offset = 0u64;
    for _ in 0..10_000 {
        if offset >= r.trailer_offset() {
            break;
        }
        match r.block_uncached(offset) {
            Ok(b) => offset = b.offset + b.header.on_disk_size_with_header() as u64,
            Err(e) => {
                check_error(&e);
                break;
            }
        }
    }
}

/// Rewrites the checksums of every block reachable by walking headers from offset 0, so
/// that mutated inputs get past checksum verification and into decompression, decoding
/// and index parsing. Leaves inputs without checksummed headers alone.
pub fn resum(data: &mut [u8]) {
    let framing = Framing {
        checksums: true,
        compression: Compression::None,
    };
    let path = Path::new(FUZZ_PATH);
    let len = data.len() as u64;
    let mut offset = 0u64;
    while offset + (HEADER_SIZE as u64) <= len {
        let Ok(h) = read_header(path, data, offset, framing, len) else {
            break;
        };
        let start = offset as usize;
        let data_end = start + h.on_disk_data_size_with_header as usize;
        let end = start + h.on_disk_size_with_header();
        let ct: ChecksumType = h.checksum_type;
        if ct.checksum_bytes(data_end - start, h.bytes_per_checksum) == end - data_end {
            let mut sums = Vec::with_capacity(end - data_end);
            ct.append_checksums(&data[start..data_end], h.bytes_per_checksum, &mut sums);
            data[data_end..end].copy_from_slice(&sums);
        }
        offset = end as u64;
    }
}
