//! A resource server that accepts an OpenID provider's access tokens: it finds the
//! provider's keys by discovery (`{issuer}/.well-known/openid-configuration` → `jwks_uri`)
//! and answers `GET /me` with the token's subject and roles (401 without a valid token,
//! 503 while the provider's keys cannot be had).
//!
//! `cargo run -p authkit-examples --example jwt_resource_server -- --addr 127.0.0.1:3002 --issuer http://127.0.0.1:3000 --audience authkit-demo-api [--alg ES256]... [--revocations redis://127.0.0.1:6379 [--key-prefix authkit_demo_]]`
//!
//! Against the demo (`cargo run -p authkit-examples --bin demo`):
//! `curl -s -X POST localhost:3000/api/token -H 'content-type: application/json' -d '{"username":"alice","password":"wonderland"}'`,
//! then `curl -H "authorization: Bearer $ACCESS_TOKEN" localhost:3002/me`.
//!
//! - **Pin `--alg`** to the algorithms the provider signs with: a key the provider
//!   publishes without `alg` (some publish RSA keys so) serves only a pinned algorithm,
//!   and without one every token signed by it is refused.
//! - **Revocation**: on its own this server sees no logout: an access token the issuer
//!   revoked (logout, "log out everywhere", a reused refresh token) is accepted until its
//!   `exp`. With `--revocations`, it reads the revocation store the issuer writes (the
//!   demo's with `--store redis://...`; `--key-prefix` as the demo's) and refuses
//!   those too, one Redis read per request.
//! - Every refusal and key fetch is logged to standard error (`RUST_LOG`, default `info`).
#![allow(clippy::print_stdout)] // Its one line of output says where it listens.
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use auth_core::{RevocationStore, SystemClock};
use auth_jwt::{Algorithm, HttpJwksSource, KeySet, RemoteJwks, Verifier, algorithm};
use auth_tower::{Authenticated, JwtLayer};
use axum::{Json, Router, routing::get};
use serde_json::{Value, json};
use store_redis::{RedisConnection, RedisStoreBuilder};
use tracing_subscriber::EnvFilter;

async fn me(who: Authenticated) -> Json<Value> {
    Json(json!({ "sub": who.subject, "roles": who.roles }))
}

/// `GET /me` behind a `JwtLayer` trusting `issuer`'s tokens for `audience`. With
/// `algorithms`, only keys for those serve (and a key without `alg` takes the one it fits).
/// With `revocations`, tokens the issuer revoked there are refused too.
pub fn app(
    issuer: &str,
    audience: &str,
    algorithms: Vec<Algorithm>,
    revocations: Option<Arc<dyn RevocationStore>>,
) -> anyhow::Result<Router> {
    let clock = SystemClock::shared();
    // Discovery runs at every fetch of the keys (the first request, then as they age or
    // a token names a key not held), so a fixed discovery document is followed at once.
    // A cold fetch waits up to two HTTP timeouts (discovery, then the JWK Set).
    let keys = RemoteJwks::new(Arc::new(HttpJwksSource::discover(issuer)?), clock.clone())
        .with_algorithms(algorithms);
    let mut verifier = Verifier::builder(KeySet::new(clock.clone()), clock)
        .remote_jwks(keys) // tokens must carry `iss` = the discovered issuer
        .audience(audience);
    if let Some(store) = revocations {
        // An unreachable store is a 503, never a revoked token let through.
        verifier = verifier.revocation_store(store);
    }
    let verifier = verifier.build()?;
    // 401 for a missing or refused token, 503 when the provider's keys cannot be had.
    Ok(Router::new()
        .route("/me", get(me))
        .layer(JwtLayer::new(verifier)))
}

/// The revocation store an issuer writes to a Redis at `url`, under its key `prefix`.
pub async fn redis_revocations(
    url: &str,
    prefix: &str,
) -> anyhow::Result<Arc<dyn RevocationStore>> {
    // Not the URL in the error: it may hold a password.
    let connection = RedisConnection::connect(url)
        .await
        .context("connecting to the --revocations Redis")?;
    let store = RedisStoreBuilder::new(connection)
        .prefix(prefix)
        .revocations()?;
    Ok(Arc::new(store))
}

const USAGE: &str = "usage: jwt_resource_server --addr ADDR --issuer URL --audience AUD \
                     [--alg ALG]... [--revocations REDIS_URL [--key-prefix PREFIX]]";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())) // plain in a file
        .init();
    let (mut addr, mut issuer, mut audience, mut redis) = (None, None, None, None);
    let mut algorithms = Vec::new();
    let mut prefix = String::from("authkit_demo_"); // the demo's
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        // A flag's value; never the next flag (`--audience --alg ES256`).
        let mut value = || match args.next() {
            Some(value) if !value.starts_with("--") => Ok(value),
            _ => anyhow::bail!("{arg} needs a value\n{USAGE}"),
        };
        match arg.as_str() {
            "--addr" => addr = Some(value()?.parse::<SocketAddr>().context("--addr")?),
            "--issuer" => issuer = Some(value()?),
            "--audience" => audience = Some(value()?),
            "--alg" => {
                let name = value()?;
                let alg =
                    algorithm::parse(&name).with_context(|| format!("unknown --alg {name}"))?;
                algorithms.push(alg);
            }
            "--revocations" => redis = Some(value()?),
            "--key-prefix" => prefix = value()?,
            other => anyhow::bail!("unknown argument {other:?}\n{USAGE}"),
        }
    }
    let revocations = match redis {
        Some(url) => Some(redis_revocations(&url, &prefix).await?),
        None => None,
    };
    let (issuer, audience) = (issuer.context(USAGE)?, audience.context(USAGE)?);
    let app = app(&issuer, &audience, algorithms, revocations)?;
    let listener = tokio::net::TcpListener::bind(addr.context(USAGE)?).await?;
    println!("jwt_resource_server on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
