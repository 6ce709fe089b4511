//! `cargo run -p authkit-examples --bin demo -- [--addr 127.0.0.1:3000] [--store memory] [--jwt-alg es256 | --keys FILE] [--secure-cookies]`
#![allow(clippy::print_stdout)] // A server's start-up banner is its interface.

use std::net::SocketAddr;

use anyhow::{Context, bail};
use authkit_examples::demo::{DemoConfig, JwtAlg, KeyFile, StoreChoice, serve};

const USAGE: &str = "usage: demo [--addr HOST:PORT] [--store memory|redis://...|postgres://...|mysql://...|sqlite://...] \
                     [--key-prefix PREFIX] [--jwt-alg es256|hs256|eddsa | --keys FILE] [--issuer URL] [--local-cache] \
                     [--secure-cookies]\n\
                     \n  --jwt-alg  algorithm of the access-token key, generated at every start \
                     (default es256; an hs256 secret is not published in the JWKS)\n  \
                     --keys     a JWK Set of private JWKs (`authctl keygen`, `authctl keys`): the first \
                     key signs, every key verifies; SIGHUP re-reads it\n  \
                     --issuer   the tokens' iss and the base of /.well-known/openid-configuration \
                     (default http://<bound address>)\n  \
                     --local-cache  with a Redis store (redis:// or redis+cluster://h:p,h:p): serve \
                     session loads and revocation checks from memory that Redis keeps exact";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    authkit_examples::demo::logging::init();
    let mut addr: SocketAddr = "127.0.0.1:3000".parse()?;
    let mut config = DemoConfig::default();
    let mut prefix = None;
    let mut jwt_alg_given = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--addr" => addr = args.next().context(USAGE)?.parse().context("--addr")?,
            "--store" => config.store = args.next().context(USAGE)?.parse::<StoreChoice>()?,
            "--key-prefix" => prefix = Some(args.next().context(USAGE)?),
            "--jwt-alg" => {
                config.jwt_alg = args.next().context(USAGE)?.parse::<JwtAlg>()?;
                jwt_alg_given = true;
            }
            "--keys" => config.keys = Some(KeyFile::new(args.next().context(USAGE)?)),
            "--issuer" => config.issuer = Some(args.next().context(USAGE)?),
            "--secure-cookies" => config.secure_cookies = true,
            "--local-cache" => config.local_cache = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => bail!("unknown argument {other:?}\n{USAGE}"),
        }
    }
    if let Some(prefix) = prefix {
        config.store = config.store.with_prefix(&prefix);
    }
    if jwt_alg_given && config.keys.is_some() {
        bail!(
            "--jwt-alg picks the algorithm of a generated key; with --keys the file's keys decide"
        );
    }
    if let Some(file) = &config.keys {
        reload_on_hangup(file.clone())?;
    }
    let secure = config.secure_cookies;
    let tokens = match &config.keys {
        Some(file) => format!(
            "keys from {}; `kill -HUP {}` re-reads it",
            file.path().display(),
            std::process::id()
        ),
        None => format!("{} tokens", config.jwt_alg),
    };
    serve(
        addr,
        config,
        |bound| {
            println!("authkit demo on http://{bound}/");
            println!("  browser: http://{bound}/login  (alice / wonderland, bob / builder)");
            println!(
                "  API:     POST http://{bound}/api/token, GET /api/me, GET /.well-known/jwks.json \
                 ({tokens})"
            );
            if !secure {
                println!(
                    "  cookies: development mode (no Secure, no __Host- prefix) for plain http; \
                     use --secure-cookies behind TLS"
                );
            }
        },
        async {
            let _ = tokio::signal::ctrl_c().await;
        },
    )
    .await
}

/// Re-reads the key file on every SIGHUP and swaps the demo's keys, whole, without a
/// restart: connections stay open and requests in flight finish with the keys they
/// started with. A file that cannot be used is reported and the current keys are kept.
#[cfg(unix)]
fn reload_on_hangup(file: KeyFile) -> anyhow::Result<()> {
    use auth_jwt::KeyRole;
    use tokio::signal::unix::{SignalKind, signal};

    // Listening before the server starts: from now on SIGHUP no longer ends the process.
    let mut hangups = signal(SignalKind::hangup()).context("listening for SIGHUP")?;
    tokio::spawn(async move {
        while hangups.recv().await.is_some() {
            let path = file.path().display().to_string();
            let reload = file.clone();
            // Reading the file and parsing keys is blocking work.
            match tokio::task::spawn_blocking(move || reload.reload()).await {
                Ok(Ok(keys)) => {
                    let keys: Vec<String> = keys
                        .iter()
                        .map(|key| {
                            let role = match key.role {
                                KeyRole::Signing => "signs",
                                _ => "verifies",
                            };
                            let alg = auth_jwt::algorithm::name(key.algorithm);
                            format!("{} ({alg}, {role})", key.kid)
                        })
                        .collect();
                    tracing::info!(event = "keys.reloaded", file = %path, keys = %keys.join(", "));
                }
                Ok(Err(error)) => {
                    let error = anyhow::Error::new(error);
                    tracing::warn!(
                        event = "keys.reload_refused",
                        file = %path,
                        error = %format!("{error:#}"),
                        "keeping the current keys"
                    );
                }
                Err(error) => {
                    tracing::warn!(
                        event = "keys.reload_refused",
                        file = %path,
                        error = %error,
                        "keeping the current keys"
                    );
                }
            }
        }
    });
    Ok(())
}

/// Without Unix signals, the key file is read at start only.
#[cfg(not(unix))]
fn reload_on_hangup(_file: KeyFile) -> anyhow::Result<()> {
    Ok(())
}
