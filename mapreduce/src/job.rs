//! The job API: a job's [`Input`] (a table scan or export part files), its map function
//! (per row, or per Arrow record batch of cells), and for map/reduce jobs the [`Reduce`]
//! side (combiner, partitioner, reducer count and reduce function). Functions see a
//! [`TaskContext`] (split, attempt, counters) and emit through [`Emit`].

use std::any::Any;
use std::path::PathBuf;
use std::sync::Arc;

use arrow_array::RecordBatch;
use store_server::{RowCells, Scan, TableName};

use crate::counters::Counters;
use crate::error::Result;
use crate::output::TaskAttempt;
use crate::shuffle::{CombineFn, PartitionFn};
use crate::split::InputSplit;

/// What a job reads.
#[derive(Clone, Debug)]
pub enum Input {
    /// The rows of a table a forward scan returns (row range, columns, time range,
    /// versions, filters, raw). One split per region, sub-split when regions are large.
    Table {
        /// The table.
        table: TableName,
        /// The scan applied to every split (its row range is intersected with the split's).
        scan: Box<Scan>,
    },
    /// Part files in the cell schema (`export` output), one split per file.
    Files(Vec<PathBuf>),
}

impl Input {
    /// A scan of `table`.
    pub fn table(table: TableName, scan: Scan) -> Input {
        Input::Table {
            table,
            scan: Box::new(scan),
        }
    }
}

/// Receives what a map or reduce function produces.
pub trait Emit<T> {
    /// Emits one record.
    fn emit(&mut self, item: T) -> Result<()>;
}

/// An [`Emit`] that forwards to a closure.
pub struct FnEmit<'a, T>(pub &'a mut dyn FnMut(T) -> Result<()>);

impl<T> Emit<T> for FnEmit<'_, T> {
    fn emit(&mut self, item: T) -> Result<()> {
        (self.0)(item)
    }
}

/// What a running task attempt knows about itself, and its counters.
#[derive(Debug)]
pub struct TaskContext {
    task: TaskAttempt,
    split: Option<InputSplit>,
    counters: Counters,
    local: Option<Box<dyn Any + Send>>,
}

impl TaskContext {
    /// A context for one attempt (map tasks have a split, reduce tasks do not).
    pub fn new(task: TaskAttempt, split: Option<InputSplit>) -> TaskContext {
        TaskContext {
            task,
            split,
            counters: Counters::new(),
            local: None,
        }
    }

    /// This attempt's own state of type `S` (created with `S::default()` on first use), for
    /// map functions that aggregate across rows and emit from the job's cleanup (Hadoop's
    /// in-mapper combining). A job uses one type; asking for another starts it afresh.
    pub fn local<S: Default + Send + 'static>(&mut self) -> &mut S {
        if !self.local.as_ref().is_some_and(|l| l.is::<S>()) {
            self.local = Some(Box::new(S::default()));
        }
        match self.local.as_mut().and_then(|l| l.downcast_mut::<S>()) {
            Some(s) => s,
            None => unreachable!("the state was just set to an `S`"),
        }
    }

    /// Takes this attempt's state of type `S` out, if there is one.
    pub fn take_local<S: Send + 'static>(&mut self) -> Option<S> {
        match self.local.take()?.downcast::<S>() {
            Ok(s) => Some(*s),
            Err(other) => {
                self.local = Some(other);
                None
            }
        }
    }

    /// The task attempt.
    pub fn task(&self) -> &TaskAttempt {
        &self.task
    }

    /// The attempt number, from 1.
    pub fn attempt(&self) -> u32 {
        self.task.attempt
    }

    /// The input split of a map task.
    pub fn split(&self) -> Option<&InputSplit> {
        self.split.as_ref()
    }

    /// Adds `n` to the counter `group:name` (kept only if the attempt succeeds).
    pub fn incr(&mut self, group: &str, name: &str, n: i64) {
        self.counters.incr(group, name, n);
    }

    /// This attempt's counters so far.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Mutable access to this attempt's counters.
    pub fn counters_mut(&mut self) -> &mut Counters {
        &mut self.counters
    }

    /// Takes the counters out (the runner merges them on success).
    pub fn into_counters(self) -> Counters {
        self.counters
    }
}

/// A map function over rows (cells as stored, grouped by row; lent for the call, so a
/// function that keeps cells copies them, e.g. with [`RowCells::to_result`]).
pub type RowMapFn<T> =
    Arc<dyn Fn(&RowCells, &mut TaskContext, &mut dyn Emit<T>) -> Result<()> + Send + Sync>;
/// Called once at the end of each map task attempt that read its whole split (Hadoop's
/// `Mapper.cleanup`), typically to emit what the map function aggregated in
/// [`TaskContext::local`].
pub type CleanupFn<T> = Arc<dyn Fn(&mut TaskContext, &mut dyn Emit<T>) -> Result<()> + Send + Sync>;
/// A map function over Arrow record batches in the cell schema (see [`crate::batch`]).
pub type BatchMapFn<T> =
    Arc<dyn Fn(&RecordBatch, &mut TaskContext, &mut dyn Emit<T>) -> Result<()> + Send + Sync>;
/// A reduce function: one key with all its values.
pub type ReduceFn<K, V, O> =
    Arc<dyn Fn(K, Vec<V>, &mut TaskContext, &mut dyn Emit<O>) -> Result<()> + Send + Sync>;

/// How a job's map function reads its input.
#[derive(Clone)]
pub enum MapFn<T> {
    /// One call per row.
    Rows(RowMapFn<T>),
    /// One call per record batch of whole rows, about `batch_cells` cells each.
    Batches {
        /// The function.
        f: BatchMapFn<T>,
        /// Target cells per batch (rows are never cut across batches of a table split).
        batch_cells: usize,
    },
}

/// A job: a name, an input and a map function emitting `T`. For a map-only job `T` is the
/// output's record; for a map/reduce job it is a `(key, value)` pair.
#[derive(Clone)]
pub struct Job<T> {
    /// The job's name (shown in progress and errors).
    pub name: String,
    /// What it reads.
    pub input: Input,
    /// The map function.
    pub map: MapFn<T>,
    /// Runs at the end of each map task (see [`CleanupFn`]).
    pub cleanup: Option<CleanupFn<T>>,
}

impl<T> Job<T> {
    /// A job mapping rows.
    pub fn map_rows(
        name: impl Into<String>,
        input: Input,
        f: impl Fn(&RowCells, &mut TaskContext, &mut dyn Emit<T>) -> Result<()> + Send + Sync + 'static,
    ) -> Job<T> {
        Job {
            name: name.into(),
            input,
            map: MapFn::Rows(Arc::new(f)),
            cleanup: None,
        }
    }

    /// A job mapping Arrow record batches of cells (about 8192 cells each).
    pub fn map_batches(
        name: impl Into<String>,
        input: Input,
        f: impl Fn(&RecordBatch, &mut TaskContext, &mut dyn Emit<T>) -> Result<()>
            + Send
            + Sync
            + 'static,
    ) -> Job<T> {
        Job {
            name: name.into(),
            input,
            map: MapFn::Batches {
                f: Arc::new(f),
                batch_cells: 8192,
            },
            cleanup: None,
        }
    }

    /// Runs `f` at the end of each map task that read its whole split.
    pub fn with_cleanup(
        mut self,
        f: impl Fn(&mut TaskContext, &mut dyn Emit<T>) -> Result<()> + Send + Sync + 'static,
    ) -> Self {
        self.cleanup = Some(Arc::new(f));
        self
    }
}

/// The reduce side of a map/reduce job.
#[derive(Clone)]
pub struct Reduce<K, V, O> {
    /// Number of reduce tasks (partitions), at least 1.
    pub reducers: usize,
    /// Optional map-side combiner.
    pub combiner: Option<CombineFn<K, V>>,
    /// Optional partitioner (default: hash of the key).
    pub partitioner: Option<PartitionFn<K>>,
    /// The reduce function.
    pub reduce: ReduceFn<K, V, O>,
}

impl<K, V, O> Reduce<K, V, O> {
    /// `reducers` reduce tasks running `f`, no combiner, hash partitioning.
    pub fn new(
        reducers: usize,
        f: impl Fn(K, Vec<V>, &mut TaskContext, &mut dyn Emit<O>) -> Result<()> + Send + Sync + 'static,
    ) -> Self {
        Reduce {
            reducers: reducers.max(1),
            combiner: None,
            partitioner: None,
            reduce: Arc::new(f),
        }
    }

    /// Adds a combiner.
    pub fn with_combiner(
        mut self,
        f: impl Fn(&K, Vec<V>) -> Result<Vec<V>> + Send + Sync + 'static,
    ) -> Self {
        self.combiner = Some(Arc::new(f));
        self
    }

    /// Sets the partitioner.
    pub fn with_partitioner(
        mut self,
        f: impl Fn(&K, usize) -> usize + Send + Sync + 'static,
    ) -> Self {
        self.partitioner = Some(Arc::new(f));
        self
    }
}
