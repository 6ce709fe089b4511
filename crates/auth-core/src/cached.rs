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
/// late, by the store's clock. The TTL runs from when the copy was last read from (or
/// written whole to) the inner store: a touch through this `Cached` updates the copy's
/// times but never restarts its TTL, since a touch does not read what another process may
/// have changed. Changes made through this `Cached` are seen here at once: creates, saves
/// and touches write through and refresh the local copy (never replacing a newer one with
/// an older, whatever order concurrent calls finish in); `delete` marks the key deleted
/// locally before it deletes, so no racing load can cache it again, and `delete_subject`
/// marks the subject's sessions this process holds once it ends, however it ends (a
/// dropped future included); a `save` that may or may not have reached the inner store
/// drops the local copy. Expiry is still decided by the clock on every load, and
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
    /// A copy of the stored record, as the inner store held it at `fetched_at` (by the
    /// clock): the copy is served until `fetched_at + ttl` at most.
    Live {
        record: Arc<SessionRecord>,
        fetched_at: SystemTime,
    },
    /// Deleted through this `Cached`: a slower load or save that read the record before the
    /// delete must not bring it back into the cache.
    Gone(SystemTime),
}

impl Deadline for Local {
    fn deadline(&self) -> SystemTime {
        match self {
            Self::Live { record, .. } => record.expires_at,
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

    /// Caches `record`, as the inner store held it at `fetched_at`, unless this process
    /// already holds something newer: a later version, the same version seen later, or a
    /// local delete. Calls finishing out of order never replace newer knowledge with older.
    fn remember(&self, key: &SessionKey, record: Arc<SessionRecord>, fetched_at: SystemTime) {
        self.cache.entry(*key).and_compute_with(|held| {
            let newer_held = match held.as_ref().map(|e| e.value()) {
                Some(Local::Gone(_)) => true,
                Some(Local::Live { record: old, .. }) => {
                    (old.version, old.last_seen_at) > (record.version, record.last_seen_at)
                }
                None => false,
            };
            if newer_held {
                Op::Nop
            } else {
                Op::Put(Local::Live { record, fetched_at })
            }
        });
    }

    /// Whether a copy read at `fetched_at` may still be served at `now`.
    fn fresh(&self, fetched_at: SystemTime, now: SystemTime) -> bool {
        fetched_at
            .checked_add(self.ttl)
            .is_some_and(|stale| now < stale)
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
                Some(Local::Live { .. }) => Op::Remove,
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
        let written_at = self.clock.now();
        self.inner.create(key, record).await?;
        let mut stored = record.clone();
        stored.version = 0;
        // The inner store accepted it, so it replaces whatever was known of the key.
        self.cache.insert(
            *key,
            Local::Live {
                record: Arc::new(stored),
                fetched_at: written_at,
            },
        );
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
            Some(Local::Live { record, fetched_at })
                if record.is_live_at(now) && self.fresh(fetched_at, now) =>
            {
                return Ok(Some(record));
            }
            Some(Local::Gone(_)) => return Ok(None),
            // Dead by our copy (another process may have extended it), or read too long
            // ago: ask.
            Some(Local::Live { .. }) => self.drop_copy(key),
            None => {}
        }
        let loaded = self.inner.load_shared(key).await?;
        if let Some(record) = &loaded {
            self.remember(key, record.clone(), now);
        }
        Ok(loaded)
    }

    async fn save(&self, key: &SessionKey, record: &SessionRecord) -> Result<u64, StoreError> {
        let written_at = self.clock.now();
        // Failed, or stopped while the inner store may have taken it (a demotion, say):
        // the copy held here is not what the store holds.
        let unsure = OnDrop::new(|| self.drop_copy(key));
        let version = self.inner.save(key, record).await?;
        unsure.disarm();
        // The save succeeded against the version it names: the whole record is what the
        // inner store holds now.
        let mut stored = record.clone();
        stored.version = version;
        self.remember(key, Arc::new(stored), written_at);
        Ok(version)
    }

    async fn touch(
        &self,
        key: &SessionKey,
        last_seen_at: SystemTime,
        expires_at: SystemTime,
    ) -> Result<bool, StoreError> {
        let touched = self.inner.touch(key, last_seen_at, expires_at).await;
        match (&touched, self.cache.get(key)) {
            (Ok(true), Some(Local::Live { record, fetched_at })) => {
                // A touch reads nothing back: the copy keeps the age of its last read, so
                // another process's change still reaches it within the TTL.
                let mut record = SessionRecord::clone(&record);
                record.last_seen_at = last_seen_at;
                record.expires_at = expires_at;
                self.remember(key, Arc::new(record), fetched_at);
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
        // Once the call ends, however it ends: the inner store may have deleted sessions
        // whose copies would otherwise be served here until the TTL.
        let _forget = OnDrop::new(|| {
            let local: Vec<SessionKey> = self
                .cache
                .iter()
                .filter(
                    |(_, held)| matches!(held, Local::Live { record, .. } if record.subject == subject),
                )
                .map(|(key, _)| *key)
                .collect();
            for key in local {
                self.forget(&key);
            }
        });
        self.inner.delete_subject(subject).await
    }

    async fn list_subject(&self, subject: &str) -> Result<Vec<SessionEntry>, StoreError> {
        self.inner.list_subject(subject).await
    }

    async fn purge_expired(&self) -> Result<u64, StoreError> {
        self.inner.purge_expired().await
    }
}

/// Runs its closure when dropped, unless disarmed: what must happen however a call ends,
/// its future dropped at an await included.
struct OnDrop<F: FnMut()>(Option<F>);

impl<F: FnMut()> OnDrop<F> {
    fn new(run: F) -> Self {
        Self(Some(run))
    }

    fn disarm(mut self) {
        self.0 = None;
    }
}

impl<F: FnMut()> Drop for OnDrop<F> {
    fn drop(&mut self) {
        if let Some(run) = self.0.as_mut() {
            run();
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // Test code: a panic is a failed test.

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
        store.remember(&key, Arc::new(v0.clone()), now);
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
        store.remember(&key, Arc::new(record.clone()), now);
        assert!(store.load(&key).await.unwrap().is_none());
        // The key can still be created again (through this cache or after the mark ends).
        store.create(&key, &record).await.unwrap();
        assert!(store.load(&key).await.unwrap().is_some());
    }

    #[tokio::test]
    async fn touches_never_keep_another_nodes_change_out_past_the_ttl() {
        let clock = Arc::new(ManualClock::starting_now());
        let shared = MemorySessionStore::builder().clock(clock.clone()).build();
        let here = Cached::builder(shared.clone())
            .clock(clock.clone())
            .ttl(Duration::from_secs(5))
            .build();
        let key = SessionId::generate().unwrap().key();
        let now = clock.now();
        let hour = Duration::from_secs(3600);
        let record = SessionRecord::new("carol", b"admin".to_vec(), now, now + hour);
        here.create(&key, &record).await.unwrap();
        // Another node demotes the session, straight in the shared store.
        let mut demoted = shared.load(&key).await.unwrap().unwrap();
        demoted.data = b"user".to_vec();
        shared.save(&key, &demoted).await.unwrap();
        // This node keeps touching its copy every second, as a busy client makes it.
        for _ in 1..=4 {
            clock.advance(Duration::from_secs(1));
            let at = clock.now();
            assert!(here.touch(&key, at, at + hour).await.unwrap());
            here.load(&key).await.unwrap().unwrap();
        }
        clock.advance(Duration::from_secs(1));
        assert_eq!(
            here.load(&key).await.unwrap().unwrap().data,
            b"user",
            "five seconds after the copy was read, the change is seen"
        );
    }

    /// Applies each write to the shared store, then never answers: the call's future is
    /// dropped after the change happened, as when a client hangs up.
    struct AppliedThenStuck(MemorySessionStore);

    #[async_trait]
    impl SessionStore for AppliedThenStuck {
        async fn create(&self, key: &SessionKey, record: &SessionRecord) -> Result<(), StoreError> {
            self.0.create(key, record).await
        }
        async fn load(&self, key: &SessionKey) -> Result<Option<SessionRecord>, StoreError> {
            self.0.load(key).await
        }
        async fn save(&self, key: &SessionKey, record: &SessionRecord) -> Result<u64, StoreError> {
            self.0.save(key, record).await?;
            std::future::pending().await
        }
        async fn touch(
            &self,
            key: &SessionKey,
            last_seen_at: SystemTime,
            expires_at: SystemTime,
        ) -> Result<bool, StoreError> {
            self.0.touch(key, last_seen_at, expires_at).await
        }
        async fn delete(&self, key: &SessionKey) -> Result<bool, StoreError> {
            self.0.delete(key).await
        }
        async fn delete_subject(&self, subject: &str) -> Result<u64, StoreError> {
            self.0.delete_subject(subject).await?;
            std::future::pending().await
        }
        async fn list_subject(&self, subject: &str) -> Result<Vec<SessionEntry>, StoreError> {
            self.0.list_subject(subject).await
        }
    }

    /// Polls `call` once, then drops it.
    async fn cancel_after_first_poll<T>(call: impl Future<Output = T>) {
        let mut call = std::pin::pin!(call);
        let polled = std::future::poll_fn(|cx| std::task::Poll::Ready(call.as_mut().poll(cx)));
        assert!(polled.await.is_pending());
    }

    #[tokio::test]
    async fn a_cancelled_write_leaves_no_copy_that_contradicts_the_store() {
        let clock = Arc::new(ManualClock::starting_now());
        let shared = MemorySessionStore::builder().clock(clock.clone()).build();
        let here = Cached::builder(AppliedThenStuck(shared.clone()))
            .clock(clock.clone())
            .build();
        let now = clock.now();
        let hour = Duration::from_secs(3600);
        let demoted = SessionId::generate().unwrap().key();
        let admin = SessionRecord::new("dave", b"admin".to_vec(), now, now + hour);
        here.create(&demoted, &admin).await.unwrap();
        let mut user = admin.clone();
        user.data = b"user".to_vec();
        cancel_after_first_poll(here.save(&demoted, &user)).await;
        assert_eq!(here.load(&demoted).await.unwrap().unwrap().data, b"user");

        let ended = SessionId::generate().unwrap().key();
        here.create(
            &ended,
            &SessionRecord::new("erin", b"{}".to_vec(), now, now + hour),
        )
        .await
        .unwrap();
        here.load(&ended).await.unwrap().unwrap();
        cancel_after_first_poll(here.delete_subject("erin")).await;
        assert!(here.load(&ended).await.unwrap().is_none());
    }
}
