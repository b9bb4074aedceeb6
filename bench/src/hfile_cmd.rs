//! The `hfile` subcommand: generate cells once, then per run and per compression write, scan and
//! point-read them with Basalt's HFile, RocksDB's SST and Parquet, and report medians.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::data::Dataset;
use crate::hfile_bench::{self, Settings};
use crate::stats::{median, Codec, GetStats, ScanStats, WriteStats};
use crate::{parquet_peer, rocksdb_peer, Result};

/// Arguments of `bench hfile`.
#[derive(clap::Args, Debug)]
pub struct HfileArgs {
    /// Number of cells to generate and write.
    #[arg(long, default_value_t = 10_000_000)]
    cells: usize,
    /// Runs per measurement; medians are reported.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Scratch directory for the files (emptied of this benchmark's files afterwards).
    #[arg(long, default_value = "bench/data")]
    dir: PathBuf,
    /// Columns (cells) per row.
    #[arg(long, default_value_t = 4)]
    cells_per_row: usize,
    /// Random row gets per timed pass (after an identical warm-up pass).
    #[arg(long, default_value_t = 100_000)]
    gets: usize,
    /// Data-block size in bytes for HFile and RocksDB.
    #[arg(long, default_value_t = 64 * 1024)]
    block_size: usize,
    /// Compressions to measure.
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [Codec::None, Codec::Gz, Codec::Lz4])]
    codecs: Vec<Codec>,
    /// Use FAST_DIFF data-block encoding for the HFile (default NONE, as HBase).
    #[arg(long)]
    fast_diff: bool,
    /// Write no Bloom filters (default: HFile ROW bloom, RocksDB 10 bits/key full filter).
    #[arg(long)]
    no_bloom: bool,
    /// Threads compressing blocks in the HFile writer (1 = on the writing thread). RocksDB's
    /// SstFileWriter always compresses on the writing thread here.
    #[arg(long, default_value_t = 1)]
    compress_threads: usize,
    /// Leave Parquet out.
    #[arg(long)]
    no_parquet: bool,
    /// Block-cache capacity in MiB for the get phase (both Basalt and RocksDB).
    #[arg(long, default_value_t = 4096)]
    cache_mib: usize,
    /// Seed of the data generator (and, +1, of the get sample).
    #[arg(long, default_value_t = 20_240_101)]
    seed: u64,
    /// Also write the markdown report to this file.
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Everything measured for one compression in one run.
struct Run {
    basalt_w: WriteStats,
    rocks_w: WriteStats,
    parquet_w: Option<WriteStats>,
    basalt_s: ScanStats,
    rocks_s: ScanStats,
    parquet_s: Option<ScanStats>,
    basalt_g: GetStats,
    rocks_g: GetStats,
}

fn secs(d: std::time::Duration) -> String {
    format!("{:.2}s", d.as_secs_f64())
}

fn check_scan(peer: &str, s: &ScanStats, ds: &Dataset) -> Result<()> {
    if s.cells != ds.len() as u64 {
        return Err(format!(
            "{peer}: scan returned {} cells, expected {}",
            s.cells,
            ds.len()
        )
        .into());
    }
    Ok(())
}

fn remove(path: &Path) -> Result<()> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(path)?,
        Ok(_) => std::fs::remove_file(path)?,
        Err(_) => {}
    }
    Ok(())
}

fn one_run(args: &HfileArgs, ds: &Dataset, rows: &[usize], codec: Codec) -> Result<Run> {
    let settings = Settings {
        block_size: args.block_size,
        fast_diff: args.fast_diff,
        row_bloom: !args.no_bloom,
        compress_threads: args.compress_threads,
    };
    let name = codec.to_string().to_lowercase();
    let hfile_path = args.dir.join(format!("basalt-{name}.hfile"));
    let sst_path = args.dir.join(format!("rocksdb-{name}.sst"));
    let db_dir = args.dir.join(format!("rocksdb-{name}-db"));
    let pq_path = args.dir.join(format!("parquet-{name}.parquet"));
    for p in [&hfile_path, &sst_path, &db_dir, &pq_path] {
        remove(p)?;
    }
    let cache_bytes = args.cache_mib << 20;
    let basalt_w = hfile_bench::write(ds, &hfile_path, codec, settings)?;
    eprintln!("    basalt  write {}", secs(basalt_w.elapsed));
    let rocks_w = rocksdb_peer::write(ds, &sst_path, codec, args.block_size, !args.no_bloom)?;
    eprintln!("    rocksdb write {}", secs(rocks_w.elapsed));
    let parquet_w = if args.no_parquet {
        None
    } else {
        let w = parquet_peer::write(ds, &pq_path, codec)?;
        eprintln!("    parquet write {}", secs(w.elapsed));
        Some(w)
    };

    let basalt_s = hfile_bench::scan(&hfile_path)?;
    check_scan("hfile", &basalt_s, ds)?;
    eprintln!("    basalt  scan  {}", secs(basalt_s.elapsed));
    let db = rocksdb_peer::Ingested::open(
        &db_dir,
        &sst_path,
        codec,
        args.block_size,
        !args.no_bloom,
        cache_bytes,
    )?;
    let rocks_s = db.scan()?;
    check_scan("rocksdb", &rocks_s, ds)?;
    eprintln!("    rocksdb scan  {}", secs(rocks_s.elapsed));
    let parquet_s = if args.no_parquet {
        None
    } else {
        let s = parquet_peer::scan(&pq_path)?;
        check_scan("parquet", &s, ds)?;
        eprintln!("    parquet scan  {}", secs(s.elapsed));
        Some(s)
    };

    let basalt_g = hfile_bench::Opened::open(&hfile_path, cache_bytes)?.gets(ds, rows)?;
    eprintln!(
        "    basalt  gets  p50 {:.1}µs p99 {:.1}µs",
        basalt_g.p50.as_secs_f64() * 1e6,
        basalt_g.p99.as_secs_f64() * 1e6
    );
    let rocks_g = db.gets(ds, rows)?;
    eprintln!(
        "    rocksdb gets  p50 {:.1}µs p99 {:.1}µs",
        rocks_g.p50.as_secs_f64() * 1e6,
        rocks_g.p99.as_secs_f64() * 1e6
    );
    drop(db);
    let run = Run {
        basalt_w,
        rocks_w,
        parquet_w,
        basalt_s,
        rocks_s,
        parquet_s,
        basalt_g,
        rocks_g,
    };

    for p in [&hfile_path, &sst_path, &db_dir, &pq_path] {
        remove(p)?;
    }
    Ok(run)
}

/// Runs the benchmark and prints (and optionally saves) the report.
pub fn run(args: &HfileArgs) -> Result<()> {
    if args.runs == 0 || args.cells == 0 || args.codecs.is_empty() {
        return Err("--runs, --cells and --codecs must be non-empty".into());
    }
    if args.cells_per_row == 0 || args.cells_per_row > 999_999 {
        return Err("--cells-per-row must be in 1..=999999".into());
    }
    std::fs::create_dir_all(&args.dir)?;
    let t = Instant::now();
    eprintln!("generating {} cells ...", args.cells);
    let ds = Dataset::generate(args.cells, args.cells_per_row, args.seed);
    let rows = ds.sample_rows(args.gets, args.seed + 1);
    eprintln!(
        "  {} rows, {:.1} MB logical, in {}",
        ds.rows(),
        ds.logical_bytes() as f64 / 1e6,
        secs(t.elapsed())
    );

    let mut results: Vec<(Codec, Vec<Run>)> =
        args.codecs.iter().map(|&c| (c, Vec::new())).collect();
    for r in 0..args.runs {
        for (codec, runs) in results.iter_mut() {
            eprintln!("run {}/{} {codec}", r + 1, args.runs);
            runs.push(one_run(args, &ds, &rows, *codec)?);
        }
    }

    let report = render(args, &ds, &results);
    crate::report::publish(&report, args.out.as_deref())
}

fn med(runs: &[Run], f: impl Fn(&Run) -> Option<f64>) -> Option<f64> {
    let v: Vec<f64> = runs.iter().filter_map(f).collect();
    median(&v)
}

fn fmt_num(v: Option<f64>) -> String {
    match v {
        None => "n/a".to_string(),
        Some(x) if x >= 100.0 => format!("{x:.0}"),
        Some(x) if x >= 10.0 => format!("{x:.1}"),
        Some(x) => format!("{x:.2}"),
    }
}

/// How a median is shown.
#[derive(Clone, Copy)]
enum Conv {
    /// Seconds → logical MB per second.
    BytesPerSec,
    /// Seconds → million cells per second.
    McellsPerSec,
    /// Shown as is.
    Value,
}

fn nonzero(d: std::time::Duration) -> Option<f64> {
    Some(d.as_secs_f64()).filter(|&x| x > 0.0)
}

/// Which direction is better for a metric, and the target for the Basalt/RocksDB ratio.
enum Target {
    /// Higher is better; ratio must reach `min` (aim `aim`).
    AtLeast { min: f64, aim: f64 },
    /// Lower is better; ratio must stay within `max`.
    AtMost { max: f64 },
    /// An absolute bound on Basalt's own value (lower is better).
    AbsBelow(f64),
    /// Informational.
    None,
}

fn verdict(target: &Target, basalt: Option<f64>, ratio: Option<f64>) -> String {
    match (target, basalt, ratio) {
        (Target::AtLeast { min, aim }, _, Some(r)) => {
            let mark = if r >= *aim {
                "✅"
            } else if r >= *min {
                "🟡"
            } else {
                "❌"
            };
            format!("{mark} ≥{min} (aim {aim})")
        }
        (Target::AtMost { max }, _, Some(r)) => {
            format!("{} ≤{max}", if r <= *max { "✅" } else { "❌" })
        }
        (Target::AbsBelow(lim), Some(b), _) => {
            format!("{} <{lim} MiB", if b < *lim { "✅" } else { "❌" })
        }
        _ => String::new(),
    }
}

fn render(args: &HfileArgs, ds: &Dataset, results: &[(Codec, Vec<Run>)]) -> String {
    const MB: f64 = 1e6;
    const MIB: f64 = 1024.0 * 1024.0;
    let logical = ds.logical_bytes() as f64;
    let n = ds.len() as f64;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "### bench hfile: {} cells ({} rows × {} columns), {:.1} MB logical, median of {} runs\n",
        ds.len(),
        ds.rows(),
        ds.cells_per_row(),
        logical / MB,
        args.runs
    );
    let _ = writeln!(
        s,
        "block size {} B; compress threads {}; HFile encoding {}; Bloom {}; {} random row gets (+1 warm-up pass), block cache {} MiB\n",
        args.block_size,
        args.compress_threads,
        if args.fast_diff { "FAST_DIFF" } else { "NONE" },
        if args.no_bloom { "none" } else { "HFile ROW / RocksDB 10 bits/key" },
        args.gets,
        args.cache_mib
    );
    let _ = writeln!(
        s,
        "| codec | metric | Basalt HFile | RocksDB SST | Parquet | Basalt/RocksDB | target |"
    );
    let _ = writeln!(s, "|---|---|---:|---:|---:|---:|---|");

    type Pick = fn(&Run) -> Option<f64>;
    for (codec, runs) in results {
        // (metric, basalt, rocksdb, parquet, how to turn the median into the shown number, target)
        let rows: Vec<(&str, Pick, Pick, Pick, Conv, Target)> = vec![
            (
                "write MB/s (wall)",
                |r| Some(r.basalt_w.elapsed.as_secs_f64()),
                |r| Some(r.rocks_w.elapsed.as_secs_f64()),
                |r| r.parquet_w.as_ref().map(|w| w.elapsed.as_secs_f64()),
                Conv::BytesPerSec,
                Target::AtLeast { min: 1.0, aim: 1.5 },
            ),
            (
                "write MB/s (CPU)",
                |r| nonzero(r.basalt_w.cpu),
                |r| nonzero(r.rocks_w.cpu),
                |r| r.parquet_w.as_ref().and_then(|w| nonzero(w.cpu)),
                Conv::BytesPerSec,
                Target::AtLeast { min: 1.0, aim: 1.5 },
            ),
            (
                "write Mcells/s (wall)",
                |r| Some(r.basalt_w.elapsed.as_secs_f64()),
                |r| Some(r.rocks_w.elapsed.as_secs_f64()),
                |r| r.parquet_w.as_ref().map(|w| w.elapsed.as_secs_f64()),
                Conv::McellsPerSec,
                Target::None,
            ),
            (
                "file size MiB",
                |r| Some(r.basalt_w.file_bytes as f64 / MIB),
                |r| Some(r.rocks_w.file_bytes as f64 / MIB),
                |r| r.parquet_w.as_ref().map(|w| w.file_bytes as f64 / MIB),
                Conv::Value,
                Target::None,
            ),
            (
                "full scan MB/s (wall)",
                |r| Some(r.basalt_s.elapsed.as_secs_f64()),
                |r| Some(r.rocks_s.elapsed.as_secs_f64()),
                |r| r.parquet_s.as_ref().map(|x| x.elapsed.as_secs_f64()),
                Conv::BytesPerSec,
                Target::AtLeast { min: 1.0, aim: 1.5 },
            ),
            (
                "full scan MB/s (CPU)",
                |r| nonzero(r.basalt_s.cpu),
                |r| nonzero(r.rocks_s.cpu),
                |r| r.parquet_s.as_ref().and_then(|x| nonzero(x.cpu)),
                Conv::BytesPerSec,
                Target::AtLeast { min: 1.0, aim: 1.5 },
            ),
            (
                "get p50 µs (wall)",
                |r| Some(r.basalt_g.p50.as_secs_f64() * 1e6),
                |r| Some(r.rocks_g.p50.as_secs_f64() * 1e6),
                |_| None,
                Conv::Value,
                Target::AtMost { max: 1.5 },
            ),
            (
                "get p99 µs (wall)",
                |r| Some(r.basalt_g.p99.as_secs_f64() * 1e6),
                |r| Some(r.rocks_g.p99.as_secs_f64() * 1e6),
                |_| None,
                Conv::Value,
                Target::AtMost { max: 1.5 },
            ),
            (
                "get CPU µs/op",
                |r| nonzero(r.basalt_g.cpu).map(|c| c * 1e6 / r.basalt_g.ops as f64),
                |r| nonzero(r.rocks_g.cpu).map(|c| c * 1e6 / r.rocks_g.ops as f64),
                |_| None,
                Conv::Value,
                Target::AtMost { max: 1.5 },
            ),
            (
                "gets k/s, 1 thread (wall)",
                |r| Some(r.basalt_g.ops_per_sec() / 1e3),
                |r| Some(r.rocks_g.ops_per_sec() / 1e3),
                |_| None,
                Conv::Value,
                Target::None,
            ),
            (
                "writer peak heap MiB (Rust allocator)",
                |r| Some(r.basalt_w.peak_heap as f64 / MIB),
                |_| None,
                |r| r.parquet_w.as_ref().map(|w| w.peak_heap as f64 / MIB),
                Conv::Value,
                Target::AbsBelow(64.0),
            ),
            (
                "writer peak RSS growth MiB",
                |r| r.basalt_w.peak_rss.map(|b| b as f64 / MIB),
                |r| r.rocks_w.peak_rss.map(|b| b as f64 / MIB),
                |r| {
                    r.parquet_w
                        .as_ref()
                        .and_then(|w| w.peak_rss)
                        .map(|b| b as f64 / MIB)
                },
                Conv::Value,
                Target::None,
            ),
        ];
        for (metric, fb, fr, fp, conv, target) in rows {
            // Rates are computed from the median time (the median commutes with the monotone
            // map t -> x/t, so for an odd run count this is the median rate).
            let conv = |v: Option<f64>| -> Option<f64> {
                let t = v?;
                Some(match conv {
                    Conv::BytesPerSec => logical / MB / t,
                    Conv::McellsPerSec => n / 1e6 / t,
                    Conv::Value => t,
                })
            };
            let b = conv(med(runs, fb));
            let r = conv(med(runs, fr));
            let p = conv(med(runs, fp));
            let ratio = match (b, r) {
                (Some(b), Some(r)) if r > 0.0 => Some(b / r),
                _ => None,
            };
            let rocks = if metric.starts_with("writer peak heap") {
                "n/a (C++)".to_string()
            } else {
                fmt_num(r)
            };
            let _ = writeln!(
                s,
                "| {codec} | {metric} | {} | {rocks} | {} | {} | {} |",
                fmt_num(b),
                fmt_num(p),
                ratio.map(|x| format!("{x:.2}×")).unwrap_or_default(),
                verdict(&target, b, ratio)
            );
        }
    }
    let _ = writeln!(
        s,
        "\nMB = 10^6 bytes of logical data (Σ KeyValue key length + value length = {} bytes), the same \
         numerator for every peer. (wall) rates use elapsed time; (CPU) rates use this process's CPU \
         time over the same span, which does not count time spent waiting for a core on a busy \
         machine. Writes include creating the file, `finish`/`close` and an fsync (on tmpfs an fsync \
         costs nothing). Scans exclude opening the file and read from the OS page cache. \
         Peak heap counts only Rust allocations (RocksDB's C++ allocations are invisible to it); \
         peak RSS growth is VmHWM − VmRSS around the write after malloc_trim and a reset of VmHWM.",
        ds.logical_bytes()
    );
    s
}
