//! `import-export`: restores an `export` directory into a table (HBase's `Import`), cell
//! for cell — timestamps, versions and (for raw exports) delete markers — through HFiles
//! and bulk load. A missing table is created from the export's `.tableinfo` and `.splits`.

use std::path::{Path, PathBuf};

use store_server::{Connection, TableDescriptor, TableName};

use crate::batch::batch_cells;
use crate::counters::Counters;
use crate::error::{Error, Result};
use crate::format::FileFormat;
use crate::job::{Input, Job};
use crate::jobs::export::{SPLITS, TABLEINFO};
use crate::output::{TableLoad, TableOutput};
use crate::runner::{RunOptions, Runner};

/// What to import.
#[derive(Clone, Debug, Default)]
pub struct ImportOptions {
    /// The export directory.
    pub dir: PathBuf,
    /// The destination table.
    pub table: String,
}

/// What an import did.
#[derive(Clone, Debug)]
pub struct ImportReport {
    /// Whether the table was created.
    pub created: bool,
    /// What was bulk-loaded.
    pub load: TableLoad,
    /// The job's counters.
    pub counters: Counters,
}

/// The part files of an export directory, sorted.
pub fn part_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let rd = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    let mut parts = Vec::new();
    for ent in rd {
        let p = ent.map_err(|e| Error::io(dir, e))?.path();
        let is_part = p
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("part-"));
        if is_part && FileFormat::of_path(&p).is_some() {
            parts.push(p);
        }
    }
    parts.sort();
    Ok(parts)
}

fn create_from_export(conn: &Connection, dir: &Path, table: &TableName) -> Result<()> {
    let info = dir.join(TABLEINFO);
    let bytes = std::fs::read(&info).map_err(|e| Error::io(&info, e))?;
    let mut desc = TableDescriptor::decode(&bytes, &info.display().to_string())?;
    desc.name = table.clone();
    desc.enabled = true;
    let splits_path = dir.join(SPLITS);
    let splits: Vec<Vec<u8>> = match std::fs::read_to_string(&splits_path) {
        Ok(s) => s
            .lines()
            .filter(|l| !l.is_empty())
            .map(hfile::cell::from_string_binary)
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(Error::io(&splits_path, e)),
    };
    conn.admin().create_table(desc, &splits)?;
    Ok(())
}

/// Restores an export directory into a table.
pub fn run(conn: &Connection, opts: &ImportOptions, run: &RunOptions) -> Result<ImportReport> {
    let table = TableName::parse(&opts.table)?;
    if !opts.dir.join("_SUCCESS").exists() {
        return Err(Error::InvalidArgument(format!(
            "{} is not a complete export (no _SUCCESS)",
            opts.dir.display()
        )));
    }
    let parts = part_files(&opts.dir)?;
    let created = if conn.admin().table_exists(&table)? {
        false
    } else {
        create_from_export(conn, &opts.dir, &table)?;
        true
    };
    let runner = Runner::new(conn.clone(), run.clone())?;
    let output = TableOutput::new(conn, &table)?;
    let job = Job::map_batches("import-export", Input::Files(parts), |batch, _ctx, out| {
        for c in batch_cells(batch)? {
            out.emit(c)?;
        }
        Ok(())
    });
    let report = runner.run_map_only(&job, &output)?;
    Ok(ImportReport {
        created,
        load: report.output,
        counters: report.counters,
    })
}
