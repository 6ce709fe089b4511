//! One in-process axum request (`tower::ServiceExt::oneshot`) to `GET /me`, answered with
//! the subject (`alice`), through each session or token middleware, against the same route
//! with no layer at all, in one run: group `middleware`, so every function reads as a ratio
//! to `no layer`.
//!
//! - `tower-sessions SessionManagerLayer (MemoryStore)`: cookie `id=<session id>`; the
//!   handler takes tower-sessions' `Session` and reads `user_id` and `roles` from it, which
//!   is when tower-sessions loads the record (lazily, on first access).
//! - `authkit SessionLayer (memory)`: our session cookie, the `Authenticated` extractor;
//!   the layer loads the session and builds the `Identity` (subject and roles).
//! - `authkit JwtLayer (HS256 bearer)`, `(EdDSA bearer)`: `Authorization: Bearer`, the
//!   same token every request, as a client sends it: after the first request the verifier
//!   remembers it (`VerifierBuilder::verified_cache`), so these measure the time, key and
//!   revocation checks (against the memory store) without the signature check.
//! - `authkit AuthLayer (session cookie)`: the combined layer, given the cookie.
//! - `pass-through layer (clone + boxed future)`: the route without authentication behind
//!   a tower layer that does only what any middleware must do to be able to await before
//!   the route runs (clone the route, box the future that calls it): the floor under
//!   every session or token layer, ours and the peers'.
//! - `axum from_fn, no work`: the same route behind `axum::middleware::from_fn` with a
//!   function that only runs the rest of the stack.
//!
//! Every router, ours and the peers' alike, is prepared with `with_state(())` first, as
//! `axum::serve` does: without it axum builds a layered route again on every request
//! (cloning the handler and applying the layer), a cost no served application pays.
//!
//! Every route is checked once before measuring: 200 with body `alice` with credentials,
//! 401 without, so no function measures a rejection.
//!
//! `cargo bench -p benchmarks --bench middleware`
#![allow(missing_docs)] // A bench binary, not an API.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Bench setup: a panic is a failed run.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use auth_core::memory::{MemoryRefreshTokenStore, MemoryRevocationStore, MemorySessionStore};
use auth_core::{SharedClock, SystemClock};
use auth_jwt::{Algorithm, Issuer, KeySet, SigningKey, Verifier};
use auth_session::SessionManager;
use auth_tower::{AuthLayer, Authenticated, JwtLayer, SessionLayer};
use axum::Router;
use axum::body::Body;
use axum::routing::get;
use benchmarks::{MEASUREMENT, ROLES, SUBJECT, WARM_UP, session_data};
use criterion::{Criterion, criterion_group, criterion_main};
use http::{HeaderName, Request, StatusCode, header};
use tokio::runtime::Runtime;
use tower::{Service, ServiceExt};
use tower_sessions::cookie::time::Duration as TimeDuration;
use tower_sessions::{Expiry, MemoryStore, Session, SessionManagerLayer};

/// The issuer both sides of the JWT check agree on.
const ISSUER: &str = "https://bench.test";

/// tower-sessions' idle expiry, the same as authkit's default idle timeout.
const IDLE_MINUTES: i64 = 30;

/// The route without authentication: the same body, from a constant.
fn bare() -> Router {
    Router::new().route("/me", get(|| async { SUBJECT }))
}

/// The route behind our layers: the subject of the request's `Identity`.
fn ours() -> Router {
    Router::new().route(
        "/me",
        get(|who: Authenticated| async move { who.subject.clone() }),
    )
}

/// The route behind tower-sessions: the user id and roles read from its `Session`; 401 if
/// the session has none (tower-sessions hands every request a `Session`, empty when the
/// cookie names no stored session).
fn theirs() -> Router {
    Router::new().route(
        "/me",
        get(|session: Session| async move {
            let user: Option<String> = session
                .get("user_id")
                .await
                .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
            let roles: Option<Vec<String>> = session
                .get("roles")
                .await
                .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
            match (user, roles) {
                (Some(user), Some(_)) => Ok(user),
                _ => Err(StatusCode::UNAUTHORIZED),
            }
        }),
    )
}

/// The bare route behind axum's `from_fn` with a function that only runs the rest of the
/// stack: the cheapest middleware most axum users would write.
fn from_fn_pass_through() -> Router {
    bare().layer(axum::middleware::from_fn(
        |request: Request<Body>, next: axum::middleware::Next| next.run(request),
    ))
}

/// The bare route behind [`Await`]: the floor under every middleware that may await
/// before the route runs.
fn await_pass_through() -> Router {
    bare().layer(tower::layer::layer_fn(Await))
}

/// The least a tower middleware does that can await before calling the service it wraps
/// (as every session or token layer must, to ask its store): it moves the service that was
/// polled ready into a boxed future, leaving a clone behind, and calls it from there.
#[derive(Clone)]
struct Await<S>(S);

impl<S> Service<Request<Body>> for Await<S>
where
    S: Service<Request<Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        let clone = self.0.clone();
        let mut ready = std::mem::replace(&mut self.0, clone);
        Box::pin(async move { ready.call(request).await })
    }
}

fn request(header: Option<&(HeaderName, String)>) -> Request<Body> {
    let mut request = Request::get("/me").header(header::HOST, "bench.test");
    if let Some((name, value)) = header {
        request = request.header(name, value);
    }
    request.body(Body::empty()).unwrap()
}

/// One measured route: its name in the group, the router, the credentials header.
struct Case {
    name: String,
    router: Router,
    credentials: Option<(HeaderName, String)>,
}

impl Case {
    fn new(name: &str, router: Router, credentials: Option<(HeaderName, String)>) -> Self {
        Self {
            name: name.to_owned(),
            router: router.with_state(()),
            credentials,
        }
    }
}

/// Proves that the case's router answers its credentials with 200 and the subject, and a
/// request without them with 401 (unless it has no authentication at all).
fn check(runtime: &Runtime, case: &Case) {
    let name = &case.name;
    runtime.block_on(async {
        let response = case
            .router
            .clone()
            .oneshot(request(case.credentials.as_ref()))
            .await
            .unwrap();
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        assert_eq!(
            (status, &body[..]),
            (StatusCode::OK, SUBJECT.as_bytes()),
            "{name}: an authenticated request must succeed"
        );
        if case.credentials.is_some() {
            let response = case.router.clone().oneshot(request(None)).await.unwrap();
            assert_eq!(
                response.status(),
                StatusCode::UNAUTHORIZED,
                "{name}: a request without credentials must be refused"
            );
        }
    });
}

fn middleware(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let clock: SharedClock = SystemClock::shared();

    // tower-sessions: a session made the way its users make one (Session API, then save).
    let store = MemoryStore::default();
    let expiry = Expiry::OnInactivity(TimeDuration::minutes(IDLE_MINUTES));
    let their_cookie = runtime.block_on(async {
        let session = Session::new(None, Arc::new(store.clone()), Some(expiry));
        session.insert("user_id", SUBJECT).await.unwrap();
        session.insert("roles", ROLES).await.unwrap();
        session.save().await.unwrap();
        (header::COOKIE, format!("id={}", session.id().unwrap()))
    });
    let theirs = theirs().layer(SessionManagerLayer::new(store).with_expiry(expiry));

    // authkit: the same subject and roles.
    let manager =
        SessionManager::builder(MemorySessionStore::builder().clock(clock.clone()).build())
            .clock(clock.clone())
            .build()
            .unwrap();
    let session = runtime
        .block_on(manager.create(SUBJECT, &session_data()))
        .unwrap();
    let our_cookie = (
        header::COOKIE,
        format!(
            "{}={}",
            manager.cookie_config().name(),
            session.id().expose_secret()
        ),
    );
    let with_session = ours().layer(SessionLayer::new(manager.clone()));

    let mut jwt = Vec::new();
    let mut hs256_verifier = None;
    for alg in [Algorithm::HS256, Algorithm::EdDSA] {
        let keys =
            KeySet::with_signing_key(clock.clone(), "k1", SigningKey::generate(alg).unwrap())
                .unwrap();
        let revocations = Arc::new(MemoryRevocationStore::new(clock.clone()));
        let issuer = Issuer::builder(keys.clone(), clock.clone())
            .issuer(ISSUER)
            .build(
                Arc::new(MemoryRefreshTokenStore::new(clock.clone())),
                revocations.clone(),
            )
            .unwrap();
        let verifier = Verifier::builder(keys, clock.clone())
            .issuer(ISSUER)
            .revocation_store(revocations)
            .build()
            .unwrap();
        let token = issuer.access_token(SUBJECT, &session_data()).unwrap();
        let bearer = (header::AUTHORIZATION, format!("Bearer {}", token.token));
        let router = ours().layer(JwtLayer::new(verifier.clone()));
        jwt.push((format!("authkit JwtLayer ({alg:?} bearer)"), router, bearer));
        if alg == Algorithm::HS256 {
            hs256_verifier = Some(verifier);
        }
    }
    let either = ours().layer(AuthLayer::builder(hs256_verifier.unwrap(), manager).build());

    let mut cases = vec![
        Case::new("no layer", bare(), None),
        Case::new(
            "pass-through layer (clone + boxed future)",
            await_pass_through(),
            None,
        ),
        Case::new("axum from_fn, no work", from_fn_pass_through(), None),
        Case::new(
            "tower-sessions SessionManagerLayer (MemoryStore)",
            theirs,
            Some(their_cookie),
        ),
        Case::new(
            "authkit SessionLayer (memory)",
            with_session,
            Some(our_cookie.clone()),
        ),
    ];
    cases.extend(
        jwt.into_iter()
            .map(|(name, router, bearer)| Case::new(&name, router, Some(bearer))),
    );
    cases.push(Case::new(
        "authkit AuthLayer (session cookie)",
        either,
        Some(our_cookie),
    ));

    for case in &cases {
        check(&runtime, case);
    }

    let mut group = c.benchmark_group("middleware");
    for case in &cases {
        group.bench_function(case.name.as_str(), |b| {
            b.to_async(&runtime).iter(|| {
                case.router
                    .clone()
                    .oneshot(request(case.credentials.as_ref()))
            })
        });
    }
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(WARM_UP)
        .measurement_time(MEASUREMENT)
}

criterion_group! {
    name = benches;
    config = config();
    targets = middleware
}
criterion_main!(benches);
