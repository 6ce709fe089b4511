//! Password checks as a login handler should make them: throttled first (cheap, shared by
//! every node through the throttle store), then hashed with bounded concurrency.
//!
//! argon2 is slow and memory-hungry on purpose (19 MiB and tens of milliseconds per
//! check). Run on tokio's blocking pool without a bound, a burst of logins starts one
//! computation per blocking thread (up to 512) and the process swells by gigabytes. Even
//! with a bound, handing each check to whichever blocking thread is free spreads them
//! over dozens of threads, and the allocator keeps a freed 19 MiB buffer per thread: the
//! resident size still passed 600 MiB in a burst. So the checks run on a few threads of
//! their own (one per core), each keeping one argon2 working memory for good, at most
//! that many at once; a login that cannot start one within a short wait is told to come
//! back (503 with `Retry-After`) instead of queueing.

use std::net::IpAddr;
use std::panic::AssertUnwindSafe;
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use auth_core::{AuthError, LoginThrottle};
use tokio::sync::{Semaphore, oneshot};

use super::users::{self, User};

/// How long a login waits for a free hashing thread before it is told to come back.
pub const HASHING_WAIT: Duration = Duration::from_secs(2);

/// A hashing thread's working memory, reused by every check it runs.
pub type Scratch = Vec<argon2::Block>;

type Job = Box<dyn FnOnce(&mut Scratch) + Send>;

/// Runs blocking password checks on a few threads of their own, one check per thread at
/// a time, each thread lending its [`Scratch`] memory to the check. Clones share the
/// threads; they stop when the last clone is dropped.
#[derive(Clone, Debug)]
pub struct BoundedHashing {
    slots: Arc<Semaphore>,
    jobs: mpsc::Sender<Job>,
    wait: Duration,
}

/// No hashing thread came free within the wait.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("every password-hashing thread is busy")]
pub struct Busy;

impl BoundedHashing {
    /// `threads` hashing threads; a check waits up to `wait` for one of them.
    pub fn new(threads: usize, wait: Duration) -> Self {
        let threads = threads.max(1);
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..threads {
            let queue = queue.clone();
            let worker = move || {
                let mut scratch = Scratch::new();
                loop {
                    let job = queue.lock().unwrap_or_else(PoisonError::into_inner).recv();
                    let Ok(job) = job else { return };
                    // A check that panics loses its answer (the caller sees `Busy`), not
                    // the thread.
                    let _ = std::panic::catch_unwind(AssertUnwindSafe(|| job(&mut scratch)));
                }
            };
            // Without its threads the pool answers `Busy`, which fails the login closed.
            let _ = std::thread::Builder::new()
                .name(format!("password-hash-{n}"))
                .spawn(worker);
        }
        Self {
            slots: Arc::new(Semaphore::new(threads)),
            jobs,
            wait,
        }
    }

    /// One hashing thread per core the process may use.
    pub fn per_core() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self::new(cores, HASHING_WAIT)
    }

    /// Runs `check` on a hashing thread once one is free, or gives up after the wait.
    pub async fn run<T: Send + 'static>(
        &self,
        check: impl FnOnce(&mut Scratch) -> T + Send + 'static,
    ) -> Result<T, Busy> {
        let slot = tokio::time::timeout(self.wait, self.slots.clone().acquire_owned())
            .await
            .map_err(|_| Busy)?
            .map_err(|_| Busy)?;
        let (answer, answered) = oneshot::channel();
        let job: Job = Box::new(move |scratch| {
            let _ = answer.send(check(scratch));
            drop(slot);
        });
        self.jobs.send(job).map_err(|_| Busy)?;
        answered.await.map_err(|_| Busy)
    }
}

/// Why a login was refused.
#[derive(Debug)]
pub(crate) enum Refused {
    /// Wrong user name or password (the two are never told apart).
    WrongPassword,
    /// Too many failures for this name or address: come back after the window.
    Throttled(Duration),
    /// No hashing slot came free in time: come back in a second.
    Busy,
    /// The throttle store could not answer: fail closed.
    Unavailable(AuthError),
}

/// The user whose name and password these are, if the throttle lets the attempt through
/// and the password is right. Every outcome is recorded with the throttle (one counter
/// for the login form and the token endpoint).
pub(crate) async fn check(
    throttle: &LoginThrottle,
    hashing: &BoundedHashing,
    username: String,
    password: String,
    address: Option<IpAddr>,
) -> Result<&'static User, Refused> {
    let attempt = match throttle.begin(&username, address).await {
        Ok(attempt) => attempt,
        Err(AuthError::Throttled { retry_after }) => return Err(Refused::Throttled(retry_after)),
        Err(other) => return Err(Refused::Unavailable(other)),
    };
    match hashing
        .run(move |memory| users::authenticate(&username, &password, memory))
        .await
    {
        Ok(Some(user)) => {
            attempt
                .succeeded()
                .await
                .map_err(|e| Refused::Unavailable(e.into()))?;
            Ok(user)
        }
        Ok(None) => {
            attempt.failed();
            Err(Refused::WrongPassword)
        }
        Err(Busy) => {
            // The password was never looked at: the attempt does not count.
            attempt
                .abandoned()
                .await
                .map_err(|e| Refused::Unavailable(e.into()))?;
            Err(Refused::Busy)
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // Test code: a panic is a failed test.

    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn at_most_the_slots_run_at_once_and_the_excess_gives_up_after_the_wait() {
        let hashing = BoundedHashing::new(2, Duration::from_millis(100));
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..12)
            .map(|_| {
                let (hashing, running, most) = (hashing.clone(), running.clone(), most.clone());
                tokio::spawn(async move {
                    hashing
                        .run(move |_| {
                            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                            most.fetch_max(now, Ordering::SeqCst);
                            std::thread::sleep(Duration::from_millis(60));
                            running.fetch_sub(1, Ordering::SeqCst);
                        })
                        .await
                })
            })
            .collect();
        let mut busy = 0;
        for task in tasks {
            if task.await.unwrap() == Err(Busy) {
                busy += 1;
            }
        }
        assert_eq!(most.load(Ordering::SeqCst), 2, "never more than the slots");
        assert!(busy > 0, "the excess was turned away, not queued forever");
    }
}
