//! `basalt quickstart`: the whole job on the embedded store, as a user would run it.
//!
//! Generates a realistic event dataset, creates a pre-split table, bulk-imports it, queries
//! it, runs scan jobs, applies updates and deletes, major-compacts, and prints what every
//! step took. Each step runs this same binary's public subcommand in a child process, so
//! what the quickstart shows is exactly what the listed commands do.

use std::fmt::Write as _;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

use clap::Args;

use crate::error::{Error, Result};

/// Arguments of `basalt quickstart`.
#[derive(Debug, Args)]
#[command(after_help = "Example:\n  basalt quickstart --rows 200000 --root /tmp/basalt-demo")]
pub struct QuickstartArgs {
    /// Rows of sample data to generate and import.
    #[arg(long, default_value_t = 1_000_000)]
    pub rows: u64,
    /// Regions to pre-split the table into.
    #[arg(long, default_value_t = 8)]
    pub regions: u32,
}

/// The table the quickstart (re)creates.
const TABLE: &str = "events";
/// Countries of the sample events.
const COUNTRIES: [&str; 8] = ["DE", "FR", "US", "BR", "JP", "IN", "GB", "NL"];
/// Kinds of the sample events.
const KINDS: [&str; 4] = ["view", "click", "cart", "buy"];

/// One step's record for the final summary.
struct Step {
    name: String,
    seconds: f64,
}

/// Runs the quickstart against `root` (the global `--root`).
pub fn run(root: Option<PathBuf>, args: QuickstartArgs) -> Result<ExitCode> {
    let root = crate::shell::resolve_root(root);
    let exe = std::env::current_exe().map_err(|e| Error::io("current executable", e))?;
    let work = root.join("quickstart");
    std::fs::create_dir_all(&work).map_err(|e| Error::io(&work, e))?;
    let mut steps = Vec::new();
    let total = Instant::now();
    println!(
        "Basalt quickstart: {} rows into table `{TABLE}` under {}\n",
        args.rows,
        root.display()
    );

    // 1. Data.
    let csv = work.join("events.csv");
    let t = Instant::now();
    let bytes = generate_csv(&csv, args.rows)?;
    steps.push(Step {
        name: format!(
            "generate {} rows ({:.1} MB CSV)",
            args.rows,
            bytes as f64 / 1e6
        ),
        seconds: t.elapsed().as_secs_f64(),
    });
    println!(
        "[1] generated {} ({:.1} MB)\n",
        csv.display(),
        bytes as f64 / 1e6
    );

    let basalt = |step: &str, argv: &[&str], steps: &mut Vec<Step>| -> Result<String> {
        run_step(&exe, &root, step, argv, steps)
    };
    // A clean slate: drop the table of an earlier run.
    let _ = Command::new(&exe)
        .arg("--root")
        .arg(&root)
        .args(["disable", TABLE])
        .output();
    let _ = Command::new(&exe)
        .arg("--root")
        .arg(&root)
        .args(["drop", TABLE])
        .output();

    // 2. Table + bulk import.
    let regions = args.regions.max(1).to_string();
    basalt(
        "[2] create a pre-split table",
        &[
            "create",
            TABLE,
            "d:COMPRESSION=LZ4,DATA_BLOCK_ENCODING=FAST_DIFF,BLOOMFILTER=ROW,VERSIONS=3",
            "--presplit",
            &regions,
            "--algo",
            "hex",
        ],
        &mut steps,
    )?;
    let csv_arg = csv.to_string_lossy().into_owned();
    basalt(
        "[3] bulk import the CSV (sorted HFiles handed to the regions)",
        &["import", TABLE, &csv_arg, "--header", "--quiet"],
        &mut steps,
    )?;

    // 3. Queries.
    let probe = row_key(args.rows / 2);
    basalt("[4] key lookup", &["get", TABLE, &probe], &mut steps)?;
    let prefix = &probe[..3];
    basalt(
        "[5] key range (prefix scan, first 5 rows)",
        &["scan", TABLE, "--prefix", prefix, "--limit", "5"],
        &mut steps,
    )?;
    basalt(
        "[6] SQL aggregate over the raw table",
        &["sql", "-e", "SELECT \"d:country\" AS country, COUNT(*) AS events FROM events GROUP BY \"d:country\" ORDER BY events DESC"],
        &mut steps,
    )?;

    // 4. Scan jobs.
    basalt(
        "[7] rowcounter (map/reduce over regions)",
        &["rowcounter", TABLE, "--quiet"],
        &mut steps,
    )?;
    let export_dir = work.join("export");
    let _ = std::fs::remove_dir_all(&export_dir);
    let export_arg = export_dir.to_string_lossy().into_owned();
    basalt(
        "[8] export to Parquet (one file per split)",
        &[
            "export",
            TABLE,
            &export_arg,
            "--format",
            "parquet",
            "--quiet",
        ],
        &mut steps,
    )?;

    // 5. Updates and deletes through the write path, then a major compaction.
    let script = updates_script(args.rows);
    run_script_step(
        &exe,
        &root,
        "[9] updates and deletes (basalt shell)",
        &script,
        &mut steps,
    )?;
    basalt("[10] flush", &["flush", TABLE], &mut steps)?;
    basalt(
        "[11] major compaction",
        &["major-compact", TABLE],
        &mut steps,
    )?;
    basalt("[12] count after deletes", &["count", TABLE], &mut steps)?;

    // Summary.
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Summary ({:.1}s in all)",
        total.elapsed().as_secs_f64()
    );
    for s in &steps {
        let _ = writeln!(out, "  {:>7.2}s  {}", s.seconds, s.name);
    }
    let r = root.display();
    let _ = writeln!(
        out,
        "\nTry next:\n  basalt --root {r} scan {TABLE} --limit 10\n  basalt --root {r} sql   (SQL REPL; try: SELECT COUNT(*) FROM {TABLE})\n  basalt --root {r} regions {TABLE}\n  basalt --root {r} cellcounter {TABLE}\n  basalt --root {r} verify {TABLE} {TABLE}\n  basalt hfile info <a file listed by `regions`>\n  basalt --help"
    );
    print!("{out}");
    Ok(ExitCode::SUCCESS)
}

/// Runs `basalt --root ROOT ARGV...`, prints its output, and records the step.
fn run_step(
    exe: &Path,
    root: &Path,
    name: &str,
    argv: &[&str],
    steps: &mut Vec<Step>,
) -> Result<String> {
    println!("{name}\n  $ basalt {}", argv.join(" "));
    let t = Instant::now();
    let out = Command::new(exe)
        .arg("--root")
        .arg(root)
        .args(argv)
        .output()
        .map_err(|e| Error::io(exe, e))?;
    let seconds = t.elapsed().as_secs_f64();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    print_indented(&stdout);
    if !out.status.success() {
        return Err(Error::Failed(format!(
            "step `basalt {}` failed: {}",
            argv.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    println!("  ({seconds:.2}s)\n");
    steps.push(Step {
        name: name
            .trim_start_matches(|c: char| c == '[' || c.is_ascii_digit() || c == ']' || c == ' ')
            .to_string(),
        seconds,
    });
    Ok(stdout)
}

/// Runs a `basalt shell` script from standard input as one step.
fn run_script_step(
    exe: &Path,
    root: &Path,
    name: &str,
    script: &str,
    steps: &mut Vec<Step>,
) -> Result<()> {
    println!(
        "{name}\n  $ basalt shell < updates.txt   ({} commands)",
        script.lines().count()
    );
    let t = Instant::now();
    let mut child = Command::new(exe)
        .arg("--root")
        .arg(root)
        .arg("shell")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| Error::io(exe, e))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(script.as_bytes())
            .map_err(|e| Error::io("shell stdin", e))?;
    }
    let out = child.wait_with_output().map_err(|e| Error::io(exe, e))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let ok = stdout.lines().filter(|l| *l == "OK").count();
    let errors: Vec<&str> = stdout.lines().filter(|l| l.starts_with("ERROR")).collect();
    if !out.status.success() || !errors.is_empty() {
        return Err(Error::Failed(format!(
            "shell script failed: {}",
            errors.join("; ")
        )));
    }
    let seconds = t.elapsed().as_secs_f64();
    println!("  {ok} command(s) OK ({seconds:.2}s)\n");
    steps.push(Step {
        name: "updates and deletes (basalt shell)".into(),
        seconds,
    });
    Ok(())
}

fn print_indented(text: &str) {
    let lines: Vec<&str> = text.lines().collect();
    let shown = 14;
    for l in lines.iter().take(shown) {
        println!("  {l}");
    }
    if lines.len() > shown {
        println!("  ... ({} more lines)", lines.len() - shown);
    }
}

/// Row key of event `i`: a hex hash prefix spreads rows over hex-pre-split regions.
fn row_key(i: u64) -> String {
    format!("{:08x}-{i:09}", mix(i) as u32)
}

/// A cheap, deterministic 64-bit mixer (splitmix64's finalizer).
fn mix(i: u64) -> u64 {
    let mut z = i.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Writes the sample CSV; returns its size in bytes.
fn generate_csv(path: &Path, rows: u64) -> Result<u64> {
    let f = std::fs::File::create(path).map_err(|e| Error::io(path, e))?;
    let mut w = BufWriter::with_capacity(1 << 20, f);
    let io = |e| Error::io(path, e);
    w.write_all(b"rowkey,d:user,d:country,d:kind,d:amount,d:ts\n")
        .map_err(io)?;
    let mut line = String::with_capacity(96);
    for i in 0..rows {
        let h = mix(i);
        line.clear();
        let _ = writeln!(
            line,
            "{},user{:06},{},{},{}.{:02},{}",
            row_key(i),
            h % 50_000,
            COUNTRIES[(h >> 20) as usize % COUNTRIES.len()],
            KINDS[(h >> 24) as usize % KINDS.len()],
            (h >> 32) % 500,
            (h >> 40) % 100,
            1_700_000_000_000u64 + (h >> 44) % 86_400_000
        );
        w.write_all(line.as_bytes()).map_err(io)?;
    }
    w.flush().map_err(io)?;
    std::fs::metadata(path).map(|m| m.len()).map_err(io)
}

/// A shell script updating every 1000th row and deleting every 2000th one.
fn updates_script(rows: u64) -> String {
    let mut s = String::from("# quickstart updates\n");
    let step = (rows / 100).max(1);
    let mut i = 0;
    while i < rows {
        if (i / step).is_multiple_of(2) {
            let _ = writeln!(s, "put {TABLE} {} d:kind refund", row_key(i));
        } else {
            let _ = writeln!(s, "deleteall {TABLE} {}", row_key(i));
        }
        i += step;
    }
    s
}
