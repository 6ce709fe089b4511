//! In-memory stores on moka: the embedded default for demos, tests and single-node
//! services. Nothing survives a restart, and nothing is shared between processes; use
//! `store-redis` or `store-sql` for that.
//!
//! Each store is bounded (default one million entries; when full, moka evicts the least
//! useful entries, which logs those users out) and lets moka drop records once their
//! deadline passes in real time. Expiry *decisions* always go through the store's
//! [`Clock`](crate::Clock), so a [`ManualClock`](crate::ManualClock) expires records in
//! tests without waiting.

mod digest_hasher;
mod expiry;
mod refresh;
mod revocation;
mod session;

pub use refresh::MemoryRefreshTokenStore;
pub use revocation::MemoryRevocationStore;
pub use session::{MemorySessionStore, MemorySessionStoreBuilder};

pub(crate) use expiry::{Deadline, DeadlineExpiry};

/// Default bound on the number of entries in each in-memory store.
pub const DEFAULT_MAX_ENTRIES: u64 = 1_000_000;
