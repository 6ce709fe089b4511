//! One builder for the four stores, sharing a connection, a prefix and a clock.

use std::time::Duration;

use auth_core::{SharedClock, SystemClock};

use crate::connection::RedisConnection;
use crate::error::ConfigError;
use crate::keys::{DEFAULT_PREFIX, Keyspace, check_prefix};
use crate::local_cache::LocalCacheConfig;
use crate::{RedisRefreshTokenStore, RedisRevocationStore, RedisSessionStore, RedisThrottleStore};

/// How much longer than its deadline a value stays in Redis, unless configured otherwise.
pub const DEFAULT_TTL_SLACK: Duration = Duration::from_secs(5);

/// Builds the Redis stores.
///
/// ```no_run
/// use store_redis::{RedisConnection, RedisStoreBuilder};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let connection = RedisConnection::connect("redis://127.0.0.1:6379").await?;
/// let builder = RedisStoreBuilder::new(connection).prefix("myapp");
/// let sessions = builder.sessions()?;
/// let revocations = builder.revocations()?;
/// let refresh_tokens = builder.refresh_tokens()?;
/// let throttle = builder.throttle()?;
/// # let _ = (sessions, revocations, refresh_tokens, throttle);
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct RedisStoreBuilder {
    connection: RedisConnection,
    prefix: String,
    clock: SharedClock,
    ttl_slack: Duration,
    local_cache: Option<LocalCacheConfig>,
}

impl RedisStoreBuilder {
    /// Stores on `connection`, with prefix [`DEFAULT_PREFIX`](crate::DEFAULT_PREFIX), the
    /// system clock and [`DEFAULT_TTL_SLACK`].
    pub fn new(connection: RedisConnection) -> Self {
        Self {
            connection,
            prefix: DEFAULT_PREFIX.to_owned(),
            clock: SystemClock::shared(),
            ttl_slack: DEFAULT_TTL_SLACK,
            local_cache: None,
        }
    }

    /// The key prefix: 1 to 64 bytes of `[A-Za-z0-9_.:-]` (checked when a store is built).
    /// Stores with different prefixes never see each other's keys.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The clock that decides every expiry (default: [`SystemClock`]).
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// How much longer than its deadline (by the store's clock) a value is kept by Redis's
    /// own expiry. Native TTLs are only garbage collection, so the slack protects against
    /// an application clock that runs behind Redis's, at the cost of memory.
    pub fn ttl_slack(mut self, slack: Duration) -> Self {
        self.ttl_slack = slack;
        self
    }

    /// Serves session loads and revocation checks from process memory, kept fresh by Redis
    /// (see the crate docs, "Local cache kept fresh by Redis"): the session and revocation
    /// stores built from here on each open their own invalidation connection, and fail
    /// closed while it is down. Refresh-token and throttle stores are never cached. The
    /// connection must have been opened with [`RedisConnection::connect`] (or
    /// `connect_cluster`), which says how to open more; building a cached store on a
    /// wrapped one is [`ConfigError::LocalCache`].
    pub fn local_cache(mut self, config: LocalCacheConfig) -> Self {
        self.local_cache = Some(config);
        self
    }

    /// A session store; each call builds a store of its own (with its own local cache and
    /// invalidation connection when [`local_cache`](Self::local_cache) is on).
    pub fn sessions(&self) -> Result<RedisSessionStore, ConfigError> {
        let shared = self.shared("s")?;
        match &self.local_cache {
            None => Ok(RedisSessionStore::from_shared(shared)),
            Some(config) => RedisSessionStore::cached(shared, config),
        }
    }

    /// A revocation store; each call builds a store of its own (with its own local cache and
    /// invalidation connection when [`local_cache`](Self::local_cache) is on).
    pub fn revocations(&self) -> Result<RedisRevocationStore, ConfigError> {
        let shared = self.shared("rv")?;
        match &self.local_cache {
            None => Ok(RedisRevocationStore::from_shared(shared)),
            Some(config) => RedisRevocationStore::cached(shared, config),
        }
    }

    /// A refresh-token store.
    pub fn refresh_tokens(&self) -> Result<RedisRefreshTokenStore, ConfigError> {
        Ok(RedisRefreshTokenStore::from_shared(self.shared("rt")?))
    }

    /// A login-throttle store.
    pub fn throttle(&self) -> Result<RedisThrottleStore, ConfigError> {
        Ok(RedisThrottleStore::from_shared(self.shared("th")?))
    }

    fn shared(&self, kind: &str) -> Result<Shared, ConfigError> {
        check_prefix(&self.prefix)?;
        Ok(Shared {
            connection: self.connection.clone(),
            keys: Keyspace::new(&self.prefix, kind),
            clock: self.clock.clone(),
            ttl_slack: self.ttl_slack,
        })
    }
}

/// What every store holds.
#[derive(Clone, Debug)]
pub(crate) struct Shared {
    pub(crate) connection: RedisConnection,
    pub(crate) keys: Keyspace,
    pub(crate) clock: SharedClock,
    pub(crate) ttl_slack: Duration,
}
