//! [`RedisRevocationStore`]: revoked JWTs and per-subject "not before" instants.

use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;
use auth_core::store::{RevocationStore, TokenRef, check_subject, check_token_id};
use auth_core::{FamilyId, StoreError};
use redis::Script;

use crate::builder::{RedisStoreBuilder, Shared};
use crate::connection::RedisConnection;
use crate::error::{ConfigError, malformed};
use crate::keys::{name_hash, subject_name};
use crate::local_cache::entries::{Entries, Intent};
use crate::local_cache::{LocalCacheConfig, LocalCacheStats};
use crate::time::{DIGITS, from_nanos, instant, over_everywhere, parse_digits, ttl_millis};

/// A [`RevocationStore`] on Redis or Redis Cluster.
///
/// Layout (`P` is the prefix):
///
/// - a revoked token is a string `{P:rv}:jti:<name>` holding its deadline, `<name>` being a
///   SHA-256 prefix of the issuer and `jti`;
/// - a revoked refresh family is a string `{P:rv}:fam:<name>` holding its deadline,
///   `<name>` a SHA-256 prefix of the issuer and family id;
/// - a subject's "not before" is a string `{P:rv}:sub:<name>` holding the instant and its
///   deadline.
///
/// Every name is hashed from a kind tag and a length-prefixed issuer, so no choice of
/// issuer, `jti`, family or subject makes two entries share a key. Redis drops each entry
/// after its deadline (plus a slack); the store's clock decides before that.
///
/// [`RevocationStore::is_token_revoked`] is one `MGET` of the keys that apply to the token
/// (its `jti`, its family, its subject). Writes are small Lua scripts that never shorten a
/// revocation in force. **Cluster**: all keys of one store share the hash tag `{P:rv}` (one
/// slot), which is what lets that `MGET` read them at once.
///
/// **Local cache** (built with
/// [`RedisStoreBuilder::local_cache`](crate::RedisStoreBuilder::local_cache)): each key's
/// stored value, or its absence, is kept, so a warm check of a token that is not revoked
/// sends nothing; a revocation anywhere evicts the key on every process within
/// milliseconds. See the crate docs.
#[derive(Clone, Debug)]
pub struct RedisRevocationStore {
    shared: Shared,
    scripts: Arc<Scripts>,
    cache: Option<Arc<RevocationEntries>>,
}

/// Cached values (`None`: nothing stored), by key.
type RevocationEntries = Entries<Option<Arc<[u8]>>>;

/// Whether a read may be answered from the local cache.
#[derive(Clone, Copy)]
enum Held {
    /// Yes, when it holds every key.
    Serve,
    /// No: the answer must be Redis's as of the read.
    Skip,
}

#[derive(Debug)]
struct Scripts {
    until: Script,
    subject: Script,
}

impl RedisRevocationStore {
    /// A store on `connection` with the defaults of [`RedisStoreBuilder`].
    pub fn new(connection: RedisConnection) -> Result<Self, ConfigError> {
        RedisStoreBuilder::new(connection).revocations()
    }

    pub(crate) fn from_shared(shared: Shared) -> Self {
        Self {
            shared,
            scripts: Arc::new(Scripts {
                until: Script::new(include_str!("lua/revoke_until.lua")),
                subject: Script::new(include_str!("lua/revoke_subject.lua")),
            }),
            cache: None,
        }
    }

    /// A store with a local cache: every command on its own tracked connection.
    pub(crate) fn cached(shared: Shared, config: &LocalCacheConfig) -> Result<Self, ConfigError> {
        let entries = Arc::new(RevocationEntries::new(config.entries()));
        let connection = shared
            .connection
            .tracked(&shared.keys, entries.clone(), config)?;
        let mut store = Self::from_shared(Shared {
            connection,
            ..shared
        });
        store.cache = Some(entries);
        Ok(store)
    }

    /// The local cache's counters, for a store built with a local cache.
    pub fn local_cache_stats(&self) -> Option<LocalCacheStats> {
        self.cache.as_ref().map(|cache| cache.stats())
    }

    /// The values stored at `keys`: with a local cache, from memory when every one is held,
    /// else one `MGET` whose answers are kept unless invalidated meanwhile.
    async fn values(&self, keys: &[String]) -> Result<Vec<Option<Arc<[u8]>>>, StoreError> {
        self.read(keys, Held::Serve).await
    }

    /// Reads `keys` from Redis; with a local cache, answers from it first when `held`
    /// allows, and keeps what Redis answered either way.
    async fn read(
        &self,
        keys: &[String],
        held: Held,
    ) -> Result<Vec<Option<Arc<[u8]>>>, StoreError> {
        let cache = self.cache.as_deref();
        if cache.is_some() {
            self.shared.connection.ready().await?;
        }
        if let (Some(cache), Held::Serve) = (cache, held) {
            let copies: Option<Vec<_>> = keys.iter().map(|k| cache.get(k.as_bytes())).collect();
            if let Some(copies) = copies {
                return Ok(copies);
            }
        }
        let tickets: Vec<_> = cache
            .map(|cache| {
                keys.iter()
                    .map(|k| cache.begin(k.as_bytes(), Intent::Read))
                    .collect()
            })
            .unwrap_or_default();
        let mut mget = redis::cmd("MGET");
        mget.arg(keys);
        let fetched: Vec<Option<Vec<u8>>> = self.shared.connection.query(&mget).await?;
        if fetched.len() != keys.len() {
            return Err(malformed("MGET answer"));
        }
        let fetched: Vec<Option<Arc<[u8]>>> =
            fetched.into_iter().map(|v| v.map(Arc::from)).collect();
        for (ticket, value) in tickets.into_iter().zip(&fetched) {
            ticket.read(Some(value.clone()));
        }
        Ok(fetched)
    }

    /// The value stored at `key`: from the local cache when it holds it, else one `GET`
    /// (through [`values`](Self::values) when cached, so that the answer is kept).
    async fn value(&self, key: String) -> Result<Option<Arc<[u8]>>, StoreError> {
        if self.cache.is_some() {
            return Ok(self
                .values(std::slice::from_ref(&key))
                .await?
                .pop()
                .flatten());
        }
        let value: Option<Vec<u8>> = self
            .shared
            .connection
            .query(redis::cmd("GET").arg(key))
            .await?;
        Ok(value.map(Arc::from))
    }

    /// Runs a write of `key`; with a local cache, drops the key once it is done (the
    /// tracked connection hears nothing of its own writes).
    async fn written<T>(
        &self,
        key: &str,
        write: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        let Some(cache) = &self.cache else {
            return write.await;
        };
        let ticket = cache.begin(key.as_bytes(), Intent::Write);
        let written = write.await;
        ticket.write(|_| None);
        written
    }

    fn token_key(&self, issuer: &str, jti: &str) -> Result<String, StoreError> {
        check_token_id("jti", jti)?;
        self.issued_key("jti", issuer, jti)
    }

    fn family_key(&self, issuer: &str, family: &FamilyId) -> Result<String, StoreError> {
        self.issued_key("fam", issuer, family.as_str())
    }

    /// The key of `id` (a `jti` or a family id) of `issuer`, under key part `part`, which
    /// also tags the hash: a family never shares a name with a `jti`.
    fn issued_key(&self, part: &'static str, issuer: &str, id: &str) -> Result<String, StoreError> {
        check_token_id("issuer", issuer)?;
        let issuer_len = u32::try_from(issuer.len())
            .unwrap_or(u32::MAX)
            .to_be_bytes();
        let name = name_hash(&[
            part.as_bytes(),
            b"\0",
            &issuer_len,
            issuer.as_bytes(),
            id.as_bytes(),
        ]);
        Ok(self.shared.keys.key(part, &name))
    }

    fn subject_key(&self, subject: &str) -> Result<String, StoreError> {
        check_subject(subject)?;
        Ok(self.shared.keys.key("sub", &subject_name(subject)))
    }

    /// Whether a stored token or family deadline is still in the future.
    fn until_in_force(&self, value: Option<&[u8]>, now: SystemTime) -> Result<bool, StoreError> {
        let Some(value) = value else { return Ok(false) };
        let until = parse_digits(value).ok_or_else(|| malformed("revocation value"))?;
        Ok(now < from_nanos(until))
    }

    /// The "not before" of a stored subject entry, if still in force.
    fn not_before(
        &self,
        value: Option<&[u8]>,
        now: SystemTime,
    ) -> Result<Option<SystemTime>, StoreError> {
        let Some(value) = value else { return Ok(None) };
        let (not_before, until) = match (value.get(..DIGITS), value.get(DIGITS..)) {
            (Some(a), Some(b)) => (parse_digits(a), parse_digits(b)),
            _ => (None, None),
        };
        let (Some(not_before), Some(until)) = (not_before, until) else {
            return Err(malformed("subject revocation value"));
        };
        Ok((now < from_nanos(until)).then(|| from_nanos(not_before)))
    }

    /// Stores `until` at `key` unless a later deadline is already there.
    async fn revoke_until(&self, key: String, until: SystemTime) -> Result<(), StoreError> {
        let now = self.shared.clock.now();
        if until <= over_everywhere(now, self.shared.ttl_slack) {
            return Ok(());
        }
        let _: i64 = self
            .shared
            .connection
            .invoke(
                self.scripts
                    .until
                    .key(key)
                    .arg(instant(until))
                    .arg(ttl_millis(now, until, self.shared.ttl_slack)),
            )
            .await?;
        Ok(())
    }
}

#[async_trait]
impl RevocationStore for RedisRevocationStore {
    async fn revoke(&self, issuer: &str, jti: &str, until: SystemTime) -> Result<(), StoreError> {
        let key = self.token_key(issuer, jti)?;
        self.written(&key, self.revoke_until(key.clone(), until))
            .await
    }

    async fn is_revoked(&self, issuer: &str, jti: &str) -> Result<bool, StoreError> {
        let key = self.token_key(issuer, jti)?;
        let value = self.value(key).await?;
        self.until_in_force(value.as_deref(), self.shared.clock.now())
    }

    async fn revoke_family(
        &self,
        issuer: &str,
        family: &FamilyId,
        until: SystemTime,
    ) -> Result<(), StoreError> {
        let key = self.family_key(issuer, family)?;
        self.written(&key, self.revoke_until(key.clone(), until))
            .await
    }

    async fn revoke_subject(
        &self,
        subject: &str,
        not_before: SystemTime,
        until: SystemTime,
    ) -> Result<(), StoreError> {
        let key = self.subject_key(subject)?;
        let now = self.shared.clock.now();
        let write = async {
            let _: i64 = self
                .shared
                .connection
                .invoke(
                    self.scripts
                        .subject
                        .key(&key)
                        .arg(instant(not_before))
                        .arg(instant(until))
                        .arg(instant(over_everywhere(now, self.shared.ttl_slack)))
                        .arg(ttl_millis(now, until, self.shared.ttl_slack)),
                )
                .await?;
            Ok(())
        };
        self.written(&key, write).await
    }

    // Never from the local cache: a login asks this after storing its family, and must see
    // a "log out everywhere" another node finished before the ask, even while the
    // invalidation of this key is still on its way here.
    async fn subject_not_before(&self, subject: &str) -> Result<Option<SystemTime>, StoreError> {
        let key = self.subject_key(subject)?;
        let value = self
            .read(std::slice::from_ref(&key), Held::Skip)
            .await?
            .pop()
            .flatten();
        self.not_before(value.as_deref(), self.shared.clock.now())
    }

    // Asked on every authenticated request: one MGET of only the keys that apply, or
    // nothing at all when the local cache holds all of them.
    async fn is_token_revoked(&self, token: &TokenRef<'_>) -> Result<bool, StoreError> {
        let mut keys = Vec::with_capacity(3);
        keys.push(self.subject_key(token.subject)?);
        if let Some(jti) = token.jti {
            keys.push(self.token_key(token.issuer, jti)?);
        }
        if let Some(family) = token.family {
            keys.push(self.family_key(token.issuer, family)?);
        }
        let values = self.values(&keys).await?;
        let Some((subject, deadlines)) = values.split_first() else {
            return Err(malformed("MGET answer"));
        };
        let now = self.shared.clock.now();
        for until in deadlines {
            if self.until_in_force(until.as_deref(), now)? {
                return Ok(true);
            }
        }
        Ok(self
            .not_before(subject.as_deref(), now)?
            .is_some_and(|not_before| token.issued_at < not_before))
    }
}
