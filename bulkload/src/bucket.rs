//! Key-range buckets of the sort buffer.
//!
//! Records are routed into buckets by row key as they are read, each bucket's groups
//! copied into [`Chunk`]s of their own. The write phase goes through the keys in order, so
//! it finishes with one bucket after another and hands each bucket's memory back to the
//! system while the remaining HFiles are written: their new page-cache pages reuse it. A
//! bucket's sort and its gathers also stay within its own memory.
//!
//! The bounds come from a sample of row keys taken before the read; a poor sample (a
//! sorted input sampled only at a few places) makes buckets unequal, never the result
//! wrong: any bounds give the same sorted cells.

use crate::cells::{row_prefix, Batch, Chunk, Group};
use crate::error::{Error, Result};

/// The first row of every bucket but the first, in key order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Bounds {
    /// (row prefix, row) of each bound: compared by prefix first, as groups carry it.
    starts: Vec<(u64, Vec<u8>)>,
}

impl Bounds {
    /// Bounds cutting the key space into at most `n` buckets of about equal shares of
    /// `sample` (row keys, in any order).
    pub fn from_sample(mut sample: Vec<Vec<u8>>, n: usize) -> Bounds {
        sample.sort_unstable();
        sample.dedup();
        let n = n.clamp(1, sample.len().max(1));
        let mut starts: Vec<(u64, Vec<u8>)> = (1..n)
            .map(|i| {
                let row = &sample[i * sample.len() / n];
                (row_prefix(row), row.clone())
            })
            .collect();
        starts.dedup();
        Bounds { starts }
    }

    /// Number of buckets.
    pub fn len(&self) -> usize {
        self.starts.len() + 1
    }

    /// True if there is a single bucket.
    pub fn is_empty(&self) -> bool {
        self.starts.is_empty()
    }

    /// The bucket of a row with key `row`, whose prefix is `prefix`.
    #[inline]
    pub fn of(&self, prefix: u64, row: &[u8]) -> usize {
        self.starts
            .partition_point(|(p, r)| *p < prefix || (*p == prefix && r.as_slice() <= row))
    }
}

/// A filled chunk of one bucket and the groups in it (offsets into the chunk).
#[derive(Debug)]
pub struct Part {
    /// Bucket index.
    pub bucket: usize,
    /// The groups' bytes.
    pub chunk: Chunk,
    /// The groups, offsets into `chunk`.
    pub groups: Vec<Group>,
}

/// One reader's open chunk per bucket: copies the groups of its batches into them.
#[derive(Debug)]
pub struct Router {
    bounds: std::sync::Arc<Bounds>,
    chunk_size: usize,
    open: Vec<Option<Part>>,
    /// Groups the last filled chunk held: the room a new chunk's group list starts with
    /// (a list grown from nothing is copied a dozen times on the way).
    groups_per_chunk: usize,
}

impl Router {
    /// A router into the buckets of `bounds`, filling chunks of `chunk_size` bytes.
    pub fn new(bounds: std::sync::Arc<Bounds>, chunk_size: usize) -> Router {
        let open = (0..bounds.len()).map(|_| None).collect();
        Router {
            bounds,
            chunk_size: chunk_size.max(1),
            open,
            groups_per_chunk: 0,
        }
    }

    /// Copies the groups of `batch` into their buckets' chunks; chunks that filled up are
    /// added to `full`.
    pub fn route(&mut self, batch: &Batch, full: &mut Vec<Part>) -> Result<()> {
        for g in &batch.groups {
            let data = batch.data(g);
            let bucket = self.bounds.of(g.prefix, batch.row(g));
            let slot = &mut self.open[bucket];
            if slot.as_ref().is_none_or(|p| p.chunk.room() < data.len()) {
                if let Some(part) = slot.take() {
                    self.groups_per_chunk = part.groups.len() + part.groups.len() / 8;
                    full.push(part);
                }
            }
            let part = match slot {
                Some(part) => part,
                None => slot.insert(Part {
                    bucket,
                    chunk: Chunk::with_capacity(self.chunk_size.max(data.len()))?,
                    groups: Vec::with_capacity(self.groups_per_chunk),
                }),
            };
            let off = part.chunk.push(data).ok_or_else(|| {
                Error::Internal(format!("{} bytes do not fit a fresh chunk", data.len()))
            })?;
            part.groups.push(Group {
                off: off as u64,
                ..*g
            });
        }
        Ok(())
    }

    /// Adds every chunk still open to `full`.
    pub fn finish(&mut self, full: &mut Vec<Part>) {
        full.extend(self.open.iter_mut().filter_map(Option::take));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_split_a_sample_evenly_and_place_rows_by_full_key() {
        let sample: Vec<Vec<u8>> = (0..1000u32)
            .rev()
            .map(|i| format!("user0000{i:04}").into_bytes())
            .collect();
        let b = Bounds::from_sample(sample, 4);
        assert_eq!(b.len(), 4);
        // Every row shares its first eight bytes: the full key decides.
        let of = |r: &str| b.of(row_prefix(r.as_bytes()), r.as_bytes());
        assert_eq!(of("user00000000"), 0);
        assert_eq!(of("user00000249"), 0);
        assert_eq!(of("user00000250"), 1);
        assert_eq!(of("user00000999"), 3);
        assert_eq!(of("a"), 0);
        assert_eq!(of("z"), 3);
        let one = Bounds::from_sample(vec![b"x".to_vec(); 5], 8);
        assert!(one.is_empty());
        assert_eq!(Bounds::from_sample(Vec::new(), 8).len(), 1);
    }
}
