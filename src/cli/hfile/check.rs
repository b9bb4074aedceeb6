//! `basalt hfile check`: full verification of one or more files (see `hfile::verify`).

use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use hfile::verify::{check, Report};

use crate::display;
use crate::error::Result;

/// Arguments of `basalt hfile check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The HFiles to verify.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

/// Runs `basalt hfile check`; returns whether every file is sound.
pub fn run(args: &CheckArgs, out: &mut dyn Write) -> Result<bool> {
    let mut failed = 0usize;
    for file in &args.files {
        let report = check(file);
        print_report(&report, out)?;
        if !report.is_sound() {
            failed += 1;
        }
        out.flush()?;
    }
    if args.files.len() > 1 {
        writeln!(
            out,
            "checked {} files: {} OK, {} with problems",
            args.files.len(),
            args.files.len() - failed,
            failed
        )?;
    }
    Ok(failed == 0)
}

/// Prints one file's problems (`FILE: offset N: message`) and its summary line.
pub fn print_report(report: &Report, out: &mut dyn Write) -> Result<()> {
    let name = report.path.display();
    for p in &report.problems {
        writeln!(out, "{name}: offset {}: {}", p.offset, p.message)?;
    }
    if report.omitted_problems > 0 {
        writeln!(
            out,
            "{name}: ... and {} more problems not listed",
            report.omitted_problems
        )?;
    }
    let counts = format!(
        "{} cells, {} blocks",
        display::count(report.cells),
        display::count(report.blocks)
    );
    if report.is_sound() {
        writeln!(out, "{name}: OK ({counts})")?;
    } else {
        let n = report.problems.len() + report.omitted_problems;
        writeln!(out, "{name}: FAILED: {n} problem(s) ({counts})")?;
    }
    Ok(())
}
