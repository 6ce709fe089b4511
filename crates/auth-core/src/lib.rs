//! The shared vocabulary of authkit: who a request is ([`Identity`]), what time it is
//! ([`Clock`]), the secrets clients hold ([`SessionId`], [`RefreshToken`]) and the hashes
//! stores keep instead ([`SessionKey`], [`RefreshTokenHash`]), the four store traits
//! ([`SessionStore`], [`RevocationStore`], [`RefreshTokenStore`], [`ThrottleStore`]), the
//! [`LoginThrottle`] policy, typed errors, and in-memory stores on moka (feature `memory`,
//! on by default).
//!
//! Backends implement the traits and prove it with the conformance suite (feature
//! `test-suite`); the session and JWT crates are written against the traits only, so a
//! backend swap touches no handler. [`writing_a_store`] lists every rule a backend keeps,
//! both suites that prove them, and a worked example of each trait.
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//! use auth_core::{Clock, ManualClock, SessionId, SessionStore};
//! use auth_core::memory::MemorySessionStore;
//! use auth_core::store::SessionRecord;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let clock = Arc::new(ManualClock::starting_now());
//! let store = MemorySessionStore::builder().clock(clock.clone()).build();
//!
//! // The client gets the id; the store only ever sees its SHA-256.
//! let id = SessionId::generate()?;
//! let now = clock.now();
//! let record = SessionRecord::new("alice", b"{}".to_vec(), now, now + Duration::from_secs(60));
//! store.create(&id.key(), &record).await?;
//! assert_eq!(store.load(&id.key()).await?.map(|r| r.subject), Some("alice".into()));
//!
//! // Expiry follows the store's clock, whatever the backend still holds.
//! clock.advance(Duration::from_secs(61));
//! assert!(store.load(&id.key()).await?.is_none());
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod clock;
mod error;
mod hex;
mod identity;
mod reason;
mod refresh_token;
mod secret;
mod session_id;
pub mod store;
mod throttle;

#[doc = include_str!("writing_a_store.md")]
pub mod writing_a_store {}

#[cfg(feature = "memory")]
mod cached;
#[cfg(feature = "memory")]
pub mod memory;

#[cfg(feature = "test-suite")]
pub mod conformance;

#[cfg(feature = "memory")]
pub use cached::{Cached, CachedBuilder};
pub use clock::{
    Clock, ManualClock, SharedClock, SystemClock, from_unix_millis, remaining, saturating_add,
    unix_millis, unix_millis_up,
};
pub use error::{AuthError, BoxError, MalformedSecret, RandomError, StoreError};
pub use identity::{AuthMethod, Identity};
pub use reason::{Claim, Reason};
pub use refresh_token::{FamilyId, RefreshToken, RefreshTokenHash};
pub use secret::constant_time_eq;
pub use session_id::{SessionId, SessionKey};
pub use store::{RefreshTokenStore, RevocationStore, SessionStore, ThrottleStore};
pub use throttle::{
    DEFAULT_PER_ADDRESS, DEFAULT_PER_USERNAME, DEFAULT_WINDOW, LoginAttempt, LoginThrottle,
    LoginThrottleBuilder,
};
