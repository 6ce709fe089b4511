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

/// A TCP proxy to `upstream` that, once `armed`, passes the next request holding an
/// `EVALSHA` through to Redis and then closes that client's connection instead of
/// passing the reply back: a reply lost after the script ran.
async fn reply_losing_proxy(
    listener: tokio::net::TcpListener,
    upstream: u16,
    armed: std::sync::Arc<std::sync::atomic::AtomicBool>,
) {
    use std::sync::atomic::{AtomicBool, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    while let Ok((client, _)) = listener.accept().await {
        let Ok(server) = tokio::net::TcpStream::connect(("127.0.0.1", upstream)).await else {
            return;
        };
        let armed = armed.clone();
        tokio::spawn(async move {
            let (mut from_client, mut to_client) = client.into_split();
            let (mut from_server, mut to_server) = server.into_split();
            let lose = std::sync::Arc::new(AtomicBool::new(false));
            let losing = lose.clone();
            let upward = tokio::spawn(async move {
                let mut buf = vec![0; 1 << 16];
                while let Ok(n @ 1..) = from_client.read(&mut buf).await {
                    let request = &buf[..n];
                    if request.windows(7).any(|w| w == b"EVALSHA")
                        && armed.swap(false, Ordering::SeqCst)
                    {
                        losing.store(true, Ordering::SeqCst);
                    }
                    if to_server.write_all(request).await.is_err() {
                        return;
                    }
                }
            });
            let mut buf = vec![0; 1 << 16];
            while let Ok(n @ 1..) = from_server.read(&mut buf).await {
                if lose.load(Ordering::SeqCst) || to_client.write_all(&buf[..n]).await.is_err() {
                    break;
                }
            }
            upward.abort();
        });
    }
}

/// The connection is lost after Redis ran a rotation and before its reply came back. The
/// store may answer `Rotated` or `Unavailable`, never run the script a second time: that
/// run would find the token used and revoke the family of a client that presented its
/// token once (`Reused`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_lost_after_the_script_ran_never_runs_it_twice() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    use auth_core::store::{RefreshRecord, Rotation};
    use auth_core::{FamilyId, RefreshToken, RefreshTokenStore};

    let dir = tempfile::Builder::new()
        .prefix("store-redis-lost-reply-")
        .tempdir()
        .unwrap()
        .keep();
    let port = common::free_port();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy_port = listener.local_addr().unwrap().port().to_string();
    let nodes_file = dir.join("nodes.conf").display().to_string();
    common::spawn_server(
        &dir,
        port,
        &[
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            &nodes_file,
            "--save",
            "",
            "--appendonly",
            "no",
            "--cluster-announce-port",
            &proxy_port,
        ],
    );
    common::cli(port, &["CLUSTER", "ADDSLOTSRANGE", "0", "16383"]).unwrap();
    common::wait_until(Duration::from_secs(20), || {
        common::cli(port, &["CLUSTER", "INFO"])
            .is_some_and(|info| info.contains("cluster_state:ok"))
    })
    .expect("the one-node cluster comes up");
    let armed = Arc::new(AtomicBool::new(false));
    tokio::spawn(reply_losing_proxy(listener, port, armed.clone()));

    let connection = RedisConnection::connect_cluster([format!("redis://127.0.0.1:{proxy_port}")])
        .await
        .unwrap();
    let store = RedisStoreBuilder::new(connection)
        .prefix(common::fresh_prefix())
        .refresh_tokens()
        .unwrap();
    let now = SystemTime::now();
    let hour = Duration::from_secs(3600);
    let hash = || RefreshToken::generate().unwrap().hash();
    let record = |subject| {
        RefreshRecord::new(
            FamilyId::generate().unwrap(),
            subject,
            Vec::new(),
            now,
            now + hour,
        )
    };
    // Loads the rotation script, so that the armed request is the rotation itself.
    let warm = hash();
    store.insert(&warm, &record("bob")).await.unwrap();
    store.rotate(&warm, &hash(), now, now + hour).await.unwrap();

    let token = hash();
    store.insert(&token, &record("alice")).await.unwrap();
    armed.store(true, Ordering::SeqCst);
    let answer = store.rotate(&token, &hash(), now, now + hour).await;
    assert!(!armed.load(Ordering::SeqCst), "the proxy lost a reply");
    common::signal(common::server_pid(port), "KILL");
    match answer {
        Ok(Rotation::Rotated(_)) | Err(StoreError::Unavailable(_)) => {}
        Ok(Rotation::Reused { .. }) => panic!("one presentation of a live token was called reuse"),
        other => panic!("unexpected answer {other:?}"),
    }
}

/// A slot moved to another master after the client learned the map: the store follows
/// the cluster's redirection (sent again only because the first node refused the call
/// without running it) and the call succeeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_moved_slot_is_followed() {
    use auth_core::store::RefreshRecord;
    use auth_core::{FamilyId, RefreshToken, RefreshTokenStore};

    let cluster = common::Cluster::start();
    let connection = RedisConnection::connect_cluster(cluster.urls())
        .await
        .unwrap();
    let prefix = common::fresh_prefix();
    let store = RedisStoreBuilder::new(connection)
        .prefix(&prefix)
        .refresh_tokens()
        .unwrap();
    let port = cluster.ports[0];
    let slot = common::cli(port, &["CLUSTER", "KEYSLOT", &format!("{{{prefix}:rt}}")])
        .unwrap()
        .trim()
        .to_owned();
    let slot_number: u16 = slot.parse().unwrap();
    let nodes = common::cli(port, &["CLUSTER", "NODES"]).unwrap();
    let owner = nodes
        .lines()
        .find(|line| {
            line.split_whitespace().skip(8).any(|range| {
                let (first, last) = range.split_once('-').unwrap_or((range, range));
                (first.parse().unwrap()..=last.parse().unwrap()).contains(&slot_number)
            })
        })
        .and_then(|line| line.split_whitespace().next())
        .unwrap()
        .to_owned();
    let (target_port, target) = cluster
        .ports
        .iter()
        .map(|&p| {
            (
                p,
                common::cli(p, &["CLUSTER", "MYID"])
                    .unwrap()
                    .trim()
                    .to_owned(),
            )
        })
        .find(|(_, id)| *id != owner)
        .unwrap();
    let mut ports = cluster.ports.clone();
    ports.sort_by_key(|&p| p != target_port);
    for p in ports {
        let moved = common::cli(p, &["CLUSTER", "SETSLOT", &slot, "NODE", &target]).unwrap();
        assert_eq!(moved.trim(), "OK", "{p}");
    }

    let now = SystemTime::now();
    let hour = Duration::from_secs(3600);
    let record = RefreshRecord::new(
        FamilyId::generate().unwrap(),
        "ada",
        Vec::new(),
        now,
        now + hour,
    );
    let token = RefreshToken::generate().unwrap().hash();
    store
        .insert(&token, &record)
        .await
        .expect("the redirection is followed");
    let held = common::cli(target_port, &["CLUSTER", "COUNTKEYSINSLOT", &slot]).unwrap();
    assert_ne!(held.trim(), "0", "the keys went to the slot's new master");
}
