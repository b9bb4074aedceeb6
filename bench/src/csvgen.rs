//! The CSV generator of `bench import`: `rows` lines of 8 fields, in random key order, written
//! deterministically from a seed.
//!
//! Field 0 is the row key: 16 lowercase hex digits of a bijective mix of the line number
//! (unique, uniformly spread, unsorted). Fields 1–7 (`f:c1` … `f:c7` in the import) are
//! typical CSV payload: an integer (up to 10 digits), a decimal with two places, a word, a
//! date (`2024-MM-DD`), a word, a phrase of 3–9 words and a small integer. No field needs
//! quoting. About 108 bytes per line (≈ 1.08 GB for 10 M lines).

use std::io::{BufWriter, Write};
use std::path::Path;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use crate::rowgen::{mix64, Vocabulary};
use crate::Result;

/// Value fields per line (after the row key).
pub const VALUE_FIELDS: usize = 7;

/// The `--columns` spec that maps a line: the row key, then `f:c1` … `f:c7`.
pub fn column_spec() -> String {
    let mut s = String::from("HBASE_ROW_KEY");
    for i in 1..=VALUE_FIELDS {
        s.push_str(&format!(",f:c{i}"));
    }
    s
}

/// Qualifier of value field `i` (0-based): `c1` … `c7`.
pub fn qualifier(i: usize) -> String {
    format!("c{}", i + 1)
}

/// The row key of line `i` (16 hex digits).
pub fn row_key(seed: u64, i: u64) -> String {
    format!("{:016x}", mix64(i ^ mix64(seed)))
}

/// Writes the CSV to `path`; returns its size in bytes.
pub fn write(path: &Path, rows: u64, seed: u64) -> Result<u64> {
    let vocab = Vocabulary::new(seed);
    let mut rng = SmallRng::seed_from_u64(mix64(seed ^ 0x6373_7667_656e));
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    for i in 0..rows {
        let key = row_key(seed, i);
        let int: u32 = rng.random_range(0..1_000_000_000);
        let cents: u32 = rng.random_range(0..10_000_000);
        let (month, day): (u32, u32) = (rng.random_range(1..=12), rng.random_range(1..=28));
        write!(out, "{key},{int},{}.{:02},", cents / 100, cents % 100)?;
        out.write_all(vocab.word(&mut rng))?;
        write!(out, ",2024-{month:02}-{day:02},")?;
        out.write_all(vocab.word(&mut rng))?;
        out.write_all(b",")?;
        let words = rng.random_range(3..=9);
        for w in 0..words {
            if w > 0 {
                out.write_all(b" ")?;
            }
            out.write_all(vocab.word(&mut rng))?;
        }
        writeln!(out, ",{}", rng.random_range(0..1000u32))?;
    }
    let f = out.into_inner().map_err(|e| e.into_error())?;
    f.sync_all()?;
    Ok(f.metadata()?.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_have_eight_fields_and_unique_keys() -> Result<()> {
        let p = std::env::temp_dir().join(format!("bench-csvgen-{}.csv", std::process::id()));
        let bytes = write(&p, 1000, 3)?;
        let text = std::fs::read_to_string(&p)?;
        std::fs::remove_file(&p)?;
        assert_eq!(text.len() as u64, bytes);
        let mut keys = std::collections::HashSet::new();
        for (i, line) in text.lines().enumerate() {
            let f: Vec<&str> = line.split(',').collect();
            assert_eq!(f.len(), 1 + VALUE_FIELDS, "line {i}: {line}");
            assert_eq!(f[0], row_key(3, i as u64));
            assert!(keys.insert(f[0].to_string()));
        }
        assert_eq!(keys.len(), 1000);
        assert_eq!(column_spec().split(',').count(), 1 + VALUE_FIELDS);
        Ok(())
    }
}
