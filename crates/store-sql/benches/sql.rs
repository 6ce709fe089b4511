//! Session load and save, and the revocation check every authenticated request makes, per
//! backend, against a bare `SELECT 1` on the same pool in the same run, so the numbers read
//! as "round trips" whatever the machine.
//!
//! Needs PostgreSQL (`POSTGRES_URL`) and MySQL/MariaDB (`MYSQL_URL`), like the tests:
//! `cargo bench -p store-sql --all-features --bench sql`.
#![allow(missing_docs)] // criterion's macros generate the bench entry points.
#![allow(clippy::unwrap_used, clippy::expect_used)] // A bench that cannot set up fails.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use auth_core::store::{SessionRecord, TokenRef};
use auth_core::{Clock, FamilyId, RevocationStore, SessionId, SessionStore, SystemClock};
use criterion::{Criterion, criterion_group, criterion_main};
use sqlx::{Database, Executor, IntoArguments, Pool};
use store_sql::{Backend, SqlStores, TablePrefix};
use tokio::runtime::Runtime;

fn prefix() -> TablePrefix {
    let random = &SessionId::generate().unwrap().key().to_hex()[..10];
    TablePrefix::new(&format!("bench_{random}_")).unwrap()
}

fn bench_backend<DB: Backend>(c: &mut Criterion, rt: &Runtime, name: &str, pool: Pool<DB>)
where
    for<'c> &'c Pool<DB>: Executor<'c, Database = DB>,
    <DB as Database>::Arguments: IntoArguments<DB>,
{
    let stores = SqlStores::builder(pool.clone()).prefix(prefix()).build();
    rt.block_on(stores.migrate()).unwrap();
    let sessions = Arc::new(stores.sessions());
    let key = SessionId::generate().unwrap().key();
    let now = SystemClock.now();
    let data = vec![b'x'; 200];
    let record = SessionRecord::new(
        "bench-user",
        data.clone(),
        now,
        now + Duration::from_secs(3600),
    );
    rt.block_on(sessions.create(&key, &record)).unwrap();
    let version = Arc::new(AtomicU64::new(0));

    // Revocations on file for other tokens, families and subjects, so each branch of the
    // check looks up an index that holds rows.
    let revocations = stores.revocations();
    let until = now + Duration::from_secs(3600);
    rt.block_on(async {
        for i in 0..100 {
            revocations
                .revoke("bench-iss", &format!("jti-{i}"), until)
                .await
                .unwrap();
            let family = FamilyId::generate().unwrap();
            revocations
                .revoke_family("bench-iss", &family, until)
                .await
                .unwrap();
            revocations
                .revoke_subject(&format!("user-{i}"), now, until)
                .await
                .unwrap();
        }
    });
    let family = FamilyId::generate().unwrap();

    let mut group = c.benchmark_group(name);
    group.warm_up_time(Duration::from_millis(500));
    group.measurement_time(Duration::from_secs(2));
    group.bench_function("select_1", |b| {
        b.to_async(rt).iter(|| async {
            pool.fetch_one("SELECT 1").await.unwrap();
        })
    });
    group.bench_function("load", |b| {
        b.to_async(rt).iter(|| async {
            assert!(sessions.load(&key).await.unwrap().is_some());
        })
    });
    group.bench_function("is_token_revoked", |b| {
        b.to_async(rt).iter(|| async {
            let token = TokenRef::new("bench-iss", "bench-user", now)
                .jti(Some("live-jti"))
                .family(Some(&family));
            assert!(!revocations.is_token_revoked(&token).await.unwrap());
        })
    });
    group.bench_function("save", |b| {
        b.to_async(rt).iter(|| async {
            let mut next = record.clone();
            next.version = version.load(Ordering::Relaxed);
            let stored = sessions.save(&key, &next).await.unwrap();
            version.store(stored, Ordering::Relaxed);
        })
    });
    group.finish();
    for table in [
        "sessions",
        "revoked_tokens",
        "revoked_subjects",
        "revoked_families",
        "refresh_families",
        "refresh_tokens",
        "throttle_windows",
        "schema_migrations",
    ] {
        let drop = format!("DROP TABLE IF EXISTS {}{table}", stores.table_prefix());
        rt.block_on(sqlx::query::<DB>(sqlx::AssertSqlSafe(drop)).execute(&pool))
            .unwrap();
    }
}

fn benches(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let pg = std::env::var("POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let my =
        std::env::var("MYSQL_URL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".into());
    let pool = rt
        .block_on(store_sql::connect::<sqlx::Postgres>(&pg))
        .expect("PostgreSQL (POSTGRES_URL)");
    bench_backend(c, &rt, "postgres", pool);
    let pool = rt
        .block_on(store_sql::connect::<sqlx::MySql>(&my))
        .expect("MySQL/MariaDB (MYSQL_URL)");
    bench_backend(c, &rt, "mariadb", pool);
    let pool = rt
        .block_on(store_sql::connect::<sqlx::Sqlite>("sqlite::memory:"))
        .unwrap();
    bench_backend(c, &rt, "sqlite_memory", pool);
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("bench.db").display()
    );
    let pool = rt
        .block_on(store_sql::connect::<sqlx::Sqlite>(&url))
        .unwrap();
    bench_backend(c, &rt, "sqlite_file", pool);
}

criterion_group!(sql, benches);
criterion_main!(sql);
