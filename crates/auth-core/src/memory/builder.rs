//! One builder for every memory store, as `store-redis` and `store-sql` have one for theirs.

use std::fmt;
use std::marker::PhantomData;

use super::DEFAULT_MAX_ENTRIES;
use crate::{SharedClock, SystemClock};

/// Builds a memory store `S`: the clock that decides its expiry and the most entries it
/// holds. Each store's `builder()` starts one; `new(clock)` and `Default` cover the
/// common cases.
///
/// ```
/// use std::sync::Arc;
/// use auth_core::ManualClock;
/// use auth_core::memory::MemoryRevocationStore;
///
/// let clock = Arc::new(ManualClock::starting_now());
/// let revocations = MemoryRevocationStore::builder()
///     .clock(clock)
///     .max_entries(10_000)
///     .build();
/// # let _ = revocations;
/// ```
pub struct MemoryStoreBuilder<S> {
    pub(super) clock: SharedClock,
    pub(super) max_entries: u64,
    store: PhantomData<fn() -> S>,
}

impl<S> MemoryStoreBuilder<S> {
    pub(super) fn new() -> Self {
        Self {
            clock: SystemClock::shared(),
            max_entries: DEFAULT_MAX_ENTRIES,
            store: PhantomData,
        }
    }

    /// The clock that decides expiry (default: [`SystemClock`]).
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// The most entries held (default [`DEFAULT_MAX_ENTRIES`]). What a full store does
    /// depends on what it holds (see the [module docs](super)): the session and throttle
    /// stores evict, the revocation and refresh-token stores refuse new entries.
    pub fn max_entries(mut self, max_entries: u64) -> Self {
        self.max_entries = max_entries;
        self
    }
}

impl<S> fmt::Debug for MemoryStoreBuilder<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStoreBuilder")
            .field("store", &std::any::type_name::<S>())
            .field("max_entries", &self.max_entries)
            .finish_non_exhaustive()
    }
}
