//! Key files: a JWK, a JWK Set, or PEM (PKCS#8 or PKCS#1 private keys, SubjectPublicKeyInfo
//! or PKCS#1 public keys), read and handed to auth-jwt, which parses every key format. The
//! algorithm always comes from the key: a JWK's `alg` (or its curve), `--alg` for a key
//! that names none, or the curve of an EC or Ed25519 PEM key. An RSA PEM key serves six
//! algorithms, so it needs `--alg`.

use std::path::Path;

use auth_jwt::{Algorithm, Jwk, JwkSet, KeyError, Pem, SigningKey, VerifyingKey, algorithm};

use crate::error::CliError;
use crate::input;

/// What a key file holds.
pub(crate) enum KeyFile {
    /// One JWK (public, private or secret).
    Jwk(Box<Jwk>),
    /// A JWK Set.
    Set(JwkSet),
    /// A PEM private key: the block, and the whole text for auth-jwt's loaders.
    PrivatePem(Pem, String),
    /// A PEM public key: the block, and the whole text for auth-jwt's loaders.
    PublicPem(Pem, String),
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
    // A PEM file starts with its `-----BEGIN` line; anything else is read as JSON.
    if text.trim_start().starts_with("-----") {
        let pem = Pem::parse(&text).map_err(CliError::key(name))?;
        return if pem.is_private_key() {
            Ok(KeyFile::PrivatePem(pem, text))
        } else if pem.is_public_key() {
            Ok(KeyFile::PublicPem(pem, text))
        } else {
            Err(CliError::key_file(
                name,
                format!("a PEM {:?} block is not a key", pem.label()),
            ))
        };
    }
    // Where the parser stopped, not its message: that may quote the document, key
    // material included (a JWK Set whose keys were encoded as strings once too often).
    let json = |error: serde_json::Error| {
        let what = match error.classify() {
            serde_json::error::Category::Data => "not a JWK or a JWK Set",
            _ => "not valid JSON",
        };
        CliError::key_file(
            name,
            format!("{what} (line {}, column {})", error.line(), error.column()),
        )
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
        Some(kid) => format!("{name}: key {kid:?}"),
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
            format!("the JWK's alg is {own:?} but --alg is {wanted}"),
        )),
    }
}

/// Loads a PEM key for `alg`, or without it for the one algorithm its kind serves (the
/// curve of an EC or Ed25519 key). An RSA key serves six, so it needs `alg`; it is loaded
/// first all the same, so a weak or broken key is reported as such.
fn pem_key<T>(
    name: &str,
    pem: &Pem,
    alg: Option<Algorithm>,
    load: impl Fn(Algorithm) -> Result<T, KeyError>,
) -> Result<T, CliError> {
    let alg = match alg {
        Some(alg) => alg,
        None => match pem.key_kind().map_err(CliError::key(name))?.algorithm() {
            Some(alg) => alg,
            // An RSA key.
            None => {
                load(Algorithm::RS256).map_err(CliError::key(name))?;
                return Err(CliError::key_file(
                    name,
                    "an RSA key serves RS256, RS384, RS512, PS256, PS384 and PS512: choose one with --alg",
                ));
            }
        },
    };
    load(alg).map_err(CliError::key(name))
}

/// A key that signs, and the `kid` its tokens name.
pub(crate) struct Signer {
    /// The key.
    pub(crate) key: SigningKey,
    /// The `kid`: the JWK's own, else the RFC 7638 thumbprint of an asymmetric key.
    pub(crate) kid: Option<String>,
}

/// The default `kid` of an asymmetric key: its RFC 7638 thumbprint (`None` for an HMAC
/// secret, which is never published).
pub(crate) fn default_kid(key: &VerifyingKey) -> Option<String> {
    key.to_jwk(None).ok()?.thumbprint().ok()
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
        KeyFile::PrivatePem(pem, text) => {
            let key = pem_key(&name, &pem, alg, |alg| SigningKey::from_pem(alg, &text))?;
            let kid = default_kid(&key.verifying_key());
            return Ok(Signer { key, kid });
        }
        KeyFile::PublicPem(..) => {
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
/// What a key file publishes: its public JWKs, and the HMAC secrets of a JWK Set that
/// were left out (described for a note).
pub(crate) struct Published {
    /// The public JWKs.
    pub(crate) keys: Vec<Jwk>,
    /// The secrets a JWK Set held, which a JWK Set published never shows.
    pub(crate) skipped: Vec<String>,
}

/// The public JWKs of a key file. A JWK Set's HMAC secrets are left out (as the set a
/// service publishes leaves them out); a file that is one HMAC secret is an error.
pub(crate) fn public_jwks(loaded: Loaded, alg: Option<Algorithm>) -> Result<Published, CliError> {
    let name = loaded.name;
    let (jwks, in_set) = match loaded.file {
        KeyFile::Jwk(jwk) => (vec![*jwk], false),
        KeyFile::Set(set) => (set.keys, true),
        KeyFile::PrivatePem(pem, text) => {
            let key = pem_key(&name, &pem, alg, |alg| SigningKey::from_pem(alg, &text))?;
            return published(publish(&name, &key.verifying_key(), None)?);
        }
        KeyFile::PublicPem(pem, text) => {
            let key = pem_key(&name, &pem, alg, |alg| VerifyingKey::from_pem(alg, &text))?;
            return published(publish(&name, &key, None)?);
        }
    };
    let mut out = Published {
        keys: Vec::new(),
        skipped: Vec::new(),
    };
    for mut jwk in jwks {
        let what = describe(&name, &jwk);
        if jwk.kty == "oct" {
            if !in_set {
                return Err(CliError::key_file(
                    what,
                    "an HMAC secret is never published in a JWK Set",
                ));
            }
            out.skipped.push(what);
            continue;
        }
        bind(&name, &mut jwk, alg)?;
        let key = if jwk.has_private_members() {
            jwk.to_signing_key().map(|k| k.verifying_key())
        } else {
            jwk.to_verifying_key()
        }
        .map_err(CliError::key(what))?;
        out.keys.push(publish(&name, &key, jwk.kid.as_deref())?);
    }
    Ok(out)
}

fn published(jwk: Jwk) -> Result<Published, CliError> {
    Ok(Published {
        keys: vec![jwk],
        skipped: Vec::new(),
    })
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
        KeyFile::PublicPem(pem, text) => {
            let key = pem_key(&name, &pem, alg, |alg| VerifyingKey::from_pem(alg, &text))?;
            return Ok(Verifying::Single(key));
        }
        KeyFile::PrivatePem(..) => {
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
