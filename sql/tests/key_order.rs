//! Scans deliver rows in row-key order and say so: `ORDER BY` the leading key columns needs
//! no sort, and `GROUP BY` leading key columns aggregates runs of equal keys
//! (`RunAggregateExec`) instead of hashing. Answers are checked against a plain-Rust
//! computation over the same generated rows, with groups spanning batches, regions, store
//! files and the memstore; salted tables (whose key starts with the salt) keep the hash
//! aggregate and a sort. Predicates the key ranges enforce exactly leave the filter over
//! the scan; the others stay.

use std::collections::BTreeMap;
use std::sync::Arc;

use sql::format::{render, Format};
use sql::{Output, Session};
use store_server::{Connection, TableName};

/// Rows in the generated table.
const ROWS: i64 = 60_000;

fn fail<T>(e: impl std::fmt::Display) -> T {
    panic!("{e}")
}

async fn exec(s: &Session, sql: &str) {
    if let Err(e) = s.run(sql).await {
        panic!("{sql}: {e}");
    }
}

async fn csv(s: &Session, sql: &str) -> String {
    match s.run(sql).await {
        Ok(o @ Output::Rows { .. }) => {
            let mut text = render(&o, Format::Csv).unwrap_or_else(fail);
            text.push('\n');
            text
        }
        Ok(other) => panic!("{sql}: {other:?}"),
        Err(e) => panic!("{sql}: {e}"),
    }
}

/// The plan of `sql` (EXPLAIN), one string.
async fn plan(s: &Session, sql: &str) -> String {
    csv(s, &format!("EXPLAIN {sql}")).await
}

/// One generated row, from its number `v`: the same formulas as the SQL that loads it.
struct Row {
    grp: String,
    day: i64,
    id: i64,
    qty: Option<i64>,
    amount: f64,
}

fn row(v: i64) -> Row {
    Row {
        // Uneven groups: g0 has the most rows, so some groups span several batches.
        grp: format!("g{}", (v % 100) * (v % 100) / 1200),
        day: v % 11,
        id: v,
        qty: (v % 10 != 0).then_some(v % 50),
        amount: (v % 1000) as f64 / 4.0,
    }
}

/// Loads rows `lo..hi` into `table`.
async fn load(s: &Session, table: &str, lo: i64, hi: i64) {
    exec(
        s,
        &format!(
            "UPSERT INTO {table} (grp, day, id, qty, amount) SELECT \
             'g' || CAST((value % 100) * (value % 100) / 1200 AS VARCHAR), \
             CAST(value % 11 AS INTEGER), value, \
             CASE WHEN value % 10 = 0 THEN NULL ELSE CAST(value % 50 AS INTEGER) END, \
             CAST(value % 1000 AS DOUBLE) / 4.0 FROM generate_series({lo}, {})",
            hi - 1
        ),
    )
    .await;
}

/// A table of [`ROWS`] rows keyed (grp, day DESC, id) in three regions, half of the rows
/// flushed to a store file and half in the memstore, interleaved in key order.
async fn table(s: &Session, conn: &Connection, name: &str, options: &str) {
    exec(
        s,
        &format!(
            "CREATE TABLE {name} (grp VARCHAR NOT NULL, day INTEGER NOT NULL, id BIGINT NOT NULL, \
             qty INTEGER, amount DOUBLE, CONSTRAINT pk PRIMARY KEY (grp, day DESC, id)) {options}"
        ),
    )
    .await;
    load(s, name, 0, ROWS / 2).await;
    conn.admin()
        .flush(&TableName::parse(name).unwrap_or_else(fail))
        .unwrap_or_else(fail);
    load(s, name, ROWS / 2, ROWS).await;
}

/// A fresh store (background copy builds off) with the table `o` in three regions.
async fn with_table() -> (tempfile::TempDir, Session) {
    let dir = tempfile::tempdir().unwrap_or_else(fail);
    let conn = Arc::new(Connection::embedded(dir.path()).unwrap_or_else(fail));
    let s = Session::new(conn.clone()).unwrap_or_else(fail);
    s.columnar().set_auto(false);
    table(&s, &conn, "o", "SPLIT ON ('g1', 'g4')").await;
    (dir, s)
}

/// `SELECT grp, count(*), count(qty), sum(qty), min(amount), max(amount), avg(amount)
/// GROUP BY grp ORDER BY grp`, computed directly, as CSV.
fn by_group() -> String {
    let mut groups: BTreeMap<String, (i64, i64, i64, f64, f64, f64)> = BTreeMap::new();
    for r in (0..ROWS).map(row) {
        let g = groups
            .entry(r.grp)
            .or_insert((0, 0, 0, f64::MAX, f64::MIN, 0.0));
        g.0 += 1;
        if let Some(q) = r.qty {
            g.1 += 1;
            g.2 += q;
        }
        g.3 = g.3.min(r.amount);
        g.4 = g.4.max(r.amount);
        g.5 += r.amount;
    }
    let mut out = String::from("grp,count,count_qty,sum_qty,min_amount,max_amount,avg_amount\n");
    for (k, (n, nq, sq, lo, hi, total)) in groups {
        out.push_str(&format!(
            "{k},{n},{nq},{sq},{lo:?},{hi:?},{:?}\n",
            total / n as f64
        ));
    }
    out
}

const BY_GROUP: &str = "SELECT grp, count(*) AS count, count(qty) AS count_qty, \
    sum(qty) AS sum_qty, min(amount) AS min_amount, max(amount) AS max_amount, \
    avg(amount) AS avg_amount FROM {T} GROUP BY grp ORDER BY grp";

/// `GROUP BY grp, day` over two groups, in key order (day descending), computed directly.
fn by_group_and_day() -> String {
    let mut groups: BTreeMap<(String, std::cmp::Reverse<i64>), (i64, i64)> = BTreeMap::new();
    for r in (0..ROWS)
        .map(row)
        .filter(|r| r.grp == "g1" || r.grp == "g5")
    {
        let g = groups
            .entry((r.grp, std::cmp::Reverse(r.day)))
            .or_insert((0, 0));
        g.0 += 1;
        g.1 += r.qty.unwrap_or(0);
    }
    let mut out = String::from("grp,day,count,sum_qty\n");
    for ((k, d), (n, s)) in groups {
        out.push_str(&format!("{k},{},{n},{s}\n", d.0));
    }
    out
}

const BY_GROUP_AND_DAY: &str = "SELECT grp, day, count(*) AS count, sum(qty) AS sum_qty \
    FROM {T} WHERE grp IN ('g1', 'g5') GROUP BY grp, day ORDER BY grp, day DESC";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scans_keep_key_order_and_group_leading_keys_by_runs() {
    let (_dir, s) = with_table().await;

    // GROUP BY the leading key: runs, not a hash table; the answers exact.
    let q = BY_GROUP.replace("{T}", "o");
    let p = plan(&s, &q).await;
    assert!(p.contains("RunAggregateExec: mode=Partial"), "{p}");
    assert_eq!(csv(&s, &q).await, by_group());
    // Two key columns, one of them DESC, behind a skip scan.
    let q = BY_GROUP_AND_DAY.replace("{T}", "o");
    let p = plan(&s, &q).await;
    assert!(p.contains("RunAggregateExec"), "{p}");
    assert_eq!(csv(&s, &q).await, by_group_and_day());
    // One partition: a single aggregation step, whose groups must each come out once
    // although g0's rows span several batches and all three regions.
    exec(&s, "SET datafusion.execution.target_partitions = 1").await;
    let q = BY_GROUP.replace("{T}", "o");
    let p = plan(&s, &q).await;
    assert!(p.contains("RunAggregateExec: mode=Single"), "{p}");
    assert_eq!(csv(&s, &q).await, by_group());
    exec(&s, "SET datafusion.execution.target_partitions = 2").await;
    // A GROUP BY on a non-key column is still hashed.
    let p = plan(&s, "SELECT qty, count(*) FROM o GROUP BY qty").await;
    assert!(!p.contains("RunAggregateExec"), "{p}");

    // ORDER BY the key: no sort, only a merge of the partitions' sorted streams.
    let q = "SELECT grp, day, id FROM o WHERE grp >= 'g3' ORDER BY grp, day DESC, id";
    let p = plan(&s, q).await;
    assert!(!p.contains("SortExec"), "{p}");
    let mut want: Vec<(String, i64, i64)> = (0..ROWS)
        .map(row)
        .filter(|r| r.grp.as_str() >= "g3")
        .map(|r| (r.grp, -r.day, r.id))
        .collect();
    want.sort();
    let want: String = want
        .into_iter()
        .map(|(g, d, i)| format!("{g},{},{i}\n", -d))
        .collect();
    assert_eq!(csv(&s, q).await, format!("grp,day,id\n{want}"));
    // Against the key order (ts ascending): sorted as asked.
    let q = "SELECT day, id FROM o WHERE grp = 'g2' ORDER BY day, id LIMIT 3";
    assert!(plan(&s, q).await.contains("SortExec"));

    // Salted: the salt byte leads the key, so there is no key order to use.
    table(&s, s.connection(), "salty", "SALT_BUCKETS=3").await;
    let q = BY_GROUP.replace("{T}", "salty");
    let p = plan(&s, &q).await;
    assert!(!p.contains("RunAggregateExec"), "{p}");
    assert_eq!(csv(&s, &q).await, by_group());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nullable_desc_key_orders_nulls_last() {
    let dir = tempfile::tempdir().unwrap_or_else(fail);
    let conn = Arc::new(Connection::embedded(dir.path()).unwrap_or_else(fail));
    let s = Session::new(conn).unwrap_or_else(fail);
    exec(
        &s,
        "CREATE TABLE n (k VARCHAR, j INTEGER NOT NULL, v INTEGER, \
         CONSTRAINT pk PRIMARY KEY (k DESC, j))",
    )
    .await;
    exec(
        &s,
        "UPSERT INTO n VALUES ('a', 1, 1), ('a', 2, 2), ('b', 1, 3), (NULL, 1, 4), \
         (NULL, 2, 5), ('ab', 1, 6)",
    )
    .await;
    // The key order is k DESC with NULL (the empty value) last.
    let q = "SELECT k, j FROM n ORDER BY k DESC NULLS LAST, j";
    assert!(!plan(&s, q).await.contains("SortExec"));
    assert_eq!(csv(&s, q).await, "k,j\nb,1\nab,1\na,1\na,2\n,1\n,2\n");
    // NULLS FIRST is not the key order: sorted.
    let q = "SELECT k, j FROM n ORDER BY k DESC NULLS FIRST, j";
    assert!(plan(&s, q).await.contains("SortExec"));
    assert_eq!(csv(&s, q).await, "k,j\n,1\n,2\nb,1\nab,1\na,1\na,2\n");
    let q = "SELECT k, count(*) AS c, sum(v) AS s FROM n GROUP BY k ORDER BY k";
    assert!(plan(&s, q).await.contains("RunAggregateExec"));
    assert_eq!(csv(&s, q).await, "k,c,s\na,2,3\nab,1,6\nb,1,3\n,2,9\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn predicates_the_key_ranges_enforce_are_not_evaluated_again() {
    let (_dir, s) = with_table().await;

    // An IN list on the leading key and a range on the next one: the ranges are the answer.
    let q = "SELECT count(*) AS c, sum(id) AS s FROM o \
             WHERE grp IN ('g1', 'g5') AND day BETWEEN 2 AND 4";
    let p = plan(&s, q).await;
    assert!(!p.contains("FilterExec"), "{p}");
    let want: Vec<Row> = (0..ROWS)
        .map(row)
        .filter(|r| (r.grp == "g1" || r.grp == "g5") && (2..=4).contains(&r.day))
        .collect();
    let sum: i64 = want.iter().map(|r| r.id).sum();
    assert_eq!(csv(&s, q).await, format!("c,s\n{},{sum}\n", want.len()));

    // `id` follows an unconstrained key column: only it is still filtered.
    let q = "SELECT grp, day, id FROM o WHERE grp = 'g2' AND id = 4250";
    let p = plan(&s, q).await;
    assert!(p.contains("FilterExec: id@2 = 4250"), "{p}");
    assert!(!p.contains("grp@0 = g2"), "{p}");
    let r = row(4250);
    assert_eq!(r.grp, "g2");
    assert_eq!(csv(&s, q).await, format!("grp,day,id\ng2,{},4250\n", r.day));

    // A non-key predicate stays, whatever the key predicates beside it.
    let q = "SELECT count(*) AS c FROM o WHERE grp = 'g3' AND qty = 7";
    assert!(plan(&s, q).await.contains("FilterExec: qty@"));
    let n = (0..ROWS)
        .map(row)
        .filter(|r| r.grp == "g3" && r.qty == Some(7))
        .count();
    assert_eq!(csv(&s, q).await, format!("c\n{n}\n"));

    // A bound on a nullable key column: NULL (the empty value) is inside the key range
    // below 'b', so the filter must stay to drop it.
    exec(
        &s,
        "CREATE TABLE n (k VARCHAR, j INTEGER NOT NULL, CONSTRAINT pk PRIMARY KEY (k, j))",
    )
    .await;
    exec(&s, "UPSERT INTO n VALUES ('a', 1), (NULL, 2), ('b', 3)").await;
    let q = "SELECT k, j FROM n WHERE k < 'b'";
    assert!(plan(&s, q).await.contains("FilterExec"));
    assert_eq!(csv(&s, q).await, "k,j\na,1\n");
    // Equality on it is exact: NULL never equals.
    let q = "SELECT k, j FROM n WHERE k = 'a'";
    assert!(!plan(&s, q).await.contains("FilterExec"));
    assert_eq!(csv(&s, q).await, "k,j\na,1\n");
}
