//! A store call the database does not answer within the store's timeout is abandoned and
//! answered `Unavailable` at once, so a request fails closed instead of hanging; the
//! connection it was on never serves another call, and nothing is left half done.

use std::fmt::Debug;
use std::time::{Duration, Instant};

use auth_core::store::{RefreshRecord, Rotation, SessionRecord, TokenRef};
use auth_core::{
    Clock, FamilyId, RefreshToken, RefreshTokenStore, RevocationStore, SessionId, SessionStore,
    StoreError,
};
use sqlx::Pool;
use store_sql::{Backend, SqlStores};

use crate::common::{
    drop_tables, fresh_prefix, manual_clock, mysql_pool, postgres_pool, sqlite_file_pool,
};

/// The timeout the stores under test get.
const TIMEOUT: Duration = Duration::from_millis(200);

/// What "at once" means here: the timeout plus room for a busy machine, far below the
/// waits a call would otherwise sit through (a PostgreSQL lock: for ever; InnoDB: 50 s;
/// SQLite's busy timeout: 5 s).
const PROMPTLY: Duration = Duration::from_secs(2);

/// Runs `call`, which must be blocked by the database, and checks that it answers
/// `Unavailable` after the timeout and well before anything else would end it.
async fn unavailable_promptly<T: Debug>(
    what: &str,
    call: impl Future<Output = Result<T, StoreError>>,
) {
    let started = Instant::now();
    let result = call.await;
    let took = started.elapsed();
    assert!(
        matches!(result, Err(StoreError::Unavailable(_))),
        "{what}: expected Unavailable, got {result:?}"
    );
    assert!(
        took >= TIMEOUT,
        "{what}: answered in {took:?}, before the timeout"
    );
    assert!(took < PROMPTLY, "{what}: answered only after {took:?}");
}

/// Runs `call`, which must not be blocked, and checks that it answers at once.
async fn answers_promptly<T>(what: &str, call: impl Future<Output = T>) -> T {
    let started = Instant::now();
    let value = call.await;
    let took = started.elapsed();
    assert!(took < PROMPTLY, "{what}: answered only after {took:?}");
    value
}

/// A load through a pool whose one connection was just closed (given up on by a timed-out
/// call): it must not wait for the other call's locks. Opening the new connection counts
/// against the store's short timeout, and on a loaded machine can take longer, so an
/// attempt that times out is made again, twice at most; a load the lock blocked would
/// time out every time, since the lock is held throughout.
async fn load_on_a_fresh_connection(
    sessions: &impl SessionStore,
    key: &auth_core::SessionKey,
) -> Result<Option<SessionRecord>, StoreError> {
    for _ in 0..2 {
        match answers_promptly("load", sessions.load(key)).await {
            Err(StoreError::Unavailable(_)) => continue,
            answer => return answer,
        }
    }
    answers_promptly("load", sessions.load(key)).await
}

/// How a second connection locks a whole table against reads and writes, and lets go.
struct TableLock {
    lock: &'static str,
    unlock: &'static str,
}

const POSTGRES_TABLE_LOCK: TableLock = TableLock {
    lock: "BEGIN; LOCK TABLE {t} IN ACCESS EXCLUSIVE MODE",
    unlock: "ROLLBACK",
};

const MARIADB_TABLE_LOCK: TableLock = TableLock {
    lock: "LOCK TABLES {t} WRITE",
    unlock: "UNLOCK TABLES",
};

/// Runs `sql` as text on `conn` (test-made text only).
async fn raw<DB: Backend>(conn: &mut DB::Connection, sql: String)
where
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
{
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.clone()))
        .execute(conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// A second connection holds row locks, then a table lock; the store's writes, its
/// refresh rotation and its revocation check each time out, fast. The store's pool has one
/// connection, so every call that answers while the locks are still held proves that the
/// abandoned connection was replaced, not handed on.
async fn locked_rows_and_tables_time_out<DB: Backend>(
    store_pool: Pool<DB>,
    holder_pool: Pool<DB>,
    table_lock: TableLock,
) where
    for<'c> &'c Pool<DB>: sqlx::Executor<'c, Database = DB>,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    <DB as sqlx::Database>::Arguments: sqlx::IntoArguments<DB>,
{
    let (clock, shared) = manual_clock();
    let prefix = fresh_prefix();
    let hasty = SqlStores::builder(store_pool.clone())
        .prefix(prefix.clone())
        .clock(shared.clone())
        .timeout(TIMEOUT)
        .build();
    assert_eq!(hasty.timeout(), TIMEOUT);
    hasty.migrate().await.unwrap();
    // The same tables with the default timeout, to look at the outcome afterwards.
    let patient = SqlStores::builder(store_pool)
        .prefix(prefix)
        .clock(shared)
        .build();
    assert_eq!(patient.timeout(), store_sql::DEFAULT_TIMEOUT);

    let now = clock.now();
    let later = now + Duration::from_secs(3600);
    let key = SessionId::generate().unwrap().key();
    let session = SessionRecord::new("locked", b"{}".to_vec(), now, later);
    hasty.sessions().create(&key, &session).await.unwrap();
    let token = RefreshToken::generate().unwrap().hash();
    let family = FamilyId::generate().unwrap();
    let record = RefreshRecord::new(family.clone(), "locked", vec![], now, later);
    hasty
        .refresh_tokens()
        .insert(&token, &record)
        .await
        .unwrap();

    let p = hasty.table_prefix().clone();
    let mut holder = holder_pool.acquire().await.unwrap();

    // Row locks, as a long transaction elsewhere would hold them.
    raw::<DB>(&mut holder, "BEGIN".into()).await;
    raw::<DB>(
        &mut holder,
        format!("SELECT session_key FROM {p}sessions FOR UPDATE"),
    )
    .await;
    raw::<DB>(
        &mut holder,
        format!("SELECT family FROM {p}refresh_families FOR UPDATE"),
    )
    .await;
    let sessions = hasty.sessions();
    let mut saved = session.clone();
    saved.data = b"{\"changed\":true}".to_vec();
    unavailable_promptly("save", sessions.save(&key, &saved)).await;
    unavailable_promptly("touch", sessions.touch(&key, now, later)).await;
    let next = RefreshToken::generate().unwrap().hash();
    unavailable_promptly(
        "rotate",
        hasty.refresh_tokens().rotate(&token, &next, now, later),
    )
    .await;
    // Reads do not wait for row locks: the one pooled connection is a fresh one.
    let loaded = load_on_a_fresh_connection(&sessions, &key).await;
    assert_eq!(loaded.unwrap().map(|r| r.subject), Some("locked".into()));
    raw::<DB>(&mut holder, "ROLLBACK".into()).await;

    // A table lock that stops reads too: the revocation check fails closed.
    let revocations = hasty.revocations();
    let checked = TokenRef::new("iss", "locked", now)
        .jti(Some("jti"))
        .family(Some(&family));
    raw::<DB>(
        &mut holder,
        table_lock
            .lock
            .replace("{t}", &format!("{p}revoked_tokens")),
    )
    .await;
    unavailable_promptly("is_token_revoked", revocations.is_token_revoked(&checked)).await;
    unavailable_promptly("revoke", revocations.revoke("iss", "jti", later)).await;
    let loaded = load_on_a_fresh_connection(&sessions, &key).await;
    assert!(loaded.unwrap().is_some());
    raw::<DB>(&mut holder, table_lock.unlock.into()).await;
    drop(holder);

    // Nothing was left half done: the abandoned rotation never committed, so the token
    // is still unused and rotates once.
    let rotated = answers_promptly(
        "rotate after",
        patient.refresh_tokens().rotate(&token, &next, now, later),
    )
    .await;
    assert!(matches!(rotated, Ok(Rotation::Rotated(_))), "{rotated:?}");
    let revoked = answers_promptly(
        "is_token_revoked after",
        patient.revocations().is_token_revoked(&checked),
    )
    .await;
    // The abandoned `revoke` may or may not have reached the table: an abandoned write's
    // outcome is unknown. Either answer is fine; an error is not.
    revoked.unwrap();
    drop_tables(&patient).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locked_rows_and_tables_time_out_on_postgres() {
    locked_rows_and_tables_time_out(
        postgres_pool(1).await,
        postgres_pool(1).await,
        POSTGRES_TABLE_LOCK,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locked_rows_and_tables_time_out_on_mariadb() {
    locked_rows_and_tables_time_out(mysql_pool(1).await, mysql_pool(1).await, MARIADB_TABLE_LOCK)
        .await;
}

/// SQLite: a second connection holds the file's write lock; a write times out long before
/// the driver's busy timeout, and the store works again once the lock is gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_write_lock_times_out_on_sqlite() {
    let pool = sqlite_file_pool().await;
    let (clock, shared) = manual_clock();
    let stores = SqlStores::builder(pool.clone())
        .prefix(fresh_prefix())
        .clock(shared)
        .timeout(TIMEOUT)
        .build();
    stores.migrate().await.unwrap();
    let sessions = stores.sessions();
    let now = clock.now();
    let later = now + Duration::from_secs(3600);
    let key = SessionId::generate().unwrap().key();
    let record = SessionRecord::new("locked", vec![], now, later);
    sessions.create(&key, &record).await.unwrap();

    let mut holder = pool.acquire().await.unwrap();
    raw::<sqlx::Sqlite>(&mut holder, "BEGIN IMMEDIATE".into()).await;
    unavailable_promptly("touch", sessions.touch(&key, now, later)).await;
    let loaded = answers_promptly("load", sessions.load(&key)).await;
    assert!(loaded.unwrap().is_some(), "readers are not blocked");
    raw::<sqlx::Sqlite>(&mut holder, "ROLLBACK".into()).await;
    drop(holder);

    let mut touched = Err(StoreError::Conflict);
    // The abandoned statement finishes on its connection first; give it a moment.
    for _ in 0..20 {
        touched = sessions.touch(&key, now, later).await;
        if touched.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(touched.unwrap());
}

/// Waiting for a connection counts against the timeout too, whatever the pool's own
/// acquire timeout says.
#[tokio::test]
async fn an_exhausted_pool_answers_within_the_timeout() {
    let pool = sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(30))
        .connect("sqlite::memory:")
        .await
        .unwrap();
    let stores = SqlStores::builder(pool.clone()).timeout(TIMEOUT).build();
    stores.migrate().await.unwrap();
    let held = pool.acquire().await.unwrap();
    let key = SessionId::generate().unwrap().key();
    unavailable_promptly("load", stores.sessions().load(&key)).await;
    drop(held);
    let loaded = answers_promptly("load after", stores.sessions().load(&key)).await;
    assert!(loaded.unwrap().is_none());
}

/// Stores on a server that accepts connections and never answers a byte: the stalled
/// backend of auth-core's bounded-time clauses, for both network databases.
mod stalled {
    use super::*;

    async fn silent_server() -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
            }
        });
        address.to_string()
    }

    async fn stores<DB: Backend>(scheme: &str) -> SqlStores<DB> {
        let url = format!("{scheme}://user@{}/db", silent_server().await);
        let pool = sqlx::pool::PoolOptions::<DB>::new()
            .connect_lazy(&url)
            .unwrap();
        SqlStores::builder(pool).timeout(TIMEOUT).build()
    }

    mod postgres {
        use super::*;
        use sqlx::Postgres;

        async fn sessions() -> impl SessionStore {
            stores::<Postgres>("postgres").await.sessions()
        }
        async fn revocations() -> impl RevocationStore {
            stores::<Postgres>("postgres").await.revocations()
        }
        async fn refresh() -> impl RefreshTokenStore {
            stores::<Postgres>("postgres").await.refresh_tokens()
        }
        async fn throttle() -> impl auth_core::ThrottleStore {
            stores::<Postgres>("postgres").await.throttle()
        }

        auth_core::unavailable_conformance! {
            sessions: sessions,
            revocations: revocations,
            refresh: refresh,
            throttle: throttle,
        }
    }

    mod mysql {
        use super::*;
        use sqlx::MySql;

        async fn sessions() -> impl SessionStore {
            stores::<MySql>("mysql").await.sessions()
        }
        async fn revocations() -> impl RevocationStore {
            stores::<MySql>("mysql").await.revocations()
        }
        async fn refresh() -> impl RefreshTokenStore {
            stores::<MySql>("mysql").await.refresh_tokens()
        }
        async fn throttle() -> impl auth_core::ThrottleStore {
            stores::<MySql>("mysql").await.throttle()
        }

        auth_core::unavailable_conformance! {
            sessions: sessions,
            revocations: revocations,
            refresh: refresh,
            throttle: throttle,
        }
    }
}
