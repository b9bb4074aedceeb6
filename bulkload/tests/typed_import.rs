//! Imports into typed (SQL) tables: fields parsed by SQL type, row keys encoded (and salted)
//! exactly as the SQL layer's UPSERT encodes them, bad values reported by line and column.

mod common;

use std::collections::BTreeSet;

use common::*;
use store_server::rowkey::{SortOrder, SqlType, Value};
use store_server::typed::{ColumnDef, KeyColumn, TypedSchema};
use store_server::{FamilyDescriptor, TableDescriptor, TableName};

/// `orders (region VARCHAR, id BIGINT DESC, placed TIMESTAMP, total DECIMAL(10,2), d.note
/// VARCHAR, PRIMARY KEY (region, id DESC)) SALT_BUCKETS=4`, created pre-split on the salt.
fn create_orders(conn: &store_server::Connection) -> TestResult<TypedSchema> {
    let schema = TypedSchema::new(
        vec![
            ColumnDef::key("region", SqlType::Varchar),
            ColumnDef::key("id", SqlType::BigInt),
            ColumnDef::new("placed", SqlType::Timestamp, b"0"),
            ColumnDef::new(
                "total",
                SqlType::Decimal {
                    precision: 10,
                    scale: 2,
                },
                b"0",
            ),
            ColumnDef::new("note", SqlType::Varchar, b"d"),
        ],
        vec![
            KeyColumn {
                column: 0,
                order: SortOrder::Asc,
            },
            KeyColumn {
                column: 1,
                order: SortOrder::Desc,
            },
        ],
        Some(4),
    )?;
    let mut desc = TableDescriptor::new(
        TableName::parse("orders")?,
        schema
            .families()
            .iter()
            .map(|f| FamilyDescriptor::new(f.as_slice()))
            .collect(),
    );
    schema.attach(&mut desc);
    conn.admin().create_table(desc, &schema.salt_split_keys())?;
    Ok(schema)
}

/// The cells SQL's UPSERT would write for these values, at timestamp 1000.
fn expected_cells(schema: &TypedSchema, rows: &[Vec<Value>]) -> TestResult<BTreeSet<Row>> {
    let mut out = BTreeSet::new();
    for values in rows {
        let row = schema.encode_row(values)?;
        for c in row.cells {
            if let Some(v) = c.value {
                out.insert((row.key.clone(), c.family, c.qualifier, 1000, v));
            }
        }
    }
    Ok(out)
}

#[test]
fn csv_with_header_into_salted_typed_table() -> TestResult {
    let dir = tempfile::tempdir()?;
    let conn = connect(&dir.path().join("root"))?;
    let schema = create_orders(&conn)?;
    // Header order differs from the declaration order; NOTE is absent from one row.
    let csv = b"ID,REGION,TOTAL,PLACED,NOTE\n\
7,eu,12.5,2024-03-01T10:00:00Z,first\n\
12,eu,0.99,1709287200000,\n\
7,us,100,2024-03-01 12:30:00.250,rush\n";
    let input = write_file(dir.path(), "orders.csv", csv)?;
    let mut opts = options("orders", &input, None)?;
    opts.source.header = true;
    let summary = bulkload::run_import(&conn, &opts)?;
    assert_eq!((summary.rows, summary.bad_lines), (3, 0));

    let ts = |ms: i64| Value::Timestamp {
        millis: ms,
        nanos: 0,
    };
    let rows = vec![
        vec![
            Value::Str("eu".into()),
            Value::I64(7),
            ts(1_709_287_200_000),
            Value::Decimal(1250),
            Value::Str("first".into()),
        ],
        vec![
            Value::Str("eu".into()),
            Value::I64(12),
            ts(1_709_287_200_000),
            Value::Decimal(99),
            Value::Null,
        ],
        vec![
            Value::Str("us".into()),
            Value::I64(7),
            ts(1_709_296_200_250),
            Value::Decimal(10000),
            Value::Str("rush".into()),
        ],
    ];
    let got: BTreeSet<Row> = dump(&conn, "orders")?.into_iter().collect();
    assert_eq!(got, expected_cells(&schema, &rows)?);
    // Every row key decodes back to its primary key, and the salt spread rows over regions.
    for (key, ..) in &got {
        let pk = schema.decode_row_key(key)?;
        assert!(rows.iter().any(|r| r[..2] == pk[..]), "{pk:?}");
    }
    Ok(())
}

#[test]
fn positional_fields_and_bad_values_by_line_and_column() -> TestResult {
    let dir = tempfile::tempdir()?;
    let conn = connect(&dir.path().join("root"))?;
    let schema = create_orders(&conn)?;
    let csv = b"eu,1,2024-01-01T00:00:00Z,1.00,a\n\
eu,two,2024-01-01T00:00:00Z,1.00,b\n\
eu,3,yesterday,1.00,c\n\
,4,2024-01-01T00:00:00Z,1.00,d\n";
    let input = write_file(dir.path(), "o.csv", csv)?;
    let bad_file = dir.path().join("bad.txt");
    let mut opts = options("orders", &input, None)?;
    opts.skip_bad_lines = true;
    opts.bad_lines_file = Some(bad_file.clone());
    let summary = bulkload::run_import(&conn, &opts)?;
    assert_eq!((summary.rows, summary.bad_lines), (2, 2), "{summary}");
    let bad = std::fs::read_to_string(&bad_file)?;
    assert!(bad.contains(":2:2: ") && bad.contains("'two'"), "{bad}");
    assert!(
        bad.contains(":3:3: ") && bad.contains("'yesterday'"),
        "{bad}"
    );
    // A NULL VARCHAR leading key is allowed (Phoenix encodes it as empty); row 4 loads.
    let mut keys: Vec<Vec<Value>> = dump(&conn, "orders")?
        .iter()
        .map(|(k, ..)| schema.decode_row_key(k))
        .collect::<Result<_, _>>()?;
    keys.dedup();
    assert!(keys.contains(&vec![Value::Str("eu".into()), Value::I64(1)]));
    assert_eq!(keys.len(), 2, "{keys:?}");

    // Without --skip-bad-lines the first bad value aborts, naming file, line and column.
    let strict = options("orders", &input, None)?;
    let err = bulkload::run_import(&conn, &strict)
        .err()
        .ok_or("a bad value must abort")?
        .to_string();
    assert!(err.contains("o.csv") && err.contains("'two'"), "{err}");
    Ok(())
}

#[test]
fn options_that_do_not_apply_to_typed_tables_are_refused() -> TestResult {
    let dir = tempfile::tempdir()?;
    let conn = connect(&dir.path().join("root"))?;
    create_orders(&conn)?;
    let input = write_file(dir.path(), "o.csv", b"eu,1,,,\n")?;
    let with_spec = options("orders", &input, Some("HBASE_ROW_KEY,0:x"))?;
    let err = bulkload::run_import(&conn, &with_spec)
        .err()
        .ok_or("--columns")?;
    assert!(err.to_string().contains("--import-columns"), "{err}");

    let mut listed = options("orders", &input, None)?;
    listed.import_columns = Some(vec!["region".into(), "id".into(), "colour".into()]);
    let err = bulkload::run_import(&conn, &listed)
        .err()
        .ok_or("unknown")?;
    assert!(err.to_string().contains("colour"), "{err}");

    create_table(&conn, "raw", &["f"], &[])?;
    let mut raw = options("raw", &input, Some("HBASE_ROW_KEY,f:a"))?;
    raw.import_columns = Some(vec!["a".into()]);
    let err = bulkload::run_import(&conn, &raw).err().ok_or("raw")?;
    assert!(err.to_string().contains("typed table"), "{err}");
    Ok(())
}
