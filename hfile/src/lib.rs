//! HBase-compatible HFile reader and writer.
//!
//! Reads HFile v2 (minor versions 0–3) and v3, writes v3 exactly as HBase 2 does: blocks
//! with CRC32C checksums, NONE/GZ/LZ4 compression, NONE/FAST_DIFF data block encoding, a
//! multi-level block index, compound Bloom filters and protobuf FileInfo and trailer.
//!
//! ```no_run
//! use hfile::{Cell, CellView, Reader, Writer, WriterOptions};
//! # fn main() -> hfile::Result<()> {
//! let mut w = Writer::create("/tmp/example.hfile", WriterOptions::default())?;
//! w.append(&Cell::put(&b"row1"[..], &b"f"[..], &b"q"[..], 1, &b"v"[..]))?;
//! w.finish()?;
//! let r = Reader::open("/tmp/example.hfile", None)?;
//! for cell in r.cells() {
//!     let cell = cell?;
//!     println!("{:?} = {:?}", cell.row(), cell.value());
//! }
//! # Ok(()) }
//! ```

pub mod block;
pub mod bloom;
pub mod cache;
pub mod cell;
pub mod checksum;
pub mod compression;
pub mod derived;
pub mod encoding;
pub mod error;
pub mod fileinfo;
pub mod index;
pub mod reader;
pub mod trailer;
pub mod varint;
pub mod verify;
pub mod writer;

pub use bloom::BloomType;
pub use cache::{BlockCache, CacheStats};
pub use cell::{Cell, CellRef, CellSlices, CellType, CellView, Comparator};
pub use checksum::ChecksumType;
pub use compression::Compression;
pub use encoding::DataBlockEncoding;
pub use error::{Error, Result};
pub use fileinfo::FileInfo;
pub use reader::{CellIter, Reader, Scanner};
pub use trailer::Trailer;
pub use writer::{WriteSummary, Writer, WriterOptions};
