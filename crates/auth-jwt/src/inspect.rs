//! Reading a compact JWS without verifying it, for display and diagnostics: the same
//! strict compact form and base64url as the [`Verifier`](crate::Verifier), no key, no
//! signature check, no claim rule.

use auth_core::{AuthError, Reason};
use serde_json::{Map, Value};

use crate::b64;
use crate::compact::Compact;

/// A compact JWS's header and claims, decoded but NOT verified: anyone can write them.
///
/// For showing a token to a person (a CLI, a log line, a support tool); never decide
/// anything on it. To trust a token, verify it with a [`Verifier`](crate::Verifier).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct UnverifiedJws {
    /// The JOSE header, as the token carries it.
    pub header: Map<String, Value>,
    /// The payload: the claims of a JWT, as the token carries them.
    pub claims: Map<String, Value>,
    /// The signature's length in bytes (not checked).
    pub signature_len: usize,
}

/// Decodes `token` WITHOUT verifying it: no key is consulted and no claim is checked.
///
/// The token is held to the verifier's shape rules: at most `max_len` bytes (checked
/// first; the verifier's default is [`DEFAULT_MAX_TOKEN_LEN`](crate::DEFAULT_MAX_TOKEN_LEN)),
/// exactly three segments of strict base64url (no padding, whitespace or other alphabet),
/// a non-empty header and signature, and a header and payload that are JSON objects.
/// Refusals are [`AuthError::Malformed`] or [`AuthError::Invalid`] with the [`Reason`]
/// the verifier would give for the same fault.
///
/// ```
/// use auth_jwt::{DEFAULT_MAX_TOKEN_LEN, inspect_unverified};
///
/// let token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl";
/// let unverified = inspect_unverified(token, DEFAULT_MAX_TOKEN_LEN)?;
/// assert_eq!(unverified.header["alg"], "HS256");
/// assert_eq!(unverified.claims["sub"], "alice");
/// assert!(inspect_unverified("eyJhbGciOiJIUzI1NiJ9.e30=.c2ln", DEFAULT_MAX_TOKEN_LEN).is_err());
/// # Ok::<(), auth_core::AuthError>(())
/// ```
pub fn inspect_unverified(token: &str, max_len: usize) -> Result<UnverifiedJws, AuthError> {
    let compact = Compact::parse(token, max_len)?;
    if compact.payload.contains('.') {
        return Err(AuthError::Malformed(Reason::NotThreeSegments));
    }
    let header = object(
        compact.header,
        Reason::HeaderNotBase64url,
        Reason::HeaderNotJson,
        Reason::HeaderNotObject,
    )?;
    let claims = object(
        compact.payload,
        Reason::PayloadNotBase64url,
        Reason::ClaimsNotJson,
        Reason::ClaimsNotObject,
    )?;
    let signature = b64::decode(compact.signature.as_bytes())
        .ok_or(AuthError::Malformed(Reason::SignatureNotBase64url))?;
    Ok(UnverifiedJws {
        header,
        claims,
        signature_len: signature.len(),
    })
}

/// Decodes one segment as a JSON object, each fault with its reason.
fn object(
    segment: &str,
    not_base64url: Reason,
    not_json: Reason,
    not_object: Reason,
) -> Result<Map<String, Value>, AuthError> {
    let json = b64::decode(segment.as_bytes()).ok_or(AuthError::Malformed(not_base64url))?;
    match serde_json::from_slice(&json) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(AuthError::Malformed(not_object)),
        Err(_) => Err(AuthError::Malformed(not_json)),
    }
}
