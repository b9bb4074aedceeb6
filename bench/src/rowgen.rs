//! A streaming, deterministic row generator for the engine benchmarks (`scanjob`, `compact`,
//! `ycsb`).
//!
//! Unlike [`crate::data::Dataset`], nothing is held in memory: row `r` (and version `v` of its
//! cells) is regenerated from `(seed, r, v)` alone, so data sets larger than memory can be
//! written to several peers, in the same order, with byte-identical content.
//!
//! * **row key**: `"user"` + the row number zero-padded to 10 digits + 2–18 random lowercase
//!   letters (the same shape as [`crate::data`]); sorted by row number by construction, and
//!   [`RowGen::split_key`] gives a key sorting just before a row.
//! * **family** [`FAMILY`]; **qualifiers** `qual000000`, `qual000001`, …;
//! * **timestamp**: 2024-01-01 + `version` days + a random offset within that day, so a
//!   higher version of a cell is always newer;
//! * **value**: text-like bytes of a fixed length (see [`Vocabulary::fill`]).

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use crate::data::BenchCell;

/// The column family of every generated cell.
pub use crate::data::FAMILY;

/// 2024-01-01T00:00:00Z in milliseconds.
const TS_BASE: i64 = 1_704_067_200_000;
/// One day in milliseconds.
const DAY_MS: i64 = 86_400_000;

/// `splitmix64`: a bijective 64-bit mixer, used to derive per-row seeds (and, being a
/// bijection, unique pseudo-random keys).
pub fn mix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// A fixed random vocabulary of 512 lowercase words (3–9 letters), for text-like values.
pub struct Vocabulary {
    words: Vec<Vec<u8>>,
}

impl Vocabulary {
    /// The vocabulary of `seed`.
    pub fn new(seed: u64) -> Vocabulary {
        let mut rng = SmallRng::seed_from_u64(mix64(seed ^ 0x766f_6361_6275_6c61));
        let words = (0..512)
            .map(|_| {
                let len = rng.random_range(3..=9);
                (0..len).map(|_| rng.random_range(b'a'..=b'z')).collect()
            })
            .collect();
        Vocabulary { words }
    }

    /// A random word.
    pub fn word(&self, rng: &mut SmallRng) -> &[u8] {
        &self.words[rng.random_range(0..self.words.len())]
    }

    /// Appends exactly `len` bytes to `out`: a 16-hex-digit random id, then random words
    /// separated by spaces (truncated to `len`).
    pub fn fill(&self, rng: &mut SmallRng, len: usize, out: &mut Vec<u8>) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let start = out.len();
        let id: u64 = rng.random();
        for i in 0..16 {
            out.push(HEX[((id >> (i * 4)) & 0xf) as usize]);
        }
        while out.len() - start < len {
            out.push(b' ');
            out.extend_from_slice(self.word(rng));
        }
        out.truncate(start + len);
    }
}

/// The generator: how many cells a row has and how long their values are.
pub struct RowGen {
    seed: u64,
    value_len: usize,
    vocab: Vocabulary,
    qualifiers: Vec<Vec<u8>>,
}

/// One generated row (reused between rows to avoid allocations).
#[derive(Default)]
pub struct GenRow {
    /// The row key.
    pub key: Vec<u8>,
    values: Vec<u8>,
    timestamps: Vec<i64>,
    value_len: usize,
}

impl GenRow {
    /// Value of cell `q`.
    pub fn value(&self, q: usize) -> &[u8] {
        &self.values[q * self.value_len..(q + 1) * self.value_len]
    }
}

impl RowGen {
    /// A generator of rows with `cells_per_row` cells of `value_len`-byte values.
    pub fn new(seed: u64, cells_per_row: usize, value_len: usize) -> RowGen {
        assert!((1..=999_999).contains(&cells_per_row));
        RowGen {
            seed,
            value_len,
            vocab: Vocabulary::new(seed),
            qualifiers: (0..cells_per_row)
                .map(|q| format!("qual{q:06}").into_bytes())
                .collect(),
        }
    }

    /// Cells per row.
    pub fn cells_per_row(&self) -> usize {
        self.qualifiers.len()
    }

    /// A key sorting after every key of rows `< r` and before every key of rows `>= r`
    /// (a region split point).
    pub fn split_key(r: u64) -> Vec<u8> {
        format!("user{r:010}").into_bytes()
    }

    /// Writes row `r`'s key into `out` (cleared first); the same for every version.
    pub fn key(&self, r: u64, out: &mut Vec<u8>) {
        use std::io::Write as _;
        out.clear();
        let _ = write!(out, "user{r:010}");
        let mut rng = SmallRng::seed_from_u64(mix64(self.seed ^ mix64(r)));
        let suffix = rng.random_range(2..=18);
        for _ in 0..suffix {
            out.push(rng.random_range(b'a'..=b'z'));
        }
    }

    /// Generates version `version` of row `r` into `out`.
    pub fn fill(&self, r: u64, version: u32, out: &mut GenRow) {
        self.key(r, &mut out.key);
        let mut rng = SmallRng::seed_from_u64(mix64(
            self.seed ^ mix64(r ^ (u64::from(version) << 40) ^ 0x5a5a),
        ));
        out.value_len = self.value_len;
        out.values.clear();
        out.timestamps.clear();
        for _ in 0..self.qualifiers.len() {
            self.vocab.fill(&mut rng, self.value_len, &mut out.values);
            out.timestamps
                .push(TS_BASE + i64::from(version) * DAY_MS + rng.random_range(0..DAY_MS));
        }
    }

    /// Cell `q` of a generated row, borrowed.
    pub fn cell<'a>(&'a self, row: &'a GenRow, q: usize) -> BenchCell<'a> {
        BenchCell {
            row: &row.key,
            qualifier: &self.qualifiers[q],
            timestamp: row.timestamps[q],
            value: row.value(q),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hfile::CellView;

    #[test]
    fn rows_are_sorted_deterministic_and_versioned() {
        let g = RowGen::new(7, 3, 40);
        let mut a = GenRow::default();
        let mut b = GenRow::default();
        let mut prev = Vec::new();
        for r in 0..1000 {
            g.fill(r, 0, &mut a);
            assert!(prev < a.key, "row {r} out of order");
            assert!(RowGen::split_key(r) <= a.key);
            assert!(RowGen::split_key(r + 1) > a.key);
            assert_eq!(a.timestamps.len(), 3);
            assert_eq!(g.cell(&a, 2).value.len(), 40);
            g.fill(r, 0, &mut b);
            assert_eq!(a.key, b.key);
            assert_eq!(a.value(1), b.value(1));
            g.fill(r, 1, &mut b);
            assert_eq!(a.key, b.key);
            assert_ne!(a.value(1), b.value(1));
            assert!(b.timestamps[0] > a.timestamps[0]);
            assert!(g.cell(&a, 0).key_len() > 0);
            prev = a.key.clone();
        }
        assert_eq!(mix64(1), mix64(1));
        assert_ne!(mix64(1), mix64(2));
    }
}
