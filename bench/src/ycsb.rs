//! YCSB's workload model, ported from the YCSB core package so both stores see the same
//! request stream: key names (`"user" + fnvhash64(keynum)`, `orderedinserts=false`), the
//! scrambled Zipfian request distribution (`ScrambledZipfianGenerator`, constant 0.99), the
//! operation mixes of the core workloads A, B, C and E, and 1 KiB records of 10 fields ×
//! 100 bytes.
//!
//! One simplification: in workload E YCSB draws scan starts over the records plus the
//! expected inserts and retries draws above the last inserted key; here they are drawn over
//! the loaded records only (inserted keys are still written and may be scanned over).

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use crate::rowgen::{mix64, Vocabulary};

/// Fields per record (`fieldcount`).
pub const FIELDS: usize = 10;
/// Bytes per field (`fieldlength`).
pub const FIELD_LEN: usize = 100;
/// Longest scan (`maxscanlength`; lengths are uniform in 1..=this).
pub const MAX_SCAN: usize = 100;

/// YCSB's `Utils.fnvhash64`: FNV-1a over the 8 little-endian bytes, made non-negative.
pub fn fnvhash64(mut val: u64) -> u64 {
    let mut h: u64 = 0xCBF2_9CE4_8422_2325;
    for _ in 0..8 {
        h ^= val & 0xff;
        val >>= 8;
        h = h.wrapping_mul(1_099_511_628_211);
    }
    (h as i64).unsigned_abs()
}

/// The key of record `keynum`.
pub fn key(keynum: u64) -> Vec<u8> {
    format!("user{}", fnvhash64(keynum)).into_bytes()
}

/// Name of field `i` (`field0` … `field9`).
pub fn field_name(i: usize) -> Vec<u8> {
    format!("field{i}").into_bytes()
}

/// YCSB's `ZipfianGenerator` (Gray et al.) over `0..items`.
#[derive(Clone, Debug)]
pub struct Zipfian {
    items: f64,
    zetan: f64,
    alpha: f64,
    eta: f64,
    half_pow_theta: f64,
}

impl Zipfian {
    /// A generator over `0..items` with constant `theta`, given `zeta(items, theta)`.
    pub fn with_zetan(items: u64, theta: f64, zetan: f64) -> Zipfian {
        let n = items as f64;
        let zeta2 = 1.0 + 0.5f64.powf(theta);
        Zipfian {
            items: n,
            zetan,
            alpha: 1.0 / (1.0 - theta),
            eta: (1.0 - (2.0 / n).powf(1.0 - theta)) / (1.0 - zeta2 / zetan),
            half_pow_theta: 0.5f64.powf(theta),
        }
    }

    /// The next value.
    pub fn next(&self, rng: &mut SmallRng) -> u64 {
        let u: f64 = rng.random();
        let uz = u * self.zetan;
        if uz < 1.0 {
            return 0;
        }
        if uz < 1.0 + self.half_pow_theta {
            return 1;
        }
        (self.items * (self.eta * u - self.eta + 1.0).powf(self.alpha)) as u64
    }
}

/// YCSB's `ScrambledZipfianGenerator`: a Zipfian over 10^10 items (with YCSB's precomputed
/// zeta), hashed into `0..items`, so popular keys are spread over the key space.
#[derive(Clone, Debug)]
pub struct ScrambledZipfian {
    zipf: Zipfian,
    items: u64,
}

impl ScrambledZipfian {
    /// YCSB's `ITEM_COUNT`.
    const ITEM_COUNT: u64 = 10_000_000_000;
    /// YCSB's `ZETAN` for `ITEM_COUNT` items and constant 0.99.
    const ZETAN: f64 = 26.469_028_201_783_02;

    /// Over `0..items`.
    pub fn new(items: u64) -> ScrambledZipfian {
        ScrambledZipfian {
            zipf: Zipfian::with_zetan(Self::ITEM_COUNT, 0.99, Self::ZETAN),
            items: items.max(1),
        }
    }

    /// The next key number.
    pub fn next(&self, rng: &mut SmallRng) -> u64 {
        fnvhash64(self.zipf.next(rng)) % self.items
    }
}

/// One operation of a workload.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Op {
    /// Read all fields of one record.
    Read,
    /// Overwrite one random field of one record.
    Update,
    /// Read `n` consecutive records (all fields) from a start key.
    Scan,
    /// Write a new record (all fields).
    Insert,
}

impl Op {
    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Op::Read => "read",
            Op::Update => "update",
            Op::Scan => "scan",
            Op::Insert => "insert",
        }
    }

    /// Whether the operation writes.
    pub fn writes(self) -> bool {
        matches!(self, Op::Update | Op::Insert)
    }
}

/// A core workload.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Workload {
    /// 50 % read, 50 % update.
    A,
    /// 95 % read, 5 % update.
    B,
    /// 100 % read.
    C,
    /// 95 % scan, 5 % insert.
    E,
}

impl Workload {
    /// The operation mix: (operation, proportion).
    pub fn mix(self) -> &'static [(Op, f64)] {
        match self {
            Workload::A => &[(Op::Read, 0.5), (Op::Update, 0.5)],
            Workload::B => &[(Op::Read, 0.95), (Op::Update, 0.05)],
            Workload::C => &[(Op::Read, 1.0)],
            Workload::E => &[(Op::Scan, 0.95), (Op::Insert, 0.05)],
        }
    }

    /// Upper-case letter.
    pub fn letter(self) -> &'static str {
        match self {
            Workload::A => "A",
            Workload::B => "B",
            Workload::C => "C",
            Workload::E => "E",
        }
    }

    /// Draws an operation.
    pub fn draw(self, rng: &mut SmallRng) -> Op {
        let mix = self.mix();
        let mut u: f64 = rng.random();
        for &(op, p) in mix {
            if u < p {
                return op;
            }
            u -= p;
        }
        mix[mix.len() - 1].0
    }
}

/// Generates field values (100 bytes of text) deterministically per (key, field, seq).
pub struct Values {
    vocab: Vocabulary,
    seed: u64,
}

impl Values {
    /// Values of `seed`.
    pub fn new(seed: u64) -> Values {
        Values {
            vocab: Vocabulary::new(seed),
            seed,
        }
    }

    /// The value of `field` of `keynum` written by write number `seq`.
    pub fn value(&self, keynum: u64, field: usize, seq: u64) -> Vec<u8> {
        let mut rng = SmallRng::seed_from_u64(mix64(
            self.seed ^ mix64(keynum) ^ mix64(seq.wrapping_mul(31).wrapping_add(field as u64)),
        ));
        let mut v = Vec::with_capacity(FIELD_LEN);
        self.vocab.fill(&mut rng, FIELD_LEN, &mut v);
        v
    }

    /// All fields of a record.
    pub fn record(&self, keynum: u64, seq: u64) -> Vec<(Vec<u8>, Vec<u8>)> {
        (0..FIELDS)
            .map(|f| (field_name(f), self.value(keynum, f, seq)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ycsb_generators() {
        // YCSB's fnvhash64 of 0 is the FNV offset basis run over eight zero bytes.
        assert_eq!(fnvhash64(0), fnvhash64(0));
        assert_ne!(key(1), key(2));
        assert!(key(7).starts_with(b"user"));
        let z = ScrambledZipfian::new(1000);
        let mut rng = SmallRng::seed_from_u64(1);
        let mut hits = vec![0u32; 1000];
        for _ in 0..100_000 {
            hits[z.next(&mut rng) as usize] += 1;
        }
        let mut sorted = hits.clone();
        sorted.sort_unstable_by(|a, b| b.cmp(a));
        // Skewed: the hottest key gets far more than the 100 of a uniform draw.
        assert!(sorted[0] > 1000, "hottest {}", sorted[0]);
        let mut a = 0;
        for _ in 0..10_000 {
            if Workload::A.draw(&mut rng) == Op::Read {
                a += 1;
            }
        }
        assert!((4500..5500).contains(&a));
        assert_eq!(Workload::C.draw(&mut rng), Op::Read);
        let v = Values::new(3);
        assert_eq!(v.value(1, 2, 0), v.value(1, 2, 0));
        assert_ne!(v.value(1, 2, 0), v.value(1, 2, 1));
        assert_eq!(v.record(5, 0).len(), FIELDS);
        assert_eq!(v.value(5, 0, 0).len(), FIELD_LEN);
    }
}
