//! Keys, parsed once: a [`SigningKey`] holds a ring key pair (or HMAC key) bound to one
//! algorithm, a [`VerifyingKey`] the public half in the form ring verifies with.

use std::fmt;
use std::sync::Arc;

use jsonwebtoken::{Algorithm, AlgorithmFamily};
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, RsaKeyPair};

use crate::algorithm;
use crate::der::{self, KeyKind, strip_zeros as strip};
use crate::error::KeyError;
use crate::pem::{Pem, SEC1_ADVICE};

/// The smallest RSA modulus accepted, in bits (RFC 7518 §3.3).
pub const MIN_RSA_BITS: usize = 2048;
/// The largest RSA modulus accepted, in bits (ring's limit).
pub const MAX_RSA_BITS: usize = 8192;

/// A private key bound to the one algorithm it signs with.
///
/// Built once (generated, or loaded from PEM, DER or a JWK) and kept parsed: signing never
/// re-reads key bytes. Cloning is cheap (the key is shared). `Debug` never prints secrets.
///
/// Besides ring's parsed key, it keeps the private members as a JWK writes them (ring never
/// hands key material back), so [`SigningKey::to_private_jwk`] can export the key.
///
/// ```
/// use auth_jwt::{Algorithm, SigningKey};
///
/// let key = SigningKey::generate(Algorithm::ES256)?;
/// let signature = key.sign(b"message")?;
/// assert!(key.verifying_key().verify(b"message", &signature));
/// # Ok::<(), auth_jwt::KeyError>(())
/// ```
#[derive(Clone)]
pub struct SigningKey {
    alg: Algorithm,
    inner: Arc<Signing>,
    public: VerifyingKey,
}

/// A parsed key and its private members: `k`, `d` (EC: as long as a coordinate), the RSA
/// members, or `d` (the Ed25519 seed).
enum Signing {
    Hmac {
        key: ring::hmac::Key,
        k: Vec<u8>,
    },
    Rsa {
        pair: RsaKeyPair,
        private: RsaPrivate,
    },
    Ec {
        pair: EcdsaKeyPair,
        d: Vec<u8>,
    },
    Ed {
        pair: Ed25519KeyPair,
        d: Vec<u8>,
    },
}

/// The private members of an RSA key (RFC 7518 §6.3.2), big-endian without leading zeros.
pub(crate) struct RsaPrivate {
    pub(crate) d: Vec<u8>,
    pub(crate) p: Vec<u8>,
    pub(crate) q: Vec<u8>,
    pub(crate) dp: Vec<u8>,
    pub(crate) dq: Vec<u8>,
    pub(crate) qi: Vec<u8>,
}

/// A public key (or an HMAC secret) bound to the one algorithm it verifies.
///
/// Kept in the form ring verifies with, so verification never re-parses PEM, DER or JWK.
/// Cloning is cheap (the key is shared).
#[derive(Clone)]
pub struct VerifyingKey {
    alg: Algorithm,
    inner: Arc<Verifying>,
}

enum Verifying {
    Hmac(ring::hmac::Key),
    Rsa {
        components: signature::RsaPublicKeyComponents<Vec<u8>>,
        params: &'static signature::RsaParameters,
    },
    Ec(signature::UnparsedPublicKey<Vec<u8>>),
    Ed(signature::UnparsedPublicKey<Vec<u8>>),
}

/// The public parts of a key, in the shape JWKs publish them.
pub(crate) enum PublicParts<'a> {
    Rsa { n: &'a [u8], e: &'a [u8] },
    Ec { x: &'a [u8], y: &'a [u8] },
    Ed { x: &'a [u8] },
}

/// The private parts of a key, in the shape private JWKs carry them.
pub(crate) enum PrivateParts<'a> {
    Hmac { k: &'a [u8] },
    Rsa(&'a RsaPrivate),
    Ec { d: &'a [u8] },
    Ed { d: &'a [u8] },
}

fn require_supported(alg: Algorithm) -> Result<(), KeyError> {
    if algorithm::SUPPORTED.contains(&alg) {
        Ok(())
    } else {
        Err(KeyError::UnsupportedAlgorithm(format!("{alg:?}")))
    }
}

fn hmac_key(alg: Algorithm, secret: &[u8]) -> Result<ring::hmac::Key, KeyError> {
    let hmac = algorithm::hmac(alg).ok_or(KeyError::WrongFamily(
        "an HMAC secret only serves HS256, HS384 or HS512",
    ))?;
    if secret.len() < hmac.digest_algorithm().output_len() {
        return Err(KeyError::TooWeak(
            "an HMAC secret must be at least as long as the hash output",
        ));
    }
    Ok(ring::hmac::Key::new(hmac, secret))
}

/// Checks an RSA public key: size, exponent, ROCA fingerprint.
fn check_rsa(n: &[u8], e: &[u8]) -> Result<(), KeyError> {
    let bits = der::bit_len(n);
    if bits < MIN_RSA_BITS {
        return Err(KeyError::TooWeak("RSA keys must have at least 2048 bits"));
    }
    if bits > MAX_RSA_BITS {
        return Err(KeyError::Malformed(
            "RSA keys over 8192 bits are not supported",
        ));
    }
    let e_last = e.last().copied().unwrap_or(0);
    if der::bit_len(e) < 2 || e_last & 1 == 0 || e.len() > 4 {
        return Err(KeyError::TooWeak(
            "the RSA public exponent must be odd, at least 3 and at most 32 bits",
        ));
    }
    if crate::roca::is_vulnerable(n) {
        return Err(KeyError::TooWeak(
            "the RSA modulus carries the ROCA fingerprint (CVE-2017-15361)",
        ));
    }
    Ok(())
}

fn expect_family(alg: Algorithm, family: AlgorithmFamily) -> Result<(), KeyError> {
    require_supported(alg)?;
    if algorithm::family(alg) == family {
        Ok(())
    } else {
        Err(KeyError::WrongFamily(match family {
            AlgorithmFamily::Hmac => "an HMAC secret only serves HS256, HS384 or HS512",
            AlgorithmFamily::Rsa => "an RSA key only serves RS256..RS512 and PS256..PS512",
            AlgorithmFamily::Ec => "a P-256 key serves ES256 and a P-384 key ES384",
            AlgorithmFamily::Ed => "an Ed25519 key only serves EdDSA",
        }))
    }
}

/// The private scalar `d` of an ECDSA key, as long as a coordinate (RFC 7518 §6.2.2.1).
fn ec_scalar(alg: Algorithm, d: &[u8]) -> Result<Vec<u8>, KeyError> {
    let (_, _, len) =
        algorithm::ecdsa(alg).ok_or(KeyError::WrongFamily("not an ECDSA algorithm"))?;
    let d = strip(d);
    if d.len() > len {
        return Err(KeyError::Malformed(
            "the EC private key is longer than the curve's",
        ));
    }
    let mut padded = vec![0u8; len - d.len()];
    padded.extend_from_slice(d);
    Ok(padded)
}

/// Checks that an ECDSA key's curve fits `alg`.
fn expect_curve(alg: Algorithm, kind: KeyKind) -> Result<(), KeyError> {
    expect_family(alg, AlgorithmFamily::Ec)?;
    match (alg, kind) {
        (Algorithm::ES256, KeyKind::P256) | (Algorithm::ES384, KeyKind::P384) => Ok(()),
        _ => Err(KeyError::WrongFamily(
            "a P-256 key serves ES256 and a P-384 key ES384",
        )),
    }
}

impl SigningKey {
    /// A fresh key for `alg`: a random secret as long as the hash for HS*, a PKCS#8 key
    /// pair for ES256, ES384 and EdDSA. ring cannot generate RSA keys: load those.
    pub fn generate(alg: Algorithm) -> Result<Self, KeyError> {
        require_supported(alg)?;
        if let Some(hmac) = algorithm::hmac(alg) {
            let mut secret = vec![0u8; hmac.digest_algorithm().output_len()];
            SystemRandom::new()
                .fill(&mut secret)
                .map_err(|_| KeyError::Random)?;
            return Self::hmac(alg, &secret);
        }
        let pkcs8 = Self::generate_pkcs8(alg)?;
        Self::from_der(alg, &pkcs8)
    }

    /// A fresh PKCS#8 document (DER) for ES256, ES384 or EdDSA, to store and load later
    /// with [`SigningKey::from_der`]. Treat it as a secret.
    pub fn generate_pkcs8(alg: Algorithm) -> Result<Vec<u8>, KeyError> {
        require_supported(alg)?;
        let rng = SystemRandom::new();
        let document = match alg {
            Algorithm::EdDSA => Ed25519KeyPair::generate_pkcs8(&rng),
            _ => match algorithm::ecdsa(alg) {
                Some((signing, _, _)) => EcdsaKeyPair::generate_pkcs8(signing, &rng),
                None if algorithm::family(alg) == AlgorithmFamily::Rsa => {
                    return Err(KeyError::Unsupported(
                        "ring cannot generate RSA keys: load one from PEM, DER or a JWK",
                    ));
                }
                None => {
                    return Err(KeyError::Unsupported(
                        "HMAC secrets are raw bytes, not PKCS#8: use SigningKey::generate",
                    ));
                }
            },
        }
        .map_err(|_| KeyError::Random)?;
        Ok(document.as_ref().to_vec())
    }

    /// An HMAC key for HS256, HS384 or HS512. Secrets shorter than the hash output are
    /// refused (RFC 7518 §3.2).
    pub fn hmac(alg: Algorithm, secret: &[u8]) -> Result<Self, KeyError> {
        let key = hmac_key(alg, secret)?;
        Self::with_inner(
            alg,
            Signing::Hmac {
                key,
                k: secret.to_vec(),
            },
        )
    }

    /// Binds a parsed key to `alg`, deriving (and checking) its public half once. An RSA
    /// key must also sign ([`KeyError::InconsistentRsaKey`]): ring checks `dP` and `dQ`
    /// only when it signs.
    fn with_inner(alg: Algorithm, inner: Signing) -> Result<Self, KeyError> {
        let public = match &inner {
            Signing::Hmac { key, .. } => VerifyingKey {
                alg,
                inner: Arc::new(Verifying::Hmac(key.clone())),
            },
            Signing::Rsa { pair, .. } => {
                let (n, e) = der::rsa_public(pair.public().as_ref())
                    .ok_or(KeyError::Malformed("not a valid RSA private key"))?;
                let public = VerifyingKey::rsa_components(alg, n, e)?;
                crate::rsa_consistency::check(pair, n, e)?;
                public
            }
            Signing::Ec { pair, .. } => match pair.public_key().as_ref().split_first() {
                Some((4, xy)) => {
                    let (x, y) = xy.split_at(xy.len() / 2);
                    VerifyingKey::ec_coordinates(alg, x, y)?
                }
                _ => return Err(KeyError::Malformed("not an uncompressed EC public key")),
            },
            Signing::Ed { pair, .. } => VerifyingKey::ed25519(pair.public_key().as_ref())?,
        };
        Ok(Self {
            alg,
            inner: Arc::new(inner),
            public,
        })
    }

    /// A private key from DER: PKCS#8 for every family, or PKCS#1 `RSAPrivateKey` for RSA.
    /// An RSA key whose members disagree so that it cannot sign is refused:
    /// [`KeyError::InconsistentRsaKey`].
    pub fn from_der(alg: Algorithm, der: &[u8]) -> Result<Self, KeyError> {
        require_supported(alg)?;
        let kind = der::pkcs8_kind(der);
        // Once ring has accepted the document, its private members are read for
        // `to_private_jwk` from the same bytes.
        let pkcs8_private = der::pkcs8_private_key(der);
        let inner = match algorithm::family(alg) {
            AlgorithmFamily::Hmac => {
                return Err(KeyError::WrongFamily(
                    "HMAC secrets are raw bytes: use SigningKey::hmac",
                ));
            }
            AlgorithmFamily::Rsa => {
                const INVALID: KeyError = KeyError::Malformed("not a valid RSA private key");
                let (pair, pkcs1) = match kind {
                    Some(KeyKind::Rsa) => (RsaKeyPair::from_pkcs8(der), pkcs8_private),
                    Some(_) => {
                        return Err(KeyError::WrongFamily("an RSA algorithm needs an RSA key"));
                    }
                    None => (RsaKeyPair::from_der(der), Some(der)),
                };
                let pair = pair.map_err(|_| INVALID)?;
                let (n, e) = der::rsa_public(pair.public().as_ref()).ok_or(INVALID)?;
                check_rsa(n, e)?;
                let private = pkcs1.and_then(der::rsa_private).ok_or(INVALID)?;
                Signing::Rsa { pair, private }
            }
            AlgorithmFamily::Ec => {
                expect_curve(alg, kind.unwrap_or(KeyKind::Other))?;
                let (signing, _, _) =
                    algorithm::ecdsa(alg).ok_or(KeyError::WrongFamily("not an ECDSA algorithm"))?;
                const INVALID: KeyError =
                    KeyError::Malformed("not a valid PKCS#8 ECDSA private key");
                let pair = EcdsaKeyPair::from_pkcs8(signing, der, &SystemRandom::new())
                    .map_err(|_| INVALID)?;
                let d = pkcs8_private.and_then(der::ec_private).ok_or(INVALID)?;
                let d = ec_scalar(alg, d)?;
                Signing::Ec { pair, d }
            }
            AlgorithmFamily::Ed => {
                if kind != Some(KeyKind::Ed25519) {
                    return Err(KeyError::WrongFamily("an EdDSA key must be Ed25519"));
                }
                const INVALID: KeyError =
                    KeyError::Malformed("not a valid PKCS#8 Ed25519 private key");
                let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(der).map_err(|_| INVALID)?;
                let d = pkcs8_private.and_then(der::ed25519_seed).ok_or(INVALID)?;
                Signing::Ed {
                    pair,
                    d: d.to_vec(),
                }
            }
        };
        Self::with_inner(alg, inner)
    }

    /// A private key from PEM: `PRIVATE KEY` (PKCS#8) or `RSA PRIVATE KEY` (PKCS#1).
    /// SEC1 `EC PRIVATE KEY` files must be converted to PKCS#8 first
    /// (`openssl pkcs8 -topk8 -nocrypt`).
    pub fn from_pem(alg: Algorithm, pem: &str) -> Result<Self, KeyError> {
        let pem = Pem::parse(pem)?;
        match pem.label() {
            "PRIVATE KEY" => Self::from_der(alg, pem.der()),
            "RSA PRIVATE KEY" => {
                expect_family(alg, AlgorithmFamily::Rsa)?;
                Self::from_der(alg, pem.der())
            }
            "EC PRIVATE KEY" => Err(SEC1_ADVICE),
            _ => Err(KeyError::Malformed("not a private key PEM block")),
        }
    }

    /// An RSA key pair built from a JWK's members (`private` as the JWK gave them).
    pub(crate) fn from_rsa_pair(
        alg: Algorithm,
        pair: RsaKeyPair,
        private: RsaPrivate,
    ) -> Result<Self, KeyError> {
        expect_family(alg, AlgorithmFamily::Rsa)?;
        let (n, e) = der::rsa_public(pair.public().as_ref())
            .ok_or(KeyError::Malformed("not a valid RSA private key"))?;
        check_rsa(n, e)?;
        let private = RsaPrivate {
            d: strip(&private.d).to_vec(),
            p: strip(&private.p).to_vec(),
            q: strip(&private.q).to_vec(),
            dp: strip(&private.dp).to_vec(),
            dq: strip(&private.dq).to_vec(),
            qi: strip(&private.qi).to_vec(),
        };
        Self::with_inner(alg, Signing::Rsa { pair, private })
    }

    /// An ECDSA key pair built from a JWK's members, `d` its private scalar.
    pub(crate) fn from_ec_pair(
        alg: Algorithm,
        pair: EcdsaKeyPair,
        d: &[u8],
    ) -> Result<Self, KeyError> {
        expect_family(alg, AlgorithmFamily::Ec)?;
        let d = ec_scalar(alg, d)?;
        Self::with_inner(alg, Signing::Ec { pair, d })
    }

    /// An Ed25519 key pair built from a JWK's members, `d` its seed.
    pub(crate) fn from_ed_pair(pair: Ed25519KeyPair, d: &[u8]) -> Result<Self, KeyError> {
        let d = d.to_vec();
        Self::with_inner(Algorithm::EdDSA, Signing::Ed { pair, d })
    }

    /// The algorithm this key signs with.
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// Signs `message` (for a JWS, `base64url(header) || '.' || base64url(payload)`),
    /// returning the raw signature (ECDSA in the fixed `r || s` form JWS uses).
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        let rng = SystemRandom::new();
        match &*self.inner {
            Signing::Hmac { key, .. } => Ok(ring::hmac::sign(key, message).as_ref().to_vec()),
            Signing::Ec { pair, .. } => pair
                .sign(&rng, message)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| KeyError::Random),
            Signing::Ed { pair, .. } => Ok(pair.sign(message).as_ref().to_vec()),
            Signing::Rsa { pair, .. } => {
                let padding = algorithm::rsa_signing(self.alg)
                    .ok_or(KeyError::WrongFamily("not an RSA algorithm"))?;
                let mut out = vec![0u8; pair.public().modulus_len()];
                pair.sign(padding, &rng, message, &mut out)
                    .map_err(|_| KeyError::RsaSigning)?;
                Ok(out)
            }
        }
    }

    /// Signs the first `signed_len` bytes of `token` (the JWS signing input) and appends
    /// the base64url signature to it, with no buffer between: the signature is computed
    /// before the token is written to.
    pub(crate) fn sign_b64_onto(
        &self,
        token: &mut String,
        signed_len: usize,
    ) -> Result<(), KeyError> {
        let message = &token.as_bytes()[..signed_len];
        match &*self.inner {
            Signing::Hmac { key, .. } => {
                let tag = ring::hmac::sign(key, message);
                crate::b64::encode_into(tag.as_ref(), token);
            }
            Signing::Ec { pair, .. } => {
                let signature = pair
                    .sign(&SystemRandom::new(), message)
                    .map_err(|_| KeyError::Random)?;
                crate::b64::encode_into(signature.as_ref(), token);
            }
            Signing::Ed { pair, .. } => {
                let signature = pair.sign(message);
                crate::b64::encode_into(signature.as_ref(), token);
            }
            Signing::Rsa { .. } => {
                let signature = self.sign(message)?;
                crate::b64::encode_into(&signature, token);
            }
        }
        Ok(())
    }

    /// The public half (for HMAC, the same secret), bound to the same algorithm.
    pub fn verifying_key(&self) -> VerifyingKey {
        self.public.clone()
    }

    pub(crate) fn private_parts(&self) -> PrivateParts<'_> {
        match &*self.inner {
            Signing::Hmac { k, .. } => PrivateParts::Hmac { k },
            Signing::Rsa { private, .. } => PrivateParts::Rsa(private),
            Signing::Ec { d, .. } => PrivateParts::Ec { d },
            Signing::Ed { d, .. } => PrivateParts::Ed { d },
        }
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

impl VerifyingKey {
    /// Whether `other` is this very key (the same parsed key, not merely equal bytes).
    pub(crate) fn is_same(&self, other: &VerifyingKey) -> bool {
        self.alg == other.alg && Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// An HMAC key for HS256, HS384 or HS512 (the same secret that signs). Secrets shorter
    /// than the hash output are refused.
    pub fn hmac(alg: Algorithm, secret: &[u8]) -> Result<Self, KeyError> {
        Ok(Self {
            alg,
            inner: Arc::new(Verifying::Hmac(hmac_key(alg, secret)?)),
        })
    }

    /// An RSA public key from its modulus and exponent (big-endian), for RS* or PS*.
    pub fn rsa_components(alg: Algorithm, n: &[u8], e: &[u8]) -> Result<Self, KeyError> {
        expect_family(alg, AlgorithmFamily::Rsa)?;
        let n = strip(n);
        let e = strip(e);
        check_rsa(n, e)?;
        let params = algorithm::rsa_verification(alg)
            .ok_or(KeyError::WrongFamily("not an RSA algorithm"))?;
        Ok(Self {
            alg,
            inner: Arc::new(Verifying::Rsa {
                components: signature::RsaPublicKeyComponents {
                    n: n.to_vec(),
                    e: e.to_vec(),
                },
                params,
            }),
        })
    }

    /// An ECDSA public key from its affine coordinates, for ES256 (32 bytes each) or ES384
    /// (48 bytes each).
    pub fn ec_coordinates(alg: Algorithm, x: &[u8], y: &[u8]) -> Result<Self, KeyError> {
        expect_family(alg, AlgorithmFamily::Ec)?;
        let (_, verification, len) =
            algorithm::ecdsa(alg).ok_or(KeyError::WrongFamily("not an ECDSA algorithm"))?;
        if x.len() != len || y.len() != len {
            return Err(KeyError::Malformed(
                "EC coordinates do not have the curve's length",
            ));
        }
        let mut point = Vec::with_capacity(1 + 2 * len);
        point.push(4);
        point.extend_from_slice(x);
        point.extend_from_slice(y);
        Ok(Self {
            alg,
            inner: Arc::new(Verifying::Ec(signature::UnparsedPublicKey::new(
                verification,
                point,
            ))),
        })
    }

    /// An Ed25519 public key (32 bytes), for EdDSA.
    pub fn ed25519(x: &[u8]) -> Result<Self, KeyError> {
        if x.len() != signature::ED25519_PUBLIC_KEY_LEN {
            return Err(KeyError::Malformed("an Ed25519 public key is 32 bytes"));
        }
        Ok(Self {
            alg: Algorithm::EdDSA,
            inner: Arc::new(Verifying::Ed(signature::UnparsedPublicKey::new(
                &signature::ED25519,
                x.to_vec(),
            ))),
        })
    }

    /// A public key from DER: SubjectPublicKeyInfo for every family, or PKCS#1
    /// `RSAPublicKey` for RSA.
    pub fn from_der(alg: Algorithm, der: &[u8]) -> Result<Self, KeyError> {
        require_supported(alg)?;
        if algorithm::family(alg) == AlgorithmFamily::Hmac {
            return Err(KeyError::WrongFamily(
                "HMAC secrets are raw bytes: use VerifyingKey::hmac",
            ));
        }
        let Some((kind, key)) = der::spki(der) else {
            if algorithm::family(alg) == AlgorithmFamily::Rsa {
                let (n, e) =
                    der::rsa_public(der).ok_or(KeyError::Malformed("not an RSA public key"))?;
                return Self::rsa_components(alg, n, e);
            }
            return Err(KeyError::Malformed("not a SubjectPublicKeyInfo"));
        };
        match kind {
            KeyKind::Rsa => {
                expect_family(alg, AlgorithmFamily::Rsa)?;
                let (n, e) =
                    der::rsa_public(key).ok_or(KeyError::Malformed("not an RSA public key"))?;
                Self::rsa_components(alg, n, e)
            }
            KeyKind::P256 | KeyKind::P384 => {
                expect_curve(alg, kind)?;
                let len = if kind == KeyKind::P256 { 32 } else { 48 };
                match key.split_first() {
                    Some((4, xy)) if xy.len() == 2 * len => {
                        let (x, y) = xy.split_at(len);
                        Self::ec_coordinates(alg, x, y)
                    }
                    _ => Err(KeyError::Malformed(
                        "only uncompressed EC points are supported",
                    )),
                }
            }
            KeyKind::Ed25519 => {
                expect_family(alg, AlgorithmFamily::Ed)?;
                Self::ed25519(key)
            }
            KeyKind::Other => Err(KeyError::Malformed("unsupported public key type")),
        }
    }

    /// A public key from PEM: `PUBLIC KEY` (SubjectPublicKeyInfo) or `RSA PUBLIC KEY`
    /// (PKCS#1).
    pub fn from_pem(alg: Algorithm, pem: &str) -> Result<Self, KeyError> {
        let pem = Pem::parse(pem)?;
        match pem.label() {
            "PUBLIC KEY" => Self::from_der(alg, pem.der()),
            "RSA PUBLIC KEY" => {
                expect_family(alg, AlgorithmFamily::Rsa)?;
                Self::from_der(alg, pem.der())
            }
            _ => Err(KeyError::Malformed("not a public key PEM block")),
        }
    }

    /// The algorithm this key verifies; tokens with any other `alg` are refused.
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// Whether `signature` is a valid signature of `message` under this key and its
    /// algorithm. HMAC tags are compared in constant time.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        match &*self.inner {
            Verifying::Hmac(key) => ring::hmac::verify(key, message, signature).is_ok(),
            Verifying::Rsa { components, params } => {
                components.verify(params, message, signature).is_ok()
            }
            Verifying::Ec(key) | Verifying::Ed(key) => key.verify(message, signature).is_ok(),
        }
    }

    /// Whether this is an HMAC secret (never published in a JWK Set).
    pub fn is_symmetric(&self) -> bool {
        matches!(&*self.inner, Verifying::Hmac(_))
    }

    pub(crate) fn public_parts(&self) -> Option<PublicParts<'_>> {
        match &*self.inner {
            Verifying::Hmac(_) => None,
            Verifying::Rsa { components, .. } => Some(PublicParts::Rsa {
                n: &components.n,
                e: &components.e,
            }),
            Verifying::Ec(key) => {
                let point = key.as_ref();
                let xy = point.get(1..)?;
                let (x, y) = xy.split_at(xy.len() / 2);
                Some(PublicParts::Ec { x, y })
            }
            Verifying::Ed(key) => Some(PublicParts::Ed { x: key.as_ref() }),
        }
    }
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("alg", &self.alg)
            .field("symmetric", &self.is_symmetric())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failed test.

    use super::*;

    #[test]
    fn an_rsa_key_that_fails_to_sign_is_not_blamed_on_the_random_number_generator() {
        let der = include_bytes!("../tests/data/rsa2048-private.der");
        let good = SigningKey::from_der(Algorithm::RS256, der).unwrap();
        let PrivateParts::Rsa(private) = good.private_parts() else {
            panic!("not an RSA key");
        };
        let Some(PublicParts::Rsa { n, e }) = good.public.public_parts() else {
            panic!("not an RSA key");
        };
        // dP and dQ swapped: ring builds the pair (it checks them only when it signs), so
        // the key is built here past the load-time check, as it was before that check.
        let pair = RsaKeyPair::from_components(&ring::rsa::KeyPairComponents {
            public_key: ring::rsa::PublicKeyComponents { n, e },
            d: private.d.as_slice(),
            p: private.p.as_slice(),
            q: private.q.as_slice(),
            dP: private.dq.as_slice(),
            dQ: private.dp.as_slice(),
            qInv: private.qi.as_slice(),
        })
        .unwrap();
        let unchecked = SigningKey {
            alg: Algorithm::RS256,
            inner: Arc::new(Signing::Rsa {
                pair,
                private: der::rsa_private(der).unwrap(),
            }),
            public: good.verifying_key(),
        };
        assert_eq!(unchecked.sign(b"message"), Err(KeyError::RsaSigning));
        let mut token = String::from("header.payload");
        assert_eq!(
            unchecked.sign_b64_onto(&mut token, 14),
            Err(KeyError::RsaSigning)
        );
    }
}
