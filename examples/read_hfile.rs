//! Reading an HFile: write a small HFile with `hfile::Writer`, then open it with
//! `hfile::Reader` and print its trailer and file info, iterate its cells and look up a
//! row. Given a path, it reads that HFile instead (e.g. one of the HBase 0.94 fixtures).
//!
//! Run with: `cargo run --release --example read_hfile [PATH_TO_HFILE]`

use std::path::PathBuf;

use hfile::cell::{key_to_string, to_string_binary};
use hfile::{Cell, Reader, Writer, WriterOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    run(std::env::args().nth(1).map(PathBuf::from))
}

/// Reads `path`, or writes and reads a sample file in a temporary directory.
fn run(path: Option<PathBuf>) -> Result<(), Box<dyn std::error::Error>> {
    let tmp = tempfile::tempdir()?;
    let path = match path {
        Some(p) => p,
        None => {
            // Cells must be appended in HBase key order: row, family, qualifier, ts desc.
            let path = tmp.path().join("sample.hfile");
            let mut writer = Writer::create(&path, WriterOptions::default())?;
            for i in 0..1000u32 {
                let row = format!("row-{i:05}");
                writer.append(&Cell::put(row.clone(), "cf", "a", 1000, format!("a{i}")))?;
                writer.append(&Cell::put(row, "cf", "b", 1000, format!("b{i}")))?;
            }
            let summary = writer.finish()?;
            println!(
                "wrote {} cells, {} bytes, {} data blocks",
                summary.entries, summary.file_size, summary.data_blocks
            );
            path
        }
    };

    let reader = Reader::open(&path, None)?;
    let t = reader.trailer();
    println!(
        "{}: version {}.{}, {} entries, {} bytes",
        path.display(),
        t.major_version,
        t.minor_version,
        reader.entry_count(),
        reader.file_size()
    );
    println!(
        "comparator {:?}, compression {:?}, encoding {:?}",
        reader.comparator(),
        reader.compression(),
        reader.encoding()
    );
    println!("first key {:?}", reader.first_key().map(key_to_string));
    println!("last key  {:?}", reader.last_key().map(key_to_string));
    for (k, v) in reader.file_info().iter() {
        println!("file info {} = {} bytes", to_string_binary(k), v.len());
    }

    // Iterate every cell in order (print the first few).
    let mut count = 0u64;
    let mut first_row = None;
    for cell in reader.cells() {
        let cell = cell?;
        if count < 5 {
            println!(
                "cell {}/{}:{}@{} = {}",
                to_string_binary(&cell.row),
                to_string_binary(&cell.family),
                to_string_binary(&cell.qualifier),
                cell.timestamp,
                to_string_binary(&cell.value)
            );
        }
        first_row.get_or_insert_with(|| cell.row.clone());
        count += 1;
    }
    println!("iterated {count} cells");
    assert_eq!(count, reader.entry_count());

    // Point lookup of one row (uses the block index and Bloom filter).
    if let Some(row) = first_row {
        let cells = reader.get_row(&row)?;
        println!(
            "get_row({}) -> {} cells",
            to_string_binary(&row),
            cells.len()
        );
        assert!(!cells.is_empty());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn example_runs() {
        if let Err(e) = super::run(None) {
            panic!("example failed: {e}");
        }
    }
}
