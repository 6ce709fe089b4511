//! How driver errors become auth-core's [`StoreError`].

use std::future::Future;
use std::time::Duration;

use auth_core::StoreError;

use crate::backend::Driver;

/// How many times an operation runs when the database aborts it for a deadlock or a
/// serialization failure, before it is reported as a [`StoreError::Conflict`].
const ATTEMPTS: u32 = 4;

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

fn is_transient<DB: Driver>(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db) if DB::is_transient(db.as_ref()))
}

/// Runs `attempt` until it succeeds, fails for good, or has been aborted by the database
/// (deadlock, serialization failure) [`ATTEMPTS`] times, which is a `Conflict`. Each
/// attempt is a whole transaction, so running it again is safe.
pub(crate) async fn retrying<DB, T, F, Fut>(mut attempt: F) -> Result<T, StoreError>
where
    DB: Driver,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, sqlx::Error>>,
{
    let mut tries = 0;
    loop {
        tries += 1;
        match attempt().await {
            Ok(value) => return Ok(value),
            Err(error) if is_transient::<DB>(&error) && tries < ATTEMPTS => {
                // A short, growing pause lets the transaction that won go through.
                tokio::time::sleep(Duration::from_millis(u64::from(tries) * 3)).await;
            }
            Err(error) => return Err(store_error::<DB>(error)),
        }
    }
}

/// A value read from the database that breaks the schema's rules.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct BrokenRow(pub(crate) String);

/// A [`StoreError::Corrupt`] saying what was wrong.
pub(crate) fn corrupt(what: impl Into<String>) -> StoreError {
    StoreError::corrupt(BrokenRow(what.into()))
}
