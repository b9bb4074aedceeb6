//! Job outputs. Every output stages what task attempts write, keeps only what successful
//! attempts commit, and publishes it at the end of a successful job in one step; a failed
//! job aborts the output and leaves nothing visible.
//!
//! - [`TableOutput`]: cells into a table through HFiles (one family per file, never
//!   straddling a region) handed to the engine's bulk load, not the put path.
//! - [`FileOutput`]: one Parquet or CSV part file per task, published by renaming the
//!   staging directory to the output directory.
//! - [`MemoryOutput`]: records collected in memory, in task order.
//! - [`NullOutput`]: discards records (jobs whose result is their counters).

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::sync::Mutex;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use hfile::{Cell, CellView, Comparator, Writer, WriterOptions};
use store_server::storefile::writer_options;
use store_server::{Connection, TableName};

use crate::error::{Error, Result};
use crate::format::{csv_supported, FileFormat, PartWriter};

/// Whether a task is a map or a reduce task.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TaskKind {
    /// A map task (one per input split).
    Map,
    /// A reduce task (one per partition).
    Reduce,
}

/// One attempt of one task.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TaskAttempt {
    /// Map or reduce.
    pub kind: TaskKind,
    /// The task's index (split index, or partition).
    pub index: usize,
    /// The attempt number, from 1.
    pub attempt: u32,
}

impl TaskAttempt {
    /// Hadoop-style part name: `part-m-00003` / `part-r-00000`.
    pub fn part_name(&self) -> String {
        let k = match self.kind {
            TaskKind::Map => 'm',
            TaskKind::Reduce => 'r',
        };
        format!("part-{k}-{:05}", self.index)
    }
}

impl fmt::Display for TaskAttempt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}_attempt{}", self.part_name(), self.attempt)
    }
}

/// Where a job's records go.
pub trait Output: Send + Sync {
    /// The records tasks write.
    type Record: Send;
    /// What a successful job's output is, once published.
    type Published;
    /// Opens a writer for one task attempt.
    fn open(&self, task: &TaskAttempt) -> Result<Box<dyn TaskWriter<Self::Record>>>;
    /// Publishes everything committed by tasks (called once, after every task succeeded).
    fn commit(&self) -> Result<Self::Published>;
    /// Discards everything (called when the job failed).
    fn abort(&self);
}

/// The writer of one task attempt.
pub trait TaskWriter<T>: Send {
    /// Writes one record.
    fn write(&mut self, record: T) -> Result<()>;
    /// Keeps what this attempt wrote (the task succeeded).
    fn commit(self: Box<Self>) -> Result<()>;
    /// Discards what this attempt wrote (the attempt failed).
    fn abort(self: Box<Self>);
}

fn unique_suffix() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "{}-{nanos:x}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

fn create_dir(p: &Path) -> Result<()> {
    std::fs::create_dir_all(p).map_err(|e| Error::io(p, e))
}

fn rename(from: &Path, to: &Path) -> Result<()> {
    std::fs::rename(from, to).map_err(|e| Error::io(from, e))
}

fn remove_tree(p: &Path) {
    if let Err(e) = std::fs::remove_dir_all(p) {
        if e.kind() != std::io::ErrorKind::NotFound {
            eprintln!("warning: could not remove {}: {e}", p.display());
        }
    }
}

// ---------------------------------------------------------------------------------------

/// Discards records.
pub struct NullOutput<T>(PhantomData<fn(T)>);

impl<T> Default for NullOutput<T> {
    fn default() -> Self {
        NullOutput(PhantomData)
    }
}

impl<T> NullOutput<T> {
    /// A sink for records of type `T`.
    pub fn new() -> Self {
        NullOutput::default()
    }
}

struct NullWriter;

impl<T: Send> TaskWriter<T> for NullWriter {
    fn write(&mut self, _record: T) -> Result<()> {
        Ok(())
    }
    fn commit(self: Box<Self>) -> Result<()> {
        Ok(())
    }
    fn abort(self: Box<Self>) {}
}

impl<T: Send + 'static> Output for NullOutput<T> {
    type Record = T;
    type Published = ();
    fn open(&self, _task: &TaskAttempt) -> Result<Box<dyn TaskWriter<T>>> {
        Ok(Box::new(NullWriter))
    }
    fn commit(&self) -> Result<()> {
        Ok(())
    }
    fn abort(&self) {}
}

// ---------------------------------------------------------------------------------------

type Committed<T> = Arc<Mutex<BTreeMap<(TaskKind, usize), Vec<T>>>>;

/// Collects records in memory; the published result lists them in task order (map tasks
/// by split, then reduce tasks by partition).
pub struct MemoryOutput<T> {
    committed: Committed<T>,
}

impl<T> Default for MemoryOutput<T> {
    fn default() -> Self {
        MemoryOutput {
            committed: Arc::new(Mutex::new(BTreeMap::new())),
        }
    }
}

impl<T> MemoryOutput<T> {
    /// An empty collector.
    pub fn new() -> Self {
        MemoryOutput::default()
    }
}

struct MemoryWriter<T> {
    key: (TaskKind, usize),
    records: Vec<T>,
    committed: Committed<T>,
}

impl<T: Send> TaskWriter<T> for MemoryWriter<T> {
    fn write(&mut self, record: T) -> Result<()> {
        self.records.push(record);
        Ok(())
    }
    fn commit(self: Box<Self>) -> Result<()> {
        let mut c = self
            .committed
            .lock()
            .map_err(|_| Error::user("memory output lock poisoned"))?;
        c.insert(self.key, self.records);
        Ok(())
    }
    fn abort(self: Box<Self>) {}
}

impl<T: Send + 'static> Output for MemoryOutput<T> {
    type Record = T;
    type Published = Vec<T>;
    fn open(&self, task: &TaskAttempt) -> Result<Box<dyn TaskWriter<T>>> {
        Ok(Box::new(MemoryWriter {
            key: (task.kind, task.index),
            records: Vec::new(),
            committed: self.committed.clone(),
        }))
    }
    fn commit(&self) -> Result<Vec<T>> {
        let mut c = self
            .committed
            .lock()
            .map_err(|_| Error::user("memory output lock poisoned"))?;
        Ok(std::mem::take(&mut *c).into_values().flatten().collect())
    }
    fn abort(&self) {
        if let Ok(mut c) = self.committed.lock() {
            c.clear();
        }
    }
}

// ---------------------------------------------------------------------------------------

/// One part file per task in a directory, Parquet or CSV. Tasks write into a staging
/// directory next to the output directory; a successful job writes `_SUCCESS` there and
/// renames it to the output directory, so readers see all parts or none.
pub struct FileOutput {
    dir: PathBuf,
    staging: PathBuf,
    format: FileFormat,
    schema: SchemaRef,
    extra: Mutex<Vec<(String, Vec<u8>)>>,
}

impl FileOutput {
    /// An output into `dir` (which must not exist, or be empty) of batches of `schema`.
    pub fn new(dir: impl Into<PathBuf>, format: FileFormat, schema: SchemaRef) -> Result<Self> {
        let dir: PathBuf = dir.into();
        if format == FileFormat::Csv && !csv_supported(&schema) {
            return Err(Error::InvalidArgument(
                "the output schema has columns CSV cannot hold".into(),
            ));
        }
        match std::fs::read_dir(&dir) {
            Ok(mut rd) => {
                if rd.next().is_some() {
                    return Err(Error::OutputExists(dir));
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io(&dir, e)),
        }
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| {
                Error::InvalidArgument(format!("{} is not a directory name", dir.display()))
            })?;
        let parent = match dir.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        create_dir(&parent)?;
        let staging = parent.join(format!(".{name}.staging-{}", unique_suffix()));
        create_dir(&staging.join("_attempts"))?;
        Ok(FileOutput {
            dir,
            staging,
            format,
            schema,
            extra: Mutex::new(Vec::new()),
        })
    }

    /// Adds a small file published beside the parts (e.g. a schema description).
    pub fn add_file(&self, name: &str, contents: Vec<u8>) -> Result<()> {
        self.extra
            .lock()
            .map_err(|_| Error::user("file output lock poisoned"))?
            .push((name.to_string(), contents));
        Ok(())
    }

    /// The staging directory (removed when the job ends).
    pub fn staging_dir(&self) -> &Path {
        &self.staging
    }
}

struct FileWriter {
    writer: Option<PartWriter>,
    tmp: PathBuf,
    dest: PathBuf,
}

impl TaskWriter<RecordBatch> for FileWriter {
    fn write(&mut self, batch: RecordBatch) -> Result<()> {
        match &mut self.writer {
            Some(w) => w.write(&batch),
            None => Err(Error::user("part file already finished")),
        }
    }
    fn commit(mut self: Box<Self>) -> Result<()> {
        if let Some(w) = self.writer.take() {
            w.finish()?;
        }
        rename(&self.tmp, &self.dest)
    }
    fn abort(mut self: Box<Self>) {
        drop(self.writer.take());
        let _ = std::fs::remove_file(&self.tmp);
    }
}

impl Output for FileOutput {
    type Record = RecordBatch;
    type Published = Vec<PathBuf>;

    fn open(&self, task: &TaskAttempt) -> Result<Box<dyn TaskWriter<RecordBatch>>> {
        let file = format!("{}.{}", task.part_name(), self.format.extension());
        let tmp = self
            .staging
            .join("_attempts")
            .join(format!("{task}.{}", self.format.extension()));
        let writer = PartWriter::create(&tmp, self.format, self.schema.clone())?;
        Ok(Box::new(FileWriter {
            writer: Some(writer),
            tmp,
            dest: self.staging.join(file),
        }))
    }

    fn commit(&self) -> Result<Vec<PathBuf>> {
        remove_tree(&self.staging.join("_attempts"));
        let extra = std::mem::take(
            &mut *self
                .extra
                .lock()
                .map_err(|_| Error::user("file output lock poisoned"))?,
        );
        for (name, contents) in extra {
            let p = self.staging.join(name);
            std::fs::write(&p, contents).map_err(|e| Error::io(&p, e))?;
        }
        let ok = self.staging.join("_SUCCESS");
        std::fs::write(&ok, b"").map_err(|e| Error::io(&ok, e))?;
        if self.dir.exists() {
            // Checked empty when the output was created; remove_dir fails if it filled up.
            std::fs::remove_dir(&self.dir).map_err(|_| Error::OutputExists(self.dir.clone()))?;
        }
        rename(&self.staging, &self.dir)?;
        let mut parts = Vec::new();
        let rd = std::fs::read_dir(&self.dir).map_err(|e| Error::io(&self.dir, e))?;
        for ent in rd {
            let p = ent.map_err(|e| Error::io(&self.dir, e))?.path();
            if FileFormat::of_path(&p).is_some() {
                parts.push(p);
            }
        }
        parts.sort();
        Ok(parts)
    }

    fn abort(&self) {
        remove_tree(&self.staging);
    }
}

// ---------------------------------------------------------------------------------------

/// What a [`TableOutput`] loaded.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TableLoad {
    /// HFiles handed to the bulk load.
    pub files: usize,
    /// Cells in them.
    pub cells: u64,
}

struct TableShared {
    conn: Connection,
    table: TableName,
    /// Writer options per family (the family's compression, encoding, block size, bloom).
    families: BTreeMap<Vec<u8>, WriterOptions>,
    /// Start keys of the destination's regions (sorted; the first is empty).
    region_starts: Vec<Vec<u8>>,
    staging: PathBuf,
    buffer_bytes: usize,
    committed: Mutex<Vec<(Vec<u8>, PathBuf, u64)>>,
}

/// Cells into a table through HFiles and the engine's bulk load. Task attempts buffer
/// cells (up to a memory limit), sort them, and write one HFile per family per destination
/// region into a staging directory under the store root; a successful job bulk-loads them
/// family by family (atomically per region) and removes the staging directory.
pub struct TableOutput {
    shared: Arc<TableShared>,
}

impl TableOutput {
    /// An output into `table` (which must exist), buffering up to 64 MiB per task.
    pub fn new(conn: &Connection, table: &TableName) -> Result<TableOutput> {
        TableOutput::with_buffer(conn, table, 64 << 20)
    }

    /// Like [`new`](Self::new) with a per-task sort buffer of `buffer_bytes`.
    pub fn with_buffer(
        conn: &Connection,
        table: &TableName,
        buffer_bytes: usize,
    ) -> Result<TableOutput> {
        let admin = conn.admin();
        let desc = admin.describe(table)?;
        let families = desc
            .families
            .iter()
            .map(|f| {
                let mut o = writer_options(f);
                o.compress_threads = 1;
                (f.name.clone(), o)
            })
            .collect();
        let mut region_starts: Vec<Vec<u8>> = admin
            .regions(table)?
            .into_iter()
            .map(|r| r.info.start_key)
            .collect();
        region_starts.sort();
        let staging = conn.server().root().join("staging").join(format!(
            "mapreduce-{}-{}",
            table.name,
            unique_suffix()
        ));
        create_dir(&staging.join("_attempts"))?;
        Ok(TableOutput {
            shared: Arc::new(TableShared {
                conn: conn.clone(),
                table: table.clone(),
                families,
                region_starts,
                staging,
                buffer_bytes: buffer_bytes.max(1),
                committed: Mutex::new(Vec::new()),
            }),
        })
    }

    /// The staging directory (removed when the job ends).
    pub fn staging_dir(&self) -> &Path {
        &self.shared.staging
    }
}

struct TableWriter {
    shared: Arc<TableShared>,
    dir: PathBuf,
    buffer: Vec<Cell>,
    bytes: usize,
    /// (family, path, cells) written by this attempt.
    files: Vec<(Vec<u8>, PathBuf, u64)>,
    task: TaskAttempt,
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

impl TableWriter {
    fn region_of(&self, row: &[u8]) -> usize {
        self.shared
            .region_starts
            .partition_point(|s| s.as_slice() <= row)
            .saturating_sub(1)
    }

    /// Sorts the buffer and writes it as HFiles: one per (family, region).
    fn flush(&mut self) -> Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let mut cells = std::mem::take(&mut self.buffer);
        self.bytes = 0;
        cells.sort_by(|a, b| {
            a.family
                .cmp(&b.family)
                .then_with(|| Comparator::Default.compare_cells(a, b))
        });
        let mut current: Option<(Vec<u8>, usize, Writer, PathBuf, u64)> = None;
        for mut c in cells {
            let region = self.region_of(c.row());
            let same =
                matches!(&current, Some((f, r, ..)) if f.as_slice() == c.family() && *r == region);
            if !same {
                if let Some(done) = current.take() {
                    self.finish_file(done)?;
                }
                let opts = self
                    .shared
                    .families
                    .get(c.family())
                    .cloned()
                    .ok_or_else(|| {
                        Error::InvalidArgument(format!(
                            "table {} has no family '{}'",
                            self.shared.table,
                            hfile::cell::to_string_binary(c.family())
                        ))
                    })?;
                let path = self.dir.join(format!(
                    "{}-{}-{}.hfile",
                    hex(c.family()),
                    region,
                    self.files.len()
                ));
                let mut w = Writer::create(&path, opts)?;
                w.set_bulk_load_time(store_server::now_ms());
                current = Some((c.family.to_vec(), region, w, path, 0));
            }
            if let Some((_, _, w, _, n)) = current.as_mut() {
                c.seq_id = 0;
                w.append(&c)?;
                *n += 1;
            }
        }
        if let Some(done) = current.take() {
            self.finish_file(done)?;
        }
        Ok(())
    }

    fn finish_file(&mut self, f: (Vec<u8>, usize, Writer, PathBuf, u64)) -> Result<()> {
        let (family, _, w, path, n) = f;
        w.finish()?;
        self.files.push((family, path, n));
        Ok(())
    }
}

impl TaskWriter<Cell> for TableWriter {
    fn write(&mut self, cell: Cell) -> Result<()> {
        if !self.shared.families.contains_key(cell.family()) {
            return Err(Error::InvalidArgument(format!(
                "table {} has no family '{}'",
                self.shared.table,
                hfile::cell::to_string_binary(cell.family())
            )));
        }
        if cell.row().is_empty() {
            return Err(Error::InvalidArgument("a cell has an empty row key".into()));
        }
        self.bytes += crate::record::Record::mem_size(&cell);
        self.buffer.push(cell);
        if self.bytes >= self.shared.buffer_bytes {
            self.flush()?;
        }
        Ok(())
    }

    fn commit(mut self: Box<Self>) -> Result<()> {
        self.flush()?;
        let mut moved = Vec::new();
        for (i, (family, path, n)) in self.files.iter().enumerate() {
            let fam_dir = self.shared.staging.join(hex(family));
            create_dir(&fam_dir)?;
            let dest = fam_dir.join(format!("{}-{i}.hfile", self.task.part_name()));
            rename(path, &dest)?;
            moved.push((family.clone(), dest, *n));
        }
        remove_tree(&self.dir);
        self.shared
            .committed
            .lock()
            .map_err(|_| Error::user("table output lock poisoned"))?
            .extend(moved);
        Ok(())
    }

    fn abort(self: Box<Self>) {
        remove_tree(&self.dir);
    }
}

impl Output for TableOutput {
    type Record = Cell;
    type Published = TableLoad;

    fn open(&self, task: &TaskAttempt) -> Result<Box<dyn TaskWriter<Cell>>> {
        let dir = self.shared.staging.join("_attempts").join(task.to_string());
        create_dir(&dir)?;
        Ok(Box::new(TableWriter {
            shared: self.shared.clone(),
            dir,
            buffer: Vec::new(),
            bytes: 0,
            files: Vec::new(),
            task: *task,
        }))
    }

    fn commit(&self) -> Result<TableLoad> {
        let files = std::mem::take(
            &mut *self
                .shared
                .committed
                .lock()
                .map_err(|_| Error::user("table output lock poisoned"))?,
        );
        let mut load = TableLoad::default();
        let mut pairs = Vec::with_capacity(files.len());
        for (f, p, n) in files {
            load.files += 1;
            load.cells += n;
            pairs.push((f, p));
        }
        let result = self
            .shared
            .conn
            .admin()
            // The staged files are ours and go away anyway: move them instead of copying.
            .bulk_load_moving(&self.shared.table, &pairs)
            .map(|_| ());
        remove_tree(&self.shared.staging);
        result?;
        Ok(load)
    }

    fn abort(&self) {
        remove_tree(&self.shared.staging);
    }
}
