//! [`SqlStores`]: one pool, one table prefix, one clock, and the three stores on them.

use std::fmt;
use std::sync::Arc;

use auth_core::{SharedClock, StoreError, SystemClock, unix_millis};
use sqlx::Pool;
use sqlx::pool::PoolConnection;

use crate::backend::Backend;
use crate::error::store_error;
use crate::sql::{RefreshSql, RevocationSql, SchemaSql, SessionSql};
use crate::{SqlRefreshTokenStore, SqlRevocationStore, SqlSessionStore, TablePrefix};

/// The default number of rows one purge statement deletes.
pub const DEFAULT_PURGE_BATCH: u32 = 1000;

/// The auth tables of one prefix in one database: build it once, run
/// [`migrate`](SqlStores::migrate), then take the stores you need from it.
///
/// Cloning is cheap (the pool and the prepared SQL text are shared).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use store_sql::{SqlStores, TablePrefix};
///
/// let pool = store_sql::connect::<sqlx::Sqlite>("sqlite::memory:").await?;
/// let stores = SqlStores::builder(pool)
///     .prefix(TablePrefix::new("myapp_")?)
///     .purge_batch_size(500)
///     .build();
/// stores.migrate().await?;
/// let sessions = stores.sessions();
/// # let _ = sessions;
/// # Ok(())
/// # }
/// ```
pub struct SqlStores<DB: Backend> {
    pub(crate) shared: Arc<Shared<DB>>,
}

impl<DB: Backend> Clone for SqlStores<DB> {
    fn clone(&self) -> Self {
        Self {
            shared: self.shared.clone(),
        }
    }
}

impl<DB: Backend> fmt::Debug for SqlStores<DB> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqlStores")
            .field("flavor", &DB::FLAVOR)
            .field("prefix", &self.shared.prefix)
            .field("purge_batch", &self.shared.purge_batch)
            .finish_non_exhaustive()
    }
}

/// What every store of one [`SqlStores`] shares.
pub(crate) struct Shared<DB: Backend> {
    pub(crate) pool: Pool<DB>,
    pub(crate) clock: SharedClock,
    pub(crate) prefix: TablePrefix,
    pub(crate) purge_batch: u32,
    pub(crate) sessions: SessionSql,
    pub(crate) revocations: RevocationSql,
    pub(crate) refresh: RefreshSql,
    pub(crate) schema: SchemaSql,
}

impl<DB: Backend> Shared<DB> {
    /// The clock's now, as stored.
    pub(crate) fn now(&self) -> i64 {
        unix_millis(self.clock.now())
    }

    /// A connection from the pool.
    pub(crate) async fn conn(&self) -> Result<PoolConnection<DB>, sqlx::Error> {
        self.pool.acquire().await
    }

    /// Runs `sql` (which takes `$1` now, `$2` batch size) until a batch comes back short.
    pub(crate) async fn purge_all(&self, sql: &crate::sql::Sql) -> Result<u64, StoreError> {
        let mut total = 0;
        loop {
            let deleted = self.purge_once(sql).await?;
            total += deleted;
            if deleted < u64::from(self.purge_batch) {
                return Ok(total);
            }
        }
    }

    /// One batch of `sql`.
    pub(crate) async fn purge_once(&self, sql: &crate::sql::Sql) -> Result<u64, StoreError> {
        use crate::sql::Arg;
        let args = [Arg::Int(self.now()), Arg::Int(i64::from(self.purge_batch))];
        crate::error::retrying::<DB, _, _, _>(|| async {
            let mut conn = self.conn().await?;
            DB::execute(&mut conn, sql, &args).await
        })
        .await
    }
}

/// Builds [`SqlStores`].
pub struct SqlStoresBuilder<DB: Backend> {
    pool: Pool<DB>,
    clock: SharedClock,
    prefix: TablePrefix,
    purge_batch: u32,
}

impl<DB: Backend> fmt::Debug for SqlStoresBuilder<DB> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqlStoresBuilder")
            .field("prefix", &self.prefix)
            .field("purge_batch", &self.purge_batch)
            .finish_non_exhaustive()
    }
}

impl<DB: Backend> SqlStoresBuilder<DB> {
    /// The clock that decides expiry (default: [`SystemClock`]). Every comparison with
    /// "now" is made with this clock's time, passed to the database as a value: never the
    /// database server's own clock.
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// The prefix of every table and index name (default `authkit_`).
    pub fn prefix(mut self, prefix: TablePrefix) -> Self {
        self.prefix = prefix;
        self
    }

    /// How many rows one purge statement deletes at most (default
    /// [`DEFAULT_PURGE_BATCH`]; at least 1). Smaller batches hold locks for less time.
    pub fn purge_batch_size(mut self, rows: u32) -> Self {
        self.purge_batch = rows.max(1);
        self
    }

    /// The stores.
    pub fn build(self) -> SqlStores<DB> {
        let flavor = DB::FLAVOR;
        let prefix = self.prefix;
        SqlStores {
            shared: Arc::new(Shared {
                pool: self.pool,
                clock: self.clock,
                purge_batch: self.purge_batch,
                sessions: SessionSql::new(flavor, &prefix),
                revocations: RevocationSql::new(flavor, &prefix),
                refresh: RefreshSql::new(flavor, &prefix),
                schema: SchemaSql::new(flavor, &prefix),
                prefix,
            }),
        }
    }
}

impl<DB: Backend> SqlStores<DB> {
    /// A builder over a pool you already have, with the default prefix, clock and batch.
    pub fn builder(pool: Pool<DB>) -> SqlStoresBuilder<DB> {
        SqlStoresBuilder {
            pool,
            clock: SystemClock::shared(),
            prefix: TablePrefix::default(),
            purge_batch: DEFAULT_PURGE_BATCH,
        }
    }

    /// Stores with every default over a new pool connected to `url` (see [`connect`]).
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Ok(Self::builder(connect::<DB>(url).await?).build())
    }

    /// Creates the tables and indexes, or brings them up to date. Idempotent, and safe to
    /// run from several processes at once: runs take turns on a lock (PostgreSQL: an
    /// advisory transaction lock; MySQL: `GET_LOCK`; SQLite: the write lock of
    /// `BEGIN IMMEDIATE`), and each records the schema versions it applied.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        crate::migrate::run(&self.shared).await
    }

    /// The session store.
    pub fn sessions(&self) -> SqlSessionStore<DB> {
        SqlSessionStore::from_shared(self.shared.clone())
    }

    /// The revocation store.
    pub fn revocations(&self) -> SqlRevocationStore<DB> {
        SqlRevocationStore::from_shared(self.shared.clone())
    }

    /// The refresh-token store.
    pub fn refresh_tokens(&self) -> SqlRefreshTokenStore<DB> {
        SqlRefreshTokenStore::from_shared(self.shared.clone())
    }

    /// The pool.
    pub fn pool(&self) -> &Pool<DB> {
        &self.shared.pool
    }

    /// The table prefix.
    pub fn table_prefix(&self) -> &TablePrefix {
        &self.shared.prefix
    }
}

/// A pool connected to `url`, with settings that suit the backend: a 5 s acquire timeout
/// (past it, operations fail with [`StoreError::Unavailable`]), and for an in-memory
/// SQLite database (`sqlite::memory:`) exactly one connection that is never closed, since
/// each connection would otherwise see a different, short-lived database.
///
/// Fails with [`StoreError::Unavailable`] if the database cannot be reached.
pub async fn connect<DB: Backend>(url: &str) -> Result<Pool<DB>, StoreError> {
    DB::pool_options(url)
        .connect(url)
        .await
        .map_err(store_error::<DB>)
}
