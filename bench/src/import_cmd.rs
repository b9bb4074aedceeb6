//! The `import` subcommand (issue 4): end-to-end bulk import of a CSV file (the `bulkload`
//! crate's `run_import`, as `basalt import` runs it) beside DuckDB converting the same CSV
//! to Parquet, the same lines loaded through the store's put path, and RocksDB's
//! `SstFileWriter` + `ingest_external_file`.
//!
//! The CSV ([`crate::csvgen`]) is generated once per invocation. Each run, every peer starts
//! from nothing (a fresh store root, DB directory or output file), and its output is
//! deleted afterwards. Basalt and DuckDB each run in a fresh process every time.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use bulkload::{ColumnSpec, Format, ImportOptions, SourceOptions};
use store_server::{Filter, Scan};

use crate::cpu::{Stopwatch, Timing};
use crate::duckdb_peer::{self, sql_path};
use crate::idle::settle;
use crate::mem::RssWindow;
use crate::report::{at_least, check, machine, num, rate, ratio, times, MdTable, Samples};
use crate::scratch::{remove, tree_size, Scratch};
use crate::stats::median;
use crate::{csvgen, engine, put_load, rocksdb_import, Result};

/// Name of the imported table.
const TABLE: &str = "imported";
/// Timestamp of every imported cell (2024-01-01T00:00:00Z), for every peer.
const TS: i64 = 1_704_067_200_000;

/// Arguments of `bench import`.
#[derive(clap::Args, Debug)]
pub struct ImportArgs {
    /// Lines in the CSV.
    #[arg(long, default_value_t = 10_000_000)]
    rows: u64,
    /// Regions the imported table is created with (`--presplit`), and the put-path table's.
    #[arg(long, default_value_t = 4)]
    regions: usize,
    /// Import worker threads (0 = all cores, the CLI default); DuckDB gets the same count.
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Import memory budget in bytes (default: the CLI's, a quarter of RAM).
    #[arg(long)]
    memory: Option<usize>,
    /// Lines loaded through the put path (its rate is compared; the full file would take
    /// long).
    #[arg(long, default_value_t = 1_000_000)]
    put_rows: u64,
    /// Rows per `put_batch` call.
    #[arg(long, default_value_t = 1000)]
    put_batch: usize,
    /// Threads sending put batches.
    #[arg(long, default_value_t = 2)]
    put_writers: usize,
    /// Runs per measurement; medians are reported.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Scratch directory (created empty, removed afterwards).
    #[arg(long, default_value = "/dev/shm/basalt-bench-import")]
    dir: PathBuf,
    /// Leave DuckDB out.
    #[arg(long)]
    no_duckdb: bool,
    /// Leave the put path out.
    #[arg(long)]
    no_put: bool,
    /// Leave out the second Basalt import, into a family with FAST_DIFF block encoding.
    #[arg(long)]
    no_fast_diff: bool,
    /// Leave RocksDB out.
    #[arg(long)]
    no_rocksdb: bool,
    /// Python interpreter with the `duckdb` package.
    #[arg(long, default_value = "python3")]
    python: String,
    /// Before each timed step, wait up to this many seconds for the machine to be quiet
    /// (see --max-busy); 0 = do not wait.
    #[arg(long, default_value_t = 30)]
    quiet_wait: u64,
    /// "Quiet" = at most this fraction of all cores busy over one second.
    #[arg(long, default_value_t = 0.2)]
    max_busy: f64,
    /// Seed of the CSV generator.
    #[arg(long, default_value_t = 20_240_101)]
    seed: u64,
    /// Also write the markdown report to this file.
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Per-peer facts that are not timings (last run's values; they do not vary).
#[derive(Clone, Debug, Default)]
struct Facts {
    /// (peer, peak RSS growth bytes) per run.
    rss: Vec<(&'static str, u64)>,
    /// (peer, output bytes).
    output: Vec<(&'static str, u64)>,
    /// CSV bytes of the put path's lines.
    put_bytes: u64,
    /// Basalt's import phases of the last run (per peer key).
    phases: Vec<(&'static str, String)>,
    /// Regions, HFiles and spills of the last import.
    shape: String,
    duck_version: String,
}

impl Facts {
    fn rss_median(&self, peer: &str) -> Option<f64> {
        let v: Vec<f64> = self
            .rss
            .iter()
            .filter(|(p, _)| *p == peer)
            .map(|(_, b)| *b as f64)
            .collect();
        median(&v)
    }

    fn output(&self, peer: &str) -> Option<f64> {
        self.output
            .iter()
            .rev()
            .find(|(p, _)| *p == peer)
            .map(|(_, b)| *b as f64)
    }

    fn set_output(&mut self, peer: &'static str, bytes: u64) {
        self.output.retain(|(p, _)| *p != peer);
        self.output.push((peer, bytes));
    }
}

/// Basalt's import; `fast_diff` = into a family with FAST_DIFF block encoding (peer key
/// `basalt-fd`) instead of the default NONE (`basalt`).
///
/// Every run is a fresh process (this binary's hidden `import-once`), as every `basalt
/// import` is and as every DuckDB run is: an import in a process that already imported
/// would find its sort buffer's memory mapped and warm, which no user's import does.
fn basalt_import(
    args: &ImportArgs,
    csv: &Path,
    scratch: &Scratch,
    fast_diff: bool,
    facts: &mut Facts,
) -> Result<Timing> {
    let key = if fast_diff { "basalt-fd" } else { "basalt" };
    let root = scratch.fresh("root")?;
    let mut cmd = std::process::Command::new(std::env::current_exe()?);
    cmd.arg("import-once")
        .arg("--csv")
        .arg(csv)
        .arg("--root")
        .arg(&root)
        .arg("--regions")
        .arg(args.regions.to_string())
        .arg("--threads")
        .arg(args.threads.to_string());
    if let Some(m) = args.memory {
        cmd.arg("--memory").arg(m.to_string());
    }
    if fast_diff {
        cmd.arg("--fast-diff");
    }
    let out = cmd.output()?;
    if !out.status.success() {
        return Err(format!(
            "import-once failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )
        .into());
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let field = |name: &str| -> Result<&str> {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(": "))
            .ok_or_else(|| format!("import-once printed no {name}: {text}").into())
    };
    let num = |name: &str| -> Result<u64> { Ok(field(name)?.parse::<u64>()?) };
    check("import rows", num("rows")?, args.rows)?;
    check(
        "import cells",
        num("cells")?,
        args.rows * csvgen::VALUE_FIELDS as u64,
    )?;
    facts.rss.push((key, num("rss")?));
    facts.set_output(key, num("hfile_bytes")?);
    let phases = field("phases")?.to_string();
    facts.phases.retain(|(k, _)| *k != key);
    facts.phases.push((key, phases));
    facts.shape = field("shape")?.to_string();
    remove(&root)?;
    Ok(Timing {
        wall: std::time::Duration::from_nanos(num("wall_ns")?),
        cpu: std::time::Duration::from_nanos(num("cpu_ns")?),
    })
}

/// Arguments of the hidden `bench import-once`: one Basalt import, in this process.
#[derive(clap::Args, Debug)]
pub struct ImportOnceArgs {
    /// The CSV (as `bench import` generates it).
    #[arg(long)]
    csv: PathBuf,
    /// Store root (created).
    #[arg(long)]
    root: PathBuf,
    /// Regions the table is created with.
    #[arg(long)]
    regions: usize,
    /// Worker threads (0 = all cores).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Memory budget in bytes (default: the CLI's).
    #[arg(long)]
    memory: Option<usize>,
    /// Create the family with FAST_DIFF block encoding.
    #[arg(long)]
    fast_diff: bool,
}

/// Runs one import timed from the call to its return and prints `name: value` lines that
/// [`basalt_import`] reads.
pub fn import_once(args: &ImportOnceArgs) -> Result<()> {
    let mut family = engine::family();
    if args.fast_diff {
        family.data_block_encoding = "FAST_DIFF".to_string();
    }
    let conn = engine::open(&args.root, true)?;
    let opts = ImportOptions {
        table: TABLE.to_string(),
        inputs: vec![args.csv.clone()],
        source: SourceOptions {
            format: Some(Format::Csv),
            header: false,
            separator: None,
        },
        columns: Some(ColumnSpec::parse(&csvgen::column_spec())?),
        timestamp: Some(TS),
        memory: args.memory,
        threads: (args.threads > 0).then_some(args.threads),
        create: Some(vec![family]),
        presplit: Some(args.regions),
        progress: false,
        ..ImportOptions::default()
    };
    let rss = RssWindow::start();
    let sw = Stopwatch::start();
    let summary = bulkload::run_import(&conn, &opts)?;
    let timing = sw.timing();
    let phases = summary
        .times
        .phases
        .iter()
        .map(|(n, d)| format!("{n} {:.1}s", d.as_secs_f64()))
        .collect::<Vec<_>>()
        .join(", ");
    println!("wall_ns: {}", timing.wall.as_nanos());
    println!("cpu_ns: {}", timing.cpu.as_nanos());
    println!("rss: {}", rss.peak_growth().unwrap_or(0));
    println!("rows: {}", summary.rows);
    println!("cells: {}", summary.cells);
    println!("hfile_bytes: {}", summary.hfile_bytes);
    println!("phases: {phases}");
    println!(
        "shape: {} regions, {} HFiles, {} spills, sort buffer peak {:.0} MiB of a {:.0} MiB budget",
        summary.regions,
        summary.hfiles,
        summary.spills,
        summary.peak_buffer_bytes as f64 / 1048576.0,
        summary.memory_budget as f64 / 1048576.0
    );
    conn.close()?;
    Ok(())
}

fn put_path(args: &ImportArgs, csv: &Path, scratch: &Scratch, facts: &mut Facts) -> Result<Timing> {
    let root = scratch.fresh("root")?;
    let conn = engine::open(&root, true)?;
    let regions = args.regions.max(1) as u64;
    let splits: Vec<Vec<u8>> = (1..regions)
        .map(|i| format!("{:016x}", u64::MAX / regions * i).into_bytes())
        .collect();
    engine::create_table(&conn, TABLE, &splits)?;
    let rss = RssWindow::start();
    let sw = Stopwatch::start();
    let (rows, bytes) = put_load::load(
        &conn,
        TABLE,
        csv,
        args.put_rows,
        args.put_batch,
        args.put_writers,
        TS,
    )?;
    let timing = sw.timing();
    facts.rss.push(("put", rss.peak_growth().unwrap_or(0)));
    facts.put_bytes = bytes;
    let want = args.put_rows.min(args.rows);
    check("put rows", rows, want)?;
    let scan = Scan::new().with_filter(Filter::FirstKeyOnly);
    let mut n = 0u64;
    for r in conn.table(TABLE)?.scan(&scan)? {
        r?;
        n += 1;
    }
    check("put rows read back", n, want)?;
    facts.set_output(
        "put",
        crate::scratch::total_size(&engine::store_files(&conn, TABLE)?)?,
    );
    conn.close()?;
    drop(conn);
    remove(&root)?;
    Ok(timing)
}

fn duckdb(
    args: &ImportArgs,
    csv: &Path,
    scratch: &Scratch,
    sorted: bool,
    facts: &mut Facts,
) -> Result<Timing> {
    let out = scratch.fresh("duck.parquet")?;
    let order = if sorted { " ORDER BY column0" } else { "" };
    let threads = if args.threads == 0 {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    } else {
        args.threads
    };
    let sql = format!(
        "COPY (SELECT * FROM read_csv({}, header=false, all_varchar=true, delim=','){order}) TO {} (FORMAT parquet, COMPRESSION uncompressed)",
        sql_path(csv),
        sql_path(&out)
    );
    let r = duckdb_peer::run(&args.python, scratch.path(), threads, &[("copy", sql)])?;
    let q = r.get("copy")?;
    check("duckdb rows", duckdb_peer::int_result(q)?, args.rows)?;
    let peer = if sorted { "duck-sorted" } else { "duck" };
    facts.rss.push((peer, r.max_rss.unwrap_or(0)));
    facts.set_output(peer, std::fs::metadata(&out)?.len());
    facts.duck_version = r.version.clone();
    remove(&out)?;
    Ok(q.timing)
}

fn rocksdb(args: &ImportArgs, csv: &Path, scratch: &Scratch, facts: &mut Facts) -> Result<Timing> {
    let sst = scratch.fresh("import.sst")?;
    let db = scratch.fresh("rocksdb")?;
    let rss = RssWindow::start();
    let sw = Stopwatch::start();
    let r = rocksdb_import::import(csv, &sst, &db, TS)?;
    let timing = sw.timing();
    facts.rss.push(("rocksdb", rss.peak_growth().unwrap_or(0)));
    check("rocksdb rows", r.rows, args.rows)?;
    check(
        "rocksdb cells",
        r.cells,
        args.rows * csvgen::VALUE_FIELDS as u64,
    )?;
    if r.sst_bytes == 0 {
        return Err("rocksdb import wrote an empty SST".into());
    }
    facts.set_output("rocksdb", tree_size(&db)?);
    remove(&db)?;
    remove(&sst)?;
    Ok(timing)
}

/// Runs the benchmark and prints (and optionally saves) the report.
pub fn run(args: &ImportArgs) -> Result<()> {
    if args.runs == 0 || args.rows == 0 || args.regions == 0 || args.put_batch == 0 {
        return Err("--runs, --rows, --regions and --put-batch must be non-zero".into());
    }
    let machine_before = machine();
    let scratch = Scratch::create(&args.dir)?;
    let csv = scratch.path().join("input.csv");
    let t = Instant::now();
    eprintln!("generating {} CSV lines ...", args.rows);
    let csv_bytes = csvgen::write(&csv, args.rows, args.seed)?;
    eprintln!(
        "  {:.1} MB in {:.1}s",
        csv_bytes as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );
    let mut s = Samples::default();
    let mut facts = Facts::default();
    let mut busy = Vec::new();
    for r in 0..args.runs {
        eprintln!("run {}/{}", r + 1, args.runs);
        settle(args.quiet_wait, args.max_busy, &mut busy);
        let t = basalt_import(args, &csv, &scratch, false, &mut facts)?;
        eprintln!("    basalt import   {:.2}s", t.wall.as_secs_f64());
        s.add("basalt", t);
        if !args.no_fast_diff {
            settle(args.quiet_wait, args.max_busy, &mut busy);
            let t = basalt_import(args, &csv, &scratch, true, &mut facts)?;
            eprintln!("    basalt FAST_DIFF {:.2}s", t.wall.as_secs_f64());
            s.add("basalt-fd", t);
        }
        if !args.no_duckdb {
            for sorted in [false, true] {
                settle(args.quiet_wait, args.max_busy, &mut busy);
                let t = duckdb(args, &csv, &scratch, sorted, &mut facts)?;
                eprintln!(
                    "    duckdb copy{}  {:.2}s",
                    if sorted { " sorted" } else { "" },
                    t.wall.as_secs_f64()
                );
                s.add(if sorted { "duck-sorted" } else { "duck" }, t);
            }
        }
        if !args.no_put {
            settle(args.quiet_wait, args.max_busy, &mut busy);
            let t = put_path(args, &csv, &scratch, &mut facts)?;
            eprintln!("    put path        {:.2}s", t.wall.as_secs_f64());
            s.add("put", t);
        }
        if !args.no_rocksdb {
            settle(args.quiet_wait, args.max_busy, &mut busy);
            let t = rocksdb(args, &csv, &scratch, &mut facts)?;
            eprintln!("    rocksdb sst     {:.2}s", t.wall.as_secs_f64());
            s.add("rocksdb", t);
        }
    }
    drop(scratch);
    let report = render(args, csv_bytes, &s, &facts, &machine_before, &busy);
    crate::report::publish(&report, args.out.as_deref())
}

fn render(
    args: &ImportArgs,
    csv_bytes: u64,
    s: &Samples,
    facts: &Facts,
    machine_before: &str,
    busy: &[f64],
) -> String {
    const MIB: f64 = 1048576.0;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "### bench import: {} CSV lines × 8 fields, {:.0} MB, median of {} runs\n",
        args.rows,
        csv_bytes as f64 / 1e6,
        args.runs
    );
    let _ = writeln!(
        out,
        "Machine: {machine_before} (at start); {} (at end). DuckDB {}. Import: `--create f \
         --presplit {}`, threads {}, memory {}; last import: {}; phases: {}.\n",
        machine(),
        if facts.duck_version.is_empty() {
            "n/a"
        } else {
            &facts.duck_version
        },
        args.regions,
        if args.threads == 0 {
            "all cores".to_string()
        } else {
            args.threads.to_string()
        },
        args.memory
            .map(|m| format!("{:.0} MiB", m as f64 / MIB))
            .unwrap_or_else(|| "default (¼ of RAM)".to_string()),
        facts.shape,
        facts
            .phases
            .iter()
            .map(|(k, p)| format!(
                "{} {p}",
                if *k == "basalt" {
                    "NONE:"
                } else {
                    "FAST_DIFF:"
                }
            ))
            .collect::<Vec<_>>()
            .join("; ")
    );
    let mut t = MdTable::new(&[
        "peer",
        ">lines",
        ">wall s",
        ">CPU s",
        ">CSV MB/s (wall)",
        ">CSV MB/s (CPU)",
        ">k lines/s (wall)",
        ">peak RSS growth MiB",
        ">output MB",
    ]);
    let put_lines = args.put_rows.min(args.rows);
    let peers: [(&str, &str, u64, u64); 6] = [
        (
            "basalt",
            "Basalt `run_import` (CSV → sorted HFiles → bulk load)",
            args.rows,
            csv_bytes,
        ),
        (
            "basalt-fd",
            "Basalt `run_import`, family `DATA_BLOCK_ENCODING => FAST_DIFF`",
            args.rows,
            csv_bytes,
        ),
        (
            "duck",
            "DuckDB `COPY … TO parquet` (all_varchar)",
            args.rows,
            csv_bytes,
        ),
        (
            "duck-sorted",
            "DuckDB `COPY (… ORDER BY key) TO parquet` (info)",
            args.rows,
            csv_bytes,
        ),
        (
            "put",
            "Basalt put path (`put_batch` ×1000, SYNC_WAL, + flush)",
            put_lines,
            facts.put_bytes,
        ),
        (
            "rocksdb",
            "RocksDB parse + sort + `SstFileWriter` + ingest (1 thread)",
            args.rows,
            csv_bytes,
        ),
    ];
    for (key, name, lines, bytes) in peers {
        if s.runs(key).is_empty() {
            continue;
        }
        let (w, c) = (s.wall(key), s.cpu(key));
        t.row(vec![
            name.to_string(),
            lines.to_string(),
            num(w),
            num(c),
            num(rate(bytes as f64 / 1e6, w)),
            num(rate(bytes as f64 / 1e6, c)),
            num(rate(lines as f64 / 1e3, w)),
            num(facts.rss_median(key).map(|b| b / MIB)),
            num(facts.output(key).map(|b| b / 1e6)),
        ]);
    }
    out.push_str(&t.render());
    let _ = writeln!(
        out,
        "\nMB = 10^6 bytes of CSV input. DuckDB's times are measured inside Python around the \
         query, Basalt's inside a fresh `bench import-once` process around `run_import` (each run \
         a new process, like each DuckDB run and each `basalt import`); DuckDB's RSS column is the Python process's peak RSS (ru_maxrss), the others are peak \
         RSS growth of the measuring process over the step (VmHWM − VmRSS after malloc_trim and a \
         reset of VmHWM). Output: HFiles (Basalt), Parquet (DuckDB), the DB directory (RocksDB).\n"
    );
    if !busy.is_empty() {
        let _ = writeln!(
            out,
            "Machine busy (all cores, 1 s) just before each timed step: median {:.0} %, max {:.0} %.\n",
            median(busy).unwrap_or(0.0) * 100.0,
            busy.iter().copied().fold(0.0, f64::max) * 100.0
        );
    }
    let mb_rate = |key: &str, bytes: u64, cpu: bool| {
        rate(
            bytes as f64 / 1e6,
            if cpu { s.cpu(key) } else { s.wall(key) },
        )
    };
    let line_rate = |key: &str, lines: u64| rate(lines as f64, s.wall(key));
    let mut v = MdTable::new(&["target", ">measured", "verdict"]);
    let vs_duck = ratio(
        mb_rate("basalt", csv_bytes, false),
        mb_rate("duck", csv_bytes, false),
    );
    v.row(vec![
        "Basalt import ÷ DuckDB CSV→Parquet (wall MB/s)".into(),
        times(vs_duck),
        at_least(vs_duck, 1.0),
    ]);
    let vs_duck_cpu = ratio(
        mb_rate("basalt", csv_bytes, true),
        mb_rate("duck", csv_bytes, true),
    );
    v.row(vec![
        "Basalt import ÷ DuckDB CSV→Parquet (CPU MB/s)".into(),
        times(vs_duck_cpu),
        at_least(vs_duck_cpu, 1.0),
    ]);
    let vs_put = ratio(line_rate("basalt", args.rows), line_rate("put", put_lines));
    v.row(vec![
        "Basalt import ÷ put path (wall lines/s)".into(),
        times(vs_put),
        at_least(vs_put, 10.0),
    ]);
    let vs_put_cpu = ratio(
        rate(args.rows as f64, s.cpu("basalt")),
        rate(put_lines as f64, s.cpu("put")),
    );
    v.row(vec![
        "Basalt import ÷ put path (CPU lines/s)".into(),
        times(vs_put_cpu),
        at_least(vs_put_cpu, 10.0),
    ]);
    if !s.runs("basalt-fd").is_empty() {
        for (label, cpu) in [("wall", false), ("CPU", true)] {
            let r = ratio(
                mb_rate("basalt-fd", csv_bytes, cpu),
                mb_rate("duck", csv_bytes, cpu),
            );
            v.row(vec![
                format!("Basalt import (FAST_DIFF) ÷ DuckDB CSV→Parquet ({label} MB/s)"),
                times(r),
                at_least(r, 1.0),
            ]);
        }
        let r = ratio(
            line_rate("basalt-fd", args.rows),
            line_rate("put", put_lines),
        );
        v.row(vec![
            "Basalt import (FAST_DIFF) ÷ put path (wall lines/s)".into(),
            times(r),
            at_least(r, 10.0),
        ]);
    }
    let vs_sorted = ratio(
        mb_rate("basalt", csv_bytes, false),
        mb_rate("duck-sorted", csv_bytes, false),
    );
    v.row(vec![
        "Basalt import ÷ DuckDB sorted CSV→Parquet (wall, info)".into(),
        times(vs_sorted),
        String::new(),
    ]);
    let vs_rocks = ratio(
        mb_rate("basalt", csv_bytes, true),
        mb_rate("rocksdb", csv_bytes, true),
    );
    v.row(vec![
        "Basalt import ÷ RocksDB SST path (CPU, info)".into(),
        times(vs_rocks),
        String::new(),
    ]);
    out.push_str(&v.render());
    let _ = writeln!(out, "\nEvery run (wall/CPU seconds):\n");
    for label in s.labels() {
        let _ = writeln!(out, "* `{label}`: {}", s.describe(label));
    }
    out
}
