//! `migrate()`: idempotent, safe from several processes at once, upgrades older schemas,
//! and names that fit.

use std::time::Duration;

use auth_core::store::{RefreshRecord, Rotation, SessionRecord, ThrottleKey, TokenRef};
use auth_core::{
    Clock, FamilyId, RefreshToken, RefreshTokenStore, RevocationStore, SessionId, SessionStore,
    ThrottleStore, unix_millis,
};
use sqlx::Pool;
use store_sql::{Backend, InvalidPrefix, SqlStores, TablePrefix};

use crate::common::{
    Literal, bytes, drop_tables, exec_raw, fresh_prefix, manual_clock, mysql_pool, postgres_pool,
    sqlite_file_pool, sqlite_memory_pool,
};

/// How many schema versions this release has.
const VERSIONS: i64 = 2;

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
    scalar(stores, "SELECT COUNT(*) FROM {p}schema_migrations").await
}

/// The one integer `sql` selects, `{p}` standing for the stores' prefix.
async fn scalar<DB: Backend>(stores: &SqlStores<DB>, sql: &str) -> i64
where
    for<'c> &'c Pool<DB>: sqlx::Executor<'c, Database = DB>,
    <DB as sqlx::Database>::Arguments: sqlx::IntoArguments<DB>,
    i64: for<'r> sqlx::Decode<'r, DB> + sqlx::Type<DB>,
    usize: sqlx::ColumnIndex<DB::Row>,
{
    let sql = sql.replace("{p}", stores.table_prefix().as_str());
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
    assert_eq!(
        versions(stores).await,
        VERSIONS,
        "each version recorded once"
    );
    stores.migrate().await.unwrap();
    stores.migrate().await.unwrap();
    assert_eq!(versions(stores).await, VERSIONS);
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

/// A run stopped while it may hold MySQL's named lock (a timeout around `migrate`) leaves
/// no pooled connection holding it: another process migrates at once, where it used to
/// wait the lock's 30 s and fail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_a_dropped_migration_leaves_the_lock_free() {
    let (_, shared) = manual_clock();
    for stop_after_ms in [2, 10, 40] {
        let prefix = fresh_prefix();
        let build = |pool| {
            SqlStores::builder(pool)
                .prefix(prefix.clone())
                .clock(shared.clone())
                .build()
        };
        let stopped = build(mysql_pool(2).await);
        let _ = tokio::time::timeout(Duration::from_millis(stop_after_ms), stopped.migrate()).await;
        let other = build(mysql_pool(2).await);
        tokio::time::timeout(Duration::from_secs(10), other.migrate())
            .await
            .unwrap_or_else(|_| panic!("stopped after {stop_after_ms} ms: the lock is still held"))
            .unwrap();
        stopped.migrate().await.unwrap();
        drop_tables(&other).await;
    }
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

/// A database migrated by version 1 (the schema as the first release left it, with refresh
/// tokens and revocations in it) upgrades to version 2: each refresh token's family ends
/// with the token, the new tables work, and nothing else changes.
async fn upgrades_from_version_1<DB: Backend>(pool: Pool<DB>, style: Literal)
where
    for<'c> &'c Pool<DB>: sqlx::Executor<'c, Database = DB>,
    <DB as sqlx::Database>::Arguments: sqlx::IntoArguments<DB>,
    i64: for<'r> sqlx::Decode<'r, DB> + sqlx::Type<DB>,
    usize: sqlx::ColumnIndex<DB::Row>,
{
    let (clock, shared) = manual_clock();
    let stores = SqlStores::builder(pool.clone())
        .prefix(fresh_prefix())
        .clock(shared)
        .build();
    stores.migrate_to(1).await.unwrap();
    assert_eq!(versions(&stores).await, 1);

    // Rows as a version-1 store wrote them.
    let p = stores.table_prefix().clone();
    let b = |v: &[u8]| bytes(style, v);
    let now = unix_millis(clock.now());
    let family = FamilyId::generate().unwrap();
    let tokens: Vec<_> = (0..3)
        .map(|_| RefreshToken::generate().unwrap().hash())
        .collect();
    let expiries: Vec<i64> = (1..=3).map(|hours| now + hours * 3_600_000).collect();
    exec_raw(
        &pool,
        format!(
            "INSERT INTO {p}refresh_families (family, subject, expires_at) \
             VALUES ({}, {}, {})",
            b(family.as_str().as_bytes()),
            b(b"old-user"),
            expiries[2]
        ),
    )
    .await;
    for (token, expires_at) in tokens.iter().zip(&expiries) {
        exec_raw(
            &pool,
            format!(
                "INSERT INTO {p}refresh_tokens (token_hash, family, subject, data, issued_at, \
                 expires_at, used) VALUES ({}, {}, {}, {}, {now}, {expires_at}, 0)",
                b(token.as_bytes()),
                b(family.as_str().as_bytes()),
                b(b"old-user"),
                b(b"{}")
            ),
        )
        .await;
    }
    exec_raw(
        &pool,
        format!(
            "INSERT INTO {p}revoked_tokens (issuer, jti, valid_until) VALUES ({}, {}, {})",
            b(b"iss"),
            b(b"old-jti"),
            now + 60_000
        ),
    )
    .await;

    stores.migrate().await.unwrap();
    assert_eq!(versions(&stores).await, VERSIONS);
    assert_eq!(
        scalar(
            &stores,
            "SELECT COUNT(*) FROM {p}refresh_tokens WHERE family_expires_at = expires_at"
        )
        .await,
        3,
        "every existing token's family ends with the token"
    );

    // The upgraded rows behave as version-2 rows: rotation is capped at the old token's
    // end, however long the new token is asked to live.
    let refresh = stores.refresh_tokens();
    let at = clock.now();
    let Rotation::Rotated(next) = refresh
        .rotate(
            &tokens[0],
            &RefreshToken::generate().unwrap().hash(),
            at,
            at + Duration::from_secs(86_400),
        )
        .await
        .unwrap()
    else {
        panic!("an upgraded token rotates");
    };
    assert_eq!(next.family, family);
    assert_eq!(unix_millis(next.expires_at), expiries[0]);
    assert_eq!(unix_millis(next.family_expires_at), expiries[0]);
    let revocations = stores.revocations();
    assert!(revocations.is_revoked("iss", "old-jti").await.unwrap());
    revocations
        .revoke_family("iss", &family, at + Duration::from_secs(60))
        .await
        .unwrap();
    let token = TokenRef::new("iss", "old-user", at)
        .jti(Some("new-jti"))
        .family(Some(&family));
    assert!(revocations.is_token_revoked(&token).await.unwrap());
    let key = ThrottleKey::username("old-user");
    let throttle = stores.throttle();
    assert_eq!(
        throttle
            .hit(&key, Duration::from_secs(60))
            .await
            .unwrap()
            .count,
        1
    );

    stores.migrate().await.unwrap();
    assert_eq!(versions(&stores).await, VERSIONS);
    drop_tables(&stores).await;
}

#[tokio::test]
async fn postgres_upgrades_from_version_1() {
    upgrades_from_version_1(postgres_pool(2).await, Literal::Postgres).await;
}

#[tokio::test]
async fn mariadb_upgrades_from_version_1() {
    upgrades_from_version_1(mysql_pool(2).await, Literal::XQuoted).await;
}

#[tokio::test]
async fn sqlite_upgrades_from_version_1() {
    upgrades_from_version_1(sqlite_memory_pool().await, Literal::XQuoted).await;
}

/// MySQL commits each DDL statement by itself, so a version-2 run can stop after adding
/// the column and before recording the version: the next run finishes it.
async fn a_run_cut_short_is_finished<DB: Backend>(pool: Pool<DB>)
where
    for<'c> &'c Pool<DB>: sqlx::Executor<'c, Database = DB>,
    <DB as sqlx::Database>::Arguments: sqlx::IntoArguments<DB>,
    i64: for<'r> sqlx::Decode<'r, DB> + sqlx::Type<DB>,
    usize: sqlx::ColumnIndex<DB::Row>,
{
    let (clock, shared) = manual_clock();
    let stores = SqlStores::builder(pool.clone())
        .prefix(fresh_prefix())
        .clock(shared)
        .build();
    stores.migrate_to(1).await.unwrap();
    let p = stores.table_prefix();
    exec_raw(
        &pool,
        format!("ALTER TABLE {p}refresh_tokens ADD COLUMN family_expires_at BIGINT"),
    )
    .await;
    stores.migrate().await.unwrap();
    assert_eq!(versions(&stores).await, VERSIONS);
    let now = clock.now();
    let record = RefreshRecord::new(
        FamilyId::generate().unwrap(),
        "cut-short",
        vec![],
        now,
        now + Duration::from_secs(60),
    );
    stores
        .refresh_tokens()
        .insert(&RefreshToken::generate().unwrap().hash(), &record)
        .await
        .unwrap();
    drop_tables(&stores).await;
}

#[tokio::test]
async fn postgres_finishes_a_run_cut_short() {
    a_run_cut_short_is_finished(postgres_pool(2).await).await;
}

#[tokio::test]
async fn mariadb_finishes_a_run_cut_short() {
    a_run_cut_short_is_finished(mysql_pool(2).await).await;
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
