//! `authctl sign`: a compact JWS over the given claims, with `iat`, `exp` and `jti`
//! filled unless given. auth-jwt's `Issuer` mints only its own token shape (it owns
//! `iss`, `sub`, `exp`, ... and refuses them as custom claims), so the CLI assembles the
//! JWS itself and signs the signing input with auth-jwt's `SigningKey`.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use auth_jwt::{Algorithm, DEFAULT_ACCESS_TTL, DEFAULT_MAX_TOKEN_LEN, algorithm};
use base64::Engine as _;
use ring::rand::{SecureRandom, SystemRandom};
use serde_json::{Map, Value};

use crate::error::CliError;
use crate::{input, keyfile};

/// The options of `sign`.
pub(crate) struct SignOptions<'a> {
    /// The key file.
    pub(crate) key: &'a Path,
    /// `--alg`, for a key that names none.
    pub(crate) alg: Option<Algorithm>,
    /// The claims, inline or `@file`.
    pub(crate) claims: &'a str,
    /// `--ttl`.
    pub(crate) ttl: Option<Duration>,
    /// `--iss`.
    pub(crate) iss: Option<String>,
    /// `--aud`.
    pub(crate) aud: Option<String>,
    /// `--sub`.
    pub(crate) sub: Option<String>,
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn set_once(
    claims: &mut Map<String, Value>,
    name: &str,
    value: Option<String>,
) -> Result<(), CliError> {
    let Some(value) = value else { return Ok(()) };
    if claims.contains_key(name) {
        return Err(CliError::Invalid(format!(
            "--{name} conflicts with the `{name}` in the claims"
        )));
    }
    claims.insert(name.to_owned(), Value::String(value));
    Ok(())
}

/// Refuses claim values that auth-jwt's verifier would refuse as mistyped, so a token
/// that cannot verify is never minted.
fn check_types(claims: &Map<String, Value>) -> Result<(), CliError> {
    for name in ["exp", "nbf", "iat"] {
        if let Some(value) = claims.get(name)
            && !value.as_f64().is_some_and(|v| v >= 0.0)
        {
            return Err(CliError::Invalid(format!(
                "the claim `{name}` must be a non-negative number of seconds since 1970"
            )));
        }
    }
    for name in ["iss", "sub", "jti"] {
        if let Some(value) = claims.get(name)
            && !value.is_string()
        {
            return Err(CliError::Invalid(format!(
                "the claim `{name}` must be a string"
            )));
        }
    }
    if let Some(aud) = claims.get("aud") {
        let ok = match aud {
            Value::String(_) => true,
            Value::Array(items) => items.iter().all(Value::is_string),
            _ => false,
        };
        if !ok {
            return Err(CliError::Invalid(
                "the claim `aud` must be a string or an array of strings".to_owned(),
            ));
        }
    }
    Ok(())
}

/// Runs `sign`: returns the compact JWS.
pub(crate) fn run(options: SignOptions<'_>) -> Result<String, CliError> {
    let signer = keyfile::signer(keyfile::load(options.key)?, options.alg)?;
    let (what, text) = input::inline_or_file(options.claims)?;
    let value: Value = serde_json::from_str(&text).map_err(|source| CliError::Json {
        what: what.clone(),
        source,
    })?;
    let Value::Object(mut claims) = value else {
        return Err(CliError::Invalid(format!("{what} must be a JSON object")));
    };
    set_once(&mut claims, "iss", options.iss)?;
    set_once(&mut claims, "sub", options.sub)?;
    set_once(&mut claims, "aud", options.aud)?;
    check_types(&claims)?;

    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    claims.entry("iat").or_insert_with(|| Value::from(now));
    match (claims.contains_key("exp"), options.ttl) {
        (true, Some(_)) => {
            return Err(CliError::Invalid(
                "--ttl conflicts with the `exp` in the claims".to_owned(),
            ));
        }
        (true, None) => {}
        (false, ttl) => {
            let ttl = ttl.unwrap_or(DEFAULT_ACCESS_TTL);
            if ttl.is_zero() {
                return Err(CliError::Invalid("--ttl must be at least 1s".to_owned()));
            }
            claims.insert(
                "exp".to_owned(),
                Value::from(now.saturating_add(ttl.as_secs())),
            );
        }
    }
    if !claims.contains_key("jti") {
        let mut bytes = [0u8; 16];
        SystemRandom::new()
            .fill(&mut bytes)
            .map_err(|_| CliError::Random)?;
        claims.insert("jti".to_owned(), Value::String(b64(&bytes)));
    }

    let mut header = Map::new();
    header.insert(
        "alg".to_owned(),
        Value::from(algorithm::name(signer.key.algorithm())),
    );
    header.insert("typ".to_owned(), Value::from("JWT"));
    if let Some(kid) = signer.kid {
        header.insert("kid".to_owned(), Value::String(kid));
    }
    let mut token = b64(Value::Object(header).to_string().as_bytes());
    token.push('.');
    token.push_str(&b64(Value::Object(claims).to_string().as_bytes()));
    let signature = signer
        .key
        .sign(token.as_bytes())
        .map_err(CliError::key("signing"))?;
    token.push('.');
    token.push_str(&b64(&signature));
    if token.len() > DEFAULT_MAX_TOKEN_LEN {
        return Err(CliError::Invalid(format!(
            "the token would be {} bytes, over the {DEFAULT_MAX_TOKEN_LEN}-byte limit auth-jwt's verifiers apply by default",
            token.len()
        )));
    }
    Ok(token)
}
