//! Store writes that must not stop half way when their caller stops waiting.

use std::future::Future;

use crate::StoreError;

/// Runs `work` to its end even when the caller's future is dropped first (a client gone, a
/// timeout layer): as a task of its own on the current tokio runtime, awaited; inline
/// where there is none. For a sequence of writes whose first half alone would leave a
/// credential alive that nothing else will ever refuse, such as refresh families revoked
/// without their access tokens, or tokens ended without the sessions.
///
/// A panic in `work` resumes in the caller; a task cancelled by a runtime shutting down is
/// [`StoreError::Unavailable`].
///
/// ```
/// use auth_core::StoreError;
/// use auth_core::store::to_completion;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let answer = to_completion(async { Ok::<_, StoreError>(7) }).await;
/// assert_eq!(answer.unwrap(), 7);
/// # }
/// ```
pub async fn to_completion<T, E, F>(work: F) -> Result<T, E>
where
    T: Send + 'static,
    E: From<StoreError> + Send + 'static,
    F: Future<Output = Result<T, E>> + Send + 'static,
{
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return work.await;
    };
    match runtime.spawn(work).await {
        Ok(done) => done,
        Err(failed) if failed.is_panic() => std::panic::resume_unwind(failed.into_panic()),
        Err(failed) => Err(StoreError::unavailable(failed).into()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // Test code: a panic is a failed test.

    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    use tokio::sync::Semaphore;

    use super::*;

    #[tokio::test]
    async fn work_goes_on_after_its_caller_is_dropped() {
        let gate = Arc::new(Semaphore::new(0));
        let done = Arc::new(AtomicBool::new(false));
        let work = {
            let (gate, done) = (gate.clone(), done.clone());
            async move {
                gate.acquire().await.unwrap().forget();
                done.store(true, Ordering::SeqCst);
                Ok::<_, StoreError>(())
            }
        };
        let caller = to_completion(work);
        let stopped = tokio::time::timeout(std::time::Duration::from_millis(10), caller).await;
        assert!(stopped.is_err(), "the caller stopped waiting");
        gate.add_permits(1);
        for _ in 0..1_000 {
            if done.load(Ordering::SeqCst) {
                return;
            }
            tokio::task::yield_now().await;
        }
        panic!("the work stopped with its caller");
    }

    #[test]
    fn without_a_runtime_it_runs_inline() {
        let mut context = std::task::Context::from_waker(std::task::Waker::noop());
        let mut work = std::pin::pin!(to_completion(async { Ok::<_, StoreError>(3) }));
        let polled = work.as_mut().poll(&mut context);
        assert!(
            matches!(polled, std::task::Poll::Ready(Ok(3))),
            "{polled:?}"
        );
    }
}
