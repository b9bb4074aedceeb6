//! The DataFusion schema that lists the store's tables: every user table of the store is a
//! SQL table — typed tables by their schema, raw tables as `rowkey` + `family:qualifier`
//! columns — and views over raw tables appear under their own names.
//!
//! Table names are the store's (`name` in the `default` namespace, `ns:name` otherwise,
//! which SQL must quote: `"ns:name"`).

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::catalog::SchemaProvider;
use datafusion::datasource::TableProvider;
use datafusion::error::Result as DfResult;
use store_server::typed::TypedSchema;
use store_server::{Connection, Error as StoreError, TableDescriptor, TableName};

use crate::columnar::ColumnarCopies;
use crate::error::{to_df, Result, SqlError};
use crate::provider::StoreTable;
use crate::scan_exec::ScanMetrics;

/// What a SQL name refers to in the store.
#[derive(Clone, Debug)]
pub enum Resolved {
    /// A typed table.
    Typed(TableDescriptor, Arc<TypedSchema>),
    /// A view over a raw table (the raw table's descriptor, the view schema).
    View(TableDescriptor, Arc<TypedSchema>),
    /// A raw table.
    Raw(TableDescriptor),
}

/// Looks `name` up: a table first, then a view defined on any table.
pub fn resolve(conn: &Connection, name: &str) -> Result<Option<Resolved>> {
    let admin = conn.admin();
    if let Ok(tn) = TableName::parse(name) {
        match admin.describe(&tn) {
            Ok(desc) => {
                return Ok(Some(match TypedSchema::from_descriptor(&desc)? {
                    Some(s) => Resolved::Typed(desc, Arc::new(s)),
                    None => Resolved::Raw(desc),
                }))
            }
            Err(StoreError::TableNotFound(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    for desc in admin.list_tables()? {
        for (view, s) in TypedSchema::views_of(&desc)? {
            if view == name {
                return Ok(Some(Resolved::View(desc, Arc::new(s))));
            }
        }
    }
    Ok(None)
}

/// Resolves `name` or fails with "table not found".
pub fn resolve_required(conn: &Connection, name: &str) -> Result<Resolved> {
    resolve(conn, name)?.ok_or_else(|| SqlError::invalid(format!("table not found: {name}")))
}

/// The store's tables as a DataFusion schema.
#[derive(Debug)]
pub struct StoreSchema {
    conn: Arc<Connection>,
    metrics: Arc<ScanMetrics>,
    copies: Arc<ColumnarCopies>,
}

impl StoreSchema {
    /// A schema over `conn`, counting scans into `metrics`; typed tables read `copies`.
    pub fn new(
        conn: Arc<Connection>,
        metrics: Arc<ScanMetrics>,
        copies: Arc<ColumnarCopies>,
    ) -> StoreSchema {
        StoreSchema {
            conn,
            metrics,
            copies,
        }
    }

    /// The provider for `name`, if it exists.
    pub fn provider(&self, name: &str) -> Result<Option<Arc<StoreTable>>> {
        let Some(r) = resolve(&self.conn, name)? else {
            return Ok(None);
        };
        let t = match r {
            Resolved::Typed(desc, s) => StoreTable::typed(
                self.conn.clone(),
                desc.name.clone(),
                name.to_string(),
                s,
                self.metrics.clone(),
            )
            .with_columnar(&self.copies, &desc),
            Resolved::View(desc, s) => StoreTable::typed(
                self.conn.clone(),
                desc.name,
                name.to_string(),
                s,
                self.metrics.clone(),
            ),
            Resolved::Raw(desc) => StoreTable::raw(
                self.conn.clone(),
                desc.name,
                name.to_string(),
                self.metrics.clone(),
            )?,
        };
        Ok(Some(Arc::new(t)))
    }
}

#[async_trait]
impl SchemaProvider for StoreSchema {
    fn table_names(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Ok(tables) = self.conn.admin().list_tables() {
            for d in tables {
                if d.name.is_system() {
                    continue;
                }
                if let Ok(views) = TypedSchema::views_of(&d) {
                    out.extend(views.into_iter().map(|(v, _)| v));
                }
                out.push(d.name.to_string());
            }
        }
        out.sort();
        out
    }

    async fn table(&self, name: &str) -> DfResult<Option<Arc<dyn TableProvider>>> {
        let p = self.provider(name).map_err(to_df)?;
        Ok(p.map(|p| p as Arc<dyn TableProvider>))
    }

    fn table_exist(&self, name: &str) -> bool {
        matches!(resolve(&self.conn, name), Ok(Some(_)))
    }
}
