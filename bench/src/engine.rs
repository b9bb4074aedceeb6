//! Basalt's engine as the benchmarks use it: an embedded store (`Connection::embedded`),
//! tables with the benchmark family, HFiles written for and bulk-loaded into regions, and the
//! store files a table ends up with.
//!
//! Everything that touches the `store-server` API (other than the jobs themselves) lives
//! here, so API changes stay in one place.

use std::path::{Path, PathBuf};

use hfile::Writer;
use store_server::schema::FamilyDescriptor;
use store_server::storefile::writer_options;
use store_server::{Config, Connection, TableDescriptor, TableName};

use crate::rowgen::FAMILY;
use crate::Result;

/// The benchmark family `f` with HBase's defaults: 1 version, no compression, encoding
/// NONE, ROW Bloom filter, 64 KiB blocks.
pub fn family() -> FamilyDescriptor {
    FamilyDescriptor::new(FAMILY.to_vec())
}

/// Opens the store at `root` in-process. Background flushes/compactions are on only when
/// `background` (off where they would race with what is measured).
pub fn open(root: &Path, background: bool) -> Result<Connection> {
    let config = Config {
        background,
        ..Config::default()
    };
    Ok(Connection::embedded_with_config(root, config)?)
}

/// Creates table `name` with [`family`], pre-split at `split_keys`.
pub fn create_table(conn: &Connection, name: &str, split_keys: &[Vec<u8>]) -> Result<()> {
    create_table_with(conn, name, family(), split_keys)
}

/// Creates table `name` with one family `fam`, pre-split at `split_keys`.
pub fn create_table_with(
    conn: &Connection,
    name: &str,
    fam: FamilyDescriptor,
    split_keys: &[Vec<u8>],
) -> Result<()> {
    let desc = TableDescriptor::new(TableName::parse(name)?, vec![fam]);
    conn.admin().create_table(desc, split_keys)?;
    Ok(())
}

/// An HFile writer for `path` with the options the engine uses for [`family`]'s store files.
pub fn store_writer(path: &Path) -> Result<Writer> {
    Ok(Writer::create(path, writer_options(&family()))?)
}

/// Bulk-loads `files` (in order, one call each so each gets its own sequence id) into the
/// family of table `name`; the engine copies them into the regions.
pub fn bulk_load(conn: &Connection, name: &str, files: &[PathBuf]) -> Result<()> {
    let t = TableName::parse(name)?;
    for f in files {
        let report = conn
            .admin()
            .bulk_load(&t, &[(FAMILY.to_vec(), f.clone())])?;
        if report.loaded.len() != 1 {
            return Err(format!("bulk load of {} loaded nothing", f.display()).into());
        }
    }
    Ok(())
}

/// Paths of every store file of table `name`, region by region.
pub fn store_files(conn: &Connection, name: &str) -> Result<Vec<PathBuf>> {
    let t = TableName::parse(name)?;
    let mut out = Vec::new();
    for region in conn.server().table_regions(&t)? {
        for store in region.stores().values() {
            out.extend(store.state().files.iter().map(|f| f.path().to_path_buf()));
        }
    }
    Ok(out)
}

/// Number of regions of table `name`.
pub fn region_count(conn: &Connection, name: &str) -> Result<usize> {
    Ok(conn.admin().regions(&TableName::parse(name)?)?.len())
}
