//! The ring provider inside jsonwebtoken, and interoperability both ways: tokens we sign
//! decode through jsonwebtoken's own API, and tokens jsonwebtoken signs verify here.
//! Also: every algorithm signs and verifies round trip through our Issuer and Verifier.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failed test.

mod common;

use std::sync::Arc;

use auth_core::memory::{MemoryRefreshTokenStore, MemoryRevocationStore};
use auth_jwt::{Algorithm, Issuer, KeySet, SigningKey, Verifier, algorithm};
use jsonwebtoken::{DecodingKey, EncodingKey, Header, Validation};
use serde_json::{Map, Value, json};

fn install() {
    // Building any KeySet installs it too; be explicit since tests run in any order.
    assert!(
        auth_jwt::provider::install(),
        "ours must be the process default"
    );
}

#[test]
fn every_algorithm_round_trips_through_issuer_and_verifier() {
    let (_, shared) = common::clock();
    for alg in algorithm::SUPPORTED {
        let keys = KeySet::with_signing_key(shared.clone(), "k", common::key_for(alg)).unwrap();
        let issuer = Issuer::builder(keys.clone(), shared.clone())
            .issuer("https://issuer.test")
            .build(
                Arc::new(MemoryRefreshTokenStore::new(shared.clone())),
                Arc::new(MemoryRevocationStore::new(shared.clone())),
            )
            .unwrap();
        let verifier = Verifier::builder(keys, shared.clone())
            .issuer("https://issuer.test")
            .build()
            .unwrap();
        let token = issuer.access_token("alice", &json!({ "n": 1 })).unwrap();
        let verified = verifier.verify::<Map<String, Value>>(&token.token).unwrap();
        assert_eq!(verified.header.alg, alg);
        assert_eq!(verified.claims["n"], 1);
        assert_eq!(verified.registered.jti.as_deref(), Some(token.jti.as_str()));
    }
}

/// jsonwebtoken keys for the same key material we hold.
fn jsonwebtoken_keys(alg: Algorithm) -> (SigningKey, EncodingKey, DecodingKey) {
    use jsonwebtoken::AlgorithmFamily::*;
    match alg.family() {
        Hmac => {
            let secret = vec![42u8; 64];
            (
                SigningKey::hmac(alg, &secret).unwrap(),
                EncodingKey::from_secret(&secret),
                DecodingKey::from_secret(&secret),
            )
        }
        Rsa => {
            let der = common::data_bytes("rsa2048-private.der");
            let key = SigningKey::from_der(alg, &der).unwrap();
            let jwk = key.verifying_key().to_jwk(None).unwrap();
            (
                key,
                EncodingKey::from_rsa_der(&der),
                DecodingKey::from_rsa_components(
                    jwk.n.as_deref().unwrap(),
                    jwk.e.as_deref().unwrap(),
                )
                .unwrap(),
            )
        }
        Ec | Ed => {
            let pkcs8 = SigningKey::generate_pkcs8(alg).unwrap();
            let key = SigningKey::from_der(alg, &pkcs8).unwrap();
            let jwk = key.verifying_key().to_jwk(None).unwrap();
            let (encoding, decoding) = if alg == Algorithm::EdDSA {
                (
                    EncodingKey::from_ed_der(&pkcs8),
                    DecodingKey::from_ed_components(jwk.x.as_deref().unwrap()).unwrap(),
                )
            } else {
                (
                    EncodingKey::from_ec_der(&pkcs8),
                    DecodingKey::from_ec_components(
                        jwk.x.as_deref().unwrap(),
                        jwk.y.as_deref().unwrap(),
                    )
                    .unwrap(),
                )
            };
            (key, encoding, decoding)
        }
    }
}

#[test]
fn tokens_interoperate_with_jsonwebtoken_both_ways() {
    install();
    let (clock, shared) = common::clock();
    let exp = common::now_secs(&clock) + 600;
    for alg in algorithm::SUPPORTED {
        let (ours, encoding, decoding) = jsonwebtoken_keys(alg);
        let keys = KeySet::with_signing_key(shared.clone(), "k", ours.clone()).unwrap();
        let verifier = Verifier::builder(keys.clone(), shared.clone())
            .build()
            .unwrap();

        // jsonwebtoken signs (through our provider), we verify.
        let mut header = Header::new(alg);
        header.kid = Some("k".into());
        let theirs =
            jsonwebtoken::encode(&header, &json!({ "sub": "bob", "exp": exp }), &encoding).unwrap();
        let verified = verifier.verify::<Map<String, Value>>(&theirs).unwrap();
        assert_eq!(verified.registered.sub.as_deref(), Some("bob"), "{alg:?}");

        // We sign, jsonwebtoken verifies.
        let issuer = Issuer::builder(keys, shared.clone())
            .issuer("https://issuer.test")
            .build(
                Arc::new(MemoryRefreshTokenStore::new(shared.clone())),
                Arc::new(MemoryRevocationStore::new(shared.clone())),
            )
            .unwrap();
        let token = issuer.access_token("carol", &json!({})).unwrap().token;
        let mut validation = Validation::new(alg);
        validation.set_issuer(&["https://issuer.test"]);
        let decoded = jsonwebtoken::decode::<Map<String, Value>>(&token, &decoding, &validation)
            .unwrap_or_else(|e| panic!("{alg:?}: {e:?}"));
        assert_eq!(decoded.claims["sub"], "carol");
        assert_eq!(decoded.header.kid.as_deref(), Some("k"));
    }
}

#[test]
fn the_provider_refuses_keys_of_the_wrong_family() {
    install();
    // jsonwebtoken hands the provider the token's alg and whatever key the caller has:
    // an HS256 token checked with an RSA public key must be refused by the provider.
    let der = common::data_bytes("rsa2048-public.der");
    let jwk = SigningKey::from_der(Algorithm::RS256, &common::data_bytes("rsa2048-private.der"))
        .unwrap()
        .verifying_key()
        .to_jwk(None)
        .unwrap();
    let rsa =
        DecodingKey::from_rsa_components(jwk.n.as_deref().unwrap(), jwk.e.as_deref().unwrap())
            .unwrap();
    let secret = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &der);
    let message = b"eyJhbGciOiJIUzI1NiJ9.e30";
    let tag = common::b64(ring::hmac::sign(&secret, message).as_ref());
    for alg in [Algorithm::HS256, Algorithm::ES256, Algorithm::EdDSA] {
        let result = jsonwebtoken::crypto::verify(&tag, message, &rsa, alg);
        assert!(
            result.is_err(),
            "{alg:?} with an RSA key must be an error, got {result:?}"
        );
    }
    let ec = DecodingKey::from_ec_components(
        "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
        "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
    )
    .unwrap();
    assert!(jsonwebtoken::crypto::verify(&tag, message, &ec, Algorithm::HS256).is_err());
    assert!(jsonwebtoken::crypto::verify(&tag, message, &ec, Algorithm::ES384).is_err());
    // And for signing: an HMAC secret never signs RS256, short secrets never sign at all.
    let hmac = EncodingKey::from_secret(&[1u8; 64]);
    assert!(jsonwebtoken::crypto::sign(message, &hmac, Algorithm::RS256).is_err());
    assert!(
        jsonwebtoken::crypto::sign(
            message,
            &EncodingKey::from_secret(b"short"),
            Algorithm::HS256
        )
        .is_err()
    );
    assert!(jsonwebtoken::crypto::sign(message, &hmac, Algorithm::HS256).is_ok());
}

#[test]
fn jwk_thumbprints_and_components_use_the_provider() {
    install();
    let key =
        SigningKey::from_der(Algorithm::RS256, &common::data_bytes("rsa2048-private.der")).unwrap();
    let ours = key.verifying_key().to_jwk(None).unwrap();
    let encoding = EncodingKey::from_rsa_der(&common::data_bytes("rsa2048-private.der"));
    let theirs = jsonwebtoken::jwk::Jwk::from_encoding_key(&encoding, Algorithm::RS256).unwrap();
    match &theirs.algorithm {
        jsonwebtoken::jwk::AlgorithmParameters::RSA(rsa) => {
            assert_eq!(Some(rsa.n.as_str()), ours.n.as_deref());
            assert_eq!(Some(rsa.e.as_str()), ours.e.as_deref());
        }
        other => panic!("{other:?}"),
    }
    assert!(
        theirs
            .thumbprint(jsonwebtoken::jwk::ThumbprintHash::SHA256)
            .is_ok()
    );
}
