//! [`LoginThrottle`]: a brake on password guessing, shared across nodes through a
//! [`ThrottleStore`].

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::store::{ThrottleKey, ThrottleStore, ThrottleWindow};
use crate::{AuthError, SharedClock, StoreError, SystemClock, remaining};

/// Default number of attempts one user name may fail per window: 5.
pub const DEFAULT_PER_USERNAME: u64 = 5;
/// Default number of attempts one client address may fail per window: 100.
pub const DEFAULT_PER_ADDRESS: u64 = 100;
/// Default window the failures are counted in: 15 minutes.
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(15 * 60);

/// Counts failed logins per user name and per client address, and refuses a login once
/// either is over its limit, **before the password is checked** (so the right password
/// does not get through a lock either), until the window that counted the failures ends.
///
/// Each attempt is counted up front, atomically, when it [`begin`](Self::begin)s: of any
/// number of concurrent guesses at one name only the allowed number reach the password
/// check. A [`LoginAttempt::succeeded`] login resets its user name's count and takes its
/// attempt back from the address's; a failed one stays counted. Unknown user names count
/// exactly like real ones, so the throttle tells nobody which names exist.
///
/// ```
/// use std::sync::Arc;
/// use auth_core::{AuthError, LoginThrottle};
/// use auth_core::memory::MemoryThrottleStore;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), AuthError> {
/// let throttle = LoginThrottle::builder(Arc::new(MemoryThrottleStore::default()))
///     .per_username(2)
///     .build();
/// let address = "192.0.2.7".parse().ok();
/// for _ in 0..2 {
///     let attempt = throttle.begin("bob", address).await?;
///     // ... the password was wrong:
///     attempt.failed();
/// }
/// // The third attempt is refused before any password is looked at.
/// assert!(matches!(throttle.begin("bob", address).await, Err(AuthError::Throttled { .. })));
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct LoginThrottle {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn ThrottleStore>,
    clock: SharedClock,
    per_username: u64,
    per_address: u64,
    window: Duration,
}

impl std::fmt::Debug for LoginThrottle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginThrottle")
            .field("per_username", &self.inner.per_username)
            .field("per_address", &self.inner.per_address)
            .field("window", &self.inner.window)
            .finish_non_exhaustive()
    }
}

/// Configures a [`LoginThrottle`].
#[must_use]
pub struct LoginThrottleBuilder {
    store: Arc<dyn ThrottleStore>,
    clock: SharedClock,
    per_username: u64,
    per_address: u64,
    window: Duration,
}

impl LoginThrottleBuilder {
    /// Attempts one user name may fail per window (default [`DEFAULT_PER_USERNAME`]).
    pub fn per_username(mut self, limit: u64) -> Self {
        self.per_username = limit;
        self
    }

    /// Attempts one client address may fail per window (default [`DEFAULT_PER_ADDRESS`]).
    pub fn per_address(mut self, limit: u64) -> Self {
        self.per_address = limit;
        self
    }

    /// The window failures are counted in (default [`DEFAULT_WINDOW`]).
    pub fn window(mut self, window: Duration) -> Self {
        self.window = window;
        self
    }

    /// The clock used to tell the client how long to wait; use the store's (default:
    /// [`SystemClock`]).
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// The throttle.
    pub fn build(self) -> LoginThrottle {
        LoginThrottle {
            inner: Arc::new(Inner {
                store: self.store,
                clock: self.clock,
                per_username: self.per_username,
                per_address: self.per_address,
                window: self.window.max(Duration::from_millis(1)),
            }),
        }
    }
}

/// One login that the throttle let through to the password check. Say how it ended:
/// [`succeeded`](Self::succeeded), [`failed`](Self::failed), or
/// [`abandoned`](Self::abandoned) when the password was never checked (the server was
/// busy). Dropping it counts as failed.
#[must_use = "say how the login ended: succeeded, failed or abandoned"]
#[derive(Debug)]
pub struct LoginAttempt {
    throttle: LoginThrottle,
    username: Counted,
    address: Option<Counted>,
}

/// A key and the end of the window its attempt was counted in: taking the attempt back
/// lowers that window only, never the next one.
#[derive(Debug)]
struct Counted {
    key: ThrottleKey,
    ends_at: SystemTime,
}

impl Counted {
    async fn release(&self, store: &dyn ThrottleStore) -> Result<(), StoreError> {
        store.release(&self.key, self.ends_at).await
    }
}

impl LoginAttempt {
    /// The password was right: the user name's count starts again, and this attempt no
    /// longer counts against the address.
    pub async fn succeeded(self) -> Result<(), StoreError> {
        tracing::info!(event = "login.succeeded", user = %hint(&self.username.key));
        let store = &*self.throttle.inner.store;
        store.reset(&self.username.key).await?;
        if let Some(address) = &self.address {
            address.release(store).await?;
        }
        Ok(())
    }

    /// The password was wrong: the attempt stays counted.
    pub fn failed(self) {
        tracing::info!(
            event = "login.failed",
            user = %hint(&self.username.key),
            address = self.address.as_ref().map(|a| hint(&a.key)).as_deref(),
        );
    }

    /// The password was never checked: the attempt is taken back from both counts.
    pub async fn abandoned(self) -> Result<(), StoreError> {
        let store = &*self.throttle.inner.store;
        self.username.release(store).await?;
        if let Some(address) = &self.address {
            address.release(store).await?;
        }
        Ok(())
    }
}

impl LoginThrottle {
    /// A builder over `store`, with the defaults (5 per user name, 100 per address, 15
    /// minutes).
    pub fn builder(store: Arc<dyn ThrottleStore>) -> LoginThrottleBuilder {
        LoginThrottleBuilder {
            store,
            clock: SystemClock::shared(),
            per_username: DEFAULT_PER_USERNAME,
            per_address: DEFAULT_PER_ADDRESS,
            window: DEFAULT_WINDOW,
        }
    }

    /// Counts a login attempt for `username` from `address` (when known), and lets it
    /// through to the password check unless either count is over its limit:
    /// [`AuthError::Throttled`] then, with how long until the window ends. A store that
    /// cannot answer refuses the login ([`AuthError::Unavailable`]).
    pub async fn begin(
        &self,
        username: &str,
        address: Option<IpAddr>,
    ) -> Result<LoginAttempt, AuthError> {
        let inner = &*self.inner;
        let username_key = ThrottleKey::username(username);
        let address_key = address.map(ThrottleKey::address);
        let over = |window: &ThrottleWindow, limit: u64| window.count > limit;
        // The address first: an address over its limit is refused before its user name is
        // counted, so one client cannot create user-name counts (store entries) without
        // bound, nor spend a victim's attempts, once its own limit is reached.
        let by_address = match &address_key {
            Some(key) => Some(inner.store.hit(key, inner.window).await?),
            None => None,
        };
        // Ok: let through, the name counted in the window ending then; Err: locked until.
        let verdict = match by_address {
            Some(window) if over(&window, inner.per_address) => Err(window.ends_at),
            _ => {
                let by_name = inner.store.hit(&username_key, inner.window).await?;
                if over(&by_name, inner.per_username) {
                    Err(by_name.ends_at)
                } else {
                    Ok(by_name.ends_at)
                }
            }
        };
        let now = inner.clock.now();
        let name_window_end = match verdict {
            Ok(ends_at) => ends_at,
            Err(until) => {
                // Whole seconds, rounded up, and at least one: what `Retry-After` can say.
                let wait = remaining(now, until);
                let secs = (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1);
                tracing::warn!(
                    event = "login.throttled",
                    user = %hint(&username_key),
                    address = address_key.as_ref().map(hint).as_deref(),
                    retry_after_s = secs,
                );
                return Err(AuthError::Throttled {
                    retry_after: Duration::from_secs(secs),
                });
            }
        };
        Ok(LoginAttempt {
            throttle: self.clone(),
            username: Counted {
                key: username_key,
                ends_at: name_window_end,
            },
            address: address_key.zip(by_address).map(|(key, window)| Counted {
                key,
                ends_at: window.ends_at,
            }),
        })
    }
}

/// What the events name a user or an address by: the start of its throttle key, a digest.
/// Never the name itself, which may be a password typed into the wrong field; the digest
/// is not keyed, though, so a word list recovers a guessable one (docs/security.md).
fn hint(key: &ThrottleKey) -> String {
    key.to_hex()[..12].to_owned()
}

#[cfg(all(test, feature = "memory"))]
mod tests {
    #![allow(clippy::unwrap_used)] // Test code: a panic is a failed test.

    use super::*;
    use crate::ManualClock;
    use crate::memory::MemoryThrottleStore;

    fn throttle(clock: &Arc<ManualClock>) -> LoginThrottle {
        let shared: SharedClock = clock.clone();
        LoginThrottle::builder(Arc::new(MemoryThrottleStore::new(shared.clone())))
            .per_username(5)
            .per_address(8)
            .clock(shared)
            .build()
    }

    fn ip(text: &str) -> Option<IpAddr> {
        text.parse().ok()
    }

    #[tokio::test]
    async fn five_failures_lock_the_name_even_for_the_right_password() {
        let clock = Arc::new(ManualClock::starting_now());
        let throttle = throttle(&clock);
        for _ in 0..5 {
            throttle
                .begin("bob", ip("192.0.2.1"))
                .await
                .unwrap()
                .failed();
        }
        let Err(AuthError::Throttled { retry_after }) =
            throttle.begin("bob", ip("192.0.2.2")).await
        else {
            panic!("the sixth attempt is refused before the password is checked");
        };
        assert_eq!(retry_after, DEFAULT_WINDOW);
        clock.advance(Duration::from_secs(60));
        let Err(AuthError::Throttled { retry_after }) = throttle.begin("bob", None).await else {
            panic!("still locked");
        };
        assert_eq!(retry_after, DEFAULT_WINDOW - Duration::from_secs(60));
        // Other names are not locked by bob's failures.
        throttle.begin("alice", None).await.unwrap().failed();
        clock.advance(DEFAULT_WINDOW);
        throttle
            .begin("bob", None)
            .await
            .unwrap()
            .succeeded()
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn a_success_resets_the_name_and_unknown_names_count_the_same() {
        let clock = Arc::new(ManualClock::starting_now());
        let throttle = throttle(&clock);
        for _ in 0..4 {
            throttle.begin("bob", None).await.unwrap().failed();
        }
        throttle
            .begin("bob", None)
            .await
            .unwrap()
            .succeeded()
            .await
            .unwrap();
        for _ in 0..5 {
            throttle.begin("bob", None).await.unwrap().failed();
        }
        assert!(throttle.begin("bob", None).await.is_err());
        for _ in 0..5 {
            throttle.begin("no-such-user", None).await.unwrap().failed();
        }
        assert!(matches!(
            throttle.begin("no-such-user", None).await,
            Err(AuthError::Throttled { .. })
        ));
    }

    #[tokio::test]
    async fn an_address_is_limited_across_names_and_successes_do_not_count() {
        let clock = Arc::new(ManualClock::starting_now());
        let throttle = throttle(&clock);
        let from = ip("2001:db8::1");
        for i in 0..20 {
            throttle
                .begin(&format!("ok{i}"), from)
                .await
                .unwrap()
                .succeeded()
                .await
                .unwrap();
        }
        for i in 0..8 {
            throttle
                .begin(&format!("guess{i}"), from)
                .await
                .unwrap()
                .failed();
        }
        // Same /64, another name: refused; another network: let through.
        assert!(matches!(
            throttle.begin("alice", ip("2001:db8::ffff")).await,
            Err(AuthError::Throttled { .. })
        ));
        throttle
            .begin("alice", ip("2001:db9::1"))
            .await
            .unwrap()
            .failed();
    }

    /// An address past its limit is refused before the names it tries are counted: it can
    /// neither spend a victim's attempts nor make name counts without bound.
    #[tokio::test]
    async fn an_address_past_its_limit_counts_no_more_names() {
        let clock = Arc::new(ManualClock::starting_now());
        let throttle = throttle(&clock);
        let flood = ip("192.0.2.66");
        for i in 0..8 {
            throttle
                .begin(&format!("n{i}"), flood)
                .await
                .unwrap()
                .failed();
        }
        for _ in 0..20 {
            assert!(matches!(
                throttle.begin("victim", flood).await,
                Err(AuthError::Throttled { .. })
            ));
        }
        // The victim's own five attempts are all still there, from its own address.
        for _ in 0..5 {
            throttle
                .begin("victim", ip("198.51.100.7"))
                .await
                .unwrap()
                .failed();
        }
    }

    #[tokio::test]
    async fn concurrent_guesses_get_only_the_allowed_number_through() {
        let clock = Arc::new(ManualClock::starting_now());
        let throttle = throttle(&clock);
        let tasks: Vec<_> = (0..50)
            .map(|_| {
                let throttle = throttle.clone();
                tokio::spawn(
                    async move { throttle.begin("bob", None).await.map(LoginAttempt::failed) },
                )
            })
            .collect();
        let mut through = 0;
        for task in tasks {
            if task.await.unwrap().is_ok() {
                through += 1;
            }
        }
        assert_eq!(through, 5);
    }

    #[tokio::test]
    async fn an_abandoned_attempt_is_taken_back() {
        let clock = Arc::new(ManualClock::starting_now());
        let throttle = throttle(&clock);
        for _ in 0..20 {
            throttle
                .begin("bob", ip("192.0.2.9"))
                .await
                .unwrap()
                .abandoned()
                .await
                .unwrap();
        }
        throttle
            .begin("bob", ip("192.0.2.9"))
            .await
            .unwrap()
            .failed();
    }

    /// Attempts held across the end of their window (abandoned late, as when the hashing
    /// threads stay busy) never give the next window extra attempts, for a name or for an
    /// address (a success takes its attempt back from the address).
    #[tokio::test]
    async fn attempts_ending_after_their_window_give_the_next_window_nothing() {
        let clock = Arc::new(ManualClock::starting_now());
        let throttle = throttle(&clock);
        let mut held = Vec::new();
        for _ in 0..5 {
            held.push(throttle.begin("bob", ip("192.0.2.9")).await.unwrap());
        }
        clock.advance(DEFAULT_WINDOW);
        let mut through = 0;
        for _ in 0..5 {
            if let Ok(attempt) = throttle.begin("bob", ip("192.0.2.9")).await {
                attempt.failed();
                through += 1;
            }
        }
        for attempt in held {
            attempt.abandoned().await.unwrap();
        }
        for _ in 0..10 {
            if let Ok(attempt) = throttle.begin("bob", ip("192.0.2.9")).await {
                attempt.failed();
                through += 1;
            }
        }
        assert_eq!(through, 5, "one window's worth of guesses at bob");

        // The address: 8 per window; successes started in the old window end in the new.
        let mut held = Vec::new();
        for i in 0..8 {
            held.push(
                throttle
                    .begin(&format!("own-{i}"), ip("198.51.100.1"))
                    .await
                    .unwrap(),
            );
        }
        clock.advance(DEFAULT_WINDOW);
        let mut through = 0;
        for i in 0..8 {
            if let Ok(attempt) = throttle
                .begin(&format!("new-{i}"), ip("198.51.100.1"))
                .await
            {
                attempt.failed();
                through += 1;
            }
        }
        for attempt in held {
            attempt.succeeded().await.unwrap();
        }
        for i in 0..8 {
            if let Ok(attempt) = throttle
                .begin(&format!("more-{i}"), ip("198.51.100.1"))
                .await
            {
                attempt.failed();
                through += 1;
            }
        }
        assert_eq!(
            through, 8,
            "one window's worth of attempts from the address"
        );
    }
}
