use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;
use moka::ops::compute::{CompResult, Op};
use moka::sync::Cache;

use super::digest_hasher::BuildDigestHasher;
use super::{Deadline, DeadlineExpiry, MemoryStoreBuilder};
use crate::store::{SessionEntry, SessionRecord, SessionStore, check_subject};
use crate::{SessionKey, SharedClock, StoreError};

impl Deadline for SessionRecord {
    fn deadline(&self) -> SystemTime {
        self.expires_at
    }
}

/// A [`SessionStore`] in process memory.
///
/// Loads are a single concurrent-map lookup. Saves and touches are atomic per key (moka's
/// `and_compute_with`), so optimistic concurrency holds under any interleaving.
/// `delete_subject` and `list_subject` scan the map: fine for the sizes a single process
/// holds, and no index that could drift from the data. Cloning is cheap and shares the map.
#[derive(Clone)]
pub struct MemorySessionStore {
    clock: SharedClock,
    cache: Cache<SessionKey, Arc<SessionRecord>, BuildDigestHasher>,
}

impl MemoryStoreBuilder<MemorySessionStore> {
    /// The store. When `max_entries` sessions are held, the least useful are evicted
    /// (their users are logged out).
    pub fn build(self) -> MemorySessionStore {
        let cache = Cache::builder()
            .max_capacity(self.max_entries)
            .expire_after(DeadlineExpiry {
                clock: self.clock.clone(),
                max_ttl: None,
            })
            .build_with_hasher(BuildDigestHasher::default());
        MemorySessionStore {
            clock: self.clock,
            cache,
        }
    }
}

impl Default for MemorySessionStore {
    fn default() -> Self {
        Self::builder().build()
    }
}

impl std::fmt::Debug for MemorySessionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemorySessionStore")
            .field("entries", &self.cache.entry_count())
            .finish_non_exhaustive()
    }
}

impl MemorySessionStore {
    /// A store deciding expiry by `clock`, holding up to [`DEFAULT_MAX_ENTRIES`](super::DEFAULT_MAX_ENTRIES) sessions.
    pub fn new(clock: SharedClock) -> Self {
        Self::builder().clock(clock).build()
    }

    /// A builder with the system clock and the default bound.
    pub fn builder() -> MemoryStoreBuilder<Self> {
        MemoryStoreBuilder::new()
    }

    /// Applies `change` to the live record under `key`, atomically. `change` returns the
    /// replacement, or `None` to leave the entry as it is. Returns the stored replacement.
    fn update_live(
        &self,
        key: &SessionKey,
        change: impl FnOnce(&SessionRecord) -> Option<SessionRecord>,
    ) -> Option<Arc<SessionRecord>> {
        let now = self.clock.now();
        let result = self.cache.entry(*key).and_compute_with(|entry| {
            match entry
                .map(|e| e.into_value())
                .filter(|r| r.is_live_at(now))
                .and_then(|r| change(&r))
            {
                Some(next) => Op::Put(Arc::new(next)),
                None => Op::Nop,
            }
        });
        match result {
            CompResult::Inserted(e) | CompResult::ReplacedWith(e) => Some(e.into_value()),
            _ => None,
        }
    }

    /// The record under `key` if it is live by this store's clock.
    fn live(&self, key: &SessionKey) -> Option<Arc<SessionRecord>> {
        let now = self.clock.now();
        self.cache.get(key).filter(|r| r.is_live_at(now))
    }

    fn subject_keys(&self, subject: &str) -> Vec<(SessionKey, Arc<SessionRecord>)> {
        self.cache
            .iter()
            .filter(|(_, record)| record.subject == subject)
            .map(|(key, record)| (*key, record))
            .collect()
    }
}

#[async_trait]
impl SessionStore for MemorySessionStore {
    async fn create(&self, key: &SessionKey, record: &SessionRecord) -> Result<(), StoreError> {
        record.check_limits()?;
        let now = self.clock.now();
        let result = self
            .cache
            .entry(*key)
            .and_compute_with(|entry| match entry {
                Some(e) if e.value().is_live_at(now) => Op::Nop,
                _ => {
                    let mut fresh = record.clone();
                    fresh.version = 0;
                    Op::Put(Arc::new(fresh))
                }
            });
        match result {
            CompResult::Inserted(_) | CompResult::ReplacedWith(_) => Ok(()),
            _ => Err(StoreError::AlreadyExists),
        }
    }

    async fn load(&self, key: &SessionKey) -> Result<Option<SessionRecord>, StoreError> {
        Ok(self.live(key).map(Arc::unwrap_or_clone))
    }

    async fn load_shared(
        &self,
        key: &SessionKey,
    ) -> Result<Option<Arc<SessionRecord>>, StoreError> {
        Ok(self.live(key))
    }

    async fn save(&self, key: &SessionKey, record: &SessionRecord) -> Result<u64, StoreError> {
        record.check_limits()?;
        self.update_live(key, |current| {
            (current.version == record.version).then(|| SessionRecord {
                data: record.data.clone(),
                last_seen_at: record.last_seen_at,
                expires_at: record.expires_at,
                version: current.version + 1,
                ..current.clone()
            })
        })
        .map(|stored| stored.version)
        .ok_or(StoreError::Conflict)
    }

    async fn touch(
        &self,
        key: &SessionKey,
        last_seen_at: SystemTime,
        expires_at: SystemTime,
    ) -> Result<bool, StoreError> {
        Ok(self
            .update_live(key, |current| {
                Some(SessionRecord {
                    last_seen_at,
                    expires_at,
                    ..current.clone()
                })
            })
            .is_some())
    }

    async fn delete(&self, key: &SessionKey) -> Result<bool, StoreError> {
        let now = self.clock.now();
        Ok(self.cache.remove(key).is_some_and(|r| r.is_live_at(now)))
    }

    async fn delete_subject(&self, subject: &str) -> Result<u64, StoreError> {
        check_subject(subject)?;
        let now = self.clock.now();
        let mut deleted = 0;
        for (key, _) in self.subject_keys(subject) {
            if self.cache.remove(&key).is_some_and(|r| r.is_live_at(now)) {
                deleted += 1;
            }
        }
        Ok(deleted)
    }

    async fn list_subject(&self, subject: &str) -> Result<Vec<SessionEntry>, StoreError> {
        check_subject(subject)?;
        let now = self.clock.now();
        Ok(self
            .subject_keys(subject)
            .into_iter()
            .filter(|(_, record)| record.is_live_at(now))
            .map(|(key, record)| SessionEntry::new(key, SessionRecord::clone(&record)))
            .collect())
    }

    async fn purge_expired(&self) -> Result<u64, StoreError> {
        let now = self.clock.now();
        let mut purged = 0;
        let dead: Vec<SessionKey> = self
            .cache
            .iter()
            .filter(|(_, record)| !record.is_live_at(now))
            .map(|(key, _)| *key)
            .collect();
        for key in dead {
            let result = self.cache.entry(key).and_compute_with(|entry| match entry {
                Some(e) if !e.value().is_live_at(now) => Op::Remove,
                _ => Op::Nop,
            });
            if matches!(result, CompResult::Removed(_)) {
                purged += 1;
            }
        }
        Ok(purged)
    }
}
