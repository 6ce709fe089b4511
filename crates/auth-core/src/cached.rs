//! `Cached<S>`: a local read-through cache in front of any session store.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use moka::sync::Cache;

use moka::ops::compute::Op;

use crate::memory::{DEFAULT_MAX_ENTRIES, Deadline, DeadlineExpiry};
use crate::store::{SessionEntry, SessionRecord, SessionStore};
use crate::{SessionKey, SharedClock, StoreError, SystemClock};

/// A moka read-through cache in front of a shared [`SessionStore`] (Redis, SQL), so that
/// most loads cost no round trip.
///
/// **Staleness is bounded by the TTL** (default [`Cached::DEFAULT_TTL`], 5 s): a change
/// made through *another* process (a logout there, a save there) is seen here at most that
/// late. Changes made through this `Cached` are seen here at once: creates, saves and
/// touches write through and refresh the local copy (never replacing a newer one with an
/// older, whatever order concurrent calls finish in); `delete` marks the key deleted
/// locally before it deletes, so no racing load can cache it again, and `delete_subject`
/// does the same for the subject's sessions this process holds. Expiry is still decided by the clock on every load, and
/// optimistic concurrency still holds (the inner store checks versions; a conflict drops
/// the local copy). Choose the TTL as the longest time a session revoked elsewhere may
/// still be honoured here.
///
/// ```
/// use std::time::Duration;
/// use auth_core::Cached;
/// use auth_core::memory::MemorySessionStore;
///
/// let store = Cached::builder(MemorySessionStore::default())
///     .ttl(Duration::from_secs(2))
///     .build();
/// # let _ = store;
/// ```
#[derive(Clone)]
pub struct Cached<S> {
    inner: S,
    clock: SharedClock,
    ttl: Duration,
    cache: Cache<SessionKey, Local>,
}

/// What this process knows of a key.
#[derive(Clone)]
enum Local {
    /// A copy of the stored record.
    Live(Arc<SessionRecord>),
    /// Deleted through this `Cached`: a slower load or save that read the record before the
    /// delete must not bring it back into the cache.
    Gone(SystemTime),
}

impl Deadline for Local {
    fn deadline(&self) -> SystemTime {
        match self {
            Self::Live(record) => record.expires_at,
            Self::Gone(until) => *until,
        }
    }
}

/// Builds a [`Cached`] store.
#[derive(Debug)]
pub struct CachedBuilder<S> {
    inner: S,
    clock: SharedClock,
    ttl: Duration,
    max_entries: u64,
}

impl<S> CachedBuilder<S> {
    /// The clock that decides expiry; use the inner store's (default: [`SystemClock`]).
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// How long a cached record may be served without asking the inner store: the bound
    /// on staleness for changes made elsewhere.
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// The most records kept locally (default [`DEFAULT_MAX_ENTRIES`]).
    pub fn max_entries(mut self, max_entries: u64) -> Self {
        self.max_entries = max_entries;
        self
    }

    /// The cached store.
    pub fn build(self) -> Cached<S> {
        let cache = Cache::builder()
            .max_capacity(self.max_entries)
            .expire_after(DeadlineExpiry {
                clock: self.clock.clone(),
                max_ttl: Some(self.ttl),
            })
            .build();
        Cached {
            inner: self.inner,
            clock: self.clock,
            ttl: self.ttl,
            cache,
        }
    }
}

impl<S> Cached<S> {
    /// The default bound on staleness.
    pub const DEFAULT_TTL: Duration = Duration::from_secs(5);

    /// A builder around `inner`.
    pub fn builder(inner: S) -> CachedBuilder<S> {
        CachedBuilder {
            inner,
            clock: SystemClock::shared(),
            ttl: Self::DEFAULT_TTL,
            max_entries: DEFAULT_MAX_ENTRIES,
        }
    }

    /// The store behind the cache.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// Caches `record` unless this process already holds something newer: a later version,
    /// the same version seen later, or a local delete. Calls finishing out of order never
    /// replace newer knowledge with older.
    fn remember(&self, key: &SessionKey, record: Arc<SessionRecord>) {
        self.cache.entry(*key).and_compute_with(|held| {
            let newer_held = match held.as_ref().map(|e| e.value()) {
                Some(Local::Gone(_)) => true,
                Some(Local::Live(old)) => {
                    (old.version, old.last_seen_at) > (record.version, record.last_seen_at)
                }
                None => false,
            };
            if newer_held {
                Op::Nop
            } else {
                Op::Put(Local::Live(record))
            }
        });
    }

    /// Marks `key` deleted here for as long as a stale copy could otherwise be cached.
    fn forget(&self, key: &SessionKey) {
        let until = self.clock.now() + self.ttl;
        self.cache.insert(*key, Local::Gone(until));
    }

    /// Drops the local copy (not a delete: the next load asks the inner store).
    fn drop_copy(&self, key: &SessionKey) {
        self.cache
            .entry(*key)
            .and_compute_with(|held| match held.map(|e| e.into_value()) {
                Some(Local::Live(_)) => Op::Remove,
                _ => Op::Nop,
            });
    }
}

impl<S: std::fmt::Debug> std::fmt::Debug for Cached<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cached")
            .field("inner", &self.inner)
            .field("entries", &self.cache.entry_count())
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl<S: SessionStore> SessionStore for Cached<S> {
    async fn create(&self, key: &SessionKey, record: &SessionRecord) -> Result<(), StoreError> {
        self.inner.create(key, record).await?;
        let mut stored = record.clone();
        stored.version = 0;
        // The inner store accepted it, so it replaces whatever was known of the key.
        self.cache.insert(*key, Local::Live(Arc::new(stored)));
        Ok(())
    }

    async fn load(&self, key: &SessionKey) -> Result<Option<SessionRecord>, StoreError> {
        Ok(self.load_shared(key).await?.map(Arc::unwrap_or_clone))
    }

    async fn load_shared(
        &self,
        key: &SessionKey,
    ) -> Result<Option<Arc<SessionRecord>>, StoreError> {
        let now = self.clock.now();
        match self.cache.get(key) {
            Some(Local::Live(hit)) if hit.is_live_at(now) => return Ok(Some(hit)),
            Some(Local::Gone(_)) => return Ok(None),
            // Dead by our copy; another process may have extended it, so ask.
            Some(Local::Live(_)) => self.drop_copy(key),
            None => {}
        }
        let loaded = self.inner.load_shared(key).await?;
        if let Some(record) = &loaded {
            self.remember(key, record.clone());
        }
        Ok(loaded)
    }

    async fn save(&self, key: &SessionKey, record: &SessionRecord) -> Result<u64, StoreError> {
        match self.inner.save(key, record).await {
            Ok(version) => {
                let mut stored = record.clone();
                stored.version = version;
                self.remember(key, Arc::new(stored));
                Ok(version)
            }
            Err(error) => {
                self.drop_copy(key);
                Err(error)
            }
        }
    }

    async fn touch(
        &self,
        key: &SessionKey,
        last_seen_at: SystemTime,
        expires_at: SystemTime,
    ) -> Result<bool, StoreError> {
        let touched = self.inner.touch(key, last_seen_at, expires_at).await;
        match (&touched, self.cache.get(key)) {
            (Ok(true), Some(Local::Live(hit))) => {
                let mut record = SessionRecord::clone(&hit);
                record.last_seen_at = last_seen_at;
                record.expires_at = expires_at;
                self.remember(key, Arc::new(record));
            }
            (Ok(true), _) => {}
            _ => self.drop_copy(key),
        }
        touched
    }

    async fn delete(&self, key: &SessionKey) -> Result<bool, StoreError> {
        // Marked before the inner delete, so no load finishing meanwhile can cache it again.
        self.forget(key);
        self.inner.delete(key).await
    }

    async fn delete_subject(&self, subject: &str) -> Result<u64, StoreError> {
        let deleted = self.inner.delete_subject(subject).await;
        let local: Vec<SessionKey> = self
            .cache
            .iter()
            .filter(|(_, held)| matches!(held, Local::Live(r) if r.subject == subject))
            .map(|(key, _)| *key)
            .collect();
        for key in local {
            self.forget(&key);
        }
        deleted
    }

    async fn list_subject(&self, subject: &str) -> Result<Vec<SessionEntry>, StoreError> {
        self.inner.list_subject(subject).await
    }

    async fn purge_expired(&self) -> Result<u64, StoreError> {
        self.inner.purge_expired().await
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::memory::MemorySessionStore;
    use crate::{Clock, ManualClock, SessionId};

    fn setup() -> (Cached<MemorySessionStore>, Arc<ManualClock>) {
        let clock = Arc::new(ManualClock::starting_now());
        let inner = MemorySessionStore::builder().clock(clock.clone()).build();
        let cached = Cached::builder(inner).clock(clock.clone()).build();
        (cached, clock)
    }

    #[tokio::test]
    async fn an_older_copy_finishing_late_never_replaces_a_newer_one() {
        let (store, clock) = setup();
        let key = SessionId::generate().unwrap().key();
        let now = clock.now();
        let v0 = SessionRecord::new("alice", b"v0".to_vec(), now, now + Duration::from_secs(60));
        store.create(&key, &v0).await.unwrap();
        let mut v1 = v0.clone();
        v1.data = b"v1".to_vec();
        store.save(&key, &v1).await.unwrap();
        // A load that read version 0 before the save finishes only now.
        store.remember(&key, Arc::new(v0.clone()));
        assert_eq!(store.load(&key).await.unwrap().unwrap().data, b"v1");
    }

    #[tokio::test]
    async fn a_load_finishing_after_a_local_delete_never_resurrects_it() {
        let (store, clock) = setup();
        let key = SessionId::generate().unwrap().key();
        let now = clock.now();
        let record = SessionRecord::new("bob", b"x".to_vec(), now, now + Duration::from_secs(60));
        store.create(&key, &record).await.unwrap();
        assert!(store.delete(&key).await.unwrap());
        // A load that read the record before the delete finishes only now.
        store.remember(&key, Arc::new(record.clone()));
        assert!(store.load(&key).await.unwrap().is_none());
        // The key can still be created again (through this cache or after the mark ends).
        store.create(&key, &record).await.unwrap();
        assert!(store.load(&key).await.unwrap().is_some());
    }
}
