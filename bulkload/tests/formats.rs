//! Parquet and JSON-lines imports, verified through the client's scan; a CSV copy of the
//! same data imports to the same cells.

mod common;

use std::sync::Arc;

use arrow_array::{ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use bulkload::{ColumnSpec, Format};
use common::*;
use parquet::arrow::ArrowWriter;

fn write_parquet(path: &std::path::Path) -> TestResult {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Utf8, false),
        Field::new("m:price", DataType::Float64, true),
        Field::new("m:qty", DataType::Int64, true),
        Field::new("m:ok", DataType::Boolean, true),
        Field::new("ignored", DataType::Utf8, true),
    ]));
    let cols: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(vec!["p1", "p2", "p3"])),
        Arc::new(Float64Array::from(vec![Some(9.5), None, Some(-0.25)])),
        Arc::new(Int64Array::from(vec![Some(3), Some(-7), None])),
        Arc::new(BooleanArray::from(vec![Some(true), Some(false), None])),
        Arc::new(StringArray::from(vec![Some("x"), None, Some("z")])),
    ];
    let batch = RecordBatch::try_new(schema.clone(), cols)?;
    let mut w = ArrowWriter::try_new(std::fs::File::create(path)?, schema, None)?;
    w.write(&batch)?;
    w.close()?;
    Ok(())
}

fn expected_products() -> Vec<Row> {
    vec![
        cell("p1", "m", "ok", 1000, "true"),
        cell("p1", "m", "price", 1000, "9.5"),
        cell("p1", "m", "qty", 1000, "3"),
        cell("p2", "m", "ok", 1000, "false"),
        cell("p2", "m", "qty", 1000, "-7"),
        cell("p3", "m", "price", 1000, "-0.25"),
    ]
}

/// Parquet columns map by name through a SOURCE=TARGET spec; nulls give no cell.
#[test]
fn parquet_by_name_with_nulls() -> TestResult {
    let dir = tempfile::tempdir()?;
    let conn = connect(&dir.path().join("root"))?;
    create_table(&conn, "products", &["m"], &["p2"])?;
    let input = dir.path().join("products.parquet");
    write_parquet(&input)?;
    let mut opts = options(
        "products",
        &input,
        Some("id=HBASE_ROW_KEY,m:price=m:price,m:qty=m:qty,m:ok=m:ok"),
    )?;
    opts.source.format = Some(Format::Parquet);
    let s = bulkload::run_import(&conn, &opts)?;
    assert_eq!(s.rows, 3);
    assert_eq!(dump(&conn, "products")?, expected_products());

    // The same rows as CSV (and no spec: the header maps itself) give the same cells.
    let conn2_root = dir.path().join("root2");
    let conn2 = connect(&conn2_root)?;
    create_table(&conn2, "products", &["m"], &[])?;
    let csv = write_file(
        dir.path(),
        "products.csv",
        b"rowkey,m:price,m:qty,m:ok\np1,9.5,3,true\np2,,-7,false\np3,-0.25,,\n",
    )?;
    let mut copts = options("products", &csv, None)?;
    copts.source.header = true;
    bulkload::run_import(&conn2, &copts)?;
    assert_eq!(dump(&conn2, "products")?, expected_products());
    Ok(())
}

/// Without a spec, Parquet fields must name themselves; an unmappable name is a spec error.
#[test]
fn parquet_without_spec_needs_cf_q_names() -> TestResult {
    let dir = tempfile::tempdir()?;
    let conn = connect(&dir.path().join("root"))?;
    create_table(&conn, "products", &["m"], &[])?;
    let input = dir.path().join("p.parquet");
    write_parquet(&input)?;
    let opts = options("products", &input, None)?;
    match bulkload::run_import(&conn, &opts) {
        Err(bulkload::Error::Spec(m)) => assert!(m.contains("'ignored'"), "{m}"),
        other => panic!("expected a spec error, got {other:?}"),
    }
    Ok(())
}

/// JSON lines: the first object names the fields (first key = row key), strings, numbers,
/// booleans, nested values and nulls; a directory of inputs is read in name order.
#[test]
fn json_lines_directory() -> TestResult {
    let dir = tempfile::tempdir()?;
    let conn = connect(&dir.path().join("root"))?;
    create_table(&conn, "events", &["e"], &["k"])?;
    let inputs = dir.path().join("drop");
    std::fs::create_dir(&inputs)?;
    write_file(
        &inputs,
        "part-0.jsonl",
        b"{\"id\":\"a\",\"e:kind\":\"click\",\"e:n\":1,\"e:tags\":[\"x\",\"y\"]}\r\n\
\n\
{\"id\":\"z\",\"e:kind\":\"view\",\"e:n\":2.5,\"e:tags\":null}\n",
    )?;
    // A later file overwrites row a's kind (later input wins); its first key is not the
    // row key, so it needs the spec.
    write_file(
        &inputs,
        "part-1.jsonl",
        b"{\"e:kind\":\"buy\",\"id\":\"a\",\"extra\":0}\n",
    )?;
    write_file(&inputs, "_SUCCESS", b"")?;
    let mut opts = options("events", &inputs, None)?;
    match bulkload::run_import(&conn, &opts) {
        Err(bulkload::Error::Spec(m)) => assert!(m.contains("part-1") && m.contains("'id'"), "{m}"),
        other => panic!("expected a spec error for part-1, got {other:?}"),
    }
    opts.columns = Some(ColumnSpec::parse(
        "id=HBASE_ROW_KEY,e:kind=e:kind,e:n=e:n,e:tags=e:tags",
    )?);
    let s = bulkload::run_import(&conn, &opts)?;
    assert_eq!(s.rows, 3);
    assert_eq!(
        dump(&conn, "events")?,
        vec![
            cell("a", "e", "kind", 1000, "buy"),
            cell("a", "e", "n", 1000, "1"),
            cell("a", "e", "tags", 1000, "[\"x\",\"y\"]"),
            cell("z", "e", "kind", 1000, "view"),
            cell("z", "e", "n", 1000, "2.5"),
        ]
    );
    Ok(())
}
