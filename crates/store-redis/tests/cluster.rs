//! auth-core's whole conformance suite against a real 3-master Redis Cluster that this
//! test binary starts on free loopback ports (and that dies with it), with and without the
//! local cache; the local cache's cross-instance eviction and its flush when the
//! invalidation connection is lost (killed, or its node killed and restarted).
#![cfg(feature = "cluster")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failed test.

mod common;

use std::time::{Duration, Instant, SystemTime};

use auth_core::store::SessionRecord;
use auth_core::{SessionId, SessionStore, SharedClock, StoreError};
use store_redis::{
    ConfigError, ConnectOptions, LocalCacheConfig, RedisConnection, RedisRefreshTokenStore,
    RedisRevocationStore, RedisSessionStore, RedisStoreBuilder, RedisThrottleStore,
};

use common::cache::{self, within_bound};

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

async fn cached_sessions_store(clock: SharedClock) -> RedisSessionStore {
    builder(clock)
        .await
        .local_cache(LocalCacheConfig::new())
        .sessions()
        .unwrap()
}

async fn cached_revocation_store(clock: SharedClock) -> RedisRevocationStore {
    builder(clock)
        .await
        .local_cache(LocalCacheConfig::new())
        .revocations()
        .unwrap()
}

mod cached_sessions {
    auth_core::session_store_conformance!(super::cached_sessions_store);
}

mod cached_revocations {
    auth_core::revocation_store_conformance!(super::cached_revocation_store);
}

/// Two builders ("processes") on separate cluster connections, both cached, sharing a
/// fresh prefix (returned first).
async fn two_instances(
    urls: Vec<String>,
    options: ConnectOptions,
) -> (String, RedisStoreBuilder, RedisStoreBuilder) {
    let prefix = common::fresh_prefix();
    let builder = async || {
        let connection = RedisConnection::connect_cluster_with(&urls, options)
            .await
            .expect("connect to the test cluster");
        RedisStoreBuilder::new(connection)
            .prefix(prefix.as_str())
            .local_cache(LocalCacheConfig::new())
    };
    let (a, b) = (builder().await, builder().await);
    (prefix, a, b)
}

async fn shared_pair() -> (String, RedisStoreBuilder, RedisStoreBuilder) {
    two_instances(common::Cluster::shared().urls(), ConnectOptions::new()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cached_session_writes_evict_other_instances() {
    let (_, a, b) = shared_pair().await;
    cache::session_writes_evict_other_instances(&a, &b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cached_revocations_elsewhere_are_refused() {
    let (_, a, b) = shared_pair().await;
    cache::revocations_elsewhere_are_refused(&a, &b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_invalidation_connection_flushes_the_cache() {
    let (prefix, a, b) = shared_pair().await;
    let ports = common::Cluster::shared().ports.clone();
    cache::a_lost_invalidation_connection_flushes(&a, &b, || {
        ports
            .iter()
            .map(|&port| cache::kill_cache_connections(port, &prefix, "s"))
            .sum()
    })
    .await;
}

/// The master that serves the cached store's slot dies: the store stops answering from
/// memory and fails closed until the node is back; the node came back empty (no
/// persistence), and the store says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_master_fails_closed_and_comes_back_empty() {
    // Its own cluster: the shared one must stay up for the other tests.
    let cluster = tokio::task::spawn_blocking(common::Cluster::start)
        .await
        .unwrap();
    let options = ConnectOptions::new().timeout(Duration::from_millis(300));
    let (prefix, a, b) = two_instances(cluster.urls(), options).await;
    let (sessions, other) = (a.sessions().unwrap(), b.sessions().unwrap());
    let key = SessionId::generate().unwrap().key();
    let now = SystemTime::now();
    let record = SessionRecord::new("node", b"x".to_vec(), now, now + Duration::from_secs(600));
    other.create(&key, &record).await.unwrap();
    let cached = sessions.load(&key).await.unwrap().unwrap();

    // The node the cache tracks on is the one that serves the store's slot.
    let name = format!("name=authkit-cache:{{{prefix}:s}} ");
    let owner = *cluster
        .ports
        .iter()
        .find(|&&port| common::cli(port, &["CLIENT", "LIST"]).is_some_and(|l| l.contains(&name)))
        .expect("a node holds the cache's connection");
    common::signal(common::server_pid(owner), "KILL");
    within_bound(
        "the cached store fails closed once its node is gone",
        || async {
            match sessions.load(&key).await {
                Ok(Some(loaded)) => {
                    assert_eq!(loaded, cached);
                    false
                }
                Err(StoreError::Unavailable(_)) => true,
                other => panic!("{other:?}"),
            }
        },
    )
    .await;
    let down = Instant::now();
    while down.elapsed() < Duration::from_millis(300) {
        let loaded = sessions.load(&key).await;
        assert!(
            matches!(loaded, Err(StoreError::Unavailable(_))),
            "{loaded:?}"
        );
    }

    let dir = cluster.dir.clone();
    tokio::task::spawn_blocking(move || common::Cluster::spawn_node(&dir, owner))
        .await
        .unwrap();
    let back = Instant::now();
    loop {
        match sessions.load(&key).await {
            Ok(loaded) => {
                assert_eq!(loaded, None, "the restarted node holds nothing");
                break;
            }
            Err(StoreError::Unavailable(_)) if back.elapsed() < Duration::from_secs(15) => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => panic!("the cached store did not recover: {e:?}"),
        }
    }
    assert!(sessions.local_cache_stats().unwrap().flushes >= 1);
}
