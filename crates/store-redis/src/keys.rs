//! Key names: one hash tag per store and kind, hashes for everything a client chose.
//!
//! Every key of one store kind starts with the same hash tag, `{<prefix>:s}` for sessions,
//! `{<prefix>:rt}` for refresh tokens, `{<prefix>:rv}` for revocations and `{<prefix>:th}`
//! for the login throttle, so Redis Cluster maps all of them to one slot and every Lua
//! script may touch any of them atomically. Secrets never appear: sessions and refresh
//! tokens are keyed by auth-core's SHA-256 digests in hex, throttle keys by auth-core's
//! [`ThrottleKey`](auth_core::store::ThrottleKey) digest, subjects and `(issuer, jti)` or
//! `(issuer, family)` pairs by a SHA-256 prefix of their bytes, so a hostile subject
//! (braces, `*`, spaces, newlines) can never change a key's shape or its slot.

use crate::error::ConfigError;

/// The longest accepted key prefix, in bytes.
pub const MAX_PREFIX_LEN: usize = 64;

/// The prefix used when none is configured.
pub const DEFAULT_PREFIX: &str = "authkit";

/// Hex digits kept from a SHA-256 when it names a subject or a revoked token: 128 bits.
pub(crate) const NAME_HASH_HEX: usize = 32;

/// Checks a key prefix: 1 to [`MAX_PREFIX_LEN`] bytes of `[A-Za-z0-9_.:-]`.
pub(crate) fn check_prefix(prefix: &str) -> Result<(), ConfigError> {
    if prefix.is_empty() {
        return Err(ConfigError::InvalidPrefix("empty"));
    }
    if prefix.len() > MAX_PREFIX_LEN {
        return Err(ConfigError::InvalidPrefix("longer than 64 bytes"));
    }
    if !prefix
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-'))
    {
        return Err(ConfigError::InvalidPrefix(
            "characters outside [A-Za-z0-9_.:-]",
        ));
    }
    Ok(())
}

/// The key names of one store kind: `{<prefix>:<kind>}:<part>:<name>`.
#[derive(Clone, Debug)]
pub(crate) struct Keyspace {
    tag: String,
}

impl Keyspace {
    /// The keyspace of `kind` (`s`, `rt`, `rv`, `th`) under an already checked prefix.
    pub(crate) fn new(prefix: &str, kind: &str) -> Self {
        Self {
            tag: format!("{{{prefix}:{kind}}}"),
        }
    }

    /// The hash tag every key of this store starts with, `{<prefix>:<kind>}`.
    pub(crate) fn tag(&self) -> &str {
        &self.tag
    }

    /// The start of every key named `part` (`rec`, `sub`, ...), for scripts that build key
    /// names from stored values. Always ends in `:`.
    pub(crate) fn part(&self, part: &str) -> String {
        format!("{}:{part}:", self.tag)
    }

    /// The key `part` / `name`.
    pub(crate) fn key(&self, part: &str, name: &str) -> String {
        format!("{}:{part}:{name}", self.tag)
    }
}

/// Lowercase hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// A fixed-width, key-safe name for any string a client chose: the first
/// [`NAME_HASH_HEX`] hex digits of its SHA-256.
pub(crate) fn name_hash(parts: &[&[u8]]) -> String {
    let mut context = ring::digest::Context::new(&ring::digest::SHA256);
    for part in parts {
        context.update(part);
    }
    let mut name = hex(context.finish().as_ref());
    name.truncate(NAME_HASH_HEX);
    name
}

/// The key-safe name of a subject.
pub(crate) fn subject_name(subject: &str) -> String {
    name_hash(&[b"subject\0", subject.as_bytes()])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_checked() {
        assert!(check_prefix("authkit").is_ok());
        assert!(check_prefix("app-1.prod:v2").is_ok());
        assert!(check_prefix("").is_err());
        assert!(check_prefix("a{b}").is_err());
        assert!(check_prefix("a b").is_err());
        assert!(check_prefix("a*").is_err());
        assert!(check_prefix(&"a".repeat(65)).is_err());
    }

    #[test]
    fn hostile_subjects_cannot_shape_keys() {
        let space = Keyspace::new("authkit", "s");
        for subject in ["}{x", "*", "a b\r\n", "{authkit:s}", ""] {
            let key = space.key("sub", &subject_name(subject));
            assert!(key.starts_with("{authkit:s}:sub:"));
            let name = &key["{authkit:s}:sub:".len()..];
            assert_eq!(name.len(), NAME_HASH_HEX);
            assert!(name.bytes().all(|b| b.is_ascii_hexdigit()));
        }
        assert_ne!(subject_name("alice"), subject_name("bob"));
    }

    #[test]
    fn hex_is_lowercase() {
        assert_eq!(hex(&[0x00, 0xab, 0xff]), "00abff");
    }
}
