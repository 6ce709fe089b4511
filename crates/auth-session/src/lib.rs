//! Server-side sessions on any auth-core [`SessionStore`](auth_core::SessionStore): the
//! server keeps the state, the client holds only an opaque 256-bit id in a hardened cookie.
//!
//! - [`SessionManager`] creates, loads, updates, rotates and destroys sessions, and
//!   enforces an idle timeout and an absolute lifetime on every load through its
//!   [`Clock`](auth_core::Clock) ([`SessionConfig`]: 30 min and 12 h by default), whatever
//!   the backend's own expiry did. A load writes the idle extension at most once per touch
//!   interval (60 s by default), never past the absolute limit.
//! - [`Session`] holds typed data (`get::<T>`/`insert`/`remove` through serde), decoded
//!   only when first read, and a dirty flag: [`SessionManager::update`] writes only when
//!   something changed.
//! - [`CookieConfig`] is the cookie policy as data: `__Host-session`, `HttpOnly`, `Secure`,
//!   `SameSite=Lax`, `Path=/`, no `Domain`, `Max-Age` from the absolute lifetime; it renders
//!   `Set-Cookie` values and reads the id back from `Cookie` strictly.
//!
//! # Example
//!
//! ```
//! use auth_core::memory::MemorySessionStore;
//! use auth_session::SessionManager;
//! use serde_json::json;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let manager = SessionManager::new(MemorySessionStore::default());
//! let cookies = manager.cookie_config();
//!
//! // Login: a fresh id, never one the client brought.
//! let session = manager.create("alice", &json!({ "roles": ["user"] })).await?;
//! let set_cookie = cookies.set_cookie(session.id()); // send as `Set-Cookie`
//!
//! // A later request: find the id in its `Cookie` header and load the session.
//! let cookie_header = set_cookie.split(';').next().unwrap_or_default();
//! let id = cookies.session_id(cookie_header).ok_or("no session cookie")?;
//! let mut session = manager.load_id(id).await?.ok_or("no session")?;
//! assert_eq!(session.identity()?.subject, "alice");
//!
//! // Typed data; `update` writes only if something changed.
//! session.insert("cart", &vec![17_u32])?;
//! assert!(manager.update(&mut session).await?);
//! assert!(!manager.update(&mut session).await?);
//!
//! // A privilege change rotates the id: the old one is dead at once.
//! let old_id = session.id().expose_secret().to_owned();
//! session.set_roles(["user", "admin"])?;
//! manager.rotate(&mut session).await?;
//! assert!(manager.load(&old_id).await?.is_none());
//! let set_cookie = cookies.set_cookie(session.id()); // send the new id
//! # let _ = set_cookie;
//!
//! // A malformed or forged id is simply "no session".
//! assert!(manager.load("not-a-session-id").await?.is_none());
//!
//! // Logout: delete server-side, then clear the cookie.
//! manager.destroy(&session).await?;
//! let clear = cookies.clear_cookie(); // send as `Set-Cookie`
//! # let _ = clear;
//! # Ok(())
//! # }
//! ```
//!
//! # Logging in: session fixation
//!
//! An attacker who can make a victim's browser carry an id the attacker knows (a planted
//! cookie, a shared machine) owns the session as soon as the victim logs in, **unless the
//! login issues a new id**. So:
//!
//! - If the client has no session, log in with [`SessionManager::create`]. It takes no id
//!   and always generates a fresh one: there is no way to adopt an id a client brought.
//! - If the client already has a session (anonymous data such as a cart), log in with
//!   [`SessionManager::rotate_to`]: its data moves to a fresh id for the new subject, with
//!   the roles the login gives (never the previous subject's), and the old id stops
//!   working at once.
//! - After every privilege change (new roles, a step-up authentication, a password change)
//!   call [`SessionManager::rotate`].
//! - After any of these, send the new id with [`CookieConfig::set_cookie`].
//!
//! Unknown, expired, malformed or tampered ids are never errors and never adopted: they
//! load as `None`.
//!
//! # Concurrent requests
//!
//! Every stored session has a version. [`SessionManager::update`] (and `rotate`) write
//! with the version the handle was loaded at, and the store refuses a stale one: when two
//! requests change the same session at once, the first write wins and the second gets
//! [`SessionError::Conflict`] with nothing written. No change is ever silently lost. On a
//! conflict, reload, reapply and retry (or report the failure). Idle extensions (touches)
//! do not change the version, so reading requests never make writers conflict.
//!
//! # Roles and identity
//!
//! [`Session::identity`] builds the auth-core [`Identity`](auth_core::Identity) of a
//! session: its subject, the roles stored under [`ROLES_KEY`] (`"roles"`, a JSON array of
//! strings), [`AuthMethod::Session`](auth_core::AuthMethod::Session) with the key's hint.
//!
//! # Size
//!
//! The data is stored as compact JSON, at most [`SessionConfig::max_data_len`] bytes (64 KiB
//! by default, the stores' limit). A bigger write fails with [`SessionError::TooLarge`]
//! before anything is written.
//!
//! # Feature `test-suite`
//!
//! [`session_manager_conformance!`] runs this crate's session-level behaviours (expiry,
//! touch throttling, rotation, fixation, size limits, concurrency) against any store; store
//! crates invoke it in their tests.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod config;
mod cookie;
mod data;
mod error;
mod identity_memo;
mod info;
mod manager;
mod session;

#[cfg(feature = "test-suite")]
pub mod conformance;

/// Thin wrappers around the private data codec, for the `cargo fuzz` targets in `fuzz/`
/// only: compiled solely under `--cfg fuzzing`, never part of the API.
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzzing {
    use serde::de::DeserializeOwned;
    use serde_json::{Map, Value};

    use crate::SessionError;

    /// The stored form of a session's data map.
    pub fn encode_data(map: &Map<String, Value>) -> Result<Vec<u8>, SessionError> {
        crate::data::encode(map)
    }

    /// Decodes stored session data, as the first read of a loaded session does.
    pub fn decode_data(stored: &[u8]) -> Result<Map<String, Value>, SessionError> {
        crate::data::decode(stored)
    }

    /// `Session::get` on a session loaded with `stored`: decodes the whole map.
    pub fn get<T: DeserializeOwned>(stored: &[u8], key: &str) -> Result<Option<T>, SessionError> {
        crate::data::Data::default().get(stored, key)
    }
}

pub use config::{ConfigError, SessionConfig};
pub use cookie::{CookieConfig, CookieError, SameSite};
pub use error::{JsonError, SessionError};
pub use info::SessionInfo;
pub use manager::{SessionManager, SessionManagerBuilder};
pub use session::{ROLES_KEY, Session};
