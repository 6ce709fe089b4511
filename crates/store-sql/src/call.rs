//! The one way a store call reaches the database: a pooled connection, the call's
//! statements on it, retries when the database aborts them for a deadlock, and all of it
//! within the store's timeout.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::time::Duration;

use auth_core::StoreError;
use auth_core::store::TimedOut;
use tokio::time::Instant;

use crate::backend::Backend;
use crate::error::{is_transient, store_error};
use crate::stores::Shared;

/// How many times an operation runs when the database aborts it for a deadlock or a
/// serialization failure, before it is reported as a [`StoreError::Conflict`].
const ATTEMPTS: u32 = 4;

/// One attempt at a store call's work, on a connection borrowed for `'c`.
pub(crate) type Attempt<'c, T> = Pin<Box<dyn Future<Output = Result<T, sqlx::Error>> + Send + 'c>>;

/// Tells the compiler that what an attempt borrows from its caller (`'a`) outlives the
/// connection it is lent (`'c`), so an attempt may capture the caller's arguments.
pub(crate) type Borrows<'c, 'a> = PhantomData<&'c &'a ()>;

impl<DB: Backend> Shared<DB> {
    /// Runs `op` on a connection from the pool and maps its outcome to a [`StoreError`].
    ///
    /// Acquiring the connection, every attempt of `op` and the pauses between them share
    /// one deadline, the store's timeout from now: past it, whatever is under way is
    /// abandoned and the call answers [`StoreError::Unavailable`], so a request fails
    /// closed instead of waiting on a stuck database. A connection abandoned mid-statement
    /// is closed, not returned to the pool (see [`Driver::CLOSE_TIMED_OUT`]).
    ///
    /// `op` is run again, on a fresh connection, when the database aborted it for a
    /// deadlock or a serialization failure (up to [`ATTEMPTS`] times, then
    /// [`StoreError::Conflict`]); each run must therefore be a whole transaction or a
    /// single statement.
    ///
    /// [`Driver::CLOSE_TIMED_OUT`]: crate::backend::Driver::CLOSE_TIMED_OUT
    pub(crate) async fn run<'a, T>(
        &self,
        op: impl for<'c> FnMut(&'c mut DB::Connection, Borrows<'c, 'a>) -> Attempt<'c, T>,
    ) -> Result<T, StoreError> {
        self.run_until(Instant::now().checked_add(self.timeout), op)
            .await
    }

    /// [`run`](Self::run) without the store's timeout, for schema migrations: a schema
    /// change on a large table may rightly take longer than any request should wait, and
    /// runs at deployment, not on a request's path. Acquiring the connection is still
    /// bounded by the pool's own acquire timeout.
    pub(crate) async fn run_unbounded<'a, T>(
        &self,
        op: impl for<'c> FnMut(&'c mut DB::Connection, Borrows<'c, 'a>) -> Attempt<'c, T>,
    ) -> Result<T, StoreError> {
        self.run_until(None, op).await
    }

    async fn run_until<'a, T>(
        &self,
        deadline: Option<Instant>,
        mut op: impl for<'c> FnMut(&'c mut DB::Connection, Borrows<'c, 'a>) -> Attempt<'c, T>,
    ) -> Result<T, StoreError> {
        let timed_out = || StoreError::unavailable(TimedOut(self.timeout));
        let mut tries = 0;
        loop {
            tries += 1;
            let mut conn = within(deadline, self.pool.acquire())
                .await
                .ok_or_else(timed_out)?
                .map_err(store_error::<DB>)?;
            let Some(result) = within(deadline, op(&mut conn, PhantomData)).await else {
                if DB::CLOSE_TIMED_OUT {
                    conn.close_on_drop();
                }
                return Err(timed_out());
            };
            match result {
                Ok(value) => return Ok(value),
                Err(error) if is_transient::<DB>(&error) && tries < ATTEMPTS => {
                    drop(conn);
                    // A short, growing pause lets the transaction that won go through.
                    let pause = Duration::from_millis(u64::from(tries) * 3);
                    within(deadline, tokio::time::sleep(pause))
                        .await
                        .ok_or_else(timed_out)?;
                }
                Err(error) => return Err(store_error::<DB>(error)),
            }
        }
    }
}

/// `future`'s output, or `None` if `deadline` passes first. No deadline (a timeout too
/// long to represent) waits as long as it takes.
async fn within<F: Future>(deadline: Option<Instant>, future: F) -> Option<F::Output> {
    match deadline {
        Some(deadline) => tokio::time::timeout_at(deadline, future).await.ok(),
        None => Some(future.await),
    }
}
