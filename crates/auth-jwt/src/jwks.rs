//! A remote JWK Set, fetched through a [`JwksSource`] the application supplies, cached,
//! refreshed when stale, and refetched (rate limited) when a token names an unknown `kid`.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use auth_core::{AuthError, BoxError, SharedClock, StoreError};

use crate::key_set::KeySet;

/// Where a remote JWK Set document comes from: usually an HTTP GET of the issuer's
/// `jwks_uri`, with whatever client, TLS and timeout settings the application uses.
///
/// ```
/// use async_trait::async_trait;
/// use auth_core::BoxError;
/// use auth_jwt::JwksSource;
///
/// struct Fixed(String);
///
/// #[async_trait]
/// impl JwksSource for Fixed {
///     async fn fetch(&self) -> Result<String, BoxError> {
///         Ok(self.0.clone())
///     }
/// }
/// ```
#[async_trait]
pub trait JwksSource: Send + Sync + 'static {
    /// Fetches the JWK Set document.
    async fn fetch(&self) -> Result<String, BoxError>;
}

/// The default age after which a fetched JWK Set is refreshed: 5 minutes.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(300);
/// The default minimum interval between two fetches: 30 seconds.
pub const DEFAULT_MIN_REFETCH_INTERVAL: Duration = Duration::from_secs(30);

/// A cached remote JWK Set. Give it to [`VerifierBuilder::remote_jwks`](crate::VerifierBuilder::remote_jwks).
///
/// - The first verification fetches the set; afterwards it is refreshed once it is older
///   than `max_age`.
/// - A token naming an unknown `kid` triggers a refetch, but never more often than every
///   `min_refetch_interval`: a flood of forged `kid`s cannot turn into a flood of fetches.
/// - A failed refresh keeps the keys already held; with none held the verification fails
///   closed with [`AuthError::Unavailable`].
pub struct RemoteJwks {
    source: Arc<dyn JwksSource>,
    keys: KeySet,
    clock: SharedClock,
    max_age: Duration,
    min_refetch_interval: Duration,
    state: Mutex<FetchState>,
}

#[derive(Default)]
struct FetchState {
    last_attempt: Option<SystemTime>,
    last_success: Option<SystemTime>,
    fetches: u64,
}

impl std::fmt::Debug for RemoteJwks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteJwks")
            .field("keys", &self.keys)
            .field("max_age", &self.max_age)
            .field("min_refetch_interval", &self.min_refetch_interval)
            .finish_non_exhaustive()
    }
}

/// Why a fetched JWK Set could not be used.
#[derive(Debug, thiserror::Error)]
#[error("the remote JWK Set could not be used")]
struct FetchFailed(#[source] BoxError);

impl RemoteJwks {
    /// A cache over `source` with the default max age (5 min) and minimum refetch
    /// interval (30 s).
    pub fn new(source: Arc<dyn JwksSource>, clock: SharedClock) -> Self {
        Self {
            source,
            keys: KeySet::new(clock.clone()),
            clock,
            max_age: DEFAULT_MAX_AGE,
            min_refetch_interval: DEFAULT_MIN_REFETCH_INTERVAL,
            state: Mutex::new(FetchState::default()),
        }
    }

    /// Sets the age after which the set is refreshed.
    #[must_use]
    pub fn with_max_age(mut self, max_age: Duration) -> Self {
        self.max_age = max_age;
        self
    }

    /// Sets the minimum interval between two fetches.
    #[must_use]
    pub fn with_min_refetch_interval(mut self, interval: Duration) -> Self {
        self.min_refetch_interval = interval;
        self
    }

    /// The keys currently held (shared with every verifier using this cache).
    pub fn keys(&self) -> &KeySet {
        &self.keys
    }

    /// How many fetches were attempted so far.
    pub fn fetch_count(&self) -> u64 {
        self.state().fetches
    }

    fn state(&self) -> std::sync::MutexGuard<'_, FetchState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Claims the right to fetch now, if the minimum interval allows it.
    fn claim_fetch(&self, now: SystemTime) -> bool {
        let mut state = self.state();
        let allowed = state.last_attempt.is_none_or(|last| {
            now.duration_since(last)
                .is_ok_and(|elapsed| elapsed >= self.min_refetch_interval)
        });
        if allowed {
            state.last_attempt = Some(now);
            state.fetches += 1;
        }
        allowed
    }

    async fn fetch(&self, now: SystemTime) -> Result<(), AuthError> {
        let document = self.source.fetch().await.map_err(|e| {
            AuthError::Unavailable(StoreError::Unavailable(Box::new(FetchFailed(e))))
        })?;
        let fresh = KeySet::from_jwks(&document, self.clock.clone()).map_err(|e| {
            AuthError::Unavailable(StoreError::Corrupt(Box::new(FetchFailed(Box::new(e)))))
        })?;
        self.keys.replace_with(&fresh);
        self.state().last_success = Some(now);
        Ok(())
    }

    /// Fetches the set now, whatever its age (still subject to the minimum interval).
    /// Returns whether a fetch happened.
    pub async fn refresh(&self) -> Result<bool, AuthError> {
        let now = self.clock.now();
        if !self.claim_fetch(now) {
            return Ok(false);
        }
        self.fetch(now).await.map(|()| true)
    }

    /// Makes sure a set is held and is not older than the max age.
    pub(crate) async fn ensure_fresh(&self) -> Result<(), AuthError> {
        let now = self.clock.now();
        let last_success = self.state().last_success;
        let stale = last_success
            .is_none_or(|at| now.duration_since(at).is_ok_and(|age| age >= self.max_age));
        if !stale {
            return Ok(());
        }
        match self.refresh().await {
            Ok(_) => {}
            // A failed refresh keeps the keys held; with none held, fail closed.
            Err(error) if last_success.is_none() => return Err(error),
            Err(_) => {}
        }
        if self.state().last_success.is_none() {
            return Err(AuthError::Unavailable(StoreError::Unavailable(
                "the remote JWK Set has never been fetched".into(),
            )));
        }
        Ok(())
    }

    /// A token named an unknown `kid`: refetch if the minimum interval allows. Returns
    /// whether the keys were refetched.
    pub(crate) async fn refetch_for_unknown_kid(&self) -> Result<bool, AuthError> {
        match self.refresh().await {
            Ok(fetched) => Ok(fetched),
            // The set held is still valid for other kids; this token just fails.
            Err(_) => Ok(false),
        }
    }
}
