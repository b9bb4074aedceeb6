//! Basalt benchmarks against peers, run in one process on the same generated data.
//!
//! `cargo run --release -p bench -- hfile [--cells N] [--runs R] [--dir D]` compares the `hfile`
//! crate's writer and reader with RocksDB's SST writer/reader and with Parquet, and prints a
//! markdown table of medians and ratios. Further benchmarks are further subcommands.

mod alloc;
mod cpu;
mod data;
mod hfile_bench;
mod hfile_cmd;
mod mem;
mod parquet_peer;
mod rocksdb_peer;
mod stats;

use clap::{Parser, Subcommand};

#[global_allocator]
static GLOBAL: alloc::CountingAlloc = alloc::CountingAlloc;

/// Errors from any peer, boxed.
pub type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

#[derive(Parser)]
#[command(
    name = "bench",
    about = "Basalt benchmarks against peers (RocksDB, Parquet)",
    after_help = "Example:\n  cargo run --release -p bench -- hfile --cells 1000000 --runs 3"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// HFile writer/reader vs RocksDB SST and Parquet: write, full scan, random gets, memory.
    Hfile(hfile_cmd::HfileArgs),
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Hfile(args) => hfile_cmd::run(&args),
    };
    if let Err(e) = result {
        eprintln!("bench: error: {e}");
        std::process::exit(1);
    }
}
