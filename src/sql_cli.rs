//! `basalt sql` (REPL, `-e`, `-f`, `--format table|csv|json`) and `basalt sql-server`
//! (Arrow Flight SQL endpoint). The work is done by the `sql` crate; this module only
//! exposes its clap arguments and entry points to the CLI.
//!
//! Wiring (in the CLI's subcommand enum and dispatch):
//! `Sql(sql_cli::SqlArgs)` → `sql_cli::run_sql(root, args)` and
//! `SqlServer(sql_cli::SqlServerArgs)` → `sql_cli::run_server(root, args)`.

use std::path::PathBuf;
use std::process::ExitCode;

pub use sql::cli::SqlArgs;
pub use sql::flight::SqlServerArgs;

/// Runs `basalt sql` on the store at `root` (`--root`, else `$BASALT_ROOT`, else
/// `./basalt-data`).
pub fn run_sql(root: Option<PathBuf>, args: SqlArgs) -> ExitCode {
    sql::cli::run_sql(root, args)
}

/// Runs `basalt sql-server` on the store at `root`.
pub fn run_server(root: Option<PathBuf>, args: SqlServerArgs) -> ExitCode {
    sql::flight::run_server(root, args)
}
