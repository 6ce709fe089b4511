use std::time::SystemTime;

use async_trait::async_trait;
use moka::ops::compute::Op;
use moka::sync::Cache;

use super::{DEFAULT_MAX_ENTRIES, Deadline, DeadlineExpiry};
use crate::store::{MAX_TOKEN_ID_LEN, RevocationStore, check_subject, check_token_id};
use crate::{SharedClock, StoreError, SystemClock};

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

/// A [`RevocationStore`] in process memory: revoked `jti`s and subjects' "not before"
/// instants, each dropped when the last token it could apply to has expired.
#[derive(Clone)]
pub struct MemoryRevocationStore {
    clock: SharedClock,
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
        Self::new(SystemClock::shared())
    }
}

impl MemoryRevocationStore {
    /// A store deciding expiry by `clock`, holding up to [`DEFAULT_MAX_ENTRIES`] of each kind.
    pub fn new(clock: SharedClock) -> Self {
        Self::with_max_entries(clock, DEFAULT_MAX_ENTRIES)
    }

    /// A store holding up to `max_entries` revoked tokens and as many revoked subjects.
    pub fn with_max_entries(clock: SharedClock, max_entries: u64) -> Self {
        let expiry = || DeadlineExpiry {
            clock: clock.clone(),
            max_ttl: None,
        };
        Self {
            tokens: Cache::builder()
                .max_capacity(max_entries)
                .expire_after(expiry())
                .build(),
            subjects: Cache::builder()
                .max_capacity(max_entries)
                .expire_after(expiry())
                .build(),
            clock,
        }
    }

    fn is_live_revoked(
        &self,
        issuer: &str,
        jti: &str,
        now: SystemTime,
    ) -> Result<bool, StoreError> {
        let key = TokenKey::new(issuer, jti)?;
        Ok(self.tokens.get(key.as_bytes()).is_some_and(|u| now < u.0))
    }

    fn live_not_before(&self, subject: &str, now: SystemTime) -> Option<SystemTime> {
        self.subjects
            .get(subject)
            .filter(|nb| now < nb.until)
            .map(|nb| nb.not_before)
    }
}

/// An unambiguous key for `(issuer, jti)`: the issuer's length (at most 255, one byte)
/// first, so no choice of strings can make two pairs collide. Built on the stack, since
/// every authenticated request looks one up.
struct TokenKey {
    bytes: [u8; 1 + 2 * MAX_TOKEN_ID_LEN],
    len: usize,
}

impl TokenKey {
    fn new(issuer: &str, jti: &str) -> Result<Self, StoreError> {
        check_token_id("issuer", issuer)?;
        check_token_id("jti", jti)?;
        let mut bytes = [0; 1 + 2 * MAX_TOKEN_ID_LEN];
        let issuer_len = u8::try_from(issuer.len()).map_err(|_| StoreError::TooLarge {
            what: "issuer",
            size: issuer.len(),
            limit: MAX_TOKEN_ID_LEN,
        })?;
        let jti_at = 1 + issuer.len();
        let len = jti_at + jti.len();
        bytes[0] = issuer_len;
        bytes[1..jti_at].copy_from_slice(issuer.as_bytes());
        bytes[jti_at..len].copy_from_slice(jti.as_bytes());
        Ok(Self { bytes, len })
    }

    fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

#[async_trait]
impl RevocationStore for MemoryRevocationStore {
    async fn revoke(&self, issuer: &str, jti: &str, until: SystemTime) -> Result<(), StoreError> {
        let key = TokenKey::new(issuer, jti)?;
        if until > self.clock.now() {
            self.tokens.insert(key.as_bytes().into(), Until(until));
        }
        Ok(())
    }

    async fn is_revoked(&self, issuer: &str, jti: &str) -> Result<bool, StoreError> {
        self.is_live_revoked(issuer, jti, self.clock.now())
    }

    async fn revoke_subject(
        &self,
        subject: &str,
        not_before: SystemTime,
        until: SystemTime,
    ) -> Result<(), StoreError> {
        check_subject(subject)?;
        let now = self.clock.now();
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

    // Both questions in one future: this runs on every authenticated request.
    async fn is_token_revoked(
        &self,
        issuer: &str,
        jti: Option<&str>,
        subject: &str,
        issued_at: SystemTime,
    ) -> Result<bool, StoreError> {
        let now = self.clock.now();
        if let Some(jti) = jti
            && self.is_live_revoked(issuer, jti, now)?
        {
            return Ok(true);
        }
        check_subject(subject)?;
        Ok(self
            .live_not_before(subject, now)
            .is_some_and(|not_before| issued_at < not_before))
    }
}
