//! The key material of one measurement, in every form the floor and the peers load.

use ring::rand::SystemRandom;
use ring::signature::{self, KeyPair as _};

use crate::alg::Family;
use crate::pem::{pem, unpem};
use crate::spki::spki_der;
use crate::{Alg, FloorError};

/// The RSA key auth-jwt's tests and bench use (2048 bits, PKCS#8 PEM; the `.der` beside it
/// is the same key as PKCS#1), relative to this crate so every checkout finds it.
pub const RSA_PKCS8_PEM_PATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../crates/auth-jwt/tests/data/rsa2048-private.pem"
);

/// The HMAC secret: 64 bytes, the length auth-jwt's bench uses (enough for HS512).
pub const HMAC_SECRET: [u8; 64] = [7; 64];

/// DER of an Ed25519 `OneAsymmetricKey` v1 (RFC 8410 §7) up to the 32-byte seed: the form
/// `openssl genpkey -algorithm ed25519` writes, and one every library here loads (ring's own
/// v2 form, with the public key, is refused by jwt-simple).
const ED25519_PKCS8_V1_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];
/// Where the seed sits in ring's v2 document, which has the same 16-byte header shape.
const ED25519_SEED: std::ops::Range<usize> = 16..48;

/// A key for one algorithm: the shared secret, or a key pair.
pub enum KeyMaterial {
    /// An HMAC secret.
    Hmac {
        /// The raw secret.
        secret: Vec<u8>,
    },
    /// An asymmetric key pair.
    Pair(KeyPairMaterial),
}

/// An asymmetric key pair in the encodings the libraries load.
pub struct KeyPairMaterial {
    /// The private key, PKCS#8 DER: v1 for Ed25519, as OpenSSL writes it; ring's own v2 (with
    /// the public key) for ECDSA, which OpenSSL writes alike.
    pub pkcs8: Vec<u8>,
    /// ring's public key: PKCS#1 `RSAPublicKey` DER, an uncompressed SEC1 point, or 32
    /// Ed25519 bytes.
    pub public: Vec<u8>,
    /// The public key as DER `SubjectPublicKeyInfo`.
    pub spki: Vec<u8>,
}

impl KeyPairMaterial {
    /// The private key as a PEM `PRIVATE KEY` file.
    pub fn private_pem(&self) -> String {
        pem("PRIVATE KEY", &self.pkcs8)
    }

    /// The public key as a PEM `PUBLIC KEY` file.
    pub fn public_pem(&self) -> String {
        pem("PUBLIC KEY", &self.spki)
    }
}

impl KeyMaterial {
    /// The key for `alg`: auth-jwt's RSA test key, a fresh ring EC or Ed25519 key pair, or
    /// [`HMAC_SECRET`].
    pub fn for_alg(alg: Alg) -> Result<Self, FloorError> {
        let rng = SystemRandom::new();
        let refused = |e: &dyn std::fmt::Display| FloorError::Key {
            alg: alg.name(),
            reason: e.to_string(),
        };
        let (pkcs8, public) = match alg.family() {
            Family::Hmac => {
                return Ok(KeyMaterial::Hmac {
                    secret: HMAC_SECRET.to_vec(),
                });
            }
            Family::Rsa => {
                let file = std::fs::read_to_string(RSA_PKCS8_PEM_PATH).map_err(|source| {
                    FloorError::KeyFile {
                        path: RSA_PKCS8_PEM_PATH.to_owned(),
                        source,
                    }
                })?;
                let pkcs8 = unpem("PRIVATE KEY", &file).ok_or_else(|| refused(&"not a PEM key"))?;
                let pair = signature::RsaKeyPair::from_pkcs8(&pkcs8).map_err(|e| refused(&e))?;
                let public = pair.public().as_ref().to_vec();
                (pkcs8, public)
            }
            Family::Ec => {
                let ring_alg = if alg == Alg::ES256 {
                    &signature::ECDSA_P256_SHA256_FIXED_SIGNING
                } else {
                    &signature::ECDSA_P384_SHA384_FIXED_SIGNING
                };
                let pkcs8 = signature::EcdsaKeyPair::generate_pkcs8(ring_alg, &rng)
                    .map_err(|e| refused(&e))?;
                let pair = signature::EcdsaKeyPair::from_pkcs8(ring_alg, pkcs8.as_ref(), &rng)
                    .map_err(|e| refused(&e))?;
                (pkcs8.as_ref().to_vec(), pair.public_key().as_ref().to_vec())
            }
            Family::Ed => {
                let v2 =
                    signature::Ed25519KeyPair::generate_pkcs8(&rng).map_err(|e| refused(&e))?;
                let pair =
                    signature::Ed25519KeyPair::from_pkcs8(v2.as_ref()).map_err(|e| refused(&e))?;
                let seed = v2
                    .as_ref()
                    .get(ED25519_SEED)
                    .ok_or_else(|| refused(&"unexpected PKCS#8 layout"))?;
                let mut pkcs8 = ED25519_PKCS8_V1_PREFIX.to_vec();
                pkcs8.extend_from_slice(seed);
                (pkcs8, pair.public_key().as_ref().to_vec())
            }
        };
        let spki = spki_der(alg, &public).ok_or_else(|| refused(&"no public key form"))?;
        Ok(KeyMaterial::Pair(KeyPairMaterial {
            pkcs8,
            public,
            spki,
        }))
    }

    /// The HMAC secret, if this is one.
    pub fn secret(&self) -> Option<&[u8]> {
        match self {
            KeyMaterial::Hmac { secret } => Some(secret),
            KeyMaterial::Pair(_) => None,
        }
    }

    /// The key pair, if this is one.
    pub fn pair(&self) -> Option<&KeyPairMaterial> {
        match self {
            KeyMaterial::Hmac { .. } => None,
            KeyMaterial::Pair(pair) => Some(pair),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rsa_key_is_the_one_auth_jwt_tests_use_in_both_files() {
        let material = KeyMaterial::for_alg(Alg::PS256).unwrap();
        let pair = material.pair().unwrap();
        let der_path = RSA_PKCS8_PEM_PATH.replace(".pem", ".der");
        let pkcs1 = signature::RsaKeyPair::from_der(&std::fs::read(der_path).unwrap()).unwrap();
        assert_eq!(pkcs1.public().as_ref(), &pair.public[..]);
        assert_eq!(
            pair.private_pem(),
            std::fs::read_to_string(RSA_PKCS8_PEM_PATH).unwrap()
        );
    }

    #[test]
    fn generated_pairs_are_fresh_and_of_the_right_size() {
        let a = KeyMaterial::for_alg(Alg::ES384).unwrap();
        let b = KeyMaterial::for_alg(Alg::ES384).unwrap();
        assert_ne!(a.pair().unwrap().public, b.pair().unwrap().public);
        assert_eq!(a.pair().unwrap().public.len(), 97);
        assert_eq!(
            KeyMaterial::for_alg(Alg::ES256)
                .unwrap()
                .pair()
                .unwrap()
                .public
                .len(),
            65
        );
        let ed = KeyMaterial::for_alg(Alg::EdDSA).unwrap();
        let ed = ed.pair().unwrap();
        assert_eq!(ed.public.len(), 32);
        // The v1 document is the seed alone, and ring derives the same public key from it.
        assert_eq!(ed.pkcs8.len(), 48);
        let reloaded = signature::Ed25519KeyPair::from_pkcs8_maybe_unchecked(&ed.pkcs8).unwrap();
        assert_eq!(reloaded.public_key().as_ref(), &ed.public[..]);
        let file = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../crates/auth-jwt/tests/data/ed25519-private.pem"
        );
        let openssl =
            crate::pem::unpem("PRIVATE KEY", &std::fs::read_to_string(file).unwrap()).unwrap();
        assert_eq!(openssl[..16], ED25519_PKCS8_V1_PREFIX);
        assert_eq!(
            KeyMaterial::for_alg(Alg::HS512).unwrap().secret(),
            Some(&HMAC_SECRET[..])
        );
    }
}
