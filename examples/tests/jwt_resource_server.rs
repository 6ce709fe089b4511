//! The `jwt_resource_server` example against the demo, end to end over loopback HTTP: the
//! demo issues a token to alice, the resource server finds the demo's keys by OpenID
//! discovery from its issuer URL and answers `/me`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests: a panic is a failed test.

mod common;
// The example's own code, so that this test needs no separately built binary.
#[allow(dead_code, unreachable_pub)]
#[path = "../examples/jwt_resource_server.rs"]
mod example;

use std::sync::Arc;

use auth_core::RevocationStore;
use auth_jwt::Algorithm;
use authkit_examples::demo::{DemoConfig, StoreChoice};
use common::{Demo, store};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::sync::oneshot;

/// The example's router for the demo's issuer and audience, served on a free port.
struct ResourceServer {
    url: String,
    _stop: oneshot::Sender<()>,
}

impl ResourceServer {
    async fn start(issuer: &str, algorithms: Vec<Algorithm>) -> Self {
        Self::start_with(issuer, algorithms, None).await
    }

    async fn start_with(
        issuer: &str,
        algorithms: Vec<Algorithm>,
        revocations: Option<Arc<dyn RevocationStore>>,
    ) -> Self {
        let app = example::app(issuer, "authkit-demo-api", algorithms, revocations).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
        });
        Self { url, _stop: stop }
    }

    async fn me(&self, token: Option<&str>) -> reqwest::Response {
        let mut request = reqwest::Client::new().get(format!("{}/me", self.url));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_resource_server_accepts_the_demos_tokens_found_by_discovery() {
    let demo = Demo::start_memory().await;
    let issuer = format!("http://{}", demo.addr);
    let server = ResourceServer::start(&issuer, Vec::new()).await;

    // No token, or a made-up one: 401, before the demo's keys are even fetched.
    assert_eq!(server.me(None).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        server.me(Some("not.a.token")).await.status(),
        StatusCode::UNAUTHORIZED
    );

    // alice's token from the demo's password grant.
    let pair = demo.token("alice", "wonderland").await;
    let access = pair["access_token"].as_str().unwrap();
    let response = server.me(Some(access)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, json!({ "sub": "alice", "roles": ["admin", "user"] }));

    // A token altered by one character is refused.
    let mut altered = access.to_owned();
    let last = altered.pop().unwrap();
    altered.push(if last == 'A' { 'B' } else { 'A' });
    assert_eq!(
        server.me(Some(&altered)).await.status(),
        StatusCode::UNAUTHORIZED
    );

    // `--alg ES256` (the demo's algorithm) accepts it; `--alg RS256` leaves the demo's
    // key out, so nothing verifies.
    let es256 = ResourceServer::start(&issuer, vec![Algorithm::ES256]).await;
    assert_eq!(es256.me(Some(access)).await.status(), StatusCode::OK);
    let rs256 = ResourceServer::start(&issuer, vec![Algorithm::RS256]).await;
    assert_eq!(
        rs256.me(Some(access)).await.status(),
        StatusCode::UNAUTHORIZED
    );

    // A server configured for another issuer URL refuses the demo's tokens (their `iss`
    // is not its issuer) before fetching anything.
    let other = ResourceServer::start(&format!("{issuer}/"), Vec::new()).await;
    assert_eq!(
        other.me(Some(access)).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_resource_server_answers_503_while_the_issuer_is_unreachable() {
    // The demo signs as an issuer URL where nothing listens (bound, then released).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let issuer = format!("http://127.0.0.1:{port}");
    let server = ResourceServer::start(&issuer, Vec::new()).await;
    let demo = Demo::start_with(DemoConfig {
        issuer: Some(issuer),
        ..DemoConfig::default()
    })
    .await;
    let pair = demo.token("bob", "builder").await;
    let response = server
        .me(Some(pair["access_token"].as_str().unwrap()))
        .await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_issuers_revocation_store_a_logout_at_the_issuer_is_refused_here() {
    let choice = store::redis().await;
    let StoreChoice::Redis { prefix, .. } = &choice else {
        unreachable!("store::redis() is a Redis choice")
    };
    let revocations = example::redis_revocations(&store::redis_url(), prefix)
        .await
        .unwrap();
    let demo = Demo::start(choice.clone()).await;
    let issuer = format!("http://{}", demo.addr);
    let stateless = ResourceServer::start(&issuer, Vec::new()).await;
    let server = ResourceServer::start_with(&issuer, Vec::new(), Some(revocations)).await;

    let pair = demo.token("alice", "wonderland").await;
    let access = pair["access_token"].as_str().unwrap();
    assert_eq!(server.me(Some(access)).await.status(), StatusCode::OK);
    assert_eq!(
        demo.api_logout(access).await.status(),
        StatusCode::NO_CONTENT
    );

    assert_eq!(
        server.me(Some(access)).await.status(),
        StatusCode::UNAUTHORIZED,
        "the logout reached the resource server through the shared store"
    );
    assert_eq!(
        stateless.me(Some(access)).await.status(),
        StatusCode::OK,
        "without the store, a revoked token lives until `exp` (as the example's docs say)"
    );
    // alice's other token, from a second login, is untouched.
    let other = demo.token("alice", "wonderland").await;
    let other = other["access_token"].as_str().unwrap();
    assert_eq!(server.me(Some(other)).await.status(), StatusCode::OK);
}
