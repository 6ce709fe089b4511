//! A logout ends a session for every process sharing the tables: whatever their clocks
//! say, and whatever a concurrent rotation does.

use std::sync::Arc;
use std::time::Duration;

use auth_core::store::{RefreshRecord, Rotation, SessionRecord, ThrottleKey, TokenRef};
use auth_core::{
    Clock, FamilyId, ManualClock, RefreshToken, RefreshTokenStore, RevocationStore, SessionId,
    SessionStore, SharedClock, ThrottleStore,
};
use sqlx::Pool;
use store_sql::{Backend, SqlStores};

use crate::common::{
    drop_tables, fresh_prefix, manual_clock, mysql_pool, pg_lock_waiters, postgres_pool,
    sqlite_file_pool,
};

/// Two processes on one fresh, migrated set of tables, the first one's clock `lead` ahead
/// of the second's: the stores and clocks of each, the one ahead first.
struct TwoNodes<DB: Backend> {
    ahead: (SqlStores<DB>, Arc<ManualClock>),
    behind: (SqlStores<DB>, Arc<ManualClock>),
}

async fn two_nodes<DB: Backend>(pool: &Pool<DB>, lead: Duration) -> TwoNodes<DB>
where
    for<'c> &'c Pool<DB>: sqlx::Executor<'c, Database = DB>,
    <DB as sqlx::Database>::Arguments: sqlx::IntoArguments<DB>,
{
    let prefix = fresh_prefix();
    let behind = Arc::new(ManualClock::starting_now());
    let ahead = Arc::new(ManualClock::new(behind.now() + lead));
    let node = |clock: &Arc<ManualClock>| {
        let shared: SharedClock = clock.clone();
        let stores = SqlStores::builder(pool.clone())
            .prefix(prefix.clone())
            .clock(shared)
            .build();
        (stores, clock.clone())
    };
    let nodes = TwoNodes {
        ahead: node(&ahead),
        behind: node(&behind),
    };
    nodes.ahead.0.migrate().await.unwrap();
    nodes
}

/// Two processes on one set of tables, the first one's clock 10 s ahead of the second's.
/// A session near its idle deadline is expired by the first clock, live by the second: a
/// logout (of the session, or of its subject) on the first must still delete it, or the
/// second goes on serving it and its touches keep it alive.
async fn a_logout_where_the_clock_runs_ahead_still_ends_the_session<DB: Backend>(pool: Pool<DB>)
where
    for<'c> &'c Pool<DB>: sqlx::Executor<'c, Database = DB>,
    <DB as sqlx::Database>::Arguments: sqlx::IntoArguments<DB>,
{
    let TwoNodes {
        ahead: (a, _),
        behind: (b, behind),
    } = two_nodes(&pool, Duration::from_secs(10)).await;
    for everywhere in [false, true] {
        let now = behind.now();
        let key = SessionId::generate().unwrap().key();
        let record = SessionRecord::new("alice", Vec::new(), now, now + Duration::from_secs(5));
        b.sessions().create(&key, &record).await.unwrap();
        if everywhere {
            assert_eq!(a.sessions().delete_subject("alice").await.unwrap(), 0);
        } else {
            assert!(!a.sessions().delete(&key).await.unwrap(), "not live here");
        }
        assert!(
            b.sessions().load(&key).await.unwrap().is_none(),
            "everywhere {everywhere}: the process behind still serves it"
        );
        let later = now + Duration::from_secs(1800);
        assert!(!b.sessions().touch(&key, now, later).await.unwrap());
    }
    drop_tables(&a).await;
}

#[tokio::test]
async fn postgres_a_logout_where_the_clock_runs_ahead_still_ends_the_session() {
    a_logout_where_the_clock_runs_ahead_still_ends_the_session(postgres_pool(2).await).await;
}

#[tokio::test]
async fn mariadb_a_logout_where_the_clock_runs_ahead_still_ends_the_session() {
    a_logout_where_the_clock_runs_ahead_still_ends_the_session(mysql_pool(2).await).await;
}

#[tokio::test]
async fn sqlite_a_logout_where_the_clock_runs_ahead_still_ends_the_session() {
    a_logout_where_the_clock_runs_ahead_still_ends_the_session(sqlite_file_pool().await).await;
}

/// "Log out everywhere" waits on a row lock (another request touching another of the
/// subject's sessions) while a rotation writes its new id and deletes the old one, which
/// it finds, so it believes no logout came. A PostgreSQL statement sees only the rows
/// committed before it began; the new id must be deleted all the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_rotation_during_log_out_everywhere_never_survives_it() {
    use sqlx::{Connection as _, Executor as _};

    let (clock, shared) = manual_clock();
    let stores = crate::common::stores_on(postgres_pool(4).await, shared).await;
    let sessions = stores.sessions();
    let now = clock.now();
    let record = SessionRecord::new("alice", Vec::new(), now, now + Duration::from_secs(3600));
    let (busy, old, new) = (
        SessionId::generate().unwrap().key(),
        SessionId::generate().unwrap().key(),
        SessionId::generate().unwrap().key(),
    );
    sessions.create(&busy, &record).await.unwrap();
    sessions.create(&old, &record).await.unwrap();

    let mut hold = sqlx::PgConnection::connect(&crate::common::postgres_url())
        .await
        .unwrap();
    hold.execute("BEGIN").await.unwrap();
    let table = format!("{}sessions", stores.table_prefix());
    let busy_key = crate::common::bytes(crate::common::Literal::Postgres, busy.as_bytes());
    hold.execute(sqlx::AssertSqlSafe(format!(
        "SELECT 1 FROM {table} WHERE session_key = {busy_key} FOR UPDATE"
    )))
    .await
    .unwrap();
    let everywhere = {
        let sessions = sessions.clone();
        tokio::spawn(async move { sessions.delete_subject("alice").await })
    };
    let blocked = async |count: i64| pg_lock_waiters(stores.pool(), &table).await >= count;
    let started = std::time::Instant::now();
    while !blocked(1).await {
        assert!(started.elapsed() < Duration::from_secs(10), "never blocked");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // The rotation's store calls, as auth-session makes them: the new id first, then the
    // old one, which must still be there, or the new one goes too.
    let rotation = {
        let sessions = sessions.clone();
        tokio::spawn(async move {
            sessions.create(&new, &record).await?;
            if !sessions.delete(&old).await? {
                sessions.delete(&new).await?;
            }
            Ok::<_, auth_core::StoreError>(())
        })
    };
    // Done, or itself waiting on the logout's locks.
    while !rotation.is_finished() && !blocked(2).await {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    hold.execute("COMMIT").await.unwrap();
    rotation.await.unwrap().unwrap();
    everywhere.await.unwrap().unwrap();

    assert!(
        sessions.list_subject("alice").await.unwrap().is_empty(),
        "a session outlives log out everywhere"
    );
    drop_tables(&stores).await;
}

/// Two processes on one set of tables, the first one's clock 3 s ahead of the second's
/// (within the store's `CLOCK_SKEW`). A revocation whose end has passed by the first clock
/// but not by the second is still needed by the second: the first must write it, keep a
/// subject's "not before" when it revokes the subject again, and leave it to the purge
/// until it is over by every clock within the skew.
async fn a_node_whose_clock_runs_ahead_never_drops_a_revocation_the_other_still_needs<DB: Backend>(
    pool: Pool<DB>,
) where
    for<'c> &'c Pool<DB>: sqlx::Executor<'c, Database = DB>,
    <DB as sqlx::Database>::Arguments: sqlx::IntoArguments<DB>,
{
    let TwoNodes {
        ahead: (first, ahead),
        behind: (second, behind),
    } = two_nodes(&pool, Duration::from_secs(3)).await;
    let (a, b) = (first.revocations(), second.revocations());
    let now = behind.now();
    let until = now + Duration::from_secs(1);

    a.revoke("iss", "jti-1", until).await.unwrap();
    assert!(b.is_revoked("iss", "jti-1").await.unwrap(), "jti");
    let family = FamilyId::generate().unwrap();
    a.revoke_family("iss", &family, until).await.unwrap();
    let by_family = TokenRef::new("iss", "s", now).family(Some(&family));
    assert!(b.is_token_revoked(&by_family).await.unwrap(), "family");

    let later_not_before = now + Duration::from_millis(500);
    b.revoke_subject("alice", later_not_before, until)
        .await
        .unwrap();
    // The first node revokes alice again with an earlier "not before": merged, never
    // replaced as if the entry had ended.
    a.revoke_subject("alice", now, now + Duration::from_secs(600))
        .await
        .unwrap();
    let issued = TokenRef::new("iss", "alice", now + Duration::from_millis(100));
    assert!(b.is_token_revoked(&issued).await.unwrap(), "subject merge");

    assert_eq!(
        a.purge_expired().await.unwrap(),
        0,
        "nothing is over everywhere"
    );
    assert!(b.is_revoked("iss", "jti-1").await.unwrap(), "jti kept");
    assert!(b.is_token_revoked(&by_family).await.unwrap(), "family kept");
    ahead.advance(Duration::from_secs(10));
    assert_eq!(
        a.purge_expired().await.unwrap(),
        2,
        "over everywhere: purged"
    );
    drop_tables(&first).await;
}

#[tokio::test]
async fn postgres_a_node_whose_clock_runs_ahead_never_drops_a_revocation_the_other_still_needs() {
    a_node_whose_clock_runs_ahead_never_drops_a_revocation_the_other_still_needs(
        postgres_pool(2).await,
    )
    .await;
}

#[tokio::test]
async fn mariadb_a_node_whose_clock_runs_ahead_never_drops_a_revocation_the_other_still_needs() {
    a_node_whose_clock_runs_ahead_never_drops_a_revocation_the_other_still_needs(
        mysql_pool(2).await,
    )
    .await;
}

#[tokio::test]
async fn sqlite_a_node_whose_clock_runs_ahead_never_drops_a_revocation_the_other_still_needs() {
    a_node_whose_clock_runs_ahead_never_drops_a_revocation_the_other_still_needs(
        sqlite_file_pool().await,
    )
    .await;
}

/// The purge, run by a process whose clock is 3 s ahead, keeps what a process behind still
/// needs: a used refresh token near its end (a replay there is reuse, which ends the
/// family, never an unknown token that leaves the thief's successor alive) and a throttle
/// window near its end (its count goes on).
async fn a_purge_by_a_node_ahead_keeps_what_a_node_behind_still_needs<DB: Backend>(pool: Pool<DB>)
where
    for<'c> &'c Pool<DB>: sqlx::Executor<'c, Database = DB>,
    <DB as sqlx::Database>::Arguments: sqlx::IntoArguments<DB>,
{
    let TwoNodes {
        ahead: (first, ahead),
        behind: (second, behind),
    } = two_nodes(&pool, Duration::from_secs(3)).await;
    let minute = Duration::from_secs(60);

    let now = behind.now();
    let (used, next) = (
        RefreshToken::generate().unwrap(),
        RefreshToken::generate().unwrap(),
    );
    let record = RefreshRecord::new(
        FamilyId::generate().unwrap(),
        "alice",
        vec![],
        now,
        now + minute,
    );
    let refresh = second.refresh_tokens();
    refresh.insert(&used.hash(), &record).await.unwrap();
    let rotation = refresh
        .rotate(&used.hash(), &next.hash(), now, now + 10 * minute)
        .await
        .unwrap();
    assert!(matches!(rotation, Rotation::Rotated(_)));

    let key = ThrottleKey::username("alice");
    let throttle = second.throttle();
    for _ in 0..5 {
        throttle.hit(&key, minute).await.unwrap();
    }

    // 57 s on: the used token and the window have 3 s left behind, none ahead.
    behind.advance(Duration::from_secs(57));
    ahead.advance(Duration::from_secs(57));
    first.refresh_tokens().purge_expired().await.unwrap();
    first.throttle().purge_expired().await.unwrap();

    let later = behind.now();
    let third = RefreshToken::generate().unwrap();
    assert!(
        matches!(
            refresh
                .rotate(&used.hash(), &third.hash(), later, later + minute)
                .await
                .unwrap(),
            Rotation::Reused { .. }
        ),
        "a replay of the used token is reuse"
    );
    assert_eq!(
        throttle.hit(&key, minute).await.unwrap().count,
        6,
        "the window counts on"
    );
    drop_tables(&first).await;
}

#[tokio::test]
async fn postgres_a_purge_by_a_node_ahead_keeps_what_a_node_behind_still_needs() {
    a_purge_by_a_node_ahead_keeps_what_a_node_behind_still_needs(postgres_pool(2).await).await;
}

#[tokio::test]
async fn mariadb_a_purge_by_a_node_ahead_keeps_what_a_node_behind_still_needs() {
    a_purge_by_a_node_ahead_keeps_what_a_node_behind_still_needs(mysql_pool(2).await).await;
}

#[tokio::test]
async fn sqlite_a_purge_by_a_node_ahead_keeps_what_a_node_behind_still_needs() {
    a_purge_by_a_node_ahead_keeps_what_a_node_behind_still_needs(sqlite_file_pool().await).await;
}
