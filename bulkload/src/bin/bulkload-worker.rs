//! `bulkload-worker`: runs one CSV import into an embedded store in its own process, so
//! crash tests can `kill -9` an import at a known point of the load phase.
//!
//! ```text
//! bulkload-worker ROOT TABLE INPUT COLUMNS TIMESTAMP PAUSE_AFTER_REGIONS
//! ```
//!
//! Loads one region at a time; once `PAUSE_AFTER_REGIONS` regions (0 = never) have taken
//! their files it prints `PAUSED` on stdout and waits forever (to be killed). Otherwise it
//! prints the import summary and exits 0; on error it prints the error and exits 1.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bulkload::partition::RegionSpan;
use bulkload::{ColumnSpec, ImportOptions, LoadHooks, SourceOptions};
use store_server::{Config, Connection};

struct PauseAfter {
    regions: usize,
    loaded: AtomicUsize,
}

impl LoadHooks for PauseAfter {
    fn region_loaded(&self, _region: &RegionSpan, _files: usize) {
        let n = self.loaded.fetch_add(1, Ordering::SeqCst) + 1;
        if self.regions > 0 && n >= self.regions {
            let mut out = std::io::stdout();
            let _ = writeln!(out, "PAUSED");
            let _ = out.flush();
            loop {
                std::thread::park();
            }
        }
    }
}

fn run(args: &[String]) -> Result<(), Box<dyn std::error::Error>> {
    let [root, table, input, columns, ts, pause] = args else {
        return Err(
            "usage: bulkload-worker ROOT TABLE INPUT COLUMNS TIMESTAMP PAUSE_AFTER_REGIONS".into(),
        );
    };
    let conn = Connection::embedded_with_config(
        PathBuf::from(root),
        Config {
            background: false,
            ..Config::default()
        },
    )?;
    let opts = ImportOptions {
        table: table.clone(),
        inputs: vec![PathBuf::from(input)],
        source: SourceOptions::default(),
        columns: Some(ColumnSpec::parse(columns)?),
        timestamp: Some(ts.parse()?),
        threads: Some(1),
        hooks: Some(Arc::new(PauseAfter {
            regions: pause.parse()?,
            loaded: AtomicUsize::new(0),
        })),
        ..ImportOptions::default()
    };
    let summary = bulkload::run_import(&conn, &opts)?;
    println!("{summary}");
    conn.close()?;
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bulkload-worker: {e}");
            ExitCode::FAILURE
        }
    }
}
