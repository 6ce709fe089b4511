//! Just enough DER to read the private members of a PKCS#8 `PrivateKeyInfo` (RFC 5208)
//! or a PKCS#1 `RSAPrivateKey` (RFC 8017) into a private JWK. auth-jwt keeps keys
//! parsed inside ring, which never hands private material back; exporting a key as a JWK
//! therefore needs the DER it came from. Whether the key is valid is decided by auth-jwt
//! (the exported JWK is loaded back and compared), not here.

/// A cursor over DER bytes.
struct Reader<'a>(&'a [u8]);

const INTEGER: u8 = 0x02;
const OCTET_STRING: u8 = 0x04;
const SEQUENCE: u8 = 0x30;

impl<'a> Reader<'a> {
    /// The next element's tag and contents (definite lengths up to 4 bytes only).
    fn next(&mut self) -> Option<(u8, &'a [u8])> {
        let (&tag, rest) = self.0.split_first()?;
        let (&first, mut rest) = rest.split_first()?;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            let count = usize::from(first & 0x7f);
            if count == 0 || count > 4 || rest.len() < count {
                return None;
            }
            let (bytes, tail) = rest.split_at(count);
            rest = tail;
            bytes.iter().fold(0usize, |n, &b| (n << 8) | usize::from(b))
        };
        if rest.len() < len {
            return None;
        }
        let (contents, tail) = rest.split_at(len);
        self.0 = tail;
        Some((tag, contents))
    }

    fn read(&mut self, tag: u8) -> Option<&'a [u8]> {
        match self.next()? {
            (found, contents) if found == tag => Some(contents),
            _ => None,
        }
    }
}

/// The private members of a key, big-endian, as a JWK carries them.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum PrivateParts {
    /// RSA: `d`, `p`, `q`, `dp`, `dq`, `qi` (the public `n` and `e` come from auth-jwt).
    Rsa([Vec<u8>; 6]),
    /// EC: the private scalar `d`, as encoded (the caller pads it to the curve size).
    Ec(Vec<u8>),
    /// Ed25519: the 32-byte seed `d`.
    Ed(Vec<u8>),
}

/// The `privateKey` OCTET STRING of a PKCS#8 `PrivateKeyInfo`, and the algorithm OID.
fn pkcs8(der: &[u8]) -> Option<(&[u8], &[u8])> {
    let mut outer = Reader(Reader(der).read(SEQUENCE)?);
    outer.read(INTEGER)?;
    let mut algorithm = Reader(outer.read(SEQUENCE)?);
    let oid = algorithm.read(0x06)?;
    let private_key = outer.read(OCTET_STRING)?;
    Some((oid, private_key))
}

const RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const ED25519: &[u8] = &[0x2b, 0x65, 0x70];

fn unsigned(integer: &[u8]) -> Vec<u8> {
    let start = integer
        .iter()
        .position(|&b| b != 0)
        .unwrap_or(integer.len());
    integer[start..].to_vec()
}

/// The members of a PKCS#1 `RSAPrivateKey` after `n` and `e`.
pub(crate) fn rsa_private_key(der: &[u8]) -> Option<PrivateParts> {
    let mut key = Reader(Reader(der).read(SEQUENCE)?);
    key.read(INTEGER)?; // version
    key.read(INTEGER)?; // n
    key.read(INTEGER)?; // e
    let mut next = || key.read(INTEGER).map(unsigned);
    Some(PrivateParts::Rsa([
        next()?,
        next()?,
        next()?,
        next()?,
        next()?,
        next()?,
    ]))
}

/// The private members of a PKCS#8 document holding an RSA, EC or Ed25519 key.
pub(crate) fn pkcs8_private_parts(der: &[u8]) -> Option<PrivateParts> {
    let (oid, private_key) = pkcs8(der)?;
    match oid {
        RSA_ENCRYPTION => rsa_private_key(private_key),
        EC_PUBLIC_KEY => {
            // ECPrivateKey (RFC 5915): version 1, then the scalar.
            let mut key = Reader(Reader(private_key).read(SEQUENCE)?);
            key.read(INTEGER)?;
            Some(PrivateParts::Ec(key.read(OCTET_STRING)?.to_vec()))
        }
        ED25519 => {
            // CurvePrivateKey (RFC 8410): an OCTET STRING inside the OCTET STRING.
            Some(PrivateParts::Ed(
                Reader(private_key).read(OCTET_STRING)?.to_vec(),
            ))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncated_and_foreign_documents_are_none() {
        assert_eq!(pkcs8_private_parts(&[]), None);
        assert_eq!(pkcs8_private_parts(&[0x30, 0x85, 1, 2, 3, 4, 5]), None);
        assert_eq!(pkcs8_private_parts(&[0x30, 0x03, 0x02, 0x01]), None);
        assert_eq!(rsa_private_key(&[0x30, 0x00]), None);
    }

    #[test]
    fn integers_lose_their_sign_byte() {
        assert_eq!(unsigned(&[0, 0x80, 1]), vec![0x80, 1]);
        assert_eq!(unsigned(&[0]), Vec::<u8>::new());
    }
}
