//! `authctl keygen`: a new private JWK, or the private JWK of an existing PEM key
//! (`--from`), which is how RSA keys enter: ring, our only cryptography, cannot generate
//! them.

use std::path::Path;

use auth_jwt::{Algorithm, Jwk, SigningKey, algorithm};
use base64::Engine as _;
use ring::rand::{SecureRandom, SystemRandom};

use crate::der::{self, PrivateParts};
use crate::error::CliError;
use crate::keyfile::{self, KeyFile};
use crate::{pem, thumbprint};

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

const RSA_ADVICE: &str = "ring cannot generate RSA keys: create one with \
    `openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072 -out key.pem`, then \
    convert it with `authctl keygen --alg ALG --from key.pem` (or use key.pem directly \
    with `--key`/`--alg`)";

/// Runs `keygen`: returns the private JWK.
pub(crate) fn run(alg: &str, kid: Option<String>, from: Option<&Path>) -> Result<Jwk, CliError> {
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
    let jwk = match from {
        Some(_) if is_hmac => {
            return Err(CliError::Invalid(
                "--from reads PEM private keys; an HMAC secret is generated, not converted"
                    .to_owned(),
            ));
        }
        Some(path) => from_pem(path, alg)?,
        None if is_rsa => return Err(CliError::Invalid(RSA_ADVICE.to_owned())),
        None if is_hmac => hmac(alg)?,
        None => {
            let pkcs8 = SigningKey::generate_pkcs8(alg).map_err(CliError::key("the new key"))?;
            from_pkcs8(alg, &pkcs8, "the new key")?
        }
    };
    finish(jwk, kid)
}

fn hmac(alg: Algorithm) -> Result<Jwk, CliError> {
    let len = match alg {
        Algorithm::HS256 => 32,
        Algorithm::HS384 => 48,
        _ => 64,
    };
    let mut secret = vec![0u8; len];
    SystemRandom::new()
        .fill(&mut secret)
        .map_err(|_| CliError::Random)?;
    let mut jwk = Jwk::default();
    jwk.kty = "oct".to_owned();
    jwk.alg = Some(algorithm::name(alg).to_owned());
    jwk.key_use = Some("sig".to_owned());
    jwk.k = Some(b64(&secret));
    Ok(jwk)
}

fn from_pem(path: &Path, alg: Algorithm) -> Result<Jwk, CliError> {
    let loaded = keyfile::load(path)?;
    let KeyFile::PrivatePem(text) = &loaded.file else {
        return Err(CliError::key_file(
            loaded.name,
            "--from takes a PEM private key (PKCS#8, or PKCS#1 for RSA)",
        ));
    };
    let Some((label, der)) = pem::decode(text) else {
        return Err(CliError::key_file(loaded.name, "not a PEM document"));
    };
    if label == "RSA PRIVATE KEY" {
        // Let auth-jwt check the key (family, size, consistency) before exporting it.
        let key = SigningKey::from_pem(alg, text).map_err(CliError::key(&loaded.name))?;
        let parts = der::rsa_private_key(&der)
            .ok_or_else(|| CliError::key_file(&loaded.name, "not a PKCS#1 RSA private key"))?;
        return assemble(&key, parts, &loaded.name);
    }
    from_pkcs8(alg, &der, &loaded.name)
}

/// The private JWK of a PKCS#8 document, after auth-jwt accepted the key for `alg`.
fn from_pkcs8(alg: Algorithm, pkcs8: &[u8], name: &str) -> Result<Jwk, CliError> {
    let key = SigningKey::from_der(alg, pkcs8).map_err(CliError::key(name))?;
    let parts = der::pkcs8_private_parts(pkcs8)
        .ok_or_else(|| CliError::key_file(name, "not a PKCS#8 RSA, EC or Ed25519 private key"))?;
    assemble(&key, parts, name)
}

/// The public JWK of `key` (from auth-jwt) with the private members added, checked by
/// loading it back with auth-jwt and comparing the public halves.
fn assemble(key: &SigningKey, parts: PrivateParts, name: &str) -> Result<Jwk, CliError> {
    let public = key
        .verifying_key()
        .to_jwk(None)
        .map_err(CliError::key(name))?;
    let mut jwk = public.clone();
    match parts {
        PrivateParts::Rsa([d, p, q, dp, dq, qi]) => {
            jwk.d = Some(b64(&d));
            jwk.p = Some(b64(&p));
            jwk.q = Some(b64(&q));
            jwk.dp = Some(b64(&dp));
            jwk.dq = Some(b64(&dq));
            jwk.qi = Some(b64(&qi));
        }
        PrivateParts::Ec(d) => {
            // The scalar has the coordinates' length (RFC 7518 §6.2.2.1).
            let len = jwk
                .x
                .as_deref()
                .and_then(|x| {
                    base64::engine::general_purpose::URL_SAFE_NO_PAD
                        .decode(x)
                        .ok()
                })
                .map_or(0, |x| x.len());
            let mut padded = vec![0u8; len.saturating_sub(d.len())];
            padded.extend_from_slice(&d);
            jwk.d = Some(b64(&padded));
        }
        PrivateParts::Ed(seed) => jwk.d = Some(b64(&seed)),
    }
    let reloaded = jwk
        .to_signing_key()
        .and_then(|k| k.verifying_key().to_jwk(None))
        .map_err(CliError::key(name))?;
    if reloaded != public {
        return Err(CliError::key_file(
            name,
            "the private members read from the key do not match its public key",
        ));
    }
    Ok(jwk)
}

fn finish(mut jwk: Jwk, kid: Option<String>) -> Result<Jwk, CliError> {
    jwk.kid = match kid {
        Some(kid) => Some(kid),
        None if jwk.kty == "oct" => {
            let mut bytes = [0u8; 12];
            SystemRandom::new()
                .fill(&mut bytes)
                .map_err(|_| CliError::Random)?;
            Some(b64(&bytes))
        }
        None => thumbprint::of(&jwk),
    };
    // The finished JWK must load as a signing key, kid and all.
    let what = "the new key";
    jwk.to_signing_key().map_err(CliError::key(what))?;
    if let Some(kid) = &jwk.kid
        && (kid.is_empty()
            || kid.len() > auth_jwt::MAX_KID_LEN
            || kid.chars().any(char::is_control))
    {
        return Err(CliError::Invalid(format!(
            "--kid must be 1 to {} bytes without control characters",
            auth_jwt::MAX_KID_LEN
        )));
    }
    Ok(jwk)
}
