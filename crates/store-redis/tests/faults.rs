//! Outages: a Redis that stops answering makes every operation `Unavailable` within the
//! configured timeout, and the same store works again once Redis is back, with the data
//! written before still there when the server kept it. Runs against a redis-server this
//! test starts on a free port (AOF on, fsync always, so a killed server keeps its data).
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failed test.

mod common;

use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use auth_core::store::SessionRecord;
use auth_core::{RevocationStore, SessionId, SessionKey, SessionStore, StoreError};
use store_redis::{
    ConfigError, ConnectOptions, RedisConnection, RedisRevocationStore, RedisSessionStore,
    RedisStoreBuilder,
};

const TIMEOUT: Duration = Duration::from_millis(200);
/// Scheduling slack on a loaded 2-core machine; far below any "hang".
const MARGIN: Duration = Duration::from_millis(300);

fn start(dir: &Path, port: u16) {
    common::spawn_server(
        dir,
        port,
        &[
            "--save",
            "",
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
        ],
    );
}

async fn assert_unavailable_in_time(
    sessions: &RedisSessionStore,
    revocations: &RedisRevocationStore,
) {
    let now = SystemTime::now();
    let probe = SessionId::generate().unwrap().key();
    let record = SessionRecord::new("u", b"x".to_vec(), now, now + Duration::from_secs(60));
    let started = Instant::now();
    let results = [
        sessions.load(&probe).await.map(|_| ()),
        sessions.create(&probe, &record).await,
        sessions.list_subject("u").await.map(|_| ()),
        revocations.is_revoked("iss", "jti").await.map(|_| ()),
    ];
    let elapsed = started.elapsed();
    for result in results {
        assert!(
            matches!(result, Err(StoreError::Unavailable(_))),
            "expected Unavailable, got {result:?}"
        );
    }
    assert!(
        elapsed < 4 * (TIMEOUT + MARGIN),
        "four calls took {elapsed:?} with a {TIMEOUT:?} timeout"
    );
}

/// Retries `load` (each bounded by the timeout) until Redis answers again.
async fn load_when_back(sessions: &RedisSessionStore, key: &SessionKey) -> Option<SessionRecord> {
    let started = Instant::now();
    loop {
        match sessions.load(key).await {
            Ok(loaded) => return loaded,
            Err(StoreError::Unavailable(e)) if started.elapsed() < Duration::from_secs(5) => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("the store did not recover: {e:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outage_is_unavailable_within_the_timeout_and_the_store_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let port = common::free_port();
    start(dir.path(), port);
    let url = format!("redis://127.0.0.1:{port}");
    let connection = RedisConnection::connect_with_timeout(&url, TIMEOUT)
        .await
        .unwrap();
    let builder = RedisStoreBuilder::new(connection).prefix(common::fresh_prefix());
    let sessions = builder.sessions().unwrap();
    let revocations = builder.revocations().unwrap();

    let id = SessionId::generate().unwrap();
    let now = SystemTime::now();
    let record = SessionRecord::new(
        "dana",
        b"before the fault".to_vec(),
        now,
        now + Duration::from_secs(600),
    );
    sessions.create(&id.key(), &record).await.unwrap();

    // The server stops answering (SIGSTOP): the kernel still accepts connections.
    let pid = common::server_pid(port);
    common::signal(pid, "STOP");
    assert_unavailable_in_time(&sessions, &revocations).await;
    common::signal(pid, "CONT");
    let loaded = load_when_back(&sessions, &id.key())
        .await
        .expect("data kept");
    assert_eq!(loaded.data, b"before the fault");

    // The server dies and comes back on the same port; AOF kept the data.
    common::signal(pid, "KILL");
    common::wait_until(Duration::from_secs(5), || {
        common::cli(port, &["PING"]).is_none()
    })
    .expect("the killed server stops answering");
    assert_unavailable_in_time(&sessions, &revocations).await;
    start(dir.path(), port);
    let loaded = load_when_back(&sessions, &id.key())
        .await
        .expect("data kept by AOF");
    assert_eq!(loaded.data, b"before the fault");
    assert_eq!(sessions.list_subject("dana").await.unwrap().len(), 1);

    // Not lazily reconnected once only: writes work too.
    let second = SessionId::generate().unwrap();
    sessions.create(&second.key(), &record).await.unwrap();
    assert_eq!(sessions.delete_subject("dana").await.unwrap(), 2);
    common::signal(common::server_pid(port), "KILL");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_on_an_unreachable_server_fails_closed_without_hanging() {
    // Nothing listens on a free port: every call is refused quickly, never hangs.
    let url = format!("redis://127.0.0.1:{}", common::free_port());
    // Connecting asks for the eviction policy, so it fails at once, typed.
    let started = Instant::now();
    let refused = RedisConnection::connect_with_timeout(&url, TIMEOUT).await;
    assert!(
        matches!(
            refused,
            Err(ConfigError::Unreachable(StoreError::Unavailable(_)))
        ),
        "{refused:?}"
    );
    assert!(started.elapsed() < TIMEOUT + MARGIN);
    // Without that question the connection is lazy; its stores fail closed.
    let options = ConnectOptions::new()
        .timeout(TIMEOUT)
        .allow_eviction_policy();
    let connection = RedisConnection::connect_with(&url, options).await.unwrap();
    let builder = RedisStoreBuilder::new(connection).prefix("unreachable");
    let sessions = builder.sessions().unwrap();
    let revocations = builder.revocations().unwrap();
    assert_unavailable_in_time(&sessions, &revocations).await;
}

/// A server that accepts connections and never answers a byte: the stalled backend of
/// auth-core's bounded-time clauses.
async fn stalled() -> RedisStoreBuilder {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("redis://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    // A server that never answers cannot say its eviction policy either.
    let options = ConnectOptions::new()
        .timeout(TIMEOUT)
        .allow_eviction_policy();
    RedisStoreBuilder::new(RedisConnection::connect_with(&url, options).await.unwrap())
}

async fn stalled_sessions() -> RedisSessionStore {
    stalled().await.sessions().unwrap()
}

async fn stalled_revocations() -> RedisRevocationStore {
    stalled().await.revocations().unwrap()
}

async fn stalled_refresh() -> store_redis::RedisRefreshTokenStore {
    stalled().await.refresh_tokens().unwrap()
}

async fn stalled_throttle() -> store_redis::RedisThrottleStore {
    stalled().await.throttle().unwrap()
}

auth_core::unavailable_conformance! {
    sessions: stalled_sessions,
    revocations: stalled_revocations,
    refresh: stalled_refresh,
    throttle: stalled_throttle,
}
