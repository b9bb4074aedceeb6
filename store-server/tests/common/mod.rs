//! Helpers shared by the integration tests.
#![allow(dead_code)]

use store_server::{Config, Connection, FamilyDescriptor, Result, TableDescriptor, TableName};

/// A deterministic configuration: no background worker, small WAL files.
pub fn test_config() -> Config {
    Config {
        background: false,
        wal_roll_size: 64 << 10,
        flush_size: 1 << 30,
        ..Config::default()
    }
}

/// Creates table `name` with families `fams` (max versions `versions`).
pub fn create(
    conn: &Connection,
    name: &str,
    fams: &[&str],
    versions: u32,
    splits: &[&[u8]],
) -> Result<()> {
    let desc = TableDescriptor::new(
        TableName::parse(name)?,
        fams.iter()
            .map(|f| FamilyDescriptor::new(f.as_bytes().to_vec()).with_max_versions(versions))
            .collect(),
    );
    let splits: Vec<Vec<u8>> = splits.iter().map(|s| s.to_vec()).collect();
    conn.admin().create_table(desc, &splits)
}

/// One row as (row, [(family:qualifier, ts, value)]).
pub type Row = (String, Vec<(String, i64, String)>);

/// Rows of a scan as (row, [(family:qualifier, ts, value)]) strings.
pub fn rows(it: store_server::client::RowIter) -> Result<Vec<Row>> {
    let mut out = Vec::new();
    for r in it {
        let r = r?;
        out.push((
            String::from_utf8_lossy(&r.row).into_owned(),
            r.cells
                .iter()
                .map(|c| {
                    (
                        format!(
                            "{}:{}",
                            String::from_utf8_lossy(&c.family),
                            String::from_utf8_lossy(&c.qualifier)
                        ),
                        c.timestamp,
                        String::from_utf8_lossy(&c.value).into_owned(),
                    )
                })
                .collect(),
        ));
    }
    Ok(out)
}
