//! `verify`: compares two tables range by range with hashes, like HBase's `HashTable` and
//! `SyncTable`. The key space is cut along the first table's splits; inside each split
//! both tables are scanned side by side and hashed in ranges of `batch_rows` rows (range
//! boundaries are rows either table has), and ranges whose hashes differ are reported.
//! Adjacent differing ranges are merged.

use std::collections::hash_map::DefaultHasher;
use std::hash::Hasher;

use hfile::CellView;
use store_server::client::RowIter;
use store_server::{Connection, RowResult, Scan, TableName};

use crate::counters::Counters;
use crate::error::Result;
use crate::runner::{RunOptions, Runner};
use crate::split::{plan_table_splits, SplitSource};

/// Counter group of the comparison.
pub const GROUP: &str = "SyncTable";
/// Hash ranges whose hashes matched.
pub const RANGES_MATCHED: &str = "RANGES_MATCHED";
/// Hash ranges whose hashes differed.
pub const RANGES_DIFFER: &str = "RANGES_DIFFER";
/// Rows read from the first table.
pub const SOURCE_ROWS: &str = "SOURCE_ROWS";
/// Rows read from the second table.
pub const TARGET_ROWS: &str = "TARGET_ROWS";

/// What to compare.
#[derive(Clone, Debug)]
pub struct VerifyOptions {
    /// The first table.
    pub table1: String,
    /// The second table.
    pub table2: String,
    /// Rows per hash range (smaller = finer ranges in the report).
    pub batch_rows: usize,
    /// Versions per column compared (`u32::MAX` = all kept versions).
    pub versions: u32,
    /// Compare raw cells (delete markers and masked cells too).
    pub raw: bool,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            table1: String::new(),
            table2: String::new(),
            batch_rows: 1000,
            versions: u32::MAX,
            raw: false,
        }
    }
}

/// A row range `[start, stop)` (`stop` empty = end of table).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowRange {
    /// First row (inclusive; empty = start of table).
    pub start: Vec<u8>,
    /// First row excluded (empty = end of table).
    pub stop: Vec<u8>,
}

impl RowRange {
    /// True if `row` is in the range.
    pub fn contains(&self, row: &[u8]) -> bool {
        row >= self.start.as_slice() && (self.stop.is_empty() || row < self.stop.as_slice())
    }
}

impl std::fmt::Display for RowRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "['{}', '{}')",
            hfile::cell::to_string_binary(&self.start),
            hfile::cell::to_string_binary(&self.stop)
        )
    }
}

/// The comparison's result.
#[derive(Clone, Debug)]
pub struct VerifyReport {
    /// Row ranges whose contents differ (merged, in row order).
    pub differing: Vec<RowRange>,
    /// The job's counters.
    pub counters: Counters,
}

impl VerifyReport {
    /// True if the tables hold the same cells.
    pub fn identical(&self) -> bool {
        self.differing.is_empty()
    }
}

/// A row iterator with one row of look-ahead.
struct Ahead {
    rows: RowIter,
    next: Option<RowResult>,
}

impl Ahead {
    fn new(mut rows: RowIter) -> Result<Ahead> {
        let next = rows.next().transpose()?;
        Ok(Ahead { rows, next })
    }

    fn peek_row(&self) -> Option<&[u8]> {
        self.next.as_ref().map(|r| r.row.as_ref())
    }

    fn take_if(&mut self, row: &[u8]) -> Result<Option<RowResult>> {
        if self.peek_row() != Some(row) {
            return Ok(None);
        }
        let cur = self.next.take();
        self.next = self.rows.next().transpose()?;
        Ok(cur)
    }
}

fn hash_row(h: &mut DefaultHasher, row: &RowResult) {
    h.write_usize(row.row.len());
    h.write(&row.row);
    h.write_usize(row.cells.len());
    for c in &row.cells {
        for part in [c.family(), c.qualifier(), c.value()] {
            h.write_usize(part.len());
            h.write(part);
        }
        h.write_i64(c.timestamp());
        h.write_u8(c.type_code());
    }
}

/// Compares two tables.
pub fn run(conn: &Connection, opts: &VerifyOptions, run: &RunOptions) -> Result<VerifyReport> {
    let t1 = TableName::parse(&opts.table1)?;
    // Both names must parse (and both tables exist, checked when opening them below).
    TableName::parse(&opts.table2)?;
    let tab1 = conn.table(&opts.table1)?;
    let tab2 = conn.table(&opts.table2)?;
    let scan = Scan::new().with_max_versions(opts.versions).raw(opts.raw);
    let runner = Runner::new(conn.clone(), run.clone())?;
    let splits = plan_table_splits(conn, &t1, &scan, &runner.options().split_policy)?;
    let batch_rows = opts.batch_rows.max(1);
    let (per_split, counters) = runner.run_splits("verify", splits, |split, ctx| {
        let SplitSource::Table { start, stop, .. } = &split.source else {
            return Ok(Vec::new());
        };
        let ranged = Scan {
            start_row: start.clone(),
            stop_row: stop.clone(),
            cache_blocks: false,
            ..scan.clone()
        };
        let mut a = Ahead::new(tab1.scan(&ranged)?)?;
        let mut b = Ahead::new(tab2.scan(&ranged)?)?;
        let mut differing = Vec::new();
        let mut range_start = start.clone();
        let (mut ha, mut hb) = (DefaultHasher::new(), DefaultHasher::new());
        let mut n = 0usize;
        let mut close = |range_start: &[u8],
                         end: &[u8],
                         ha: &DefaultHasher,
                         hb: &DefaultHasher,
                         ctx: &mut crate::job::TaskContext| {
            if ha.finish() == hb.finish() {
                ctx.incr(GROUP, RANGES_MATCHED, 1);
            } else {
                ctx.incr(GROUP, RANGES_DIFFER, 1);
                differing.push(RowRange {
                    start: range_start.to_vec(),
                    stop: end.to_vec(),
                });
            }
        };
        loop {
            let key = match (a.peek_row(), b.peek_row()) {
                (None, None) => break,
                (Some(x), None) | (None, Some(x)) => x.to_vec(),
                (Some(x), Some(y)) => std::cmp::min(x, y).to_vec(),
            };
            if n >= batch_rows {
                close(&range_start, &key, &ha, &hb, ctx);
                range_start = key.clone();
                ha = DefaultHasher::new();
                hb = DefaultHasher::new();
                n = 0;
            }
            if let Some(r) = a.take_if(&key)? {
                ctx.incr(GROUP, SOURCE_ROWS, 1);
                hash_row(&mut ha, &r);
            }
            if let Some(r) = b.take_if(&key)? {
                ctx.incr(GROUP, TARGET_ROWS, 1);
                hash_row(&mut hb, &r);
            }
            n += 1;
        }
        close(&range_start, stop, &ha, &hb, ctx);
        Ok(differing)
    })?;
    let mut merged: Vec<RowRange> = Vec::new();
    for r in per_split.into_iter().flatten() {
        match merged.last_mut() {
            Some(last) if !last.stop.is_empty() && last.stop == r.start => last.stop = r.stop,
            _ => merged.push(r),
        }
    }
    Ok(VerifyReport {
        differing: merged,
        counters,
    })
}
