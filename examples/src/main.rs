//! `cargo run -p authkit-examples --bin demo -- [--addr 127.0.0.1:3000] [--store memory] [--jwt-alg es256] [--secure-cookies]`
#![allow(clippy::print_stdout)] // A server's start-up banner is its interface.

use std::net::SocketAddr;

use anyhow::{Context, bail};
use authkit_examples::demo::{DemoConfig, JwtAlg, StoreChoice, serve};

const USAGE: &str = "usage: demo [--addr HOST:PORT] [--store memory|redis://...|postgres://...|mysql://...|sqlite://...] \
                     [--key-prefix PREFIX] [--jwt-alg es256|hs256|eddsa] [--issuer URL] [--secure-cookies]\n\
                     \n  --jwt-alg  algorithm of the access-token key, generated at every start \
                     (default es256; an hs256 secret is not published in the JWKS)\n  \
                     --issuer   the tokens' iss and the base of /.well-known/openid-configuration \
                     (default http://<bound address>)";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut addr: SocketAddr = "127.0.0.1:3000".parse()?;
    let mut config = DemoConfig::default();
    let mut prefix = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--addr" => addr = args.next().context(USAGE)?.parse().context("--addr")?,
            "--store" => config.store = args.next().context(USAGE)?.parse::<StoreChoice>()?,
            "--key-prefix" => prefix = Some(args.next().context(USAGE)?),
            "--jwt-alg" => config.jwt_alg = args.next().context(USAGE)?.parse::<JwtAlg>()?,
            "--issuer" => config.issuer = Some(args.next().context(USAGE)?),
            "--secure-cookies" => config.secure_cookies = true,
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
    let secure = config.secure_cookies;
    let alg = config.jwt_alg;
    serve(
        addr,
        config,
        |bound| {
            println!("authkit demo on http://{bound}/");
            println!("  browser: http://{bound}/login  (alice / wonderland, bob / builder)");
            println!(
                "  API:     POST http://{bound}/api/token, GET /api/me, GET /.well-known/jwks.json \
                 ({alg} tokens)"
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
