//! `Arc<T>` is a store wherever `T` is, so a service can hold `Arc<dyn SessionStore>` and
//! swap backends without touching handlers.
//!
//! Written by hand rather than with `#[async_trait]`, which would box the inner store's
//! already boxed future a second time on every call: each method hands that future on as
//! it is (`StoreFuture` names the type `#[async_trait]` gives it).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::{
    RefreshRecord, RefreshTokenStore, RevocationStore, Rotation, SessionEntry, SessionRecord,
    SessionStore, ThrottleKey, ThrottleStore, ThrottleWindow, TokenRef,
};
use crate::{FamilyId, RefreshTokenHash, SessionKey, StoreError};

/// The future a store method returns, as `#[async_trait]` writes it.
type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

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

impl<T: RefreshTokenStore + ?Sized> RefreshTokenStore for Arc<T> {
    fn insert<'s, 'h, 'r, 'f>(
        &'s self,
        hash: &'h RefreshTokenHash,
        record: &'r RefreshRecord,
    ) -> StoreFuture<'f, ()>
    where
        's: 'f,
        'h: 'f,
        'r: 'f,
        Self: 'f,
    {
        (**self).insert(hash, record)
    }
    fn rotate<'s, 'o, 'n, 'f>(
        &'s self,
        old: &'o RefreshTokenHash,
        new: &'n RefreshTokenHash,
        issued_at: SystemTime,
        expires_at: SystemTime,
    ) -> StoreFuture<'f, Rotation>
    where
        's: 'f,
        'o: 'f,
        'n: 'f,
        Self: 'f,
    {
        (**self).rotate(old, new, issued_at, expires_at)
    }
    fn revoke_family<'s, 'm, 'f>(&'s self, family: &'m FamilyId) -> StoreFuture<'f, u64>
    where
        's: 'f,
        'm: 'f,
        Self: 'f,
    {
        (**self).revoke_family(family)
    }
    fn revoke_subject<'s, 'u, 'f>(&'s self, subject: &'u str) -> StoreFuture<'f, u64>
    where
        's: 'f,
        'u: 'f,
        Self: 'f,
    {
        (**self).revoke_subject(subject)
    }
}

impl<T: ThrottleStore + ?Sized> ThrottleStore for Arc<T> {
    fn hit<'s, 'k, 'f>(
        &'s self,
        key: &'k ThrottleKey,
        window: Duration,
    ) -> StoreFuture<'f, ThrottleWindow>
    where
        's: 'f,
        'k: 'f,
        Self: 'f,
    {
        (**self).hit(key, window)
    }
    fn release<'s, 'k, 'f>(
        &'s self,
        key: &'k ThrottleKey,
        ends_at: SystemTime,
    ) -> StoreFuture<'f, ()>
    where
        's: 'f,
        'k: 'f,
        Self: 'f,
    {
        (**self).release(key, ends_at)
    }
    fn reset<'s, 'k, 'f>(&'s self, key: &'k ThrottleKey) -> StoreFuture<'f, ()>
    where
        's: 'f,
        'k: 'f,
        Self: 'f,
    {
        (**self).reset(key)
    }
}

impl<T: SessionStore + ?Sized> SessionStore for Arc<T> {
    fn create<'s, 'k, 'r, 'f>(
        &'s self,
        key: &'k SessionKey,
        record: &'r SessionRecord,
    ) -> StoreFuture<'f, ()>
    where
        's: 'f,
        'k: 'f,
        'r: 'f,
        Self: 'f,
    {
        (**self).create(key, record)
    }
    fn load<'s, 'k, 'f>(&'s self, key: &'k SessionKey) -> StoreFuture<'f, Option<SessionRecord>>
    where
        's: 'f,
        'k: 'f,
        Self: 'f,
    {
        (**self).load(key)
    }
    fn load_shared<'s, 'k, 'f>(
        &'s self,
        key: &'k SessionKey,
    ) -> StoreFuture<'f, Option<Arc<SessionRecord>>>
    where
        's: 'f,
        'k: 'f,
        Self: 'f,
    {
        (**self).load_shared(key)
    }
    fn save<'s, 'k, 'r, 'f>(
        &'s self,
        key: &'k SessionKey,
        record: &'r SessionRecord,
    ) -> StoreFuture<'f, u64>
    where
        's: 'f,
        'k: 'f,
        'r: 'f,
        Self: 'f,
    {
        (**self).save(key, record)
    }
    fn touch<'s, 'k, 'f>(
        &'s self,
        key: &'k SessionKey,
        last_seen_at: SystemTime,
        expires_at: SystemTime,
    ) -> StoreFuture<'f, bool>
    where
        's: 'f,
        'k: 'f,
        Self: 'f,
    {
        (**self).touch(key, last_seen_at, expires_at)
    }
    fn delete<'s, 'k, 'f>(&'s self, key: &'k SessionKey) -> StoreFuture<'f, bool>
    where
        's: 'f,
        'k: 'f,
        Self: 'f,
    {
        (**self).delete(key)
    }
    fn delete_subject<'s, 'u, 'f>(&'s self, subject: &'u str) -> StoreFuture<'f, u64>
    where
        's: 'f,
        'u: 'f,
        Self: 'f,
    {
        (**self).delete_subject(subject)
    }
    fn list_subject<'s, 'u, 'f>(&'s self, subject: &'u str) -> StoreFuture<'f, Vec<SessionEntry>>
    where
        's: 'f,
        'u: 'f,
        Self: 'f,
    {
        (**self).list_subject(subject)
    }
    fn purge_expired<'s, 'f>(&'s self) -> StoreFuture<'f, u64>
    where
        's: 'f,
        Self: 'f,
    {
        (**self).purge_expired()
    }
}
