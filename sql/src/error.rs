//! The one error type of the `sql` crate. Every error renders as one line; errors about a
//! statement's text carry the line and column they refer to.

/// Result alias used throughout the crate.
pub type Result<T> = std::result::Result<T, SqlError>;

/// Everything that can go wrong while parsing, planning or running a statement.
#[derive(Debug, thiserror::Error)]
pub enum SqlError {
    /// The statement text could not be parsed.
    #[error("syntax error at line {line}, column {column}: {message}")]
    Syntax {
        /// What was wrong.
        message: String,
        /// 1-based line in the statement.
        line: u64,
        /// 1-based column in the statement.
        column: u64,
    },
    /// The statement is well-formed but cannot be executed (unknown column, bad type...).
    #[error("{0}")]
    Invalid(String),
    /// An error from the store (catalog, regions, I/O).
    #[error("store: {0}")]
    Store(#[from] store_server::Error),
    /// An error from DataFusion while planning or running a query (with the position in
    /// the statement when DataFusion knows it).
    #[error("{}", describe(.0))]
    DataFusion(Box<datafusion::error::DataFusionError>),
    /// An error from Arrow while converting data.
    #[error("arrow: {0}")]
    Arrow(#[from] datafusion::arrow::error::ArrowError),
    /// An I/O error (reading a script, writing output).
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl From<datafusion::error::DataFusionError> for SqlError {
    fn from(e: datafusion::error::DataFusionError) -> Self {
        SqlError::DataFusion(Box::new(e))
    }
}

impl SqlError {
    /// An [`SqlError::Invalid`] from any message.
    pub fn invalid(msg: impl Into<String>) -> SqlError {
        SqlError::Invalid(msg.into())
    }
}

/// DataFusion errors can span lines (context chains, backtraces); keep the first
/// meaningful line so the CLI prints one clear line.
fn one_line(e: &datafusion::error::DataFusionError) -> String {
    let s = e.strip_backtrace();
    let s = s.trim();
    let first = s.lines().next().unwrap_or("").trim();
    first.to_string()
}

/// One line for a DataFusion error, prefixed with the line and column of the part of the
/// statement it is about when DataFusion's diagnostics carry one.
fn describe(e: &datafusion::error::DataFusionError) -> String {
    let text = one_line(e);
    match e.diagnostic().and_then(|d| d.span) {
        Some(span) if span.start.line > 0 => format!(
            "at line {}, column {}: {text}",
            span.start.line, span.start.column
        ),
        _ => text,
    }
}

/// Converts to a DataFusion error (for use inside `TableProvider`/`ExecutionPlan` code).
pub fn to_df(e: impl std::fmt::Display) -> datafusion::error::DataFusionError {
    datafusion::error::DataFusionError::External(e.to_string().into())
}
