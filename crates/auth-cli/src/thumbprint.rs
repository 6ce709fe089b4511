//! RFC 7638 JWK thumbprints: the default `kid` of a key that has none (a PEM file, or a
//! key generated without `--kid`), so `sign` and `jwks` name the same key the same way.

use auth_jwt::Jwk;
use base64::Engine as _;
use serde_json::Value;

/// The SHA-256 thumbprint of a key's public (or, for `oct`, secret) required members,
/// base64url; `None` when a required member is missing or the `kty` is unknown.
pub(crate) fn of(jwk: &Jwk) -> Option<String> {
    // Required members in lexicographic order (RFC 7638 §3.2).
    let members: Vec<(&str, &Option<String>)> = match jwk.kty.as_str() {
        "RSA" => vec![("e", &jwk.e), ("n", &jwk.n)],
        "EC" => vec![("crv", &jwk.crv), ("x", &jwk.x), ("y", &jwk.y)],
        "OKP" => vec![("crv", &jwk.crv), ("x", &jwk.x)],
        "oct" => vec![("k", &jwk.k)],
        _ => return None,
    };
    let kty = ("kty", &Some(jwk.kty.clone()));
    let mut all: Vec<(&str, &Option<String>)> = members;
    all.push(kty);
    all.sort_by_key(|(name, _)| *name);
    let mut json = String::from("{");
    for (i, (name, value)) in all.iter().enumerate() {
        let value = value.as_ref()?;
        if i > 0 {
            json.push(',');
        }
        json.push_str(&Value::from(*name).to_string());
        json.push(':');
        json.push_str(&Value::from(value.as_str()).to_string());
    }
    json.push('}');
    let digest = ring::digest::digest(&ring::digest::SHA256, json.as_bytes());
    Some(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest.as_ref()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7638_section_3_1_example() {
        let jwk: Jwk = serde_json::from_str(
            r#"{"kty":"RSA","e":"AQAB","alg":"RS256","kid":"2011-04-29","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"}"#,
        )
        .unwrap_or_default();
        assert_eq!(
            of(&jwk).as_deref(),
            Some("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs")
        );
    }

    #[test]
    fn missing_members_give_none() {
        let mut jwk = Jwk::default();
        jwk.kty = "EC".to_owned();
        assert_eq!(of(&jwk), None);
    }
}
