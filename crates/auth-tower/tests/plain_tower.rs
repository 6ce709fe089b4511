//! The layers wrap any tower `Service` over `http` types, not only axum routers.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests: a panic is a failed test.

use std::convert::Infallible;

use std::sync::Arc;

use auth_core::Identity;
use auth_core::memory::MemorySessionStore;
use auth_session::SessionManager;
use auth_tower::SessionLayer;
use http::{Request, Response, StatusCode, header};
use tower::{ServiceBuilder, ServiceExt, service_fn};

/// A bare service: `String` bodies, no framework, identity read from the extensions.
async fn whoami(request: Request<String>) -> Result<Response<String>, Infallible> {
    let body = request
        .extensions()
        .get::<Arc<Identity>>()
        .map_or_else(|| "anonymous".to_owned(), |who| who.subject.clone());
    Ok(Response::new(body))
}

#[tokio::test]
async fn session_layer_wraps_a_plain_service_fn() {
    let manager = SessionManager::new(MemorySessionStore::default());
    let session = manager
        .create("alice", &serde_json::json!({}))
        .await
        .unwrap();
    let cookie = format!(
        "{}={}",
        manager.cookie_config().name(),
        session.id().expose_secret()
    );
    let service = ServiceBuilder::new()
        .layer(SessionLayer::builder(manager).optional().build())
        .service(service_fn(whoami));

    let request = Request::get("/")
        .header(header::COOKIE, cookie)
        .body(String::new())
        .unwrap();
    let response = service.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.into_body(), "alice");

    let anonymous = Request::get("/").body(String::new()).unwrap();
    assert_eq!(
        service.oneshot(anonymous).await.unwrap().into_body(),
        "anonymous"
    );
}
