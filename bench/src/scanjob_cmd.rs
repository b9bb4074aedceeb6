//! The `scanjob` subcommand (issue 5): `rowcounter` and `cellcounter` (the `mapreduce`
//! crate's built-in jobs, called as `basalt rowcounter`/`cellcounter` call them) over a
//! multi-region table, with 1 and 2 threads, beside a single-threaded raw scan of the same
//! HFiles through the `hfile` crate (the limit) and DuckDB counting rows and cells of the
//! same cells in a Parquet file.
//!
//! The table is built once per invocation: one HFile per region written with the engine's
//! own writer options for the family, bulk-loaded into a table pre-split at the region
//! boundaries, and the same cells written to Parquet (one Parquet row per cell, the
//! schema of the `hfile` benchmark's Parquet peer, uncompressed like the HFiles).

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use mapreduce::jobs::{cellcounter, rowcounter};
use mapreduce::RunOptions;
use store_server::Connection;

use crate::cpu::Stopwatch;
use crate::duckdb_peer::{self, sql_path};
use crate::idle::settle;
use crate::parquet_peer::CellFileWriter;
use crate::report::{at_least, check, machine, num, rate, ratio, secs, times, MdTable, Samples};
use crate::rowgen::{GenRow, RowGen};
use crate::scratch::{total_size, Scratch};
use crate::stats::{median, Codec};
use crate::threads::ThreadCpu;
use crate::{engine, hfile_bench, Result};

/// Name of the benchmark table.
const TABLE: &str = "scanjob";

/// Arguments of `bench scanjob`.
#[derive(clap::Args, Debug)]
pub struct ScanjobArgs {
    /// Rows in the table.
    #[arg(long, default_value_t = 10_000_000)]
    rows: u64,
    /// Cells (columns) per row.
    #[arg(long, default_value_t = 2)]
    cells_per_row: usize,
    /// Bytes per value.
    #[arg(long, default_value_t = 100)]
    value_len: usize,
    /// Regions the table is pre-split into (equal row ranges).
    #[arg(long, default_value_t = 4)]
    regions: u64,
    /// Thread counts to run the jobs (and DuckDB) with.
    #[arg(long, value_delimiter = ',', default_values_t = [1, 2])]
    threads: Vec<usize>,
    /// Runs per measurement; medians are reported.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Scratch directory (created empty, removed afterwards).
    #[arg(long, default_value = "/dev/shm/basalt-bench-scanjob")]
    dir: PathBuf,
    /// Leave DuckDB (and the Parquet file) out.
    #[arg(long)]
    no_duckdb: bool,
    /// Python interpreter with the `duckdb` package.
    #[arg(long, default_value = "python3")]
    python: String,
    /// Before each timed job, wait up to this many seconds for the machine to be quiet
    /// (see --max-busy); 0 = do not wait.
    #[arg(long, default_value_t = 60)]
    quiet_wait: u64,
    /// "Quiet" = at most this fraction of all cores busy over one second.
    #[arg(long, default_value_t = 0.2)]
    max_busy: f64,
    /// Seed of the data generator.
    #[arg(long, default_value_t = 20_240_101)]
    seed: u64,
    /// Also write the markdown report to this file.
    #[arg(long)]
    out: Option<PathBuf>,
}

/// What building the table produced.
struct Built {
    hfile_bytes: u64,
    parquet: Option<(PathBuf, u64)>,
    logical: u64,
    cells: u64,
    secs: f64,
}

fn build(args: &ScanjobArgs, conn: &Connection, scratch: &Scratch) -> Result<Built> {
    let t = Instant::now();
    let gen = RowGen::new(args.seed, args.cells_per_row, args.value_len);
    let staging = scratch.fresh("staging")?;
    std::fs::create_dir_all(&staging)?;
    let pq_path = scratch.path().join("cells.parquet");
    let mut pq = if args.no_duckdb {
        None
    } else {
        Some(CellFileWriter::create(&pq_path, Codec::None)?)
    };
    let (n, regions) = (args.rows, args.regions);
    let mut files = Vec::new();
    let mut row = GenRow::default();
    let (mut logical, mut cells) = (0u64, 0u64);
    for region in 0..regions {
        let path = staging.join(format!("region-{region:03}.hfile"));
        let mut w = engine::store_writer(&path)?;
        for r in region * n / regions..(region + 1) * n / regions {
            gen.fill(r, 0, &mut row);
            for q in 0..gen.cells_per_row() {
                let c = gen.cell(&row, q);
                w.append(&c)?;
                if let Some(pq) = pq.as_mut() {
                    pq.push(&c)?;
                }
                logical += (hfile::CellView::key_len(&c) + c.value.len()) as u64;
                cells += 1;
            }
        }
        w.finish()?;
        files.push(path);
        eprintln!("  wrote region {}/{regions}", region + 1);
    }
    let parquet = match pq {
        Some(pq) => Some((pq_path, pq.finish()?)),
        None => None,
    };
    let splits: Vec<Vec<u8>> = (1..regions)
        .map(|i| RowGen::split_key(i * n / regions))
        .collect();
    engine::create_table(conn, TABLE, &splits)?;
    engine::bulk_load(conn, TABLE, &files)?;
    std::fs::remove_dir_all(&staging)?;
    let hfile_bytes = total_size(&engine::store_files(conn, TABLE)?)?;
    Ok(Built {
        hfile_bytes,
        parquet,
        logical,
        cells,
        secs: t.elapsed().as_secs_f64(),
    })
}

fn run_options(threads: usize) -> RunOptions {
    RunOptions {
        threads,
        progress: false,
        ..RunOptions::default()
    }
}

/// Records the CPU seconds of the busiest worker thread of a job as `LABEL#busiest`.
fn record_workers(samples: &mut Samples, label: &str, mon: ThreadCpu) {
    let per_thread = mon.stop();
    if let Some(b) = per_thread.first() {
        samples.add_value(&format!("{label}#busiest"), b.as_secs_f64());
    }
}

/// One run of every measurement, added to `samples`.
fn one_run(
    args: &ScanjobArgs,
    conn: &Connection,
    built: &Built,
    scratch: &Scratch,
    samples: &mut Samples,
    duck_version: &mut String,
    busy: &mut Vec<f64>,
) -> Result<()> {
    let want_cells = built.cells;
    for &t in &args.threads {
        let opts = rowcounter::RowCounterOptions {
            table: TABLE.to_string(),
            ..Default::default()
        };
        settle(args.quiet_wait, args.max_busy, busy);
        let mon = ThreadCpu::start("mapreduce-");
        let sw = Stopwatch::start();
        let (rows, _) = rowcounter::run(conn, &opts, &run_options(t))?;
        let timing = sw.timing();
        record_workers(samples, &format!("rowcounter/{t}"), mon);
        check("rowcounter rows", rows, args.rows)?;
        eprintln!("    rowcounter  {t} thread(s) {}", secs(timing.wall));
        samples.add(&format!("rowcounter/{t}"), timing);

        let opts = cellcounter::CellCounterOptions {
            table: TABLE.to_string(),
            ..Default::default()
        };
        settle(args.quiet_wait, args.max_busy, busy);
        let mon = ThreadCpu::start("mapreduce-");
        let sw = Stopwatch::start();
        let counts = cellcounter::run(conn, &opts, &run_options(t))?;
        let timing = sw.timing();
        record_workers(samples, &format!("cellcounter/{t}"), mon);
        check("cellcounter rows", counts.rows, args.rows)?;
        check("cellcounter cells", counts.cells, want_cells)?;
        eprintln!("    cellcounter {t} thread(s) {}", secs(timing.wall));
        samples.add(&format!("cellcounter/{t}"), timing);
    }

    let files = engine::store_files(conn, TABLE)?;
    settle(args.quiet_wait, args.max_busy, busy);
    let raw = hfile_bench::scan_files(&files)?;
    check("raw scan cells", raw.cells, want_cells)?;
    check("raw scan rows", raw.rows, args.rows)?;
    eprintln!("    raw hfile scan 1 thread {}", secs(raw.timing.wall));
    samples.add("raw/1", raw.timing);

    if let Some((pq, _)) = &built.parquet {
        let src = format!("read_parquet({})", sql_path(pq));
        let queries = [
            ("rows", format!("SELECT count(DISTINCT row) FROM {src}")),
            (
                "cells",
                format!("SELECT family, qualifier, count(*) FROM {src} GROUP BY family, qualifier"),
            ),
            (
                "full",
                format!("SELECT count(*), sum(octet_length(row) + octet_length(value)) FROM {src}"),
            ),
        ];
        for &t in &args.threads {
            settle(args.quiet_wait, args.max_busy, busy);
            let r = duckdb_peer::run(&args.python, scratch.path(), t, &queries)?;
            check(
                "duckdb rows",
                duckdb_peer::int_result(r.get("rows")?)?,
                args.rows,
            )?;
            check(
                "duckdb cells",
                duckdb_peer::sum_last_column(r.get("cells")?)?,
                want_cells,
            )?;
            for q in &r.queries {
                samples.add(&format!("duck-{}/{t}", q.name), q.timing);
            }
            eprintln!(
                "    duckdb {t} thread(s): rows {} cells {} full {}",
                secs(r.get("rows")?.timing.wall),
                secs(r.get("cells")?.timing.wall),
                secs(r.get("full")?.timing.wall)
            );
            *duck_version = r.version;
        }
    }
    Ok(())
}

/// Runs the benchmark and prints (and optionally saves) the report.
pub fn run(args: &ScanjobArgs) -> Result<()> {
    if args.runs == 0 || args.rows == 0 || args.regions == 0 || args.threads.is_empty() {
        return Err("--runs, --rows, --regions and --threads must be non-zero".into());
    }
    if args.cells_per_row == 0 || args.cells_per_row > 999_999 {
        return Err("--cells-per-row must be in 1..=999999".into());
    }
    let machine_before = machine();
    let scratch = Scratch::create(&args.dir)?;
    let root = scratch.fresh("root")?;
    let conn = engine::open(&root, false)?;
    eprintln!(
        "building {} rows × {} cells in {} regions ...",
        args.rows, args.cells_per_row, args.regions
    );
    let built = build(args, &conn, &scratch)?;
    eprintln!(
        "  {:.1} MB of HFiles, {:.1} MB logical, in {:.1}s",
        built.hfile_bytes as f64 / 1e6,
        built.logical as f64 / 1e6,
        built.secs
    );
    let regions = engine::region_count(&conn, TABLE)?;
    if regions as u64 != args.regions {
        return Err(format!("table has {regions} regions, expected {}", args.regions).into());
    }
    let mut samples = Samples::default();
    let mut duck_version = String::new();
    let mut busy = Vec::new();
    for r in 0..args.runs {
        eprintln!("run {}/{}", r + 1, args.runs);
        one_run(
            args,
            &conn,
            &built,
            &scratch,
            &mut samples,
            &mut duck_version,
            &mut busy,
        )?;
    }
    conn.close()?;
    drop(conn);
    drop(scratch);
    let report = render(
        args,
        &built,
        &samples,
        &machine_before,
        &duck_version,
        &busy,
    );
    crate::report::publish(&report, args.out.as_deref())
}

fn render(
    args: &ScanjobArgs,
    built: &Built,
    s: &Samples,
    machine_before: &str,
    duck_version: &str,
    busy: &[f64],
) -> String {
    let mb = built.hfile_bytes as f64 / 1e6;
    let rows = args.rows as f64;
    let cells = built.cells as f64;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "### bench scanjob: {} rows × {} cells ({} cells), {} regions, {:.0} MB of HFiles, median of {} runs\n",
        args.rows, args.cells_per_row, built.cells, args.regions, mb, args.runs
    );
    let _ = writeln!(
        out,
        "Machine: {machine_before} (at start); {} (at end). Values {} B; logical {:.0} MB; Parquet {}; DuckDB {}.\n",
        machine(),
        args.value_len,
        built.logical as f64 / 1e6,
        built
            .parquet
            .as_ref()
            .map(|(_, b)| format!("{:.0} MB", *b as f64 / 1e6))
            .unwrap_or_else(|| "n/a".into()),
        if duck_version.is_empty() { "n/a" } else { duck_version },
    );
    let mut t = MdTable::new(&[
        "measurement",
        ">threads",
        ">wall s",
        ">CPU s",
        ">M rows/s (wall)",
        ">M cells/s (wall)",
        ">HFile MB/s (wall)",
        ">HFile MB per CPU-s",
        ">cores used (CPU÷wall)",
        ">busiest worker CPU s",
    ]);
    let names = [
        ("rowcounter", "Basalt `rowcounter` (mapreduce)"),
        ("cellcounter", "Basalt `cellcounter` (mapreduce)"),
        ("raw", "raw HFile scan (`hfile` Reader + scanner)"),
        ("duck-rows", "DuckDB `count(DISTINCT row)`"),
        ("duck-cells", "DuckDB `GROUP BY family, qualifier`"),
        (
            "duck-full",
            "DuckDB `sum(octet_length(row)+octet_length(value))`",
        ),
    ];
    for (key, name) in names {
        for label in s.labels().filter(|l| l.split('/').next() == Some(key)) {
            let threads = label.rsplit('/').next().unwrap_or("");
            let (w, c) = (s.wall(label), s.cpu(label));
            t.row(vec![
                name.to_string(),
                threads.to_string(),
                num(w),
                num(c),
                num(rate(rows / 1e6, w)),
                num(rate(cells / 1e6, w)),
                num(rate(mb, w)),
                num(rate(mb, c)),
                num(ratio(c, w)),
                num(s.value(&format!("{label}#busiest"))),
            ]);
        }
    }
    out.push_str(&t.render());
    let _ = writeln!(
        out,
        "\nMB = 10^6 bytes of the table's HFiles ({} bytes), the same numerator for every row. \
         \"per CPU-s\" divides by process CPU time (all threads), i.e. the rate per busy core. \
         \"busiest worker CPU s\" is the CPU time of the job's busiest `mapreduce-N` thread \
         (sampled from /proc): the job's wall time if every worker had a core to itself.\n",
        built.hfile_bytes
    );

    if !busy.is_empty() {
        let max = busy.iter().copied().fold(0.0, f64::max);
        let _ = writeln!(
            out,
            "Machine busy (all cores, 1 s) just before each timed step: median {:.0} %, max {:.0} % \
             (each step waited up to {} s for ≤ {:.0} %).\n",
            median(busy).unwrap_or(0.0) * 100.0,
            max * 100.0,
            args.quiet_wait,
            args.max_busy * 100.0
        );
    }
    let mut v = MdTable::new(&["target", ">measured", "verdict"]);
    let speedup = |job: &str| ratio(s.wall(&format!("{job}/1")), s.wall(&format!("{job}/2")));
    let per_core = |label: &str| ratio(rate(mb, s.cpu(label)), rate(mb, s.cpu("raw/1")));
    let projected = |job: &str| {
        ratio(
            s.value(&format!("{job}/1#busiest")),
            s.value(&format!("{job}/2#busiest")),
        )
    };
    for job in ["rowcounter", "cellcounter"] {
        v.row(vec![
            format!("`{job}` 2 threads ÷ 1 thread (wall)"),
            times(speedup(job)),
            at_least(speedup(job), 1.8),
        ]);
        v.row(vec![
            format!("`{job}` 2 threads ÷ 1 thread, projected: busiest worker's CPU (1) ÷ (2)"),
            times(projected(job)),
            at_least(projected(job), 1.8),
        ]);
        for th in [1, 2] {
            let label = format!("{job}/{th}");
            v.row(vec![
                format!("`{job}` {th} thread(s) ÷ raw scan, per core (CPU)"),
                times(per_core(&label)),
                at_least(per_core(&label), 0.7),
            ]);
        }
    }
    for (job, duck) in [("rowcounter", "duck-rows"), ("cellcounter", "duck-cells")] {
        for th in [1, 2] {
            let r = ratio(
                s.wall(&format!("{duck}/{th}")),
                s.wall(&format!("{job}/{th}")),
            );
            v.row(vec![
                format!("`{job}` vs DuckDB, {th} thread(s) (wall speed ratio, info)"),
                times(r),
                String::new(),
            ]);
        }
    }
    out.push_str(&v.render());
    let _ = writeln!(out, "\nEvery run (wall/CPU seconds):\n");
    for label in s.labels() {
        let _ = writeln!(out, "* `{label}`: {}", s.describe(label));
        let busiest = s.describe_values(&format!("{label}#busiest"));
        if !busiest.is_empty() {
            let _ = writeln!(out, "  (busiest worker's CPU seconds: {busiest})");
        }
    }
    out
}
