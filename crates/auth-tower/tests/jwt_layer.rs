//! JwtLayer and AuthLayer in a real axum router, driven in process with `oneshot`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests: a panic is a failed test.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use auth_core::memory::{MemoryRefreshTokenStore, MemoryRevocationStore, MemorySessionStore};
use auth_core::store::{SessionEntry, SessionRecord};
use auth_core::{ManualClock, SessionKey, SessionStore, SharedClock, StoreError};
use auth_jwt::{Algorithm, Issuer, KeySet, SigningKey, Verifier};
use auth_session::SessionManager;
use auth_tower::{AuthLayer, Authenticated, JwtLayer, Logout, SessionHandle};
use axum::Router;
use axum::body::Body;
use axum::routing::{get, post};
use http::{Request, Response, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::json;
use tokio::sync::Semaphore;
use tower::ServiceExt;

struct Fixture {
    clock: Arc<ManualClock>,
    issuer: Issuer,
    verifier: Verifier,
    manager: SessionManager<MemorySessionStore>,
}

fn fixture() -> Fixture {
    let clock = Arc::new(ManualClock::starting_now());
    let shared: SharedClock = clock.clone();
    let keys = KeySet::with_signing_key(
        shared.clone(),
        "k1",
        SigningKey::generate(Algorithm::ES256).unwrap(),
    )
    .unwrap();
    let revocations = Arc::new(MemoryRevocationStore::new(shared.clone()));
    let issuer = Issuer::builder(keys.clone(), shared.clone())
        .issuer("https://auth.test")
        .audience("api")
        .build(
            Arc::new(MemoryRefreshTokenStore::new(shared.clone())),
            revocations.clone(),
        )
        .unwrap();
    let verifier = Verifier::builder(keys, shared.clone())
        .issuer("https://auth.test")
        .audience("api")
        .revocation_store(revocations)
        .build()
        .unwrap();
    let manager =
        SessionManager::builder(MemorySessionStore::builder().clock(shared.clone()).build())
            .clock(shared)
            .build()
            .unwrap();
    Fixture {
        clock,
        issuer,
        verifier,
        manager,
    }
}

fn routes() -> Router {
    Router::new()
        .route(
            "/me",
            get(|who: Authenticated| async move { who.subject.clone() }),
        )
        .route(
            "/maybe",
            get(|who: Option<Authenticated>| async move {
                who.map(|w| w.subject.clone())
                    .unwrap_or_else(|| "anonymous".into())
            }),
        )
}

async fn get_with(app: &Router, uri: &str, headers: &[(&str, &str)]) -> Response<Body> {
    let mut request = Request::get(uri).header(header::HOST, "app.test");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    app.clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap()
}

async fn body(response: Response<Body>) -> String {
    String::from_utf8(
        response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
    .unwrap()
}

fn challenge(response: &Response<Body>) -> String {
    response.headers()[header::WWW_AUTHENTICATE]
        .to_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn bearer_token_authenticates_and_bad_ones_get_rfc6750_challenges() {
    let f = fixture();
    let app = routes().layer(JwtLayer::new(f.verifier.clone()));
    let pair = f
        .issuer
        .login("alice", &json!({ "roles": ["admin"] }))
        .await
        .unwrap();
    let bearer = format!("Bearer {}", pair.access_token);
    let ok = get_with(&app, "/me", &[("authorization", &bearer)]).await;
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(body(ok).await, "alice");

    let missing = get_with(&app, "/me", &[]).await;
    assert_eq!(missing.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(challenge(&missing), "Bearer realm=\"authkit\"");

    let mut tampered = pair.access_token.clone();
    tampered.insert(tampered.len() / 2, 'x');
    for bad in [
        format!("Bearer {tampered}"),
        "Bearer not.a.jwt".to_owned(),
        format!("Basic {}", pair.access_token),
        "Bearer".to_owned(),
    ] {
        let response = get_with(&app, "/me", &[("authorization", &bad)]).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{bad}");
        assert!(
            challenge(&response).contains("error=\"invalid_token\""),
            "{bad}"
        );
    }
}

#[tokio::test]
async fn revoked_expired_and_forged_tokens_get_one_answer_and_the_app_keeps_the_reason() {
    let f = fixture();
    let app = routes().layer(JwtLayer::new(f.verifier.clone()));
    let detailed = routes().layer(
        JwtLayer::builder(f.verifier.clone())
            .detailed_errors()
            .build(),
    );
    let revoked = f
        .issuer
        .login("bob", &json!({}))
        .await
        .unwrap()
        .access_token;
    f.issuer.revoke(&revoked).await.unwrap();
    let (input, _) = revoked.rsplit_once('.').unwrap();
    let forged = format!("{input}.{}", "A".repeat(86));
    let expired = f
        .issuer
        .login("bob", &json!({}))
        .await
        .unwrap()
        .access_token;
    let mut answers = Vec::new();
    for (token, why, minutes_later) in [
        (&revoked, "revoked", 0),
        (&forged, "signature", 0),
        (&expired, "expired", 16),
    ] {
        f.clock.advance(Duration::from_secs(minutes_later * 60));
        let bearer = format!("Bearer {token}");
        let response = get_with(&app, "/me", &[("authorization", &bearer)]).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let reason = response
            .extensions()
            .get::<std::sync::Arc<auth_tower::Rejection>>()
            .expect("the precise reason rides along for the application")
            .to_string();
        assert!(reason.contains(why), "{reason}");
        answers.push(challenge(&response));
        let response = get_with(&detailed, "/me", &[("authorization", &bearer)]).await;
        assert!(challenge(&response).contains(why), "detailed on request");
    }
    assert!(answers.iter().all(|a| a == &answers[0]), "{answers:?}");
    assert!(answers[0].contains(auth_tower::GENERIC_DESCRIPTION));
    assert!(!answers[0].contains("revoked") && !answers[0].contains("expired"));
}

#[tokio::test]
async fn optional_mode_admits_anonymous_but_never_a_bad_token() {
    let f = fixture();
    let app = routes().layer(JwtLayer::builder(f.verifier.clone()).optional().build());
    assert_eq!(body(get_with(&app, "/maybe", &[]).await).await, "anonymous");
    let response = get_with(&app, "/maybe", &[("authorization", "Bearer a.b.c")]).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    // Behind an optional layer a handler that requires identity still answers 401.
    let response = get_with(&app, "/me", &[]).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(challenge(&response).starts_with("Bearer"));
}

#[tokio::test]
async fn auth_layer_serves_one_handler_to_both_models() {
    let f = fixture();
    let app = routes().layer(AuthLayer::builder(f.verifier.clone(), f.manager.clone()).build());
    let pair = f.issuer.login("dave", &json!({})).await.unwrap();
    let bearer = format!("Bearer {}", pair.access_token);
    assert_eq!(
        body(get_with(&app, "/me", &[("authorization", &bearer)]).await).await,
        "dave"
    );

    // The combined layer requires a credential, so log in through a session-only route.
    let login_app = Router::new()
        .route(
            "/login",
            post(|session: SessionHandle| async move { session.login("carol", ["user"]) }),
        )
        .layer(
            auth_tower::SessionLayer::builder(f.manager.clone())
                .optional()
                .build(),
        );
    let response = login_app
        .oneshot(
            Request::post("/login")
                .header(header::HOST, "app.test")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let set_cookie = response.headers()[header::SET_COOKIE].to_str().unwrap();
    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    assert_eq!(
        body(get_with(&app, "/me", &[("cookie", &cookie)]).await).await,
        "carol"
    );

    // An explicit bad bearer token is judged alone, whatever cookie came along.
    let response = get_with(
        &app,
        "/me",
        &[("cookie", &cookie), ("authorization", "Bearer x.y.z")],
    )
    .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let response = get_with(&app, "/me", &[]).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_token_in_a_cookie_is_subject_to_csrf_checks() {
    let f = fixture();
    let app = Router::new()
        .route(
            "/act",
            post(|who: Authenticated| async move { who.subject.clone() }),
        )
        .layer(
            JwtLayer::builder(f.verifier.clone())
                .cookie("token")
                .build(),
        );
    let pair = f.issuer.login("erin", &json!({})).await.unwrap();
    let cookie = format!("token={}", pair.access_token);
    let post = |origin: &'static str| {
        Request::post("/act")
            .header(header::HOST, "app.test")
            .header(header::COOKIE, cookie.clone())
            .header(header::ORIGIN, origin)
            .body(Body::empty())
            .unwrap()
    };
    let same = app.clone().oneshot(post("https://app.test")).await.unwrap();
    assert_eq!(same.status(), StatusCode::OK);
    for foreign in ["https://evil.test", "http://app.test"] {
        let cross = app.clone().oneshot(post(foreign)).await.unwrap();
        assert_eq!(cross.status(), StatusCode::FORBIDDEN, "{foreign}");
    }
}

#[tokio::test]
async fn logout_everywhere_from_a_browser_ends_the_users_tokens_too() {
    let f = fixture();
    let browser = Router::new()
        .route(
            "/login",
            post(|session: SessionHandle| async move { session.login("gwen", ["user"]) }),
        )
        .route(
            "/logout-all",
            post(|session: SessionHandle| async move { session.logout_everywhere() }),
        )
        .layer(
            auth_tower::SessionLayer::builder(f.manager.clone())
                .issuer(f.issuer.clone())
                .optional()
                .build(),
        );
    let api = routes().layer(AuthLayer::builder(f.verifier.clone(), f.manager.clone()).build());
    let send = |uri: &'static str, cookie: Option<String>| {
        let mut request = Request::post(uri).header(header::HOST, "app.test");
        if let Some(cookie) = cookie {
            request = request.header(header::COOKIE, cookie);
        }
        browser
            .clone()
            .oneshot(request.body(Body::empty()).unwrap())
    };
    let response = send("/login", None).await.unwrap();
    let set_cookie = response.headers()[header::SET_COOKIE].to_str().unwrap();
    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    let other_browser = {
        let response = send("/login", None).await.unwrap();
        let set_cookie = response.headers()[header::SET_COOKIE].to_str().unwrap();
        set_cookie.split(';').next().unwrap().to_owned()
    };
    let api_client = f.issuer.login("gwen", &json!({})).await.unwrap();
    let bearer = format!("Bearer {}", api_client.access_token);
    let someone_else = f.issuer.login("hank", &json!({})).await.unwrap();
    assert_eq!(
        get_with(&api, "/me", &[("authorization", &bearer)])
            .await
            .status(),
        StatusCode::OK
    );

    f.clock.advance(Duration::from_millis(5));
    let response = send("/logout-all", Some(cookie)).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        get_with(&api, "/me", &[("cookie", &other_browser)])
            .await
            .status(),
        StatusCode::UNAUTHORIZED,
        "every session"
    );
    assert_eq!(
        get_with(&api, "/me", &[("authorization", &bearer)])
            .await
            .status(),
        StatusCode::UNAUTHORIZED,
        "every access token"
    );
    assert!(
        f.issuer
            .refresh(api_client.refresh_token.expose_secret())
            .await
            .is_err(),
        "every refresh family"
    );
    let other = format!("Bearer {}", someone_else.access_token);
    assert_eq!(
        get_with(&api, "/me", &[("authorization", &other)])
            .await
            .status(),
        StatusCode::OK
    );
}

/// A session store whose `delete_subject` waits at a gate, to stop a caller there.
#[derive(Clone)]
struct GatedDeleteSubject {
    inner: MemorySessionStore,
    entered: Arc<Semaphore>,
    gate: Arc<Semaphore>,
}

#[async_trait]
impl SessionStore for GatedDeleteSubject {
    async fn create(&self, key: &SessionKey, record: &SessionRecord) -> Result<(), StoreError> {
        self.inner.create(key, record).await
    }
    async fn load(&self, key: &SessionKey) -> Result<Option<SessionRecord>, StoreError> {
        self.inner.load(key).await
    }
    async fn save(&self, key: &SessionKey, record: &SessionRecord) -> Result<u64, StoreError> {
        self.inner.save(key, record).await
    }
    async fn touch(
        &self,
        key: &SessionKey,
        last_seen_at: std::time::SystemTime,
        expires_at: std::time::SystemTime,
    ) -> Result<bool, StoreError> {
        self.inner.touch(key, last_seen_at, expires_at).await
    }
    async fn delete(&self, key: &SessionKey) -> Result<bool, StoreError> {
        self.inner.delete(key).await
    }
    async fn delete_subject(&self, subject: &str) -> Result<u64, StoreError> {
        self.entered.add_permits(1);
        self.gate.acquire().await.unwrap().forget();
        self.inner.delete_subject(subject).await
    }
    async fn list_subject(&self, subject: &str) -> Result<Vec<SessionEntry>, StoreError> {
        self.inner.list_subject(subject).await
    }
}

/// "Log out everywhere" dropped (a client gone, a timeout) after the tokens were revoked
/// but while the sessions are being deleted: the sessions must end anyway, or a stolen
/// cookie outlives the logout meant to end it.
#[tokio::test]
async fn a_logout_everywhere_whose_caller_stops_waiting_still_ends_every_session() {
    let f = fixture();
    let store = GatedDeleteSubject {
        inner: MemorySessionStore::builder().clock(f.clock.clone()).build(),
        entered: Arc::new(Semaphore::new(0)),
        gate: Arc::new(Semaphore::new(0)),
    };
    let manager = SessionManager::builder(store.clone())
        .clock(f.clock.clone())
        .build()
        .unwrap();
    manager.create("ivy", &json!({})).await.unwrap();
    let tokens = f.issuer.login("ivy", &json!({})).await.unwrap();
    f.clock.advance(Duration::from_millis(5));
    let logout = Logout::new(manager.clone(), f.issuer.clone());

    tokio::select! {
        ended = logout.everywhere("ivy") => panic!("the gate is closed, yet it answered {ended:?}"),
        entered = store.entered.acquire() => entered.unwrap().forget(),
    }
    assert!(
        f.verifier.authenticate(&tokens.access_token).await.is_err(),
        "the tokens went first"
    );
    store.gate.add_permits(1);
    let started = std::time::Instant::now();
    while !manager.list("ivy").await.unwrap().is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the sessions outlive the logout"
        );
        tokio::task::yield_now().await;
    }
}
