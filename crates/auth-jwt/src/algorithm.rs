//! What each supported algorithm means to ring, and the strict parsing of `alg` names.

use jsonwebtoken::{Algorithm, AlgorithmFamily};
use ring::signature;

/// Every algorithm this crate signs and verifies with.
pub const SUPPORTED: [Algorithm; 12] = [
    Algorithm::HS256,
    Algorithm::HS384,
    Algorithm::HS512,
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// The JOSE name of `alg` (RFC 7518 §3.1, RFC 8037 §3.1).
pub fn name(alg: Algorithm) -> &'static str {
    match alg {
        Algorithm::HS256 => "HS256",
        Algorithm::HS384 => "HS384",
        Algorithm::HS512 => "HS512",
        Algorithm::RS256 => "RS256",
        Algorithm::RS384 => "RS384",
        Algorithm::RS512 => "RS512",
        Algorithm::PS256 => "PS256",
        Algorithm::PS384 => "PS384",
        Algorithm::PS512 => "PS512",
        Algorithm::ES256 => "ES256",
        Algorithm::ES384 => "ES384",
        Algorithm::EdDSA => "EdDSA",
        // jsonwebtoken's enum is non-exhaustive; a future variant is not one of ours.
        _ => "unsupported",
    }
}

/// Parses a JOSE `alg` name exactly (case-sensitive); `none` and everything unsupported
/// is `None`.
pub fn parse(text: &str) -> Option<Algorithm> {
    SUPPORTED.into_iter().find(|&alg| name(alg) == text)
}

pub(crate) fn hmac(alg: Algorithm) -> Option<ring::hmac::Algorithm> {
    match alg {
        Algorithm::HS256 => Some(ring::hmac::HMAC_SHA256),
        Algorithm::HS384 => Some(ring::hmac::HMAC_SHA384),
        Algorithm::HS512 => Some(ring::hmac::HMAC_SHA512),
        _ => None,
    }
}

pub(crate) fn rsa_signing(alg: Algorithm) -> Option<&'static dyn signature::RsaEncoding> {
    Some(match alg {
        Algorithm::RS256 => &signature::RSA_PKCS1_SHA256,
        Algorithm::RS384 => &signature::RSA_PKCS1_SHA384,
        Algorithm::RS512 => &signature::RSA_PKCS1_SHA512,
        Algorithm::PS256 => &signature::RSA_PSS_SHA256,
        Algorithm::PS384 => &signature::RSA_PSS_SHA384,
        Algorithm::PS512 => &signature::RSA_PSS_SHA512,
        _ => return None,
    })
}

pub(crate) fn rsa_verification(alg: Algorithm) -> Option<&'static signature::RsaParameters> {
    Some(match alg {
        Algorithm::RS256 => &signature::RSA_PKCS1_2048_8192_SHA256,
        Algorithm::RS384 => &signature::RSA_PKCS1_2048_8192_SHA384,
        Algorithm::RS512 => &signature::RSA_PKCS1_2048_8192_SHA512,
        Algorithm::PS256 => &signature::RSA_PSS_2048_8192_SHA256,
        Algorithm::PS384 => &signature::RSA_PSS_2048_8192_SHA384,
        Algorithm::PS512 => &signature::RSA_PSS_2048_8192_SHA512,
        _ => return None,
    })
}

/// The ring algorithms of an ECDSA `alg`, and its coordinate length in bytes.
pub(crate) fn ecdsa(
    alg: Algorithm,
) -> Option<(
    &'static signature::EcdsaSigningAlgorithm,
    &'static signature::EcdsaVerificationAlgorithm,
    usize,
)> {
    match alg {
        Algorithm::ES256 => Some((
            &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            &signature::ECDSA_P256_SHA256_FIXED,
            32,
        )),
        Algorithm::ES384 => Some((
            &signature::ECDSA_P384_SHA384_FIXED_SIGNING,
            &signature::ECDSA_P384_SHA384_FIXED,
            48,
        )),
        _ => None,
    }
}

/// The JWK `crv` name of an ECDSA `alg`.
pub(crate) fn curve(alg: Algorithm) -> Option<&'static str> {
    match alg {
        Algorithm::ES256 => Some("P-256"),
        Algorithm::ES384 => Some("P-384"),
        _ => None,
    }
}

/// The family, as jsonwebtoken names it.
pub(crate) fn family(alg: Algorithm) -> AlgorithmFamily {
    alg.family()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_none_is_not_an_algorithm() {
        for alg in SUPPORTED {
            assert_eq!(parse(name(alg)), Some(alg));
        }
        for bad in ["none", "None", "NONE", "hs256", "ES512", "", "HS256 "] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }
}
