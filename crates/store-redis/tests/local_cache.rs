//! The local cache kept fresh by Redis, on a single server: auth-core's conformance suites
//! (and the stalled-backend clauses) against the cached stores (auth-session's suite runs
//! on them in `session_manager.rs`, the cluster's in `cluster.rs`), two store instances on
//! separate connections evicting each other's copies, warm requests that send nothing,
//! and failing closed when the invalidation connection is lost or silent (servers this
//! test starts, stopped, killed and restarted).
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failed test.

mod common;

use std::future::Future as _;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use auth_core::store::{SessionRecord, TimedOut, TokenRef};
use auth_core::{RevocationStore, SessionId, SessionStore, SharedClock, StoreError};
use store_redis::{
    CacheUnavailable, ConfigError, ConnectOptions, LocalCacheConfig, RedisConnection,
    RedisRevocationStore, RedisSessionStore, RedisStoreBuilder,
};

use common::cache::{self, within_bound};

async fn cached(clock: SharedClock) -> RedisStoreBuilder {
    RedisStoreBuilder::new(common::connection().await)
        .prefix(common::fresh_prefix())
        .clock(clock)
        .local_cache(LocalCacheConfig::new())
}

async fn sessions_store(clock: SharedClock) -> RedisSessionStore {
    cached(clock).await.sessions().unwrap()
}

async fn revocation_store(clock: SharedClock) -> RedisRevocationStore {
    cached(clock).await.revocations().unwrap()
}

mod sessions {
    auth_core::session_store_conformance!(super::sessions_store);
}

mod revocations {
    auth_core::revocation_store_conformance!(super::revocation_store);
}

/// Stalled backend (accepts connections, never answers): the cached stores fail closed
/// within their timeout too, the invalidation connection included.
async fn stalled() -> RedisStoreBuilder {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("redis://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let options = ConnectOptions::new()
        .timeout(Duration::from_millis(200))
        .allow_eviction_policy();
    RedisStoreBuilder::new(RedisConnection::connect_with(&url, options).await.unwrap())
        .local_cache(LocalCacheConfig::new())
}

async fn stalled_sessions() -> RedisSessionStore {
    stalled().await.sessions().unwrap()
}

async fn stalled_revocations() -> RedisRevocationStore {
    stalled().await.revocations().unwrap()
}

auth_core::unavailable_conformance! {
    sessions: stalled_sessions,
    revocations: stalled_revocations,
}

/// Two builders ("processes") on separate connections to `url`, both cached, sharing a
/// fresh prefix (returned first).
async fn two_instances(
    url: &str,
    options: ConnectOptions,
    cache: LocalCacheConfig,
) -> (String, RedisStoreBuilder, RedisStoreBuilder) {
    let prefix = common::fresh_prefix();
    let builder = async || {
        let connection = RedisConnection::connect_with(url, options).await.unwrap();
        RedisStoreBuilder::new(connection)
            .prefix(prefix.as_str())
            .local_cache(cache)
    };
    let (a, b) = (builder().await, builder().await);
    (prefix, a, b)
}

async fn shared_pair() -> (String, RedisStoreBuilder, RedisStoreBuilder) {
    common::connection().await;
    two_instances(
        &common::redis_url(),
        ConnectOptions::new(),
        LocalCacheConfig::new(),
    )
    .await
}

/// The port of the Redis at `REDIS_URL`.
fn shared_port() -> u16 {
    let client = redis::Client::open(common::redis_url()).unwrap();
    match client.get_connection_info().addr() {
        redis::ConnectionAddr::Tcp(_, port) => *port,
        other => panic!("REDIS_URL must be a TCP address for this test: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_writes_evict_other_instances() {
    let (_, a, b) = shared_pair().await;
    cache::session_writes_evict_other_instances(&a, &b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocations_elsewhere_are_refused() {
    let (_, a, b) = shared_pair().await;
    cache::revocations_elsewhere_are_refused(&a, &b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_invalidation_connection_flushes_the_cache() {
    let (prefix, a, b) = shared_pair().await;
    let port = shared_port();
    cache::a_lost_invalidation_connection_flushes(&a, &b, || {
        cache::kill_cache_connections(port, &prefix, "s")
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrapped_connection_cannot_be_cached() {
    common::connection().await;
    let client = redis::Client::open(common::redis_url()).unwrap();
    let manager = redis::aio::ConnectionManager::new(client).await.unwrap();
    let builder = RedisStoreBuilder::new(RedisConnection::from_manager(manager))
        .local_cache(LocalCacheConfig::new());
    assert!(matches!(
        builder.sessions(),
        Err(ConfigError::LocalCache(_))
    ));
    assert!(matches!(
        builder.revocations(),
        Err(ConfigError::LocalCache(_))
    ));
    let zero = RedisStoreBuilder::new(common::connection().await)
        .local_cache(LocalCacheConfig::new().heartbeat(Duration::ZERO));
    assert!(matches!(zero.sessions(), Err(ConfigError::LocalCache(_))));
}

/// A redis-server of this test's own, without persistence.
fn own_server(dir: &Path) -> (u16, String) {
    let port = common::free_port();
    start(dir, port);
    (port, format!("redis://127.0.0.1:{port}"))
}

fn start(dir: &Path, port: u16) {
    common::spawn_server(dir, port, &["--save", "", "--appendonly", "no"]);
}

fn total_commands(port: u16) -> u64 {
    let info = common::cli(port, &["INFO", "stats"]).unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix("total_commands_processed:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap()
}

/// "Log out everywhere" whose future is dropped once the script is on its way (a client
/// that hung up, a timeout around the handler): the sessions this process held must not
/// outlive it here, since no invalidation will ever come for them (the script ran on the
/// cache's own connection).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_delete_subject_still_forgets_the_sessions_held_here() {
    let (_, a, b) = shared_pair().await;
    let (cached, other) = (a.sessions().unwrap(), b.sessions().unwrap());
    // A call may also complete within its first poll (a fast reply on a busy machine):
    // then there is nothing to cancel, and the scenario is tried again.
    for attempt in 0.. {
        assert!(
            attempt < 50,
            "every delete_subject completed within its first poll"
        );
        let key = SessionId::generate().unwrap().key();
        cached.create(&key, &session("cancelled")).await.unwrap();
        cached.load(&key).await.unwrap().unwrap();
        let hits = cached.local_cache_stats().unwrap().hits;
        cached.load(&key).await.unwrap().unwrap();
        assert_eq!(
            cached.local_cache_stats().unwrap().hits,
            hits + 1,
            "held here"
        );

        let mut deleting = Box::pin(cached.delete_subject("cancelled"));
        let first = std::future::poll_fn(|cx| std::task::Poll::Ready(deleting.as_mut().poll(cx)));
        if first.await.is_ready() {
            continue;
        }
        // The command has left; wait until another instance sees its effect, then cancel.
        let started = Instant::now();
        while other.load(&key).await.unwrap().is_some() {
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "the delete never ran"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        drop(deleting);
        assert_eq!(cached.load(&key).await.unwrap(), None);
        break;
    }
}

type Pending<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// Polls `f` once; whether it completed.
fn poll_once<T>(f: &mut Pending<'_, T>) -> bool {
    let waker = std::task::Waker::noop();
    f.as_mut()
        .poll(&mut std::task::Context::from_waker(waker))
        .is_ready()
}

/// A read answered before a delete ran, but completed after another read on this node saw
/// the session gone, must not put the session back in the cache: the node would serve a
/// logged-out session again until the delete's own call completed (however long its
/// future waits to be polled). For `delete` and for "log out everywhere".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_seen_gone_never_comes_back_while_its_delete_is_in_flight() {
    let (_, a, b) = shared_pair().await;
    let (cached, other) = (a.sessions().unwrap(), b.sessions().unwrap());
    // The first call starts the invalidation link; from then on a read leaves at once.
    cached
        .load(&SessionId::generate().unwrap().key())
        .await
        .unwrap();
    for everywhere in [false, true] {
        // A call may complete within its first poll (a fast reply): then try again.
        let mut tried = 0;
        loop {
            tried += 1;
            assert!(tried < 50, "every call completed within its first poll");
            let key = SessionId::generate().unwrap().key();
            let subject = common::fresh_prefix();
            // Written elsewhere, so this node holds nothing yet and its reads go out.
            other.create(&key, &session(&subject)).await.unwrap();
            let mut read: Pending<'_, _> = Box::pin(cached.load(&key));
            if poll_once(&mut read) {
                continue;
            }
            let mut delete: Pending<'_, _> = if everywhere {
                Box::pin(async { cached.delete_subject(&subject).await.map(|_| ()) })
            } else {
                Box::pin(async { cached.delete(&key).await.map(|_| ()) })
            };
            if poll_once(&mut delete) {
                continue;
            }
            // Polled again only until another instance sees the delete, so that it is
            // still in flight then (a script sent the first time may take two trips).
            let started = Instant::now();
            let mut completed = false;
            while other.load(&key).await.unwrap().is_some() {
                assert!(
                    started.elapsed() < Duration::from_secs(5),
                    "the delete never ran"
                );
                completed = poll_once(&mut delete);
                if completed {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            if completed {
                continue;
            }
            assert_eq!(cached.load(&key).await.unwrap(), None, "seen gone here");
            if read.await.unwrap().is_none() {
                // The read left after the delete after all: nothing was at stake.
                delete.await.unwrap();
                continue;
            }
            assert_eq!(
                cached.load(&key).await.unwrap(),
                None,
                "a session seen gone came back from memory (everywhere: {everywhere})"
            );
            delete.await.unwrap();
            break;
        }
    }
}

fn session(subject: &str) -> SessionRecord {
    let now = SystemTime::now();
    SessionRecord::new(subject, b"{}".to_vec(), now, now + Duration::from_secs(600))
}

/// Warm session loads and revocation checks send no command to Redis; a touch writes
/// through and leaves the entry warm.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warm_requests_send_no_command() {
    let dir = tempfile::tempdir().unwrap();
    let (port, url) = own_server(dir.path());
    let (_, a, _) = two_instances(&url, ConnectOptions::new(), LocalCacheConfig::new()).await;
    let (sessions, revocations) = (a.sessions().unwrap(), a.revocations().unwrap());
    let key = SessionId::generate().unwrap().key();
    sessions.create(&key, &session("warm")).await.unwrap();
    let token = TokenRef::new("iss", "warm", SystemTime::now()).jti(Some("j"));
    sessions.load(&key).await.unwrap().unwrap();
    assert!(!revocations.is_token_revoked(&token).await.unwrap());

    // `INFO` itself is one command; each store probes its connection once a heartbeat.
    let before = total_commands(port);
    let started = Instant::now();
    for _ in 0..1_000 {
        sessions.load(&key).await.unwrap().unwrap();
        assert!(!revocations.is_token_revoked(&token).await.unwrap());
    }
    let sent = total_commands(port) - before - 1;
    let heartbeats = 2 * (started.elapsed().as_secs() + 1);
    assert!(
        sent <= heartbeats,
        "1,000 warm loads and 1,000 warm revocation checks sent {sent} commands in {:?}",
        started.elapsed()
    );

    // A touch writes through and leaves the entry warm: no load after it asks Redis.
    let now = SystemTime::now();
    let until = now + Duration::from_secs(900);
    assert!(sessions.touch(&key, now, until).await.unwrap());
    let misses = sessions.local_cache_stats().unwrap().misses;
    let before = total_commands(port);
    let started = Instant::now();
    for _ in 0..1_000 {
        let loaded = sessions.load(&key).await.unwrap().unwrap();
        assert_eq!(loaded.expires_at, until);
    }
    let sent = total_commands(port) - before - 1;
    let heartbeats = 2 * (started.elapsed().as_secs() + 1);
    assert!(
        sent <= heartbeats,
        "1,000 loads after a touch sent {sent} commands"
    );
    let stats = sessions.local_cache_stats().unwrap();
    assert_eq!(stats.misses, misses, "{stats:?}");
    assert!(stats.hits >= 2_000, "{stats:?}");
}

/// The server dies: the cached store stops answering from memory and fails closed until
/// the server is back; the server came back empty, and the store says so (a cache that
/// survived the loss would still answer the session).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_server_fails_closed_and_comes_back_empty() {
    let dir = tempfile::tempdir().unwrap();
    let (port, url) = own_server(dir.path());
    let options = ConnectOptions::new().timeout(Duration::from_millis(200));
    let (_, a, b) = two_instances(&url, options, LocalCacheConfig::new()).await;
    let (sessions, other) = (a.sessions().unwrap(), b.sessions().unwrap());
    let revocations = a.revocations().unwrap();
    let key = SessionId::generate().unwrap().key();
    let record = session("kill");
    other.create(&key, &record).await.unwrap();
    let cached = sessions.load(&key).await.unwrap().unwrap();
    let token = TokenRef::new("iss", "kill", SystemTime::now()).jti(Some("j"));
    assert!(!revocations.is_token_revoked(&token).await.unwrap());

    common::signal(common::server_pid(port), "KILL");
    within_bound(
        "the cached store fails closed once the server is gone",
        || async {
            match sessions.load(&key).await {
                // Before the loss is seen, the copy is still the truth: nothing can write.
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
    // The revocation store has a link of its own, which sees the loss on its own read.
    within_bound(
        "the cached revocation store fails closed once the server is gone",
        || async {
            match revocations.is_token_revoked(&token).await {
                Ok(revoked) => {
                    assert!(!revoked);
                    false
                }
                Err(StoreError::Unavailable(_)) => true,
                other => panic!("{other:?}"),
            }
        },
    )
    .await;
    // While it is down, every answer is Unavailable: nothing is served from memory.
    let down = Instant::now();
    while down.elapsed() < Duration::from_millis(300) {
        let loaded = sessions.load(&key).await;
        assert!(
            matches!(loaded, Err(StoreError::Unavailable(_))),
            "{loaded:?}"
        );
        let checked = revocations.is_token_revoked(&token).await;
        assert!(
            matches!(checked, Err(StoreError::Unavailable(_))),
            "{checked:?}"
        );
    }
    assert!(sessions.local_cache_stats().unwrap().flushes >= 1);

    start(dir.path(), port);
    let back = Instant::now();
    loop {
        match sessions.load(&key).await {
            Ok(loaded) => {
                assert_eq!(loaded, None, "the restarted server holds nothing");
                break;
            }
            Err(StoreError::Unavailable(_)) if back.elapsed() < Duration::from_secs(5) => {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            Err(e) => panic!("the cached store did not recover: {e:?}"),
        }
    }
    // And it caches again, once the other instance, which reconnects on its own, writes.
    loop {
        match other.create(&key, &record).await {
            Ok(()) => break,
            Err(StoreError::Unavailable(_)) if back.elapsed() < Duration::from_secs(5) => {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            Err(e) => panic!("the other instance did not recover: {e:?}"),
        }
    }
    within_bound("the cached store serves again", || async {
        sessions.load(&key).await.unwrap().is_some()
    })
    .await;
    common::signal(common::server_pid(port), "KILL");
}

/// The server stops answering without closing anything (SIGSTOP): the heartbeat goes
/// unanswered, and the store fails closed within `heartbeat + timeout`, typed; it comes
/// back once the server answers again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_server_fails_closed_within_the_heartbeat() {
    let dir = tempfile::tempdir().unwrap();
    let (port, url) = own_server(dir.path());
    let timeout = Duration::from_millis(200);
    let heartbeat = Duration::from_millis(100);
    let options = ConnectOptions::new().timeout(timeout);
    let (_, a, b) =
        two_instances(&url, options, LocalCacheConfig::new().heartbeat(heartbeat)).await;
    let (sessions, other) = (a.sessions().unwrap(), b.sessions().unwrap());
    let key = SessionId::generate().unwrap().key();
    other.create(&key, &session("stop")).await.unwrap();
    sessions.load(&key).await.unwrap().unwrap();

    let pid = common::server_pid(port);
    common::signal(pid, "STOP");
    let stopped = Instant::now();
    let reason = loop {
        match sessions.load(&key).await {
            Ok(Some(_)) => {
                assert!(
                    stopped.elapsed() < heartbeat + timeout + Duration::from_millis(300),
                    "served from memory {:?} after the server fell silent",
                    stopped.elapsed()
                );
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            Err(StoreError::Unavailable(source)) => break source,
            other => panic!("{other:?}"),
        }
    };
    let typed = reason.downcast_ref::<CacheUnavailable>();
    assert!(
        typed.is_some() || reason.is::<TimedOut>(),
        "a typed reason: {reason:?}"
    );
    eprintln!(
        "failed closed {:?} after SIGSTOP: {reason}",
        stopped.elapsed()
    );
    common::signal(pid, "CONT");
    let back = Instant::now();
    loop {
        match sessions.load(&key).await {
            Ok(loaded) => {
                assert!(loaded.is_some(), "the server kept its data");
                break;
            }
            Err(StoreError::Unavailable(_)) if back.elapsed() < Duration::from_secs(5) => {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            Err(e) => panic!("the cached store did not recover: {e:?}"),
        }
    }
    assert!(sessions.local_cache_stats().unwrap().flushes >= 1);
    common::signal(pid, "KILL");
}

/// A store outlives the runtime that first used it: its invalidation connection runs on
/// a thread of its own, so it keeps reading invalidations, and a write made elsewhere
/// meanwhile is seen on the next runtime.
#[test]
fn a_store_outliving_its_runtime_keeps_its_invalidations() {
    let runtime = || {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap()
    };
    let key = SessionId::generate().unwrap().key();
    let (prefix, a) = runtime().block_on(async {
        let (prefix, a, b) = shared_pair().await;
        let (a, b) = (a.sessions().unwrap(), b.sessions().unwrap());
        b.create(&key, &session("runtimes")).await.unwrap();
        assert!(a.load(&key).await.unwrap().is_some());
        assert!(a.load(&key).await.unwrap().is_some());
        (prefix, a)
    });
    // The first runtime is gone. The session is deleted elsewhere (on the new runtime:
    // b's connections died with the first one).
    runtime().block_on(async {
        let other = RedisStoreBuilder::new(common::connection().await)
            .prefix(prefix)
            .sessions()
            .unwrap();
        assert!(other.delete(&key).await.unwrap());
        within_bound(
            "the delete is seen after the first runtime ended",
            || async { a.load(&key).await.unwrap().is_none() },
        )
        .await;
    });
}

/// A runtime that stops running (a blocking handler on a single-threaded runtime) holds
/// back no invalidation: the store it first used goes on evicting on its other runtimes.
#[test]
fn a_blocked_runtime_holds_back_no_invalidation() {
    let runtime = || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    };
    let key = SessionId::generate().unwrap().key();
    let (warm_tx, warm_rx) = std::sync::mpsc::channel();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let blocked = std::thread::spawn(move || {
        runtime().block_on(async {
            let (prefix, a, b) = shared_pair().await;
            let (a, b) = (a.sessions().unwrap(), b.sessions().unwrap());
            b.create(&key, &session("blocked")).await.unwrap();
            assert!(a.load(&key).await.unwrap().is_some());
            warm_tx.send((prefix, a)).unwrap();
            // Blocks this runtime's only thread until the test is done.
            release_rx.recv().unwrap();
        });
    });
    let (prefix, a) = warm_rx.recv().unwrap();
    runtime().block_on(async {
        let other = RedisStoreBuilder::new(common::connection().await)
            .prefix(prefix)
            .sessions()
            .unwrap();
        assert!(other.delete(&key).await.unwrap());
        within_bound(
            "the delete is seen while the first runtime is blocked",
            || async { matches!(a.load(&key).await, Ok(None)) },
        )
        .await;
    });
    release_tx.send(()).unwrap();
    blocked.join().unwrap();
}
