//! A remote JWK Set through a user-supplied fetcher: cached, refreshed when stale,
//! refetched on an unknown kid at most once per minimum interval, failing closed when it
//! never loaded.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failed test.

mod common;

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use auth_core::{AuthError, BoxError, ManualClock, Reason, SharedClock};
use auth_jwt::{Algorithm, JwksDocument, JwksSource, KeySet, RemoteJwks, SigningKey, Verifier};
use serde_json::{Map, Value};

/// Serves whatever document the test sets, counting fetches.
#[derive(Default)]
struct Served {
    document: Mutex<Option<String>>,
    fetches: AtomicUsize,
}

#[async_trait]
impl JwksSource for Served {
    async fn fetch(&self) -> Result<JwksDocument, BoxError> {
        self.fetches.fetch_add(1, Ordering::SeqCst);
        self.document
            .lock()
            .unwrap()
            .clone()
            .map(JwksDocument::new)
            .ok_or_else(|| "connection refused".into())
    }
}

/// A verifier whose keys come from a [`Served`] document, refetched at most every 30 s.
struct Provider {
    clock: Arc<ManualClock>,
    shared: SharedClock,
    served: Arc<Served>,
    remote: Arc<RemoteJwks>,
    verifier: Verifier,
}

impl Provider {
    fn new() -> Self {
        let (clock, shared) = common::clock();
        let served = Arc::new(Served::default());
        let remote = Arc::new(
            RemoteJwks::new(served.clone(), shared.clone())
                .with_refetch_cooldown(Duration::from_secs(30)),
        );
        let verifier = Verifier::builder(KeySet::new(shared.clone()), shared.clone())
            .remote_jwks(remote.clone())
            .build()
            .unwrap();
        Self {
            clock,
            shared,
            served,
            remote,
            verifier,
        }
    }

    /// Serves these public keys from now on (`[]`: fails every fetch).
    fn publish(&self, keys: &[(&str, &SigningKey)]) {
        let document = (!keys.is_empty()).then(|| {
            let set = KeySet::new(self.shared.clone());
            for (kid, key) in keys {
                set.insert_verifying_key(*kid, key.verifying_key()).unwrap();
            }
            set.jwks().to_json()
        });
        *self.served.document.lock().unwrap() = document;
    }

    fn fetches(&self) -> usize {
        self.served.fetches.load(Ordering::SeqCst)
    }

    async fn verify(&self, kid: &str, key: &SigningKey) -> Result<(), AuthError> {
        let token = common::forge_with(
            key,
            &common::header(key, kid),
            &common::claims(&self.clock).replace(r#","aud":"api""#, ""),
        );
        self.verifier
            .verify_async::<Map<String, Value>>(&token)
            .await
            .map(drop)
    }
}

fn es256() -> SigningKey {
    SigningKey::generate(Algorithm::ES256).unwrap()
}

#[tokio::test]
async fn remote_keys_are_cached_and_refetched_with_rate_limits() {
    let p = Provider::new();
    let (key_a, key_b) = (es256(), es256());

    // Nothing served yet: fail closed.
    let error = p.verify("a", &key_a).await.unwrap_err();
    assert!(matches!(error, AuthError::Unavailable(_)), "{error:?}");

    p.clock.advance(Duration::from_secs(31));
    p.publish(&[("a", &key_a)]);
    p.verify("a", &key_a).await.unwrap();
    let fetched = p.fetches();
    // Cached: no new fetch.
    p.verify("a", &key_a).await.unwrap();
    assert_eq!(p.fetches(), fetched);

    // The issuer rotates to b; a token with kid b arrives within the interval: no fetch.
    p.publish(&[("a", &key_a), ("b", &key_b)]);
    for _ in 0..10 {
        let error = p.verify("b", &key_b).await.unwrap_err();
        assert_eq!(
            common::reason(&error),
            "invalid: the token's kid names no known key"
        );
    }
    assert_eq!(p.fetches(), fetched, "unknown kids are rate limited");
    // After the interval, one unknown kid triggers one refetch and the token verifies.
    p.clock.advance(Duration::from_secs(30));
    p.verify("b", &key_b).await.unwrap();
    assert_eq!(p.fetches(), fetched + 1);

    // When the remote goes away, the keys held keep working past the max age.
    p.publish(&[]);
    p.clock.advance(Duration::from_secs(600));
    p.verify("b", &key_b).await.unwrap();
    // The held set served while its refresh ran; wait for that refresh (it fails).
    let _ = p.remote.refresh().await;
    assert_eq!(p.remote.fetch_count() as usize, p.fetches());
}

#[tokio::test]
async fn a_new_kid_while_the_provider_fails_is_unavailable_not_invalid() {
    let p = Provider::new();
    let (old, new) = (es256(), es256());
    p.publish(&[("old", &old)]);
    p.verify("old", &old).await.unwrap();

    // The provider rotates to `new` and fails from then on: a token signed with the new
    // key cannot be judged, so it is 503 (try again), never 401 (a client told its token
    // is bad throws it away). The refetch fails, then the cooldown allows none.
    p.publish(&[]);
    p.clock.advance(Duration::from_secs(31));
    for attempt in 0..3 {
        let error = p.verify("new", &new).await.unwrap_err();
        assert!(
            matches!(error, AuthError::Unavailable(_)),
            "attempt {attempt}: {error:?}"
        );
    }
    // The keys held still serve their tokens.
    p.verify("old", &old).await.unwrap();

    // Back, with the new key: it verifies after the cooldown. A kid the provider does
    // not know is invalid again once a fetch has succeeded, within the cooldown too.
    p.publish(&[("old", &old), ("new", &new)]);
    p.clock.advance(Duration::from_secs(31));
    p.verify("new", &new).await.unwrap();
    for _ in 0..2 {
        let error = p.verify("stray", &es256()).await.unwrap_err();
        assert!(
            matches!(error, AuthError::Invalid(Reason::UnknownKid)),
            "{error:?}"
        );
    }
}
