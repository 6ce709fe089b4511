//! Session ids (the secret in the cookie) and session keys (what stores index on).

use std::fmt;
use std::str::FromStr;

use crate::error::{MalformedSecret, RandomError};
use crate::secret::Opaque;

/// The secret a client holds for its session: 256 bits from the operating system's CSPRNG
/// (ring's `SystemRandom`), written as 43 characters of unpadded base64url.
///
/// It is never derived from time, counters or user data. `Debug` redacts it and there is
/// no `Display`: the only way to the text is [`SessionId::expose_secret`], which the cookie
/// writer calls. Equality is constant time.
///
/// ```
/// use auth_core::SessionId;
///
/// let id = SessionId::generate()?;
/// assert_eq!(format!("{id:?}"), "SessionId(<redacted>)");
/// let parsed: SessionId = id.expose_secret().parse()?;
/// assert!(parsed == id);
/// assert_eq!(parsed.key(), id.key());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct SessionId(Opaque);

impl SessionId {
    /// A fresh id from the system CSPRNG.
    pub fn generate() -> Result<Self, RandomError> {
        Opaque::generate().map(Self)
    }

    /// Parses an id a client presented. Length and alphabet are checked before decoding;
    /// anything but the canonical 43-character form is refused.
    pub fn parse(text: &str) -> Result<Self, MalformedSecret> {
        Opaque::parse(text).map(Self)
    }

    /// The text form, for writing the cookie. Do not log it.
    pub fn expose_secret(&self) -> &str {
        self.0.as_str()
    }

    /// The store key for this id: SHA-256 of its 32 raw bytes.
    pub fn key(&self) -> SessionKey {
        SessionKey(self.0.sha256())
    }
}

impl FromStr for SessionId {
    type Err = MalformedSecret;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionId(<redacted>)")
    }
}

/// What a store keys a session on: the SHA-256 digest of the [`SessionId`].
///
/// A dump of a store holds only these digests, which cannot be turned back into ids and so
/// cannot be replayed as cookies. The digest is not secret: it prints in hex, and its
/// first characters serve as a handle to show operators.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionKey([u8; 32]);

impl SessionKey {
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

    /// Parses 64 hex characters (either case) back into a key.
    pub fn from_hex(text: &str) -> Result<Self, MalformedSecret> {
        crate::hex::decode_32(text).map(Self)
    }

    /// A short, non-secret label for logs and session lists: the first 8 hex characters.
    pub fn hint(&self) -> String {
        crate::hex::encode(&self.0[..4])
    }
}

impl fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionKey({})", self.hint())
    }
}

impl fmt::Display for SessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_is_sha256_of_the_raw_id() {
        let id = SessionId::parse(&"A".repeat(43)).unwrap();
        // SHA-256 of 32 zero bytes.
        assert_eq!(
            id.key().to_hex(),
            "66687aadf862bd776c8fc18b8e9f8e20089714856ee233b3902a591d0d5f2925"
        );
    }

    #[test]
    fn debug_never_prints_the_id() {
        let id = SessionId::generate().unwrap();
        let printed = format!("{id:?} {:?} {}", id.key(), id.key());
        assert!(!printed.contains(id.expose_secret()));
        assert!(!printed.contains(&id.expose_secret()[..8]));
    }

    #[test]
    fn ids_are_unique_and_full_entropy() {
        let ids: std::collections::HashSet<String> = (0..1000)
            .map(|_| SessionId::generate().unwrap().expose_secret().to_owned())
            .collect();
        assert_eq!(ids.len(), 1000);
        // Bits set across 1000 ids of 256 bits: a biased or truncated source drifts far from half.
        let ones: u32 = ids
            .iter()
            .map(|t| SessionId::parse(t).unwrap().0.sha256()[0].count_ones())
            .sum();
        assert!((3000..5000).contains(&ones), "{ones}");
    }

    mod properties {
        use super::*;
        use base64::Engine as _;
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        use proptest::prelude::*;

        proptest! {
            /// Whatever a client sends, parsing answers without panicking, and an accepted
            /// id is the canonical text of its value.
            #[test]
            fn parse_never_panics_and_accepts_only_canonical_text(text in any::<String>()) {
                if let Ok(id) = SessionId::parse(&text) {
                    prop_assert_eq!(id.expose_secret(), text.as_str());
                }
            }

            /// Texts of the right length and alphabet: accepted exactly when canonical
            /// (the last character's two unused bits are zero), and then they round trip.
            #[test]
            fn ids_of_the_right_shape_round_trip(text in "[A-Za-z0-9_-]{43}") {
                let canonical = URL_SAFE_NO_PAD
                    .decode(&text)
                    .is_ok_and(|raw| URL_SAFE_NO_PAD.encode(raw) == text);
                match SessionId::parse(&text) {
                    Ok(id) => {
                        prop_assert!(canonical);
                        prop_assert_eq!(id.expose_secret(), text.as_str());
                        let again = SessionId::parse(id.expose_secret()).unwrap();
                        prop_assert!(again == id);
                        prop_assert_eq!(again.key(), id.key());
                    }
                    Err(error) => {
                        prop_assert!(!canonical);
                        prop_assert_eq!(error, MalformedSecret::Encoding);
                    }
                }
            }

            /// Every 256-bit value has exactly one id, keyed by the SHA-256 of its bytes.
            #[test]
            fn every_256_bit_value_is_an_id(raw in any::<[u8; 32]>()) {
                let text = URL_SAFE_NO_PAD.encode(raw);
                let id = SessionId::parse(&text).unwrap();
                prop_assert_eq!(id.expose_secret(), text.as_str());
                let digest = ring::digest::digest(&ring::digest::SHA256, &raw);
                let key = id.key();
                prop_assert_eq!(&key.as_bytes()[..], digest.as_ref());
            }

            /// Near misses of a valid id (a byte changed, added or removed) never panic,
            /// and an accepted neighbour is again canonical.
            #[test]
            fn near_misses_are_refused_or_canonical(
                raw in any::<[u8; 32]>(),
                at in 0usize..43,
                byte in any::<u8>(),
                edit in 0u8..3,
            ) {
                let mut text = URL_SAFE_NO_PAD.encode(raw).into_bytes();
                match edit {
                    0 => text[at] = byte,
                    1 => text.insert(at, byte),
                    _ => {
                        text.remove(at);
                    }
                }
                let text = String::from_utf8_lossy(&text);
                if let Ok(id) = SessionId::parse(&text) {
                    prop_assert_eq!(id.expose_secret(), &*text);
                }
            }
        }
    }

    #[test]
    fn hex_round_trip() {
        let key = SessionId::generate().unwrap().key();
        assert_eq!(SessionKey::from_hex(&key.to_hex()).unwrap(), key);
        assert_eq!(
            SessionKey::from_hex(&key.to_hex().to_uppercase()).unwrap(),
            key
        );
        assert!(SessionKey::from_hex("zz").is_err());
    }
}
