//! SQL from Rust: open a `sql::Session` over an embedded store and run Phoenix-like DDL
//! and DML (CREATE TABLE, UPSERT, SELECT with aggregation) on a tokio runtime.
//!
//! Run with: `cargo run --release --example sql_from_rust`

use std::sync::Arc;

use sql::format::{render, Format};
use sql::{Output, Session};
use store_server::Connection;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let conn = Arc::new(Connection::embedded(dir.path().join("store"))?);
    let session = Session::new(conn.clone())?;

    // The session is async (DataFusion); drive it from a small multi-threaded runtime.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let statements = [
            "CREATE TABLE metrics (host VARCHAR NOT NULL, ts BIGINT NOT NULL, cpu DOUBLE, \
             CONSTRAINT pk PRIMARY KEY (host, ts))",
            "UPSERT INTO metrics (host, ts, cpu) VALUES \
             ('web1', 1000, 12.5), ('web1', 2000, 40.0), ('web2', 1000, 7.25), ('db1', 1500, 88.0)",
            "SELECT host, COUNT(*) AS n, MAX(cpu) AS max_cpu FROM metrics GROUP BY host ORDER BY host",
            "SELECT ts, cpu FROM metrics WHERE host = 'web1' AND ts >= 1500",
        ];
        for stmt in statements {
            println!("> {stmt}");
            let out = session.run(stmt).await?;
            println!("{}\n", render(&out, Format::Table)?);
        }

        // Results are also available as Arrow record batches.
        let batches = session.query("SELECT host FROM metrics").await?;
        let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
        println!("metrics holds {rows} rows");
        assert_eq!(rows, 4);

        let out = session.run("SELECT COUNT(*) FROM metrics WHERE cpu > 10").await?;
        assert!(matches!(out, Output::Rows { .. }));
        Ok::<(), Box<dyn std::error::Error>>(())
    })?;

    drop(session);
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
