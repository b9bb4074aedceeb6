//! Tests of the nightly compaction tool (`store_server::compaction::tool`): major
//! compaction against a model, plan is a pure dry run, the throttle bounds the write rate,
//! and a run killed with SIGKILL then re-run ends with the same contents.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use store_server::compaction::tool::plan::{plan, Advice, PlanOptions};
use store_server::compaction::tool::report::{append_history, read_history};
use store_server::compaction::tool::run::{run, RunOptions, RunSummary, Window};
use store_server::compaction::DropCounts;
use store_server::server::RegionServer;
use store_server::{
    Config, Connection, Delete, DeleteSpec, FamilyDescriptor, Put, Scan, TableDescriptor, TableName,
};

type Res = Result<(), Box<dyn std::error::Error>>;
type BoxResult<T> = Result<T, Box<dyn std::error::Error>>;
/// A raw cell: (row, qualifier, ts, type code, value).
type RawCell = (String, String, i64, u8, String);
/// A visible cell: (row, qualifier, ts, value).
type SeenCell = (String, String, i64, String);

fn quiet() -> Config {
    Config {
        background: false,
        ..Config::default()
    }
}

fn opts(server: &RegionServer, major: bool) -> RunOptions {
    RunOptions {
        major,
        policy: server.config().compaction,
        throttle_bytes_per_sec: None,
        parallel: 2,
        max_duration: None,
        window: None,
        offline: false,
    }
}

fn splits() -> Vec<Vec<u8>> {
    vec![b"r10".to_vec(), b"r20".to_vec()]
}

/// Deterministic pseudo-random numbers (no dependency, reproducible).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

/// Every cell a raw, all-versions scan returns: (row, qualifier, ts, type, value).
fn raw_cells(conn: &Connection, table: &str) -> BoxResult<BTreeSet<RawCell>> {
    let t = conn.table(table)?;
    let mut out = BTreeSet::new();
    for r in t.scan(&Scan::new().raw(true).with_max_versions(u32::MAX))? {
        for c in r?.cells {
            out.insert((
                String::from_utf8_lossy(&c.row).into_owned(),
                String::from_utf8_lossy(&c.qualifier).into_owned(),
                c.timestamp,
                c.type_code,
                String::from_utf8_lossy(&c.value).into_owned(),
            ));
        }
    }
    Ok(out)
}

/// What a client sees (all versions): (row, qualifier, ts, value).
fn visible(conn: &Connection, table: &str) -> BoxResult<Vec<SeenCell>> {
    let t = conn.table(table)?;
    let mut out = Vec::new();
    for r in t.scan(&Scan::new().with_max_versions(u32::MAX))? {
        for c in r?.cells {
            out.push((
                String::from_utf8_lossy(&c.row).into_owned(),
                String::from_utf8_lossy(&c.qualifier).into_owned(),
                c.timestamp,
                String::from_utf8_lossy(&c.value).into_owned(),
            ));
        }
    }
    Ok(out)
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Family,
    FamilyVersion,
    Columns,
    Column,
}

/// The model: every put and delete issued, in order.
#[derive(Default)]
struct Model {
    puts: Vec<(String, String, i64, String)>,
    deletes: Vec<(String, String, i64, Kind)>,
}

impl Model {
    /// Cells surviving a major compaction at `now` and the expected drop counts.
    fn major(
        &self,
        max_versions: usize,
        ttl_ms: i64,
        now: i64,
    ) -> (BTreeSet<(String, String, i64, String)>, DropCounts) {
        let mut d = DropCounts::default();
        // Latest write of each (row, qualifier, ts) wins.
        let mut latest: BTreeMap<(String, String, i64), String> = BTreeMap::new();
        for (r, q, ts, v) in &self.puts {
            latest.insert((r.clone(), q.clone(), *ts), v.clone());
        }
        let markers: BTreeSet<(String, String, i64, u8)> = self
            .deletes
            .iter()
            .map(|(r, q, ts, k)| {
                let q = if matches!(k, Kind::Family | Kind::FamilyVersion) {
                    String::new()
                } else {
                    q.clone()
                };
                (r.clone(), q, *ts, *k as u8)
            })
            .collect();
        d.delete_markers = markers.len() as u64;
        let masked = |r: &str, q: &str, ts: i64| {
            self.deletes.iter().any(|(dr, dq, dts, k)| {
                dr == r
                    && match k {
                        Kind::Family => ts <= *dts,
                        Kind::FamilyVersion => ts == *dts,
                        Kind::Columns => dq == q && ts <= *dts,
                        Kind::Column => dq == q && ts == *dts,
                    }
            })
        };
        let mut by_col: BTreeMap<(String, String), Vec<(i64, String)>> = BTreeMap::new();
        for ((r, q, ts), v) in latest {
            by_col.entry((r, q)).or_default().push((ts, v));
        }
        let mut keep = BTreeSet::new();
        for ((r, q), mut versions) in by_col {
            versions.sort_by_key(|v| std::cmp::Reverse(v.0));
            let mut n = 0;
            for (ts, v) in versions {
                if masked(&r, &q, ts) {
                    d.deleted += 1;
                } else if ts < now - ttl_ms {
                    d.expired_ttl += 1;
                } else if n >= max_versions {
                    d.excess_versions += 1;
                } else {
                    n += 1;
                    keep.insert((r.clone(), q.clone(), ts, v));
                }
            }
        }
        (keep, d)
    }
}

const TTL_SECS: u64 = 3600;
const VERSIONS: u32 = 3;

/// Creates table `t` (3 regions, one family with TTL and 3 versions) and fills it with
/// random puts and deletes over several flushes; returns the model.
fn fill_random(
    conn: &Connection,
    t: &str,
    seed: u64,
    ops: usize,
    flush_every: usize,
) -> Result<Model, Box<dyn std::error::Error>> {
    let fam = FamilyDescriptor::new("f")
        .with_max_versions(VERSIONS)
        .with_ttl_secs(TTL_SECS);
    conn.admin().create_table(
        TableDescriptor::new(TableName::parse(t)?, vec![fam]),
        &splits(),
    )?;
    let table = conn.table(t)?;
    let base = store_server::now_ms();
    // Half the timestamps are 2 h old (past the TTL), half fresh.
    let stamps: Vec<i64> = (0..6)
        .map(|i| base - 7_200_000 - i * 10)
        .chain((0..6).map(|i| base - i * 10))
        .collect();
    let mut rng = Lcg(seed);
    let mut model = Model::default();
    for i in 0..ops {
        let row = format!("r{:02}", rng.next(30));
        let q = format!("q{}", rng.next(4));
        let ts = stamps[rng.next(stamps.len() as u64) as usize];
        match rng.next(40) {
            0 => {
                table.delete(&Delete::new(row.clone()).with_spec(DeleteSpec::Family {
                    family: b"f".to_vec(),
                    ts: Some(ts),
                }))?;
                model.deletes.push((row, q, ts, Kind::Family));
            }
            1 => {
                table.delete(
                    &Delete::new(row.clone()).with_spec(DeleteSpec::FamilyVersion {
                        family: b"f".to_vec(),
                        ts,
                    }),
                )?;
                model.deletes.push((row, q, ts, Kind::FamilyVersion));
            }
            2 => {
                table.delete(&Delete::new(row.clone()).with_spec(DeleteSpec::Columns {
                    family: b"f".to_vec(),
                    qualifier: q.clone().into_bytes(),
                    ts: Some(ts),
                }))?;
                model.deletes.push((row, q, ts, Kind::Columns));
            }
            3 => {
                table.delete(&Delete::new(row.clone()).with_spec(DeleteSpec::Column {
                    family: b"f".to_vec(),
                    qualifier: q.clone().into_bytes(),
                    ts: Some(ts),
                }))?;
                model.deletes.push((row, q, ts, Kind::Column));
            }
            _ => {
                let v = format!("v{i}");
                table.put(&Put::new(row.clone()).add_ts("f", q.clone(), ts, v.clone()))?;
                model.puts.push((row, q, ts, v));
            }
        }
        if (i + 1) % flush_every == 0 {
            conn.admin().flush(&TableName::parse(t)?)?;
        }
    }
    Ok(model)
}

fn store_files(conn: &Connection, t: &str) -> Result<usize, Box<dyn std::error::Error>> {
    Ok(conn
        .admin()
        .regions(&TableName::parse(t)?)?
        .iter()
        .flat_map(|r| r.stores.iter())
        .map(|(_, f)| f.len())
        .sum())
}

#[test]
fn major_compaction_matches_model() -> Res {
    for seed in [1u64, 7, 42] {
        let dir = tempfile::tempdir()?;
        let conn = Connection::embedded_with_config(dir.path(), quiet())?;
        let model = fill_random(&conn, "m", seed, 1500, 200)?;
        let server = conn.server().clone();
        let t = TableName::parse("m")?;
        let summary = run(
            &server,
            std::slice::from_ref(&t),
            &opts(&server, true),
            &|_| {},
        )?;
        let now = store_server::now_ms();
        let (expected, expected_drops) =
            model.major(VERSIONS as usize, TTL_SECS as i64 * 1000, now);
        let got: BTreeSet<(String, String, i64, String)> = raw_cells(&conn, "m")?
            .into_iter()
            .map(|(r, q, ts, ty, v)| {
                assert_eq!(ty, 4, "only puts survive a major compaction");
                (r, q, ts, v)
            })
            .collect();
        assert_eq!(got, expected, "seed {seed}");
        let st = &summary.tables[0];
        let d = st.dropped;
        assert_eq!(
            d.delete_markers, expected_drops.delete_markers,
            "seed {seed}"
        );
        assert_eq!(d.deleted, expected_drops.deleted, "seed {seed}");
        assert_eq!(d.expired_ttl, expected_drops.expired_ttl, "seed {seed}");
        assert_eq!(
            d.excess_versions, expected_drops.excess_versions,
            "seed {seed}"
        );
        assert_eq!(d.total(), st.cells_read - st.cells_written);
        assert_eq!(st.cells_written as usize, expected.len());
        assert!(
            d.deleted > 0 && d.expired_ttl > 0 && d.excess_versions > 0 && d.delete_markers > 0,
            "seed {seed}: every reason exercised: {d:?}"
        );
        assert_eq!(st.files_after, 3, "one file per store");
        assert!(st.files_before > st.files_after);
        conn.close()?;
    }
    Ok(())
}

#[test]
fn minor_run_keeps_every_cell() -> Res {
    let dir = tempfile::tempdir()?;
    let conn = Connection::embedded_with_config(dir.path(), quiet())?;
    fill_random(&conn, "m", 3, 1200, 100)?;
    conn.admin().flush(&TableName::parse("m")?)?;
    let before = raw_cells(&conn, "m")?;
    let seen = visible(&conn, "m")?;
    let server = conn.server().clone();
    let s = run(
        &server,
        &[TableName::parse("m")?],
        &opts(&server, false),
        &|_| {},
    )?;
    let st = &s.tables[0];
    assert!(st.compactions > 0);
    assert_eq!(
        st.dropped.total(),
        st.dropped.duplicates,
        "minor drops only duplicates"
    );
    assert_eq!(st.cells_read - st.cells_written, st.dropped.duplicates);
    let after = raw_cells(&conn, "m")?;
    assert!(after.is_subset(&before));
    assert_eq!(visible(&conn, "m")?, seen);
    conn.close()?;
    Ok(())
}

/// (relative path, size, modification time) of every file under `root`.
fn tree(root: &Path) -> Vec<(PathBuf, u64, std::time::SystemTime)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(m) = e.metadata() {
                let rel = p
                    .strip_prefix(root)
                    .map(Path::to_path_buf)
                    .unwrap_or(p.clone());
                out.push((rel, m.len(), m.modified().unwrap_or(std::time::UNIX_EPOCH)));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn plan_changes_nothing_and_predicts_the_run() -> Res {
    let dir = tempfile::tempdir()?;
    {
        let conn = Connection::embedded_with_config(dir.path(), quiet())?;
        fill_random(&conn, "m", 5, 1500, 100)?;
        conn.admin().flush(&TableName::parse("m")?)?;
        conn.close()?;
    }
    let conn = Connection::embedded_with_config(dir.path(), quiet())?;
    let server = conn.server().clone();
    let t = TableName::parse("m")?;
    let before = tree(dir.path());
    let mut po = PlanOptions::new(&server, true);
    po.too_many_files = 3;
    let p = plan(&server, std::slice::from_ref(&t), &po)?;
    // Planning twice, and minor planning, change nothing either.
    plan(
        &server,
        std::slice::from_ref(&t),
        &PlanOptions::new(&server, false),
    )?;
    assert_eq!(tree(dir.path()), before, "plan must not touch the root");
    assert_eq!(p.len(), 3);
    for s in &p {
        assert_eq!(s.selected.len(), s.files_total);
        assert!(s
            .advice
            .iter()
            .any(|a| matches!(a, Advice::TooManyFiles { .. })));
        assert!(s.expected_bytes_out <= s.bytes_in);
    }
    let mut planned = DropCounts::default();
    for s in &p {
        planned.add(&s.dropped);
    }
    let planned_out: u64 = p.iter().map(|s| s.cells_out).sum();
    let r = run(&server, &[t], &opts(&server, true), &|_| {})?;
    assert_eq!(r.tables[0].dropped, planned);
    assert_eq!(r.tables[0].cells_written, planned_out);
    conn.close()?;
    Ok(())
}

#[test]
fn plan_flags_ttl_dropping_most_data() -> Res {
    let dir = tempfile::tempdir()?;
    let conn = Connection::embedded_with_config(dir.path(), quiet())?;
    let fam = FamilyDescriptor::new("f").with_ttl_secs(60);
    conn.admin().create_table(
        TableDescriptor::new(TableName::parse("old")?, vec![fam]),
        &[],
    )?;
    let table = conn.table("old")?;
    let old = store_server::now_ms() - 3_600_000;
    for i in 0..100 {
        table.put(&Put::new(format!("r{i:03}")).add_ts("f", "q", old, "x"))?;
    }
    conn.admin().flush(&TableName::parse("old")?)?;
    let server = conn.server().clone();
    let p = plan(
        &server,
        &[TableName::parse("old")?],
        &PlanOptions::new(&server, false),
    )?;
    assert_eq!(p.len(), 1);
    assert!(
        p[0].advice
            .iter()
            .any(|a| matches!(a, Advice::TtlDropsMost { fraction } if *fraction > 0.99)),
        "{:?}",
        p[0].advice
    );
    assert!(
        p[0].selected.is_empty(),
        "one file: nothing for a minor compaction"
    );
    conn.close()?;
    Ok(())
}

fn fill_bulk(conn: &Connection, t: &str, rows: usize, value_len: usize, flushes: usize) -> Res {
    conn.admin().create_table(
        TableDescriptor::new(TableName::parse(t)?, vec![FamilyDescriptor::new("f")]),
        &splits(),
    )?;
    let table = conn.table(t)?;
    let per = rows / flushes;
    for f in 0..flushes {
        let puts: Vec<Put> = (0..per)
            .map(|i| {
                let n = f * per + i;
                Put::new(format!("r{:02}-{n:06}", n % 30)).add(
                    "f",
                    "q",
                    format!("{n}-{}", "v".repeat(value_len)),
                )
            })
            .collect();
        table.put_batch(&puts)?;
        if f % 3 == 0 {
            table.delete(&Delete::new(format!(
                "r{:02}-{:06}",
                (f * per) % 30,
                f * per
            )))?;
        }
        conn.admin().flush(&TableName::parse(t)?)?;
    }
    Ok(())
}

#[test]
fn throttle_bounds_the_write_rate_and_history_is_kept() -> Res {
    let dir = tempfile::tempdir()?;
    let conn = Connection::embedded_with_config(dir.path(), quiet())?;
    fill_bulk(&conn, "big", 3000, 1000, 4)?;
    let server = conn.server().clone();
    let rate: u64 = 1_000_000;
    let mut o = opts(&server, true);
    o.throttle_bytes_per_sec = Some(rate);
    o.parallel = 3;
    let start = Instant::now();
    let s = run(&server, &[TableName::parse("big")?], &o, &|_| {})?;
    let elapsed = start.elapsed().as_secs_f64();
    let written = s.tables[0].bytes_written;
    assert!(written > 2_000_000, "enough data to measure: {written}");
    let measured = written as f64 / elapsed;
    assert!(
        measured <= rate as f64 * 1.5,
        "wrote {written} B in {elapsed:.2} s = {measured:.0} B/s"
    );
    append_history(dir.path(), &s)?;
    append_history(
        dir.path(),
        &RunSummary {
            started_ms: 1,
            ..s.clone()
        },
    )?;
    let h = read_history(dir.path())?;
    assert_eq!(h.len(), 2);
    assert!(h[0].contains("\"table\":\"big\""), "{}", h[0]);
    assert!(
        h[0].contains(&format!("\"bytes_written\":{written}")),
        "{}",
        h[0]
    );
    assert!(h[1].starts_with("{\"started_ms\":1,"), "{}", h[1]);
    conn.close()?;
    Ok(())
}

#[test]
fn deadline_stops_starting_regions() -> Res {
    let dir = tempfile::tempdir()?;
    let conn = Connection::embedded_with_config(dir.path(), quiet())?;
    fill_bulk(&conn, "big", 600, 100, 3)?;
    let server = conn.server().clone();
    let mut o = opts(&server, true);
    o.max_duration = Some(std::time::Duration::ZERO);
    let s = run(&server, &[TableName::parse("big")?], &o, &|_| {})?;
    assert!(!s.completed);
    assert_eq!(s.tables[0].regions_skipped, 3);
    assert_eq!(s.tables[0].compactions, 0);
    assert_eq!(s.tables[0].files_after, s.tables[0].files_before);
    conn.close()?;
    Ok(())
}

#[test]
fn kill_9_mid_run_then_rerun_gives_same_contents() -> Res {
    let dir = tempfile::tempdir()?;
    let expected;
    {
        let conn = Connection::embedded_with_config(dir.path(), quiet())?;
        fill_bulk(&conn, "k", 3000, 300, 6)?;
        expected = visible(&conn, "k")?;
        conn.close()?;
    }
    assert!(!expected.is_empty());
    // ~1 MB per region at 300 KB/s: the second region is mid-compaction when killed.
    let mut child = Command::new(env!("CARGO_BIN_EXE_basalt-compact-runner"))
        .arg(dir.path())
        .arg("k")
        .arg("300000")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let first = lines.next().ok_or("runner exited early")??;
    assert_eq!(first, "STARTED");
    child.kill()?; // SIGKILL
    let status = child.wait()?;
    assert!(
        !status.success(),
        "runner must have been killed, not finished"
    );
    let conn = Connection::embedded_with_config(dir.path(), quiet())?;
    assert_eq!(visible(&conn, "k")?, expected, "contents after the kill");
    let server = conn.server().clone();
    let s = run(
        &server,
        &[TableName::parse("k")?],
        &opts(&server, true),
        &|_| {},
    )?;
    assert_eq!(visible(&conn, "k")?, expected, "contents after the re-run");
    assert_eq!(s.tables[0].files_after, 3);
    assert_eq!(store_files(&conn, "k")?, 3);
    assert!(
        raw_cells(&conn, "k")?.iter().all(|c| c.3 == 4),
        "no delete marker left"
    );
    conn.close()?;
    Ok(())
}

#[test]
fn outside_the_window_nothing_starts() -> Res {
    let dir = tempfile::tempdir()?;
    let conn = Connection::embedded_with_config(dir.path(), quiet())?;
    fill_bulk(&conn, "big", 600, 100, 3)?;
    let server = conn.server().clone();
    // A one-minute window twelve hours from now: certainly closed.
    let now_min = (store_server::now_ms() / 60_000 % 1440) as u32;
    let start = (now_min + 720) % 1440;
    let mut o = opts(&server, true);
    o.window = Some(Window {
        start_min: start,
        end_min: (start + 1) % 1440,
    });
    let s = run(&server, &[TableName::parse("big")?], &o, &|_| {})?;
    assert!(!s.completed);
    assert_eq!(s.tables[0].regions_skipped, 3);
    assert_eq!(s.tables[0].files_after, s.tables[0].files_before);
    conn.close()?;
    Ok(())
}

#[test]
fn reads_and_writes_during_a_run_stay_consistent() -> Res {
    let dir = tempfile::tempdir()?;
    let conn = Connection::embedded_with_config(dir.path(), quiet())?;
    conn.admin().create_table(
        TableDescriptor::new(TableName::parse("c")?, vec![FamilyDescriptor::new("f")]),
        &splits(),
    )?;
    let table = conn.table("c")?;
    // Every put writes the same value to a, b and c of a row (one atomic put).
    let put = |i: usize, gen: usize| {
        let v = format!("g{gen}-{}", "x".repeat(200));
        Put::new(format!("r{:02}-{i:04}", i % 30))
            .add("f", "a", v.clone())
            .add("f", "b", v.clone())
            .add("f", "c", v)
    };
    for gen in 0..4 {
        let puts: Vec<Put> = (0..1500).map(|i| put(i, gen)).collect();
        table.put_batch(&puts)?;
        conn.admin().flush(&TableName::parse("c")?)?;
    }
    let server = conn.server().clone();
    let mut o = opts(&server, true);
    o.throttle_bytes_per_sec = Some(2_000_000);
    let done = std::sync::atomic::AtomicBool::new(false);
    let checked = std::thread::scope(|s| -> BoxResult<usize> {
        let runner = s.spawn(|| {
            let r = run(&server, &[TableName::parse("c")?], &o, &|_| {});
            done.store(true, std::sync::atomic::Ordering::SeqCst);
            r
        });
        let mut scans = 0;
        let mut gen = 4;
        while !done.load(std::sync::atomic::Ordering::SeqCst) || scans == 0 {
            // Writes keep going while the compaction runs.
            let puts: Vec<Put> = (0..200).map(|i| put(i * 7 % 1500, gen)).collect();
            table.put_batch(&puts)?;
            gen += 1;
            let mut rows = 0;
            for r in table.scan(&Scan::new())? {
                let r = r?;
                assert_eq!(r.cells.len(), 3, "row {:?} has every column", r.row);
                assert!(
                    r.cells.iter().all(|c| c.value == r.cells[0].value),
                    "row {:?} is torn",
                    r.row
                );
                rows += 1;
            }
            assert_eq!(rows, 1500, "no row lost or duplicated");
            scans += 1;
        }
        let summary = runner.join().map_err(|_| "runner panicked")??;
        assert_eq!(summary.tables[0].files_after, 3);
        Ok(scans)
    })?;
    assert!(checked > 0);
    conn.close()?;
    Ok(())
}

#[test]
fn offline_major_compaction_of_a_disabled_table_matches_model() -> Res {
    let dir = tempfile::tempdir()?;
    let conn = Connection::embedded_with_config(dir.path(), quiet())?;
    let model = fill_random(&conn, "m", 11, 1500, 200)?;
    let server = conn.server().clone();
    let t = TableName::parse("m")?;
    let mut offline = opts(&server, true);
    offline.offline = true;
    // Offline needs a disabled table, online an enabled one.
    assert!(matches!(
        run(&server, std::slice::from_ref(&t), &offline, &|_| {}),
        Err(store_server::Error::TableEnabled(_))
    ));
    conn.admin().disable_table(&t)?;
    assert!(run(
        &server,
        std::slice::from_ref(&t),
        &opts(&server, true),
        &|_| {}
    )
    .is_err());
    let mut plan_opts = PlanOptions::new(&server, true);
    plan_opts.offline = true;
    let planned: u64 = plan(&server, std::slice::from_ref(&t), &plan_opts)?
        .iter()
        .map(|p| p.cells_out)
        .sum();
    let summary = run(&server, std::slice::from_ref(&t), &offline, &|_| {})?;
    let st = &summary.tables[0];
    assert_eq!((st.regions, st.files_after), (3, 3), "one file per store");
    assert_eq!(st.cells_written, planned, "the plan predicted the run");
    conn.admin().enable_table(&t)?;
    let (expected, _) = model.major(
        VERSIONS as usize,
        TTL_SECS as i64 * 1000,
        store_server::now_ms(),
    );
    let got: BTreeSet<(String, String, i64, String)> = raw_cells(&conn, "m")?
        .into_iter()
        .map(|(r, q, ts, _, v)| (r, q, ts, v))
        .collect();
    assert_eq!(got, expected);
    assert_eq!(store_files(&conn, "m")?, 3);
    conn.close()?;
    Ok(())
}
