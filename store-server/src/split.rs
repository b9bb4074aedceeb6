//! Region splits: choosing the split row (the mid key of the largest store's largest file,
//! from its block index) and writing the daughters' store files.
//!
//! Basalt rewrites each parent file into two halves (HBase writes reference files and
//! rewrites them at the daughters' next compaction); the halves keep every cell and its
//! sequence id, so reads through the daughters are identical to reads through the parent.

use std::path::Path;

use hfile::{CellRef, CellView};

use crate::cursor::{first_on_row, CellCursor};
use crate::error::{Error, Result};
use crate::region::{family_dir, Region, TMP_DIR};
use crate::storefile::{FileMeta, StoreFileWriter};

/// The row to split `region` at, if it can be split: the mid key of its largest store
/// file, which must lie strictly inside the region's range.
pub fn split_point(region: &Region) -> Result<Option<Vec<u8>>> {
    let mut best: Option<(u64, std::sync::Arc<crate::storefile::StoreFile>)> = None;
    for store in region.stores().values() {
        for f in store.state().files {
            if best.as_ref().map(|(s, _)| f.size() > *s).unwrap_or(true) {
                best = Some((f.size(), f));
            }
        }
    }
    let Some((_, file)) = best else {
        return Ok(None);
    };
    let Some(mid) = file.reader().mid_key()? else {
        return Ok(None);
    };
    let row = CellRef::new(&mid, &[], &[], 0)
        .map(|c| c.row().to_vec())
        .ok_or_else(|| Error::corrupt(file.path().display().to_string(), 0, "malformed mid key"))?;
    let row = if row.as_slice() <= file.first_row() {
        // A mid key equal to the first row would leave one daughter empty; use the last row.
        file.last_row().to_vec()
    } else {
        row
    };
    Ok(valid_split_row(region, &row).then_some(row))
}

/// True if `row` lies strictly inside the region (not its start, before its end).
pub fn valid_split_row(region: &Region, row: &[u8]) -> bool {
    let info = region.info();
    !row.is_empty()
        && row > info.start_key.as_slice()
        && (info.end_key.is_empty() || row < info.end_key.as_slice())
}

/// Writes the daughters' store files: rows below `split_row` into `a_dir`, the rest into
/// `b_dir`. The parent must be closed (flushed, no writes).
pub fn write_daughters(
    parent: &Region,
    split_row: &[u8],
    a_dir: &Path,
    b_dir: &Path,
) -> Result<()> {
    for (fam, store) in parent.stores() {
        let fam_a = family_dir(a_dir, fam);
        let fam_b = family_dir(b_dir, fam);
        std::fs::create_dir_all(&fam_a).map_err(|e| Error::io(&fam_a, e))?;
        std::fs::create_dir_all(&fam_b).map_err(|e| Error::io(&fam_b, e))?;
        for file in store.state().files {
            let meta = FileMeta {
                max_seq_id: file.seq_id(),
                major: false,
                compacted_from: Vec::new(),
                keep_empty: false,
            };
            if file.first_row() < split_row {
                let mut cur = file.cursor(false);
                cur.seek(&first_on_row(b""))?;
                let mut w =
                    StoreFileWriter::create(&a_dir.join(TMP_DIR), &fam_a, None, store.family())?;
                while let Some(c) = cur.peek() {
                    if c.row >= split_row {
                        break;
                    }
                    w.append(&c)?;
                    cur.advance()?;
                }
                w.finish(&meta, None)?;
            }
            if file.last_row() >= split_row {
                let mut cur = file.cursor(false);
                cur.seek(&first_on_row(split_row))?;
                let mut w =
                    StoreFileWriter::create(&b_dir.join(TMP_DIR), &fam_b, None, store.family())?;
                while let Some(c) = cur.peek() {
                    w.append(&c)?;
                    cur.advance()?;
                }
                w.finish(&meta, None)?;
            }
        }
    }
    Ok(())
}

/// HBase's `HexStringSplit`: `n` regions over 8-hex-digit row keys (`n - 1` split keys).
pub fn hex_string_split_keys(n: usize) -> Vec<Vec<u8>> {
    let max: u128 = 0xffff_ffff;
    (1..n.max(1))
        .map(|i| format!("{:08x}", (max * i as u128 / n as u128) as u64).into_bytes())
        .collect()
}

/// HBase's `UniformSplit`: `n` regions over the whole space of 8-byte row keys.
pub fn uniform_split_keys(n: usize) -> Vec<Vec<u8>> {
    let max: u128 = u64::MAX as u128;
    (1..n.max(1))
        .map(|i| {
            ((max * i as u128 / n as u128) as u64)
                .to_be_bytes()
                .to_vec()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presplit_algorithms() {
        let h = hex_string_split_keys(4);
        assert_eq!(
            h,
            vec![
                b"3fffffff".to_vec(),
                b"7fffffff".to_vec(),
                b"bfffffff".to_vec()
            ]
        );
        let u = uniform_split_keys(2);
        assert_eq!(
            u,
            vec![vec![0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]]
        );
        assert!(hex_string_split_keys(1).is_empty());
    }
}
