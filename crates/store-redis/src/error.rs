//! Errors of building a store, and how Redis failures map onto [`StoreError`].

use std::time::Duration;

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
    /// The cluster could not be reached while connecting (the single-server connection
    /// connects lazily and never fails this way).
    #[error("the Redis cluster is unreachable")]
    Unreachable(#[source] StoreError),
}

/// A Redis call did not answer within the store's timeout.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("Redis did not answer within {0:?}")]
pub struct TimedOut(pub Duration);

/// A value read back from Redis is not one this crate wrote.
#[derive(Debug, Clone, thiserror::Error)]
#[error("malformed stored value: {0}")]
pub(crate) struct Malformed(pub(crate) &'static str);

/// Maps a redis-rs error: anything that means "Redis cannot answer now" (I/O, timeouts,
/// dropped or refused connections, cluster down, loading, busy script, read-only replica)
/// is [`StoreError::Unavailable`]; a key of the wrong type is [`StoreError::Corrupt`];
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
        || error.code() == Some("BUSY");
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
