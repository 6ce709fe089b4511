//! Unreachable databases are `Unavailable`, broken rows are `Corrupt`: never a panic, never
//! an empty answer.

use std::time::Duration;

use auth_core::store::{SessionRecord, ThrottleKey, TokenRef};
use auth_core::{
    Clock, FamilyId, RefreshToken, RefreshTokenStore, RevocationStore, SessionId, SessionStore,
    StoreError, ThrottleStore, unix_millis,
};
use sqlx::Pool;
use store_sql::{Backend, ConfigError, InvalidPrefix, SqlStores, TablePrefix};

use crate::common::{
    Literal, bytes, drop_tables, exec_raw, fresh_prefix, manual_clock, mysql_pool, mysql_url,
    postgres_pool, postgres_url, sqlite_memory_pool,
};

fn unavailable<T: std::fmt::Debug>(result: Result<T, StoreError>) {
    assert!(
        matches!(result, Err(StoreError::Unavailable(_))),
        "expected Unavailable, got {result:?}"
    );
}

async fn every_call_is_unavailable<DB: Backend>(stores: SqlStores<DB>) {
    let key = SessionId::generate().unwrap().key();
    let now = std::time::SystemTime::now();
    let sessions = stores.sessions();
    unavailable(sessions.load(&key).await);
    unavailable(
        sessions
            .create(&key, &SessionRecord::new("s", vec![], now, now))
            .await,
    );
    unavailable(sessions.list_subject("s").await);
    let revocations = stores.revocations();
    unavailable(revocations.is_revoked("i", "j").await);
    let family = FamilyId::generate().unwrap();
    let token = TokenRef::new("i", "s", now)
        .jti(Some("j"))
        .family(Some(&family));
    unavailable(revocations.is_token_revoked(&token).await);
    unavailable(
        revocations
            .revoke_family("i", &family, now + Duration::from_secs(60))
            .await,
    );
    let hash = RefreshToken::generate().unwrap().hash();
    unavailable(stores.refresh_tokens().rotate(&hash, &hash, now, now).await);
    let key = ThrottleKey::username("u");
    unavailable(stores.throttle().hit(&key, Duration::from_secs(60)).await);
    unavailable(stores.throttle().reset(&key).await);
    unavailable(stores.migrate().await);
}

#[tokio::test]
async fn refused_connections_are_unavailable() {
    let pg = sqlx::postgres::PgPoolOptions::new()
        .acquire_timeout(Duration::from_millis(200))
        .connect_lazy("postgres://postgres@127.0.0.1:1/test")
        .unwrap();
    every_call_is_unavailable(SqlStores::builder(pg).build()).await;
    let my = sqlx::mysql::MySqlPoolOptions::new()
        .acquire_timeout(Duration::from_millis(200))
        .connect_lazy("mysql://root@127.0.0.1:1/test")
        .unwrap();
    every_call_is_unavailable(SqlStores::builder(my).build()).await;
    let missing = format!(
        "sqlite://{}/no/such/dir/auth.db",
        env!("CARGO_TARGET_TMPDIR")
    );
    let result = store_sql::connect::<sqlx::Sqlite>(&missing).await;
    assert!(
        matches!(
            result,
            Err(ConfigError::Unreachable(StoreError::Unavailable(_)))
        ),
        "{:?}",
        result.map(|_| ())
    );
}

#[tokio::test]
async fn setup_failures_are_config_errors_of_one_shape() {
    let refused = store_sql::connect::<sqlx::Sqlite>("sqlite::memory:?mode=sideways").await;
    assert!(
        matches!(refused, Err(ConfigError::InvalidConnection(_))),
        "{:?}",
        refused.map(|_| ())
    );
    fn prefix(text: &str) -> Result<TablePrefix, ConfigError> {
        Ok(TablePrefix::new(text)?)
    }
    assert!(matches!(
        prefix("auth tables"),
        Err(ConfigError::InvalidPrefix(InvalidPrefix::Character))
    ));
}

/// `url` with its user and password replaced: `scheme://user:password@host...`.
fn with_credentials(url: &str, user: &str, password: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("a URL");
    let host = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
    format!("{scheme}://{user}:{password}@{host}")
}

/// Debug, Display and every source's Display of a setup error.
fn everything_said(error: &ConfigError) -> String {
    let mut said = format!("{error:?}\n{error}");
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        said.push_str(&format!("\n{cause}"));
        source = cause.source();
    }
    said
}

#[tokio::test]
async fn setup_errors_never_carry_the_password() {
    const SECRET: &str = "pw-4f9c2e7b1d";
    let postgres = with_credentials(&postgres_url(), "authkit_nobody", SECRET);
    let mysql = with_credentials(&mysql_url(), "authkit_nobody", SECRET);
    let bad_port = |url: &str| {
        let (head, _) = url.rsplit_once(':').expect("a port");
        format!("{head}:notaport/test")
    };
    // The server refuses the user, the URL's port does not parse, an option is unknown.
    for url in [
        postgres.clone(),
        bad_port(&postgres),
        format!("{postgres}?sslmode=sideways"),
    ] {
        let error = store_sql::connect::<sqlx::Postgres>(&url)
            .await
            .unwrap_err();
        let said = everything_said(&error);
        assert!(!said.contains(SECRET), "{url}: {said}");
    }
    for url in [
        mysql.clone(),
        bad_port(&mysql),
        format!("{mysql}?ssl-mode=sideways"),
    ] {
        let error = store_sql::connect::<sqlx::MySql>(&url).await.unwrap_err();
        let said = everything_said(&error);
        assert!(!said.contains(SECRET), "{url}: {said}");
    }
}

#[tokio::test]
async fn a_closed_pool_is_unavailable() {
    let pool = sqlite_memory_pool().await;
    let stores = SqlStores::builder(pool.clone()).build();
    stores.migrate().await.unwrap();
    pool.close().await;
    every_call_is_unavailable(stores).await;
}

#[tokio::test]
async fn an_exhausted_pool_times_out_as_unavailable() {
    let pool = sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_millis(100))
        .connect("sqlite::memory:")
        .await
        .unwrap();
    let stores = SqlStores::builder(pool.clone()).build();
    stores.migrate().await.unwrap();
    let _held = pool.acquire().await.unwrap();
    unavailable(
        stores
            .sessions()
            .load(&SessionId::generate().unwrap().key())
            .await,
    );
}

fn corrupt<T: std::fmt::Debug>(result: Result<T, StoreError>, what: &str) {
    assert!(
        matches!(result, Err(StoreError::Corrupt(_))),
        "{what}: expected Corrupt, got {result:?}"
    );
}

async fn broken_rows_are_corrupt<DB: Backend>(pool: Pool<DB>, style: Literal, mysql: bool)
where
    for<'c> &'c Pool<DB>: sqlx::Executor<'c, Database = DB>,
    <DB as sqlx::Database>::Arguments: sqlx::IntoArguments<DB>,
{
    let (clock, shared) = manual_clock();
    let stores = SqlStores::builder(pool.clone())
        .prefix(fresh_prefix())
        .clock(shared)
        .build();
    stores.migrate().await.unwrap();
    let p = stores.table_prefix().clone();
    let now = unix_millis(clock.now());
    let later = now + 60_000;
    let b = |v: &[u8]| bytes(style, v);
    let session = |key: &[u8], subject: &[u8], version: i64| {
        format!(
            "INSERT INTO {p}sessions (session_key, subject, data, created_at, last_seen_at, \
             expires_at, version) VALUES ({}, {}, {}, {now}, {now}, {later}, {version})",
            b(key),
            b(subject),
            b(b"{}")
        )
    };
    let sessions = stores.sessions();

    // A subject that is not UTF-8.
    let bad_subject = SessionId::generate().unwrap().key();
    exec_raw(&pool, session(bad_subject.as_bytes(), b"\xff\xfe", 0)).await;
    corrupt(sessions.load(&bad_subject).await, "non-UTF-8 subject");

    // A negative version.
    let bad_version = SessionId::generate().unwrap().key();
    exec_raw(&pool, session(bad_version.as_bytes(), b"v", -1)).await;
    corrupt(sessions.load(&bad_version).await, "negative version");

    // A key of the wrong length, found by listing its subject. (MySQL's BINARY(32) pads
    // a short value to 32 bytes: there, the column itself rules this out.)
    if !mysql {
        exec_raw(&pool, session(&[1; 31], b"short-key", 0)).await;
        corrupt(sessions.list_subject("short-key").await, "31-byte key");
    }

    // A refresh token whose `used` flag is neither 0 nor 1.
    let token = RefreshToken::generate().unwrap().hash();
    exec_raw(
        &pool,
        format!(
            "INSERT INTO {p}refresh_families (family, subject, expires_at) VALUES ({}, {}, {later})",
            b(b"fam"),
            b(b"s")
        ),
    )
    .await;
    exec_raw(
        &pool,
        format!(
            "INSERT INTO {p}refresh_tokens (token_hash, family, subject, data, issued_at, \
             expires_at, used) VALUES ({}, {}, {}, {}, {now}, {later}, 7)",
            b(token.as_bytes()),
            b(b"fam"),
            b(b"s"),
            b(b"")
        ),
    )
    .await;
    let new = RefreshToken::generate().unwrap().hash();
    let t = clock.now();
    corrupt(
        stores.refresh_tokens().rotate(&token, &new, t, t).await,
        "used = 7",
    );
    // Nothing was half-done: the new token was not stored.
    assert!(matches!(
        stores.refresh_tokens().rotate(&new, &token, t, t).await,
        Ok(auth_core::store::Rotation::Unknown)
    ));

    // A family id outside the alphabet.
    let token = RefreshToken::generate().unwrap().hash();
    exec_raw(
        &pool,
        format!(
            "INSERT INTO {p}refresh_families (family, subject, expires_at) VALUES ({}, {}, {later})",
            b(b"no spaces"),
            b(b"s")
        ),
    )
    .await;
    exec_raw(
        &pool,
        format!(
            "INSERT INTO {p}refresh_tokens (token_hash, family, subject, data, issued_at, \
             expires_at, used) VALUES ({}, {}, {}, {}, {now}, {later}, 0)",
            b(token.as_bytes()),
            b(b"no spaces"),
            b(b"s"),
            b(b"")
        ),
    )
    .await;
    corrupt(
        stores.refresh_tokens().rotate(&token, &new, t, t).await,
        "malformed family",
    );

    // The healthy rows around them still work.
    assert!(!stores.revocations().is_revoked("i", "j").await.unwrap());
    drop_tables(&stores).await;
}

#[tokio::test]
async fn broken_rows_are_corrupt_on_postgres() {
    broken_rows_are_corrupt(postgres_pool(2).await, Literal::Postgres, false).await;
}

#[tokio::test]
async fn broken_rows_are_corrupt_on_mariadb() {
    broken_rows_are_corrupt(mysql_pool(2).await, Literal::XQuoted, true).await;
}

#[tokio::test]
async fn broken_rows_are_corrupt_on_sqlite() {
    broken_rows_are_corrupt(sqlite_memory_pool().await, Literal::XQuoted, false).await;
}

/// SQLite keeps whatever type a value was written with: text or a number where bytes
/// belong is a broken row too.
#[tokio::test]
async fn mistyped_sqlite_values_are_corrupt() {
    let pool = sqlite_memory_pool().await;
    let (clock, shared) = manual_clock();
    let stores = SqlStores::builder(pool.clone()).clock(shared).build();
    stores.migrate().await.unwrap();
    let now = unix_millis(clock.now());
    let key = SessionId::generate().unwrap().key();
    let hex: String = key.as_bytes().iter().map(|b| format!("{b:02x}")).collect();
    exec_raw(
        &pool,
        format!(
            "INSERT INTO authkit_sessions VALUES (X'{hex}', X'73', 12345, {now}, {now}, {}, 0)",
            now + 60_000
        ),
    )
    .await;
    corrupt(stores.sessions().load(&key).await, "an integer as data");
    exec_raw(
        &pool,
        "UPDATE authkit_sessions SET data = X'00', created_at = 'soon'".to_owned(),
    )
    .await;
    corrupt(stores.sessions().load(&key).await, "text as a time");
}

/// `is_token_revoked` answers from all three tables in its one statement, with or without
/// a `jti` and a family.
#[tokio::test]
async fn one_statement_answers_every_revocation_kind() {
    let (clock, shared) = manual_clock();
    let stores = SqlStores::builder(sqlite_memory_pool().await)
        .clock(shared)
        .build();
    stores.migrate().await.unwrap();
    let revocations = stores.revocations();
    // A whole millisecond, as the store keeps it: "issued at the instant" is then exact.
    let now = auth_core::conformance::now_ms(&clock);
    let until = now + Duration::from_secs(60);
    let before = now - Duration::from_millis(1);
    let (family, other) = (FamilyId::generate().unwrap(), FamilyId::generate().unwrap());
    let revoked = async |token: TokenRef<'_>| revocations.is_token_revoked(&token).await.unwrap();

    revocations.revoke_subject("sub", now, until).await.unwrap();
    assert!(revoked(TokenRef::new("i", "sub", before).jti(Some("j"))).await);
    assert!(!revoked(TokenRef::new("i", "sub", now).jti(Some("j"))).await);
    assert!(revoked(TokenRef::new("i", "sub", before)).await);
    assert!(!revoked(TokenRef::new("i", "sub", now)).await);

    revocations.revoke("i", "dead", until).await.unwrap();
    revocations
        .revoke_family("i", &family, until)
        .await
        .unwrap();
    for (token, expected) in [
        (TokenRef::new("i", "x", now).jti(Some("dead")), true),
        (TokenRef::new("i", "x", now).family(Some(&family)), true),
        (
            TokenRef::new("i", "x", now)
                .jti(Some("alive"))
                .family(Some(&family)),
            true,
        ),
        (
            TokenRef::new("i", "x", now)
                .jti(Some("alive"))
                .family(Some(&other)),
            false,
        ),
        (TokenRef::new("i", "x", now), false),
        // A family id is not a `jti`, nor a `jti` a family id.
        (
            TokenRef::new("i", "x", now).jti(Some(family.as_str())),
            false,
        ),
    ] {
        assert_eq!(revoked(token).await, expected, "{token:?}");
    }
}
