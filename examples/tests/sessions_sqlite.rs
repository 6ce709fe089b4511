//! The `sessions_sqlite` example as a user runs it: its own process on a SQLite file,
//! driven over HTTP, restarted on the same file.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests: a panic is a failed test.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use auth_core::store::{SessionRecord, ThrottleKey};
use auth_core::{Clock, ManualClock, SessionId, SessionStore, ThrottleStore};
use reqwest::{Client, StatusCode, redirect};
use store_sql::SqlStores;
use store_sql::sqlx::{self, Sqlite};

/// The example's binary, built by `cargo test` beside this test's.
fn example() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(|deps| deps.parent()).unwrap();
    dir.join("examples").join("sessions_sqlite")
}

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn start(db: &str, port: u16) -> Running {
    let child = Command::new(example())
        .args(["--addr", &format!("127.0.0.1:{port}"), "--db", db])
        .stdout(Stdio::null())
        .env("RUST_LOG", "warn") // its log on a failure, not every login's
        .spawn()
        .expect("the example binary: `cargo test` builds it (a lone `--test` run does not)");
    let running = Running(child);
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return running;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the example did not listen on {port}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_in_see_who_you_are_restart_and_log_out() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("sessions.db").display());
    let port = free_port();
    let url = |path: &str| format!("http://127.0.0.1:{port}{path}");
    let client = Client::builder()
        .redirect(redirect::Policy::none())
        .build()
        .unwrap();
    let login = |password: &'static str| {
        client
            .post(url("/login"))
            .header("origin", format!("http://127.0.0.1:{port}"))
            .form(&[("username", "alice"), ("password", password)])
            .send()
    };
    let me = |cookie: Option<String>| {
        let mut request = client.get(url("/me"));
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        request.send()
    };

    let server = start(&db, port).await;
    assert_eq!(
        login("builder").await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    let response = login("wonderland").await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let set_cookie = response.headers()["set-cookie"].to_str().unwrap();
    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    assert_eq!(me(None).await.unwrap().status(), StatusCode::UNAUTHORIZED);
    let who = me(Some(cookie.clone())).await.unwrap();
    assert_eq!(who.status(), StatusCode::OK);
    assert_eq!(who.text().await.unwrap(), "alice");

    // A restart on the same file keeps the session.
    drop(server);
    let server = start(&db, port).await;
    assert_eq!(
        me(Some(cookie.clone())).await.unwrap().status(),
        StatusCode::OK
    );

    // A cross-site logout is refused; a same-site one ends the session.
    let foreign = client
        .post(url("/logout"))
        .header("cookie", &cookie)
        .header("origin", "http://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), StatusCode::FORBIDDEN);
    let out = client
        .post(url("/logout"))
        .header("cookie", &cookie)
        .header("origin", format!("http://127.0.0.1:{port}"))
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::OK);
    assert_eq!(
        me(Some(cookie)).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );

    // Guessing is throttled: after five wrong passwords even the right one is refused
    // for the rest of the window.
    for _ in 0..5 {
        assert_eq!(
            login("guess").await.unwrap().status(),
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        login("wonderland").await.unwrap().status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    drop(server);
}

/// Rows the example's stores left behind, in the default tables.
async fn rows(pool: &sqlx::SqlitePool) -> (i64, i64) {
    let count = |table: &'static str| async move {
        let sql = format!("SELECT COUNT(*) FROM authkit_{table}");
        sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql))
            .fetch_one(pool)
            .await
            .unwrap()
    };
    (count("sessions").await, count("throttle_windows").await)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_rows_are_deleted_in_the_background() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("sessions.db").display());
    // Written an hour ago (by a clock of its own): a session and a throttle window that
    // ended half an hour ago. They never load; only a purge deletes their rows.
    let pool = store_sql::connect::<Sqlite>(&format!("{db}?mode=rwc"))
        .await
        .unwrap();
    let an_hour_ago = Arc::new(ManualClock::new(
        SystemTime::now() - Duration::from_secs(3600),
    ));
    let stores = SqlStores::builder(pool.clone())
        .clock(an_hour_ago.clone())
        .build();
    stores.migrate().await.unwrap();
    let then = an_hour_ago.now();
    let half_an_hour = Duration::from_secs(1800);
    let record = SessionRecord::new("old", Vec::new(), then, then + half_an_hour);
    let key = SessionId::generate().unwrap().key();
    stores.sessions().create(&key, &record).await.unwrap();
    let window = ThrottleKey::username("old");
    stores.throttle().hit(&window, half_an_hour).await.unwrap();
    assert_eq!(rows(&pool).await, (1, 1));

    let server = start(&db, free_port()).await;
    let started = Instant::now();
    while rows(&pool).await != (0, 0) {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the example left expired rows: {:?}",
            rows(&pool).await
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(server);
}
