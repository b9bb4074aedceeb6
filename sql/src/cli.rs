//! `basalt sql`: an interactive REPL (history, multi-line statements ending in `;`), or one
//! script from `-e "..."` / `-f file.sql`, printing results as a table, CSV or JSON. Errors
//! are one line on stderr; a script stops at the first failing statement.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use store_server::Connection;

use crate::error::{Result, SqlError};
use crate::format::{render, Format};
use crate::session::Session;

/// Arguments of `basalt sql`.
#[derive(Debug, Clone, clap::Args)]
#[command(
    after_help = "Examples:\n  basalt sql -e \"CREATE TABLE t (k VARCHAR PRIMARY KEY, v BIGINT)\"\n  basalt sql -e \"UPSERT INTO t VALUES ('a', 1); SELECT * FROM t\" --format csv\n  basalt sql -f report.sql\n  basalt sql            # interactive; end statements with ';', quit with \\q"
)]
pub struct SqlArgs {
    /// Run these statements (separated by ';') and exit.
    #[arg(short = 'e', long = "execute", conflicts_with = "file")]
    pub execute: Option<String>,
    /// Run the statements of this file and exit.
    #[arg(short = 'f', long = "file")]
    pub file: Option<PathBuf>,
    /// Output format of query results.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

/// The store root: `--root`, else `$BASALT_ROOT`, else `./basalt-data`.
pub fn resolve_root(root: Option<PathBuf>) -> PathBuf {
    root.or_else(|| std::env::var_os("BASALT_ROOT").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("basalt-data"))
}

/// A multi-threaded Tokio runtime for running sessions from synchronous code.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

/// Runs `basalt sql` against the store at `root`.
pub fn run_sql(root: Option<PathBuf>, args: SqlArgs) -> ExitCode {
    let root = resolve_root(root);
    let result = (|| -> Result<bool> {
        let conn = Arc::new(Connection::embedded(&root)?);
        let rt = runtime()?;
        let session = Session::new(conn.clone())?;
        let ok = match (&args.execute, &args.file) {
            (Some(sql), _) => run_script(&rt, &session, sql, args.format, &mut std::io::stdout()),
            (None, Some(f)) => {
                let sql = std::fs::read_to_string(f)
                    .map_err(|e| SqlError::invalid(format!("{}: {e}", f.display())))?;
                run_script(&rt, &session, &sql, args.format, &mut std::io::stdout())
            }
            (None, None) => repl(&rt, &session, args.format, &root)?,
        };
        conn.close()?;
        Ok(ok)
    })();
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("ERROR: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs every statement of `script`, printing each result to `out` and the first error to
/// stderr. Returns false if a statement failed.
pub fn run_script(
    rt: &tokio::runtime::Runtime,
    session: &Session,
    script: &str,
    format: Format,
    out: &mut dyn Write,
) -> bool {
    for stmt in crate::ddl::split_statements(script) {
        let r = rt
            .block_on(session.run(&stmt))
            .and_then(|o| render(&o, format));
        match r {
            Ok(text) => {
                if writeln!(out, "{text}").is_err() {
                    return false;
                }
            }
            Err(e) => {
                eprintln!("ERROR: {e}");
                return false;
            }
        }
    }
    true
}

/// True if `buf` holds a complete statement: it ends with `;` outside quotes.
pub fn statement_complete(buf: &str) -> bool {
    let mut quote: Option<char> = None;
    let mut last = None;
    for line in buf.lines() {
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            match quote {
                Some(q) if c == q => quote = None,
                Some(_) => {}
                None if c == '\'' || c == '"' => quote = Some(c),
                None if c == '-' && chars.peek() == Some(&'-') => break,
                None if !c.is_whitespace() => last = Some(c),
                None => {}
            }
        }
    }
    quote.is_none() && last == Some(';')
}

fn repl(
    rt: &tokio::runtime::Runtime,
    session: &Session,
    format: Format,
    root: &Path,
) -> Result<bool> {
    let mut rl = rustyline::DefaultEditor::new()
        .map_err(|e| SqlError::invalid(format!("cannot start the line editor: {e}")))?;
    let history = std::env::var_os("HOME")
        .map(PathBuf::from)
        .map(|h| h.join(".basalt_sql_history"));
    if let Some(h) = &history {
        let _ = rl.load_history(h);
    }
    println!(
        "basalt sql on {} — end statements with ';', \\q to quit",
        root.display()
    );
    let mut buf = String::new();
    loop {
        let prompt = if buf.is_empty() {
            "basalt> "
        } else {
            "     -> "
        };
        match rl.readline(prompt) {
            Ok(line) => {
                let t = line.trim();
                if buf.is_empty() && matches!(t, "\\q" | "quit" | "exit" | "quit;" | "exit;") {
                    break;
                }
                if buf.is_empty() && t.is_empty() {
                    continue;
                }
                buf.push_str(&line);
                buf.push('\n');
                if statement_complete(&buf) {
                    let stmt = std::mem::take(&mut buf);
                    let _ = rl.add_history_entry(stmt.trim());
                    run_script(rt, session, &stmt, format, &mut std::io::stdout());
                }
            }
            Err(rustyline::error::ReadlineError::Interrupted) => buf.clear(),
            Err(rustyline::error::ReadlineError::Eof) => break,
            Err(e) => return Err(SqlError::invalid(format!("line editor: {e}"))),
        }
    }
    if let Some(h) = &history {
        let _ = rl.save_history(h);
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_complete_at_semicolons_outside_quotes() {
        assert!(statement_complete("select 1;"));
        assert!(statement_complete("select\n 1 ;  \n"));
        assert!(!statement_complete("select ';'"));
        assert!(!statement_complete("select 1 -- done;"));
        assert!(!statement_complete("select 'a;"));
    }
}
