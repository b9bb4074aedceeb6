//! Concurrency: writers and scanners on the same regions while flushes, compactions and
//! splits run. Scanners must always see sorted, complete rows.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};

use common::create;
use store_server::{Config, Connection, Get, Put, Result, Scan, TableName};

#[test]
fn writers_and_scanners_during_flush_compaction_split() -> Result<()> {
    let dir = tempfile::tempdir().map_err(|e| store_server::Error::io("tempdir", e))?;
    let config = Config {
        flush_size: 16 << 10,
        wal_roll_size: 32 << 10,
        ..Config::default()
    };
    let conn = Connection::embedded_with_config(dir.path(), config)?;
    create(&conn, "cc", &["f"], 1, &[])?;
    let tn = TableName::parse("cc")?;
    let done = AtomicBool::new(false);
    const WRITERS: u64 = 3;
    const PER_WRITER: u64 = 600;
    std::thread::scope(|s| -> Result<()> {
        let mut writers = Vec::new();
        for w in 0..WRITERS {
            let t = conn.table("cc")?;
            writers.push(s.spawn(move || -> Result<()> {
                for i in 0..PER_WRITER {
                    let row = format!("{:04}-{w}", (i * 37) % PER_WRITER);
                    let v = format!("{w}-{i}");
                    t.put(
                        &Put::new(row)
                            .add("f", "a", v.clone())
                            .add("f", "b", v.clone())
                            .add("f", "c", v),
                    )?;
                }
                Ok(())
            }));
        }
        let mut scanners = Vec::new();
        for _ in 0..2 {
            let t = conn.table("cc")?;
            let done = &done;
            scanners.push(s.spawn(move || -> Result<usize> {
                let mut scans = 0;
                while !done.load(Ordering::Acquire) || scans == 0 {
                    let mut prev: Option<bytes::Bytes> = None;
                    for r in t.scan(&Scan::new())? {
                        let r = r?;
                        if let Some(p) = &prev {
                            assert!(
                                p < &r.row,
                                "rows out of order or duplicated: {p:?} then {:?}",
                                r.row
                            );
                        }
                        assert_eq!(r.cells.len(), 3, "partial row {:?}", r.row);
                        assert!(
                            r.cells.iter().all(|c| c.value == r.cells[0].value),
                            "torn row {:?}",
                            r.row
                        );
                        prev = Some(r.row.clone());
                    }
                    scans += 1;
                }
                Ok(scans)
            }));
        }
        let admin = conn.admin();
        for round in 0..6 {
            admin.flush(&tn)?;
            admin.compact(&tn, round % 2 == 1)?;
            let key = format!("{:04}", 100 * (round + 1));
            match admin.split(&tn, Some(key.as_bytes())) {
                Ok(_) | Err(store_server::Error::InvalidArgument(_)) => {}
                Err(e) => return Err(e),
            }
        }
        for w in writers {
            w.join()
                .map_err(|_| store_server::Error::InvalidArgument("writer panicked".into()))??;
        }
        done.store(true, Ordering::Release);
        for sc in scanners {
            let n = sc
                .join()
                .map_err(|_| store_server::Error::InvalidArgument("scanner panicked".into()))??;
            assert!(n >= 1);
        }
        Ok(())
    })?;
    let t = conn.table("cc")?;
    for w in 0..WRITERS {
        for i in 0..PER_WRITER {
            let row = format!("{:04}-{w}", (i * 37) % PER_WRITER);
            assert_eq!(t.get(&Get::new(row.clone()))?.cells.len(), 3, "{row}");
        }
    }
    assert!(admin_regions(&conn, &tn)? >= 2);
    Ok(())
}

fn admin_regions(conn: &Connection, tn: &TableName) -> Result<usize> {
    Ok(conn.admin().regions(tn)?.len())
}
