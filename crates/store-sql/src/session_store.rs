//! [`SqlSessionStore`]: auth-core's [`SessionStore`] on a SQL table.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use auth_core::store::{SessionEntry, SessionRecord, SessionStore, check_subject};
use auth_core::{SessionKey, StoreError, from_unix_millis, unix_millis};
use sqlx::Pool;

use crate::backend::Backend;
use crate::error::{corrupt, is_unique_violation, store_error};
use crate::purge::{Purge, PurgeHandle};
use crate::sql::{Arg, Sql};
use crate::stores::Shared;
use crate::{SqlStores, TablePrefix};

/// Sessions in the `<prefix>sessions` table, keyed by the SHA-256 [`SessionKey`] of the id
/// (never the id).
///
/// Every operation is one statement: a load is one `SELECT` that filters on expiry with
/// the store clock's now as a bound value; a save is one `UPDATE ... WHERE version = ?`
/// (optimistic concurrency); a create is one `INSERT`, plus one conditional `UPDATE` only
/// when the key is taken, to replace the row if it has expired. Expired rows stay on disk
/// until [`purge_expired`](SessionStore::purge_expired) or
/// [`spawn_purge`](SqlSessionStore::spawn_purge) deletes them; they never load.
pub struct SqlSessionStore<DB: Backend> {
    shared: Arc<Shared<DB>>,
}

impl<DB: Backend> Clone for SqlSessionStore<DB> {
    fn clone(&self) -> Self {
        Self {
            shared: self.shared.clone(),
        }
    }
}

impl<DB: Backend> fmt::Debug for SqlSessionStore<DB> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqlSessionStore")
            .field("prefix", &self.shared.prefix)
            .finish_non_exhaustive()
    }
}

impl<DB: Backend> SqlSessionStore<DB> {
    pub(crate) fn from_shared(shared: Arc<Shared<DB>>) -> Self {
        Self { shared }
    }

    /// A store over `pool` with the default prefix and the system clock. Use
    /// [`SqlStores::builder`] for anything else.
    pub fn new(pool: Pool<DB>) -> Self {
        SqlStores::builder(pool).build().sessions()
    }

    /// Creates or updates the tables (see [`SqlStores::migrate`]).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        crate::migrate::run(&self.shared, crate::sql::SCHEMA_VERSION).await
    }

    /// Deletes at most one batch of expired sessions; how many it deleted.
    pub async fn purge_expired_batch(&self) -> Result<u64, StoreError> {
        self.shared.purge_once(&self.shared.sessions.purge).await
    }

    /// Starts a task that purges expired sessions every `interval` (at least 1 ms),
    /// until the returned handle is stopped or dropped. Needs a tokio runtime.
    pub fn spawn_purge(&self, interval: Duration) -> PurgeHandle {
        PurgeHandle::spawn(self.clone(), interval)
    }

    /// The table prefix.
    pub fn table_prefix(&self) -> &TablePrefix {
        &self.shared.prefix
    }
}

impl<DB: Backend> Purge for SqlSessionStore<DB> {
    async fn purge(&self) -> Result<u64, StoreError> {
        self.shared.purge_all(&self.shared.sessions.purge).await
    }
}

/// Reads a session from `row`, whose columns from `at` on are subject, data, created,
/// last seen, expires, version.
fn decode_record<DB: Backend>(row: &DB::Row, at: usize) -> Result<SessionRecord, StoreError> {
    let get_i64 = |i| DB::get_i64(row, at + i).map_err(store_error::<DB>);
    let subject = DB::get_bytes(row, at).map_err(store_error::<DB>)?;
    let subject =
        String::from_utf8(subject).map_err(|_| corrupt("session subject is not UTF-8"))?;
    let data = DB::get_bytes(row, at + 1).map_err(store_error::<DB>)?;
    let version = u64::try_from(get_i64(5)?).map_err(|_| corrupt("negative session version"))?;
    let mut record = SessionRecord::new(
        subject,
        data,
        from_unix_millis(get_i64(2)?),
        from_unix_millis(get_i64(4)?),
    );
    record.last_seen_at = from_unix_millis(get_i64(3)?);
    record.version = version;
    Ok(record)
}

/// Reads a 32-byte key.
pub(crate) fn decode_hash(bytes: Vec<u8>, what: &str) -> Result<[u8; 32], StoreError> {
    <[u8; 32]>::try_from(bytes).map_err(|b| corrupt(format!("{what} is {} bytes, not 32", b.len())))
}

#[async_trait]
impl<DB: Backend> SessionStore for SqlSessionStore<DB> {
    async fn create(&self, key: &SessionKey, record: &SessionRecord) -> Result<(), StoreError> {
        record.check_limits()?;
        let shared = &*self.shared;
        let args = [
            Arg::Bytes(key.as_bytes()),
            Arg::Bytes(record.subject.as_bytes()),
            Arg::Bytes(&record.data),
            Arg::Int(unix_millis(record.created_at)),
            Arg::Int(unix_millis(record.last_seen_at)),
            Arg::Int(unix_millis(record.expires_at)),
            Arg::Int(shared.now()),
        ];
        let args = &args;
        let created = shared
            .run(|conn, _| {
                Box::pin(async move {
                    match DB::execute(conn, &shared.sessions.insert, args).await {
                        Ok(_) => Ok(true),
                        // The key is taken: only an expired record may be replaced.
                        Err(error) if is_unique_violation(&error) => {
                            let replaced =
                                DB::execute(conn, &shared.sessions.replace_expired, args).await?;
                            Ok(replaced > 0)
                        }
                        Err(error) => Err(error),
                    }
                })
            })
            .await?;
        if created {
            Ok(())
        } else {
            Err(StoreError::AlreadyExists)
        }
    }

    async fn load(&self, key: &SessionKey) -> Result<Option<SessionRecord>, StoreError> {
        let shared = &*self.shared;
        let args = [Arg::Bytes(key.as_bytes()), Arg::Int(shared.now())];
        let row = shared.fetch_optional(&shared.sessions.load, &args).await?;
        row.map(|row| decode_record::<DB>(&row, 0)).transpose()
    }

    async fn save(&self, key: &SessionKey, record: &SessionRecord) -> Result<u64, StoreError> {
        record.check_limits()?;
        // A version the database cannot hold is one it does not have.
        let version = i64::try_from(record.version).map_err(|_| StoreError::Conflict)?;
        let shared = &*self.shared;
        let args = [
            Arg::Bytes(&record.data),
            Arg::Int(unix_millis(record.last_seen_at)),
            Arg::Int(unix_millis(record.expires_at)),
            Arg::Bytes(key.as_bytes()),
            Arg::Int(version),
            Arg::Int(shared.now()),
        ];
        let updated = shared.execute(&shared.sessions.save, &args).await?;
        if updated == 0 {
            return Err(StoreError::Conflict);
        }
        record.version.checked_add(1).ok_or(StoreError::Conflict)
    }

    async fn touch(
        &self,
        key: &SessionKey,
        last_seen_at: SystemTime,
        expires_at: SystemTime,
    ) -> Result<bool, StoreError> {
        let shared = &*self.shared;
        let args = [
            Arg::Int(unix_millis(last_seen_at)),
            Arg::Int(unix_millis(expires_at)),
            Arg::Bytes(key.as_bytes()),
            Arg::Int(shared.now()),
        ];
        let updated = shared.execute(&shared.sessions.touch, &args).await?;
        Ok(updated > 0)
    }

    async fn delete(&self, key: &SessionKey) -> Result<bool, StoreError> {
        let shared = &*self.shared;
        let args = [Arg::Bytes(key.as_bytes()), Arg::Int(shared.now())];
        let sql = &shared.sessions;
        Ok(delete_counting_live(shared, &sql.delete, &sql.delete_any, &args).await? > 0)
    }

    async fn delete_subject(&self, subject: &str) -> Result<u64, StoreError> {
        check_subject(subject)?;
        let shared = &*self.shared;
        let args = [Arg::Bytes(subject.as_bytes()), Arg::Int(shared.now())];
        let sql = &shared.sessions;
        delete_counting_live(shared, &sql.delete_subject, &sql.delete_subject_any, &args).await
    }

    async fn list_subject(&self, subject: &str) -> Result<Vec<SessionEntry>, StoreError> {
        check_subject(subject)?;
        let shared = &*self.shared;
        let args = [Arg::Bytes(subject.as_bytes()), Arg::Int(shared.now())];
        let args = &args;
        let rows = shared
            .run(|conn, _| Box::pin(DB::fetch_all(conn, &shared.sessions.list_subject, args)))
            .await?;
        rows.iter()
            .map(|row| {
                let key = DB::get_bytes(row, 0).map_err(store_error::<DB>)?;
                let key = SessionKey::from_bytes(decode_hash(key, "session key")?);
                Ok(SessionEntry::new(key, decode_record::<DB>(row, 1)?))
            })
            .collect()
    }

    async fn purge_expired(&self) -> Result<u64, StoreError> {
        Purge::purge(self).await
    }
}

/// Deletes with `live` (the rows live by this store's clock, counted) and then with `any`
/// (what is left, whatever its deadline), two statements on one connection; the count of
/// the first is the answer. The second matters twice over. Another process whose clock
/// runs behind still serves a row this clock calls expired, and its touches would keep it
/// alive after the logout. And on PostgreSQL a statement sees only rows committed before
/// it began: a session a concurrent rotation wrote while the first statement waited on a
/// row lock (the rotation then deleting the old id itself, so it thinks no logout came)
/// is seen, and deleted, by the second.
async fn delete_counting_live<DB: Backend>(
    shared: &Shared<DB>,
    live: &Sql,
    any: &Sql,
    args: &[Arg<'_>],
) -> Result<u64, StoreError> {
    shared
        .run(|conn, _| {
            Box::pin(async move {
                let counted = DB::execute(&mut *conn, live, args).await?;
                DB::execute(conn, any, &args[..1]).await?;
                Ok(counted)
            })
        })
        .await
}
