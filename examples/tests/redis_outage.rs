//! A Redis that stops answering makes the demo fail closed: 503, never 500, never 200.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests: a panic is a failed test.

mod common;

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{Demo, cookie_of};
use reqwest::StatusCode;

/// A private redis-server on a free port, killed when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_redis_gives_503_not_500_and_not_200() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let server = Server(
        Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server is installed (Debian's redis-server package)"),
    );
    // Wait (bounded) until the new server accepts connections.
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let store = format!("redis://127.0.0.1:{port}").parse().unwrap();
    let demo = Demo::start(store).await;
    let cookie = cookie_of(&demo.login("alice", "wonderland", None).await);
    let pair = demo.token("alice", "wonderland").await;
    let access = pair["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        demo.get("/api/me", Some(&cookie)).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        demo.get_bearer("/api/me", &access).await.status(),
        StatusCode::OK
    );

    drop(server);

    for response in [
        demo.get("/api/me", Some(&cookie)).await,
        demo.get("/", Some(&cookie)).await,
        demo.get_bearer("/api/me", &access).await,
        demo.login("bob", "builder", None).await,
        demo.post_json(
            "/api/token/refresh",
            None,
            serde_json::json!({ "refresh_token": pair["refresh_token"] }),
        )
        .await,
    ] {
        assert_eq!(
            response.status(),
            StatusCode::SERVICE_UNAVAILABLE,
            "{}",
            response.url()
        );
        assert_eq!(response.headers()["retry-after"], "1");
        assert!(response.headers().get("set-cookie").is_none());
    }
    // Endpoints that need no store keep working.
    assert_eq!(demo.get("/api/health", None).await.status(), StatusCode::OK);
}
