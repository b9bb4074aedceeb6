//! Realistic sample cells for the tour: a `users` table with one family `d`, the kind of
//! profile/counter data HBase users keep — several columns per row, a few versions of a
//! counter, binary values, column and family deletes — generated deterministically and
//! already in HBase cell order.

use bytes::Bytes;
use hfile::{Cell, CellType, Comparator};

/// The family every sample cell belongs to.
pub const FAMILY: &[u8] = b"d";

/// Timestamp of the oldest sample edit (2024-01-01T00:00:00Z).
const BASE_TS: i64 = 1_704_067_200_000;

/// SplitMix64: a tiny, good-enough deterministic generator (no dependency needed).
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

const CITIES: [&str; 8] = [
    "Amsterdam",
    "Berlin",
    "Lisbon",
    "Nairobi",
    "Osaka",
    "Porto Alegre",
    "Seattle",
    "Zurich",
];
const PLANS: [&str; 3] = ["free", "pro", "enterprise"];
const FIRST: [&str; 8] = [
    "Ada", "Grace", "Linus", "Barbara", "Ken", "Margaret", "Dennis", "Frances",
];
const LAST: [&str; 8] = [
    "Lovelace", "Hopper", "Torvalds", "Liskov", "Thompson", "Hamilton", "Ritchie", "Allen",
];

/// Generates sample cells in file order; stops after exactly `limit` cells.
pub struct SampleCells {
    rng: SplitMix64,
    row: u64,
    pending: std::vec::IntoIter<Cell>,
    remaining: u64,
    seq: u64,
}

impl SampleCells {
    /// `limit` cells from a fixed seed (the same every run).
    pub fn new(limit: u64) -> Self {
        SampleCells {
            rng: SplitMix64(0x00BA_5A17),
            row: 0,
            pending: Vec::new().into_iter(),
            remaining: limit,
            seq: 1000,
        }
    }

    fn cell(
        &mut self,
        row: &Bytes,
        qualifier: &'static [u8],
        ts: i64,
        kind: CellType,
        value: Vec<u8>,
    ) -> Cell {
        self.seq += 1;
        Cell {
            row: row.clone(),
            family: Bytes::from_static(FAMILY),
            qualifier: Bytes::from_static(qualifier),
            timestamp: ts,
            type_code: kind.code(),
            value: Bytes::from(value),
            tags: Bytes::new(),
            seq_id: self.seq,
        }
    }

    /// All cells of the next row, sorted.
    fn next_row(&mut self) -> Vec<Cell> {
        let i = self.row;
        self.row += 1;
        // Rows spread over the key space like hashed user ids, but generated in order.
        let row = Bytes::from(format!("user{:08}", i * 7 + self.rng.below(7)));
        let ts = BASE_TS + (i as i64) * 1_000 + self.rng.below(1_000) as i64;
        let r = &mut self.rng;
        let (first, last) = (FIRST[r.below(8) as usize], LAST[r.below(8) as usize]);
        let city = CITIES[r.below(8) as usize];
        let plan = PLANS[r.below(3) as usize];
        let visits = 1 + r.below(500);
        let versions = 1 + r.below(3);
        let delete_plan = r.below(10) == 0;
        let delete_family = r.below(50) == 0;
        let mut cells = vec![
            self.cell(&row, b"city", ts, CellType::Put, city.as_bytes().to_vec()),
            self.cell(
                &row,
                b"email",
                ts,
                CellType::Put,
                format!(
                    "{}.{}@example.com",
                    first.to_lowercase(),
                    last.to_lowercase()
                )
                .into_bytes(),
            ),
            // Binary value: last login as an 8-byte big-endian long, as HBase's Bytes.toBytes(long).
            self.cell(
                &row,
                b"last_login",
                ts + 500,
                CellType::Put,
                (ts + 500).to_be_bytes().to_vec(),
            ),
            self.cell(
                &row,
                b"name",
                ts,
                CellType::Put,
                format!("{first} {last}").into_bytes(),
            ),
            self.cell(&row, b"plan", ts, CellType::Put, plan.as_bytes().to_vec()),
        ];
        for v in 0..versions {
            let count = visits.saturating_sub(v * 10);
            cells.push(self.cell(
                &row,
                b"visits",
                ts + 100 * (versions - v) as i64,
                CellType::Put,
                count.to_string().into_bytes(),
            ));
        }
        if delete_plan {
            cells.push(self.cell(&row, b"plan", ts + 50, CellType::DeleteColumn, Vec::new()));
        }
        if delete_family {
            cells.push(self.cell(&row, b"", ts - 1, CellType::DeleteFamily, Vec::new()));
        }
        cells.sort_by(|a, b| Comparator::Default.compare_cells(a, b));
        cells
    }
}

impl Iterator for SampleCells {
    type Item = Cell;

    fn next(&mut self) -> Option<Cell> {
        if self.remaining == 0 {
            return None;
        }
        let cell = match self.pending.next() {
            Some(c) => c,
            None => {
                self.pending = self.next_row().into_iter();
                self.pending.next()?
            }
        };
        self.remaining -= 1;
        Some(cell)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hfile::CellView;

    #[test]
    fn sample_is_sorted_exact_and_deterministic() {
        let a: Vec<Cell> = SampleCells::new(5_000).collect();
        let b: Vec<Cell> = SampleCells::new(5_000).collect();
        assert_eq!(a.len(), 5_000);
        assert_eq!(a, b);
        for w in a.windows(2) {
            assert_eq!(
                Comparator::Default.compare_cells(&w[0], &w[1]),
                std::cmp::Ordering::Less,
                "{:?} then {:?}",
                w[0],
                w[1]
            );
        }
        assert!(a
            .iter()
            .any(|c| c.cell_type() == Some(CellType::DeleteFamily)));
        assert!(a
            .iter()
            .any(|c| c.cell_type() == Some(CellType::DeleteColumn)));
        assert!(a
            .iter()
            .any(|c| c.qualifier() == b"visits" && c.timestamp() != a[0].timestamp()));
    }
}
