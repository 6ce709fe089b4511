//! MySQL and MariaDB.

use std::time::Duration;

use sqlx::error::DatabaseError;
use sqlx::mysql::MySqlDatabaseError;
use sqlx::pool::PoolOptions;
use sqlx::{Connection, MySql, Transaction};

use super::{Driver, common_driver_methods};
use crate::sql::{Flavor, Sql};

/// InnoDB's default REPEATABLE READ takes gap locks on every locking read of a missing
/// key, which makes unrelated transactions deadlock; READ COMMITTED with explicit row locks
/// is what the refresh rotation needs, and nothing more. Applies to the next transaction.
static READ_COMMITTED: std::sync::LazyLock<Sql> = std::sync::LazyLock::new(|| {
    Sql::new(
        Flavor::MySql,
        "SET TRANSACTION ISOLATION LEVEL READ COMMITTED",
    )
});

impl Driver for MySql {
    const FLAVOR: Flavor = Flavor::MySql;
    const CLOSE_TIMED_OUT: bool = true;

    common_driver_methods!(MySql);

    async fn begin_write(
        conn: &mut Self::Connection,
    ) -> Result<Transaction<'_, Self>, sqlx::Error> {
        Self::execute(conn, &READ_COMMITTED, &[]).await?;
        conn.begin().await
    }

    fn is_transient(error: &dyn DatabaseError) -> bool {
        // ER_LOCK_DEADLOCK, ER_LOCK_WAIT_TIMEOUT.
        error
            .try_downcast_ref::<MySqlDatabaseError>()
            .is_some_and(|e| matches!(e.number(), 1213 | 1205))
    }

    fn is_unavailable(error: &dyn DatabaseError) -> bool {
        // ER_CON_COUNT_ERROR, ER_SERVER_SHUTDOWN, ER_TOO_MANY_USER_CONNECTIONS, and
        // ER_QUERY_INTERRUPTED / ER_CONNECTION_KILLED (a server-side kill).
        error
            .try_downcast_ref::<MySqlDatabaseError>()
            .is_some_and(|e| matches!(e.number(), 1040 | 1053 | 1203 | 1317 | 1927))
    }

    fn pool_options(_url: &str) -> PoolOptions<Self> {
        PoolOptions::new().acquire_timeout(Duration::from_secs(5))
    }
}
