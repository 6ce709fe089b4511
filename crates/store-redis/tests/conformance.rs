//! auth-core's whole conformance suite against the Redis at `REDIS_URL`, each store with a
//! fresh prefix.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failed test.

mod common;

use auth_core::SharedClock;
use store_redis::{
    RedisRefreshTokenStore, RedisRevocationStore, RedisSessionStore, RedisStoreBuilder,
    RedisThrottleStore,
};

async fn builder(clock: SharedClock) -> RedisStoreBuilder {
    RedisStoreBuilder::new(common::connection().await)
        .prefix(common::fresh_prefix())
        .clock(clock)
}

async fn sessions_store(clock: SharedClock) -> RedisSessionStore {
    builder(clock).await.sessions().unwrap()
}

async fn revocation_store(clock: SharedClock) -> RedisRevocationStore {
    builder(clock).await.revocations().unwrap()
}

async fn refresh_store(clock: SharedClock) -> RedisRefreshTokenStore {
    builder(clock).await.refresh_tokens().unwrap()
}

async fn throttle_store(clock: SharedClock) -> RedisThrottleStore {
    builder(clock).await.throttle().unwrap()
}

mod sessions {
    auth_core::session_store_conformance!(super::sessions_store);
}

mod revocations {
    auth_core::revocation_store_conformance!(super::revocation_store);
}

mod refresh {
    auth_core::refresh_store_conformance!(super::refresh_store);
}

mod throttle {
    auth_core::throttle_store_conformance!(super::throttle_store);
}
