use std::fmt;
use std::time::SystemTime;

use async_trait::async_trait;

use super::{MAX_DATA_LEN, check_len, check_subject};
use crate::{FamilyId, RefreshTokenHash, StoreError};

/// A refresh token as a store holds it (keyed by its [`RefreshTokenHash`]).
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RefreshRecord {
    /// The family: every token descended from one login.
    pub family: FamilyId,
    /// Whose token it is.
    pub subject: String,
    /// Opaque data the issuer carries from token to token (roles, scopes, ...), at most
    /// [`MAX_DATA_LEN`] bytes.
    pub data: Vec<u8>,
    /// When this token was issued.
    pub issued_at: SystemTime,
    /// When this token stops being usable; never after `family_expires_at`.
    pub expires_at: SystemTime,
    /// The family's absolute end, set at login: no rotation hands out a token that lives
    /// past it.
    pub family_expires_at: SystemTime,
}

impl RefreshRecord {
    /// A record for a token of `family`; the family ends when this token does, unless
    /// [`with_family_expires_at`](Self::with_family_expires_at) says otherwise.
    pub fn new(
        family: FamilyId,
        subject: impl Into<String>,
        data: Vec<u8>,
        issued_at: SystemTime,
        expires_at: SystemTime,
    ) -> Self {
        Self {
            family,
            subject: subject.into(),
            data,
            issued_at,
            expires_at,
            family_expires_at: expires_at,
        }
    }

    /// Sets the family's absolute end (at least this token's `expires_at`).
    pub fn with_family_expires_at(mut self, family_expires_at: SystemTime) -> Self {
        self.family_expires_at = family_expires_at;
        self
    }

    /// Whether the token is still usable at `now`.
    pub fn is_live_at(&self, now: SystemTime) -> bool {
        now < self.expires_at
    }

    /// Refuses subjects and data over the documented limits, and a token that would
    /// outlive its family.
    pub fn check_limits(&self) -> Result<(), StoreError> {
        check_subject(&self.subject)?;
        check_len("refresh data", self.data.len(), MAX_DATA_LEN)?;
        if self.expires_at > self.family_expires_at {
            return Err(StoreError::InvalidInput(
                "a refresh token cannot outlive its family",
            ));
        }
        Ok(())
    }

    /// The record of the token that replaces this one at `issued_at`: same family,
    /// subject and data, expiring at `expires_at` or at the family's end, whichever is
    /// first. What every store's `rotate` stores and returns.
    pub fn rotated(&self, issued_at: SystemTime, expires_at: SystemTime) -> Self {
        Self {
            issued_at,
            expires_at: expires_at.min(self.family_expires_at),
            ..self.clone()
        }
    }
}

impl fmt::Debug for RefreshRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RefreshRecord")
            .field("family", &self.family)
            .field("subject", &self.subject)
            .field("data_len", &self.data.len())
            .field("issued_at", &self.issued_at)
            .field("expires_at", &self.expires_at)
            .field("family_expires_at", &self.family_expires_at)
            .finish()
    }
}

/// What [`RefreshTokenStore::rotate`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rotation {
    /// The old token was live and unused: it is now used, and the new token is stored with
    /// this record ([`RefreshRecord::rotated`]: same family, subject, data and family end;
    /// the new issue time, and the asked expiry capped at the family's end).
    Rotated(RefreshRecord),
    /// The old token had already been rotated: this is a replay. The whole family,
    /// including its newest token, has been revoked.
    Reused {
        /// The revoked family.
        family: FamilyId,
        /// Whose family it was.
        subject: String,
    },
    /// No live token under that hash: never issued, expired, or its family was revoked.
    Unknown,
}

/// Where refresh tokens live, grouped in families, with single use enforced.
///
/// Contract (proved by the conformance suite):
///
/// - Tokens are keyed by [`RefreshTokenHash`], never by the token.
/// - **A family has an absolute end** ([`RefreshRecord::family_expires_at`]): `insert`
///   refuses a token that outlives it ([`StoreError::InvalidInput`]), and `rotate` never
///   stores a token past it, whatever expiry it is asked for
///   ([`RefreshRecord::rotated`]).
/// - `rotate(old, new, ..)` is atomic: of any number of concurrent rotations of the same
///   token exactly one returns [`Rotation::Rotated`]; every other sees the token as used.
/// - Presenting a used token returns [`Rotation::Reused`] and revokes its whole family,
///   the newest token included. A used token is remembered until its own `expires_at`,
///   even after its family is revoked, so every replay of it keeps reporting reuse (the
///   losers of a concurrent rotation see `Reused`, never `Unknown`).
/// - Expired tokens, unknown tokens and tokens of revoked families are
///   [`Rotation::Unknown`].
/// - Size limits as for sessions ([`StoreError::TooLarge`]); an unreachable backend is
///   [`StoreError::Unavailable`].
///
/// See [`writing_a_store`](crate::writing_a_store) for the rules every store keeps, the
/// suites that prove them, and a worked example of this trait.
#[async_trait]
pub trait RefreshTokenStore: Send + Sync + 'static {
    /// Stores the first token of a family (or any token). Fails with
    /// [`StoreError::AlreadyExists`] if a token is stored under `hash`.
    async fn insert(
        &self,
        hash: &RefreshTokenHash,
        record: &RefreshRecord,
    ) -> Result<(), StoreError>;

    /// Atomically uses `old` and stores `new` in its family, issued at `issued_at` and
    /// expiring at `expires_at` or at the family's end, whichever is first.
    async fn rotate(
        &self,
        old: &RefreshTokenHash,
        new: &RefreshTokenHash,
        issued_at: SystemTime,
        expires_at: SystemTime,
    ) -> Result<Rotation, StoreError>;

    /// Revokes every unused token of `family` (used ones stay as tombstones until they
    /// expire, to keep detecting replays). Returns how many unused tokens it revoked.
    async fn revoke_family(&self, family: &FamilyId) -> Result<u64, StoreError>;

    /// Revokes every family of `subject`. Returns how many unused tokens it revoked.
    async fn revoke_subject(&self, subject: &str) -> Result<u64, StoreError>;
}
