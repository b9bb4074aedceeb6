//! What a reader derives from a block's bytes once and keeps with the block in the cache,
//! so that point lookups do not redo it on every hit: non-root index blocks are validated
//! entry by entry once ([`Derived::ValidIndex`]); later lookups binary-search them through
//! the O(1) [`NonRootIndex::view`].
//!
//! [`NonRootIndex::view`]: crate::index::NonRootIndex::view

/// Data derived from a block once and cached with it.
#[derive(Clone, Debug, Default)]
pub enum Derived {
    /// Nothing derived yet (a block fresh from the file, or cached by a scan).
    #[default]
    None,
    /// A non-root index block whose every entry offset `NonRootIndex::parse` accepted.
    ValidIndex,
}

impl Derived {
    /// Heap bytes held, for the block cache's weight.
    pub fn heap_bytes(&self) -> u64 {
        0
    }
}
