//! Stores on every backend, each on its own table prefix, and the helpers the tests share.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use auth_core::{SessionId, SharedClock};
use sqlx::{MySql, Pool, Postgres, Sqlite};
use store_sql::{Backend, SqlStores, TablePrefix};

pub(crate) fn postgres_url() -> String {
    std::env::var("POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

pub(crate) fn mysql_url() -> String {
    std::env::var("MYSQL_URL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".into())
}

/// Tables of earlier runs older than this are dropped by the first store a process makes.
const STALE_AFTER_MINUTES: u64 = 30;

fn minutes_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() / 60)
        .unwrap_or(0)
}

/// A prefix no other test uses: `st<minutes>_<random>_`, the minutes telling later runs
/// when it is safe to drop.
pub(crate) fn fresh_prefix() -> TablePrefix {
    let random = &SessionId::generate().unwrap().key().to_hex()[..10];
    TablePrefix::new(&format!("st{}_{random}_", minutes_now())).unwrap()
}

/// A pool on PostgreSQL; the test fails, naming the service, if it is not there.
pub(crate) async fn postgres_pool(max: u32) -> Pool<Postgres> {
    let url = postgres_url();
    sqlx::postgres::PgPoolOptions::new()
        .max_connections(max)
        .acquire_timeout(Duration::from_secs(5))
        .connect(&url)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL is unreachable at {url} (set POSTGRES_URL): {e}"))
}

/// A pool on MySQL/MariaDB; the test fails, naming the service, if it is not there.
pub(crate) async fn mysql_pool(max: u32) -> Pool<MySql> {
    let url = mysql_url();
    sqlx::mysql::MySqlPoolOptions::new()
        .max_connections(max)
        .acquire_timeout(Duration::from_secs(5))
        .connect(&url)
        .await
        .unwrap_or_else(|e| panic!("MySQL/MariaDB is unreachable at {url} (set MYSQL_URL): {e}"))
}

/// An in-memory SQLite database (one connection, as `connect` sets it up).
pub(crate) async fn sqlite_memory_pool() -> Pool<Sqlite> {
    store_sql::connect::<Sqlite>("sqlite::memory:")
        .await
        .unwrap()
}

/// A SQLite file of its own in the target's scratch directory, several connections.
pub(crate) async fn sqlite_file_pool() -> Pool<Sqlite> {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("store-sql");
    std::fs::create_dir_all(&dir).unwrap();
    static SWEPT: OnceLock<()> = OnceLock::new();
    SWEPT.get_or_init(|| sweep_files(&dir));
    let file = dir.join(format!("{}.db", fresh_prefix()));
    let url = format!("sqlite://{}?mode=rwc", file.display());
    sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(4)
        .connect(&url)
        .await
        .unwrap()
}

/// Removes database files that earlier runs left.
fn sweep_files(dir: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > Duration::from_secs(STALE_AFTER_MINUTES * 60));
        if old {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Stores over `pool` on a fresh prefix, migrated.
pub(crate) async fn stores_on<DB: Backend>(pool: Pool<DB>, clock: SharedClock) -> SqlStores<DB> {
    let stores = SqlStores::builder(pool)
        .prefix(fresh_prefix())
        .clock(clock)
        .build();
    stores.migrate().await.unwrap();
    stores
}

pub(crate) async fn postgres(clock: SharedClock) -> SqlStores<Postgres> {
    let pool = postgres_pool(4).await;
    static SWEPT: OnceLock<()> = OnceLock::new();
    if SWEPT.set(()).is_ok() {
        sweep_tables(&pool, "SELECT table_name::text FROM information_schema.tables WHERE table_schema = current_schema() AND table_name LIKE 'st%'").await;
    }
    stores_on(pool, clock).await
}

pub(crate) async fn mysql(clock: SharedClock) -> SqlStores<MySql> {
    let pool = mysql_pool(4).await;
    static SWEPT: OnceLock<()> = OnceLock::new();
    if SWEPT.set(()).is_ok() {
        sweep_tables(&pool, "SELECT CAST(table_name AS CHAR) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name LIKE 'st%'").await;
    }
    stores_on(pool, clock).await
}

pub(crate) async fn sqlite_memory(clock: SharedClock) -> SqlStores<Sqlite> {
    stores_on(sqlite_memory_pool().await, clock).await
}

pub(crate) async fn sqlite_file(clock: SharedClock) -> SqlStores<Sqlite> {
    stores_on(sqlite_file_pool().await, clock).await
}

/// Drops the tables of test prefixes older than [`STALE_AFTER_MINUTES`] (best effort: a
/// table another process drops first is simply gone).
async fn sweep_tables<DB: Backend>(pool: &Pool<DB>, list: &'static str)
where
    for<'c> &'c Pool<DB>: sqlx::Executor<'c, Database = DB>,
    String: for<'r> sqlx::Decode<'r, DB> + sqlx::Type<DB>,
    <DB as sqlx::Database>::Arguments: sqlx::IntoArguments<DB>,
    usize: sqlx::ColumnIndex<DB::Row>,
{
    let Ok(names) = sqlx::query_scalar::<DB, String>(list).fetch_all(pool).await else {
        return;
    };
    let cutoff = minutes_now().saturating_sub(STALE_AFTER_MINUTES);
    for table in names {
        let minutes = table
            .strip_prefix("st")
            .and_then(|rest| rest.split('_').next())
            .and_then(|m| m.parse::<u64>().ok());
        if minutes.is_some_and(|m| m < cutoff) && TablePrefix::new(&table).is_ok() {
            let drop = format!("DROP TABLE IF EXISTS {table}");
            let _ = sqlx::query::<DB>(sqlx::AssertSqlSafe(drop))
                .execute(pool)
                .await;
        }
    }
}

/// Every table a migrated prefix has.
pub(crate) const TABLES: [&str; 8] = [
    "sessions",
    "revoked_tokens",
    "revoked_subjects",
    "revoked_families",
    "refresh_families",
    "refresh_tokens",
    "throttle_windows",
    "schema_migrations",
];

/// Drops every table of `stores`' prefix (tests that make their own stores clean up).
pub(crate) async fn drop_tables<DB: Backend>(stores: &SqlStores<DB>)
where
    for<'c> &'c Pool<DB>: sqlx::Executor<'c, Database = DB>,
    <DB as sqlx::Database>::Arguments: sqlx::IntoArguments<DB>,
{
    let prefix = stores.table_prefix();
    for table in TABLES {
        let drop = format!("DROP TABLE IF EXISTS {prefix}{table}");
        sqlx::query::<DB>(sqlx::AssertSqlSafe(drop))
            .execute(stores.pool())
            .await
            .unwrap();
    }
}

/// A clock for tests that make their stores themselves.
pub(crate) fn manual_clock() -> (Arc<auth_core::ManualClock>, SharedClock) {
    let clock = Arc::new(auth_core::ManualClock::starting_now());
    let shared: SharedClock = clock.clone();
    (clock, shared)
}

/// Runs `sql` as it is (test-made text only).
pub(crate) async fn exec_raw<DB: Backend>(pool: &Pool<DB>, sql: String)
where
    for<'c> &'c Pool<DB>: sqlx::Executor<'c, Database = DB>,
    <DB as sqlx::Database>::Arguments: sqlx::IntoArguments<DB>,
{
    sqlx::query::<DB>(sqlx::AssertSqlSafe(sql.clone()))
        .execute(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// How many rows `table` (under the stores' prefix) holds, expired ones included.
pub(crate) async fn count_rows<DB: Backend>(stores: &SqlStores<DB>, table: &str) -> i64
where
    for<'c> &'c Pool<DB>: sqlx::Executor<'c, Database = DB>,
    <DB as sqlx::Database>::Arguments: sqlx::IntoArguments<DB>,
    i64: for<'r> sqlx::Decode<'r, DB> + sqlx::Type<DB>,
    usize: sqlx::ColumnIndex<DB::Row>,
{
    let sql = format!("SELECT COUNT(*) FROM {}{table}", stores.table_prefix());
    sqlx::query_scalar::<DB, i64>(sqlx::AssertSqlSafe(sql))
        .fetch_one(stores.pool())
        .await
        .unwrap()
}

/// How each backend writes a byte string literal.
#[derive(Clone, Copy)]
pub(crate) enum Literal {
    Postgres,
    XQuoted,
}

/// `value` as a byte string literal in `style`.
pub(crate) fn bytes(style: Literal, value: &[u8]) -> String {
    let hex: String = value.iter().map(|b| format!("{b:02x}")).collect();
    match style {
        Literal::Postgres => format!("'\\x{hex}'::bytea"),
        Literal::XQuoted => format!("X'{hex}'"),
    }
}

/// How many PostgreSQL statements on `table` wait on a lock now, for tests that order
/// concurrent calls with a row lock held from another connection.
pub(crate) async fn pg_lock_waiters(pool: &Pool<Postgres>, table: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT COUNT(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' \
         AND query LIKE '%{table}%'"
    )))
    .fetch_one(pool)
    .await
    .unwrap()
}
