//! RFC 7515 Appendix A, read as data from `tests/data/rfc7515_appendix_a.json` (copied
//! from auth-jwt's tests): every example auth-jwt supports (A.1 HS256, A.2 RS256, A.3
//! ES256) verifies through `authctl verify` with `--now` inside its validity, and is
//! rejected once expired or altered; A.4 (ES512) is refused.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failed test.

mod common;

use common::{Dir, alter, data, fails, ok_json};
use serde_json::Value;

#[test]
fn rfc7515_appendix_a_examples() {
    let doc: Value =
        serde_json::from_str(&std::fs::read_to_string(data("rfc7515_appendix_a.json")).unwrap())
            .unwrap();
    let exp = doc["payload_exp"].as_u64().unwrap();
    let inside = (exp - 60).to_string();
    let after = (exp + 31).to_string();
    let dir = Dir::new();
    let mut supported = 0;
    for example in doc["examples"].as_array().unwrap() {
        let name = example["name"].as_str().unwrap();
        let jwk = dir.write(&format!("{}.jwk", &name[..3]), &example["jwk"].to_string());
        let jws = example["jws"].as_str().unwrap();
        if !example["supported"].as_bool().unwrap() {
            let line = fails(&["verify", "--jwks", &jwk, "--now", &inside, jws]);
            assert!(
                line.contains("no usable key") || line.contains("not supported"),
                "{name}: {line}"
            );
            continue;
        }
        supported += 1;
        let out = ok_json(&[
            "verify", "--jwks", &jwk, "--now", &inside, "--iss", "joe", jws,
        ]);
        assert_eq!(out["verified"], true, "{name}");
        assert_eq!(out["claims"]["iss"], "joe", "{name}");
        assert_eq!(out["claims"]["exp"], exp, "{name}");
        assert_eq!(out["claims"]["http://example.com/is_root"], true, "{name}");

        // Expired once past exp and the default 30 s leeway.
        let line = fails(&["verify", "--jwks", &jwk, "--now", &after, jws]);
        assert!(line.contains("expired"), "{name}: {line}");
        // Altered in the header, the payload or the signature.
        let dots: Vec<usize> = jws.match_indices('.').map(|(i, _)| i).collect();
        for index in [dots[0] + 2, dots[1] - 4, dots[1] + 6] {
            let line = fails(&[
                "verify",
                "--jwks",
                &jwk,
                "--now",
                &inside,
                &alter(jws, index),
            ]);
            assert!(line.contains("token rejected"), "{name} at {index}: {line}");
        }
        // The right issuer is required when asked for.
        let line = fails(&[
            "verify", "--jwks", &jwk, "--now", &inside, "--iss", "jane", jws,
        ]);
        assert!(line.contains("iss"), "{name}: {line}");

        // Without its alg the JWK is bound by --alg (the RFC's own JWKs carry none);
        // RSA and oct keys without alg are unusable, EC keys take it from the curve.
        let mut bare = example["jwk"].clone();
        let alg = bare.as_object_mut().unwrap().remove("alg");
        let bare = dir.write(&format!("{}-bare.jwk", &name[..3]), &bare.to_string());
        let alg = alg.as_ref().and_then(Value::as_str).unwrap_or("ES256");
        ok_json(&[
            "verify", "--jwks", &bare, "--alg", alg, "--now", &inside, jws,
        ]);
        if example["jwk"]["kty"] != "EC" {
            let line = fails(&["verify", "--jwks", &bare, "--now", &inside, jws]);
            assert!(line.contains("no usable alg"), "{name}: {line}");
        }
    }
    assert_eq!(supported, 3);
}
