//! The shuffle between map and reduce: map output is partitioned, sorted by key and
//! combined in a per-task buffer of bounded size; a full buffer is spilled to a sorted run
//! on disk. Runs of successful map attempts are kept (in memory while the job-wide budget
//! allows, on disk beyond it); a reduce task merges its partition's runs in key order and
//! sees each key once with all its values.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BinaryHeap};
use std::fs::File;
use std::hash::{Hash, Hasher};
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering as AtomicOrdering};
use std::sync::{Arc, Mutex};

use crate::counters::{self, Counters};
use crate::error::{Error, Result};
use crate::record::Record;

/// Chooses the partition (reduce task) of a key: `f(key, partitions) < partitions`.
pub type PartitionFn<K> = Arc<dyn Fn(&K, usize) -> usize + Send + Sync>;
/// Merges the values of one key on the map side (Hadoop's combiner).
pub type CombineFn<K, V> = Arc<dyn Fn(&K, Vec<V>) -> Result<Vec<V>> + Send + Sync>;

/// The default partitioner: a hash of the key's encoding.
pub fn hash_partition<K: Record>(key: &K, partitions: usize) -> usize {
    let mut buf = Vec::new();
    key.encode(&mut buf);
    let mut h = std::collections::hash_map::DefaultHasher::new();
    buf.hash(&mut h);
    (h.finish() % partitions.max(1) as u64) as usize
}

/// Memory limits of the shuffle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShuffleConfig {
    /// Bytes one map task buffers before spilling a sorted run to disk.
    pub task_buffer_bytes: usize,
    /// Bytes of completed map output kept in memory across the job; more goes to disk.
    pub retained_bytes: usize,
}

impl Default for ShuffleConfig {
    fn default() -> Self {
        ShuffleConfig {
            task_buffer_bytes: 32 << 20,
            retained_bytes: 256 << 20,
        }
    }
}

/// A sorted run of one partition.
enum Run<K, V> {
    Memory(Arc<Vec<(K, V)>>),
    Disk { path: PathBuf },
}

/// The job-wide state of a shuffle.
pub(crate) struct Shuffle<K, V> {
    dir: PathBuf,
    partitions: usize,
    config: ShuffleConfig,
    partitioner: PartitionFn<K>,
    combiner: Option<CombineFn<K, V>>,
    retained: AtomicUsize,
    seq: AtomicU64,
    runs: Mutex<Vec<Vec<Run<K, V>>>>,
}

/// What a finished map attempt produced, before it is accepted or discarded.
pub(crate) struct MapOutput<K, V> {
    runs: Vec<(usize, Run<K, V>)>,
}

fn sort_and_combine<K: Record + Ord + Clone, V: Record>(
    mut records: Vec<(K, V)>,
    combiner: Option<&CombineFn<K, V>>,
    counters: &mut Counters,
) -> Result<Vec<(K, V)>> {
    records.sort_by(|a, b| a.0.cmp(&b.0));
    let Some(combine) = combiner else {
        return Ok(records);
    };
    counters.incr(
        counters::FRAMEWORK,
        counters::COMBINE_INPUT_RECORDS,
        records.len() as i64,
    );
    let mut out = Vec::with_capacity(records.len() / 2 + 1);
    let mut it = records.into_iter().peekable();
    while let Some((k, v)) = it.next() {
        let mut vals = vec![v];
        while let Some((_, v)) = it.next_if(|(k2, _)| *k2 == k) {
            vals.push(v);
        }
        for v in combine(&k, vals)? {
            out.push((k.clone(), v));
        }
    }
    counters.incr(
        counters::FRAMEWORK,
        counters::COMBINE_OUTPUT_RECORDS,
        out.len() as i64,
    );
    Ok(out)
}

fn write_run<K: Record, V: Record>(path: &Path, records: &[(K, V)]) -> Result<()> {
    let file = File::create(path).map_err(|e| Error::io(path, e))?;
    let mut w = BufWriter::new(file);
    let mut buf = Vec::new();
    for (k, v) in records {
        buf.clear();
        k.encode(&mut buf);
        v.encode(&mut buf);
        w.write_all(&(buf.len() as u64).to_le_bytes())
            .and_then(|_| w.write_all(&buf))
            .map_err(|e| Error::io(path, e))?;
    }
    w.flush().map_err(|e| Error::io(path, e))
}

impl<K: Record + Ord + Clone, V: Record + Clone> Shuffle<K, V> {
    pub(crate) fn new(
        dir: PathBuf,
        partitions: usize,
        config: ShuffleConfig,
        partitioner: PartitionFn<K>,
        combiner: Option<CombineFn<K, V>>,
    ) -> Result<Self> {
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        let partitions = partitions.max(1);
        Ok(Shuffle {
            dir,
            partitions,
            config,
            partitioner,
            combiner,
            retained: AtomicUsize::new(0),
            seq: AtomicU64::new(0),
            runs: Mutex::new((0..partitions).map(|_| Vec::new()).collect()),
        })
    }

    pub(crate) fn partitions(&self) -> usize {
        self.partitions
    }

    fn spill_path(&self) -> PathBuf {
        let n = self.seq.fetch_add(1, AtomicOrdering::Relaxed);
        self.dir.join(format!("run-{n:08}"))
    }

    /// A buffer for one map attempt.
    pub(crate) fn buffer(&self) -> MapOutputBuffer<'_, K, V> {
        MapOutputBuffer {
            shuffle: self,
            parts: (0..self.partitions).map(|_| Vec::new()).collect(),
            combining: BTreeMap::new(),
            bytes: 0,
            runs: Vec::new(),
            counters: Counters::new(),
        }
    }

    /// Keeps the runs of a successful map attempt.
    pub(crate) fn accept(&self, out: MapOutput<K, V>, counters: &mut Counters) -> Result<()> {
        let mut kept = Vec::with_capacity(out.runs.len());
        for (p, run) in out.runs {
            let run = match run {
                Run::Memory(records) => {
                    let size: usize = records
                        .iter()
                        .map(|(k, v)| k.mem_size() + v.mem_size())
                        .sum();
                    let prev = self.retained.fetch_add(size, AtomicOrdering::AcqRel);
                    if prev + size > self.config.retained_bytes {
                        self.retained.fetch_sub(size, AtomicOrdering::AcqRel);
                        let path = self.spill_path();
                        write_run(&path, &records)?;
                        counters.incr(
                            counters::FRAMEWORK,
                            counters::SPILLED_RECORDS,
                            records.len() as i64,
                        );
                        Run::Disk { path }
                    } else {
                        Run::Memory(records)
                    }
                }
                disk => disk,
            };
            kept.push((p, run));
        }
        let mut runs = self
            .runs
            .lock()
            .map_err(|_| Error::user("shuffle lock poisoned"))?;
        for (p, run) in kept {
            if let Some(slot) = runs.get_mut(p) {
                slot.push(run);
            }
        }
        Ok(())
    }

    /// Deletes the spill files of a failed map attempt.
    pub(crate) fn discard(&self, out: MapOutput<K, V>) {
        for (_, run) in out.runs {
            if let Run::Disk { path } = run {
                let _ = std::fs::remove_file(path);
            }
        }
    }

    /// Merges partition `p`'s runs and calls `f` once per key, in key order, with all of
    /// the key's values.
    pub(crate) fn reduce_partition(
        &self,
        p: usize,
        counters: &mut Counters,
        f: &mut dyn FnMut(K, Vec<V>) -> Result<()>,
    ) -> Result<()> {
        let mut readers: Vec<RunReader<K, V>> = {
            let runs = self
                .runs
                .lock()
                .map_err(|_| Error::user("shuffle lock poisoned"))?;
            let mut v = Vec::new();
            for run in runs.get(p).map(|r| r.as_slice()).unwrap_or(&[]) {
                v.push(match run {
                    Run::Memory(records) => RunReader::Memory(records.clone(), 0),
                    Run::Disk { path } => {
                        let file = File::open(path).map_err(|e| Error::io(path, e))?;
                        RunReader::Disk(path.clone(), BufReader::new(file), Vec::new())
                    }
                });
            }
            v
        };
        let mut heap = BinaryHeap::new();
        for (i, r) in readers.iter_mut().enumerate() {
            if let Some((key, value)) = r.next()? {
                heap.push(HeapItem { key, run: i, value });
            }
        }
        let mut current: Option<(K, Vec<V>)> = None;
        while let Some(HeapItem { key, run, value }) = heap.pop() {
            if let Some((key, value)) = readers[run].next()? {
                heap.push(HeapItem { key, run, value });
            }
            counters.incr(counters::FRAMEWORK, counters::REDUCE_INPUT_RECORDS, 1);
            match &mut current {
                Some((k, vals)) if *k == key => vals.push(value),
                _ => {
                    if let Some((k, vals)) = current.take() {
                        counters.incr(counters::FRAMEWORK, counters::REDUCE_INPUT_GROUPS, 1);
                        f(k, vals)?;
                    }
                    current = Some((key, vec![value]));
                }
            }
        }
        if let Some((k, vals)) = current.take() {
            counters.incr(counters::FRAMEWORK, counters::REDUCE_INPUT_GROUPS, 1);
            f(k, vals)?;
        }
        Ok(())
    }

    /// Removes every spill file.
    pub(crate) fn cleanup(&self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Values a map task buffers for one key before it runs the combiner on them.
const COMBINE_BATCH: usize = 64;

/// The buffer of one map attempt.
pub(crate) struct MapOutputBuffer<'a, K, V> {
    shuffle: &'a Shuffle<K, V>,
    parts: Vec<Vec<(K, V)>>,
    /// With a combiner: the values of each key emitted since the last spill, combined every
    /// [`COMBINE_BATCH`] values (in-mapper combining), so a task that emits the same keys
    /// over and over partitions, sorts and holds about one record per key.
    combining: BTreeMap<K, Vec<V>>,
    bytes: usize,
    runs: Vec<(usize, Run<K, V>)>,
    counters: Counters,
}

impl<K: Record + Ord + Clone, V: Record + Clone> MapOutputBuffer<'_, K, V> {
    /// Adds one map output record.
    pub(crate) fn emit(&mut self, key: K, value: V) -> Result<()> {
        let shuffle = self.shuffle;
        match &shuffle.combiner {
            Some(combine) => {
                let value_size = value.mem_size();
                match self.combining.get_mut(&key) {
                    Some(vals) => {
                        vals.push(value);
                        self.bytes += value_size;
                        if vals.len() >= COMBINE_BATCH {
                            let input = std::mem::take(vals);
                            let before: usize = input.iter().map(Record::mem_size).sum();
                            self.counters.incr(
                                counters::FRAMEWORK,
                                counters::COMBINE_INPUT_RECORDS,
                                input.len() as i64,
                            );
                            *vals = combine(&key, input)?;
                            self.counters.incr(
                                counters::FRAMEWORK,
                                counters::COMBINE_OUTPUT_RECORDS,
                                vals.len() as i64,
                            );
                            let after: usize = vals.iter().map(Record::mem_size).sum();
                            self.bytes = (self.bytes + after).saturating_sub(before);
                        }
                    }
                    None => {
                        self.bytes += key.mem_size() + value_size + 16;
                        self.combining.insert(key, vec![value]);
                    }
                }
            }
            None => {
                self.bytes += key.mem_size() + value.mem_size() + 16;
                self.partition(key, value)?;
            }
        }
        if self.bytes >= shuffle.config.task_buffer_bytes {
            self.spill()?;
        }
        Ok(())
    }

    /// Puts a record into its partition's buffer.
    fn partition(&mut self, key: K, value: V) -> Result<()> {
        let n = self.shuffle.partitions;
        let p = (self.shuffle.partitioner)(&key, n);
        if p >= n {
            return Err(Error::user(format!(
                "partitioner returned {p} for {n} partitions"
            )));
        }
        self.parts[p].push((key, value));
        Ok(())
    }

    /// Moves the in-mapper combined values into the partition buffers.
    fn drain_combining(&mut self) -> Result<()> {
        for (k, vals) in std::mem::take(&mut self.combining) {
            for v in vals {
                self.partition(k.clone(), v)?;
            }
        }
        Ok(())
    }

    fn take_sorted(&mut self, p: usize) -> Result<Vec<(K, V)>> {
        let records = std::mem::take(&mut self.parts[p]);
        sort_and_combine(records, self.shuffle.combiner.as_ref(), &mut self.counters)
    }

    /// Writes every partition's buffered records to sorted runs on disk.
    fn spill(&mut self) -> Result<()> {
        self.drain_combining()?;
        for p in 0..self.parts.len() {
            if self.parts[p].is_empty() {
                continue;
            }
            let records = self.take_sorted(p)?;
            let path = self.shuffle.spill_path();
            self.runs.push((p, Run::Disk { path: path.clone() }));
            write_run(&path, &records)?;
            self.counters.incr(
                counters::FRAMEWORK,
                counters::SPILLED_RECORDS,
                records.len() as i64,
            );
        }
        self.bytes = 0;
        Ok(())
    }

    /// Ends the attempt: the rest of the buffer becomes in-memory runs.
    pub(crate) fn finish(mut self, counters: &mut Counters) -> Result<MapOutput<K, V>> {
        let result = (|| {
            self.drain_combining()?;
            for p in 0..self.parts.len() {
                if !self.parts[p].is_empty() {
                    let records = self.take_sorted(p)?;
                    self.runs.push((p, Run::Memory(Arc::new(records))));
                }
            }
            Ok(())
        })();
        counters.merge(&self.counters);
        let out = MapOutput { runs: self.runs };
        match result {
            Ok(()) => Ok(out),
            Err(e) => {
                self.shuffle.discard(out);
                Err(e)
            }
        }
    }

    /// Abandons the attempt, deleting its spills.
    pub(crate) fn abandon(self) {
        self.shuffle.discard(MapOutput { runs: self.runs });
    }
}

enum RunReader<K, V> {
    Memory(Arc<Vec<(K, V)>>, usize),
    Disk(PathBuf, BufReader<File>, Vec<u8>),
}

impl<K: Record + Clone, V: Record + Clone> RunReader<K, V> {
    fn next(&mut self) -> Result<Option<(K, V)>> {
        match self {
            RunReader::Memory(records, i) => {
                let r = records.get(*i).cloned();
                *i += 1;
                Ok(r)
            }
            RunReader::Disk(path, r, buf) => {
                let mut len = [0u8; 8];
                match r.read_exact(&mut len) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
                    Err(e) => return Err(Error::io(path.as_path(), e)),
                }
                let n = usize::try_from(u64::from_le_bytes(len))
                    .map_err(|_| Error::format(path.display().to_string(), "bad record length"))?;
                buf.resize(n, 0);
                r.read_exact(buf)
                    .map_err(|e| Error::io(path.as_path(), e))?;
                let mut s = buf.as_slice();
                let k = K::decode(&mut s)?;
                let v = V::decode(&mut s)?;
                Ok(Some((k, v)))
            }
        }
    }
}

struct HeapItem<K, V> {
    key: K,
    run: usize,
    value: V,
}

impl<K: Ord, V> PartialEq for HeapItem<K, V> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl<K: Ord, V> Eq for HeapItem<K, V> {}
impl<K: Ord, V> PartialOrd for HeapItem<K, V> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<K: Ord, V> Ord for HeapItem<K, V> {
    /// Reversed, so the max-heap pops the smallest key (earliest run first on ties).
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .key
            .cmp(&self.key)
            .then_with(|| other.run.cmp(&self.run))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spills_and_merges_in_key_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cfg = ShuffleConfig {
            task_buffer_bytes: 200,
            retained_bytes: 100,
        };
        let sum: CombineFn<u64, u64> = Arc::new(|_, vs| Ok(vec![vs.iter().sum()]));
        let sh: Shuffle<u64, u64> = Shuffle::new(
            dir.path().join("s"),
            2,
            cfg,
            Arc::new(|k, n| (*k % n as u64) as usize),
            Some(sum),
        )
        .expect("shuffle");
        let mut c = Counters::new();
        for task in 0..3u64 {
            let mut b = sh.buffer();
            for i in 0..100u64 {
                b.emit((i * 7 + task) % 20, 1).expect("emit");
            }
            let out = b.finish(&mut c).expect("finish");
            sh.accept(out, &mut c).expect("accept");
        }
        assert!(c.get(counters::FRAMEWORK, counters::SPILLED_RECORDS) > 0);
        let mut seen = Vec::new();
        for p in 0..2 {
            sh.reduce_partition(p, &mut c, &mut |k, vs| {
                seen.push((k, vs.iter().sum::<u64>()));
                Ok(())
            })
            .expect("reduce");
        }
        seen.sort();
        assert_eq!(seen.len(), 20);
        assert_eq!(seen.iter().map(|s| s.1).sum::<u64>(), 300);
        assert!(seen.iter().all(|s| s.1 == 15));
        sh.cleanup();
        assert!(!dir.path().join("s").exists());
    }
}
