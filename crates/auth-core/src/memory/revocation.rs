use std::time::SystemTime;

use async_trait::async_trait;
use moka::ops::compute::Op;
use moka::sync::Cache;

use super::room::ensure_room;
use super::{Deadline, DeadlineExpiry, MemoryStoreBuilder};
use crate::store::{MAX_TOKEN_ID_LEN, RevocationStore, TokenRef, check_subject, check_token_id};
use crate::{FamilyId, SharedClock, StoreError};

#[derive(Clone, Copy)]
struct Until(SystemTime);

impl Deadline for Until {
    fn deadline(&self) -> SystemTime {
        self.0
    }
}

#[derive(Clone, Copy)]
struct NotBefore {
    not_before: SystemTime,
    until: SystemTime,
}

impl Deadline for NotBefore {
    fn deadline(&self) -> SystemTime {
        self.until
    }
}

/// A [`RevocationStore`] in process memory: revoked `jti`s and families, and subjects'
/// "not before" instants, each dropped when the last token it could apply to has expired.
///
/// Bounded, but never by eviction: a store holding its maximum of revoked tokens and
/// families (or of subjects) refuses the next revocation with [`StoreError::Full`], since
/// an evicted revocation would quietly accept its token again.
#[derive(Clone)]
pub struct MemoryRevocationStore {
    clock: SharedClock,
    max_entries: u64,
    tokens: Cache<Box<[u8]>, Until>,
    subjects: Cache<String, NotBefore>,
}

impl std::fmt::Debug for MemoryRevocationStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryRevocationStore")
            .field("tokens", &self.tokens.entry_count())
            .field("subjects", &self.subjects.entry_count())
            .finish_non_exhaustive()
    }
}

impl Default for MemoryRevocationStore {
    fn default() -> Self {
        Self::builder().build()
    }
}

impl MemoryStoreBuilder<MemoryRevocationStore> {
    /// The store. `max_entries` bounds the revoked tokens and families together, and
    /// separately the revoked subjects.
    pub fn build(self) -> MemoryRevocationStore {
        let Self {
            clock, max_entries, ..
        } = self;
        let expiry = || DeadlineExpiry {
            clock: clock.clone(),
            max_ttl: None,
        };
        MemoryRevocationStore {
            tokens: Cache::builder().expire_after(expiry()).build(),
            subjects: Cache::builder().expire_after(expiry()).build(),
            max_entries,
            clock,
        }
    }
}

impl MemoryRevocationStore {
    /// A store deciding expiry by `clock`, holding up to [`DEFAULT_MAX_ENTRIES`](super::DEFAULT_MAX_ENTRIES) of each kind.
    pub fn new(clock: SharedClock) -> Self {
        Self::builder().clock(clock).build()
    }

    /// A builder with the system clock and the default bound.
    pub fn builder() -> MemoryStoreBuilder<Self> {
        MemoryStoreBuilder::new()
    }

    fn is_live_revoked(&self, key: &TokenKey, now: SystemTime) -> bool {
        self.tokens.get(key.as_bytes()).is_some_and(|u| now < u.0)
    }

    /// Records `key` as revoked until `until`, never shortening a revocation in force.
    fn revoke_key(&self, key: TokenKey, until: SystemTime) -> Result<(), StoreError> {
        let now = self.clock.now();
        if until <= now {
            return Ok(());
        }
        if !self.tokens.contains_key(key.as_bytes()) {
            ensure_room(&self.tokens, self.max_entries, &self.clock)?;
        }
        self.tokens
            .entry(key.as_bytes().into())
            .and_compute_with(|held| match held.map(|e| e.into_value()) {
                Some(Until(old)) if old >= until => Op::Nop,
                _ => Op::Put(Until(until)),
            });
        Ok(())
    }

    fn live_not_before(&self, subject: &str, now: SystemTime) -> Option<SystemTime> {
        self.subjects
            .get(subject)
            .filter(|nb| now < nb.until)
            .map(|nb| nb.not_before)
    }
}

/// What a [`TokenKey`] names: one token, or every token of a refresh family.
#[derive(Clone, Copy)]
#[repr(u8)]
enum Kind {
    Jti = 0,
    Family = 1,
}

/// An unambiguous key for `(kind, issuer, id)`: the kind, then the issuer's length (at
/// most 255, one byte), so no choice of strings can make two keys collide. Built on the
/// stack, since every authenticated request looks one up.
struct TokenKey {
    bytes: [u8; 2 + 2 * MAX_TOKEN_ID_LEN],
    len: usize,
}

impl TokenKey {
    fn jti(issuer: &str, jti: &str) -> Result<Self, StoreError> {
        check_token_id("jti", jti)?;
        Self::new(Kind::Jti, issuer, jti)
    }

    fn family(issuer: &str, family: &FamilyId) -> Result<Self, StoreError> {
        Self::new(Kind::Family, issuer, family.as_str())
    }

    fn new(kind: Kind, issuer: &str, id: &str) -> Result<Self, StoreError> {
        check_token_id("issuer", issuer)?;
        let mut bytes = [0; 2 + 2 * MAX_TOKEN_ID_LEN];
        let issuer_len = u8::try_from(issuer.len()).map_err(|_| StoreError::TooLarge {
            what: "issuer",
            size: issuer.len(),
            limit: MAX_TOKEN_ID_LEN,
        })?;
        let id_at = 2 + issuer.len();
        let len = id_at + id.len();
        bytes[0] = kind as u8;
        bytes[1] = issuer_len;
        bytes[2..id_at].copy_from_slice(issuer.as_bytes());
        bytes[id_at..len].copy_from_slice(id.as_bytes());
        Ok(Self { bytes, len })
    }

    fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

#[async_trait]
impl RevocationStore for MemoryRevocationStore {
    async fn revoke(&self, issuer: &str, jti: &str, until: SystemTime) -> Result<(), StoreError> {
        self.revoke_key(TokenKey::jti(issuer, jti)?, until)
    }

    async fn is_revoked(&self, issuer: &str, jti: &str) -> Result<bool, StoreError> {
        Ok(self.is_live_revoked(&TokenKey::jti(issuer, jti)?, self.clock.now()))
    }

    async fn revoke_family(
        &self,
        issuer: &str,
        family: &FamilyId,
        until: SystemTime,
    ) -> Result<(), StoreError> {
        self.revoke_key(TokenKey::family(issuer, family)?, until)
    }

    async fn revoke_subject(
        &self,
        subject: &str,
        not_before: SystemTime,
        until: SystemTime,
    ) -> Result<(), StoreError> {
        check_subject(subject)?;
        let now = self.clock.now();
        if !self.subjects.contains_key(subject) {
            ensure_room(&self.subjects, self.max_entries, &self.clock)?;
        }
        self.subjects
            .entry(subject.to_owned())
            .and_compute_with(|entry| {
                let merged = match entry.map(|e| e.into_value()) {
                    Some(old) if now < old.until => NotBefore {
                        not_before: old.not_before.max(not_before),
                        until: old.until.max(until),
                    },
                    _ => NotBefore { not_before, until },
                };
                if now < merged.until {
                    Op::Put(merged)
                } else {
                    Op::Remove
                }
            });
        Ok(())
    }

    async fn subject_not_before(&self, subject: &str) -> Result<Option<SystemTime>, StoreError> {
        check_subject(subject)?;
        Ok(self.live_not_before(subject, self.clock.now()))
    }

    // Every question in one future: this runs on every authenticated request.
    async fn is_token_revoked(&self, token: &TokenRef<'_>) -> Result<bool, StoreError> {
        let now = self.clock.now();
        if let Some(jti) = token.jti
            && self.is_live_revoked(&TokenKey::jti(token.issuer, jti)?, now)
        {
            return Ok(true);
        }
        if let Some(family) = token.family
            && self.is_live_revoked(&TokenKey::family(token.issuer, family)?, now)
        {
            return Ok(true);
        }
        check_subject(token.subject)?;
        Ok(self
            .live_not_before(token.subject, now)
            .is_some_and(|not_before| token.issued_at < not_before))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // Test code: a panic is a failed test.

    use std::sync::Arc;
    use std::time::Duration;

    use super::*;
    use crate::{Clock, ManualClock};

    #[tokio::test]
    async fn a_full_store_refuses_instead_of_forgetting_a_revocation() {
        let clock = Arc::new(ManualClock::starting_now());
        let store = MemoryRevocationStore::builder()
            .clock(clock.clone())
            .max_entries(3)
            .build();
        let until = clock.now() + Duration::from_secs(60);
        for jti in ["a", "b", "c"] {
            store.revoke("iss", jti, until).await.unwrap();
        }
        assert!(matches!(
            store.revoke("iss", "d", until).await,
            Err(StoreError::Full { limit: 3 })
        ));
        let family = FamilyId::generate().unwrap();
        assert!(matches!(
            store.revoke_family("iss", &family, until).await,
            Err(StoreError::Full { .. })
        ));
        for jti in ["a", "b", "c"] {
            assert!(store.is_revoked("iss", jti).await.unwrap(), "{jti} kept");
        }
        // Lengthening one already held needs no room.
        store
            .revoke("iss", "a", until + Duration::from_secs(60))
            .await
            .unwrap();
        // Once the held ones end by the store's clock, there is room again.
        clock.set(until);
        store
            .revoke("iss", "d", until + Duration::from_secs(1))
            .await
            .unwrap();
        assert!(store.is_revoked("iss", "d").await.unwrap());
        assert!(store.is_revoked("iss", "a").await.unwrap());
    }

    #[tokio::test]
    async fn a_full_store_refuses_new_subjects_too() {
        let clock = Arc::new(ManualClock::starting_now());
        let store = MemoryRevocationStore::builder()
            .clock(clock.clone())
            .max_entries(1)
            .build();
        let now = clock.now();
        let until = now + Duration::from_secs(60);
        store.revoke_subject("alice", now, until).await.unwrap();
        assert!(matches!(
            store.revoke_subject("bob", now, until).await,
            Err(StoreError::Full { limit: 1 })
        ));
        store.revoke_subject("alice", until, until).await.unwrap();
        assert_eq!(
            store.subject_not_before("alice").await.unwrap(),
            Some(until)
        );
    }
}
