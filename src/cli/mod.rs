//! Command-line parsing (clap) and dispatch to the subcommands.

pub mod hfile;
pub mod tour;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::error::Result;

/// Top-level command line.
#[derive(Debug, Parser)]
#[command(
    name = "basalt",
    version,
    about = "Basalt: an HBase-architecture store in Rust, for bulk loading and batch analytics",
    after_help = "Start here:\n  basalt hfile tour          write, inspect, check and rewrite a sample HFile\n  basalt hfile --help        the HFile tool (info, cells, check, rewrite)"
)]
pub struct Cli {
    /// Store root directory (default: $BASALT_ROOT or ./basalt-data).
    #[arg(long, global = true, value_name = "DIR")]
    pub root: Option<std::path::PathBuf>,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands of `basalt`.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// The whole job on the embedded store: bulk import, queries, scan jobs, compaction.
    Quickstart(crate::quickstart::QuickstartArgs),
    /// Inspect, verify and rewrite HFiles (like HBase's `hbase hfile`).
    Hfile(hfile::HfileArgs),
    /// Bulk-import CSV/TSV/Parquet/JSON-lines files into a table through sorted HFiles.
    Import(crate::import::ImportArgs),
    /// Load a directory of HFiles (DIR/<family>/<hfile>) into a table, atomically per region
    /// (the files are copied; DIR is left as it was).
    Load(crate::import::LoadArgs),
    /// Nightly compaction tooling: plan, run and report (`basalt compact --help`).
    #[command(subcommand)]
    Compact(crate::compact::CompactCommand),
    /// SQL over the store (REPL, -e, -f). Example: basalt sql -e "SELECT * FROM t"
    Sql(sql::cli::SqlArgs),
    /// Arrow Flight SQL endpoint. Example: basalt sql-server --port 50051
    SqlServer(sql::flight::SqlServerArgs),
    /// Parallel scan jobs over regions (rowcounter, cellcounter, copytable, export, ...).
    #[command(flatten)]
    Jobs(crate::jobs::JobCommand),
    /// HBase shell verbs on the embedded store (create, put, get, scan, ..., shell).
    #[command(flatten)]
    Shell(crate::shell::ShellCommand),
}

/// Runs a parsed command line; the exit code tells scripts whether the job succeeded.
pub fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Hfile(args) => hfile::run(args),
        Command::Quickstart(args) => crate::quickstart::run(cli.root, args),
        Command::Import(args) => crate::import::run_import(cli.root, args),
        Command::Load(args) => crate::import::run_load(cli.root, args),
        Command::Compact(cmd) => Ok(crate::compact::main(cli.root, cmd)),
        Command::Sql(a) => Ok(sql::cli::run_sql(cli.root, a)),
        Command::SqlServer(a) => Ok(sql::flight::run_server(cli.root, a)),
        Command::Jobs(cmd) => Ok(crate::jobs::main(cli.root, cmd)),
        Command::Shell(cmd) => Ok(crate::shell::main(cli.root, cmd)),
    }
}
