//! The shared machinery of opaque 256-bit secrets: generation, strict parsing, hashing and
//! constant-time comparison. [`SessionId`](crate::SessionId) and
//! [`RefreshToken`](crate::RefreshToken) are thin newtypes over it.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::{SecureRandom, SystemRandom};

use crate::error::{MalformedSecret, RandomError};

/// Raw length of every opaque secret: 256 bits.
pub(crate) const SECRET_BYTES: usize = 32;
/// Length of the base64url (no padding) text form of a 32-byte secret.
pub(crate) const ENCODED_LEN: usize = 43;

/// An opaque random secret, kept both raw and in its text form.
#[derive(Clone)]
pub(crate) struct Opaque {
    raw: [u8; SECRET_BYTES],
    /// Always 43 bytes of the base64url alphabet, so always valid UTF-8. Kept inline: a
    /// parse on every request should not cost an allocation.
    text: [u8; ENCODED_LEN],
}

impl Opaque {
    pub(crate) fn generate() -> Result<Self, RandomError> {
        let mut raw = [0u8; SECRET_BYTES];
        SystemRandom::new()
            .fill(&mut raw)
            .map_err(|_| RandomError)?;
        let mut text = [0u8; ENCODED_LEN];
        // 32 bytes always encode to exactly 43 characters.
        let _ = URL_SAFE_NO_PAD.encode_slice(raw, &mut text);
        Ok(Self { raw, text })
    }

    /// Parses the text form strictly: exactly 43 characters of the base64url alphabet that
    /// decode canonically to 32 bytes. The length is checked before any decoding; the
    /// decoder then refuses any byte outside the alphabet (padding included) in the same
    /// pass that decodes.
    pub(crate) fn parse(text: &str) -> Result<Self, MalformedSecret> {
        let bytes: [u8; ENCODED_LEN] = text
            .as_bytes()
            .try_into()
            .map_err(|_| MalformedSecret::Length)?;
        let mut raw = [0u8; SECRET_BYTES];
        // The engine refuses non-zero trailing bits, so each secret has exactly one text form.
        match URL_SAFE_NO_PAD.decode_slice(bytes, &mut raw) {
            Ok(SECRET_BYTES) => Ok(Self { raw, text: bytes }),
            Err(base64::DecodeSliceError::DecodeError(
                base64::DecodeError::InvalidByte(..) | base64::DecodeError::InvalidPadding,
            )) => Err(MalformedSecret::Alphabet),
            _ => Err(MalformedSecret::Encoding),
        }
    }

    pub(crate) fn as_str(&self) -> &str {
        // Only ever filled with base64url characters (see the field), so this never fails.
        std::str::from_utf8(&self.text).unwrap_or_default()
    }

    pub(crate) fn sha256(&self) -> [u8; 32] {
        let digest = ring::digest::digest(&ring::digest::SHA256, &self.raw);
        let mut out = [0u8; 32];
        out.copy_from_slice(digest.as_ref());
        out
    }
}

impl PartialEq for Opaque {
    fn eq(&self, other: &Self) -> bool {
        constant_time_eq(&self.raw, &other.raw)
    }
}

impl Eq for Opaque {}

/// Compares two byte strings in time that depends only on their lengths.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_are_distinct_and_round_trip() {
        let a = Opaque::generate().unwrap();
        let b = Opaque::generate().unwrap();
        assert_ne!(a.raw, b.raw);
        assert_eq!(a.as_str().len(), ENCODED_LEN);
        assert!(Opaque::parse(a.as_str()).unwrap() == a);
    }

    #[test]
    fn parse_refuses_anything_but_canonical_base64url() {
        let good = Opaque::generate().unwrap();
        let text = good.as_str();
        assert_eq!(
            Opaque::parse(&text[..42]).err(),
            Some(MalformedSecret::Length)
        );
        assert_eq!(
            Opaque::parse(&format!("{text}=")).err(),
            Some(MalformedSecret::Length)
        );
        let plus = format!("+{}", &text[1..]);
        assert_eq!(Opaque::parse(&plus).err(), Some(MalformedSecret::Alphabet));
        let space = format!(" {}", &text[1..]);
        assert_eq!(Opaque::parse(&space).err(), Some(MalformedSecret::Alphabet));
        let multibyte = format!("é{}", &text[2..]);
        assert!(Opaque::parse(&multibyte).is_err());
        // The last character of 43 carries 2 unused bits: 'B' sets one of them.
        let non_canonical = format!("{}B", &"A".repeat(42));
        assert_eq!(
            Opaque::parse(&non_canonical).err(),
            Some(MalformedSecret::Encoding)
        );
        assert!(Opaque::parse(&format!("{}A", &"A".repeat(42))).is_ok());
    }

    #[test]
    fn constant_time_eq_compares_contents_and_lengths() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
