//! Test helper for the crash test: opens a store, writes rows `start..` (each row's three
//! columns carry the same value, in one atomic put, SYNC durability) and prints `ACK <i>`
//! after each acknowledged put, until it is killed.
//!
//! Usage: `basalt-crash-writer ROOT TABLE START`

use std::io::Write;

use store_server::{Config, Connection, Put};

fn main() {
    if let Err(e) = run() {
        eprintln!("basalt-crash-writer: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 4 {
        return Err("usage: basalt-crash-writer ROOT TABLE START".into());
    }
    let start: u64 = args[3].parse()?;
    let config = Config {
        flush_size: 32 << 10,
        wal_roll_size: 16 << 10,
        max_file_size: 256 << 10,
        ..Config::default()
    };
    let conn = Connection::embedded_with_config(&args[1], config)?;
    let table = conn.table(&args[2])?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut i = start;
    loop {
        let v = format!("value-{i}-{}", "x".repeat((i % 7) as usize * 20));
        let row = format!("row{:08}", (i * 7919) % 1_000_000);
        table.put(
            &Put::new(row)
                .add("f", "a", v.clone())
                .add("f", "b", v.clone())
                .add("f", "c", v),
        )?;
        writeln!(out, "ACK {i}")?;
        out.flush()?;
        i += 1;
    }
}
