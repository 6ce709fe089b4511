//! The peer under HTTP load: the demo's `/api/health` and `/api/me` (session cookie)
//! served by axum with tower-sessions' `SessionManagerLayer` and `MemoryStore`, the way a
//! tower-sessions user writes them, so `benchmarks/load/run.sh` can set the demo's ratio
//! beside the peer's from the same run.
//!
//! - `GET /api/health`: `ok`, outside the session layer, as in the demo.
//! - `POST /login`: a session holding `user_id` `alice` and her roles; `Set-Cookie: id=…`.
//! - `GET /api/me`: `{"method":"session","roles":[…],"sub":"alice"}` read from the session,
//!   as the demo answers; 401 without one.
//!
//! ```text
//! cargo build --release -p benchmarks --example tower_sessions_server
//! target/release/examples/tower_sessions_server 127.0.0.1:0
//! ```
//!
//! Prints `tower-sessions peer on http://ADDR/` once it listens. Not hardened (plain-http
//! cookie, no CSRF check, no password): a benchmark peer, never an example to copy.
#![allow(missing_docs)] // A benchmark binary, not an API.
#![allow(clippy::print_stdout)] // The address line is its interface to run.sh.

use std::net::SocketAddr;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use benchmarks::{ROLES, SUBJECT};
use serde::Serialize;
use tower_sessions::cookie::time::Duration as TimeDuration;
use tower_sessions::{Expiry, MemoryStore, Session, SessionManagerLayer};

/// The idle expiry, authkit's default idle timeout.
const IDLE_MINUTES: i64 = 30;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr: SocketAddr = std::env::args()
        .nth(1)
        .as_deref()
        .unwrap_or("127.0.0.1:0")
        .parse()?;
    // The runtime the demo gets from `#[tokio::main]`: one worker per CPU.
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(serve(addr))
}

async fn serve(addr: SocketAddr) -> Result<(), Box<dyn std::error::Error>> {
    let sessions = SessionManagerLayer::new(MemoryStore::default())
        .with_secure(false)
        .with_expiry(Expiry::OnInactivity(TimeDuration::minutes(IDLE_MINUTES)));
    // As in the demo, the unauthenticated route is outside the session layer.
    let app = Router::new()
        .route("/login", post(login))
        .route("/api/me", get(me))
        .layer(sessions)
        .route("/api/health", get(|| async { "ok" }));
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("tower-sessions peer on http://{}/", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}

async fn login(session: Session) -> Response {
    let stored = async {
        session.cycle_id().await?;
        session.insert("user_id", SUBJECT).await?;
        session.insert("roles", ROLES).await
    };
    match stored.await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

async fn me(session: Session) -> Response {
    let user = session.get::<String>("user_id").await;
    let roles = session.get::<Vec<String>>("roles").await;
    match (user, roles) {
        (Ok(Some(sub)), Ok(Some(roles))) => Json(Me {
            method: "session",
            roles: &roles,
            sub: &sub,
        })
        .into_response(),
        (Ok(_), Ok(_)) => StatusCode::UNAUTHORIZED.into_response(),
        _ => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// The body of `GET /api/me`, as the demo's.
#[derive(Serialize)]
struct Me<'a> {
    method: &'static str,
    roles: &'a [String],
    sub: &'a str,
}
