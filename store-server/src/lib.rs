//! Basalt's LSM region engine, the embedded region server, the catalog and the client API.
//!
//! Layering, bottom up: [`memstore`] and [`wal`] hold fresh writes, [`storefile`] wraps
//! HFiles, [`store`] is one family of one region, [`region`] is a row range of a table with
//! MVCC row atomicity, [`compaction`] and [`split`] reshape regions, [`catalog`] keeps
//! tables and regions in `basalt:meta`, [`server`] hosts regions behind one WAL, and
//! [`client`] offers the mode-agnostic `Connection`/`Admin`/`Table` API.

pub mod codec;
pub mod error;
pub mod memstore;
pub mod mvcc;
pub mod schema;
pub mod wal;

pub use error::{Error, Result};
