//! How driver errors become auth-core's [`StoreError`].

use auth_core::StoreError;

use crate::backend::Driver;

/// Maps a driver error: an unreachable, closed, exhausted or refusing database is
/// `Unavailable`; a value that does not decode is `Corrupt`; everything else is `Backend`.
pub(crate) fn store_error<DB: Driver>(error: sqlx::Error) -> StoreError {
    match &error {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::BeginFailed => StoreError::unavailable(error),
        sqlx::Error::Database(db) if DB::is_unavailable(db.as_ref()) => {
            StoreError::unavailable(error)
        }
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
