//! Another crate installed its own jsonwebtoken provider first (here: one that refuses
//! everything). Installing ours is then refused, and our Issuer and Verifier still work,
//! because they never go through jsonwebtoken's process-wide provider.
//!
//! This file is its own test binary, so its process-wide install does not leak into others.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failed test.

mod common;

use std::sync::Arc;

use auth_core::memory::{MemoryRefreshTokenStore, MemoryRevocationStore};
use auth_jwt::{Algorithm, Issuer, KeySet, SigningKey, Verifier};
use jsonwebtoken::crypto::{CryptoProvider, JwtSigner, JwtVerifier, KeyUtils};
use jsonwebtoken::errors::{ErrorKind, new_error};
use jsonwebtoken::{DecodingKey, EncodingKey};
use serde_json::{Map, Value, json};

fn refuse_signer(
    _: &Algorithm,
    _: &EncodingKey,
) -> jsonwebtoken::errors::Result<Box<dyn JwtSigner>> {
    Err(new_error(ErrorKind::Provider(
        "the other provider refuses".into(),
    )))
}

fn refuse_verifier(
    _: &Algorithm,
    _: &DecodingKey,
) -> jsonwebtoken::errors::Result<Box<dyn JwtVerifier>> {
    Err(new_error(ErrorKind::Provider(
        "the other provider refuses".into(),
    )))
}

static OTHER: CryptoProvider = CryptoProvider {
    signer_factory: refuse_signer,
    verifier_factory: refuse_verifier,
    key_utils: KeyUtils::new_unimplemented(),
};

#[tokio::test]
async fn our_paths_do_not_depend_on_the_installed_provider() {
    OTHER.install_default().unwrap();
    assert!(
        !auth_jwt::provider::install(),
        "ours cannot replace another provider"
    );

    let (_, shared) = common::clock();
    for alg in [
        Algorithm::HS256,
        Algorithm::ES256,
        Algorithm::RS256,
        Algorithm::EdDSA,
    ] {
        let keys = KeySet::with_signing_key(shared.clone(), "k", common::key_for(alg)).unwrap();
        let revocations = Arc::new(MemoryRevocationStore::new(shared.clone()));
        let issuer = Issuer::builder(keys.clone(), shared.clone())
            .issuer("https://issuer.test")
            .build(
                Arc::new(MemoryRefreshTokenStore::new(shared.clone())),
                revocations.clone(),
            )
            .unwrap();
        let verifier = Verifier::builder(keys, shared.clone())
            .issuer("https://issuer.test")
            .revocation_store(revocations)
            .build()
            .unwrap();
        let pair = issuer.login("alice", &json!({})).await.unwrap();
        assert_eq!(
            verifier
                .authenticate(&pair.access_token)
                .await
                .unwrap()
                .subject,
            "alice"
        );
        assert!(
            verifier
                .verify::<Map<String, Value>>(&pair.access_token)
                .is_ok()
        );
        // jsonwebtoken's own API now goes through the other provider, and fails there.
        let direct = jsonwebtoken::crypto::sign(
            b"x.y",
            &EncodingKey::from_secret(&[1; 64]),
            Algorithm::HS256,
        );
        assert!(direct.is_err());
    }
    let _ = SigningKey::generate(Algorithm::ES384).unwrap();
}
