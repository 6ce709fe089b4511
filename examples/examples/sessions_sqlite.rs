//! Sessions in an axum app on SQLite: log in, see who you are, log out. Sessions survive
//! a restart on the same file.
//!
//! `cargo run -p authkit-examples --example sessions_sqlite -- --addr 127.0.0.1:3001 --db sqlite://sessions.db`
#![allow(clippy::print_stdout)] // Its one line of output says where it listens.
use std::net::SocketAddr;

use anyhow::Context as _;
use argon2::password_hash::{PasswordVerifier, phc::PasswordHash};
use auth_session::SessionManager;
use auth_tower::{Authenticated, SessionHandle, SessionLayer};
use axum::{Form, Router, http::StatusCode, response::Redirect, routing::get, routing::post};
use serde::Deserialize;
use store_sql::{SqlStores, sqlx::Sqlite};

/// alice / wonderland, hashed with argon2id (never keep passwords, only such hashes).
const ALICE: &str = "$argon2id$v=19$m=19456,t=2,p=1$Bx5eJKFP7O9z3HGKU//89A$icDqscsF7J6IeNmlFuichf3aOjxr9BTjYt6N0kzLwPM";

#[derive(Deserialize)]
struct Login {
    username: String,
    password: String,
}

async fn login(session: SessionHandle, Form(form): Form<Login>) -> Result<Redirect, StatusCode> {
    // argon2 is slow on purpose: off the async workers. (For bursts of logins, bound it
    // and throttle it: see the demo's passwords.rs and docs/security.md.)
    let ok = tokio::task::spawn_blocking(move || {
        let hash = PasswordHash::new(ALICE).ok()?;
        let right = argon2::Argon2::default().verify_password(form.password.as_bytes(), &hash);
        (form.username == "alice" && right.is_ok()).then_some(())
    });
    match ok.await {
        Ok(Some(())) => {
            session.login("alice", ["user"]); // a fresh session id, whatever came in
            Ok(Redirect::to("/me"))
        }
        _ => Err(StatusCode::UNAUTHORIZED),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let arg = |name: &str| {
        let mut args = std::env::args();
        args.position(|a| a == name).and_then(|_| args.next())
    };
    let addr: SocketAddr = arg("--addr").unwrap_or("127.0.0.1:3001".into()).parse()?;
    let db = arg("--db").context("usage: --addr ADDR --db sqlite://FILE")?;
    let stores = SqlStores::<Sqlite>::connect(&format!("{db}?mode=rwc")).await?;
    stores.migrate().await?;
    let sessions = SessionManager::new(stores.sessions());
    // Plain http here; behind TLS keep the default cookie (`__Host-`, `Secure`).
    let cookies = sessions.cookie_config().dev_plain_http();
    let app = Router::new()
        .route("/login", post(login))
        .route(
            "/me",
            get(|who: Authenticated| async move { who.subject.clone() }),
        )
        .route(
            "/logout",
            post(|s: SessionHandle| async move { s.logout() }),
        )
        // Refuses cross-site form posts (CSRF) and answers 401 where `Authenticated` finds no one.
        .layer(
            SessionLayer::builder(sessions)
                .cookie_config(cookies)
                .optional()
                .build(),
        );
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("sessions_sqlite on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
