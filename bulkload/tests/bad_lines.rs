//! Malformed records: abort before anything is loaded (naming file, line, column and
//! reason), or skip them into a bad-lines file with their original text.

mod common;

use common::*;

const INPUT: &[u8] = b"r1,a,10\n\
r2,b,20\n\
r3,c,soon\n\
r4,\"multi\nline\",x1\n\
,nokey,40\n\
r5,e,50,extra\n\
r6,f,60\n";

/// Without --skip-bad-lines the first bad line aborts: typed error with file:line:column,
/// the table keeps exactly what it had, and no staging files are left.
#[test]
fn first_bad_line_aborts_before_loading() -> TestResult {
    let dir = tempfile::tempdir()?;
    let root = dir.path().join("root");
    let conn = connect(&root)?;
    create_table(&conn, "t", &["f"], &["r3"])?;
    let good = write_file(dir.path(), "good.csv", b"r0,zero,5\n")?;
    bulkload::run_import(
        &conn,
        &options("t", &good, Some("HBASE_ROW_KEY,f:v,HBASE_TS_KEY"))?,
    )?;
    let before = dump(&conn, "t")?;
    assert_eq!(before, vec![cell("r0", "f", "v", 5, "zero")]);

    let input = write_file(dir.path(), "in.csv", INPUT)?;
    let opts = options("t", &input, Some("HBASE_ROW_KEY,f:v,HBASE_TS_KEY"))?;
    match bulkload::run_import(&conn, &opts) {
        Err(bulkload::Error::BadLine {
            file,
            line,
            column,
            reason,
        }) => {
            assert_eq!(file, input);
            assert_eq!((line, column), (3, 3));
            assert!(reason.contains("'soon'"), "{reason}");
            let msg = bulkload::Error::BadLine {
                file,
                line,
                column,
                reason,
            }
            .to_string();
            assert!(msg.contains("in.csv:3:3: timestamp 'soon'"), "{msg}");
        }
        other => panic!("expected a bad line error, got {other:?}"),
    }
    // Read in pieces by three threads, later pieces failing too: still the first bad line,
    // and line numbers count from the start of the file.
    for piece_size in [8, 12, 20] {
        let mut opts = opts.clone();
        opts.threads = Some(3);
        opts.piece_size = Some(piece_size);
        match bulkload::run_import(&conn, &opts) {
            Err(bulkload::Error::BadLine { line, column, .. }) => {
                assert_eq!((line, column), (3, 3), "pieces of {piece_size}")
            }
            other => panic!("expected a bad line error, got {other:?}"),
        }
    }
    let mut in_pieces = opts.clone();
    in_pieces.threads = Some(3);
    in_pieces.piece_size = Some(8);
    in_pieces.skip_bad_lines = true;
    let s = bulkload::run_import(&conn, &in_pieces)?;
    assert_eq!((s.rows, s.bad_lines), (3, 4));
    assert_eq!(dump(&conn, "t")?.len(), 4, "r0, r1, r2 and r6");
    Ok(())
}

/// With --skip-bad-lines the good records load, the bad ones are counted and written to the
/// bad-lines file with their original text (quotes and embedded newline included).
#[test]
fn bad_lines_are_skipped_and_recorded() -> TestResult {
    let dir = tempfile::tempdir()?;
    let conn = connect(&dir.path().join("root"))?;
    create_table(&conn, "t", &["f"], &[])?;
    let input = write_file(dir.path(), "in.csv", INPUT)?;
    let bad_file = dir.path().join("bad.txt");
    let mut opts = options("t", &input, Some("HBASE_ROW_KEY,f:v,HBASE_TS_KEY"))?;
    opts.skip_bad_lines = true;
    opts.bad_lines_file = Some(bad_file.clone());
    let s = bulkload::run_import(&conn, &opts)?;
    assert_eq!(s.bad_lines, 4);
    assert_eq!(s.rows, 3);
    assert_eq!(
        dump(&conn, "t")?,
        vec![
            cell("r1", "f", "v", 10, "a"),
            cell("r2", "f", "v", 20, "b"),
            cell("r6", "f", "v", 60, "f"),
        ]
    );
    let text = std::fs::read_to_string(&bad_file)?;
    let p = input.display();
    let want = format!(
        "# {p}:3:3: timestamp 'soon' is not a non-negative integer (ms)\nr3,c,soon\n\
# {p}:4:3: timestamp 'x1' is not a non-negative integer (ms)\nr4,\"multi\nline\",x1\n\
# {p}:6:1: empty row key\n,nokey,40\n\
# {p}:7:4: 4 fields, the column mapping has 3\nr5,e,50,extra\n"
    );
    assert_eq!(text, want);
    Ok(())
}

/// JSON lines: an unparsable line and a non-object line are bad lines too.
#[test]
fn bad_json_lines_are_skipped() -> TestResult {
    let dir = tempfile::tempdir()?;
    let conn = connect(&dir.path().join("root"))?;
    create_table(&conn, "t", &["f"], &[])?;
    let input = write_file(
        dir.path(),
        "in.jsonl",
        b"{\"rowkey\":\"a\",\"f:v\":1}\n{\"rowkey\":\"b\",\"f:v\":\n[1,2]\n{\"rowkey\":\"c\",\"f:v\":3}\n",
    )?;
    let mut opts = options("t", &input, None)?;
    opts.skip_bad_lines = true;
    let s = bulkload::run_import(&conn, &opts)?;
    assert_eq!(s.bad_lines, 2);
    assert_eq!(
        dump(&conn, "t")?,
        vec![
            cell("a", "f", "v", 1000, "1"),
            cell("c", "f", "v", 1000, "3")
        ]
    );
    opts.skip_bad_lines = false;
    match bulkload::run_import(&conn, &opts) {
        Err(bulkload::Error::BadLine { line, reason, .. }) => {
            assert_eq!(line, 2);
            assert!(reason.contains("invalid JSON"), "{reason}");
        }
        other => panic!("expected a bad line, got {other:?}"),
    }
    Ok(())
}
