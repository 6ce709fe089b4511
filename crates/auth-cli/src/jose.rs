//! Reading a compact JWS without verifying it: for `inspect`, and for the CLI's messages
//! (which `kid` a token names). Nothing read here decides whether a token is accepted;
//! that is auth-jwt's `Verifier`.

use base64::Engine as _;
use serde_json::Value;

use crate::error::CliError;

/// A compact JWS's header and payload, decoded but NOT verified.
pub(crate) struct Unverified {
    /// The header JSON.
    pub(crate) header: Value,
    /// The payload JSON (the claims of a JWT).
    pub(crate) claims: Value,
    /// The signature's length in bytes.
    pub(crate) signature_len: usize,
}

fn segment(encoded: &str, what: &str) -> Result<Vec<u8>, CliError> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(encoded)
        .map_err(|_| CliError::NotJws(format!("the {what} is not base64url")))
}

fn json(bytes: &[u8], what: &str) -> Result<Value, CliError> {
    serde_json::from_slice(bytes).map_err(|_| CliError::NotJws(format!("the {what} is not JSON")))
}

/// Decodes a compact JWS without checking anything but its shape.
pub(crate) fn decode(token: &str) -> Result<Unverified, CliError> {
    let segments: Vec<&str> = token.split('.').collect();
    let [header, payload, signature] = segments.as_slice() else {
        return Err(CliError::NotJws(match segments.len() {
            5 => "five segments: a JWE (encrypted token), which authctl does not read".to_owned(),
            n => format!("{n} segment(s) instead of three"),
        }));
    };
    Ok(Unverified {
        header: json(&segment(header, "header")?, "header")?,
        claims: json(&segment(payload, "payload")?, "payload")?,
        signature_len: segment(signature, "signature")?.len(),
    })
}

/// The `kid` a token's header names, if it can be read at all (for messages and for
/// binding a single PEM key, never for choosing among keys).
pub(crate) fn kid(token: &str) -> Option<String> {
    let header = token.split('.').next()?;
    let value = json(&segment(header, "header").ok()?, "header").ok()?;
    value.get("kid")?.as_str().map(str::to_owned)
}
