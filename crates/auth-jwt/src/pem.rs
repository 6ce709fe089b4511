//! PEM (RFC 7468) key documents: the framing, and what a document says it holds (private
//! or public, and which kind of key) before the key itself is parsed.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use jsonwebtoken::Algorithm;

use crate::der;
use crate::error::KeyError;

/// What SEC1 `EC PRIVATE KEY` documents need before this crate reads them.
pub(crate) const SEC1_ADVICE: KeyError =
    KeyError::Unsupported("SEC1 EC keys: convert to PKCS#8 with `openssl pkcs8 -topk8 -nocrypt`");

/// The kind of key a document holds, as its structure says (the PEM label and the DER
/// algorithm identifier), before the key itself is parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyKind {
    /// An RSA key: it serves RS256, RS384, RS512, PS256, PS384 and PS512.
    Rsa,
    /// An ECDSA key on P-256: ES256.
    P256,
    /// An ECDSA key on P-384: ES384.
    P384,
    /// An Ed25519 key: EdDSA.
    Ed25519,
}

impl KeyKind {
    /// The one algorithm this kind of key serves, or `None` for RSA, which serves six: the
    /// caller chooses (the algorithm must come from the key or its owner, never a token).
    pub fn algorithm(self) -> Option<Algorithm> {
        match self {
            Self::Rsa => None,
            Self::P256 => Some(Algorithm::ES256),
            Self::P384 => Some(Algorithm::ES384),
            Self::Ed25519 => Some(Algorithm::EdDSA),
        }
    }

    fn of(kind: der::KeyKind) -> Result<Self, KeyError> {
        match kind {
            der::KeyKind::Rsa => Ok(Self::Rsa),
            der::KeyKind::P256 => Ok(Self::P256),
            der::KeyKind::P384 => Ok(Self::P384),
            der::KeyKind::Ed25519 => Ok(Self::Ed25519),
            der::KeyKind::Other => Err(KeyError::Malformed(
                "not an RSA, P-256, P-384 or Ed25519 key",
            )),
        }
    }
}

/// One PEM block (RFC 7468): its label and its decoded contents, not yet a key.
///
/// What a tool needs to choose a loader ([`SigningKey::from_pem`] for a private key,
/// [`VerifyingKey::from_pem`] for a public one) and, with [`Pem::key_kind`], an
/// algorithm. `Debug` prints the label only (the contents may be a private key).
///
/// ```
/// use auth_jwt::{Algorithm, KeyKind, Pem, VerifyingKey};
///
/// let text = "-----BEGIN PUBLIC KEY-----
/// MCowBQYDK2VwAyEAl1mm0w4GbrsiXAuYxf9Mr5VltJu1TpJf1KxEZuM8mZo=
/// -----END PUBLIC KEY-----";
/// let pem = Pem::parse(text)?;
/// assert!(pem.is_public_key());
/// assert_eq!(pem.key_kind()?, KeyKind::Ed25519);
/// let alg = pem.key_kind()?.algorithm().unwrap_or(Algorithm::RS256);
/// assert_eq!(VerifyingKey::from_pem(alg, text)?.algorithm(), Algorithm::EdDSA);
/// # Ok::<(), auth_jwt::KeyError>(())
/// ```
///
/// [`SigningKey::from_pem`]: crate::SigningKey::from_pem
/// [`VerifyingKey::from_pem`]: crate::VerifyingKey::from_pem
#[derive(Clone)]
pub struct Pem {
    label: String,
    der: Vec<u8>,
}

impl Pem {
    /// Reads the one PEM block `text` holds (whitespace around it allowed, nothing else):
    /// `-----BEGIN label-----`, base64, `-----END label-----`.
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        const NOT_PEM: KeyError = KeyError::Malformed("not a PEM document");
        let text = text.trim();
        let rest = text.strip_prefix("-----BEGIN ").ok_or(NOT_PEM)?;
        let (label, rest) = rest.split_once("-----").ok_or(NOT_PEM)?;
        let end = format!("-----END {label}-----");
        let body = rest.strip_suffix(end.as_str()).ok_or(NOT_PEM)?;
        let compact: String = body.split_ascii_whitespace().collect();
        let der = STANDARD.decode(compact).map_err(|_| NOT_PEM)?;
        Ok(Self {
            label: label.to_owned(),
            der,
        })
    }

    /// The label: `PRIVATE KEY`, `PUBLIC KEY`, `RSA PRIVATE KEY`, `CERTIFICATE`, ...
    pub fn label(&self) -> &str {
        &self.label
    }

    /// Whether the label names a private key (`PRIVATE KEY`, `RSA PRIVATE KEY`, and
    /// others this crate does not load, such as `EC PRIVATE KEY`).
    pub fn is_private_key(&self) -> bool {
        self.label.ends_with("PRIVATE KEY")
    }

    /// Whether the label names a public key (`PUBLIC KEY`, `RSA PUBLIC KEY`).
    pub fn is_public_key(&self) -> bool {
        self.label.ends_with("PUBLIC KEY")
    }

    /// The kind of key the document holds, from its label and algorithm identifier:
    /// `PRIVATE KEY` (PKCS#8), `PUBLIC KEY` (SubjectPublicKeyInfo), `RSA PRIVATE KEY` and
    /// `RSA PUBLIC KEY` (PKCS#1). Whether the key itself is sound is decided when it is
    /// loaded.
    pub fn key_kind(&self) -> Result<KeyKind, KeyError> {
        let kind = match self.label.as_str() {
            "PRIVATE KEY" => {
                der::pkcs8_kind(&self.der).ok_or(KeyError::Malformed("not a PKCS#8 private key"))?
            }
            "PUBLIC KEY" => der::spki(&self.der)
                .map(|(kind, _)| kind)
                .ok_or(KeyError::Malformed("not a SubjectPublicKeyInfo"))?,
            "RSA PRIVATE KEY" | "RSA PUBLIC KEY" => der::KeyKind::Rsa,
            "EC PRIVATE KEY" => return Err(SEC1_ADVICE),
            _ => return Err(KeyError::Malformed("not a key PEM block")),
        };
        KeyKind::of(kind)
    }

    /// The decoded contents.
    pub(crate) fn der(&self) -> &[u8] {
        &self.der
    }
}

impl fmt::Debug for Pem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pem")
            .field("label", &self.label)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn framing_is_strict_and_labels_classify() {
        let pem =
            Pem::parse("\n-----BEGIN PUBLIC KEY-----\nAAEC\nAw==\n-----END PUBLIC KEY-----\n");
        let pem = pem.as_ref().map(|p| (p.label(), p.der())).ok();
        assert_eq!(pem, Some(("PUBLIC KEY", &[0, 1, 2, 3][..])));
        for bad in [
            "{\"kty\":\"EC\"}",
            "-----BEGIN X-----\n!!\n-----END X-----",
            "-----BEGIN X-----\nAAEC\n",
            "-----BEGIN X-----\nAAEC\n-----END Y-----",
            "junk\n-----BEGIN X-----\nAAEC\n-----END X-----",
        ] {
            assert!(Pem::parse(bad).is_err(), "{bad}");
        }
        let block = |label: &str| Pem {
            label: label.to_owned(),
            der: Vec::new(),
        };
        assert!(block("RSA PRIVATE KEY").is_private_key());
        assert!(!block("RSA PRIVATE KEY").is_public_key());
        assert!(block("PUBLIC KEY").is_public_key());
        assert!(!block("CERTIFICATE").is_private_key() && !block("CERTIFICATE").is_public_key());
        assert_eq!(block("RSA PUBLIC KEY").key_kind(), Ok(KeyKind::Rsa));
        assert_eq!(block("EC PRIVATE KEY").key_kind(), Err(SEC1_ADVICE));
        assert!(block("CERTIFICATE").key_kind().is_err());
        assert!(block("PRIVATE KEY").key_kind().is_err());
    }
}
