//! Session load, save and touch, and the revocation check of a bearer token, against the
//! Redis at `REDIS_URL` (default `redis://127.0.0.1:6379`), next to a bare `GET` of a value
//! of the same size on the same connection, so the store's cost reads as a ratio to one
//! Redis round trip.
//!
//! Round trips: load = 1 (`GET`), save = 1 (`EVALSHA` of the update script), touch = 1
//! (`EVALSHA`), revocation check = 1 (`MGET` of the token's `jti`, family and subject
//! keys), bare GET = 1.
//!
//! `cargo bench -p store-redis --bench redis`
#![allow(missing_docs)] // criterion's macros generate undocumented items.
#![allow(clippy::unwrap_used, clippy::expect_used)] // A bench without Redis has nothing to measure.

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use auth_core::store::{SessionRecord, TokenRef};
use auth_core::{FamilyId, RevocationStore, SessionId, SessionStore};
use criterion::{Criterion, criterion_group, criterion_main};
use store_redis::{RedisConnection, RedisStoreBuilder};

/// A typical session: a user id, a CSRF token and a few flags, as JSON.
const DATA: &[u8] =
    br#"{"user_id":12345,"csrf":"q2VGl6lWnJ0mQdLR3m4m0e8k","roles":["user"],"theme":"dark"}"#;

fn sessions(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let (manager, store, revocations, key, raw_key) = rt.block_on(async {
        let client = redis::Client::open(url.as_str()).unwrap();
        let manager = redis::aio::ConnectionManager::new(client)
            .await
            .unwrap_or_else(|e| panic!("Redis is not reachable at {url} (set REDIS_URL): {e}"));
        let prefix = format!(
            "bench-{}",
            &SessionId::generate().unwrap().key().to_hex()[..12]
        );
        let builder = RedisStoreBuilder::new(RedisConnection::from_manager(manager.clone()))
            .prefix(prefix.as_str());
        let store = builder.sessions().unwrap();
        let revocations = builder.revocations().unwrap();
        // Something in force for each kind of key the check reads, none of it matching the
        // benched token: the check reads all three keys and finds it live.
        let now = SystemTime::now();
        let hour = now + Duration::from_secs(3600);
        revocations.revoke(ISSUER, "other-jti", hour).await.unwrap();
        revocations
            .revoke_family(ISSUER, &FamilyId::generate().unwrap(), hour)
            .await
            .unwrap();
        revocations
            .revoke_subject(SUBJECT, now - Duration::from_secs(3600), hour)
            .await
            .unwrap();
        let key = SessionId::generate().unwrap().key();
        let now = SystemTime::now();
        let record = SessionRecord::new(
            "bench-user",
            DATA.to_vec(),
            now,
            now + Duration::from_secs(3600),
        );
        store.create(&key, &record).await.unwrap();
        // The same number of bytes as the stored session, for the bare GET.
        let raw_key = format!("{prefix}:raw");
        let size = redis::cmd("STRLEN")
            .arg(format!("{{{prefix}:s}}:rec:{}", key.to_hex()))
            .query_async::<usize>(&mut manager.clone())
            .await
            .unwrap();
        redis::cmd("SET")
            .arg(&raw_key)
            .arg(vec![b'x'; size])
            .arg("EX")
            .arg(3600)
            .query_async::<()>(&mut manager.clone())
            .await
            .unwrap();
        (manager, store, revocations, key, raw_key)
    });
    let family = FamilyId::generate().unwrap();
    let token = TokenRef::new(ISSUER, SUBJECT, SystemTime::now())
        .jti(Some("live-jti"))
        .family(Some(&family));

    let mut group = c.benchmark_group("redis");
    group.bench_function("bare GET (1 round trip)", |b| {
        b.to_async(&rt).iter(|| {
            let mut manager = manager.clone();
            let raw_key = raw_key.clone();
            async move {
                let value: Vec<u8> = redis::cmd("GET")
                    .arg(raw_key)
                    .query_async(&mut manager)
                    .await
                    .unwrap();
                black_box(value)
            }
        })
    });
    group.bench_function("session load (1 round trip)", |b| {
        b.to_async(&rt)
            .iter(|| async { black_box(store.load(&key).await.unwrap().unwrap()) })
    });
    let current = rt.block_on(store.load(&key)).unwrap().unwrap();
    let version = Arc::new(AtomicU64::new(current.version));
    group.bench_function("session save (1 round trip)", |b| {
        b.to_async(&rt).iter(|| {
            let mut next = current.clone();
            next.version = version.load(Ordering::Relaxed);
            let (store, version) = (&store, version.clone());
            async move {
                let saved = store.save(&key, &next).await.unwrap();
                version.store(saved, Ordering::Relaxed);
            }
        })
    });
    group.bench_function("session touch (1 round trip)", |b| {
        b.to_async(&rt).iter(|| async {
            let now = SystemTime::now();
            assert!(
                store
                    .touch(&key, now, now + Duration::from_secs(3600))
                    .await
                    .unwrap()
            );
        })
    });
    group.bench_function(
        "revocation check: jti + family + subject (1 round trip)",
        |b| {
            b.to_async(&rt)
                .iter(|| async { assert!(!revocations.is_token_revoked(&token).await.unwrap()) })
        },
    );
    group.finish();

    // Criterion runs one function after the other, so on a shared machine a change of load
    // between them skews the ratios. Interleave the five operations round by round and
    // compare medians measured under the same load.
    let mut samples: [Vec<Duration>; 5] = Default::default();
    rt.block_on(async {
        let mut current = store.load(&key).await.unwrap().unwrap();
        for _ in 0..PAIRED_ROUNDS {
            let started = Instant::now();
            let mut m = manager.clone();
            let _: Vec<u8> = redis::cmd("GET")
                .arg(&raw_key)
                .query_async(&mut m)
                .await
                .unwrap();
            samples[0].push(started.elapsed());
            let started = Instant::now();
            black_box(store.load(&key).await.unwrap());
            samples[1].push(started.elapsed());
            let started = Instant::now();
            current.version = store.save(&key, &current).await.unwrap();
            samples[2].push(started.elapsed());
            let now = SystemTime::now();
            let started = Instant::now();
            store
                .touch(&key, now, now + Duration::from_secs(3600))
                .await
                .unwrap();
            samples[3].push(started.elapsed());
            let started = Instant::now();
            black_box(revocations.is_token_revoked(&token).await.unwrap());
            samples[4].push(started.elapsed());
        }
    });
    let medians: Vec<Duration> = samples
        .iter_mut()
        .map(|s| {
            s.sort();
            s[s.len() / 2]
        })
        .collect();
    eprintln!("interleaved medians over {PAIRED_ROUNDS} rounds (1 round trip each):");
    let names = [
        "bare GET",
        "session load",
        "session save",
        "session touch",
        "revocation check",
    ];
    for (name, median) in names.iter().zip(&medians) {
        let ratio = median.as_secs_f64() / medians[0].as_secs_f64();
        eprintln!("  {name:<16} {median:>10.1?}  {ratio:.2}x GET");
    }
    rt.block_on(store.delete(&key)).unwrap();
}

/// The issuer and subject of the benched bearer token.
const ISSUER: &str = "https://issuer.example";
const SUBJECT: &str = "bench-user";

/// Rounds of the interleaved comparison.
const PAIRED_ROUNDS: usize = 5_000;

criterion_group!(benches, sessions);
criterion_main!(benches);
