//! The built-in jobs, each a thin layer over the [`Runner`](crate::Runner).

pub mod cellcounter;
pub mod copytable;
pub mod export;
pub mod import_export;
pub mod rowcounter;
pub mod verify;
