//! A remote JWK Set: fetched through a [`JwksSource`], kept for the max age its source
//! gives (within bounds), refetched on an unknown `kid` at most once per cooldown, one
//! fetch at a time, and trusted no longer than a maximum staleness.

use std::collections::HashSet;
use std::ops::RangeInclusive;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use auth_core::{AuthError, BoxError, SharedClock, StoreError};
use tokio::sync::watch;

use crate::Algorithm;
use crate::algorithm;
use crate::error::{KeyError, shown};
use crate::jwk::{Jwk, JwkSet};
use crate::jwks_error::JwksError;
use crate::key_set::{KeySet, SkippedKey};

/// The largest JWK Set (or discovery) document accepted: 256 KiB.
pub const MAX_JWKS_BYTES: usize = 256 * 1024;
/// The most keys a remote JWK Set may hold: 100.
pub const MAX_JWKS_KEYS: usize = 100;
/// How long a fetched set is used before it is refreshed when its source gives no max age
/// (no `Cache-Control: max-age`): 5 minutes.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(300);
/// The bounds a source's max age is held to: 1 minute to 1 hour.
pub const DEFAULT_MAX_AGE_BOUNDS: RangeInclusive<Duration> =
    RangeInclusive::new(Duration::from_secs(60), Duration::from_secs(3600));
/// The least time between two fetches, whatever asks for them (an unknown `kid`, a failed
/// refresh): 10 seconds.
pub const DEFAULT_REFETCH_COOLDOWN: Duration = Duration::from_secs(10);
/// How long after its last successful fetch a set is trusted while refreshes fail: 24
/// hours.
pub const DEFAULT_MAX_STALENESS: Duration = Duration::from_secs(24 * 3600);

/// A JWK Set document as a [`JwksSource`] fetched it. `Debug` shows its length, not its
/// text (a misconfigured source could return secrets).
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct JwksDocument {
    /// The JSON text.
    pub body: String,
    /// How long the source says the document stays fresh (HTTP `Cache-Control: max-age`,
    /// less `Age`), if it says.
    pub max_age: Option<Duration>,
}

impl JwksDocument {
    /// A document with no max age of its own.
    pub fn new(body: impl Into<String>) -> Self {
        Self {
            body: body.into(),
            max_age: None,
        }
    }

    /// Sets how long the document stays fresh.
    #[must_use]
    pub fn with_max_age(mut self, max_age: Duration) -> Self {
        self.max_age = Some(max_age);
        self
    }
}

impl std::fmt::Debug for JwksDocument {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwksDocument")
            .field("len", &self.body.len())
            .field("max_age", &self.max_age)
            .finish()
    }
}

impl From<String> for JwksDocument {
    fn from(body: String) -> Self {
        Self::new(body)
    }
}

/// Where a remote JWK Set document comes from. With the `http` feature,
/// `HttpJwksSource` fetches it from a URL or finds it by OpenID
/// discovery; implement this for anything else.
///
/// ```
/// use async_trait::async_trait;
/// use auth_core::BoxError;
/// use auth_jwt::{JwksDocument, JwksSource};
///
/// struct Fixed(String);
///
/// #[async_trait]
/// impl JwksSource for Fixed {
///     async fn fetch(&self) -> Result<JwksDocument, BoxError> {
///         Ok(JwksDocument::new(self.0.clone()))
///     }
/// }
/// ```
#[async_trait]
pub trait JwksSource: Send + Sync + 'static {
    /// Fetches the JWK Set document.
    async fn fetch(&self) -> Result<JwksDocument, BoxError>;

    /// The issuer whose keys these are, when the source knows it (OpenID discovery checked
    /// it). A verifier then requires tokens checked with these keys to carry exactly this
    /// `iss`. `None` by default.
    fn issuer(&self) -> Option<&str> {
        None
    }
}

/// A cached remote JWK Set. Give it to a verifier with
/// [`VerifierBuilder::remote_jwks`](crate::VerifierBuilder::remote_jwks) or
/// [`VerifierBuilder::remote_issuer`](crate::VerifierBuilder::remote_issuer); verify with
/// [`Verifier::authenticate`](crate::Verifier::authenticate) or
/// [`Verifier::verify_async`](crate::Verifier::verify_async), which consult it every time.
///
/// - **Freshness.** A fetched set is used for the max age its source gives (HTTP
///   `Cache-Control: max-age`), held within [`with_max_age_bounds`](Self::with_max_age_bounds)
///   (default 1 min to 1 h), or [`DEFAULT_MAX_AGE`] (5 min) when the source gives none.
///   Then the next verification starts a refresh, and the set keeps serving while it
///   runs: no request waits for a refresh, only for a first set (or one within the
///   maximum staleness).
/// - **Unknown `kid`.** A token naming a `kid` the set lacks triggers a refetch, and so
///   does nothing else outside freshness; every fetch, whatever asked for it, waits for the
///   [cooldown](Self::with_refetch_cooldown) (default 10 s) after the previous one, so a
///   flood of made-up `kid`s costs the provider at most one request per cooldown. While
///   the last fetch has failed, such a token is [`AuthError::Unavailable`] (503), not
///   invalid: its key may be one the provider added meanwhile.
/// - **One fetch at a time.** Callers that need the set while a fetch is in flight wait
///   for that fetch instead of starting their own: a cold start under load makes one
///   request. The fetch runs as a task of its own (when a tokio runtime is present), so a
///   caller that goes away does not cancel it for the others.
/// - **Failures.** A failed refresh keeps the set held, trusted until
///   [`with_max_staleness`](Self::with_max_staleness) (default 24 h) after its last
///   successful fetch; with no set, or an older one, verification fails closed with
///   [`AuthError::Unavailable`] (503) whose source is a [`JwksError`]. Except a set that
///   shows a private key ([`JwksError::PrivateKeyPublished`]): it drops every key held at
///   once, and the keys it showed are never trusted again.
/// - **Limits and keys.** Documents over [`MAX_JWKS_BYTES`] (256 KiB) or with more than
///   [`MAX_JWKS_KEYS`] (100) keys are refused whole. HMAC secrets (`kty: oct`) are never
///   taken from a remote set. A key without `alg` serves only when
///   [`with_algorithms`](Self::with_algorithms) pins the algorithms and its key type fits
///   exactly one of them (EC and OKP keys otherwise take the one their curve allows).
///   Keys that cannot serve are left out (a token naming one fails as an unknown `kid`)
///   and reported by a `jwks.key_skipped` event.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use async_trait::async_trait;
/// use auth_core::{BoxError, SystemClock};
/// use auth_jwt::{Algorithm, JwksDocument, JwksSource, KeySet, RemoteJwks, Verifier};
///
/// struct Fixed;
///
/// #[async_trait]
/// impl JwksSource for Fixed {
///     async fn fetch(&self) -> Result<JwksDocument, BoxError> {
///         Ok(JwksDocument::new(r#"{"keys":[]}"#).with_max_age(Duration::from_secs(600)))
///     }
/// }
///
/// let clock = SystemClock::shared();
/// let remote = RemoteJwks::new(Arc::new(Fixed), clock.clone())
///     .with_algorithms([Algorithm::RS256])
///     .with_refetch_cooldown(Duration::from_secs(30));
/// let verifier = Verifier::builder(KeySet::new(clock.clone()), clock)
///     .remote_issuer("https://id.example", remote)
///     .audience("api")
///     .build()?;
/// # Ok::<(), auth_jwt::ConfigError>(())
/// ```
pub struct RemoteJwks {
    source: Arc<dyn JwksSource>,
    keys: KeySet,
    clock: SharedClock,
    config: Config,
    state: Arc<Mutex<State>>,
}

/// The settings of a [`RemoteJwks`], copied into each fetch.
#[derive(Clone, Debug)]
struct Config {
    default_max_age: Duration,
    max_age_bounds: RangeInclusive<Duration>,
    cooldown: Duration,
    max_staleness: Duration,
    algorithms: Vec<Algorithm>,
}

/// What a fetch ended with, shared by every caller that waited on it.
type Outcome = Result<(), Arc<JwksError>>;

#[derive(Default)]
struct State {
    /// When the set held was fetched.
    fetched_at: Option<SystemTime>,
    /// Until when it is used without a refresh.
    fresh_until: Option<SystemTime>,
    /// When the last fetch started.
    last_attempt: Option<SystemTime>,
    /// Why the last fetch failed, if it did.
    last_error: Option<Arc<JwksError>>,
    /// The fetch in flight: its outcome, once there is one.
    in_flight: Option<watch::Receiver<Option<Outcome>>>,
    /// How many fetches started.
    fetches: u64,
    /// The thumbprints of keys this source has shown with private members: never
    /// trusted again. At most [`MAX_JWKS_KEYS`].
    leaked: HashSet<String>,
}

impl std::fmt::Debug for RemoteJwks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteJwks")
            .field("issuer", &self.source.issuer())
            .field("keys", &self.keys)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// What a caller needs from the set.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Need {
    /// A set that is fresh, or at least not older than the maximum staleness.
    Fresh,
    /// A newer set than the one held, which lacks a `kid`.
    Newer,
    /// A fetch now, for [`RemoteJwks::refresh`].
    Now,
}

impl RemoteJwks {
    /// A cache over `source` with the defaults: [`DEFAULT_MAX_AGE`],
    /// [`DEFAULT_MAX_AGE_BOUNDS`], [`DEFAULT_REFETCH_COOLDOWN`], [`DEFAULT_MAX_STALENESS`],
    /// no pinned algorithms.
    pub fn new(source: Arc<dyn JwksSource>, clock: SharedClock) -> Self {
        Self {
            source,
            keys: KeySet::new(clock.clone()),
            clock,
            config: Config {
                default_max_age: DEFAULT_MAX_AGE,
                max_age_bounds: DEFAULT_MAX_AGE_BOUNDS,
                cooldown: DEFAULT_REFETCH_COOLDOWN,
                max_staleness: DEFAULT_MAX_STALENESS,
                algorithms: Vec::new(),
            },
            state: Arc::new(Mutex::new(State::default())),
        }
    }

    /// How long a set is used when its source gives no max age (held within the bounds).
    #[must_use]
    pub fn with_max_age(mut self, max_age: Duration) -> Self {
        self.config.default_max_age = max_age;
        self
    }

    /// The bounds a source's max age is held to: a provider's `max-age=0` or `no-store`
    /// still keeps the set for the lower bound, a year-long max age only for the upper.
    /// When the range is empty its end wins.
    #[must_use]
    pub fn with_max_age_bounds(mut self, bounds: RangeInclusive<Duration>) -> Self {
        self.config.max_age_bounds = bounds;
        self
    }

    /// The least time between two fetches (default [`DEFAULT_REFETCH_COOLDOWN`]).
    #[must_use]
    pub fn with_refetch_cooldown(mut self, cooldown: Duration) -> Self {
        self.config.cooldown = cooldown;
        self
    }

    /// How long after its last successful fetch a set is trusted while refreshes fail
    /// (default [`DEFAULT_MAX_STALENESS`]); later, verification fails closed. It also caps
    /// the max age.
    #[must_use]
    pub fn with_max_staleness(mut self, max_staleness: Duration) -> Self {
        self.config.max_staleness = max_staleness;
        self
    }

    /// Pins the algorithms this set's keys may serve. A key for another algorithm is left
    /// out; a key without `alg` serves the one pinned algorithm its key type (and curve)
    /// fits, and is left out when it fits none or several. Without a pin, a key must say
    /// its `alg` (EC and OKP keys may instead let their curve say it).
    #[must_use]
    pub fn with_algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.config.algorithms.clear();
        for algorithm in algorithms {
            // Each once, wherever it repeats: a key fits "several" only if they differ.
            if !self.config.algorithms.contains(&algorithm) {
                self.config.algorithms.push(algorithm);
            }
        }
        self
    }

    /// The keys currently held (shared with every verifier using this cache).
    pub fn keys(&self) -> &KeySet {
        &self.keys
    }

    /// The issuer the source vouches for (see [`JwksSource::issuer`]).
    pub fn issuer(&self) -> Option<&str> {
        self.source.issuer()
    }

    /// How many fetches have started so far.
    pub fn fetch_count(&self) -> u64 {
        lock(&self.state).fetches
    }

    /// Fetches the set now, whatever its age, unless the cooldown forbids it; joins the
    /// fetch in flight if there is one. `Ok(true)` when a fetch succeeded, `Ok(false)` when
    /// the cooldown allowed none, [`AuthError::Unavailable`] when it failed. Useful at
    /// startup, to fail early on a misconfigured source.
    pub async fn refresh(&self) -> Result<bool, AuthError> {
        self.obtain(Need::Now).await
    }

    /// Makes sure a set is held that may be used now: fresh, or refreshed, or (when the
    /// refresh fails or the cooldown forbids one) not older than the maximum staleness.
    pub(crate) async fn ensure_fresh(&self) -> Result<(), AuthError> {
        self.obtain(Need::Fresh).await.map(|_| ())
    }

    /// A token named a `kid` the set lacks: refetch if the cooldown allows (or join the
    /// fetch in flight). `Ok(true)` when a fetch succeeded, so the `kid` is worth looking
    /// up again; `Ok(false)` when the set is as new as the provider gives (the key is
    /// unknown there too, or the cooldown allows no fetch after a successful one);
    /// [`AuthError::Unavailable`] when the last fetch failed: the key may be one the
    /// provider added meanwhile, and its token cannot be judged until it answers.
    pub(crate) async fn refetch_for_unknown_kid(&self) -> Result<bool, AuthError> {
        self.obtain(Need::Newer).await
    }

    /// Starts or joins a fetch when `need` calls for one and the cooldown allows, and
    /// decides with what the set then holds. `Ok(true)` when a fetch succeeded.
    async fn obtain(&self, need: Need) -> Result<bool, AuthError> {
        let (outcome, leader, serve_held) = {
            let mut state = lock(&self.state);
            let now = self.clock.now();
            if need == Need::Fresh && state.fresh_until.is_some_and(|until| now < until) {
                return Ok(false);
            }
            // A stale set still within the maximum staleness serves while it is refreshed:
            // no request waits for a refresh, only for a set to use at all.
            let serve_held = need == Need::Fresh && self.usable(&state, now, None).is_ok();
            let (outcome, leader) = match &state.in_flight {
                Some(outcome) => (outcome.clone(), None),
                None if self.cooldown_over(&state, now) => {
                    state.last_attempt = Some(now);
                    state.fetches += 1;
                    let (sender, outcome) = watch::channel(None);
                    state.in_flight = Some(outcome.clone());
                    (outcome, Some((sender, now)))
                }
                None => {
                    return match (need, &state.last_error) {
                        (Need::Fresh, _) => self.usable(&state, now, None).map(|()| false),
                        (Need::Newer, Some(error)) => Err(unavailable(Arc::clone(error))),
                        (Need::Newer, None) | (Need::Now, _) => Ok(false),
                    };
                }
            };
            (outcome, leader, serve_held)
        };
        if let Some((sender, started)) = leader {
            let fetch = Fetch {
                source: Arc::clone(&self.source),
                keys: self.keys.clone(),
                clock: self.clock.clone(),
                config: self.config.clone(),
                state: Arc::clone(&self.state),
                started,
                sender: Some(sender),
            };
            match tokio::runtime::Handle::try_current() {
                Ok(runtime) => drop(runtime.spawn(fetch.run())),
                // No runtime to run it apart: this caller fetches for everyone.
                Err(_) => fetch.run().await,
            }
        }
        if serve_held {
            return Ok(false);
        }
        match wait(outcome).await {
            Ok(()) => Ok(true),
            Err(error) => match need {
                Need::Fresh => {
                    let state = lock(&self.state);
                    self.usable(&state, self.clock.now(), Some(error))
                        .map(|()| false)
                }
                Need::Newer | Need::Now => Err(unavailable(error)),
            },
        }
    }

    /// Whether the cooldown since the last fetch has passed. A clock set back by more than
    /// the cooldown allows one fetch (which restarts the count), rather than none until
    /// the clock catches up.
    fn cooldown_over(&self, state: &State, now: SystemTime) -> bool {
        state
            .last_attempt
            .is_none_or(|last| match now.duration_since(last) {
                Ok(elapsed) => elapsed >= self.config.cooldown,
                Err(back) => back.duration() >= self.config.cooldown,
            })
    }

    /// Whether the set held may still be used: fetched once, and not older than the
    /// maximum staleness.
    fn usable(
        &self,
        state: &State,
        now: SystemTime,
        error: Option<Arc<JwksError>>,
    ) -> Result<(), AuthError> {
        let last_error = error.or_else(|| state.last_error.clone());
        match state.fetched_at {
            None => Err(unavailable(JwksError::NotFetched(last_error))),
            Some(at) => {
                let age = now.duration_since(at).unwrap_or(Duration::ZERO);
                if age < self.config.max_staleness {
                    Ok(())
                } else {
                    Err(unavailable(JwksError::Stale {
                        max_staleness_secs: self.config.max_staleness.as_secs(),
                        last_error,
                    }))
                }
            }
        }
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    // No code panics while holding the lock; a poisoned lock still holds whole values.
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

fn unavailable(error: impl std::error::Error + Send + Sync + 'static) -> AuthError {
    AuthError::Unavailable(StoreError::Unavailable(Box::new(error)))
}

/// The outcome of the fetch `outcome` follows, once it has one.
async fn wait(mut outcome: watch::Receiver<Option<Outcome>>) -> Outcome {
    match outcome.wait_for(Option::is_some).await {
        Ok(done) => done
            .clone()
            .unwrap_or(Err(Arc::new(JwksError::Interrupted))),
        Err(_) => Err(Arc::new(JwksError::Interrupted)),
    }
}

/// One fetch, with everything it needs to run apart from the [`RemoteJwks`] that started
/// it. Dropped before it finished (its task cancelled), it clears the flight and its
/// waiters see [`JwksError::Interrupted`].
struct Fetch {
    source: Arc<dyn JwksSource>,
    keys: KeySet,
    clock: SharedClock,
    config: Config,
    state: Arc<Mutex<State>>,
    /// When the fetch started: the age of what it fetches counts from then.
    started: SystemTime,
    sender: Option<watch::Sender<Option<Outcome>>>,
}

impl Fetch {
    async fn run(mut self) {
        let issuer = self.source.issuer().unwrap_or("").to_owned();
        let leaked = lock(&self.state).leaked.clone();
        let fetched = match self.source.fetch().await {
            Ok(document) => parse(
                &document.body,
                &self.config.algorithms,
                &leaked,
                self.clock.clone(),
            )
            .map(|(keys, skipped)| (keys, skipped, document.max_age)),
            Err(error) => Err(JwksError::Fetch(error)),
        };
        let outcome = match fetched {
            Ok((keys, skipped, max_age)) => {
                for key in &skipped {
                    tracing::warn!(
                        event = "jwks.key_skipped",
                        issuer = %issuer,
                        kid = %key.kid.as_deref().map(shown).unwrap_or_default(),
                        why = %key.error,
                    );
                }
                let max_age = self.max_age(max_age);
                tracing::info!(
                    event = "jwks.fetched",
                    issuer = %issuer,
                    keys = keys.kids().len(),
                    skipped = skipped.len(),
                    max_age_s = max_age.as_secs(),
                );
                let mut state = lock(&self.state);
                self.keys.replace_with(&keys);
                state.fetched_at = Some(self.started);
                state.fresh_until = Some(self.started.checked_add(max_age).unwrap_or(self.started));
                state.last_error = None;
                state.in_flight = None;
                Ok(())
            }
            Err(error) => {
                tracing::warn!(
                    event = "jwks.fetch_failed",
                    issuer = %issuer,
                    error = %Chain(&error),
                );
                let mut state = lock(&self.state);
                if let JwksError::PrivateKeyPublished { thumbprints } = &error {
                    // A key whose private part is public proves nothing, now or later; the
                    // set held may hold it too. Nothing of this issuer serves until a
                    // clean set.
                    for thumbprint in thumbprints {
                        if state.leaked.len() < MAX_JWKS_KEYS {
                            state.leaked.insert(thumbprint.clone());
                        }
                    }
                    self.keys.replace_with(&KeySet::new(self.clock.clone()));
                    state.fetched_at = None;
                    state.fresh_until = None;
                }
                let error = Arc::new(error);
                state.last_error = Some(Arc::clone(&error));
                state.in_flight = None;
                Err(error)
            }
        };
        // The state already says what happened: a caller arriving now starts no fetch of
        // its own, and the waiters wake to the outcome.
        if let Some(sender) = self.sender.take() {
            sender.send_replace(Some(outcome));
        }
    }

    /// The source's max age (or the default) within the bounds, and never past the
    /// maximum staleness.
    fn max_age(&self, given: Option<Duration>) -> Duration {
        let bounds = &self.config.max_age_bounds;
        given
            .unwrap_or(self.config.default_max_age)
            .max(*bounds.start())
            .min(*bounds.end())
            .min(self.config.max_staleness)
    }
}

impl Drop for Fetch {
    fn drop(&mut self) {
        if self.sender.is_some() {
            lock(&self.state).in_flight = None;
        }
    }
}

/// An error with its sources, for a log line.
struct Chain<'e>(&'e (dyn std::error::Error + 'static));

impl std::fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(error) = source {
            write!(f, ": {error}")?;
            source = error.source();
        }
        Ok(())
    }
}

/// The keys of a remote JWK Set document, and those left out: the size limit first, then
/// private keys shown (the whole set refused), the count limit, and each key bound to its
/// algorithm, unless it is one whose private key was shown before.
fn parse(
    body: &str,
    algorithms: &[Algorithm],
    leaked: &HashSet<String>,
    clock: SharedClock,
) -> Result<(KeySet, Vec<SkippedKey>), JwksError> {
    if body.len() > MAX_JWKS_BYTES {
        return Err(JwksError::TooLarge {
            limit: MAX_JWKS_BYTES,
        });
    }
    let set = JwkSet::parse(body).map_err(JwksError::Refused)?;
    // Checked before anything else refuses the set or leaves a key out (too many keys, an
    // algorithm not pinned): a published private key is news about the provider,
    // whichever key it is.
    let published: Vec<&Jwk> = set
        .keys
        .iter()
        .filter(|jwk| jwk.kty != "oct" && jwk.has_private_members())
        .collect();
    if !published.is_empty() {
        return Err(JwksError::PrivateKeyPublished {
            thumbprints: published
                .into_iter()
                .filter_map(public_thumbprint)
                .collect(),
        });
    }
    if set.keys.len() > MAX_JWKS_KEYS {
        return Err(JwksError::TooManyKeys {
            count: set.keys.len(),
            limit: MAX_JWKS_KEYS,
        });
    }
    let mut skipped = Vec::new();
    let mut bound = Vec::with_capacity(set.keys.len());
    for jwk in set.keys {
        if public_thumbprint(&jwk).is_some_and(|thumbprint| leaked.contains(&thumbprint)) {
            skipped.push(SkippedKey {
                kid: jwk.kid,
                error: KeyError::Jwk("its private key was published: it is never trusted again"),
            });
            continue;
        }
        match bind(&jwk, algorithms) {
            Ok(alg) => bound.push(Jwk {
                alg: alg.map(|alg| algorithm::name(alg).to_owned()).or(jwk.alg),
                ..jwk
            }),
            Err(error) => skipped.push(SkippedKey {
                kid: jwk.kid,
                error,
            }),
        }
    }
    let (keys, refused) =
        KeySet::from_jwk_set(&JwkSet { keys: bound }, clock).map_err(JwksError::Refused)?;
    skipped.extend(refused);
    Ok((keys, skipped))
}

/// The RFC 7638 thumbprint of `jwk`'s public key, its numbers written afresh (an RSA
/// modulus or exponent without leading zero bytes), so that one key has one thumbprint
/// however a document spells it.
fn public_thumbprint(jwk: &Jwk) -> Option<String> {
    let rewritten = |member: &Option<String>| -> Option<Option<String>> {
        let Some(text) = member else {
            return Some(None);
        };
        let bytes = crate::b64::decode(text.as_bytes())?;
        let bytes = match jwk.kty.as_str() {
            "RSA" => {
                let first = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
                &bytes[first..]
            }
            _ => &bytes[..],
        };
        Some(Some(crate::b64::encode(bytes)))
    };
    Jwk {
        kty: jwk.kty.clone(),
        crv: jwk.crv.clone(),
        x: rewritten(&jwk.x)?,
        y: rewritten(&jwk.y)?,
        n: rewritten(&jwk.n)?,
        e: rewritten(&jwk.e)?,
        ..Jwk::default()
    }
    .thumbprint()
    .ok()
}

/// Whether a remote JWK may serve under the pinned `algorithms`, and the algorithm to give
/// it when it has no `alg` of its own (`None`: keep what it says).
fn bind(jwk: &Jwk, algorithms: &[Algorithm]) -> Result<Option<Algorithm>, KeyError> {
    if jwk.kty == "oct" {
        return Err(KeyError::Jwk(
            "a remote JWK Set never supplies HMAC secrets",
        ));
    }
    if algorithms.is_empty() {
        return Ok(None);
    }
    if jwk.alg.is_some() {
        let alg = jwk.algorithm()?;
        return if algorithms.contains(&alg) {
            Ok(None)
        } else {
            Err(KeyError::UnsupportedAlgorithm(format!(
                "{} is not among the pinned algorithms",
                algorithm::name(alg)
            )))
        };
    }
    // The rule of which key type and curve serve which algorithm lives in
    // `Jwk::algorithm`: ask it once per pinned algorithm.
    let mut fitting = algorithms.iter().filter(|alg| {
        let candidate = Jwk {
            alg: Some(algorithm::name(**alg).to_owned()),
            ..jwk.clone()
        };
        candidate.algorithm().is_ok()
    });
    match (fitting.next(), fitting.next()) {
        (Some(alg), None) => Ok(Some(*alg)),
        (None, _) => Err(KeyError::Jwk(
            "the JWK has no alg and fits none of the pinned algorithms",
        )),
        (Some(_), Some(_)) => Err(KeyError::Jwk(
            "the JWK has no alg and fits several pinned algorithms",
        )),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // Test code: a panic is a failed test.

    use auth_core::ManualClock;

    use super::*;
    use crate::SigningKey;

    fn public_jwk(alg: Algorithm) -> Jwk {
        let key = SigningKey::generate(alg).unwrap();
        let mut jwk = key.verifying_key().to_jwk(Some("k")).unwrap();
        jwk.alg = None;
        jwk
    }

    #[test]
    fn a_key_without_alg_takes_the_one_pinned_algorithm_it_fits() {
        let ec = public_jwk(Algorithm::ES256);
        assert_eq!(bind(&ec, &[]).unwrap(), None, "the curve says it");
        assert_eq!(
            bind(&ec, &[Algorithm::RS256, Algorithm::ES256]).unwrap(),
            Some(Algorithm::ES256)
        );
        assert!(bind(&ec, &[Algorithm::RS256]).is_err());
        assert!(bind(&ec, &[Algorithm::ES384]).is_err(), "wrong curve");
        let ed = public_jwk(Algorithm::EdDSA);
        assert_eq!(
            bind(&ed, &[Algorithm::EdDSA, Algorithm::ES256]).unwrap(),
            Some(Algorithm::EdDSA)
        );
    }

    #[test]
    fn a_key_whose_alg_is_not_pinned_is_left_out() {
        let mut ec = public_jwk(Algorithm::ES256);
        ec.alg = Some("ES256".to_owned());
        assert!(bind(&ec, &[Algorithm::ES256]).unwrap().is_none());
        assert!(matches!(
            bind(&ec, &[Algorithm::EdDSA]),
            Err(KeyError::UnsupportedAlgorithm(_))
        ));
    }

    #[test]
    fn one_key_has_one_thumbprint_however_a_document_spells_it() {
        let rsa = SigningKey::from_pem(
            Algorithm::RS256,
            include_str!("../tests/data/rsa2048-private.pem"),
        )
        .unwrap();
        for key in [rsa, SigningKey::generate(Algorithm::ES256).unwrap()] {
            let public = key.verifying_key().to_jwk(Some("k")).unwrap();
            let expected = public.thumbprint().unwrap();
            assert_eq!(public_thumbprint(&public).as_deref(), Some(&*expected));
            let private = key.to_private_jwk(Some("other"));
            assert_eq!(public_thumbprint(&private).as_deref(), Some(&*expected));
            if let Some(n) = &public.n {
                let mut padded = vec![0u8, 0];
                padded.extend(crate::b64::decode(n.as_bytes()).unwrap());
                let spelled = Jwk {
                    n: Some(crate::b64::encode(&padded)),
                    ..public.clone()
                };
                assert_ne!(spelled.thumbprint().unwrap(), expected);
                assert_eq!(public_thumbprint(&spelled).as_deref(), Some(&*expected));
            }
        }
    }

    #[test]
    fn hmac_secrets_are_refused() {
        let key = SigningKey::generate(Algorithm::HS256).unwrap();
        let jwk = key.to_private_jwk(Some("h"));
        assert!(bind(&jwk, &[]).is_err());
        assert!(bind(&jwk, &[Algorithm::HS256]).is_err());
        let clock: SharedClock = Arc::new(ManualClock::starting_now());
        let body = JwkSet { keys: vec![jwk] }.to_json();
        let (keys, skipped) = parse(&body, &[], &HashSet::new(), clock).unwrap();
        assert!(keys.kids().is_empty());
        assert_eq!(skipped.len(), 1);
    }

    #[test]
    fn a_documents_debug_never_prints_its_text() {
        let secret =
            r#"{"keys":[{"kty":"oct","k":"c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA"}]}"#;
        let printed = format!("{:?}", JwksDocument::new(secret));
        assert!(!printed.contains("c2VjcmV0"), "{printed}");
        assert!(printed.contains(&secret.len().to_string()), "{printed}");
    }

    #[test]
    fn max_age_is_held_within_bounds_and_staleness() {
        let clock: SharedClock = Arc::new(ManualClock::starting_now());
        let fetch = |remote: &RemoteJwks| Fetch {
            source: Arc::clone(&remote.source),
            keys: remote.keys.clone(),
            clock: clock.clone(),
            config: remote.config.clone(),
            state: Arc::clone(&remote.state),
            started: clock.now(),
            sender: None,
        };
        struct Never;
        #[async_trait]
        impl JwksSource for Never {
            async fn fetch(&self) -> Result<JwksDocument, BoxError> {
                Err("never".into())
            }
        }
        let remote = RemoteJwks::new(Arc::new(Never), clock.clone());
        let secs = Duration::from_secs;
        let f = fetch(&remote);
        assert_eq!(f.max_age(None), DEFAULT_MAX_AGE);
        assert_eq!(f.max_age(Some(secs(0))), secs(60));
        assert_eq!(f.max_age(Some(secs(600))), secs(600));
        assert_eq!(f.max_age(Some(secs(86_400 * 365))), secs(3600));
        let remote = remote
            .with_max_age_bounds(secs(5)..=secs(100_000))
            .with_max_staleness(secs(7200));
        let f = fetch(&remote);
        assert_eq!(f.max_age(Some(secs(1))), secs(5));
        assert_eq!(f.max_age(Some(secs(50_000))), secs(7200));
        let remote = remote.with_max_age_bounds(secs(100)..=secs(10));
        assert_eq!(fetch(&remote).max_age(Some(secs(50))), secs(10));
    }
}
