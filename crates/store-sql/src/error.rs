//! Errors of setting the stores up, and how driver errors become auth-core's
//! [`StoreError`].

use auth_core::StoreError;

use crate::InvalidPrefix;
use crate::backend::Driver;

/// Why the stores could not be set up. The same shape as `store_redis::ConfigError`:
/// settings the driver refused, a bad prefix, or a database that did not answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The URL or the pool settings were refused, or the database refused them (unknown
    /// database, wrong credentials). The source says which; it may name the user, never
    /// the password.
    #[error("invalid database connection settings")]
    InvalidConnection(#[source] sqlx::Error),
    /// The table prefix breaks [`TablePrefix`](crate::TablePrefix)'s rules.
    #[error("invalid table prefix: {0}")]
    InvalidPrefix(#[from] InvalidPrefix),
    /// The database did not answer while connecting.
    #[error("the database is unreachable")]
    Unreachable(#[source] StoreError),
}

/// Maps a failure to open a pool: an unreachable database is `Unreachable`, anything
/// else is in the settings.
pub(crate) fn connect_error<DB: Driver>(error: sqlx::Error) -> ConfigError {
    if is_unavailable::<DB>(&error) {
        ConfigError::Unreachable(StoreError::unavailable(error))
    } else {
        ConfigError::InvalidConnection(error)
    }
}

/// An unreachable, closed, exhausted or refusing database.
fn is_unavailable<DB: Driver>(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::BeginFailed => true,
        sqlx::Error::Database(db) => DB::is_unavailable(db.as_ref()),
        _ => false,
    }
}

/// Maps a driver error: an unreachable, closed, exhausted or refusing database is
/// `Unavailable`; a value that does not decode is `Corrupt`; everything else is `Backend`.
pub(crate) fn store_error<DB: Driver>(error: sqlx::Error) -> StoreError {
    if is_unavailable::<DB>(&error) {
        return StoreError::unavailable(error);
    }
    match &error {
        sqlx::Error::Database(db) if DB::is_transient(db.as_ref()) => StoreError::Conflict,
        sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::Decode(_)
        | sqlx::Error::ColumnNotFound(_)
        | sqlx::Error::ColumnIndexOutOfBounds { .. } => StoreError::corrupt(error),
        _ => StoreError::backend(error),
    }
}

/// Whether `error` is a unique-key violation.
pub(crate) fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db) if db.is_unique_violation())
}

/// A deadlock or serialization failure: the transaction was rolled back and may run again.
pub(crate) fn is_transient<DB: Driver>(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db) if DB::is_transient(db.as_ref()))
}

/// A value read from the database that breaks the schema's rules.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct BrokenRow(pub(crate) String);

/// A [`StoreError::Corrupt`] saying what was wrong.
pub(crate) fn corrupt(what: impl Into<String>) -> StoreError {
    StoreError::corrupt(BrokenRow(what.into()))
}
