//! Key rotation: the retired key verifies until its retirement ends, then fails; new
//! tokens carry the new kid; the published JWK Set follows.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failed test.

mod common;

use std::sync::Arc;
use std::time::Duration;

use auth_core::memory::{MemoryRefreshTokenStore, MemoryRevocationStore};
use auth_core::{Clock as _, SharedClock};
use auth_jwt::{Algorithm, Issuer, KeySet, SigningKey, Verifier};
use serde_json::{Map, Value, json};

fn kid_of(token: &str) -> String {
    use base64::Engine as _;
    let header = token.split('.').next().unwrap();
    let header = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .unwrap();
    let header: Value = serde_json::from_slice(&header).unwrap();
    header["kid"].as_str().unwrap().to_owned()
}

#[test]
fn retired_keys_verify_until_retirement_then_fail() {
    let (clock, shared) = common::clock();
    let keys = KeySet::with_signing_key(
        shared.clone(),
        "old",
        SigningKey::generate(Algorithm::ES256).unwrap(),
    )
    .unwrap();
    let issuer = Issuer::builder(keys.clone(), shared.clone())
        .issuer("https://issuer.test")
        .access_ttl(Duration::from_secs(3600))
        .build(
            Arc::new(MemoryRefreshTokenStore::new(shared.clone())),
            Arc::new(MemoryRevocationStore::new(shared.clone())),
        )
        .unwrap();
    let verifier = Verifier::builder(keys.clone(), shared.clone())
        .issuer("https://issuer.test")
        .build()
        .unwrap();
    let old_token = issuer.access_token("alice", &json!({})).unwrap().token;
    assert_eq!(kid_of(&old_token), "old");

    keys.rotate(
        "new",
        SigningKey::generate(Algorithm::EdDSA).unwrap(),
        clock.now() + Duration::from_secs(600),
    )
    .unwrap();
    let new_token = issuer.access_token("alice", &json!({})).unwrap().token;
    assert_eq!(kid_of(&new_token), "new");
    assert_eq!(keys.active_kid().as_deref(), Some("new"));

    // Both verify while the old key is in retirement, and both are published.
    assert!(verifier.verify::<Map<String, Value>>(&old_token).is_ok());
    assert!(verifier.verify::<Map<String, Value>>(&new_token).is_ok());
    assert_eq!(keys.jwks().keys.len(), 2);

    clock.advance(Duration::from_secs(599));
    assert!(verifier.verify::<Map<String, Value>>(&old_token).is_ok());
    clock.advance(Duration::from_secs(1));
    let error = verifier
        .verify::<Map<String, Value>>(&old_token)
        .unwrap_err();
    assert_eq!(
        common::reason(&error),
        "invalid: the token's key has been retired"
    );
    assert!(verifier.verify::<Map<String, Value>>(&new_token).is_ok());
    let published: Vec<_> = keys
        .jwks()
        .keys
        .into_iter()
        .map(|k| k.kid.unwrap())
        .collect();
    assert_eq!(published, ["new"]);
    assert_eq!(keys.kids(), ["new"]);
}

#[test]
fn a_removed_key_fails_at_once_and_the_active_key_cannot_be_retired() {
    let (clock, shared) = common::clock();
    let keys = KeySet::with_signing_key(
        shared.clone(),
        "k1",
        SigningKey::generate(Algorithm::HS256).unwrap(),
    )
    .unwrap();
    assert!(!keys.retire("k1", clock.now()));
    assert!(keys.remove("k1"));
    assert!(keys.active_kid().is_none());
    let _: SharedClock = shared;
}

/// The verifier remembers which key a header's `kid` found; any change to the key set
/// must make it look again.
#[test]
fn a_key_replaced_under_the_same_kid_no_longer_verifies_its_old_tokens() {
    let (_clock, shared) = common::clock();
    let signing = SigningKey::generate(Algorithm::HS256).unwrap();
    let keys = KeySet::with_signing_key(shared.clone(), "k1", signing).unwrap();
    let issuer = Issuer::builder(keys.clone(), shared.clone())
        .issuer("https://issuer.test")
        .build(
            Arc::new(MemoryRefreshTokenStore::new(shared.clone())),
            Arc::new(MemoryRevocationStore::new(shared.clone())),
        )
        .unwrap();
    let verifier = Verifier::builder(keys.clone(), shared.clone())
        .issuer("https://issuer.test")
        .build()
        .unwrap();
    let token = issuer.access_token("alice", &json!({})).unwrap().token;
    assert!(verifier.verify::<Map<String, Value>>(&token).is_ok());

    assert!(keys.remove("k1"));
    let error = verifier.verify::<Map<String, Value>>(&token).unwrap_err();
    assert_eq!(
        common::reason(&error),
        "invalid: the token's kid names no known key"
    );

    let other = SigningKey::generate(Algorithm::HS256).unwrap();
    keys.set_active("k1", other).unwrap();
    let error = verifier.verify::<Map<String, Value>>(&token).unwrap_err();
    assert_eq!(
        common::reason(&error),
        "invalid: the token's signature does not verify"
    );
    let fresh = issuer.access_token("alice", &json!({})).unwrap().token;
    assert!(verifier.verify::<Map<String, Value>>(&fresh).is_ok());
    assert!(verifier.verify::<Map<String, Value>>(&token).is_err());
}
