//! One connection type for a single Redis server and for Redis Cluster, with a deadline on
//! every call, and the options it is opened with.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use auth_core::StoreError;
use redis::aio::ConnectionManager;
use redis::{Cmd, FromRedisValue, RedisResult, ScriptInvocation, Value};

use crate::error::{ConfigError, map_redis_error};
use crate::eviction;
use crate::keys::Keyspace;
use crate::local_cache::LocalCacheConfig;
use crate::local_cache::entries::Invalidate;
use crate::local_cache::link::{Link, LinkSettings, Target};

/// How long one store operation may wait for Redis before it fails with
/// [`StoreError::Unavailable`], unless configured otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1);

/// How [`RedisConnection::connect_with`] (and `RedisConnection::connect_cluster_with`)
/// open a connection.
///
/// ```no_run
/// use std::time::Duration;
/// use store_redis::{ConnectOptions, RedisConnection};
///
/// # async fn run() -> Result<(), store_redis::ConfigError> {
/// let options = ConnectOptions::new().timeout(Duration::from_millis(250));
/// let connection = RedisConnection::connect_with("redis://127.0.0.1:6379", options).await?;
/// # let _ = connection;
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub struct ConnectOptions {
    timeout: Duration,
    allow_eviction_policy: bool,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl ConnectOptions {
    /// [`DEFAULT_TIMEOUT`], and Redis refused unless its `maxmemory-policy` is
    /// `noeviction`.
    pub fn new() -> Self {
        Self {
            timeout: DEFAULT_TIMEOUT,
            allow_eviction_policy: false,
        }
    }

    /// How long one operation may wait for Redis (also the client's connect and response
    /// timeouts). Zero is refused at connect with [`ConfigError::ZeroTimeout`].
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Connects whatever Redis's `maxmemory-policy` is, without asking (so also where
    /// `CONFIG` is renamed or forbidden, as on many managed services).
    ///
    /// **The risk**: every key the stores write has a TTL, so under any policy but
    /// `noeviction` (`volatile-*` as well as `allkeys-*`) a Redis that reaches `maxmemory`
    /// deletes some of them early. An evicted revocation is a revocation undone: the token
    /// is accepted again. An evicted used refresh token lets its replay pass unnoticed,
    /// and evicted sessions log users out. Use this only where you know the server never
    /// evicts (it is `noeviction` but hides `CONFIG`, or `maxmemory` is off and stays
    /// off), or for data you can afford to lose.
    ///
    /// Without the check nothing is sent at connect: a single-server connection is then
    /// made on first use, and connecting does not fail while the server is down (the first
    /// calls are [`StoreError::Unavailable`] until it is back).
    pub fn allow_eviction_policy(mut self) -> Self {
        self.allow_eviction_policy = true;
        self
    }
}

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
    /// How to open further connections to the same deployment (the local cache's own),
    /// when this one was opened from a URL.
    origin: Option<Arc<redis::ConnectionInfo>>,
}

#[derive(Clone)]
enum Inner {
    Single(ConnectionManager),
    #[cfg(feature = "cluster")]
    Cluster(redis::cluster_async::ClusterConnection),
    /// A cached store's tracked connection (crate-internal: see `local_cache`).
    Tracked(Arc<Link>),
}

impl fmt::Debug for RedisConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.inner {
            Inner::Single(_) => "single",
            #[cfg(feature = "cluster")]
            Inner::Cluster(_) => "cluster",
            Inner::Tracked(_) => "tracked",
        };
        f.debug_struct("RedisConnection")
            .field("kind", &kind)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl RedisConnection {
    /// A connection to the single server at `url` (`redis://host:port/db`,
    /// `rediss://...` where redis-rs has TLS enabled), with the default
    /// [`ConnectOptions`].
    ///
    /// It asks the server for its `maxmemory-policy` and refuses any but `noeviction`
    /// ([`ConfigError::EvictionPolicy`], or [`ConfigError::EvictionPolicyUnknown`] if the
    /// server will not say): see [`ConnectOptions::allow_eviction_policy`] for why and for
    /// the override. A server that does not answer within the timeout is
    /// [`ConfigError::Unreachable`]. Once connected, the connection reconnects by itself
    /// after an outage. Must be called within a tokio runtime.
    pub async fn connect(url: &str) -> Result<Self, ConfigError> {
        Self::connect_with(url, ConnectOptions::new()).await
    }

    /// [`RedisConnection::connect`] with another timeout.
    pub async fn connect_with_timeout(url: &str, timeout: Duration) -> Result<Self, ConfigError> {
        Self::connect_with(url, ConnectOptions::new().timeout(timeout)).await
    }

    /// [`RedisConnection::connect`] with `options`.
    pub async fn connect_with(url: &str, options: ConnectOptions) -> Result<Self, ConfigError> {
        let timeout = options.timeout;
        check_timeout(timeout)?;
        let client = redis::Client::open(url).map_err(ConfigError::InvalidConnection)?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(10))
            .set_max_delay(timeout);
        let origin = Arc::new(client.get_connection_info().clone());
        let manager = ConnectionManager::new_lazy_with_config(client, config)
            .map_err(ConfigError::InvalidConnection)?;
        let mut connection = Self::from_manager(manager).with_timeout(timeout);
        connection.origin = Some(origin);
        connection.check_unless_allowed(options).await?;
        Ok(connection)
    }

    /// Wraps a connection manager you built yourself (its own timeouts still apply
    /// inside ours). Nothing is checked: call
    /// [`check_eviction_policy`](Self::check_eviction_policy) before use unless you know
    /// the server never evicts.
    pub fn from_manager(manager: ConnectionManager) -> Self {
        Self {
            inner: Inner::Single(manager),
            timeout: DEFAULT_TIMEOUT,
            origin: None,
        }
    }

    /// A connection to the Redis Cluster reachable through any of `nodes` (URLs), with the
    /// default [`ConnectOptions`]. It connects at once, to learn the slot map, and fails
    /// with [`ConfigError::Unreachable`] if it cannot. It asks every master for its
    /// `maxmemory-policy` and refuses the cluster unless each is `noeviction`, as
    /// [`RedisConnection::connect`] does for one server.
    #[cfg(feature = "cluster")]
    pub async fn connect_cluster<I, S>(nodes: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        Self::connect_cluster_with(nodes, ConnectOptions::new()).await
    }

    /// [`RedisConnection::connect_cluster`] with another timeout.
    #[cfg(feature = "cluster")]
    pub async fn connect_cluster_with_timeout<I, S>(
        nodes: I,
        timeout: Duration,
    ) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        Self::connect_cluster_with(nodes, ConnectOptions::new().timeout(timeout)).await
    }

    /// [`RedisConnection::connect_cluster`] with `options`.
    #[cfg(feature = "cluster")]
    pub async fn connect_cluster_with<I, S>(
        nodes: I,
        options: ConnectOptions,
    ) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let timeout = options.timeout;
        check_timeout(timeout)?;
        let nodes: Vec<String> = nodes.into_iter().map(|n| n.as_ref().to_owned()).collect();
        // The settings every node shares (credentials, TLS), for the local cache's own
        // connections; the cluster client refuses an empty or invalid list below anyway.
        let origin = match nodes.first() {
            Some(seed) => Some(Arc::new(
                redis::IntoConnectionInfo::into_connection_info(seed.as_str())
                    .map_err(ConfigError::InvalidConnection)?,
            )),
            None => None,
        };
        let client = redis::cluster::ClusterClientBuilder::new(nodes)
            .connection_timeout(timeout)
            .response_timeout(timeout)
            // Nothing is sent twice by the client: see `invoke_on_cluster`.
            .retries(0)
            .build()
            .map_err(ConfigError::InvalidConnection)?;
        let connection = deadline(timeout, client.get_async_connection())
            .await
            .map_err(ConfigError::Unreachable)?;
        let mut connection = Self::from_cluster(connection).with_timeout(timeout);
        connection.origin = origin;
        connection.check_unless_allowed(options).await?;
        Ok(connection)
    }

    /// Wraps a cluster connection you built yourself. Nothing is checked: call
    /// [`check_eviction_policy`](Self::check_eviction_policy) before use unless you know
    /// the cluster never evicts.
    #[cfg(feature = "cluster")]
    pub fn from_cluster(connection: redis::cluster_async::ClusterConnection) -> Self {
        Self {
            inner: Inner::Cluster(connection),
            timeout: DEFAULT_TIMEOUT,
            origin: None,
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

    /// Refuses a server that may evict keys: `Ok` only if every server behind this
    /// connection (each master of a cluster) reports `maxmemory-policy` `noeviction`.
    /// [`RedisConnection::connect`] and `connect_cluster` call it unless told otherwise
    /// ([`ConnectOptions::allow_eviction_policy`]); call it yourself after
    /// [`from_manager`](Self::from_manager) or `from_cluster`.
    pub async fn check_eviction_policy(&self) -> Result<(), ConfigError> {
        eviction::check(self).await
    }

    async fn check_unless_allowed(&self, options: ConnectOptions) -> Result<(), ConfigError> {
        if options.allow_eviction_policy {
            Ok(())
        } else {
            self.check_eviction_policy().await
        }
    }

    /// A tracked connection for a cached store whose keys live in `keys`: its own RESP3
    /// connection to the node serving them, reporting invalidations to `sink`.
    pub(crate) fn tracked(
        &self,
        keys: &Keyspace,
        sink: Arc<dyn Invalidate>,
        config: &LocalCacheConfig,
    ) -> Result<Self, ConfigError> {
        let config = config.checked()?;
        let unsupported = || {
            ConfigError::LocalCache(
                "the connection was wrapped with from_manager or from_cluster; open it with \
                 connect or connect_cluster",
            )
        };
        let origin = self.origin.as_deref().ok_or_else(unsupported)?;
        let target = match &self.inner {
            Inner::Single(_) => Target::Node(origin.clone()),
            #[cfg(feature = "cluster")]
            Inner::Cluster(cluster) => Target::Cluster {
                cluster: cluster.clone(),
                template: origin.clone(),
                tag: keys.tag().to_owned(),
            },
            Inner::Tracked(_) => return Err(unsupported()),
        };
        let link = Link::new(LinkSettings {
            target,
            timeout: self.timeout,
            heartbeat: config.beat(),
            probe_key: keys.key("probe", "link"),
            name: format!("authkit-cache:{}", keys.tag()),
            sink,
        });
        Ok(Self {
            inner: Inner::Tracked(Arc::new(link)),
            timeout: self.timeout,
            origin: None,
        })
    }

    /// For a tracked connection: waits (within the timeout) until its invalidations can be
    /// trusted, or fails closed. Other connections are always ready.
    pub(crate) async fn ready(&self) -> Result<(), StoreError> {
        match &self.inner {
            Inner::Tracked(link) => link.ready().await,
            _ => Ok(()),
        }
    }

    /// Sends `cmd` to the server, or to every master of a cluster, and returns each
    /// server's answer by node address (none for a single server). `Err` only when the
    /// question could not be put; a server's own error answer is in its entry.
    pub(crate) async fn ask_every_master(
        &self,
        cmd: &Cmd,
    ) -> Result<Vec<(Option<String>, Result<Value, StoreError>)>, StoreError> {
        match self.inner.clone() {
            Inner::Single(mut c) => {
                match deadline(self.timeout, cmd.query_async::<Value>(&mut c)).await {
                    Err(error @ StoreError::Unavailable(_)) => Err(error),
                    answer => Ok(vec![(None, answer)]),
                }
            }
            Inner::Tracked(link) => match link.query::<Value>(cmd).await {
                Err(error @ StoreError::Unavailable(_)) => Err(error),
                answer => Ok(vec![(None, answer)]),
            },
            #[cfg(feature = "cluster")]
            Inner::Cluster(mut c) => {
                use redis::cluster_routing::{MultipleNodeRoutingInfo, RoutingInfo};
                // No response policy: redis-rs answers with a map of node address to that
                // node's reply (or its error).
                let routing = RoutingInfo::MultiNode((MultipleNodeRoutingInfo::AllMasters, None));
                let answers = deadline(self.timeout, c.route_command(cmd.clone(), routing)).await?;
                let Value::Map(answers) = answers else {
                    return Err(crate::error::malformed("per-node answers"));
                };
                answers
                    .into_iter()
                    .map(|(node, answer)| {
                        let node = String::from_redis_value(node)
                            .map_err(|e| StoreError::corrupt(redis::RedisError::from(e)))?;
                        let answer = match answer {
                            Value::ServerError(error) => {
                                Err(map_redis_error(redis::RedisError::from(error)))
                            }
                            value => Ok(value),
                        };
                        Ok((Some(node), answer))
                    })
                    .collect()
            }
        }
    }

    /// How many masters serve slots, as the cluster itself reports (`CLUSTER SLOTS`), so
    /// that a fan-out to every master can tell that none was left out; `None` for a
    /// single server.
    pub(crate) async fn master_count(&self) -> Result<Option<usize>, StoreError> {
        match self.inner {
            Inner::Single(_) | Inner::Tracked(_) => Ok(None),
            #[cfg(feature = "cluster")]
            Inner::Cluster(_) => {
                let slots: Value = self.query(redis::cmd("CLUSTER").arg("SLOTS")).await?;
                distinct_masters(slots).map(Some)
            }
        }
    }

    /// Runs one command.
    pub(crate) async fn query<T: FromRedisValue>(&self, cmd: &Cmd) -> Result<T, StoreError> {
        match self.inner.clone() {
            Inner::Single(mut c) => deadline(self.timeout, cmd.query_async(&mut c)).await,
            #[cfg(feature = "cluster")]
            Inner::Cluster(mut c) => deadline(self.timeout, cmd.query_async(&mut c)).await,
            Inner::Tracked(link) => link.query(cmd).await,
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
            Inner::Cluster(mut c) => {
                deadline(self.timeout, invoke_on_cluster(&mut c, script)).await
            }
            Inner::Tracked(link) => link.invoke(script).await,
        }
    }
}

/// Runs `script` on a cluster, sending it again only when the cluster refused it before
/// running it (the slot moved, a failover or a reconfiguration in progress). The cluster
/// client itself re-sends nothing (`retries(0)`): after a lost connection or a late
/// reply it cannot know whether the script ran, and a script run twice gives a wrong
/// answer (a refresh token presented once found used, its family revoked as stolen).
/// Waits between attempts; the caller's deadline bounds them.
#[cfg(feature = "cluster")]
async fn invoke_on_cluster<T: FromRedisValue>(
    connection: &mut redis::cluster_async::ClusterConnection,
    script: &ScriptInvocation<'_>,
) -> RedisResult<T> {
    let mut pause = Duration::from_millis(5);
    loop {
        match script.invoke_async(connection).await {
            Err(error) if refused_before_running(&error) => {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_millis(100));
            }
            answer => return answer,
        }
    }
}

/// Whether Redis refused a call before running any of it, so sending it again cannot
/// run it twice: the errors a cluster gives while its slots move or its masters change.
#[cfg(feature = "cluster")]
fn refused_before_running(error: &redis::RedisError) -> bool {
    use redis::{ErrorKind, ServerErrorKind};
    matches!(
        error.kind(),
        ErrorKind::Server(
            ServerErrorKind::Moved
                | ServerErrorKind::TryAgain
                | ServerErrorKind::ClusterDown
                | ServerErrorKind::MasterDown
                | ServerErrorKind::BusyLoading
                | ServerErrorKind::ReadOnly
        )
    )
}

/// The number of distinct masters in a `CLUSTER SLOTS` answer: an array of slot ranges,
/// each `[first slot, last slot, [master host, master port, ...], replicas...]`.
#[cfg(feature = "cluster")]
fn distinct_masters(slots: Value) -> Result<usize, StoreError> {
    let malformed = || crate::error::malformed("CLUSTER SLOTS answer");
    let Value::Array(ranges) = slots else {
        return Err(malformed());
    };
    let mut masters = std::collections::HashSet::new();
    for range in ranges {
        let Value::Array(range) = range else {
            return Err(malformed());
        };
        let Some(Value::Array(master)) = range.get(2) else {
            return Err(malformed());
        };
        let (Some(host), Some(port)) = (master.first(), master.get(1)) else {
            return Err(malformed());
        };
        masters.insert((format!("{host:?}"), format!("{port:?}")));
    }
    Ok(masters.len())
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
    auth_core::store::within(timeout, async { call.await.map_err(map_redis_error) }).await
}
