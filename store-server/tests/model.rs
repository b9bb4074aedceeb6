//! Model-based test: random puts, deletes (all four kinds), gets and scans across versions
//! and timestamps, checked against a simple in-memory model of HBase semantics, with
//! flushes, minor and major compactions, splits and close/reopen interleaved.

mod common;

use std::collections::BTreeMap;

use common::{create, test_config};
use store_server::client::{Delete, DeleteSpec};
use store_server::{Connection, Filter, Get, Put, Result, Scan, TableName, TimeRange};

const MAX_VERSIONS: u32 = 3;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Put,
    Delete,
    DeleteColumn,
    DeleteFamily,
    DeleteFamilyVersion,
}

#[derive(Clone, Debug)]
struct MCell {
    qual: String,
    ts: i64,
    kind: Kind,
    seq: u64,
    value: String,
}

/// The model: row -> every cell ever written (minus what major compactions removed).
#[derive(Default)]
struct Model {
    rows: BTreeMap<String, Vec<MCell>>,
    seq: u64,
}

impl Model {
    fn add(&mut self, row: &str, qual: &str, ts: i64, kind: Kind, value: &str) {
        self.seq += 1;
        self.rows.entry(row.to_string()).or_default().push(MCell {
            qual: qual.to_string(),
            ts,
            kind,
            seq: self.seq,
            value: value.to_string(),
        });
    }

    /// Visible (qualifier, ts, value) of a row, newest first per qualifier.
    fn visible(&self, row: &str, versions: u32, tr: TimeRange) -> Vec<(String, i64, String)> {
        let Some(cells) = self.rows.get(row) else {
            return Vec::new();
        };
        let masked = |q: &str, t: i64| {
            cells.iter().any(|m| match m.kind {
                Kind::DeleteFamily => t <= m.ts,
                Kind::DeleteFamilyVersion => t == m.ts,
                Kind::DeleteColumn => m.qual == q && t <= m.ts,
                Kind::Delete => m.qual == q && t == m.ts,
                Kind::Put => false,
            })
        };
        // Newest write per (qualifier, ts).
        let mut latest: BTreeMap<(String, std::cmp::Reverse<i64>), &MCell> = BTreeMap::new();
        for m in cells.iter().filter(|m| m.kind == Kind::Put) {
            let k = (m.qual.clone(), std::cmp::Reverse(m.ts));
            if latest.get(&k).map(|o| o.seq < m.seq).unwrap_or(true) {
                latest.insert(k, m);
            }
        }
        let mut out = Vec::new();
        let mut count: BTreeMap<String, u32> = BTreeMap::new();
        for ((q, std::cmp::Reverse(ts)), m) in latest {
            if masked(&q, ts) || !tr.contains(ts) {
                continue;
            }
            let c = count.entry(q.clone()).or_insert(0);
            if *c >= versions.min(MAX_VERSIONS) {
                continue;
            }
            *c += 1;
            out.push((q, ts, m.value.clone()));
        }
        out
    }

    /// A major compaction keeps only what a full read would return.
    fn major_compact(&mut self) {
        let rows: Vec<String> = self.rows.keys().cloned().collect();
        for r in rows {
            let keep = self.visible(&r, MAX_VERSIONS, TimeRange::all());
            let cells = self.rows.get(&r).cloned().unwrap_or_default();
            let kept: Vec<MCell> = cells
                .into_iter()
                .filter(|m| {
                    m.kind == Kind::Put
                        && keep
                            .iter()
                            .any(|(q, ts, v)| *q == m.qual && *ts == m.ts && *v == m.value)
                })
                .collect();
            // Only the newest write per (qualifier, ts) survives.
            let mut dedup: Vec<MCell> = Vec::new();
            for m in kept {
                if let Some(o) = dedup.iter_mut().find(|o| o.qual == m.qual && o.ts == m.ts) {
                    if o.seq < m.seq {
                        *o = m;
                    }
                } else {
                    dedup.push(m);
                }
            }
            self.rows.insert(r, dedup);
        }
    }
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn engine_row(r: &store_server::RowResult) -> Vec<(String, i64, String)> {
    r.cells
        .iter()
        .map(|c| {
            (
                String::from_utf8_lossy(&c.qualifier).into_owned(),
                c.timestamp,
                String::from_utf8_lossy(&c.value).into_owned(),
            )
        })
        .collect()
}

fn run(seed: u64, ops: usize) -> Result<()> {
    let dir = tempfile::tempdir().map_err(|e| store_server::Error::io("tempdir", e))?;
    let mut conn = Connection::embedded_with_config(dir.path(), test_config())?;
    create(&conn, "m", &["f"], MAX_VERSIONS, &[b"row5"])?;
    let tn = TableName::parse("m")?;
    let mut model = Model::default();
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let row_name = |i: u64| format!("row{i}");
    for step in 0..ops {
        let t = conn.table("m")?;
        let row = row_name(rng.below(10));
        let qual = ["a", "b", "c"][rng.below(3) as usize].to_string();
        let ts = 1 + rng.below(12) as i64;
        let ctx = format!("seed {seed} step {step}");
        match rng.below(100) {
            0..=39 => {
                let v = format!("v{step}");
                t.put(&Put::new(row.clone()).add_ts("f", qual.clone(), ts, v.clone()))?;
                model.add(&row, &qual, ts, Kind::Put, &v);
            }
            40..=44 => {
                t.delete(&Delete::new(row.clone()).with_spec(DeleteSpec::Column {
                    family: b"f".to_vec(),
                    qualifier: qual.clone().into_bytes(),
                    ts: Some(ts),
                }))?;
                model.add(&row, &qual, ts, Kind::Delete, "");
            }
            45..=48 => {
                t.delete(&Delete::new(row.clone()).with_spec(DeleteSpec::Columns {
                    family: b"f".to_vec(),
                    qualifier: qual.clone().into_bytes(),
                    ts: Some(ts),
                }))?;
                model.add(&row, &qual, ts, Kind::DeleteColumn, "");
            }
            49..=50 => {
                t.delete(&Delete::new(row.clone()).with_ts(ts))?;
                model.add(&row, "", ts, Kind::DeleteFamily, "");
            }
            51..=52 => {
                t.delete(
                    &Delete::new(row.clone()).with_spec(DeleteSpec::FamilyVersion {
                        family: b"f".to_vec(),
                        ts,
                    }),
                )?;
                model.add(&row, "", ts, Kind::DeleteFamilyVersion, "");
            }
            53..=72 => {
                let versions = 1 + rng.below(4) as u32;
                let tr = if rng.below(3) == 0 {
                    TimeRange::new(2, 5)
                } else {
                    TimeRange::all()
                };
                let got = t.get(
                    &Get::new(row.clone())
                        .with_max_versions(versions)
                        .with_time_range(tr),
                )?;
                assert_eq!(
                    engine_row(&got),
                    model.visible(&row, versions, tr),
                    "get {row} v{versions} {tr:?} ({ctx}) {:?}",
                    model.rows.get(&row)
                );
            }
            73..=82 => {
                let a = rng.below(10);
                let b = a + 1 + rng.below(10 - a);
                let versions = 1 + rng.below(3) as u32;
                let reversed = rng.below(4) == 0;
                let scan = if reversed {
                    Scan::new()
                        .with_start_row(row_name(b - 1))
                        .with_stop_row(row_name(a))
                        .reversed(true)
                } else {
                    Scan::new()
                        .with_start_row(row_name(a))
                        .with_stop_row(row_name(b))
                }
                .with_max_versions(versions);
                // Sometimes one column only, sometimes only the first cell of each row.
                let shape = rng.below(4);
                let scan = match shape {
                    0 => scan.add_column("f", qual.clone()),
                    1 => scan.with_filter(Filter::FirstKeyOnly),
                    _ => scan,
                };
                let shaped = |mut cells: Vec<(String, i64, String)>| {
                    match shape {
                        0 => cells.retain(|(q, _, _)| *q == qual),
                        1 => cells.truncate(1),
                        _ => {}
                    }
                    cells
                };
                let mut got = Vec::new();
                for r in t.scan(&scan)? {
                    let r = r?;
                    got.push((String::from_utf8_lossy(&r.row).into_owned(), engine_row(&r)));
                }
                let lo = row_name(a);
                let hi = row_name(b);
                let mut want: Vec<common::Row> = model
                    .rows
                    .keys()
                    .filter(|r| {
                        if reversed {
                            **r > lo && **r < hi
                        } else {
                            **r >= lo && **r < hi
                        }
                    })
                    .map(|r| {
                        (
                            r.clone(),
                            shaped(model.visible(r, versions, TimeRange::all())),
                        )
                    })
                    .filter(|(_, c)| !c.is_empty())
                    .collect();
                if reversed {
                    // Reversed: start row inclusive (b-1), stop row exclusive (a).
                    want = model
                        .rows
                        .keys()
                        .filter(|r| **r > lo && **r <= row_name(b - 1))
                        .map(|r| {
                            (
                                r.clone(),
                                shaped(model.visible(r, versions, TimeRange::all())),
                            )
                        })
                        .filter(|(_, c)| !c.is_empty())
                        .collect();
                    want.reverse();
                }
                assert_eq!(
                    got, want,
                    "scan {a}..{b} rev={reversed} shape={shape} ({ctx})"
                );
            }
            83..=88 => conn.admin().flush(&tn)?,
            89..=91 => {
                conn.admin().compact(&tn, false)?;
            }
            92..=93 => {
                conn.admin().compact(&tn, true)?;
                model.major_compact();
            }
            94..=95 => {
                let key = row_name(rng.below(10));
                // Region boundaries are rejected; anything else splits.
                let _ = conn.admin().split(&tn, Some(key.as_bytes()));
            }
            _ => {
                drop(t);
                conn.close()?;
                drop(conn);
                conn = Connection::embedded_with_config(dir.path(), test_config())?;
            }
        }
    }
    // Final full check after a reopen.
    conn.close()?;
    drop(conn);
    let conn = Connection::embedded_with_config(dir.path(), test_config())?;
    let t = conn.table("m")?;
    for i in 0..10 {
        let row = row_name(i);
        let got = t.get(&Get::new(row.clone()).with_max_versions(MAX_VERSIONS))?;
        assert_eq!(
            engine_row(&got),
            model.visible(&row, MAX_VERSIONS, TimeRange::all()),
            "final {row} seed {seed}"
        );
    }
    Ok(())
}

#[test]
fn random_operations_match_the_model() -> Result<()> {
    for seed in 1..=8 {
        run(seed, 400)?;
    }
    Ok(())
}
