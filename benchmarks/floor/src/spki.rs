//! SubjectPublicKeyInfo (RFC 5280 §4.1.2.7) for ring's raw public keys, which is what PEM
//! public-key files hold and what the peers load.

use crate::Alg;
use crate::alg::Family;

/// `AlgorithmIdentifier` of `rsaEncryption` with its NULL parameters (RFC 8017 A.1).
const RSA: &[u8] = &[
    0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
];
/// `AlgorithmIdentifier` of `id-ecPublicKey` on `prime256v1` (RFC 5480 §2.1.1).
const EC_P256: &[u8] = &[
    0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48,
    0xce, 0x3d, 0x03, 0x01, 0x07,
];
/// `AlgorithmIdentifier` of `id-ecPublicKey` on `secp384r1` (RFC 5480 §2.1.1).
const EC_P384: &[u8] = &[
    0x30, 0x10, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x05, 0x2b, 0x81, 0x04,
    0x00, 0x22,
];
/// `AlgorithmIdentifier` of `id-Ed25519` (RFC 8410 §3).
const ED25519: &[u8] = &[0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70];

/// Wraps ring's public key bytes for `alg` (PKCS#1 `RSAPublicKey`, an uncompressed SEC1
/// point, or 32 Ed25519 bytes) in a DER `SubjectPublicKeyInfo`. `None` for HMAC.
pub fn spki_der(alg: Alg, public: &[u8]) -> Option<Vec<u8>> {
    let algorithm = match alg.family() {
        Family::Hmac => return None,
        Family::Rsa => RSA,
        Family::Ec if alg == Alg::ES256 => EC_P256,
        Family::Ec => EC_P384,
        Family::Ed => ED25519,
    };
    let mut bit_string = vec![0x03];
    push_len(public.len() + 1, &mut bit_string);
    bit_string.push(0); // no unused bits
    bit_string.extend_from_slice(public);
    let mut out = vec![0x30];
    push_len(algorithm.len() + bit_string.len(), &mut out);
    out.extend_from_slice(algorithm);
    out.extend_from_slice(&bit_string);
    Some(out)
}

/// DER definite length; the keys here are far below 64 KiB.
fn push_len(len: usize, out: &mut Vec<u8>) {
    match len {
        0..0x80 => out.push(len as u8),
        0x80..0x100 => out.extend_from_slice(&[0x81, len as u8]),
        _ => out.extend_from_slice(&[0x82, (len >> 8) as u8, len as u8]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::KeyMaterial;

    #[test]
    fn rsa_spki_matches_the_file_auth_jwt_tests_use() {
        let material = KeyMaterial::for_alg(Alg::RS256).unwrap();
        let pair = material.pair().unwrap();
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../crates/auth-jwt/tests/data/rsa2048-public.der"
        );
        assert_eq!(pair.spki, std::fs::read(path).unwrap());
    }

    #[test]
    fn lengths_use_the_shortest_form() {
        for (len, expected) in [
            (5, vec![5]),
            (0x80, vec![0x81, 0x80]),
            (0x10f, vec![0x82, 0x01, 0x0f]),
        ] {
            let mut out = Vec::new();
            push_len(len, &mut out);
            assert_eq!(out, expected);
        }
        assert!(spki_der(Alg::HS256, &[1]).is_none());
        assert_eq!(spki_der(Alg::EdDSA, &[9; 32]).unwrap().len(), 44);
    }
}
