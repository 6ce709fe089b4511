//! [`RedisThrottleStore`]: login attempts counted in fixed windows, shared by every node.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use auth_core::StoreError;
use auth_core::store::{ThrottleKey, ThrottleStore, ThrottleWindow};
use redis::Script;

use crate::builder::{RedisStoreBuilder, Shared};
use crate::connection::RedisConnection;
use crate::error::{ConfigError, malformed};
use crate::time::{from_nanos, instant, nanos, parse_digits, ttl_millis};

/// A [`ThrottleStore`] on Redis or Redis Cluster, for a
/// [`LoginThrottle`](auth_core::LoginThrottle) shared by every node of a service.
///
/// Layout (`P` is the prefix): each key's window is one string `{P:th}:win:<key hex>`,
/// `<key hex>` being the [`ThrottleKey`] (itself a SHA-256 of the user name or address, so
/// neither reaches Redis), holding the window's end and the count, 20 digits each.
///
/// `hit` and `release` are each one Lua script, so concurrent hits on one key each see
/// their own count; `reset` is one `DEL`. Windows end by the store's clock, passed to the
/// scripts; Redis's own expiry (the window's end plus the TTL slack) only collects
/// garbage. **Cluster**: all keys of one store share the hash tag `{P:th}` (one slot).
#[derive(Clone, Debug)]
pub struct RedisThrottleStore {
    shared: Shared,
    scripts: Arc<Scripts>,
}

#[derive(Debug)]
struct Scripts {
    hit: Script,
    release: Script,
}

impl RedisThrottleStore {
    /// A store on `connection` with the defaults of [`RedisStoreBuilder`].
    pub fn new(connection: RedisConnection) -> Result<Self, ConfigError> {
        RedisStoreBuilder::new(connection).throttle()
    }

    pub(crate) fn from_shared(shared: Shared) -> Self {
        Self {
            shared,
            scripts: Arc::new(Scripts {
                hit: Script::new(include_str!("lua/throttle_hit.lua")),
                release: Script::new(include_str!("lua/throttle_release.lua")),
            }),
        }
    }

    fn window_key(&self, key: &ThrottleKey) -> String {
        self.shared.keys.key("win", &key.to_hex())
    }
}

#[async_trait]
impl ThrottleStore for RedisThrottleStore {
    async fn hit(&self, key: &ThrottleKey, window: Duration) -> Result<ThrottleWindow, StoreError> {
        let now = self.shared.clock.now();
        // A window too long for the stored format ends at the latest instant it can hold.
        let window_nanos = u64::try_from(window.as_nanos()).unwrap_or(u64::MAX);
        let ends_at = from_nanos(nanos(now).saturating_add(window_nanos));
        let (ends_at, count): (Vec<u8>, i64) = self
            .shared
            .connection
            .invoke(
                self.scripts
                    .hit
                    .key(self.window_key(key))
                    .arg(instant(now))
                    .arg(instant(ends_at))
                    .arg(ttl_millis(now, ends_at, self.shared.ttl_slack)),
            )
            .await?;
        let ends_at = parse_digits(&ends_at).ok_or_else(|| malformed("throttle window"))?;
        let count = u64::try_from(count).map_err(|_| malformed("throttle window"))?;
        Ok(ThrottleWindow::new(count, from_nanos(ends_at)))
    }

    async fn release(&self, key: &ThrottleKey, ends_at: SystemTime) -> Result<(), StoreError> {
        let released: i64 = self
            .shared
            .connection
            .invoke(
                self.scripts
                    .release
                    .key(self.window_key(key))
                    .arg(instant(self.shared.clock.now()))
                    .arg(instant(ends_at)),
            )
            .await?;
        if released < 0 {
            return Err(malformed("throttle window"));
        }
        Ok(())
    }

    async fn reset(&self, key: &ThrottleKey) -> Result<(), StoreError> {
        let _: i64 = self
            .shared
            .connection
            .query(redis::cmd("DEL").arg(self.window_key(key)))
            .await?;
        Ok(())
    }
}
