//! The public session-level suite, run against the in-memory store and against the
//! read-through cache in front of it.

use auth_core::memory::MemorySessionStore;
use auth_core::{Cached, SharedClock};

async fn memory(clock: SharedClock) -> MemorySessionStore {
    MemorySessionStore::builder().clock(clock).build()
}

async fn cached_memory(clock: SharedClock) -> Cached<MemorySessionStore> {
    Cached::builder(MemorySessionStore::builder().clock(clock.clone()).build())
        .clock(clock)
        .build()
}

mod memory_store {
    auth_session::session_manager_conformance!(super::memory);
}

mod cached_memory_store {
    auth_session::session_manager_conformance!(super::cached_memory);
}

/// The suite's counting decorator must itself keep the store contract, or the counts it
/// reports would be about a different store.
async fn counting_memory(
    clock: SharedClock,
) -> auth_session::conformance::CountingStore<MemorySessionStore> {
    auth_session::conformance::CountingStore::new(memory(clock).await)
}

mod counting_store_contract {
    auth_core::session_store_conformance!(super::counting_memory);
}
