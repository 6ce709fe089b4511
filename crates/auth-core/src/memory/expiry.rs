use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use moka::Expiry;

use crate::{SharedClock, remaining};

/// A value that stops being useful at a known moment.
pub(crate) trait Deadline {
    fn deadline(&self) -> SystemTime;
}

impl<T: Deadline> Deadline for Arc<T> {
    fn deadline(&self) -> SystemTime {
        (**self).deadline()
    }
}

/// Tells moka to drop each entry when its deadline (by the store's clock) has passed, and
/// never to keep one longer than `max_ttl` (the staleness bound of `Cached`).
pub(crate) struct DeadlineExpiry {
    pub(crate) clock: SharedClock,
    pub(crate) max_ttl: Option<Duration>,
}

impl DeadlineExpiry {
    fn ttl(&self, deadline: SystemTime) -> Duration {
        let left = remaining(self.clock.now(), deadline);
        match self.max_ttl {
            Some(max) => left.min(max),
            None => left,
        }
    }
}

impl<K, V: Deadline> Expiry<K, V> for DeadlineExpiry {
    fn expire_after_create(&self, _key: &K, value: &V, _at: Instant) -> Option<Duration> {
        Some(self.ttl(value.deadline()))
    }

    fn expire_after_update(
        &self,
        _key: &K,
        value: &V,
        _at: Instant,
        _left: Option<Duration>,
    ) -> Option<Duration> {
        Some(self.ttl(value.deadline()))
    }
}
