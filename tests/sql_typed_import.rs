//! Phoenix's workflow through the binary: `basalt sql` creates a typed, salted table,
//! `basalt import` bulk-loads a CSV into it (fields parsed by SQL type, keys encoded), and
//! `basalt sql` queries the result — checked against sums computed here from the CSV.

use std::path::Path;
use std::process::{Command, Output};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn basalt(root: &Path, args: &[&str]) -> std::io::Result<Output> {
    Command::new(env!("CARGO_BIN_EXE_basalt"))
        .arg("--root")
        .arg(root)
        .args(args)
        .output()
}

fn ok(out: Output) -> Result<String, String> {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.success() {
        Ok(stdout)
    } else {
        Err(format!(
            "failed: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

#[test]
fn csv_bulk_import_into_a_typed_table_then_sql() -> TestResult {
    let dir = tempfile::tempdir()?;
    let root = dir.path().join("root");
    ok(basalt(
        &root,
        &[
            "sql",
            "-e",
            "CREATE TABLE trades (sym VARCHAR NOT NULL, ts TIMESTAMP NOT NULL, qty INTEGER, \
             px.price DOUBLE, CONSTRAINT pk PRIMARY KEY (sym, ts DESC)) SALT_BUCKETS=3",
        ],
    )?)?;

    // 600 trades over 3 symbols; every 7th has no quantity (NULL).
    let mut csv = String::from("SYM,TS,QTY,PRICE\n");
    let (mut qty_sum, mut rows_abc) = (0i64, 0u32);
    for i in 0..600i64 {
        let sym = ["abc", "def", "ghi"][(i % 3) as usize];
        let qty = if i % 7 == 0 {
            String::new()
        } else {
            qty_sum += i;
            i.to_string()
        };
        if sym == "abc" {
            rows_abc += 1;
        }
        csv.push_str(&format!(
            "{sym},{},{qty},{}.25\n",
            1_700_000_000_000 + i * 1000,
            i % 50
        ));
    }
    let input = dir.path().join("trades.csv");
    std::fs::write(&input, csv)?;
    let input_arg = input.to_string_lossy().into_owned();
    let summary = ok(basalt(
        &root,
        &["import", "trades", &input_arg, "--header", "--quiet"],
    )?)?;
    assert!(summary.contains("600 rows"), "{summary}");

    let out = ok(basalt(
        &root,
        &[
            "sql",
            "--format",
            "csv",
            "-e",
            "SELECT COUNT(*) AS n, SUM(qty) AS q, COUNT(qty) AS nq FROM trades",
        ],
    )?)?;
    assert_eq!(out, format!("n,q,nq\n600,{qty_sum},514\n"));

    // A key-prefix query: the leading key column becomes a row-key range.
    let out = ok(basalt(
        &root,
        &[
            "sql",
            "--format",
            "csv",
            "-e",
            "SELECT COUNT(*) AS n, MAX(ts) AS last FROM trades WHERE sym = 'abc'",
        ],
    )?)?;
    assert!(
        out.starts_with(&format!("n,last\n{rows_abc},2023-11-14T22:23:17")),
        "{out}"
    );
    Ok(())
}
