//! HBase read semantics over the merged cells of one row: delete markers (Delete,
//! DeleteColumn, DeleteFamily, DeleteFamilyVersion), versions, time ranges, TTL, column
//! selection and filters. Major compactions use the same rules to decide what survives.

use std::collections::{HashMap, HashSet};

use hfile::{Cell, CellType, CellView};

use crate::scan::{Scan, TimeRange};
use crate::schema::FamilyDescriptor;

/// The per-family rules that shape what a read returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FamilyRules {
    /// Versions kept per column.
    pub max_versions: u32,
    /// Versions kept regardless of TTL.
    pub min_versions: u32,
    /// Time to live in ms, if any.
    pub ttl_ms: Option<i64>,
}

impl FamilyRules {
    /// The rules of a family descriptor.
    pub fn of(f: &FamilyDescriptor) -> FamilyRules {
        FamilyRules {
            max_versions: f.max_versions.max(1),
            min_versions: f.min_versions,
            ttl_ms: f
                .ttl_secs
                .map(|s| (s.min(i64::MAX as u64 / 1000) as i64) * 1000),
        }
    }
}

/// What the row is processed for.
#[derive(Clone, Copy, Debug)]
pub enum Mode<'a> {
    /// A client read.
    User(&'a Scan),
    /// A major compaction: drop markers, masked, expired and excess versions.
    MajorCompaction,
}

/// Applies HBase semantics to the cells of one row (merged, sorted, possibly spanning
/// several families). Families absent from `rules` are skipped.
pub fn process_row(
    cells: &[Cell],
    rules: &HashMap<Vec<u8>, FamilyRules>,
    mode: Mode<'_>,
    now_ms: i64,
) -> Vec<Cell> {
    if let Mode::User(scan) = mode {
        if scan.raw {
            return cells
                .iter()
                .filter(|c| scan.time_range.contains(c.timestamp) && scan.wants_family(c.family()))
                .filter(|c| {
                    scan.filter
                        .as_ref()
                        .map(|f| f.column_passes(c.qualifier()))
                        .unwrap_or(true)
                })
                .cloned()
                .collect();
        }
    }
    let mut out = Vec::new();
    let mut i = 0;
    while i < cells.len() {
        let fam = cells[i].family.clone();
        let mut j = i;
        while j < cells.len() && cells[j].family == fam {
            j += 1;
        }
        if let Some(r) = rules.get(fam.as_ref()) {
            process_family(&cells[i..j], r, mode, now_ms, &mut out);
        }
        i = j;
    }
    if let Mode::User(scan) = mode {
        if let Some(f) = &scan.filter {
            if !f.row_cells_pass(&out) {
                return Vec::new();
            }
        }
        out.retain(|c| {
            scan.wants_column(c.family(), c.qualifier())
                && scan
                    .filter
                    .as_ref()
                    .map(|f| f.column_passes(c.qualifier()))
                    .unwrap_or(true)
        });
        if let Some(f) = &scan.filter {
            f.transform(&mut out);
        }
    }
    out
}

fn process_family(
    cells: &[Cell],
    r: &FamilyRules,
    mode: Mode<'_>,
    now_ms: i64,
    out: &mut Vec<Cell>,
) {
    let (time_range, max_versions) = match mode {
        Mode::User(scan) => (scan.time_range, scan.max_versions.clamp(1, r.max_versions)),
        Mode::MajorCompaction => (TimeRange::all(), r.max_versions),
    };
    let oldest_unexpired = r.ttl_ms.map(|t| now_ms.saturating_sub(t));
    let mut family_ts: Option<i64> = None;
    let mut family_versions: HashSet<i64> = HashSet::new();
    let mut col: Option<&[u8]> = None;
    let mut col_delete_ts: Option<i64> = None;
    let mut version_deletes: HashSet<i64> = HashSet::new();
    let mut prev: Option<(i64, u8)> = None;
    let mut count: u32 = 0;
    for c in cells {
        if col != Some(c.qualifier()) {
            col = Some(c.qualifier());
            col_delete_ts = None;
            version_deletes.clear();
            prev = None;
            count = 0;
        }
        let key = (c.timestamp, c.type_code);
        if prev == Some(key) {
            // An older write of an identical key is shadowed by the newer one.
            continue;
        }
        prev = Some(key);
        let ts = c.timestamp;
        match c.cell_type() {
            Some(CellType::DeleteFamily) => {
                family_ts = Some(family_ts.map_or(ts, |f| f.max(ts)));
            }
            Some(CellType::DeleteFamilyVersion) => {
                family_versions.insert(ts);
            }
            Some(CellType::DeleteColumn) => {
                col_delete_ts = Some(col_delete_ts.map_or(ts, |f| f.max(ts)));
            }
            Some(CellType::Delete) => {
                version_deletes.insert(ts);
            }
            Some(CellType::Put) => {
                let masked = family_ts.is_some_and(|f| ts <= f)
                    || family_versions.contains(&ts)
                    || col_delete_ts.is_some_and(|d| ts <= d)
                    || version_deletes.contains(&ts);
                if masked || !time_range.contains(ts) {
                    continue;
                }
                let expired = oldest_unexpired.is_some_and(|o| ts < o);
                if expired && count >= r.min_versions {
                    continue;
                }
                if count >= max_versions {
                    continue;
                }
                count += 1;
                out.push(c.clone());
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memstore::compare_with_seq;

    fn rules(v: u32) -> HashMap<Vec<u8>, FamilyRules> {
        let mut m = HashMap::new();
        m.insert(
            b"f".to_vec(),
            FamilyRules {
                max_versions: v,
                min_versions: 0,
                ttl_ms: None,
            },
        );
        m
    }

    fn put(q: &str, ts: i64, v: &str, seq: u64) -> Cell {
        let mut c = Cell::put("r", "f", q.to_string(), ts, v.to_string());
        c.seq_id = seq;
        c
    }

    fn del(q: &str, ts: i64, t: CellType, seq: u64) -> Cell {
        let mut c = Cell::delete("r", "f", q.to_string(), ts, t);
        c.seq_id = seq;
        c
    }

    fn run(mut cells: Vec<Cell>, scan: &Scan, v: u32) -> Vec<(String, i64, String)> {
        cells.sort_by(compare_with_seq);
        process_row(&cells, &rules(v), Mode::User(scan), 1000)
            .into_iter()
            .map(|c| {
                (
                    String::from_utf8_lossy(&c.qualifier).into_owned(),
                    c.timestamp,
                    String::from_utf8_lossy(&c.value).into_owned(),
                )
            })
            .collect()
    }

    #[test]
    fn delete_semantics() {
        let all = Scan::new().with_max_versions(10);
        let base = vec![
            put("a", 1, "a1", 1),
            put("a", 2, "a2", 2),
            put("a", 3, "a3", 3),
            put("b", 2, "b2", 4),
        ];
        // Version delete masks exactly one timestamp.
        let mut c = base.clone();
        c.push(del("a", 2, CellType::Delete, 5));
        assert_eq!(
            run(c, &all, 5),
            vec![
                ("a".into(), 3, "a3".into()),
                ("a".into(), 1, "a1".into()),
                ("b".into(), 2, "b2".into())
            ]
        );
        // Column delete masks everything at or below.
        let mut c = base.clone();
        c.push(del("a", 2, CellType::DeleteColumn, 5));
        assert_eq!(
            run(c, &all, 5),
            vec![("a".into(), 3, "a3".into()), ("b".into(), 2, "b2".into())]
        );
        // Family delete masks every column at or below.
        let mut c = base.clone();
        c.push(del("", 2, CellType::DeleteFamily, 5));
        assert_eq!(run(c, &all, 5), vec![("a".into(), 3, "a3".into())]);
        // Family version delete masks one timestamp in every column.
        let mut c = base.clone();
        c.push(del("", 2, CellType::DeleteFamilyVersion, 5));
        assert_eq!(
            run(c, &all, 5),
            vec![("a".into(), 3, "a3".into()), ("a".into(), 1, "a1".into())]
        );
        // A delete masks a put at the same timestamp even if the put is newer.
        let c = vec![del("a", 7, CellType::Delete, 1), put("a", 7, "late", 2)];
        assert!(run(c, &all, 5).is_empty());
    }

    #[test]
    fn versions_time_range_and_duplicates() {
        let base = vec![
            put("a", 1, "a1", 1),
            put("a", 2, "a2", 2),
            put("a", 2, "a2new", 9),
            put("a", 3, "a3", 3),
        ];
        assert_eq!(
            run(base.clone(), &Scan::new(), 5),
            vec![("a".into(), 3, "a3".into())]
        );
        assert_eq!(
            run(base.clone(), &Scan::new().with_max_versions(5), 2),
            vec![
                ("a".into(), 3, "a3".into()),
                ("a".into(), 2, "a2new".into())
            ]
        );
        assert_eq!(
            run(
                base.clone(),
                &Scan::new()
                    .with_time_range(TimeRange::new(1, 3))
                    .with_max_versions(5),
                5
            ),
            vec![
                ("a".into(), 2, "a2new".into()),
                ("a".into(), 1, "a1".into())
            ]
        );
    }

    #[test]
    fn ttl_hides_expired_cells() {
        let mut r = rules(3);
        if let Some(f) = r.get_mut(&b"f"[..]) {
            f.ttl_ms = Some(100);
        }
        let cells = vec![put("a", 950, "new", 2), put("a", 800, "old", 1)];
        let got = process_row(
            &cells,
            &r,
            Mode::User(&Scan::new().with_max_versions(3)),
            1000,
        );
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].timestamp, 950);
        let kept = process_row(&cells, &r, Mode::MajorCompaction, 1000);
        assert_eq!(kept.len(), 1);
    }
}
