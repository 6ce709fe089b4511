//! JWK and JWK Set documents: `JwkSet::parse`, `KeySet::from_jwks` / `from_jwk_set`,
//! `Jwk::algorithm`, `to_verifying_key`, `to_signing_key`, `VerifyingKey::to_jwk`.
//!
//! Properties: no document panics; the document model round trips through JSON; a key
//! loaded from a JWK exports a JWK that loads back to the same export; a private JWK's
//! signing key verifies its own signatures and its public half is the JWK's; a key set
//! built from a fuzzed document accepts one of our genuine tokens only if it holds that
//! token's exact key material (no family or `kid` confusion lets another key stand in).
#![no_main]

use auth_jwt::{Jwk, JwkSet, KeySet, Verifier};
use authkit_fuzz::{HMAC_SECRET, KIDS, fixture};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(jwk) = serde_json::from_str::<Jwk>(&text) {
        check_jwk(&jwk);
    }
    let Ok(set) = JwkSet::parse(&text) else {
        assert!(KeySet::from_jwks(&text, fixture().clock.clone()).is_err());
        return;
    };
    check_document_round_trip(&set);
    for jwk in &set.keys {
        check_jwk(jwk);
    }
    check_key_set(&text, &set);
});

/// `to_json` then `parse` gives the same set. `oth` holds arbitrary JSON, whose floats
/// serde_json does not promise to round trip bit for bit, so it is compared by presence.
fn check_document_round_trip(set: &JwkSet) {
    let back = JwkSet::parse(&set.to_json()).unwrap_or_else(|e| panic!("{e}: {set:?}"));
    let without_oth = |set: &JwkSet| -> Vec<Jwk> {
        set.keys
            .iter()
            .cloned()
            .map(|mut jwk| {
                jwk.oth = jwk.oth.map(|_| serde_json::Value::Null);
                jwk
            })
            .collect()
    };
    assert!(without_oth(&back) == without_oth(set), "{set:?}");
}

fn check_jwk(jwk: &Jwk) {
    let alg = jwk.algorithm();
    if let Ok(key) = jwk.to_verifying_key() {
        assert_eq!(Ok(key.algorithm()), alg.clone(), "{jwk:?}");
        assert_eq!(key.is_symmetric(), jwk.kty == "oct", "{jwk:?}");
        if !key.is_symmetric() {
            // A published key loads back to the same published key.
            let kid = jwk.kid.as_deref();
            let exported = key.to_jwk(kid).unwrap_or_else(|e| panic!("{e}: {jwk:?}"));
            assert!(!exported.has_private_members());
            let again = exported
                .to_verifying_key()
                .and_then(|k| k.to_jwk(kid))
                .unwrap_or_else(|e| panic!("{e}: {jwk:?}"));
            assert!(again == exported, "{jwk:?}");
            assert_same_public_members(jwk, &exported);
        }
    }
    if let Ok(key) = jwk.to_signing_key() {
        assert_eq!(Ok(key.algorithm()), alg, "{jwk:?}");
        let message = b"authkit fuzz: a loaded key signs";
        let signature = key
            .sign(message)
            .unwrap_or_else(|e| panic!("a loaded key cannot sign: {e}: {jwk:?}"));
        let public = key.verifying_key();
        assert!(public.verify(message, &signature), "{jwk:?}");
        assert!(!public.verify(b"another message", &signature), "{jwk:?}");
        if let Ok(exported) = public.to_jwk(None) {
            assert_same_public_members(jwk, &exported);
        }
    }
}

/// The public members of `exported` are those of `jwk` (RSA integers compared without
/// leading zero bytes, which carry no value).
fn assert_same_public_members(jwk: &Jwk, exported: &Jwk) {
    let pairs = [
        (&jwk.x, &exported.x, false),
        (&jwk.y, &exported.y, false),
        (&jwk.n, &exported.n, true),
        (&jwk.e, &exported.e, true),
    ];
    for (given, published, integer) in pairs {
        let Some(published) = published else {
            continue;
        };
        let given = given.as_deref().map(decode).unwrap_or_default();
        let published = decode(published);
        if integer {
            assert_eq!(strip(&given), strip(&published), "{jwk:?}");
        } else {
            assert_eq!(given, published, "{jwk:?}");
        }
    }
}

fn check_key_set(text: &str, set: &JwkSet) {
    let fx = fixture();
    let direct = KeySet::from_jwks(text, fx.clock.clone());
    let Ok((keys, skipped)) = KeySet::from_jwk_set(set, fx.clock.clone()) else {
        assert!(direct.is_err());
        return;
    };
    assert!(direct.is_ok());
    // Every key either serves or is reported as skipped.
    assert_eq!(keys.kids().len() + skipped.len(), set.keys.len(), "{set:?}");

    let verifier = Verifier::builder(keys.clone(), fx.clock.clone())
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    for (index, token) in fx.genuine.iter().enumerate() {
        if verifier.verify_signature(token).is_ok() {
            // genuine[3] is the HMAC token without a kid.
            let (signer, kid) = match index {
                0..3 => (index, Some(KIDS[index])),
                _ => (0, None),
            };
            assert!(
                set.keys.iter().any(|jwk| holds_our_key(jwk, signer)
                    && (kid.is_none() || jwk.kid.as_deref() == kid)),
                "a fuzzed key set verified our token {index}: {set:?}"
            );
        }
    }

    // What the set publishes loads back to the same published set (HMAC keys excepted).
    let published = keys.jwks();
    let reloaded = KeySet::from_jwk_set(&published, fx.clock.clone())
        .unwrap_or_else(|e| panic!("{e}: {published:?}"));
    assert!(reloaded.1.is_empty(), "{published:?}");
    assert!(reloaded.0.jwks() == published, "{published:?}");
}

/// Whether `jwk` carries the key material of fixture signer `signer` (0 HMAC, 1 Ed25519,
/// 2 P-256).
fn holds_our_key(jwk: &Jwk, signer: usize) -> bool {
    let ours = fixture().keys.jwks();
    let find = |kid: &str| ours.keys.iter().find(|k| k.kid.as_deref() == Some(kid));
    match signer {
        0 => jwk.kty == "oct" && jwk.k.as_deref().map(decode).as_deref() == Some(HMAC_SECRET),
        _ => find(KIDS[signer]).is_some_and(|ours| {
            jwk.kty == ours.kty
                && jwk.x.as_deref().map(decode) == ours.x.as_deref().map(decode)
                && jwk.y.as_deref().map(decode) == ours.y.as_deref().map(decode)
        }),
    }
}

fn decode(text: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(text).unwrap_or_default()
}

fn strip(bytes: &[u8]) -> &[u8] {
    let zeros = bytes.iter().take_while(|&&b| b == 0).count();
    &bytes[zeros..]
}
