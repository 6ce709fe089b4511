//! [`SqlRevocationStore`]: auth-core's [`RevocationStore`] on three SQL tables.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use auth_core::store::{RevocationStore, TokenRef, check_subject, check_token_id};
use auth_core::{FamilyId, StoreError, from_unix_millis, unix_millis, unix_millis_up};
use sqlx::Pool;

use crate::backend::Backend;
use crate::error::store_error;
use crate::purge::{Purge, PurgeHandle};
use crate::sql::{Arg, Sql};
use crate::stores::Shared;
use crate::{SqlStores, TablePrefix};

/// Revoked `jti`s in `<prefix>revoked_tokens` (keyed by issuer and `jti`), revoked refresh
/// families in `<prefix>revoked_families` (keyed by issuer and family) and subjects' "not
/// before" instants in `<prefix>revoked_subjects`.
///
/// Each check is one `SELECT`, [`is_token_revoked`](RevocationStore::is_token_revoked)
/// included: it asks all three tables in one `UNION ALL`, binding `NULL` for a `jti` or
/// family the token does not have. A revocation is only ever lengthened: revoking again
/// with an earlier `until` keeps the later one. Rows stay until their `until` has passed
/// by the store's clock and by [`CLOCK_SKEW`](crate::CLOCK_SKEW) more (so that a process
/// whose clock is behind still refuses by them) and a purge deletes them. Times are whole
/// milliseconds: `until` and "not before" rounded up, a token's issue time down, so
/// rounding never shortens a refusal.
pub struct SqlRevocationStore<DB: Backend> {
    shared: Arc<Shared<DB>>,
}

impl<DB: Backend> Clone for SqlRevocationStore<DB> {
    fn clone(&self) -> Self {
        Self {
            shared: self.shared.clone(),
        }
    }
}

impl<DB: Backend> fmt::Debug for SqlRevocationStore<DB> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqlRevocationStore")
            .field("prefix", &self.shared.prefix)
            .finish_non_exhaustive()
    }
}

impl<DB: Backend> SqlRevocationStore<DB> {
    pub(crate) fn from_shared(shared: Arc<Shared<DB>>) -> Self {
        Self { shared }
    }

    /// A store over `pool` with the default prefix and the system clock. Use
    /// [`SqlStores::builder`] for anything else.
    pub fn new(pool: Pool<DB>) -> Self {
        SqlStores::builder(pool).build().revocations()
    }

    /// Creates or updates the tables (see [`SqlStores::migrate`]).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        crate::migrate::run(&self.shared, crate::sql::SCHEMA_VERSION).await
    }

    /// Deletes every revocation that no token can need any more; how many it deleted.
    pub async fn purge_expired(&self) -> Result<u64, StoreError> {
        Purge::purge(self).await
    }

    /// Starts a task that purges ended revocations every `interval` (at least 1 ms),
    /// until the returned handle is stopped or dropped. Needs a tokio runtime.
    pub fn spawn_purge(&self, interval: Duration) -> PurgeHandle {
        PurgeHandle::spawn(self.clone(), interval)
    }

    /// The table prefix.
    pub fn table_prefix(&self) -> &TablePrefix {
        &self.shared.prefix
    }

    /// Records a revocation of `(issuer, id)` in `sql`'s table until `until`, unless that
    /// is over for every process within the skew (nothing is left to refuse then).
    async fn revoke_until(
        &self,
        sql: &Sql,
        issuer: &str,
        id: &str,
        until: SystemTime,
    ) -> Result<(), StoreError> {
        let until = unix_millis_up(until);
        if until <= self.shared.over_everywhere() {
            return Ok(());
        }
        let args = [
            Arg::Bytes(issuer.as_bytes()),
            Arg::Bytes(id.as_bytes()),
            Arg::Int(until),
        ];
        self.shared.execute(sql, &args).await?;
        Ok(())
    }
}

impl<DB: Backend> Purge for SqlRevocationStore<DB> {
    async fn purge(&self) -> Result<u64, StoreError> {
        let sql = &self.shared.revocations;
        Ok(self.shared.purge_all(&sql.purge_tokens).await?
            + self.shared.purge_all(&sql.purge_families).await?
            + self.shared.purge_all(&sql.purge_subjects).await?)
    }
}

fn check_token(issuer: &str, jti: &str) -> Result<(), StoreError> {
    check_token_id("issuer", issuer)?;
    check_token_id("jti", jti)
}

#[async_trait]
impl<DB: Backend> RevocationStore for SqlRevocationStore<DB> {
    async fn revoke(&self, issuer: &str, jti: &str, until: SystemTime) -> Result<(), StoreError> {
        check_token(issuer, jti)?;
        self.revoke_until(&self.shared.revocations.revoke, issuer, jti, until)
            .await
    }

    async fn is_revoked(&self, issuer: &str, jti: &str) -> Result<bool, StoreError> {
        check_token(issuer, jti)?;
        let args = [
            Arg::Bytes(issuer.as_bytes()),
            Arg::Bytes(jti.as_bytes()),
            Arg::Int(self.shared.now()),
        ];
        Ok(self
            .shared
            .fetch_optional(&self.shared.revocations.is_revoked, &args)
            .await?
            .is_some())
    }

    async fn revoke_family(
        &self,
        issuer: &str,
        family: &FamilyId,
        until: SystemTime,
    ) -> Result<(), StoreError> {
        check_token_id("issuer", issuer)?;
        let sql = &self.shared.revocations.revoke_family;
        self.revoke_until(sql, issuer, family.as_str(), until).await
    }

    async fn revoke_subject(
        &self,
        subject: &str,
        not_before: SystemTime,
        until: SystemTime,
    ) -> Result<(), StoreError> {
        check_subject(subject)?;
        let args = [
            Arg::Bytes(subject.as_bytes()),
            Arg::Int(unix_millis_up(not_before)),
            Arg::Int(unix_millis_up(until)),
            // An entry ended here may be live for a process behind: merged, not replaced.
            Arg::Int(self.shared.over_everywhere()),
        ];
        self.shared
            .execute(&self.shared.revocations.revoke_subject, &args)
            .await?;
        Ok(())
    }

    async fn subject_not_before(&self, subject: &str) -> Result<Option<SystemTime>, StoreError> {
        check_subject(subject)?;
        let args = [Arg::Bytes(subject.as_bytes()), Arg::Int(self.shared.now())];
        let row = self
            .shared
            .fetch_optional(&self.shared.revocations.subject_not_before, &args)
            .await?;
        row.map(|row| {
            DB::get_i64(&row, 0)
                .map(from_unix_millis)
                .map_err(store_error::<DB>)
        })
        .transpose()
    }

    async fn is_token_revoked(&self, token: &TokenRef<'_>) -> Result<bool, StoreError> {
        check_token_id("issuer", token.issuer)?;
        if let Some(jti) = token.jti {
            check_token_id("jti", jti)?;
        }
        check_subject(token.subject)?;
        let args = [
            Arg::Bytes(token.issuer.as_bytes()),
            Arg::OptBytes(token.jti.map(str::as_bytes)),
            Arg::OptBytes(token.family.map(|family| family.as_str().as_bytes())),
            Arg::Bytes(token.subject.as_bytes()),
            Arg::Int(unix_millis(token.issued_at)),
            Arg::Int(self.shared.now()),
        ];
        Ok(self
            .shared
            .fetch_optional(&self.shared.revocations.is_token_revoked, &args)
            .await?
            .is_some())
    }
}
