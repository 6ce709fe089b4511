//! Expired rows go in bounded batches; live rows stay; the background task stops.

use std::time::Duration;

use auth_core::store::{RefreshRecord, Rotation, SessionRecord, ThrottleKey, TokenRef};
use auth_core::{
    Clock, FamilyId, RefreshToken, RefreshTokenStore, RevocationStore, SessionId, SessionKey,
    SessionStore, ThrottleStore,
};
use sqlx::Pool;
use store_sql::{Backend, SqlStores};

use crate::common::{
    count_rows, drop_tables, fresh_prefix, manual_clock, mysql_pool, postgres_pool,
    sqlite_file_pool, sqlite_memory_pool,
};

const SHORT: Duration = Duration::from_secs(60);
const LONG: Duration = Duration::from_secs(3600);

async fn sessions_expiring<DB: Backend>(
    stores: &SqlStores<DB>,
    clock: &auth_core::ManualClock,
    count: usize,
    ttl: Duration,
) -> Vec<SessionKey> {
    let sessions = stores.sessions();
    let now = clock.now();
    let mut keys = Vec::new();
    for i in 0..count {
        let key = SessionId::generate().unwrap().key();
        let record = SessionRecord::new(format!("purge-{i}"), vec![7; 16], now, now + ttl);
        sessions.create(&key, &record).await.unwrap();
        keys.push(key);
    }
    keys
}

async fn purges_in_batches<DB: Backend>(pool: Pool<DB>)
where
    for<'c> &'c Pool<DB>: sqlx::Executor<'c, Database = DB>,
    <DB as sqlx::Database>::Arguments: sqlx::IntoArguments<DB>,
    i64: for<'r> sqlx::Decode<'r, DB> + sqlx::Type<DB>,
    usize: sqlx::ColumnIndex<DB::Row>,
{
    let (clock, shared) = manual_clock();
    let stores = SqlStores::builder(pool)
        .prefix(fresh_prefix())
        .clock(shared)
        .purge_batch_size(3)
        .build();
    stores.migrate().await.unwrap();
    let sessions = stores.sessions();

    // Sessions: ten expire, four stay; one batch deletes at most three.
    sessions_expiring(&stores, &clock, 10, SHORT).await;
    let live = sessions_expiring(&stores, &clock, 4, LONG).await;
    clock.advance(2 * SHORT);
    assert_eq!(
        count_rows(&stores, "sessions").await,
        14,
        "expired rows are still on disk"
    );
    let mut batches = Vec::new();
    loop {
        let deleted = sessions.purge_expired_batch().await.unwrap();
        batches.push(deleted);
        if deleted == 0 {
            break;
        }
    }
    assert_eq!(batches, [3, 3, 3, 1, 0]);
    assert_eq!(count_rows(&stores, "sessions").await, 4);
    for key in &live {
        assert!(
            sessions.load(key).await.unwrap().is_some(),
            "live rows stay"
        );
    }
    // `purge_expired` loops over the batches itself.
    sessions_expiring(&stores, &clock, 7, SHORT).await;
    clock.advance(2 * SHORT);
    assert_eq!(sessions.purge_expired().await.unwrap(), 7);
    assert_eq!(sessions.purge_expired().await.unwrap(), 0);
    assert_eq!(count_rows(&stores, "sessions").await, 4);

    // Refresh tokens and their families.
    let refresh = stores.refresh_tokens();
    let now = clock.now();
    for _ in 0..5 {
        let record = RefreshRecord::new(
            FamilyId::generate().unwrap(),
            "purge",
            vec![],
            now,
            now + SHORT,
        );
        refresh
            .insert(&RefreshToken::generate().unwrap().hash(), &record)
            .await
            .unwrap();
    }
    let keeper = RefreshToken::generate().unwrap().hash();
    let record = RefreshRecord::new(
        FamilyId::generate().unwrap(),
        "keep",
        vec![],
        now,
        now + LONG,
    );
    refresh.insert(&keeper, &record).await.unwrap();
    clock.advance(2 * SHORT);
    assert_eq!(
        refresh.purge_expired().await.unwrap(),
        5 + 5,
        "tokens and families"
    );
    assert_eq!(count_rows(&stores, "refresh_tokens").await, 1);
    assert_eq!(count_rows(&stores, "refresh_families").await, 1);
    let now = clock.now();
    let next = RefreshToken::generate().unwrap().hash();
    assert!(matches!(
        refresh
            .rotate(&keeper, &next, now, now + LONG)
            .await
            .unwrap(),
        Rotation::Rotated(_)
    ));

    // Revocations.
    let revocations = stores.revocations();
    let now = clock.now();
    for i in 0..4 {
        revocations
            .revoke("iss", &format!("jti-{i}"), now + SHORT)
            .await
            .unwrap();
    }
    revocations.revoke("iss", "kept", now + LONG).await.unwrap();
    revocations
        .revoke_subject("gone", now, now + SHORT)
        .await
        .unwrap();
    let (ended, kept) = (FamilyId::generate().unwrap(), FamilyId::generate().unwrap());
    revocations
        .revoke_family("iss", &ended, now + SHORT)
        .await
        .unwrap();
    revocations
        .revoke_family("iss", &kept, now + LONG)
        .await
        .unwrap();
    clock.advance(2 * SHORT);
    assert_eq!(revocations.purge_expired().await.unwrap(), 6);
    assert!(revocations.is_revoked("iss", "kept").await.unwrap());
    let by_family = TokenRef::new("iss", "s", now).family(Some(&kept));
    assert!(revocations.is_token_revoked(&by_family).await.unwrap());
    assert_eq!(count_rows(&stores, "revoked_tokens").await, 1);
    assert_eq!(count_rows(&stores, "revoked_families").await, 1);
    assert_eq!(count_rows(&stores, "revoked_subjects").await, 0);

    // Throttle windows: ended ones go, open ones keep their count.
    let throttle = stores.throttle();
    for i in 0..3 {
        let key = ThrottleKey::username(&format!("purge-{i}"));
        throttle.hit(&key, SHORT).await.unwrap();
    }
    let open = ThrottleKey::username("purge-open");
    throttle.hit(&open, LONG).await.unwrap();
    clock.advance(2 * SHORT);
    assert_eq!(throttle.purge_expired().await.unwrap(), 3);
    assert_eq!(count_rows(&stores, "throttle_windows").await, 1);
    assert_eq!(throttle.hit(&open, LONG).await.unwrap().count, 2);

    // The background task purges, and stops when told.
    sessions_expiring(&stores, &clock, 5, SHORT).await;
    clock.advance(2 * SHORT);
    let handle = sessions.spawn_purge(Duration::from_millis(5));
    let mut waited = Duration::ZERO;
    while handle.purged() < 5 {
        assert!(waited < Duration::from_secs(10), "the purge task never ran");
        tokio::time::sleep(Duration::from_millis(5)).await;
        waited += Duration::from_millis(5);
    }
    assert_eq!(handle.failures(), 0);
    handle.stop().await;
    assert_eq!(count_rows(&stores, "sessions").await, 4);

    // Dropping the handle stops the task too: rows that expire afterwards stay.
    let handle = sessions.spawn_purge(Duration::from_millis(1));
    drop(handle);
    tokio::time::sleep(Duration::from_millis(20)).await;
    sessions_expiring(&stores, &clock, 2, SHORT).await;
    clock.advance(2 * SHORT);
    tokio::time::sleep(Duration::from_millis(30)).await;
    assert_eq!(count_rows(&stores, "sessions").await, 6);

    drop_tables(&stores).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_purges_in_batches() {
    purges_in_batches(postgres_pool(2).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_purges_in_batches() {
    purges_in_batches(mysql_pool(2).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_memory_purges_in_batches() {
    purges_in_batches(sqlite_memory_pool().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_file_purges_in_batches() {
    purges_in_batches(sqlite_file_pool().await).await;
}

/// A second "log out everywhere" re-arms a subject's ended, not yet purged row while a purge
/// that chose that row runs: the purge must leave the re-armed row, whose deadline is ahead
/// (PostgreSQL re-checks only the outer `DELETE`'s condition on a row changed meanwhile).
/// A transaction holding the row orders the two: the logout waits first, then the purge.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_purge_never_deletes_a_revocation_re_armed_meanwhile() {
    use sqlx::{Connection as _, Executor as _};

    let (clock, shared) = manual_clock();
    let stores = crate::common::stores_on(postgres_pool(4).await, shared).await;
    let revocations = stores.revocations();
    let first = clock.now();
    revocations
        .revoke_subject("alice", first, first + SHORT)
        .await
        .unwrap();
    clock.advance(LONG);
    let second = clock.now();

    let mut hold = sqlx::PgConnection::connect(&crate::common::postgres_url())
        .await
        .unwrap();
    hold.execute("BEGIN").await.unwrap();
    let table = format!("{}revoked_subjects", stores.table_prefix());
    hold.execute(sqlx::AssertSqlSafe(format!(
        "SELECT 1 FROM {table} WHERE subject = 'alice'::bytea FOR UPDATE"
    )))
    .await
    .unwrap();
    let waiting = async |count: i64| {
        let started = std::time::Instant::now();
        while crate::common::pg_lock_waiters(stores.pool(), &table).await < count {
            assert!(started.elapsed() < Duration::from_secs(10), "never blocked");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    let logout = {
        let revocations = revocations.clone();
        tokio::spawn(async move {
            revocations
                .revoke_subject("alice", second, second + SHORT)
                .await
        })
    };
    waiting(1).await;
    let purge = {
        let revocations = revocations.clone();
        tokio::spawn(async move { revocations.purge_expired().await })
    };
    waiting(2).await;
    hold.execute("COMMIT").await.unwrap();
    logout.await.unwrap().unwrap();
    purge.await.unwrap().unwrap();

    let issued_before = TokenRef::new("iss", "alice", second - SHORT);
    assert!(
        revocations.is_token_revoked(&issued_before).await.unwrap(),
        "the second logout must hold"
    );
    drop_tables(&stores).await;
}
