//! The mode-agnostic client API: [`Connection`], the [`Admin`] and [`Table`] traits, and the
//! mutation types. [`Connection::embedded`] serves them in-process from a root directory;
//! a network-backed connection will implement the same traits.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use hfile::{Cell, CellType, CellView};

use crate::batch::{BatchIter, RowBatches};
use crate::compaction::CompactionReport;
use crate::error::{Error, Result};
use crate::row::{OwnedRows, RowCursor};
use crate::scan::{CompareOp, Get, RowResult, Scan};
use crate::schema::{Durability, TableDescriptor, TableName};
use crate::server::{BulkLoadReport, Config, RegionDescription, RegionServer};

/// One column of a [`Put`]: (family, qualifier, timestamp or `None` for now, value).
pub type PutColumn = (Vec<u8>, Vec<u8>, Option<i64>, Vec<u8>);

/// Resolves the newest timestamp of `family:qualifier` (for "delete newest version").
type LatestFn<'a> = dyn Fn(&[u8], &[u8]) -> Result<Option<i64>> + 'a;

/// A write of one or more columns of one row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Put {
    /// The row.
    pub row: Vec<u8>,
    /// The columns written.
    pub columns: Vec<PutColumn>,
    /// Overrides the table's durability.
    pub durability: Option<Durability>,
}

impl Put {
    /// A put on `row` with no columns yet.
    pub fn new(row: impl Into<Vec<u8>>) -> Put {
        Put {
            row: row.into(),
            columns: Vec::new(),
            durability: None,
        }
    }

    /// Adds a column value stamped with the server's current time.
    pub fn add(
        mut self,
        family: impl Into<Vec<u8>>,
        qualifier: impl Into<Vec<u8>>,
        value: impl Into<Vec<u8>>,
    ) -> Self {
        self.columns
            .push((family.into(), qualifier.into(), None, value.into()));
        self
    }

    /// Adds a column value with an explicit timestamp.
    pub fn add_ts(
        mut self,
        family: impl Into<Vec<u8>>,
        qualifier: impl Into<Vec<u8>>,
        ts: i64,
        value: impl Into<Vec<u8>>,
    ) -> Self {
        self.columns
            .push((family.into(), qualifier.into(), Some(ts), value.into()));
        self
    }

    /// Sets the durability of this put.
    pub fn with_durability(mut self, d: Durability) -> Self {
        self.durability = Some(d);
        self
    }

    fn cells(&self, now: i64) -> Vec<Cell> {
        self.columns
            .iter()
            .map(|(f, q, ts, v)| {
                Cell::put(
                    self.row.clone(),
                    f.clone(),
                    q.clone(),
                    ts.unwrap_or(now),
                    v.clone(),
                )
            })
            .collect()
    }
}

/// One part of a [`Delete`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeleteSpec {
    /// Every version of every column of a family at or below the timestamp (`DeleteFamily`).
    Family {
        /// The family.
        family: Vec<u8>,
        /// Timestamp (now if `None`).
        ts: Option<i64>,
    },
    /// Every column's version at exactly the timestamp (`DeleteFamilyVersion`).
    FamilyVersion {
        /// The family.
        family: Vec<u8>,
        /// The timestamp.
        ts: i64,
    },
    /// Every version of a column at or below the timestamp (`DeleteColumn`).
    Columns {
        /// The family.
        family: Vec<u8>,
        /// The qualifier.
        qualifier: Vec<u8>,
        /// Timestamp (now if `None`).
        ts: Option<i64>,
    },
    /// One version of a column (`Delete`): at the timestamp, or the newest if `None`.
    Column {
        /// The family.
        family: Vec<u8>,
        /// The qualifier.
        qualifier: Vec<u8>,
        /// Timestamp (the newest version if `None`).
        ts: Option<i64>,
    },
}

/// A delete on one row. With no specs it deletes the whole row (every family).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delete {
    /// The row.
    pub row: Vec<u8>,
    /// What to delete; empty = the whole row.
    pub specs: Vec<DeleteSpec>,
    /// Timestamp for a whole-row delete (now if `None`).
    pub ts: Option<i64>,
    /// Overrides the table's durability.
    pub durability: Option<Durability>,
}

impl Delete {
    /// Deletes the whole row (add specs to narrow it).
    pub fn new(row: impl Into<Vec<u8>>) -> Delete {
        Delete {
            row: row.into(),
            specs: Vec::new(),
            ts: None,
            durability: None,
        }
    }

    /// Sets the whole-row delete timestamp.
    pub fn with_ts(mut self, ts: i64) -> Self {
        self.ts = Some(ts);
        self
    }

    /// Adds a spec.
    pub fn with_spec(mut self, spec: DeleteSpec) -> Self {
        self.specs.push(spec);
        self
    }
}

/// A mutation of one row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mutation {
    /// A put.
    Put(Put),
    /// A delete.
    Delete(Delete),
}

/// An atomic check-and-mutate on one row: applies `mutation` only if the newest value of
/// `family:qualifier` satisfies `current OP expected` (or, with `expected == None`, if the
/// column is absent).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckAndMutate {
    /// The row (the mutation must be on it too).
    pub row: Vec<u8>,
    /// Family of the checked column.
    pub family: Vec<u8>,
    /// Qualifier of the checked column.
    pub qualifier: Vec<u8>,
    /// Comparison.
    pub op: CompareOp,
    /// Expected value; `None` = the column must be absent.
    pub expected: Option<Vec<u8>>,
    /// What to apply if the check passes.
    pub mutation: Mutation,
}

/// A row iterator returned by [`Table::scan`].
pub type RowIter = Box<dyn Iterator<Item = Result<RowResult>> + Send>;

/// Data operations on one table.
pub trait Table: Send + Sync {
    /// The table's name.
    fn name(&self) -> &TableName;
    /// Writes one row mutation atomically; returns once durable per the durability.
    fn put(&self, put: &Put) -> Result<()>;
    /// Writes many puts (each row atomic; rows in one region share one WAL sync).
    fn put_batch(&self, puts: &[Put]) -> Result<()>;
    /// Reads one row (empty result if nothing is visible).
    fn get(&self, get: &Get) -> Result<RowResult>;
    /// Reads several rows.
    fn get_batch(&self, gets: &[Get]) -> Result<Vec<RowResult>>;
    /// Scans rows.
    fn scan(&self, scan: &Scan) -> Result<RowIter>;
    /// Scans rows, lending each row's cells until the next one is read: for jobs that read
    /// every row once and keep nothing of it.
    fn scan_cells(&self, scan: &Scan) -> Result<Box<dyn RowCursor>> {
        Ok(Box::new(OwnedRows::new(self.scan(scan)?)))
    }
    /// Scans rows as Arrow record batches in the cell schema ([`crate::batch::cell_schema`]),
    /// at least `batch_cells` cells each (the last one smaller); a row is never split
    /// between batches.
    fn scan_batches(&self, scan: &Scan, batch_cells: usize) -> Result<BatchIter> {
        Ok(Box::new(RowBatches::new(
            self.scan_cells(scan)?,
            batch_cells,
        )))
    }
    /// Deletes (see [`Delete`]).
    fn delete(&self, delete: &Delete) -> Result<()>;
    /// Atomic check-and-mutate; returns whether the mutation was applied.
    fn check_and_mutate(&self, cam: &CheckAndMutate) -> Result<bool>;
    /// Atomically adds `amount` to an 8-byte big-endian counter; returns the new value.
    fn increment(&self, row: &[u8], family: &[u8], qualifier: &[u8], amount: i64) -> Result<i64>;
}

/// Schema and maintenance operations.
pub trait Admin: Send + Sync {
    /// Creates a table, pre-split at `split_keys`.
    fn create_table(&self, desc: TableDescriptor, split_keys: &[Vec<u8>]) -> Result<()>;
    /// The table's descriptor.
    fn describe(&self, table: &TableName) -> Result<TableDescriptor>;
    /// All user tables.
    fn list_tables(&self) -> Result<Vec<TableDescriptor>>;
    /// Whether the table exists.
    fn table_exists(&self, table: &TableName) -> Result<bool>;
    /// Replaces the descriptor (families and their options, durability).
    fn alter_table(&self, desc: TableDescriptor) -> Result<()>;
    /// Disables a table.
    fn disable_table(&self, table: &TableName) -> Result<()>;
    /// Enables a table.
    fn enable_table(&self, table: &TableName) -> Result<()>;
    /// Drops a disabled table.
    fn drop_table(&self, table: &TableName) -> Result<()>;
    /// Removes every row, keeping schema and region boundaries.
    fn truncate_table(&self, table: &TableName) -> Result<()>;
    /// Flushes every region's memstores.
    fn flush(&self, table: &TableName) -> Result<()>;
    /// Compacts every region (major = all files, dropping deleted/expired/excess cells).
    fn compact(&self, table: &TableName, major: bool) -> Result<Vec<CompactionReport>>;
    /// Splits at `key`, or every region at its mid key; returns regions split.
    fn split(&self, table: &TableName, key: Option<&[u8]>) -> Result<usize>;
    /// Every region with its store files.
    fn regions(&self, table: &TableName) -> Result<Vec<RegionDescription>>;
    /// Loads external HFiles, given as (family, file), atomically per region: a region's
    /// files of every family become visible together, under one new sequence id.
    fn bulk_load(&self, table: &TableName, files: &[(Vec<u8>, PathBuf)]) -> Result<BulkLoadReport>;
    /// [`Admin::bulk_load`] that moves the files instead of copying them (a rename when
    /// they are on the store's filesystem): each source is gone once loaded.
    fn bulk_load_moving(
        &self,
        table: &TableName,
        files: &[(Vec<u8>, PathBuf)],
    ) -> Result<BulkLoadReport>;
}

/// A connection to a Basalt store.
#[derive(Clone, Debug)]
pub struct Connection {
    server: Arc<RegionServer>,
}

impl Connection {
    /// Opens the store rooted at `root` in-process, with default settings.
    pub fn embedded(root: impl AsRef<Path>) -> Result<Connection> {
        Connection::embedded_with_config(root, Config::default())
    }

    /// Opens the store rooted at `root` in-process with `config`.
    pub fn embedded_with_config(root: impl AsRef<Path>, config: Config) -> Result<Connection> {
        Ok(Connection {
            server: RegionServer::open(root.as_ref(), config)?,
        })
    }

    /// The admin interface.
    pub fn admin(&self) -> Arc<dyn Admin> {
        Arc::new(EmbeddedAdmin {
            server: self.server.clone(),
        })
    }

    /// A handle on a table (which must exist).
    pub fn table(&self, name: &str) -> Result<Arc<dyn Table>> {
        let name = TableName::parse(name)?;
        self.server.describe(&name)?;
        Ok(Arc::new(EmbeddedTable {
            server: self.server.clone(),
            name,
        }))
    }

    /// The embedded server (for tools and tests).
    pub fn server(&self) -> &Arc<RegionServer> {
        &self.server
    }

    /// Flushes and closes everything.
    pub fn close(&self) -> Result<()> {
        self.server.close()
    }
}

struct EmbeddedAdmin {
    server: Arc<RegionServer>,
}

impl Admin for EmbeddedAdmin {
    fn create_table(&self, desc: TableDescriptor, split_keys: &[Vec<u8>]) -> Result<()> {
        self.server.create_table(desc, split_keys)
    }
    fn describe(&self, table: &TableName) -> Result<TableDescriptor> {
        self.server.describe(table)
    }
    fn list_tables(&self) -> Result<Vec<TableDescriptor>> {
        Ok(self.server.list_tables())
    }
    fn table_exists(&self, table: &TableName) -> Result<bool> {
        Ok(self.server.describe(table).is_ok())
    }
    fn alter_table(&self, desc: TableDescriptor) -> Result<()> {
        self.server.alter_table(desc)
    }
    fn disable_table(&self, table: &TableName) -> Result<()> {
        self.server.disable_table(table)
    }
    fn enable_table(&self, table: &TableName) -> Result<()> {
        self.server.enable_table(table)
    }
    fn drop_table(&self, table: &TableName) -> Result<()> {
        self.server.drop_table(table)
    }
    fn truncate_table(&self, table: &TableName) -> Result<()> {
        self.server.truncate_table(table)
    }
    fn flush(&self, table: &TableName) -> Result<()> {
        self.server.flush_table(table)
    }
    fn compact(&self, table: &TableName, major: bool) -> Result<Vec<CompactionReport>> {
        self.server.compact_table(table, major)
    }
    fn split(&self, table: &TableName, key: Option<&[u8]>) -> Result<usize> {
        self.server.split_table(table, key)
    }
    fn regions(&self, table: &TableName) -> Result<Vec<RegionDescription>> {
        self.server.regions(table)
    }
    fn bulk_load(&self, table: &TableName, files: &[(Vec<u8>, PathBuf)]) -> Result<BulkLoadReport> {
        self.server.bulk_load(table, files)
    }
    fn bulk_load_moving(
        &self,
        table: &TableName,
        files: &[(Vec<u8>, PathBuf)],
    ) -> Result<BulkLoadReport> {
        self.server.bulk_load_moving(table, files)
    }
}

struct EmbeddedTable {
    server: Arc<RegionServer>,
    name: TableName,
}

impl EmbeddedTable {
    fn families(&self) -> Result<Vec<Vec<u8>>> {
        Ok(self
            .server
            .describe(&self.name)?
            .families
            .into_iter()
            .map(|f| f.name)
            .collect())
    }

    /// Delete cells for `d`; `latest(f, q)` resolves "newest version" deletes.
    fn delete_cells(&self, d: &Delete, now: i64, latest: &LatestFn<'_>) -> Result<Vec<Cell>> {
        let row = Bytes::copy_from_slice(&d.row);
        let mut cells = Vec::new();
        if d.specs.is_empty() {
            for f in self.families()? {
                cells.push(Cell::delete(
                    row.clone(),
                    f,
                    Bytes::new(),
                    d.ts.unwrap_or(now),
                    CellType::DeleteFamily,
                ));
            }
        }
        for s in &d.specs {
            match s {
                DeleteSpec::Family { family, ts } => cells.push(Cell::delete(
                    row.clone(),
                    family.clone(),
                    Bytes::new(),
                    ts.unwrap_or(now),
                    CellType::DeleteFamily,
                )),
                DeleteSpec::FamilyVersion { family, ts } => cells.push(Cell::delete(
                    row.clone(),
                    family.clone(),
                    Bytes::new(),
                    *ts,
                    CellType::DeleteFamilyVersion,
                )),
                DeleteSpec::Columns {
                    family,
                    qualifier,
                    ts,
                } => cells.push(Cell::delete(
                    row.clone(),
                    family.clone(),
                    qualifier.clone(),
                    ts.unwrap_or(now),
                    CellType::DeleteColumn,
                )),
                DeleteSpec::Column {
                    family,
                    qualifier,
                    ts,
                } => {
                    let ts = match ts {
                        Some(t) => Some(*t),
                        None => latest(family, qualifier)?,
                    };
                    if let Some(ts) = ts {
                        cells.push(Cell::delete(
                            row.clone(),
                            family.clone(),
                            qualifier.clone(),
                            ts,
                            CellType::Delete,
                        ));
                    }
                }
            }
        }
        Ok(cells)
    }

    fn mutation_cells(
        &self,
        m: &Mutation,
        now: i64,
        region: &crate::region::Region,
    ) -> Result<(Vec<Cell>, Option<Durability>)> {
        match m {
            Mutation::Put(p) => Ok((p.cells(now), p.durability)),
            Mutation::Delete(d) => {
                let latest = |f: &[u8], q: &[u8]| -> Result<Option<i64>> {
                    let r =
                        region.get(&Get::new(d.row.clone()).add_column(f.to_vec(), q.to_vec()))?;
                    Ok(r.cells.first().map(|c| c.timestamp))
                };
                Ok((self.delete_cells(d, now, &latest)?, d.durability))
            }
        }
    }

    fn durability(&self, over: Option<Durability>) -> Result<Durability> {
        Ok(over.unwrap_or(self.server.describe(&self.name)?.durability))
    }
}

impl Table for EmbeddedTable {
    fn name(&self) -> &TableName {
        &self.name
    }

    fn put(&self, put: &Put) -> Result<()> {
        if put.columns.is_empty() {
            return Err(Error::InvalidArgument(
                "a put needs at least one column".into(),
            ));
        }
        self.server
            .mutate(&self.name, put.cells(crate::now_ms()), put.durability)
    }

    fn put_batch(&self, puts: &[Put]) -> Result<()> {
        let now = crate::now_ms();
        // Group by durability so one sync covers each group.
        let mut groups: Vec<(Option<Durability>, Vec<Cell>)> = Vec::new();
        for p in puts {
            match groups.iter_mut().find(|(d, _)| *d == p.durability) {
                Some(g) => g.1.extend(p.cells(now)),
                None => groups.push((p.durability, p.cells(now))),
            }
        }
        for (d, cells) in groups {
            self.server.mutate(&self.name, cells, d)?;
        }
        Ok(())
    }

    fn get(&self, get: &Get) -> Result<RowResult> {
        // A get of whole rows names no family to check (a missing table fails below).
        if !get.columns.is_empty() {
            let st = self.server.describe(&self.name)?;
            for c in &get.columns {
                if st.family(&c.family).is_none() {
                    return Err(Error::FamilyNotFound {
                        table: self.name.to_string(),
                        family: hfile::cell::to_string_binary(&c.family),
                    });
                }
            }
        }
        self.server
            .with_region(&self.name, &get.row, |r| r.get(get))
    }

    fn get_batch(&self, gets: &[Get]) -> Result<Vec<RowResult>> {
        gets.iter().map(|g| self.get(g)).collect()
    }

    fn scan(&self, scan: &Scan) -> Result<RowIter> {
        Ok(Box::new(self.server.scan(&self.name, scan)?))
    }

    fn scan_cells(&self, scan: &Scan) -> Result<Box<dyn RowCursor>> {
        Ok(Box::new(self.server.scan(&self.name, scan)?))
    }

    fn delete(&self, delete: &Delete) -> Result<()> {
        let needs_read = delete
            .specs
            .iter()
            .any(|s| matches!(s, DeleteSpec::Column { ts: None, .. }));
        let now = crate::now_ms();
        if !needs_read {
            let cells = self.delete_cells(delete, now, &|_, _| Ok(None))?;
            return self.server.mutate(&self.name, cells, delete.durability);
        }
        let durability = self.durability(delete.durability)?;
        let m = Mutation::Delete(delete.clone());
        self.server.with_region(&self.name, &delete.row, |region| {
            region.read_modify_write(&delete.row, durability, |r| {
                let (cells, _) = self.mutation_cells(&m, now, r)?;
                self.server.check_cells(&self.name, &cells)?;
                Ok((Some(cells), ()))
            })
        })
    }

    fn check_and_mutate(&self, cam: &CheckAndMutate) -> Result<bool> {
        let row = match &cam.mutation {
            Mutation::Put(p) => &p.row,
            Mutation::Delete(d) => &d.row,
        };
        if row != &cam.row {
            return Err(Error::InvalidArgument(
                "check-and-mutate must mutate the checked row".into(),
            ));
        }
        let over = match &cam.mutation {
            Mutation::Put(p) => p.durability,
            Mutation::Delete(d) => d.durability,
        };
        let durability = self.durability(over)?;
        let now = crate::now_ms();
        self.server.with_region(&self.name, &cam.row, |region| {
            region.read_modify_write(&cam.row, durability, |r| {
                let cur = r.get(
                    &Get::new(cam.row.clone())
                        .add_column(cam.family.clone(), cam.qualifier.clone()),
                )?;
                let value = cur.cells.first().map(|c| c.value().to_vec());
                let pass = match (&cam.expected, &value) {
                    (None, None) => true,
                    (None, Some(_)) | (Some(_), None) => false,
                    (Some(e), Some(v)) => cam.op.matches(v, e),
                };
                if !pass {
                    return Ok((None, false));
                }
                let (cells, _) = self.mutation_cells(&cam.mutation, now, r)?;
                self.server.check_cells(&self.name, &cells)?;
                Ok((Some(cells), true))
            })
        })
    }

    fn increment(&self, row: &[u8], family: &[u8], qualifier: &[u8], amount: i64) -> Result<i64> {
        let durability = self.durability(None)?;
        let probe = Cell::put(
            row.to_vec(),
            family.to_vec(),
            qualifier.to_vec(),
            0,
            Vec::new(),
        );
        self.server
            .check_cells(&self.name, std::slice::from_ref(&probe))?;
        self.server.with_region(&self.name, row, |region| {
            region.read_modify_write(row, durability, |r| {
                let cur =
                    r.get(&Get::new(row.to_vec()).add_column(family.to_vec(), qualifier.to_vec()))?;
                let old = match cur.cells.first() {
                    None => 0,
                    Some(c) => {
                        let b: [u8; 8] = c.value().try_into().map_err(|_| {
                            Error::InvalidArgument(format!(
                                "column {}:{} of row {} holds {} bytes, not an 8-byte counter",
                                hfile::cell::to_string_binary(family),
                                hfile::cell::to_string_binary(qualifier),
                                hfile::cell::to_string_binary(row),
                                c.value().len()
                            ))
                        })?;
                        i64::from_be_bytes(b)
                    }
                };
                let new = old.wrapping_add(amount);
                let ts = crate::now_ms().max(
                    cur.cells
                        .first()
                        .map(|c| c.timestamp + 1)
                        .unwrap_or(i64::MIN),
                );
                let cell = Cell::put(
                    row.to_vec(),
                    family.to_vec(),
                    qualifier.to_vec(),
                    ts,
                    new.to_be_bytes().to_vec(),
                );
                Ok((Some(vec![cell]), new))
            })
        })
    }
}
