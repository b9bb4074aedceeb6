//! `copytable`: copies a table (or some families, a time range, some versions) into
//! another, like HBase's `CopyTable` — but through HFiles and bulk load instead of puts.
//! A missing destination is created with the source's schema and region boundaries.

use store_server::{Connection, Scan, TableName, TimeRange};

use crate::counters::Counters;
use crate::error::{Error, Result};
use crate::job::{Input, Job};
use crate::output::{TableLoad, TableOutput};
use crate::runner::{RunOptions, Runner};

/// What to copy.
#[derive(Clone, Debug)]
pub struct CopyTableOptions {
    /// Source table.
    pub src: String,
    /// Destination table (created if missing).
    pub dst: String,
    /// Families to copy (empty = all).
    pub families: Vec<Vec<u8>>,
    /// Smallest timestamp copied (inclusive).
    pub start_time: Option<i64>,
    /// First timestamp not copied (exclusive).
    pub end_time: Option<i64>,
    /// Versions per column copied (HBase's default: 1).
    pub versions: u32,
    /// First row (inclusive).
    pub start_row: Option<Vec<u8>>,
    /// Row to stop at (exclusive).
    pub stop_row: Option<Vec<u8>>,
}

impl Default for CopyTableOptions {
    fn default() -> Self {
        CopyTableOptions {
            src: String::new(),
            dst: String::new(),
            families: Vec::new(),
            start_time: None,
            end_time: None,
            versions: 1,
            start_row: None,
            stop_row: None,
        }
    }
}

/// What a copy did.
#[derive(Clone, Debug)]
pub struct CopyReport {
    /// Whether the destination was created.
    pub created: bool,
    /// What was bulk-loaded.
    pub load: TableLoad,
    /// The job's counters.
    pub counters: Counters,
}

/// Creates `dst` with `src`'s descriptor and region boundaries unless it exists; returns
/// whether it was created.
pub fn ensure_like(conn: &Connection, src: &TableName, dst: &TableName) -> Result<bool> {
    let admin = conn.admin();
    if admin.table_exists(dst)? {
        return Ok(false);
    }
    let mut desc = admin.describe(src)?;
    desc.name = dst.clone();
    desc.enabled = true;
    let splits: Vec<Vec<u8>> = admin
        .regions(src)?
        .into_iter()
        .map(|r| r.info.start_key)
        .filter(|k| !k.is_empty())
        .collect();
    admin.create_table(desc, &splits)?;
    Ok(true)
}

/// Copies `opts.src` into `opts.dst`.
pub fn run(conn: &Connection, opts: &CopyTableOptions, run: &RunOptions) -> Result<CopyReport> {
    let src = TableName::parse(&opts.src)?;
    let dst = TableName::parse(&opts.dst)?;
    if src == dst {
        return Err(Error::InvalidArgument(
            "source and destination are the same table".into(),
        ));
    }
    let src_desc = conn.admin().describe(&src)?;
    for f in &opts.families {
        if src_desc.family(f).is_none() {
            return Err(Error::InvalidArgument(format!(
                "table {src} has no family '{}'",
                hfile::cell::to_string_binary(f)
            )));
        }
    }
    let created = ensure_like(conn, &src, &dst)?;
    let dst_desc = conn.admin().describe(&dst)?;
    let copied: Vec<&Vec<u8>> = if opts.families.is_empty() {
        src_desc.families.iter().map(|f| &f.name).collect()
    } else {
        opts.families.iter().collect()
    };
    for f in copied {
        if dst_desc.family(f).is_none() {
            return Err(Error::InvalidArgument(format!(
                "destination {dst} has no family '{}'",
                hfile::cell::to_string_binary(f)
            )));
        }
    }
    let mut scan = Scan::new()
        .with_max_versions(opts.versions)
        .with_time_range(TimeRange::new(
            opts.start_time.unwrap_or(i64::MIN),
            opts.end_time.unwrap_or(i64::MAX),
        ));
    if let Some(r) = &opts.start_row {
        scan = scan.with_start_row(r.clone());
    }
    if let Some(r) = &opts.stop_row {
        scan = scan.with_stop_row(r.clone());
    }
    for f in &opts.families {
        scan = scan.add_family(f.clone());
    }
    let runner = Runner::new(conn.clone(), run.clone())?;
    let output = TableOutput::new(conn, &dst)?;
    let job = Job::map_rows("copytable", Input::table(src, scan), |row, _ctx, out| {
        for c in row.to_result().cells {
            out.emit(c)?;
        }
        Ok(())
    });
    let report = runner.run_map_only(&job, &output)?;
    Ok(CopyReport {
        created,
        load: report.output,
        counters: report.counters,
    })
}
