//! [`GroupArray`]: a growable array of [`Group`]s in an anonymous mapping of its own.
//!
//! After the chunks, the sort buffer's group lists are its largest memory: 40 bytes per
//! record and family, 400 MB for ten million rows. From the heap they came in transparent
//! huge pages (the allocator advises them), and on this project's VMs a huge-page fault on
//! memory the host has taken back costs about 2.3 s per GiB against 0.34 s in small pages
//! (`bench/RESULTS.md`, import Update 8). A mapping of its own gets small pages, as the
//! [`Chunk`](crate::cells::Chunk)s do, and goes back to the system the moment it is dropped.

use std::ops::{Deref, DerefMut};

use zerocopy::FromBytes;

use crate::cells::{Group, GROUP_SIZE};
use crate::error::{Error, Result};

/// An array of groups that grows like a `Vec` (by doubling), in memory mapped for it alone.
#[derive(Debug, Default)]
pub struct GroupArray {
    /// Room for `capacity` groups; `None` while the capacity is zero.
    map: Option<memmap2::MmapMut>,
    len: usize,
}

impl GroupArray {
    /// An empty array with room for `cap` groups. The room is only reserved address space
    /// (not counted against swap) until groups are written into it.
    pub fn with_capacity(cap: usize) -> Result<GroupArray> {
        let map = match cap.checked_mul(GROUP_SIZE) {
            Some(0) => None,
            Some(bytes) => Some(
                memmap2::MmapOptions::new()
                    .len(bytes)
                    .no_reserve_swap()
                    .map_anon()
                    .map_err(|e| {
                        Error::Internal(format!("cannot map room for {cap} record groups: {e}"))
                    })?,
            ),
            None => return Err(Error::Internal(format!("{cap} record groups overflow"))),
        };
        Ok(GroupArray { map, len: 0 })
    }

    /// Groups it can hold without growing.
    pub fn capacity(&self) -> usize {
        self.map.as_ref().map_or(0, |m| m.len() / GROUP_SIZE)
    }

    /// Appends `groups`, growing (to at least twice the capacity) if they do not fit.
    pub fn extend(&mut self, groups: impl ExactSizeIterator<Item = Group>) -> Result<()> {
        let needed = self.len + groups.len();
        if needed > self.capacity() {
            let mut bigger = GroupArray::with_capacity(needed.max(2 * self.capacity()))?;
            bigger.room()[..self.len].copy_from_slice(self);
            bigger.len = self.len;
            *self = bigger;
        }
        let start = self.len;
        let mut added = 0;
        for (slot, g) in self.room()[start..].iter_mut().zip(groups) {
            *slot = g;
            added += 1;
        }
        self.len += added;
        Ok(())
    }

    /// The whole capacity as groups (those past `len` are zeros).
    fn room(&mut self) -> &mut [Group] {
        match &mut self.map {
            // The mapping's length is a multiple of the group size and page-aligned.
            Some(m) => <[Group]>::mut_from_bytes(&mut m[..]).unwrap_or_default(),
            None => &mut [],
        }
    }
}

impl Deref for GroupArray {
    type Target = [Group];

    fn deref(&self) -> &[Group] {
        match &self.map {
            Some(m) => <[Group]>::ref_from_bytes(m.get(..self.len * GROUP_SIZE).unwrap_or(&[]))
                .unwrap_or_default(),
            None => &[],
        }
    }
}

impl DerefMut for GroupArray {
    fn deref_mut(&mut self) -> &mut [Group] {
        let len = self.len;
        let room = self.room();
        let len = len.min(room.len());
        &mut room[..len]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(i: u64) -> Group {
        Group {
            prefix: i.rotate_left(17),
            off: i,
            ord: i * 3,
            ts: -(i as i64),
            len: i as u32,
            row_len: i as u16,
            family: (i % 7) as u16,
        }
    }

    /// Groups appended past the capacity (from none at all) read back in order, and the
    /// array sorts in place like a slice.
    #[test]
    fn grows_past_its_capacity_and_keeps_every_group() -> Result<()> {
        for cap in [0, 1, 100] {
            let mut a = GroupArray::with_capacity(cap)?;
            assert_eq!(a.capacity(), cap);
            let want: Vec<Group> = (0..1000).map(group).collect();
            for part in want.chunks(37) {
                a.extend(part.iter().copied())?;
            }
            assert!(a.capacity() >= 1000);
            assert_eq!(&a[..], &want[..]);
            a.sort_unstable_by_key(|g| std::cmp::Reverse(g.off));
            assert_eq!(a[0], group(999));
            assert_eq!(a.len(), 1000);
        }
        Ok(())
    }
}
