//! The block cache: an LRU-like cache of decoded blocks shared by every open file,
//! bounded in bytes.
//!
//! A block's weight is the memory it holds of its own ([`Block::memory_bytes`]): a
//! decompressed block's data and what readers derived from it (cell offsets). An uncompressed
//! block is a slice of its memory-mapped file, so its bytes are the operating system's page
//! cache, not the cache's: its entry weighs only its derived data and bookkeeping, and keeps
//! the block verified (checksummed once) and indexed for as long as it stays cached. Since
//! such an entry keeps its whole file mapped, a reader's blocks are evicted when it is dropped.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use quick_cache::sync::Cache;
use quick_cache::Weighter;

use crate::block::Block;

/// Identifies a cached block: (file id, block offset).
pub type BlockKey = (u64, u64);

#[derive(Clone)]
struct BlockWeighter;

impl Weighter<BlockKey, Block> for BlockWeighter {
    fn weight(&self, _key: &BlockKey, block: &Block) -> u64 {
        // Stable for the entry's life: `derived` never changes inside a cached `Block`
        // (readers insert a new `Block` to attach derived data).
        block.memory_bytes() + 64
    }
}

/// A byte-bounded cache of decoded blocks shared across all open readers.
pub struct BlockCache {
    cache: Cache<BlockKey, Block, BlockWeighter>,
    capacity: u64,
    hits: AtomicU64,
    misses: AtomicU64,
}

/// Counters of a [`BlockCache`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Lookups served from the cache.
    pub hits: u64,
    /// Lookups that had to read the file.
    pub misses: u64,
    /// Bytes currently cached.
    pub used_bytes: u64,
    /// Configured capacity.
    pub capacity_bytes: u64,
}

impl BlockCache {
    /// A cache holding at most `capacity_bytes` of block data.
    pub fn new(capacity_bytes: u64) -> Arc<BlockCache> {
        let items = (capacity_bytes / (16 * 1024)).max(16) as usize;
        Arc::new(BlockCache {
            cache: Cache::with_weighter(items, capacity_bytes.max(1), BlockWeighter),
            capacity: capacity_bytes,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        })
    }

    /// Looks a block up.
    pub fn get(&self, key: &BlockKey) -> Option<Block> {
        let r = self.cache.get(key);
        if r.is_some() {
            self.hits.fetch_add(1, Ordering::Relaxed);
        } else {
            self.misses.fetch_add(1, Ordering::Relaxed);
        }
        r
    }

    /// Inserts a block (replacing any block cached under `key`).
    pub fn insert(&self, key: BlockKey, block: Block) {
        self.cache.insert(key, block);
    }

    /// Drops every block of the file with reader id `file`. An entry of a mapped block
    /// weighs little but keeps the whole file mapped (and a deleted file's space in use), so
    /// a reader's blocks leave the cache with the reader.
    pub fn evict_file(&self, file: u64) {
        self.cache.retain(|key, _| key.0 != file);
    }

    /// Current counters.
    pub fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            used_bytes: self.cache.weight(),
            capacity_bytes: self.capacity,
        }
    }
}
