//! The database backends: what differs between PostgreSQL, MySQL and SQLite beyond the SQL
//! text, behind one sealed trait, so each store is written once, generically.

#[cfg(feature = "mysql")]
mod mysql;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "sqlite")]
mod sqlite;

use std::future::Future;

use sqlx::error::DatabaseError;
use sqlx::pool::PoolOptions;
use sqlx::{Database, Transaction};

use crate::sql::{Arg, Flavor, Sql};

/// A database this crate can keep auth state in: [`sqlx::Postgres`] (feature `postgres`),
/// [`sqlx::MySql`] (feature `mysql`, MySQL and MariaDB) or [`sqlx::Sqlite`] (feature
/// `sqlite`).
///
/// Sealed: it is implemented for those three and cannot be implemented elsewhere.
pub trait Backend: Driver {}

impl<DB: Driver> Backend for DB {}

/// The few operations that need the concrete driver types; everything else is generic.
/// Public in name only (it is not reachable from outside the crate), which seals
/// [`Backend`].
pub trait Driver: Database {
    /// The SQL dialect.
    const FLAVOR: Flavor;

    /// Whether a connection whose operation was abandoned at the store's timeout must be
    /// closed rather than returned to the pool. A network protocol abandoned mid-exchange
    /// leaves unread replies and possibly an open transaction on the connection, and its
    /// next user would wait behind them.
    const CLOSE_TIMED_OUT: bool;

    /// Runs `sql` with `args`; the number of rows it changed (matched, on MySQL).
    fn execute<'a>(
        conn: &'a mut Self::Connection,
        sql: &'a Sql,
        args: &'a [Arg<'a>],
    ) -> impl Future<Output = Result<u64, sqlx::Error>> + Send + 'a;

    /// The first row `sql` returns, if any.
    fn fetch_optional<'a>(
        conn: &'a mut Self::Connection,
        sql: &'a Sql,
        args: &'a [Arg<'a>],
    ) -> impl Future<Output = Result<Option<Self::Row>, sqlx::Error>> + Send + 'a;

    /// Every row `sql` returns.
    fn fetch_all<'a>(
        conn: &'a mut Self::Connection,
        sql: &'a Sql,
        args: &'a [Arg<'a>],
    ) -> impl Future<Output = Result<Vec<Self::Row>, sqlx::Error>> + Send + 'a;

    /// Column `index` of `row` as an integer.
    fn get_i64(row: &Self::Row, index: usize) -> Result<i64, sqlx::Error>;

    /// Column `index` of `row` as bytes.
    fn get_bytes(row: &Self::Row, index: usize) -> Result<Vec<u8>, sqlx::Error>;

    /// Starts a transaction that will write, taking whatever lock or isolation level the
    /// backend needs for read-then-write sequences.
    fn begin_write(
        conn: &mut Self::Connection,
    ) -> impl Future<Output = Result<Transaction<'_, Self>, sqlx::Error>> + Send + '_;

    /// A deadlock or serialization failure: the transaction was rolled back and may simply
    /// be run again.
    fn is_transient(error: &dyn DatabaseError) -> bool;

    /// The server refuses work for now (shutting down, out of connections, ...).
    fn is_unavailable(error: &dyn DatabaseError) -> bool;

    /// Pool settings for a pool built from `url`.
    fn pool_options(url: &str) -> PoolOptions<Self>;
}

/// Binds `args` to `sql` in the order its placeholders use them.
macro_rules! bind_args {
    ($db:ty, $sql:expr, $args:expr) => {{
        let sql: &$crate::sql::Sql = $sql;
        let args: &[$crate::sql::Arg<'_>] = $args;
        let mut query = sqlx::query::<$db>(sql.text()).persistent(sql.persistent());
        let mut missing = false;
        for &index in sql.order() {
            query = match args.get(index) {
                Some($crate::sql::Arg::Int(value)) => query.bind(*value),
                Some($crate::sql::Arg::Bytes(value)) => query.bind(*value),
                Some($crate::sql::Arg::OptBytes(value)) => query.bind(*value),
                None => {
                    missing = true;
                    query
                }
            };
        }
        if missing {
            Err(sqlx::Error::InvalidArgument(format!(
                "a placeholder of `{}` has no argument",
                sql.as_str()
            )))
        } else {
            Ok(query)
        }
    }};
}

/// The driver methods whose bodies read the same for every backend, written against the
/// concrete types (the generic bounds they would need otherwise are not expressible once).
macro_rules! common_driver_methods {
    ($db:ty) => {
        fn execute<'a>(
            conn: &'a mut Self::Connection,
            sql: &'a $crate::sql::Sql,
            args: &'a [$crate::sql::Arg<'a>],
        ) -> impl std::future::Future<Output = Result<u64, sqlx::Error>> + Send + 'a {
            async move {
                let query = $crate::backend::bind_args!($db, sql, args)?;
                Ok(query.execute(conn).await?.rows_affected())
            }
        }

        fn fetch_optional<'a>(
            conn: &'a mut Self::Connection,
            sql: &'a $crate::sql::Sql,
            args: &'a [$crate::sql::Arg<'a>],
        ) -> impl std::future::Future<Output = Result<Option<Self::Row>, sqlx::Error>> + Send + 'a {
            async move {
                let query = $crate::backend::bind_args!($db, sql, args)?;
                query.fetch_optional(conn).await
            }
        }

        fn fetch_all<'a>(
            conn: &'a mut Self::Connection,
            sql: &'a $crate::sql::Sql,
            args: &'a [$crate::sql::Arg<'a>],
        ) -> impl std::future::Future<Output = Result<Vec<Self::Row>, sqlx::Error>> + Send + 'a {
            async move {
                let query = $crate::backend::bind_args!($db, sql, args)?;
                query.fetch_all(conn).await
            }
        }

        fn get_i64(row: &Self::Row, index: usize) -> Result<i64, sqlx::Error> {
            sqlx::Row::try_get::<i64, usize>(row, index)
        }

        fn get_bytes(row: &Self::Row, index: usize) -> Result<Vec<u8>, sqlx::Error> {
            sqlx::Row::try_get::<Vec<u8>, usize>(row, index)
        }
    };
}

pub(crate) use {bind_args, common_driver_methods};
