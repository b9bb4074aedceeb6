//! The `sql` subcommand (issue 6): the SQL layer (`sql::Session` over an embedded store)
//! on a Phoenix-like typed table, beside DataFusion over Parquet (in-process, the same
//! DataFusion version) and DuckDB over Parquet (PyPI, in a `python3` subprocess), with the
//! same SQL text and the same data.
//!
//! The data ([`crate::sqlgen`]) is generated once per invocation into a Parquet file; Basalt
//! gets it through the typed bulk import (`bulkload::run_import`, what `basalt import t
//! data.parquet` runs) into a table created by SQL `CREATE TABLE ... SPLIT ON (...)`, then a
//! major compaction and (unless `--no-columnar`) the columnar copies of its regions, as `basalt
//! major-compact` builds them. Each engine first runs the suite once untimed (warming caches);
//! the answers of all three must agree or the bench fails. Then each run times every query in
//! Basalt, then in DataFusion, then in DuckDB (a fresh process per run, which warms each query
//! once before timing it). The point-lookup entry is a batch of statements timed together and
//! reported per lookup.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use bulkload::{Format, ImportOptions, SourceOptions};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::prelude::{ParquetReadOptions, SessionConfig, SessionContext};
use sql::{MetricsSnapshot, Session};
use store_server::{Connection, TableName};
use tokio::runtime::Runtime;

use crate::cpu::{Stopwatch, Timing};
use crate::duckdb_peer::{self, sql_path};
use crate::idle::settle;
use crate::report::{machine, ratio, MdTable, Samples};
use crate::scratch::{total_size, Scratch};
use crate::sql_suite::{self, arrow_rows, check_same, json_rows, Class, Query, Row};
use crate::sqlgen::{self, SqlGen, REGIONS};
use crate::stats::median;
use crate::{engine, Result};

/// The table name in every engine.
const TABLE: &str = "t";

/// Arguments of `bench sql`.
#[derive(clap::Args, Debug)]
pub struct SqlArgs {
    /// Rows in the table (at least 160 000, so that every query's key range exists).
    #[arg(long, default_value_t = 1_000_000)]
    rows: u64,
    /// Regions the Basalt table is pre-split into, on the leading key (1, 2, 4, 8 or 16).
    #[arg(long, default_value_t = 8)]
    regions: u64,
    /// Threads for every engine: the tokio workers and DataFusion target partitions of Basalt
    /// and of DataFusion over Parquet, and DuckDB's `threads` setting.
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// Point lookups in the timed batch (different keys).
    #[arg(long, default_value_t = 1000)]
    points: usize,
    /// Rows per Parquet row group (DuckDB's default row-group size).
    #[arg(long, default_value_t = 122_880)]
    row_group_rows: usize,
    /// Runs per measurement; medians are reported.
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Scratch directory (created empty, removed afterwards).
    #[arg(long, default_value = "/dev/shm/basalt-bench-sql")]
    dir: PathBuf,
    /// Leave DuckDB out.
    #[arg(long)]
    no_duckdb: bool,
    /// Time Basalt alone (no peers, answers checked only against the generator): for
    /// profiling the SQL layer.
    #[arg(long)]
    basalt_only: bool,
    /// Python interpreter with the `duckdb` package.
    #[arg(long, default_value = "python3")]
    python: String,
    /// Before each engine's block of timed queries, wait up to this many seconds for the
    /// machine to be quiet (see --max-busy); 0 = do not wait.
    #[arg(long, default_value_t = 60)]
    quiet_wait: u64,
    /// "Quiet" = at most this fraction of all cores busy over one second.
    #[arg(long, default_value_t = 0.2)]
    max_busy: f64,
    /// Only these queries (comma-separated names: point, range, in_list, in_lead, group_by,
    /// top_n, filter); default all.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Seed of the data generator.
    #[arg(long, default_value_t = 20_240_101)]
    seed: u64,
    /// Also write the markdown report to this file.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Do not build the table's columnar copies after the major compaction (what `basalt
    /// major-compact` does for a typed table): every query then reads the HFiles.
    #[arg(long)]
    no_columnar: bool,
}

/// What building the data produced.
struct Built {
    parquet: PathBuf,
    parquet_bytes: u64,
    parquet_secs: f64,
    import_secs: f64,
    compact_secs: f64,
    hfiles: usize,
    hfile_bytes: u64,
    /// Seconds to build the columnar copies and their bytes (unless `--no-columnar`).
    columnar: Option<(f64, u64)>,
}

/// The engines under test, ready to query.
struct Engines {
    rt: Runtime,
    session: Session,
    df: SessionContext,
}

impl Engines {
    /// Runs every statement of `q` with `run`, one after another; (timing of the whole
    /// batch, answers).
    fn timed<F, E>(&self, q: &Query, run: impl Fn(String) -> F) -> Result<(Timing, Vec<Vec<Row>>)>
    where
        F: std::future::Future<Output = std::result::Result<Vec<RecordBatch>, E>>,
        E: Into<crate::BoxError>,
    {
        let sw = Stopwatch::start();
        let batches = self.rt.block_on(async {
            let mut out = Vec::with_capacity(q.sqls.len());
            for s in &q.sqls {
                out.push(run(s.clone()).await.map_err(Into::into)?);
            }
            Ok::<_, crate::BoxError>(out)
        })?;
        let timing = sw.timing();
        let rows = batches
            .iter()
            .map(|b| arrow_rows(b))
            .collect::<Result<_>>()?;
        Ok((timing, rows))
    }

    /// Runs every statement of `q` in Basalt.
    fn basalt(&self, q: &Query) -> Result<(Timing, Vec<Vec<Row>>)> {
        self.timed(q, |s| async move { self.session.query(&s).await })
    }

    /// The `partitions=N` of Basalt's scan node in the plan of `q`'s last statement.
    fn scan_partitions(&self, q: &Query) -> Result<String> {
        let Some(last) = q.sqls.last() else {
            return Ok("n/a".into());
        };
        let batches = self
            .rt
            .block_on(self.session.query(&format!("EXPLAIN {last}")))?;
        for row in arrow_rows(&batches)? {
            for v in row {
                if let sql_suite::Val::Str(text) = v {
                    if let Some(p) = text.split("partitions=").nth(1) {
                        return Ok(p.chars().take_while(char::is_ascii_digit).collect());
                    }
                }
            }
        }
        Ok("n/a".into())
    }

    /// Runs every statement of `q` in DataFusion over Parquet.
    fn datafusion(&self, q: &Query) -> Result<(Timing, Vec<Vec<Row>>)> {
        self.timed(q, |s| async move { self.df.sql(&s).await?.collect().await })
    }
}

fn split_keys(regions: u64) -> Vec<String> {
    (1..regions)
        .map(|i| format!("'{}'", SqlGen::region_name(i * REGIONS / regions)))
        .collect()
}

fn build(args: &SqlArgs, gen: &SqlGen, conn: &Arc<Connection>, scratch: &Scratch) -> Result<Built> {
    let parquet = scratch.path().join("t.parquet");
    let t = Instant::now();
    let parquet_bytes = sqlgen::write_parquet(gen, &parquet, args.row_group_rows)?;
    let parquet_secs = t.elapsed().as_secs_f64();
    eprintln!(
        "  wrote {:.1} MB of Parquet in {parquet_secs:.1}s",
        parquet_bytes as f64 / 1e6
    );

    let t = Instant::now();
    let opts = ImportOptions {
        table: TABLE.to_string(),
        inputs: vec![parquet.clone()],
        source: SourceOptions {
            format: Some(Format::Parquet),
            ..SourceOptions::default()
        },
        threads: Some(args.threads),
        ..ImportOptions::default()
    };
    let summary = bulkload::run_import(conn.as_ref(), &opts)?;
    let import_secs = t.elapsed().as_secs_f64();
    if summary.rows != args.rows || summary.bad_lines != 0 {
        return Err(format!(
            "import: {} rows ({} bad), expected {}",
            summary.rows, summary.bad_lines, args.rows
        )
        .into());
    }
    eprintln!("  imported {} rows in {import_secs:.1}s", summary.rows);

    let t = Instant::now();
    conn.admin().compact(&TableName::parse(TABLE)?, true)?;
    let compact_secs = t.elapsed().as_secs_f64();
    let files = engine::store_files(conn, TABLE)?;
    let hfile_bytes = total_size(&files)?;
    eprintln!(
        "  major compaction in {compact_secs:.1}s: {} HFiles, {:.1} MB",
        files.len(),
        hfile_bytes as f64 / 1e6
    );
    Ok(Built {
        parquet,
        parquet_bytes,
        parquet_secs,
        import_secs,
        compact_secs,
        hfiles: files.len(),
        hfile_bytes,
        columnar: None,
    })
}

/// Answers the generator itself gives for the key queries (row counts), checked against
/// Basalt's answers so that three engines agreeing on a wrong answer cannot pass.
fn check_known(gen: &SqlGen, q: &Query, rows: &[Vec<Row>]) -> Result<()> {
    use sql_suite::Val;
    let count_at = |r: &[Row], row: usize, col: usize| match r.get(row).and_then(|x| x.get(col)) {
        Some(Val::Int(n)) => Some(*n as u64),
        _ => None,
    };
    let want: Vec<(usize, usize, u64)> = match q.name {
        "range" => vec![(0, 1, 5000)],
        "in_list" => vec![(0, 1, 1000), (1, 1, 1000), (2, 1, 1000)],
        "in_lead" => vec![(0, 1, gen.region_rows(3)), (1, 1, gen.region_rows(12))],
        "point" => {
            for (i, r) in rows.iter().enumerate() {
                let (reg, id) = gen.sample_key(i as u64);
                let expect = gen.row(gen.region_start(reg) + id as u64);
                let ok = r.len() == 1
                    && r[0].first() == Some(&Val::Int(i128::from(id)))
                    && r[0].get(1) == Some(&Val::Float(expect.amount));
                if !ok {
                    return Err(format!(
                        "point lookup {i}: got {}, expected id {id} amount {}",
                        sql_suite::describe(r),
                        expect.amount
                    )
                    .into());
                }
            }
            return Ok(());
        }
        _ => return Ok(()),
    };
    let col = if q.name == "range" { 0 } else { 1 };
    for (row, _, n) in want {
        let got = count_at(&rows[0], row, col);
        if got != Some(n) {
            return Err(format!(
                "query {}: row {row} count {got:?}, expected {n}: {}",
                q.name,
                sql_suite::describe(&rows[0])
            )
            .into());
        }
    }
    Ok(())
}

/// Runs the benchmark and prints (and optionally saves) the report.
pub fn run(args: &SqlArgs) -> Result<()> {
    if args.runs == 0 || args.threads == 0 || args.points == 0 {
        return Err("--runs, --threads and --points must be non-zero".into());
    }
    if args.rows < 160_000 {
        return Err("--rows must be at least 160000".into());
    }
    if !matches!(args.regions, 1 | 2 | 4 | 8 | 16) {
        return Err("--regions must be 1, 2, 4, 8 or 16".into());
    }
    let machine_before = machine();
    let gen = SqlGen::new(args.seed, args.rows);
    let mut queries = sql_suite::suite(&gen, args.points);
    if !args.only.is_empty() {
        queries.retain(|q| args.only.iter().any(|o| o == q.name));
        if queries.is_empty() {
            return Err("--only names no query of the suite".into());
        }
    }
    let scratch = Scratch::create(&args.dir)?;
    let root = scratch.fresh("root")?;
    let conn = Arc::new(engine::open(&root, false)?);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads)
        .enable_all()
        .build()?;
    let session = Session::new(conn.clone())?;
    let splits = split_keys(args.regions);
    let ddl = if splits.is_empty() {
        format!("CREATE TABLE {TABLE} ({})", sqlgen::COLUMNS)
    } else {
        format!(
            "CREATE TABLE {TABLE} ({}) SPLIT ON ({})",
            sqlgen::COLUMNS,
            splits.join(", ")
        )
    };
    rt.block_on(session.run(&ddl))?;
    eprintln!(
        "building {} rows in {} regions ...",
        args.rows, args.regions
    );
    let mut built = build(args, &gen, &conn, &scratch)?;
    // Copies come from the explicit build below, as after `basalt major-compact`; none are
    // built in the background while queries are timed.
    session.columnar().set_auto(false);
    if !args.no_columnar {
        let t = Instant::now();
        let r = session
            .columnar()
            .build_table(&conn, TABLE)?
            .ok_or("the table cannot have columnar copies")?;
        if r.regions as u64 != args.regions || r.rows != args.rows {
            return Err(format!("columnar copies: {r:?}").into());
        }
        let secs = t.elapsed().as_secs_f64();
        eprintln!(
            "  columnar copies in {secs:.1}s: {} regions, {:.1} MB",
            r.regions,
            r.bytes as f64 / 1e6
        );
        built.columnar = Some((secs, r.bytes));
    }
    let regions = engine::region_count(&conn, TABLE)?;
    if regions as u64 != args.regions {
        return Err(format!("table has {regions} regions, expected {}", args.regions).into());
    }

    let threads = args.threads;
    let df = rt.block_on(async {
        let set = format!("SET datafusion.execution.target_partitions = {threads}");
        session.context().sql(&set).await?.collect().await?;
        let ctx =
            SessionContext::new_with_config(SessionConfig::new().with_target_partitions(threads));
        let path = built.parquet.to_string_lossy().into_owned();
        ctx.register_parquet(TABLE, &path, ParquetReadOptions::default())
            .await?;
        Ok::<_, datafusion::error::DataFusionError>(ctx)
    })?;
    let engines = Engines { rt, session, df };

    // Answers (and warm-up): Basalt's are the reference; DataFusion's and DuckDB's must match.
    eprintln!("checking answers ...");
    let mut reference: Vec<Vec<Vec<Row>>> = Vec::new();
    let mut metrics: Vec<MetricsSnapshot> = Vec::new();
    let mut partitions: Vec<String> = Vec::new();
    for q in &queries {
        let (_, b) = engines.basalt(q)?;
        check_known(&gen, q, &b)?;
        // What the last statement of the entry read (for the point batch: one lookup).
        metrics.push(engines.session.last_metrics());
        partitions.push(engines.scan_partitions(q)?);
        if !args.basalt_only {
            let (_, d) = engines.datafusion(q)?;
            check_same(q, "DataFusion", &b, &d)?;
        }
        eprintln!("  {:<9} {}", q.name, sql_suite::describe(&b[0]));
        reference.push(b);
    }

    let duck_setup = vec![
        "SET parquet_metadata_cache = true".to_string(),
        format!(
            "CREATE VIEW {TABLE} AS SELECT * FROM read_parquet({})",
            sql_path(&built.parquet)
        ),
    ];
    let duck_queries: Vec<(&str, &[String])> = queries
        .iter()
        .map(|q| (q.name, q.sqls.as_slice()))
        .collect();
    let mut samples = Samples::default();
    let mut duck_version = String::new();
    let mut busy = Vec::new();
    for run in 0..args.runs {
        eprintln!("run {}/{}", run + 1, args.runs);
        settle(args.quiet_wait, args.max_busy, &mut busy);
        for (q, want) in queries.iter().zip(&reference) {
            let (t, got) = engines.basalt(q)?;
            check_same(q, "Basalt (timed run)", want, &got)?;
            samples.add(&format!("basalt/{}", q.name), t);
        }
        if !args.basalt_only {
            settle(args.quiet_wait, args.max_busy, &mut busy);
            for (q, want) in queries.iter().zip(&reference) {
                let (t, got) = engines.datafusion(q)?;
                check_same(q, "DataFusion", want, &got)?;
                samples.add(&format!("datafusion/{}", q.name), t);
            }
        }
        if !args.no_duckdb && !args.basalt_only {
            settle(args.quiet_wait, args.max_busy, &mut busy);
            let r = duckdb_peer::run_suite(
                &args.python,
                scratch.path(),
                threads,
                &duck_setup,
                &duck_queries,
            )?;
            for ((q, want), d) in queries.iter().zip(&reference).zip(&r.queries) {
                let got = d
                    .results
                    .iter()
                    .map(json_rows)
                    .collect::<Result<Vec<_>>>()?;
                check_same(q, "DuckDB", want, &got)?;
                samples.add(&format!("duckdb/{}", q.name), d.timing);
            }
            duck_version = r.version;
        }
        for q in &queries {
            let ms = |e: &str| {
                samples
                    .runs(&format!("{e}/{}", q.name))
                    .last()
                    .map(|t| t.wall.as_secs_f64() * 1e3 / q.sqls.len() as f64)
                    .unwrap_or(f64::NAN)
            };
            eprintln!(
                "    {:<9} basalt {:>9.3} ms  datafusion {:>9.3} ms  duckdb {:>9.3} ms",
                q.name,
                ms("basalt"),
                ms("datafusion"),
                ms("duckdb")
            );
        }
    }
    let Engines { rt, session, df } = engines;
    drop(df);
    drop(session);
    drop(rt);
    match Arc::try_unwrap(conn) {
        Ok(c) => c.close()?,
        Err(_) => return Err("the store connection is still shared at the end".into()),
    }
    drop(scratch);
    let report = render(
        args,
        &built,
        &queries,
        &metrics,
        &partitions,
        &samples,
        &machine_before,
        &duck_version,
        &busy,
    );
    crate::report::publish(&report, args.out.as_deref())
}

/// Milliseconds with three significant digits.
fn ms(v: Option<f64>) -> String {
    match v {
        None => "n/a".into(),
        Some(x) if x >= 100.0 => format!("{x:.0}"),
        Some(x) if x >= 10.0 => format!("{x:.1}"),
        Some(x) if x >= 1.0 => format!("{x:.2}"),
        Some(x) => format!("{x:.3}"),
    }
}

fn times2(v: Option<f64>) -> String {
    match v {
        None => "n/a".into(),
        Some(x) if x < 0.1 => format!("{x:.3}×"),
        Some(x) => format!("{x:.2}×"),
    }
}

#[allow(clippy::too_many_arguments)]
fn render(
    args: &SqlArgs,
    built: &Built,
    queries: &[Query],
    metrics: &[MetricsSnapshot],
    partitions: &[String],
    s: &Samples,
    machine_before: &str,
    duck_version: &str,
    busy: &[f64],
) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "### bench sql: {} rows, {} regions, {} thread(s), median of {} runs\n",
        args.rows, args.regions, args.threads, args.runs
    );
    let _ = writeln!(
        out,
        "Machine: {machine_before} (at start); {} (at end). Basalt: {} HFiles, {:.1} MB (NONE); \
         Parquet {:.1} MB (uncompressed, {} rows per row group); DuckDB {}.\n",
        machine(),
        built.hfiles,
        built.hfile_bytes as f64 / 1e6,
        built.parquet_bytes as f64 / 1e6,
        args.row_group_rows,
        if duck_version.is_empty() {
            "n/a"
        } else {
            duck_version
        },
    );
    let _ = writeln!(
        out,
        "Build (not timed against peers): Parquet written in {:.1} s; Basalt typed bulk import of \
         that file {:.1} s; major compaction {:.1} s; {}.\n",
        built.parquet_secs,
        built.import_secs,
        built.compact_secs,
        match built.columnar {
            Some((secs, bytes)) => format!(
                "columnar copies (Parquet, uncompressed) {:.1} MB in {secs:.1} s",
                bytes as f64 / 1e6
            ),
            None => "no columnar copies (`--no-columnar`: every query reads HFiles)".into(),
        }
    );
    let per = |engine: &str, q: &Query, cpu: bool| {
        let label = format!("{engine}/{}", q.name);
        let v = if cpu { s.cpu(&label) } else { s.wall(&label) };
        v.map(|x| x * 1e3 / q.sqls.len() as f64)
    };
    let mut t = MdTable::new(&[
        "query",
        "what",
        ">Basalt ms",
        ">DataFusion ms",
        ">DuckDB ms",
        ">Basalt ÷ DataFusion",
        ">Basalt ÷ DuckDB",
        "target",
    ]);
    let mut v = MdTable::new(&["query", "target", "verdict"]);
    for q in queries {
        let (b, d, k) = (
            per("basalt", q, false),
            per("datafusion", q, false),
            per("duckdb", q, false),
        );
        let (rd, rk) = (ratio(b, d), ratio(b, k));
        let name = if q.sqls.len() > 1 {
            format!("`{}` (per lookup)", q.name)
        } else {
            format!("`{}`", q.name)
        };
        let (target, verdict) = match q.class {
            Class::Key => {
                let ok =
                    rd.is_some_and(|x| x < 1.0) && (args.no_duckdb || rk.is_some_and(|x| x < 1.0));
                (
                    "faster than both",
                    if ok { "✅ met" } else { "❌ missed" }.to_string(),
                )
            }
            Class::Scan => (
                "≤ 2× DataFusion",
                if rd.is_some_and(|x| x <= 2.0) {
                    "✅ met"
                } else {
                    "❌ missed"
                }
                .to_string(),
            ),
        };
        t.row(vec![
            name.clone(),
            q.what.clone(),
            ms(b),
            ms(d),
            ms(k),
            times2(rd),
            times2(rk),
            target.to_string(),
        ]);
        v.row(vec![
            name,
            target.to_string(),
            format!(
                "{verdict} (Basalt ÷ DataFusion {}, ÷ DuckDB {})",
                times2(rd),
                times2(rk)
            ),
        ]);
    }
    let _ = writeln!(out, "Median wall time per query (lower is better):\n");
    out.push_str(&t.render());

    let mut c = MdTable::new(&[
        "query",
        ">Basalt CPU ms",
        ">DataFusion CPU ms",
        ">DuckDB CPU ms",
        ">Basalt rows read",
        ">key ranges",
        ">regions",
        ">HFile blocks",
        ">from copies",
        ">scan partitions",
    ]);
    for ((q, m), p) in queries.iter().zip(metrics).zip(partitions) {
        c.row(vec![
            format!("`{}`", q.name),
            ms(per("basalt", q, true)),
            ms(per("datafusion", q, true)),
            ms(per("duckdb", q, true)),
            m.rows.to_string(),
            m.ranges.to_string(),
            m.regions.to_string(),
            m.blocks.to_string(),
            m.columnar.to_string(),
            p.clone(),
        ]);
    }
    let _ = writeln!(
        out,
        "\nMedian process CPU time per query (all threads; DuckDB's is the Python process's), and \
         what Basalt's scan read for the query (for `point`, the last lookup of the batch):\n"
    );
    out.push_str(&c.render());
    let _ = writeln!(out, "\nAgainst the targets of issue 6:\n");
    out.push_str(&v.render());
    if !busy.is_empty() {
        let max = busy.iter().copied().fold(0.0, f64::max);
        let _ = writeln!(
            out,
            "\nMachine busy (all cores, 1 s) before each engine's block: median {:.0} %, max {:.0} % \
             (each waited up to {} s for ≤ {:.0} %).",
            median(busy).unwrap_or(0.0) * 100.0,
            max * 100.0,
            args.quiet_wait,
            args.max_busy * 100.0
        );
    }
    let _ = writeln!(
        out,
        "\nThe SQL (identical for the three engines; table or view `t`):\n"
    );
    for q in queries {
        let shown = if q.sqls.len() > 1 {
            format!("{} (one of {})", q.sqls[0], q.sqls.len())
        } else {
            q.sqls[0].clone()
        };
        let _ = writeln!(out, "* `{}`: `{shown}`", q.name);
    }
    let _ = writeln!(
        out,
        "\nEvery run (wall/CPU milliseconds of the whole entry, all lookups for `point`):\n"
    );
    for label in s.labels() {
        let runs: Vec<String> = s
            .runs(label)
            .iter()
            .map(|t| {
                format!(
                    "{}/{}",
                    ms(Some(t.wall.as_secs_f64() * 1e3)),
                    ms(Some(t.cpu.as_secs_f64() * 1e3))
                )
            })
            .collect();
        let _ = writeln!(out, "* `{label}`: {}", runs.join(", "));
    }
    out
}
