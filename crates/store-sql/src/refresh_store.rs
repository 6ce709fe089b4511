//! [`SqlRefreshTokenStore`]: auth-core's [`RefreshTokenStore`] on two SQL tables.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use auth_core::store::{RefreshRecord, RefreshTokenStore, Rotation, check_subject};
use auth_core::{FamilyId, RefreshTokenHash, StoreError, from_unix_millis, unix_millis};
use sqlx::Pool;

use crate::backend::Backend;
use crate::error::is_unique_violation;
use crate::purge::{Purge, PurgeHandle};
use crate::sql::Arg;
use crate::stores::Shared;
use crate::{SqlStores, TablePrefix};

/// Refresh tokens in `<prefix>refresh_tokens` (keyed by the SHA-256 of the token) and
/// their families in `<prefix>refresh_families`.
///
/// Each token row carries its family's absolute end
/// ([`family_expires_at`](RefreshRecord::family_expires_at)): `insert` refuses a token that
/// would outlive it, and a rotation stores the new token with the asked expiry capped at
/// that end ([`RefreshRecord::rotated`]), so however often a family rotates, it is over
/// at its end.
///
/// A rotation is one transaction: it locks the family's row, then the presented token's
/// row (`SELECT ... FOR UPDATE` on PostgreSQL and MySQL; on SQLite the transaction is
/// `BEGIN IMMEDIATE`, which admits one writer at a time), so of concurrent rotations of
/// one token exactly one wins, and the others find it used: each reports
/// [`Rotation::Reused`] and the family's unused tokens (the winner's new one) are deleted.
/// Deadlocks and serialization failures roll back and run again a few times, then report
/// [`StoreError::Conflict`]: never a second winner.
///
/// Used tokens are kept (marked used) until their own expiry, so a replay is recognised
/// for as long as the token could have been used, even after its family was revoked (by a
/// replay, [`revoke_family`](RefreshTokenStore::revoke_family) or
/// [`revoke_subject`](RefreshTokenStore::revoke_subject), which all delete the family's
/// unused tokens and keep its row, so that later rotations still take its lock).
pub struct SqlRefreshTokenStore<DB: Backend> {
    shared: Arc<Shared<DB>>,
}

impl<DB: Backend> Clone for SqlRefreshTokenStore<DB> {
    fn clone(&self) -> Self {
        Self {
            shared: self.shared.clone(),
        }
    }
}

impl<DB: Backend> fmt::Debug for SqlRefreshTokenStore<DB> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqlRefreshTokenStore")
            .field("prefix", &self.shared.prefix)
            .finish_non_exhaustive()
    }
}

/// A token row as read under lock.
struct TokenRow {
    record: RefreshRecord,
    used: bool,
}

/// Reads a row of [`TOKEN_COLUMNS`](crate::sql::TOKEN_COLUMNS).
fn decode_token<DB: Backend>(row: &DB::Row) -> Result<TokenRow, sqlx::Error> {
    let family = DB::get_bytes(row, 0)?;
    let subject = DB::get_bytes(row, 1)?;
    let data = DB::get_bytes(row, 2)?;
    let issued_at = DB::get_i64(row, 3)?;
    let expires_at = DB::get_i64(row, 4)?;
    let used = DB::get_i64(row, 5)?;
    let family_expires_at = DB::get_i64(row, 6)?;
    let record = RefreshRecord::new(
        decode_family(family)?,
        String::from_utf8(subject).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
        data,
        from_unix_millis(issued_at),
        from_unix_millis(expires_at),
    )
    .with_family_expires_at(from_unix_millis(family_expires_at));
    Ok(TokenRow {
        record,
        used: match used {
            0 => false,
            1 => true,
            other => {
                return Err(sqlx::Error::Decode(
                    format!("refresh token `used` is {other}, not 0 or 1").into(),
                ));
            }
        },
    })
}

fn decode_family(bytes: Vec<u8>) -> Result<FamilyId, sqlx::Error> {
    std::str::from_utf8(&bytes)
        .ok()
        .and_then(|text| FamilyId::parse(text).ok())
        .ok_or_else(|| sqlx::Error::Decode("malformed refresh family id".into()))
}

/// What one rotation transaction decided.
enum Outcome {
    Done(Rotation),
    /// The new token's hash is taken by a live token.
    NewTaken,
}

impl<DB: Backend> SqlRefreshTokenStore<DB> {
    pub(crate) fn from_shared(shared: Arc<Shared<DB>>) -> Self {
        Self { shared }
    }

    /// A store over `pool` with the default prefix and the system clock. Use
    /// [`SqlStores::builder`] for anything else.
    pub fn new(pool: Pool<DB>) -> Self {
        SqlStores::builder(pool).build().refresh_tokens()
    }

    /// Creates or updates the tables (see [`SqlStores::migrate`]).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        crate::migrate::run(&self.shared, crate::sql::SCHEMA_VERSION).await
    }

    /// Deletes every expired token (used or not) and every family whose tokens have all
    /// expired; how many rows it deleted.
    pub async fn purge_expired(&self) -> Result<u64, StoreError> {
        Purge::purge(self).await
    }

    /// Starts a task that purges expired tokens and families every `interval` (at least
    /// 1 ms), until the returned handle is stopped or dropped. Needs a tokio runtime.
    pub fn spawn_purge(&self, interval: Duration) -> PurgeHandle {
        PurgeHandle::spawn(self.clone(), interval)
    }

    /// The table prefix.
    pub fn table_prefix(&self) -> &TablePrefix {
        &self.shared.prefix
    }

    /// One attempt at a rotation, as one transaction on `conn`.
    async fn try_rotate(
        &self,
        conn: &mut DB::Connection,
        old: &RefreshTokenHash,
        new: &RefreshTokenHash,
        issued_at: SystemTime,
        expires_at: SystemTime,
    ) -> Result<Outcome, sqlx::Error> {
        let shared = &*self.shared;
        let sql = &shared.refresh;
        let now = shared.now();
        let old_args = [Arg::Bytes(old.as_bytes()), Arg::Int(now)];
        let mut tx = DB::begin_write(conn).await?;

        // The family first, so that every change to one family takes its locks in the
        // same order (family row, then token rows) and cannot deadlock with another.
        let Some(row) = DB::fetch_optional(&mut tx, &sql.family_of, &old_args).await? else {
            return Ok(Outcome::Done(Rotation::Unknown));
        };
        let family = DB::get_bytes(&row, 0)?;
        let family_args = [Arg::Bytes(&family)];
        if DB::fetch_optional(&mut tx, &sql.lock_family, &family_args)
            .await?
            .is_none()
        {
            // Revoked meanwhile.
            return Ok(Outcome::Done(Rotation::Unknown));
        }
        let Some(row) = DB::fetch_optional(&mut tx, &sql.lock_token, &old_args).await? else {
            return Ok(Outcome::Done(Rotation::Unknown));
        };
        let token = decode_token::<DB>(&row)?;

        if token.used {
            // A replay: revoke the whole family, newest token included. The used tokens
            // stay (until their own expiry), so every later replay, such as the other
            // losers of a race, is recognised as one too.
            DB::execute(&mut tx, &sql.delete_family_unused, &family_args).await?;
            tx.commit().await?;
            return Ok(Outcome::Done(Rotation::Reused {
                family: token.record.family,
                subject: token.record.subject,
            }));
        }

        // Same family, subject, data and family end; the expiry capped at that end.
        let next = token.record.rotated(issued_at, expires_at);
        let next_expires_at = unix_millis(next.expires_at);
        DB::execute(&mut tx, &sql.mark_used, &old_args[..1]).await?;
        DB::execute(
            &mut tx,
            &sql.delete_expired_token,
            &[Arg::Bytes(new.as_bytes()), Arg::Int(now)],
        )
        .await?;
        let insert = [
            Arg::Bytes(new.as_bytes()),
            Arg::Bytes(&family),
            Arg::Bytes(next.subject.as_bytes()),
            Arg::Bytes(&next.data),
            Arg::Int(unix_millis(next.issued_at)),
            Arg::Int(next_expires_at),
            Arg::Int(unix_millis(next.family_expires_at)),
        ];
        match DB::execute(&mut tx, &sql.insert_token, &insert).await {
            Ok(_) => {}
            Err(error) if is_unique_violation(&error) => {
                tx.rollback().await?;
                return Ok(Outcome::NewTaken);
            }
            Err(error) => return Err(error),
        }
        DB::execute(
            &mut tx,
            &sql.extend_family,
            &[Arg::Bytes(&family), Arg::Int(next_expires_at)],
        )
        .await?;
        tx.commit().await?;
        Ok(Outcome::Done(Rotation::Rotated(next)))
    }

    /// Deletes the unused tokens of the families `lock` selects (and locks). The family
    /// rows and the used tokens stay until they expire, so replays are still reported.
    async fn revoke_where(&self, lock: &crate::sql::Sql, key: &[u8]) -> Result<u64, StoreError> {
        let sql = &self.shared.refresh;
        self.shared
            .run(|conn, _| {
                Box::pin(async move {
                    let mut tx = DB::begin_write(conn).await?;
                    let families = DB::fetch_all(&mut tx, lock, &[Arg::Bytes(key)]).await?;
                    let mut removed = 0;
                    for row in &families {
                        let family = DB::get_bytes(row, 0)?;
                        let args = [Arg::Bytes(&family)];
                        removed += DB::execute(&mut tx, &sql.delete_family_unused, &args).await?;
                    }
                    tx.commit().await?;
                    Ok(removed)
                })
            })
            .await
    }
}

impl<DB: Backend> Purge for SqlRefreshTokenStore<DB> {
    async fn purge(&self) -> Result<u64, StoreError> {
        let sql = &self.shared.refresh;
        Ok(self.shared.purge_all(&sql.purge_tokens).await?
            + self.shared.purge_all(&sql.purge_families).await?)
    }
}

#[async_trait]
impl<DB: Backend> RefreshTokenStore for SqlRefreshTokenStore<DB> {
    async fn insert(
        &self,
        hash: &RefreshTokenHash,
        record: &RefreshRecord,
    ) -> Result<(), StoreError> {
        // Also refuses a token that would outlive its family.
        record.check_limits()?;
        let shared = &*self.shared;
        let sql = &shared.refresh;
        let expires_at = unix_millis(record.expires_at);
        let family = record.family.as_str().as_bytes();
        let subject = record.subject.as_bytes();
        let now = shared.now();
        let family_args = [
            Arg::Bytes(family),
            Arg::Bytes(subject),
            Arg::Int(expires_at),
        ];
        let clear_args = [Arg::Bytes(hash.as_bytes()), Arg::Int(now)];
        let args = [
            Arg::Bytes(hash.as_bytes()),
            Arg::Bytes(family),
            Arg::Bytes(subject),
            Arg::Bytes(&record.data),
            Arg::Int(unix_millis(record.issued_at)),
            Arg::Int(expires_at),
            Arg::Int(unix_millis(record.family_expires_at)),
        ];
        let (family_args, clear_args, args) = (&family_args, &clear_args, &args);
        let inserted = shared
            .run(|conn, _| {
                Box::pin(async move {
                    let mut tx = DB::begin_write(conn).await?;
                    DB::execute(&mut tx, &sql.upsert_family, family_args).await?;
                    DB::execute(&mut tx, &sql.delete_expired_token, clear_args).await?;
                    match DB::execute(&mut tx, &sql.insert_token, args).await {
                        Ok(_) => {
                            tx.commit().await?;
                            Ok(true)
                        }
                        Err(error) if is_unique_violation(&error) => {
                            tx.rollback().await?;
                            Ok(false)
                        }
                        Err(error) => Err(error),
                    }
                })
            })
            .await?;
        if inserted {
            Ok(())
        } else {
            Err(StoreError::AlreadyExists)
        }
    }

    async fn rotate(
        &self,
        old: &RefreshTokenHash,
        new: &RefreshTokenHash,
        issued_at: SystemTime,
        expires_at: SystemTime,
    ) -> Result<Rotation, StoreError> {
        // Whole milliseconds, as stored, so the record returned is the record kept.
        let issued_at = from_unix_millis(unix_millis(issued_at));
        let expires_at = from_unix_millis(unix_millis(expires_at));
        let outcome = self
            .shared
            .run(|conn, _| Box::pin(self.try_rotate(conn, old, new, issued_at, expires_at)))
            .await?;
        match outcome {
            Outcome::Done(rotation) => Ok(rotation),
            Outcome::NewTaken => Err(StoreError::AlreadyExists),
        }
    }

    async fn revoke_family(&self, family: &FamilyId) -> Result<u64, StoreError> {
        let sql = &self.shared.refresh;
        self.revoke_where(&sql.lock_family, family.as_str().as_bytes())
            .await
    }

    async fn revoke_subject(&self, subject: &str) -> Result<u64, StoreError> {
        check_subject(subject)?;
        let sql = &self.shared.refresh;
        self.revoke_where(&sql.lock_subject_families, subject.as_bytes())
            .await
    }
}
