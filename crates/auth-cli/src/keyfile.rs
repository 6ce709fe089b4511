//! Key files: a JWK, a JWK Set, or PEM (PKCS#8 or PKCS#1 private keys, SubjectPublicKeyInfo
//! or PKCS#1 public keys), turned into auth-jwt keys. The algorithm always comes from the
//! key: a JWK's `alg` (or its curve), `--alg` for a key that names none, or the curve of
//! an EC or Ed25519 PEM key. An RSA PEM key serves six algorithms, so it needs `--alg`.

use std::path::Path;

use auth_jwt::{Algorithm, Jwk, JwkSet, KeyError, SigningKey, VerifyingKey, algorithm};

use crate::error::CliError;
use crate::{input, pem, thumbprint};

/// What a key file holds.
pub(crate) enum KeyFile {
    /// One JWK (public, private or secret).
    Jwk(Box<Jwk>),
    /// A JWK Set.
    Set(JwkSet),
    /// A PEM private key (the whole text).
    PrivatePem(String),
    /// A PEM public key (the whole text).
    PublicPem(String),
}

/// A key file, read and classified (not yet turned into a key).
pub(crate) struct Loaded {
    /// The file name, for messages.
    pub(crate) name: String,
    /// The contents.
    pub(crate) file: KeyFile,
}

/// Reads and classifies a key file.
pub(crate) fn load(path: &Path) -> Result<Loaded, CliError> {
    let name = path.display().to_string();
    let text = input::file(path)?;
    let file = classify(&name, text)?;
    Ok(Loaded { name, file })
}

fn classify(name: &str, text: String) -> Result<KeyFile, CliError> {
    if let Some(label) = pem::label(&text) {
        return if label.ends_with("PRIVATE KEY") {
            Ok(KeyFile::PrivatePem(text))
        } else if label.ends_with("PUBLIC KEY") {
            Ok(KeyFile::PublicPem(text))
        } else {
            Err(CliError::key_file(
                name,
                format!("a PEM `{label}` block is not a key"),
            ))
        };
    }
    let json = |source| CliError::Json {
        what: name.to_owned(),
        source,
    };
    let value: serde_json::Value = serde_json::from_str(&text).map_err(json)?;
    if !value.is_object() {
        return Err(CliError::key_file(
            name,
            "neither a JWK, a JWK Set nor a PEM key",
        ));
    }
    // Parse the text again (not the value) so duplicated members are refused.
    if value.get("keys").is_some() {
        serde_json::from_str(&text).map(KeyFile::Set).map_err(json)
    } else {
        serde_json::from_str(&text)
            .map(|jwk| KeyFile::Jwk(Box::new(jwk)))
            .map_err(json)
    }
}

/// Parses an algorithm name exactly as JOSE spells it.
pub(crate) fn parse_alg(name: &str) -> Result<Algorithm, CliError> {
    algorithm::parse(name).ok_or_else(|| CliError::Algorithm(name.to_owned()))
}

/// How a key is named in messages: the file, and the `kid` for a key of a set.
fn describe(name: &str, jwk: &Jwk) -> String {
    match &jwk.kid {
        Some(kid) => format!("{name}: key `{kid}`"),
        None => name.to_owned(),
    }
}

/// Binds a JWK to `--alg`: a JWK without `alg` takes it; a JWK whose own `alg` differs is
/// an error. Whether the key type fits the algorithm is auth-jwt's decision, later.
pub(crate) fn bind(name: &str, jwk: &mut Jwk, alg: Option<Algorithm>) -> Result<(), CliError> {
    let Some(alg) = alg else { return Ok(()) };
    let wanted = algorithm::name(alg);
    match &jwk.alg {
        None => {
            jwk.alg = Some(wanted.to_owned());
            Ok(())
        }
        Some(own) if own == wanted => Ok(()),
        Some(own) => Err(CliError::key_file(
            describe(name, jwk),
            format!("the JWK's alg is {own} but --alg is {wanted}"),
        )),
    }
}

/// Tries the algorithms a PEM key could serve and returns the one its type decides. An
/// RSA key needs `alg`; an EC or Ed25519 key's curve decides (and must agree with `alg`).
fn pem_key<T>(
    name: &str,
    alg: Option<Algorithm>,
    load: impl Fn(Algorithm) -> Result<T, KeyError>,
) -> Result<(Algorithm, T), CliError> {
    if let Some(alg) = alg {
        return load(alg).map(|key| (alg, key)).map_err(CliError::key(name));
    }
    let mut specific = None;
    for candidate in [
        Algorithm::ES256,
        Algorithm::ES384,
        Algorithm::EdDSA,
        Algorithm::RS256,
    ] {
        match load(candidate) {
            Ok(_) if candidate == Algorithm::RS256 => {
                return Err(CliError::key_file(
                    name,
                    "an RSA key serves RS256, RS384, RS512, PS256, PS384 and PS512: choose one with --alg",
                ));
            }
            Ok(key) => return Ok((candidate, key)),
            Err(KeyError::WrongFamily(_)) | Err(KeyError::Malformed(_)) => {}
            Err(other) => specific = specific.or(Some(other)),
        }
    }
    Err(match specific {
        Some(error) => CliError::key(name)(error),
        None => CliError::key_file(
            name,
            "not an RSA, P-256, P-384 or Ed25519 key in PKCS#8, PKCS#1 or SubjectPublicKeyInfo form",
        ),
    })
}

/// A key that signs, and the `kid` its tokens name.
pub(crate) struct Signer {
    /// The key.
    pub(crate) key: SigningKey,
    /// The `kid`: the JWK's own, else the RFC 7638 thumbprint of an asymmetric key.
    pub(crate) kid: Option<String>,
}

/// The default `kid` of an asymmetric key: its RFC 7638 thumbprint.
pub(crate) fn default_kid(key: &VerifyingKey) -> Option<String> {
    key.to_jwk(None).ok().as_ref().and_then(thumbprint::of)
}

/// The signing key of a key file (a private JWK, a JWK Set of one private key, or a PEM
/// private key).
pub(crate) fn signer(loaded: Loaded, alg: Option<Algorithm>) -> Result<Signer, CliError> {
    let name = loaded.name;
    let mut jwk = match loaded.file {
        KeyFile::Jwk(jwk) => *jwk,
        KeyFile::Set(set) => match <[Jwk; 1]>::try_from(set.keys) {
            Ok([jwk]) => jwk,
            Err(_) => {
                return Err(CliError::key_file(
                    name,
                    "a JWK Set of several keys: signing needs a file with one key",
                ));
            }
        },
        KeyFile::PrivatePem(text) => {
            let (_, key) = pem_key(&name, alg, |alg| SigningKey::from_pem(alg, &text))?;
            let kid = default_kid(&key.verifying_key());
            return Ok(Signer { key, kid });
        }
        KeyFile::PublicPem(_) => {
            return Err(CliError::key_file(
                name,
                "a public key cannot sign: give the private key",
            ));
        }
    };
    bind(&name, &mut jwk, alg)?;
    if !jwk.has_private_members() {
        return Err(CliError::key_file(
            describe(&name, &jwk),
            "a public JWK cannot sign: give the private key",
        ));
    }
    let key = jwk
        .to_signing_key()
        .map_err(CliError::key(describe(&name, &jwk)))?;
    let kid = match jwk.kid {
        Some(kid) => Some(kid),
        None if key.verifying_key().is_symmetric() => None,
        None => default_kid(&key.verifying_key()),
    };
    Ok(Signer { key, kid })
}

/// The public JWKs of a key file, for a published JWK Set: private JWKs and PEM private
/// keys give their public half; HMAC secrets are refused (never published).
pub(crate) fn public_jwks(loaded: Loaded, alg: Option<Algorithm>) -> Result<Vec<Jwk>, CliError> {
    let name = loaded.name;
    let jwks = match loaded.file {
        KeyFile::Jwk(jwk) => vec![*jwk],
        KeyFile::Set(set) => set.keys,
        KeyFile::PrivatePem(text) => {
            let (_, key) = pem_key(&name, alg, |alg| SigningKey::from_pem(alg, &text))?;
            return publish(&name, &key.verifying_key(), None).map(|jwk| vec![jwk]);
        }
        KeyFile::PublicPem(text) => {
            let (_, key) = pem_key(&name, alg, |alg| VerifyingKey::from_pem(alg, &text))?;
            return publish(&name, &key, None).map(|jwk| vec![jwk]);
        }
    };
    jwks.into_iter()
        .map(|mut jwk| {
            bind(&name, &mut jwk, alg)?;
            let what = describe(&name, &jwk);
            let key = if jwk.kty == "oct" {
                return Err(CliError::key_file(
                    what,
                    "an HMAC secret is never published in a JWK Set",
                ));
            } else if jwk.has_private_members() {
                jwk.to_signing_key().map(|k| k.verifying_key())
            } else {
                jwk.to_verifying_key()
            }
            .map_err(CliError::key(what))?;
            publish(&name, &key, jwk.kid.as_deref())
        })
        .collect()
}

fn publish(name: &str, key: &VerifyingKey, kid: Option<&str>) -> Result<Jwk, CliError> {
    let kid = match kid {
        Some(kid) => kid.to_owned(),
        None => default_kid(key).ok_or_else(|| {
            CliError::key_file(name, "an HMAC secret is never published in a JWK Set")
        })?,
    };
    key.to_jwk(Some(&kid)).map_err(CliError::key(name))
}

/// The verifying keys of a `--jwks` file: a JWK Set (each key bound to `alg` when given),
/// or, for a PEM public key, the key alone.
pub(crate) enum Verifying {
    /// A JWK Set, to load with auth-jwt's `KeySet::from_jwk_set`.
    Set(JwkSet),
    /// A single key with no `kid` of its own (a PEM file).
    Single(VerifyingKey),
}

/// Reads the verification keys of `--jwks FILE`.
pub(crate) fn verifying(loaded: Loaded, alg: Option<Algorithm>) -> Result<Verifying, CliError> {
    let name = loaded.name;
    let mut set = match loaded.file {
        KeyFile::Jwk(jwk) => JwkSet { keys: vec![*jwk] },
        KeyFile::Set(set) => set,
        KeyFile::PublicPem(text) => {
            let (_, key) = pem_key(&name, alg, |alg| VerifyingKey::from_pem(alg, &text))?;
            return Ok(Verifying::Single(key));
        }
        KeyFile::PrivatePem(_) => {
            return Err(CliError::key_file(
                name,
                "a private key: verify with the public key (see `authctl jwks`)",
            ));
        }
    };
    for jwk in &mut set.keys {
        if jwk.kty != "oct" && jwk.has_private_members() {
            return Err(CliError::key_file(
                describe(&name, jwk),
                "a private key: verify with its public half (`authctl jwks FILE`)",
            ));
        }
        bind(&name, jwk, alg)?;
    }
    Ok(Verifying::Set(set))
}
