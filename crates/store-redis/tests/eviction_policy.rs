//! Invariant 19 at connect: a Redis that may evict keys (any `maxmemory-policy` but
//! `noeviction`), or that will not say, is refused with a typed error unless the caller
//! accepts the risk explicitly. Runs against redis-servers this test starts on free ports,
//! and the Redis at `REDIS_URL` (which runs `noeviction`).
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failed test.

mod common;

use std::time::{Duration, SystemTime};

use auth_core::RevocationStore;
use store_redis::{ConfigError, ConnectOptions, RedisConnection, RedisStoreBuilder};

/// A throwaway server on a free port with `extra` settings; its URL.
fn server(extra: &[&str]) -> (tempfile::TempDir, u16, String) {
    let dir = tempfile::tempdir().unwrap();
    let port = common::free_port();
    let mut args = vec!["--save", "", "--appendonly", "no"];
    args.extend_from_slice(extra);
    common::spawn_server(dir.path(), port, &args);
    (dir, port, format!("redis://127.0.0.1:{port}"))
}

/// The connection works: a revocation written through it reads back.
async fn usable(connection: RedisConnection) {
    let revocations = RedisStoreBuilder::new(connection)
        .prefix(common::fresh_prefix())
        .revocations()
        .unwrap();
    let until = SystemTime::now() + Duration::from_secs(60);
    revocations.revoke("iss", "jti", until).await.unwrap();
    assert!(revocations.is_revoked("iss", "jti").await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_evicting_server_is_refused_unless_the_risk_is_accepted() {
    let (_dir, port, url) = server(&["--maxmemory-policy", "allkeys-lru"]);
    let refused = RedisConnection::connect(&url).await;
    let Err(error @ ConfigError::EvictionPolicy { .. }) = refused else {
        panic!("allkeys-lru must be refused, got {refused:?}");
    };
    assert!(
        matches!(&error, ConfigError::EvictionPolicy { policy, node: None } if policy == "allkeys-lru")
    );
    let message = error.to_string();
    assert!(message.contains("allkeys-lru"), "{message}");
    assert!(message.contains("allow_eviction_policy"), "{message}");

    let options = ConnectOptions::new().allow_eviction_policy();
    usable(RedisConnection::connect_with(&url, options).await.unwrap()).await;

    // volatile-* policies evict our keys too: every one of them has a TTL.
    common::cli(port, &["CONFIG", "SET", "maxmemory-policy", "volatile-ttl"]).unwrap();
    assert!(matches!(
        RedisConnection::connect(&url).await,
        Err(ConfigError::EvictionPolicy { policy, .. }) if policy == "volatile-ttl"
    ));
    // A connection built by hand is checked on request.
    let client = redis::Client::open(url.as_str()).unwrap();
    let manager = redis::aio::ConnectionManager::new(client).await.unwrap();
    let wrapped = RedisConnection::from_manager(manager);
    assert!(matches!(
        wrapped.check_eviction_policy().await,
        Err(ConfigError::EvictionPolicy { .. })
    ));
    common::cli(port, &["CONFIG", "SET", "maxmemory-policy", "noeviction"]).unwrap();
    wrapped.check_eviction_policy().await.unwrap();
    usable(RedisConnection::connect(&url).await.unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_will_not_tell_is_refused_unless_the_risk_is_accepted() {
    // As on managed services that rename CONFIG away: the server is `noeviction`, but
    // nothing can tell.
    let (_dir, port, url) = server(&["--rename-command", "CONFIG", ""]);
    assert!(common::cli(port, &["PING"]).is_some());
    let refused = RedisConnection::connect(&url).await;
    let Err(error @ ConfigError::EvictionPolicyUnknown { .. }) = refused else {
        panic!("an unreadable policy must be refused, got {refused:?}");
    };
    let message = error.to_string();
    assert!(message.contains("allow_eviction_policy"), "{message}");
    let options = ConnectOptions::new().allow_eviction_policy();
    usable(RedisConnection::connect_with(&url, options).await.unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_without_config_rights_is_refused_too() {
    let (_dir, port, url) = server(&[]);
    common::cli(
        port,
        &[
            "ACL", "SETUSER", "app", "on", ">pw", "~*", "&*", "+@all", "-config",
        ],
    )
    .unwrap();
    let as_app = url.replace("redis://", "redis://app:pw@");
    assert!(matches!(
        RedisConnection::connect(&as_app).await,
        Err(ConfigError::EvictionPolicyUnknown { node: None, .. })
    ));
    let options = ConnectOptions::new().allow_eviction_policy();
    usable(
        RedisConnection::connect_with(&as_app, options)
            .await
            .unwrap(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_noeviction_server_connects() {
    common::connection().await;
    usable(
        RedisConnection::connect(&common::redis_url())
            .await
            .unwrap(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_server_refuses_writes_as_unavailable() {
    // `noeviction` with a limit below what Redis uses at rest: every write is refused.
    let (_dir, _port, url) = server(&["--maxmemory", "1", "--maxmemory-policy", "noeviction"]);
    let connection = RedisConnection::connect(&url).await.unwrap();
    let revocations = RedisStoreBuilder::new(connection)
        .prefix(common::fresh_prefix())
        .revocations()
        .unwrap();
    let until = SystemTime::now() + Duration::from_secs(60);
    let refused = revocations.revoke("iss", "jti", until).await;
    assert!(
        matches!(refused, Err(auth_core::StoreError::Unavailable(_))),
        "{refused:?}"
    );
}
