//! The deterministic cell generator shared by every peer.
//!
//! Cells are generated once into a few large arenas and handed to each writer in the same
//! order, so all peers write byte-identical logical data:
//!
//! * **row key** (16–32 bytes): `"user"` + the row number zero-padded to 10 digits + a
//!   lowercase suffix of 2–18 random letters. The fixed-width number is unique per row, so the
//!   keys are sorted by construction (and any byte-wise concatenation `row ‖ …` sorts the same
//!   way as HBase's row-first order).
//! * **family** `"f"`; **qualifier** (10 bytes): `"qual"` + column number zero-padded to 6 digits;
//!   `cells_per_row` columns per row, qualifiers ascending.
//! * **timestamp**: a fixed base (2024-01-01T00:00:00Z in ms) plus a random offset within a day.
//! * **value** (100 bytes): random words from a 512-word pseudo-vocabulary (3–9 lowercase letters
//!   each) separated by spaces, with a 16-hex-digit random id at the start — text-like, moderately
//!   compressible (see the file sizes in the results).

use bytes::Bytes;
use hfile::CellView;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

/// Length of every generated value.
pub const VALUE_LEN: usize = 100;
/// Length of every qualifier.
pub const QUALIFIER_LEN: usize = 10;
/// The single column family.
pub const FAMILY: &[u8] = b"f";
/// HBase's type byte for `Put`.
pub const TYPE_PUT: u8 = 4;
/// 2024-01-01T00:00:00Z in milliseconds.
const TS_BASE: i64 = 1_704_067_200_000;

/// The generated cells, stored column-wise in shared buffers.
pub struct Dataset {
    rows: Bytes,
    row_offsets: Vec<u32>,
    qualifiers: Vec<Bytes>,
    values: Bytes,
    timestamps: Vec<i64>,
    cells_per_row: usize,
    n_cells: usize,
    logical_bytes: u64,
}

/// One generated cell, borrowed from a [`Dataset`]; implements [`hfile::CellView`].
#[derive(Clone, Copy, Debug)]
pub struct BenchCell<'a> {
    /// Row key.
    pub row: &'a [u8],
    /// Qualifier.
    pub qualifier: &'a [u8],
    /// Timestamp (ms).
    pub timestamp: i64,
    /// Value.
    pub value: &'a [u8],
}

impl CellView for BenchCell<'_> {
    fn row(&self) -> &[u8] {
        self.row
    }
    fn family(&self) -> &[u8] {
        FAMILY
    }
    fn qualifier(&self) -> &[u8] {
        self.qualifier
    }
    fn timestamp(&self) -> i64 {
        self.timestamp
    }
    fn type_code(&self) -> u8 {
        TYPE_PUT
    }
    fn value(&self) -> &[u8] {
        self.value
    }
    fn tags(&self) -> &[u8] {
        &[]
    }
    fn seq_id(&self) -> u64 {
        0
    }
}

fn vocabulary(rng: &mut SmallRng) -> Vec<Vec<u8>> {
    (0..512)
        .map(|_| {
            let len = rng.random_range(3..=9);
            (0..len).map(|_| rng.random_range(b'a'..=b'z')).collect()
        })
        .collect()
}

fn fill_value(rng: &mut SmallRng, vocab: &[Vec<u8>], out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let start = out.len();
    let id: u64 = rng.random();
    for i in 0..16 {
        out.push(HEX[((id >> (i * 4)) & 0xf) as usize]);
    }
    while out.len() - start < VALUE_LEN {
        out.push(b' ');
        let word = &vocab[rng.random_range(0..vocab.len())];
        out.extend_from_slice(word);
    }
    out.truncate(start + VALUE_LEN);
}

impl Dataset {
    /// Generates `n_cells` cells, `cells_per_row` per row (the last row may be shorter),
    /// deterministically from `seed`.
    pub fn generate(n_cells: usize, cells_per_row: usize, seed: u64) -> Dataset {
        assert!((1..=999_999).contains(&cells_per_row));
        let mut rng = SmallRng::seed_from_u64(seed);
        let vocab = vocabulary(&mut rng);
        let n_rows = n_cells.div_ceil(cells_per_row);

        let mut rows = Vec::with_capacity(n_rows * 24);
        let mut row_offsets = Vec::with_capacity(n_rows + 1);
        row_offsets.push(0u32);
        for r in 0..n_rows {
            rows.extend_from_slice(format!("user{r:010}").as_bytes());
            let suffix = rng.random_range(2..=18);
            for _ in 0..suffix {
                rows.push(rng.random_range(b'a'..=b'z'));
            }
            row_offsets.push(u32::try_from(rows.len()).expect("row arena over 4 GiB"));
        }

        let qualifiers = (0..cells_per_row)
            .map(|q| Bytes::from(format!("qual{q:06}").into_bytes()))
            .collect::<Vec<_>>();
        debug_assert!(qualifiers.iter().all(|q| q.len() == QUALIFIER_LEN));

        let mut values = Vec::with_capacity(n_cells * VALUE_LEN + 16);
        let mut timestamps = Vec::with_capacity(n_cells);
        for _ in 0..n_cells {
            fill_value(&mut rng, &vocab, &mut values);
            timestamps.push(TS_BASE + rng.random_range(0..86_400_000));
        }

        let mut ds = Dataset {
            rows: Bytes::from(rows),
            row_offsets,
            qualifiers,
            values: Bytes::from(values),
            timestamps,
            cells_per_row,
            n_cells,
            logical_bytes: 0,
        };
        ds.logical_bytes = (0..n_cells)
            .map(|i| {
                let c = ds.view(i);
                (c.key_len() + c.value.len()) as u64
            })
            .sum();
        ds
    }

    /// Number of cells.
    pub fn len(&self) -> usize {
        self.n_cells
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.row_offsets.len() - 1
    }

    /// Columns per row (the last row may have fewer).
    pub fn cells_per_row(&self) -> usize {
        self.cells_per_row
    }

    /// Cells in row `r`.
    pub fn cells_in_row(&self, r: usize) -> usize {
        let start = r * self.cells_per_row;
        self.cells_per_row.min(self.n_cells - start)
    }

    /// Sum over all cells of (HBase `KeyValue` key length + value length): the logical data
    /// size every MB/s figure is computed from, whatever the peer's own encoding.
    pub fn logical_bytes(&self) -> u64 {
        self.logical_bytes
    }

    /// Row key of row `r`.
    pub fn row(&self, r: usize) -> &[u8] {
        &self.rows[self.row_offsets[r] as usize..self.row_offsets[r + 1] as usize]
    }

    /// Cell `i`, borrowed.
    #[inline]
    pub fn view(&self, i: usize) -> BenchCell<'_> {
        let r = i / self.cells_per_row;
        let q = i % self.cells_per_row;
        BenchCell {
            row: self.row(r),
            qualifier: &self.qualifiers[q],
            timestamp: self.timestamps[i],
            value: &self.values[i * VALUE_LEN..(i + 1) * VALUE_LEN],
        }
    }

    /// Cell `i` as an owned [`hfile::Cell`] whose buffers are zero-copy slices of the arenas.
    #[cfg(test)]
    pub fn cell(&self, i: usize) -> hfile::Cell {
        let r = i / self.cells_per_row;
        let q = i % self.cells_per_row;
        hfile::Cell::put(
            self.rows
                .slice(self.row_offsets[r] as usize..self.row_offsets[r + 1] as usize),
            Bytes::from_static(FAMILY),
            self.qualifiers[q].clone(),
            self.timestamps[i],
            self.values.slice(i * VALUE_LEN..(i + 1) * VALUE_LEN),
        )
    }

    /// `n` random row numbers (uniform, with repetition), deterministic from `seed`.
    pub fn sample_rows(&self, n: usize, seed: u64) -> Vec<usize> {
        let mut rng = SmallRng::seed_from_u64(seed);
        (0..n).map(|_| rng.random_range(0..self.rows())).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_cells_are_sorted_and_sized() {
        let ds = Dataset::generate(10_001, 4, 7);
        assert_eq!(ds.len(), 10_001);
        assert_eq!(ds.rows(), 2_501);
        assert_eq!(ds.cells_in_row(2_500), 1);
        let mut prev: Option<Vec<u8>> = None;
        let mut logical = 0u64;
        for i in 0..ds.len() {
            let c = ds.view(i);
            assert!(
                (16..=32).contains(&c.row.len()),
                "row length {}",
                c.row.len()
            );
            assert_eq!(c.qualifier.len(), QUALIFIER_LEN);
            assert_eq!(c.value.len(), VALUE_LEN);
            // Byte-wise row ‖ family ‖ qualifier order must be strictly increasing.
            let k = [c.row, FAMILY, c.qualifier].concat();
            if let Some(p) = &prev {
                assert!(p < &k);
            }
            prev = Some(k);
            assert_eq!(ds.cell(i).key_bytes(), c.key_bytes());
            logical += (c.key_len() + VALUE_LEN) as u64;
        }
        assert_eq!(ds.logical_bytes(), logical);
    }

    #[test]
    fn generation_is_deterministic() {
        let a = Dataset::generate(1_000, 3, 42);
        let b = Dataset::generate(1_000, 3, 42);
        let c = Dataset::generate(1_000, 3, 43);
        assert_eq!(a.view(999).value, b.view(999).value);
        assert_eq!(a.row(10), b.row(10));
        assert_ne!(a.view(999).value, c.view(999).value);
    }
}
