//! End-to-end tests of the embedded store through the client API.

mod common;

use common::{create, rows, test_config};
use store_server::client::{CheckAndMutate, Delete, DeleteSpec, Mutation};
use store_server::{CompareOp, Connection, Filter, Get, Put, Result, Scan, TableName, TimeRange};

fn tmp() -> tempfile::TempDir {
    match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => panic!("tempdir: {e}"),
    }
}

#[test]
fn put_get_scan_survive_flush_and_restart() -> Result<()> {
    let dir = tmp();
    {
        let conn = Connection::embedded_with_config(dir.path(), test_config())?;
        create(&conn, "t1", &["cf", "meta"], 3, &[b"m"])?;
        let t = conn.table("t1")?;
        for i in 0..50 {
            t.put(
                &Put::new(format!("row{i:02}"))
                    .add_ts("cf", "a", 10, format!("v{i}"))
                    .add_ts("meta", "x", 10, "m"),
            )?;
        }
        t.put(&Put::new("row07").add_ts("cf", "a", 20, "newer"))?;
        conn.admin().flush(&TableName::parse("t1")?)?;
        t.put(&Put::new("row08").add_ts("cf", "a", 30, "in-memstore"))?;
        let g = t.get(&Get::new("row07").with_max_versions(5))?;
        assert_eq!(g.versions(b"cf", b"a").len(), 2);
        assert_eq!(
            g.value(b"cf", b"a").map(|v| v.to_vec()),
            Some(b"newer".to_vec())
        );
        conn.close()?;
    }
    // Reopen: everything is still there (from files and, for row08, WAL replay or flush).
    let conn = Connection::embedded_with_config(dir.path(), test_config())?;
    let t = conn.table("t1")?;
    let all = rows(t.scan(&Scan::new())?)?;
    assert_eq!(all.len(), 50);
    assert_eq!(
        all[8].1[0],
        ("cf:a".to_string(), 30, "in-memstore".to_string())
    );
    let some = rows(
        t.scan(
            &Scan::new()
                .with_start_row("row10")
                .with_stop_row("row13")
                .add_column("cf", "a"),
        )?,
    )?;
    assert_eq!(
        some.iter().map(|r| r.0.as_str()).collect::<Vec<_>>(),
        vec!["row10", "row11", "row12"]
    );
    assert_eq!(some[0].1.len(), 1);
    let rev = rows(
        t.scan(
            &Scan::new()
                .with_start_row("row49")
                .with_stop_row("row45")
                .reversed(true)
                .with_limit(3),
        )?,
    )?;
    assert_eq!(
        rev.iter().map(|r| r.0.as_str()).collect::<Vec<_>>(),
        vec!["row49", "row48", "row47"]
    );
    assert_eq!(conn.admin().regions(&TableName::parse("t1")?)?.len(), 2);
    Ok(())
}

#[test]
fn deletes_time_ranges_and_filters() -> Result<()> {
    let dir = tmp();
    let conn = Connection::embedded_with_config(dir.path(), test_config())?;
    create(&conn, "t", &["f"], 5, &[])?;
    let t = conn.table("t")?;
    for ts in 1..=4 {
        t.put(
            &Put::new("r1")
                .add_ts("f", "a", ts, format!("a{ts}"))
                .add_ts("f", "b", ts, format!("b{ts}")),
        )?;
    }
    t.put(
        &Put::new("r2")
            .add_ts("f", "a", 1, "x")
            .add_ts("f", "c", 1, "long-value"),
    )?;
    conn.admin().flush(&TableName::parse("t")?)?;
    // Newest version delete (resolved on the server) and explicit version delete.
    t.delete(&Delete::new("r1").with_spec(DeleteSpec::Column {
        family: b"f".to_vec(),
        qualifier: b"a".to_vec(),
        ts: None,
    }))?;
    t.delete(&Delete::new("r1").with_spec(DeleteSpec::Column {
        family: b"f".to_vec(),
        qualifier: b"a".to_vec(),
        ts: Some(2),
    }))?;
    let g = t.get(&Get::new("r1").add_column("f", "a").with_max_versions(5))?;
    assert_eq!(
        g.versions(b"f", b"a")
            .iter()
            .map(|v| v.0)
            .collect::<Vec<_>>(),
        vec![3, 1]
    );
    // DeleteColumn at 3 removes b's versions <= 3.
    t.delete(&Delete::new("r1").with_spec(DeleteSpec::Columns {
        family: b"f".to_vec(),
        qualifier: b"b".to_vec(),
        ts: Some(3),
    }))?;
    let g = t.get(&Get::new("r1").add_column("f", "b").with_max_versions(5))?;
    assert_eq!(
        g.versions(b"f", b"b")
            .iter()
            .map(|v| v.0)
            .collect::<Vec<_>>(),
        vec![4]
    );
    // Family version delete at 4, family delete at 1 on r2.
    t.delete(&Delete::new("r1").with_spec(DeleteSpec::FamilyVersion {
        family: b"f".to_vec(),
        ts: 4,
    }))?;
    assert!(t.get(&Get::new("r1").add_column("f", "b"))?.is_empty());
    t.delete(&Delete::new("r2").with_ts(1))?;
    assert!(t.get(&Get::new("r2"))?.is_empty());
    // Time range.
    t.put(
        &Put::new("r3")
            .add_ts("f", "a", 5, "five")
            .add_ts("f", "a", 9, "nine"),
    )?;
    let g = t.get(&Get::new("r3").with_time_range(TimeRange::new(0, 6)))?;
    assert_eq!(
        g.value(b"f", b"a").map(|v| v.to_vec()),
        Some(b"five".to_vec())
    );
    // Filters.
    t.put(
        &Put::new("s1")
            .add_ts("f", "q1", 1, "yes")
            .add_ts("f", "z", 1, "1"),
    )?;
    t.put(&Put::new("s2").add_ts("f", "q1", 1, "no"))?;
    let scvf = Filter::SingleColumnValue {
        family: b"f".to_vec(),
        qualifier: b"q1".to_vec(),
        op: CompareOp::Equal,
        operand: b"yes".to_vec(),
        filter_if_missing: true,
    };
    let r = rows(t.scan(&Scan::new().with_filter(scvf))?)?;
    assert_eq!(
        r.iter().map(|r| r.0.as_str()).collect::<Vec<_>>(),
        vec!["s1"]
    );
    let r = rows(t.scan(&Scan::new().with_filter(Filter::Prefix(b"s".to_vec())))?)?;
    assert_eq!(r.len(), 2);
    let r = rows(t.scan(&Scan::new().with_filter(Filter::ColumnPrefix(b"q".to_vec())))?)?;
    assert_eq!(
        r.iter().map(|r| r.0.as_str()).collect::<Vec<_>>(),
        vec!["s1", "s2"]
    );
    let r = rows(
        t.scan(
            &Scan::new()
                .with_prefix("s")
                .with_filter(Filter::All(vec![Filter::KeyOnly, Filter::FirstKeyOnly])),
        )?,
    )?;
    assert_eq!(r[0].1, vec![("f:q1".to_string(), 1, String::new())]);
    let r = rows(t.scan(&Scan::new().with_filter(Filter::Page(2)))?)?;
    assert_eq!(r.len(), 2);
    Ok(())
}

#[test]
fn check_and_mutate_increment_and_errors() -> Result<()> {
    let dir = tmp();
    let conn = Connection::embedded_with_config(dir.path(), test_config())?;
    create(&conn, "c", &["f"], 1, &[])?;
    let t = conn.table("c")?;
    let cam = |expected: Option<&str>, v: &str| CheckAndMutate {
        row: b"r".to_vec(),
        family: b"f".to_vec(),
        qualifier: b"q".to_vec(),
        op: CompareOp::Equal,
        expected: expected.map(|e| e.as_bytes().to_vec()),
        mutation: Mutation::Put(Put::new("r").add("f", "q", v)),
    };
    assert!(t.check_and_mutate(&cam(None, "one"))?);
    assert!(!t.check_and_mutate(&cam(None, "two"))?);
    assert!(t.check_and_mutate(&cam(Some("one"), "three"))?);
    assert_eq!(
        t.get(&Get::new("r"))?.value(b"f", b"q").map(|v| v.to_vec()),
        Some(b"three".to_vec())
    );
    assert_eq!(t.increment(b"n", b"f", b"c", 5)?, 5);
    assert_eq!(t.increment(b"n", b"f", b"c", -2)?, 3);
    assert!(t.increment(b"r", b"f", b"q", 1).is_err(), "not a counter");
    // Typed errors.
    let e = t
        .put(&Put::new("r").add("nope", "q", "v"))
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(e.contains("nope"), "{e}");
    assert!(conn.table("missing").is_err());
    assert!(t.put(&Put::new("").add("f", "q", "v")).is_err());
    let admin = conn.admin();
    let tn = TableName::parse("c")?;
    assert!(
        admin.drop_table(&tn).is_err(),
        "enabled tables cannot be dropped"
    );
    admin.disable_table(&tn)?;
    assert!(t.get(&Get::new("r")).is_err());
    admin.enable_table(&tn)?;
    assert_eq!(t.increment(b"n", b"f", b"c", 1)?, 4);
    admin.truncate_table(&tn)?;
    assert!(t.get(&Get::new("n"))?.is_empty());
    admin.disable_table(&tn)?;
    admin.drop_table(&tn)?;
    assert!(!admin.table_exists(&tn)?);
    Ok(())
}

#[test]
fn compaction_split_and_bulk_load() -> Result<()> {
    let dir = tmp();
    let conn = Connection::embedded_with_config(dir.path(), test_config())?;
    create(&conn, "big", &["f"], 1, &[])?;
    let tn = TableName::parse("big")?;
    let t = conn.table("big")?;
    let admin = conn.admin();
    for batch in 0..4 {
        let puts: Vec<Put> = (0..100)
            .map(|i| {
                Put::new(format!("k{:03}", i)).add_ts("f", "q", batch, format!("v{batch}-{i}"))
            })
            .collect();
        t.put_batch(&puts)?;
        admin.flush(&tn)?;
    }
    t.delete(&Delete::new("k005"))?;
    let files = |admin: &std::sync::Arc<dyn store_server::Admin>| -> Result<usize> {
        Ok(admin
            .regions(&tn)?
            .iter()
            .map(|r| r.stores.iter().map(|s| s.1.len()).sum::<usize>())
            .sum())
    };
    assert_eq!(files(&admin)?, 4);
    let minor = admin.compact(&tn, false)?;
    assert_eq!(minor.len(), 1);
    assert_eq!(files(&admin)?, 1);
    let major = admin.compact(&tn, true)?;
    assert!(major[0].tombstones_dropped >= 1);
    assert_eq!(major[0].cells_out, 99, "one version per row, k005 deleted");
    assert_eq!(admin.split(&tn, None)?, 1);
    let regions = admin.regions(&tn)?;
    assert_eq!(regions.len(), 2);
    let mid = regions[1].info.start_key.clone();
    assert!(!mid.is_empty());
    let all = rows(t.scan(&Scan::new())?)?;
    assert_eq!(all.len(), 99);
    assert_eq!(all[50].1[0].2, "v3-51");
    // Explicit split at a key, then writes land in the right daughter.
    admin.split(&tn, Some(b"k020"))?;
    assert_eq!(admin.regions(&tn)?.len(), 3);
    assert!(admin.split(&tn, Some(b"k020")).is_err(), "boundary");
    t.put(&Put::new("k020").add_ts("f", "q", 9, "after-split"))?;
    assert_eq!(
        t.get(&Get::new("k020"))?
            .value(b"f", b"q")
            .map(|v| v.to_vec()),
        Some(b"after-split".to_vec())
    );

    // Bulk load: one file inside a region, one straddling a boundary.
    let ext = dir.path().join("ext");
    std::fs::create_dir_all(&ext).map_err(|e| store_server::Error::io(&ext, e))?;
    let write = |name: &str, rows: &[&str]| -> Result<std::path::PathBuf> {
        let p = ext.join(name);
        let mut w = hfile::Writer::create(&p, hfile::WriterOptions::default())?;
        for r in rows {
            w.append(&hfile::Cell::put(
                r.to_string(),
                "f",
                "q",
                100,
                format!("bulk-{r}"),
            ))?;
        }
        w.finish()?;
        Ok(p)
    };
    let inside = write("inside", &["k000", "k001"])?;
    let straddle = write("straddle", &["k010", "k030"])?;
    let err = admin.bulk_load(&tn, &[(b"f".to_vec(), straddle)]).err();
    assert!(
        matches!(err, Some(store_server::Error::BulkLoadOutOfRange { .. })),
        "{err:?}"
    );
    let rep = admin.bulk_load(&tn, &[(b"f".to_vec(), inside.clone())])?;
    assert_eq!(rep.loaded.len(), 1);
    assert!(inside.exists(), "a copying load leaves its source");
    assert_eq!(
        t.get(&Get::new("k001"))?
            .value(b"f", b"q")
            .map(|v| v.to_vec()),
        Some(b"bulk-k001".to_vec())
    );
    // A moving load: a straddling file is refused and stays; a fitting one is renamed in.
    let straddle = write("straddle2", &["k010", "k030"])?;
    let err = admin
        .bulk_load_moving(&tn, &[(b"f".to_vec(), straddle.clone())])
        .err();
    assert!(
        matches!(err, Some(store_server::Error::BulkLoadOutOfRange { .. })),
        "{err:?}"
    );
    assert!(straddle.exists());
    let moved = write("moved", &["k002"])?;
    admin.bulk_load_moving(&tn, &[(b"f".to_vec(), moved.clone())])?;
    assert!(!moved.exists(), "a moving load takes its source");
    assert_eq!(
        t.get(&Get::new("k002"))?
            .value(b"f", b"q")
            .map(|v| v.to_vec()),
        Some(b"bulk-k002".to_vec())
    );
    let wrong = write("wrongfam", &["k001"])?;
    assert!(admin.bulk_load(&tn, &[(b"g".to_vec(), wrong)]).is_err());
    conn.close()?;

    // Everything (splits, bulk file) is found again after a restart.
    let conn = Connection::embedded_with_config(dir.path(), test_config())?;
    let t = conn.table("big")?;
    assert_eq!(conn.admin().regions(&tn)?.len(), 3);
    assert_eq!(
        t.get(&Get::new("k001"))?
            .value(b"f", b"q")
            .map(|v| v.to_vec()),
        Some(b"bulk-k001".to_vec())
    );
    assert_eq!(rows(t.scan(&Scan::new())?)?.len(), 99);
    Ok(())
}

#[test]
fn presplit_and_catalog_survive_restart() -> Result<()> {
    let dir = tmp();
    {
        let conn = Connection::embedded_with_config(dir.path(), test_config())?;
        let keys = store_server::split::hex_string_split_keys(4);
        let desc = store_server::TableDescriptor::new(
            TableName::parse("ns1:hex")?,
            vec![store_server::FamilyDescriptor::parse_spec(
                "d:VERSIONS=2,COMPRESSION=GZ",
            )?],
        );
        conn.admin().create_table(desc, &keys)?;
        let t = conn.table("ns1:hex")?;
        t.put(&Put::new("80000000").add("d", "x", "v"))?;
        conn.admin().disable_table(&TableName::parse("ns1:hex")?)?;
    }
    let conn = Connection::embedded_with_config(dir.path(), test_config())?;
    let admin = conn.admin();
    let tn = TableName::parse("ns1:hex")?;
    let desc = admin.describe(&tn)?;
    assert!(!desc.enabled);
    assert_eq!(desc.families[0].max_versions, 2);
    assert_eq!(admin.regions(&tn)?.len(), 4);
    admin.enable_table(&tn)?;
    let t = conn.table("ns1:hex")?;
    assert_eq!(
        t.get(&Get::new("80000000"))?
            .value(b"d", b"x")
            .map(|v| v.to_vec()),
        Some(b"v".to_vec())
    );
    // A second process (here: a second open) cannot use the same root.
    assert!(Connection::embedded_with_config(dir.path(), test_config()).is_err());
    Ok(())
}

#[test]
fn durability_alter_ttl_and_global_memstore_limit() -> Result<()> {
    let dir = tmp();
    let config = store_server::Config {
        global_memstore_limit: 64 << 10,
        ..test_config()
    };
    let conn = Connection::embedded_with_config(dir.path(), config)?;
    create(&conn, "d", &["f"], 1, &[])?;
    let tn = TableName::parse("d")?;
    let admin = conn.admin();
    let t = conn.table("d")?;
    // SKIP and ASYNC writes are visible at once; SKIP writes never reach the WAL.
    let before = conn.server().wal().stats().appends;
    t.put(
        &Put::new("skip")
            .add("f", "q", "s")
            .with_durability(store_server::Durability::Skip),
    )?;
    assert_eq!(conn.server().wal().stats().appends, before);
    t.put(
        &Put::new("async")
            .add("f", "q", "a")
            .with_durability(store_server::Durability::Async),
    )?;
    assert_eq!(conn.server().wal().stats().appends, before + 1);
    assert!(!t.get(&Get::new("skip"))?.is_empty());
    // Writing far past the global limit forces flushes instead of growing memory.
    for i in 0..400 {
        t.put(&Put::new(format!("big{i:04}")).add("f", "q", vec![b'x'; 1024]))?;
    }
    assert!(conn.server().global_memstore_size() < 64 << 10);
    let files: usize = admin
        .regions(&tn)?
        .iter()
        .flat_map(|r| r.stores.iter().map(|s| s.1.len()))
        .sum();
    assert!(files >= 2, "global limit must have flushed ({files} files)");
    // Alter: add a family with a TTL; cells older than the TTL are invisible.
    let mut desc = admin.describe(&tn)?;
    desc.families
        .push(store_server::FamilyDescriptor::new("t").with_ttl_secs(60));
    desc.durability = store_server::Durability::Async;
    admin.alter_table(desc)?;
    let now = store_server::now_ms();
    t.put(
        &Put::new("ttl")
            .add_ts("t", "old", now - 120_000, "gone")
            .add_ts("t", "new", now, "kept"),
    )?;
    let r = t.get(&Get::new("ttl"))?;
    assert_eq!(r.cells.len(), 1);
    assert_eq!(
        r.value(b"t", b"new").map(|v| v.to_vec()),
        Some(b"kept".to_vec())
    );
    admin.compact(&tn, true)?;
    assert_eq!(t.get(&Get::new("ttl"))?.cells.len(), 1);
    assert_eq!(
        admin.describe(&tn)?.durability,
        store_server::Durability::Async
    );
    Ok(())
}

#[test]
fn scans_and_compactions_can_leave_the_block_cache_alone() -> Result<()> {
    let dir = tmp();
    let table = TableName::parse("cached")?;
    {
        let conn = Connection::embedded_with_config(dir.path(), test_config())?;
        create(&conn, "cached", &["cf"], 1, &[])?;
        let t = conn.table("cached")?;
        for flush in 0..3 {
            for i in 0..2000 {
                t.put(&Put::new(format!("row{i:05}")).add(
                    "cf",
                    "q",
                    format!("value {flush} {i}"),
                ))?;
            }
            conn.admin().flush(&table)?;
        }
        conn.close()?;
    }
    // A fresh server starts with an empty cache.
    let conn = Connection::embedded_with_config(dir.path(), test_config())?;
    let t = conn.table("cached")?;
    let used = || conn.server().block_cache().stats().used_bytes;
    let before = used();
    let uncached = rows(t.scan(&Scan::new().with_cache_blocks(false))?)?;
    assert_eq!(uncached.len(), 2000);
    assert_eq!(uncached[7].1[0].2, "value 2 7");
    assert_eq!(
        used(),
        before,
        "a scan without block caching filled the cache"
    );
    conn.admin().compact(&table, true)?;
    assert_eq!(used(), before, "a compaction filled the cache");
    assert_eq!(rows(t.scan(&Scan::new())?)?, uncached);
    assert!(used() > before, "a default scan caches the blocks it reads");
    Ok(())
}

/// Row, family, qualifier, timestamp, value.
type CellTuple = (Vec<u8>, Vec<u8>, Vec<u8>, i64, Vec<u8>);

#[test]
fn scans_come_as_arrow_cell_batches_without_splitting_rows() -> Result<()> {
    use arrow_array::{Array, BinaryArray, Int64Array, StringArray};
    let dir = tmp();
    let conn = Connection::embedded_with_config(dir.path(), test_config())?;
    create(&conn, "b", &["cf", "meta"], 1, &[b"r05"])?;
    let t = conn.table("b")?;
    for i in 0..10 {
        t.put(
            &Put::new(format!("r{i:02}"))
                .add_ts("cf", "a", 7, format!("a{i}"))
                .add_ts("cf", "b", 7, format!("b{i}"))
                .add_ts("meta", "m", 9, "x"),
        )?;
    }
    t.delete(&Delete::new("r03").with_spec(DeleteSpec::Column {
        family: b"cf".to_vec(),
        qualifier: b"b".to_vec(),
        ts: None,
    }))?;
    let scan = Scan::new().with_start_row("r01").with_stop_row("r09");
    let want: Vec<CellTuple> = t
        .scan(&scan)?
        .collect::<Result<Vec<_>>>()?
        .iter()
        .flat_map(|r| r.cells.iter())
        .map(|c| {
            (
                c.row.to_vec(),
                c.family.to_vec(),
                c.qualifier.to_vec(),
                c.timestamp,
                c.value.to_vec(),
            )
        })
        .collect();
    assert_eq!(want.len(), 8 * 3 - 1);

    let batches = t.scan_batches(&scan, 4)?.collect::<Result<Vec<_>>>()?;
    assert!(batches.len() > 1);
    let mut got = Vec::new();
    let mut last_row_of_batch: Option<Vec<u8>> = None;
    for b in &batches {
        assert_eq!(b.schema(), store_server::batch::cell_schema());
        let col = |i: usize| b.column(i).as_any();
        let (Some(row), Some(fam), Some(qual), Some(ts), Some(kind), Some(val)) = (
            col(0).downcast_ref::<BinaryArray>(),
            col(1).downcast_ref::<BinaryArray>(),
            col(2).downcast_ref::<BinaryArray>(),
            col(3).downcast_ref::<Int64Array>(),
            col(4).downcast_ref::<StringArray>(),
            col(5).downcast_ref::<BinaryArray>(),
        ) else {
            panic!("unexpected column types: {:?}", b.schema());
        };
        // A batch never starts with the row the previous one ended with.
        assert_ne!(last_row_of_batch.as_deref(), Some(row.value(0)));
        last_row_of_batch = Some(row.value(b.num_rows() - 1).to_vec());
        for i in 0..b.num_rows() {
            assert_eq!(kind.value(i), "Put");
            got.push((
                row.value(i).to_vec(),
                fam.value(i).to_vec(),
                qual.value(i).to_vec(),
                ts.value(i),
                val.value(i).to_vec(),
            ));
        }
    }
    assert_eq!(got, want);
    assert!(batches[..batches.len() - 1]
        .iter()
        .all(|b| b.num_rows() >= 4));

    // A missing family is the scan's error, not a panic.
    let bad = Scan::new().add_column("nope", "q");
    assert!(t.scan_batches(&bad, 4).is_err());
    Ok(())
}

#[test]
fn archived_wals_are_deleted_after_their_time_to_live() -> Result<()> {
    let old_wals = |root: &std::path::Path| -> usize {
        std::fs::read_dir(root.join("oldWALs")).map_or(0, |d| d.count())
    };
    let write_and_flush = |conn: &Connection| -> Result<()> {
        let t = conn.table("w")?;
        for i in 0..400 {
            t.put(&Put::new(format!("r{i:04}")).add("cf", "q", vec![b'x'; 512]))?;
        }
        conn.admin().flush(&TableName::parse("w")?)
    };
    // The default keeps archived logs for ten minutes.
    let kept = tmp();
    let conn = Connection::embedded_with_config(kept.path(), test_config())?;
    create(&conn, "w", &["cf"], 1, &[])?;
    write_and_flush(&conn)?;
    assert!(
        old_wals(kept.path()) > 0,
        "the 64 KiB test log rolled and was archived"
    );
    conn.close()?;

    // With no time to live, archiving deletes them.
    let gone = tmp();
    let cfg = store_server::Config {
        old_wal_ttl: std::time::Duration::ZERO,
        ..test_config()
    };
    let conn = Connection::embedded_with_config(gone.path(), cfg)?;
    create(&conn, "w", &["cf"], 1, &[])?;
    write_and_flush(&conn)?;
    assert_eq!(old_wals(gone.path()), 0);
    let g = conn.table("w")?.get(&Get::new("r0399"))?;
    assert_eq!(g.value(b"cf", b"q").map(|v| v.len()), Some(512));
    conn.close()?;
    Ok(())
}

#[test]
fn a_bulk_load_of_several_families_is_seen_whole() -> Result<()> {
    let dir = tmp();
    let conn = Connection::embedded_with_config(dir.path(), test_config())?;
    create(&conn, "m", &["a", "b"], 1, &[])?;
    let tn = TableName::parse("m")?;
    let rows: Vec<String> = (0..200).map(|i| format!("r{i:03}")).collect();
    let write = |family: &str, round: i64| -> Result<std::path::PathBuf> {
        let p = dir.path().join(format!("{family}-{round}.hfile"));
        let mut w = hfile::Writer::create(&p, hfile::WriterOptions::default())?;
        for r in &rows {
            w.append(&hfile::Cell::put(
                r.clone(),
                family.to_string(),
                "q",
                round,
                round.to_string(),
            ))?;
        }
        w.finish()?;
        Ok(p)
    };
    let rounds = 100i64;
    let mut batches = Vec::new();
    for round in 1..=rounds {
        batches.push(vec![
            (b"a".to_vec(), write("a", round)?),
            (b"b".to_vec(), write("b", round)?),
        ]);
    }
    let t = conn.table("m")?;
    let done = std::sync::atomic::AtomicBool::new(false);
    let torn = std::thread::scope(|s| -> Result<usize> {
        let reader = s.spawn(|| -> Result<usize> {
            // Gets in a tight loop: each gathers the two stores' files one after the other,
            // so a publication between the two is caught as a torn row.
            let mut torn = 0;
            while !done.load(std::sync::atomic::Ordering::Acquire) {
                let row = t.get(&Get::new("r100"))?;
                if row.value(b"a", b"q") != row.value(b"b", b"q") {
                    torn += 1;
                }
            }
            Ok(torn)
        });
        for batch in &batches {
            let report = conn.admin().bulk_load(&tn, batch)?;
            assert_eq!(report.loaded.len(), 2);
            // One sequence id for the region's files of both families.
            assert_eq!(report.loaded[0].2, report.loaded[1].2);
        }
        done.store(true, std::sync::atomic::Ordering::Release);
        reader
            .join()
            .unwrap_or_else(|_| panic!("reader thread panicked"))
    })?;
    assert_eq!(torn, 0, "a scan saw one family's files without the other's");
    let last = t.get(&Get::new("r199"))?;
    assert_eq!(
        last.value(b"b", b"q").map(|v| v.to_vec()),
        Some(rounds.to_string().into_bytes())
    );
    conn.close()?;
    Ok(())
}

#[test]
fn reversed_scans_read_chunks_backwards_across_files_memstore_and_regions() -> Result<()> {
    let dir = tmp();
    let conn = Connection::embedded_with_config(dir.path(), test_config())?;
    create(&conn, "rv", &["cf"], 1, &[b"r1000"])?;
    let tn = TableName::parse("rv")?;
    let t = conn.table("rv")?;
    // Two flushed files of many 64 KiB blocks per region, then memstore edits on top.
    for pass in 0..2 {
        for i in (pass..2000).step_by(2) {
            t.put(&Put::new(format!("r{i:04}")).add("cf", "v", vec![b'a' + pass as u8; 600]))?;
        }
        conn.admin().flush(&tn)?;
    }
    t.put(&Put::new("r1500").add("cf", "v", "fresh"))?;
    t.put(&Put::new("r2500").add("cf", "v", "beyond"))?;
    t.delete(&Delete::new("r0999"))?;

    let forward = rows(t.scan(&Scan::new())?)?;
    assert_eq!(forward.len(), 2000);
    let mut want = forward.clone();
    want.reverse();
    assert_eq!(rows(t.scan(&Scan::new().reversed(true))?)?, want);

    // Limits stop early; start (inclusive) and stop (exclusive) bound it as in HBase.
    let last3 = rows(t.scan(&Scan::new().reversed(true).with_limit(3))?)?;
    assert_eq!(
        last3.iter().map(|r| r.0.as_str()).collect::<Vec<_>>(),
        vec!["r2500", "r1999", "r1998"]
    );
    let mid = rows(
        t.scan(
            &Scan::new()
                .with_start_row("r1001")
                .with_stop_row("r0995")
                .reversed(true),
        )?,
    )?;
    assert_eq!(
        mid.iter().map(|r| r.0.as_str()).collect::<Vec<_>>(),
        vec!["r1001", "r1000", "r0998", "r0997", "r0996"]
    );
    let fresh = rows(
        t.scan(
            &Scan::new()
                .with_start_row("r1500")
                .reversed(true)
                .with_limit(1),
        )?,
    )?;
    assert_eq!(fresh[0].1[0].2, "fresh");
    conn.close()?;

    // Only the last chunks are read for a short reversed scan: on a fresh server (empty
    // block cache) it caches a small part of what the whole reversed scan does.
    let conn = Connection::embedded_with_config(dir.path(), test_config())?;
    let t = conn.table("rv")?;
    let used = || conn.server().block_cache().stats().used_bytes;
    let before = used();
    assert_eq!(
        rows(t.scan(&Scan::new().reversed(true).with_limit(3))?)?,
        last3
    );
    let short = used() - before;
    assert_eq!(rows(t.scan(&Scan::new().reversed(true))?)?, want);
    let full = used() - before;
    assert!(short > 0 && short * 8 < full, "short {short}, full {full}");
    conn.close()?;
    Ok(())
}

#[test]
fn files_of_one_put_per_column_read_like_any_other() -> Result<()> {
    // A file whose writer recorded "one put per column" is read without the matcher when it
    // is a store's only source and wholly visible; time ranges, TTL, column selection,
    // first-key-only, newer memstore cells and versions must come out exactly as before.
    let dir = tmp();
    let conn = Connection::embedded_with_config(dir.path(), test_config())?;
    let tn = TableName::parse("p")?;
    let desc = store_server::TableDescriptor::new(
        tn.clone(),
        vec![
            store_server::FamilyDescriptor::new("f").with_max_versions(3),
            store_server::FamilyDescriptor::new("g").with_ttl_secs(60),
        ],
    );
    conn.admin().create_table(desc, &[])?;
    let t = conn.table("p")?;
    let now = store_server::now_ms();
    for i in 0..10 {
        t.put(
            &Put::new(format!("r{i}"))
                .add_ts("f", "a", 10, format!("a{i}"))
                .add_ts("f", "b", 20, format!("b{i}")),
        )?;
    }
    t.put(
        &Put::new("r0")
            .add_ts("g", "old", now - 120_000, "expired")
            .add_ts("g", "new", now, "kept"),
    )?;
    conn.admin().flush(&tn)?;
    let cols = |scan: Scan| -> Result<Vec<String>> {
        Ok(rows(t.scan(&scan)?)?
            .into_iter()
            .flat_map(|(r, cells)| {
                cells
                    .into_iter()
                    .map(move |c| format!("{r}/{}@{}", c.0, c.1))
            })
            .collect())
    };
    let all = cols(Scan::new().add_family("f"))?;
    assert_eq!(all.len(), 20);
    assert_eq!(all[..2], ["r0/f:a@10", "r0/f:b@20"]);
    let in_range = cols(
        Scan::new()
            .add_family("f")
            .with_time_range(TimeRange::new(15, 30)),
    )?;
    assert_eq!(in_range.len(), 10);
    assert!(in_range.iter().all(|c| c.ends_with("f:b@20")));
    assert_eq!(cols(Scan::new().add_column("f", "b"))?.len(), 10);
    let prefix = cols(
        Scan::new()
            .add_family("f")
            .with_filter(Filter::ColumnPrefix(b"a".to_vec())),
    )?;
    assert!(prefix.len() == 10 && prefix.iter().all(|c| c.contains("f:a@")));
    let first = cols(Scan::new().with_filter(Filter::FirstKeyOnly))?;
    assert_eq!(first.len(), 10);
    assert_eq!(first[0], "r0/f:a@10");
    // TTL: the expired cell sits in a one-put-per-column file and stays invisible.
    let g = t.get(&Get::new("r0").add_family("g"))?;
    assert_eq!(g.cells.len(), 1);
    assert_eq!(
        g.value(b"g", b"new").map(|v| v.to_vec()),
        Some(b"kept".to_vec())
    );
    // A newer version in the memstore, then in a second file, then compacted into one.
    t.put(&Put::new("r3").add_ts("f", "a", 30, "newer"))?;
    let newest = || -> Result<Vec<(i64, String)>> {
        let r = t.get(&Get::new("r3").add_family("f").with_max_versions(3))?;
        Ok(r.versions(b"f", b"a")
            .into_iter()
            .map(|(ts, v)| (ts, String::from_utf8_lossy(&v).into_owned()))
            .collect())
    };
    let want = vec![(30, "newer".to_string()), (10, "a3".to_string())];
    assert_eq!(newest()?, want);
    conn.admin().flush(&tn)?;
    assert_eq!(newest()?, want);
    conn.admin().compact(&tn, true)?;
    assert_eq!(newest()?, want);
    let latest = rows(t.scan(&Scan::new().with_start_row("r3").with_limit(1))?)?;
    assert_eq!(latest[0].1[0], ("f:a".to_string(), 30, "newer".to_string()));
    Ok(())
}
