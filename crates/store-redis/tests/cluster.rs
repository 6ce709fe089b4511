//! auth-core's whole conformance suite against a real 3-master Redis Cluster that this
//! test binary starts on free loopback ports (and that dies with it).
#![cfg(feature = "cluster")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failed test.

mod common;

use auth_core::SharedClock;
use store_redis::{
    ConfigError, ConnectOptions, RedisConnection, RedisRefreshTokenStore, RedisRevocationStore,
    RedisSessionStore, RedisStoreBuilder, RedisThrottleStore,
};

async fn builder(clock: SharedClock) -> RedisStoreBuilder {
    // Each test runs on its own tokio runtime, so each gets its own cluster connection.
    let cluster = common::Cluster::shared();
    let connection = RedisConnection::connect_cluster(cluster.urls())
        .await
        .expect("connect to the test cluster");
    RedisStoreBuilder::new(connection)
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

/// Every master is asked for its eviction policy: one evicting master refuses the cluster.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_evicting_master_refuses_the_cluster() {
    // Its own cluster: the shared one must keep `noeviction` for the other tests.
    let cluster = tokio::task::spawn_blocking(common::Cluster::start)
        .await
        .unwrap();
    let evicting = cluster.ports[1];
    common::cli(
        evicting,
        &["CONFIG", "SET", "maxmemory-policy", "volatile-lru"],
    )
    .unwrap();
    let refused = RedisConnection::connect_cluster(cluster.urls()).await;
    let Err(ConfigError::EvictionPolicy {
        node: Some(node),
        policy,
    }) = refused
    else {
        panic!("an evicting master must be refused, got {refused:?}");
    };
    assert_eq!(policy, "volatile-lru");
    assert!(node.ends_with(&format!(":{evicting}")), "{node}");
    let options = ConnectOptions::new().allow_eviction_policy();
    RedisConnection::connect_cluster_with(cluster.urls(), options)
        .await
        .unwrap();
    common::cli(
        evicting,
        &["CONFIG", "SET", "maxmemory-policy", "noeviction"],
    )
    .unwrap();
    let connection = RedisConnection::connect_cluster(cluster.urls())
        .await
        .unwrap();
    connection.check_eviction_policy().await.unwrap();
}
