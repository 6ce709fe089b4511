//! The JOSE header the floor signs under when it has no peer token to copy one from.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::Alg;

/// base64url of `{"alg":…,"typ":"JWT","kid":…}`, the header auth-jwt writes.
pub fn header_b64(alg: Alg, kid: &str) -> String {
    let json = serde_json::json!({ "alg": alg.name(), "typ": "JWT", "kid": kid });
    URL_SAFE_NO_PAD.encode(json.to_string())
}

/// The header segment of a compact token (everything before the first dot).
pub fn header_of(token: &str) -> &str {
    token.split('.').next().unwrap_or(token)
}
