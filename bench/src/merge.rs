//! The compaction limit: a k-way merge of HFiles written to one HFile with the `hfile`
//! crate alone — no engine, no owned cells, no per-row buffering.
//!
//! Scanners over the input files sit in a binary min-heap ordered by their current cell's
//! key (HBase's comparator on the serialized keys); the smallest is appended to the writer
//! as a borrowed `CellRef` unless it is an older version of the column just written (cells
//! of one column come newest first, so keeping the first one keeps one version, as a major
//! compaction of a family with `VERSIONS => 1` does). Only `Put` cells are expected.

use std::cmp::Ordering;
use std::path::{Path, PathBuf};

use hfile::{Comparator, Reader, Scanner};

use crate::cpu::{Stopwatch, Timing};
use crate::{engine, Result};

/// Bytes after the column part of a serialized key: timestamp (8) and type (1).
const KEY_TAIL: usize = 9;

/// What a merge did.
#[derive(Clone, Copy, Debug, Default)]
pub struct MergeStats {
    /// Wall and CPU time, opening the inputs and the final fsync included.
    pub timing: Timing,
    /// Cells read.
    pub cells_in: u64,
    /// Cells written.
    pub cells_out: u64,
    /// Size of the output file.
    pub bytes_out: u64,
}

fn key_of(s: &Scanner) -> &[u8] {
    s.current().map(|c| c.key()).unwrap_or(&[])
}

fn less(scanners: &[Scanner], a: usize, b: usize) -> bool {
    match Comparator::default().compare_keys(key_of(&scanners[a]), key_of(&scanners[b])) {
        Ordering::Less => true,
        Ordering::Greater => false,
        Ordering::Equal => a < b,
    }
}

fn sift_down(heap: &mut [usize], scanners: &[Scanner], mut i: usize) {
    loop {
        let l = 2 * i + 1;
        if l >= heap.len() {
            return;
        }
        let r = l + 1;
        let c = if r < heap.len() && less(scanners, heap[r], heap[l]) {
            r
        } else {
            l
        };
        if !less(scanners, heap[c], heap[i]) {
            return;
        }
        heap.swap(i, c);
        i = c;
    }
}

/// Merges `inputs` into a new file at `out`, keeping the newest version of each column.
pub fn merge(inputs: &[PathBuf], out: &Path) -> Result<MergeStats> {
    let sw = Stopwatch::start();
    let mut scanners = Vec::with_capacity(inputs.len());
    let mut max_seq = 0u64;
    for p in inputs {
        let r = Reader::open(p, None)?;
        max_seq = max_seq.max(r.max_seq_id().unwrap_or(0));
        let mut s = r.scanner();
        if s.seek_to_first()? {
            scanners.push(s);
        }
    }
    let mut heap: Vec<usize> = (0..scanners.len()).collect();
    for i in (0..heap.len() / 2).rev() {
        sift_down(&mut heap, &scanners, i);
    }
    let mut w = engine::store_writer(out)?;
    let mut stats = MergeStats::default();
    let mut prev: Vec<u8> = Vec::with_capacity(256);
    let mut have_prev = false;
    while let Some(&top) = heap.first() {
        {
            let c = scanners[top]
                .current()
                .ok_or("merge: positioned scanner without a cell")?;
            let key = c.key();
            let column = &key[..key.len().saturating_sub(KEY_TAIL)];
            stats.cells_in += 1;
            if !(have_prev && column == prev.as_slice()) {
                w.append(&c)?;
                stats.cells_out += 1;
                prev.clear();
                prev.extend_from_slice(column);
                have_prev = true;
            }
        }
        if scanners[top].next()? {
            sift_down(&mut heap, &scanners, 0);
        } else {
            let last = heap.len() - 1;
            heap.swap(0, last);
            heap.pop();
            sift_down(&mut heap, &scanners, 0);
        }
    }
    w.set_max_seq_id(max_seq);
    w.set_major_compaction(true);
    let summary = w.finish()?;
    stats.bytes_out = summary.file_size;
    stats.timing = sw.timing();
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rowgen::{GenRow, RowGen};
    use hfile::CellView;

    #[test]
    fn merges_in_order_keeping_newest() -> Result<()> {
        let dir = std::env::temp_dir().join(format!("bench-merge-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let g = RowGen::new(1, 2, 10);
        let mut row = GenRow::default();
        // Three files: rows 0..30 at version 0, even rows at version 1, rows 10..20 at 2.
        let mut inputs = Vec::new();
        for (i, (version, pick)) in [
            (0u32, (|_r: u64| true) as fn(u64) -> bool),
            (1, |r: u64| r.is_multiple_of(2)),
            (2, |r| (10..20).contains(&r)),
        ]
        .into_iter()
        .enumerate()
        {
            let p = dir.join(format!("in{i}"));
            let mut w = engine::store_writer(&p)?;
            for r in (0..30).filter(|&r| pick(r)) {
                g.fill(r, version, &mut row);
                for q in 0..2 {
                    w.append(&g.cell(&row, q))?;
                }
            }
            w.finish()?;
            inputs.push(p);
        }
        let out = dir.join("out");
        let st = merge(&inputs, &out)?;
        assert_eq!(st.cells_in, (30 + 15 + 10) * 2);
        assert_eq!(st.cells_out, 60);
        let r = Reader::open(&out, None)?;
        let mut s = r.scanner();
        s.seek_to_first()?;
        let mut n = 0u64;
        while let Some(c) = s.current() {
            let r_no = n / 2;
            let want = if (10..20).contains(&r_no) {
                2
            } else if r_no.is_multiple_of(2) {
                1
            } else {
                0
            };
            g.fill(r_no, want, &mut row);
            assert_eq!(c.value(), row.value((n % 2) as usize), "cell {n}");
            n += 1;
            s.next()?;
        }
        assert_eq!(n, 60);
        std::fs::remove_dir_all(&dir)?;
        Ok(())
    }
}
