//! A local OpenID provider on a free loopback port: a discovery document and a JWK Set
//! whose body, status and `Cache-Control` the test sets, requests counted, and a gate that
//! holds JWK Set responses until the test opens it.
#![allow(dead_code, unreachable_pub)] // Each test binary uses a different subset.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failed test.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use auth_jwt::{JwkSet, SigningKey};
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{oneshot, watch};

pub struct Provider {
    /// `http://127.0.0.1:PORT`: the issuer, unless told otherwise.
    pub url: String,
    state: Arc<Shared>,
    _stop: oneshot::Sender<()>,
}

struct Shared {
    url: String,
    issuer: Mutex<String>,
    /// The `jwks_uri` discovery names, if not this provider's own.
    jwks_uri: Mutex<Option<String>>,
    jwks: Mutex<Served>,
    jwks_hits: AtomicUsize,
    discovery_hits: AtomicUsize,
    gate: watch::Sender<bool>,
}

#[derive(Clone)]
struct Served {
    status: u16,
    body: String,
    cache_control: Option<String>,
}

impl Provider {
    /// A provider serving an empty JWK Set, its discovery document naming its own URL.
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Shared {
            url: url.clone(),
            issuer: Mutex::new(url.clone()),
            jwks_uri: Mutex::new(None),
            jwks: Mutex::new(Served {
                status: 200,
                body: r#"{"keys":[]}"#.to_owned(),
                cache_control: None,
            }),
            jwks_hits: AtomicUsize::new(0),
            discovery_hits: AtomicUsize::new(0),
            gate: watch::channel(true).0,
        });
        let app = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/jwks", get(jwks))
            .with_state(state.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
        });
        Self {
            url,
            state,
            _stop: stop,
        }
    }

    /// Serves `body` as the JWK Set, with `cache_control` if given, status 200.
    pub fn serve(&self, body: impl Into<String>, cache_control: Option<&str>) {
        *self.state.jwks.lock().unwrap() = Served {
            status: 200,
            body: body.into(),
            cache_control: cache_control.map(str::to_owned),
        };
    }

    /// Publishes the public keys of `keys` under their kids (with `alg`).
    pub fn publish(&self, keys: &[(&str, &SigningKey)], cache_control: Option<&str>) {
        self.serve(jwks_of(keys).to_json(), cache_control);
    }

    /// Answers every JWK Set request with `status` and an empty body.
    pub fn fail_with(&self, status: u16) {
        self.state.jwks.lock().unwrap().status = status;
    }

    /// Makes the discovery document name `issuer`.
    pub fn claim_issuer(&self, issuer: &str) {
        *self.state.issuer.lock().unwrap() = issuer.to_owned();
    }

    /// Makes the discovery document name `jwks_uri` (`None`: this provider's own).
    pub fn name_jwks_uri(&self, jwks_uri: Option<&str>) {
        *self.state.jwks_uri.lock().unwrap() = jwks_uri.map(str::to_owned);
    }

    /// Holds JWK Set responses (the requests still count) until [`Provider::open`].
    pub fn close(&self) {
        self.state.gate.send_replace(false);
    }

    pub fn open(&self) {
        self.state.gate.send_replace(true);
    }

    pub fn jwks_hits(&self) -> usize {
        self.state.jwks_hits.load(Ordering::SeqCst)
    }

    pub fn discovery_hits(&self) -> usize {
        self.state.discovery_hits.load(Ordering::SeqCst)
    }
}

/// A JWK Set of the public keys of `keys`, with `kid` and `alg`.
pub fn jwks_of(keys: &[(&str, &SigningKey)]) -> JwkSet {
    JwkSet {
        keys: keys
            .iter()
            .map(|(kid, key)| key.verifying_key().to_jwk(Some(kid)).unwrap())
            .collect(),
    }
}

async fn discovery(State(state): State<Arc<Shared>>) -> Response {
    state.discovery_hits.fetch_add(1, Ordering::SeqCst);
    let issuer = state.issuer.lock().unwrap().clone();
    let jwks_uri = state.jwks_uri.lock().unwrap().clone();
    Json(serde_json::json!({
        "issuer": issuer,
        "jwks_uri": jwks_uri.unwrap_or_else(|| format!("{}/jwks", state.url)),
        "token_endpoint": format!("{}/token", state.url),
    }))
    .into_response()
}

async fn jwks(State(state): State<Arc<Shared>>) -> Response {
    state.jwks_hits.fetch_add(1, Ordering::SeqCst);
    let mut gate = state.gate.subscribe();
    let _ = gate.wait_for(|open| *open).await;
    let served = state.jwks.lock().unwrap().clone();
    if served.status != 200 {
        return StatusCode::from_u16(served.status).unwrap().into_response();
    }
    let mut response = served.body.into_response();
    if let Some(cache_control) = served.cache_control {
        response.headers_mut().insert(
            header::CACHE_CONTROL,
            HeaderValue::from_str(&cache_control).unwrap(),
        );
    }
    response
}

/// A bare HTTP/1.1 server answering every request with 200 and `len` bytes of a JWK Set
/// document, with no `Content-Length`: the body ends when the connection closes.
pub async fn endless_body(len: usize) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buffer = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buffer[..n]),
                    }
                }
                let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n";
                let mut body = String::from(r#"{"keys":[],"pad":""#);
                body.push_str(&"a".repeat(len));
                body.push_str(r#""}"#);
                // The client hangs up once it has read enough: write errors are expected.
                let _ = socket.write_all(head.as_bytes()).await;
                let _ = socket.write_all(body.as_bytes()).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    addr
}
