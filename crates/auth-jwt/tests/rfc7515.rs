//! RFC 7515 Appendix A, read as data from `tests/data/rfc7515_appendix_a.json`: the
//! examples we support (A.1 HS256, A.2 RS256, A.3 ES256) verify with the clock inside
//! their validity and expire after it; A.4 (ES512) is refused.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failed test.

mod common;

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use auth_core::{AuthError, ManualClock, SharedClock};
use auth_jwt::{Jwk, JwkSet, KeySet, Verifier};
use serde_json::{Map, Value};

#[test]
fn rfc7515_appendix_a_examples() {
    let data: Value = serde_json::from_str(&common::data("rfc7515_appendix_a.json")).unwrap();
    let exp = data["payload_exp"].as_u64().unwrap();
    let examples = data["examples"].as_array().unwrap();
    assert_eq!(examples.len(), 4);
    for example in examples {
        let name = example["name"].as_str().unwrap();
        let clock = Arc::new(ManualClock::new(UNIX_EPOCH + Duration::from_secs(exp - 60)));
        let shared: SharedClock = clock.clone();
        let jwk: Jwk = serde_json::from_value(example["jwk"].clone()).unwrap();
        let (keys, skipped) =
            KeySet::from_jwk_set(&JwkSet { keys: vec![jwk] }, shared.clone()).unwrap();
        let verifier = Verifier::builder(keys, shared)
            .issuer("joe")
            .build()
            .unwrap();
        let jws = example["jws"].as_str().unwrap();
        if example["supported"].as_bool().unwrap() {
            assert!(skipped.is_empty(), "{name}: {skipped:?}");
            let verified = verifier
                .verify::<Map<String, Value>>(jws)
                .unwrap_or_else(|e| panic!("{name}: {e:?}"));
            assert_eq!(
                verified.claims["http://example.com/is_root"],
                Value::Bool(true),
                "{name}"
            );
            assert_eq!(verified.registered.iss.as_deref(), Some("joe"));
            assert!(
                !verified.claims.contains_key("iss"),
                "registered claims stay out of C"
            );
            // Past exp and the 30 s leeway, the same token has expired.
            clock.advance(Duration::from_secs(60 + 30));
            assert!(
                matches!(
                    verifier.verify::<Map<String, Value>>(jws),
                    Err(AuthError::Expired)
                ),
                "{name}"
            );
        } else {
            // The P-521 key cannot even enter the set, and the token's alg is refused first.
            assert_eq!(skipped.len(), 1, "{name}");
            let error = verifier.verify_signature(jws).unwrap_err();
            assert_eq!(
                common::reason(&error),
                "invalid: the token's alg is not supported",
                "{name}"
            );
        }
    }
}
