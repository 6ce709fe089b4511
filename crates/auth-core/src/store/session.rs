use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;

use super::{MAX_DATA_LEN, check_len, check_subject};
use crate::{SessionKey, StoreError};

/// A session as a store holds it. The store treats `data` as opaque bytes.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionRecord {
    /// Whose session it is (at most [`MAX_SUBJECT_LEN`](super::MAX_SUBJECT_LEN) bytes).
    pub subject: String,
    /// The application's serialized session data (at most [`MAX_DATA_LEN`] bytes).
    pub data: Vec<u8>,
    /// When the session was created; fixed for its life.
    pub created_at: SystemTime,
    /// When the session was last seen (written by `save` and `touch`).
    pub last_seen_at: SystemTime,
    /// The moment the record stops loading: the earlier of the idle and absolute deadlines.
    pub expires_at: SystemTime,
    /// Optimistic-concurrency version: 0 on create, +1 on every successful `save`.
    pub version: u64,
}

impl SessionRecord {
    /// A new record at version 0, last seen at creation.
    pub fn new(
        subject: impl Into<String>,
        data: Vec<u8>,
        created_at: SystemTime,
        expires_at: SystemTime,
    ) -> Self {
        Self {
            subject: subject.into(),
            data,
            created_at,
            last_seen_at: created_at,
            expires_at,
            version: 0,
        }
    }

    /// Whether the record is still live at `now`.
    pub fn is_live_at(&self, now: SystemTime) -> bool {
        now < self.expires_at
    }

    /// Refuses subjects and data over the documented limits. Stores call this before any
    /// write, so an oversized value never replaces a stored one.
    pub fn check_limits(&self) -> Result<(), StoreError> {
        check_subject(&self.subject)?;
        check_len("session data", self.data.len(), MAX_DATA_LEN)
    }
}

impl fmt::Debug for SessionRecord {
    // Session data may hold secrets (CSRF tokens, OAuth state): print its size only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionRecord")
            .field("subject", &self.subject)
            .field("data_len", &self.data.len())
            .field("created_at", &self.created_at)
            .field("last_seen_at", &self.last_seen_at)
            .field("expires_at", &self.expires_at)
            .field("version", &self.version)
            .finish()
    }
}

/// One live session of a subject, as listed by [`SessionStore::list_subject`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionEntry {
    /// The session's store key (a hash, safe to show as a handle).
    pub key: SessionKey,
    /// The session.
    pub record: SessionRecord,
}

impl SessionEntry {
    /// Pairs a key with its record.
    pub fn new(key: SessionKey, record: SessionRecord) -> Self {
        Self { key, record }
    }
}

/// Where server-side sessions live.
///
/// Every implementation keeps this contract, and proves it by running auth-core's
/// conformance suite (feature `test-suite`):
///
/// - Records are keyed by [`SessionKey`] (a hash of the id), never by the id itself.
/// - **Expiry is the store's to enforce, by the store's [`Clock`](crate::Clock)**: a record
///   whose `expires_at` is not after the clock's `now` never loads, never lists, cannot be
///   saved or touched, whatever the backend's own TTL did. Native TTLs are only garbage
///   collection.
/// - Values up to [`MAX_DATA_LEN`](crate::store::MAX_DATA_LEN) bytes of data and
///   [`MAX_SUBJECT_LEN`](crate::store::MAX_SUBJECT_LEN) bytes of subject round-trip byte
///   for byte; larger ones are refused with [`StoreError::TooLarge`] and nothing is written.
/// - A backend that cannot answer returns [`StoreError::Unavailable`] (within a bounded
///   time), never a hang, a panic, or an empty answer.
///
/// See [`writing_a_store`](crate::writing_a_store) for the rules every store keeps, the
/// suites that prove them, and a worked example of this trait.
#[async_trait]
pub trait SessionStore: Send + Sync + 'static {
    /// Stores a new record at version 0. If a live record already holds `key`, fails with
    /// [`StoreError::AlreadyExists`] and leaves it untouched: create never overwrites.
    /// (An expired record under the same key may be replaced.)
    async fn create(&self, key: &SessionKey, record: &SessionRecord) -> Result<(), StoreError>;

    /// The live record under `key`, or `None` if there is none or it has expired. One
    /// round trip where the backend allows it.
    async fn load(&self, key: &SessionKey) -> Result<Option<SessionRecord>, StoreError>;

    /// [`load`](Self::load), answering with a shared record. A store that keeps its records
    /// behind an `Arc` (the memory store, [`Cached`](crate::Cached) on a hit) hands out its
    /// own, without copying the subject and data; the default wraps `load`'s answer, so a
    /// store never needs to implement it. Both answer alike in every case.
    async fn load_shared(
        &self,
        key: &SessionKey,
    ) -> Result<Option<Arc<SessionRecord>>, StoreError> {
        Ok(self.load(key).await?.map(Arc::new))
    }

    /// Replaces `data`, `last_seen_at` and `expires_at` of the live record under `key`, if
    /// its stored version equals `record.version`; the stored version becomes
    /// `record.version + 1`, which is returned. `subject` and `created_at` are fixed at
    /// create and ignored here.
    ///
    /// A stale version, or a record that was deleted or expired meanwhile, is
    /// [`StoreError::Conflict`] and changes nothing: the newer data survives and a deleted
    /// session is never resurrected.
    async fn save(&self, key: &SessionKey, record: &SessionRecord) -> Result<u64, StoreError>;

    /// Sets `last_seen_at` and `expires_at` of the live record under `key` without a
    /// version check and without changing its version (idle extension is not a data
    /// change). Returns `false` if there is no live record. Callers never pass an
    /// `expires_at` past the session's absolute limit.
    async fn touch(
        &self,
        key: &SessionKey,
        last_seen_at: SystemTime,
        expires_at: SystemTime,
    ) -> Result<bool, StoreError>;

    /// Deletes the record under `key`. Returns whether a live record was deleted.
    async fn delete(&self, key: &SessionKey) -> Result<bool, StoreError>;

    /// Deletes every session of `subject` ("log out everywhere") and no other. Returns how
    /// many live sessions were deleted.
    async fn delete_subject(&self, subject: &str) -> Result<u64, StoreError>;

    /// The live sessions of `subject`, in no particular order.
    async fn list_subject(&self, subject: &str) -> Result<Vec<SessionEntry>, StoreError>;

    /// Removes expired records from backends that keep them (SQL). Returns how many were
    /// removed. Backends with native expiry keep the default, which does nothing.
    async fn purge_expired(&self) -> Result<u64, StoreError> {
        Ok(0)
    }
}
