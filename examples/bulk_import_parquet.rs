//! Bulk import from Parquet: write a small Parquet file with arrow/parquet, import it
//! with `bulkload::run_import` (sorted HFiles handed to the regions, like `basalt import`),
//! then scan the table to show the rows.
//!
//! Run with: `cargo run --release --example bulk_import_parquet`

use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use bulkload::{ColumnSpec, Format, ImportOptions, SourceOptions};
use parquet::arrow::ArrowWriter;
use store_server::{Connection, FamilyDescriptor, Scan};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let conn = Connection::embedded(dir.path().join("store"))?;

    // A Parquet file: `id` becomes the row key, the other fields cells of family `m`.
    let input = dir.path().join("products.parquet");
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Utf8, false),
        Field::new("price", DataType::Float64, true),
        Field::new("qty", DataType::Int64, true),
    ]));
    let ids: Vec<String> = (0..100).map(|i| format!("p{i:03}")).collect();
    let cols: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(ids)),
        Arc::new(Float64Array::from(
            (0..100).map(|i| Some(i as f64 * 1.5)).collect::<Vec<_>>(),
        )),
        Arc::new(Int64Array::from(
            (0..100)
                .map(|i| (i % 7 != 0).then_some(i))
                .collect::<Vec<_>>(),
        )),
    ];
    let batch = RecordBatch::try_new(schema.clone(), cols)?;
    let mut writer = ArrowWriter::try_new(std::fs::File::create(&input)?, schema, None)?;
    writer.write(&batch)?;
    writer.close()?;

    // Fields map by name (SOURCE=TARGET); the table is created with family `m`.
    let opts = ImportOptions {
        table: "products".into(),
        inputs: vec![input],
        source: SourceOptions {
            format: Some(Format::Parquet),
            header: false,
            separator: None,
        },
        columns: Some(ColumnSpec::parse(
            "id=HBASE_ROW_KEY,price=m:price,qty=m:qty",
        )?),
        timestamp: Some(1000),
        memory: Some(64 << 20),
        threads: Some(2),
        create: Some(vec![FamilyDescriptor::new("m")]),
        ..ImportOptions::default()
    };
    let summary = bulkload::run_import(&conn, &opts)?;
    println!("{summary}");

    // Scan the imported rows (null quantities produced no cell).
    let table = conn.table("products")?;
    let mut rows = 0;
    for r in table.scan(&Scan::new())? {
        let r = r?;
        if rows < 5 {
            let price = r
                .value(b"m", b"price")
                .map(|v| String::from_utf8_lossy(v).into_owned());
            let qty = r
                .value(b"m", b"qty")
                .map(|v| String::from_utf8_lossy(v).into_owned());
            println!(
                "{} price={price:?} qty={qty:?}",
                String::from_utf8_lossy(&r.row)
            );
        }
        rows += 1;
    }
    println!("scanned {rows} rows");
    assert_eq!(rows, 100);
    conn.close()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn example_runs() {
        if let Err(e) = super::main() {
            panic!("example failed: {e}");
        }
    }
}
