//! Sessions in an axum app on SQLite: log in, see who you are, log out. Sessions survive
//! a restart on the same file; expired sessions and ended throttle windows never load,
//! and background tasks delete their rows so the file does not grow for ever. Refusals
//! are logged to standard error (`RUST_LOG`, default `info`).
//!
//! `cargo run -p authkit-examples --example sessions_sqlite -- --addr 127.0.0.1:3001 --db sqlite://sessions.db`
#![allow(clippy::print_stdout)] // Its one line of output says where it listens.
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use argon2::password_hash::{PasswordVerifier, phc::PasswordHash};
use auth_core::{AuthError, LoginThrottle};
use auth_session::SessionManager;
use auth_tower::{Authenticated, SessionHandle, SessionLayer};
use axum::extract::{ConnectInfo, State};
use axum::{Form, Router, http::StatusCode, response::Redirect, routing::get, routing::post};
use serde::Deserialize;
use store_sql::{SqlStores, sqlx::Sqlite};
use tokio::sync::Semaphore;
use tracing_subscriber::EnvFilter;

/// alice / wonderland, hashed with argon2id (never keep passwords, only such hashes).
const ALICE: &str = "$argon2id$v=19$m=19456,t=2,p=1$Bx5eJKFP7O9z3HGKU//89A$icDqscsF7J6IeNmlFuichf3aOjxr9BTjYt6N0kzLwPM";

#[derive(Deserialize)]
struct Login {
    username: String,
    password: String,
}

/// What the login handler shares: the throttle, and the right to run one password check.
#[derive(Clone)]
struct Logins {
    throttle: LoginThrottle,
    hashing: Arc<Semaphore>,
}

async fn login(
    State(logins): State<Logins>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    session: SessionHandle,
    Form(form): Form<Login>,
) -> Result<Redirect, StatusCode> {
    // Throttled first (cheap; counted in the database, so shared by every process): by
    // user name and by client address, before any password is checked.
    let attempt = match logins
        .throttle
        .begin(&form.username, Some(client.ip()))
        .await
    {
        Ok(attempt) => attempt,
        Err(AuthError::Throttled { .. }) => return Err(StatusCode::TOO_MANY_REQUESTS),
        Err(_) => return Err(StatusCode::SERVICE_UNAVAILABLE),
    };
    // argon2 is slow and memory-hungry on purpose (19 MiB each): off the async workers,
    // and at most one check per core at once. The permit goes with the check, so a client
    // that hangs up does not free it early. (The demo's passwords.rs goes further.)
    let slot = logins.hashing.clone().acquire_owned().await;
    let Ok(slot) = slot else {
        return Err(StatusCode::SERVICE_UNAVAILABLE);
    };
    let ok = tokio::task::spawn_blocking(move || {
        let _slot = slot;
        let hash = PasswordHash::new(ALICE).ok()?;
        let right = argon2::Argon2::default().verify_password(form.password.as_bytes(), &hash);
        (form.username == "alice" && right.is_ok()).then_some(())
    });
    match ok.await {
        Ok(Some(())) => {
            attempt
                .succeeded()
                .await
                .map_err(|_| StatusCode::SERVICE_UNAVAILABLE)?;
            session.login("alice", ["user"]); // a fresh session id, whatever came in
            Ok(Redirect::to("/me"))
        }
        _ => {
            attempt.failed();
            Err(StatusCode::UNAUTHORIZED)
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())) // plain in a file
        .init();
    let usage = "usage: sessions_sqlite [--addr ADDR] --db sqlite://FILE";
    // A flag's value, if the flag is given; never the next flag (`--db --addr ...`).
    let arg = |name: &str| {
        let mut args = std::env::args();
        match args.position(|a| a == name).map(|_| args.next()) {
            None => Ok(None),
            Some(Some(value)) if !value.starts_with("--") => Ok(Some(value)),
            Some(_) => Err(anyhow::anyhow!("{name} needs a value\n{usage}")),
        }
    };
    let addr: SocketAddr = arg("--addr")?.unwrap_or("127.0.0.1:3001".into()).parse()?;
    let db = arg("--db")?.context(usage)?;
    let stores = SqlStores::<Sqlite>::connect(&format!("{db}?mode=rwc")).await?;
    stores.migrate().await?;
    // Runs at once, then every 5 minutes; dropping a handle stops its task.
    let every = Duration::from_secs(300);
    let _purges = [
        stores.sessions().spawn_purge(every),
        stores.throttle().spawn_purge(every),
    ];
    let sessions = SessionManager::new(stores.sessions());
    // Plain http here; behind TLS keep the default cookie (`__Host-`, `Secure`).
    let cookies = sessions.cookie_config().dev_plain_http();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let logins = Logins {
        throttle: LoginThrottle::builder(Arc::new(stores.throttle())).build(),
        hashing: Arc::new(Semaphore::new(cores)),
    };
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
        )
        .with_state(logins);
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!(
        "sessions_sqlite on http://{} (a plain-http cookie, for local development only: \
         behind TLS drop dev_plain_http())",
        listener.local_addr()?
    );
    // The client's address, for the throttle: the connection's own, never a header a
    // client can write (behind a proxy, take it from the proxy you trust instead).
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await?;
    Ok(())
}
