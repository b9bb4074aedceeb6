//! HBase read semantics over the merged cells of one row: delete markers (Delete,
//! DeleteColumn, DeleteFamily, DeleteFamilyVersion), versions, time ranges, TTL, column
//! selection and filters. Major compactions use the same rules to decide what survives.

use std::collections::HashMap;
use std::sync::Arc;

use hfile::{CellType, CellView};

use crate::scan::Scan;
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

/// What the cells are matched for.
#[derive(Clone, Debug)]
pub enum Mode {
    /// A client read.
    User(Arc<Scan>),
    /// A major compaction: drop markers, masked, expired and excess versions.
    MajorCompaction,
    /// A minor compaction: drop only older writes of identical keys.
    MinorCompaction,
}

/// Why a cell is not kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Skip {
    /// An older write of an identical key (same column, timestamp and type).
    Duplicate,
    /// A delete marker (kept by minor compactions and raw scans only).
    DeleteMarker,
    /// A put masked by a delete marker.
    Deleted,
    /// A put older than the family's TTL beyond `min_versions`.
    ExpiredTtl,
    /// A put beyond the versions wanted; the rest of its column can be skipped.
    ExcessVersions,
    /// A put outside the scan's time range.
    OutsideTimeRange,
    /// A cell of a family or column the read does not select.
    NotSelected,
    /// A cell of an unknown type.
    UnknownType,
}

/// The matcher's decision on one cell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The cell is visible (a read returns it; a compaction writes it).
    Keep,
    /// The cell is dropped, for this reason.
    Skip(Skip),
}

/// HBase semantics applied cell by cell to a merged, sorted stream: feed the cells of a
/// row in order to [`RowMatcher::check`] after [`RowMatcher::start_row`]. Cells are only
/// borrowed; the matcher copies the current family and qualifier into buffers it reuses.
pub struct RowMatcher {
    rules: Arc<HashMap<Vec<u8>, FamilyRules>>,
    mode: Mode,
    now_ms: i64,
    family: Vec<u8>,
    family_known: bool,
    in_family: bool,
    family_rules: Option<FamilyRules>,
    max_versions: u32,
    oldest_unexpired: Option<i64>,
    family_ts: Option<i64>,
    family_versions: Vec<i64>,
    qualifier: Vec<u8>,
    in_column: bool,
    col_delete_ts: Option<i64>,
    version_deletes: Vec<i64>,
    prev: Option<(i64, u8)>,
    count: u32,
    /// Whether the current column is returned.
    selected: bool,
}

impl RowMatcher {
    /// A matcher for `mode` with per-family `rules` (families absent from them are not
    /// served) at time `now_ms` (for TTL).
    pub fn new(rules: Arc<HashMap<Vec<u8>, FamilyRules>>, mode: Mode, now_ms: i64) -> RowMatcher {
        RowMatcher {
            rules,
            mode,
            now_ms,
            family: Vec::new(),
            family_known: false,
            in_family: false,
            family_rules: None,
            max_versions: 1,
            oldest_unexpired: None,
            family_ts: None,
            family_versions: Vec::new(),
            qualifier: Vec::new(),
            in_column: false,
            col_delete_ts: None,
            version_deletes: Vec::new(),
            prev: None,
            count: 0,
            selected: true,
        }
    }

    /// True if the column of the cell last checked is one the read returns: selected by
    /// the scan and passing its column filters (always true for compactions). The
    /// decision is made once per column, not per cell.
    pub fn selected(&self) -> bool {
        self.selected
    }

    /// True once a read has kept as many versions of the current column as it wants: every
    /// later cell of the column is an older version or a marker that can mask only older
    /// versions, so the read may skip them unseen (HBase's `INCLUDE_AND_SEEK_NEXT_COL`).
    /// Family-wide markers sort before every column and were seen already. Always false for
    /// compactions and raw scans, which see every cell.
    pub fn column_done(&self) -> bool {
        matches!(&self.mode, Mode::User(scan) if !scan.raw) && self.count >= self.max_versions
    }

    /// The family and qualifier of the cell last checked.
    pub fn column(&self) -> (&[u8], &[u8]) {
        (&self.family, &self.qualifier)
    }

    /// Forgets the previous row; call before the first cell of each row.
    pub fn start_row(&mut self) {
        self.in_family = false;
        self.in_column = false;
    }

    fn enter_family(&mut self, family: &[u8]) {
        // The rules of the previous row's family are reused: rows mostly share families.
        if !self.family_known || family != self.family.as_slice() {
            self.family.clear();
            self.family.extend_from_slice(family);
            self.family_known = true;
            self.family_rules = self.rules.get(family).copied();
            if let Some(r) = &self.family_rules {
                self.max_versions = match &self.mode {
                    Mode::User(scan) => scan.max_versions.clamp(1, r.max_versions),
                    _ => r.max_versions,
                };
                self.oldest_unexpired = r.ttl_ms.map(|t| self.now_ms.saturating_sub(t));
            }
        }
        self.in_family = true;
        self.in_column = false;
        self.family_ts = None;
        self.family_versions.clear();
    }

    fn enter_column(&mut self, qualifier: &[u8]) {
        self.qualifier.clear();
        self.qualifier.extend_from_slice(qualifier);
        self.in_column = true;
        self.col_delete_ts = None;
        self.version_deletes.clear();
        self.prev = None;
        self.count = 0;
        if let Mode::User(scan) = &self.mode {
            self.selected = scan.selects(&self.family, qualifier);
        }
    }

    /// Decides whether `c`, the next cell of the current row, is kept.
    pub fn check<C: CellView + ?Sized>(&mut self, c: &C) -> Verdict {
        if let Mode::User(scan) = &self.mode {
            if scan.raw {
                let shown = scan.time_range.contains(c.timestamp())
                    && scan.wants_family(c.family())
                    && scan
                        .filter
                        .as_ref()
                        .is_none_or(|f| f.column_passes(c.qualifier()));
                return if shown {
                    Verdict::Keep
                } else {
                    Verdict::Skip(Skip::NotSelected)
                };
            }
        }
        if !self.in_family || c.family() != self.family.as_slice() {
            self.enter_family(c.family());
        }
        let Some(r) = self.family_rules else {
            return Verdict::Skip(Skip::NotSelected);
        };
        if !self.in_column || c.qualifier() != self.qualifier.as_slice() {
            self.enter_column(c.qualifier());
        }
        let ts = c.timestamp();
        let key = (ts, c.type_code());
        if self.prev == Some(key) {
            return Verdict::Skip(Skip::Duplicate);
        }
        self.prev = Some(key);
        if let Mode::MinorCompaction = self.mode {
            return Verdict::Keep;
        }
        match c.cell_type() {
            Some(CellType::DeleteFamily) => {
                self.family_ts = Some(self.family_ts.map_or(ts, |f| f.max(ts)));
                Verdict::Skip(Skip::DeleteMarker)
            }
            Some(CellType::DeleteFamilyVersion) => {
                self.family_versions.push(ts);
                Verdict::Skip(Skip::DeleteMarker)
            }
            Some(CellType::DeleteColumn) => {
                self.col_delete_ts = Some(self.col_delete_ts.map_or(ts, |f| f.max(ts)));
                Verdict::Skip(Skip::DeleteMarker)
            }
            Some(CellType::Delete) => {
                self.version_deletes.push(ts);
                Verdict::Skip(Skip::DeleteMarker)
            }
            Some(CellType::Put) => {
                let masked = self.family_ts.is_some_and(|f| ts <= f)
                    || self.family_versions.contains(&ts)
                    || self.col_delete_ts.is_some_and(|d| ts <= d)
                    || self.version_deletes.contains(&ts);
                if masked {
                    return Verdict::Skip(Skip::Deleted);
                }
                if let Mode::User(scan) = &self.mode {
                    if !scan.time_range.contains(ts) {
                        return Verdict::Skip(Skip::OutsideTimeRange);
                    }
                }
                if self.oldest_unexpired.is_some_and(|o| ts < o) && self.count >= r.min_versions {
                    return Verdict::Skip(Skip::ExpiredTtl);
                }
                if self.count >= self.max_versions {
                    return Verdict::Skip(Skip::ExcessVersions);
                }
                self.count += 1;
                Verdict::Keep
            }
            _ => Verdict::Skip(Skip::UnknownType),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memstore::compare_with_seq;
    use crate::row::RowCells;
    use crate::scan::TimeRange;
    use hfile::Cell;

    /// The cells of one sorted row that a read (or compaction) in `mode` keeps.
    fn process_row(
        cells: &[Cell],
        rules: &HashMap<Vec<u8>, FamilyRules>,
        mode: Mode,
        now_ms: i64,
    ) -> Vec<Cell> {
        let mut m = RowMatcher::new(Arc::new(rules.clone()), mode.clone(), now_ms);
        m.start_row();
        let mut out = RowCells::new();
        out.start(b"r");
        for c in cells.iter().filter(|c| m.check(*c) == Verdict::Keep) {
            out.push(c);
        }
        if let Mode::User(scan) = &mode {
            out.apply(scan);
        }
        out.to_result().cells
    }

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
        process_row(&cells, &rules(v), Mode::User(Arc::new(scan.clone())), 1000)
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
            Mode::User(Arc::new(Scan::new().with_max_versions(3))),
            1000,
        );
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].timestamp, 950);
        let kept = process_row(&cells, &r, Mode::MajorCompaction, 1000);
        assert_eq!(kept.len(), 1);
    }
}
