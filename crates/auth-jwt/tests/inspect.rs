//! `inspect_unverified`: the JWTs of RFC 7515 Appendix A (read as data from
//! `tests/data/rfc7515_appendix_a.json`) decode without any key; A.4, whose payload is the
//! text `Payload` and no claims set, is refused as such; every token that breaks the
//! verifier's compact-form rules is refused with the verifier's reason.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failed test.

mod common;

use auth_core::{AuthError, Reason};
use auth_jwt::{DEFAULT_MAX_TOKEN_LEN, inspect_unverified};
use serde_json::Value;

const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn reason(token: &str) -> Reason {
    reason_within(token, DEFAULT_MAX_TOKEN_LEN)
}

fn reason_within(token: &str, max_len: usize) -> Reason {
    match inspect_unverified(token, max_len) {
        Err(AuthError::Malformed(reason) | AuthError::Invalid(reason)) => reason,
        other => panic!("{token}: {other:?}"),
    }
}

#[test]
fn rfc7515_appendix_a_tokens_decode() {
    let data: Value = serde_json::from_str(&common::data("rfc7515_appendix_a.json")).unwrap();
    let exp = data["payload_exp"].as_u64().unwrap();
    let examples = data["examples"].as_array().unwrap();
    let mut seen = Vec::new();
    for (example, signature_len) in examples.iter().zip([32, 256, 64, 132]) {
        let name = example["name"].as_str().unwrap();
        let jws = example["jws"].as_str().unwrap();
        if name.starts_with("A.4") {
            assert_eq!(reason(jws), Reason::ClaimsNotJson);
            continue;
        }
        let unverified = inspect_unverified(jws, DEFAULT_MAX_TOKEN_LEN)
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        // The name ends with the algorithm: "A.1 HS256".
        assert_eq!(
            unverified.header["alg"].as_str(),
            name.split(' ').nth(1),
            "{name}"
        );
        assert_eq!(unverified.claims["iss"], "joe", "{name}");
        assert_eq!(unverified.claims["exp"], exp, "{name}");
        assert_eq!(
            unverified.claims["http://example.com/is_root"], true,
            "{name}"
        );
        assert_eq!(unverified.signature_len, signature_len, "{name}");
        seen.push(name);
    }
    assert_eq!(seen, ["A.1 HS256", "A.2 RS256", "A.3 ES256"]);
}

#[test]
fn tokens_off_the_strict_compact_form_are_refused() {
    let data: Value = serde_json::from_str(&common::data("rfc7515_appendix_a.json")).unwrap();
    let jws = data["examples"][0]["jws"].as_str().unwrap();
    let [header, payload, signature]: [&str; 3] =
        jws.split('.').collect::<Vec<_>>().try_into().unwrap();
    let b64 = |json: &str| common::b64(json);
    // The HS256 signature is 43 characters: its last one carries two unused bits, which
    // must be zero.
    let last = signature.as_bytes()[signature.len() - 1];
    let index = ALPHABET.iter().position(|&c| c == last).unwrap();
    let stray_bits = format!(
        "{}{}",
        &signature[..signature.len() - 1],
        char::from(ALPHABET[index ^ 1])
    );

    for (token, expected) in [
        (String::new(), Reason::Empty),
        (format!("{header}.{payload}"), Reason::NotThreeSegments),
        (format!("{jws}.{signature}"), Reason::NotThreeSegments),
        (
            format!("{header}.{payload}.{signature}."),
            Reason::NotThreeSegments,
        ),
        (format!("{header}.{payload}."), Reason::Unsigned),
        (format!(".{payload}.{signature}"), Reason::EmptyHeader),
        (
            format!("{header}=.{payload}.{signature}"),
            Reason::HeaderNotBase64url,
        ),
        (
            format!("{header}.{payload}==.{signature}"),
            Reason::PayloadNotBase64url,
        ),
        (
            format!("{header}.{payload}.{signature}="),
            Reason::SignatureNotBase64url,
        ),
        (
            format!("{header}.{payload}.{stray_bits}"),
            Reason::SignatureNotBase64url,
        ),
        (
            format!("{header}.{} {}.{signature}", &payload[..8], &payload[8..]),
            Reason::PayloadNotBase64url,
        ),
        (
            format!("{header}.{}/.{signature}", &payload[1..]),
            Reason::PayloadNotBase64url,
        ),
        (
            format!("{header}.{payload}.{}+", &signature[1..]),
            Reason::SignatureNotBase64url,
        ),
        (
            format!("{}.{payload}.{signature}", b64("[1]")),
            Reason::HeaderNotObject,
        ),
        (
            format!("{}.{payload}.{signature}", b64("{\"a\"")),
            Reason::HeaderNotJson,
        ),
        (
            format!("{header}.{}.{signature}", b64("\"claims\"")),
            Reason::ClaimsNotObject,
        ),
        (
            format!("{header}.{}.{signature}", b64("not json")),
            Reason::ClaimsNotJson,
        ),
        (format!("{header}..{signature}"), Reason::ClaimsNotJson),
    ] {
        assert_eq!(reason(&token), expected, "{token}");
    }
    // The size limit comes first, and is the caller's (the verifier's default or its own).
    assert!(inspect_unverified(jws, jws.len()).is_ok());
    assert_eq!(reason_within(jws, jws.len() - 1), Reason::TooLong);
}
