//! One connection type for a single Redis server and for Redis Cluster, with a deadline on
//! every call.

use std::fmt;
use std::future::Future;
use std::time::Duration;

use auth_core::StoreError;
use redis::aio::ConnectionManager;
use redis::{Cmd, FromRedisValue, RedisResult, ScriptInvocation};

use crate::error::{ConfigError, TimedOut, map_redis_error};

/// How long one store operation may wait for Redis before it fails with
/// [`StoreError::Unavailable`], unless configured otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1);

/// A handle on Redis shared by the stores: a reconnecting [`ConnectionManager`] for a
/// single server, or (feature `cluster`) redis-rs' async cluster connection.
///
/// Cloning is cheap and shares the underlying connection. Every call made through it is
/// bounded by its timeout ([`DEFAULT_TIMEOUT`] unless set with
/// [`RedisConnection::with_timeout`]): past it, the store returns
/// [`StoreError::Unavailable`] instead of waiting. Neither kind needs rebuilding after an
/// outage: the connection manager and the cluster client reconnect by themselves on the
/// next call.
#[derive(Clone)]
pub struct RedisConnection {
    inner: Inner,
    timeout: Duration,
}

#[derive(Clone)]
enum Inner {
    Single(ConnectionManager),
    #[cfg(feature = "cluster")]
    Cluster(redis::cluster_async::ClusterConnection),
}

impl fmt::Debug for RedisConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.inner {
            Inner::Single(_) => "single",
            #[cfg(feature = "cluster")]
            Inner::Cluster(_) => "cluster",
        };
        f.debug_struct("RedisConnection")
            .field("kind", &kind)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl RedisConnection {
    /// A connection to the single server at `url` (`redis://host:port/db`,
    /// `rediss://...` where redis-rs has TLS enabled), with [`DEFAULT_TIMEOUT`].
    ///
    /// It connects lazily: this only fails on settings redis-rs refuses, never because
    /// Redis is down (the first call then fails with [`StoreError::Unavailable`], and a
    /// later one succeeds once Redis is back). Must be called within a tokio runtime.
    pub async fn connect(url: &str) -> Result<Self, ConfigError> {
        Self::connect_with_timeout(url, DEFAULT_TIMEOUT).await
    }

    /// [`RedisConnection::connect`] with another timeout, also used as the connection
    /// manager's connect and response timeouts.
    pub async fn connect_with_timeout(url: &str, timeout: Duration) -> Result<Self, ConfigError> {
        check_timeout(timeout)?;
        let client = redis::Client::open(url).map_err(ConfigError::InvalidConnection)?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(10))
            .set_max_delay(timeout);
        let manager = ConnectionManager::new_lazy_with_config(client, config)
            .map_err(ConfigError::InvalidConnection)?;
        Ok(Self::from_manager(manager).with_timeout(timeout))
    }

    /// Wraps a connection manager you built yourself (its own timeouts still apply
    /// inside ours).
    pub fn from_manager(manager: ConnectionManager) -> Self {
        Self {
            inner: Inner::Single(manager),
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// A connection to the Redis Cluster reachable through any of `nodes` (URLs), with
    /// [`DEFAULT_TIMEOUT`]. Unlike the single-server connection this one connects at once,
    /// to learn the slot map, and fails with [`ConfigError::Unreachable`] if it cannot.
    #[cfg(feature = "cluster")]
    pub async fn connect_cluster<I, S>(nodes: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        Self::connect_cluster_with_timeout(nodes, DEFAULT_TIMEOUT).await
    }

    /// [`RedisConnection::connect_cluster`] with another timeout, also used as the
    /// cluster client's connect and response timeouts.
    #[cfg(feature = "cluster")]
    pub async fn connect_cluster_with_timeout<I, S>(
        nodes: I,
        timeout: Duration,
    ) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        check_timeout(timeout)?;
        let nodes: Vec<String> = nodes.into_iter().map(|n| n.as_ref().to_owned()).collect();
        let client = redis::cluster::ClusterClientBuilder::new(nodes)
            .connection_timeout(timeout)
            .response_timeout(timeout)
            .retries(2)
            .min_retry_wait(10)
            .max_retry_wait(u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX))
            .build()
            .map_err(ConfigError::InvalidConnection)?;
        let connection = deadline(timeout, client.get_async_connection())
            .await
            .map_err(ConfigError::Unreachable)?;
        Ok(Self::from_cluster(connection).with_timeout(timeout))
    }

    /// Wraps a cluster connection you built yourself.
    #[cfg(feature = "cluster")]
    pub fn from_cluster(connection: redis::cluster_async::ClusterConnection) -> Self {
        Self {
            inner: Inner::Cluster(connection),
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// The same connection with another per-call timeout. A zero timeout is raised to
    /// 1 ms (it would fail every call).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// The per-call timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Runs one command.
    pub(crate) async fn query<T: FromRedisValue>(&self, cmd: &Cmd) -> Result<T, StoreError> {
        match self.inner.clone() {
            Inner::Single(mut c) => deadline(self.timeout, cmd.query_async(&mut c)).await,
            #[cfg(feature = "cluster")]
            Inner::Cluster(mut c) => deadline(self.timeout, cmd.query_async(&mut c)).await,
        }
    }

    /// Runs a Lua script (`EVALSHA`, loading it on `NOSCRIPT`).
    pub(crate) async fn invoke<T: FromRedisValue>(
        &self,
        script: &ScriptInvocation<'_>,
    ) -> Result<T, StoreError> {
        match self.inner.clone() {
            Inner::Single(mut c) => deadline(self.timeout, script.invoke_async(&mut c)).await,
            #[cfg(feature = "cluster")]
            Inner::Cluster(mut c) => deadline(self.timeout, script.invoke_async(&mut c)).await,
        }
    }
}

fn check_timeout(timeout: Duration) -> Result<(), ConfigError> {
    if timeout.is_zero() {
        Err(ConfigError::ZeroTimeout)
    } else {
        Ok(())
    }
}

/// Awaits `call` for at most `timeout`; a late answer is [`StoreError::Unavailable`].
async fn deadline<T>(
    timeout: Duration,
    call: impl Future<Output = RedisResult<T>>,
) -> Result<T, StoreError> {
    match tokio::time::timeout(timeout, call).await {
        Ok(result) => result.map_err(map_redis_error),
        Err(_) => Err(StoreError::unavailable(TimedOut(timeout))),
    }
}
