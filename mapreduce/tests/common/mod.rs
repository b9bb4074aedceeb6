//! Shared fixtures: a pre-split table with versions and deletes, and its expected
//! contents computed directly from how it was generated.

#![allow(dead_code)]

use std::collections::BTreeMap;

use mapreduce::{RunOptions, SplitPolicy};
use store_server::server::Config;
use store_server::{
    Connection, Delete, DeleteSpec, FamilyDescriptor, Put, TableDescriptor, TableName,
};

/// Rows in the generated table.
pub const ROWS: usize = 600;

/// `(row, family, qualifier) -> [(ts, value)]` newest first.
pub type Model = BTreeMap<(Vec<u8>, Vec<u8>, Vec<u8>), Vec<(i64, Vec<u8>)>>;

pub fn row_key(i: usize) -> Vec<u8> {
    format!("row-{i:04}").into_bytes()
}

pub fn open(dir: &std::path::Path) -> Connection {
    let config = Config {
        background: false,
        ..Config::default()
    };
    Connection::embedded_with_config(dir, config).expect("open store")
}

pub fn run_opts(threads: usize) -> RunOptions {
    RunOptions {
        threads,
        max_attempts: 3,
        split_policy: SplitPolicy {
            target_splits: 12,
            min_split_bytes: 0,
        },
        ..RunOptions::default()
    }
}

/// Creates `name` (families `a` with 3 versions and small blocks, `b` with 1), split into
/// 6 regions, and fills it: `a:x` has 1–3 versions, `a:y` is absent on every 5th row,
/// `b:z` everywhere; every 7th row is deleted whole, every 11th loses `a:x` versions ≤ 2.
/// Part of the data is flushed to HFiles, the deletes stay in the memstore.
pub fn make_table(conn: &Connection, name: &str) -> Model {
    let table = TableName::parse(name).expect("name");
    let mut a = FamilyDescriptor::new("a").with_max_versions(3);
    a.block_size = 512;
    let b = FamilyDescriptor::new("b");
    let splits: Vec<Vec<u8>> = [100, 200, 300, 400, 500]
        .iter()
        .map(|&i| row_key(i))
        .collect();
    conn.admin()
        .create_table(TableDescriptor::new(table.clone(), vec![a, b]), &splits)
        .expect("create");
    let t = conn.table(name).expect("table");
    let mut puts = Vec::new();
    for i in 0..ROWS {
        let mut p = Put::new(row_key(i));
        for ts in 1..=(i % 3 + 1) as i64 {
            p = p.add_ts("a", "x", ts, format!("x{i}-{ts}"));
        }
        if i % 5 != 0 {
            p = p.add_ts("a", "y", 5, format!("y{i}"));
        }
        p = p.add_ts("b", "z", 7, i.to_string());
        puts.push(p);
    }
    t.put_batch(&puts).expect("puts");
    conn.admin().flush(&table).expect("flush");
    for i in 0..ROWS {
        if i % 7 == 0 {
            t.delete(&Delete::new(row_key(i)).with_ts(100))
                .expect("delete row");
        } else if i % 11 == 0 {
            t.delete(&Delete::new(row_key(i)).with_spec(DeleteSpec::Columns {
                family: b"a".to_vec(),
                qualifier: b"x".to_vec(),
                ts: Some(2),
            }))
            .expect("delete column");
        }
    }
    model()
}

/// The visible cells of [`make_table`]'s table, all versions.
pub fn model() -> Model {
    let mut m = Model::new();
    for i in 0..ROWS {
        if i % 7 == 0 {
            continue;
        }
        let r = row_key(i);
        let xs: Vec<(i64, Vec<u8>)> = (1..=(i % 3 + 1) as i64)
            .rev()
            .filter(|ts| i % 11 != 0 || *ts > 2)
            .map(|ts| (ts, format!("x{i}-{ts}").into_bytes()))
            .collect();
        if !xs.is_empty() {
            m.insert((r.clone(), b"a".to_vec(), b"x".to_vec()), xs);
        }
        if i % 5 != 0 {
            m.insert(
                (r.clone(), b"a".to_vec(), b"y".to_vec()),
                vec![(5, format!("y{i}").into_bytes())],
            );
        }
        m.insert(
            (r, b"b".to_vec(), b"z".to_vec()),
            vec![(7, i.to_string().into_bytes())],
        );
    }
    m
}

/// Every visible cell of a table (all versions) as a model, read with a plain scan.
pub fn read_table(conn: &Connection, name: &str) -> Model {
    let t = conn.table(name).expect("table");
    let mut m = Model::new();
    for row in t
        .scan(&store_server::Scan::new().with_max_versions(u32::MAX))
        .expect("scan")
    {
        let row = row.expect("row");
        for c in row.cells {
            m.entry((c.row.to_vec(), c.family.to_vec(), c.qualifier.to_vec()))
                .or_default()
                .push((c.timestamp, c.value.to_vec()));
        }
    }
    m
}

/// Rows of a model.
pub fn model_rows(m: &Model) -> std::collections::BTreeSet<Vec<u8>> {
    m.keys().map(|k| k.0.clone()).collect()
}
