//! Redis and Redis Cluster backends for auth-core's store traits: [`RedisSessionStore`],
//! [`RedisRevocationStore`], [`RedisRefreshTokenStore`] and [`RedisThrottleStore`], on
//! redis-rs with tokio.
//!
//! - **One API for both deployments**: a [`RedisConnection`] is either a reconnecting
//!   connection manager for a single server ([`RedisConnection::connect`]) or, with feature
//!   `cluster`, redis-rs' async cluster client (`RedisConnection::connect_cluster`); the
//!   stores do not care which.
//! - **Nothing replayable in Redis**: sessions and refresh tokens are keyed by auth-core's
//!   SHA-256 digests, throttled user names and addresses by auth-core's
//!   [`ThrottleKey`](auth_core::store::ThrottleKey) digest, subjects and revoked
//!   `(issuer, jti)` and `(issuer, family)` pairs by SHA-256 prefixes, refresh families by
//!   their id (random, and not a credential), under a configurable prefix (default
//!   [`DEFAULT_PREFIX`]).
//! - **Atomic and cheap**: a session load is one `GET` and a bearer token's revocation
//!   check one `MGET` (its `jti`, its refresh family and its subject at once); every write
//!   and every multi-key operation (create with its index entry, optimistic-concurrency
//!   save, log out everywhere, refresh rotation with reuse detection, a throttle hit) is
//!   one Lua script, hence one round trip and atomic.
//! - **Expiry by the store's clock**: every read checks the stored deadline against the
//!   [`Clock`](auth_core::Clock) given to the builder; Redis's native TTLs (deadline plus a
//!   small slack) only collect garbage. The clocks of the processes sharing a store must
//!   agree within that slack ([`RedisStoreBuilder::ttl_slack`], default 5 s): a subject's
//!   index keeps a credential until its deadline has passed on every such clock, so "log
//!   out everywhere" on a node whose clock runs behind still finds it.
//! - **Fail closed, recover alone**: a call that Redis does not answer within the
//!   connection's timeout (default 1 s) is [`StoreError::Unavailable`](auth_core::StoreError);
//!   once Redis is back, the same store works again.
//! - **Cluster layout**: all keys of one store kind share one hash tag (`{<prefix>:s}`,
//!   `{<prefix>:rt}`, `{<prefix>:rv}`, `{<prefix>:th}`), so each store lives in one cluster
//!   slot. That is what makes the multi-key operations atomic on Cluster; it also means one
//!   store does not spread its keys across masters. A call the cluster refuses before
//!   running it (a moved slot, a failover under way) is sent again within the timeout; a
//!   call whose reply is lost is not (it may have run, and a script run twice answers
//!   wrongly: a refresh token presented once would look reused), so it is `Unavailable`.
//!
//! # Redis must not evict
//!
//! Every key the stores write has a TTL, so under any `maxmemory-policy` but `noeviction`
//! (`volatile-*` as much as `allkeys-*`) a Redis that reaches `maxmemory` deletes live
//! ones: an evicted revocation is a revocation undone, an evicted used refresh token hides
//! its replay. [`RedisConnection::connect`] and `connect_cluster` therefore ask the server
//! (every master of a cluster) for its policy and refuse anything but `noeviction` with
//! [`ConfigError::EvictionPolicy`], naming the policy found; a server that will not say
//! (`CONFIG` renamed or forbidden, as on many managed services) is refused with
//! [`ConfigError::EvictionPolicyUnknown`]. Under `noeviction` a full Redis refuses writes
//! instead, and the stores fail closed. Where you know better (the service is `noeviction`
//! but hides `CONFIG`), connect with [`ConnectOptions::allow_eviction_policy`]; its docs
//! spell out the risk. Connections wrapped with [`RedisConnection::from_manager`] or
//! `from_cluster` are checked only when you call [`RedisConnection::check_eviction_policy`].
//!
//! # Local cache kept fresh by Redis
//!
//! [`RedisStoreBuilder::local_cache`] makes the session and revocation stores answer warm
//! requests from process memory, with Redis telling every process what changed (RESP3
//! server-assisted invalidation, `CLIENT TRACKING`; needs Redis 6 or later):
//!
//! ```
//! use std::time::{Duration, SystemTime};
//! use auth_core::store::{SessionRecord, TokenRef};
//! use auth_core::{RevocationStore, SessionId, SessionStore};
//! use store_redis::{LocalCacheConfig, RedisConnection, RedisStoreBuilder};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
//! let connection = RedisConnection::connect(&url).await?;
//! let builder = RedisStoreBuilder::new(connection)
//!     .prefix("doc-local-cache")
//!     .local_cache(LocalCacheConfig::new());
//! let sessions = builder.sessions()?;
//! let revocations = builder.revocations()?;
//!
//! let id = SessionId::generate()?;
//! let now = SystemTime::now();
//! let record = SessionRecord::new("alice", b"{}".to_vec(), now, now + Duration::from_secs(60));
//! sessions.create(&id.key(), &record).await?; // written through: held here at once
//! assert!(sessions.load(&id.key()).await?.is_some()); // from memory
//! assert_eq!(sessions.local_cache_stats().map(|s| s.misses), Some(0));
//!
//! let token = TokenRef::new("https://issuer.example", "alice", now).jti(Some("t-1"));
//! assert!(!revocations.is_token_revoked(&token).await?); // one MGET, then held
//! assert!(!revocations.is_token_revoked(&token).await?); // from memory
//! sessions.delete(&id.key()).await?;
//! # Ok(())
//! # }
//! ```
//!
//! - **A warm request sends nothing to Redis**: a session load, or a revocation check whose
//!   keys (the token's `jti`, family and subject, revoked or not) are held, is answered
//!   from memory. A miss costs what the uncached store costs, one `GET` or one `MGET`.
//! - **Writes through this process update it at once**, and cost one command each: a
//!   `create`, `save` or `touch` updates the local entry without a read (so the
//!   once-a-minute touch of auth-session costs one command per session, not two), and a
//!   `delete`, `delete_subject` or revocation drops the local entries it concerns, also
//!   when the caller drops the call's future while the command may already have run.
//! - **A write anywhere else evicts the entry here within milliseconds**: Redis pushes the
//!   invalidation of every key this process has read, as the write happens. "Within
//!   milliseconds", not "before the writer's call returns": the push travels beside the
//!   writer's reply, so a check here made in the same millisecond may still see the old
//!   entry (the cluster harness measures the window, docs/benchmarks.md). The invalidation
//!   connections run on a thread of their own, so a runtime that is blocked or gone
//!   (a blocking handler on a single-threaded runtime) holds back no invalidation.
//! - **No stale answer**: entries carry the version they were read at, and a read that
//!   raced an invalidation (or a reconnection) is never kept, so a late answer cannot bring
//!   older data back.
//! - **Fail closed**: when the invalidation connection is lost, or its heartbeat (default
//!   every second, [`LocalCacheConfig::heartbeat`]) goes unanswered, every entry is dropped
//!   and the store answers [`StoreError::Unavailable`](auth_core::StoreError) (a 503) until
//!   the connection is back, within the connection's timeout; it never answers from an
//!   entry whose invalidation it may have missed. The reason is a typed
//!   [`CacheUnavailable`] in the error's source chain. A network partition that drops
//!   packets silently is noticed within `heartbeat + timeout`: that is the one window in
//!   which a change elsewhere can go unseen. That bound is in the monotonic clock, which
//!   stops while the host or VM is suspended: just after a resume, entries may be served
//!   before the invalidations queued meanwhile are read.
//! - **Bounded memory**: at most [`LocalCacheConfig::max_entries`] values per store; past
//!   it, cached copies are evicted (and read again when needed), never anything in Redis.
//!   The bound is a count: a session store's worst case is that many records of the
//!   session data limit each (100 000 × 64 KiB, about 6.5 GB, by default), so lower it
//!   where sessions carry large data.
//! - **Redis Cluster too**: each cached store tracks on its own connection to the master
//!   that serves its slot, and follows the slot when it moves. While that slot migrates
//!   (the source answers `ASK`), the cached store answers `Unavailable`, failing closed,
//!   until the move ends; the uncached stores follow `ASK`. A slot handed to another node
//!   without a migration (`CLUSTER SETSLOT ... NODE`, a forced reassignment) pushes
//!   nothing: the link notices at its next probe (`MOVED`), so such a topology change is
//!   inside the same `heartbeat + timeout` window as a silent partition; on a cluster
//!   whose slots move, prefer a short heartbeat.
//! - **Not with `SWAPDB`**: swapping databases changes every key without an invalidation
//!   (Redis pushes none for it), so a cached process would go on answering from the old
//!   database. `FLUSHDB`, `FLUSHALL` and a replica's full resynchronisation do push, and
//!   flush the cache.
//!
//! Each cached store opens one more connection per process (to its node) and carries all
//! of its commands on it; refresh-token and throttle stores are never cached. Counters are
//! in [`RedisSessionStore::local_cache_stats`] and
//! [`RedisRevocationStore::local_cache_stats`]. auth-core's `Cached<S>` remains the
//! backend-neutral alternative, with a staleness bounded by its TTL instead.
//!
//! # Example
//!
//! Needs a Redis server at `REDIS_URL` (default `redis://127.0.0.1:6379`).
//!
//! ```
//! use std::time::{Duration, SystemTime};
//! use auth_core::store::SessionRecord;
//! use auth_core::{SessionId, SessionStore};
//! use store_redis::{RedisConnection, RedisStoreBuilder};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
//! let connection = RedisConnection::connect(&url).await?;
//! let sessions = RedisStoreBuilder::new(connection).prefix("doc-example").sessions()?;
//!
//! let id = SessionId::generate()?;
//! let now = SystemTime::now();
//! let record = SessionRecord::new("alice", b"{}".to_vec(), now, now + Duration::from_secs(60));
//! sessions.create(&id.key(), &record).await?;
//! let loaded = sessions.load(&id.key()).await?;
//! assert_eq!(loaded.map(|r| r.subject), Some("alice".to_owned()));
//! assert_eq!(sessions.delete_subject("alice").await?, 1);
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod builder;
mod connection;
mod error;
mod eviction;
mod keys;
mod local_cache;
#[cfg(test)]
mod lua_check;
mod refresh;
mod refresh_record;
mod revocation;
mod session;
mod session_record;
mod throttle;
mod time;

pub use builder::{DEFAULT_TTL_SLACK, RedisStoreBuilder};
pub use connection::{ConnectOptions, DEFAULT_TIMEOUT, RedisConnection};
pub use error::ConfigError;
pub use keys::{DEFAULT_PREFIX, MAX_PREFIX_LEN};
pub use local_cache::{CacheUnavailable, LocalCacheConfig, LocalCacheStats};
pub use refresh::RedisRefreshTokenStore;
pub use revocation::RedisRevocationStore;
pub use session::RedisSessionStore;
pub use throttle::RedisThrottleStore;

/// Thin wrappers around the private value codecs, for the `cargo fuzz` targets in `fuzz/`
/// only: compiled solely under `--cfg fuzzing`, never part of the API.
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzzing {
    use std::time::SystemTime;

    use auth_core::StoreError;
    use auth_core::store::{RefreshRecord, SessionRecord};

    /// The stored form of a session record, at `version`.
    pub fn encode_session_record(record: &SessionRecord, version: u64) -> Vec<u8> {
        crate::session_record::encode(record, version)
    }

    /// Decodes a stored session value.
    pub fn decode_session_record(bytes: &[u8]) -> Result<SessionRecord, StoreError> {
        crate::session_record::decode(bytes)
    }

    /// Whether a stored session value is live at `now`, reading only its header.
    pub fn session_record_is_live(bytes: &[u8], now: SystemTime) -> Result<bool, StoreError> {
        crate::session_record::is_live(bytes, now)
    }

    /// The stored form of an unused refresh token's record.
    pub fn encode_refresh_record(record: &RefreshRecord) -> Vec<u8> {
        crate::refresh_record::encode(record)
    }

    /// Decodes a stored refresh token value.
    pub fn decode_refresh_record(bytes: &[u8]) -> Result<RefreshRecord, StoreError> {
        crate::refresh_record::decode(bytes)
    }
}

/// redis-rs, re-exported so that [`RedisConnection::from_manager`] and
/// `RedisConnection::from_cluster` can be called without a second, mismatched version.
pub use redis;
