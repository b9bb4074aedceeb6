//! Embedded store basics: open a store in-process, create a table through the `Admin`
//! API, then put (single and batched), get, scan and delete rows.
//!
//! Run with: `cargo run --release --example embedded_put_get_scan [STORE_DIR]`
//! (without an argument the store lives in a temporary directory).

use store_server::{
    Connection, Delete, FamilyDescriptor, Get, Put, Scan, TableDescriptor, TableName,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    run(std::env::args().nth(1))
}

/// Runs the example against `dir`, or a fresh temporary directory.
fn run(dir: Option<String>) -> Result<(), Box<dyn std::error::Error>> {
    let tmp = tempfile::tempdir()?;
    let root = dir.map_or_else(|| tmp.path().join("store"), Into::into);
    let conn = Connection::embedded(&root)?;

    // Create `users` with one family `info`, pre-split at "m" (two regions).
    let admin = conn.admin();
    let name = TableName::parse("users")?;
    if !admin.table_exists(&name)? {
        let desc = TableDescriptor::new(name, vec![FamilyDescriptor::new("info")]);
        admin.create_table(desc, &[b"m".to_vec()])?;
    }
    let table = conn.table("users")?;

    // One put, then a batch (each row is atomic; a batch shares WAL syncs).
    table.put(&Put::new("alice").add("info", "email", "alice@example.com"))?;
    let batch: Vec<Put> = ["bob", "carol", "zoe"]
        .iter()
        .map(|u| {
            Put::new(*u)
                .add("info", "email", format!("{u}@example.com"))
                .add("info", "age", "42")
        })
        .collect();
    table.put_batch(&batch)?;

    // Point get of one column.
    let row = table.get(&Get::new("bob").add_column("info", "email"))?;
    let email = row.value(b"info", b"email").ok_or("bob has no email")?;
    println!("get bob -> {}", String::from_utf8_lossy(email));

    // Full scan across both regions.
    for r in table.scan(&Scan::new())? {
        let r = r?;
        let cols: Vec<String> = r
            .cells
            .iter()
            .map(|c| {
                format!(
                    "{}={}",
                    String::from_utf8_lossy(&c.qualifier),
                    String::from_utf8_lossy(&c.value)
                )
            })
            .collect();
        println!(
            "scan {} -> {}",
            String::from_utf8_lossy(&r.row),
            cols.join(", ")
        );
    }

    // Delete a row and check it is gone; a bounded scan sees the rest.
    table.delete(&Delete::new("carol"))?;
    assert!(table.get(&Get::new("carol"))?.is_empty());
    let rows = table
        .scan(&Scan::new().with_start_row("a").with_stop_row("m"))?
        .collect::<Result<Vec<_>, _>>()?;
    println!("rows in [a, m) after deleting carol: {}", rows.len());
    assert_eq!(rows.len(), 2);

    conn.close()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn example_runs() {
        if let Err(e) = super::run(None) {
            panic!("example failed: {e}");
        }
    }
}
