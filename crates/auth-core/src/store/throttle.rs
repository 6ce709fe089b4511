use std::fmt;
use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use crate::StoreError;

/// What a throttle counts under: the SHA-256 of a user name or of a client address, so no
/// throttle store ever holds either.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ThrottleKey([u8; 32]);

impl ThrottleKey {
    /// The key of a user name, exactly as given (normalise case or Unicode first if your
    /// logins do). Names that do not exist count the same as names that do.
    pub fn username(name: &str) -> Self {
        Self::digest(b"username\0", name.as_bytes())
    }

    /// The key of a client address. An IPv6 client is counted by its /64, the block one
    /// subscriber usually holds whole; an IPv4-mapped address counts as its IPv4 address.
    pub fn address(address: IpAddr) -> Self {
        match address.to_canonical() {
            IpAddr::V4(v4) => Self::digest(b"ipv4\0", &v4.octets()),
            IpAddr::V6(v6) => Self::digest(b"ipv6/64\0", &v6.octets()[..8]),
        }
    }

    fn digest(kind: &[u8], value: &[u8]) -> Self {
        let mut context = ring::digest::Context::new(&ring::digest::SHA256);
        context.update(kind);
        context.update(value);
        let mut bytes = [0; 32];
        bytes.copy_from_slice(context.finish().as_ref());
        Self(bytes)
    }

    /// Wraps a digest read back from a store.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The raw digest.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The digest as 64 lowercase hex characters.
    pub fn to_hex(&self) -> String {
        crate::hex::encode(&self.0)
    }
}

impl fmt::Debug for ThrottleKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ThrottleKey({})", crate::hex::encode(&self.0[..4]))
    }
}

/// A key's count of attempts in its current window, and when that window ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ThrottleWindow {
    /// Attempts counted since the window opened.
    pub count: u64,
    /// When the window ends and the count starts again from zero.
    pub ends_at: SystemTime,
}

impl ThrottleWindow {
    /// A window holding `count` attempts until `ends_at`.
    pub fn new(count: u64, ends_at: SystemTime) -> Self {
        Self { count, ends_at }
    }
}

/// Where login attempts are counted, in fixed windows, shared by every node that uses the
/// same backend. [`LoginThrottle`](crate::LoginThrottle) is the policy on top.
///
/// Contract (proved by the conformance suite):
///
/// - `hit(key, window)` counts one attempt atomically and returns the count so far in the
///   key's window: of any number of concurrent hits, each sees a different count. A key
///   with no window in force (never hit, reset, or its window ended by the store's clock)
///   opens one now, lasting `window`, at a count of 1.
/// - `release(key, ends_at)` takes back one attempt counted in the window that ends at
///   `ends_at` (as `hit` returned it): the count drops by one, never below zero, while
///   that window is the key's window in force. A key whose window in force ends at any
///   other instant, or that has none, is left alone: an attempt counted in a window that
///   has ended never lowers the next window's count.
/// - `reset(key)` forgets the key's count.
/// - Windows end by the store's [`Clock`](crate::Clock), at millisecond precision; native
///   expiry is only garbage collection.
/// - A backend that cannot answer returns [`StoreError::Unavailable`] within a bounded
///   time; callers then refuse the login (fail closed).
///
/// See [`writing_a_store`](crate::writing_a_store) for the rules every store keeps, the
/// suites that prove them, and a worked example of this trait.
#[async_trait]
pub trait ThrottleStore: Send + Sync + 'static {
    /// Counts one attempt under `key`.
    async fn hit(&self, key: &ThrottleKey, window: Duration) -> Result<ThrottleWindow, StoreError>;

    /// Takes back one attempt counted under `key` in the window ending at `ends_at`.
    async fn release(&self, key: &ThrottleKey, ends_at: SystemTime) -> Result<(), StoreError>;

    /// Forgets `key`'s count.
    async fn reset(&self, key: &ThrottleKey) -> Result<(), StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_separate_kinds_and_group_ipv6_by_64() {
        let v4: IpAddr = "192.0.2.1".parse().unwrap_or(IpAddr::V4([0; 4].into()));
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().unwrap_or(v4);
        assert_eq!(ThrottleKey::address(v4), ThrottleKey::address(mapped));
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap_or(v4);
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap_or(v4);
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap_or(v4);
        assert_eq!(ThrottleKey::address(a), ThrottleKey::address(b));
        assert_ne!(ThrottleKey::address(a), ThrottleKey::address(c));
        assert_ne!(
            ThrottleKey::username("alice"),
            ThrottleKey::username("Alice")
        );
        assert!(!format!("{:?}", ThrottleKey::username("alice")).contains("alice"));
    }
}
