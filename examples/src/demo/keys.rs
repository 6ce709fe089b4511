//! Which algorithm signs the demo's access tokens: `--jwt-alg es256` (default), `hs256`
//! or `eddsa`. The key is generated at every start, so tokens die with the process.

use std::fmt;
use std::str::FromStr;

use auth_core::SharedClock;
use auth_jwt::{Algorithm, KeySet, SigningKey};

/// The token algorithms the demo can be started with.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum JwtAlg {
    /// HMAC with SHA-256: one shared secret, nothing published in the JWKS.
    Hs256,
    /// ECDSA on P-256 with SHA-256 (the default).
    #[default]
    Es256,
    /// Ed25519.
    EdDsa,
}

impl JwtAlg {
    /// The JOSE algorithm.
    pub fn algorithm(self) -> Algorithm {
        match self {
            Self::Hs256 => Algorithm::HS256,
            Self::Es256 => Algorithm::ES256,
            Self::EdDsa => Algorithm::EdDSA,
        }
    }

    /// The `kid` the demo's key carries.
    pub fn kid(self) -> &'static str {
        match self {
            Self::Hs256 => "demo-hs256-1",
            Self::Es256 => "demo-es256-1",
            Self::EdDsa => "demo-eddsa-1",
        }
    }

    /// A key set holding one freshly generated signing key.
    pub(crate) fn key_set(self, clock: SharedClock) -> anyhow::Result<KeySet> {
        let key = SigningKey::generate(self.algorithm())?;
        Ok(KeySet::with_signing_key(clock, self.kid(), key)?)
    }
}

impl FromStr for JwtAlg {
    type Err = anyhow::Error;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.to_ascii_lowercase().as_str() {
            "hs256" => Ok(Self::Hs256),
            "es256" => Ok(Self::Es256),
            "eddsa" => Ok(Self::EdDsa),
            _ => anyhow::bail!("--jwt-alg {text:?}: expected hs256, es256 or eddsa"),
        }
    }
}

impl fmt::Display for JwtAlg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(auth_jwt::algorithm::name(self.algorithm()))
    }
}

#[cfg(test)]
mod tests {
    use super::JwtAlg;

    #[test]
    fn parses_the_three_names_and_nothing_else() {
        for (text, alg) in [
            ("hs256", JwtAlg::Hs256),
            ("ES256", JwtAlg::Es256),
            ("EdDSA", JwtAlg::EdDsa),
        ] {
            assert_eq!(text.parse::<JwtAlg>().ok(), Some(alg));
        }
        for bad in ["none", "rs256", "hs512", ""] {
            assert!(bad.parse::<JwtAlg>().is_err(), "{bad}");
        }
        assert_eq!(JwtAlg::default(), JwtAlg::Es256);
        assert_eq!(JwtAlg::EdDsa.to_string(), "EdDSA");
    }
}
