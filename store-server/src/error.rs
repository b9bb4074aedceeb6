//! The one error type of the `store-server` crate.

use std::path::PathBuf;

/// Result alias used throughout the crate.
pub type Result<T> = std::result::Result<T, Error>;

/// Everything that can go wrong in the engine, the catalog or the client API.
///
/// Errors about on-disk data name the file and the byte offset; errors about user input name
/// the table, family or key involved.
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
    /// An error from the HFile layer (reading or writing a store file).
    #[error(transparent)]
    HFile(#[from] hfile::Error),
    /// Bytes on disk (WAL, catalog entry, `.regioninfo`) could not be decoded.
    #[error("{what}: corrupt at offset {offset}: {reason}")]
    Corrupt {
        /// What was being decoded (a file path or a catalog row).
        what: String,
        /// Byte offset of the problem.
        offset: u64,
        /// What was wrong.
        reason: String,
    },
    /// The named table does not exist.
    #[error("table not found: {0}")]
    TableNotFound(String),
    /// A table with this name already exists.
    #[error("table already exists: {0}")]
    TableExists(String),
    /// The operation needs an enabled table but this one is disabled.
    #[error("table is disabled: {0}")]
    TableDisabled(String),
    /// The operation needs a disabled table but this one is enabled.
    #[error("table is enabled (disable it first): {0}")]
    TableEnabled(String),
    /// A mutation or read named a column family the table does not have.
    #[error("table {table} has no column family '{family}'")]
    FamilyNotFound {
        /// The table.
        table: String,
        /// The unknown family (printable form).
        family: String,
    },
    /// A caller passed something invalid (empty row, oversized key, bad option...).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The region is closing or closed (split, disable); the client re-locates and retries.
    #[error("region {0} is not serving")]
    RegionNotServing(String),
    /// A bulk-loaded file's key range does not fit inside the region it was offered to.
    #[error("{0}")]
    BulkLoadOutOfRange(Box<OutOfRange>),
    /// A bulk-loaded file belongs to a different column family than the one it was offered as.
    #[error("bulk load file {file} holds family '{found}', expected '{expected}'")]
    BulkLoadWrongFamily {
        /// The offending file.
        file: PathBuf,
        /// The family the caller named.
        expected: String,
        /// The family found in the file.
        found: String,
    },
    /// The write-ahead log failed earlier and refuses further writes.
    #[error("write-ahead log failed: {0}")]
    WalFailed(String),
    /// The server or connection has been shut down.
    #[error("store is closed")]
    Closed,
    /// An operation did not complete in time (e.g. a region stayed offline too long).
    #[error("timed out: {0}")]
    Timeout(String),
    /// An Arrow record batch could not be built.
    #[error("arrow: {0}")]
    Arrow(#[from] arrow_schema::ArrowError),
}

/// Details of [`Error::BulkLoadOutOfRange`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutOfRange {
    /// The offending file.
    pub file: PathBuf,
    /// The region's name.
    pub region: String,
    /// The region's start key (printable).
    pub start: String,
    /// The region's end key (printable, empty = end of table).
    pub end: String,
    /// The file's first row (printable).
    pub first_row: String,
    /// The file's last row (printable).
    pub last_row: String,
}

impl std::fmt::Display for OutOfRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "bulk load file {} (rows {}..={}) straddles region {} [{}, {})",
            self.file.display(),
            self.first_row,
            self.last_row,
            self.region,
            self.start,
            self.end
        )
    }
}

impl Error {
    /// Builds an [`Error::Io`] naming `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// Builds an [`Error::Corrupt`].
    pub fn corrupt(what: impl Into<String>, offset: u64, reason: impl Into<String>) -> Self {
        Error::Corrupt {
            what: what.into(),
            offset,
            reason: reason.into(),
        }
    }
}
