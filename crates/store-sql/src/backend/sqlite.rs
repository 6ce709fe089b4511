//! SQLite.

use std::time::Duration;

use sqlx::error::DatabaseError;
use sqlx::pool::PoolOptions;
use sqlx::{Connection, Sqlite, Transaction};

use super::{Driver, common_driver_methods};
use crate::sql::Flavor;

impl Driver for Sqlite {
    const FLAVOR: Flavor = Flavor::Sqlite;
    // A SQLite connection runs its commands one after another on its own worker thread:
    // an abandoned statement finishes there, the rollback of an abandoned transaction is
    // queued behind it, and the pool's check on release waits for both, so the connection
    // comes back in a known state. Closing it instead would delete an in-memory database
    // whole, since that lives only as long as its one connection.
    const CLOSE_TIMED_OUT: bool = false;

    common_driver_methods!(Sqlite);

    fn begin_write(
        conn: &mut Self::Connection,
    ) -> impl Future<Output = Result<Transaction<'_, Self>, sqlx::Error>> + Send + '_ {
        // Takes the database's write lock at once: a deferred transaction that reads and
        // then writes can fail without waiting when another writer got there first.
        conn.begin_with("BEGIN IMMEDIATE")
    }

    fn is_transient(_error: &dyn DatabaseError) -> bool {
        // Writers queue on the write lock (the busy timeout) instead of deadlocking.
        false
    }

    fn is_unavailable(error: &dyn DatabaseError) -> bool {
        // SQLITE_BUSY and SQLITE_LOCKED, with their extended codes: the busy timeout ran
        // out while another connection held the lock. Also SQLITE_IOERR, SQLITE_FULL,
        // SQLITE_CANTOPEN.
        error
            .code()
            .and_then(|code| code.parse::<i32>().ok())
            .is_some_and(|code| matches!(code & 0xff, 5 | 6 | 10 | 13 | 14))
    }

    fn pool_options(url: &str) -> PoolOptions<Self> {
        let options = PoolOptions::new().acquire_timeout(Duration::from_secs(5));
        if is_memory(url) {
            // Every connection to `sqlite::memory:` opens its own empty database, and the
            // database dies with its last connection: one connection, kept forever.
            options
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
        } else {
            options
        }
    }
}

/// Whether `url` names an in-memory database.
fn is_memory(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}
