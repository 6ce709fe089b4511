//! What tokens proved, remembered by the SHA-256 of their exact text.
//!
//! A client sends the same access token with every request for the token's whole life, and
//! an Ed25519, ECDSA or RSA signature check costs tens of microseconds each time. So
//! [`Verifier::authenticate`](crate::Verifier::authenticate) remembers the identity a token
//! proved and, when the very same bytes come again, skips only the work whose answer cannot
//! change: the compact form, the header, the signature and the parse of the claims. What can
//! change is decided again on every hit by the caller: the time rules against the clock, that
//! the token's key is still in the key set, unretired and the very same key, and revocation.
//!
//! Only tokens that passed every check enter, so forged tokens cannot fill the cache or
//! evict real ones faster than real tokens do. The key is a hash, not the token, so the
//! cache holds no bearer credential; SHA-256 makes a collision (another token with the same
//! key) infeasible.

use std::sync::Arc;
use std::time::Duration;

use auth_core::Identity;
use moka::sync::Cache;

use crate::claims::RegisteredClaims;
use crate::key::VerifyingKey;

/// How long an entry may stay, whatever the token's own lifetime: the cache only saves
/// work, so a short bound keeps its memory to the tokens in use.
const TIME_TO_LIVE: Duration = Duration::from_secs(5 * 60);

/// The SHA-256 of a token's exact text.
pub(crate) type TokenHash = [u8; 32];

/// What a token proved, and what must be checked again before it is believed again.
pub(crate) struct Proven {
    /// The header's `kid`, the lookup key into the key set.
    pub(crate) kid: Option<Arc<str>>,
    /// The key that verified the signature.
    pub(crate) key: VerifyingKey,
    /// The registered claims, for the time rules and revocation.
    pub(crate) registered: RegisteredClaims,
    /// The identity as first built (its `authenticated_at` is decided again when the token
    /// has no `iat`).
    pub(crate) identity: Arc<Identity>,
}

/// A bounded cache of [`Proven`] tokens.
pub(crate) struct VerifiedCache {
    entries: Cache<TokenHash, Arc<Proven>>,
}

impl VerifiedCache {
    /// A cache of at most `capacity` tokens; `None` when `capacity` is 0.
    pub(crate) fn new(capacity: u64) -> Option<Self> {
        (capacity > 0).then(|| Self {
            entries: Cache::builder()
                .max_capacity(capacity)
                .time_to_live(TIME_TO_LIVE)
                .build(),
        })
    }

    /// The hash `token` is remembered under.
    pub(crate) fn hash(token: &str) -> TokenHash {
        let digest = ring::digest::digest(&ring::digest::SHA256, token.as_bytes());
        let mut hash = [0u8; 32];
        hash.copy_from_slice(digest.as_ref());
        hash
    }

    pub(crate) fn get(&self, hash: &TokenHash) -> Option<Arc<Proven>> {
        self.entries.get(hash)
    }

    pub(crate) fn insert(&self, hash: TokenHash, proven: Proven) {
        self.entries.insert(hash, Arc::new(proven));
    }

    pub(crate) fn forget(&self, hash: &TokenHash) {
        self.entries.invalidate(hash);
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> u64 {
        self.entries.run_pending_tasks();
        self.entries.entry_count()
    }
}
