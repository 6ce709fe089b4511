//! Tower layers and axum extractors for authkit: put an [`auth_core::Identity`] into every
//! request that proves one, whichever model proved it, and answer for the rest (401 with
//! one generic `WWW-Authenticate` for every refused credential, 403, 429 with
//! `Retry-After` for a throttled login, or 503 when a store cannot answer — fail closed).
//!
//! | layer | credential | feature |
//! |---|---|---|
//! | [`SessionLayer`] | session cookie (auth-session) | `session` |
//! | [`JwtLayer`] | `Authorization: Bearer` JWT, optionally a cookie (auth-jwt) | `jwt` |
//! | [`AuthLayer`] | either; one `Identity` for both | `session` + `jwt` |
//!
//! Handlers extract [`Authenticated`] (401 without identity), `Option<Authenticated>`,
//! [`RequireRole`] (403 without the role) and [`SessionHandle`] (login, logout, data) with
//! feature `axum`; any other tower service reads `Arc<Identity>` from the request extensions.
//! Cookie-authenticated unsafe requests from other sites are refused ([`CsrfPolicy`]).
//!
//! # Example
//!
//! ```
//! use auth_core::memory::MemorySessionStore;
//! use auth_session::SessionManager;
//! use auth_tower::{Authenticated, SessionHandle, SessionLayer};
//! use axum::{Router, body::Body, routing::{get, post}};
//! use http::{Request, StatusCode, header};
//! use tower::ServiceExt;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let sessions = SessionManager::new(MemorySessionStore::default());
//! let app = Router::new()
//!     .route("/login", post(|session: SessionHandle| async move {
//!         // (check the password first) -- a fresh session id is issued after this handler
//!         session.login("alice", ["admin"]);
//!     }))
//!     .route("/me", get(|who: Authenticated| async move { who.subject.clone() }))
//!     .layer(SessionLayer::builder(sessions).optional().build());
//!
//! let login = Request::post("/login").header(header::HOST, "app.example").body(Body::empty())?;
//! let response = app.clone().oneshot(login).await?;
//! let cookie = response.headers()[header::SET_COOKIE].to_str()?.split(';').next().unwrap_or("").to_owned();
//!
//! let me = Request::get("/me").header(header::COOKIE, cookie).body(Body::empty())?;
//! assert_eq!(app.clone().oneshot(me).await?.status(), StatusCode::OK);
//! let anonymous = Request::get("/me").body(Body::empty())?;
//! assert_eq!(app.oneshot(anonymous).await?.status(), StatusCode::UNAUTHORIZED);
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

#[cfg(any(feature = "session", feature = "jwt"))]
mod cookie_pairs;
mod csrf;
mod rejection;
#[cfg(any(feature = "session", feature = "jwt"))]
mod service;

#[cfg(all(feature = "session", feature = "jwt"))]
mod combined;
#[cfg(feature = "axum")]
mod extract;
#[cfg(feature = "jwt")]
mod jwt;
#[cfg(all(feature = "session", feature = "jwt"))]
mod logout;
#[cfg(feature = "session")]
mod session;

pub use csrf::{CsrfPolicy, CsrfRejection};
pub use rejection::{GENERIC_DESCRIPTION, Rejection, Scheme};
#[cfg(any(feature = "session", feature = "jwt"))]
pub use service::{AuthService, Authenticator};

#[cfg(all(feature = "session", feature = "jwt"))]
pub use combined::{AuthLayer, AuthLayerBuilder};
#[cfg(feature = "axum")]
pub use extract::{Authenticated, RequireRole, RoleName};
#[cfg(feature = "jwt")]
pub use jwt::{JwtLayer, JwtLayerBuilder};
#[cfg(all(feature = "session", feature = "jwt"))]
pub use logout::{Ended, Logout};
#[cfg(feature = "session")]
pub use session::{SessionHandle, SessionHandleError, SessionLayer, SessionLayerBuilder};
