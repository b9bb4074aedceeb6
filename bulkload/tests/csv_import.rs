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

    // Read by three threads in pieces of a few bytes: the same table.
    create_table(&conn, "pieces", &["cf", "other"], &["b", "n"])?;
    opts.table = "pieces".into();
    opts.threads = Some(3);
    opts.piece_size = Some(16);
    let pieces = bulkload::source::csv::split(&csv_input(&input, csv), 12)?;
    assert!(pieces.len() > 4, "{pieces:?}");
    let summary = bulkload::run_import(&conn, &opts)?;
    assert_eq!((summary.rows, summary.duplicate_cells), (6, 3));
    assert_eq!(dump(&conn, "pieces")?, expected);
    Ok(())
}

/// `path`, a CSV file holding `bytes`, as an input of the piece cutter.
fn csv_input(path: &std::path::Path, bytes: &[u8]) -> bulkload::source::InputFile {
    bulkload::source::InputFile {
        path: path.to_path_buf(),
        format: bulkload::Format::Csv,
        size: bytes.len() as u64,
        mtime_ms: 0,
    }
}

/// A CSV whose quoting breaks RFC 4180 (a quote inside an unquoted field) makes a cut for
/// parallel reading land inside a quoted field; the import notices and reads the file
/// whole, with the same result as a single thread.
#[test]
fn csv_that_cannot_be_cut_is_read_whole() -> TestResult {
    let dir = tempfile::tempdir()?;
    let conn = connect(&dir.path().join("root"))?;
    // One stray quote on the first line; after it, quote parity says "inside" at every
    // record boundary and "outside" at every newline within a quoted field.
    let mut csv = b"r00,x\"y,z\n".to_vec();
    for i in 1..40 {
        csv.extend_from_slice(format!("r{i:02},a,\"multi\nline {i}\"\n").as_bytes());
    }
    let input = write_file(dir.path(), "odd.csv", &csv)?;
    // Every cut falls after "multi\n", inside a quoted field.
    let pieces = bulkload::source::csv::split(&csv_input(&input, &csv), 8)?;
    assert!(pieces.len() > 1);
    assert!(pieces[1..]
        .iter()
        .all(|p| csv[..p.start as usize].ends_with(b"multi\n")));
    let mut want = Vec::new();
    for (table, threads) in [("one", 1), ("cut", 2)] {
        create_table(&conn, table, &["f"], &["r20"])?;
        let mut opts = options(table, &input, Some("HBASE_ROW_KEY,f:a,f:b"))?;
        opts.threads = Some(threads);
        opts.piece_size = Some(16);
        let summary = bulkload::run_import(&conn, &opts)?;
        assert_eq!((summary.rows, summary.bad_lines), (40, 0));
        let got = dump(&conn, table)?;
        if want.is_empty() {
            want = got;
        } else {
            assert_eq!(got, want);
        }
    }
    assert_eq!(want.len(), 80);
    assert_eq!(want[0], cell("r00", "f", "a", 1000, "x\"y"));
    assert_eq!(want[3], cell("r01", "f", "b", 1000, "multi\nline 1"));
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
