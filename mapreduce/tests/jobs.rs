//! The built-in jobs against answers computed directly from how the tables were generated.

mod common;

use std::collections::BTreeMap;

use common::*;
use mapreduce::jobs::{cellcounter, copytable, export, import_export, rowcounter, verify};
use mapreduce::{FileFormat, Input, Runner};
use store_server::{Put, Scan, TableName};

#[test]
fn rowcounter_counts_visible_rows_in_ranges_and_columns() {
    let dir = tempfile::tempdir().expect("tempdir");
    let conn = open(dir.path());
    let m = make_table(&conn, "t");
    let rows = model_rows(&m);
    for threads in [1, 2] {
        let opts = rowcounter::RowCounterOptions {
            table: "t".into(),
            ..Default::default()
        };
        let (n, counters) = rowcounter::run(&conn, &opts, &run_opts(threads)).expect("count");
        assert_eq!(n as usize, rows.len());
        assert!(counters.get(mapreduce::counters::JOB, mapreduce::counters::INPUT_SPLITS) >= 6);
    }
    let opts = rowcounter::RowCounterOptions {
        table: "t".into(),
        start: Some(row_key(150)),
        stop: Some(row_key(420)),
        ..Default::default()
    };
    let (n, _) = rowcounter::run(&conn, &opts, &run_opts(2)).expect("range");
    let want = rows
        .iter()
        .filter(|r| {
            r.as_slice() >= row_key(150).as_slice() && r.as_slice() < row_key(420).as_slice()
        })
        .count();
    assert_eq!(n as usize, want);
    let opts = rowcounter::RowCounterOptions {
        table: "t".into(),
        columns: rowcounter::parse_columns(&["a:y".to_string()]).expect("cols"),
        ..Default::default()
    };
    let (n, _) = rowcounter::run(&conn, &opts, &run_opts(2)).expect("columns");
    let want = m.keys().filter(|k| k.2 == b"y").count();
    assert_eq!(n as usize, want);
    assert!(rowcounter::parse_columns(&[":q".to_string()]).is_err());
}

#[test]
fn large_regions_are_sub_split_at_block_index_keys() {
    let dir = tempfile::tempdir().expect("tempdir");
    let conn = open(dir.path());
    let m = make_table(&conn, "t");
    let runner = Runner::new(conn.clone(), run_opts(2)).expect("runner");
    let input = Input::table(TableName::parse("t").expect("name"), Scan::new());
    let splits = runner.splits(&input).expect("splits");
    assert!(
        splits.len() > 6,
        "6 regions should be sub-split into 12ish, got {}",
        splits.len()
    );
    // The splits tile the key space in order.
    let ranges: Vec<(Vec<u8>, Vec<u8>)> = splits
        .iter()
        .map(|s| match &s.source {
            mapreduce::SplitSource::Table { start, stop, .. } => (start.clone(), stop.clone()),
            other => panic!("unexpected split {other:?}"),
        })
        .collect();
    assert!(ranges[0].0.is_empty() && ranges[ranges.len() - 1].1.is_empty());
    for w in ranges.windows(2) {
        assert_eq!(w[0].1, w[1].0);
        assert!(w[0].0 < w[0].1);
    }
    // And counting over them still gives the right answer.
    let opts = rowcounter::RowCounterOptions {
        table: "t".into(),
        ..Default::default()
    };
    let (n, _) = rowcounter::run(&conn, &opts, &run_opts(2)).expect("count");
    assert_eq!(n as usize, model_rows(&m).len());
}

#[test]
fn cellcounter_counts_per_family_and_column() {
    let dir = tempfile::tempdir().expect("tempdir");
    let conn = open(dir.path());
    let m = make_table(&conn, "t");
    let opts = cellcounter::CellCounterOptions {
        table: "t".into(),
        ..Default::default()
    };
    let counts = cellcounter::run(&conn, &opts, &run_opts(2)).expect("cells");
    let mut per_column: BTreeMap<(Vec<u8>, Vec<u8>), u64> = BTreeMap::new();
    let mut per_family: BTreeMap<Vec<u8>, u64> = BTreeMap::new();
    for ((_, f, q), vs) in &m {
        *per_column.entry((f.clone(), q.clone())).or_default() += vs.len() as u64;
        *per_family.entry(f.clone()).or_default() += vs.len() as u64;
    }
    assert_eq!(counts.per_column, per_column);
    assert_eq!(counts.per_family, per_family);
    assert_eq!(
        counts.cells,
        m.values().map(|v| v.len() as u64).sum::<u64>()
    );
    assert_eq!(counts.rows as usize, model_rows(&m).len());
    // Newest version only.
    let opts = cellcounter::CellCounterOptions {
        table: "t".into(),
        versions: 1,
        ..Default::default()
    };
    let counts = cellcounter::run(&conn, &opts, &run_opts(1)).expect("cells v1");
    assert_eq!(counts.cells as usize, m.len());
}

#[test]
fn copytable_creates_the_destination_and_copies_versions_families_and_times() {
    let dir = tempfile::tempdir().expect("tempdir");
    let conn = open(dir.path());
    let m = make_table(&conn, "t");
    let opts = copytable::CopyTableOptions {
        src: "t".into(),
        dst: "copy".into(),
        versions: 3,
        ..Default::default()
    };
    let r = copytable::run(&conn, &opts, &run_opts(2)).expect("copy");
    assert!(r.created);
    assert_eq!(
        r.load.cells,
        m.values().map(|v| v.len() as u64).sum::<u64>()
    );
    assert_eq!(read_table(&conn, "copy"), m);
    let copy = TableName::parse("copy").expect("name");
    assert_eq!(conn.admin().regions(&copy).expect("regions").len(), 6);
    let src_desc = conn
        .admin()
        .describe(&TableName::parse("t").expect("t"))
        .expect("d");
    assert_eq!(
        conn.admin().describe(&copy).expect("d").families,
        src_desc.families
    );

    // One family, a time range, newest version only.
    let opts = copytable::CopyTableOptions {
        src: "t".into(),
        dst: "copy2".into(),
        families: vec![b"a".to_vec()],
        start_time: Some(2),
        end_time: Some(6),
        versions: 1,
        ..Default::default()
    };
    copytable::run(&conn, &opts, &run_opts(2)).expect("copy2");
    let mut want = common::Model::new();
    for (k, vs) in &m {
        if k.1 != b"a" {
            continue;
        }
        if let Some(v) = vs.iter().find(|(ts, _)| (2..6).contains(ts)) {
            want.insert(k.clone(), vec![v.clone()]);
        }
    }
    assert_eq!(read_table(&conn, "copy2"), want);
    let bad = copytable::CopyTableOptions {
        src: "t".into(),
        dst: "copy3".into(),
        families: vec![b"nope".to_vec()],
        ..Default::default()
    };
    assert!(copytable::run(&conn, &bad, &run_opts(1)).is_err());
}

fn round_trip(format: FileFormat) {
    let dir = tempfile::tempdir().expect("tempdir");
    let conn = open(&dir.path().join("root"));
    let m = make_table(&conn, "t");
    let out = dir.path().join("export");
    let opts = export::ExportOptions {
        table: "t".into(),
        out_dir: out.clone(),
        format,
        versions: u32::MAX,
        raw: true,
        ..Default::default()
    };
    let run = run_opts(2);
    let r = export::run(&conn, &opts, &run).expect("export");
    let runner = Runner::new(conn.clone(), run.clone()).expect("runner");
    let splits = runner
        .splits(&Input::table(
            TableName::parse("t").expect("t"),
            Scan::new(),
        ))
        .expect("splits");
    assert_eq!(r.files.len(), splits.len(), "one part file per split");
    assert!(out.join("_SUCCESS").exists());
    // Exporting into a non-empty directory is refused.
    assert!(matches!(
        export::run(&conn, &opts, &run),
        Err(mapreduce::Error::OutputExists(_))
    ));

    let imp = import_export::ImportOptions {
        dir: out.clone(),
        table: "restored".into(),
    };
    let ir = import_export::run(&conn, &imp, &run).expect("import");
    assert!(ir.created);
    assert_eq!(read_table(&conn, "restored"), m);
    for raw in [false, true] {
        let v = verify::VerifyOptions {
            table1: "t".into(),
            table2: "restored".into(),
            raw,
            batch_rows: 50,
            ..Default::default()
        };
        let rep = verify::run(&conn, &v, &run).expect("verify");
        assert!(rep.identical(), "raw={raw}: {:?}", rep.differing);
    }
    // A raw verify sees the delete markers the import restored.
    let raw_cells = |name: &str| -> usize {
        conn.table(name)
            .expect("t")
            .scan(&Scan::new().raw(true).with_max_versions(u32::MAX))
            .expect("scan")
            .map(|r| r.expect("row").cells.len())
            .sum()
    };
    assert_eq!(raw_cells("t"), raw_cells("restored"));
    assert!(raw_cells("restored") > m.values().map(|v| v.len()).sum::<usize>());
}

#[test]
fn export_import_round_trip_parquet() {
    round_trip(FileFormat::Parquet);
}

#[test]
fn export_import_round_trip_csv() {
    round_trip(FileFormat::Csv);
}

#[test]
fn verify_lists_the_differing_ranges() {
    let dir = tempfile::tempdir().expect("tempdir");
    let conn = open(dir.path());
    make_table(&conn, "t");
    let opts = copytable::CopyTableOptions {
        src: "t".into(),
        dst: "c".into(),
        versions: 3,
        ..Default::default()
    };
    copytable::run(&conn, &opts, &run_opts(2)).expect("copy");
    let c = conn.table("c").expect("c");
    c.put(&Put::new(row_key(123)).add_ts("b", "z", 9, "changed"))
        .expect("put");
    c.delete(&store_server::Delete::new(row_key(456)).with_ts(200))
        .expect("delete");
    c.put(&Put::new(b"zzz-extra".to_vec()).add_ts("b", "z", 1, "new"))
        .expect("put extra");
    let changed = [row_key(123), row_key(456), b"zzz-extra".to_vec()];
    for batch_rows in [1, 10, 1000] {
        let v = verify::VerifyOptions {
            table1: "t".into(),
            table2: "c".into(),
            batch_rows,
            ..Default::default()
        };
        let rep = verify::run(&conn, &v, &run_opts(2)).expect("verify");
        assert!(!rep.identical());
        for row in &changed {
            assert!(
                rep.differing.iter().any(|r| r.contains(row)),
                "batch {batch_rows}: {} not reported in {:?}",
                String::from_utf8_lossy(row),
                rep.differing
            );
        }
        for r in &rep.differing {
            assert!(
                changed.iter().any(|row| r.contains(row)),
                "range {r} has no change"
            );
        }
        if batch_rows == 1 {
            assert_eq!(rep.differing.len(), 3);
        }
    }
    let same = verify::VerifyOptions {
        table1: "t".into(),
        table2: "t".into(),
        ..Default::default()
    };
    assert!(verify::run(&conn, &same, &run_opts(2))
        .expect("v")
        .identical());
}
