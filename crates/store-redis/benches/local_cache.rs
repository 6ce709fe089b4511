//! The local cache kept fresh by Redis, against the Redis at `REDIS_URL` (default
//! `redis://127.0.0.1:6379`): warm session loads and revocation checks next to the
//! uncached ones; then, printed after criterion's report, the two targets of the design:
//!
//! - **Commands per 1,000 warm requests**, touches included: requests through
//!   auth-session's `SessionManager` (default touch interval, 60 s) and a revocation check
//!   each, over 20 warm sessions that each send one request per second (a manual clock
//!   advances 50 ms per request, so each session is touched once a minute, as in
//!   production). Commands are counted with `MONITOR`: every top-level command under the
//!   bench's prefix, heartbeat probes included; calls made inside Lua scripts are not
//!   commands sent. Target: at most 25.
//! - **Revocation seen elsewhere**: instance B revokes a token that instance A holds as
//!   not revoked; A checks it in a loop until it refuses it. The time from B's call to A's
//!   first refusal, as p50, p99 and max over the rounds. Target: p99 at most 10 ms.
//!
//! `cargo bench -p store-redis --bench local_cache`
#![allow(missing_docs)] // criterion's macros generate undocumented items.
#![allow(clippy::unwrap_used, clippy::expect_used)] // A bench without Redis has nothing to measure.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use auth_core::store::{SessionRecord, TokenRef};
use auth_core::{Clock, ManualClock, RevocationStore, SessionId, SessionStore, SharedClock};
use auth_session::SessionManager;
use criterion::{Criterion, criterion_group, criterion_main};
use futures_util::StreamExt;
use store_redis::{LocalCacheConfig, RedisConnection, RedisStoreBuilder};

const DATA: &[u8] =
    br#"{"user_id":12345,"csrf":"q2VGl6lWnJ0mQdLR3m4m0e8k","roles":["user"],"theme":"dark"}"#;

/// Warm sessions in the command-count workload, and requests per session per second.
const SESSIONS: usize = 20;
/// Requests in the command-count workload (5 simulated minutes).
const REQUESTS: usize = 6_000;
/// Rounds of the cross-instance revocation measurement.
const ROUNDS: usize = 300;

fn url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

fn prefix() -> String {
    format!(
        "bench-lc-{}",
        &SessionId::generate().unwrap().key().to_hex()[..12]
    )
}

async fn builder(prefix: &str, clock: SharedClock, cached: bool) -> RedisStoreBuilder {
    let connection = RedisConnection::connect(&url())
        .await
        .unwrap_or_else(|e| panic!("Redis is not reachable (set REDIS_URL): {e}"));
    let builder = RedisStoreBuilder::new(connection)
        .prefix(prefix)
        .clock(clock);
    if cached {
        builder.local_cache(LocalCacheConfig::new())
    } else {
        builder
    }
}

fn latency(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let (plain, cached, plain_rv, cached_rv, key) = rt.block_on(async {
        let prefix = prefix();
        let clock: SharedClock = auth_core::SystemClock::shared();
        let plain = builder(&prefix, clock.clone(), false).await;
        let cached = builder(&prefix, clock, true).await;
        let (plain_rv, cached_rv) = (plain.revocations().unwrap(), cached.revocations().unwrap());
        let (plain, cached) = (plain.sessions().unwrap(), cached.sessions().unwrap());
        let key = SessionId::generate().unwrap().key();
        let now = SystemTime::now();
        let record =
            SessionRecord::new("bench", DATA.to_vec(), now, now + Duration::from_secs(3600));
        plain.create(&key, &record).await.unwrap();
        (plain, cached, plain_rv, cached_rv, key)
    });
    let token = TokenRef::new(ISSUER, "bench", SystemTime::now()).jti(Some("live-jti"));

    let mut group = c.benchmark_group("local_cache");
    group.bench_function("session load, uncached (1 round trip)", |b| {
        b.to_async(&rt)
            .iter(|| async { black_box(plain.load_shared(&key).await.unwrap().unwrap()) })
    });
    group.bench_function("session load, warm (no round trip)", |b| {
        b.to_async(&rt)
            .iter(|| async { black_box(cached.load_shared(&key).await.unwrap().unwrap()) })
    });
    group.bench_function("revocation check, uncached (1 round trip)", |b| {
        b.to_async(&rt)
            .iter(|| async { assert!(!plain_rv.is_token_revoked(&token).await.unwrap()) })
    });
    group.bench_function("revocation check, warm (no round trip)", |b| {
        b.to_async(&rt)
            .iter(|| async { assert!(!cached_rv.is_token_revoked(&token).await.unwrap()) })
    });
    group.finish();

    rt.block_on(commands_per_thousand_warm_requests());
    rt.block_on(revocation_seen_elsewhere());
}

async fn commands_per_thousand_warm_requests() {
    let prefix = prefix();
    let clock = Arc::new(ManualClock::starting_now());
    let shared: SharedClock = clock.clone();
    let builder = builder(&prefix, shared.clone(), true).await;
    let manager = SessionManager::builder(builder.sessions().unwrap())
        .clock(shared)
        .build()
        .unwrap();
    let revocations = builder.revocations().unwrap();
    let mut ids = Vec::new();
    for i in 0..SESSIONS {
        let session = manager
            .create(format!("user-{i}"), &initial_data())
            .await
            .unwrap();
        ids.push(session.id().clone());
        // Spread the sessions' touches over the minute.
        clock.advance(Duration::from_secs(60) / SESSIONS as u32);
    }
    let tokens: Vec<(String, String)> = (0..SESSIONS)
        .map(|i| (format!("user-{i}"), format!("jti-{i}")))
        .collect();
    let request = async |i: usize| {
        let id = ids[i % SESSIONS].clone();
        assert!(manager.load_id(id).await.unwrap().is_some());
        let (subject, jti) = &tokens[i % SESSIONS];
        let token = TokenRef::new(ISSUER, subject, clock.now()).jti(Some(jti));
        assert!(!revocations.is_token_revoked(&token).await.unwrap());
        clock.advance(Duration::from_secs(1) / SESSIONS as u32);
    };
    // Warm: every session and token read once.
    for i in 0..SESSIONS {
        request(i).await;
    }

    let client = redis::Client::open(url()).unwrap();
    let mut monitor = client
        .get_async_monitor()
        .await
        .unwrap()
        .into_on_message::<String>();
    let mut marker = client.get_multiplexed_async_connection().await.unwrap();
    let started = Instant::now();
    for i in 0..REQUESTS {
        request(i).await;
    }
    let elapsed = started.elapsed();
    let end = format!("{prefix}-end");
    let _: String = redis::cmd("ECHO")
        .arg(&end)
        .query_async(&mut marker)
        .await
        .unwrap();
    let mut sent = 0usize;
    let mut touches = 0usize;
    while let Some(line) = monitor.next().await {
        if line.contains(&end) {
            break;
        }
        if line.contains(&prefix) && !line.contains(" lua]") {
            sent += 1;
            touches += usize::from(line.contains("\"EVALSHA\""));
        }
    }
    eprintln!(
        "{REQUESTS} warm requests (session load + revocation check; {SESSIONS} sessions, one \
         request per session per simulated second, {elapsed:.1?} real time): {sent} commands \
         ({touches} touch writes) = {:.1} per 1,000 requests (target: at most 25)",
        sent as f64 * 1_000.0 / REQUESTS as f64
    );
}

/// Initial session data: a small JSON object.
fn initial_data() -> std::collections::BTreeMap<&'static str, &'static str> {
    std::collections::BTreeMap::from([("theme", "dark")])
}

async fn revocation_seen_elsewhere() {
    let prefix = prefix();
    let clock: SharedClock = auth_core::SystemClock::shared();
    let a = builder(&prefix, clock.clone(), true)
        .await
        .revocations()
        .unwrap();
    let b = builder(&prefix, clock, true).await.revocations().unwrap();
    let until = SystemTime::now() + Duration::from_secs(600);
    let mut samples = Vec::with_capacity(ROUNDS);
    for round in 0..ROUNDS {
        let jti = format!("jti-{round}");
        let token = TokenRef::new(ISSUER, "victim", SystemTime::now()).jti(Some(&jti));
        assert!(!a.is_token_revoked(&token).await.unwrap());
        assert!(!a.is_token_revoked(&token).await.unwrap());
        let started = Instant::now();
        b.revoke(ISSUER, &jti, until).await.unwrap();
        while !a.is_token_revoked(&token).await.unwrap() {
            assert!(started.elapsed() < Duration::from_secs(5), "never refused");
            tokio::task::yield_now().await;
        }
        samples.push(started.elapsed());
    }
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    eprintln!(
        "revocation by instance B refused by instance A, from B's call ({ROUNDS} rounds): \
         p50 {:.2?}, p99 {:.2?}, max {:.2?} (target: p99 at most 10 ms)",
        at(0.5),
        at(0.99),
        at(1.0)
    );
}

const ISSUER: &str = "https://issuer.example";

criterion_group!(benches, latency);
criterion_main!(benches);
