//! `basalt quickstart`: the whole job on the embedded store, as a user would run it.
//!
//! Generates a realistic event dataset, creates a pre-split typed (SQL) table, bulk-imports
//! it, queries it with SQL, runs scan jobs, applies updates and deletes, major-compacts, and prints what every
//! step took. Each step runs this same binary's public subcommand in a child process, so
//! what the quickstart shows is exactly what the listed commands do.

use std::fmt::Write as _;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

use clap::Args;

use store_server::typed::format_timestamp;

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
    let splits: Vec<String> = (1..args.regions.max(1))
        .map(|i| {
            format!(
                "'{:08x}'",
                (u64::from(i) << 32) / u64::from(args.regions.max(1))
            )
        })
        .collect();
    let split_on = if splits.is_empty() {
        String::new()
    } else {
        format!(" SPLIT ON ({})", splits.join(", "))
    };
    let create = format!(
        "CREATE TABLE {TABLE} (id VARCHAR NOT NULL PRIMARY KEY, d.user_id VARCHAR, \
         d.country VARCHAR, d.kind VARCHAR, d.amount DECIMAL(10,2), d.ts TIMESTAMP) \
         COMPRESSION='LZ4', DATA_BLOCK_ENCODING='FAST_DIFF', BLOOMFILTER='ROW', VERSIONS=3{split_on}"
    );
    basalt(
        "[2] create a pre-split typed table (SQL)",
        &["sql", "-e", &create],
        &mut steps,
    )?;
    let csv_arg = csv.to_string_lossy().into_owned();
    basalt(
        "[3] bulk import the CSV (typed fields, sorted HFiles handed to the regions)",
        &["import", TABLE, &csv_arg, "--header", "--quiet"],
        &mut steps,
    )?;

    // 3. Queries.
    let probe = row_key(args.rows / 2);
    basalt(
        "[4] SQL key lookup",
        &[
            "sql",
            "-e",
            &format!("SELECT * FROM {TABLE} WHERE id = '{probe}'"),
        ],
        &mut steps,
    )?;
    let lo = &probe[..3];
    let hi = match u32::from_str_radix(lo, 16) {
        Ok(n) if n < 0xfff => format!("{:03x}", n + 1),
        _ => "g".to_string(),
    };
    basalt(
        "[5] SQL key range (first 5 rows of a prefix)",
        &[
            "sql",
            "-e",
            &format!(
                "SELECT id, country, kind, amount FROM {TABLE} WHERE id >= '{lo}' AND id < '{hi}' ORDER BY id LIMIT 5"
            ),
        ],
        &mut steps,
    )?;
    basalt(
        "[6] SQL aggregate",
        &[
            "sql",
            "-e",
            &format!(
                "SELECT country, COUNT(*) AS events, SUM(amount) AS revenue FROM {TABLE} GROUP BY country ORDER BY revenue DESC"
            ),
        ],
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
    let script = work.join("updates.sql");
    std::fs::write(&script, updates_sql(args.rows)).map_err(|e| Error::io(&script, e))?;
    let script_arg = script.to_string_lossy().into_owned();
    basalt(
        "[9] updates and deletes (SQL UPSERT and DELETE)",
        &["sql", "-f", &script_arg],
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

/// The fields of event `i`: id, user, country, kind, amount, timestamp (ms).
fn event(i: u64) -> (String, String, &'static str, &'static str, String, u64) {
    let h = mix(i);
    (
        row_key(i),
        format!("user{:06}", h % 50_000),
        COUNTRIES[(h >> 20) as usize % COUNTRIES.len()],
        KINDS[(h >> 24) as usize % KINDS.len()],
        format!("{}.{:02}", (h >> 32) % 500, (h >> 40) % 100),
        1_700_000_000_000u64 + (h >> 44) % 86_400_000,
    )
}

/// Writes the sample CSV; returns its size in bytes.
fn generate_csv(path: &Path, rows: u64) -> Result<u64> {
    let f = std::fs::File::create(path).map_err(|e| Error::io(path, e))?;
    let mut w = BufWriter::with_capacity(1 << 20, f);
    let io = |e| Error::io(path, e);
    w.write_all(b"id,user_id,country,kind,amount,ts\n")
        .map_err(io)?;
    let mut line = String::with_capacity(96);
    for i in 0..rows {
        let (id, user, country, kind, amount, ts) = event(i);
        line.clear();
        let _ = writeln!(line, "{id},{user},{country},{kind},{amount},{ts}");
        w.write_all(line.as_bytes()).map_err(io)?;
    }
    w.flush().map_err(io)?;
    std::fs::metadata(path).map(|m| m.len()).map_err(io)
}

/// A SQL script sampling 100 rows: every other one becomes a refund (UPSERT), the rest
/// are deleted.
fn updates_sql(rows: u64) -> String {
    let step = (rows / 100).max(1);
    let (mut upserts, mut deletes) = (Vec::new(), Vec::new());
    let mut i = 0;
    while i < rows {
        let (id, user, country, _, amount, ts) = event(i);
        if (i / step).is_multiple_of(2) {
            upserts.push(format!(
                "('{id}', '{user}', '{country}', 'refund', {amount}, TIMESTAMP '{}')",
                format_timestamp(ts as i64, 0)
            ));
        } else {
            deletes.push(format!("'{id}'"));
        }
        i += step;
    }
    let mut s = String::new();
    if !upserts.is_empty() {
        let _ = writeln!(
            s,
            "UPSERT INTO {TABLE} (id, user_id, country, kind, amount, ts) VALUES {};",
            upserts.join(", ")
        );
    }
    if !deletes.is_empty() {
        let _ = writeln!(
            s,
            "DELETE FROM {TABLE} WHERE id IN ({});",
            deletes.join(", ")
        );
    }
    s
}
