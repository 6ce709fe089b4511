//! Heap allocations per request that each layer adds to the same route without a layer,
//! counted by dhat's global allocator: a guard against per-request copies coming back
//! (the session record, the identity, the bearer token were each copied once). Counts,
//! not times, so the result does not depend on the machine.
//!
//! One test function: the allocator's counters are global to this binary.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests: a panic is a failed test.
#![allow(clippy::print_stdout)] // The counts are printed for `--nocapture` readers.

use std::sync::Arc;

use auth_core::memory::{MemoryRefreshTokenStore, MemoryRevocationStore, MemorySessionStore};
use auth_core::{ManualClock, SharedClock};
use auth_jwt::{Algorithm, Issuer, KeySet, SigningKey, Verifier};
use auth_session::SessionManager;
use auth_tower::{AuthLayer, Authenticated, JwtLayer, SessionLayer};
use axum::Router;
use axum::body::Body;
use axum::routing::get;
use http::{HeaderName, Request, StatusCode, header};
use serde_json::json;
use tower::ServiceExt;

#[global_allocator]
static ALLOCATOR: dhat::Alloc = dhat::Alloc;

/// Requests counted per route, after as many unmeasured ones.
const REQUESTS: u64 = 1000;

/// The most allocations a layer may add per authenticated request, measured plus half an
/// allocation for moka's occasional housekeeping. A session request: the layer's future
/// and tower's box around it, the clone of the inner route the future owns, the session
/// handle, the identity and the handle in the request's extensions, the memory store's
/// boxed future. A remembered token has no handle, no session store and one extension.
const SESSION_BUDGET: f64 = 7.5;
const JWT_BUDGET: f64 = 5.5;

fn route() -> Router {
    Router::new().route("/me", get(|| async { "alice" }))
}

fn authenticated_route() -> Router {
    // The extractor only: the handler's own work is the same as the bare route's.
    Router::new().route("/me", get(|_: Authenticated| async { "alice" }))
}

fn request((name, value): &(HeaderName, String)) -> Request<Body> {
    Request::get("/me")
        .header(header::HOST, "test.local")
        .header(name, value)
        .body(Body::empty())
        .unwrap()
}

/// Sends `REQUESTS` requests with `credentials` through `router`, each answered 200.
async fn serve(router: &Router, credentials: &(HeaderName, String)) {
    for _ in 0..REQUESTS {
        let response = router.clone().oneshot(request(credentials)).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "every request is served");
    }
}

/// Allocations per request of `router` with `credentials`, after as many warm-up requests.
async fn allocations(router: Router, credentials: &(HeaderName, String)) -> f64 {
    // As `axum::serve` does: every route is built once, not again for each request.
    let router = router.with_state(());
    serve(&router, credentials).await;
    let before = dhat::HeapStats::get().total_blocks;
    serve(&router, credentials).await;
    (dhat::HeapStats::get().total_blocks - before) as f64 / REQUESTS as f64
}

#[tokio::test(flavor = "current_thread")]
async fn layers_add_few_allocations_per_request() {
    let _profiler = dhat::Profiler::builder().testing().build();
    // Time stands still: no session reaches its touch interval while it is counted.
    let clock: SharedClock = Arc::new(ManualClock::starting_now());

    let manager =
        SessionManager::builder(MemorySessionStore::builder().clock(clock.clone()).build())
            .clock(clock.clone())
            .build()
            .unwrap();
    let session = manager
        .create("alice", &json!({ "roles": ["admin"] }))
        .await
        .unwrap();
    let cookie = (
        header::COOKIE,
        format!(
            "{}={}",
            manager.cookie_config().name(),
            session.id().expose_secret()
        ),
    );

    let keys = KeySet::with_signing_key(
        clock.clone(),
        "k1",
        SigningKey::generate(Algorithm::HS256).unwrap(),
    )
    .unwrap();
    let revocations = Arc::new(MemoryRevocationStore::new(clock.clone()));
    let issuer = Issuer::builder(keys.clone(), clock.clone())
        .issuer("https://test.local")
        .build(
            Arc::new(MemoryRefreshTokenStore::new(clock.clone())),
            revocations.clone(),
        )
        .unwrap();
    let verifier = Verifier::builder(keys, clock)
        .issuer("https://test.local")
        .revocation_store(revocations)
        .build()
        .unwrap();
    let token = issuer
        .access_token("alice", &json!({ "roles": ["admin"] }))
        .unwrap();
    let bearer = (header::AUTHORIZATION, format!("Bearer {}", token.token));

    let cases = [
        (
            "SessionLayer",
            authenticated_route().layer(SessionLayer::new(manager.clone())),
            &cookie,
            SESSION_BUDGET,
        ),
        (
            "AuthLayer, session cookie",
            authenticated_route().layer(AuthLayer::builder(verifier.clone(), manager).build()),
            &cookie,
            SESSION_BUDGET,
        ),
        (
            "JwtLayer, remembered token",
            authenticated_route().layer(JwtLayer::new(verifier)),
            &bearer,
            JWT_BUDGET,
        ),
    ];
    for (name, router, credentials, budget) in cases {
        // The bare route gets the same header, so that building the request cancels out.
        let bare = allocations(route(), credentials).await;
        let added = allocations(router, credentials).await - bare;
        println!("{name}: {added:.2} allocations per request beyond the bare route");
        assert!(
            added <= budget,
            "{name} adds {added:.2} allocations per request, more than its budget of {budget}"
        );
    }
}
