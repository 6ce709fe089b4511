//! [`RedisSessionStore`]: sessions as Redis strings, indexed per subject.

use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;
use auth_core::store::{SessionEntry, SessionRecord, SessionStore, check_subject};
use auth_core::{SessionKey, StoreError};
use redis::{FromRedisValue, Script};

use crate::builder::{RedisStoreBuilder, Shared};
use crate::connection::RedisConnection;
use crate::error::{ConfigError, malformed};
use crate::keys::subject_name;
use crate::local_cache::entries::{Entries, Intent};
use crate::local_cache::{LocalCacheConfig, LocalCacheStats};
use crate::session_record::{decode, encode, is_live, lua_script};
use crate::time::{ceil_millis, digits, from_nanos, instant, nanos, prune_millis, ttl_millis};

/// A [`SessionStore`] on Redis or Redis Cluster.
///
/// Layout (`P` is the prefix): each session is one string at `{P:s}:rec:<key hex>`,
/// where the key is auth-core's [`SessionKey`] (SHA-256 of the session id: the cookie
/// value never reaches Redis); each subject has a sorted set `{P:s}:sub:<name>` of its
/// session keys scored by deadline, `<name>` being a SHA-256 prefix of the subject.
///
/// - `load` is one `GET`. `create`, `save`, `touch`, `delete`, `delete_subject` and
///   `list_subject` are each one Lua script, so each is atomic and one round trip.
/// - Expiry is decided by the store's clock on every read and write; Redis's own TTLs
///   (set to the deadline plus a slack) only collect garbage. The subject index is
///   pruned of dead members whenever it is touched, and expires with its last session.
/// - **Cluster**: all keys of one store share the hash tag `{P:s}`, so they live in one
///   slot (one master and its replicas). That is what makes "log out everywhere" and the
///   index atomic; it also means one store's sessions do not spread across masters.
///   Stores with different prefixes land on different slots. The scripts reach the
///   records of an index (and the index of a record) through key names they build from
///   that tag, which Redis Cluster allows because they hash to the script's own slot.
/// - **Local cache** (built with
///   [`RedisStoreBuilder::local_cache`](crate::RedisStoreBuilder::local_cache)): a warm
///   `load` sends nothing; `create`, `save` and `touch` write through and update the local
///   entry; `delete` and `delete_subject` drop what this process holds at once, and every
///   other process within milliseconds. See the crate docs.
#[derive(Clone, Debug)]
pub struct RedisSessionStore {
    shared: Shared,
    scripts: Arc<Scripts>,
    cache: Option<Arc<SessionEntries>>,
}

/// Cached records, by record key.
type SessionEntries = Entries<Arc<SessionRecord>>;

#[derive(Debug)]
struct Scripts {
    create: Script,
    update: Script,
    delete: Script,
    subject: Script,
}

impl RedisSessionStore {
    /// A store on `connection` with the defaults of [`RedisStoreBuilder`].
    pub fn new(connection: RedisConnection) -> Result<Self, ConfigError> {
        RedisStoreBuilder::new(connection).sessions()
    }

    pub(crate) fn from_shared(shared: Shared) -> Self {
        Self::build(shared, None)
    }

    /// A store with a local cache: every command on its own tracked connection.
    pub(crate) fn cached(shared: Shared, config: &LocalCacheConfig) -> Result<Self, ConfigError> {
        let entries = Arc::new(SessionEntries::new(config.entries()));
        let connection = shared
            .connection
            .tracked(&shared.keys, entries.clone(), config)?;
        Ok(Self::build(
            Shared {
                connection,
                ..shared
            },
            Some(entries),
        ))
    }

    fn build(shared: Shared, cache: Option<Arc<SessionEntries>>) -> Self {
        // A cached store's own writes untrack the record (NOLOOP): the scripts that leave a
        // record it caches read it again, so that a later write elsewhere is still pushed.
        let writing = |body: &str| match cache {
            Some(_) => Script::new(&lua_script(&tracking_again(body))),
            None => Script::new(&lua_script(body)),
        };
        Self {
            scripts: Arc::new(Scripts {
                create: writing(include_str!("lua/session_create.lua")),
                update: writing(include_str!("lua/session_update.lua")),
                delete: Script::new(&lua_script(include_str!("lua/session_delete.lua"))),
                subject: Script::new(&lua_script(include_str!("lua/session_subject.lua"))),
            }),
            shared,
            cache,
        }
    }

    /// The local cache's counters, for a store built with a local cache.
    pub fn local_cache_stats(&self) -> Option<LocalCacheStats> {
        self.cache.as_ref().map(|cache| cache.stats())
    }

    /// The stored record under `key`, whether live or not.
    async fn fetch(&self, key: &SessionKey) -> Result<Option<SessionRecord>, StoreError> {
        let value: Option<Vec<u8>> = self
            .shared
            .connection
            .query(redis::cmd("GET").arg(self.record_key(key)))
            .await?;
        value.as_deref().map(decode).transpose()
    }

    /// A load through the local cache: from memory when held, else one `GET` whose answer
    /// is kept unless an invalidation of the key came meanwhile.
    async fn load_cached(
        &self,
        cache: &SessionEntries,
        key: &SessionKey,
    ) -> Result<Option<Arc<SessionRecord>>, StoreError> {
        self.shared.connection.ready().await?;
        let name = self.record_key(key);
        let record = match cache.get(name.as_bytes()) {
            Some(record) => record,
            None => {
                let ticket = cache.begin(name.as_bytes(), Intent::Read);
                let fetched = self.fetch(key).await?.map(Arc::new);
                ticket.read(fetched.clone());
                let Some(record) = fetched else {
                    return Ok(None);
                };
                record
            }
        };
        Ok(record.is_live_at(self.now()).then_some(record))
    }

    fn record_key(&self, key: &SessionKey) -> String {
        self.shared.keys.key("rec", &key.to_hex())
    }

    fn index_key(&self, subject: &str) -> String {
        self.shared.keys.key("sub", &subject_name(subject))
    }

    fn now(&self) -> SystemTime {
        self.shared.clock.now()
    }

    /// Rewrites the header of a live record: a save when `expected` is set, a touch
    /// otherwise. Returns whether a record was updated.
    async fn update(
        &self,
        key: &SessionKey,
        expected: Option<(u64, u64)>,
        last_seen_at: SystemTime,
        expires_at: SystemTime,
        data: Option<&[u8]>,
    ) -> Result<bool, StoreError> {
        let now = self.now();
        let (expected, next) = match expected {
            Some((expected, next)) => (digits(expected), digits(next)),
            None => (String::new(), String::new()),
        };
        let updated: i64 = self
            .shared
            .connection
            .invoke(
                self.scripts
                    .update
                    .key(self.record_key(key))
                    .arg(instant(now))
                    .arg(expected)
                    .arg(instant(expires_at))
                    .arg(next)
                    .arg(instant(last_seen_at))
                    .arg(if data.is_some() { "1" } else { "0" })
                    .arg(data.unwrap_or_default())
                    .arg(ttl_millis(now, expires_at, self.shared.ttl_slack))
                    .arg(ceil_millis(expires_at))
                    .arg(key.to_hex())
                    .arg(self.shared.keys.part("sub")),
            )
            .await?;
        match updated {
            1 => Ok(true),
            0 => Ok(false),
            _ => Err(malformed("session value")),
        }
    }

    async fn for_subject<T: FromRedisValue>(
        &self,
        subject: &str,
        action: &str,
    ) -> Result<T, StoreError> {
        check_subject(subject)?;
        let now = self.now();
        self.shared
            .connection
            .invoke(
                self.scripts
                    .subject
                    .key(self.index_key(subject))
                    .arg(instant(now))
                    .arg(self.shared.keys.part("rec"))
                    .arg(subject_name(subject))
                    .arg(subject)
                    .arg(prune_millis(now, self.shared.ttl_slack))
                    .arg(action),
            )
            .await
    }
}

/// The writes as Redis runs them; the trait methods add the local cache around them.
impl RedisSessionStore {
    async fn create_in_redis(
        &self,
        key: &SessionKey,
        record: &SessionRecord,
    ) -> Result<(), StoreError> {
        record.check_limits()?;
        let now = self.now();
        let ttl = ttl_millis(now, record.expires_at, self.shared.ttl_slack);
        let created: i64 = self
            .shared
            .connection
            .invoke(
                self.scripts
                    .create
                    .key(self.record_key(key))
                    .key(self.index_key(&record.subject))
                    .arg(encode(record, 0))
                    .arg(instant(now))
                    .arg(ttl)
                    .arg(ceil_millis(record.expires_at))
                    .arg(key.to_hex())
                    .arg(prune_millis(now, self.shared.ttl_slack)),
            )
            .await?;
        if created == 1 {
            Ok(())
        } else {
            Err(StoreError::AlreadyExists)
        }
    }

    async fn save_in_redis(
        &self,
        key: &SessionKey,
        record: &SessionRecord,
    ) -> Result<u64, StoreError> {
        record.check_limits()?;
        // A version at u64::MAX cannot have been stored by a live session: nothing to match.
        let Some(next) = record.version.checked_add(1) else {
            return Err(StoreError::Conflict);
        };
        let saved = self
            .update(
                key,
                Some((record.version, next)),
                record.last_seen_at,
                record.expires_at,
                Some(&record.data),
            )
            .await?;
        if saved {
            Ok(next)
        } else {
            Err(StoreError::Conflict)
        }
    }

    async fn delete_in_redis(&self, key: &SessionKey) -> Result<bool, StoreError> {
        let deleted: i64 = self
            .shared
            .connection
            .invoke(
                self.scripts
                    .delete
                    .key(self.record_key(key))
                    .arg(instant(self.now()))
                    .arg(self.shared.keys.part("sub"))
                    .arg(key.to_hex()),
            )
            .await?;
        Ok(deleted == 1)
    }

    async fn delete_subject_in_redis(&self, subject: &str) -> Result<u64, StoreError> {
        let deleted: i64 = self.for_subject(subject, "delete").await?;
        u64::try_from(deleted).map_err(|_| malformed("delete_subject answer"))
    }
}

/// Drops every session of `subject` held in the local cache, and voids reads in flight,
/// when it is dropped: `delete_subject`'s script deletes keys this process cannot name and
/// no push reports them (NOLOOP), so the cache must forget them itself, also when the
/// call's future is dropped after the script may have run. Otherwise no invalidation would
/// ever come for them, and this node would go on serving the deleted sessions.
/// Reads in flight meanwhile install nothing: one may have been answered before the
/// script ran and complete after another read saw the session gone.
struct ForgetSubject<'a> {
    cache: &'a SessionEntries,
    subject: &'a str,
}

impl<'a> ForgetSubject<'a> {
    fn begin(cache: &'a SessionEntries, subject: &'a str) -> Self {
        cache.begin_forget();
        Self { cache, subject }
    }
}

impl Drop for ForgetSubject<'_> {
    fn drop(&mut self) {
        self.cache
            .end_forget(|record| record.subject == self.subject);
    }
}

#[async_trait]
impl SessionStore for RedisSessionStore {
    async fn create(&self, key: &SessionKey, record: &SessionRecord) -> Result<(), StoreError> {
        let Some(cache) = &self.cache else {
            return self.create_in_redis(key, record).await;
        };
        let name = self.record_key(key);
        let ticket = cache.begin(name.as_bytes(), Intent::Write);
        let created = self.create_in_redis(key, record).await;
        ticket.write(|_| {
            created
                .is_ok()
                .then(|| Arc::new(as_stored(record, record, 0)))
        });
        created
    }

    async fn load(&self, key: &SessionKey) -> Result<Option<SessionRecord>, StoreError> {
        if let Some(cache) = &self.cache {
            let record = self.load_cached(cache, key).await?;
            return Ok(record.map(Arc::unwrap_or_clone));
        }
        let record = self.fetch(key).await?;
        Ok(record.filter(|record| record.is_live_at(self.now())))
    }

    async fn load_shared(
        &self,
        key: &SessionKey,
    ) -> Result<Option<Arc<SessionRecord>>, StoreError> {
        match &self.cache {
            Some(cache) => self.load_cached(cache, key).await,
            None => Ok(self.load(key).await?.map(Arc::new)),
        }
    }

    async fn save(&self, key: &SessionKey, record: &SessionRecord) -> Result<u64, StoreError> {
        let Some(cache) = &self.cache else {
            return self.save_in_redis(key, record).await;
        };
        let name = self.record_key(key);
        let ticket = cache.begin(name.as_bytes(), Intent::Write);
        let saved = self.save_in_redis(key, record).await;
        ticket.write(|held| {
            // Only over the entry of the version this save replaced.
            let (Ok(next), Some(held)) = (&saved, held) else {
                return None;
            };
            (held.version == record.version).then(|| Arc::new(as_stored(&held, record, *next)))
        });
        saved
    }

    async fn touch(
        &self,
        key: &SessionKey,
        last_seen_at: SystemTime,
        expires_at: SystemTime,
    ) -> Result<bool, StoreError> {
        let Some(cache) = &self.cache else {
            return self.update(key, None, last_seen_at, expires_at, None).await;
        };
        let name = self.record_key(key);
        let ticket = cache.begin(name.as_bytes(), Intent::Write);
        let touched = self.update(key, None, last_seen_at, expires_at, None).await;
        ticket.write(|held| {
            let (Ok(true), Some(held)) = (&touched, held) else {
                return None;
            };
            let mut next = SessionRecord::clone(&held);
            next.last_seen_at = as_stored_instant(last_seen_at);
            next.expires_at = as_stored_instant(expires_at);
            Some(Arc::new(next))
        });
        touched
    }

    async fn delete(&self, key: &SessionKey) -> Result<bool, StoreError> {
        let Some(cache) = &self.cache else {
            return self.delete_in_redis(key).await;
        };
        let name = self.record_key(key);
        let ticket = cache.begin(name.as_bytes(), Intent::Write);
        let deleted = self.delete_in_redis(key).await;
        ticket.write(|_| None);
        deleted
    }

    async fn delete_subject(&self, subject: &str) -> Result<u64, StoreError> {
        let _forget = self
            .cache
            .as_deref()
            .map(|cache| ForgetSubject::begin(cache, subject));
        self.delete_subject_in_redis(subject).await
    }

    async fn list_subject(&self, subject: &str) -> Result<Vec<SessionEntry>, StoreError> {
        let listed: Vec<(String, Vec<u8>)> = self.for_subject(subject, "list").await?;
        let now = self.now();
        let mut entries = Vec::with_capacity(listed.len());
        for (member, value) in listed {
            let key = SessionKey::from_hex(&member).map_err(StoreError::corrupt)?;
            if !is_live(&value, now)? {
                continue;
            }
            entries.push(SessionEntry::new(key, decode(&value)?));
        }
        Ok(entries)
    }
}

/// `record` as the store holds it after a write at `version` that kept `fixed`'s subject
/// and creation time: instants at the stored precision, exactly what a `GET` would decode.
fn as_stored(fixed: &SessionRecord, record: &SessionRecord, version: u64) -> SessionRecord {
    let mut stored = SessionRecord::new(
        fixed.subject.clone(),
        record.data.clone(),
        as_stored_instant(fixed.created_at),
        as_stored_instant(record.expires_at),
    );
    stored.last_seen_at = as_stored_instant(record.last_seen_at);
    stored.version = version;
    stored
}

/// An instant as stored (nanoseconds since the epoch, clamped).
fn as_stored_instant(time: SystemTime) -> SystemTime {
    from_nanos(nanos(time))
}

/// A write script for a cached store: runs `body`, then reads the record again, so that
/// the tracked connection that wrote it (and, with NOLOOP, stopped tracking it) tracks it
/// once more.
fn tracking_again(body: &str) -> String {
    format!(
        "local function run()\n{body}\nend\n\
         local result = run()\n\
         redis.call('EXISTS', KEYS[1])\n\
         return result\n"
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failed test.

    use std::time::{Duration, Instant};

    use auth_core::SessionId;

    use super::*;
    use crate::local_cache::entries::Invalidate;

    async fn connection() -> RedisConnection {
        let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
        RedisConnection::connect(&url)
            .await
            .unwrap_or_else(|e| panic!("Redis is not reachable at {url} (set REDIS_URL): {e}"))
    }

    /// A read that reached Redis before a write elsewhere, and completes after that write's
    /// invalidation was applied, is not cached: the next load reads the new version.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_read_overtaken_by_an_invalidation_is_not_cached() {
        let prefix = format!(
            "test-race-{}",
            &SessionId::generate().unwrap().key().to_hex()[..12]
        );
        let cached = RedisStoreBuilder::new(connection().await)
            .prefix(prefix.as_str())
            .local_cache(LocalCacheConfig::new())
            .sessions()
            .unwrap();
        let writer = RedisStoreBuilder::new(connection().await)
            .prefix(prefix.as_str())
            .sessions()
            .unwrap();
        let key = SessionId::generate().unwrap().key();
        let now = SystemTime::now();
        let record =
            SessionRecord::new("race", b"old".to_vec(), now, now + Duration::from_secs(60));
        writer.create(&key, &record).await.unwrap();

        // The read, by hand: ticket first, then the GET (which makes Redis track the key).
        let cache = cached.cache.clone().unwrap();
        cached.shared.connection.ready().await.unwrap();
        let name = cached.record_key(&key);
        let ticket = cache.begin(name.as_bytes(), Intent::Read);
        let read = cached.fetch(&key).await.unwrap().map(Arc::new);
        assert_eq!(read.as_ref().unwrap().data, b"old");

        // A write elsewhere, and its invalidation applied, before the read installs.
        let before = cache.stats().invalidations;
        let mut next = record.clone();
        next.data = b"new".to_vec();
        writer.save(&key, &next).await.unwrap();
        let started = Instant::now();
        while cache.stats().invalidations == before {
            assert!(
                started.elapsed() < Duration::from_secs(2),
                "no invalidation"
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        ticket.read(read);

        assert!(
            cache.get(name.as_bytes()).is_none(),
            "the old version was cached"
        );
        let loaded = cached.load(&key).await.unwrap().unwrap();
        assert_eq!((loaded.data.as_slice(), loaded.version), (&b"new"[..], 1));
    }

    /// The same, with the invalidation connection lost (and the cache flushed) in between.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_read_overtaken_by_a_flush_is_not_cached() {
        let prefix = format!(
            "test-race-{}",
            &SessionId::generate().unwrap().key().to_hex()[..12]
        );
        let cached = RedisStoreBuilder::new(connection().await)
            .prefix(prefix.as_str())
            .local_cache(LocalCacheConfig::new())
            .sessions()
            .unwrap();
        let key = SessionId::generate().unwrap().key();
        let now = SystemTime::now();
        let record = SessionRecord::new("race", b"x".to_vec(), now, now + Duration::from_secs(60));
        cached.create(&key, &record).await.unwrap();
        let cache = cached.cache.clone().unwrap();
        let name = cached.record_key(&key);
        let ticket = cache.begin(name.as_bytes(), Intent::Read);
        let read = cached.fetch(&key).await.unwrap().map(Arc::new);
        Invalidate::flush(&*cache);
        ticket.read(read);
        assert!(cache.get(name.as_bytes()).is_none());
    }
}
