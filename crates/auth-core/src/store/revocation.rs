use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;

use super::StoreFuture;
use crate::StoreError;

/// Where JWT revocations live: single tokens by `(issuer, jti)`, and whole subjects by a
/// "not before" instant.
///
/// Contract (proved by the conformance suite):
///
/// - `revoke(issuer, jti, until)` makes `is_revoked(issuer, jti)` true until the store's
///   clock reaches `until`, and false from then on. Pass the last instant any verifier
///   could still accept the token: its `exp` **plus the largest leeway** a verifier uses,
///   or a revoked token is honoured again inside the leeway window. Revocation is per
///   issuer: the same `jti` from another issuer is unaffected.
/// - `revoke_subject(subject, not_before, until)` makes every token of `subject` issued
///   strictly before `not_before` revoked, and tokens issued at or after it accepted, until
///   `until` (the latest `exp` any such token could carry). A later call never moves
///   `not_before` backwards.
/// - Issuers, `jti`s and subjects longer than
///   [`MAX_TOKEN_ID_LEN`](crate::store::MAX_TOKEN_ID_LEN) /
///   [`MAX_SUBJECT_LEN`](crate::store::MAX_SUBJECT_LEN) bytes are refused with
///   [`StoreError::TooLarge`].
/// - A backend that cannot answer returns [`StoreError::Unavailable`]; callers then fail
///   closed.
#[async_trait]
pub trait RevocationStore: Send + Sync + 'static {
    /// Revokes one token until `until`.
    async fn revoke(&self, issuer: &str, jti: &str, until: SystemTime) -> Result<(), StoreError>;

    /// Whether the token `(issuer, jti)` is revoked now.
    async fn is_revoked(&self, issuer: &str, jti: &str) -> Result<bool, StoreError>;

    /// Revokes every token of `subject` issued before `not_before`, until `until`.
    async fn revoke_subject(
        &self,
        subject: &str,
        not_before: SystemTime,
        until: SystemTime,
    ) -> Result<(), StoreError>;

    /// The subject's current "not before", if one is in force.
    async fn subject_not_before(&self, subject: &str) -> Result<Option<SystemTime>, StoreError>;

    /// Whether a token is revoked, by its `jti` or by its subject's "not before". The
    /// default asks twice; backends override it to answer in one round trip.
    async fn is_token_revoked(
        &self,
        issuer: &str,
        jti: Option<&str>,
        subject: &str,
        issued_at: SystemTime,
    ) -> Result<bool, StoreError> {
        if let Some(jti) = jti
            && self.is_revoked(issuer, jti).await?
        {
            return Ok(true);
        }
        Ok(self
            .subject_not_before(subject)
            .await?
            .is_some_and(|not_before| issued_at < not_before))
    }
}

// By hand, not `#[async_trait]`: see `StoreFuture`.
impl<T: RevocationStore + ?Sized> RevocationStore for Arc<T> {
    fn revoke<'s, 'i, 'j, 'f>(
        &'s self,
        issuer: &'i str,
        jti: &'j str,
        until: SystemTime,
    ) -> StoreFuture<'f, ()>
    where
        's: 'f,
        'i: 'f,
        'j: 'f,
        Self: 'f,
    {
        (**self).revoke(issuer, jti, until)
    }
    fn is_revoked<'s, 'i, 'j, 'f>(&'s self, issuer: &'i str, jti: &'j str) -> StoreFuture<'f, bool>
    where
        's: 'f,
        'i: 'f,
        'j: 'f,
        Self: 'f,
    {
        (**self).is_revoked(issuer, jti)
    }
    fn revoke_subject<'s, 'u, 'f>(
        &'s self,
        subject: &'u str,
        not_before: SystemTime,
        until: SystemTime,
    ) -> StoreFuture<'f, ()>
    where
        's: 'f,
        'u: 'f,
        Self: 'f,
    {
        (**self).revoke_subject(subject, not_before, until)
    }
    fn subject_not_before<'s, 'u, 'f>(
        &'s self,
        subject: &'u str,
    ) -> StoreFuture<'f, Option<SystemTime>>
    where
        's: 'f,
        'u: 'f,
        Self: 'f,
    {
        (**self).subject_not_before(subject)
    }
    fn is_token_revoked<'s, 'i, 'j, 'u, 'f>(
        &'s self,
        issuer: &'i str,
        jti: Option<&'j str>,
        subject: &'u str,
        issued_at: SystemTime,
    ) -> StoreFuture<'f, bool>
    where
        's: 'f,
        'i: 'f,
        'j: 'f,
        'u: 'f,
        Self: 'f,
    {
        (**self).is_token_revoked(issuer, jti, subject, issued_at)
    }
}
