//! One in-process axum request (`tower::ServiceExt::oneshot`) through each of our layers,
//! against the same route with no layer at all, in the same run. Every router is
//! prepared with `with_state(())` first, as `axum::serve` does, so that axum builds each
//! layered route once rather than again on every request.
//!
//! ```text
//! cargo bench -p auth-tower --bench middleware -- --warm-up-time 1 --measurement-time 3
//! ```
#![allow(missing_docs)] // A bench binary, not an API.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Bench setup: a panic is a failed run.

use std::sync::Arc;

use auth_core::memory::{MemoryRefreshTokenStore, MemoryRevocationStore, MemorySessionStore};
use auth_core::{SharedClock, SystemClock};
use auth_jwt::{Algorithm, Issuer, KeySet, SigningKey, Verifier};
use auth_session::SessionManager;
use auth_tower::{AuthLayer, Authenticated, JwtLayer, SessionLayer};
use axum::Router;
use axum::body::Body;
use axum::routing::get;
use criterion::{Criterion, criterion_group, criterion_main};
use http::{Request, header};
use tower::ServiceExt;

fn route() -> Router {
    Router::new().route("/me", get(|| async { "ok" }))
}

fn authed_route() -> Router {
    Router::new().route(
        "/me",
        get(|who: Authenticated| async move { who.subject.clone() }),
    )
}

fn request(header: Option<(header::HeaderName, String)>) -> Request<Body> {
    let mut request = Request::get("/me").header(header::HOST, "bench.test");
    if let Some((name, value)) = header {
        request = request.header(name, value);
    }
    request.body(Body::empty()).unwrap()
}

fn middleware(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let clock: SharedClock = SystemClock::shared();
    let manager =
        SessionManager::builder(MemorySessionStore::builder().clock(clock.clone()).build())
            .clock(clock.clone())
            .build()
            .unwrap();
    let session = runtime
        .block_on(manager.create("alice", &serde_json::json!({ "roles": ["admin"] })))
        .unwrap();
    let cookie = format!(
        "{}={}",
        manager.cookie_config().name(),
        session.id().expose_secret()
    );

    let mut group = c.benchmark_group("middleware");
    let bare = route().with_state(());
    group.bench_function("no layer", |b| {
        b.to_async(&runtime)
            .iter(|| bare.clone().oneshot(request(None)))
    });
    let with_session = authed_route()
        .layer(SessionLayer::new(manager.clone()))
        .with_state(());
    group.bench_function("SessionLayer (memory)", |b| {
        b.to_async(&runtime).iter(|| {
            with_session
                .clone()
                .oneshot(request(Some((header::COOKIE, cookie.clone()))))
        })
    });
    for alg in [Algorithm::HS256, Algorithm::ES256, Algorithm::EdDSA] {
        let keys =
            KeySet::with_signing_key(clock.clone(), "k1", SigningKey::generate(alg).unwrap())
                .unwrap();
        let revocations = Arc::new(MemoryRevocationStore::new(clock.clone()));
        let issuer = Issuer::builder(keys.clone(), clock.clone())
            .issuer("https://bench.test")
            .build(
                Arc::new(MemoryRefreshTokenStore::new(clock.clone())),
                revocations.clone(),
            )
            .unwrap();
        let verifier = Verifier::builder(keys, clock.clone())
            .issuer("https://bench.test")
            .revocation_store(revocations)
            .build()
            .unwrap();
        let token = issuer
            .access_token("alice", &serde_json::json!({ "roles": ["admin"] }))
            .unwrap();
        let bearer = format!("Bearer {}", token.token);
        let with_jwt = authed_route()
            .layer(JwtLayer::new(verifier.clone()))
            .with_state(());
        group.bench_function(format!("JwtLayer ({alg:?})"), |b| {
            b.to_async(&runtime).iter(|| {
                with_jwt
                    .clone()
                    .oneshot(request(Some((header::AUTHORIZATION, bearer.clone()))))
            })
        });
        if alg == Algorithm::HS256 {
            let either = authed_route()
                .layer(AuthLayer::builder(verifier, manager.clone()).build())
                .with_state(());
            group.bench_function("AuthLayer (HS256 bearer)", |b| {
                b.to_async(&runtime).iter(|| {
                    either
                        .clone()
                        .oneshot(request(Some((header::AUTHORIZATION, bearer.clone()))))
                })
            });
            group.bench_function("AuthLayer (session cookie)", |b| {
                b.to_async(&runtime).iter(|| {
                    either
                        .clone()
                        .oneshot(request(Some((header::COOKIE, cookie.clone()))))
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, middleware);
criterion_main!(benches);
