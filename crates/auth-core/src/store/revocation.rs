use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;

use super::StoreFuture;
use crate::{FamilyId, StoreError};

/// The facts about one token that decide whether it is revoked, as a verifier knows them
/// after checking its signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TokenRef<'a> {
    /// The token's `iss` (empty when it has none).
    pub issuer: &'a str,
    /// The token's `jti`, if it has one.
    pub jti: Option<&'a str>,
    /// The refresh family the token was minted from, if any.
    pub family: Option<&'a FamilyId>,
    /// The token's `sub`.
    pub subject: &'a str,
    /// When the token was issued; [`UNIX_EPOCH`](std::time::UNIX_EPOCH) when it does not
    /// say, so that any "not before" of its subject refuses it.
    pub issued_at: SystemTime,
}

impl<'a> TokenRef<'a> {
    /// A token of `subject` from `issuer`, issued at `issued_at`, without `jti` or family.
    pub fn new(issuer: &'a str, subject: &'a str, issued_at: SystemTime) -> Self {
        Self {
            issuer,
            jti: None,
            family: None,
            subject,
            issued_at,
        }
    }

    /// With the token's `jti`.
    pub fn jti(mut self, jti: Option<&'a str>) -> Self {
        self.jti = jti;
        self
    }

    /// With the refresh family the token was minted from.
    pub fn family(mut self, family: Option<&'a FamilyId>) -> Self {
        self.family = family;
        self
    }
}

/// Where JWT revocations live: single tokens by `(issuer, jti)`, refresh families by
/// `(issuer, family)`, and whole subjects by a "not before" instant.
///
/// Contract (proved by the conformance suite):
///
/// - `revoke(issuer, jti, until)` makes `is_revoked(issuer, jti)` true until the store's
///   clock reaches `until`, and false from then on. Pass the last instant any verifier
///   could still accept the token: its `exp` **plus the largest leeway** a verifier uses,
///   or a revoked token is honoured again inside the leeway window. Revocation is per
///   issuer: the same `jti` from another issuer is unaffected.
/// - `revoke_family(issuer, family, until)` revokes every token of that issuer that names
///   the family, until `until` (the latest `exp` any of them could carry, plus leeway).
/// - `revoke_subject(subject, not_before, until)` makes every token of `subject` issued
///   strictly before `not_before` revoked, and tokens issued at or after it accepted, until
///   `until` (the latest `exp` any such token could carry). A later call never moves
///   `not_before` backwards.
/// - `is_token_revoked` answers for all three at once; backends answer it in **one round
///   trip**, since every authenticated request asks it.
/// - **A revocation is never forgotten before its `until`**: a store that cannot keep one
///   more refuses the write ([`StoreError::Full`]) instead of evicting another.
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

    /// Revokes every token of `issuer` minted from refresh family `family`, until `until`.
    async fn revoke_family(
        &self,
        issuer: &str,
        family: &FamilyId,
        until: SystemTime,
    ) -> Result<(), StoreError>;

    /// Revokes every token of `subject` issued before `not_before`, until `until`.
    async fn revoke_subject(
        &self,
        subject: &str,
        not_before: SystemTime,
        until: SystemTime,
    ) -> Result<(), StoreError>;

    /// The subject's current "not before", if one is in force.
    async fn subject_not_before(&self, subject: &str) -> Result<Option<SystemTime>, StoreError>;

    /// Whether a token is revoked: by its `jti`, by its family, or by its subject's "not
    /// before". Backends answer in one round trip.
    async fn is_token_revoked(&self, token: &TokenRef<'_>) -> Result<bool, StoreError>;
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
    fn revoke_family<'s, 'i, 'm, 'f>(
        &'s self,
        issuer: &'i str,
        family: &'m FamilyId,
        until: SystemTime,
    ) -> StoreFuture<'f, ()>
    where
        's: 'f,
        'i: 'f,
        'm: 'f,
        Self: 'f,
    {
        (**self).revoke_family(issuer, family, until)
    }
    fn is_token_revoked<'s, 't, 'r, 'f>(&'s self, token: &'t TokenRef<'r>) -> StoreFuture<'f, bool>
    where
        's: 'f,
        't: 'f,
        'r: 'f,
        Self: 'f,
    {
        (**self).is_token_revoked(token)
    }
}
