//! Basalt's parallel scan jobs: a map/reduce runner over the regions of a table, and the
//! built-in jobs (`rowcounter`, `cellcounter`, `copytable`, `export`, `import-export`,
//! `verify`).
//!
//! A [`Job`] reads an [`Input`] (a table scan, or export part files) cut into
//! [`InputSplit`]s: one per region, with large regions sub-split at their store files'
//! block-index keys so every core has work. Its map function sees rows (cells as stored)
//! or Arrow record batches of cells ([`batch`]). A map-only job writes straight to an
//! [`Output`]; a map/reduce job emits `(key, value)` pairs that are partitioned, combined,
//! sorted and spilled to disk past a memory budget ([`shuffle`]) before reduce tasks
//! write the output. The [`Runner`] runs tasks on a rayon pool, retries failed attempts,
//! and on a final failure names the split and publishes nothing. Outputs are a table
//! (HFiles handed to the engine's bulk load), Parquet or CSV part files, or memory.
//!
//! ```no_run
//! use mapreduce::{Input, Job, NullOutput, RunOptions, Runner};
//! use store_server::{Connection, Scan, TableName};
//! # fn main() -> mapreduce::Result<()> {
//! let conn = Connection::embedded("/tmp/basalt-data")?;
//! let runner = Runner::new(conn, RunOptions::default())?;
//! let input = Input::table(TableName::parse("users")?, Scan::new());
//! let job = Job::map_rows("count", input, |_row, ctx, _out: &mut dyn mapreduce::Emit<()>| {
//!     ctx.incr("Rows", "ROWS", 1);
//!     Ok(())
//! });
//! let report = runner.run_map_only(&job, &NullOutput::new())?;
//! println!("{}", report.counters);
//! # Ok(()) }
//! ```

pub mod batch;
pub mod counters;
pub mod error;
pub mod format;
pub mod job;
pub mod jobs;
pub mod output;
pub mod record;
pub mod runner;
pub mod shuffle;
pub mod split;

pub use counters::Counters;
pub use error::{Error, Result};
pub use format::FileFormat;
pub use job::{Emit, Input, Job, MapFn, Reduce, TaskContext};
pub use output::{FileOutput, MemoryOutput, NullOutput, Output, TableOutput, TaskWriter};
pub use record::Record;
pub use runner::{JobReport, RunOptions, Runner};
pub use shuffle::ShuffleConfig;
pub use split::{InputSplit, SplitPolicy, SplitSource};
