//! Which stores back the demo: `--store memory` (default) or a server URL.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use auth_core::memory::{
    MemoryRefreshTokenStore, MemoryRevocationStore, MemorySessionStore, MemoryThrottleStore,
};
use auth_core::{RefreshTokenStore, RevocationStore, SessionStore, SharedClock, ThrottleStore};
use store_redis::{LocalCacheConfig, RedisConnection, RedisStoreBuilder};
use store_sql::sqlx::{MySql, Postgres, Sqlite};
use store_sql::{Backend, PurgeHandle, SqlStores, TablePrefix};

/// The key prefix (Redis) or table prefix (SQL) the demo uses unless told otherwise.
pub const DEFAULT_PREFIX: &str = "authkit_demo_";

/// Where the demo keeps its state. Its `Debug` hides any password in the URL.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreChoice {
    /// In process memory (moka): nothing to install, nothing survives a restart.
    Memory,
    /// A Redis server (`redis://...`), or a Redis Cluster (`redis+cluster://host:port,host:port`,
    /// any of its nodes), keys under `prefix`.
    Redis {
        /// The server's URL.
        url: String,
        /// The key prefix.
        prefix: String,
    },
    /// A SQL database (`postgres://`, `mysql://`, `sqlite://` or `sqlite::memory:`),
    /// tables named with `prefix` and created on start.
    Sql {
        /// The database's URL.
        url: String,
        /// The table prefix.
        prefix: String,
    },
}

impl std::fmt::Debug for StoreChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Memory => f.write_str("Memory"),
            Self::Redis { url, prefix } => f
                .debug_struct("Redis")
                .field("url", &redacted(url))
                .field("prefix", prefix)
                .finish(),
            Self::Sql { url, prefix } => f
                .debug_struct("Sql")
                .field("url", &redacted(url))
                .field("prefix", prefix)
                .finish(),
        }
    }
}

/// What the demo prints of a store URL: nothing up to its last `@` (the userinfo of every
/// host a cluster URL lists, so that an unencoded `@`, `:` or `,` in a password cannot leave
/// a piece of it) and no query or fragment (sqlx reads a `?password=`).
fn redacted(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (format!("{scheme}://"), rest),
        None => (String::new(), url),
    };
    let (userinfo, rest) = match rest.rsplit_once('@') {
        Some((_, rest)) => ("<redacted>@", rest),
        None => ("", rest),
    };
    let rest = rest.split(['?', '#']).next().unwrap_or_default();
    format!("{scheme}{userinfo}{rest}")
}

/// The scheme a mistyped store names, and nothing after it: the rest may be a password.
fn scheme_of(text: &str) -> String {
    text.chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        .take(32)
        .collect()
}

impl StoreChoice {
    /// Uses `prefix` for keys or tables instead of [`DEFAULT_PREFIX`] (several demos can
    /// share one server).
    pub fn with_prefix(self, new: &str) -> Self {
        match self {
            Self::Memory => Self::Memory,
            Self::Redis { url, .. } => Self::Redis {
                url,
                prefix: new.to_owned(),
            },
            Self::Sql { url, .. } => Self::Sql {
                url,
                prefix: new.to_owned(),
            },
        }
    }
}

impl FromStr for StoreChoice {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let prefix = DEFAULT_PREFIX.to_owned();
        match s {
            "memory" => Ok(Self::Memory),
            url if url.starts_with("redis://")
                || url.starts_with("rediss://")
                || url.starts_with("redis+cluster://") =>
            {
                Ok(Self::Redis {
                    url: url.to_owned(),
                    prefix,
                })
            }
            url if [
                "postgres://",
                "postgresql://",
                "mysql://",
                "mariadb://",
                "sqlite:",
            ]
            .iter()
            .any(|scheme| url.starts_with(scheme)) =>
            {
                Ok(Self::Sql {
                    url: url.replacen("mariadb://", "mysql://", 1),
                    prefix,
                })
            }
            other => anyhow::bail!(
                "unknown store (scheme {:?}): expected `memory`, redis://, postgres://, \
                 mysql:// or sqlite://",
                scheme_of(other)
            ),
        }
    }
}

/// The four stores, type-erased so the handlers do not care which backend is behind.
pub(crate) struct Stores {
    pub(crate) sessions: Arc<dyn SessionStore>,
    pub(crate) refresh: Arc<dyn RefreshTokenStore>,
    pub(crate) revocations: Arc<dyn RevocationStore>,
    pub(crate) throttle: Arc<dyn ThrottleStore>,
    /// Background purges of expired rows (SQL): they stop when dropped.
    pub(crate) background: Vec<PurgeHandle>,
}

/// How often the SQL stores delete expired rows.
const PURGE_INTERVAL: Duration = Duration::from_secs(60);

/// Connects, migrates, and starts the purges.
async fn sql<DB: Backend>(url: &str, prefix: &str, clock: SharedClock) -> anyhow::Result<Stores> {
    let pool = store_sql::connect::<DB>(url)
        .await
        .with_context(|| format!("connecting to {}", redacted(url)))?;
    let stores = SqlStores::builder(pool)
        .prefix(TablePrefix::new(prefix)?)
        .clock(clock)
        .build();
    stores.migrate().await.context("creating the tables")?;
    let (sessions, refresh, revocations, throttle) = (
        stores.sessions(),
        stores.refresh_tokens(),
        stores.revocations(),
        stores.throttle(),
    );
    let background = vec![
        sessions.spawn_purge(PURGE_INTERVAL),
        refresh.spawn_purge(PURGE_INTERVAL),
        revocations.spawn_purge(PURGE_INTERVAL),
        throttle.spawn_purge(PURGE_INTERVAL),
    ];
    Ok(Stores {
        sessions: Arc::new(sessions),
        refresh: Arc::new(refresh),
        revocations: Arc::new(revocations),
        throttle: Arc::new(throttle),
        background,
    })
}

impl StoreChoice {
    /// Connects the stores; with `local_cache` (Redis only), session loads and revocation
    /// checks are served from memory that Redis keeps exact.
    pub(crate) async fn connect(
        &self,
        clock: SharedClock,
        local_cache: bool,
    ) -> anyhow::Result<Stores> {
        match self {
            Self::Memory => Ok(Stores {
                sessions: Arc::new(MemorySessionStore::builder().clock(clock.clone()).build()),
                refresh: Arc::new(MemoryRefreshTokenStore::new(clock.clone())),
                revocations: Arc::new(MemoryRevocationStore::new(clock.clone())),
                throttle: Arc::new(MemoryThrottleStore::new(clock)),
                background: Vec::new(),
            }),
            Self::Sql { url, prefix } if url.starts_with("postgres") => {
                sql::<Postgres>(url, prefix, clock).await
            }
            Self::Sql { url, prefix } if url.starts_with("mysql") => {
                sql::<MySql>(url, prefix, clock).await
            }
            Self::Sql { url, prefix } => sql::<Sqlite>(url, prefix, clock).await,
            Self::Redis { url, prefix } => {
                let connection = match url.strip_prefix("redis+cluster://") {
                    Some(nodes) => {
                        let nodes: Vec<String> = nodes
                            .split(',')
                            .map(|node| format!("redis://{node}"))
                            .collect();
                        RedisConnection::connect_cluster(nodes).await
                    }
                    None => RedisConnection::connect(url).await,
                }
                .with_context(|| format!("connecting to Redis at {}", redacted(url)))?;
                let mut builder = RedisStoreBuilder::new(connection)
                    .prefix(prefix.as_str())
                    .clock(clock);
                if local_cache {
                    builder = builder.local_cache(LocalCacheConfig::new());
                }
                Ok(Stores {
                    sessions: Arc::new(builder.sessions()?),
                    refresh: Arc::new(builder.refresh_tokens()?),
                    revocations: Arc::new(builder.revocations()?),
                    throttle: Arc::new(builder.throttle()?),
                    background: Vec::new(),
                })
            }
        }
    }
}
