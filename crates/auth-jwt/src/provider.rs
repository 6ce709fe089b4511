//! A ring-backed [`CryptoProvider`] for jsonwebtoken 11.
//!
//! jsonwebtoken 11 keeps one process-wide provider: a struct of plain function pointers
//! (`signer_factory`, `verifier_factory`, `key_utils`) installed at most once with
//! [`CryptoProvider::install_default`]. Built without its `aws_lc_rs` and `rust_crypto`
//! features, it has no provider of its own, and the first `encode`/`decode` before an
//! install stores a placeholder that panics, for the rest of the process.
//!
//! This crate therefore:
//!
//! - installs [`RING_PROVIDER`] itself, idempotently, whenever a [`KeySet`](crate::KeySet),
//!   [`Verifier`](crate::Verifier) or [`Issuer`](crate::Issuer) is built, so code in the
//!   same process that calls jsonwebtoken directly works without setup;
//! - never depends on which provider won: the [`Verifier`](crate::Verifier) and
//!   [`Issuer`](crate::Issuer) sign and verify with their own parsed ring keys and never
//!   call jsonwebtoken's `encode`/`decode`, so another crate installing another provider
//!   (or jsonwebtoken's panicking placeholder) cannot change how our tokens are checked;
//! - refuses, in the factories, a key whose family is not the algorithm's (jsonwebtoken
//!   hands the provider the token's `alg` and whatever key the caller passed; without this
//!   check an HS256 token would be checked with an RSA public key as the HMAC secret), and
//!   applies the same key-strength rules as everywhere else (HMAC secrets at least the hash
//!   length, RSA at least 2048 bits).
//!
//! The factories receive raw key bytes, so through jsonwebtoken's own API a key is parsed
//! on every call; that is the price of its API, and the reason our own paths do not use it.

use std::sync::OnceLock;

use jsonwebtoken::crypto::{CryptoProvider, JwtSigner, JwtVerifier, KeyUtils};
use jsonwebtoken::errors::{ErrorKind, Result, new_error};
use jsonwebtoken::jwk::{EllipticCurve, ThumbprintHash};
use jsonwebtoken::signature::{self, Signer, Verifier};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, DecodingKeyKind, EncodingKey};
use ring::signature::{EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, RsaKeyPair};

use crate::algorithm;
use crate::der;
use crate::error::KeyError;
use crate::key::{SigningKey, VerifyingKey};

/// The ring-backed provider. Installed by this crate on first use; see [`install`].
pub static RING_PROVIDER: CryptoProvider = CryptoProvider {
    signer_factory: new_signer,
    verifier_factory: new_verifier,
    key_utils: KeyUtils {
        rsa_pub_components_from_private_key: rsa_components_from_private_key,
        rsa_pub_components_from_public_key: rsa_components_from_public_key,
        ec_pub_components_from_private_key: ec_components_from_private_key,
        ed_pub_components_from_private_key: ed_components_from_private_key,
        compute_digest,
    },
};

/// Installs [`RING_PROVIDER`] as jsonwebtoken's process default if no provider is
/// installed yet. Returns whether ours is the default (false when another crate installed
/// its own first, or jsonwebtoken already fell back to its placeholder; this crate's own
/// paths work either way). Idempotent and cheap after the first call.
pub fn install() -> bool {
    // jsonwebtoken's `install_default` hands back the *rejected* provider, not the one in
    // place, so remember the outcome of our one attempt instead.
    static OURS: OnceLock<bool> = OnceLock::new();
    *OURS.get_or_init(|| RING_PROVIDER.install_default().is_ok())
}

fn key_error(error: KeyError) -> jsonwebtoken::errors::Error {
    match error {
        KeyError::WrongFamily(_) => new_error(ErrorKind::InvalidKeyFormat),
        KeyError::UnsupportedAlgorithm(_) => new_error(ErrorKind::UnsupportedAlgorithm),
        other => new_error(ErrorKind::Provider(other.to_string())),
    }
}

fn check_family(alg: Algorithm, family: AlgorithmFamily) -> Result<()> {
    if !algorithm::SUPPORTED.contains(&alg) {
        return Err(new_error(ErrorKind::UnsupportedAlgorithm));
    }
    if algorithm::family(alg) == family {
        Ok(())
    } else {
        Err(new_error(ErrorKind::InvalidKeyFormat))
    }
}

struct RingSigner(SigningKey);

impl Signer<Vec<u8>> for RingSigner {
    fn try_sign(&self, msg: &[u8]) -> std::result::Result<Vec<u8>, signature::Error> {
        self.0.sign(msg).map_err(signature::Error::from_source)
    }
}

impl JwtSigner for RingSigner {
    fn algorithm(&self) -> Algorithm {
        self.0.algorithm()
    }
}

struct RingVerifier(VerifyingKey);

impl Verifier<Vec<u8>> for RingVerifier {
    fn verify(&self, msg: &[u8], signature: &Vec<u8>) -> std::result::Result<(), signature::Error> {
        if self.0.verify(msg, signature) {
            Ok(())
        } else {
            Err(signature::Error::new())
        }
    }
}

impl JwtVerifier for RingVerifier {
    fn algorithm(&self) -> Algorithm {
        self.0.algorithm()
    }
}

fn new_signer(alg: &Algorithm, key: &EncodingKey) -> Result<Box<dyn JwtSigner>> {
    check_family(*alg, key.family())?;
    let bytes = key.as_bytes();
    let signing = match key.family() {
        AlgorithmFamily::Hmac => SigningKey::hmac(*alg, bytes),
        _ => SigningKey::from_der(*alg, bytes),
    }
    .map_err(key_error)?;
    Ok(Box::new(RingSigner(signing)))
}

fn new_verifier(alg: &Algorithm, key: &DecodingKey) -> Result<Box<dyn JwtVerifier>> {
    check_family(*alg, key.family())?;
    let verifying = match key.kind() {
        DecodingKeyKind::RsaModulusExponent { n, e } => VerifyingKey::rsa_components(*alg, n, e),
        DecodingKeyKind::SecretOrDer(bytes) => match key.family() {
            AlgorithmFamily::Hmac => VerifyingKey::hmac(*alg, bytes),
            AlgorithmFamily::Ec => match bytes.split_first() {
                // jsonwebtoken passes EC public keys as the uncompressed point.
                Some((4, xy)) if xy.len() % 2 == 0 => {
                    let (x, y) = xy.split_at(xy.len() / 2);
                    VerifyingKey::ec_coordinates(*alg, x, y)
                }
                _ => VerifyingKey::from_der(*alg, bytes),
            },
            AlgorithmFamily::Ed if bytes.len() == 32 => VerifyingKey::ed25519(bytes),
            _ => VerifyingKey::from_der(*alg, bytes),
        },
    }
    .map_err(key_error)?;
    Ok(Box::new(RingVerifier(verifying)))
}

fn rsa_components_from_private_key(der_bytes: &[u8]) -> Result<(Vec<u8>, Vec<u8>)> {
    let pair = RsaKeyPair::from_der(der_bytes)
        .or_else(|_| RsaKeyPair::from_pkcs8(der_bytes))
        .map_err(|e| new_error(ErrorKind::InvalidRsaKey(e.to_string())))?;
    let (n, e) = der::rsa_public(pair.public().as_ref())
        .ok_or_else(|| new_error(ErrorKind::InvalidRsaKey("no public key".into())))?;
    Ok((n.to_vec(), e.to_vec()))
}

fn rsa_components_from_public_key(der_bytes: &[u8]) -> Result<(Vec<u8>, Vec<u8>)> {
    let pkcs1 = match der::spki(der_bytes) {
        Some((der::KeyKind::Rsa, key)) => key,
        Some(_) => return Err(new_error(ErrorKind::InvalidKeyFormat)),
        None => der_bytes,
    };
    let (n, e) = der::rsa_public(pkcs1)
        .ok_or_else(|| new_error(ErrorKind::InvalidRsaKey("not an RSA public key".into())))?;
    Ok((n.to_vec(), e.to_vec()))
}

fn ec_components_from_private_key(
    der_bytes: &[u8],
    alg: Algorithm,
) -> Result<(EllipticCurve, Vec<u8>, Vec<u8>)> {
    let (signing, _, len) =
        algorithm::ecdsa(alg).ok_or_else(|| new_error(ErrorKind::InvalidEcdsaKey))?;
    let curve = if len == 32 {
        EllipticCurve::P256
    } else {
        EllipticCurve::P384
    };
    let pair = EcdsaKeyPair::from_pkcs8(signing, der_bytes, &ring::rand::SystemRandom::new())
        .map_err(|_| new_error(ErrorKind::InvalidEcdsaKey))?;
    match pair.public_key().as_ref().split_first() {
        Some((4, xy)) if xy.len() == 2 * len => {
            let (x, y) = xy.split_at(len);
            Ok((curve, x.to_vec(), y.to_vec()))
        }
        _ => Err(new_error(ErrorKind::InvalidEcdsaKey)),
    }
}

fn ed_components_from_private_key(der_bytes: &[u8], curve: &EllipticCurve) -> Result<Vec<u8>> {
    if *curve != EllipticCurve::Ed25519 {
        return Err(new_error(ErrorKind::InvalidAlgorithm));
    }
    let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(der_bytes)
        .map_err(|_| new_error(ErrorKind::InvalidEddsaKey))?;
    Ok(pair.public_key().as_ref().to_vec())
}

fn compute_digest(data: &[u8], hash: ThumbprintHash) -> Result<Vec<u8>> {
    let algorithm = match hash {
        ThumbprintHash::SHA256 => &ring::digest::SHA256,
        ThumbprintHash::SHA384 => &ring::digest::SHA384,
        ThumbprintHash::SHA512 => &ring::digest::SHA512,
        _ => return Err(new_error(ErrorKind::UnsupportedAlgorithm)),
    };
    Ok(ring::digest::digest(algorithm, data).as_ref().to_vec())
}
