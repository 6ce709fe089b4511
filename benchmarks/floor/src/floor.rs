//! The floor: the least work any JWT library must do, with ring and keys parsed once.
//!
//! Verifying: split, base64url-decode the signature, ring verify, base64url-decode the
//! claims and parse them with serde_json into [`Claims`]. No rule is checked. Signing:
//! serde_json of the claims, base64url, ring sign, base64url. This is the same work
//! auth-jwt's own bench measures as its floor, so every process measures the same thing.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::SystemRandom;
use ring::signature::{self, KeyPair as _};

use crate::alg::Family;
use crate::{Alg, Claims, FloorError, KeyMaterial};

/// Signing and verifying keys for one algorithm, parsed once into ring objects.
pub struct Floor {
    signer: Signer,
    verifier: Verifier,
    rng: SystemRandom,
}

enum Signer {
    Hmac(ring::hmac::Key),
    Rsa(signature::RsaKeyPair, &'static dyn signature::RsaEncoding),
    Ec(signature::EcdsaKeyPair),
    Ed(signature::Ed25519KeyPair),
}

enum Verifier {
    Hmac(ring::hmac::Key),
    Rsa(
        signature::RsaPublicKeyComponents<Vec<u8>>,
        &'static signature::RsaParameters,
    ),
    Unparsed(signature::UnparsedPublicKey<Vec<u8>>),
}

impl Floor {
    /// Parses `material` for `alg` into ring keys.
    pub fn new(alg: Alg, material: &KeyMaterial) -> Result<Self, FloorError> {
        let rng = SystemRandom::new();
        let refused = |e: &dyn std::fmt::Display| FloorError::Key {
            alg: alg.name(),
            reason: e.to_string(),
        };
        let missing = || refused(&"wrong kind of key material");
        let (signer, verifier) = match alg.family() {
            Family::Hmac => {
                let secret = material.secret().ok_or_else(missing)?;
                let ring_alg = match alg {
                    Alg::HS256 => ring::hmac::HMAC_SHA256,
                    Alg::HS384 => ring::hmac::HMAC_SHA384,
                    _ => ring::hmac::HMAC_SHA512,
                };
                let key = ring::hmac::Key::new(ring_alg, secret);
                (Signer::Hmac(key.clone()), Verifier::Hmac(key))
            }
            Family::Rsa => {
                let pair = material.pair().ok_or_else(missing)?;
                let (padding, params) = rsa_algorithms(alg);
                let key =
                    signature::RsaKeyPair::from_pkcs8(&pair.pkcs8).map_err(|e| refused(&e))?;
                let components = signature::RsaPublicKeyComponents::<Vec<u8>>::from(key.public());
                (Signer::Rsa(key, padding), Verifier::Rsa(components, params))
            }
            Family::Ec => {
                let pair = material.pair().ok_or_else(missing)?;
                let (signing, verifying) = if alg == Alg::ES256 {
                    (
                        &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                        &signature::ECDSA_P256_SHA256_FIXED,
                    )
                } else {
                    (
                        &signature::ECDSA_P384_SHA384_FIXED_SIGNING,
                        &signature::ECDSA_P384_SHA384_FIXED,
                    )
                };
                let key = signature::EcdsaKeyPair::from_pkcs8(signing, &pair.pkcs8, &rng)
                    .map_err(|e| refused(&e))?;
                let public = signature::UnparsedPublicKey::new(
                    verifying,
                    key.public_key().as_ref().to_vec(),
                );
                (Signer::Ec(key), Verifier::Unparsed(public))
            }
            Family::Ed => {
                let pair = material.pair().ok_or_else(missing)?;
                // A v1 document (no public key inside): ring checks nothing more to check.
                let key = signature::Ed25519KeyPair::from_pkcs8_maybe_unchecked(&pair.pkcs8)
                    .map_err(|e| refused(&e))?;
                let public = signature::UnparsedPublicKey::new(
                    &signature::ED25519,
                    key.public_key().as_ref().to_vec(),
                );
                (Signer::Ed(key), Verifier::Unparsed(public))
            }
        };
        Ok(Floor {
            signer,
            verifier,
            rng,
        })
    }

    /// Checks the signature of `token` and parses its claims. No claim is validated.
    pub fn verify(&self, token: &str) -> Result<Claims, FloorError> {
        let (input, sig_b64) = token.rsplit_once('.').ok_or(FloorError::Compact)?;
        let mut sig = [0u8; 512];
        let len = URL_SAFE_NO_PAD
            .decode_slice(sig_b64, &mut sig)
            .map_err(FloorError::Base64)?;
        let sig = &sig[..len];
        let input_bytes = input.as_bytes();
        let verified = match &self.verifier {
            Verifier::Hmac(k) => ring::hmac::verify(k, input_bytes, sig).is_ok(),
            Verifier::Rsa(k, params) => k.verify(params, input_bytes, sig).is_ok(),
            Verifier::Unparsed(k) => k.verify(input_bytes, sig).is_ok(),
        };
        if !verified {
            return Err(FloorError::Signature);
        }
        let (_, payload_b64) = input.split_once('.').ok_or(FloorError::Compact)?;
        let mut payload = [0u8; 1024];
        let len = URL_SAFE_NO_PAD
            .decode_slice(payload_b64, &mut payload)
            .map_err(FloorError::Base64)?;
        serde_json::from_slice(&payload[..len]).map_err(FloorError::Json)
    }

    /// Signs `claims` under the already encoded header `header_b64`.
    pub fn sign(&self, header_b64: &str, claims: &Claims) -> Result<String, FloorError> {
        let json = serde_json::to_vec(claims).map_err(FloorError::Json)?;
        let mut token = String::with_capacity(512);
        token.push_str(header_b64);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(&json, &mut token);
        let input = token.as_bytes();
        let signature: Vec<u8> = match &self.signer {
            Signer::Hmac(k) => ring::hmac::sign(k, input).as_ref().to_vec(),
            Signer::Ec(k) => k
                .sign(&self.rng, input)
                .map_err(|_| FloorError::Sign)?
                .as_ref()
                .to_vec(),
            Signer::Ed(k) => k.sign(input).as_ref().to_vec(),
            Signer::Rsa(k, padding) => {
                let mut out = vec![0; k.public().modulus_len()];
                k.sign(*padding, &self.rng, input, &mut out)
                    .map_err(|_| FloorError::Sign)?;
                out
            }
        };
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(signature, &mut token);
        Ok(token)
    }
}

fn rsa_algorithms(
    alg: Alg,
) -> (
    &'static dyn signature::RsaEncoding,
    &'static signature::RsaParameters,
) {
    match alg {
        Alg::RS256 => (
            &signature::RSA_PKCS1_SHA256,
            &signature::RSA_PKCS1_2048_8192_SHA256,
        ),
        Alg::RS384 => (
            &signature::RSA_PKCS1_SHA384,
            &signature::RSA_PKCS1_2048_8192_SHA384,
        ),
        Alg::RS512 => (
            &signature::RSA_PKCS1_SHA512,
            &signature::RSA_PKCS1_2048_8192_SHA512,
        ),
        Alg::PS256 => (
            &signature::RSA_PSS_SHA256,
            &signature::RSA_PSS_2048_8192_SHA256,
        ),
        Alg::PS384 => (
            &signature::RSA_PSS_SHA384,
            &signature::RSA_PSS_2048_8192_SHA384,
        ),
        _ => (
            &signature::RSA_PSS_SHA512,
            &signature::RSA_PSS_2048_8192_SHA512,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{KID, header_b64};

    #[test]
    fn every_algorithm_round_trips_and_refuses_a_forged_signature() {
        for alg in Alg::ALL {
            let material = KeyMaterial::for_alg(alg).unwrap();
            let floor = Floor::new(alg, &material).unwrap();
            let claims = Claims::issue_now().unwrap();
            let token = floor.sign(&header_b64(alg, KID), &claims).unwrap();
            assert_eq!(floor.verify(&token).unwrap(), claims, "{alg:?}");
            // Another key of the same family must not verify it.
            let other = Floor::new(
                alg,
                &KeyMaterial::Hmac {
                    secret: vec![1; 64],
                },
            );
            if let Ok(other) = other {
                assert!(matches!(other.verify(&token), Err(FloorError::Signature)));
            }
            let (input, _) = token.rsplit_once('.').unwrap();
            let forged = format!("{input}.{}", "A".repeat(token.len() - input.len() - 1));
            assert!(floor.verify(&forged).is_err(), "{alg:?}");
        }
    }
}
