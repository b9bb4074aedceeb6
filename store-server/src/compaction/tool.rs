//! The nightly compaction tool behind `basalt compact`: [`plan`] (a dry run per region and
//! family, with advice), [`run`] (regions in parallel under one global write [`throttle`],
//! stopping new work past a deadline) and [`report`] (a JSON-lines history in the root).

pub mod plan;
pub mod report;
pub mod run;
pub mod throttle;

use crate::error::{Error, Result};
use crate::schema::TableName;
use crate::server::RegionServer;

/// The tables to work on: the named ones (which must exist), or if `names` is empty and
/// `all` is set every enabled user table (every disabled one when `offline`).
pub fn resolve_tables(
    server: &RegionServer,
    names: &[String],
    all: bool,
    offline: bool,
) -> Result<Vec<TableName>> {
    if names.is_empty() {
        if !all {
            return Err(Error::InvalidArgument(
                "name at least one table, or pass --all".into(),
            ));
        }
        return Ok(server
            .list_tables()
            .into_iter()
            .filter(|d| !d.name.is_system() && d.enabled != offline)
            .map(|d| d.name)
            .collect());
    }
    let mut out = Vec::new();
    for n in names {
        let t = TableName::parse(n)?;
        server.describe(&t)?;
        out.push(t);
    }
    Ok(out)
}
