//! The one error type of the `bulkload` crate.

use std::path::PathBuf;

/// Result alias used throughout the crate.
pub type Result<T> = std::result::Result<T, Error>;

/// Everything that can go wrong importing or loading.
///
/// Errors about input data name the file, the line (record number for Parquet), the
/// 1-based column and the reason; errors about the table name the table, family or region.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An operating-system I/O error on a file or directory.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A malformed input record (aborts the import unless bad lines are skipped).
    #[error("{file}:{line}:{column}: {reason}")]
    BadLine {
        /// The input file.
        file: PathBuf,
        /// 1-based line number (for Parquet: 1-based row number).
        line: u64,
        /// 1-based column (field) number; 0 when the whole record is at fault.
        column: usize,
        /// What is wrong.
        reason: String,
    },
    /// A piece of a CSV file cut for parallel reading did not begin at a record boundary
    /// (quoting that breaks RFC 4180); the import reads such files whole instead.
    #[error("{file}: byte {offset} is inside a record; the file cannot be read in pieces")]
    UnsplittableInput {
        /// The input file.
        file: PathBuf,
        /// Where the piece began.
        offset: u64,
    },
    /// An input file could not be decoded at all (not a record-level problem).
    #[error("{file}: {reason}")]
    BadInput {
        /// The input file.
        file: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The column specification (`--columns`) or the header it was matched against is invalid.
    #[error("column spec: {0}")]
    Spec(String),
    /// An option value is invalid or options contradict each other.
    #[error("invalid option: {0}")]
    InvalidOption(String),
    /// The target table does not exist (and `--create` was not given).
    #[error("table not found: {0} (pass --create FAMILIES to create it)")]
    TableNotFound(String),
    /// Input columns or HFiles name a family the table does not have.
    #[error("table {table} has no column family '{family}' (named by {origin})")]
    UnknownFamily {
        /// The table.
        table: String,
        /// The family (printable).
        family: String,
        /// Where the family came from (a column spec entry or an HFile path).
        origin: String,
    },
    /// `--output-dir` already holds files from another run.
    #[error("output directory {0} is not empty")]
    OutputDirNotEmpty(PathBuf),
    /// The load could not place every file after the allowed number of rounds.
    #[error("bulk load of {table} gave up after {rounds} rounds with {remaining} file(s) unplaced; last problem: {last}")]
    TooManyRounds {
        /// The table.
        table: String,
        /// Rounds tried.
        rounds: usize,
        /// Files still not loaded.
        remaining: usize,
        /// The last retryable error seen.
        last: String,
    },
    /// A region's boundaries changed (split, moved) while a load was offered to it; the load
    /// loop re-reads the boundaries and retries.
    #[error("region {region} changed during the load: {reason}")]
    RegionChanged {
        /// The region's printable name.
        region: String,
        /// What the engine said.
        reason: String,
    },
    /// An HFile could not be read or written.
    #[error(transparent)]
    HFile(#[from] hfile::Error),
    /// The storage engine refused an operation.
    #[error(transparent)]
    Store(#[from] store_server::Error),
    /// Reading a Parquet file failed.
    #[error("{file}: parquet: {reason}")]
    Parquet {
        /// The input file.
        file: PathBuf,
        /// What the Parquet reader said.
        reason: String,
    },
    /// A worker thread panicked (a bug; the import is abandoned before anything is loaded).
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// Builds an [`Error::Io`] for `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// True for errors that a later load round may cure (the region layout changed).
    pub fn is_retryable(&self) -> bool {
        matches!(self, Error::RegionChanged { .. })
    }
}
