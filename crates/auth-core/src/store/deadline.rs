//! The bounded-time rule as a helper: a store call that does not answer in time is
//! [`StoreError::Unavailable`], never a hang.

use std::future::Future;
use std::time::Duration;

use crate::StoreError;

/// A store call got no answer from its backend within the store's time limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the store did not answer within {0:?}")]
pub struct TimedOut(pub Duration);

/// Awaits `call` for at most `limit`. Past it the call is dropped (so whatever it was
/// waiting on is abandoned) and the answer is [`StoreError::Unavailable`] with a
/// [`TimedOut`] source: callers then fail closed at once instead of holding a request
/// open on a stuck backend. Needs a tokio runtime with its timer (feature `tokio`).
///
/// ```
/// use std::time::Duration;
/// use auth_core::StoreError;
/// use auth_core::store::within;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let stuck = std::future::pending::<Result<(), StoreError>>();
/// let answer = within(Duration::from_millis(10), stuck).await;
/// assert!(matches!(answer, Err(StoreError::Unavailable(_))));
/// # }
/// ```
pub async fn within<T>(
    limit: Duration,
    call: impl Future<Output = Result<T, StoreError>>,
) -> Result<T, StoreError> {
    match tokio::time::timeout(limit, call).await {
        Ok(answer) => answer,
        Err(_) => Err(StoreError::unavailable(TimedOut(limit))),
    }
}
