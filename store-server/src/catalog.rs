//! The catalog: tables (descriptor + state) and regions, stored as rows of the system
//! table `basalt:meta` by the same engine (one region, family `info`, SYNC durability).
//!
//! Rows: `T:<table>` holds `info:desc` (the encoded [`TableDescriptor`]);
//! `R:<table>,<encoded region>` holds `info:regioninfo` (the encoded [`RegionInfo`]).
//! Every catalog change is one atomic multi-row write to the meta region, so a split's
//! "remove parent, add daughters" is all-or-nothing.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use hfile::{Cell, CellType};

use crate::error::Result;
use crate::region::Region;
use crate::scan::{Bound, Scan};
use crate::schema::{Durability, FamilyDescriptor, RegionInfo, TableDescriptor, TableName};

/// The catalog's only family.
pub const META_FAMILY: &[u8] = b"info";
const DESC_QUALIFIER: &[u8] = b"desc";
const REGION_QUALIFIER: &[u8] = b"regioninfo";
/// The meta region's id (HBase's encoded name of `hbase:meta,,1` is 1588230740).
pub const META_REGION_ID: u64 = 1_588_230_740;

/// The catalog table's descriptor.
pub fn meta_descriptor() -> TableDescriptor {
    let mut fam = FamilyDescriptor::new(META_FAMILY);
    fam.max_versions = 1;
    fam.in_memory = true;
    TableDescriptor::new(TableName::meta(), vec![fam])
}

/// The catalog's single region.
pub fn meta_region_info() -> RegionInfo {
    RegionInfo {
        table: TableName::meta(),
        start_key: Vec::new(),
        end_key: Vec::new(),
        region_id: META_REGION_ID,
        parent_id: None,
        seq_floor: 0,
    }
}

fn table_row(name: &TableName) -> Vec<u8> {
    format!("T:{}:{}", name.namespace, name.name).into_bytes()
}

fn region_row(info: &RegionInfo) -> Vec<u8> {
    format!(
        "R:{}:{},{}",
        info.table.namespace,
        info.table.name,
        info.encoded_name()
    )
    .into_bytes()
}

/// One atomic catalog change.
#[derive(Clone, Debug, Default)]
pub struct CatalogEdit {
    /// Table descriptors to write (create, alter, enable/disable).
    pub put_tables: Vec<TableDescriptor>,
    /// Tables to remove.
    pub delete_tables: Vec<TableName>,
    /// Regions to add.
    pub put_regions: Vec<RegionInfo>,
    /// Regions to remove.
    pub delete_regions: Vec<RegionInfo>,
}

/// Reads and writes the catalog rows in the meta region.
#[derive(Debug)]
pub struct Catalog {
    meta: Arc<Region>,
    clock: AtomicI64,
}

impl Catalog {
    /// The catalog stored in `meta`.
    pub fn new(meta: Arc<Region>) -> Catalog {
        Catalog {
            meta,
            clock: AtomicI64::new(0),
        }
    }

    /// The meta region.
    pub fn meta(&self) -> &Arc<Region> {
        &self.meta
    }

    /// A strictly increasing timestamp, so a delete and a later re-create never share one.
    fn tick(&self) -> i64 {
        let now = crate::now_ms();
        let mut cur = self.clock.load(Ordering::Acquire);
        loop {
            let next = now.max(cur + 1);
            match self
                .clock
                .compare_exchange(cur, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return next,
                Err(v) => cur = v,
            }
        }
    }

    /// Applies an edit as one atomic, durable write.
    pub fn apply(&self, edit: &CatalogEdit) -> Result<()> {
        let ts = self.tick();
        let mut cells = Vec::new();
        let del =
            |row: Vec<u8>| Cell::delete(row, META_FAMILY, Bytes::new(), ts, CellType::DeleteFamily);
        for t in &edit.delete_tables {
            cells.push(del(table_row(t)));
        }
        for r in &edit.delete_regions {
            cells.push(del(region_row(r)));
        }
        for t in &edit.put_tables {
            cells.push(Cell::put(
                table_row(&t.name),
                META_FAMILY,
                DESC_QUALIFIER,
                ts,
                t.encode(),
            ));
        }
        for r in &edit.put_regions {
            cells.push(Cell::put(
                region_row(r),
                META_FAMILY,
                REGION_QUALIFIER,
                ts,
                r.encode(),
            ));
        }
        cells.sort_by(|a, b| hfile::Comparator::Default.compare_cells(a, b));
        self.meta.write(cells, Durability::Sync)?;
        Ok(())
    }

    /// Every table and region recorded in the catalog.
    pub fn load(&self) -> Result<(Vec<TableDescriptor>, Vec<RegionInfo>)> {
        let mut tables = Vec::new();
        let mut regions = Vec::new();
        let scan = Scan::new();
        let mut s = self.meta.scanner(&scan, b"", Bound::Unbounded)?;
        let mut max_ts = 0;
        while let Some(row) = s.next_row()? {
            let what = format!(
                "basalt:meta row {}",
                hfile::cell::to_string_binary(&row.row)
            );
            for c in &row.cells {
                max_ts = max_ts.max(c.timestamp);
                if c.qualifier.as_ref() == DESC_QUALIFIER {
                    tables.push(TableDescriptor::decode(&c.value, &what)?);
                } else if c.qualifier.as_ref() == REGION_QUALIFIER {
                    regions.push(RegionInfo::decode(&c.value, &what)?);
                }
            }
        }
        // Include delete markers' timestamps too, so the clock never goes backwards.
        let raw = Scan::new().raw(true);
        let mut s = self.meta.scanner(&raw, b"", Bound::Unbounded)?;
        while let Some(row) = s.next_row()? {
            for c in &row.cells {
                max_ts = max_ts.max(c.timestamp);
            }
        }
        self.clock.fetch_max(max_ts, Ordering::AcqRel);
        regions.sort_by(|a, b| {
            a.table
                .cmp(&b.table)
                .then_with(|| a.start_key.cmp(&b.start_key))
        });
        Ok((tables, regions))
    }
}
