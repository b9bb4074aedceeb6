//! The one error type of the `mapreduce` crate.

use std::path::PathBuf;

/// Result alias of the crate.
pub type Result<T> = std::result::Result<T, Error>;

/// Everything a job can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The engine refused or failed an operation (unknown table, bulk load, scan ...).
    #[error(transparent)]
    Store(#[from] store_server::Error),
    /// Reading or writing an HFile failed.
    #[error(transparent)]
    HFile(#[from] hfile::Error),
    /// A file-system operation on `path` failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Reading or writing a Parquet file failed.
    #[error("parquet {path}: {message}")]
    Parquet {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// Building or reading an Arrow record batch failed.
    #[error("arrow: {0}")]
    Arrow(#[from] arrow_schema::ArrowError),
    /// Reading or writing a CSV file failed.
    #[error("csv {path}: {message}")]
    Csv {
        /// The file.
        path: PathBuf,
        /// What went wrong (with the line number when known).
        message: String,
    },
    /// A file does not hold what it should (bad export file, bad spill run ...).
    #[error("{what}: {reason}")]
    Format {
        /// The file or object.
        what: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The job was asked for something that cannot be done.
    #[error("{0}")]
    InvalidArgument(String),
    /// The output location already holds data (outputs never overwrite).
    #[error("output {0} already exists and is not empty")]
    OutputExists(PathBuf),
    /// A user map, combine or reduce function failed.
    #[error("{0}")]
    User(String),
    /// A task panicked.
    #[error("task panicked: {0}")]
    Panic(String),
    /// A task failed on every attempt; the job failed and published nothing.
    #[error("job {job}: {task} failed after {attempts} attempt(s): {source}")]
    TaskFailed {
        /// The job's name.
        job: String,
        /// The failed task, naming its split (table, region, row range).
        task: String,
        /// Attempts made.
        attempts: u32,
        /// The last attempt's error.
        #[source]
        source: Box<Error>,
    },
    /// The job was cancelled because another task failed.
    #[error("cancelled after another task failed")]
    Cancelled,
}

impl Error {
    /// Builds an [`Error::Io`] for `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// Builds an [`Error::User`] (for map, combine and reduce functions).
    pub fn user(message: impl Into<String>) -> Self {
        Error::User(message.into())
    }

    /// Builds an [`Error::Format`].
    pub fn format(what: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::Format {
            what: what.into(),
            reason: reason.into(),
        }
    }
}
