//! Basalt benchmarks against peers, run in one process on the same generated data.
//!
//! * `bench hfile` — the `hfile` crate's writer and reader vs RocksDB's SST writer/reader and
//!   Parquet: write, full scan, random gets, memory.
//! * `bench scanjob` — `rowcounter`/`cellcounter` over a multi-region table with 1 and 2
//!   threads vs a raw HFile scan and DuckDB over Parquet.
//! * `bench compact` — a major compaction of overlapping HFiles vs the same merge with the
//!   `hfile` crate alone and RocksDB's manual compaction.
//! * `bench import` — CSV bulk import vs DuckDB CSV→Parquet, the put path and RocksDB's
//!   SST ingestion.
//! * `bench ycsb` — YCSB workloads A, B, C and E through the embedded `Table` API vs
//!   RocksDB, with synced WAL writes.
//! * `bench sql` — the SQL layer on a typed table vs DataFusion and DuckDB over Parquet:
//!   point lookups, key ranges, IN lists, aggregates, top-N, non-key filters.
//!
//! Each prints a markdown report of medians and ratios (`--out FILE` saves it too).

mod alloc;
mod compact_cmd;
mod cpu;
mod csvgen;
mod data;
mod duckdb_peer;
mod engine;
mod hfile_bench;
mod hfile_cmd;
mod idle;
mod import_cmd;
mod mem;
mod merge;
mod parquet_peer;
mod put_load;
mod report;
mod rocksdb_compact;
mod rocksdb_import;
mod rocksdb_peer;
mod rowgen;
mod scanjob_cmd;
mod scratch;
mod sql_cmd;
mod sql_suite;
mod sqlgen;
mod stats;
mod threads;
mod ycsb;
mod ycsb_cmd;
mod ycsb_store;

use clap::{Parser, Subcommand};

#[global_allocator]
static GLOBAL: alloc::CountingAlloc = alloc::CountingAlloc;

/// An error from any peer, boxed.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Results of the benchmarks.
pub type Result<T> = std::result::Result<T, BoxError>;

#[derive(Parser)]
#[command(
    name = "bench",
    about = "Basalt benchmarks against peers (RocksDB, Parquet, DuckDB)",
    after_help = "Examples:\n  cargo run --release -p bench -- hfile --cells 1000000 --runs 3\n  cargo run --release -p bench -- scanjob --rows 1000000 --runs 3\n  cargo run --release -p bench -- sql --rows 1000000 --runs 5"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// HFile writer/reader vs RocksDB SST and Parquet: write, full scan, random gets, memory.
    Hfile(hfile_cmd::HfileArgs),
    /// rowcounter/cellcounter with 1 and 2 threads vs a raw HFile scan and DuckDB.
    Scanjob(scanjob_cmd::ScanjobArgs),
    /// Major compaction of 12 overlapping HFiles vs an hfile-only merge and RocksDB.
    Compact(compact_cmd::CompactArgs),
    /// CSV bulk import vs DuckDB CSV→Parquet, the put path and RocksDB SST ingestion.
    Import(import_cmd::ImportArgs),
    /// One Basalt import in this process (`bench import` runs each in a fresh one).
    #[command(hide = true)]
    ImportOnce(import_cmd::ImportOnceArgs),
    /// YCSB workloads A, B, C, E through the embedded Table API vs RocksDB.
    Ycsb(ycsb_cmd::YcsbArgs),
    /// SQL on a typed table vs DataFusion and DuckDB over Parquet (issue 6's query suite).
    Sql(sql_cmd::SqlArgs),
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Hfile(args) => hfile_cmd::run(&args),
        Command::Scanjob(args) => scanjob_cmd::run(&args),
        Command::Compact(args) => compact_cmd::run(&args),
        Command::Import(args) => import_cmd::run(&args),
        Command::ImportOnce(args) => import_cmd::import_once(&args),
        Command::Ycsb(args) => ycsb_cmd::run(&args),
        Command::Sql(args) => sql_cmd::run(&args),
    };
    if let Err(e) = result {
        eprintln!("bench: error: {e}");
        std::process::exit(1);
    }
}
