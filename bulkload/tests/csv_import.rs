//! CSV/TSV imports into live tables, verified cell by cell through the client's get/scan.

mod common;

use common::*;

/// Quoting edge cases (embedded separators, doubled quotes, embedded CRLF), a BOM, CRLF
/// line ends, empty fields and a repeated row, through a header mapping into a table
/// pre-split into three regions.
#[test]
fn csv_edge_cases_into_presplit_table() -> TestResult {
    let dir = tempfile::tempdir()?;
    let root = dir.path().join("root");
    let conn = connect(&root)?;
    create_table(&conn, "t", &["cf", "other"], &["b", "n"])?;
    let csv = b"\xEF\xBB\xBFrowkey,cf:name,cf:note,other:n\r\n\
a1,Alice,\"hello, world\",1\r\n\
b2,\"Bob \"\"the builder\"\"\",first,2\r\n\
c5,Cy,\"multi\r\nline, \"\"quoted\"\"\",5\r\n\
m3,\xC3\x89mile,,3\r\n\
z9,\"\",plain,\r\n\
b2,Bobby,second,22\r\n";
    let input = write_file(dir.path(), "people.csv", csv)?;
    let mut opts = options("t", &input, None)?;
    opts.source.header = true;
    let summary = bulkload::run_import(&conn, &opts)?;
    assert_eq!(summary.rows, 6);
    assert_eq!(summary.bad_lines, 0);
    assert_eq!(summary.regions, 3);
    assert_eq!(summary.duplicate_cells, 3, "row b2 was written twice");
    let load = summary.load.as_ref().ok_or("no load report")?;
    assert_eq!(load.regions_touched, 3);
    assert_eq!(load.files_split, 0);

    let expected = vec![
        cell("a1", "cf", "name", 1000, "Alice"),
        cell("a1", "cf", "note", 1000, "hello, world"),
        cell("a1", "other", "n", 1000, "1"),
        cell("b2", "cf", "name", 1000, "Bobby"),
        cell("b2", "cf", "note", 1000, "second"),
        cell("b2", "other", "n", 1000, "22"),
        cell("c5", "cf", "name", 1000, "Cy"),
        cell("c5", "cf", "note", 1000, "multi\r\nline, \"quoted\""),
        cell("c5", "other", "n", 1000, "5"),
        cell("m3", "cf", "name", 1000, "Émile"),
        cell("m3", "other", "n", 1000, "3"),
        cell("z9", "cf", "note", 1000, "plain"),
    ];
    assert_eq!(dump(&conn, "t")?, expected);
    // Cell by cell through get, row by row.
    for row in ["a1", "b2", "c5", "m3", "z9"] {
        let want: Vec<Row> = expected
            .iter()
            .filter(|c| c.0 == row.as_bytes())
            .cloned()
            .collect();
        assert_eq!(get_row(&conn, "t", row.as_bytes())?, want, "row {row}");
    }
    // The staging directory is gone after a successful load.
    let staging: Vec<_> = std::fs::read_dir(root.join("staging"))?.collect();
    assert!(staging.is_empty(), "staging left behind: {staging:?}");
    Ok(())
}

/// ImportTsv-style positional spec with a skipped column and a timestamp column.
#[test]
fn tsv_positional_spec_with_timestamp_column() -> TestResult {
    let dir = tempfile::tempdir()?;
    let conn = connect(&dir.path().join("root"))?;
    create_table(&conn, "ns_t", &["d"], &[])?;
    let tsv = b"r1\tx\tSKIPPED\ty\t500\n\
r2\t\tSKIPPED\tonly-b\t600\n\
r1\tx-old\tSKIPPED\ty-old\t400\n";
    let input = write_file(dir.path(), "data.tsv", tsv)?;
    let opts = options("ns_t", &input, Some("HBASE_ROW_KEY,d:a,,d:b,HBASE_TS_KEY"))?;
    let summary = bulkload::run_import(&conn, &opts)?;
    assert_eq!(summary.rows, 3);
    assert_eq!(
        dump(&conn, "ns_t")?,
        vec![
            cell("r1", "d", "a", 500, "x"),
            cell("r1", "d", "b", 500, "y"),
            cell("r2", "d", "b", 600, "only-b"),
        ]
    );
    // The older versions were loaded too; VERSIONS=1 hides them from reads, a raw scan
    // shows them.
    let mut raw = Vec::new();
    for row in conn
        .table("ns_t")?
        .scan(&store_server::Scan::new().raw(true))?
    {
        for c in row?.cells {
            raw.push((
                String::from_utf8_lossy(&c.qualifier).into_owned(),
                c.timestamp,
            ));
        }
    }
    let r1_a: Vec<_> = raw.iter().filter(|(q, _)| q == "a").collect();
    assert_eq!(r1_a, vec![&("a".to_string(), 500), &("a".to_string(), 400)]);
    Ok(())
}

/// Unknown tables and families are refused before anything is read.
#[test]
fn unknown_table_and_family_are_typed_errors() -> TestResult {
    let dir = tempfile::tempdir()?;
    let conn = connect(&dir.path().join("root"))?;
    let input = write_file(dir.path(), "x.csv", b"k,v\n")?;
    let opts = options("missing", &input, Some("HBASE_ROW_KEY,f:v"))?;
    match bulkload::run_import(&conn, &opts) {
        Err(bulkload::Error::TableNotFound(t)) => assert_eq!(t, "missing"),
        other => panic!("expected TableNotFound, got {other:?}"),
    }
    create_table(&conn, "t", &["f"], &[])?;
    let opts = options("t", &input, Some("HBASE_ROW_KEY,g:v"))?;
    match bulkload::run_import(&conn, &opts) {
        Err(bulkload::Error::UnknownFamily { family, .. }) => assert_eq!(family, "g"),
        other => panic!("expected UnknownFamily, got {other:?}"),
    }
    Ok(())
}
