//! `authctl sessions` against real stores: Redis, PostgreSQL, MariaDB and a SQLite file.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests: a panic is a failed test.

mod common;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use auth_core::store::{RefreshRecord, Rotation, SessionRecord, TokenRef};
use auth_core::{
    FamilyId, RefreshToken, RefreshTokenStore, RevocationStore, SessionId, SessionStore,
};
use common::{Dir, fails, ok_json};
use store_redis::{RedisConnection, RedisStoreBuilder};
use store_sql::sqlx::{MySql, Postgres, Sqlite};
use store_sql::{Backend, SqlStores, TablePrefix};

fn unique(label: &str) -> String {
    let id = SessionId::generate().unwrap();
    format!("{label}_{}_", &id.key().to_hex()[..10])
}

fn env_or(variable: &str, default: &str) -> String {
    std::env::var(variable).unwrap_or_else(|_| default.to_owned())
}

/// Two sessions of alice and one of bob; returns alice's ids.
async fn seed(store: &dyn SessionStore) -> Vec<SessionId> {
    let now = SystemTime::now();
    let mut alices = Vec::new();
    for subject in ["alice", "alice", "bob"] {
        let id = SessionId::generate().unwrap();
        let record =
            SessionRecord::new(subject, b"{}".to_vec(), now, now + Duration::from_secs(600));
        store.create(&id.key(), &record).await.unwrap();
        if subject == "alice" {
            alices.push(id);
        }
    }
    alices
}

/// The stores of one deployment, as the service that `authctl` acts on opens them.
struct Stores {
    sessions: Arc<dyn SessionStore>,
    refresh: Arc<dyn RefreshTokenStore>,
    revocations: Arc<dyn RevocationStore>,
}

/// A live refresh token of `subject`, in a family of its own.
async fn refresh_token_of(store: &dyn RefreshTokenStore, subject: &str) -> RefreshToken {
    let now = SystemTime::now();
    let token = RefreshToken::generate().unwrap();
    let family = FamilyId::generate().unwrap();
    let record = RefreshRecord::new(
        family,
        subject,
        Vec::new(),
        now,
        now + Duration::from_secs(600),
    );
    store.insert(&token.hash(), &record).await.unwrap();
    token
}

/// list, revoke one by handle, revoke-all (sessions and tokens): through the binary,
/// checked in the stores.
async fn exercise(url: &str, prefix: &str, stores: Stores) {
    let store = stores.sessions;
    let alices = seed(&*store).await;
    let alice_refresh = refresh_token_of(&*stores.refresh, "alice").await;
    let bob_refresh = refresh_token_of(&*stores.refresh, "bob").await;
    let issued_before = SystemTime::now() - Duration::from_secs(1);
    let base = ["sessions", "list", "--store", url, "--key-prefix", prefix];
    let listed = ok_json(&[&base[..], &["--subject", "alice"]].concat());
    let sessions = listed["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 2);
    let text = listed.to_string();
    for id in &alices {
        assert!(
            !text.contains(id.expose_secret()),
            "a session id was printed"
        );
    }
    let handle = sessions[0]["handle"].as_str().unwrap().to_owned();
    assert!(alices.iter().any(|id| id.key().to_hex() == handle));
    for field in ["created_at", "last_seen_at", "expires_at"] {
        assert!(
            sessions[0][field].as_u64().unwrap() > 1_700_000_000,
            "{field}"
        );
    }

    let revoked = ok_json(&[
        "sessions",
        "revoke",
        "--store",
        url,
        "--key-prefix",
        prefix,
        &handle,
    ]);
    assert_eq!(revoked["revoked"], 1);
    let error = fails(&[
        "sessions",
        "revoke",
        "--store",
        url,
        "--key-prefix",
        prefix,
        &handle,
    ]);
    assert!(error.contains("no live session"), "{error}");
    let error = fails(&[
        "sessions",
        "revoke",
        "--store",
        url,
        "--key-prefix",
        prefix,
        "zz",
    ]);
    assert!(error.contains("64 hex"), "{error}");

    let all = ok_json(&[
        "sessions",
        "revoke-all",
        "--store",
        url,
        "--key-prefix",
        prefix,
        "--subject",
        "alice",
    ]);
    assert_eq!(all["revoked"], 1);
    assert_eq!(all["refresh_tokens"], 1);
    assert!(store.list_subject("alice").await.unwrap().is_empty());
    assert_eq!(
        store.list_subject("bob").await.unwrap().len(),
        1,
        "bob keeps his session"
    );
    // "Log out everywhere" ends the tokens too: the refresh family, and every access
    // token issued so far.
    let rotate = |token: &RefreshToken| {
        let refresh = stores.refresh.clone();
        let (old, now) = (token.hash(), SystemTime::now());
        async move {
            let next = RefreshToken::generate().unwrap().hash();
            refresh
                .rotate(&old, &next, now, now + Duration::from_secs(600))
                .await
                .unwrap()
        }
    };
    assert!(matches!(
        rotate(&alice_refresh).await,
        Rotation::Unknown | Rotation::Reused { .. }
    ));
    assert!(
        matches!(rotate(&bob_refresh).await, Rotation::Rotated(_)),
        "bob keeps his tokens"
    );
    let access = |subject| TokenRef::new("https://auth.example", subject, issued_before);
    assert!(
        stores
            .revocations
            .is_token_revoked(&access("alice"))
            .await
            .unwrap()
    );
    assert!(
        !stores
            .revocations
            .is_token_revoked(&access("bob"))
            .await
            .unwrap()
    );
}

async fn sql<DB>(url: &str, label: &str)
where
    DB: Backend,
    for<'c> &'c mut DB::Connection: store_sql::sqlx::Executor<'c, Database = DB>,
    for<'q> <DB as store_sql::sqlx::Database>::Arguments: store_sql::sqlx::IntoArguments<DB>,
{
    let prefix = unique("cli");
    let pool = store_sql::connect::<DB>(url).await.unwrap_or_else(|e| {
        panic!("{label} is not reachable at {url} ({e}): start it or set its URL variable")
    });
    let stores = SqlStores::builder(pool.clone())
        .prefix(TablePrefix::new(&prefix).unwrap())
        .build();
    stores.migrate().await.unwrap();
    let opened = Stores {
        sessions: Arc::new(stores.sessions()),
        refresh: Arc::new(stores.refresh_tokens()),
        revocations: Arc::new(stores.revocations()),
    };
    exercise(url, &prefix, opened).await;
    // Leave the shared test database as it was.
    for table in [
        "sessions",
        "refresh_tokens",
        "refresh_families",
        "revoked_tokens",
        "revoked_families",
        "revoked_subjects",
        "throttle_windows",
        "schema_migrations",
    ] {
        // The prefix passed TablePrefix's identifier check; the names are our own.
        let statement = format!("DROP TABLE IF EXISTS {prefix}{table}");
        store_sql::sqlx::query(store_sql::sqlx::AssertSqlSafe(statement))
            .execute(&pool)
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn sessions_on_redis() {
    let url = env_or("REDIS_URL", "redis://127.0.0.1:6379");
    let prefix = unique("cli");
    let connection = RedisConnection::connect(&url).await.unwrap_or_else(|e| {
        panic!("Redis is not reachable at {url} ({e}): start it or set REDIS_URL")
    });
    let builder = RedisStoreBuilder::new(connection).prefix(prefix.as_str());
    let stores = Stores {
        sessions: Arc::new(builder.sessions().unwrap()),
        refresh: Arc::new(builder.refresh_tokens().unwrap()),
        revocations: Arc::new(builder.revocations().unwrap()),
    };
    exercise(&url, &prefix, stores).await;
}

#[tokio::test]
async fn sessions_on_postgres() {
    let url = env_or("POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test");
    sql::<Postgres>(&url, "PostgreSQL (POSTGRES_URL)").await;
}

#[tokio::test]
async fn sessions_on_mariadb() {
    let url = env_or("MYSQL_URL", "mysql://root@127.0.0.1:3306/test");
    sql::<MySql>(&url, "MariaDB (MYSQL_URL)").await;
}

#[tokio::test]
async fn sessions_on_a_sqlite_file() {
    let dir = Dir::new();
    let url = format!("sqlite://{}?mode=rwc", dir.path("sessions.db").display());
    sql::<Sqlite>(&url, "SQLite").await;
}

#[test]
fn unreachable_and_unknown_stores_are_one_line_errors() {
    let error = fails(&[
        "sessions",
        "list",
        "--store",
        "redis://127.0.0.1:1",
        "--subject",
        "a",
    ]);
    assert!(error.contains("store"), "{error}");
    let error = fails(&["sessions", "list", "--store", "ftp://x", "--subject", "a"]);
    assert!(error.contains("unsupported store"), "{error}");
    // A mistyped URL is never quoted whole: it may carry a password.
    for url in [
        "postgres:/admin:S3cretPW@127.0.0.1/test",
        "admin:S3cretPW@db.internal/test",
        "//admin:S3cretPW@db.internal/test",
    ] {
        let error = fails(&["sessions", "list", "--store", url, "--subject", "a"]);
        assert!(
            error.contains("unsupported store") && !error.contains("S3cretPW"),
            "{error}"
        );
    }
    let error = fails(&[
        "sessions",
        "list",
        "--store",
        "sqlite::memory:",
        "--key-prefix",
        "bad-prefix!",
        "--subject",
        "a",
    ]);
    assert!(error.contains("prefix"), "{error}");
}
