//! `migrate()`: idempotent, safe from several processes at once, and names that fit.

use auth_core::store::SessionRecord;
use auth_core::{Clock, SessionId, SessionStore};
use sqlx::Pool;
use store_sql::{Backend, InvalidPrefix, SqlStores, TablePrefix};

use crate::common::{
    drop_tables, fresh_prefix, manual_clock, mysql_pool, postgres_pool, sqlite_file_pool,
    sqlite_memory_pool,
};

/// The stores work after `migrate`.
async fn works<DB: Backend>(stores: &SqlStores<DB>, clock: &auth_core::ManualClock) {
    let sessions = stores.sessions();
    let key = SessionId::generate().unwrap().key();
    let now = clock.now();
    let record = SessionRecord::new("m", vec![1], now, now + std::time::Duration::from_secs(9));
    sessions.create(&key, &record).await.unwrap();
    assert!(sessions.load(&key).await.unwrap().is_some());
}

async fn versions<DB: Backend>(stores: &SqlStores<DB>) -> i64
where
    for<'c> &'c Pool<DB>: sqlx::Executor<'c, Database = DB>,
    <DB as sqlx::Database>::Arguments: sqlx::IntoArguments<DB>,
    i64: for<'r> sqlx::Decode<'r, DB> + sqlx::Type<DB>,
    usize: sqlx::ColumnIndex<DB::Row>,
{
    let sql = format!(
        "SELECT COUNT(*) FROM {}schema_migrations",
        stores.table_prefix()
    );
    sqlx::query_scalar::<DB, i64>(sqlx::AssertSqlSafe(sql))
        .fetch_one(stores.pool())
        .await
        .unwrap()
}

/// Migrating twice changes nothing; four "processes" (pools of their own) migrating one
/// fresh prefix at the same moment all succeed and leave one schema.
async fn twice_and_concurrently<DB: Backend, F, Fut>(pool: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Pool<DB>>,
    for<'c> &'c Pool<DB>: sqlx::Executor<'c, Database = DB>,
    <DB as sqlx::Database>::Arguments: sqlx::IntoArguments<DB>,
    i64: for<'r> sqlx::Decode<'r, DB> + sqlx::Type<DB>,
    usize: sqlx::ColumnIndex<DB::Row>,
{
    let (clock, shared) = manual_clock();
    let prefix = fresh_prefix();
    let build = |pool| {
        SqlStores::builder(pool)
            .prefix(prefix.clone())
            .clock(shared.clone())
            .build()
    };
    let mut processes = Vec::new();
    for _ in 0..4 {
        processes.push(build(pool().await));
    }
    let runs: Vec<_> = processes
        .iter()
        .cloned()
        .map(|stores| tokio::spawn(async move { stores.migrate().await }))
        .collect();
    for run in runs {
        run.await.unwrap().unwrap();
    }
    let stores = &processes[0];
    assert_eq!(versions(stores).await, 1, "one schema version recorded");
    stores.migrate().await.unwrap();
    stores.migrate().await.unwrap();
    assert_eq!(versions(stores).await, 1);
    works(stores, &clock).await;
    drop_tables(stores).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_migrates_twice_and_concurrently() {
    twice_and_concurrently(|| postgres_pool(2)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mariadb_migrates_twice_and_concurrently() {
    twice_and_concurrently(|| mysql_pool(2)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_file_migrates_twice_and_concurrently() {
    // One file, four pools on it.
    let pool = sqlite_file_pool().await;
    twice_and_concurrently(|| {
        let pool = pool.clone();
        async move { pool }
    })
    .await;
}

#[tokio::test]
async fn sqlite_memory_migrates_twice() {
    let (clock, shared) = manual_clock();
    let stores = SqlStores::builder(sqlite_memory_pool().await)
        .clock(shared)
        .build();
    stores.migrate().await.unwrap();
    stores.migrate().await.unwrap();
    works(&stores, &clock).await;
}

/// The longest prefix still yields index names PostgreSQL (63 bytes) and MySQL (64) accept
/// whole: a truncated name would make two indexes collide.
#[tokio::test]
async fn the_longest_prefix_fits_every_name() {
    let (clock, shared) = manual_clock();
    let random = fresh_prefix();
    let long = format!(
        "{}{}",
        random,
        "x".repeat(TablePrefix::MAX_LEN - random.as_str().len())
    );
    let prefix = TablePrefix::new(&long).unwrap();
    assert_eq!(prefix.as_str().len(), TablePrefix::MAX_LEN);
    let pg = SqlStores::builder(postgres_pool(2).await)
        .prefix(prefix.clone())
        .clock(shared.clone())
        .build();
    pg.migrate().await.unwrap();
    works(&pg, &clock).await;
    drop_tables(&pg).await;
    let my = SqlStores::builder(mysql_pool(2).await)
        .prefix(prefix)
        .clock(shared)
        .build();
    my.migrate().await.unwrap();
    works(&my, &clock).await;
    drop_tables(&my).await;
}

/// A prefix with anything but `[A-Za-z0-9_]` never reaches SQL text.
#[test]
fn hostile_prefixes_are_refused() {
    for hostile in [
        "auth; DROP TABLE users; --",
        "auth\"",
        "auth'",
        "auth`",
        "auth.sessions",
        "auth/*",
        "auth--",
        "auth sessions",
        "auth\0",
        "auth\n",
        "auth$1",
        "auth?",
        "ａuth",
        "1auth",
    ] {
        assert!(
            matches!(TablePrefix::new(hostile), Err(InvalidPrefix::Character)),
            "{hostile:?} was accepted"
        );
        assert!(hostile.parse::<TablePrefix>().is_err());
    }
    assert_eq!(TablePrefix::new(""), Err(InvalidPrefix::Empty));
    assert_eq!(
        TablePrefix::new(&"a".repeat(TablePrefix::MAX_LEN + 1)),
        Err(InvalidPrefix::TooLong)
    );
}
