//! The one error type of the `hfile` crate.

use std::path::PathBuf;

/// Result alias used throughout the crate.
pub type Result<T> = std::result::Result<T, Error>;

/// Everything that can go wrong reading or writing an HFile.
///
/// Errors about file contents always carry the file path and the byte offset
/// where the problem was found, so an operator can locate the damage.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An operating-system I/O error on a file.
    #[error("{path}: {source}")]
    Io {
        /// The file being read or written.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The file's bytes do not form a valid HFile at `offset`.
    #[error("{path}: corrupt HFile at offset {offset}: {reason}")]
    Corrupt {
        /// The damaged file.
        path: PathBuf,
        /// Byte offset of the damaged structure.
        offset: u64,
        /// What was wrong.
        reason: String,
    },
    /// A block's stored checksum does not match its contents.
    #[error("{path}: checksum mismatch in block at offset {offset} (chunk {chunk}: stored {stored:#010x}, computed {computed:#010x})")]
    Checksum {
        /// The damaged file.
        path: PathBuf,
        /// Offset of the block whose checksum failed.
        offset: u64,
        /// Index of the failing checksum chunk within the block.
        chunk: usize,
        /// Checksum value stored in the file.
        stored: u32,
        /// Checksum computed over the block bytes.
        computed: u32,
    },
    /// The file uses a feature this implementation does not support.
    #[error("{path}: unsupported at offset {offset}: {what}")]
    Unsupported {
        /// The file.
        path: PathBuf,
        /// Offset of the unsupported structure.
        offset: u64,
        /// The unsupported feature.
        what: String,
    },
    /// Cells were appended out of order.
    #[error("cells out of order: {next} after {prev}")]
    OutOfOrder {
        /// The previously appended key (printable).
        prev: String,
        /// The offending key (printable).
        next: String,
    },
    /// A caller passed an invalid argument (e.g. a key that is too long).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
}

impl Error {
    /// Builds a [`Error::Corrupt`] for `path` at `offset`.
    pub fn corrupt(path: &std::path::Path, offset: u64, reason: impl Into<String>) -> Self {
        Error::Corrupt {
            path: path.to_path_buf(),
            offset,
            reason: reason.into(),
        }
    }

    /// Builds an [`Error::Io`] for `path`.
    pub fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        Error::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}
