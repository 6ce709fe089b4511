//! `Cached<S>`: a local read-through cache in front of any session store.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use moka::sync::Cache;

use crate::memory::{DEFAULT_MAX_ENTRIES, DeadlineExpiry};
use crate::store::{SessionEntry, SessionRecord, SessionStore};
use crate::{SessionKey, SharedClock, StoreError, SystemClock};

/// A moka read-through cache in front of a shared [`SessionStore`] (Redis, SQL), so that
/// most loads cost no round trip.
///
/// **Staleness is bounded by the TTL** (default [`Cached::DEFAULT_TTL`], 5 s): a change
/// made through *another* process (a logout there, a save there) is seen here at most that
/// late. Changes made through this `Cached` are seen here at once: creates, saves and
/// touches write through and refresh the local copy; deletes and `delete_subject` drop the
/// local copies before returning. Expiry is still decided by the clock on every load, and
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
    cache: Cache<SessionKey, Arc<SessionRecord>>,
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

    fn remember(&self, key: &SessionKey, record: SessionRecord) {
        self.cache.insert(*key, Arc::new(record));
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
        self.remember(key, stored);
        Ok(())
    }

    async fn load(&self, key: &SessionKey) -> Result<Option<SessionRecord>, StoreError> {
        let now = self.clock.now();
        if let Some(hit) = self.cache.get(key) {
            if hit.is_live_at(now) {
                return Ok(Some(SessionRecord::clone(&hit)));
            }
            // Dead by our copy; another process may have extended it, so ask.
            self.cache.invalidate(key);
        }
        let loaded = self.inner.load(key).await?;
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
                self.remember(key, stored);
                Ok(version)
            }
            Err(error) => {
                self.cache.invalidate(key);
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
            (Ok(true), Some(hit)) => {
                let mut record = SessionRecord::clone(&hit);
                record.last_seen_at = last_seen_at;
                record.expires_at = expires_at;
                self.remember(key, record);
            }
            (Ok(true), None) => {}
            _ => self.cache.invalidate(key),
        }
        touched
    }

    async fn delete(&self, key: &SessionKey) -> Result<bool, StoreError> {
        self.cache.invalidate(key);
        let deleted = self.inner.delete(key).await;
        // A load racing with the delete may have cached the record again.
        self.cache.invalidate(key);
        deleted
    }

    async fn delete_subject(&self, subject: &str) -> Result<u64, StoreError> {
        let deleted = self.inner.delete_subject(subject).await;
        let local: Vec<SessionKey> = self
            .cache
            .iter()
            .filter(|(_, record)| record.subject == subject)
            .map(|(key, _)| *key)
            .collect();
        for key in local {
            self.cache.invalidate(&key);
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
