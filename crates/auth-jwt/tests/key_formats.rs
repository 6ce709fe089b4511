//! Keys in and out of their formats, for tools such as `authctl`: private JWK export
//! round trips for every family, PEM documents classified and decoded (the committed test
//! keys), and RFC 7638 thumbprints.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failed test.

mod common;

use auth_jwt::{
    Algorithm, Jwk, JwkSet, KeyError, KeyFileError, KeyKind, Pem, SigningKey, SigningKeys,
    VerifyingKey,
};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

fn b64_decode(text: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(text).unwrap()
}

/// Exports `key` as a private JWK, writes and reads it as JSON (as a key file would), loads
/// it back, and checks that each key verifies the other's signatures.
fn round_trip(key: &SigningKey) -> Jwk {
    let jwk = key.to_private_jwk(Some("k1"));
    assert!(jwk.has_private_members());
    assert_eq!(jwk.kid.as_deref(), Some("k1"));
    assert_eq!(jwk.key_use.as_deref(), Some("sig"));
    assert_eq!(
        jwk.alg.as_deref(),
        Some(auth_jwt::algorithm::name(key.algorithm()))
    );
    let text = serde_json::to_string(&jwk).unwrap();
    let read: Jwk = serde_json::from_str(&text).unwrap();
    assert_eq!(read, jwk);
    let again = read.to_signing_key().unwrap();
    assert_eq!(again.algorithm(), key.algorithm());
    for (signer, verifier) in [(key, &again), (&again, key)] {
        let signature = signer.sign(b"message").unwrap();
        assert!(verifier.verifying_key().verify(b"message", &signature));
        assert!(!verifier.verifying_key().verify(b"messagE", &signature));
    }
    if !key.verifying_key().is_symmetric() {
        assert_eq!(
            again.verifying_key().to_jwk(None).unwrap(),
            key.verifying_key().to_jwk(None).unwrap()
        );
    }
    // A key loaded from the JWK exports the same JWK.
    assert_eq!(again.to_private_jwk(Some("k1")), jwk);
    jwk
}

#[test]
fn private_jwks_round_trip_for_every_family() {
    let rsa = common::data("rsa2048-private.pem");
    for (key, kty, private) in [
        (
            SigningKey::generate(Algorithm::HS256).unwrap(),
            "oct",
            &["k"][..],
        ),
        (
            SigningKey::generate(Algorithm::HS512).unwrap(),
            "oct",
            &["k"],
        ),
        (
            SigningKey::from_pem(Algorithm::RS256, &rsa).unwrap(),
            "RSA",
            &["d", "p", "q", "dp", "dq", "qi"],
        ),
        (
            SigningKey::from_pem(Algorithm::PS384, &rsa).unwrap(),
            "RSA",
            &["d", "p", "q", "dp", "dq", "qi"],
        ),
        (
            SigningKey::generate(Algorithm::ES256).unwrap(),
            "EC",
            &["d"],
        ),
        (
            SigningKey::generate(Algorithm::ES384).unwrap(),
            "EC",
            &["d"],
        ),
        (
            SigningKey::generate(Algorithm::EdDSA).unwrap(),
            "OKP",
            &["d"],
        ),
    ] {
        let name = format!("{:?}", key.algorithm());
        let jwk = round_trip(&key);
        assert_eq!(jwk.kty, kty, "{name}");
        let value = serde_json::to_value(&jwk).unwrap();
        for member in private {
            assert!(value[member].is_string(), "{name}: {member}");
        }
        // The public JWK carries none of them.
        if kty != "oct" {
            let public = serde_json::to_value(key.verifying_key().to_jwk(None).unwrap()).unwrap();
            for member in private {
                assert!(public.get(member).is_none(), "{name}: {member}");
            }
        }
    }
}

#[test]
fn exported_members_have_their_rfc_7518_lengths() {
    for (alg, len) in [
        (Algorithm::HS256, 32),
        (Algorithm::HS384, 48),
        (Algorithm::ES256, 32),
        (Algorithm::ES384, 48),
        (Algorithm::EdDSA, 32),
    ] {
        let jwk = SigningKey::generate(alg).unwrap().to_private_jwk(None);
        let member = jwk.k.or(jwk.d).unwrap();
        assert_eq!(b64_decode(&member).len(), len, "{alg:?}");
    }
    // RSA members are minimal big-endian integers; d is as long as the modulus, roughly.
    let key = SigningKey::from_pem(Algorithm::RS256, &common::data("rsa2048-private.pem")).unwrap();
    let jwk = key.to_private_jwk(None);
    for member in [&jwk.n, &jwk.d, &jwk.p, &jwk.q, &jwk.dp, &jwk.dq, &jwk.qi] {
        let bytes = b64_decode(member.as_deref().unwrap());
        assert_ne!(bytes.first(), Some(&0), "a leading zero byte");
    }
}

#[test]
fn pem_and_der_private_keys_export_the_same_jwk_as_their_public_keys_verify() {
    let from_pem =
        SigningKey::from_pem(Algorithm::RS256, &common::data("rsa2048-private.pem")).unwrap();
    let from_der =
        SigningKey::from_der(Algorithm::RS256, &common::data_bytes("rsa2048-private.der")).unwrap();
    assert_eq!(from_pem.to_private_jwk(None), from_der.to_private_jwk(None));
    for (private, public, alg) in [
        (
            "rsa2048-private.pem",
            "rsa2048-public.pem",
            Algorithm::PS256,
        ),
        (
            "ec-p256-private.pem",
            "ec-p256-public.pem",
            Algorithm::ES256,
        ),
        (
            "ed25519-private.pem",
            "ed25519-public.pem",
            Algorithm::EdDSA,
        ),
    ] {
        let key = SigningKey::from_pem(alg, &common::data(private)).unwrap();
        let exported = round_trip(&key).to_signing_key().unwrap();
        let verifying = VerifyingKey::from_pem(alg, &common::data(public)).unwrap();
        let signature = exported.sign(b"message").unwrap();
        assert!(verifying.verify(b"message", &signature), "{private}");
    }
}

/// The PKCS#1 `RSAPrivateKey` (RFC 8017 §A.1.2) of a private RSA JWK, in DER and in PEM.
fn pkcs1(jwk: &Jwk) -> (Vec<u8>, String) {
    fn header(out: &mut Vec<u8>, tag: u8, len: usize) {
        out.push(tag);
        match len {
            0..0x80 => out.push(len as u8),
            0x80..0x100 => out.extend([0x81, len as u8]),
            _ => out.extend([0x82, (len >> 8) as u8, len as u8]),
        }
    }
    let mut body = Vec::new();
    let version = vec![0u8];
    let members = [
        &jwk.n, &jwk.e, &jwk.d, &jwk.p, &jwk.q, &jwk.dp, &jwk.dq, &jwk.qi,
    ];
    let members = members.map(|member| b64_decode(member.as_deref().unwrap()));
    for value in std::iter::once(&version).chain(&members) {
        let pad = value[0] & 0x80 != 0;
        header(&mut body, 0x02, value.len() + usize::from(pad));
        if pad {
            body.push(0);
        }
        body.extend_from_slice(value);
    }
    let mut der = Vec::new();
    header(&mut der, 0x30, body.len());
    der.extend_from_slice(&body);
    let lines: Vec<String> = STANDARD
        .encode(&der)
        .as_bytes()
        .chunks(64)
        .map(|line| String::from_utf8(line.to_vec()).unwrap())
        .collect();
    let pem = format!(
        "-----BEGIN RSA PRIVATE KEY-----\n{}\n-----END RSA PRIVATE KEY-----\n",
        lines.join("\n")
    );
    (der, pem)
}

/// ring checks `dP` and `dQ` only when it signs: a key with `dP` and `dQ` swapped used to
/// load, and then to fail every signature. It loads from no JWK, key file, DER or PEM.
#[test]
fn rsa_keys_whose_members_disagree_are_refused_in_every_format() {
    let key = SigningKey::from_pem(Algorithm::RS256, &common::data("rsa2048-private.pem")).unwrap();
    let good = key.to_private_jwk(Some("r"));
    // The DER and PEM written here load when the key is whole.
    let (der, pem) = pkcs1(&good);
    for loaded in [
        SigningKey::from_der(Algorithm::RS256, &der),
        SigningKey::from_pem(Algorithm::RS256, &pem),
    ] {
        assert_eq!(loaded.unwrap().to_private_jwk(Some("r")), good);
    }

    let mut swapped = good.clone();
    swapped.dp = good.dq.clone();
    swapped.dq = good.dp.clone();
    let (der, pem) = pkcs1(&swapped);
    for (format, loaded) in [
        ("JWK", swapped.to_signing_key()),
        ("DER", SigningKey::from_der(Algorithm::PS256, &der)),
        ("PEM", SigningKey::from_pem(Algorithm::RS384, &pem)),
    ] {
        let error = loaded.unwrap_err();
        assert!(
            matches!(error, KeyError::InconsistentRsaKey(_)),
            "{format}: {error:?}"
        );
        let message = error.to_string();
        assert!(
            message.starts_with("inconsistent RSA private key"),
            "{message}"
        );
        assert!(message.contains("cannot sign"), "{message}");
    }
    let file = JwkSet {
        keys: vec![swapped],
    };
    assert!(matches!(
        SigningKeys::parse(&file.to_json()),
        Err(KeyFileError::Key {
            index: 0,
            source: KeyError::InconsistentRsaKey(_),
            ..
        })
    ));
}

#[test]
fn committed_pem_keys_are_classified_and_decoded() {
    for (file, private, kind, alg) in [
        ("rsa2048-public.pem", false, KeyKind::Rsa, Algorithm::RS256),
        ("rsa2048-private.pem", true, KeyKind::Rsa, Algorithm::RS256),
        ("ec-p256-public.pem", false, KeyKind::P256, Algorithm::ES256),
        ("ec-p256-private.pem", true, KeyKind::P256, Algorithm::ES256),
        (
            "ed25519-public.pem",
            false,
            KeyKind::Ed25519,
            Algorithm::EdDSA,
        ),
        (
            "ed25519-private.pem",
            true,
            KeyKind::Ed25519,
            Algorithm::EdDSA,
        ),
    ] {
        let text = common::data(file);
        let pem = Pem::parse(&text).unwrap();
        assert_eq!(pem.is_private_key(), private, "{file}");
        assert_eq!(pem.is_public_key(), !private, "{file}");
        assert_eq!(pem.key_kind(), Ok(kind), "{file}");
        // The kind decides the algorithm, except for RSA, which serves six.
        assert_eq!(
            kind.algorithm(),
            (kind != KeyKind::Rsa).then_some(alg),
            "{file}"
        );
        let public = if private {
            SigningKey::from_pem(alg, &text).unwrap().verifying_key()
        } else {
            VerifyingKey::from_pem(alg, &text).unwrap()
        };
        assert_eq!(public.algorithm(), alg, "{file}");
        assert!(!format!("{pem:?}").contains(text.lines().nth(1).unwrap()));
    }
    // The public PEM, the public DER and the private key's public half are one key.
    let pem = VerifyingKey::from_pem(Algorithm::RS256, &common::data("rsa2048-public.pem"))
        .unwrap()
        .to_jwk(None)
        .unwrap();
    let der = VerifyingKey::from_der(Algorithm::RS256, &common::data_bytes("rsa2048-public.der"))
        .unwrap()
        .to_jwk(None)
        .unwrap();
    let private =
        SigningKey::from_pem(Algorithm::RS256, &common::data("rsa2048-private.pem")).unwrap();
    assert_eq!(pem, der);
    assert_eq!(pem, private.verifying_key().to_jwk(None).unwrap());
    // A weak key is still an RSA key by its kind; loading it is what refuses it.
    let weak = common::data("rsa1024-public.pem");
    assert_eq!(Pem::parse(&weak).unwrap().key_kind(), Ok(KeyKind::Rsa));
    assert!(matches!(
        VerifyingKey::from_pem(Algorithm::RS256, &weak),
        Err(KeyError::TooWeak(_))
    ));
    // Blocks that are not keys, and text that is not PEM.
    let certificate =
        Pem::parse("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----").unwrap();
    assert_eq!(certificate.label(), "CERTIFICATE");
    assert!(!certificate.is_private_key() && !certificate.is_public_key());
    assert!(certificate.key_kind().is_err());
    assert!(Pem::parse("{\"kty\":\"EC\"}").is_err());
}

#[test]
fn rfc7638_section_3_1_thumbprint() {
    let jwk: Jwk = serde_json::from_str(
        r#"{"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB","alg":"RS256","kid":"2011-04-29"}"#,
    )
    .unwrap();
    assert_eq!(
        jwk.thumbprint().unwrap(),
        "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
    );
}

#[test]
fn thumbprints_ignore_all_but_the_required_members() {
    for alg in [Algorithm::ES256, Algorithm::EdDSA] {
        let key = SigningKey::generate(alg).unwrap();
        let private = key.to_private_jwk(Some("one"));
        let public = key.verifying_key().to_jwk(Some("two")).unwrap();
        assert_eq!(private.thumbprint(), public.thumbprint(), "{alg:?}");
        let other = SigningKey::generate(alg).unwrap().to_private_jwk(None);
        assert_ne!(private.thumbprint(), other.thumbprint(), "{alg:?}");
    }
    let mut jwk = SigningKey::generate(Algorithm::ES256)
        .unwrap()
        .verifying_key()
        .to_jwk(None)
        .unwrap();
    jwk.y = None;
    assert!(matches!(jwk.thumbprint(), Err(KeyError::Jwk(_))));
    jwk.kty = "XYZ".to_owned();
    assert!(matches!(jwk.thumbprint(), Err(KeyError::Jwk(_))));
}

#[test]
fn secrets_stay_out_of_debug() {
    let key = SigningKey::generate(Algorithm::HS256).unwrap();
    let jwk = key.to_private_jwk(None);
    let secret = jwk.k.clone().unwrap();
    for debug in [format!("{key:?}"), format!("{jwk:?}")] {
        assert!(!debug.contains(&secret), "{debug}");
    }
}
