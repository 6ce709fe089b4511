//! [`SqlStores`]: one pool, one table prefix, one clock, one timeout, and the stores on
//! them.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use auth_core::{SharedClock, StoreError, SystemClock, unix_millis};
use sqlx::Pool;

use crate::backend::Backend;
use crate::error::{ConfigError, connect_error};
use crate::sql::{Arg, RefreshSql, RevocationSql, SchemaSql, SessionSql, Sql, ThrottleSql};
use crate::{
    SqlRefreshTokenStore, SqlRevocationStore, SqlSessionStore, SqlThrottleStore, TablePrefix,
};

/// The default number of rows one purge statement deletes.
pub const DEFAULT_PURGE_BATCH: u32 = 1000;

/// How far apart the clocks of the processes sharing one database may be: a revocation
/// counts as over (not written, merged rather than replaced, purged) only this long after
/// its end by the deciding process's clock, so a process up to this far behind still
/// refuses by it; the purge keeps every other row (sessions, refresh tokens, throttle
/// windows) this long past its end too. Keep clocks closer than this (NTP keeps them
/// within milliseconds).
pub const CLOCK_SKEW: Duration = Duration::from_secs(5);

/// The default bound on one store call's wait for the database: 5 seconds (see
/// [`SqlStoresBuilder::timeout`]).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// The auth tables of one prefix in one database: build it once, run
/// [`migrate`](SqlStores::migrate), then take the stores you need from it.
///
/// Cloning is cheap (the pool and the prepared SQL text are shared).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::Duration;
/// use store_sql::{SqlStores, TablePrefix};
///
/// let pool = store_sql::connect::<sqlx::Sqlite>("sqlite::memory:").await?;
/// let stores = SqlStores::builder(pool)
///     .prefix(TablePrefix::new("myapp_")?)
///     .purge_batch_size(500)
///     // A request waits at most this long for the database, then fails closed.
///     .timeout(Duration::from_secs(2))
///     .build();
/// stores.migrate().await?;
/// let sessions = stores.sessions();
/// let throttle = stores.throttle();
/// # let _ = (sessions, throttle);
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
            .field("timeout", &self.shared.timeout)
            .finish_non_exhaustive()
    }
}

/// What every store of one [`SqlStores`] shares.
pub(crate) struct Shared<DB: Backend> {
    pub(crate) pool: Pool<DB>,
    pub(crate) clock: SharedClock,
    pub(crate) prefix: TablePrefix,
    pub(crate) purge_batch: u32,
    /// The bound on one call's wait for the database (see [`Shared::run`]).
    pub(crate) timeout: Duration,
    pub(crate) sessions: SessionSql,
    pub(crate) revocations: RevocationSql,
    pub(crate) refresh: RefreshSql,
    pub(crate) throttle: ThrottleSql,
    pub(crate) schema: SchemaSql,
}

impl<DB: Backend> Shared<DB> {
    /// The clock's now, as stored.
    pub(crate) fn now(&self) -> i64 {
        unix_millis(self.clock.now())
    }

    /// The latest instant over by every clock within [`CLOCK_SKEW`](crate::CLOCK_SKEW) of
    /// this one, as stored: a revocation that ended before it is needed by no process.
    pub(crate) fn over_everywhere(&self) -> i64 {
        let skew = i64::try_from(crate::CLOCK_SKEW.as_millis()).unwrap_or(i64::MAX);
        self.now().saturating_sub(skew)
    }

    /// Runs one write statement (its own transaction); how many rows it changed.
    pub(crate) async fn execute(&self, sql: &Sql, args: &[Arg<'_>]) -> Result<u64, StoreError> {
        self.run(|conn, _| Box::pin(DB::execute(conn, sql, args)))
            .await
    }

    /// Runs one query; its first row, if any.
    pub(crate) async fn fetch_optional(
        &self,
        sql: &Sql,
        args: &[Arg<'_>],
    ) -> Result<Option<DB::Row>, StoreError> {
        self.run(|conn, _| Box::pin(DB::fetch_optional(conn, sql, args)))
            .await
    }

    /// Runs `sql` (which takes `$1` an instant, `$2` batch size) until a batch comes back
    /// short.
    pub(crate) async fn purge_all(&self, sql: &Sql) -> Result<u64, StoreError> {
        let mut total = 0;
        loop {
            let deleted = self.purge_once(sql).await?;
            total += deleted;
            if deleted < u64::from(self.purge_batch) {
                return Ok(total);
            }
        }
    }

    /// One batch of `sql`: rows ended for every process within the skew, so that a process
    /// behind never loses a revocation, a used refresh token or a throttle window it still
    /// needs.
    pub(crate) async fn purge_once(&self, sql: &Sql) -> Result<u64, StoreError> {
        let args = [
            Arg::Int(self.over_everywhere()),
            Arg::Int(i64::from(self.purge_batch)),
        ];
        self.execute(sql, &args).await
    }
}

/// Builds [`SqlStores`].
pub struct SqlStoresBuilder<DB: Backend> {
    pool: Pool<DB>,
    clock: SharedClock,
    prefix: TablePrefix,
    purge_batch: u32,
    timeout: Duration,
}

impl<DB: Backend> fmt::Debug for SqlStoresBuilder<DB> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqlStoresBuilder")
            .field("prefix", &self.prefix)
            .field("purge_batch", &self.purge_batch)
            .field("timeout", &self.timeout)
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

    /// How long one store call may wait for the database (default [`DEFAULT_TIMEOUT`], at
    /// least 1 ms): from asking the pool for a connection to the last statement's answer,
    /// a whole refresh rotation and its retries included. Past it, the call is abandoned
    /// and answers [`StoreError::Unavailable`], so a request fails closed quickly instead
    /// of hanging on a locked row, a stalled server or an exhausted pool. A PostgreSQL or
    /// MySQL connection abandoned mid-statement is closed, never handed to the next call.
    ///
    /// An abandoned write has an unknown outcome, like any `Unavailable` answer: the
    /// server may still complete a statement it had received. To make the server give up
    /// too, set its own limits on the pool's connections as well (PostgreSQL
    /// `statement_timeout` / `lock_timeout`, MariaDB `max_statement_time`, MySQL
    /// `innodb_lock_wait_timeout`). [`SqlStores::migrate`] is not bounded by this timeout.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout.max(Duration::from_millis(1));
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
                timeout: self.timeout,
                sessions: SessionSql::new(flavor, &prefix),
                revocations: RevocationSql::new(flavor, &prefix),
                refresh: RefreshSql::new(flavor, &prefix),
                throttle: ThrottleSql::new(flavor, &prefix),
                schema: SchemaSql::new(flavor, &prefix),
                prefix,
            }),
        }
    }
}

impl<DB: Backend> SqlStores<DB> {
    /// A builder over a pool you already have, with the default prefix, clock, batch and
    /// timeout.
    pub fn builder(pool: Pool<DB>) -> SqlStoresBuilder<DB> {
        SqlStoresBuilder {
            pool,
            clock: SystemClock::shared(),
            prefix: TablePrefix::default(),
            purge_batch: DEFAULT_PURGE_BATCH,
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// Stores with every default over a new pool connected to `url` (see [`connect`]):
    /// the common case; [`builder`](Self::builder) takes options.
    pub async fn connect(url: &str) -> Result<Self, ConfigError> {
        Ok(Self::builder(connect::<DB>(url).await?).build())
    }

    /// Creates the tables and indexes, or brings them up to date. Idempotent, and safe to
    /// run from several processes at once: runs take turns on a lock (PostgreSQL: an
    /// advisory transaction lock; MySQL: `GET_LOCK`; SQLite: the write lock of
    /// `BEGIN IMMEDIATE`), and each records the schema versions it applied.
    ///
    /// Schema versions: 1 holds sessions, revoked tokens and subjects, refresh tokens and
    /// their families; 2 adds revoked refresh families (`<prefix>revoked_families`), login
    /// throttle windows (`<prefix>throttle_windows`) and each refresh token's family end
    /// (`family_expires_at`; a token stored before the upgrade gets its own expiry, so its
    /// family can no longer be extended past it). Run it before the stores of a new
    /// release serve requests. It is not bounded by the store
    /// [`timeout`](SqlStoresBuilder::timeout): a schema change on a large table may take
    /// longer.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        crate::migrate::run(&self.shared, crate::sql::SCHEMA_VERSION).await
    }

    /// Applies the migrations up to schema version `version` only, leaving the tables as
    /// an older release made them: for tests of the upgrade path. The stores expect the
    /// latest version; use [`migrate`](Self::migrate).
    #[doc(hidden)]
    pub async fn migrate_to(&self, version: i64) -> Result<(), StoreError> {
        crate::migrate::run(&self.shared, version).await
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

    /// The login-throttle store.
    pub fn throttle(&self) -> SqlThrottleStore<DB> {
        SqlThrottleStore::from_shared(self.shared.clone())
    }

    /// The pool.
    pub fn pool(&self) -> &Pool<DB> {
        &self.shared.pool
    }

    /// The table prefix.
    pub fn table_prefix(&self) -> &TablePrefix {
        &self.shared.prefix
    }

    /// The bound on one store call's wait for the database (see
    /// [`SqlStoresBuilder::timeout`]).
    pub fn timeout(&self) -> Duration {
        self.shared.timeout
    }
}

/// A pool connected to `url`, with settings that suit the backend: a 5 s acquire timeout
/// (past it, operations fail with [`StoreError::Unavailable`]), and for an in-memory
/// SQLite database (`sqlite::memory:`) exactly one connection that is never closed, since
/// each connection would otherwise see a different, short-lived database.
///
/// Fails with [`ConfigError::Unreachable`] if the database cannot be reached, and
/// [`ConfigError::InvalidConnection`] if it refuses the settings.
///
/// sqlx logs a URL parameter it does not know, *with its value*, as a `WARN` event (target
/// `sqlx_postgres::options` or `sqlx_mysql::options`): spell a password parameter the way
/// sqlx reads it (`password=`), or keep it in the userinfo, or filter those targets.
pub async fn connect<DB: Backend>(url: &str) -> Result<Pool<DB>, ConfigError> {
    DB::pool_options(url)
        .connect(url)
        .await
        .map_err(connect_error::<DB>)
}
