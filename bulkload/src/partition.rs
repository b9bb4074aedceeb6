//! Region partitioning: the table's region boundaries, the row-key sample that chooses
//! split points for `--create --presplit N`, and salt-bucket split points.
//!
//! Cells are not routed to regions while reading: they are sorted by key, and sorted data
//! is cut at region boundaries when HFiles are written. That lets the boundaries be chosen
//! (sampled) after the input has been read, and re-read just before writing.

use std::collections::BTreeSet;

use hfile::cell::to_string_binary;

/// One region's row range `[start, end)`; an empty `end` means the end of the table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegionSpan {
    /// A printable name for messages (the engine's region name).
    pub name: String,
    /// First row (inclusive); empty for the first region.
    pub start: Vec<u8>,
    /// First row past the region; empty for the last region.
    pub end: Vec<u8>,
}

impl RegionSpan {
    /// True if `row` is in `[start, end)`.
    pub fn contains(&self, row: &[u8]) -> bool {
        row >= self.start.as_slice() && (self.end.is_empty() || row < self.end.as_slice())
    }
}

/// A table's regions, sorted by start key, covering every row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Regions {
    spans: Vec<RegionSpan>,
}

impl Regions {
    /// Regions from spans (sorted here); a missing first region or gaps are tolerated:
    /// rows are assigned to the last region starting at or before them.
    pub fn new(mut spans: Vec<RegionSpan>) -> Regions {
        spans.sort_by(|a, b| a.start.cmp(&b.start));
        if spans.is_empty() || !spans[0].start.is_empty() {
            let end = spans.first().map(|s| s.start.clone()).unwrap_or_default();
            spans.insert(
                0,
                RegionSpan {
                    name: "(before the first region)".into(),
                    start: Vec::new(),
                    end,
                },
            );
        }
        Regions { spans }
    }

    /// Regions of a table split at `split_keys` (used before the table exists).
    pub fn from_split_keys(split_keys: &[Vec<u8>]) -> Regions {
        let mut bounds: Vec<Vec<u8>> = vec![Vec::new()];
        bounds.extend(split_keys.iter().cloned());
        let spans = bounds
            .iter()
            .enumerate()
            .map(|(i, s)| RegionSpan {
                name: format!("region {i} [{}, ..)", to_string_binary(s)),
                start: s.clone(),
                end: bounds.get(i + 1).cloned().unwrap_or_default(),
            })
            .collect();
        Regions { spans }
    }

    /// Number of regions.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// True if there is no region (never, after [`Regions::new`]).
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// The regions in key order.
    pub fn spans(&self) -> &[RegionSpan] {
        &self.spans
    }

    /// Index of the region holding `row`.
    pub fn index_of(&self, row: &[u8]) -> usize {
        self.spans
            .partition_point(|s| s.start.as_slice() <= row)
            .saturating_sub(1)
    }
}

/// 64-bit FNV-1a with a murmur3 finalizer: a stable hash for fingerprints.
pub fn hash64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    fmix64(h)
}

/// A row key's hash for sampling: eight bytes at a time (every imported row is hashed;
/// FNV's byte-serial multiplies cost several times more), then murmur3's finalizer.
fn sample_hash(bytes: &[u8]) -> u64 {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut h = (bytes.len() as u64).wrapping_mul(K);
    for c in bytes.chunks(8) {
        let mut w = [0u8; 8];
        w[..c.len()].copy_from_slice(c);
        h = (h ^ u64::from_le_bytes(w)).wrapping_mul(K).rotate_left(31);
    }
    fmix64(h)
}

/// Murmur3's 64-bit finalizer: every input bit affects every output bit.
fn fmix64(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// A deterministic uniform sample of distinct row keys: the `k` rows with the smallest
/// hashes (bottom-k), independent of input order and thread timing.
#[derive(Clone, Debug)]
pub struct Sampler {
    k: usize,
    keep: BTreeSet<(u64, Vec<u8>)>,
    /// Hashes above this one cannot enter (the largest kept once `k` are kept).
    bound: u64,
}

impl Sampler {
    /// A sampler keeping `k` rows.
    pub fn new(k: usize) -> Sampler {
        Sampler {
            k: k.max(1),
            keep: BTreeSet::new(),
            bound: u64::MAX,
        }
    }

    /// Offers one row key.
    pub fn offer(&mut self, row: &[u8]) {
        let h = sample_hash(row);
        if h > self.bound {
            return;
        }
        if self.keep.insert((h, row.to_vec())) && self.keep.len() > self.k {
            self.keep.pop_last();
        }
        if self.keep.len() >= self.k {
            self.bound = self.keep.last().map_or(u64::MAX, |(max, _)| *max);
        }
    }

    /// Adds another sampler's rows.
    pub fn merge(&mut self, other: Sampler) {
        for (_, row) in other.keep {
            self.offer(&row);
        }
    }

    /// Rows sampled so far.
    pub fn len(&self) -> usize {
        self.keep.len()
    }

    /// True if nothing was sampled.
    pub fn is_empty(&self) -> bool {
        self.keep.is_empty()
    }

    /// Up to `regions - 1` split keys giving each region an equal share of the sampled rows.
    pub fn split_points(&self, regions: usize) -> Vec<Vec<u8>> {
        let rows: Vec<&Vec<u8>> = self
            .keep
            .iter()
            .map(|(_, r)| r)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut out: Vec<Vec<u8>> = Vec::new();
        if regions < 2 || rows.len() < 2 {
            return out;
        }
        for i in 1..regions {
            let idx = i * rows.len() / regions;
            let Some(key) = rows.get(idx) else { break };
            if key.is_empty() || out.last().is_some_and(|l| l >= *key) {
                continue;
            }
            out.push((*key).clone());
        }
        out
    }
}

/// Split keys that give each salt bucket its own region: `[1]`, `[2]`, ... `[buckets-1]`.
pub fn salt_split_points(buckets: u8) -> Vec<Vec<u8>> {
    (1..buckets).map(|b| vec![b]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_locate_rows() {
        let r = Regions::from_split_keys(&[b"g".to_vec(), b"p".to_vec()]);
        assert_eq!(r.len(), 3);
        assert_eq!(r.index_of(b""), 0);
        assert_eq!(r.index_of(b"a"), 0);
        assert_eq!(r.index_of(b"g"), 1);
        assert_eq!(r.index_of(b"ozz"), 1);
        assert_eq!(r.index_of(b"zzz"), 2);
        assert!(r.spans()[1].contains(b"h"));
        assert!(!r.spans()[1].contains(b"p"));
        let r = Regions::new(vec![RegionSpan {
            name: "x".into(),
            start: b"m".to_vec(),
            end: vec![],
        }]);
        assert_eq!(r.len(), 2);
        assert_eq!(r.index_of(b"a"), 0);
    }

    #[test]
    fn sampled_split_points_are_equal_shares_and_order_free() {
        let mut a = Sampler::new(1000);
        let mut b = Sampler::new(1000);
        for i in 0..10_000u32 {
            let row = format!("row{i:05}");
            if i % 2 == 0 {
                a.offer(row.as_bytes());
            } else {
                b.offer(row.as_bytes());
            }
        }
        let mut c = Sampler::new(1000);
        for i in (0..10_000u32).rev() {
            c.offer(format!("row{i:05}").as_bytes());
        }
        a.merge(b);
        assert_eq!(a.len(), 1000);
        let pa = a.split_points(4);
        assert_eq!(pa, c.split_points(4), "same sample whatever the order");
        assert_eq!(pa.len(), 3);
        // Each quarter of the key space should hold roughly a quarter of the rows.
        let mut prev = 0u32;
        for p in &pa {
            let n: u32 = String::from_utf8_lossy(&p[3..]).parse().unwrap_or(0);
            assert!((1500..3500).contains(&(n - prev)), "uneven split at {n}");
            prev = n;
        }
        assert_eq!(salt_split_points(3), vec![vec![1u8], vec![2u8]]);
    }
}
