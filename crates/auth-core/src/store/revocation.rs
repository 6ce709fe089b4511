use std::time::SystemTime;

use async_trait::async_trait;

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
///
/// See [`writing_a_store`](crate::writing_a_store) for the rules every store keeps, the
/// suites that prove them, and a worked example of this trait.
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

    /// The subject's current "not before", if one is in force, as the store holds it at
    /// the call: never a copy a local cache kept. A login reads it after storing its
    /// refresh family to learn whether a "log out everywhere" finished meanwhile on any
    /// node.
    async fn subject_not_before(&self, subject: &str) -> Result<Option<SystemTime>, StoreError>;

    /// Whether a token is revoked: by its `jti`, by its family, or by its subject's "not
    /// before". Backends answer in one round trip.
    async fn is_token_revoked(&self, token: &TokenRef<'_>) -> Result<bool, StoreError>;
}
