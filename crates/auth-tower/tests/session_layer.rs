//! SessionLayer in a real axum router, driven in process with `oneshot`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests: a panic is a failed test.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use auth_core::memory::MemorySessionStore;
use auth_core::store::{SessionEntry, SessionRecord};
use auth_core::{ManualClock, SessionId, SessionKey, SessionStore, StoreError};
use auth_session::SessionManager;
use auth_tower::{Authenticated, RequireRole, RoleName, SessionHandle, SessionLayer};
use axum::Router;
use axum::body::Body;
use axum::routing::{get, post};
use http::{Request, Response, StatusCode, header};
use http_body_util::BodyExt;
use tower::ServiceExt;

struct Admin;
impl RoleName for Admin {
    const ROLE: &'static str = "admin";
}

fn app<S: SessionStore + Clone>(manager: SessionManager<S>, optional: bool) -> Router {
    let mut builder = SessionLayer::builder(manager);
    if optional {
        builder = builder.optional();
    }
    Router::new()
        .route("/me", get(|who: Authenticated| async move { who.subject.clone() }))
        .route(
            "/maybe",
            get(|who: Option<Authenticated>| async move {
                who.map(|w| w.subject.clone()).unwrap_or_else(|| "anonymous".into())
            }),
        )
        .route(
            "/login/{user}",
            post(
                |axum::extract::Path(user): axum::extract::Path<String>, session: SessionHandle| async move {
                    let roles = if user == "alice" { vec!["admin"] } else { vec!["user"] };
                    session.login(user, roles);
                },
            ),
        )
        .route("/logout", post(|session: SessionHandle| async move { session.logout() }))
        .route(
            "/logout-all",
            post(|session: SessionHandle| async move { session.logout_everywhere() }),
        )
        .route(
            "/count",
            post(|session: SessionHandle| async move {
                let n: u32 = session.get("n").unwrap().unwrap_or(0) + 1;
                session.insert("n", &n).unwrap();
                n.to_string()
            }),
        )
        .route(
            "/roles/{roles}",
            post(
                |axum::extract::Path(roles): axum::extract::Path<String>, session: SessionHandle| async move {
                    if roles == "none" {
                        session.remove("roles").unwrap();
                    } else {
                        session.insert("roles", &roles.split(',').collect::<Vec<_>>()).unwrap();
                    }
                },
            ),
        )
        .route("/admin", get(|_: RequireRole<Admin>| async { "admin area" }))
        .route(
            "/shared",
            get(|guard: RequireRole<Admin>, who: Authenticated| async move {
                // Both extractors hold the request's one identity; neither copied it.
                let shared = Arc::ptr_eq(&guard.0, &who.0);
                drop(guard);
                let owned = who.into_identity();
                format!("{shared} {}", owned.subject)
            }),
        )
        .layer(builder.build())
}

fn manager(clock: &Arc<ManualClock>) -> SessionManager<MemorySessionStore> {
    SessionManager::builder(MemorySessionStore::builder().clock(clock.clone()).build())
        .clock(clock.clone())
        .build()
        .unwrap()
}

async fn send(app: &Router, method: &str, uri: &str, cookie: Option<&str>) -> Response<Body> {
    let mut request = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::HOST, "app.test");
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    app.clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap()
}

fn set_cookie(response: &Response<Body>) -> Option<String> {
    response
        .headers()
        .get(header::SET_COOKIE)
        .map(|v| v.to_str().unwrap().to_owned())
}

/// The `name=value` part of a `Set-Cookie`, as a browser would send it back.
fn cookie_pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().to_owned()
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

async fn login(app: &Router, user: &str, cookie: Option<&str>) -> String {
    let response = send(app, "POST", &format!("/login/{user}"), cookie).await;
    assert_eq!(response.status(), StatusCode::OK);
    cookie_pair(&set_cookie(&response).expect("login sets a cookie"))
}

#[tokio::test]
async fn login_sets_a_hardened_cookie_and_authenticates() {
    let clock = Arc::new(ManualClock::starting_now());
    let app = app(manager(&clock), true);
    let response = send(&app, "POST", "/login/alice", None).await;
    let cookie = set_cookie(&response).unwrap();
    for attribute in [
        "__Host-",
        "HttpOnly",
        "Secure",
        "SameSite=Lax",
        "Path=/",
        "Max-Age=",
    ] {
        assert!(
            cookie.contains(attribute),
            "{attribute} missing from {cookie}"
        );
    }
    assert!(!cookie.to_ascii_lowercase().contains("domain"));
    assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
    let pair = cookie_pair(&cookie);
    let me = send(&app, "GET", "/me", Some(&pair)).await;
    assert_eq!(me.status(), StatusCode::OK);
    assert!(
        set_cookie(&me).is_none(),
        "an unchanged session sets no cookie"
    );
    assert_eq!(body(me).await, "alice");
}

#[tokio::test]
async fn required_mode_answers_401_with_a_challenge() {
    let clock = Arc::new(ManualClock::starting_now());
    let app = app(manager(&clock), false);
    let response = send(&app, "GET", "/me", None).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(
        response.headers()[header::WWW_AUTHENTICATE]
            .to_str()
            .unwrap()
            .starts_with("Cookie")
    );
}

#[tokio::test]
async fn login_never_keeps_the_id_the_client_brought() {
    let clock = Arc::new(ManualClock::starting_now());
    let app = app(manager(&clock), true);
    let before = login(&app, "bob", None).await;
    let after = login(&app, "bob", Some(&before)).await;
    assert_ne!(before, after);
    assert_eq!(
        send(&app, "GET", "/me", Some(&before)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        body(send(&app, "GET", "/me", Some(&after)).await).await,
        "bob"
    );
    // A planted, never-issued id is not adopted either.
    let planted = format!("__Host-session={}", "A".repeat(43));
    let fresh = login(&app, "bob", Some(&planted)).await;
    assert_ne!(fresh, planted);
}

#[tokio::test]
async fn login_as_someone_else_never_hands_over_the_old_session() {
    let clock = Arc::new(ManualClock::starting_now());
    let app = app(manager(&clock), true);
    let bob = login(&app, "bob", None).await;
    assert_eq!(
        body(send(&app, "POST", "/count", Some(&bob)).await).await,
        "1"
    );
    let alice = login(&app, "alice", Some(&bob)).await;
    assert_eq!(
        send(&app, "GET", "/me", Some(&bob)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        body(send(&app, "POST", "/count", Some(&alice)).await).await,
        "1"
    );
}

#[tokio::test]
async fn logout_kills_the_old_cookie_and_clears_it() {
    let clock = Arc::new(ManualClock::starting_now());
    let app = app(manager(&clock), true);
    let cookie = login(&app, "bob", None).await;
    let response = send(&app, "POST", "/logout", Some(&cookie)).await;
    let cleared = set_cookie(&response).unwrap();
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    assert_eq!(
        send(&app, "GET", "/me", Some(&cookie)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        body(send(&app, "GET", "/maybe", Some(&cookie)).await).await,
        "anonymous"
    );
}

/// Browsers send every cookie of the host in one header, UTF-8 values included (a page
/// script's, or a sibling domain's): such a cookie beside the session's neither hides the
/// session nor turns a logout into a cleared cookie over a session still alive.
#[tokio::test]
async fn a_cookie_that_is_not_ascii_hides_no_session() {
    let clock = Arc::new(ManualClock::starting_now());
    let app = app(manager(&clock), true);
    let cookie = login(&app, "bob", None).await;
    let header = format!("pref=caf\u{e9}; {cookie}; x=\u{2603}");
    assert_eq!(
        body(send(&app, "GET", "/me", Some(&header)).await).await,
        "bob"
    );
    let response = send(&app, "POST", "/logout", Some(&header)).await;
    assert!(set_cookie(&response).unwrap().contains("Max-Age=0"));
    assert_eq!(
        send(&app, "GET", "/me", Some(&cookie)).await.status(),
        StatusCode::UNAUTHORIZED,
        "the logout deleted the session on the server"
    );
    // A first session cookie whose value is not text is still the first: no session.
    let other = login(&app, "carol", None).await;
    let name = other.split('=').next().unwrap();
    let header = format!("{name}=\u{e9}; {other}");
    assert_eq!(
        body(send(&app, "GET", "/maybe", Some(&header)).await).await,
        "anonymous"
    );
}

#[tokio::test]
async fn logout_everywhere_ends_other_clients_sessions_only_of_that_user() {
    let clock = Arc::new(ManualClock::starting_now());
    let app = app(manager(&clock), true);
    let laptop = login(&app, "bob", None).await;
    let phone = login(&app, "bob", None).await;
    let alice = login(&app, "alice", None).await;
    send(&app, "POST", "/logout-all", Some(&laptop)).await;
    assert_eq!(
        send(&app, "GET", "/me", Some(&phone)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        send(&app, "GET", "/me", Some(&alice)).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn cross_site_unsafe_requests_are_refused() {
    let clock = Arc::new(ManualClock::starting_now());
    let app = app(manager(&clock), true);
    let cookie = login(&app, "bob", None).await;
    for (name, value) in [
        ("sec-fetch-site", "cross-site"),
        ("origin", "https://evil.test"),
        // Same host, plain http: a page an attacker can inject on the http site.
        ("origin", "http://app.test"),
    ] {
        let request = Request::post("/logout")
            .header(header::HOST, "app.test")
            .header(header::COOKIE, &cookie)
            .header(name, value)
            .body(Body::empty())
            .unwrap();
        let response = app.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{name}");
    }
    // The session survived every attempt; a same-origin request (the cookie is
    // `Secure`, so the origin is https) works.
    let request = Request::post("/count")
        .header(header::HOST, "app.test")
        .header(header::COOKIE, &cookie)
        .header("origin", "https://app.test")
        .body(Body::empty())
        .unwrap();
    assert_eq!(
        app.clone().oneshot(request).await.unwrap().status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn data_changes_are_saved_without_a_new_cookie() {
    let clock = Arc::new(ManualClock::starting_now());
    let app = app(manager(&clock), true);
    let cookie = login(&app, "bob", None).await;
    for expected in ["1", "2", "3"] {
        let response = send(&app, "POST", "/count", Some(&cookie)).await;
        assert!(set_cookie(&response).is_none());
        assert_eq!(body(response).await, expected);
    }
}

/// Roles changed through the handle's data methods are a privilege change like any other:
/// the session moves to a fresh id and the old one dies, so an id that leaked before a
/// grant never becomes an admin's. Setting the roles a session already has changes nothing.
#[tokio::test]
async fn a_role_change_through_the_handle_moves_the_session_to_a_fresh_id() {
    let clock = Arc::new(ManualClock::starting_now());
    let app = app(manager(&clock), true);
    let leaked = login(&app, "bob", None).await;
    let unchanged = send(&app, "POST", "/roles/user", Some(&leaked)).await;
    assert!(
        set_cookie(&unchanged).is_none(),
        "the same roles: no rotation"
    );

    let granted = send(&app, "POST", "/roles/user,admin", Some(&leaked)).await;
    assert_eq!(granted.status(), StatusCode::OK);
    let admin = cookie_pair(&set_cookie(&granted).expect("a grant sends a fresh id"));
    assert_ne!(admin, leaked);
    let status = |cookie: String| {
        let app = app.clone();
        async move { send(&app, "GET", "/admin", Some(&cookie)).await.status() }
    };
    assert_eq!(status(leaked.clone()).await, StatusCode::UNAUTHORIZED);
    assert_eq!(status(admin.clone()).await, StatusCode::OK);

    let revoked = send(&app, "POST", "/roles/none", Some(&admin)).await;
    let plain = cookie_pair(&set_cookie(&revoked).expect("taking roles away rotates too"));
    assert_eq!(status(admin).await, StatusCode::UNAUTHORIZED);
    assert_eq!(status(plain).await, StatusCode::FORBIDDEN);
}

/// A request still carrying the id a login or rotation just replaced (another tab, a
/// request sent before the login answered) is "no session", and its answer leaves the
/// cookie alone: clearing the name would delete the new cookie in the browser and log the
/// user out. A cookie that holds no well-formed id is still cleared.
#[tokio::test]
async fn a_request_with_a_replaced_id_leaves_the_new_cookie_alone() {
    let clock = Arc::new(ManualClock::starting_now());
    let app = app(manager(&clock), true);
    let old = login(&app, "bob", None).await;
    let new = login(&app, "bob", Some(&old)).await;
    assert_ne!(old, new);
    let straggler = send(&app, "GET", "/maybe", Some(&old)).await;
    assert_eq!(set_cookie(&straggler), None);
    assert_eq!(body(straggler).await, "anonymous");
    assert_eq!(
        body(send(&app, "GET", "/maybe", Some(&new)).await).await,
        "bob"
    );
}

#[tokio::test]
async fn role_guard_distinguishes_401_and_403() {
    let clock = Arc::new(ManualClock::starting_now());
    let app = app(manager(&clock), true);
    assert_eq!(
        send(&app, "GET", "/admin", None).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let bob = login(&app, "bob", None).await;
    assert_eq!(
        send(&app, "GET", "/admin", Some(&bob)).await.status(),
        StatusCode::FORBIDDEN
    );
    let alice = login(&app, "alice", None).await;
    assert_eq!(
        send(&app, "GET", "/admin", Some(&alice)).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_role_taken_away_in_the_store_is_refused_on_the_next_request() {
    // The layer shares one identity between the requests of an unchanged session; a
    // change made elsewhere (another process, an operator) must end that at once.
    let clock = Arc::new(ManualClock::starting_now());
    let manager = manager(&clock);
    let app = app(manager.clone(), true);
    let alice = login(&app, "alice", None).await;
    for _ in 0..2 {
        let response = send(&app, "GET", "/admin", Some(&alice)).await;
        assert_eq!(response.status(), StatusCode::OK);
    }
    let id = alice.split_once('=').unwrap().1;
    let mut session = manager.load(id).await.unwrap().unwrap();
    session.set_roles(Vec::<String>::new()).unwrap();
    manager.update(&mut session).await.unwrap();
    assert_eq!(
        send(&app, "GET", "/admin", Some(&alice)).await.status(),
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn extractors_share_the_request_identity() {
    let clock = Arc::new(ManualClock::starting_now());
    let app = app(manager(&clock), true);
    let alice = login(&app, "alice", None).await;
    let response = send(&app, "GET", "/shared", Some(&alice)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(body(response).await, "true alice");
}

/// Tampered, unknown and expired ids are "no session", never trusted. A cookie that holds
/// no well-formed id is cleared; a well-formed one is left alone (see
/// `a_request_with_a_replaced_id_leaves_the_new_cookie_alone`).
#[tokio::test]
async fn expired_tampered_and_malformed_cookies_are_never_trusted() {
    let clock = Arc::new(ManualClock::starting_now());
    let app = app(manager(&clock), true);
    let cookie = login(&app, "bob", None).await;
    let mut tampered = cookie.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'E' } else { 'A' });
    let unknown = format!(
        "__Host-session={}",
        SessionId::generate().unwrap().expose_secret()
    );
    for (bad, cleared) in [
        (tampered.as_str(), false),
        (unknown.as_str(), false),
        ("__Host-session=../../etc/passwd", true),
        ("__Host-session=", true),
    ] {
        let response = send(&app, "GET", "/maybe", Some(bad)).await;
        assert_eq!(response.status(), StatusCode::OK);
        let set = set_cookie(&response);
        assert_eq!(
            set.as_deref().is_some_and(|c| c.contains("Max-Age=0")),
            cleared,
            "{bad}: {set:?}"
        );
        assert_eq!(body(response).await, "anonymous");
    }
    clock.advance(Duration::from_secs(31 * 60));
    let expired = send(&app, "GET", "/me", Some(&cookie)).await;
    assert_eq!(expired.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(set_cookie(&expired), None);
}

/// A store whose backend cannot be reached.
#[derive(Clone)]
struct Unreachable;

fn down() -> StoreError {
    StoreError::unavailable(std::io::Error::new(
        std::io::ErrorKind::ConnectionRefused,
        "down",
    ))
}

#[async_trait]
impl SessionStore for Unreachable {
    async fn create(&self, _: &SessionKey, _: &SessionRecord) -> Result<(), StoreError> {
        Err(down())
    }
    async fn load(&self, _: &SessionKey) -> Result<Option<SessionRecord>, StoreError> {
        Err(down())
    }
    async fn save(&self, _: &SessionKey, _: &SessionRecord) -> Result<u64, StoreError> {
        Err(down())
    }
    async fn touch(
        &self,
        _: &SessionKey,
        _: std::time::SystemTime,
        _: std::time::SystemTime,
    ) -> Result<bool, StoreError> {
        Err(down())
    }
    async fn delete(&self, _: &SessionKey) -> Result<bool, StoreError> {
        Err(down())
    }
    async fn delete_subject(&self, _: &str) -> Result<u64, StoreError> {
        Err(down())
    }
    async fn list_subject(&self, _: &str) -> Result<Vec<SessionEntry>, StoreError> {
        Err(down())
    }
}

#[tokio::test]
async fn an_unreachable_store_fails_closed_with_503() {
    let app = app(SessionManager::new(Unreachable), true);
    let cookie = format!("__Host-session={}", "A".repeat(43));
    for (method, uri) in [("GET", "/maybe"), ("GET", "/me"), ("POST", "/login/alice")] {
        let response = send(&app, method, uri, Some(&cookie)).await;
        assert_eq!(
            response.status(),
            StatusCode::SERVICE_UNAVAILABLE,
            "{method} {uri}"
        );
        assert_eq!(response.headers()[header::RETRY_AFTER], "1");
        assert!(set_cookie(&response).is_none());
    }
    // Without a cookie nothing is looked up, but a login still cannot succeed.
    let response = send(&app, "POST", "/login/alice", None).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(set_cookie(&response).is_none());
}
