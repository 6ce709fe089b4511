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
use auth_core::{AuthError, BoxError};
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

#[tokio::test]
async fn remote_keys_are_cached_and_refetched_with_rate_limits() {
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
    let key_a = SigningKey::generate(Algorithm::ES256).unwrap();
    let key_b = SigningKey::generate(Algorithm::ES256).unwrap();
    let publish = |keys: &[(&str, &SigningKey)]| {
        let set = KeySet::new(shared.clone());
        for (kid, key) in keys {
            set.insert_verifying_key(*kid, key.verifying_key()).unwrap();
        }
        *served.document.lock().unwrap() = Some(set.jwks().to_json());
    };
    let token = |kid: &str, key: &SigningKey| {
        common::forge_with(
            key,
            &common::header(key, kid),
            &common::claims(&clock).replace(r#","aud":"api""#, ""),
        )
    };

    // Nothing served yet: fail closed.
    let error = verifier
        .verify_async::<Map<String, Value>>(&token("a", &key_a))
        .await
        .unwrap_err();
    assert!(matches!(error, AuthError::Unavailable(_)), "{error:?}");

    clock.advance(Duration::from_secs(31));
    publish(&[("a", &key_a)]);
    verifier
        .verify_async::<Map<String, Value>>(&token("a", &key_a))
        .await
        .unwrap();
    let fetched = served.fetches.load(Ordering::SeqCst);
    // Cached: no new fetch.
    verifier
        .verify_async::<Map<String, Value>>(&token("a", &key_a))
        .await
        .unwrap();
    assert_eq!(served.fetches.load(Ordering::SeqCst), fetched);

    // The issuer rotates to b; a token with kid b arrives within the interval: no fetch.
    publish(&[("a", &key_a), ("b", &key_b)]);
    for _ in 0..10 {
        let error = verifier
            .verify_async::<Map<String, Value>>(&token("b", &key_b))
            .await
            .unwrap_err();
        assert_eq!(
            common::reason(&error),
            "invalid: the token's kid names no known key"
        );
    }
    assert_eq!(
        served.fetches.load(Ordering::SeqCst),
        fetched,
        "unknown kids are rate limited"
    );
    // After the interval, one unknown kid triggers one refetch and the token verifies.
    clock.advance(Duration::from_secs(30));
    verifier
        .verify_async::<Map<String, Value>>(&token("b", &key_b))
        .await
        .unwrap();
    assert_eq!(served.fetches.load(Ordering::SeqCst), fetched + 1);

    // When the remote goes away, the keys held keep working past the max age.
    *served.document.lock().unwrap() = None;
    clock.advance(Duration::from_secs(600));
    verifier
        .verify_async::<Map<String, Value>>(&token("b", &key_b))
        .await
        .unwrap();
    // The held set served while its refresh ran; wait for that refresh (it fails).
    let _ = remote.refresh().await;
    assert_eq!(
        remote.fetch_count() as usize,
        served.fetches.load(Ordering::SeqCst)
    );
}

#[tokio::test]
async fn a_new_kid_while_the_provider_fails_is_unavailable_not_invalid() {
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
    let (old, new) = (
        SigningKey::generate(Algorithm::ES256).unwrap(),
        SigningKey::generate(Algorithm::ES256).unwrap(),
    );
    let set = KeySet::new(shared.clone());
    set.insert_verifying_key("old", old.verifying_key())
        .unwrap();
    *served.document.lock().unwrap() = Some(set.jwks().to_json());
    let token = |kid: &str, key: &SigningKey| {
        common::forge_with(
            key,
            &common::header(key, kid),
            &common::claims(&clock).replace(r#","aud":"api""#, ""),
        )
    };
    let verify = |token: String| {
        let verifier = verifier.clone();
        async move { verifier.verify_async::<Map<String, Value>>(&token).await }
    };
    verify(token("old", &old)).await.unwrap();

    // The provider rotates to `new` and fails from then on: a token signed with the new
    // key cannot be judged, so it is 503 (try again), never 401 (a client told its token
    // is bad throws it away). The refetch fails, then the cooldown allows none.
    *served.document.lock().unwrap() = None;
    clock.advance(Duration::from_secs(31));
    for attempt in 0..3 {
        let error = verify(token("new", &new)).await.unwrap_err();
        assert!(
            matches!(error, AuthError::Unavailable(_)),
            "attempt {attempt}: {error:?}"
        );
    }
    // The keys held still serve their tokens.
    verify(token("old", &old)).await.unwrap();

    // Back, with the new key: it verifies after the cooldown. A kid the provider does
    // not know is invalid again once a fetch has succeeded, within the cooldown too.
    set.insert_verifying_key("new", new.verifying_key())
        .unwrap();
    *served.document.lock().unwrap() = Some(set.jwks().to_json());
    clock.advance(Duration::from_secs(31));
    verify(token("new", &new)).await.unwrap();
    let stray = SigningKey::generate(Algorithm::ES256).unwrap();
    for _ in 0..2 {
        let error = verify(token("stray", &stray)).await.unwrap_err();
        assert!(
            matches!(error, AuthError::Invalid(auth_core::Reason::UnknownKid)),
            "{error:?}"
        );
    }
}
