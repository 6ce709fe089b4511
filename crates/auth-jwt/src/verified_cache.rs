//! What tokens proved, remembered by their exact text.
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
//! evict real ones faster than real tokens do. A hit requires the whole text to be equal,
//! compared without an early exit. The table is set-associative: a token's last bytes (its
//! signature's, random for every token an issuer signs) mixed with a per-table random seed
//! choose a set of [`WAYS`] entries: those bytes are random already, so there is no need
//! to hash the whole token on every request, as a map would.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use auth_core::Identity;

use crate::claims::RegisteredClaims;
use crate::key::VerifyingKey;

/// How long an entry may stay, whatever the token's own lifetime, so that the table holds
/// the tokens in use rather than every token seen.
pub(crate) const TIME_TO_LIVE: Duration = Duration::from_secs(5 * 60);

/// Tokens longer than this are not remembered, which bounds the table's memory.
pub(crate) const MAX_REMEMBERED_LEN: usize = 4 * 1024;

/// Entries per set: tokens whose tags choose the same set evict one another only beyond
/// this many.
const WAYS: usize = 4;

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

struct Entry<V> {
    tag: u64,
    token: Box<[u8]>,
    inserted: SystemTime,
    value: Arc<V>,
}

struct Set<V> {
    ways: [Option<Box<Entry<V>>>; WAYS],
    /// The way the next insert replaces when every way is live.
    next: usize,
}

/// A bounded table of tokens and what they proved ([`Proven`] in the verifier).
pub(crate) struct VerifiedCache<V = Proven> {
    sets: Box<[Mutex<Set<V>>]>,
    seed: u64,
}

impl<V> VerifiedCache<V> {
    /// A table of at least `capacity` entries (rounded up to a power of two sets of
    /// [`WAYS`]); `None` when `capacity` is 0.
    pub(crate) fn new(capacity: u64) -> Option<Self> {
        if capacity == 0 {
            return None;
        }
        let sets = usize::try_from(capacity.div_ceil(WAYS as u64))
            .unwrap_or(usize::MAX)
            .checked_next_power_of_two()
            .unwrap_or(1 << (usize::BITS - 1));
        let sets = (0..sets)
            .map(|_| {
                Mutex::new(Set {
                    ways: Default::default(),
                    next: 0,
                })
            })
            .collect();
        Some(Self {
            sets,
            seed: RandomState::new().hash_one(0x6a77_745f_7365_6564_u64),
        })
    }

    /// The tag of `token` (its set, and a quick filter before the full comparison).
    fn tag(&self, token: &[u8]) -> u64 {
        let tail = &token[token.len().saturating_sub(8)..];
        let mut word = [0u8; 8];
        word[..tail.len()].copy_from_slice(tail);
        // A folded 128-bit multiply: both halves of the product, so every input bit
        // reaches the low bits that pick the set.
        let product = u128::from(u64::from_le_bytes(word) ^ self.seed ^ token.len() as u64)
            * 0x9e37_79b9_7f4a_7c15;
        (product as u64) ^ ((product >> 64) as u64)
    }

    fn set(&self, tag: u64) -> &Mutex<Set<V>> {
        // `sets.len()` is a power of two; the cast keeps the low bits, which are the index.
        &self.sets[tag as usize & (self.sets.len() - 1)]
    }

    /// What `token` proved, if it is remembered and was inserted less than
    /// [`TIME_TO_LIVE`] before `now`.
    pub(crate) fn get(&self, token: &str, now: SystemTime) -> Option<Arc<V>> {
        let token = token.as_bytes();
        let tag = self.tag(token);
        let set = self.set(tag).lock().unwrap_or_else(PoisonError::into_inner);
        set.ways
            .iter()
            .flatten()
            .find(|entry| entry.tag == tag && same_bytes(&entry.token, token))
            .filter(|entry| is_fresh(entry, now))
            .map(|entry| Arc::clone(&entry.value))
    }

    /// Remembers what `token` proved, replacing an entry of the same token, else a free or
    /// stale way, else the set's ways in turn.
    pub(crate) fn insert(&self, token: &str, value: V, now: SystemTime) {
        let token = token.as_bytes();
        if token.len() > MAX_REMEMBERED_LEN {
            return;
        }
        let tag = self.tag(token);
        let entry = Box::new(Entry {
            tag,
            token: token.into(),
            inserted: now,
            value: Arc::new(value),
        });
        let mut set = self.set(tag).lock().unwrap_or_else(PoisonError::into_inner);
        let reusable = set.ways.iter().position(|way| match way {
            None => true,
            Some(old) => (old.tag == tag && same_bytes(&old.token, token)) || !is_fresh(old, now),
        });
        let index = reusable.unwrap_or_else(|| {
            let index = set.next;
            set.next = (index + 1) % WAYS;
            index
        });
        set.ways[index] = Some(entry);
    }

    /// Forgets `token`.
    pub(crate) fn forget(&self, token: &str) {
        let token = token.as_bytes();
        let tag = self.tag(token);
        let mut set = self.set(tag).lock().unwrap_or_else(PoisonError::into_inner);
        for way in &mut set.ways {
            if way
                .as_ref()
                .is_some_and(|entry| entry.tag == tag && same_bytes(&entry.token, token))
            {
                *way = None;
            }
        }
    }

    /// How many tokens are remembered and fresh at `now`.
    #[cfg(test)]
    pub(crate) fn len(&self, now: SystemTime) -> usize {
        self.sets
            .iter()
            .map(|set| {
                let set = set.lock().unwrap_or_else(PoisonError::into_inner);
                set.ways
                    .iter()
                    .flatten()
                    .filter(|e| is_fresh(e, now))
                    .count()
            })
            .sum()
    }
}

fn is_fresh<V>(entry: &Entry<V>, now: SystemTime) -> bool {
    entry
        .inserted
        .checked_add(TIME_TO_LIVE)
        .is_none_or(|limit| now < limit)
}

/// Whether `a` and `b` are equal, reading every byte whatever the first difference (the
/// remembered text is a bearer credential).
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // Test code: a panic is a failed test.

    use super::*;

    fn now() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
    }

    /// Tokens that end alike, so that they share one tag and therefore one set.
    fn alike(n: usize) -> Vec<String> {
        (0..n)
            .map(|i| format!("head{i:03}.payload.SAME_TAIL"))
            .collect()
    }

    #[test]
    fn only_the_exact_text_is_found() {
        let cache = VerifiedCache::new(16).unwrap();
        let tokens = alike(2);
        cache.insert(&tokens[0], 7, now());
        assert_eq!(cache.get(&tokens[0], now()).as_deref(), Some(&7));
        assert_eq!(
            cache.tag(tokens[0].as_bytes()),
            cache.tag(tokens[1].as_bytes())
        );
        assert!(cache.get(&tokens[1], now()).is_none());
        assert!(cache.get(&tokens[0][1..], now()).is_none());
        assert!(cache.get(&format!("{}x", tokens[0]), now()).is_none());
    }

    #[test]
    fn a_full_set_replaces_its_ways_in_turn_and_never_answers_wrongly() {
        let cache = VerifiedCache::new(16).unwrap();
        let tokens = alike(WAYS + 2);
        for (i, token) in tokens.iter().enumerate() {
            cache.insert(token, i, now());
        }
        assert_eq!(cache.len(now()), WAYS);
        for (i, token) in tokens.iter().enumerate() {
            let found = cache.get(token, now());
            assert!(found.is_none() || found.as_deref() == Some(&i), "token {i}");
        }
        assert!(cache.get(&tokens[0], now()).is_none());
        assert!(cache.get(&tokens[1], now()).is_none());
        assert_eq!(
            cache.get(&tokens[WAYS + 1], now()).as_deref(),
            Some(&(WAYS + 1))
        );
    }

    #[test]
    fn inserting_a_remembered_token_again_replaces_its_entry() {
        let cache = VerifiedCache::new(16).unwrap();
        let tokens = alike(1);
        cache.insert(&tokens[0], 1, now());
        cache.insert(&tokens[0], 2, now());
        assert_eq!(cache.len(now()), 1);
        assert_eq!(cache.get(&tokens[0], now()).as_deref(), Some(&2));
    }

    #[test]
    fn entries_last_five_minutes_and_stale_ones_are_replaced_first() {
        let cache = VerifiedCache::new(16).unwrap();
        let tokens = alike(WAYS + 1);
        let later = now() + Duration::from_secs(60);
        // Ways 0 to 2 hold tokens from a minute later than the one in the last way, and
        // the turn is at way 0.
        for (i, token) in tokens.iter().enumerate().skip(1).take(WAYS - 1) {
            cache.insert(token, i, later);
        }
        cache.insert(&tokens[0], 0, now());
        assert!(
            cache
                .get(&tokens[0], now() + TIME_TO_LIVE - Duration::from_secs(1))
                .is_some()
        );
        let stale = now() + TIME_TO_LIVE;
        assert!(cache.get(&tokens[0], stale).is_none());

        cache.insert(&tokens[WAYS], WAYS, stale);
        for (i, token) in tokens.iter().enumerate().skip(1) {
            assert_eq!(cache.get(token, stale).as_deref(), Some(&i), "token {i}");
        }
    }

    #[test]
    fn forget_removes_only_that_token() {
        let cache = VerifiedCache::new(16).unwrap();
        let tokens = alike(2);
        cache.insert(&tokens[0], 0, now());
        cache.insert(&tokens[1], 1, now());
        cache.forget(&tokens[0]);
        assert!(cache.get(&tokens[0], now()).is_none());
        assert_eq!(cache.get(&tokens[1], now()).as_deref(), Some(&1));
    }

    #[test]
    fn long_tokens_are_not_remembered() {
        let cache = VerifiedCache::new(16).unwrap();
        let long = "a".repeat(MAX_REMEMBERED_LEN + 1);
        cache.insert(&long, 0, now());
        assert!(cache.get(&long, now()).is_none());
        let limit = "a".repeat(MAX_REMEMBERED_LEN);
        cache.insert(&limit, 0, now());
        assert!(cache.get(&limit, now()).is_some());
    }

    #[test]
    fn capacity_is_rounded_up_to_whole_sets() {
        assert!(VerifiedCache::<u8>::new(0).is_none());
        assert_eq!(VerifiedCache::<u8>::new(1).unwrap().sets.len(), 1);
        assert_eq!(VerifiedCache::<u8>::new(10_000).unwrap().sets.len(), 4096);
        // The builder's docs promise about 48 bytes a set before any token is remembered
        // (192 KiB for the default 4096 sets).
        assert!(std::mem::size_of::<Mutex<Set<Proven>>>() <= 48);
        // Short tokens and tokens of every tail spread over the sets.
        let cache = VerifiedCache::<u8>::new(1024).unwrap();
        let used: std::collections::HashSet<_> = (0..4096)
            .map(|i| cache.tag(format!("t.p.{i}").as_bytes()) as usize & (cache.sets.len() - 1))
            .collect();
        assert!(
            used.len() > cache.sets.len() * 3 / 4,
            "{} sets used",
            used.len()
        );
    }

    #[test]
    fn byte_comparison_reads_contents_and_lengths() {
        assert!(same_bytes(b"abc", b"abc"));
        assert!(!same_bytes(b"abc", b"abd"));
        assert!(!same_bytes(b"xbc", b"abc"));
        assert!(!same_bytes(b"abc", b"abcd"));
        assert!(same_bytes(b"", b""));
    }
}
