//! Errors of key loading and configuration. Token rejections are auth-core's
//! [`AuthError`](auth_core::AuthError), each malformed or invalid token with a typed
//! [`Reason`](auth_core::Reason) to match on.

/// Why a key was refused when loaded, generated or published.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The algorithm is not one this crate signs or verifies with.
    #[error("unsupported algorithm: {0}")]
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
    /// The system random number generator failed.
    #[error("the system random number generator failed")]
    Random,
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
