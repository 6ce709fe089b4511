//! In-memory stores on moka: the embedded default for demos, tests and single-node
//! services. Nothing survives a restart, and nothing is shared between processes; use
//! `store-redis` or `store-sql` for that.
//!
//! Each store is bounded (default one million entries) and lets moka drop records once
//! their deadline passes in real time. When full, the session store evicts the least
//! useful sessions (logging those users out) and the throttle store forgets counts, but
//! the revocation and refresh-token stores refuse new entries ([`StoreError::Full`](crate::StoreError::Full)):
//! an evicted revocation or tombstone would accept a token it must refuse. Expiry *decisions* always go through the store's
//! [`Clock`](crate::Clock), so a [`ManualClock`](crate::ManualClock) expires records in
//! tests without waiting.

mod builder;
mod digest_hasher;
mod expiry;
mod refresh;
mod revocation;
mod room;
mod session;
mod throttle;

pub use builder::MemoryStoreBuilder;
pub use refresh::MemoryRefreshTokenStore;
pub use revocation::MemoryRevocationStore;
pub use session::MemorySessionStore;
pub use throttle::MemoryThrottleStore;

pub(crate) use expiry::{Deadline, DeadlineExpiry};

/// Default bound on the number of entries in each in-memory store.
pub const DEFAULT_MAX_ENTRIES: u64 = 1_000_000;
