//! A SQL session over a store connection: runs Phoenix-dialect DDL/DML itself (through
//! [`crate::ddl`]) and hands queries to a DataFusion context whose default schema is the
//! store ([`crate::catalog::StoreSchema`]). Also measures what each statement read.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::execution::SessionStateBuilder;
use datafusion::prelude::{SessionConfig, SessionContext};
use parking_lot::Mutex;
use store_server::rowkey::{encode_key_column, SortOrder, Value};
use store_server::typed::{
    parse_field, ColumnDef, KeyColumn, TypedSchema, DEFAULT_FAMILY, EMPTY_QUALIFIER, EMPTY_VALUE,
    VIEW_ATTRIBUTE_PREFIX,
};
use store_server::{
    Connection, Delete, DeleteSpec, FamilyDescriptor, Put, TableDescriptor, TableName,
};

use crate::catalog::{resolve, resolve_required, Resolved, StoreSchema};
use crate::columnar::ColumnarCopies;
use crate::ddl::{self, ColumnSpec, CreateTable, CreateView, Statement};
use crate::error::{Result, SqlError};
use crate::key_filter::KeyFilter;
use crate::run_aggregate::RunAggregate;
use crate::scan_exec::{MetricsSnapshot, ScanMetrics};
use crate::types::array_values;

/// Rows written per `put_batch` call by UPSERT.
const WRITE_BATCH: usize = 4096;

/// The result of one statement.
#[derive(Debug, Clone)]
pub enum Output {
    /// A query's rows.
    Rows {
        /// Result schema.
        schema: SchemaRef,
        /// Result batches.
        batches: Vec<RecordBatch>,
    },
    /// A DML statement's count of affected rows.
    Affected {
        /// `upserted` or `deleted`.
        verb: &'static str,
        /// Rows affected.
        rows: u64,
    },
    /// A DDL statement's confirmation message.
    Done(String),
}

/// A SQL session.
pub struct Session {
    conn: Arc<Connection>,
    ctx: SessionContext,
    metrics: Arc<ScanMetrics>,
    last: Mutex<MetricsSnapshot>,
    copies: Arc<ColumnarCopies>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session").finish_non_exhaustive()
    }
}

impl Session {
    /// A session over `conn` with the store as the default schema.
    pub fn new(conn: Arc<Connection>) -> Result<Session> {
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        let mut config = SessionConfig::new()
            .with_target_partitions(cores.max(2))
            .with_information_schema(true);
        // Keep source positions on the parsed statement, so planning errors can say where
        // in the statement they are.
        config.options_mut().sql_parser.collect_spans = true;
        let state = SessionStateBuilder::new()
            .with_config(config)
            .with_default_features()
            .with_physical_optimizer_rule(Arc::new(KeyFilter))
            .with_physical_optimizer_rule(Arc::new(RunAggregate))
            .build();
        let ctx = SessionContext::new_with_state(state);
        let metrics = Arc::new(ScanMetrics::default());
        let copies = ColumnarCopies::new(&conn, true);
        let schema = Arc::new(StoreSchema::new(
            conn.clone(),
            metrics.clone(),
            copies.clone(),
        ));
        let catalog = ctx
            .catalog("datafusion")
            .ok_or_else(|| SqlError::invalid("DataFusion has no default catalog"))?;
        catalog.register_schema("public", schema)?;
        Ok(Session {
            conn,
            ctx,
            metrics,
            last: Mutex::new(MetricsSnapshot::default()),
            copies,
        })
    }

    /// The store connection.
    pub fn connection(&self) -> &Arc<Connection> {
        &self.conn
    }

    /// The DataFusion context (to register more tables or functions).
    pub fn context(&self) -> &SessionContext {
        &self.ctx
    }

    /// The columnar copies scans of typed tables read (see [`crate::columnar`]).
    pub fn columnar(&self) -> &Arc<ColumnarCopies> {
        &self.copies
    }

    /// What the last statement read: regions, key ranges, rows, cells and HFile blocks.
    pub fn last_metrics(&self) -> MetricsSnapshot {
        *self.last.lock()
    }

    /// Runs every `;`-separated statement of a script, stopping at the first error.
    pub async fn run_script(&self, script: &str) -> Result<Vec<Output>> {
        let mut out = Vec::new();
        for stmt in ddl::split_statements(script) {
            out.push(self.run(&stmt).await?);
        }
        Ok(out)
    }

    /// Runs one statement.
    pub async fn run(&self, sql: &str) -> Result<Output> {
        self.metrics.reset();
        let blocks_before = block_touches(&self.conn);
        let r = self.dispatch(sql).await;
        let mut snap = self.metrics.snapshot();
        snap.blocks = block_touches(&self.conn).saturating_sub(blocks_before);
        *self.last.lock() = snap;
        r
    }

    /// Runs a query and returns its rows (convenience for tests and tools).
    pub async fn query(&self, sql: &str) -> Result<Vec<RecordBatch>> {
        match self.run(sql).await? {
            Output::Rows { batches, .. } => Ok(batches),
            _ => Err(SqlError::invalid("statement returned no rows")),
        }
    }

    async fn dispatch(&self, sql: &str) -> Result<Output> {
        match ddl::parse(sql)? {
            Statement::CreateTable(ct) => self.create_table(ct),
            Statement::CreateView(cv) => self.create_view(cv),
            Statement::Upsert {
                table,
                columns,
                source,
            } => self.upsert(&table, columns, &source).await,
            Statement::Delete { table, predicate } => self.delete(&table, predicate).await,
            Statement::Drop {
                name,
                if_exists,
                view,
            } => self.drop(&name, if_exists, view),
            Statement::AlterAdd {
                table,
                if_not_exists,
                columns,
            } => self.alter_add(&table, if_not_exists, columns),
            Statement::Query(q) => {
                let df = self.ctx.sql(&q).await?;
                let schema: SchemaRef = Arc::new(df.schema().as_arrow().clone());
                let batches = df.collect().await?;
                Ok(Output::Rows { schema, batches })
            }
        }
    }

    fn create_table(&self, ct: CreateTable) -> Result<Output> {
        let admin = self.conn.admin();
        let tn = TableName::parse(&ct.name)?;
        if resolve(&self.conn, &ct.name)?.is_some() {
            if ct.if_not_exists {
                return Ok(Output::Done(format!("table {} already exists", ct.name)));
            }
            return Err(SqlError::invalid(format!(
                "table already exists: {}",
                ct.name
            )));
        }
        let inline: Vec<(String, SortOrder)> = ct
            .columns
            .iter()
            .filter_map(|c| c.primary_key.map(|o| (c.name.clone(), o)))
            .collect();
        let pk = match (ct.primary_key, inline.is_empty()) {
            (Some(_), false) => {
                return Err(SqlError::invalid(
                    "PRIMARY KEY is declared both inline and as a constraint",
                ))
            }
            (Some(pk), true) => pk,
            (None, false) => inline,
            (None, true) => {
                return Err(SqlError::invalid(format!(
                    "table {} needs a PRIMARY KEY",
                    ct.name
                )))
            }
        };
        let mut columns = Vec::new();
        for c in &ct.columns {
            let is_key = pk.iter().any(|(n, _)| *n == c.name);
            columns.push(column_def(c, is_key)?);
        }
        let mut primary_key = Vec::new();
        for (name, order) in &pk {
            let column = columns
                .iter()
                .position(|c: &ColumnDef| c.name == *name)
                .ok_or_else(|| {
                    SqlError::invalid(format!("primary key column '{name}' is not a column"))
                })?;
            primary_key.push(KeyColumn {
                column,
                order: *order,
            });
        }
        let mut salt = None;
        let mut family_opts = Vec::new();
        for (k, v) in &ct.options {
            match k.as_str() {
                "SALT_BUCKETS" => {
                    let n: u16 = v.parse().map_err(|_| {
                        SqlError::invalid(format!("SALT_BUCKETS: '{v}' is not a number"))
                    })?;
                    salt = Some(n);
                }
                "COLUMN_ENCODED_BYTES" => {
                    if !(v == "0" || v.eq_ignore_ascii_case("NONE")) {
                        return Err(SqlError::invalid(
                            "only COLUMN_ENCODED_BYTES=0 is supported (qualifiers are column names)",
                        ));
                    }
                }
                "COMPRESSION" | "VERSIONS" | "TTL" | "BLOOMFILTER" | "BLOCKSIZE"
                | "DATA_BLOCK_ENCODING" | "IN_MEMORY" | "MIN_VERSIONS" => {
                    family_opts.push((k.clone(), v.clone()))
                }
                other => {
                    return Err(SqlError::invalid(format!(
                        "unsupported table option {other} (SALT_BUCKETS, COMPRESSION, VERSIONS, TTL, BLOOMFILTER, BLOCKSIZE, DATA_BLOCK_ENCODING, IN_MEMORY, MIN_VERSIONS, COLUMN_ENCODED_BYTES=0)"
                    )))
                }
            }
        }
        let schema = TypedSchema::new(columns, primary_key, salt)?;
        let mut families = Vec::new();
        for f in schema.families() {
            let mut fd = FamilyDescriptor::new(f);
            for (k, v) in &family_opts {
                fd.set_option(k, v)?;
            }
            families.push(fd);
        }
        let mut desc = TableDescriptor::new(tn, families);
        schema.attach(&mut desc);
        let mut splits = schema.salt_split_keys();
        if !ct.split_on.is_empty() {
            if salt.is_some() {
                return Err(SqlError::invalid(
                    "SPLIT ON cannot be combined with SALT_BUCKETS (salted tables split on the salt byte)",
                ));
            }
            let lead = schema.primary_key[0];
            let c = &schema.columns[lead.column];
            for s in &ct.split_on {
                let v = parse_field(c.sql_type, s)?;
                let mut k = Vec::new();
                encode_key_column(
                    c.sql_type,
                    lead.order,
                    &v,
                    schema.primary_key.len() == 1,
                    &mut k,
                )?;
                splits.push(k);
            }
            splits.sort();
            splits.dedup();
        }
        admin.create_table(desc, &splits)?;
        Ok(Output::Done(format!(
            "created table {} ({} regions)",
            ct.name,
            splits.len() + 1
        )))
    }

    fn create_view(&self, cv: CreateView) -> Result<Output> {
        if resolve(&self.conn, &cv.name)?.is_some() {
            return Err(SqlError::invalid(format!(
                "table already exists: {}",
                cv.name
            )));
        }
        let mut desc = match resolve_required(&self.conn, &cv.source)? {
            Resolved::Raw(d) => d,
            _ => {
                return Err(SqlError::invalid(format!(
                    "{} is not a raw table (views map raw tables)",
                    cv.source
                )))
            }
        };
        let mut columns = Vec::new();
        let mut primary_key = Vec::new();
        for c in &cv.columns {
            let is_key = c.primary_key.is_some();
            if !is_key {
                let fam = c.family.as_deref().unwrap_or("0");
                if desc.family(fam.as_bytes()).is_none() {
                    return Err(SqlError::invalid(format!(
                        "table {} has no column family '{fam}' (view column {})",
                        cv.source, c.name
                    )));
                }
            }
            if let Some(order) = c.primary_key {
                primary_key.push(KeyColumn {
                    column: columns.len(),
                    order,
                });
            }
            columns.push(column_def(c, is_key)?);
        }
        let schema = TypedSchema {
            columns,
            primary_key,
            salt_buckets: None,
            marker: false,
        };
        schema.validate()?;
        desc.attributes.insert(
            format!("{VIEW_ATTRIBUTE_PREFIX}{}", cv.name),
            schema.encode(),
        );
        self.conn.admin().alter_table(desc)?;
        Ok(Output::Done(format!("created view {}", cv.name)))
    }

    fn typed_target(&self, table: &str, what: &str) -> Result<(TableDescriptor, Arc<TypedSchema>)> {
        match resolve_required(&self.conn, table)? {
            Resolved::Typed(d, s) => Ok((d, s)),
            Resolved::View(..) => Err(SqlError::invalid(format!(
                "{what}: {table} is a read-only view"
            ))),
            Resolved::Raw(_) => Err(SqlError::invalid(format!(
                "{what}: {table} is a raw table without a SQL schema (use a typed table)"
            ))),
        }
    }

    async fn upsert(
        &self,
        table: &str,
        columns: Option<Vec<String>>,
        source: &str,
    ) -> Result<Output> {
        let (desc, schema) = self.typed_target(table, "UPSERT")?;
        let targets: Vec<usize> = match columns {
            Some(cols) => cols
                .iter()
                .map(|c| {
                    schema.column_index(c).ok_or_else(|| {
                        SqlError::invalid(format!("UPSERT: table {table} has no column '{c}'"))
                    })
                })
                .collect::<Result<_>>()?,
            None => (0..schema.columns.len()).collect(),
        };
        for k in &schema.primary_key {
            if !targets.contains(&k.column) {
                return Err(SqlError::invalid(format!(
                    "UPSERT: primary key column '{}' must be given",
                    schema.columns[k.column].name
                )));
            }
        }
        let df = self.ctx.sql(source).await?;
        let batches = df.collect().await?;
        let handle = self.conn.table(&desc.name.to_string())?;
        let mut puts = Vec::new();
        let mut deletes = Vec::new();
        let mut rows = 0u64;
        for batch in &batches {
            if batch.num_columns() != targets.len() {
                return Err(SqlError::invalid(format!(
                    "UPSERT: {} target columns but the source has {} columns",
                    targets.len(),
                    batch.num_columns()
                )));
            }
            let mut cols = Vec::with_capacity(targets.len());
            for (i, &t) in targets.iter().enumerate() {
                let c = &schema.columns[t];
                cols.push(
                    array_values(batch.column(i), c.sql_type).map_err(|e| {
                        SqlError::invalid(format!("UPSERT: column '{}': {e}", c.name))
                    })?,
                );
            }
            // `r` indexes every column vector (column-major data), not just one.
            #[allow(clippy::needless_range_loop)]
            for r in 0..batch.num_rows() {
                let key_vals: Vec<Value> = schema
                    .primary_key
                    .iter()
                    .map(|k| {
                        let i = targets.iter().position(|t| *t == k.column).unwrap_or(0);
                        cols[i][r].clone()
                    })
                    .collect();
                let key = schema.encode_row_key(&key_vals)?;
                let mut put = Put::new(key.clone());
                for (i, &t) in targets.iter().enumerate() {
                    if schema.key_position(t).is_some() {
                        continue;
                    }
                    let c = &schema.columns[t];
                    match store_server::rowkey::encode_value(c.sql_type, &cols[i][r])? {
                        Some(b) => {
                            put = put.add(c.family.clone(), c.qualifier.clone(), b);
                        }
                        None if !c.nullable => {
                            return Err(SqlError::invalid(format!(
                                "UPSERT: column '{}' is NOT NULL",
                                c.name
                            )))
                        }
                        None => {
                            deletes.push(Delete::new(key.clone()).with_spec(DeleteSpec::Columns {
                                family: c.family.clone(),
                                qualifier: c.qualifier.clone(),
                                ts: None,
                            }))
                        }
                    }
                }
                put = put.add(DEFAULT_FAMILY, EMPTY_QUALIFIER, EMPTY_VALUE);
                puts.push(put);
                rows += 1;
                if puts.len() >= WRITE_BATCH {
                    handle.put_batch(&puts)?;
                    puts.clear();
                }
            }
        }
        if !puts.is_empty() {
            handle.put_batch(&puts)?;
        }
        for d in &deletes {
            handle.delete(d)?;
        }
        Ok(Output::Affected {
            verb: "upserted",
            rows,
        })
    }

    async fn delete(&self, table: &str, predicate: Option<String>) -> Result<Output> {
        let (desc, schema) = self.typed_target(table, "DELETE")?;
        let keys: Vec<String> = schema
            .primary_key
            .iter()
            .map(|k| quote_ident(&schema.columns[k.column].name))
            .collect();
        let mut q = format!("SELECT {} FROM {}", keys.join(", "), quote_ident(table));
        if let Some(p) = predicate {
            q.push_str(" WHERE ");
            q.push_str(&p);
        }
        let batches = self.ctx.sql(&q).await?.collect().await?;
        let handle = self.conn.table(&desc.name.to_string())?;
        let mut rows = 0u64;
        for batch in &batches {
            let mut cols = Vec::new();
            for (i, k) in schema.primary_key.iter().enumerate() {
                cols.push(array_values(
                    batch.column(i),
                    schema.columns[k.column].sql_type,
                )?);
            }
            for r in 0..batch.num_rows() {
                let vals: Vec<Value> = cols.iter().map(|c| c[r].clone()).collect();
                let key = schema.encode_row_key(&vals)?;
                handle.delete(&Delete::new(key))?;
                rows += 1;
            }
        }
        Ok(Output::Affected {
            verb: "deleted",
            rows,
        })
    }

    fn drop(&self, name: &str, if_exists: bool, view: bool) -> Result<Output> {
        let admin = self.conn.admin();
        match (resolve(&self.conn, name)?, view) {
            (None, _) if if_exists => Ok(Output::Done(format!("{name} does not exist"))),
            (None, _) => Err(SqlError::invalid(format!("table not found: {name}"))),
            (Some(Resolved::View(mut desc, _)), true) => {
                desc.attributes
                    .remove(&format!("{VIEW_ATTRIBUTE_PREFIX}{name}"));
                admin.alter_table(desc)?;
                Ok(Output::Done(format!("dropped view {name}")))
            }
            (Some(Resolved::View(..)), false) => Err(SqlError::invalid(format!(
                "{name} is a view (use DROP VIEW)"
            ))),
            (Some(_), true) => Err(SqlError::invalid(format!(
                "{name} is a table, not a view (use DROP TABLE)"
            ))),
            (Some(Resolved::Typed(desc, _)) | Some(Resolved::Raw(desc)), false) => {
                if desc.enabled {
                    admin.disable_table(&desc.name)?;
                }
                admin.drop_table(&desc.name)?;
                self.copies.remove_table(&desc.name)?;
                Ok(Output::Done(format!("dropped table {name}")))
            }
        }
    }

    fn alter_add(&self, table: &str, if_not_exists: bool, add: Vec<ColumnSpec>) -> Result<Output> {
        let (mut desc, schema) = self.typed_target(table, "ALTER TABLE")?;
        let mut schema = (*schema).clone();
        let mut added = 0;
        for c in &add {
            if c.primary_key.is_some() {
                return Err(SqlError::invalid(
                    "ALTER TABLE ADD cannot add primary key columns",
                ));
            }
            if schema.column_index(&c.name).is_some() {
                if if_not_exists {
                    continue;
                }
                return Err(SqlError::invalid(format!(
                    "table {table} already has a column '{}'",
                    c.name
                )));
            }
            let def = column_def(c, false)?;
            if desc.family(&def.family).is_none() {
                let mut fd = desc
                    .family(DEFAULT_FAMILY)
                    .cloned()
                    .unwrap_or_else(|| FamilyDescriptor::new(DEFAULT_FAMILY));
                fd.name = def.family.clone();
                desc.families.push(fd);
                desc.families.sort_by(|a, b| a.name.cmp(&b.name));
            }
            schema.columns.push(def);
            added += 1;
        }
        schema.validate()?;
        schema.attach(&mut desc);
        self.conn.admin().alter_table(desc)?;
        Ok(Output::Done(format!("added {added} column(s) to {table}")))
    }
}

/// The column definition of a parsed column spec.
fn column_def(c: &ColumnSpec, is_key: bool) -> Result<ColumnDef> {
    if is_key {
        if c.family.is_some() {
            return Err(SqlError::invalid(format!(
                "primary key column '{}' cannot have a column family",
                c.name
            )));
        }
        let mut d = ColumnDef::key(&c.name, c.ty);
        d.nullable = d.nullable && !c.not_null;
        Ok(d)
    } else {
        let fam = c.family.as_deref().unwrap_or("0");
        let mut d = ColumnDef::new(&c.name, c.ty, fam.as_bytes());
        d.nullable = !c.not_null;
        Ok(d)
    }
}

/// Quotes an identifier for DataFusion SQL.
pub fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// HFile blocks touched so far (read or served by the cache) over every user table.
pub fn block_touches(conn: &Connection) -> u64 {
    let server = conn.server();
    let mut total = 0;
    for t in server.list_tables() {
        if t.name.is_system() {
            continue;
        }
        let Ok(regions) = server.regions(&t.name) else {
            continue;
        };
        for r in regions {
            let Ok(region) = server.locate(&t.name, &r.info.start_key) else {
                continue;
            };
            for store in region.stores().values() {
                for f in &store.state().files {
                    let s = f.reader().stats();
                    total += s.blocks_read.load(Ordering::Relaxed)
                        + s.cache_hits.load(Ordering::Relaxed);
                }
            }
        }
    }
    total
}
