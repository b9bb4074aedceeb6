//! `rowcounter`: counts the rows of a table (HBase's `RowCounter`), optionally in a row
//! range and only rows having one of the given columns. Map-only; the answer is the
//! `ROWS` counter of group [`GROUP`].

use store_server::{Connection, Filter, Scan, TableName};

use crate::counters::Counters;
use crate::error::{Error, Result};
use crate::job::{Emit, Input, Job};
use crate::output::NullOutput;
use crate::runner::{RunOptions, Runner};

/// The counter group of the row count (as HBase names it).
pub const GROUP: &str = "org.apache.hadoop.hbase.mapreduce.RowCounter$RowCounterMapper$Counters";
/// The row count's counter name.
pub const ROWS: &str = "ROWS";

/// A column selection: `(family, Some(qualifier))`, or `(family, None)` for any column of
/// the family.
pub type ColumnSpec = (Vec<u8>, Option<Vec<u8>>);

/// What to count.
#[derive(Clone, Debug, Default)]
pub struct RowCounterOptions {
    /// The table.
    pub table: String,
    /// First row (inclusive).
    pub start: Option<Vec<u8>>,
    /// Row to stop at (exclusive).
    pub stop: Option<Vec<u8>>,
    /// Count only rows with at least one of these columns: `(family, Some(qualifier))` or
    /// `(family, None)` for any column of the family.
    pub columns: Vec<ColumnSpec>,
}

/// Parses `F` or `F:Q` column specs (`\xNN` escapes allowed).
pub fn parse_columns(specs: &[String]) -> Result<Vec<ColumnSpec>> {
    specs
        .iter()
        .filter(|s| !s.is_empty())
        .map(|s| {
            let (f, q) = match s.split_once(':') {
                Some((f, q)) => (f, Some(hfile::cell::from_string_binary(q))),
                None => (s.as_str(), None),
            };
            if f.is_empty() {
                return Err(Error::InvalidArgument(format!(
                    "column '{s}' has no family (use F or F:Q)"
                )));
            }
            Ok((hfile::cell::from_string_binary(f), q))
        })
        .collect()
}

/// The scan a row count uses: the row range, the columns, and `FirstKeyOnly` (one cell
/// per row is enough to count it).
pub fn scan_for(opts: &RowCounterOptions) -> Scan {
    let mut scan = Scan::new();
    if let Some(s) = &opts.start {
        scan = scan.with_start_row(s.clone());
    }
    if let Some(s) = &opts.stop {
        scan = scan.with_stop_row(s.clone());
    }
    for (f, q) in &opts.columns {
        scan = match q {
            Some(q) => scan.add_column(f.clone(), q.clone()),
            None => scan.add_family(f.clone()),
        };
    }
    scan.with_filter(Filter::FirstKeyOnly)
}

/// Counts rows; returns the count and the job's counters.
pub fn run(
    conn: &Connection,
    opts: &RowCounterOptions,
    run: &RunOptions,
) -> Result<(u64, Counters)> {
    let runner = Runner::new(conn.clone(), run.clone())?;
    let input = Input::table(TableName::parse(&opts.table)?, scan_for(opts));
    let job = Job::map_rows("rowcounter", input, |row, ctx, _out: &mut dyn Emit<()>| {
        if !row.is_empty() {
            ctx.incr(GROUP, ROWS, 1);
        }
        Ok(())
    });
    let report = runner.run_map_only(&job, &NullOutput::new())?;
    let rows = u64::try_from(report.counters.get(GROUP, ROWS)).unwrap_or(0);
    Ok((rows, report.counters))
}
