//! Errors of building a store, and how Redis failures map onto [`StoreError`].

use auth_core::StoreError;
use redis::{ErrorKind, RedisError, ServerErrorKind};

/// Why a connection or a store could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The URL or the client settings were refused by redis-rs.
    #[error("invalid Redis connection settings")]
    InvalidConnection(#[source] RedisError),
    /// The key prefix is empty, too long, or holds a character outside `[A-Za-z0-9_.:-]`.
    #[error("invalid key prefix: {0}")]
    InvalidPrefix(&'static str),
    /// The operation timeout is zero.
    #[error("the operation timeout must be positive")]
    ZeroTimeout,
    /// The local cache cannot be set up as asked: a zero heartbeat, or a connection that
    /// was wrapped with `from_manager` / `from_cluster`, which does not say how to open
    /// the cache's own invalidation connection (open it with `connect` or
    /// `connect_cluster` instead).
    #[error("the local cache cannot be set up: {0}")]
    LocalCache(&'static str),
    /// Redis did not answer while connecting (to learn a cluster's slot map, or to read
    /// the eviction policy).
    #[error("Redis is unreachable")]
    Unreachable(#[source] StoreError),
    /// Redis may evict keys: its `maxmemory-policy` is `policy`, not `noeviction`. Every
    /// key of the stores has a TTL, so `volatile-*` policies evict them as surely as
    /// `allkeys-*` ones, and an evicted revocation is a revocation undone. Set
    /// `maxmemory-policy noeviction`, or accept the risk with
    /// [`ConnectOptions::allow_eviction_policy`](crate::ConnectOptions::allow_eviction_policy).
    #[error(
        "Redis{} has maxmemory-policy `{policy}`, which can evict revocations and used \
         refresh tokens; set it to `noeviction`, or accept the risk with \
         ConnectOptions::allow_eviction_policy",
        at(node)
    )]
    EvictionPolicy {
        /// The master that reported it (`host:port`), on a cluster.
        node: Option<String>,
        /// The policy Redis reported.
        policy: String,
    },
    /// Redis would not say what its `maxmemory-policy` is (`CONFIG` renamed or forbidden,
    /// as on many managed services, or an unexpected answer), so it may evict. Make sure
    /// it is `noeviction`, then connect with
    /// [`ConnectOptions::allow_eviction_policy`](crate::ConnectOptions::allow_eviction_policy).
    #[error(
        "could not read the maxmemory-policy of Redis{} (CONFIG GET refused?); make sure it \
         is `noeviction`, then connect with ConnectOptions::allow_eviction_policy",
        at(node)
    )]
    EvictionPolicyUnknown {
        /// The master that would not say (`host:port`), on a cluster.
        node: Option<String>,
        /// Redis's answer.
        #[source]
        source: StoreError,
    },
}

/// " at <node>" when there is one, for messages.
fn at(node: &Option<String>) -> String {
    node.as_deref()
        .map(|n| format!(" at {n}"))
        .unwrap_or_default()
}

/// A value read back from Redis is not one this crate wrote.
#[derive(Debug, Clone, thiserror::Error)]
#[error("malformed stored value: {0}")]
pub(crate) struct Malformed(pub(crate) &'static str);

/// Maps a redis-rs error: anything that means "Redis cannot answer now" (I/O, timeouts,
/// dropped or refused connections, cluster down, loading, busy script, read-only replica,
/// out of memory under `noeviction`) is [`StoreError::Unavailable`]; a key of the wrong type is [`StoreError::Corrupt`];
/// anything else is [`StoreError::Backend`].
pub(crate) fn map_redis_error(error: RedisError) -> StoreError {
    let unavailable = error.is_io_error()
        || error.is_timeout()
        || error.is_connection_dropped()
        || error.is_connection_refusal()
        || error.is_cluster_error()
        || error.is_unrecoverable_error()
        || matches!(
            error.kind(),
            ErrorKind::ClusterConnectionNotFound
                | ErrorKind::Server(
                    ServerErrorKind::BusyLoading
                        | ServerErrorKind::MasterDown
                        | ServerErrorKind::ReadOnly
                        | ServerErrorKind::TryAgain
                        | ServerErrorKind::ClusterDown
                )
        )
        || error.code() == Some("BUSY")
        // A full server under `noeviction` refuses writes: the store cannot take this one
        // now, which is a 503 (fail closed), not a server fault.
        || error.code() == Some("OOM");
    if unavailable {
        StoreError::unavailable(error)
    } else if error.code() == Some("WRONGTYPE")
        || matches!(
            error.kind(),
            ErrorKind::UnexpectedReturnType | ErrorKind::Parse
        )
    {
        StoreError::corrupt(error)
    } else {
        StoreError::backend(error)
    }
}

pub(crate) fn malformed(what: &'static str) -> StoreError {
    StoreError::corrupt(Malformed(what))
}
