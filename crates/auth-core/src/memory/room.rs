//! The rule for bounded stores whose entries must not be evicted: refuse, never forget.

use std::hash::{BuildHasher, Hash};
use std::sync::Arc;

use moka::sync::Cache;

use super::Deadline;
use crate::{SharedClock, StoreError};

/// Checks that `cache` holds fewer than `limit` entries before a new one is added. When it
/// looks full, entries past their deadline (by the store's clock, not moka's real time)
/// are dropped first and the count is taken again; a store still full answers
/// [`StoreError::Full`] and adds nothing.
///
/// The cache has no capacity of its own, so moka never evicts a live entry. Writers
/// racing at the limit may overshoot it by their number; no entry is lost either way.
pub(crate) fn ensure_room<K, V, S>(
    cache: &Cache<K, V, S>,
    limit: u64,
    clock: &SharedClock,
) -> Result<(), StoreError>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Deadline + Clone + Send + Sync + 'static,
    S: BuildHasher + Clone + Send + Sync + 'static,
{
    // moka counts lazily: settle the count first. Only writes of new revocations and
    // refresh tokens come here, never a request's read.
    cache.run_pending_tasks();
    if cache.entry_count() < limit {
        return Ok(());
    }
    let now = clock.now();
    let ended: Vec<Arc<K>> = cache
        .iter()
        .filter(|(_, value)| value.deadline() <= now)
        .map(|(key, _)| key)
        .collect();
    for key in ended {
        cache.invalidate(&*key);
    }
    cache.run_pending_tasks();
    if cache.entry_count() < limit {
        Ok(())
    } else {
        Err(StoreError::Full { limit })
    }
}
