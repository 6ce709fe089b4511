//! Time as the library sees it: every expiry decision asks a [`Clock`].

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A source of the current time.
///
/// Stores and managers never call [`SystemTime::now`] themselves: they ask their clock, so a
/// test can move time with a [`ManualClock`] instead of sleeping.
pub trait Clock: Send + Sync + fmt::Debug + 'static {
    /// The current time.
    fn now(&self) -> SystemTime;
}

/// A clock shared between a store, a manager and a test.
pub type SharedClock = Arc<dyn Clock>;

/// The operating system's wall clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

impl SystemClock {
    /// The system clock as a [`SharedClock`].
    pub fn shared() -> SharedClock {
        Arc::new(SystemClock)
    }
}

/// A clock that only moves when told to: the way tests expire sessions and tokens.
///
/// It keeps nanoseconds since the Unix epoch in an atomic, so it can be shared freely
/// between tasks.
///
/// ```
/// use std::time::Duration;
/// use auth_core::{Clock, ManualClock};
///
/// let clock = ManualClock::starting_now();
/// let before = clock.now();
/// clock.advance(Duration::from_secs(3600));
/// assert_eq!(clock.now().duration_since(before).unwrap(), Duration::from_secs(3600));
/// ```
#[derive(Debug)]
pub struct ManualClock {
    nanos_since_epoch: AtomicU64,
}

impl ManualClock {
    /// A clock frozen at `start`. Times before the Unix epoch are clamped to the epoch.
    pub fn new(start: SystemTime) -> Self {
        Self {
            nanos_since_epoch: AtomicU64::new(to_nanos(start)),
        }
    }

    /// A clock frozen at the real current time, so that backends with native TTLs see
    /// sensible deadlines.
    pub fn starting_now() -> Self {
        Self::new(SystemTime::now())
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let by = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        self.nanos_since_epoch.fetch_add(by, Ordering::SeqCst);
    }

    /// Sets the clock to `to` (which may be earlier than now).
    pub fn set(&self, to: SystemTime) {
        self.nanos_since_epoch.store(to_nanos(to), Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_nanos(self.nanos_since_epoch.load(Ordering::SeqCst))
    }
}

fn to_nanos(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Whole milliseconds since the Unix epoch, the form SQL and Redis backends store.
///
/// Times before the epoch map to 0; times too far in the future saturate.
pub fn unix_millis(time: SystemTime) -> i64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// [`unix_millis`] rounded up: the stored form of a time that ends or starts a refusal
/// (a revocation's `until`, a subject's "not before", a throttle window's end), so that
/// storing it to the millisecond never makes the refusal shorter.
pub fn unix_millis_up(time: SystemTime) -> i64 {
    let millis = unix_millis(time);
    if from_unix_millis(millis) < time {
        millis.saturating_add(1)
    } else {
        millis
    }
}

/// The inverse of [`unix_millis`]; negative values map to the epoch.
pub fn from_unix_millis(millis: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(u64::try_from(millis).unwrap_or(0))
}

/// `time` plus `by`, or the latest instant this platform can hold if that is later: a
/// deadline too far away to represent is never reached, instead of wrapping or ending at
/// once.
pub fn saturating_add(time: SystemTime, by: Duration) -> SystemTime {
    let mut by = by;
    loop {
        if let Some(later) = time.checked_add(by) {
            return later;
        }
        // Halving finds a representable sum within 64 tries; zero always is one.
        by /= 2;
    }
}

/// Time left from `now` until `deadline`, zero if it has passed.
pub fn remaining(now: SystemTime, deadline: SystemTime) -> Duration {
    deadline.duration_since(now).unwrap_or(Duration::ZERO)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saturating_add_never_panics_and_never_ends_early() {
        let now = SystemTime::now();
        assert_eq!(
            saturating_add(now, Duration::from_secs(5)),
            now + Duration::from_secs(5)
        );
        let far = saturating_add(now, Duration::MAX);
        assert!(far > now + Duration::from_secs(1_000 * 365 * 24 * 3600));
        assert!(saturating_add(far, Duration::MAX) >= far);
    }

    #[test]
    fn manual_clock_moves_only_when_told() {
        let start = UNIX_EPOCH + Duration::from_secs(1_000);
        let clock = ManualClock::new(start);
        assert_eq!(clock.now(), start);
        clock.advance(Duration::from_millis(1_500));
        assert_eq!(clock.now(), start + Duration::from_millis(1_500));
        clock.set(start);
        assert_eq!(clock.now(), start);
    }

    #[test]
    fn millis_round_trip_and_clamp() {
        let t = UNIX_EPOCH + Duration::from_millis(1_234_567);
        assert_eq!(from_unix_millis(unix_millis(t)), t);
        assert_eq!(unix_millis(UNIX_EPOCH - Duration::from_secs(5)), 0);
        assert_eq!(from_unix_millis(-7), UNIX_EPOCH);
    }

    #[test]
    fn millis_up_round_only_a_partial_millisecond_up() {
        let t = UNIX_EPOCH + Duration::from_millis(1_234_567);
        assert_eq!(unix_millis_up(t), 1_234_567);
        assert_eq!(unix_millis_up(t + Duration::from_nanos(1)), 1_234_568);
        assert_eq!(unix_millis_up(t + Duration::from_micros(999)), 1_234_568);
        assert_eq!(unix_millis_up(UNIX_EPOCH - Duration::from_secs(5)), 0);
        let far = UNIX_EPOCH + Duration::from_secs(u64::MAX / 4);
        assert_eq!(unix_millis_up(far), i64::MAX, "saturates, never panics");
    }

    #[test]
    fn remaining_is_zero_after_deadline() {
        let t = UNIX_EPOCH + Duration::from_secs(10);
        assert_eq!(remaining(t, t - Duration::from_secs(1)), Duration::ZERO);
        assert_eq!(
            remaining(t, t + Duration::from_secs(1)),
            Duration::from_secs(1)
        );
    }
}
