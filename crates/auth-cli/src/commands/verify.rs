//! `authctl verify`: auth-jwt's `Verifier` with its defaults, over the keys of one file,
//! at the real time or at `--now`. Only `exp` is required unless `--require` names more
//! claims (`jti` and `iat` through the verifier's own switches, any other name checked
//! on the verified claims).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use auth_core::{AuthError, ManualClock, Reason, SharedClock, SystemClock};
use auth_jwt::{Algorithm, KeySet, Verifier, inspect_unverified};
use serde_json::{Value, json};

use crate::commands::inspect::not_jws;
use crate::error::CliError;
use crate::input;
use crate::keyfile::{self, Verifying};

/// The options of `verify`.
pub(crate) struct VerifyOptions<'a> {
    /// `--jwks`.
    pub(crate) jwks: &'a Path,
    /// `--alg`.
    pub(crate) alg: Option<Algorithm>,
    /// `--iss`.
    pub(crate) iss: Option<String>,
    /// `--aud` (any of them).
    pub(crate) aud: Vec<String>,
    /// `--typ`.
    pub(crate) typ: Option<String>,
    /// `--require`.
    pub(crate) require: Vec<String>,
    /// `--leeway`.
    pub(crate) leeway: Option<Duration>,
    /// `--max-bytes`.
    pub(crate) max_bytes: usize,
    /// `--now`, in seconds since 1970.
    pub(crate) now: Option<u64>,
    /// The token, or `-`.
    pub(crate) token: &'a str,
}

/// The key `kid` a single kid-less key (a PEM file) is registered under when the token
/// names none.
const SINGLE_KID: &str = "pem";

/// Runs `verify`: the verified header and claims.
pub(crate) fn run(options: VerifyOptions<'_>) -> Result<Value, CliError> {
    let clock: SharedClock = match options.now {
        Some(seconds) => {
            let now = UNIX_EPOCH
                .checked_add(Duration::from_secs(seconds))
                .ok_or_else(|| CliError::Invalid("--now is out of range".to_owned()))?;
            Arc::new(ManualClock::new(now))
        }
        None => SystemClock::shared(),
    };
    let loaded = keyfile::load(options.jwks)?;
    let name = loaded.name.clone();
    let token = input::token(options.token, options.max_bytes)?;
    // The kid the token names, read before verifying: for messages, and for binding a
    // single PEM key, never for choosing among keys.
    let token_kid = inspect_unverified(&token, options.max_bytes)
        .ok()
        .and_then(|unverified| Some(unverified.header.get("kid")?.as_str()?.to_owned()));

    let (keys, skipped) = match keyfile::verifying(loaded, options.alg)? {
        Verifying::Set(set) => {
            let (keys, skipped) =
                KeySet::from_jwk_set(&set, clock.clone()).map_err(CliError::key(name.clone()))?;
            if keys.kids().is_empty() {
                let reason = skipped.first().map_or_else(
                    || "the file holds no key".to_owned(),
                    |s| s.error.to_string(),
                );
                return Err(CliError::key_file(
                    &name,
                    format!("no usable key: {reason}"),
                ));
            }
            if options.alg.is_some()
                && let Some(first) = skipped.first()
            {
                // Every key was bound to --alg: one that cannot serve it is an error.
                let what = match &first.kid {
                    Some(kid) => format!("{name}: key {kid:?}"),
                    None => name.clone(),
                };
                return Err(CliError::key(what)(first.error.clone()));
            }
            (keys, skipped)
        }
        Verifying::Single(key) => {
            // A PEM key has no kid: it is the only key, whichever kid the token names
            // (a kid auth-jwt would refuse to hold simply stays unknown).
            let keys = KeySet::new(clock.clone());
            let under_token_kid = match &token_kid {
                Some(kid) => keys.insert_verifying_key(kid.clone(), key.clone()).is_ok(),
                None => false,
            };
            if !under_token_kid {
                keys.insert_verifying_key(SINGLE_KID, key)
                    .map_err(CliError::key(name.clone()))?;
            }
            (keys, Vec::new())
        }
    };

    let mut builder = Verifier::builder(keys, clock).max_token_len(options.max_bytes);
    if let Some(iss) = options.iss {
        builder = builder.issuer(iss);
    }
    for aud in options.aud {
        builder = builder.audience(aud);
    }
    if let Some(typ) = options.typ {
        builder = builder.typ(typ);
    }
    if let Some(leeway) = options.leeway {
        builder = builder.leeway(leeway);
    }
    for claim in &options.require {
        match claim.as_str() {
            "jti" => builder = builder.require_jti(),
            "iat" => builder = builder.require_iat(),
            _ => {}
        }
    }
    let verifier = builder.build().map_err(CliError::Config)?;

    match verifier.verify::<serde::de::IgnoredAny>(&token) {
        Ok(_) => {}
        Err(AuthError::Invalid(Reason::UnknownKid)) => {
            let left_out = skipped
                .iter()
                .find(|s| s.kid.is_some() && s.kid == token_kid);
            return Err(match (left_out, &token_kid) {
                (Some(s), Some(kid)) => CliError::RejectedBecause(format!(
                    "the token's kid {kid:?} names a key of {name} that cannot verify: {}",
                    s.error
                )),
                (None, Some(kid)) => CliError::RejectedBecause(format!(
                    "unknown kid: {kid:?} is not a key of {name}"
                )),
                _ => CliError::Rejected(AuthError::Invalid(Reason::UnknownKid)),
            });
        }
        Err(AuthError::Expired) => {
            return Err(CliError::RejectedBecause(
                "expired: exp is in the past, beyond the leeway".to_owned(),
            ));
        }
        Err(error) => return Err(CliError::Rejected(error)),
    }
    // The verifier has checked the signature over exactly these bytes, so the header and
    // the whole claims set can be shown as the token carries them (auth-jwt hands back the
    // registered claims typed and apart from the rest).
    let decoded = inspect_unverified(&token, options.max_bytes).map_err(|e| not_jws(&token, e))?;
    let claims = decoded.claims;
    for claim in &options.require {
        if !claims.contains_key(claim.as_str()) {
            return Err(CliError::RejectedBecause(format!(
                "the token has no `{claim}` claim (--require {claim})"
            )));
        }
    }
    Ok(json!({
        "verified": true,
        "header": decoded.header,
        "claims": claims,
    }))
}
