//! `authctl inspect`: a token's header and claims, decoded and clearly NOT verified.

use auth_core::{AuthError, Reason};
use auth_jwt::inspect_unverified;
use serde_json::{Value, json};

use crate::error::CliError;
use crate::input;

/// What `inspect` prints at the top of its output.
pub(crate) const WARNING: &str = "NOT VERIFIED: anyone can write this header and these claims; check a token with `authctl verify`";

/// Runs `inspect`: the labelled JSON document.
pub(crate) fn run(token: &str, max_bytes: usize) -> Result<Value, CliError> {
    let token = input::token(token, max_bytes)?;
    let decoded = inspect_unverified(&token, max_bytes).map_err(|e| not_jws(&token, e))?;
    Ok(json!({
        "verified": false,
        // Upper case sorts first: the warning is the first thing printed.
        "WARNING": WARNING,
        "header": decoded.header,
        "claims": decoded.claims,
        "signature_bytes": decoded.signature_len,
    }))
}

/// Why `token` is not a compact JWS, in the words of a person looking at one.
pub(crate) fn not_jws(token: &str, error: AuthError) -> CliError {
    let (AuthError::Malformed(reason) | AuthError::Invalid(reason)) = error else {
        return CliError::NotJws(error.to_string());
    };
    CliError::NotJws(match reason {
        Reason::NotThreeSegments => match token.split('.').count() {
            5 => "five segments: a JWE (encrypted token), which authctl does not read".to_owned(),
            n => format!("{n} segment(s) instead of three"),
        },
        Reason::HeaderNotBase64url => "the header is not base64url".to_owned(),
        Reason::HeaderNotJson => "the header is not JSON".to_owned(),
        Reason::PayloadNotBase64url => "the payload is not base64url".to_owned(),
        Reason::ClaimsNotJson => "the payload is not JSON".to_owned(),
        Reason::SignatureNotBase64url => "the signature is not base64url".to_owned(),
        other => other.to_string(),
    })
}
