//! `authctl sessions` against real stores: Redis, PostgreSQL, MariaDB and a SQLite file.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests: a panic is a failed test.

mod common;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use auth_core::store::SessionRecord;
use auth_core::{SessionId, SessionStore};
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

/// list, revoke one by handle, revoke-all: through the binary, checked in the store.
async fn exercise(url: &str, prefix: &str, store: Arc<dyn SessionStore>) {
    let alices = seed(&*store).await;
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
    assert!(store.list_subject("alice").await.unwrap().is_empty());
    assert_eq!(
        store.list_subject("bob").await.unwrap().len(),
        1,
        "bob keeps his session"
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
    exercise(url, &prefix, Arc::new(stores.sessions())).await;
    // Leave the shared test database as it was.
    for table in [
        "sessions",
        "refresh_tokens",
        "refresh_families",
        "revoked_tokens",
        "revoked_subjects",
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
    let connection = RedisConnection::connect(&url).await.unwrap();
    let store = RedisStoreBuilder::new(connection)
        .prefix(prefix.as_str())
        .sessions()
        .unwrap();
    assert!(
        store.list_subject("nobody").await.is_ok(),
        "Redis is not reachable at {url}: start it or set REDIS_URL"
    );
    exercise(&url, &prefix, Arc::new(store)).await;
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
