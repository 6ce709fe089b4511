//! The timeouts and limits a [`SessionManager`](crate::SessionManager) enforces.

use std::time::{Duration, SystemTime};

use auth_core::store::MAX_DATA_LEN;

/// The timeouts and limits of a [`SessionManager`](crate::SessionManager), validated when
/// the manager is built (see [`SessionManagerBuilder`](crate::SessionManagerBuilder)).
///
/// - **Idle timeout** (default 30 min): a session not used for this long stops loading.
/// - **Absolute lifetime** (default 12 h): a session stops loading this long after it was
///   created, however active it is. Rotation keeps the creation time;
///   [`rotate_to`](crate::SessionManager::rotate_to) (a login) starts a new one.
/// - **Touch interval** (default 60 s): a load writes the idle extension to the store only
///   if the stored "last seen" time is at least this old, so a busy user costs one write per
///   interval, not one per request. The price is precision: the idle timeout is measured
///   from the last *written* "last seen", so a session may go idle up to one interval
///   earlier than the idle timeout after its true last request.
/// - **Data limit** (default and maximum [`MAX_DATA_LEN`], 64 KiB): the largest encoded
///   session data an update may write.
///
/// ```
/// use auth_session::SessionConfig;
///
/// let config = SessionConfig::default();
/// assert_eq!(config.idle_timeout().as_secs(), 30 * 60);
/// assert_eq!(config.absolute_lifetime().as_secs(), 12 * 60 * 60);
/// assert_eq!(config.touch_interval().as_secs(), 60);
/// assert_eq!(config.max_data_len(), 64 * 1024);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionConfig {
    pub(crate) idle_timeout: Duration,
    pub(crate) absolute_lifetime: Duration,
    pub(crate) touch_interval: Duration,
    pub(crate) max_data_len: usize,
}

impl SessionConfig {
    /// Default idle timeout: 30 minutes.
    pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(30 * 60);
    /// Default absolute lifetime: 12 hours.
    pub const DEFAULT_ABSOLUTE_LIFETIME: Duration = Duration::from_secs(12 * 60 * 60);
    /// Default touch interval: 60 seconds.
    pub const DEFAULT_TOUCH_INTERVAL: Duration = Duration::from_secs(60);
    /// The longest absolute lifetime accepted: 400 days, the cap browsers put on a
    /// cookie's `Max-Age`.
    pub const MAX_LIFETIME: Duration = Duration::from_secs(400 * 24 * 60 * 60);

    /// How long an unused session stays loadable.
    pub fn idle_timeout(&self) -> Duration {
        self.idle_timeout
    }

    /// How long any session stays loadable after its creation.
    pub fn absolute_lifetime(&self) -> Duration {
        self.absolute_lifetime
    }

    /// The least time between two idle extensions written by loads.
    pub fn touch_interval(&self) -> Duration {
        self.touch_interval
    }

    /// The largest encoded session data, in bytes.
    pub fn max_data_len(&self) -> usize {
        self.max_data_len
    }

    /// Checks the settings against each other.
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        if self.idle_timeout.is_zero() {
            return Err(ConfigError::ZeroIdleTimeout);
        }
        if self.absolute_lifetime.is_zero() || self.absolute_lifetime > Self::MAX_LIFETIME {
            return Err(ConfigError::AbsoluteLifetime);
        }
        if self.touch_interval >= self.idle_timeout {
            return Err(ConfigError::TouchInterval);
        }
        if self.max_data_len > MAX_DATA_LEN {
            return Err(ConfigError::DataLimit {
                limit: self.max_data_len,
            });
        }
        Ok(())
    }

    /// When a session created at `created_at` reaches its absolute limit.
    pub(crate) fn absolute_deadline(&self, created_at: SystemTime) -> Option<SystemTime> {
        created_at.checked_add(self.absolute_lifetime)
    }

    /// When a session last seen at `last_seen_at` and created at `created_at` stops
    /// loading: the earlier of the idle and absolute deadlines. `None` if the times are so
    /// far in the future that they overflow (a corrupt record: treated as expired).
    pub(crate) fn deadline(
        &self,
        created_at: SystemTime,
        last_seen_at: SystemTime,
    ) -> Option<SystemTime> {
        let idle = last_seen_at.checked_add(self.idle_timeout)?;
        Some(idle.min(self.absolute_deadline(created_at)?))
    }
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            idle_timeout: Self::DEFAULT_IDLE_TIMEOUT,
            absolute_lifetime: Self::DEFAULT_ABSOLUTE_LIFETIME,
            touch_interval: Self::DEFAULT_TOUCH_INTERVAL,
            max_data_len: MAX_DATA_LEN,
        }
    }
}

/// Why a [`SessionManager`](crate::SessionManager) configuration was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The idle timeout is zero.
    #[error("the idle timeout must be positive")]
    ZeroIdleTimeout,
    /// The absolute lifetime is zero or longer than [`SessionConfig::MAX_LIFETIME`].
    #[error("the absolute lifetime must be positive and at most 400 days")]
    AbsoluteLifetime,
    /// The touch interval is not shorter than the idle timeout, so a busy session could go
    /// idle between two touches.
    #[error("the touch interval must be shorter than the idle timeout")]
    TouchInterval,
    /// The data limit is above what stores accept ([`MAX_DATA_LEN`]).
    #[error("a data limit of {limit} bytes is over the store limit of {MAX_DATA_LEN}")]
    DataLimit {
        /// The refused limit.
        limit: usize,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(f: impl FnOnce(&mut SessionConfig)) -> Result<(), ConfigError> {
        let mut config = SessionConfig::default();
        f(&mut config);
        config.validate()
    }

    #[test]
    fn defaults_are_valid() {
        assert_eq!(with(|_| {}), Ok(()));
    }

    #[test]
    fn inconsistent_settings_are_refused() {
        assert_eq!(
            with(|c| c.idle_timeout = Duration::ZERO),
            Err(ConfigError::ZeroIdleTimeout)
        );
        assert_eq!(
            with(|c| c.absolute_lifetime = Duration::ZERO),
            Err(ConfigError::AbsoluteLifetime)
        );
        assert_eq!(
            with(|c| c.absolute_lifetime = Duration::MAX),
            Err(ConfigError::AbsoluteLifetime)
        );
        assert_eq!(
            with(|c| c.touch_interval = c.idle_timeout),
            Err(ConfigError::TouchInterval)
        );
        assert_eq!(
            with(|c| c.max_data_len = MAX_DATA_LEN + 1),
            Err(ConfigError::DataLimit {
                limit: MAX_DATA_LEN + 1
            })
        );
    }

    #[test]
    fn deadline_is_the_earlier_limit_and_overflow_is_none() {
        let config = SessionConfig::default();
        let created = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        assert_eq!(
            config.deadline(created, created),
            Some(created + config.idle_timeout)
        );
        let late = created + Duration::from_secs(12 * 3600 - 60);
        assert_eq!(
            config.deadline(created, late),
            Some(created + config.absolute_lifetime)
        );
        let far = SystemTime::UNIX_EPOCH + Duration::from_secs(u64::MAX / 2);
        assert_eq!(config.deadline(far, far), None);
    }
}
