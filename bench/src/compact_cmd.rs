//! The `compact` subcommand (issue 7): a major compaction of a store holding many
//! overlapping HFiles, beside the same merge done with the `hfile` crate alone (the limit)
//! and RocksDB's manual full compaction of the same cells ingested as the same number of
//! SSTs.
//!
//! **Data.** `--files` input files (12) over `--rows` rows; the rows are dealt into
//! `files / overlap` interleaved groups (row `r` is in group `r mod groups`), and group `g`
//! is written `overlap` times, as files `g`, `g + groups`, … with versions 0, 1, … (a later
//! file holds newer timestamps). Every file spans the whole key range, every row is in
//! `overlap` files, and a major compaction of a `VERSIONS => 1` family keeps only the newest
//! version: `rows × cells_per_row` cells out of `overlap` times as many.
//!
//! **Peers**, each single-threaded, run one after another per run:
//! * Basalt: a fresh embedded store (background work off), a one-region table, the files
//!   bulk-loaded one call each in file order, then `Admin::compact(table, major = true)` timed.
//! * the limit ([`crate::merge`]): the same input HFiles merged into one with the engine's
//!   writer options.
//! * RocksDB ([`crate::rocksdb_compact`]): the cells as SSTs ingested into L0 in file
//!   order, then `compact_range(None, None)` timed.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use store_server::TableName;

use crate::cpu::Stopwatch;
use crate::idle::settle;
use crate::report::{at_least, check, machine, num, rate, ratio, times, MdTable, Samples};
use crate::rocksdb_compact::{self, sst_options, SstWriter};
use crate::rowgen::{GenRow, RowGen};
use crate::scratch::{remove, Scratch};
use crate::stats::median;
use crate::{engine, merge, Result};

/// Name of the benchmark table.
const TABLE: &str = "compact";

/// Arguments of `bench compact`.
#[derive(clap::Args, Debug)]
pub struct CompactArgs {
    /// Distinct rows.
    #[arg(long, default_value_t = 1_250_000)]
    rows: u64,
    /// Cells (columns) per row.
    #[arg(long, default_value_t = 4)]
    cells_per_row: usize,
    /// Bytes per value.
    #[arg(long, default_value_t = 100)]
    value_len: usize,
    /// Input files (HFiles in the store; SSTs in RocksDB's L0).
    #[arg(long, default_value_t = 12)]
    files: u64,
    /// Files each row appears in (versions per cell); must divide --files.
    #[arg(long, default_value_t = 2)]
    overlap: u64,
    /// Runs per measurement; medians are reported.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Leave RocksDB out (Basalt and the limit only: quicker A/B runs).
    #[arg(long)]
    no_rocksdb: bool,
    /// Scratch directory (created empty, removed afterwards).
    #[arg(long, default_value = "/dev/shm/basalt-bench-compact")]
    dir: PathBuf,
    /// Before each timed step, wait up to this many seconds for the machine to be quiet
    /// (see --max-busy); 0 = do not wait.
    #[arg(long, default_value_t = 30)]
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

/// The generated inputs.
struct Inputs {
    hfiles: Vec<PathBuf>,
    ssts: Vec<PathBuf>,
    hfile_bytes: u64,
    cells_in: u64,
    cells_out: u64,
    logical_in: u64,
}

fn generate(args: &CompactArgs, scratch: &Scratch) -> Result<Inputs> {
    let dir = scratch.fresh("inputs")?;
    std::fs::create_dir_all(&dir)?;
    let gen = RowGen::new(args.seed, args.cells_per_row, args.value_len);
    let groups = args.files / args.overlap;
    let sst_opts = sst_options();
    let mut inputs = Inputs {
        hfiles: Vec::new(),
        ssts: Vec::new(),
        hfile_bytes: 0,
        cells_in: 0,
        cells_out: args.rows * gen.cells_per_row() as u64,
        logical_in: 0,
    };
    let mut row = GenRow::default();
    for f in 0..args.files {
        let (group, version) = (f % groups, (f / groups) as u32);
        let hpath = dir.join(format!("in-{f:02}.hfile"));
        let spath = dir.join(format!("in-{f:02}.sst"));
        let mut hw = engine::store_writer(&hpath)?;
        let mut sw = SstWriter::create(&sst_opts, &spath)?;
        for r in (group..args.rows).step_by(groups as usize) {
            gen.fill(r, version, &mut row);
            for q in 0..gen.cells_per_row() {
                let c = gen.cell(&row, q);
                hw.append(&c)?;
                sw.put(&c)?;
                inputs.cells_in += 1;
                inputs.logical_in += (hfile::CellView::key_len(&c) + c.value.len()) as u64;
            }
        }
        inputs.hfile_bytes += hw.finish()?.file_size;
        sw.finish()?;
        inputs.hfiles.push(hpath);
        inputs.ssts.push(spath);
    }
    Ok(inputs)
}

/// Sizes and counts one peer reported for one run.
#[derive(Clone, Copy, Debug, Default)]
struct Shape {
    files_in: usize,
    files_out: usize,
    bytes_in: u64,
    bytes_out: u64,
}

fn basalt_run(
    args: &CompactArgs,
    inputs: &Inputs,
    scratch: &Scratch,
    busy: &mut Vec<f64>,
) -> Result<(crate::cpu::Timing, Shape)> {
    let root = scratch.fresh("root")?;
    let conn = engine::open(&root, false)?;
    engine::create_table(&conn, TABLE, &[])?;
    engine::bulk_load(&conn, TABLE, &inputs.hfiles)?;
    let before = engine::store_files(&conn, TABLE)?;
    check("store files before", before.len() as u64, args.files)?;
    settle(args.quiet_wait, args.max_busy, busy);
    let sw = Stopwatch::start();
    let reports = conn.admin().compact(&TableName::parse(TABLE)?, true)?;
    let timing = sw.timing();
    let after = engine::store_files(&conn, TABLE)?;
    let sum = |f: fn(&store_server::compaction::CompactionReport) -> u64| -> u64 {
        reports.iter().map(f).sum()
    };
    check("basalt cells in", sum(|r| r.cells_in), inputs.cells_in)?;
    check("basalt cells out", sum(|r| r.cells_out), inputs.cells_out)?;
    check("store files after", after.len() as u64, 1)?;
    let shape = Shape {
        files_in: sum(|r| r.files_in as u64) as usize,
        files_out: after.len(),
        bytes_in: sum(|r| r.bytes_in),
        bytes_out: sum(|r| r.bytes_out),
    };
    conn.close()?;
    drop(conn);
    remove(&root)?;
    Ok((timing, shape))
}

/// Runs the benchmark and prints (and optionally saves) the report.
pub fn run(args: &CompactArgs) -> Result<()> {
    if args.runs == 0 || args.rows == 0 || args.files == 0 || args.overlap == 0 {
        return Err("--runs, --rows, --files and --overlap must be non-zero".into());
    }
    if !args.files.is_multiple_of(args.overlap) || args.files / args.overlap > args.rows {
        return Err("--overlap must divide --files, with at least one row per group".into());
    }
    if args.cells_per_row == 0 || args.cells_per_row > 999_999 {
        return Err("--cells-per-row must be in 1..=999999".into());
    }
    let machine_before = machine();
    let scratch = Scratch::create(&args.dir)?;
    let t = Instant::now();
    eprintln!(
        "generating {} files over {} rows × {} cells ...",
        args.files, args.rows, args.cells_per_row
    );
    let inputs = generate(args, &scratch)?;
    eprintln!(
        "  {} cells in, {:.1} MB logical, {:.1} MB of HFiles, in {:.1}s",
        inputs.cells_in,
        inputs.logical_in as f64 / 1e6,
        inputs.hfile_bytes as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );
    let mut samples = Samples::default();
    let mut shapes: Vec<(&str, Shape)> = Vec::new();
    let mut busy = Vec::new();
    for r in 0..args.runs {
        eprintln!("run {}/{}", r + 1, args.runs);
        let (timing, shape) = basalt_run(args, &inputs, &scratch, &mut busy)?;
        eprintln!(
            "    basalt major compaction {:.2}s",
            timing.wall.as_secs_f64()
        );
        samples.add("basalt", timing);
        shapes.push(("basalt", shape));

        let out = scratch.fresh("merged.hfile")?;
        settle(args.quiet_wait, args.max_busy, &mut busy);
        let m = merge::merge(&inputs.hfiles, &out)?;
        check("merge cells in", m.cells_in, inputs.cells_in)?;
        check("merge cells out", m.cells_out, inputs.cells_out)?;
        remove(&out)?;
        eprintln!(
            "    hfile merge (limit)     {:.2}s",
            m.timing.wall.as_secs_f64()
        );
        samples.add("limit", m.timing);
        shapes.push((
            "limit",
            Shape {
                files_in: inputs.hfiles.len(),
                files_out: 1,
                bytes_in: inputs.hfile_bytes,
                bytes_out: m.bytes_out,
            },
        ));

        if args.no_rocksdb {
            continue;
        }
        let db_dir = scratch.fresh("rocksdb")?;
        settle(args.quiet_wait, args.max_busy, &mut busy);
        let c = rocksdb_compact::ingest_and_compact(&db_dir, &inputs.ssts)?;
        remove(&db_dir)?;
        check("rocksdb files before", c.files_in as u64, args.files)?;
        check("rocksdb cells in", c.cells_in, inputs.cells_in)?;
        check("rocksdb cells out", c.cells_out, inputs.cells_out)?;
        eprintln!(
            "    rocksdb compact_range   {:.2}s",
            c.timing.wall.as_secs_f64()
        );
        samples.add("rocksdb", c.timing);
        shapes.push((
            "rocksdb",
            Shape {
                files_in: c.files_in,
                files_out: c.files_out,
                bytes_in: c.bytes_in,
                bytes_out: c.bytes_out,
            },
        ));
    }
    drop(scratch);
    let report = render(args, &inputs, &samples, &shapes, &machine_before, &busy);
    crate::report::publish(&report, args.out.as_deref())
}

fn render(
    args: &CompactArgs,
    inputs: &Inputs,
    s: &Samples,
    shapes: &[(&str, Shape)],
    machine_before: &str,
    busy: &[f64],
) -> String {
    let mb = inputs.logical_in as f64 / 1e6;
    let mcells = inputs.cells_in as f64 / 1e6;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "### bench compact: {} files → 1, {} cells in → {} out, {:.0} MB logical in, median of {} runs\n",
        args.files, inputs.cells_in, inputs.cells_out, mb, args.runs
    );
    let _ = writeln!(
        out,
        "Machine: {machine_before} (at start); {} (at end). {} rows × {} cells of {} B values, \
         each row in {} of the files; family defaults (NONE, ROW Bloom, 64 KiB blocks, 1 version).\n",
        machine(),
        args.rows,
        args.cells_per_row,
        args.value_len,
        args.overlap
    );
    let mut t = MdTable::new(&[
        "peer",
        ">wall s",
        ">CPU s",
        ">MB/s in (wall)",
        ">MB/s in (CPU)",
        ">M cells in/s (CPU)",
        ">files in → out",
        ">own MB in → out",
    ]);
    let names = [
        ("basalt", "Basalt major compaction (`Admin::compact`)"),
        ("limit", "`hfile` merge → one file (the limit)"),
        ("rocksdb", "RocksDB `compact_range` (L0 → L1)"),
    ];
    for (key, name) in names {
        let (w, c) = (s.wall(key), s.cpu(key));
        let shape = shapes
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, sh)| *sh)
            .unwrap_or_default();
        t.row(vec![
            name.to_string(),
            num(w),
            num(c),
            num(rate(mb, w)),
            num(rate(mb, c)),
            num(rate(mcells, c)),
            format!("{} → {}", shape.files_in, shape.files_out),
            format!(
                "{:.0} → {:.0}",
                shape.bytes_in as f64 / 1e6,
                shape.bytes_out as f64 / 1e6
            ),
        ]);
    }
    out.push_str(&t.render());
    let _ = writeln!(
        out,
        "\nMB = 10^6 bytes of logical input (Σ KeyValue key length + value length over the {} input \
         cells = {} bytes), the same numerator for every peer; \"own MB\" are each peer's file sizes.\n",
        inputs.cells_in, inputs.logical_in
    );
    if !busy.is_empty() {
        let _ = writeln!(
            out,
            "Machine busy (all cores, 1 s) just before each timed step: median {:.0} %, max {:.0} %.\n",
            median(busy).unwrap_or(0.0) * 100.0,
            busy.iter().copied().fold(0.0, f64::max) * 100.0
        );
    }
    let mut v = MdTable::new(&["target", ">measured", "verdict"]);
    let cpu_ratio = |a: &str, b: &str| ratio(s.cpu(b), s.cpu(a));
    let wall_ratio = |a: &str, b: &str| ratio(s.wall(b), s.wall(a));
    v.row(vec![
        "Basalt ÷ `hfile` merge rate (CPU)".into(),
        times(cpu_ratio("basalt", "limit")),
        at_least(cpu_ratio("basalt", "limit"), 0.8),
    ]);
    v.row(vec![
        "Basalt ÷ `hfile` merge rate (wall)".into(),
        times(wall_ratio("basalt", "limit")),
        at_least(wall_ratio("basalt", "limit"), 0.8),
    ]);
    v.row(vec![
        "Basalt ÷ RocksDB rate (CPU, info)".into(),
        times(cpu_ratio("basalt", "rocksdb")),
        String::new(),
    ]);
    v.row(vec![
        "Basalt ÷ RocksDB rate (wall, info)".into(),
        times(wall_ratio("basalt", "rocksdb")),
        String::new(),
    ]);
    out.push_str(&v.render());
    let _ = writeln!(out, "\nEvery run (wall/CPU seconds):\n");
    for label in s.labels() {
        let _ = writeln!(out, "* `{label}`: {}", s.describe(label));
    }
    out
}
