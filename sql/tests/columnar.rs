//! Columnar copies of quiet regions: queries answered from the copies equal the store's
//! answers (full scans, key ranges across row groups, skip scans, filters, LIMIT); a write
//! makes its region's copy stale and the scan falls back to the store; background builds,
//! restart, compressed tables, a corrupt copy, rows without the marker, TTL tables and DROP
//! TABLE.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use sql::format::{render, Format};
use sql::{Output, Session};
use store_server::rowkey::Value;
use store_server::typed::TypedSchema;
use store_server::{Connection, Put, TableName};

fn fail<T>(e: impl std::fmt::Display) -> T {
    panic!("{e}")
}

/// A session with background builds off: each test builds copies when it means to.
fn session(conn: &Arc<Connection>) -> Session {
    let s = Session::new(conn.clone()).unwrap_or_else(fail);
    s.columnar().set_auto(false);
    s
}

fn open(root: &Path) -> (Arc<Connection>, Session) {
    let conn = Arc::new(Connection::embedded(root).unwrap_or_else(fail));
    let s = session(&conn);
    (conn, s)
}

async fn csv(s: &Session, sql: &str) -> String {
    match s.run(sql).await {
        Ok(o @ Output::Rows { .. }) => render(&o, Format::Csv).unwrap_or_else(fail),
        Ok(other) => panic!("{sql}: {other:?}"),
        Err(e) => panic!("{sql}: {e}"),
    }
}

async fn exec(s: &Session, sql: &str) {
    if let Err(e) = s.run(sql).await {
        panic!("{sql}: {e}");
    }
}

/// Queries whose answers must not depend on where the rows were read from.
const QUERIES: &[&str] = &[
    "SELECT count(*), round(sum(cpu), 2), min(ts), max(ts), count(zone) FROM m",
    "SELECT host, count(*), sum(n), max(cpu) FROM m GROUP BY host ORDER BY host",
    "SELECT host, ts, cpu, n, zone FROM m WHERE host = 'h3' AND ts BETWEEN 20000 AND 70000 ORDER BY host, ts",
    "SELECT host, ts FROM m WHERE host IN ('h1', 'h6') AND ts > 90000 ORDER BY host, ts",
    "SELECT host, count(*), sum(n), min(ts) FROM m WHERE host IN ('h2', 'h5') GROUP BY host ORDER BY host",
    "SELECT zone, count(*), round(sum(cpu), 2) FROM m WHERE n = 7 GROUP BY zone ORDER BY zone",
    "SELECT host, ts, zone FROM m WHERE zone = 'z2' ORDER BY cpu DESC, host, ts LIMIT 9",
];

/// 8 hosts × 5000 timestamps = 40 000 rows: about 20 000 per region, so every region's copy
/// has two row groups and the `h3` range crosses a row-group boundary.
/// `options` go after the column list (e.g. `COMPRESSION='GZ'`).
async fn load(s: &Session, options: &str) {
    exec(
        s,
        &format!(
            "CREATE TABLE m (host VARCHAR NOT NULL, ts BIGINT NOT NULL, cpu DOUBLE, \
             n INTEGER, b.zone VARCHAR, CONSTRAINT pk PRIMARY KEY (host, ts DESC)) \
             {options} SPLIT ON ('h4')"
        ),
    )
    .await;
    exec(
        s,
        "UPSERT INTO m (host, ts, cpu, n, zone) SELECT 'h' || CAST(value % 8 AS VARCHAR), \
         1000 + (value / 8) * 20, CAST(value * 7 % 1000 AS DOUBLE) / 10.0, \
         CAST(value % 97 AS INTEGER) - 40, \
         CASE WHEN value % 5 = 0 THEN NULL ELSE 'z' || CAST(value % 3 AS VARCHAR) END \
         FROM generate_series(0, 39999)",
    )
    .await;
}

async fn answers(s: &Session) -> Vec<String> {
    let mut out = Vec::new();
    for q in QUERIES {
        out.push(csv(s, q).await);
    }
    out
}

fn copy_files(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.join("columnar")];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "parquet") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copies_answer_like_the_store_and_go_stale_on_writes() {
    let dir = tempfile::tempdir().unwrap_or_else(fail);
    let (conn, s) = open(dir.path());
    load(&s, "").await;
    let name = TableName::parse("m").unwrap_or_else(fail);
    conn.admin().flush(&name).unwrap_or_else(fail);

    let want = answers(&s).await;
    assert!(want[0].contains("40000"), "{}", want[0]);
    assert_eq!(s.last_metrics().columnar, 0);

    let report = s
        .columnar()
        .build_table(&conn, "m")
        .unwrap_or_else(fail)
        .unwrap_or_else(|| panic!("m can have copies"));
    assert_eq!((report.regions, report.built, report.rows), (2, 2, 40_000));
    assert!(report.skipped.is_empty(), "{report:?}");
    assert_eq!(copy_files(dir.path()).len(), 2);

    // Same answers from the copies, and no HFile block touched by a full scan.
    assert_eq!(answers(&s).await, want);
    let _ = csv(&s, QUERIES[1]).await;
    let m = s.last_metrics();
    assert_eq!(
        (m.columnar, m.rows, m.blocks, m.cells),
        (2, 40_000, 0, 0),
        "{m:?}"
    );
    // The key range reads only its rows.
    let _ = csv(&s, QUERIES[2]).await;
    let m = s.last_metrics();
    assert_eq!(m.columnar, m.ranges, "{m:?}");
    assert_eq!(m.rows, 2501, "{m:?}");
    // A point look-up keeps using the store.
    let _ = csv(&s, "SELECT cpu FROM m WHERE host = 'h2' AND ts = 1000").await;
    assert_eq!(s.last_metrics().columnar, 0);
    // (After the point look-up: a LIMIT leaves partitions finishing in the background,
    // which would count into the next statement's metrics.)
    let limited = csv(&s, "SELECT host, ts FROM m LIMIT 5").await;
    assert_eq!(limited.lines().count(), 6, "{limited}");
    assert!(s.last_metrics().rows <= 10, "{:?}", s.last_metrics());
    let plan = csv(&s, "EXPLAIN SELECT round(sum(cpu), 2) FROM m").await;
    assert!(plan.contains("columnar=when current"), "{plan}");

    // A write to region 2 makes its copy stale: the region is read from the store.
    exec(
        &s,
        "UPSERT INTO m (host, ts, cpu) VALUES ('h7', 1000, 12345.5)",
    )
    .await;
    let after = csv(&s, QUERIES[0]).await;
    assert_ne!(after, want[0]);
    assert!(after.contains("40000"), "{after}");
    let m = s.last_metrics();
    assert_eq!(m.columnar, 1, "{m:?}");
    let h7 = csv(&s, "SELECT max(cpu) FROM m WHERE host = 'h7'").await;
    assert!(h7.contains("12345.5"), "{h7}");

    // Background builds: a quiet region scanned twice at the same sequence id gets a copy.
    conn.admin().flush(&name).unwrap_or_else(fail);
    s.columnar().set_auto(true);
    let after = csv(&s, QUERIES[0]).await;
    let _ = csv(&s, QUERIES[0]).await;
    s.columnar().wait_idle();
    assert_eq!(
        s.columnar().failures().0,
        0,
        "{:?}",
        s.columnar().failures()
    );
    assert_eq!(csv(&s, QUERIES[0]).await, after);
    assert_eq!(s.last_metrics().columnar, 2);
    // The stale copy was replaced, not kept beside the new one.
    assert_eq!(copy_files(dir.path()).len(), 2);

    // DROP TABLE removes the copies.
    exec(&s, "DROP TABLE m").await;
    assert!(copy_files(dir.path()).is_empty());
}

/// A key range a copy serves is cut between partitions by its rows (at entries of the
/// copy's row-key index), not by the HFile bytes it spans: a large range in one region is
/// read in parts that cover it exactly, a small one whole, however many HFile bytes its
/// wide rows span.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_range_read_from_a_copy_is_cut_by_its_rows() {
    let dir = tempfile::tempdir().unwrap_or_else(fail);
    let (conn, s) = open(dir.path());
    exec(
        &s,
        "CREATE TABLE w (k BIGINT NOT NULL PRIMARY KEY, v BIGINT, pad VARCHAR)",
    )
    .await;
    exec(
        &s,
        "UPSERT INTO w (k, v, pad) SELECT value, value * 3, repeat('x', 200) \
         FROM generate_series(0, 99999)",
    )
    .await;
    conn.admin()
        .flush(&TableName::parse("w").unwrap_or_else(fail))
        .unwrap_or_else(fail);
    let report = s
        .columnar()
        .build_table(&conn, "w")
        .unwrap_or_else(fail)
        .unwrap_or_else(|| panic!("w can have copies"));
    assert_eq!((report.regions, report.built), (1, 1));

    for (lo, hi, parts) in [
        (20_000i64, 79_999i64, 2u64),
        (20_000, 39_999, 1),
        (0, 99_999, 2),
    ] {
        let q =
            format!("SELECT count(*), sum(v), min(k), max(k) FROM w WHERE k BETWEEN {lo} AND {hi}");
        let plan = csv(&s, &format!("EXPLAIN {q}")).await;
        assert!(plan.contains(&format!("partitions={parts},")), "{plan}");
        let got = csv(&s, &q).await;
        let n = hi - lo + 1;
        let want = format!("{n},{},{lo},{hi}", 3 * (lo + hi) * n / 2);
        assert_eq!(got.lines().nth(1), Some(want.as_str()), "{q}: {got}");
        let m = s.last_metrics();
        assert_eq!((m.columnar, m.rows), (parts, n as u64), "{q}: {m:?}");
    }
}

/// A top-N pushes its cut-off into the scan while it runs (a runtime filter): row groups of a
/// copy whose statistics show no row can make the top N are skipped, and the answer is the
/// store's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_top_n_skips_row_groups_of_copies_it_cannot_use() {
    let dir = tempfile::tempdir().unwrap_or_else(fail);
    let (conn, s) = open(dir.path());
    // v rises with the key: the first row group read holds the smallest values, so once
    // the top-N has seen it every later group is out of reach. 20 row groups.
    exec(
        &s,
        "CREATE TABLE r (k BIGINT NOT NULL PRIMARY KEY, v DOUBLE, w VARCHAR)",
    )
    .await;
    exec(
        &s,
        "UPSERT INTO r (k, v, w) SELECT value, CAST(value AS DOUBLE) / 4.0, \
         'w' || CAST(value % 7 AS VARCHAR) FROM generate_series(0, 319999)",
    )
    .await;
    conn.admin()
        .flush(&TableName::parse("r").unwrap_or_else(fail))
        .unwrap_or_else(fail);
    let query = "SELECT k, v, w FROM r ORDER BY v, k LIMIT 5";
    let want = csv(&s, query).await;
    assert_eq!(
        want,
        "k,v,w\n0,0.0,w0\n1,0.25,w1\n2,0.5,w2\n3,0.75,w3\n4,1.0,w4"
    );
    assert_eq!(s.last_metrics().pruned, 0);

    s.columnar().build_table(&conn, "r").unwrap_or_else(fail);
    assert_eq!(csv(&s, query).await, want);
    let m = s.last_metrics();
    assert!(m.columnar > 0, "{m:?}");
    // Each partition reads its first groups before the cut-off reaches it (the scan runs
    // a few batches ahead of the top-N); the rest are skipped.
    assert!(m.pruned >= 10, "{m:?}");
    assert!(m.rows < 200_000, "{m:?}");
    let plan = csv(&s, &format!("EXPLAIN {query}")).await;
    assert!(plan.contains("runtime_filter=[DynamicFilter"), "{plan}");
    // A hash join pushes its build side's keys into the scan the same way.
    let joined = csv(
        &s,
        "SELECT r.k, r.w FROM r JOIN (VALUES (5), (70000), (319998)) AS x(k) ON r.k = x.k \
         ORDER BY r.k",
    )
    .await;
    assert_eq!(joined, "k,w\n5,w5\n70000,w0\n319998,w0");
    // Descending: the last groups hold the answer; the same rows as the store gives.
    let desc = "SELECT k, v FROM r ORDER BY v DESC, k LIMIT 3";
    assert_eq!(
        csv(&s, desc).await,
        "k,v\n319999,79999.75\n319998,79999.5\n319997,79999.25"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copies_survive_a_restart_and_a_corrupt_copy_falls_back_to_the_store() {
    let dir = tempfile::tempdir().unwrap_or_else(fail);
    let want = {
        let (conn, s) = open(dir.path());
        // Compressed families: the copies' pages are LZ4-compressed.
        load(&s, "COMPRESSION='GZ'").await;
        conn.admin()
            .compact(&TableName::parse("m").unwrap_or_else(fail), true)
            .unwrap_or_else(fail);
        let want = answers(&s).await;
        let r = s.columnar().build_table(&conn, "m").unwrap_or_else(fail);
        assert_eq!(r.map(|r| r.built), Some(2));
        for f in copy_files(dir.path()) {
            let file = std::fs::File::open(&f).unwrap_or_else(fail);
            let reader =
                parquet::file::reader::SerializedFileReader::new(file).unwrap_or_else(fail);
            let md = parquet::file::reader::FileReader::metadata(&reader);
            let codec = md.row_group(0).column(0).compression();
            assert_eq!(
                codec,
                parquet::basic::Compression::LZ4_RAW,
                "{}",
                f.display()
            );
        }
        conn.close().unwrap_or_else(fail);
        want
    };
    let (conn, s) = open(dir.path());
    assert_eq!(answers(&s).await, want);
    let _ = csv(&s, QUERIES[0]).await;
    assert_eq!(
        s.last_metrics().columnar,
        2,
        "copies are current after a restart"
    );
    let r = s.columnar().build_table(&conn, "m").unwrap_or_else(fail);
    assert_eq!(r.map(|r| (r.regions, r.built)), Some((2, 0)));

    // Garbage in place of a copy: that region is read from the store, answers unchanged.
    let files = copy_files(dir.path());
    std::fs::write(&files[0], b"not parquet").unwrap_or_else(fail);
    let s2 = session(&conn);
    assert_eq!(answers(&s2).await, want);
    let _ = csv(&s2, QUERIES[0]).await;
    assert_eq!(s2.last_metrics().columnar, 1);
    // A build replaces it.
    let r = s2.columnar().build_table(&conn, "m").unwrap_or_else(fail);
    assert_eq!(r.map(|r| (r.regions, r.built)), Some((2, 1)));
    assert_eq!(answers(&s2).await, want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tables_whose_copies_could_differ_get_none() {
    let dir = tempfile::tempdir().unwrap_or_else(fail);
    let (conn, s) = open(dir.path());

    // TTL: rows expire without a write.
    exec(
        &s,
        "CREATE TABLE e (k VARCHAR PRIMARY KEY, v INTEGER) TTL=86400",
    )
    .await;
    exec(&s, "UPSERT INTO e (k, v) VALUES ('a', 1)").await;
    assert_eq!(
        s.columnar().build_table(&conn, "e").unwrap_or_else(fail),
        None
    );

    // A row written around SQL, without the marker cell: no copy for its region.
    exec(&s, "CREATE TABLE u (k VARCHAR PRIMARY KEY, v INTEGER)").await;
    exec(&s, "UPSERT INTO u (k, v) VALUES ('a', 1), ('c', 3)").await;
    let name = TableName::parse("u").unwrap_or_else(fail);
    let desc = conn.admin().describe(&name).unwrap_or_else(fail);
    let schema = TypedSchema::from_descriptor(&desc)
        .unwrap_or_else(fail)
        .unwrap_or_else(|| panic!("typed"));
    let key = schema
        .encode_row_key(&[Value::Str("b".into())])
        .unwrap_or_else(fail);
    let v = schema.columns[1].clone();
    let table = conn.table("u").unwrap_or_else(fail);
    table
        .put(&Put::new(key).add(v.family.clone(), v.qualifier.clone(), vec![0x80, 0, 0, 2]))
        .unwrap_or_else(fail);
    conn.admin().flush(&name).unwrap_or_else(fail);
    let want = csv(&s, "SELECT k, v FROM u ORDER BY k").await;
    let r = s
        .columnar()
        .build_table(&conn, "u")
        .unwrap_or_else(fail)
        .unwrap_or_else(|| panic!("u is eligible"));
    assert_eq!(r.regions, 0);
    assert!(r.skipped[0].contains("marker"), "{r:?}");
    assert_eq!(csv(&s, "SELECT k, v FROM u ORDER BY k").await, want);
    assert_eq!(s.last_metrics().columnar, 0);
}
