//! The external sort: record groups (see [`crate::cells`]) accumulate in a memory buffer
//! bounded by the memory budget;
//! a full buffer is sorted on all cores (rayon) and spilled as one LZ4-compressed HFile
//! *run* per family; at the end the runs of a family are merged with a k-way merge over
//! `hfile::Reader` scanners. Inputs that fit the budget never touch the disk.
//!
//! Identical keys (same row, family, qualifier and timestamp) keep only the cell that came
//! last in input order: the ordinal travels as the run cells' sequence id and orders equal
//! keys in the merge.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use hfile::{
    BloomType, CellRef, CellView, Comparator, Compression, Reader, Scanner, Writer, WriterOptions,
};
use rayon::prelude::*;

use crate::bucket::Part;
use crate::cells::{Arena, ColumnTable, Group, GROUP_SIZE};
use crate::error::{Error, Result};
use crate::group_array::GroupArray;
use crate::row_sort::{count_duplicates, for_each_row, sort_groups};

/// Most runs merged at once; more are first merged into intermediate runs.
pub const MAX_FAN_IN: usize = 64;

/// One spilled run: the cells of one family from one buffer, sorted.
#[derive(Clone, Debug)]
pub struct Run {
    /// Family index in the column table.
    pub family: u16,
    /// The run's HFile.
    pub path: PathBuf,
    /// Cells in it.
    pub cells: u64,
}

/// Counters of the sort phase.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SortStats {
    /// Buffers spilled to disk.
    pub spills: usize,
    /// Run files written (spills × families, plus intermediate merges).
    pub run_files: usize,
    /// Bytes of run files written.
    pub spill_bytes: u64,
    /// Largest memory the buffer held (arena + groups), in bytes.
    pub peak_buffer_bytes: usize,
    /// Cells accepted (before removing duplicates).
    pub cells_in: u64,
    /// Cells dropped because a later record wrote the same key.
    pub duplicates: u64,
}

/// One key range of the sort buffer (see [`crate::bucket`]): its groups and the chunks
/// holding their bytes.
#[derive(Debug, Default)]
pub struct Bucket {
    /// The groups' bytes.
    pub arena: Arena,
    /// The groups; in family and row order once the sorter has finished.
    pub groups: GroupArray,
}

/// The sorted result.
#[derive(Debug)]
pub enum Sorted {
    /// Everything fit in memory: the buckets in key order, each one's groups sorted by
    /// family and row over its arena (read their cells with [`for_each_row`], which drops
    /// identical keys).
    Memory(Vec<Bucket>),
    /// Spilled runs, per family index.
    Runs(Vec<Vec<Run>>),
}

/// The in-memory buffer and the spill machinery.
pub struct Sorter<'t> {
    table: &'t ColumnTable,
    budget: usize,
    buckets: Vec<Bucket>,
    spill_dir: PathBuf,
    run_block_size: usize,
    max_fan_in: usize,
    runs: Vec<Vec<Run>>,
    stats: SortStats,
}

/// `n` empty buckets whose groups can grow to `budget` bytes in all without moving.
fn fresh_buckets(n: usize, budget: usize) -> Vec<Bucket> {
    // Capacity is only reserved address space until written, so reserving the budget up
    // front costs nothing; fall back to growing arrays if even that is refused.
    let cap = budget / GROUP_SIZE / n.max(1);
    (0..n.max(1))
        .map(|_| Bucket {
            arena: Arena::default(),
            groups: GroupArray::with_capacity(cap).unwrap_or_default(),
        })
        .collect()
}

impl<'t> Sorter<'t> {
    /// A sorter holding at most `budget` bytes of cells in `buckets` key ranges, spilling
    /// into `spill_dir`.
    pub fn new(
        table: &'t ColumnTable,
        budget: usize,
        buckets: usize,
        spill_dir: &Path,
    ) -> Sorter<'t> {
        let budget = budget.max(64 * 1024);
        Sorter {
            table,
            budget,
            buckets: fresh_buckets(buckets, budget),
            spill_dir: spill_dir.to_path_buf(),
            run_block_size: (budget / (8 * MAX_FAN_IN)).clamp(4096, 64 * 1024),
            max_fan_in: MAX_FAN_IN,
            runs: vec![Vec::new(); table.families.len()],
            stats: SortStats::default(),
        }
    }

    /// Merges at most `n` (≥ 2) runs at once (default [`MAX_FAN_IN`]).
    pub fn with_max_fan_in(mut self, n: usize) -> Self {
        self.max_fan_in = n.max(2);
        self
    }

    /// Statistics so far.
    pub fn stats(&self) -> &SortStats {
        &self.stats
    }

    /// Number of key-range buckets.
    pub fn buckets(&self) -> usize {
        self.buckets.len()
    }

    /// Bytes held: chunk capacities plus groups.
    fn used(&self) -> usize {
        self.buckets
            .iter()
            .map(|b| b.arena.bytes() + b.groups.len() * GROUP_SIZE)
            .sum()
    }

    /// Counts `cells` read (the cells of the parts pushed, before duplicates are removed).
    pub fn count_cells(&mut self, cells: u64) {
        self.stats.cells_in += cells;
    }

    /// Adds a filled chunk of one bucket, spilling the buffer first if it would not fit
    /// the budget. The chunk is kept as it is (no copy).
    pub fn push(&mut self, part: Part) -> Result<()> {
        let needed = part.chunk.capacity() + part.groups.len() * GROUP_SIZE;
        let used = self.used();
        if used + needed > self.budget && used > 0 {
            self.spill()?;
        }
        let Some(bucket) = self.buckets.get_mut(part.bucket) else {
            return Err(Error::Internal(format!("no bucket {}", part.bucket)));
        };
        let base = bucket.arena.push_chunk(part.chunk);
        bucket.groups.extend(part.groups.iter().map(|g| Group {
            off: g.off | base,
            ..*g
        }))?;
        self.stats.peak_buffer_bytes = self.stats.peak_buffer_bytes.max(self.used());
        Ok(())
    }

    /// Sorts every bucket's groups, on all cores.
    fn sort_buckets(&mut self) {
        self.buckets
            .par_iter_mut()
            .for_each(|b| sort_groups(&b.arena, &mut b.groups));
    }

    /// Sorts the buffer and writes one run per family, then empties the buffer.
    fn spill(&mut self) -> Result<()> {
        self.sort_buckets();
        std::fs::create_dir_all(&self.spill_dir).map_err(|e| Error::io(&self.spill_dir, e))?;
        let n = self.stats.spills;
        let (buckets, table) = (&self.buckets, self.table);
        let opts = run_options(self.run_block_size);
        let families = table.families.len() as u16;
        let written: Vec<Result<(Run, u64, u64)>> = (0..families)
            .into_par_iter()
            .filter_map(|fam| {
                // The family's groups in key order: its range in each bucket, in turn.
                let ranges: Vec<(&Bucket, usize, usize)> = buckets
                    .iter()
                    .flat_map(|b| {
                        family_ranges(&b.groups)
                            .into_iter()
                            .filter(|r| r.0 == fam)
                            .map(move |(_, s, e)| (b, s, e))
                    })
                    .collect();
                if ranges.is_empty() {
                    return None;
                }
                let path = self.spill_dir.join(format!("run-{n:06}-{fam:04}.hfile"));
                let write = || -> Result<(Run, u64, u64)> {
                    let mut w = Writer::create(&path, opts.clone())?;
                    let (mut cells, mut dups) = (0u64, 0u64);
                    for (b, s, e) in ranges {
                        dups += for_each_row(&b.arena, &b.groups[s..e], |row| {
                            cells += row.len() as u64;
                            table.append_row(&mut w, row, true)
                        })?;
                    }
                    let summary = w.finish()?;
                    let run = Run {
                        family: fam,
                        path: path.clone(),
                        cells,
                    };
                    Ok((run, summary.file_size, dups))
                };
                Some(write())
            })
            .collect();
        for r in written {
            let (run, bytes, dups) = r?;
            self.stats.spill_bytes += bytes;
            self.stats.run_files += 1;
            self.stats.duplicates += dups;
            if let Some(v) = self.runs.get_mut(run.family as usize) {
                v.push(run);
            }
        }
        self.stats.spills += 1;
        // Fresh allocations: the old pages go back to the system, so the resident size
        // never exceeds the budget whatever the mix of keys and values.
        self.buckets = fresh_buckets(self.buckets.len(), self.budget);
        Ok(())
    }

    /// Finishes: sorts in memory if nothing spilled, else spills the rest and reduces
    /// every family to at most [`MAX_FAN_IN`] runs.
    pub fn finish(mut self) -> Result<(Sorted, SortStats)> {
        if self.stats.spills == 0 {
            self.sort_buckets();
            self.stats.duplicates += self
                .buckets
                .par_iter()
                .map(|b| count_duplicates(&b.arena, &b.groups))
                .sum::<u64>();
            let buckets = std::mem::take(&mut self.buckets);
            return Ok((Sorted::Memory(buckets), self.stats));
        }
        if self.used() > 0 {
            self.spill()?;
        }
        self.buckets = Vec::new();
        let mut runs = std::mem::take(&mut self.runs);
        for (fam, fruns) in runs.iter_mut().enumerate() {
            let mut level = 0;
            while fruns.len() > self.max_fan_in {
                let group: Vec<Run> = fruns.drain(..self.max_fan_in).collect();
                let path = self.spill_dir.join(format!(
                    "merge-{level:03}-{:06}-{fam:04}.hfile",
                    fruns.len()
                ));
                let readers = open_runs(&group)?;
                let mut merge = RunMerge::open(&readers, &[])?;
                let mut w = Writer::create(&path, run_options(self.run_block_size))?;
                let mut cells = 0u64;
                while let Some(c) = merge.current() {
                    w.append(&c)?;
                    cells += 1;
                    merge.advance()?;
                }
                let summary = w.finish()?;
                drop(merge);
                drop(readers);
                for r in &group {
                    let _ = std::fs::remove_file(&r.path);
                }
                self.stats.run_files += 1;
                self.stats.spill_bytes += summary.file_size;
                fruns.push(Run {
                    family: fam as u16,
                    path,
                    cells,
                });
                level += 1;
            }
        }
        Ok((Sorted::Runs(runs), self.stats))
    }
}

/// Ranges of sorted `groups` per family index: (family, start, end).
pub fn family_ranges(groups: &[Group]) -> Vec<(u16, usize, usize)> {
    let mut out = Vec::new();
    let mut start = 0;
    while let Some(first) = groups.get(start) {
        let fam = first.family;
        let len = groups[start..].partition_point(|g| g.family == fam);
        out.push((fam, start, start + len));
        start += len;
    }
    out
}

/// Writer options for spill runs: LZ4, no Bloom filter, the ordinal as sequence id.
fn run_options(block_size: usize) -> WriterOptions {
    WriterOptions {
        block_size,
        compression: Compression::Lz4,
        bloom_type: BloomType::None,
        include_mvcc: true,
        ..WriterOptions::default()
    }
}

/// Opens the runs' readers.
pub fn open_runs(runs: &[Run]) -> Result<Vec<Arc<Reader>>> {
    runs.iter()
        .map(|r| Reader::open(&r.path, None).map_err(Error::from))
        .collect()
}

/// A scanner's current key with its sequence id, ordered for a min-heap: key ascending,
/// then sequence id descending (the later write first).
#[derive(Debug)]
struct HeapItem {
    key: Vec<u8>,
    seq: u64,
    idx: usize,
}

impl PartialEq for HeapItem {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for HeapItem {}
impl PartialOrd for HeapItem {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for HeapItem {
    fn cmp(&self, other: &Self) -> Ordering {
        // Reversed for BinaryHeap (a max-heap): the smallest key is the greatest item.
        Comparator::Default
            .compare_keys(&other.key, &self.key)
            .then_with(|| self.seq.cmp(&other.seq))
            .then_with(|| other.idx.cmp(&self.idx))
    }
}

/// A k-way merge over sorted HFiles, yielding each distinct key once (the cell with the
/// highest sequence id among equal keys).
pub struct RunMerge {
    scanners: Vec<Scanner>,
    heap: BinaryHeap<HeapItem>,
    last_key: Vec<u8>,
    spare: Vec<Vec<u8>>,
}

impl RunMerge {
    /// Merges `readers` from the first row ≥ `start_row`.
    pub fn open(readers: &[Arc<Reader>], start_row: &[u8]) -> Result<RunMerge> {
        let seek_key = hfile::cell::first_on_row(start_row);
        let mut m = RunMerge {
            scanners: Vec::with_capacity(readers.len()),
            heap: BinaryHeap::with_capacity(readers.len()),
            last_key: Vec::new(),
            spare: Vec::new(),
        };
        for (idx, r) in readers.iter().enumerate() {
            let mut s = r.scanner();
            let positioned = if start_row.is_empty() {
                s.seek_to_first()?
            } else {
                s.seek(&seek_key)?
            };
            m.scanners.push(s);
            if positioned {
                m.push(idx);
            }
        }
        m.skip_duplicates()?;
        Ok(m)
    }

    fn push(&mut self, idx: usize) {
        if let Some(c) = self.scanners[idx].current() {
            let mut key = self.spare.pop().unwrap_or_default();
            key.clear();
            key.extend_from_slice(c.key());
            self.heap.push(HeapItem {
                key,
                seq: c.seq_id(),
                idx,
            });
        }
    }

    /// The current cell, or `None` at the end.
    pub fn current(&self) -> Option<CellRef<'_>> {
        let top = self.heap.peek()?;
        self.scanners[top.idx].current()
    }

    fn step_top(&mut self) -> Result<Option<Vec<u8>>> {
        let Some(top) = self.heap.pop() else {
            return Ok(None);
        };
        if self.scanners[top.idx].next()? {
            self.push(top.idx);
        }
        Ok(Some(top.key))
    }

    /// Drops heap entries whose key equals the last returned key.
    fn skip_duplicates(&mut self) -> Result<()> {
        while let Some(top) = self.heap.peek() {
            if self.last_key.is_empty() || top.key != self.last_key {
                return Ok(());
            }
            if let Some(k) = self.step_top()? {
                self.spare.push(k);
            }
        }
        Ok(())
    }

    /// Moves past the current cell (and any older cells with the same key).
    pub fn advance(&mut self) -> Result<()> {
        if let Some(k) = self.step_top()? {
            let old = std::mem::replace(&mut self.last_key, k);
            self.spare.push(old);
        }
        self.skip_duplicates()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bucket::{Bounds, Router};
    use crate::cells::{ordinal, Batch, Fields, RowBuilder};
    use crate::spec::{ColumnSpec, Mapping};

    struct Strs(Vec<String>);
    impl Fields for Strs {
        fn count(&self) -> usize {
            self.0.len()
        }
        fn append(&mut self, i: usize, out: &mut Vec<u8>) -> std::result::Result<bool, String> {
            match self.0.get(i) {
                Some(s) => {
                    out.extend_from_slice(s.as_bytes());
                    Ok(true)
                }
                None => Ok(false),
            }
        }
    }

    fn collect_runs(runs: &[Run]) -> Result<Vec<(String, String, String)>> {
        let readers = open_runs(runs)?;
        let mut m = RunMerge::open(&readers, &[])?;
        let mut out = Vec::new();
        while let Some(c) = m.current() {
            out.push((
                String::from_utf8_lossy(c.row()).into_owned(),
                String::from_utf8_lossy(c.qualifier()).into_owned(),
                String::from_utf8_lossy(c.value()).into_owned(),
            ));
            m.advance()?;
        }
        Ok(out)
    }

    /// The same records sorted in memory and through many tiny spills give the same cells,
    /// with the later of two identical keys kept.
    #[test]
    fn spilled_and_in_memory_sorts_agree() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| Error::io("tempdir", e))?;
        let spec = ColumnSpec::parse("HBASE_ROW_KEY,f:a,g:b")?;
        let m = Mapping::resolve(Some(&spec), None)?;
        let table = ColumnTable::from_mappings([&m])?;
        let mut builder = RowBuilder::new(&m, &table, 1, None)?;
        let mut records = Vec::new();
        for i in 0..3000u64 {
            let row = format!("r{:05}", (i * 7919) % 2000); // rows repeat: later wins
            records.push((row, format!("a{i}"), format!("b{i}")));
        }
        let rows = records.iter().map(|r| r.0.clone().into_bytes()).collect();
        let bounds = std::sync::Arc::new(Bounds::from_sample(rows, 3));
        let make = |sorter: &mut Sorter<'_>, builder: &mut RowBuilder| -> Result<()> {
            let mut router = Router::new(bounds.clone(), 4096);
            let mut parts = Vec::new();
            for chunk in records.chunks(50).enumerate() {
                let mut batch = Batch::default();
                for (j, (r, a, b)) in chunk.1.iter().enumerate() {
                    let ord = ordinal(0, (chunk.0 * 50 + j) as u64);
                    let mut f = Strs(vec![r.clone(), a.clone(), b.clone()]);
                    builder
                        .add(&mut f, ord, &mut batch)
                        .map_err(|e| Error::Spec(e.reason))?;
                }
                router.route(&batch, &mut parts)?;
                sorter.count_cells(batch.cells);
                parts.drain(..).try_for_each(|p| sorter.push(p))?;
            }
            router.finish(&mut parts);
            parts.into_iter().try_for_each(|p| sorter.push(p))
        };
        let mut big = Sorter::new(&table, 64 << 20, bounds.len(), dir.path());
        make(&mut big, &mut builder)?;
        let (mem, mem_stats) = big.finish()?;
        let Sorted::Memory(buckets) = mem else {
            return Err(Error::Internal("expected an in-memory sort".into()));
        };
        assert_eq!(buckets.len(), 3);
        assert_eq!(mem_stats.duplicates, 2000);
        let mut mem_cells: Vec<(String, String, String)> = Vec::new();
        for b in &buckets {
            let (fam, s, e) = family_ranges(&b.groups)[0];
            assert_eq!(fam, 0);
            assert!(e - s > 500, "buckets hold about equal shares");
            for_each_row(&b.arena, &b.groups[s..e], |row| {
                mem_cells.extend(row.iter().map(|c| {
                    (
                        String::from_utf8_lossy(c.row).into_owned(),
                        String::from_utf8_lossy(table.qualifier_of(c.col)).into_owned(),
                        String::from_utf8_lossy(c.value).into_owned(),
                    )
                }));
                Ok::<(), Error>(())
            })?;
        }
        assert_eq!(mem_cells.len(), 2000);
        // Row r00000 is written by records 0 and 2000 (7919*2000 % 2000 == 0): the later wins.
        assert_eq!(mem_cells[0].2, "a2000");

        let mut small = Sorter::new(&table, 64 * 1024, bounds.len(), dir.path()).with_max_fan_in(3);
        make(&mut small, &mut builder)?;
        let (spilled, stats) = small.finish()?;
        let Sorted::Runs(runs) = spilled else {
            return Err(Error::Internal("expected spilled runs".into()));
        };
        assert!(stats.spills > 3, "{stats:?}");
        assert!(stats.peak_buffer_bytes <= 64 * 1024, "{stats:?}");
        // Intermediate merges reduced each family to at most 3 runs.
        assert!(runs.iter().all(|r| r.len() <= 3), "{runs:?}");
        assert!(stats.run_files > stats.spills * 2, "{stats:?}");
        assert_eq!(collect_runs(&runs[0])?, mem_cells);
        Ok(())
    }
}
