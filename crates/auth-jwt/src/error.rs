//! Errors of key loading and configuration. Token rejections are auth-core's
//! [`AuthError`](auth_core::AuthError), each malformed or invalid token with a typed
//! [`Reason`](auth_core::Reason) to match on.

/// Why a key was refused when loaded, generated or published.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The algorithm is not one this crate signs or verifies with.
    #[error("unsupported algorithm: {}", shown(.0))]
    UnsupportedAlgorithm(String),
    /// The key belongs to another family than the algorithm (an RSA key for ES256, ...).
    #[error("the key does not fit the algorithm: {0}")]
    WrongFamily(&'static str),
    /// The key is weaker than the algorithm allows (HMAC secret shorter than the hash,
    /// RSA modulus under 2048 bits, public exponent 1, a known weak key).
    #[error("the key is too weak: {0}")]
    TooWeak(&'static str),
    /// The bytes are not a key in the expected encoding.
    #[error("the key is malformed: {0}")]
    Malformed(&'static str),
    /// A JWK or JWK Set broke a rule of RFC 7517 or of this crate.
    #[error("the JWK is refused: {0}")]
    Jwk(&'static str),
    /// The operation needs something this key cannot do (generate RSA keys, export an
    /// HMAC secret as a public JWK).
    #[error("unsupported key operation: {0}")]
    Unsupported(&'static str),
    /// An RSA private key whose members disagree so that it cannot sign (`dp` or `dq`
    /// does not fit the primes and `e`). Refused when the key loads.
    #[error("inconsistent RSA private key: {0}")]
    InconsistentRsaKey(&'static str),
    /// The system random number generator failed.
    #[error("the system random number generator failed")]
    Random,
    /// ring refused to make an RSA signature: its check of the result failed (a key whose
    /// members disagree, which loading refuses) or, for PS*, the random number generator
    /// failed. ring does not say which.
    #[error("the RSA key failed to sign")]
    RsaSigning,
}

/// Why a [`Verifier`](crate::Verifier), [`Issuer`](crate::Issuer) or
/// [`KeySet`](crate::KeySet) could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The leeway is over the configured maximum.
    #[error("leeway of {leeway_secs} s is over the maximum of {max_secs} s")]
    LeewayTooLarge {
        /// The leeway asked for.
        leeway_secs: u64,
        /// The maximum allowed.
        max_secs: u64,
    },
    /// A required setting is missing or empty.
    #[error("missing setting: {0}")]
    Missing(&'static str),
    /// A setting has an impossible value.
    #[error("invalid setting: {0}")]
    Invalid(&'static str),
    /// The key set refused a key.
    #[error(transparent)]
    Key(#[from] KeyError),
}

/// `text` from a document (a `kid`, an `alg`) as a message or a log line shows it: quoted,
/// with control characters escaped so that a name holding a line break cannot forge a
/// second log line, and cut after 64 characters since a document names what it likes.
pub(crate) fn shown(text: &str) -> String {
    const MAX_CHARS: usize = 64;
    match text.char_indices().nth(MAX_CHARS) {
        Some((cut, _)) => format!("{:?}...", &text[..cut]),
        None => format!("{text:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_from_documents_are_quoted_escaped_and_cut() {
        assert_eq!(shown("2026-11"), "\"2026-11\"");
        let forged = "x\nINFO event=\"keys.reloaded\"";
        let message = KeyError::UnsupportedAlgorithm(forged.to_owned()).to_string();
        assert!(!message.contains('\n'), "{message}");
        assert!(message.contains("x\\nINFO"), "{message}");
        let long = "é".repeat(100);
        assert_eq!(shown(&long), format!("\"{}\"...", "é".repeat(64)));
    }
}
