//! A resource server that accepts an OpenID provider's access tokens: it finds the
//! provider's keys by discovery (`{issuer}/.well-known/openid-configuration` → `jwks_uri`)
//! and answers `GET /me` with the token's subject and roles (401 without a valid token).
//!
//! `cargo run -p authkit-examples --example jwt_resource_server -- --addr 127.0.0.1:3002 --issuer http://127.0.0.1:3000 --audience authkit-demo-api [--alg ES256]...`
//!
//! Against the demo (`cargo run -p authkit-examples --bin demo`):
//! `curl -s -X POST localhost:3000/api/token -H 'content-type: application/json' -d '{"username":"alice","password":"wonderland"}'`,
//! then `curl -H "authorization: Bearer $ACCESS_TOKEN" localhost:3002/me`.
#![allow(clippy::print_stdout)] // Its one line of output says where it listens.
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use auth_core::SystemClock;
use auth_jwt::{Algorithm, HttpJwksSource, KeySet, RemoteJwks, Verifier, algorithm};
use auth_tower::{Authenticated, JwtLayer};
use axum::{Json, Router, routing::get};
use serde_json::{Value, json};

async fn me(who: Authenticated) -> Json<Value> {
    Json(json!({ "sub": who.subject, "roles": who.roles }))
}

/// `GET /me` behind a `JwtLayer` trusting `issuer`'s tokens for `audience`. With
/// `algorithms`, only keys for those serve (and a key without `alg` takes the one it fits).
pub fn app(issuer: &str, audience: &str, algorithms: Vec<Algorithm>) -> anyhow::Result<Router> {
    let clock = SystemClock::shared();
    // Discovery runs on the first request, and again whenever a fetch fails.
    let keys = RemoteJwks::new(Arc::new(HttpJwksSource::discover(issuer)?), clock.clone())
        .with_algorithms(algorithms);
    let verifier = Verifier::builder(KeySet::new(clock.clone()), clock)
        .remote_jwks(keys) // tokens must carry `iss` = the discovered issuer
        .audience(audience)
        .build()?;
    // 401 for a missing or refused token, 503 when the provider's keys cannot be had.
    Ok(Router::new()
        .route("/me", get(me))
        .layer(JwtLayer::new(verifier)))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let usage = "usage: --addr ADDR --issuer URL --audience AUD [--alg ALG]...";
    let args: Vec<String> = std::env::args().collect();
    let values = |name: &str| {
        let pairs = args.windows(2).filter(move |pair| pair[0] == name);
        pairs.map(|pair| pair[1].clone()).collect::<Vec<_>>()
    };
    let one = |name: &str| values(name).pop().context(usage);
    let addr: SocketAddr = one("--addr")?.parse()?;
    let algorithms = (values("--alg").iter())
        .map(|name| algorithm::parse(name).with_context(|| format!("unknown --alg {name}")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let app = app(&one("--issuer")?, &one("--audience")?, algorithms)?;
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("jwt_resource_server on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
