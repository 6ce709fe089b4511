//! Just enough DER to find out what a key is before ring parses it (the algorithm of a
//! SubjectPublicKeyInfo or PKCS#8 document), to read the modulus and exponent of an RSA
//! public key (to check its size and publish it as a JWK), and to read the private members
//! of a private key that ring accepted (ring never hands them back; a private JWK needs
//! them).

use crate::key::RsaPrivate;

const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;
const BIT_STRING: u8 = 0x03;
const OCTET_STRING: u8 = 0x04;
const OID: u8 = 0x06;

const OID_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const OID_EC: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const OID_P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const OID_P384: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];
const OID_ED25519: &[u8] = &[0x2b, 0x65, 0x70];

/// What kind of key a SubjectPublicKeyInfo or PKCS#8 document holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KeyKind {
    Rsa,
    P256,
    P384,
    Ed25519,
    Other,
}

/// A cursor over DER input.
struct Reader<'a> {
    input: &'a [u8],
}

impl<'a> Reader<'a> {
    fn new(input: &'a [u8]) -> Self {
        Self { input }
    }

    /// Reads one element with `tag`, returning its contents.
    fn read(&mut self, tag: u8) -> Option<&'a [u8]> {
        let (&first, rest) = self.input.split_first()?;
        if first != tag {
            return None;
        }
        let (&len_byte, mut rest) = rest.split_first()?;
        let len = if len_byte < 0x80 {
            usize::from(len_byte)
        } else {
            let count = usize::from(len_byte & 0x7f);
            if count == 0 || count > 3 || rest.len() < count {
                return None;
            }
            let mut len = 0usize;
            for &b in &rest[..count] {
                len = (len << 8) | usize::from(b);
            }
            rest = &rest[count..];
            if len < 0x80 {
                return None;
            }
            len
        };
        if rest.len() < len {
            return None;
        }
        let (contents, after) = rest.split_at(len);
        self.input = after;
        Some(contents)
    }

    fn is_empty(&self) -> bool {
        self.input.is_empty()
    }
}

/// `AlgorithmIdentifier ::= SEQUENCE { algorithm OID, parameters ANY OPTIONAL }`.
fn algorithm_kind(contents: &[u8]) -> Option<KeyKind> {
    let mut r = Reader::new(contents);
    let oid = r.read(OID)?;
    Some(if oid == OID_RSA {
        KeyKind::Rsa
    } else if oid == OID_ED25519 {
        KeyKind::Ed25519
    } else if oid == OID_EC {
        match r.read(OID)? {
            curve if curve == OID_P256 => KeyKind::P256,
            curve if curve == OID_P384 => KeyKind::P384,
            _ => KeyKind::Other,
        }
    } else {
        KeyKind::Other
    })
}

/// Splits a SubjectPublicKeyInfo into the key's kind and its public key bytes.
pub(crate) fn spki(der: &[u8]) -> Option<(KeyKind, &[u8])> {
    let mut outer = Reader::new(der);
    let mut seq = Reader::new(outer.read(SEQUENCE)?);
    if !outer.is_empty() {
        return None;
    }
    let kind = algorithm_kind(seq.read(SEQUENCE)?)?;
    let bits = seq.read(BIT_STRING)?;
    if !seq.is_empty() {
        return None;
    }
    let (&unused, key) = bits.split_first()?;
    (unused == 0).then_some((kind, key))
}

/// The kind of key inside a PKCS#8 `PrivateKeyInfo` (v1 or v2).
pub(crate) fn pkcs8_kind(der: &[u8]) -> Option<KeyKind> {
    let mut outer = Reader::new(der);
    let mut seq = Reader::new(outer.read(SEQUENCE)?);
    seq.read(INTEGER)?;
    algorithm_kind(seq.read(SEQUENCE)?)
}

/// The `privateKey` contents of a PKCS#8 `PrivateKeyInfo` (RFC 5208 §5): a PKCS#1
/// `RSAPrivateKey`, an `ECPrivateKey` or an Ed25519 `CurvePrivateKey`.
pub(crate) fn pkcs8_private_key(der: &[u8]) -> Option<&[u8]> {
    let mut outer = Reader::new(der);
    let mut seq = Reader::new(outer.read(SEQUENCE)?);
    seq.read(INTEGER)?;
    seq.read(SEQUENCE)?;
    seq.read(OCTET_STRING)
}

/// The private members of a PKCS#1 `RSAPrivateKey` (RFC 8017 §A.1.2), without leading
/// zero bytes.
pub(crate) fn rsa_private(der: &[u8]) -> Option<RsaPrivate> {
    let mut outer = Reader::new(der);
    let mut seq = Reader::new(outer.read(SEQUENCE)?);
    seq.read(INTEGER)?; // version
    seq.read(INTEGER)?; // n
    seq.read(INTEGER)?; // e
    let mut next = || seq.read(INTEGER).map(|i| strip_zeros(i).to_vec());
    Some(RsaPrivate {
        d: next()?,
        p: next()?,
        q: next()?,
        dp: next()?,
        dq: next()?,
        qi: next()?,
    })
}

/// The private scalar of an `ECPrivateKey` (RFC 5915 §3), as encoded.
pub(crate) fn ec_private(der: &[u8]) -> Option<&[u8]> {
    let mut outer = Reader::new(der);
    let mut seq = Reader::new(outer.read(SEQUENCE)?);
    seq.read(INTEGER)?; // version
    seq.read(OCTET_STRING)
}

/// The seed of an Ed25519 `CurvePrivateKey` (RFC 8410 §7): an OCTET STRING.
pub(crate) fn ed25519_seed(der: &[u8]) -> Option<&[u8]> {
    let mut outer = Reader::new(der);
    let seed = outer.read(OCTET_STRING)?;
    outer.is_empty().then_some(seed)
}

/// The modulus and exponent of a PKCS#1 `RSAPublicKey`, without leading zero bytes.
pub(crate) fn rsa_public(der: &[u8]) -> Option<(&[u8], &[u8])> {
    let mut outer = Reader::new(der);
    let mut seq = Reader::new(outer.read(SEQUENCE)?);
    let n = strip_zeros(seq.read(INTEGER)?);
    let e = strip_zeros(seq.read(INTEGER)?);
    (outer.is_empty() && seq.is_empty() && !n.is_empty() && !e.is_empty()).then_some((n, e))
}

/// Writes a PKCS#1 `RSAPublicKey` from a modulus and an exponent (tests build keys).
#[cfg(test)]
pub(crate) fn rsa_public_der(n: &[u8], e: &[u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(n.len() + e.len() + 16);
    write_unsigned(&mut body, strip_zeros(n));
    write_unsigned(&mut body, strip_zeros(e));
    let mut out = Vec::with_capacity(body.len() + 4);
    write_header(&mut out, SEQUENCE, body.len());
    out.extend_from_slice(&body);
    out
}

#[cfg(test)]
fn write_unsigned(out: &mut Vec<u8>, value: &[u8]) {
    let pad = value.first().is_some_and(|&b| b & 0x80 != 0) || value.is_empty();
    write_header(out, INTEGER, value.len() + usize::from(pad));
    if pad {
        out.push(0);
    }
    out.extend_from_slice(value);
}

#[cfg(test)]
fn write_header(out: &mut Vec<u8>, tag: u8, len: usize) {
    out.push(tag);
    let bytes = len.to_be_bytes();
    let first = bytes
        .iter()
        .position(|&b| b != 0)
        .unwrap_or(bytes.len() - 1);
    let significant = &bytes[first..];
    if len < 0x80 {
        out.push(significant[significant.len() - 1]);
    } else {
        // At most 8 length bytes, so the count always fits the low seven bits.
        out.push(0x80 | significant.len() as u8);
        out.extend_from_slice(significant);
    }
}

/// A big-endian unsigned integer without its leading zero bytes.
pub(crate) fn strip_zeros(mut bytes: &[u8]) -> &[u8] {
    while let [0, rest @ ..] = bytes {
        bytes = rest;
    }
    bytes
}

/// The bit length of a big-endian unsigned integer.
pub(crate) fn bit_len(value: &[u8]) -> usize {
    let value = strip_zeros(value);
    match value.first() {
        None => 0,
        Some(&first) => (value.len() - 1) * 8 + (8 - first.leading_zeros() as usize),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rsa_public_der_round_trips() {
        let n = [0x80u8; 256];
        let der = rsa_public_der(&n, &[1, 0, 1]);
        let (n2, e2) = rsa_public(&der).unwrap();
        assert_eq!(n2, &n[..]);
        assert_eq!(e2, &[1, 0, 1][..]);
        assert_eq!(bit_len(&n), 2048);
        assert_eq!(bit_len(&[0, 1]), 1);
    }

    #[test]
    fn truncated_der_is_refused() {
        let der = rsa_public_der(&[0x80u8; 256], &[1, 0, 1]);
        for cut in 0..der.len() {
            assert!(rsa_public(&der[..cut]).is_none());
        }
        assert!(spki(&[0x30, 0x84, 0, 0, 0, 1]).is_none());
    }

    #[test]
    fn private_key_readers_refuse_truncated_and_foreign_documents() {
        // PKCS#8 { version 0, AlgorithmIdentifier {}, privateKey OCTET STRING { 0x30 0x00 } }.
        let pkcs8 = [
            0x30, 0x09, 0x02, 0x01, 0x00, 0x30, 0x00, 0x04, 0x02, 0x30, 0x00,
        ];
        assert_eq!(pkcs8_private_key(&pkcs8), Some(&[0x30, 0x00][..]));
        for cut in 0..pkcs8.len() {
            assert!(pkcs8_private_key(&pkcs8[..cut]).is_none());
        }
        assert!(rsa_private(&[0x30, 0x00]).is_none());
        assert!(ec_private(&[0x30, 0x03, 0x02, 0x01, 0x01]).is_none());
        assert_eq!(ed25519_seed(&[0x04, 0x01, 0x07]), Some(&[0x07][..]));
        assert!(ed25519_seed(&[0x04, 0x01, 0x07, 0x00]).is_none());
        assert!(ed25519_seed(&[0x04, 0x02, 0x07]).is_none());
    }
}
