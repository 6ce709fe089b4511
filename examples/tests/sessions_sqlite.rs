//! The `sessions_sqlite` example as a user runs it: its own process on a SQLite file,
//! driven over HTTP, restarted on the same file.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests: a panic is a failed test.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::{Client, StatusCode, redirect};

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
