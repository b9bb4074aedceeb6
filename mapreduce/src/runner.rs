//! The runner: plans splits, runs tasks on a rayon pool with retries, shuffles map output
//! to reduce tasks, and commits or aborts the output. A progress bar counts finished
//! splits; counters of successful attempts are merged into the job's counters.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use store_server::{Connection, RowCells, Scan};

use crate::batch::{batch_rows, CellBatchBuilder};
use crate::counters::{self, Counters};
use crate::error::{Error, Result};
use crate::format::read_cell_file;
use crate::job::{Emit, FnEmit, Input, Job, MapFn, Reduce, TaskContext};
use crate::output::{Output, TaskAttempt, TaskKind};
use crate::record::Record;
use crate::shuffle::{hash_partition, Shuffle, ShuffleConfig};
use crate::split::{plan_file_splits, plan_table_splits, InputSplit, SplitPolicy, SplitSource};

/// How jobs run.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Worker threads (0 = one per core).
    pub threads: usize,
    /// Attempts per task before the job fails (at least 1).
    pub max_attempts: u32,
    /// How table scans are cut into splits. A `target_splits` of 0 means "twice the
    /// threads", so every core stays busy even when regions differ in size.
    pub split_policy: SplitPolicy,
    /// Shuffle memory limits.
    pub shuffle: ShuffleConfig,
    /// Draw a progress bar on standard error.
    pub progress: bool,
    /// Where shuffle spills go (default: `<root>/staging`).
    pub scratch_dir: Option<PathBuf>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            threads: 0,
            max_attempts: 3,
            split_policy: SplitPolicy::default(),
            shuffle: ShuffleConfig::default(),
            progress: false,
            scratch_dir: None,
        }
    }
}

/// The result of a successful job.
#[derive(Clone, Debug)]
pub struct JobReport<P> {
    /// The job's name.
    pub name: String,
    /// Input splits (map tasks).
    pub splits: usize,
    /// The job's counters.
    pub counters: Counters,
    /// What the output published.
    pub output: P,
}

/// Runs jobs against one connection on a dedicated thread pool.
pub struct Runner {
    conn: Connection,
    opts: RunOptions,
    pool: rayon::ThreadPool,
}

impl std::fmt::Debug for Runner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runner").field("opts", &self.opts).finish()
    }
}

fn panic_message(p: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_string()
    }
}

/// One unit the pool runs: a map task (with its split) or a reduce task.
struct TaskDesc {
    kind: TaskKind,
    index: usize,
    split: Option<InputSplit>,
}

/// One map task per split, and job counters that start with the split count.
fn map_tasks(splits: Vec<InputSplit>) -> (Vec<TaskDesc>, Counters) {
    let mut counters = Counters::new();
    counters.incr(counters::JOB, counters::INPUT_SPLITS, splits.len() as i64);
    let tasks = splits
        .into_iter()
        .map(|s| TaskDesc {
            kind: TaskKind::Map,
            index: s.index,
            split: Some(s),
        })
        .collect();
    (tasks, counters)
}

impl TaskDesc {
    fn describe(&self) -> String {
        match &self.split {
            Some(s) => format!("map task {}", s),
            None => format!("reduce task {} (partition {})", self.index, self.index),
        }
    }
}

impl Runner {
    /// A runner over `conn` with `opts`.
    pub fn new(conn: Connection, opts: RunOptions) -> Result<Runner> {
        let threads = if opts.threads == 0 {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        } else {
            opts.threads
        };
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("mapreduce-{i}"))
            .build()
            .map_err(|e| Error::InvalidArgument(format!("cannot start {threads} threads: {e}")))?;
        let mut opts = opts;
        opts.threads = threads;
        opts.max_attempts = opts.max_attempts.max(1);
        if opts.split_policy.target_splits == 0 {
            opts.split_policy.target_splits = threads * 2;
        }
        Ok(Runner { conn, opts, pool })
    }

    /// The connection jobs run against.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// The effective options (threads resolved).
    pub fn options(&self) -> &RunOptions {
        &self.opts
    }

    /// The splits `input` would be read as.
    pub fn splits(&self, input: &Input) -> Result<Vec<InputSplit>> {
        match input {
            Input::Table { table, scan } => {
                plan_table_splits(&self.conn, table, scan, &self.opts.split_policy)
            }
            Input::Files(files) => plan_file_splits(files),
        }
    }

    fn progress(&self, name: &str, len: usize) -> ProgressBar {
        if !self.opts.progress {
            return ProgressBar::hidden();
        }
        let pb = ProgressBar::new(len as u64);
        if let Ok(style) =
            ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} splits ({elapsed})")
        {
            pb.set_style(style.progress_chars("=> "));
        }
        pb.set_message(name.to_string());
        pb
    }

    /// Runs `tasks` on the pool with retries. `f` runs one attempt; the counters it fills
    /// are kept only if it succeeds. Returns results in task order, or the first task that
    /// failed on every attempt.
    fn execute<R: Send>(
        &self,
        job: &str,
        tasks: Vec<TaskDesc>,
        pb: &ProgressBar,
        counters: &mut Counters,
        f: &(dyn Fn(&TaskDesc, &mut TaskContext) -> Result<R> + Sync),
    ) -> Result<Vec<R>> {
        let cancelled = AtomicBool::new(false);
        let max = self.opts.max_attempts;
        let results: Vec<(Result<R>, Counters)> = self.pool.install(|| {
            tasks
                .par_iter()
                .map(|t| {
                    let mut job_counters = Counters::new();
                    let (launched, failed) = match t.kind {
                        TaskKind::Map => (counters::LAUNCHED_MAP_TASKS, counters::FAILED_MAP_TASKS),
                        TaskKind::Reduce => (
                            counters::LAUNCHED_REDUCE_TASKS,
                            counters::FAILED_REDUCE_TASKS,
                        ),
                    };
                    let mut last = Error::Cancelled;
                    for attempt in 1..=max {
                        if cancelled.load(Ordering::Acquire) {
                            return (Err(Error::Cancelled), job_counters);
                        }
                        job_counters.incr(counters::JOB, launched, 1);
                        let task = TaskAttempt {
                            kind: t.kind,
                            index: t.index,
                            attempt,
                        };
                        let mut ctx = TaskContext::new(task, t.split.clone());
                        let r = catch_unwind(AssertUnwindSafe(|| f(t, &mut ctx)))
                            .unwrap_or_else(|p| Err(Error::Panic(panic_message(p))));
                        match r {
                            Ok(v) => {
                                job_counters.merge(&ctx.into_counters());
                                pb.inc(u64::from(t.kind == TaskKind::Map));
                                return (Ok(v), job_counters);
                            }
                            Err(e) => {
                                job_counters.incr(counters::JOB, failed, 1);
                                last = e;
                            }
                        }
                    }
                    cancelled.store(true, Ordering::Release);
                    let err = Error::TaskFailed {
                        job: job.to_string(),
                        task: t.describe(),
                        attempts: max,
                        source: Box::new(last),
                    };
                    (Err(err), job_counters)
                })
                .collect()
        });
        let mut out = Vec::with_capacity(results.len());
        let mut first_err = None;
        for (r, c) in results {
            counters.merge(&c);
            match r {
                Ok(v) => out.push(v),
                Err(Error::Cancelled) => {}
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        match first_err {
            Some(e) => Err(e),
            None if out.len() == tasks.len() => Ok(out),
            None => Err(Error::Cancelled),
        }
    }

    /// Reads `split` through the job's map function, then runs the job's cleanup.
    fn map_split<T>(
        &self,
        job: &Job<T>,
        split: &InputSplit,
        ctx: &mut TaskContext,
        emit: &mut dyn Emit<T>,
    ) -> Result<()> {
        self.read_split(&job.input, split, &job.map, ctx, emit)?;
        match &job.cleanup {
            Some(f) => f(ctx, emit),
            None => Ok(()),
        }
    }

    /// Feeds one split to a map function.
    fn read_split<T>(
        &self,
        input: &Input,
        split: &InputSplit,
        map: &MapFn<T>,
        ctx: &mut TaskContext,
        emit: &mut dyn Emit<T>,
    ) -> Result<()> {
        match (&split.source, input) {
            (
                SplitSource::Table {
                    table, start, stop, ..
                },
                Input::Table { scan, .. },
            ) => {
                // One pass over the split: leave the block cache to point reads, as
                // HBase's TableInputFormat jobs do (`setCacheBlocks(false)`).
                let s = Scan {
                    start_row: start.clone(),
                    stop_row: stop.clone(),
                    ..(**scan).clone()
                }
                .with_cache_blocks(false);
                let mut rows = self.conn.table(&table.to_string())?.scan_cells(&s)?;
                let mut builder = CellBatchBuilder::new();
                // Counted here and added once: the per-row bumps would cost as much as a
                // simple map function.
                let (mut records, mut cells) = (0i64, 0i64);
                let mut map_all = || -> Result<()> {
                    while let Some(row) = rows.next_row()? {
                        records += 1;
                        cells += row.len() as i64;
                        match map {
                            MapFn::Rows(f) => f(row, ctx, emit)?,
                            MapFn::Batches { f, batch_cells } => {
                                builder.push_row(row);
                                if builder.len() >= *batch_cells {
                                    f(&builder.finish()?, ctx, emit)?;
                                }
                            }
                        }
                    }
                    Ok(())
                };
                let result = map_all();
                ctx.incr(counters::FRAMEWORK, counters::MAP_INPUT_RECORDS, records);
                ctx.incr(counters::FRAMEWORK, counters::MAP_INPUT_CELLS, cells);
                result?;
                if let MapFn::Batches { f, .. } = map {
                    if !builder.is_empty() {
                        f(&builder.finish()?, ctx, emit)?;
                    }
                }
                Ok(())
            }
            (SplitSource::File(path), _) => {
                for batch in read_cell_file(path)? {
                    ctx.incr(
                        counters::FRAMEWORK,
                        counters::MAP_INPUT_CELLS,
                        batch.num_rows() as i64,
                    );
                    match map {
                        MapFn::Rows(f) => {
                            let mut cells = RowCells::new();
                            for row in batch_rows(&batch)? {
                                ctx.incr(counters::FRAMEWORK, counters::MAP_INPUT_RECORDS, 1);
                                cells.load(&row);
                                f(&cells, ctx, emit)?;
                            }
                        }
                        MapFn::Batches { f, .. } => {
                            ctx.incr(
                                counters::FRAMEWORK,
                                counters::MAP_INPUT_RECORDS,
                                batch.num_rows() as i64,
                            );
                            f(&batch, ctx, emit)?
                        }
                    }
                }
                Ok(())
            }
            (SplitSource::Table { .. }, Input::Files(_)) => Err(Error::InvalidArgument(
                "a table split needs a table input".into(),
            )),
        }
    }

    /// Runs a map-only job: map output records go straight to `output`, one task writer
    /// per split. On failure the output is aborted and the error names the split.
    pub fn run_map_only<O: Output>(
        &self,
        job: &Job<O::Record>,
        output: &O,
    ) -> Result<JobReport<O::Published>> {
        let splits = match self.splits(&job.input) {
            Ok(s) => s,
            Err(e) => {
                output.abort();
                return Err(e);
            }
        };
        let n = splits.len();
        let (tasks, mut counters) = map_tasks(splits);
        let pb = self.progress(&job.name, n);
        let run = self.execute(&job.name, tasks, &pb, &mut counters, &|t, ctx| {
            let split = t
                .split
                .as_ref()
                .ok_or_else(|| Error::InvalidArgument("map task without a split".into()))?;
            let mut writer = output.open(ctx.task())?;
            let mut written = 0i64;
            let r = {
                let mut sink = |rec: O::Record| {
                    written += 1;
                    writer.write(rec)
                };
                self.map_split(job, split, ctx, &mut FnEmit(&mut sink))
            };
            ctx.incr(counters::FRAMEWORK, counters::OUTPUT_RECORDS, written);
            match r {
                Ok(()) => writer.commit(),
                Err(e) => {
                    writer.abort();
                    Err(e)
                }
            }
        });
        pb.finish_and_clear();
        match run {
            Ok(_) => Ok(JobReport {
                name: job.name.clone(),
                splits: n,
                counters,
                output: output.commit()?,
            }),
            Err(e) => {
                output.abort();
                Err(e)
            }
        }
    }

    /// Runs a map/reduce job: map output `(K, V)` is partitioned, combined, sorted and
    /// shuffled (spilling past the memory limits) to `reduce.reducers` reduce tasks whose
    /// output goes to `output`.
    pub fn run_map_reduce<K, V, O>(
        &self,
        job: &Job<(K, V)>,
        reduce: &Reduce<K, V, O::Record>,
        output: &O,
    ) -> Result<JobReport<O::Published>>
    where
        K: Record + Ord + Clone + Sync,
        V: Record + Clone + Sync,
        O: Output,
    {
        let result = self.map_reduce_inner(job, reduce, output);
        if result.is_err() {
            output.abort();
        }
        result
    }

    fn map_reduce_inner<K, V, O>(
        &self,
        job: &Job<(K, V)>,
        reduce: &Reduce<K, V, O::Record>,
        output: &O,
    ) -> Result<JobReport<O::Published>>
    where
        K: Record + Ord + Clone + Sync,
        V: Record + Clone + Sync,
        O: Output,
    {
        let splits = self.splits(&job.input)?;
        let n = splits.len();
        let scratch = match &self.opts.scratch_dir {
            Some(d) => d.clone(),
            None => self.conn.server().root().join("staging"),
        };
        let dir = scratch.join(format!(
            "mapreduce-shuffle-{}-{}",
            std::process::id(),
            store_server::storefile::new_file_name()
        ));
        let partitioner = reduce
            .partitioner
            .clone()
            .unwrap_or_else(|| Arc::new(hash_partition::<K>));
        let shuffle: Shuffle<K, V> = Shuffle::new(
            dir,
            reduce.reducers,
            self.opts.shuffle,
            partitioner,
            reduce.combiner.clone(),
        )?;
        let (tasks, mut counters) = map_tasks(splits);
        let pb = self.progress(&job.name, n);
        let mapped = self.execute(&job.name, tasks, &pb, &mut counters, &|t, ctx| {
            let split = t
                .split
                .as_ref()
                .ok_or_else(|| Error::InvalidArgument("map task without a split".into()))?;
            let mut buffer = shuffle.buffer();
            let mut emitted = 0i64;
            let r = {
                let mut sink = |(k, v): (K, V)| {
                    emitted += 1;
                    buffer.emit(k, v)
                };
                self.map_split(job, split, ctx, &mut FnEmit(&mut sink))
            };
            ctx.incr(counters::FRAMEWORK, counters::MAP_OUTPUT_RECORDS, emitted);
            match r {
                Ok(()) => {
                    let out = buffer.finish(ctx.counters_mut())?;
                    shuffle.accept(out, ctx.counters_mut())
                }
                Err(e) => {
                    buffer.abandon();
                    Err(e)
                }
            }
        });
        pb.finish_and_clear();
        if let Err(e) = mapped {
            shuffle.cleanup();
            return Err(e);
        }
        let reduces = (0..shuffle.partitions())
            .map(|p| TaskDesc {
                kind: TaskKind::Reduce,
                index: p,
                split: None,
            })
            .collect();
        let reduced = self.execute(&job.name, reduces, &pb, &mut counters, &|t, ctx| {
            let mut writer = output.open(ctx.task())?;
            let mut merge_counters = Counters::new();
            let mut written = 0i64;
            let r = {
                let f = &reduce.reduce;
                let mut sink = |rec: O::Record| {
                    written += 1;
                    writer.write(rec)
                };
                let mut emit = FnEmit(&mut sink);
                shuffle.reduce_partition(t.index, &mut merge_counters, &mut |k, vals| {
                    f(k, vals, ctx, &mut emit)
                })
            };
            ctx.counters_mut().merge(&merge_counters);
            ctx.incr(
                counters::FRAMEWORK,
                counters::REDUCE_OUTPUT_RECORDS,
                written,
            );
            match r {
                Ok(()) => writer.commit(),
                Err(e) => {
                    writer.abort();
                    Err(e)
                }
            }
        });
        shuffle.cleanup();
        reduced?;
        Ok(JobReport {
            name: job.name.clone(),
            splits: n,
            counters,
            output: output.commit()?,
        })
    }

    /// Runs an arbitrary function once per split (with retries, progress and counters),
    /// returning its results in split order. For jobs that are neither map-only nor
    /// map/reduce, such as comparing two tables range by range.
    pub fn run_splits<R: Send>(
        &self,
        name: &str,
        splits: Vec<InputSplit>,
        f: impl Fn(&InputSplit, &mut TaskContext) -> Result<R> + Sync,
    ) -> Result<(Vec<R>, Counters)> {
        let n = splits.len();
        let (tasks, mut counters) = map_tasks(splits);
        let pb = self.progress(name, n);
        let r = self.execute(name, tasks, &pb, &mut counters, &|t, ctx| match &t.split {
            Some(s) => f(s, ctx),
            None => Err(Error::InvalidArgument("task without a split".into())),
        });
        pb.finish_and_clear();
        Ok((r?, counters))
    }
}
