use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use moka::ops::compute::Op;
use moka::sync::Cache;

use super::{Deadline, DeadlineExpiry, MemoryStoreBuilder};
use crate::store::{ThrottleKey, ThrottleStore, ThrottleWindow};
use crate::{SharedClock, StoreError, saturating_add};

impl Deadline for ThrottleWindow {
    fn deadline(&self) -> SystemTime {
        self.ends_at
    }
}

/// A [`ThrottleStore`] in process memory: counts for this process only, so a service on
/// several nodes shares a Redis or SQL throttle store instead.
///
/// Bounded (default [`DEFAULT_MAX_ENTRIES`](super::DEFAULT_MAX_ENTRIES) keys). Unlike revocations, a count is allowed
/// to be evicted when the store is full: refusing to count would refuse every login,
/// while an evicted count only forgets a few failures, and filling the store takes more
/// distinct keys per window than the per-address limit lets one client try (an attempt
/// taken back with `release` leaves no key behind).
#[derive(Clone)]
pub struct MemoryThrottleStore {
    clock: SharedClock,
    windows: Cache<ThrottleKey, ThrottleWindow>,
}

impl std::fmt::Debug for MemoryThrottleStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryThrottleStore")
            .field("keys", &self.windows.entry_count())
            .finish_non_exhaustive()
    }
}

impl Default for MemoryThrottleStore {
    fn default() -> Self {
        Self::builder().build()
    }
}

impl MemoryStoreBuilder<MemoryThrottleStore> {
    /// The store. `max_entries` bounds the keys counted at once.
    pub fn build(self) -> MemoryThrottleStore {
        let windows = Cache::builder()
            .max_capacity(self.max_entries)
            .expire_after(DeadlineExpiry {
                clock: self.clock.clone(),
                max_ttl: None,
            })
            .build();
        MemoryThrottleStore {
            clock: self.clock,
            windows,
        }
    }
}

impl MemoryThrottleStore {
    /// A store ending windows by `clock`, holding up to [`DEFAULT_MAX_ENTRIES`](super::DEFAULT_MAX_ENTRIES) keys.
    pub fn new(clock: SharedClock) -> Self {
        Self::builder().clock(clock).build()
    }

    /// A builder with the system clock and the default bound.
    pub fn builder() -> MemoryStoreBuilder<Self> {
        MemoryStoreBuilder::new()
    }
}

#[async_trait]
impl ThrottleStore for MemoryThrottleStore {
    async fn hit(&self, key: &ThrottleKey, window: Duration) -> Result<ThrottleWindow, StoreError> {
        let now = self.clock.now();
        let opened = ThrottleWindow::new(1, saturating_add(now, window));
        let result = self.windows.entry(*key).and_compute_with(|held| {
            Op::Put(match held.map(|e| e.into_value()) {
                Some(open) if now < open.ends_at => {
                    ThrottleWindow::new(open.count.saturating_add(1), open.ends_at)
                }
                _ => opened,
            })
        });
        Ok(result.into_entry().map_or(opened, |e| e.into_value()))
    }

    async fn release(&self, key: &ThrottleKey, ends_at: SystemTime) -> Result<(), StoreError> {
        let now = self.clock.now();
        self.windows
            .entry(*key)
            .and_compute_with(|held| match held.map(|e| e.into_value()) {
                Some(open) if open.ends_at != ends_at || now >= open.ends_at => Op::Nop,
                Some(open) if open.count > 1 => {
                    Op::Put(ThrottleWindow::new(open.count - 1, open.ends_at))
                }
                // Nothing left to count: the key goes, so attempts taken back (a login
                // abandoned while the hashing threads were busy) cannot fill the store
                // and push out the counts that matter.
                Some(_) => Op::Remove,
                None => Op::Nop,
            });
        Ok(())
    }

    async fn reset(&self, key: &ThrottleKey) -> Result<(), StoreError> {
        self.windows.invalidate(key);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // Test code: a panic is a failed test.

    use super::*;

    /// Attempts taken back cost no room: one client whose logins are all abandoned (the
    /// hashing threads busy) cannot fill the store with keys and evict a victim's count.
    #[tokio::test]
    async fn an_attempt_taken_back_leaves_no_key() {
        let store = MemoryThrottleStore::default();
        let window = Duration::from_secs(900);
        let kept = ThrottleKey::username("victim");
        store.hit(&kept, window).await.unwrap();
        let counted = store.hit(&kept, window).await.unwrap();
        store.release(&kept, counted.ends_at).await.unwrap();
        for i in 0..100 {
            let key = ThrottleKey::username(&format!("filler-{i}"));
            let counted = store.hit(&key, window).await.unwrap();
            store.release(&key, counted.ends_at).await.unwrap();
        }
        store.windows.run_pending_tasks();
        assert_eq!(
            store.windows.entry_count(),
            1,
            "only the victim's count is held"
        );
        assert_eq!(store.hit(&kept, window).await.unwrap().count, 2);
    }
}
