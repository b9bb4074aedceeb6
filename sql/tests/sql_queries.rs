//! End-to-end SQL over an embedded store: typed tables, UPSERT/DELETE/ALTER/DROP, queries
//! checked against a plain-Rust computation over the generated rows, key-range and
//! skip-scan push-down asserted through EXPLAIN and the scan metrics, raw tables and views.

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::arrow::array::{Array, Float64Array, Int32Array, Int64Array, StringArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::record_batch::RecordBatch;
use sql::{Output, Session};
use store_server::{Connection, FamilyDescriptor, Put, TableDescriptor, TableName};

/// One generated row of the `metrics` table.
#[derive(Clone, Debug)]
struct Row {
    host: String,
    ts: i64,
    cpu: f64,
    n: i32,
    zone: Option<String>,
}

/// Deterministic generator (64-bit LCG), so failures reproduce.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
}

fn generate(count: usize) -> Vec<Row> {
    let mut g = Lcg(42);
    let mut rows = BTreeMap::new();
    while rows.len() < count {
        let host = format!("h{}", g.next() % 8);
        let ts = 1_000 + (g.next() % 100_000) as i64;
        let n = (g.next() % 200) as i32 - 50;
        let cpu = (g.next() % 10_000) as f64 / 100.0;
        let zone = match g.next() % 4 {
            0 => None,
            z => Some(format!("z{z}")),
        };
        rows.insert(
            (host.clone(), ts),
            Row {
                host,
                ts,
                cpu,
                n,
                zone,
            },
        );
    }
    rows.into_values().collect()
}

fn fail<T>(e: impl std::fmt::Display) -> T {
    panic!("{e}")
}

struct Fixture {
    _dir: tempfile::TempDir,
    conn: Arc<Connection>,
    session: Session,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap_or_else(fail);
    let conn = Arc::new(Connection::embedded(dir.path()).unwrap_or_else(fail));
    let session = Session::new(conn.clone()).unwrap_or_else(fail);
    // These tests measure the store's read path (blocks, cells); tests/columnar.rs covers
    // the columnar copies that repeated scans would otherwise build in the background.
    session.columnar().set_auto(false);
    Fixture {
        _dir: dir,
        conn,
        session,
    }
}

async fn run(s: &Session, sql: &str) -> Output {
    match s.run(sql).await {
        Ok(o) => o,
        Err(e) => panic!("{sql}: {e}"),
    }
}

async fn rows(s: &Session, sql: &str) -> Vec<RecordBatch> {
    match s.query(sql).await {
        Ok(b) => b,
        Err(e) => panic!("{sql}: {e}"),
    }
}

fn strings(batches: &[RecordBatch], col: usize) -> Vec<Option<String>> {
    let mut out = Vec::new();
    for b in batches {
        let c =
            datafusion::arrow::compute::cast(b.column(col), &DataType::Utf8).unwrap_or_else(fail);
        let a = c
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap_or_else(|| panic!("column {col} is not a string"));
        for i in 0..a.len() {
            out.push((!a.is_null(i)).then(|| a.value(i).to_string()));
        }
    }
    out
}

fn i64s(batches: &[RecordBatch], col: usize) -> Vec<i64> {
    let mut out = Vec::new();
    for b in batches {
        let c = b.column(col);
        if let Some(a) = c.as_any().downcast_ref::<Int64Array>() {
            out.extend((0..a.len()).map(|i| a.value(i)));
        } else if let Some(a) = c.as_any().downcast_ref::<Int32Array>() {
            out.extend((0..a.len()).map(|i| i64::from(a.value(i))));
        } else {
            panic!("column {col} is {:?}", c.data_type());
        }
    }
    out
}

fn count(batches: &[RecordBatch]) -> usize {
    batches.iter().map(|b| b.num_rows()).sum()
}

async fn load(s: &Session, table: &str, data: &[Row]) {
    for chunk in data.chunks(400) {
        let values: Vec<String> = chunk
            .iter()
            .map(|r| {
                format!(
                    "('{}', {}, {}, {}, {})",
                    r.host,
                    r.ts,
                    r.cpu,
                    r.n,
                    r.zone
                        .as_ref()
                        .map(|z| format!("'{z}'"))
                        .unwrap_or_else(|| "NULL".into())
                )
            })
            .collect();
        let sql = format!(
            "UPSERT INTO {table} (host, ts, cpu, n, zone) VALUES {}",
            values.join(", ")
        );
        match run(s, &sql).await {
            Output::Affected { rows, .. } => assert_eq!(rows as usize, chunk.len()),
            other => panic!("{other:?}"),
        }
    }
}

const CREATE: &str = "CREATE TABLE {T} (host VARCHAR NOT NULL, ts BIGINT NOT NULL, cpu DOUBLE, n INTEGER, b.zone VARCHAR, CONSTRAINT pk PRIMARY KEY (host, ts DESC)) BLOCKSIZE=1024";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_table_queries_match_an_independent_computation() {
    let f = fixture();
    let s = &f.session;
    let data = generate(3000);
    let out = run(
        s,
        &format!("{} SPLIT ON ('h2', 'h5')", CREATE.replace("{T}", "metrics")),
    )
    .await;
    assert!(
        matches!(out, Output::Done(ref m) if m.contains("3 regions")),
        "{out:?}"
    );
    load(s, "metrics", &data).await;
    f.conn
        .admin()
        .flush(&TableName::parse("metrics").unwrap_or_else(fail))
        .unwrap_or_else(fail);

    // Aggregates by host.
    let b = rows(
        s,
        "SELECT host, count(*) AS c, sum(n) AS s FROM metrics GROUP BY host ORDER BY host",
    )
    .await;
    let mut want: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for r in &data {
        let e = want.entry(r.host.clone()).or_default();
        e.0 += 1;
        e.1 += i64::from(r.n);
    }
    let hosts: Vec<String> = strings(&b, 0).into_iter().flatten().collect();
    assert_eq!(hosts, want.keys().cloned().collect::<Vec<_>>());
    assert_eq!(i64s(&b, 1), want.values().map(|v| v.0).collect::<Vec<_>>());
    assert_eq!(i64s(&b, 2), want.values().map(|v| v.1).collect::<Vec<_>>());

    // Key prefix: reads exactly that host's rows, in one region.
    let b = rows(s, "SELECT ts FROM metrics WHERE host = 'h3'").await;
    let mut want: Vec<i64> = data
        .iter()
        .filter(|r| r.host == "h3")
        .map(|r| r.ts)
        .collect();
    want.sort_unstable_by(|a, b| b.cmp(a)); // ts DESC in the key
    assert_eq!(i64s(&b, 0), want);
    let m = s.last_metrics();
    assert_eq!(m.rows as usize, want.len());
    assert_eq!(m.regions, 1);

    // Prefix + range on the DESC column.
    let b = rows(
        s,
        "SELECT ts, n FROM metrics WHERE host = 'h1' AND ts >= 20000 AND ts < 60000",
    )
    .await;
    let mut want: Vec<(i64, i64)> = data
        .iter()
        .filter(|r| r.host == "h1" && r.ts >= 20_000 && r.ts < 60_000)
        .map(|r| (r.ts, i64::from(r.n)))
        .collect();
    want.sort_unstable_by(|a, b| b.cmp(a));
    let got: Vec<(i64, i64)> = i64s(&b, 0).into_iter().zip(i64s(&b, 1)).collect();
    assert_eq!(got, want);
    assert_eq!(s.last_metrics().rows as usize, want.len());

    // IN list on the leading key: a skip scan of two ranges.
    let b = rows(
        s,
        "SELECT count(*) FROM metrics WHERE host IN ('h0', 'h6', 'nope')",
    )
    .await;
    let want = data
        .iter()
        .filter(|r| r.host == "h0" || r.host == "h6")
        .count();
    assert_eq!(i64s(&b, 0), vec![want as i64]);
    let m = s.last_metrics();
    assert_eq!(m.rows as usize, want);
    assert_eq!(m.ranges, 3, "{m:?}");

    // Point lookup: one region, one row, a handful of blocks.
    let target = &data[1234];
    let b = rows(
        s,
        &format!(
            "SELECT cpu, zone FROM metrics WHERE host = '{}' AND ts = {}",
            target.host, target.ts
        ),
    )
    .await;
    assert_eq!(count(&b), 1);
    let cpu = b[0]
        .column(0)
        .as_any()
        .downcast_ref::<Float64Array>()
        .map(|a| a.value(0));
    assert_eq!(cpu, Some(target.cpu));
    assert_eq!(strings(&b, 1), vec![target.zone.clone()]);
    let point = s.last_metrics();
    assert_eq!(
        (point.regions, point.ranges, point.rows),
        (1, 1, 1),
        "{point:?}"
    );
    assert!(point.blocks >= 1 && point.blocks <= 6, "{point:?}");
    let _ = rows(s, "SELECT count(cpu) FROM metrics").await;
    let full = s.last_metrics();
    assert_eq!(full.regions, 3);
    assert!(full.blocks > 20 * point.blocks, "{full:?} vs {point:?}");

    // LIMIT without filters reaches the scan: each region partition stops after 5 rows.
    let b = rows(s, "SELECT host, ts FROM metrics LIMIT 5").await;
    assert_eq!(count(&b), 5);
    let m = s.last_metrics();
    assert!(m.rows <= 15, "{m:?}");

    // Non-key filter (store-side) and ordering with LIMIT.
    let b = rows(
        s,
        "SELECT host, ts FROM metrics WHERE n > 120 ORDER BY cpu DESC, host, ts LIMIT 7",
    )
    .await;
    let mut want: Vec<&Row> = data.iter().filter(|r| r.n > 120).collect();
    want.sort_by(|a, b| {
        b.cpu
            .total_cmp(&a.cpu)
            .then(a.host.cmp(&b.host))
            .then(a.ts.cmp(&b.ts))
    });
    let want: Vec<i64> = want.iter().take(7).map(|r| r.ts).collect();
    assert_eq!(i64s(&b, 1), want);
    let b = rows(
        s,
        "SELECT count(*) FROM metrics WHERE zone = 'z2' AND n <= 0",
    )
    .await;
    let want = data
        .iter()
        .filter(|r| r.zone.as_deref() == Some("z2") && r.n <= 0)
        .count();
    assert_eq!(i64s(&b, 0), vec![want as i64]);

    // EXPLAIN shows decoded ranges, families and filters.
    let b = rows(
        s,
        "EXPLAIN SELECT cpu FROM metrics WHERE host IN ('h1','h2') AND n = 3",
    )
    .await;
    let plan = strings(&b, 1)
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join("\n");
    assert!(plan.contains("StoreScanExec: table=metrics"), "{plan}");
    assert!(plan.contains("[host='h1'] [host='h2']"), "{plan}");
    assert!(
        plan.contains("0.cpu") && plan.contains("0.n") && plan.contains("0._0"),
        "{plan}"
    );
    assert!(plan.contains("store_filters=[0.n Equal"), "{plan}");

    // DELETE by key prefix and by a non-key predicate.
    let out = run(s, "DELETE FROM metrics WHERE host = 'h4'").await;
    let h4 = data.iter().filter(|r| r.host == "h4").count() as u64;
    assert!(matches!(out, Output::Affected { rows, .. } if rows == h4));
    let out = run(s, "DELETE FROM metrics WHERE n < -40").await;
    let low = data.iter().filter(|r| r.host != "h4" && r.n < -40).count() as u64;
    assert!(
        matches!(out, Output::Affected { rows, .. } if rows == low),
        "{out:?}"
    );
    let b = rows(s, "SELECT count(*) FROM metrics").await;
    let left = data.iter().filter(|r| r.host != "h4" && r.n >= -40).count();
    assert_eq!(i64s(&b, 0), vec![left as i64]);

    // UPSERT overwrites, NULL clears a column, UPSERT ... SELECT copies.
    let t = data
        .iter()
        .find(|r| r.host != "h4" && r.n >= -40)
        .unwrap_or_else(|| panic!("no surviving row"));
    let _ = run(
        s,
        &format!(
            "UPSERT INTO metrics (host, ts, n, zone) VALUES ('{}', {}, 999, NULL)",
            t.host, t.ts
        ),
    )
    .await;
    let b = rows(
        s,
        &format!(
            "SELECT n, zone FROM metrics WHERE host = '{}' AND ts = {}",
            t.host, t.ts
        ),
    )
    .await;
    assert_eq!(i64s(&b, 0), vec![999]);
    assert_eq!(strings(&b, 1), vec![None]);
    let _ = run(s, &CREATE.replace("{T}", "copy")).await;
    let out = run(
        s,
        "UPSERT INTO copy SELECT host, ts, cpu, n, zone FROM metrics WHERE host = 'h7'",
    )
    .await;
    let h7 = data.iter().filter(|r| r.host == "h7" && r.n >= -40).count() as u64;
    assert!(
        matches!(out, Output::Affected { rows, .. } if rows == h7),
        "{out:?}"
    );
    let b = rows(s, "SELECT count(*) FROM copy JOIN metrics USING (host, ts)").await;
    assert_eq!(i64s(&b, 0), vec![h7 as i64]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn salted_tables_spread_rows_and_scan_every_bucket() {
    let f = fixture();
    let s = &f.session;
    let data = generate(800);
    let _ = run(
        s,
        "CREATE TABLE salty (host VARCHAR NOT NULL, ts BIGINT NOT NULL, cpu DOUBLE, n INTEGER, b.zone VARCHAR CONSTRAINT pk PRIMARY KEY (host, ts)) SALT_BUCKETS=4, COMPRESSION='GZ', VERSIONS=2",
    )
    .await
    .clone();
    let regions = f
        .conn
        .admin()
        .regions(&TableName::parse("salty").unwrap_or_else(fail))
        .unwrap_or_else(fail);
    assert_eq!(regions.len(), 4);
    let desc = f
        .conn
        .admin()
        .describe(&TableName::parse("salty").unwrap_or_else(fail))
        .unwrap_or_else(fail);
    assert!(desc
        .families
        .iter()
        .all(|fd| fd.max_versions == 2 && fd.compression == store_server::schema::Compression::Gz));
    load(s, "salty", &data).await;

    let b = rows(s, "SELECT ts FROM salty WHERE host = 'h5' ORDER BY ts").await;
    let mut want: Vec<i64> = data
        .iter()
        .filter(|r| r.host == "h5")
        .map(|r| r.ts)
        .collect();
    want.sort_unstable();
    assert_eq!(i64s(&b, 0), want);
    let m = s.last_metrics();
    assert_eq!((m.ranges, m.regions), (4, 4), "{m:?}");
    assert_eq!(m.rows as usize, want.len());

    let t = &data[77];
    let b = rows(
        s,
        &format!(
            "SELECT n FROM salty WHERE host = '{}' AND ts = {}",
            t.host, t.ts
        ),
    )
    .await;
    assert_eq!(i64s(&b, 0), vec![i64::from(t.n)]);
    assert_eq!(s.last_metrics().regions, 1);

    let b = rows(s, "EXPLAIN SELECT n FROM salty WHERE host = 'h1'").await;
    let plan = strings(&b, 1)
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join("\n");
    assert!(plan.contains("buckets=4"), "{plan}");

    // Every row landed in the bucket of its key's Phoenix hash.
    let handle = f.conn.table("salty").unwrap_or_else(fail);
    let mut seen = 0;
    for r in handle.scan(&store_server::Scan::new()).unwrap_or_else(fail) {
        let r = r.unwrap_or_else(fail);
        assert_eq!(r.row[0], store_server::rowkey::salt_byte(&r.row[1..], 4));
        seen += 1;
    }
    assert_eq!(seen, data.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_tables_views_and_ddl() {
    let f = fixture();
    let s = &f.session;
    let admin = f.conn.admin();
    let tn = TableName::parse("raw").unwrap_or_else(fail);
    admin
        .create_table(
            TableDescriptor::new(tn.clone(), vec![FamilyDescriptor::new("cf")]),
            &[],
        )
        .unwrap_or_else(fail);
    let t = f.conn.table("raw").unwrap_or_else(fail);
    let mut puts = Vec::new();
    for i in 0..50 {
        let mut p = Put::new(format!("r{i:03}")).add("cf", "name", format!("name{i}"));
        if i % 2 == 0 {
            p = p.add("cf", "bin", vec![0xFFu8, i as u8]);
        }
        puts.push(p);
    }
    t.put_batch(&puts).unwrap_or_else(fail);

    let b = rows(
        s,
        "SELECT rowkey, \"cf:name\" FROM raw WHERE rowkey >= 'r010' AND rowkey < 'r013' ORDER BY rowkey",
    )
    .await;
    assert_eq!(
        strings(&b, 0),
        vec![
            Some("r010".into()),
            Some("r011".into()),
            Some("r012".into())
        ]
    );
    assert_eq!(strings(&b, 1)[2].as_deref(), Some("name12"));
    assert_eq!(s.last_metrics().rows, 3);
    let b = rows(s, "SELECT count(\"cf:bin\") FROM raw").await;
    assert_eq!(i64s(&b, 0), vec![25]);

    let _ = run(
        s,
        "CREATE VIEW people (pk VARCHAR PRIMARY KEY, \"cf\".\"name\" VARCHAR) AS SELECT * FROM raw",
    )
    .await;
    let b = rows(s, "SELECT pk, name FROM people WHERE pk = 'r007'").await;
    assert_eq!(strings(&b, 1), vec![Some("name7".into())]);
    assert!(s.run("UPSERT INTO people VALUES ('x', 'y')").await.is_err());
    let _ = run(s, "DROP VIEW people").await;
    assert!(s.run("SELECT * FROM people").await.is_err());

    // ALTER TABLE ADD into a new family, then DROP TABLE.
    let _ = run(s, "CREATE TABLE kv (k INTEGER PRIMARY KEY, v VARCHAR)").await;
    let _ = run(s, "UPSERT INTO kv VALUES (1, 'one'), (2, 'two')").await;
    let _ = run(s, "ALTER TABLE kv ADD x.extra DECIMAL(8,2)").await;
    let _ = run(s, "UPSERT INTO kv (k, extra) VALUES (2, 12.5)").await;
    let b = rows(s, "SELECT k, v, CAST(extra AS VARCHAR) FROM kv ORDER BY k").await;
    assert_eq!(strings(&b, 1), vec![Some("one".into()), Some("two".into())]);
    assert_eq!(strings(&b, 2), vec![None, Some("12.50".into())]);
    let _ = run(s, "DROP TABLE kv").await;
    assert!(!admin
        .table_exists(&TableName::parse("kv").unwrap_or_else(fail))
        .unwrap_or_else(fail));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_are_one_line_with_positions() {
    let f = fixture();
    let s = &f.session;
    let e = s
        .run("CREATE TABLE t (a INTEGER PRIMARY KEY,\n  b VARCHAR(3, 4, 5))")
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(e.starts_with("syntax error at line 2, column 5"), "{e}");
    let e = s
        .run("SELEC 1")
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(!e.contains('\n') && e.contains("Line: 1, Column: 1"), "{e}");
    let e = s
        .run("SELECT * FROM missing")
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(!e.contains('\n') && e.contains("missing"), "{e}");
    let _ = run(
        s,
        "CREATE TABLE t (a INTEGER PRIMARY KEY, b BIGINT NOT NULL)",
    )
    .await;
    let e = s
        .run("UPSERT INTO t VALUES (1, NULL)")
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(e.contains("'b' is NOT NULL"), "{e}");
    let e = s
        .run("UPSERT INTO t (b) VALUES (1)")
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(e.contains("primary key column 'a' must be given"), "{e}");
    // Planning errors point at the offending part of the statement.
    let e = s
        .run("SELECT a,\n       nosuch + 1 FROM t")
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        !e.contains('\n') && e.starts_with("at line 2, column 8: ") && e.contains("nosuch"),
        "{e}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_range_in_one_region_is_split_between_partitions() {
    let f = fixture();
    let s = &f.session;
    let data = generate(12_000);
    let _ = run(s, &CREATE.replace("{T}", "one")).await;
    load(s, "one", &data).await;
    f.conn
        .admin()
        .flush(&TableName::parse("one").unwrap_or_else(fail))
        .unwrap_or_else(fail);

    // One region, one range of well over 2 × MIN_SPLIT_BYTES of blocks: cut in parts.
    let q = "SELECT host, ts, n FROM one WHERE host > 'h0' AND host < 'h7'";
    let b = rows(s, &format!("EXPLAIN {q}")).await;
    let plan = strings(&b, 1)
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join("\n");
    let parts: usize = plan
        .split("partitions=")
        .nth(1)
        .map(|p| {
            p.chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
        })
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no partitions in {plan}"));
    assert!(parts >= 2, "{plan}");

    // The parts cover the range exactly: every row once, in key order within a part.
    let b = rows(s, q).await;
    let mut got: Vec<(String, i64, i64)> = strings(&b, 0)
        .into_iter()
        .map(|h| h.unwrap_or_default())
        .zip(i64s(&b, 1))
        .zip(i64s(&b, 2))
        .map(|((h, t), n)| (h, t, n))
        .collect();
    got.sort();
    let mut want: Vec<(String, i64, i64)> = data
        .iter()
        .filter(|r| r.host.as_str() > "h0" && r.host.as_str() < "h7")
        .map(|r| (r.host.clone(), r.ts, i64::from(r.n)))
        .collect();
    want.sort();
    assert_eq!(got.len(), want.len());
    assert_eq!(got, want);
    // A split range still counts as one range in one region.
    let m = s.last_metrics();
    assert_eq!((m.ranges, m.regions), (1, 1), "{m:?}");
    assert_eq!(m.rows as usize, want.len());
}

/// DECIMAL primary-key columns are variable length (Phoenix's base-100 form, where 1 is a
/// prefix of 1.5): key order, equalities and ranges on them follow the values.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decimal_primary_keys_sort_and_filter_by_value() {
    let f = fixture();
    let s = &f.session;
    let _ = run(
        s,
        "CREATE TABLE dk (d DECIMAL(10,2) NOT NULL, e DECIMAL(6,1), n VARCHAR, \
         CONSTRAINT pk PRIMARY KEY (d, e DESC))",
    )
    .await;
    let _ = run(
        s,
        "UPSERT INTO dk VALUES (1, 1.5, 'a'), (1.5, 0, 'b'), (-1, -2.5, 'c'), (100, NULL, 'd'), \
         (0.01, 3, 'e'), (-12.34, 1, 'f'), (1, -1, 'g'), (12.34, 0, 'h')",
    )
    .await;
    let names = |b: &[RecordBatch]| {
        strings(b, 0)
            .into_iter()
            .map(|x| x.unwrap_or_default())
            .collect::<Vec<_>>()
            .join("")
    };
    let b = rows(s, "SELECT n FROM dk ORDER BY d, e DESC").await;
    assert_eq!(names(&b), "fceagbhd");
    let b = rows(s, "SELECT n FROM dk").await;
    assert_eq!(names(&b), "fceagbhd", "row-key order");
    let b = rows(s, "SELECT n FROM dk WHERE d = 1 ORDER BY e").await;
    assert_eq!(names(&b), "ga");
    let b = rows(s, "SELECT n FROM dk WHERE d > 1 ORDER BY d").await;
    assert_eq!(names(&b), "bhd");
    let b = rows(s, "SELECT n FROM dk WHERE d >= -1 AND d < 1 ORDER BY d").await;
    assert_eq!(names(&b), "ce");
    let b = rows(s, "SELECT n FROM dk WHERE d = 1 AND e = 1.5").await;
    assert_eq!(names(&b), "a");
    let b = rows(s, "SELECT n FROM dk WHERE d = 100 AND e IS NULL").await;
    assert_eq!(names(&b), "d");
    let b = rows(
        s,
        "SELECT CAST(d AS VARCHAR), CAST(e AS VARCHAR) FROM dk WHERE n = 'f'",
    )
    .await;
    assert_eq!(strings(&b, 0), vec![Some("-12.34".into())]);
    assert_eq!(strings(&b, 1), vec![Some("1.0".into())]);
}
