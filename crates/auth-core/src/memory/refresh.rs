use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

use async_trait::async_trait;
use moka::sync::Cache;

use super::room::ensure_room;
use super::{Deadline, DeadlineExpiry, MemoryStoreBuilder};
use crate::store::{RefreshRecord, RefreshTokenStore, Rotation, check_subject};
use crate::{FamilyId, RefreshTokenHash, SharedClock, StoreError};

#[derive(Clone)]
struct StoredToken {
    record: RefreshRecord,
    used: bool,
}

impl Deadline for StoredToken {
    fn deadline(&self) -> SystemTime {
        self.record.expires_at
    }
}

/// The tokens of one family, so that revoking it reaches every one of them.
struct Family {
    subject: String,
    members: Vec<RefreshTokenHash>,
}

/// A [`RefreshTokenStore`] in process memory.
///
/// Tokens (and the tombstones of used ones) live in a moka map that drops them at their
/// expiry; every multi-key change (insert, rotate, revoke) happens under one lock over the
/// family index, which is what makes rotation atomic and reuse detection complete. Nothing
/// is evicted to make room (an evicted tombstone could no longer detect reuse): a full
/// store refuses new tokens with [`StoreError::Full`]. Size it above the number of
/// refresh tokens issued per token lifetime.
#[derive(Clone)]
pub struct MemoryRefreshTokenStore {
    inner: Arc<Inner>,
}

struct Inner {
    clock: SharedClock,
    max_entries: u64,
    tokens: Cache<RefreshTokenHash, Arc<StoredToken>>,
    index: Mutex<Index>,
}

/// Families by id, and when next to sweep out families whose tokens have all expired.
struct Index {
    families: HashMap<FamilyId, Family>,
    sweep_at: usize,
}

const FIRST_SWEEP: usize = 1024;

impl std::fmt::Debug for MemoryRefreshTokenStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryRefreshTokenStore")
            .field("tokens", &self.inner.tokens.entry_count())
            .finish_non_exhaustive()
    }
}

impl Default for MemoryRefreshTokenStore {
    fn default() -> Self {
        Self::builder().build()
    }
}

impl MemoryStoreBuilder<MemoryRefreshTokenStore> {
    /// The store. `max_entries` bounds the tokens, used ones included.
    pub fn build(self) -> MemoryRefreshTokenStore {
        let Self {
            clock, max_entries, ..
        } = self;
        let tokens = Cache::builder()
            .expire_after(DeadlineExpiry {
                clock: clock.clone(),
                max_ttl: None,
            })
            .build();
        MemoryRefreshTokenStore {
            inner: Arc::new(Inner {
                clock,
                max_entries,
                tokens,
                index: Mutex::new(Index {
                    families: HashMap::new(),
                    sweep_at: FIRST_SWEEP,
                }),
            }),
        }
    }
}

impl MemoryRefreshTokenStore {
    /// A store deciding expiry by `clock`, holding up to [`DEFAULT_MAX_ENTRIES`](super::DEFAULT_MAX_ENTRIES) tokens.
    pub fn new(clock: SharedClock) -> Self {
        Self::builder().clock(clock).build()
    }

    /// A builder with the system clock and the default bound.
    pub fn builder() -> MemoryStoreBuilder<Self> {
        MemoryStoreBuilder::new()
    }

    fn index(&self) -> MutexGuard<'_, Index> {
        // Nothing panics while holding the lock, and the map stays consistent if it did.
        self.inner
            .index
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn ensure_room(&self) -> Result<(), StoreError> {
        ensure_room(
            &self.inner.tokens,
            self.inner.max_entries,
            &self.inner.clock,
        )
    }

    fn live(&self, hash: &RefreshTokenHash, now: SystemTime) -> Option<Arc<StoredToken>> {
        self.inner
            .tokens
            .get(hash)
            .filter(|t| t.record.is_live_at(now))
    }

    fn remove_family(&self, families: &mut HashMap<FamilyId, Family>, family: &FamilyId) -> u64 {
        let Some(family) = families.remove(family) else {
            return 0;
        };
        let mut revoked = 0;
        for hash in family.members {
            // Used tokens stay behind as tombstones so later replays still report reuse.
            let unused = self.inner.tokens.get(&hash).is_some_and(|t| !t.used);
            if unused {
                self.inner.tokens.invalidate(&hash);
                revoked += 1;
            }
        }
        revoked
    }
}

#[async_trait]
impl RefreshTokenStore for MemoryRefreshTokenStore {
    async fn insert(
        &self,
        hash: &RefreshTokenHash,
        record: &RefreshRecord,
    ) -> Result<(), StoreError> {
        record.check_limits()?;
        let now = self.inner.clock.now();
        let mut index = self.index();
        if self.inner.tokens.contains_key(hash) {
            return Err(StoreError::AlreadyExists);
        }
        self.ensure_room()?;
        if index.families.len() >= index.sweep_at {
            // Forget families whose every token has expired, so the index stays bounded;
            // sweeping only when the index has doubled keeps inserts amortised O(1).
            index.families.retain(|_, f| {
                f.members.retain(|h| self.live(h, now).is_some());
                !f.members.is_empty()
            });
            index.sweep_at = (index.families.len() * 2).max(FIRST_SWEEP);
        }
        let family = index
            .families
            .entry(record.family.clone())
            .or_insert_with(|| Family {
                subject: record.subject.clone(),
                members: Vec::new(),
            });
        family.members.push(*hash);
        self.inner.tokens.insert(
            *hash,
            Arc::new(StoredToken {
                record: record.clone(),
                used: false,
            }),
        );
        Ok(())
    }

    async fn rotate(
        &self,
        old: &RefreshTokenHash,
        new: &RefreshTokenHash,
        issued_at: SystemTime,
        expires_at: SystemTime,
    ) -> Result<Rotation, StoreError> {
        let now = self.inner.clock.now();
        let mut index = self.index();
        let families = &mut index.families;
        let Some(presented) = self.live(old, now) else {
            return Ok(Rotation::Unknown);
        };
        let family_id = presented.record.family.clone();
        if presented.used {
            self.remove_family(families, &family_id);
            return Ok(Rotation::Reused {
                family: family_id,
                subject: presented.record.subject.clone(),
            });
        }
        let Some(family) = families.get_mut(&family_id) else {
            // A token whose family was revoked while it stayed in the map.
            self.inner.tokens.invalidate(old);
            return Ok(Rotation::Unknown);
        };
        if self.inner.tokens.contains_key(new) {
            return Err(StoreError::AlreadyExists);
        }
        self.ensure_room()?;
        let next = presented.record.rotated(issued_at, expires_at);
        self.inner.tokens.insert(
            *old,
            Arc::new(StoredToken {
                record: presented.record.clone(),
                used: true,
            }),
        );
        self.inner.tokens.insert(
            *new,
            Arc::new(StoredToken {
                record: next.clone(),
                used: false,
            }),
        );
        family.members.retain(|h| self.live(h, now).is_some());
        family.members.push(*new);
        Ok(Rotation::Rotated(next))
    }

    async fn revoke_family(&self, family: &FamilyId) -> Result<u64, StoreError> {
        let mut index = self.index();
        Ok(self.remove_family(&mut index.families, family))
    }

    async fn revoke_subject(&self, subject: &str) -> Result<u64, StoreError> {
        check_subject(subject)?;
        let mut index = self.index();
        let families = &mut index.families;
        let ids: Vec<FamilyId> = families
            .iter()
            .filter(|(_, f)| f.subject == subject)
            .map(|(id, _)| id.clone())
            .collect();
        Ok(ids.iter().map(|id| self.remove_family(families, id)).sum())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // Test code: a panic is a failed test.

    use std::time::Duration;

    use super::*;
    use crate::{Clock, ManualClock, RefreshToken};

    #[tokio::test]
    async fn a_full_store_refuses_instead_of_evicting_a_tombstone() {
        let clock = Arc::new(ManualClock::starting_now());
        let store = MemoryRefreshTokenStore::builder()
            .clock(clock.clone())
            .max_entries(2)
            .build();
        let now = clock.now();
        let record = RefreshRecord::new(
            FamilyId::generate().unwrap(),
            "alice",
            Vec::new(),
            now,
            now + Duration::from_secs(60),
        );
        let hash = || RefreshToken::generate().unwrap().hash();
        let (first, second) = (hash(), hash());
        store.insert(&first, &record).await.unwrap();
        assert!(matches!(
            store
                .rotate(&first, &second, now, now + Duration::from_secs(60))
                .await,
            Ok(Rotation::Rotated(_))
        ));
        // Full: the used first token is a tombstone that must keep detecting reuse.
        assert!(matches!(
            store.insert(&hash(), &record).await,
            Err(StoreError::Full { limit: 2 })
        ));
        assert!(matches!(
            store
                .rotate(&second, &hash(), now, now + Duration::from_secs(60))
                .await,
            Err(StoreError::Full { .. })
        ));
        assert!(matches!(
            store
                .rotate(&first, &hash(), now, now + Duration::from_secs(60))
                .await,
            Ok(Rotation::Reused { .. })
        ));
    }
}
