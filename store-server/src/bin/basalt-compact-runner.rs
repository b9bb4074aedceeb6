//! Test helper for the compaction kill test: opens a store and runs a throttled major
//! compaction of one table, printing `STARTED` once the first region is done, so the
//! test can kill it mid-run.
//!
//! Usage: `basalt-compact-runner ROOT TABLE BYTES_PER_SEC`

use std::io::Write;

use store_server::compaction::tool::run::{run, RunOptions};
use store_server::{Config, Connection, TableName};

fn main() {
    if let Err(e) = main_inner() {
        eprintln!("basalt-compact-runner: {e}");
        std::process::exit(1);
    }
}

fn main_inner() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 4 {
        return Err("usage: basalt-compact-runner ROOT TABLE BYTES_PER_SEC".into());
    }
    let rate: u64 = args[3].parse()?;
    let config = Config {
        background: false,
        ..Config::default()
    };
    let conn = Connection::embedded_with_config(&args[1], config)?;
    let server = conn.server().clone();
    let opts = RunOptions {
        major: true,
        policy: server.config().compaction,
        throttle_bytes_per_sec: Some(rate),
        parallel: 1,
        max_duration: None,
        window: None,
        offline: false,
    };
    let t = TableName::parse(&args[2])?;
    run(&server, &[t], &opts, &|_p| {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "STARTED");
        let _ = out.flush();
    })?;
    conn.close()?;
    Ok(())
}
