//! Basalt's bulk import: CSV/TSV, Parquet and JSON-lines files → sorted HFiles → live
//! regions, without pushing rows through the write path.
//!
//! The pipeline, one module per step:
//!
//! 1. [`spec`] — the column mapping (HBase ImportTsv's `HBASE_ROW_KEY,cf:a,cf:b,HBASE_TS_KEY`,
//!    or field names such as a CSV header's `cf:q`).
//! 2. [`source`] — readers for [`source::csv`], [`source::parquet`] and [`source::jsonl`],
//!    parallel over files and over pieces of large CSV/TSV files, with bad-line handling (abort naming file:line:column, or skip
//!    and record the original text and reason).
//! 3. [`cells`] — records become compact cells in memory, routed into key-range
//!    [`bucket`]s whose memory (byte chunks and [`group_array`]s, mapped in small pages) is
//!    given back as soon as their HFiles are written.
//! 4. [`sort`] — a parallel (rayon) external sort bounded by a memory budget: spilled runs
//!    are LZ4 HFiles merged with a k-way merge; [`row_sort`] orders a buffer by sorting
//!    its records' rows rather than every cell.
//! 5. [`partition`] — region boundaries from the live table, or sampled split points when
//!    the import creates the table (`--presplit`), or salt buckets.
//! 6. [`hfiles`] — one HFile per region per family, rolled at a size limit, with the
//!    family's compression, encoding, Bloom filter and block size (`DIR/<family>/<hfile>`).
//! 7. [`load`] — the hand-off to the live regions (the import's own files are moved, those of
//!    `basalt load` copied), atomic per region, cutting files at
//!    boundaries that moved and retrying, as HBase's `LoadIncrementalHFiles` does.
//! 8. [`report`] — progress bars and the final summary.
//!
//! [`import::run_import`] runs the whole job, [`import::run_load`] only the last step.
//!
//! # Re-running an import
//!
//! A re-run of the same import leaves the same table contents. Cells get their timestamp
//! from the record's `HBASE_TS_KEY` field, else from `--timestamp`, else from the newest
//! modification time among the input files — never from the clock — so a re-run writes the
//! very same cells (row, column, timestamp, value). Loading a cell that is already there
//! only adds an identical version, which reads return once and compactions drop. A run
//! killed mid-load is therefore completed by running it again; its staging directory
//! (named after a fingerprint of table, inputs, mapping and timestamp) is wiped and rebuilt.
//! When two records write the same cell, the later in input order (file order, then line)
//! wins, independent of thread timing.

pub mod bucket;
pub mod cells;
pub mod error;
pub mod group_array;
pub mod hfiles;
pub mod import;
pub mod load;
pub mod partition;
pub mod report;
pub mod row_sort;
pub mod sort;
pub mod source;
pub mod spec;
pub mod typed;

pub use error::{Error, Result};
pub use import::{parse_families, run_import, run_load, ImportOptions};
pub use load::{BulkTarget, LoadHooks};
pub use report::{ImportSummary, LoadSummary};
pub use source::{Format, SourceOptions};
pub use spec::ColumnSpec;
