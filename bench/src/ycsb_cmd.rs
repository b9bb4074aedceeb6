//! The `ycsb` subcommand (issue 3): YCSB core workloads A, B, C and E with Zipfian keys and
//! 1 KiB records through Basalt's embedded `Table` API and through RocksDB, in the same
//! process and run, with synced WAL writes on both sides.
//!
//! Both stores are loaded once (`--records` records in batches, `--threads` loader threads),
//! then each run executes every workload on Basalt and then on RocksDB with the same
//! request stream (the client threads' generators are seeded per run, workload and thread,
//! not per store). Per operation latency is measured around the store call; throughput is
//! operations over the wall time of the whole workload. WAL `fsync`s are counted by
//! Basalt's WAL (`Wal::stats().fsyncs`) and, with `--rocksdb-stats`, by RocksDB's
//! `rocksdb.wal.synced` ticker.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use crate::cpu::{Stopwatch, Timing};
use crate::idle::settle;
use crate::report::{at_least, machine, num, rate, ratio, secs, times, MdTable};
use crate::rowgen::mix64;
use crate::scratch::Scratch;
use crate::stats::{median, percentile};
use crate::ycsb::{self, Op, ScrambledZipfian, Values, Workload};
use crate::ycsb_store::{BasaltStore, KvStore, Record, RocksStore};
use crate::{engine, Result};

/// YCSB's table name.
const TABLE: &str = "usertable";

/// Arguments of `bench ycsb`.
#[derive(clap::Args, Debug)]
pub struct YcsbArgs {
    /// Records loaded (`recordcount`).
    #[arg(long, default_value_t = 1_000_000)]
    records: u64,
    /// Operations per run of workloads A, B and C (`operationcount`).
    #[arg(long, default_value_t = 200_000)]
    ops: u64,
    /// Operations per run of workload E (scans are long).
    #[arg(long, default_value_t = 50_000)]
    scan_ops: u64,
    /// Client threads (`threadcount`).
    #[arg(long, default_value_t = 4)]
    threads: usize,
    /// Workloads, in order.
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [Workload::A, Workload::B, Workload::C, Workload::E])]
    workloads: Vec<Workload>,
    /// Runs of every workload; medians are reported.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Regions Basalt's table is pre-split into (at key quantiles).
    #[arg(long, default_value_t = 4)]
    regions: usize,
    /// Records per batch in the load phase.
    #[arg(long, default_value_t = 1000)]
    load_batch: usize,
    /// RocksDB block cache in MiB (Basalt's block cache default is 256 MiB).
    #[arg(long, default_value_t = 256)]
    cache_mib: usize,
    /// Data block size in bytes for both stores (default: each store's own, HBase's 64 KiB
    /// for Basalt's family and RocksDB's 4 KiB).
    #[arg(long)]
    block_size: Option<u32>,
    /// Enable RocksDB statistics to count its WAL syncs (slows RocksDB somewhat).
    #[arg(long)]
    rocksdb_stats: bool,
    /// Let RocksDB read its SST files through memory maps (`allow_mmap_reads`), as Basalt
    /// reads HFiles.
    #[arg(long)]
    rocksdb_mmap: bool,
    /// Leave RocksDB out.
    #[arg(long)]
    no_rocksdb: bool,
    /// Leave Basalt out.
    #[arg(long)]
    no_basalt: bool,
    /// Scratch directory (created empty, removed afterwards).
    #[arg(long, default_value = "/dev/shm/basalt-bench-ycsb")]
    dir: PathBuf,
    /// Before each timed workload, wait up to this many seconds for the machine to be quiet
    /// (see --max-busy); 0 = do not wait.
    #[arg(long, default_value_t = 30)]
    quiet_wait: u64,
    /// "Quiet" = at most this fraction of all cores busy over one second.
    #[arg(long, default_value_t = 0.2)]
    max_busy: f64,
    /// Seed of values and request streams.
    #[arg(long, default_value_t = 20_240_101)]
    seed: u64,
    /// Also write the markdown report to this file.
    #[arg(long)]
    out: Option<PathBuf>,
}

/// One store's run of one workload.
#[derive(Clone, Debug, Default)]
struct WlRun {
    timing: Timing,
    ops: u64,
    writes: u64,
    fsyncs: Option<u64>,
    /// Per operation kind: (p50, p99, count).
    per_op: BTreeMap<Op, (Duration, Duration, u64)>,
    p50: Duration,
    p99: Duration,
}

/// State shared by the client threads of one store.
struct Shared<'a> {
    store: &'a dyn KvStore,
    values: &'a Values,
    next_insert: &'a AtomicU64,
    write_seq: &'a AtomicU64,
}

fn client(
    sh: &Shared<'_>,
    wl: Workload,
    chooser: &ScrambledZipfian,
    ops: u64,
    seed: u64,
) -> Result<Vec<(Op, Duration)>> {
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut lat = Vec::with_capacity(ops as usize);
    for _ in 0..ops {
        let op = wl.draw(&mut rng);
        let keynum = chooser.next(&mut rng);
        match op {
            Op::Read => {
                let key = ycsb::key(keynum);
                let t = Instant::now();
                let n = sh.store.read(&key)?;
                lat.push((op, t.elapsed()));
                if n != ycsb::FIELDS {
                    return Err(format!("read of record {keynum}: {n} fields").into());
                }
            }
            Op::Update => {
                let key = ycsb::key(keynum);
                let field = rng.random_range(0..ycsb::FIELDS);
                let seq = sh.write_seq.fetch_add(1, Ordering::Relaxed);
                let value = sh.values.value(keynum, field, seq);
                let name = ycsb::field_name(field);
                let t = Instant::now();
                sh.store.update(&key, &name, &value)?;
                lat.push((op, t.elapsed()));
            }
            Op::Scan => {
                let key = ycsb::key(keynum);
                let n = rng.random_range(1..=ycsb::MAX_SCAN);
                let t = Instant::now();
                let got = sh.store.scan(&key, n)?;
                lat.push((op, t.elapsed()));
                if got == 0 {
                    return Err(format!("scan from record {keynum} found nothing").into());
                }
            }
            Op::Insert => {
                let keynum = sh.next_insert.fetch_add(1, Ordering::Relaxed);
                let key = ycsb::key(keynum);
                let record = sh.values.record(keynum, 0);
                let t = Instant::now();
                sh.store.insert(&key, &record)?;
                lat.push((op, t.elapsed()));
            }
        }
    }
    Ok(lat)
}

fn run_workload(args: &YcsbArgs, sh: &Shared<'_>, wl: Workload, run: usize) -> Result<WlRun> {
    let total = if wl == Workload::E {
        args.scan_ops
    } else {
        args.ops
    };
    let threads = args.threads.max(1) as u64;
    let chooser = ScrambledZipfian::new(args.records);
    let fsyncs_before = sh.store.fsyncs();
    let sw = Stopwatch::start();
    let lats: Vec<Vec<(Op, Duration)>> = std::thread::scope(|s| -> Result<_> {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let ops = total / threads + u64::from(t < total % threads);
                let seed = mix64(args.seed ^ mix64((run as u64) << 32 | (wl as u64) << 16 | t));
                let chooser = &chooser;
                std::thread::Builder::new()
                    .name(format!("ycsb-client-{t}"))
                    .spawn_scoped(s, move || client(sh, wl, chooser, ops, seed))
            })
            .collect::<std::io::Result<_>>()?;
        handles
            .into_iter()
            .map(|h| h.join().map_err(|_| "ycsb client panicked")?)
            .collect()
    })?;
    let timing = sw.timing();
    let mut all: Vec<Duration> = Vec::with_capacity(total as usize);
    let mut by_op: BTreeMap<Op, Vec<Duration>> = BTreeMap::new();
    for (op, d) in lats.into_iter().flatten() {
        all.push(d);
        by_op.entry(op).or_default().push(d);
    }
    all.sort_unstable();
    let writes = by_op
        .iter()
        .filter(|(op, _)| op.writes())
        .map(|(_, v)| v.len() as u64)
        .sum();
    let per_op = by_op
        .into_iter()
        .map(|(op, mut v)| {
            v.sort_unstable();
            (
                op,
                (percentile(&v, 0.5), percentile(&v, 0.99), v.len() as u64),
            )
        })
        .collect();
    Ok(WlRun {
        timing,
        ops: all.len() as u64,
        writes,
        fsyncs: match (fsyncs_before, sh.store.fsyncs()) {
            (Some(a), Some(b)) => Some(b.saturating_sub(a)),
            _ => None,
        },
        per_op,
        p50: percentile(&all, 0.5),
        p99: percentile(&all, 0.99),
    })
}

/// Loads records `0..records` with `threads` threads in batches; returns the timing.
fn load(args: &YcsbArgs, store: &dyn KvStore, values: &Values) -> Result<Timing> {
    let threads = args.threads.max(1) as u64;
    let n = args.records;
    let sw = Stopwatch::start();
    std::thread::scope(|s| -> Result<()> {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                s.spawn(move || -> Result<()> {
                    let (lo, hi) = (t * n / threads, (t + 1) * n / threads);
                    let mut batch: Vec<(Vec<u8>, Record)> = Vec::with_capacity(args.load_batch);
                    for k in lo..hi {
                        batch.push((ycsb::key(k), values.record(k, 0)));
                        if batch.len() == args.load_batch || k + 1 == hi {
                            store.insert_batch(&batch)?;
                            batch.clear();
                        }
                    }
                    Ok(())
                })
            })
            .collect();
        for h in handles {
            h.join().map_err(|_| "ycsb loader panicked")??;
        }
        Ok(())
    })?;
    Ok(sw.timing())
}

/// Region split points at quantiles of the (hashed) keys.
fn split_keys(records: u64, regions: usize) -> Vec<Vec<u8>> {
    let sample = records.min(100_000);
    let mut keys: Vec<Vec<u8>> = (0..sample)
        .map(|i| ycsb::key(i * records / sample.max(1)))
        .collect();
    keys.sort_unstable();
    let mut out: Vec<Vec<u8>> = (1..regions)
        .map(|i| keys[i * keys.len() / regions].clone())
        .collect();
    out.dedup();
    out
}

/// One store under test.
struct Engine {
    name: &'static str,
    store: Box<dyn KvStore>,
    next_insert: AtomicU64,
    load: Timing,
    runs: BTreeMap<&'static str, Vec<WlRun>>,
}

/// Runs the benchmark and prints (and optionally saves) the report.
pub fn run(args: &YcsbArgs) -> Result<()> {
    if args.runs == 0 || args.records == 0 || args.threads == 0 || args.load_batch == 0 {
        return Err("--runs, --records, --threads and --load-batch must be non-zero".into());
    }
    let machine_before = machine();
    let scratch = Scratch::create(&args.dir)?;
    let values = Values::new(args.seed);
    let mut engines: Vec<Engine> = Vec::new();
    if !args.no_basalt {
        let conn = engine::open(&scratch.fresh("basalt")?, true)?;
        let mut fam = engine::family();
        if let Some(b) = args.block_size {
            fam.block_size = b;
        }
        engine::create_table_with(&conn, TABLE, fam, &split_keys(args.records, args.regions))?;
        engines.push(Engine {
            name: "Basalt",
            store: Box::new(BasaltStore::new(conn, TABLE)?),
            next_insert: AtomicU64::new(args.records),
            load: Timing::default(),
            runs: BTreeMap::new(),
        });
    }
    if !args.no_rocksdb {
        engines.push(Engine {
            name: "RocksDB",
            store: Box::new(RocksStore::open(
                &scratch.fresh("rocksdb")?,
                args.cache_mib << 20,
                args.block_size,
                args.rocksdb_stats,
                args.rocksdb_mmap,
            )?),
            next_insert: AtomicU64::new(args.records),
            load: Timing::default(),
            runs: BTreeMap::new(),
        });
    }
    for e in engines.iter_mut() {
        eprintln!("loading {} records into {} ...", args.records, e.name);
        e.load = load(args, e.store.as_ref(), &values)?;
        eprintln!("  {}", secs(e.load.wall));
    }
    let write_seq = AtomicU64::new(1);
    let mut busy = Vec::new();
    for run in 0..args.runs {
        for &wl in &args.workloads {
            for e in engines.iter_mut() {
                settle(args.quiet_wait, args.max_busy, &mut busy);
                let sh = Shared {
                    store: e.store.as_ref(),
                    values: &values,
                    next_insert: &e.next_insert,
                    write_seq: &write_seq,
                };
                let r = run_workload(args, &sh, wl, run)?;
                eprintln!(
                    "run {}/{} workload {} {:8} {:>9.0} ops/s p50 {:.1}µs p99 {:.1}µs",
                    run + 1,
                    args.runs,
                    wl.letter(),
                    e.name,
                    r.ops as f64 / r.timing.wall.as_secs_f64().max(1e-9),
                    r.p50.as_secs_f64() * 1e6,
                    r.p99.as_secs_f64() * 1e6
                );
                e.runs.entry(wl.letter()).or_default().push(r);
            }
        }
    }
    let report = render(args, &engines, &machine_before, &busy);
    for e in engines {
        e.store.close()?;
    }
    drop(scratch);
    crate::report::publish(&report, args.out.as_deref())
}

fn med(runs: &[WlRun], f: impl Fn(&WlRun) -> Option<f64>) -> Option<f64> {
    let v: Vec<f64> = runs.iter().filter_map(f).collect();
    median(&v)
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn render(args: &YcsbArgs, engines: &[Engine], machine_before: &str, busy: &[f64]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "### bench ycsb: {} records × {} fields × {} B, {} client threads, Zipfian (0.99), median of {} runs\n",
        args.records,
        ycsb::FIELDS,
        ycsb::FIELD_LEN,
        args.threads,
        args.runs
    );
    let _ = writeln!(
        out,
        "Machine: {machine_before} (at start); {} (at end). {} operations per run of A/B/C, {} of E; \
         Basalt: {} regions, SYNC_WAL, block cache 256 MiB; RocksDB: sync writes, block cache {} MiB, \
         statistics {}{}; data blocks {}.\n",
        machine(),
        args.ops,
        args.scan_ops,
        args.regions,
        args.cache_mib,
        if args.rocksdb_stats { "on" } else { "off" },
        if args.rocksdb_mmap { ", mmap reads" } else { "" },
        args.block_size.map_or_else(
            || "each store's default (Basalt 64 KiB, RocksDB 4 KiB)".to_string(),
            |b| format!("{b} bytes in both stores"),
        )
    );
    let mut load = MdTable::new(&["load", ">wall s", ">CPU s", ">k records/s (wall)"]);
    for e in engines {
        load.row(vec![
            e.name.to_string(),
            num(Some(e.load.wall.as_secs_f64())),
            num(Some(e.load.cpu.as_secs_f64())),
            num(rate(
                args.records as f64 / 1e3,
                Some(e.load.wall.as_secs_f64()),
            )),
        ]);
    }
    out.push_str(&load.render());
    out.push('\n');
    let mut t = MdTable::new(&[
        "workload",
        "store",
        ">k ops/s (wall)",
        ">CPU µs/op",
        ">p50 µs",
        ">p99 µs",
        "per op p50/p99 µs",
        ">fsyncs per 1000 writes",
    ]);
    for &wl in &args.workloads {
        for e in engines {
            let runs = e.runs.get(wl.letter()).map(Vec::as_slice).unwrap_or(&[]);
            let per_op = ycsb_ops(wl)
                .iter()
                .map(|&op| {
                    let p50 = med(runs, |r| r.per_op.get(&op).map(|x| us(x.0)));
                    let p99 = med(runs, |r| r.per_op.get(&op).map(|x| us(x.1)));
                    format!("{} {}/{}", op.name(), num(p50), num(p99))
                })
                .collect::<Vec<_>>()
                .join(", ");
            t.row(vec![
                wl.letter().to_string(),
                e.name.to_string(),
                num(med(runs, |r| {
                    rate(r.ops as f64 / 1e3, Some(r.timing.wall.as_secs_f64()))
                })),
                num(med(runs, |r| {
                    Some(r.timing.cpu.as_secs_f64() * 1e6 / r.ops.max(1) as f64)
                })),
                num(med(runs, |r| Some(us(r.p50)))),
                num(med(runs, |r| Some(us(r.p99)))),
                per_op,
                num(med(runs, |r| {
                    r.fsyncs
                        .filter(|_| r.writes > 0)
                        .map(|f| f as f64 * 1000.0 / r.writes as f64)
                })),
            ]);
        }
    }
    out.push_str(&t.render());
    let _ = writeln!(
        out,
        "\nk ops/s = operations ÷ wall time of the workload (all client threads); CPU µs/op = \
         process CPU time (clients and store threads) ÷ operations. Latencies are per operation, \
         wall clock, nearest-rank percentiles. fsyncs: Basalt's WAL counter; RocksDB's \
         `rocksdb.wal.synced` ticker (only with --rocksdb-stats).\n"
    );
    if !busy.is_empty() {
        let _ = writeln!(
            out,
            "Machine busy (all cores, 1 s) just before each timed workload: median {:.0} %, max {:.0} %.\n",
            median(busy).unwrap_or(0.0) * 100.0,
            busy.iter().copied().fold(0.0, f64::max) * 100.0
        );
    }
    if let [b, r] = engines {
        let mut v = MdTable::new(&["target", ">measured", "verdict"]);
        for &wl in &args.workloads {
            let get = |e: &Engine, f: &dyn Fn(&WlRun) -> Option<f64>| {
                med(e.runs.get(wl.letter()).map(Vec::as_slice).unwrap_or(&[]), f)
            };
            let wall = ratio(
                get(b, &|x| {
                    rate(x.ops as f64, Some(x.timing.wall.as_secs_f64()))
                }),
                get(r, &|x| {
                    rate(x.ops as f64, Some(x.timing.wall.as_secs_f64()))
                }),
            );
            let cpu = ratio(
                get(r, &|x| {
                    Some(x.timing.cpu.as_secs_f64() / x.ops.max(1) as f64)
                }),
                get(b, &|x| {
                    Some(x.timing.cpu.as_secs_f64() / x.ops.max(1) as f64)
                }),
            );
            v.row(vec![
                format!("{} Basalt ÷ RocksDB ops/s (wall)", wl.letter()),
                times(wall),
                at_least(wall, 1.0),
            ]);
            v.row(vec![
                format!("{} Basalt ÷ RocksDB ops per CPU-second", wl.letter()),
                times(cpu),
                at_least(cpu, 1.0),
            ]);
        }
        out.push_str(&v.render());
    }
    let _ = writeln!(out, "\nEvery run (k ops/s, wall):\n");
    for &wl in &args.workloads {
        for e in engines {
            let runs = e.runs.get(wl.letter()).map(Vec::as_slice).unwrap_or(&[]);
            let list: Vec<String> = runs
                .iter()
                .map(|r| num(rate(r.ops as f64 / 1e3, Some(r.timing.wall.as_secs_f64()))))
                .collect();
            let _ = writeln!(out, "* {} {}: {}", wl.letter(), e.name, list.join(", "));
        }
    }
    out
}

fn ycsb_ops(wl: Workload) -> Vec<Op> {
    wl.mix().iter().map(|(op, _)| *op).collect()
}
