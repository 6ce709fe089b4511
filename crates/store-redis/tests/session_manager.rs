//! auth-session's session-level suite (expiry, throttled touch, rotation, log out
//! everywhere, concurrency) through `SessionManager` over Redis: the Redis at `REDIS_URL`,
//! and (feature `cluster`) the 3-master cluster this binary starts, each with and without
//! the local cache.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failed test.

mod common;

use auth_core::SharedClock;
use store_redis::{LocalCacheConfig, RedisSessionStore, RedisStoreBuilder};

async fn single(clock: SharedClock) -> RedisSessionStore {
    RedisStoreBuilder::new(common::connection().await)
        .prefix(common::fresh_prefix())
        .clock(clock)
        .sessions()
        .unwrap()
}

mod single_server {
    auth_session::session_manager_conformance!(super::single);
}

async fn single_cached(clock: SharedClock) -> RedisSessionStore {
    RedisStoreBuilder::new(common::connection().await)
        .prefix(common::fresh_prefix())
        .clock(clock)
        .local_cache(LocalCacheConfig::new())
        .sessions()
        .unwrap()
}

mod single_server_cached {
    auth_session::session_manager_conformance!(super::single_cached);
}

#[cfg(feature = "cluster")]
async fn cluster(clock: SharedClock) -> RedisSessionStore {
    let connection =
        store_redis::RedisConnection::connect_cluster(common::Cluster::shared().urls())
            .await
            .expect("connect to the test cluster");
    RedisStoreBuilder::new(connection)
        .prefix(common::fresh_prefix())
        .clock(clock)
        .sessions()
        .unwrap()
}

#[cfg(feature = "cluster")]
mod cluster {
    auth_session::session_manager_conformance!(super::cluster);
}

#[cfg(feature = "cluster")]
async fn cluster_cached(clock: SharedClock) -> RedisSessionStore {
    let connection =
        store_redis::RedisConnection::connect_cluster(common::Cluster::shared().urls())
            .await
            .expect("connect to the test cluster");
    RedisStoreBuilder::new(connection)
        .prefix(common::fresh_prefix())
        .clock(clock)
        .local_cache(LocalCacheConfig::new())
        .sessions()
        .unwrap()
}

#[cfg(feature = "cluster")]
mod cluster_cached {
    auth_session::session_manager_conformance!(super::cluster_cached);
}
