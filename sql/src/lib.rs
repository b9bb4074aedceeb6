//! Basalt's SQL layer: Apache DataFusion over the store, with Phoenix-like typed tables.
//!
//! - [`ddl`] parses the Phoenix dialect DataFusion does not know (CREATE TABLE with
//!   `fam.col` columns, `CONSTRAINT pk PRIMARY KEY (a, b DESC)`, SALT_BUCKETS and family
//!   options, SPLIT ON; CREATE VIEW over raw tables; UPSERT; DELETE; DROP; ALTER TABLE ADD).
//! - [`session`] runs those statements against the store and hands queries to DataFusion.
//! - [`catalog`] exposes every store table to DataFusion; [`provider`] is the
//!   `TableProvider` with projection, key-range/skip-scan, store-filter and LIMIT push-down;
//!   [`keyrange`] turns predicates into row-key ranges and [`key_filter`] drops the ones
//!   they enforce exactly from the filter over the scan; [`scan_exec`] is the region-parallel
//!   scan node with scan metrics and EXPLAIN output; [`columns`] builds its Arrow columns
//!   straight from the stored bytes; [`columnar`] keeps Parquet copies of quiet regions that
//!   the scan reads instead of the HFiles while they are current; [`run_aggregate`] groups
//!   rows that arrive sorted on the grouping key (a leading-key `GROUP BY`) without hashing.
//! - [`types`] maps SQL types to Arrow; [`format`](mod@format) renders results; [`cli`] is
//!   `basalt sql`; [`flight`] is the Arrow Flight SQL endpoint (`basalt sql-server`).
//!
//! The typed-table schema and the row-key codec themselves live in `store_server::typed`
//! and `store_server::rowkey` so that bulk loading can use them without DataFusion.

pub mod catalog;
pub mod cli;
pub mod columnar;
pub mod columns;
pub mod ddl;
pub mod error;
pub mod flight;
pub mod format;
pub mod key_filter;
pub mod keyrange;
pub mod provider;
pub mod run_aggregate;
pub mod runtime_filter;
pub mod scan_exec;
pub mod session;
pub mod types;

pub use error::{Result, SqlError};
pub use scan_exec::MetricsSnapshot;
pub use session::{Output, Session};
