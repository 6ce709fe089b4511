//! Refresh tokens: opaque secrets stored only as hashes, grouped in families.

use std::fmt;
use std::str::FromStr;

use crate::error::{MalformedSecret, RandomError};
use crate::secret::Opaque;

/// An opaque 256-bit refresh token, as handed to a client. Same properties as
/// [`SessionId`](crate::SessionId): CSPRNG, strict parsing, redacted `Debug`, constant-time
/// equality.
#[derive(Clone, PartialEq, Eq)]
pub struct RefreshToken(Opaque);

impl RefreshToken {
    /// A fresh token from the system CSPRNG.
    pub fn generate() -> Result<Self, RandomError> {
        Opaque::generate().map(Self)
    }

    /// Parses a token a client presented (43 characters of canonical base64url).
    pub fn parse(text: &str) -> Result<Self, MalformedSecret> {
        Opaque::parse(text).map(Self)
    }

    /// The text form, to send to the client. Do not log it.
    pub fn expose_secret(&self) -> &str {
        self.0.as_str()
    }

    /// SHA-256 of the raw token: a key a store can hold without holding the token. (An
    /// issuer may key its tokens on a digest that binds more, its own name say, so that
    /// issuers sharing a store never take each other's tokens.)
    pub fn hash(&self) -> RefreshTokenHash {
        RefreshTokenHash(self.0.sha256())
    }
}

impl FromStr for RefreshToken {
    type Err = MalformedSecret;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Debug for RefreshToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RefreshToken(<redacted>)")
    }
}

/// The SHA-256 digest of a [`RefreshToken`]; never replayable as the token itself.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RefreshTokenHash([u8; 32]);

impl RefreshTokenHash {
    /// Wraps a digest read back from a store.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The raw digest.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The digest as 64 lowercase hex characters.
    pub fn to_hex(&self) -> String {
        crate::hex::encode(&self.0)
    }

    /// Parses 64 hex characters back into a digest.
    pub fn from_hex(text: &str) -> Result<Self, MalformedSecret> {
        crate::hex::decode_32(text).map(Self)
    }
}

impl fmt::Debug for RefreshTokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RefreshTokenHash({})", crate::hex::encode(&self.0[..4]))
    }
}

/// The id of a refresh-token family: every token descended from one login shares it.
///
/// Not secret (it may appear in an access token's claims so that logout can revoke the
/// family), but random, so families of different logins never collide. At most
/// [`FamilyId::MAX_LEN`] bytes of printable ASCII.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FamilyId(String);

impl FamilyId {
    /// The longest family id accepted by [`FamilyId::parse`].
    pub const MAX_LEN: usize = 64;

    /// A fresh random family id (128 bits, base64url).
    pub fn generate() -> Result<Self, RandomError> {
        let secret = Opaque::generate()?;
        Ok(Self(secret.as_str()[..22].to_owned()))
    }

    /// Accepts 1 to [`FamilyId::MAX_LEN`] characters of base64url (as generated ones are).
    pub fn parse(text: &str) -> Result<Self, MalformedSecret> {
        if text.is_empty() || text.len() > Self::MAX_LEN {
            return Err(MalformedSecret::Length);
        }
        if !text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(MalformedSecret::Alphabet);
        }
        Ok(Self(text.to_owned()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FamilyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_differs_from_token_and_debug_redacts() {
        let token = RefreshToken::generate().unwrap();
        let hash = token.hash();
        assert_ne!(hash.to_hex(), token.expose_secret());
        assert!(!format!("{token:?}{hash:?}").contains(token.expose_secret()));
        assert_eq!(RefreshTokenHash::from_hex(&hash.to_hex()).unwrap(), hash);
    }

    #[test]
    fn family_ids_parse_strictly() {
        let family = FamilyId::generate().unwrap();
        assert_eq!(FamilyId::parse(family.as_str()).unwrap(), family);
        assert!(FamilyId::parse("").is_err());
        assert!(FamilyId::parse("a b").is_err());
        assert!(FamilyId::parse(&"a".repeat(65)).is_err());
    }
}
