//! The keys that sign the demo's access tokens: a key file (`--keys FILE`, a JWK Set of
//! private JWKs whose first key signs), re-read on demand without a restart, or else one
//! key generated at every start (`--jwt-alg es256` (default), `hs256` or `eddsa`), whose
//! tokens die with the process.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, Mutex, PoisonError};

use auth_core::SharedClock;
use auth_jwt::{Algorithm, KeyFileError, KeyInfo, KeySet, SigningKey, SigningKeys};

use super::DemoConfig;

/// The demo's key set: from the key file when there is one, else a fresh key.
pub(crate) fn key_set(config: &DemoConfig, clock: SharedClock) -> anyhow::Result<KeySet> {
    match &config.keys {
        Some(file) => Ok(file.load(clock)?),
        None => config.jwt_alg.key_set(clock),
    }
}

/// A key file the demo signs and verifies with (`--keys FILE`): a JWK Set of private JWKs
/// as `authctl keygen` prints them and `authctl keys` edits them. The first key signs,
/// every key verifies, and the JWKS endpoint publishes every key but HMAC secrets.
///
/// [`KeyFile::reload`] (what the demo binary runs on SIGHUP) re-reads the file and swaps
/// the demo's whole key set at once, with no restart and no dropped connection; a file
/// that cannot be used leaves the current keys in place. Clones share the same file and
/// the key sets loaded from it.
#[derive(Clone)]
pub struct KeyFile {
    path: PathBuf,
    /// Every key set loaded from this file (one per running demo).
    loaded: Arc<Mutex<Vec<KeySet>>>,
}

impl fmt::Debug for KeyFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyFile")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl KeyFile {
    /// The key file at `path` (read when the demo starts).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            loaded: Arc::default(),
        }
    }

    /// Where the file is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A key set holding the file's keys, which later reloads replace.
    fn load(&self, clock: SharedClock) -> Result<KeySet, KeyFileError> {
        let keys = KeySet::from_key_file(&self.path, clock)?;
        self.sets().push(keys.clone());
        Ok(keys)
    }

    /// Re-reads the file and swaps every key set loaded from it, whole: the first key
    /// signs from now on, the keys the file no longer holds stop verifying. Returns the
    /// keys now in use. On an error nothing changes: the demo keeps its current keys.
    pub fn reload(&self) -> Result<Vec<KeyInfo>, KeyFileError> {
        let keys = SigningKeys::read(&self.path)?;
        for set in self.sets().iter() {
            set.reload(&keys);
        }
        Ok(keys.list())
    }

    fn sets(&self) -> std::sync::MutexGuard<'_, Vec<KeySet>> {
        // Nothing panics while holding the lock; a poisoned one still holds whole sets.
        self.loaded.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

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
