//! PostgreSQL.

use std::time::Duration;

use sqlx::error::DatabaseError;
use sqlx::pool::PoolOptions;
use sqlx::{Connection, Postgres, Transaction};

use super::{Driver, common_driver_methods};
use crate::sql::Flavor;

impl Driver for Postgres {
    const FLAVOR: Flavor = Flavor::Postgres;
    const CLOSE_TIMED_OUT: bool = true;

    common_driver_methods!(Postgres);

    fn begin_write(
        conn: &mut Self::Connection,
    ) -> impl Future<Output = Result<Transaction<'_, Self>, sqlx::Error>> + Send + '_ {
        // READ COMMITTED with explicit row locks (`SELECT ... FOR UPDATE`).
        conn.begin()
    }

    fn is_transient(error: &dyn DatabaseError) -> bool {
        // serialization_failure, deadlock_detected, lock_not_available.
        matches!(error.code().as_deref(), Some("40001" | "40P01" | "55P03"))
    }

    fn is_unavailable(error: &dyn DatabaseError) -> bool {
        // Class 08 (connection exception), 53 (insufficient resources), 57P01-57P03
        // (shutdown, crash, cannot connect now).
        error.code().is_some_and(|code| {
            code.starts_with("08") || code.starts_with("53") || code.starts_with("57P")
        })
    }

    fn pool_options(_url: &str) -> PoolOptions<Self> {
        PoolOptions::new().acquire_timeout(Duration::from_secs(5))
    }
}
