//! `basalt sql -e/-f` as a library call: a script of statements printed as table, CSV and
//! JSON, and a failing statement stopping the script.

use std::sync::Arc;

use sql::format::Format;
use sql::Session;
use store_server::Connection;

fn fail<T>(e: impl std::fmt::Display) -> T {
    panic!("{e}")
}

#[test]
fn scripts_print_in_every_format() {
    let dir = tempfile::tempdir().unwrap_or_else(fail);
    let conn = Arc::new(Connection::embedded(dir.path()).unwrap_or_else(fail));
    let session = Session::new(conn).unwrap_or_else(fail);
    let rt = sql::cli::runtime().unwrap_or_else(fail);
    let mut out = Vec::new();
    let ok = sql::cli::run_script(
        &rt,
        &session,
        "CREATE TABLE t (k INTEGER PRIMARY KEY, s VARCHAR, d DATE, ts TIMESTAMP);\n\
         UPSERT INTO t VALUES (2, 'b,c', DATE '2024-02-29', TIMESTAMP '2024-01-02 03:04:05.123'), (1, NULL, NULL, NULL);\n\
         SELECT k, s, d FROM t ORDER BY k;",
        Format::Csv,
        &mut out,
    );
    assert!(ok);
    let text = String::from_utf8(out).unwrap_or_else(fail);
    assert_eq!(
        text,
        "created table t (1 regions)\n2 rows upserted\nk,s,d\n1,,\n2,\"b,c\",2024-02-29\n"
    );

    let mut out = Vec::new();
    assert!(sql::cli::run_script(
        &rt,
        &session,
        "SELECT k, s, ts FROM t ORDER BY k DESC",
        Format::Json,
        &mut out
    ));
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap_or_else(fail);
    assert_eq!(v[0]["k"], serde_json::json!(2));
    assert_eq!(v[0]["s"], serde_json::json!("b,c"));
    assert_eq!(v[0]["ts"], serde_json::json!("2024-01-02T03:04:05.123"));
    assert_eq!(v[1]["s"], serde_json::Value::Null);

    let mut out = Vec::new();
    assert!(sql::cli::run_script(
        &rt,
        &session,
        "SELECT count(*) AS n FROM t",
        Format::Table,
        &mut out
    ));
    let text = String::from_utf8(out).unwrap_or_else(fail);
    assert!(
        text.contains("| n |") && text.contains("| 2 |") && text.ends_with("1 row\n"),
        "{text}"
    );

    let mut out = Vec::new();
    assert!(!sql::cli::run_script(
        &rt,
        &session,
        "SELECT 1; SELECT nope FROM t; SELECT 3",
        Format::Csv,
        &mut out
    ));
    assert_eq!(
        String::from_utf8(out).unwrap_or_else(fail).lines().count(),
        2
    );
}
