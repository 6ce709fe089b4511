//! [`SqlThrottleStore`]: auth-core's [`ThrottleStore`] on a SQL table.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use auth_core::store::{ThrottleKey, ThrottleStore, ThrottleWindow};
use auth_core::{StoreError, from_unix_millis, unix_millis, unix_millis_up};
use sqlx::Pool;

use crate::backend::Backend;
use crate::error::{corrupt, store_error};
use crate::purge::{Purge, PurgeHandle};
use crate::sql::Arg;
use crate::stores::Shared;
use crate::{SqlStores, TablePrefix};

/// Login-attempt windows in `<prefix>throttle_windows`, keyed by the [`ThrottleKey`] (a
/// SHA-256, never a user name or address), each row a count and the instant its window
/// ends.
///
/// A hit is one atomic upsert that counts in the open window or opens a new one when the
/// key's has ended by the store's clock (bound as a value, never the server's `NOW()`),
/// so concurrent hits on every node each see their own count. On PostgreSQL and SQLite
/// the upsert returns the new count (`INSERT ... ON CONFLICT DO UPDATE ... RETURNING`,
/// one round trip); MySQL cannot return values from an upsert, so there the upsert and
/// the read of the row it locked run in one short transaction.
///
/// Ended windows never count; [`purge_expired`](Self::purge_expired) or
/// [`spawn_purge`](Self::spawn_purge) deletes their rows.
pub struct SqlThrottleStore<DB: Backend> {
    shared: Arc<Shared<DB>>,
}

impl<DB: Backend> Clone for SqlThrottleStore<DB> {
    fn clone(&self) -> Self {
        Self {
            shared: self.shared.clone(),
        }
    }
}

impl<DB: Backend> fmt::Debug for SqlThrottleStore<DB> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqlThrottleStore")
            .field("prefix", &self.shared.prefix)
            .finish_non_exhaustive()
    }
}

impl<DB: Backend> SqlThrottleStore<DB> {
    pub(crate) fn from_shared(shared: Arc<Shared<DB>>) -> Self {
        Self { shared }
    }

    /// A store over `pool` with the default prefix and the system clock. Use
    /// [`SqlStores::builder`] for anything else.
    pub fn new(pool: Pool<DB>) -> Self {
        SqlStores::builder(pool).build().throttle()
    }

    /// Creates or updates the tables (see [`SqlStores::migrate`]).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        crate::migrate::run(&self.shared, crate::sql::SCHEMA_VERSION).await
    }

    /// Deletes the rows of every ended window; how many it deleted.
    pub async fn purge_expired(&self) -> Result<u64, StoreError> {
        Purge::purge(self).await
    }

    /// Starts a task that purges ended windows every `interval` (at least 1 ms), until the
    /// returned handle is stopped or dropped. Needs a tokio runtime.
    pub fn spawn_purge(&self, interval: Duration) -> PurgeHandle {
        PurgeHandle::spawn(self.clone(), interval)
    }

    /// The table prefix.
    pub fn table_prefix(&self) -> &TablePrefix {
        &self.shared.prefix
    }
}

impl<DB: Backend> Purge for SqlThrottleStore<DB> {
    async fn purge(&self) -> Result<u64, StoreError> {
        self.shared.purge_all(&self.shared.throttle.purge).await
    }
}

/// When a window opened at `now` ends, in whole milliseconds rounded up (a window never
/// closes before its length has passed), saturating.
fn window_end(now: SystemTime, window: Duration) -> i64 {
    now.checked_add(window).map_or(i64::MAX, unix_millis_up)
}

/// Reads `hits, ends_at`.
fn decode_window<DB: Backend>(row: &DB::Row) -> Result<ThrottleWindow, StoreError> {
    let hits = DB::get_i64(row, 0).map_err(store_error::<DB>)?;
    let ends_at = DB::get_i64(row, 1).map_err(store_error::<DB>)?;
    let hits = u64::try_from(hits).map_err(|_| corrupt("negative throttle count"))?;
    Ok(ThrottleWindow::new(hits, from_unix_millis(ends_at)))
}

#[async_trait]
impl<DB: Backend> ThrottleStore for SqlThrottleStore<DB> {
    async fn hit(&self, key: &ThrottleKey, window: Duration) -> Result<ThrottleWindow, StoreError> {
        let shared = &*self.shared;
        let sql = &shared.throttle;
        let now = shared.clock.now();
        let args = [
            Arg::Bytes(key.as_bytes()),
            Arg::Int(unix_millis(now)),
            Arg::Int(window_end(now, window)),
        ];
        let args = &args;
        let row = shared
            .run(|conn, _| {
                Box::pin(async move {
                    let Some(read) = &sql.read_hit else {
                        return DB::fetch_optional(conn, &sql.hit, args).await;
                    };
                    // The upsert locks the row until the commit: the read sees this hit's
                    // count, not a later one.
                    let mut tx = DB::begin_write(conn).await?;
                    DB::execute(&mut tx, &sql.hit, args).await?;
                    let row = DB::fetch_optional(&mut tx, read, &args[..1]).await?;
                    tx.commit().await?;
                    Ok(row)
                })
            })
            .await?;
        let row = row.ok_or_else(|| corrupt("a throttle hit left no row"))?;
        decode_window::<DB>(&row)
    }

    async fn release(&self, key: &ThrottleKey, ends_at: SystemTime) -> Result<(), StoreError> {
        let shared = &*self.shared;
        let args = [
            Arg::Bytes(key.as_bytes()),
            Arg::Int(shared.now()),
            Arg::Int(unix_millis(ends_at)),
        ];
        shared.execute(&shared.throttle.release, &args).await?;
        Ok(())
    }

    async fn reset(&self, key: &ThrottleKey) -> Result<(), StoreError> {
        let shared = &*self.shared;
        let args = [Arg::Bytes(key.as_bytes())];
        shared.execute(&shared.throttle.reset, &args).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use super::*;

    #[test]
    fn windows_end_on_a_whole_millisecond_never_early() {
        let at = UNIX_EPOCH + Duration::from_millis(1_000);
        assert_eq!(window_end(at, Duration::from_secs(900)), 901_000);
        assert_eq!(window_end(at, Duration::from_micros(1)), 1_001);
        assert_eq!(window_end(at, Duration::from_micros(1_500)), 1_002);
        assert_eq!(window_end(at, Duration::ZERO), 1_000);
        let late = at + Duration::from_micros(700);
        assert_eq!(window_end(late, Duration::from_secs(900)), 901_001);
        assert_eq!(window_end(at, Duration::MAX), i64::MAX);
    }
}
