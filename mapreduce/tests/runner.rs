//! The runner's failure handling, map styles and shuffle, against directly computed
//! answers.

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use common::*;
use mapreduce::counters::{self, FRAMEWORK, JOB};
use mapreduce::{
    Emit, Error, FileFormat, FileOutput, Input, Job, MemoryOutput, NullOutput, Reduce, Runner,
    ShuffleConfig, TableOutput,
};
use store_server::{Scan, TableName};

fn input() -> Input {
    Input::table(
        TableName::parse("t").expect("t"),
        Scan::new().with_max_versions(u32::MAX),
    )
}

#[test]
fn a_failing_mapper_is_retried_then_fails_naming_its_split() {
    let dir = tempfile::tempdir().expect("tempdir");
    let conn = open(dir.path());
    make_table(&conn, "t");
    let runner = Runner::new(conn.clone(), run_opts(2)).expect("runner");
    let attempts = Arc::new(AtomicUsize::new(0));
    let a = attempts.clone();
    let job = Job::map_rows(
        "failing",
        input(),
        move |_row, ctx, _out: &mut dyn Emit<()>| {
            if ctx.split().map(|s| s.index) == Some(3) {
                // The first row of every attempt fails, so this counts attempts.
                a.fetch_add(1, Ordering::SeqCst);
                return Err(Error::user("injected failure"));
            }
            Ok(())
        },
    );
    let err = runner
        .run_map_only(&job, &NullOutput::new())
        .expect_err("must fail");
    match &err {
        Error::TaskFailed {
            task,
            attempts: n,
            source,
            ..
        } => {
            assert_eq!(*n, 3);
            assert!(task.contains("split 3"), "{task}");
            assert!(task.contains("table t"), "{task}");
            assert!(source.to_string().contains("injected failure"));
        }
        other => panic!("unexpected error {other}"),
    }
    assert!(err.to_string().contains("split 3"));
    assert_eq!(
        attempts.load(Ordering::SeqCst),
        3,
        "one failing row per attempt"
    );
}

#[test]
fn a_transient_failure_is_retried_and_counted_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let conn = open(dir.path());
    let m = make_table(&conn, "t");
    let runner = Runner::new(conn.clone(), run_opts(2)).expect("runner");
    // Every split fails its first attempt half way through, after counting some rows.
    let job = Job::map_rows("flaky", input(), |row, ctx, _out: &mut dyn Emit<()>| {
        ctx.incr("T", "ROWS", 1);
        if ctx.attempt() == 1 && ctx.counters().get("T", "ROWS") == 3 {
            return Err(Error::user(format!(
                "transient at {}",
                String::from_utf8_lossy(row.row())
            )));
        }
        Ok(())
    });
    let r = runner.run_map_only(&job, &NullOutput::new()).expect("job");
    assert_eq!(r.counters.get("T", "ROWS") as usize, model_rows(&m).len());
    let failed = r.counters.get(JOB, counters::FAILED_MAP_TASKS);
    assert!(failed >= 1 && failed <= r.splits as i64);
    assert_eq!(
        r.counters.get(JOB, counters::LAUNCHED_MAP_TASKS),
        r.splits as i64 + failed
    );
}

#[test]
fn a_panicking_mapper_fails_cleanly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let conn = open(dir.path());
    make_table(&conn, "t");
    let runner = Runner::new(conn.clone(), run_opts(1)).expect("runner");
    let job = Job::map_rows("panics", input(), |row, _ctx, _out: &mut dyn Emit<()>| {
        if row.row() == row_key(250).as_slice() {
            panic!("boom at row 250");
        }
        Ok(())
    });
    let err = runner
        .run_map_only(&job, &NullOutput::new())
        .expect_err("fails");
    let msg = err.to_string();
    assert!(
        msg.contains("panicked") && msg.contains("boom at row 250"),
        "{msg}"
    );
    let holder = runner
        .splits(&input())
        .expect("splits")
        .into_iter()
        .find(|s| match &s.source {
            mapreduce::SplitSource::Table { start, stop, .. } => {
                start.as_slice() <= row_key(250).as_slice()
                    && (stop.is_empty() || row_key(250).as_slice() < stop.as_slice())
            }
            _ => false,
        })
        .expect("a split holds row 250");
    assert!(msg.contains(&holder.to_string()), "names {holder}: {msg}");
}

#[test]
fn no_output_is_visible_after_a_failed_job() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("root");
    let conn = open(&root);
    make_table(&conn, "t");
    let runner = Runner::new(conn.clone(), run_opts(2)).expect("runner");

    // Files: the output directory never appears, and no staging directory is left.
    let out = dir.path().join("out");
    let output = FileOutput::new(&out, FileFormat::Parquet, mapreduce::batch::cell_schema())
        .expect("output");
    let job = Job::map_batches("export-fails", input(), |batch, ctx, out| {
        if ctx.split().map(|s| s.index) == Some(4) {
            return Err(Error::user("disk on fire"));
        }
        out.emit(batch.clone())
    });
    assert!(runner.run_map_only(&job, &output).is_err());
    assert!(!out.exists());
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .expect("ls")
        .map(|e| e.expect("entry").file_name())
        .filter(|n| n.to_string_lossy().contains("staging"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // Table: nothing is bulk-loaded, and the staging HFiles are removed.
    copy_schema(&conn, "dst");
    let output = TableOutput::new(&conn, &TableName::parse("dst").expect("dst")).expect("out");
    let job = Job::map_rows("copy-fails", input(), |row, ctx, out| {
        for c in row.to_result().cells {
            out.emit(c)?;
        }
        if ctx.split().map(|s| s.index) == Some(5) {
            return Err(Error::user("mapper bug"));
        }
        Ok(())
    });
    let err = runner.run_map_only(&job, &output).expect_err("fails");
    assert!(err.to_string().contains("split 5"));
    assert!(read_table(&conn, "dst").is_empty());
    let staging: Vec<_> = std::fs::read_dir(root.join("staging"))
        .expect("ls staging")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert!(staging.is_empty(), "{staging:?}");
}

fn copy_schema(conn: &store_server::Connection, dst: &str) {
    mapreduce::jobs::copytable::ensure_like(
        conn,
        &TableName::parse("t").expect("t"),
        &TableName::parse(dst).expect("dst"),
    )
    .expect("create like");
}

#[test]
fn map_reduce_with_spills_matches_a_direct_count() {
    let dir = tempfile::tempdir().expect("tempdir");
    let conn = open(dir.path());
    let m = make_table(&conn, "t");
    let mut opts = run_opts(2);
    opts.shuffle = ShuffleConfig {
        task_buffer_bytes: 2 << 10,
        retained_bytes: 4 << 10,
    };
    let runner = Runner::new(conn.clone(), opts).expect("runner");
    // Versions per (qualifier, timestamp), from rows.
    let job: Job<((Vec<u8>, i64), u64)> = Job::map_rows("versions", input(), |row, _ctx, out| {
        for c in row.cells() {
            out.emit(((c.qualifier.to_vec(), c.timestamp), 1))?;
        }
        Ok(())
    });
    let mut spilled_without_combiner = 0;
    for combine in [false, true] {
        let mut reduce = Reduce::new(3, |k, vals: Vec<u64>, _ctx, out: &mut dyn Emit<_>| {
            out.emit((k, vals.iter().sum::<u64>()))
        });
        if combine {
            reduce = reduce.with_combiner(|_, vals| Ok(vec![vals.iter().sum()]));
        }
        let r = runner
            .run_map_reduce(&job, &reduce, &MemoryOutput::new())
            .expect("job");
        // Without a combiner the tiny buffer spills; with one, map-side combining keeps
        // about one record per key in the buffer, so it spills less (here: not at all).
        let spilled = r.counters.get(FRAMEWORK, counters::SPILLED_RECORDS);
        if combine {
            assert!(spilled < spilled_without_combiner, "{spilled}");
        } else {
            assert!(spilled > 0);
            spilled_without_combiner = spilled;
        }
        let got: BTreeMap<(Vec<u8>, i64), u64> = r.output.into_iter().collect();
        let mut want: BTreeMap<(Vec<u8>, i64), u64> = BTreeMap::new();
        for ((_, _, q), vs) in &m {
            for (ts, _) in vs {
                *want.entry((q.clone(), *ts)).or_default() += 1;
            }
        }
        assert_eq!(got, want, "combine={combine}");
        if combine {
            assert!(
                r.counters.get(FRAMEWORK, counters::COMBINE_OUTPUT_RECORDS)
                    < r.counters.get(FRAMEWORK, counters::COMBINE_INPUT_RECORDS)
            );
        }
    }
    // No spill directories are left behind.
    let left: Vec<_> = std::fs::read_dir(dir.path().join("staging"))
        .expect("ls")
        .map(|e| e.expect("e").file_name())
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn batch_mappers_see_the_same_cells_as_row_mappers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let conn = open(dir.path());
    let m = make_table(&conn, "t");
    let runner = Runner::new(conn.clone(), run_opts(2)).expect("runner");
    let mut job = Job::map_batches("batches", input(), |batch, ctx, out| {
        ctx.incr("T", "BATCHES", 1);
        for c in mapreduce::batch::batch_cells(batch)? {
            out.emit(c)?;
        }
        Ok(())
    });
    if let mapreduce::MapFn::Batches { batch_cells, .. } = &mut job.map {
        *batch_cells = 64;
    }
    let r = runner
        .run_map_only(&job, &MemoryOutput::new())
        .expect("job");
    let mut got = Model::new();
    for c in &r.output {
        got.entry((c.row.to_vec(), c.family.to_vec(), c.qualifier.to_vec()))
            .or_default()
            .push((c.timestamp, c.value.to_vec()));
    }
    assert_eq!(got, m);
    assert!(
        r.counters.get("T", "BATCHES") > r.splits as i64,
        "batches are bounded"
    );
}
