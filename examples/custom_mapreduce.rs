//! A custom map/reduce job with the `mapreduce` crate: scan a table, map every cell to a
//! value-length bucket, then reduce (with a map-side combiner) to a count per bucket,
//! collected in memory.
//!
//! Run with: `cargo run --release --example custom_mapreduce`

use mapreduce::{Emit, Input, Job, MemoryOutput, Reduce, RunOptions, Runner};
use store_server::{Connection, FamilyDescriptor, Put, Scan, TableDescriptor, TableName};

/// The bucket of a value length: powers of ten.
fn bucket(len: usize) -> String {
    match len {
        0..=9 => "0-9 bytes".into(),
        10..=99 => "10-99 bytes".into(),
        _ => "100+ bytes".into(),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let conn = Connection::embedded(dir.path().join("store"))?;
    let name = TableName::parse("docs")?;
    let desc = TableDescriptor::new(name.clone(), vec![FamilyDescriptor::new("d")]);
    conn.admin().create_table(desc, &[b"doc-0500".to_vec()])?;

    // 1000 rows with two cells each: a short title and a body of varying length.
    let puts: Vec<Put> = (0..1000)
        .map(|i| {
            Put::new(format!("doc-{i:04}"))
                .add("d", "title", format!("t{}", i % 10))
                .add("d", "body", "x".repeat(i % 150))
        })
        .collect();
    conn.table("docs")?.put_batch(&puts)?;

    // Map: one (bucket, 1) pair per cell. Counters are aggregated across tasks too.
    let runner = Runner::new(conn.clone(), RunOptions::default())?;
    let input = Input::table(name, Scan::new());
    let job = Job::map_rows(
        "value-lengths",
        input,
        |row, ctx, out: &mut dyn Emit<(String, u64)>| {
            for cell in row.cells() {
                out.emit((bucket(cell.value.len()), 1))?;
            }
            ctx.incr("ValueLengths", "ROWS", 1);
            Ok(())
        },
    );
    // Reduce: sum per bucket; the combiner pre-sums on the map side.
    let reduce = Reduce::new(
        2,
        |key: String, counts: Vec<u64>, _ctx, out: &mut dyn Emit<(String, u64)>| {
            out.emit((key, counts.iter().sum()))
        },
    )
    .with_combiner(|_key, counts: Vec<u64>| Ok(vec![counts.iter().sum()]));

    let report = runner.run_map_reduce(&job, &reduce, &MemoryOutput::new())?;
    let mut buckets = report.output;
    buckets.sort();
    println!("job '{}' ran {} map tasks", report.name, report.splits);
    for (bucket, n) in &buckets {
        println!("{bucket:>12}: {n} cells");
    }
    println!("rows seen: {}", report.counters.get("ValueLengths", "ROWS"));
    let total: u64 = buckets.iter().map(|(_, n)| n).sum();
    assert_eq!(total, 2000);
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
