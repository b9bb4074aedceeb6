//! Basalt's LSM region engine, the embedded region server, the catalog and the client API.
//!
//! Layering, bottom up: [`memstore`] and [`wal`] hold fresh writes, [`storefile`] wraps
//! HFiles, [`store`] is one family of one region, [`region`] is a row range of a table with
//! MVCC row atomicity ([`mvcc`]), [`cursor`] and [`matcher`] are the merged read path with
//! HBase's delete/version semantics, [`compaction`] and [`split`] reshape regions,
//! [`catalog`] keeps tables and regions in `basalt:meta`, [`server`] hosts regions behind
//! one WAL, and [`client`] offers the mode-agnostic `Connection`/`Admin`/`Table` API, whose
//! scans also come as Arrow record batches ([`batch`]).

pub mod batch;
pub mod catalog;
pub mod client;
pub mod codec;
pub mod compaction;
pub mod cursor;
pub mod error;
pub mod matcher;
pub mod memstore;
pub mod mvcc;
pub mod region;
pub mod row;
pub mod rowkey;
pub mod scan;
pub mod schema;
pub mod server;
pub mod split;
pub mod store;
pub mod storefile;
pub mod typed;
pub mod wal;

pub use client::{Admin, CheckAndMutate, Connection, Delete, DeleteSpec, Mutation, Put, Table};
pub use error::{Error, Result};
pub use row::{RowCells, RowCursor};
pub use scan::{CompareOp, Filter, Get, RowResult, Scan, TimeRange};
pub use schema::{Durability, FamilyDescriptor, TableDescriptor, TableName};
pub use server::Config;

/// Milliseconds since the Unix epoch (the default cell timestamp).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
