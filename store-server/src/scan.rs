//! Read requests and results: [`Scan`], [`Get`], [`Filter`], [`TimeRange`] and
//! [`RowResult`].

use std::sync::{Arc, LazyLock};

use bytes::Bytes;
use hfile::{Cell, CellView};

use crate::row::RowCells;

/// A half-open timestamp range `[min, max)` in milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeRange {
    /// Smallest timestamp included.
    pub min: i64,
    /// First timestamp excluded.
    pub max: i64,
}

impl Default for TimeRange {
    fn default() -> Self {
        TimeRange::all()
    }
}

impl TimeRange {
    /// Every timestamp.
    pub fn all() -> TimeRange {
        TimeRange {
            min: i64::MIN,
            max: i64::MAX,
        }
    }

    /// `[min, max)`.
    pub fn new(min: i64, max: i64) -> TimeRange {
        TimeRange { min, max }
    }

    /// Exactly one timestamp.
    pub fn at(ts: i64) -> TimeRange {
        TimeRange {
            min: ts,
            max: ts.saturating_add(1),
        }
    }

    /// True if `ts` is in the range. (The maximum timestamp is included when `max` is
    /// `i64::MAX`, so "all" really means all.)
    pub fn contains(&self, ts: i64) -> bool {
        ts >= self.min && (ts < self.max || self.max == i64::MAX)
    }

    /// True if `[lo, hi]` overlaps the range.
    pub fn overlaps(&self, lo: i64, hi: i64) -> bool {
        hi >= self.min && (lo < self.max || self.max == i64::MAX)
    }
}

/// How a filter compares a cell value with its operand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompareOp {
    /// `<`
    Less,
    /// `<=`
    LessOrEqual,
    /// `==`
    Equal,
    /// `!=`
    NotEqual,
    /// `>=`
    GreaterOrEqual,
    /// `>`
    Greater,
}

impl CompareOp {
    /// Applies the operator to `value OP operand` in unsigned byte order.
    pub fn matches(self, value: &[u8], operand: &[u8]) -> bool {
        let o = value.cmp(operand);
        match self {
            CompareOp::Less => o.is_lt(),
            CompareOp::LessOrEqual => o.is_le(),
            CompareOp::Equal => o.is_eq(),
            CompareOp::NotEqual => o.is_ne(),
            CompareOp::GreaterOrEqual => o.is_ge(),
            CompareOp::Greater => o.is_gt(),
        }
    }
}

/// Server-side row and cell filters (HBase's filter classes of the same names).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Filter {
    /// `PrefixFilter`: only rows starting with the prefix.
    Prefix(Vec<u8>),
    /// `ColumnPrefixFilter`: only cells whose qualifier starts with the prefix.
    ColumnPrefix(Vec<u8>),
    /// `SingleColumnValueFilter`: keep a row if the newest visible value of
    /// `family:qualifier` satisfies `op operand`; rows without the column are kept unless
    /// `filter_if_missing`.
    SingleColumnValue {
        /// Family of the tested column.
        family: Vec<u8>,
        /// Qualifier of the tested column.
        qualifier: Vec<u8>,
        /// Comparison.
        op: CompareOp,
        /// Right-hand operand.
        operand: Vec<u8>,
        /// Drop rows that lack the column.
        filter_if_missing: bool,
    },
    /// `KeyOnlyFilter`: return cells with empty values.
    KeyOnly,
    /// `FirstKeyOnlyFilter`: return only the first cell of each row.
    FirstKeyOnly,
    /// `PageFilter`: stop after this many rows.
    Page(usize),
    /// `FilterList(MUST_PASS_ALL)`: every filter applies.
    All(Vec<Filter>),
}

impl Filter {
    /// True if the row key alone passes the row-key filters.
    pub fn row_passes(&self, row: &[u8]) -> bool {
        match self {
            Filter::Prefix(p) => row.starts_with(p),
            Filter::All(fs) => fs.iter().all(|f| f.row_passes(row)),
            _ => true,
        }
    }

    /// True if a cell's column passes the column filters.
    pub fn column_passes(&self, qualifier: &[u8]) -> bool {
        match self {
            Filter::ColumnPrefix(p) => qualifier.starts_with(p),
            Filter::All(fs) => fs.iter().all(|f| f.column_passes(qualifier)),
            _ => true,
        }
    }

    /// True if the filter lets every column through (no column filter in it).
    pub fn passes_every_column(&self) -> bool {
        match self {
            Filter::ColumnPrefix(_) => false,
            Filter::All(fs) => fs.iter().all(Filter::passes_every_column),
            _ => true,
        }
    }

    /// Row-level decision on the visible cells of a row (before column selection).
    pub fn row_cells_pass(&self, row: &RowCells) -> bool {
        match self {
            Filter::SingleColumnValue {
                family,
                qualifier,
                op,
                operand,
                filter_if_missing,
            } => match row.value(family, qualifier) {
                Some(v) => op.matches(v, operand),
                None => !filter_if_missing,
            },
            Filter::All(fs) => fs.iter().all(|f| f.row_cells_pass(row)),
            _ => true,
        }
    }

    /// True if the row-level decision needs every visible cell of the row, including
    /// columns the scan does not return (a single-column-value test).
    pub fn needs_row_cells(&self) -> bool {
        match self {
            Filter::SingleColumnValue { .. } => true,
            Filter::All(fs) => fs.iter().any(Filter::needs_row_cells),
            _ => false,
        }
    }

    /// The most cells a row can return (1 with first-key-only), if limited.
    pub fn cells_per_row(&self) -> Option<usize> {
        match self {
            Filter::FirstKeyOnly => Some(1),
            Filter::All(fs) => fs.iter().filter_map(Filter::cells_per_row).min(),
            _ => None,
        }
    }

    /// The smallest page limit among the filters, if any.
    pub fn page_limit(&self) -> Option<usize> {
        match self {
            Filter::Page(n) => Some(*n),
            Filter::All(fs) => fs.iter().filter_map(|f| f.page_limit()).min(),
            _ => None,
        }
    }
}

/// A column selection: a whole family, or one column of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Column {
    /// The family.
    pub family: Vec<u8>,
    /// The qualifier, or `None` for every column of the family.
    pub qualifier: Option<Vec<u8>>,
}

/// A range read over rows (HBase's `Scan`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scan {
    /// First row (inclusive; empty = start of table). For a reversed scan, the highest row.
    pub start_row: Vec<u8>,
    /// Row to stop at (exclusive; empty = end of table). For a reversed scan, the lowest.
    pub stop_row: Vec<u8>,
    /// Selected families/columns; empty = all.
    pub columns: Vec<Column>,
    /// Timestamps returned.
    pub time_range: TimeRange,
    /// Versions per column returned (capped by the family's max versions).
    pub max_versions: u32,
    /// Maximum rows returned.
    pub limit: Option<usize>,
    /// Scan from high rows to low rows.
    pub reversed: bool,
    /// Optional filter.
    pub filter: Option<Filter>,
    /// Raw scan: return delete markers and masked cells too (for inspection).
    pub raw: bool,
    /// Whether blocks the scan reads are added to the block cache (HBase's
    /// `setCacheBlocks`; parallel scan jobs turn it off so one pass over a table does not
    /// evict the blocks that point reads keep hot).
    pub cache_blocks: bool,
}

impl Default for Scan {
    fn default() -> Self {
        Scan {
            start_row: Vec::new(),
            stop_row: Vec::new(),
            columns: Vec::new(),
            time_range: TimeRange::all(),
            max_versions: 1,
            limit: None,
            reversed: false,
            filter: None,
            raw: false,
            cache_blocks: true,
        }
    }
}

/// The smallest row greater than every row starting with `prefix` (empty if none).
pub fn prefix_stop_row(prefix: &[u8]) -> Vec<u8> {
    let mut stop = prefix.to_vec();
    while let Some(last) = stop.pop() {
        if last < 0xff {
            stop.push(last + 1);
            return stop;
        }
    }
    Vec::new()
}

impl Scan {
    /// A scan over the whole table.
    pub fn new() -> Scan {
        Scan::default()
    }

    /// Sets the start row (builder style).
    pub fn with_start_row(mut self, row: impl Into<Vec<u8>>) -> Self {
        self.start_row = row.into();
        self
    }

    /// Sets the stop row (builder style).
    pub fn with_stop_row(mut self, row: impl Into<Vec<u8>>) -> Self {
        self.stop_row = row.into();
        self
    }

    /// Restricts the scan to rows starting with `prefix` (sets start and stop rows).
    pub fn with_prefix(mut self, prefix: impl Into<Vec<u8>>) -> Self {
        let p = prefix.into();
        self.stop_row = prefix_stop_row(&p);
        self.start_row = p;
        self
    }

    /// Adds a whole family to the selection.
    pub fn add_family(mut self, family: impl Into<Vec<u8>>) -> Self {
        self.columns.push(Column {
            family: family.into(),
            qualifier: None,
        });
        self
    }

    /// Adds one column to the selection.
    pub fn add_column(mut self, family: impl Into<Vec<u8>>, qualifier: impl Into<Vec<u8>>) -> Self {
        self.columns.push(Column {
            family: family.into(),
            qualifier: Some(qualifier.into()),
        });
        self
    }

    /// Sets the time range.
    pub fn with_time_range(mut self, tr: TimeRange) -> Self {
        self.time_range = tr;
        self
    }

    /// Sets the versions per column.
    pub fn with_max_versions(mut self, v: u32) -> Self {
        self.max_versions = v.max(1);
        self
    }

    /// Sets whether the blocks read are added to the block cache.
    pub fn with_cache_blocks(mut self, cache: bool) -> Self {
        self.cache_blocks = cache;
        self
    }

    /// Sets the row limit.
    pub fn with_limit(mut self, n: usize) -> Self {
        self.limit = Some(n);
        self
    }

    /// Reverses the scan direction.
    pub fn reversed(mut self, r: bool) -> Self {
        self.reversed = r;
        self
    }

    /// Sets the filter.
    pub fn with_filter(mut self, f: Filter) -> Self {
        self.filter = Some(f);
        self
    }

    /// Turns raw mode on or off.
    pub fn raw(mut self, raw: bool) -> Self {
        self.raw = raw;
        self
    }

    /// The effective row limit (the smaller of `limit` and any page filter).
    pub fn row_limit(&self) -> Option<usize> {
        match (
            self.limit,
            self.filter.as_ref().and_then(|f| f.page_limit()),
        ) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The forward row interval `[lo, hi)` this scan covers (hi empty = unbounded).
    /// For a reversed scan `start_row` is the inclusive upper end and `stop_row` the
    /// exclusive lower end, as in HBase.
    pub fn forward_bounds(&self) -> (Vec<u8>, Bound) {
        if self.reversed {
            let hi = if self.start_row.is_empty() {
                Bound::Unbounded
            } else {
                Bound::Inclusive(self.start_row.clone())
            };
            let mut lo = self.stop_row.clone();
            if !lo.is_empty() {
                // Exclusive lower end: the next row after `stop_row`.
                lo.push(0);
            }
            (lo, hi)
        } else {
            let hi = if self.stop_row.is_empty() {
                Bound::Unbounded
            } else {
                Bound::Exclusive(self.stop_row.clone())
            };
            (self.start_row.clone(), hi)
        }
    }

    /// True if the family is selected.
    pub fn wants_family(&self, family: &[u8]) -> bool {
        self.columns.is_empty() || self.columns.iter().any(|c| c.family == family)
    }

    /// True if the column is selected.
    pub fn wants_column(&self, family: &[u8], qualifier: &[u8]) -> bool {
        self.columns.is_empty()
            || self.columns.iter().any(|c| {
                c.family == family
                    && c.qualifier
                        .as_deref()
                        .map(|q| q == qualifier)
                        .unwrap_or(true)
            })
    }

    /// True if the scan returns cells of this column: selected, and passing the column
    /// filters.
    pub fn selects(&self, family: &[u8], qualifier: &[u8]) -> bool {
        self.wants_column(family, qualifier)
            && self
                .filter
                .as_ref()
                .is_none_or(|f| f.column_passes(qualifier))
    }
}

/// The upper end of a row interval.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Bound {
    /// No upper end.
    Unbounded,
    /// Up to and including this row.
    Inclusive(Vec<u8>),
    /// Up to but excluding this row.
    Exclusive(Vec<u8>),
}

impl Bound {
    /// True if `row` is beyond this upper bound.
    pub fn is_past(&self, row: &[u8]) -> bool {
        match self {
            Bound::Unbounded => false,
            Bound::Inclusive(b) => row > b.as_slice(),
            Bound::Exclusive(b) => row >= b.as_slice(),
        }
    }
}

/// A single-row read (HBase's `Get`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Get {
    /// The row.
    pub row: Vec<u8>,
    /// Selected families/columns; empty = all.
    pub columns: Vec<Column>,
    /// Timestamps returned.
    pub time_range: TimeRange,
    /// Versions per column returned.
    pub max_versions: u32,
    /// Optional filter.
    pub filter: Option<Filter>,
}

impl Get {
    /// Reads the newest version of every column of `row`.
    pub fn new(row: impl Into<Vec<u8>>) -> Get {
        Get {
            row: row.into(),
            columns: Vec::new(),
            time_range: TimeRange::all(),
            max_versions: 1,
            filter: None,
        }
    }

    /// Adds a whole family to the selection.
    pub fn add_family(mut self, family: impl Into<Vec<u8>>) -> Self {
        self.columns.push(Column {
            family: family.into(),
            qualifier: None,
        });
        self
    }

    /// Adds one column to the selection.
    pub fn add_column(mut self, family: impl Into<Vec<u8>>, qualifier: impl Into<Vec<u8>>) -> Self {
        self.columns.push(Column {
            family: family.into(),
            qualifier: Some(qualifier.into()),
        });
        self
    }

    /// Sets the versions per column.
    pub fn with_max_versions(mut self, v: u32) -> Self {
        self.max_versions = v.max(1);
        self
    }

    /// Sets the time range.
    pub fn with_time_range(mut self, tr: TimeRange) -> Self {
        self.time_range = tr;
        self
    }

    /// Sets the filter.
    pub fn with_filter(mut self, f: Filter) -> Self {
        self.filter = Some(f);
        self
    }

    /// What a region's row matcher needs of this get: its columns, time range, versions
    /// and filter, without the row bounds (the region bounds the read to the row). A get of
    /// the newest version of every column shares one.
    pub(crate) fn row_scan(&self) -> Arc<Scan> {
        static WHOLE_ROW: LazyLock<Arc<Scan>> = LazyLock::new(|| Arc::new(Scan::default()));
        let row_scan = self.unbounded_scan();
        if row_scan == Scan::default() {
            return WHOLE_ROW.clone();
        }
        Arc::new(row_scan)
    }

    /// This get's columns, time range, versions and filter as a scan of every row.
    fn unbounded_scan(&self) -> Scan {
        Scan {
            columns: self.columns.clone(),
            time_range: self.time_range,
            max_versions: self.max_versions,
            filter: self.filter.clone(),
            ..Scan::default()
        }
    }

    /// The equivalent one-row scan.
    pub fn to_scan(&self) -> Scan {
        let mut stop = self.row.clone();
        stop.push(0);
        Scan {
            start_row: self.row.clone(),
            stop_row: stop,
            limit: Some(1),
            ..self.unbounded_scan()
        }
    }
}

/// The cells returned for one row, in HBase cell order.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct RowResult {
    /// The row key.
    pub row: Bytes,
    /// The cells (family, qualifier ascending; newest version first).
    pub cells: Vec<Cell>,
}

impl RowResult {
    /// True if no cell was returned.
    pub fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }

    /// The newest value of `family:qualifier`.
    pub fn value(&self, family: &[u8], qualifier: &[u8]) -> Option<&Bytes> {
        self.cells
            .iter()
            .find(|c| c.family() == family && c.qualifier() == qualifier)
            .map(|c| &c.value)
    }

    /// Every returned version of `family:qualifier`, newest first, as (timestamp, value).
    pub fn versions(&self, family: &[u8], qualifier: &[u8]) -> Vec<(i64, Bytes)> {
        self.cells
            .iter()
            .filter(|c| c.family() == family && c.qualifier() == qualifier)
            .map(|c| (c.timestamp, c.value.clone()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_and_bounds() {
        assert_eq!(prefix_stop_row(b"ab"), b"ac".to_vec());
        assert_eq!(prefix_stop_row(b"a\xff"), b"b".to_vec());
        assert_eq!(prefix_stop_row(b"\xff\xff"), Vec::<u8>::new());
        let s = Scan::new().with_prefix("row1");
        assert_eq!(
            (s.start_row.as_slice(), s.stop_row.as_slice()),
            (&b"row1"[..], &b"row2"[..])
        );
        let (lo, hi) = Scan::new()
            .with_start_row("m")
            .with_stop_row("c")
            .reversed(true)
            .forward_bounds();
        assert_eq!(lo, b"c\0".to_vec());
        assert!(hi.is_past(b"n") && !hi.is_past(b"m"));
        assert!(TimeRange::all().contains(i64::MAX));
        assert!(!TimeRange::new(5, 10).contains(10));
        assert!(CompareOp::GreaterOrEqual.matches(b"b", b"a"));
        let f = Filter::All(vec![
            Filter::Page(5),
            Filter::Page(3),
            Filter::Prefix(b"r".to_vec()),
        ]);
        assert_eq!(f.page_limit(), Some(3));
        assert!(f.row_passes(b"row") && !f.row_passes(b"x"));
    }
}
