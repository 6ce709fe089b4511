//! Every decision leaves an event an operator can read, and no event carries a credential:
//! the demo is driven through logins (right, wrong, throttled), tokens, a refresh, a
//! reused refresh token, a logout and refused requests while a subscriber captures every
//! event; the capture must name each decision and hold none of the passwords, cookies or
//! tokens that went over the wire.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests: a panic is a failed test.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::{Demo, cookie_of};
use reqwest::StatusCode;
use serde_json::json;

/// The captured log, shared with the subscriber.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'w> tracing_subscriber::fmt::MakeWriter<'w> for Captured {
    type Writer = Captured;
    fn make_writer(&'w self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_decision_is_an_event_and_no_event_holds_a_secret() {
    let captured = Captured::default();
    tracing_subscriber::fmt()
        .with_writer(captured.clone())
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .init();
    let demo = Demo::start_memory().await;
    let mut secrets: Vec<String> = vec!["wonderland".into(), "builder".into()];

    // Logins: one wrong, then right ones by form and by API.
    let wrong_password = "Tr0ub4dor&3-not-bobs";
    secrets.push(wrong_password.into());
    assert_eq!(
        demo.login("bob", wrong_password, None).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let cookie = cookie_of(&demo.login("alice", "wonderland", None).await);
    secrets.push(cookie.split_once('=').unwrap().1.to_owned());
    let pair = demo.token("bob", "builder").await;
    let access = pair["access_token"].as_str().unwrap().to_owned();
    let refresh = pair["refresh_token"].as_str().unwrap().to_owned();
    secrets.extend([access.clone(), refresh.clone()]);

    // A refresh, then the old refresh token again: reuse.
    let next = demo
        .post_json(
            "/api/token/refresh",
            None,
            json!({ "refresh_token": refresh }),
        )
        .await;
    assert_eq!(next.status(), StatusCode::OK);
    let next: serde_json::Value = next.json().await.unwrap();
    secrets.push(next["access_token"].as_str().unwrap().to_owned());
    secrets.push(next["refresh_token"].as_str().unwrap().to_owned());
    let reused = demo
        .post_json(
            "/api/token/refresh",
            None,
            json!({ "refresh_token": refresh }),
        )
        .await;
    assert_eq!(reused.status(), StatusCode::UNAUTHORIZED);

    // Refused requests, a logout, a name throttled.
    assert_eq!(
        demo.get_bearer("/api/me", &access).await.status(),
        StatusCode::UNAUTHORIZED
    );
    demo.post_form("/logout", Some(&cookie), "").await;
    for _ in 0..6 {
        demo.login("mallory", wrong_password, None).await;
    }

    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    for event in [
        "login.failed",
        "login.succeeded",
        "login.throttled",
        "session.created",
        "session.destroyed",
        "token.issued",
        "token.refreshed",
        "token.reused",
        "request.refused",
    ] {
        assert!(
            log.contains(&format!("event=\"{event}\"")),
            "no {event} event:\n{log}"
        );
    }
    assert!(
        log.contains("subject=bob") || log.contains("subject=\"bob\""),
        "{log}"
    );
    for secret in &secrets {
        // The whole secret, and any 12-character piece of it.
        let pieces: Vec<&str> = if secret.len() > 12 {
            (0..=secret.len() - 12)
                .map(|i| &secret[i..i + 12])
                .collect()
        } else {
            vec![secret.as_str()]
        };
        for piece in pieces {
            assert!(
                !log.contains(piece),
                "a secret reached the log: {piece}\n{log}"
            );
        }
    }
    assert!(
        !log.contains("mallory"),
        "user names never appear, only their digests"
    );
}

/// The demo's default log leaves out sqlx's warning about an unknown URL parameter, which
/// quotes the parameter's value: a mistyped password parameter (`?passwd=`) would be
/// logged in clear. The start-up error names the store without it too.
#[test]
fn a_mistyped_password_parameter_never_reaches_the_log() {
    let url = std::env::var("POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let address = url
        .split('@')
        .next_back()
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_default();
    assert!(
        std::net::TcpStream::connect(address).is_ok(),
        "PostgreSQL is not reachable at {url}: start it or set POSTGRES_URL"
    );
    // A role that does not exist: refused at once, after sqlx has read the parameters.
    let store = format!("postgres://no_such_role_here@{address}/test?passwd=PLANTED-pw");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_demo"))
        .args(["--addr", "127.0.0.1:0", "--store", &store])
        .env_remove("RUST_LOG")
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("connecting to postgres://"), "{stderr}");
    assert!(!stderr.contains("PLANTED"), "{stderr}");
}
