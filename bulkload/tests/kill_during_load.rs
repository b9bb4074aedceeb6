//! kill -9 of a real import process in the middle of its load phase, then a re-run: the
//! table ends complete and correct, and a third run changes nothing.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::*;

const COLUMNS: &str = "HBASE_ROW_KEY,f:a,g:b";

fn expected(n: usize) -> Vec<Row> {
    let mut out = Vec::new();
    for i in 0..n {
        let r = format!("k{i:05}");
        out.push(cell(&r, "f", "a", 777, &format!("a{i}")));
        out.push(cell(&r, "g", "b", 777, &format!("b{i}")));
    }
    out
}

#[test]
fn kill_9_during_load_then_rerun() -> TestResult {
    let dir = tempfile::tempdir()?;
    let root = dir.path().join("root");
    let n = 4000;
    {
        let conn = connect(&root)?;
        create_table(&conn, "t", &["f", "g"], &["k01000", "k02000", "k03000"])?;
        conn.close()?;
    }
    let mut csv = String::new();
    for i in (0..n).rev() {
        csv.push_str(&format!("k{i:05},a{i},b{i}\n"));
    }
    let input = write_file(dir.path(), "in.csv", csv.as_bytes())?;
    let worker = env!("CARGO_BIN_EXE_bulkload-worker");
    let args = |pause: &str| -> Vec<String> {
        vec![
            root.display().to_string(),
            "t".into(),
            input.display().to_string(),
            COLUMNS.into(),
            "777".into(),
            pause.into(),
        ]
    };

    // Run 1: killed with SIGKILL once the first of four regions has its files.
    let mut child = Command::new(worker)
        .args(args("1"))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line)?;
    assert_eq!(line.trim(), "PAUSED", "worker said {line:?}");
    child.kill()?; // SIGKILL on Unix
    let status = child.wait()?;
    assert!(!status.success());

    // The store recovers with a partial load: some regions have the rows, not all.
    {
        let conn = connect(&root)?;
        let partial = dump(&conn, "t")?;
        assert!(
            !partial.is_empty() && partial.len() < 2 * n,
            "{} cells",
            partial.len()
        );
        assert!(expected(n).iter().filter(|c| partial.contains(c)).count() == partial.len());
        conn.close()?;
    }

    // Run 2 (another process, no pause): completes the import.
    let out = Command::new(worker).args(args("0")).output()?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let conn = connect(&root)?;
    assert_eq!(dump(&conn, "t")?, expected(n));

    // Run 3, in-process: the same import again leaves the same contents.
    let mut opts = options("t", &input, Some(COLUMNS))?;
    opts.timestamp = Some(777);
    bulkload::run_import(&conn, &opts)?;
    assert_eq!(dump(&conn, "t")?, expected(n));
    for i in [0usize, 1999, 3999] {
        let row = format!("k{i:05}");
        assert_eq!(get_row(&conn, "t", row.as_bytes())?.len(), 2);
    }
    // Nothing left in staging by the successful runs.
    assert_eq!(std::fs::read_dir(root.join("staging"))?.count(), 0);
    Ok(())
}
