//! Every Verifier rule, each proved with a hostile token built for it.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failed test.

mod common;

use std::time::Duration;

use auth_core::AuthError;
use auth_jwt::{Algorithm, KeySet, SigningKey, VerifyingKey, algorithm};
use common::*;
use serde_json::{Map, Value};

type Claims = Map<String, Value>;

fn one_key(alg: Algorithm) -> (std::sync::Arc<auth_core::ManualClock>, KeySet, SigningKey) {
    let (clock, shared) = clock();
    let key = key_for(alg);
    let keys = KeySet::with_signing_key(shared, "k1", key.clone()).unwrap();
    (clock, keys, key)
}

#[track_caller]
fn expect(result: Result<impl std::fmt::Debug, AuthError>, expected: &str) {
    match result {
        Ok(v) => panic!("accepted, expected {expected}: {v:?}"),
        Err(e) => assert_eq!(reason(&e), expected),
    }
}

#[test]
fn a_well_formed_token_verifies() {
    let (clock, keys, key) = one_key(Algorithm::ES256);
    let v = verifier(&keys, keys.clock().clone());
    let token = forge_with(&key, &header(&key, "k1"), &claims(&clock));
    let verified = v.verify::<Claims>(&token).unwrap();
    assert_eq!(verified.registered.sub.as_deref(), Some("alice"));
    assert_eq!(verified.header.kid.as_deref(), Some("k1"));
}

#[test]
fn alg_none_is_never_accepted() {
    let (clock, keys, key) = one_key(Algorithm::HS256);
    let v = verifier(&keys, keys.clock().clone());
    let payload = claims(&clock);
    // The RFC 7515 A.5 shape: an empty signature.
    let unsigned = format!("{}.{}.", b64(r#"{"alg":"none"}"#), b64(&payload));
    expect(
        v.verify::<Claims>(&unsigned),
        "invalid: the token is unsigned",
    );
    // A "none" token that still carries bytes in the signature slot, in every spelling.
    for alg in ["none", "None", "NONE", "nOnE"] {
        let token = forge(
            &format!(r#"{{"alg":"{alg}","kid":"k1"}}"#),
            &payload,
            |_| vec![0],
        );
        expect(
            v.verify::<Claims>(&token),
            "invalid: alg none is never accepted",
        );
    }
    // Even signed with the right key, a `none` header fails.
    let token = forge_with(&key, r#"{"alg":"none","kid":"k1"}"#, &payload);
    expect(
        v.verify::<Claims>(&token),
        "invalid: alg none is never accepted",
    );
}

#[test]
fn hs256_signed_with_the_bytes_of_a_public_key_is_refused() {
    // The classic confusion: the attacker signs HS256 with the public key's bytes as the
    // HMAC secret, hoping the verifier feeds its public key to HMAC.
    let (clock, shared) = clock();
    let keys = KeySet::new(shared.clone());
    let rsa = VerifyingKey::from_pem(Algorithm::RS256, &data("rsa2048-public.pem")).unwrap();
    let ec = VerifyingKey::from_pem(Algorithm::ES256, &data("ec-p256-public.pem")).unwrap();
    let ed = VerifyingKey::from_pem(Algorithm::EdDSA, &data("ed25519-public.pem")).unwrap();
    keys.insert_verifying_key("rsa", rsa).unwrap();
    keys.insert_verifying_key("ec", ec).unwrap();
    keys.insert_verifying_key("ed", ed).unwrap();
    let v = verifier(&keys, shared);
    let payload = claims(&clock);
    let secrets = [
        ("rsa", data_bytes("rsa2048-public.pem")),
        ("rsa", data_bytes("rsa2048-public.der")),
        ("ec", data_bytes("ec-p256-public.pem")),
        ("ed", data_bytes("ed25519-public.pem")),
    ];
    for (kid, secret) in secrets {
        for alg in ["HS256", "HS384", "HS512"] {
            let hmac = algorithm::parse(alg).unwrap();
            let ring_alg = match hmac {
                Algorithm::HS256 => ring::hmac::HMAC_SHA256,
                Algorithm::HS384 => ring::hmac::HMAC_SHA384,
                _ => ring::hmac::HMAC_SHA512,
            };
            let token = forge(
                &format!(r#"{{"alg":"{alg}","kid":"{kid}"}}"#),
                &payload,
                |input| {
                    ring::hmac::sign(&ring::hmac::Key::new(ring_alg, &secret), input)
                        .as_ref()
                        .to_vec()
                },
            );
            expect(
                v.verify::<Claims>(&token),
                "invalid: the token's alg is not the algorithm of its key",
            );
        }
    }
}

#[test]
fn no_key_family_ever_verifies_another_familys_token() {
    let algs = auth_jwt::algorithm::SUPPORTED;
    let (clock, shared) = clock();
    let signers: Vec<SigningKey> = algs.iter().map(|&a| key_for(a)).collect();
    for (i, verifying) in signers.iter().enumerate() {
        let keys = KeySet::new(shared.clone());
        keys.insert_verifying_key("k", verifying.verifying_key())
            .unwrap();
        let v = verifier(&keys, shared.clone());
        for (j, signer) in signers.iter().enumerate() {
            let token = forge_with(signer, &header(signer, "k"), &claims(&clock));
            let result = v.verify::<Claims>(&token);
            if i == j {
                assert!(result.is_ok(), "{:?}", algs[i]);
            } else {
                // Same-family keys of another algorithm are refused just the same.
                expect(
                    result,
                    "invalid: the token's alg is not the algorithm of its key",
                );
            }
        }
    }
}

#[test]
fn an_all_zero_ecdsa_signature_is_refused() {
    for alg in [Algorithm::ES256, Algorithm::ES384] {
        let (clock, keys, key) = one_key(alg);
        let v = verifier(&keys, keys.clock().clone());
        let len = if alg == Algorithm::ES256 { 64 } else { 96 };
        let token = forge(&header(&key, "k1"), &claims(&clock), |_| vec![0; len]);
        expect(
            v.verify::<Claims>(&token),
            "invalid: the token's signature does not verify",
        );
    }
}

#[test]
fn reasons_are_typed_for_code_to_match() {
    let (clock, keys, key) = one_key(Algorithm::HS256);
    let v = verifier(&keys, keys.clock().clone());
    let unknown = forge_with(&key, &header(&key, "nope"), &claims(&clock));
    assert!(matches!(
        v.verify::<Claims>(&unknown),
        Err(AuthError::Invalid(auth_core::Reason::UnknownKid))
    ));
    let (input, _) = forge_with(&key, &header(&key, "k1"), &claims(&clock))
        .rsplit_once('.')
        .map(|(i, s)| (i.to_owned(), s.to_owned()))
        .unwrap();
    assert!(matches!(
        v.verify::<Claims>(&format!("{input}.{}", "A".repeat(43))),
        Err(AuthError::Invalid(auth_core::Reason::BadSignature))
    ));
    let no_exp = forge_with(&key, &header(&key, "k1"), r#"{"sub":"a"}"#);
    assert!(matches!(
        v.verify::<Claims>(&no_exp),
        Err(AuthError::Invalid(auth_core::Reason::MissingClaim(
            auth_core::Claim::Exp
        )))
    ));
}

#[test]
fn an_unknown_kid_fails_closed() {
    let (clock, keys, key) = one_key(Algorithm::EdDSA);
    let v = verifier(&keys, keys.clock().clone());
    let token = forge_with(&key, &header(&key, "k2"), &claims(&clock));
    expect(
        v.verify::<Claims>(&token),
        "invalid: the token's kid names no known key",
    );
}

#[test]
fn jku_x5u_x5c_and_jwk_headers_never_supply_the_key() {
    let (clock, keys, _) = one_key(Algorithm::ES256);
    let v = verifier(&keys, keys.clock().clone());
    let attacker = SigningKey::generate(Algorithm::ES256).unwrap();
    let attacker_jwk =
        serde_json::to_string(&attacker.verifying_key().to_jwk(Some("k1")).unwrap()).unwrap();
    let headers = [
        format!(r#"{{"alg":"ES256","kid":"k1","jwk":{attacker_jwk}}}"#),
        r#"{"alg":"ES256","kid":"k1","jku":"https://attacker.test/jwks.json"}"#.to_owned(),
        r#"{"alg":"ES256","kid":"k1","x5u":"https://attacker.test/cert.pem"}"#.to_owned(),
        r#"{"alg":"ES256","kid":"k1","x5c":["MIIBszCCAVmgAwIBAgIUQ"]}"#.to_owned(),
        // Without a kid, the set's only key is used, never the embedded one.
        format!(r#"{{"alg":"ES256","jwk":{attacker_jwk}}}"#),
    ];
    for h in headers {
        let token = forge_with(&attacker, &h, &claims(&clock));
        expect(
            v.verify::<Claims>(&token),
            "invalid: the token's signature does not verify",
        );
    }
}

#[test]
fn time_claims_are_enforced_with_bounded_leeway() {
    let (clock, keys, key) = one_key(Algorithm::HS256);
    let v = verifier(&keys, keys.clock().clone());
    let now = now_secs(&clock);
    let token = |exp: u64, nbf: u64, iat: u64| {
        forge_with(
            &key,
            &header(&key, "k1"),
            &format!(
                r#"{{"iss":"https://issuer.test","aud":"api","sub":"a","exp":{exp},"nbf":{nbf},"iat":{iat}}}"#
            ),
        )
    };
    // Expired beyond the 30 s leeway.
    expect(
        v.verify::<Claims>(&token(now - 31, now - 100, now - 100)),
        "Expired",
    );
    // Within the leeway.
    assert!(
        v.verify::<Claims>(&token(now - 29, now - 100, now - 100))
            .is_ok()
    );
    // Not valid yet.
    expect(
        v.verify::<Claims>(&token(now + 600, now + 31, now)),
        "invalid: the token is not valid yet (nbf)",
    );
    assert!(v.verify::<Claims>(&token(now + 600, now + 29, now)).is_ok());
    // Issued in the future.
    expect(
        v.verify::<Claims>(&token(now + 600, now, now + 60)),
        "invalid: the token was issued in the future (iat)",
    );
    // Time moves: the good token expires.
    let good = token(now + 60, now, now);
    assert!(v.verify::<Claims>(&good).is_ok());
    clock.advance(Duration::from_secs(90));
    expect(v.verify::<Claims>(&good), "Expired");
}

#[test]
fn leeway_is_bounded() {
    let (_, keys, _) = one_key(Algorithm::HS256);
    let result = auth_jwt::Verifier::builder(keys.clone(), keys.clock().clone())
        .leeway(Duration::from_secs(301))
        .build();
    assert!(matches!(
        result,
        Err(auth_jwt::ConfigError::LeewayTooLarge { .. })
    ));
}

#[test]
fn time_claims_must_be_numbers_and_exp_is_required() {
    let (clock, keys, key) = one_key(Algorithm::HS256);
    let v = verifier(&keys, keys.clock().clone());
    let now = now_secs(&clock);
    let base = r#""iss":"https://issuer.test","aud":"api","sub":"a""#;
    let cases = [
        (
            format!(r#"{{{base},"exp":{},"nbf":"{now}"}}"#, now + 60),
            "malformed: nbf is not a number",
        ),
        (
            format!(r#"{{{base},"exp":"{}"}}"#, now + 60),
            "malformed: exp is not a number",
        ),
        (
            format!(r#"{{{base},"exp":{},"iat":"{now}"}}"#, now + 60),
            "malformed: iat is not a number",
        ),
        (
            format!(r#"{{{base},"exp":null}}"#),
            "malformed: exp is not a number",
        ),
        (
            format!(r#"{{{base},"exp":-5}}"#),
            "malformed: exp is out of range",
        ),
        (
            format!(r#"{{{base},"exp":1e300}}"#),
            "malformed: exp is out of range",
        ),
        (
            format!(r#"{{{base},"exp":{}}}"#, u64::MAX),
            "malformed: exp is out of range",
        ),
        (format!(r#"{{{base}}}"#), "invalid: the token has no exp"),
        (
            format!(r#"{{{base},"exp":{},"exp":{}}}"#, now + 60, now + 60),
            "malformed: a registered claim appears twice",
        ),
        (
            format!(r#"{{"iss":7,"aud":"api","exp":{}}}"#, now + 60),
            "malformed: iss is not a string",
        ),
        (
            format!(
                r#"{{"iss":"https://issuer.test","aud":[1],"exp":{}}}"#,
                now + 60
            ),
            "malformed: aud is not a string or an array of strings",
        ),
    ];
    for (payload, expected) in cases {
        let token = forge_with(&key, &header(&key, "k1"), &payload);
        expect(v.verify::<Claims>(&token), expected);
    }
}

#[test]
fn issuer_audience_and_typ_are_exact() {
    let (clock, keys, key) = one_key(Algorithm::HS384);
    let now = now_secs(&clock);
    let v = auth_jwt::Verifier::builder(keys.clone(), keys.clock().clone())
        .issuer("https://issuer.test")
        .audience("api")
        .typ("at+jwt")
        .build()
        .unwrap();
    let at = r#"{"alg":"HS384","typ":"at+jwt","kid":"k1"}"#;
    let exp = now + 60;
    let cases = [
        (
            at,
            format!(r#"{{"iss":"https://issuer.test","aud":"api","exp":{exp}}}"#),
            None,
        ),
        (
            at,
            format!(r#"{{"iss":"https://issuer.test","aud":["x","api"],"exp":{exp}}}"#),
            None,
        ),
        (
            at,
            format!(r#"{{"iss":"https://issuer.test/","aud":"api","exp":{exp}}}"#),
            Some("invalid: the token's iss is not the expected issuer"),
        ),
        (
            at,
            format!(r#"{{"aud":"api","exp":{exp}}}"#),
            Some("invalid: the token has no iss"),
        ),
        (
            at,
            format!(r#"{{"iss":"https://issuer.test","aud":"API","exp":{exp}}}"#),
            Some("invalid: the token's aud names none of our audiences"),
        ),
        (
            at,
            format!(r#"{{"iss":"https://issuer.test","exp":{exp}}}"#),
            Some("invalid: the token has no aud"),
        ),
        (
            r#"{"alg":"HS384","typ":"JWT","kid":"k1"}"#,
            format!(r#"{{"iss":"https://issuer.test","aud":"api","exp":{exp}}}"#),
            Some("invalid: the token's typ is not the expected one"),
        ),
        (
            r#"{"alg":"HS384","kid":"k1"}"#,
            format!(r#"{{"iss":"https://issuer.test","aud":"api","exp":{exp}}}"#),
            Some("invalid: the token's typ is not the expected one"),
        ),
    ];
    for (h, payload, expected) in cases {
        let token = forge_with(&key, h, &payload);
        match expected {
            None => assert!(v.verify::<Claims>(&token).is_ok(), "{payload}"),
            Some(expected) => expect(v.verify::<Claims>(&token), expected),
        }
    }
    // A verifier claiming no audience refuses tokens meant for one (RFC 7519 §4.1.3).
    let open = auth_jwt::Verifier::builder(keys.clone(), keys.clock().clone())
        .build()
        .unwrap();
    let token = forge_with(&key, at, &format!(r#"{{"aud":"api","exp":{exp}}}"#));
    expect(
        open.verify::<Claims>(&token),
        "invalid: the token names an audience and this verifier claims none",
    );
}

#[test]
fn tokens_altered_after_signing_are_refused() {
    let (clock, keys, key) = one_key(Algorithm::RS256);
    let v = verifier(&keys, keys.clock().clone());
    let token = forge_with(&key, &header(&key, "k1"), &claims(&clock));
    let (h, rest) = token.split_once('.').unwrap();
    let (_, s) = rest.split_once('.').unwrap();
    let evil_payload = b64(claims(&clock).replace("alice", "admin"));
    let evil_header = b64(r#"{"alg":"RS256","typ":"JWT","kid":"k1","x":1}"#);
    expect(
        v.verify::<Claims>(&format!("{h}.{evil_payload}.{s}")),
        "invalid: the token's signature does not verify",
    );
    expect(
        v.verify::<Claims>(&format!("{evil_header}.{}", rest)),
        "invalid: the token's signature does not verify",
    );
    // A flipped bit in the signature.
    let mut sig = s.to_owned().into_bytes();
    sig[10] = if sig[10] == b'A' { b'B' } else { b'A' };
    let sig = String::from_utf8(sig).unwrap();
    expect(
        v.verify::<Claims>(&format!("{h}.{}.{sig}", rest.split_once('.').unwrap().0)),
        "invalid: the token's signature does not verify",
    );
}

#[test]
fn oversized_tokens_are_refused_before_decoding() {
    let (_, keys, _) = one_key(Algorithm::HS256);
    let v = verifier(&keys, keys.clock().clone());
    // 1 MiB of valid-looking base64url: refused on length alone.
    let segment = "A".repeat(512 * 1024);
    let token = format!("{segment}.{segment}.AAAA");
    let started = std::time::Instant::now();
    expect(
        v.verify::<Claims>(&token),
        "malformed: the token is over the size limit",
    );
    assert!(started.elapsed() < Duration::from_millis(50));
    let just_over = "A".repeat(auth_jwt::DEFAULT_MAX_TOKEN_LEN + 1);
    expect(
        v.verify::<Claims>(&just_over),
        "malformed: the token is over the size limit",
    );
}

#[test]
fn only_strict_compact_base64url_is_accepted() {
    let (clock, keys, key) = one_key(Algorithm::HS256);
    let v = verifier(&keys, keys.clock().clone());
    let token = forge_with(&key, &header(&key, "k1"), &claims(&clock));
    assert!(v.verify::<Claims>(&token).is_ok());
    let (h, rest) = token.split_once('.').unwrap();
    let (p, s) = rest.split_once('.').unwrap();
    let alphabet = "malformed: the token has a character outside base64url";
    let segments = "malformed: the token does not have exactly three segments";
    let cases = [
        (format!("{h}.{p}.{s}="), alphabet),
        (format!("{h}=.{p}.{s}"), alphabet),
        (format!(" {token}"), alphabet),
        (format!("{token}\n"), alphabet),
        (
            format!("{h}.{p}.{}", s.replace('-', "+").replace('_', "/")),
            if s.contains(['-', '_']) { alphabet } else { "" },
        ),
        (format!("{h}.{p}"), segments),
        (format!("{h}.{p}.{s}.{s}"), segments),
        (
            format!(".{p}.{s}"),
            "malformed: the token's header is empty",
        ),
        (String::new(), "malformed: the token is empty"),
        // HS256 tags are 32 bytes: 43 characters, the last carrying two unused bits. 'B'
        // sets one of them, so this text is not the canonical encoding of any tag.
        (
            format!("{h}.{p}.{}B", &s[..s.len() - 1]),
            "malformed: the token's signature is not canonical base64url",
        ),
        // One character more than a whole number of bytes: never valid base64.
        (
            format!("{h}{}.{p}.{s}", "A".repeat((5 - h.len() % 4) % 4)),
            "malformed: the token's header is not canonical base64url",
        ),
    ];
    for (bad, expected) in cases {
        if expected.is_empty() {
            continue;
        }
        expect(v.verify::<Claims>(&bad), expected);
    }
}

#[test]
fn header_and_claims_must_be_json_objects() {
    let (clock, keys, key) = one_key(Algorithm::HS256);
    let v = verifier(&keys, keys.clock().clone());
    let good_header = header(&key, "k1");
    for payload in [
        "",
        "[1,2]",
        "\"alice\"",
        "null",
        "42",
        " {\"exp\":1}",
        "{\"exp\":",
        "{}x",
    ] {
        let token = forge_with(&key, &good_header, payload);
        let result = v.verify::<Claims>(&token);
        let r = reason(&result.unwrap_err());
        assert!(
            r == "malformed: the token's claims are not a JSON object"
                || r == "malformed: the token's claims are not valid JSON",
            "{payload}: {r}"
        );
    }
    for h in [
        "[\"HS256\"]",
        "\"HS256\"",
        "null",
        "{\"alg\":\"HS256\"",
        "{\"alg\":\"HS256\",\"alg\":\"HS256\"}",
    ] {
        let token = forge_with(&key, h, &claims(&clock));
        let r = reason(&v.verify::<Claims>(&token).unwrap_err());
        assert!(
            r == "malformed: the token's header is not a JSON object"
                || r == "malformed: the token's header is not valid JSON",
            "{h}: {r}"
        );
    }
    let token = forge_with(&key, r#"{"kid":"k1"}"#, &claims(&clock));
    expect(
        v.verify::<Claims>(&token),
        "malformed: the token's header has no alg",
    );
}

#[test]
fn crit_headers_are_refused() {
    let (clock, keys, key) = one_key(Algorithm::HS256);
    let v = verifier(&keys, keys.clock().clone());
    for h in [
        r#"{"alg":"HS256","kid":"k1","crit":["exp"],"exp":1}"#,
        r#"{"alg":"HS256","kid":"k1","crit":["b64"],"b64":false}"#,
    ] {
        let token = forge_with(&key, h, &claims(&clock));
        expect(
            v.verify::<Claims>(&token),
            "invalid: the token's crit header names extensions this verifier does not understand",
        );
    }
    // Anything else under the name is no crit at all, `null` included.
    for h in [
        r#"{"alg":"HS256","kid":"k1","crit":[]}"#,
        r#"{"alg":"HS256","kid":"k1","crit":null}"#,
    ] {
        let token = forge_with(&key, h, &claims(&clock));
        expect(
            v.verify::<Claims>(&token),
            "malformed: the token's crit header is not a non-empty array of names",
        );
    }
}

#[test]
fn unsupported_algorithms_are_refused() {
    let (clock, keys, key) = one_key(Algorithm::HS256);
    let v = verifier(&keys, keys.clock().clone());
    for alg in ["ES512", "ES256K", "HS1", "RS1", "hs256", ""] {
        let token = forge_with(
            &key,
            &format!(r#"{{"alg":"{alg}","kid":"k1"}}"#),
            &claims(&clock),
        );
        expect(
            v.verify::<Claims>(&token),
            "invalid: the token's alg is not supported",
        );
    }
}

#[test]
fn keys_are_checked_when_loaded() {
    use auth_jwt::KeyError;
    assert!(matches!(
        SigningKey::hmac(Algorithm::HS256, &[7; 31]),
        Err(KeyError::TooWeak(_))
    ));
    assert!(matches!(
        SigningKey::hmac(Algorithm::HS384, &[7; 47]),
        Err(KeyError::TooWeak(_))
    ));
    assert!(matches!(
        SigningKey::hmac(Algorithm::HS512, &[7; 63]),
        Err(KeyError::TooWeak(_))
    ));
    assert!(SigningKey::hmac(Algorithm::HS512, &[7; 64]).is_ok());
    assert!(matches!(
        VerifyingKey::hmac(Algorithm::HS256, b""),
        Err(KeyError::TooWeak(_))
    ));
    assert!(SigningKey::from_pem(Algorithm::RS256, &data("rsa1024-private.pem")).is_err());
    assert!(matches!(
        VerifyingKey::from_pem(Algorithm::RS256, &data("rsa1024-public.pem")),
        Err(KeyError::TooWeak(_))
    ));
    // Wrong family for the algorithm, in every loader.
    assert!(matches!(
        VerifyingKey::from_pem(Algorithm::ES256, &data("rsa2048-public.pem")),
        Err(KeyError::WrongFamily(_))
    ));
    assert!(matches!(
        VerifyingKey::from_pem(Algorithm::RS256, &data("ec-p256-public.pem")),
        Err(KeyError::WrongFamily(_))
    ));
    assert!(matches!(
        VerifyingKey::from_pem(Algorithm::ES384, &data("ec-p256-public.pem")),
        Err(KeyError::WrongFamily(_))
    ));
    assert!(matches!(
        SigningKey::from_pem(Algorithm::EdDSA, &data("ec-p256-private.pem")),
        Err(KeyError::WrongFamily(_))
    ));
    assert!(matches!(
        SigningKey::from_der(Algorithm::HS256, &data_bytes("rsa2048-private.der")),
        Err(KeyError::WrongFamily(_))
    ));
    assert!(matches!(
        SigningKey::generate(Algorithm::RS256),
        Err(KeyError::Unsupported(_))
    ));
    // Loaded forms agree with each other.
    let from_pem = SigningKey::from_pem(Algorithm::PS256, &data("rsa2048-private.pem")).unwrap();
    let from_der =
        SigningKey::from_der(Algorithm::PS256, &data_bytes("rsa2048-private.der")).unwrap();
    let public =
        VerifyingKey::from_der(Algorithm::PS256, &data_bytes("rsa2048-public.der")).unwrap();
    for signer in [&from_pem, &from_der] {
        assert!(public.verify(b"m", &signer.sign(b"m").unwrap()));
    }
    let ec = SigningKey::from_pem(Algorithm::ES256, &data("ec-p256-private.pem")).unwrap();
    let ec_public = VerifyingKey::from_pem(Algorithm::ES256, &data("ec-p256-public.pem")).unwrap();
    assert!(ec_public.verify(b"m", &ec.sign(b"m").unwrap()));
    let ed = SigningKey::from_pem(Algorithm::EdDSA, &data("ed25519-private.pem")).unwrap();
    let ed_public = VerifyingKey::from_pem(Algorithm::EdDSA, &data("ed25519-public.pem")).unwrap();
    assert!(ed_public.verify(b"m", &ed.sign(b"m").unwrap()));
}

#[test]
fn jwks_round_trip_and_never_publish_secrets() {
    let (_, shared) = clock();
    let keys = KeySet::new(shared.clone());
    for (i, alg) in auth_jwt::algorithm::SUPPORTED.into_iter().enumerate() {
        let key = key_for(alg);
        keys.insert_verifying_key(format!("k{i}"), key.verifying_key())
            .unwrap();
    }
    let jwks = keys.jwks();
    // Nine public keys; the three HMAC secrets are not published.
    assert_eq!(jwks.keys.len(), 9);
    let json = jwks.to_json();
    for private in [
        "\"d\"", "\"k\"", "\"p\"", "\"q\"", "\"dp\"", "\"dq\"", "\"qi\"",
    ] {
        assert!(!json.contains(private), "{private} in {json}");
    }
    let rebuilt = KeySet::from_jwks(&json, shared).unwrap();
    assert_eq!(rebuilt.jwks(), jwks);
}

#[test]
fn private_jwks_load_as_signing_keys() {
    let (clock, _) = clock();
    let rsa_jwk = serde_json::json!({
        "kty": "RSA", "alg": "RS256",
    });
    assert!(auth_jwt::Jwk::default().to_signing_key().is_err());
    let parsed: auth_jwt::Jwk = serde_json::from_value(rsa_jwk).unwrap();
    assert!(parsed.to_signing_key().is_err());
    // EC and Ed25519 private JWKs built from generated keys sign verifiably.
    let _ = clock;
    let ec = serde_json::json!({
        "kty": "EC", "crv": "P-256",
        "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
        "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
        "d": "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"
    });
    let ec: auth_jwt::Jwk = serde_json::from_value(ec).unwrap();
    let signer = ec.to_signing_key().unwrap();
    assert_eq!(signer.algorithm(), Algorithm::ES256);
    assert!(format!("{ec:?}").contains("private: true"));
    assert!(!format!("{ec:?}").contains("jpsQ"));
    let public = signer.verifying_key().to_jwk(Some("a3")).unwrap();
    assert_eq!(public.x, ec.x);
    assert!(public.d.is_none());
    assert!(
        VerifyingKey::from_jwk(&ec).is_err(),
        "a public JWK may not carry d"
    );
}

/// Found by the `jwt_verify` fuzz target: a skipped claim holding invalid UTF-8 was accepted
/// by claims types that ignore it and refused by those that read it.
#[test]
fn claims_that_are_not_utf8_are_refused_whatever_the_claims_type() {
    let (clock, keys, key) = one_key(Algorithm::HS256);
    let v = verifier(&keys, keys.clock().clone());
    let good = claims(&clock);
    let mut payload = good.as_bytes()[..good.len() - 1].to_vec();
    payload.extend_from_slice(b",\"x\":\"\xfe\"}");
    let input = format!("{}.{}", b64(header(&key, "k1")), b64(&payload));
    let token = format!("{input}.{}", b64(key.sign(input.as_bytes()).unwrap()));
    let reason = "malformed: the token's claims are not UTF-8";
    expect(v.verify::<serde::de::IgnoredAny>(&token), reason);
    expect(v.verify::<Map<String, Value>>(&token), reason);
    expect(v.verify::<Claims>(&token), reason);
}

/// A key without a kid among several could never verify a token (a token without a kid is
/// refused when there are several keys), and the name it was once given ("#<index>")
/// could collide with a real kid and replace that key. It is left out, and said so.
#[test]
fn a_kid_less_key_among_several_is_skipped_and_never_shadows_a_real_kid() {
    let (clock, shared) = clock();
    let real = key_for(Algorithm::EdDSA);
    let stray = key_for(Algorithm::EdDSA);
    let mut keys = KeySet::with_signing_key(shared.clone(), "#1", real.clone())
        .unwrap()
        .jwks()
        .keys;
    let mut kid_less = KeySet::with_signing_key(shared.clone(), "x", stray.clone())
        .unwrap()
        .jwks()
        .keys
        .remove(0);
    kid_less.kid = None;
    keys.push(kid_less.clone());
    let (set, skipped) = KeySet::from_jwk_set(&auth_jwt::JwkSet { keys }, shared.clone()).unwrap();
    assert_eq!(set.kids(), ["#1"]);
    assert_eq!(skipped.len(), 1);
    assert_eq!(skipped[0].kid, None);
    let v = verifier(&set, shared.clone());
    assert!(
        v.verify::<Claims>(&forge_with(&real, &header(&real, "#1"), &claims(&clock)))
            .is_ok()
    );
    expect(
        v.verify::<Claims>(&forge_with(&stray, &header(&stray, "#1"), &claims(&clock))),
        "invalid: the token's signature does not verify",
    );

    // Alone, a kid-less key still serves tokens without a kid.
    let (alone, skipped) = KeySet::from_jwk_set(
        &auth_jwt::JwkSet {
            keys: vec![kid_less],
        },
        shared.clone(),
    )
    .unwrap();
    assert!(skipped.is_empty());
    let no_kid = r#"{"alg":"EdDSA","typ":"JWT"}"#;
    assert!(
        verifier(&alone, shared)
            .verify::<Claims>(&forge_with(&stray, no_kid, &claims(&clock)))
            .is_ok()
    );
}
