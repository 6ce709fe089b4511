//! Hostile headers and NumericDates, read as data from
//! `tests/data/hostile_times_and_headers.json`: each case gets the verifier's exact answer,
//! and neither authentication nor revocation may panic on it.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failed test.

mod common;

use std::sync::Arc;

use auth_core::memory::{MemoryRefreshTokenStore, MemoryRevocationStore};
use auth_core::{AuthError, Reason};
use auth_jwt::{Algorithm, Issuer, KeySet, SigningKey, Verifier};
use common::*;
use serde_json::Value;

#[tokio::test]
async fn hostile_headers_and_times_get_their_exact_answer_and_never_a_panic() {
    let (clock, shared) = clock();
    let key = SigningKey::generate(Algorithm::HS256).unwrap();
    let keys = KeySet::with_signing_key(shared.clone(), "k1", key.clone()).unwrap();
    let revocations = Arc::new(MemoryRevocationStore::new(shared.clone()));
    let verifier = Verifier::builder(keys.clone(), shared.clone())
        .issuer("https://issuer.test")
        .audience("api")
        .revocation_store(revocations.clone())
        .build()
        .unwrap();
    let issuer = Issuer::builder(keys, shared.clone())
        .issuer("https://issuer.test")
        .audience("api")
        .build(Arc::new(MemoryRefreshTokenStore::new(shared)), revocations)
        .unwrap();
    let vectors: Value = serde_json::from_str(&data("hostile_times_and_headers.json")).unwrap();
    let now = now_secs(&clock).to_string();
    let cases = vectors["cases"].as_array().unwrap();
    assert!(cases.len() >= 10);
    for (i, case) in cases.iter().enumerate() {
        let name = case["name"].as_str().unwrap();
        let header = match case.get("header") {
            Some(header) => header.to_string(),
            None => header(&key, "k1"),
        };
        let claims = match case.get("claims") {
            Some(claims) => claims.as_str().unwrap().replace("$NOW", &now),
            None => common::claims(&clock),
        }
        // A jti of its own, so revoking one case never decides another.
        .replace("\"jti\":\"j1\"", &format!("\"jti\":\"case-{i}\""));
        let token = forge_with(&key, &header, &claims);
        let expected = case["expect"].as_str().unwrap();
        let verified = verifier.verify::<serde::de::IgnoredAny>(&token);
        let answer = match &verified {
            Ok(_) => "ok".to_owned(),
            Err(error) => reason(error),
        };
        assert_eq!(answer, expected, "{name}");
        let authenticated = verifier.authenticate(&token).await;
        assert_eq!(
            authenticated.is_ok(),
            expected == "ok",
            "{name}: authenticate agrees"
        );
        if let Ok(identity) = authenticated
            && !claims.contains("\"iat\"")
        {
            assert_eq!(identity.authenticated_at, None, "{name}: no iat, no time");
        }
        // Revoking goes through the same parse and then adds a leeway to `exp`.
        let revoked = issuer.revoke(&token).await;
        assert_eq!(revoked.is_ok(), expected == "ok", "{name}: revoke agrees");
        if expected == "ok" {
            assert!(
                verifier.authenticate(&token).await.is_err(),
                "{name}: revoked"
            );
        }
    }
}

/// A signed token whose `iss`, `jti` or `sub` no revocation store accepts is refused as
/// invalid (401), not answered as a store failure (500), and never accepted unchecked.
#[tokio::test]
async fn ids_beyond_the_revocation_store_are_refused_as_unrevocable() {
    let (clock, shared) = clock();
    let key = SigningKey::generate(Algorithm::HS256).unwrap();
    let keys = KeySet::with_signing_key(shared.clone(), "k1", key.clone()).unwrap();
    let verifier = Verifier::builder(keys, shared.clone())
        .issuer("https://issuer.test")
        .audience("api")
        .revocation_store(Arc::new(MemoryRevocationStore::new(shared)))
        .build()
        .unwrap();
    let long = "x".repeat(auth_core::store::MAX_TOKEN_ID_LEN + 1);
    let valid = common::claims(&clock);
    let cases = [
        (
            "long sub",
            valid.replace("\"sub\":\"alice\"", &format!("\"sub\":\"{long}\"")),
        ),
        (
            "NUL in sub",
            valid.replace("\"sub\":\"alice\"", "\"sub\":\"al\\u0000ice\""),
        ),
        (
            "long jti",
            valid.replace("\"jti\":\"j1\"", &format!("\"jti\":\"{long}\"")),
        ),
    ];
    for (name, claims) in cases {
        assert_ne!(claims, valid, "{name}: the case changed the claims");
        let token = forge_with(&key, &header(&key, "k1"), &claims);
        // The signature and every claim rule pass: only the revocation check refuses.
        assert!(
            verifier.verify::<serde::de::IgnoredAny>(&token).is_ok(),
            "{name}"
        );
        let refused = verifier.authenticate(&token).await.unwrap_err();
        assert!(
            matches!(refused, AuthError::Invalid(Reason::Unrevocable)),
            "{name}: {refused:?}"
        );
    }
    let fine = forge_with(&key, &header(&key, "k1"), &valid);
    assert!(verifier.authenticate(&fine).await.is_ok());
}
