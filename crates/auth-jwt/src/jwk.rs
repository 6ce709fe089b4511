//! JSON Web Keys (RFC 7517, RFC 7518 §6, RFC 8037): reading them into parsed keys, and
//! publishing public keys.

use std::fmt;
use std::path::Path;

use jsonwebtoken::{Algorithm, AlgorithmFamily};
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, Ed25519KeyPair, RsaKeyPair};
use serde::{Deserialize, Serialize};

use crate::algorithm;
use crate::b64;
use crate::error::KeyError;
use crate::key::{PrivateParts, PublicParts, RsaPrivate, SigningKey, VerifyingKey};
use crate::key_file::KeyFileError;

/// One JSON Web Key, as it appears in a JWK Set document.
///
/// Unknown members are ignored (RFC 7517 §4); a duplicated member makes the document
/// invalid. `Debug` never prints private members (`d`, `p`, `q`, `dp`, `dq`, `qi`, `k`).
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Jwk {
    /// Key type: `RSA`, `EC`, `OKP` or `oct`.
    pub kty: String,
    /// Key id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// The algorithm the key is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    /// Public key use: `sig` or `enc`.
    #[serde(rename = "use", default, skip_serializing_if = "Option::is_none")]
    pub key_use: Option<String>,
    /// Permitted operations (`sign`, `verify`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_ops: Option<Vec<String>>,
    /// Curve (`P-256`, `P-384`, `Ed25519`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    /// EC x coordinate, or the OKP public key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    /// EC y coordinate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
    /// RSA modulus.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    /// RSA public exponent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
    /// Private: EC or OKP private key, RSA private exponent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub d: Option<String>,
    /// Private: RSA first prime.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p: Option<String>,
    /// Private: RSA second prime.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub q: Option<String>,
    /// Private: RSA first CRT exponent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dp: Option<String>,
    /// Private: RSA second CRT exponent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dq: Option<String>,
    /// Private: RSA CRT coefficient.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qi: Option<String>,
    /// Private: other primes (multi-prime RSA, not supported).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oth: Option<serde_json::Value>,
    /// Secret: the HMAC key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub k: Option<String>,
}

/// A JWK Set document (RFC 7517 §5).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JwkSet {
    /// The keys.
    pub keys: Vec<Jwk>,
}

impl JwkSet {
    /// Parses a JWK Set document.
    pub fn parse(document: &str) -> Result<Self, KeyError> {
        serde_json::from_str(document).map_err(|_| KeyError::Jwk("not a JWK Set document"))
    }

    /// The document as JSON.
    pub fn to_json(&self) -> String {
        // Serializing plain strings and vectors cannot fail.
        serde_json::to_string(self).unwrap_or_else(|_| String::from("{\"keys\":[]}"))
    }
}

impl fmt::Debug for Jwk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Jwk")
            .field("kty", &self.kty)
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("crv", &self.crv)
            .field("private", &self.has_private_members())
            .finish_non_exhaustive()
    }
}

fn decode(field: &Option<String>, missing: &'static str) -> Result<Vec<u8>, KeyError> {
    let text = field.as_deref().ok_or(KeyError::Jwk(missing))?;
    b64::decode(text.as_bytes()).ok_or(KeyError::Jwk("a member is not base64url"))
}

impl Jwk {
    /// Writes the JWK, as indented JSON with a final newline, to a new file at `path` the
    /// way [`SigningKeys::write_new`](crate::SigningKeys::write_new) writes a key file:
    /// mode `0600` on Unix, and never over anything at `path` ([`KeyFileError::Exists`],
    /// nothing written). For a private JWK, which a shell redirection would leave with the
    /// umask's mode, often readable by every user.
    pub fn write_new(&self, path: impl AsRef<Path>) -> Result<(), KeyFileError> {
        let path = path.as_ref();
        let mut text = serde_json::to_string_pretty(self).map_err(|error| KeyFileError::Write {
            path: path.to_owned(),
            source: std::io::Error::other(error),
        })?;
        text.push('\n');
        crate::key_file::write_new_file(path, text.as_bytes())
    }

    /// Whether the JWK carries private or secret material.
    pub fn has_private_members(&self) -> bool {
        self.d.is_some()
            || self.p.is_some()
            || self.q.is_some()
            || self.dp.is_some()
            || self.dq.is_some()
            || self.qi.is_some()
            || self.oth.is_some()
            || self.k.is_some()
    }

    /// The algorithm the key is bound to: its `alg`, or for EC and OKP keys the one their
    /// curve allows. RSA and `oct` keys without `alg` are refused: the algorithm must come
    /// from the key, never from a token.
    pub fn algorithm(&self) -> Result<Algorithm, KeyError> {
        let from_curve = match (self.kty.as_str(), self.crv.as_deref()) {
            ("EC", Some("P-256")) => Some(Algorithm::ES256),
            ("EC", Some("P-384")) => Some(Algorithm::ES384),
            ("OKP", Some("Ed25519")) => Some(Algorithm::EdDSA),
            _ => None,
        };
        let alg = match (&self.alg, from_curve) {
            (Some(name), _) => algorithm::parse(name)
                .ok_or_else(|| KeyError::UnsupportedAlgorithm(name.clone()))?,
            (None, Some(alg)) => alg,
            (None, None) => return Err(KeyError::Jwk("the JWK has no usable alg")),
        };
        let family_matches = matches!(
            (self.kty.as_str(), algorithm::family(alg)),
            ("RSA", AlgorithmFamily::Rsa)
                | ("EC", AlgorithmFamily::Ec)
                | ("OKP", AlgorithmFamily::Ed)
                | ("oct", AlgorithmFamily::Hmac)
        );
        if !family_matches {
            return Err(KeyError::WrongFamily("the JWK's kty does not fit its alg"));
        }
        if let Some(curve) = algorithm::curve(alg)
            && self.crv.as_deref() != Some(curve)
        {
            return Err(KeyError::WrongFamily("the JWK's crv does not fit its alg"));
        }
        if alg == Algorithm::EdDSA && self.crv.as_deref() != Some("Ed25519") {
            return Err(KeyError::WrongFamily("only Ed25519 serves EdDSA"));
        }
        Ok(alg)
    }

    fn check_use(&self, operation: &str) -> Result<(), KeyError> {
        if let Some(key_use) = &self.key_use
            && key_use != "sig"
        {
            return Err(KeyError::Jwk("the JWK's use is not sig"));
        }
        if let Some(ops) = &self.key_ops
            && !ops.iter().any(|op| op == operation)
        {
            return Err(KeyError::Jwk(
                "the JWK's key_ops do not allow this operation",
            ));
        }
        if self.oth.is_some() {
            return Err(KeyError::Unsupported("multi-prime RSA keys"));
        }
        Ok(())
    }

    /// The verifying key this JWK describes. An `oct` JWK yields an HMAC key; asymmetric
    /// JWKs must be public (private members are refused: a public key set that carries
    /// them has leaked its secrets).
    pub fn to_verifying_key(&self) -> Result<VerifyingKey, KeyError> {
        let alg = self.algorithm()?;
        self.check_use("verify")?;
        match algorithm::family(alg) {
            AlgorithmFamily::Hmac => VerifyingKey::hmac(alg, &decode(&self.k, "missing k")?),
            _ if self.has_private_members() => {
                Err(KeyError::Jwk("a public JWK carries private members"))
            }
            AlgorithmFamily::Rsa => VerifyingKey::rsa_components(
                alg,
                &decode(&self.n, "missing n")?,
                &decode(&self.e, "missing e")?,
            ),
            AlgorithmFamily::Ec => VerifyingKey::ec_coordinates(
                alg,
                &decode(&self.x, "missing x")?,
                &decode(&self.y, "missing y")?,
            ),
            AlgorithmFamily::Ed => VerifyingKey::ed25519(&decode(&self.x, "missing x")?),
        }
    }

    /// The signing key this private JWK describes. An RSA JWK whose members disagree so
    /// that it cannot sign is refused: [`KeyError::InconsistentRsaKey`].
    pub fn to_signing_key(&self) -> Result<SigningKey, KeyError> {
        let alg = self.algorithm()?;
        self.check_use("sign")?;
        match algorithm::family(alg) {
            AlgorithmFamily::Hmac => SigningKey::hmac(alg, &decode(&self.k, "missing k")?),
            AlgorithmFamily::Rsa => {
                let private = RsaPrivate {
                    d: decode(&self.d, "missing d")?,
                    p: decode(&self.p, "missing p")?,
                    q: decode(&self.q, "missing q")?,
                    dp: decode(&self.dp, "missing dp")?,
                    dq: decode(&self.dq, "missing dq")?,
                    qi: decode(&self.qi, "missing qi")?,
                };
                let components = ring::rsa::KeyPairComponents {
                    public_key: ring::rsa::PublicKeyComponents {
                        n: decode(&self.n, "missing n")?,
                        e: decode(&self.e, "missing e")?,
                    },
                    d: private.d.as_slice(),
                    p: private.p.as_slice(),
                    q: private.q.as_slice(),
                    dP: private.dp.as_slice(),
                    dQ: private.dq.as_slice(),
                    qInv: private.qi.as_slice(),
                };
                let pair = RsaKeyPair::from_components(&components)
                    .map_err(|_| KeyError::Malformed("inconsistent RSA private JWK"))?;
                SigningKey::from_rsa_pair(alg, pair, private)
            }
            AlgorithmFamily::Ec => {
                let (signing, _, len) =
                    algorithm::ecdsa(alg).ok_or(KeyError::WrongFamily("not an ECDSA algorithm"))?;
                let x = decode(&self.x, "missing x")?;
                let y = decode(&self.y, "missing y")?;
                let d = decode(&self.d, "missing d")?;
                if x.len() != len || y.len() != len || d.len() != len {
                    return Err(KeyError::Malformed(
                        "EC members do not have the curve's length",
                    ));
                }
                let mut point = vec![4u8];
                point.extend_from_slice(&x);
                point.extend_from_slice(&y);
                let pair = EcdsaKeyPair::from_private_key_and_public_key(
                    signing,
                    &d,
                    &point,
                    &SystemRandom::new(),
                )
                .map_err(|_| KeyError::Malformed("inconsistent EC private JWK"))?;
                SigningKey::from_ec_pair(alg, pair, &d)
            }
            AlgorithmFamily::Ed => {
                let d = decode(&self.d, "missing d")?;
                let pair =
                    Ed25519KeyPair::from_seed_and_public_key(&d, &decode(&self.x, "missing x")?)
                        .map_err(|_| KeyError::Malformed("inconsistent Ed25519 private JWK"))?;
                SigningKey::from_ed_pair(pair, &d)
            }
        }
    }
}

impl VerifyingKey {
    /// The key from a public JWK (see [`Jwk::to_verifying_key`]).
    pub fn from_jwk(jwk: &Jwk) -> Result<Self, KeyError> {
        jwk.to_verifying_key()
    }

    /// The public JWK of this key, with `alg`, `use: sig` and the given `kid`. HMAC
    /// secrets are never exported: [`KeyError::Unsupported`].
    pub fn to_jwk(&self, kid: Option<&str>) -> Result<Jwk, KeyError> {
        let parts = self.public_parts().ok_or(KeyError::Unsupported(
            "HMAC secrets are never published as JWKs",
        ))?;
        Ok(self.jwk_of(Some(parts), kid))
    }

    /// The JWK of `parts` (`None`: an HMAC key, `oct`, its secret left to the caller).
    fn jwk_of(&self, parts: Option<PublicParts<'_>>, kid: Option<&str>) -> Jwk {
        let mut jwk = Jwk {
            kid: kid.map(str::to_owned),
            alg: Some(algorithm::name(self.algorithm()).to_owned()),
            key_use: Some("sig".to_owned()),
            ..Jwk::default()
        };
        match parts {
            None => jwk.kty = "oct".to_owned(),
            Some(PublicParts::Rsa { n, e }) => {
                jwk.kty = "RSA".to_owned();
                jwk.n = Some(b64::encode(n));
                jwk.e = Some(b64::encode(e));
            }
            Some(PublicParts::Ec { x, y }) => {
                jwk.kty = "EC".to_owned();
                jwk.crv = algorithm::curve(self.algorithm()).map(str::to_owned);
                jwk.x = Some(b64::encode(x));
                jwk.y = Some(b64::encode(y));
            }
            Some(PublicParts::Ed { x }) => {
                jwk.kty = "OKP".to_owned();
                jwk.crv = Some("Ed25519".to_owned());
                jwk.x = Some(b64::encode(x));
            }
        }
        jwk
    }
}

impl SigningKey {
    /// The key from a private JWK (see [`Jwk::to_signing_key`]).
    pub fn from_jwk(jwk: &Jwk) -> Result<Self, KeyError> {
        jwk.to_signing_key()
    }

    /// The private JWK of this key, with `alg`, `use: sig` and the given `kid`: the public
    /// members of [`VerifyingKey::to_jwk`] and the private ones (RFC 7518 §6.2.2, §6.3.2,
    /// RFC 8037 §2), or for an HMAC key an `oct` JWK with the secret `k`.
    /// [`Jwk::to_signing_key`] loads it back.
    ///
    /// This is the key itself, for the key's owner (a key file): keep it as secret as the
    /// key, and publish [`VerifyingKey::to_jwk`] instead.
    ///
    /// ```
    /// use auth_jwt::{Algorithm, SigningKey};
    ///
    /// let key = SigningKey::generate(Algorithm::EdDSA)?;
    /// let jwk = key.to_private_jwk(Some("2026-11"));
    /// let again = jwk.to_signing_key()?;
    /// assert!(key.verifying_key().verify(b"message", &again.sign(b"message")?));
    /// # Ok::<(), auth_jwt::KeyError>(())
    /// ```
    pub fn to_private_jwk(&self, kid: Option<&str>) -> Jwk {
        let public = self.verifying_key();
        let mut jwk = public.jwk_of(public.public_parts(), kid);
        match self.private_parts() {
            PrivateParts::Hmac { k } => jwk.k = Some(b64::encode(k)),
            PrivateParts::Rsa(private) => {
                jwk.d = Some(b64::encode(&private.d));
                jwk.p = Some(b64::encode(&private.p));
                jwk.q = Some(b64::encode(&private.q));
                jwk.dp = Some(b64::encode(&private.dp));
                jwk.dq = Some(b64::encode(&private.dq));
                jwk.qi = Some(b64::encode(&private.qi));
            }
            PrivateParts::Ec { d } | PrivateParts::Ed { d } => jwk.d = Some(b64::encode(d)),
        }
        jwk
    }
}
