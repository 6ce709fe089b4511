//! A `SessionStore` decorator that counts the calls reaching the store.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use async_trait::async_trait;
use auth_core::store::{SessionEntry, SessionRecord, SessionStore};
use auth_core::{SessionKey, StoreError};

/// Wraps a store and counts every call by kind, so a test can prove how many reads and
/// writes a manager operation costs (touch throttling, no write without a change).
#[derive(Debug, Default)]
pub struct CountingStore<S> {
    inner: S,
    loads: AtomicU64,
    creates: AtomicU64,
    saves: AtomicU64,
    touches: AtomicU64,
    deletes: AtomicU64,
}

impl<S> CountingStore<S> {
    /// Wraps `inner` with all counts at zero.
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            loads: AtomicU64::new(0),
            creates: AtomicU64::new(0),
            saves: AtomicU64::new(0),
            touches: AtomicU64::new(0),
            deletes: AtomicU64::new(0),
        }
    }

    /// The wrapped store.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// Calls to `load` and `load_shared`.
    pub fn loads(&self) -> u64 {
        self.loads.load(Ordering::SeqCst)
    }

    /// Calls to `create`.
    pub fn creates(&self) -> u64 {
        self.creates.load(Ordering::SeqCst)
    }

    /// Calls to `save`.
    pub fn saves(&self) -> u64 {
        self.saves.load(Ordering::SeqCst)
    }

    /// Calls to `touch`.
    pub fn touches(&self) -> u64 {
        self.touches.load(Ordering::SeqCst)
    }

    /// Calls to `delete` and `delete_subject`.
    pub fn deletes(&self) -> u64 {
        self.deletes.load(Ordering::SeqCst)
    }

    /// Every call that may write: creates, saves, touches and deletes.
    pub fn writes(&self) -> u64 {
        self.creates() + self.saves() + self.touches() + self.deletes()
    }

    /// Sets every count back to zero.
    pub fn reset(&self) {
        for counter in [
            &self.loads,
            &self.creates,
            &self.saves,
            &self.touches,
            &self.deletes,
        ] {
            counter.store(0, Ordering::SeqCst);
        }
    }
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::SeqCst);
}

#[async_trait]
impl<S: SessionStore> SessionStore for CountingStore<S> {
    async fn create(&self, key: &SessionKey, record: &SessionRecord) -> Result<(), StoreError> {
        bump(&self.creates);
        self.inner.create(key, record).await
    }

    async fn load(&self, key: &SessionKey) -> Result<Option<SessionRecord>, StoreError> {
        bump(&self.loads);
        self.inner.load(key).await
    }

    async fn load_shared(
        &self,
        key: &SessionKey,
    ) -> Result<Option<Arc<SessionRecord>>, StoreError> {
        bump(&self.loads);
        self.inner.load_shared(key).await
    }

    async fn save(&self, key: &SessionKey, record: &SessionRecord) -> Result<u64, StoreError> {
        bump(&self.saves);
        self.inner.save(key, record).await
    }

    async fn touch(
        &self,
        key: &SessionKey,
        last_seen_at: SystemTime,
        expires_at: SystemTime,
    ) -> Result<bool, StoreError> {
        bump(&self.touches);
        self.inner.touch(key, last_seen_at, expires_at).await
    }

    async fn delete(&self, key: &SessionKey) -> Result<bool, StoreError> {
        bump(&self.deletes);
        self.inner.delete(key).await
    }

    async fn delete_subject(&self, subject: &str) -> Result<u64, StoreError> {
        bump(&self.deletes);
        self.inner.delete_subject(subject).await
    }

    async fn list_subject(&self, subject: &str) -> Result<Vec<SessionEntry>, StoreError> {
        self.inner.list_subject(subject).await
    }

    async fn purge_expired(&self) -> Result<u64, StoreError> {
        self.inner.purge_expired().await
    }
}
