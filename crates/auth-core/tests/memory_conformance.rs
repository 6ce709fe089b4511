//! The conformance suite against the in-memory stores and `Cached<memory>`.

use auth_core::memory::{
    MemoryRefreshTokenStore, MemoryRevocationStore, MemorySessionStore, MemoryThrottleStore,
};
use auth_core::{Cached, SharedClock};

async fn memory_sessions(clock: SharedClock) -> MemorySessionStore {
    MemorySessionStore::builder().clock(clock).build()
}

async fn cached_memory_sessions(clock: SharedClock) -> Cached<MemorySessionStore> {
    Cached::builder(memory_sessions(clock.clone()).await)
        .clock(clock)
        .build()
}

async fn memory_revocations(clock: SharedClock) -> MemoryRevocationStore {
    MemoryRevocationStore::new(clock)
}

async fn memory_refresh(clock: SharedClock) -> MemoryRefreshTokenStore {
    MemoryRefreshTokenStore::new(clock)
}

async fn memory_throttle(clock: SharedClock) -> MemoryThrottleStore {
    MemoryThrottleStore::new(clock)
}

mod memory_session {
    auth_core::session_store_conformance!(super::memory_sessions);
}

mod cached_memory_session {
    auth_core::session_store_conformance!(super::cached_memory_sessions);
}

mod memory_revocation {
    auth_core::revocation_store_conformance!(super::memory_revocations);
}

mod memory_refresh {
    auth_core::refresh_store_conformance!(super::memory_refresh);
}

mod memory_throttle {
    auth_core::throttle_store_conformance!(super::memory_throttle);
}
