//! `SessionManager::load` (strict id parse, SHA-256 key, store read, expiry check) on the
//! memory store and on `Cached<memory>`, against a bare `moka::future::Cache::get` of the
//! same record in the same run.
//!
//! `cargo bench -p auth-session --bench load -- --warm-up-time 1 --measurement-time 3`
//!
//! Group `session_load` is criterion's usual estimate (the mean over samples). On a shared,
//! loaded machine every sample is inflated by preemption, unevenly, so group
//! `session_load_best_of_chunks` also reports, for the three headline cases, the fastest
//! per-iteration time among chunks of 100 iterations: an estimator that preemption can
//! only make slower, never faster, so its ratios are the ones to compare across runs.
// Bench setup: a failure is a broken bench, not a crashed service.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use auth_core::memory::MemorySessionStore;
use auth_core::store::SessionRecord;
use auth_core::{Cached, SessionId, SessionKey, SessionStore};
use auth_session::SessionManager;
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;

fn load(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    // A realistic small session: roles, a CSRF token, a little app state.
    let data = json!({
        "roles": ["user", "editor"],
        "csrf": "q2Vx8m3yTt0bH5cN1rQfLw",
        "theme": "dark",
        "cart": [17, 42, 99],
    });

    let memory = SessionManager::new(MemorySessionStore::default());
    let cached = SessionManager::new(Cached::builder(MemorySessionStore::default()).build());
    let (memory_id, cached_id, key, record) = rt.block_on(async {
        let on_memory = memory.create("bench-user", &data).await.unwrap();
        let on_cached = cached.create("bench-user", &data).await.unwrap();
        let record = memory.store().load(on_memory.key()).await.unwrap().unwrap();
        (
            on_memory.id().expose_secret().to_owned(),
            on_cached.id().expose_secret().to_owned(),
            *on_memory.key(),
            record,
        )
    });

    // The baseline: the same record in a bare moka future cache, read by its key.
    let bare: moka::future::Cache<SessionKey, SessionRecord> = moka::future::Cache::new(10_000);
    let bare_arc: moka::future::Cache<SessionKey, Arc<SessionRecord>> =
        moka::future::Cache::new(10_000);
    rt.block_on(async {
        bare.insert(key, record.clone()).await;
        bare_arc.insert(key, Arc::new(record)).await;
    });

    let mut group = c.benchmark_group("session_load");
    group.bench_function("bare_moka_future_get", |b| {
        b.to_async(&rt)
            .iter(|| async { black_box(bare.get(black_box(&key)).await) })
    });
    group.bench_function("bare_moka_future_get_arc", |b| {
        b.to_async(&rt)
            .iter(|| async { black_box(bare_arc.get(black_box(&key)).await) })
    });
    group.bench_function("manager_load_memory", |b| {
        b.to_async(&rt).iter(|| async {
            black_box(memory.load(black_box(&memory_id)).await.unwrap().unwrap())
        })
    });
    group.bench_function("manager_load_cached_memory", |b| {
        b.to_async(&rt).iter(|| async {
            black_box(cached.load(black_box(&cached_id)).await.unwrap().unwrap())
        })
    });
    // The parts, to see where the time goes.
    group.bench_function("id_parse_and_key", |b| {
        b.iter(|| SessionId::parse(black_box(&memory_id)).unwrap().key())
    });
    group.bench_function("memory_store_load", |b| {
        b.to_async(&rt)
            .iter(|| async { black_box(memory.store().load(black_box(&key)).await.unwrap()) })
    });
    // As an application that picks its store at run time holds it.
    let shared: Arc<dyn SessionStore> = Arc::new(memory.store().clone());
    group.bench_function("memory_store_load_through_arc_dyn", |b| {
        b.to_async(&rt)
            .iter(|| async { black_box(shared.load(black_box(&key)).await.unwrap()) })
    });
    group.finish();

    let mut group = c.benchmark_group("session_load_best_of_chunks");
    group.bench_function("bare_moka_future_get", |b| {
        b.to_async(&rt).iter_custom(|iters| {
            best_of_chunks(iters, || async {
                black_box(bare.get(black_box(&key)).await)
            })
        })
    });
    group.bench_function("manager_load_memory", |b| {
        b.to_async(&rt).iter_custom(|iters| {
            best_of_chunks(iters, || async {
                black_box(memory.load(black_box(&memory_id)).await.unwrap().unwrap())
            })
        })
    });
    group.bench_function("manager_load_cached_memory", |b| {
        b.to_async(&rt).iter_custom(|iters| {
            best_of_chunks(iters, || async {
                black_box(cached.load(black_box(&cached_id)).await.unwrap().unwrap())
            })
        })
    });
    group.finish();
}

/// Runs `iters` iterations of `routine` in chunks of 100 and reports `iters` times the
/// fastest chunk's per-iteration time.
async fn best_of_chunks<F, Fut, T>(iters: u64, mut routine: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: Future<Output = T>,
{
    const CHUNK: u64 = 100;
    let mut best = f64::MAX;
    let mut done = 0;
    while done < iters {
        let n = CHUNK.min(iters - done);
        let start = Instant::now();
        for _ in 0..n {
            black_box(routine().await);
        }
        best = best.min(start.elapsed().as_secs_f64() / n as f64);
        done += n;
    }
    Duration::from_secs_f64(best * iters as f64)
}

criterion_group!(benches, load);
criterion_main!(benches);
