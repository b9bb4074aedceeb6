//! The one error type of the `basalt` CLI.

use std::path::PathBuf;

/// Result alias of the CLI.
pub type Result<T> = std::result::Result<T, Error>;

/// Everything a `basalt` command can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading or writing an HFile failed (the message names the file and offset).
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
    /// Writing to standard output failed (for example, the reader of a pipe went away).
    #[error("writing output: {0}")]
    Output(#[source] std::io::Error),
    /// The command line asks for something that cannot be done.
    #[error("{0}")]
    Usage(String),
    /// A step of a job found something wrong (the message says what).
    #[error("{0}")]
    Failed(String),
}

impl Error {
    /// Builds an [`Error::Io`] for `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// True when output went to a closed pipe (`basalt hfile cells F | head`): not a failure.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, Error::Output(e) if e.kind() == std::io::ErrorKind::BrokenPipe)
    }
}

impl From<std::io::Error> for Error {
    /// I/O errors without a path come from writing the command's output.
    fn from(e: std::io::Error) -> Self {
        Error::Output(e)
    }
}
