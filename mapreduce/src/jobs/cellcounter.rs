//! `cellcounter`: counts cells per family and per `family:qualifier` (and rows), like
//! HBase's `CellCounter`. A map/reduce job: each map task counts per column and emits
//! `((family, qualifier), n)` once per column at its end, reducers sum per column.

use std::collections::{BTreeMap, HashMap};

use store_server::{Connection, Scan, TableName, TimeRange};

use crate::counters::Counters;
use crate::error::Result;
use crate::job::{Input, Job, Reduce};
use crate::output::MemoryOutput;
use crate::runner::{RunOptions, Runner};

/// Counter group of the job's totals.
pub const GROUP: &str = "CellCounter";
/// Rows seen.
pub const ROWS: &str = "ROWS";
/// Cells seen.
pub const CELLS: &str = "CELLS";

/// What to count.
#[derive(Clone, Debug)]
pub struct CellCounterOptions {
    /// The table.
    pub table: String,
    /// Versions per column counted (`u32::MAX` = every version the table keeps).
    pub versions: u32,
    /// Timestamps counted.
    pub time_range: TimeRange,
    /// Count raw cells (delete markers and masked cells too).
    pub raw: bool,
    /// Reduce tasks.
    pub reducers: usize,
}

impl Default for CellCounterOptions {
    fn default() -> Self {
        CellCounterOptions {
            table: String::new(),
            versions: u32::MAX,
            time_range: TimeRange::all(),
            raw: false,
            reducers: 2,
        }
    }
}

/// The counts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CellCounts {
    /// Rows with at least one cell.
    pub rows: u64,
    /// Cells in total.
    pub cells: u64,
    /// Cells per family.
    pub per_family: BTreeMap<Vec<u8>, u64>,
    /// Cells per (family, qualifier).
    pub per_column: BTreeMap<(Vec<u8>, Vec<u8>), u64>,
    /// The job's counters.
    pub counters: Counters,
}

/// A map task's cells per family and qualifier (looked up by borrowed slices).
#[derive(Default)]
struct ColumnCounts(HashMap<Vec<u8>, HashMap<Vec<u8>, u64>>);

impl ColumnCounts {
    fn add(&mut self, family: &[u8], qualifier: &[u8]) {
        let qualifiers = match self.0.get_mut(family) {
            Some(q) => q,
            None => self.0.entry(family.to_vec()).or_default(),
        };
        match qualifiers.get_mut(qualifier) {
            Some(n) => *n += 1,
            None => {
                qualifiers.insert(qualifier.to_vec(), 1);
            }
        }
    }
}

/// Counts cells.
pub fn run(conn: &Connection, opts: &CellCounterOptions, run: &RunOptions) -> Result<CellCounts> {
    let runner = Runner::new(conn.clone(), run.clone())?;
    let scan = Scan::new()
        .with_max_versions(opts.versions)
        .with_time_range(opts.time_range)
        .raw(opts.raw);
    let input = Input::table(TableName::parse(&opts.table)?, scan);
    type Key = (Vec<u8>, Vec<u8>);
    // In-mapper combining: a task counts per column in its own map and emits one record per
    // column at its end, instead of one record (two allocations) per column of every row.
    let job: Job<(Key, u64)> = Job::map_rows("cellcounter", input, |row, ctx, _out| {
        if row.is_empty() {
            return Ok(());
        }
        ctx.incr(GROUP, ROWS, 1);
        ctx.incr(GROUP, CELLS, row.len() as i64);
        let counts = ctx.local::<ColumnCounts>();
        for c in row.cells() {
            counts.add(c.family, c.qualifier);
        }
        Ok(())
    })
    .with_cleanup(|ctx, out| {
        for (family, qualifiers) in ctx.take_local::<ColumnCounts>().unwrap_or_default().0 {
            for (qualifier, n) in qualifiers {
                out.emit(((family.clone(), qualifier), n))?;
            }
        }
        Ok(())
    });
    let reduce: Reduce<Key, u64, (Key, u64)> = Reduce::new(opts.reducers, |k, vals, _ctx, out| {
        out.emit((k, vals.iter().sum()))
    });
    let report = runner.run_map_reduce(&job, &reduce, &MemoryOutput::new())?;
    let mut counts = CellCounts {
        rows: u64::try_from(report.counters.get(GROUP, ROWS)).unwrap_or(0),
        cells: u64::try_from(report.counters.get(GROUP, CELLS)).unwrap_or(0),
        ..CellCounts::default()
    };
    for ((f, q), n) in report.output {
        *counts.per_family.entry(f.clone()).or_default() += n;
        counts.per_column.insert((f, q), n);
    }
    counts.counters = report.counters;
    Ok(counts)
}
