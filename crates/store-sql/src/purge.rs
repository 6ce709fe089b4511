//! The background purge of expired rows, and the handle that stops it.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use auth_core::StoreError;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

/// A store whose expired rows can be deleted.
pub(crate) trait Purge: Clone + Send + Sync + 'static {
    /// Deletes every expired row, batch by batch; how many it deleted.
    fn purge(&self) -> impl Future<Output = Result<u64, StoreError>> + Send;
}

/// Counters a purge task keeps.
#[derive(Debug, Default)]
struct Stats {
    runs: AtomicU64,
    purged: AtomicU64,
    failures: AtomicU64,
}

/// A running background purge (from `spawn_purge`). It stops when [`stop`](Self::stop)
/// is awaited, or soon after the handle is dropped (at its next tick; a purge under way
/// finishes its current batch loop first).
///
/// A failed run (say the database was unreachable) is counted in
/// [`failures`](Self::failures) and retried at the next tick; it never stops the task.
pub struct PurgeHandle {
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
    stats: Arc<Stats>,
}

impl fmt::Debug for PurgeHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PurgeHandle")
            .field("runs", &self.runs())
            .field("purged", &self.purged())
            .field("failures", &self.failures())
            .finish()
    }
}

impl PurgeHandle {
    /// Starts purging `store` every `interval`, the first run at once.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime, as `tokio::spawn` does.
    pub(crate) fn spawn<P: Purge>(store: P, interval: Duration) -> Self {
        let (stop, mut stopped) = oneshot::channel::<()>();
        let stats = Arc::new(Stats::default());
        let counters = stats.clone();
        let interval = interval.max(Duration::from_millis(1));
        let task = tokio::spawn(async move {
            let mut ticks = tokio::time::interval(interval);
            ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    biased;
                    _ = &mut stopped => return,
                    _ = ticks.tick() => {}
                }
                match store.purge().await {
                    Ok(purged) => {
                        counters.purged.fetch_add(purged, Ordering::Relaxed);
                    }
                    Err(_) => {
                        counters.failures.fetch_add(1, Ordering::Relaxed);
                    }
                }
                counters.runs.fetch_add(1, Ordering::Relaxed);
            }
        });
        Self {
            stop: Some(stop),
            task: Some(task),
            stats,
        }
    }

    /// Stops the task and waits until it has ended.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            // The task may have ended already; then there is no one to tell.
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            // A task that panicked or was cancelled has ended too.
            let _ = task.await;
        }
    }

    /// How many purge runs have finished (successful or not).
    pub fn runs(&self) -> u64 {
        self.stats.runs.load(Ordering::Relaxed)
    }

    /// How many rows the task has deleted so far.
    pub fn purged(&self) -> u64 {
        self.stats.purged.load(Ordering::Relaxed)
    }

    /// How many runs failed.
    pub fn failures(&self) -> u64 {
        self.stats.failures.load(Ordering::Relaxed)
    }
}

impl Drop for PurgeHandle {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
