//! `authctl keygen`: a new private JWK, or the private JWK of an existing PEM key
//! (`--from`), which is how RSA keys enter: ring, our only cryptography, cannot generate
//! them. auth-jwt generates, loads and exports the key; this command picks the `kid`.

use std::path::Path;

use auth_jwt::{Algorithm, Jwk, SigningKey};
use base64::Engine as _;
use ring::rand::{SecureRandom, SystemRandom};

use crate::error::CliError;
use crate::keyfile::{self, KeyFile};

const RSA_ADVICE: &str = "ring cannot generate RSA keys: create one with \
    `openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072 -out key.pem`, then \
    convert it with `authctl keygen --alg ALG --from key.pem --out key.jwk` (or use \
    key.pem directly with `--key`/`--alg`)";

/// Runs `keygen`: returns the private JWK.
pub(crate) fn run(alg: &str, kid: Option<String>, from: Option<&Path>) -> Result<Jwk, CliError> {
    let key = new_key(alg, from)?;
    finish(&key, kid)
}

/// A new key for `alg`, or the key of the PEM private key `from` bound to `alg`.
pub(crate) fn new_key(alg: &str, from: Option<&Path>) -> Result<SigningKey, CliError> {
    let alg = keyfile::parse_alg(alg)?;
    let is_rsa = matches!(
        alg,
        Algorithm::RS256
            | Algorithm::RS384
            | Algorithm::RS512
            | Algorithm::PS256
            | Algorithm::PS384
            | Algorithm::PS512
    );
    let is_hmac = matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512);
    let key = match from {
        Some(_) if is_hmac => {
            return Err(CliError::Invalid(
                "--from reads PEM private keys; an HMAC secret is generated, not converted"
                    .to_owned(),
            ));
        }
        Some(path) => from_pem(path, alg)?,
        None if is_rsa => return Err(CliError::Invalid(RSA_ADVICE.to_owned())),
        // A random secret as long as the hash for HS*, a new key pair otherwise.
        None => SigningKey::generate(alg).map_err(CliError::key("the new key"))?,
    };
    Ok(key)
}

fn from_pem(path: &Path, alg: Algorithm) -> Result<SigningKey, CliError> {
    let loaded = keyfile::load(path)?;
    let KeyFile::PrivatePem(_, text) = &loaded.file else {
        return Err(CliError::key_file(
            loaded.name,
            "--from takes a PEM private key (PKCS#8, or PKCS#1 for RSA)",
        ));
    };
    SigningKey::from_pem(alg, text).map_err(CliError::key(&loaded.name))
}

/// The `kid` of a new key: `kid`, or by default the RFC 7638 thumbprint, or a random one
/// for an HMAC secret (whose thumbprint would be a hash of the secret).
pub(crate) fn kid_for(key: &SigningKey, kid: Option<String>) -> Result<Option<String>, CliError> {
    Ok(match kid {
        Some(kid) => Some(kid),
        None if key.verifying_key().is_symmetric() => {
            let mut bytes = [0u8; 12];
            SystemRandom::new()
                .fill(&mut bytes)
                .map_err(|_| CliError::Random)?;
            Some(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
        }
        None => keyfile::default_kid(&key.verifying_key()),
    })
}

/// What `keygen --out FILE` says on stderr once the key is in FILE.
pub(crate) fn written(jwk: &Jwk, file: &Path) -> String {
    let kid = jwk.kid.as_deref().unwrap_or_default();
    format!(
        "the private JWK (kid {}) is in {}: keep it secret",
        serde_json::Value::from(kid),
        file.display()
    )
}

/// The private JWK of `key` under `kid` (see [`kid_for`]).
fn finish(key: &SigningKey, kid: Option<String>) -> Result<Jwk, CliError> {
    let kid = kid_for(key, kid)?;
    let jwk = key.to_private_jwk(kid.as_deref());
    // The finished JWK must load as a signing key, kid and all.
    jwk.to_signing_key().map_err(CliError::key("the new key"))?;
    if let Some(kid) = &jwk.kid
        && auth_jwt::check_kid(kid).is_err()
    {
        return Err(CliError::Invalid(format!(
            "--kid must be 1 to {} bytes without control characters",
            auth_jwt::MAX_KID_LEN
        )));
    }
    Ok(jwk)
}
