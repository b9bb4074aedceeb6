//! Crash test: a child process writes and reports acknowledged puts; it is killed with
//! SIGKILL at varying points; after reopening, every acknowledged put is present and no
//! row is ever partially visible.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::{create, test_config};
use store_server::{Connection, Get, Result, Scan};

fn row_of(i: u64) -> String {
    format!("row{:08}", (i * 7919) % 1_000_000)
}

#[test]
fn acknowledged_puts_survive_sigkill() -> Result<()> {
    let dir = tempfile::tempdir().map_err(|e| store_server::Error::io("tempdir", e))?;
    {
        let conn = Connection::embedded_with_config(dir.path(), test_config())?;
        create(&conn, "crash", &["f"], 1, &[b"row00500000"])?;
        conn.close()?;
    }
    let mut next = 0u64;
    let mut acked: Vec<u64> = Vec::new();
    // Kill after different numbers of acknowledgements (no timing involved).
    for (round, kill_after) in [37u64, 410, 150, 900].into_iter().enumerate() {
        let mut child = Command::new(env!("CARGO_BIN_EXE_basalt-crash-writer"))
            .arg(dir.path())
            .arg("crash")
            .arg(next.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| store_server::Error::io("basalt-crash-writer", e))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| store_server::Error::InvalidArgument("no stdout".into()))?;
        let mut lines = BufReader::new(stdout).lines();
        let mut seen = 0;
        while seen < kill_after {
            match lines.next() {
                Some(Ok(l)) => {
                    if let Some(i) = l.strip_prefix("ACK ").and_then(|s| s.parse::<u64>().ok()) {
                        acked.push(i);
                        seen += 1;
                    }
                }
                _ => panic!("writer exited early in round {round}"),
            }
        }
        child
            .kill()
            .map_err(|e| store_server::Error::io("kill", e))?; // SIGKILL on Unix
                                                               // Acknowledgements already in the pipe count too.
        for l in lines.map_while(|l| l.ok()) {
            if let Some(i) = l.strip_prefix("ACK ").and_then(|s| s.parse::<u64>().ok()) {
                acked.push(i);
            }
        }
        let _ = child.wait();
        next = acked.iter().max().map(|m| m + 1).unwrap_or(0) + 1;

        // Reopen and verify.
        let conn = Connection::embedded_with_config(dir.path(), test_config())?;
        let t = conn.table("crash")?;
        for &i in &acked {
            let r = t.get(&Get::new(row_of(i)))?;
            assert!(!r.is_empty(), "acknowledged row {i} lost in round {round}");
        }
        let mut rows = 0;
        for r in t.scan(&Scan::new())? {
            let r = r?;
            rows += 1;
            let vals: Vec<_> = r.cells.iter().map(|c| c.value.clone()).collect();
            assert_eq!(vals.len(), 3, "partial row {:?} in round {round}", r.row);
            assert!(vals.iter().all(|v| *v == vals[0]), "torn row {:?}", r.row);
        }
        assert!(
            rows >= acked.len(),
            "round {round}: {rows} rows < {} acked",
            acked.len()
        );
        conn.close()?;
    }
    Ok(())
}
