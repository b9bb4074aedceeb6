//! `cellcounter`: counts cells per family and per `family:qualifier` (and rows), like
//! HBase's `CellCounter`. A map/reduce job: each map task counts per column and emits
//! `((family, qualifier), n)` once per column at its end, reducers sum per column.

use std::collections::{BTreeMap, HashMap};

use hfile::cell::same_bytes;
use store_server::{Connection, RowCells, Scan, TableName, TimeRange};

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

/// A map task's cells per family and qualifier. Rows mostly repeat the same columns in
/// the same order, so each column remembers the column that followed it last time: a cell
/// that matches the guess is counted without hashing its family and qualifier.
#[derive(Default)]
struct ColumnCounts {
    /// Family → qualifier → position in `columns` (looked up by borrowed slices).
    index: HashMap<Vec<u8>, HashMap<Vec<u8>, usize>>,
    columns: Vec<ColumnCount>,
    /// The column that began the last row.
    first: Option<usize>,
    /// Rows and cells counted (added to the counters once, at the task's end).
    rows: u64,
    cells: u64,
}

struct ColumnCount {
    family: Vec<u8>,
    qualifier: Vec<u8>,
    cells: u64,
    /// The column that followed this one last time.
    next: Option<usize>,
}

impl ColumnCounts {
    fn add_row(&mut self, row: &RowCells) {
        self.rows += 1;
        self.cells += row.len() as u64;
        let mut prev: Option<usize> = None;
        for (family, qualifier) in row.columns() {
            let guess = match prev {
                None => self.first,
                Some(p) => self.columns[p].next,
            };
            let at = match guess.filter(|&g| {
                let col = &self.columns[g];
                same_bytes(&col.qualifier, qualifier) && same_bytes(&col.family, family)
            }) {
                Some(g) => g,
                None => {
                    let at = self.position(family, qualifier);
                    match prev {
                        None => self.first = Some(at),
                        Some(p) => self.columns[p].next = Some(at),
                    }
                    at
                }
            };
            self.columns[at].cells += 1;
            prev = Some(at);
        }
    }

    fn position(&mut self, family: &[u8], qualifier: &[u8]) -> usize {
        let qualifiers = match self.index.get_mut(family) {
            Some(q) => q,
            None => self.index.entry(family.to_vec()).or_default(),
        };
        if let Some(&at) = qualifiers.get(qualifier) {
            return at;
        }
        let at = self.columns.len();
        qualifiers.insert(qualifier.to_vec(), at);
        self.columns.push(ColumnCount {
            family: family.to_vec(),
            qualifier: qualifier.to_vec(),
            cells: 0,
            next: None,
        });
        at
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
        ctx.local::<ColumnCounts>().add_row(row);
        Ok(())
    })
    .with_cleanup(|ctx, out| {
        let counts = ctx.take_local::<ColumnCounts>().unwrap_or_default();
        ctx.incr(GROUP, ROWS, counts.rows as i64);
        ctx.incr(GROUP, CELLS, counts.cells as i64);
        for c in counts.columns {
            out.emit(((c.family, c.qualifier), c.cells))?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use hfile::Cell;
    use store_server::RowResult;

    #[test]
    fn guessed_columns_count_like_a_map() {
        // Rows that repeat, reorder, skip and repeat (versions) columns.
        let shapes: [&[(&str, &str)]; 5] = [
            &[("a", "x"), ("a", "y"), ("b", "x")],
            &[("a", "x"), ("a", "y"), ("b", "x")],
            &[("a", "y"), ("a", "y"), ("b", "z")],
            &[("a", "x"), ("b", "x"), ("b", "x")],
            &[("b", "x")],
        ];
        let mut counts = ColumnCounts::default();
        let mut expected: BTreeMap<(Vec<u8>, Vec<u8>), u64> = BTreeMap::new();
        let mut row = RowCells::new();
        for (i, shape) in shapes.iter().cycle().take(23).enumerate() {
            let key = format!("r{i:02}");
            row.load(&RowResult {
                row: key.clone().into(),
                cells: shape
                    .iter()
                    .map(|(f, q)| Cell::put(key.clone(), f.to_string(), q.to_string(), 1, "v"))
                    .collect(),
            });
            counts.add_row(&row);
            for (f, q) in shape.iter() {
                *expected
                    .entry((f.as_bytes().to_vec(), q.as_bytes().to_vec()))
                    .or_default() += 1;
            }
        }
        let got: BTreeMap<_, _> = counts
            .columns
            .into_iter()
            .map(|c| ((c.family, c.qualifier), c.cells))
            .collect();
        assert_eq!(got, expected);
    }
}
