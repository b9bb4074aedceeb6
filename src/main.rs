//! The `basalt` command-line tool: one binary for every Basalt job.
//!
//! Today it carries `basalt hfile` (inspect, verify and rewrite HFiles, and a guided tour);
//! the engine, bulk load, map/reduce and SQL commands join it as their crates land.

mod cli;
mod compact;
mod display;
mod error;
mod import;
mod jobs;
mod quickstart;
mod sample;
mod shell;

use std::process::ExitCode;

use clap::Parser;

/// mimalloc rather than glibc's malloc: the engine's read path makes many short-lived
/// allocations from several threads at once, where glibc's bins cost a third of a get.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(code) => code,
        // `basalt hfile cells F | head` closes the pipe early; that is not an error.
        Err(e) if e.is_broken_pipe() => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("basalt: error: {e}");
            ExitCode::FAILURE
        }
    }
}
