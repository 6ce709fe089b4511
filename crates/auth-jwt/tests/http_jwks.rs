//! Keys over HTTP against a local OpenID provider on loopback: discovery, `Cache-Control`,
//! rotation, unknown-`kid` floods, cold-start bursts, size limits, alg-less keys, maximum
//! staleness, and several issuers in one verifier. Time moves on a `ManualClock`.
#![cfg(feature = "http")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failed test.

mod common;
mod provider;

use std::sync::Arc;
use std::time::Duration;

use auth_core::{AuthError, AuthMethod, ManualClock, Reason, SharedClock};
use auth_jwt::{
    Algorithm, HttpJwksSource, JwkSet, JwksError, KeySet, MAX_JWKS_KEYS, RemoteJwks, SigningKey,
    Verifier,
};
use provider::Provider;
use serde_json::{Map, Value};

const AUDIENCE: &str = "api";

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// A token of `iss` for `alice`, valid for 10 minutes from the clock's now.
fn token(clock: &ManualClock, iss: &str, kid: &str, key: &SigningKey) -> String {
    let now = common::now_secs(clock);
    let claims = format!(
        r#"{{"iss":"{iss}","sub":"alice","aud":"{AUDIENCE}","iat":{now},"exp":{}}}"#,
        now + 600
    );
    common::forge_with(key, &common::header(key, kid), &claims)
}

/// A remote set found by discovery from `provider`'s URL.
fn discovered(provider: &Provider, clock: &SharedClock) -> RemoteJwks {
    RemoteJwks::new(
        Arc::new(HttpJwksSource::discover(&provider.url).unwrap()),
        clock.clone(),
    )
}

/// A verifier of `remote`'s issuer for audience `api`, remembering no token (so every
/// call goes to the keys).
fn verifier_of(remote: RemoteJwks, clock: &SharedClock) -> Verifier {
    Verifier::builder(KeySet::new(clock.clone()), clock.clone())
        .remote_jwks(remote)
        .audience(AUDIENCE)
        .verified_cache(0)
        .build()
        .unwrap()
}

/// Whether `error`'s source chain holds a [`JwksError`] that `matches`.
fn caused_by(error: &AuthError, matches: impl Fn(&JwksError) -> bool) -> bool {
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(error) = next {
        let jwks = error
            .downcast_ref::<JwksError>()
            .or_else(|| error.downcast_ref::<Arc<JwksError>>().map(|a| &**a));
        if jwks.is_some_and(&matches) {
            return true;
        }
        next = error.source();
    }
    false
}

/// Waits for the refresh the last request started in the background (a stale set serves
/// while it runs): a token naming an unknown `kid` joins the fetch in flight, and the
/// cooldown, counted from that fetch's start, allows no other. Call it only right after
/// the request that started a refresh, before the clock moves.
async fn settle(verifier: &Verifier, clock: &ManualClock, iss: &str, key: &SigningKey) {
    let error = verifier
        .authenticate(&token(clock, iss, "settle", key))
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            AuthError::Invalid(Reason::UnknownKid) | AuthError::Unavailable(_)
        ),
        "{error:?}"
    );
}

fn is_unavailable(error: &AuthError) -> bool {
    matches!(error, AuthError::Unavailable(_))
}

#[tokio::test]
async fn keys_are_found_by_discovery_and_rotation_is_picked_up() {
    let (clock, shared) = common::clock();
    let provider = Provider::start().await;
    let a = SigningKey::generate(Algorithm::ES256).unwrap();
    let b = SigningKey::generate(Algorithm::ES256).unwrap();
    let c = SigningKey::generate(Algorithm::ES256).unwrap();
    provider.publish(&[("a", &a)], Some("public, max-age=120"));
    let verifier = verifier_of(discovered(&provider, &shared), &shared);

    let who = verifier
        .authenticate(&token(&clock, &provider.url, "a", &a))
        .await
        .unwrap();
    assert_eq!(who.subject, "alice");
    assert!(matches!(
        &who.method,
        AuthMethod::Jwt { issuer: Some(issuer), kid: Some(kid), .. }
            if *issuer == provider.url && kid == "a"
    ));
    assert_eq!((provider.discovery_hits(), provider.jwks_hits()), (1, 1));

    // Within the max age the set is not fetched again.
    clock.advance(secs(60));
    verifier
        .authenticate(&token(&clock, &provider.url, "a", &a))
        .await
        .unwrap();
    assert_eq!(provider.jwks_hits(), 1);

    // The provider rotates to b: the first token naming b refetches at once.
    provider.publish(&[("b", &b)], Some("public, max-age=120"));
    verifier
        .authenticate(&token(&clock, &provider.url, "b", &b))
        .await
        .unwrap();
    assert_eq!(provider.jwks_hits(), 2);
    let gone = verifier
        .authenticate(&token(&clock, &provider.url, "a", &a))
        .await
        .unwrap_err();
    assert!(
        matches!(gone, AuthError::Invalid(Reason::UnknownKid)),
        "{gone:?}"
    );
    assert_eq!(provider.jwks_hits(), 2, "within the cooldown");

    // The provider drops b for c; b still verifies until the max age runs out.
    provider.publish(&[("c", &c)], Some("public, max-age=120"));
    clock.advance(secs(119));
    verifier
        .authenticate(&token(&clock, &provider.url, "b", &b))
        .await
        .unwrap();
    assert_eq!(provider.jwks_hits(), 2);
    // At the max age, the set held serves the request that starts its refresh...
    clock.advance(secs(1));
    verifier
        .authenticate(&token(&clock, &provider.url, "b", &b))
        .await
        .unwrap();
    settle(&verifier, &clock, &provider.url, &b).await;
    assert_eq!(provider.jwks_hits(), 3, "one refresh, no extra refetch");
    // ...and once it is done, b is gone.
    let removed = verifier
        .authenticate(&token(&clock, &provider.url, "b", &b))
        .await
        .unwrap_err();
    assert!(matches!(removed, AuthError::Invalid(Reason::UnknownKid)));
    assert_eq!(provider.jwks_hits(), 3);
    verifier
        .authenticate(&token(&clock, &provider.url, "c", &c))
        .await
        .unwrap();
    // Discovery is read again at each fetch.
    assert_eq!(provider.discovery_hits(), 3);
}

#[tokio::test]
async fn cache_control_is_held_within_the_bounds() {
    let (clock, shared) = common::clock();
    let provider = Provider::start().await;
    let a = SigningKey::generate(Algorithm::EdDSA).unwrap();
    // max-age=1 counts as the lower bound (default 60 s), a year as the upper (1 h).
    provider.publish(&[("a", &a)], Some("max-age=1"));
    let verifier = verifier_of(discovered(&provider, &shared), &shared);
    let check = || {
        let token = token(&clock, &provider.url, "a", &a);
        let verifier = verifier.clone();
        async move { verifier.authenticate(&token).await.unwrap() }
    };
    let refreshed = || async {
        check().await;
        settle(&verifier, &clock, &provider.url, &a).await;
    };
    check().await;
    clock.advance(secs(59));
    check().await;
    assert_eq!(provider.jwks_hits(), 1);
    provider.publish(&[("a", &a)], Some("max-age=31536000"));
    clock.advance(secs(1));
    refreshed().await;
    assert_eq!(provider.jwks_hits(), 2);
    clock.advance(secs(3599));
    check().await;
    assert_eq!(provider.jwks_hits(), 2);
    clock.advance(secs(1));
    refreshed().await;
    assert_eq!(provider.jwks_hits(), 3);

    // Without Cache-Control: the default max age, 5 minutes.
    provider.publish(&[("a", &a)], None);
    clock.advance(secs(3600));
    refreshed().await;
    assert_eq!(provider.jwks_hits(), 4);
    clock.advance(secs(299));
    check().await;
    assert_eq!(provider.jwks_hits(), 4);
    clock.advance(secs(1));
    refreshed().await;
    assert_eq!(provider.jwks_hits(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_unknown_kids_fetches_at_most_once_per_cooldown() {
    let (clock, shared) = common::clock();
    let provider = Provider::start().await;
    let a = SigningKey::generate(Algorithm::ES256).unwrap();
    provider.publish(&[("a", &a)], Some("max-age=3600"));
    let verifier = verifier_of(discovered(&provider, &shared), &shared);
    verifier
        .authenticate(&token(&clock, &provider.url, "a", &a))
        .await
        .unwrap();
    assert_eq!(provider.jwks_hits(), 1);

    let flood = |round: usize| {
        let tasks: Vec<_> = (0..100)
            .map(|i| {
                let verifier = verifier.clone();
                let forged = token(&clock, &provider.url, &format!("made-up-{round}-{i}"), &a);
                tokio::spawn(async move { verifier.authenticate(&forged).await })
            })
            .collect();
        async move {
            for task in tasks {
                let error = task.await.unwrap().unwrap_err();
                assert!(
                    matches!(error, AuthError::Invalid(Reason::UnknownKid)),
                    "{error:?}"
                );
            }
        }
    };
    // Within 10 s of the last fetch: none.
    clock.advance(secs(9));
    flood(0).await;
    assert_eq!(provider.jwks_hits(), 1);
    // The cooldown has passed: one fetch for the whole flood.
    clock.advance(secs(1));
    flood(1).await;
    assert_eq!(provider.jwks_hits(), 2);
    clock.advance(secs(5));
    flood(2).await;
    assert_eq!(provider.jwks_hits(), 2);
    clock.advance(secs(5));
    flood(3).await;
    assert_eq!(provider.jwks_hits(), 3);
    // Real tokens kept verifying from the cache throughout.
    verifier
        .authenticate(&token(&clock, &provider.url, "a", &a))
        .await
        .unwrap();
    assert_eq!(provider.jwks_hits(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_first_requests_wait_on_one_fetch() {
    let (clock, shared) = common::clock();
    let provider = Provider::start().await;
    let a = SigningKey::generate(Algorithm::ES256).unwrap();
    provider.publish(&[("a", &a)], None);
    let verifier = verifier_of(discovered(&provider, &shared), &shared);
    let burst = |n: usize| {
        (0..n)
            .map(|_| {
                let verifier = verifier.clone();
                let token = token(&clock, &provider.url, "a", &a);
                tokio::spawn(async move { verifier.authenticate(&token).await })
            })
            .collect::<Vec<_>>()
    };

    // The provider holds its answer until all 32 requests are waiting.
    provider.close();
    let tasks = burst(32);
    while provider.jwks_hits() == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    provider.open();
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap().subject, "alice");
    }
    assert_eq!((provider.discovery_hits(), provider.jwks_hits()), (1, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_first_fetch_answers_unavailable_to_every_waiter_then_is_retried() {
    let (clock, shared) = common::clock();
    let provider = Provider::start().await;
    let a = SigningKey::generate(Algorithm::ES256).unwrap();
    provider.publish(&[("a", &a)], None);
    provider.fail_with(503);
    let verifier = verifier_of(discovered(&provider, &shared), &shared);
    provider.close();
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let verifier = verifier.clone();
            let token = token(&clock, &provider.url, "a", &a);
            tokio::spawn(async move { verifier.authenticate(&token).await })
        })
        .collect();
    while provider.jwks_hits() == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    provider.open();
    for task in tasks {
        let error = task.await.unwrap().unwrap_err();
        assert!(is_unavailable(&error), "{error:?}");
        assert!(
            caused_by(&error, |e| matches!(e, JwksError::Status(503))),
            "{error:?}"
        );
    }
    assert_eq!(provider.jwks_hits(), 1);

    // Within the cooldown: 503 at once, no request.
    let again = verifier
        .authenticate(&token(&clock, &provider.url, "a", &a))
        .await
        .unwrap_err();
    assert!(caused_by(&again, |e| matches!(
        e,
        JwksError::NotFetched(Some(_))
    )));
    assert_eq!(provider.jwks_hits(), 1);

    // The provider recovers; after the cooldown the next request fetches (discovering
    // again, since the last fetch failed).
    provider.fail_with(200);
    clock.advance(secs(10));
    verifier
        .authenticate(&token(&clock, &provider.url, "a", &a))
        .await
        .unwrap();
    assert_eq!((provider.discovery_hits(), provider.jwks_hits()), (2, 2));
}

#[tokio::test]
async fn a_key_without_alg_serves_when_the_pinned_algorithms_leave_one_choice() {
    let (clock, shared) = common::clock();
    let provider = Provider::start().await;
    let pem = common::data("rsa2048-private.pem");
    let rs256 = SigningKey::from_pem(Algorithm::RS256, &pem).unwrap();
    let ps256 = SigningKey::from_pem(Algorithm::PS256, &pem).unwrap();
    let mut jwk = rs256.verifying_key().to_jwk(Some("r")).unwrap();
    jwk.alg = None;
    provider.serve(JwkSet { keys: vec![jwk] }.to_json(), None);

    let pinned = |algorithms: &[Algorithm]| {
        verifier_of(
            discovered(&provider, &shared).with_algorithms(algorithms.iter().copied()),
            &shared,
        )
    };
    // RS256 and ES256 pinned: an RSA key fits only RS256.
    let verifier = pinned(&[Algorithm::RS256, Algorithm::ES256]);
    verifier
        .authenticate(&token(&clock, &provider.url, "r", &rs256))
        .await
        .unwrap();
    let error = verifier
        .authenticate(&token(&clock, &provider.url, "r", &ps256))
        .await
        .unwrap_err();
    assert!(
        matches!(error, AuthError::Invalid(Reason::AlgNotKeys)),
        "{error:?}"
    );

    // The same pins, one repeated apart from the other: still one choice.
    let verifier = pinned(&[Algorithm::RS256, Algorithm::ES256, Algorithm::RS256]);
    verifier
        .authenticate(&token(&clock, &provider.url, "r", &rs256))
        .await
        .unwrap();

    // RS256 and PS256 pinned: the key fits both, so it serves neither.
    let verifier = pinned(&[Algorithm::RS256, Algorithm::PS256]);
    for signer in [&rs256, &ps256] {
        let error = verifier
            .authenticate(&token(&clock, &provider.url, "r", signer))
            .await
            .unwrap_err();
        assert!(
            matches!(error, AuthError::Invalid(Reason::UnknownKid)),
            "{error:?}"
        );
    }

    // Nothing pinned: an RSA key must say its alg.
    let verifier = pinned(&[]);
    let error = verifier
        .authenticate(&token(&clock, &provider.url, "r", &rs256))
        .await
        .unwrap_err();
    assert!(
        matches!(error, AuthError::Invalid(Reason::UnknownKid)),
        "{error:?}"
    );

    // A key whose alg is not pinned is left out.
    let e = SigningKey::generate(Algorithm::ES256).unwrap();
    provider.publish(&[("e", &e)], None);
    let verifier = pinned(&[Algorithm::RS256]);
    let error = verifier
        .authenticate(&token(&clock, &provider.url, "e", &e))
        .await
        .unwrap_err();
    assert!(
        matches!(error, AuthError::Invalid(Reason::UnknownKid)),
        "{error:?}"
    );
}

/// Where the keys were, a catch-all page answers 200 (the provider moved its `jwks_uri`):
/// that fetch fails and the set held serves on; the next fetch asks discovery again.
#[tokio::test]
async fn a_page_that_is_no_jwk_set_fails_the_fetch_and_discovery_is_asked_again() {
    let (clock, shared) = common::clock();
    let provider = Provider::start().await;
    let a = SigningKey::generate(Algorithm::ES256).unwrap();
    provider.publish(&[("a", &a)], Some("max-age=60"));
    let verifier = verifier_of(discovered(&provider, &shared), &shared);
    verifier
        .authenticate(&token(&clock, &provider.url, "a", &a))
        .await
        .unwrap();
    assert_eq!((provider.discovery_hits(), provider.jwks_hits()), (1, 1));

    provider.serve("<html>moved</html>", None);
    clock.advance(secs(61));
    // The held set serves while its refresh runs, and fails.
    verifier
        .authenticate(&token(&clock, &provider.url, "a", &a))
        .await
        .unwrap();
    settle(&verifier, &clock, &provider.url, &a).await;
    assert_eq!((provider.discovery_hits(), provider.jwks_hits()), (2, 2));

    provider.publish(&[("a", &a)], Some("max-age=60"));
    clock.advance(secs(61));
    verifier
        .authenticate(&token(&clock, &provider.url, "a", &a))
        .await
        .unwrap();
    settle(&verifier, &clock, &provider.url, &a).await;
    assert_eq!((provider.discovery_hits(), provider.jwks_hits()), (3, 3));
}

/// A `jwks_uri` someone planted in the discovery document for a while (a host that mirrors
/// the real keys and adds its own) is trusted only until the next refresh after the
/// provider is fixed, not for as long as that host keeps answering.
#[tokio::test]
async fn a_planted_jwks_uri_is_dropped_at_the_first_refresh_after_the_fix() {
    let (clock, shared) = common::clock();
    let provider = Provider::start().await;
    let planted = Provider::start().await;
    let real = SigningKey::generate(Algorithm::ES256).unwrap();
    let forged = SigningKey::generate(Algorithm::ES256).unwrap();
    provider.publish(&[("real", &real)], Some("max-age=60"));
    planted.publish(&[("real", &real), ("forged", &forged)], Some("max-age=60"));
    provider.name_jwks_uri(Some(&format!("{}/jwks", planted.url)));
    let remote = Arc::new(discovered(&provider, &shared));
    let verifier = Verifier::builder(KeySet::new(shared.clone()), shared.clone())
        .remote_jwks(remote.clone())
        .audience(AUDIENCE)
        .verified_cache(0)
        .build()
        .unwrap();
    verifier
        .authenticate(&token(&clock, &provider.url, "forged", &forged))
        .await
        .unwrap();

    provider.name_jwks_uri(None);
    clock.advance(secs(61));
    assert!(remote.refresh().await.unwrap());
    let refused = verifier
        .authenticate(&token(&clock, &provider.url, "forged", &forged))
        .await
        .unwrap_err();
    assert!(
        matches!(refused, AuthError::Invalid(Reason::UnknownKid)),
        "{refused:?}"
    );
    verifier
        .authenticate(&token(&clock, &provider.url, "real", &real))
        .await
        .unwrap();
    assert_eq!((planted.jwks_hits(), provider.jwks_hits()), (1, 1));
}

#[tokio::test]
async fn symmetric_keys_are_refused_from_a_remote_set() {
    let (clock, shared) = common::clock();
    let provider = Provider::start().await;
    let hmac = SigningKey::generate(Algorithm::HS256).unwrap();
    let ec = SigningKey::generate(Algorithm::ES256).unwrap();
    let mut set = provider::jwks_of(&[("e", &ec)]);
    set.keys.push(hmac.to_private_jwk(Some("h")));
    provider.serve(set.to_json(), None);
    let verifier = verifier_of(discovered(&provider, &shared), &shared);
    let error = verifier
        .authenticate(&token(&clock, &provider.url, "h", &hmac))
        .await
        .unwrap_err();
    assert!(
        matches!(error, AuthError::Invalid(Reason::UnknownKid)),
        "{error:?}"
    );
    verifier
        .authenticate(&token(&clock, &provider.url, "e", &ec))
        .await
        .unwrap();
    assert_eq!(verifier.keys().kids(), vec!["e".to_owned()]);
}

#[tokio::test]
async fn oversized_documents_and_too_many_keys_are_refused() {
    let (clock, shared) = common::clock();
    let provider = Provider::start().await;
    let a = SigningKey::generate(Algorithm::ES256).unwrap();

    // Over 256 KiB, with a Content-Length.
    let mut set = provider::jwks_of(&[("a", &a)]).to_json();
    set.insert_str(1, &format!(r#""pad":"{}","#, "a".repeat(256 * 1024)));
    provider.serve(set, None);
    let verifier = verifier_of(discovered(&provider, &shared), &shared);
    let error = verifier
        .authenticate(&token(&clock, &provider.url, "a", &a))
        .await
        .unwrap_err();
    assert!(is_unavailable(&error));
    assert!(
        caused_by(&error, |e| matches!(e, JwksError::TooLarge { .. })),
        "{error:?}"
    );

    // Over 256 KiB without a Content-Length: refused while reading.
    let endless = provider::endless_body(1024 * 1024).await;
    let source = HttpJwksSource::new(&format!("http://{endless}/jwks")).unwrap();
    let verifier = verifier_of(RemoteJwks::new(Arc::new(source), shared.clone()), &shared);
    let error = verifier
        .authenticate(&token(&clock, &provider.url, "a", &a))
        .await
        .unwrap_err();
    assert!(
        caused_by(&error, |e| matches!(e, JwksError::TooLarge { .. })),
        "{error:?}"
    );

    // 101 keys.
    let keys: Vec<(String, SigningKey)> = (0..=MAX_JWKS_KEYS)
        .map(|i| {
            (
                format!("k{i}"),
                SigningKey::generate(Algorithm::EdDSA).unwrap(),
            )
        })
        .collect();
    let refs: Vec<(&str, &SigningKey)> = keys.iter().map(|(k, v)| (k.as_str(), v)).collect();
    provider.publish(&refs, None);
    let verifier = verifier_of(discovered(&provider, &shared), &shared);
    let error = verifier
        .authenticate(&token(&clock, &provider.url, "k0", &keys[0].1))
        .await
        .unwrap_err();
    assert!(
        caused_by(&error, |e| matches!(
            e,
            JwksError::TooManyKeys {
                count: 101,
                limit: 100
            }
        )),
        "{error:?}"
    );
    // 100 keys are fine.
    provider.publish(&refs[..MAX_JWKS_KEYS], None);
    let verifier = verifier_of(discovered(&provider, &shared), &shared);
    verifier
        .authenticate(&token(&clock, &provider.url, "k0", &keys[0].1))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_set_older_than_the_max_staleness_fails_closed() {
    let (clock, shared) = common::clock();
    let provider = Provider::start().await;
    let a = SigningKey::generate(Algorithm::ES256).unwrap();
    provider.publish(&[("a", &a)], Some("max-age=600"));
    let remote = discovered(&provider, &shared).with_max_staleness(secs(3600));
    let verifier = verifier_of(remote, &shared);
    let check = || {
        let token = token(&clock, &provider.url, "a", &a);
        let verifier = verifier.clone();
        async move { verifier.authenticate(&token).await }
    };
    check().await.unwrap();

    // The provider fails: past the max age the set held still serves, and every refresh
    // (one per cooldown) fails...
    provider.fail_with(500);
    clock.advance(secs(1800));
    check().await.unwrap();
    settle(&verifier, &clock, &provider.url, &a).await;
    assert_eq!(provider.jwks_hits(), 2);
    clock.advance(secs(1799));
    check().await.unwrap();
    settle(&verifier, &clock, &provider.url, &a).await;
    assert_eq!(provider.jwks_hits(), 3);
    // ...until the set is an hour old: then 503.
    clock.advance(secs(1));
    let error = check().await.unwrap_err();
    assert!(is_unavailable(&error), "{error:?}");
    assert!(
        caused_by(&error, |e| matches!(
            e,
            JwksError::Stale {
                max_staleness_secs: 3600,
                last_error: Some(_)
            }
        )),
        "{error:?}"
    );
    // Within the cooldown no request is made; the answer stays 503.
    assert!(is_unavailable(&check().await.unwrap_err()));
    assert_eq!(provider.jwks_hits(), 3);

    // The provider recovers: after the cooldown the next request waits for a fetch, and
    // the set is trusted again.
    provider.fail_with(200);
    clock.advance(secs(10));
    check().await.unwrap();
    assert_eq!(provider.jwks_hits(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_set_serves_while_its_refresh_hangs() {
    let (clock, shared) = common::clock();
    let provider = Provider::start().await;
    let a = SigningKey::generate(Algorithm::ES256).unwrap();
    provider.publish(&[("a", &a)], Some("max-age=60"));
    let verifier = verifier_of(discovered(&provider, &shared), &shared);
    verifier
        .authenticate(&token(&clock, &provider.url, "a", &a))
        .await
        .unwrap();
    // The provider stops answering; past the max age requests are served at once from
    // the set held while the refresh waits for it.
    provider.close();
    clock.advance(secs(61));
    for _ in 0..20 {
        let served = tokio::time::timeout(
            Duration::from_secs(2),
            verifier.authenticate(&token(&clock, &provider.url, "a", &a)),
        )
        .await
        .expect("a request waited for the refresh");
        assert_eq!(served.unwrap().subject, "alice");
    }
    while provider.jwks_hits() < 2 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    provider.open();
    settle(&verifier, &clock, &provider.url, &a).await;
    assert_eq!(provider.jwks_hits(), 2, "one refresh");
}

#[tokio::test]
async fn discovery_naming_another_issuer_is_refused() {
    let (clock, shared) = common::clock();
    let provider = Provider::start().await;
    let a = SigningKey::generate(Algorithm::ES256).unwrap();
    provider.publish(&[("a", &a)], None);
    provider.claim_issuer(&format!("{}/", provider.url));
    let verifier = verifier_of(discovered(&provider, &shared), &shared);
    let error = verifier
        .authenticate(&token(&clock, &provider.url, "a", &a))
        .await
        .unwrap_err();
    assert!(is_unavailable(&error), "{error:?}");
    assert!(
        caused_by(&error, |e| matches!(e, JwksError::IssuerMismatch { .. })),
        "{error:?}"
    );
    assert_eq!((provider.discovery_hits(), provider.jwks_hits()), (1, 0));
}

/// A published private key proves nothing: the moment a fetched set shows one, every key
/// of that issuer is dropped (also when its algorithm is not pinned, or the set is over
/// the key limit), its tokens fail closed until the provider serves a set without private
/// keys, and the keys shown are never trusted again, even once the set shows only their
/// public part.
#[tokio::test]
async fn a_published_private_key_drops_every_key_of_its_issuer_at_once() {
    let (clock, shared) = common::clock();
    let provider = Provider::start().await;
    let a = SigningKey::generate(Algorithm::ES256).unwrap();
    let b = SigningKey::generate(Algorithm::ES256).unwrap();
    let c = SigningKey::generate(Algorithm::ES256).unwrap();
    let unpinned = SigningKey::generate(Algorithm::ES384).unwrap();
    let remote = Arc::new(discovered(&provider, &shared).with_algorithms([Algorithm::ES256]));
    let verifier = Verifier::builder(KeySet::new(shared.clone()), shared.clone())
        .remote_jwks(remote.clone())
        .audience(AUDIENCE)
        .build()
        .unwrap();
    macro_rules! check {
        ($kid:expr, $key:expr) => {
            verifier.authenticate(&token(&clock, &provider.url, $kid, $key))
        };
    }
    let with_private = |public: &[(&str, &SigningKey)], leaked: (&str, &SigningKey)| {
        let mut set = provider::jwks_of(public);
        set.keys.push(leaked.1.to_private_jwk(Some(leaked.0)));
        set.to_json()
    };
    let many_with_private = || {
        let mut set = provider::jwks_of(&[("b", &b)]);
        let filler = b.verifying_key().to_jwk(None).unwrap();
        set.keys.extend((0..120).map(|i| {
            let mut jwk = filler.clone();
            jwk.kid = Some(format!("filler-{i}"));
            jwk
        }));
        set.keys.push(c.to_private_jwk(Some("c")));
        set.to_json()
    };

    provider.publish(&[("a", &a), ("b", &b)], Some("max-age=60"));
    check!("a", &a).await.unwrap();
    for leaking in [
        with_private(&[("b", &b)], ("a", &a)),
        with_private(&[("b", &b)], ("u", &unpinned)),
        many_with_private(),
    ] {
        provider.serve(leaking, Some("max-age=60"));
        clock.advance(secs(61));
        let error = remote.refresh().await.unwrap_err();
        assert!(
            caused_by(&error, |e| matches!(
                e,
                JwksError::PrivateKeyPublished { .. }
            )),
            "{error:?}"
        );
        let error = check!("b", &b).await.unwrap_err();
        assert!(is_unavailable(&error), "{error:?}");

        // The provider takes the private members away again, and keeps every key.
        provider.publish(&[("a", &a), ("b", &b), ("c", &c)], Some("max-age=60"));
        clock.advance(secs(61));
        assert!(remote.refresh().await.unwrap());
        check!("b", &b).await.unwrap();
    }
    for (kid, key) in [("a", &a), ("c", &c)] {
        let refused = check!(kid, key).await.unwrap_err();
        assert!(
            matches!(refused, AuthError::Invalid(Reason::UnknownKid)),
            "{kid} is trusted again: {refused:?}"
        );
    }
}

/// What a hostile document names (an issuer, a `kid`) reaches errors and events cut short,
/// not whole.
#[tokio::test(flavor = "current_thread")]
async fn a_documents_long_names_reach_errors_and_events_cut_short() {
    let (clock, shared) = common::clock();
    let provider = Provider::start().await;
    let a = SigningKey::generate(Algorithm::ES256).unwrap();
    let mut set = provider::jwks_of(&[("a", &a)]);
    let mut long_kid = a.verifying_key().to_jwk(Some("long")).unwrap();
    long_kid.kid = Some("k".repeat(100_000));
    set.keys.push(long_kid);
    provider.serve(set.to_json(), None);
    let logged = common::Captured::default();
    let _events = tracing::subscriber::set_default(logged.subscriber());
    let verifier = verifier_of(discovered(&provider, &shared), &shared);
    verifier
        .authenticate(&token(&clock, &provider.url, "a", &a))
        .await
        .unwrap();
    let events = logged.text();
    let skipped = events
        .lines()
        .find(|line| line.contains("jwks.key_skipped"))
        .expect("the long kid is left out");
    assert!(
        skipped.len() < 1_000,
        "{} bytes: {skipped:.200}",
        skipped.len()
    );

    let other = Provider::start().await;
    other.claim_issuer(&"i".repeat(100_000));
    let error = verifier_of(discovered(&other, &shared), &shared)
        .authenticate(&token(&clock, &other.url, "a", &a))
        .await
        .unwrap_err();
    let mut chain = String::new();
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(&error);
    while let Some(error) = next {
        chain.push_str(&error.to_string());
        next = error.source();
    }
    assert!(chain.contains("names the issuer"), "{chain}");
    assert!(chain.len() < 1_000, "{} bytes of error", chain.len());
}

#[tokio::test]
async fn two_issuers_in_one_verifier_each_check_their_own_tokens() {
    let (clock, shared) = common::clock();
    let staff = Provider::start().await;
    let partners = Provider::start().await;
    let staff_key = SigningKey::generate(Algorithm::ES256).unwrap();
    let partner_key = SigningKey::generate(Algorithm::EdDSA).unwrap();
    staff.publish(&[("s", &staff_key)], None);
    partners.publish(&[("p", &partner_key)], None);
    let verifier = Verifier::builder(KeySet::new(shared.clone()), shared.clone())
        .remote_issuer(&staff.url, discovered(&staff, &shared))
        .remote_issuer(&partners.url, discovered(&partners, &shared))
        .audience(AUDIENCE)
        .build()
        .unwrap();
    let issuer_of = |who: &auth_core::Identity| match &who.method {
        AuthMethod::Jwt { issuer, .. } => issuer.clone(),
        other => panic!("{other:?}"),
    };

    // A token naming no trusted issuer is refused before any request.
    for iss in ["https://elsewhere.example", ""] {
        let error = verifier
            .authenticate(&token(&clock, iss, "s", &staff_key))
            .await
            .unwrap_err();
        assert!(
            matches!(error, AuthError::Invalid(Reason::WrongIssuer)),
            "{error:?}"
        );
    }
    let no_iss = common::forge_with(
        &staff_key,
        &common::header(&staff_key, "s"),
        r#"{"sub":"alice","exp":9999999999}"#,
    );
    assert!(matches!(
        verifier.authenticate(&no_iss).await.unwrap_err(),
        AuthError::Invalid(Reason::MissingClaim(auth_core::Claim::Iss))
    ));
    assert_eq!(staff.jwks_hits() + partners.jwks_hits(), 0);
    assert_eq!(staff.discovery_hits() + partners.discovery_hits(), 0);

    // Each issuer's tokens verify with its keys, and the identity says who vouched.
    let who = verifier
        .authenticate(&token(&clock, &staff.url, "s", &staff_key))
        .await
        .unwrap();
    assert_eq!(issuer_of(&who).as_deref(), Some(staff.url.as_str()));
    assert_eq!((staff.jwks_hits(), partners.jwks_hits()), (1, 0));
    let who = verifier
        .authenticate(&token(&clock, &partners.url, "p", &partner_key))
        .await
        .unwrap();
    assert_eq!(issuer_of(&who).as_deref(), Some(partners.url.as_str()));
    assert_eq!((staff.jwks_hits(), partners.jwks_hits()), (1, 1));

    // A partner's key never vouches for a staff token, nor the other way round.
    let crossed = verifier
        .authenticate(&token(&clock, &staff.url, "p", &partner_key))
        .await
        .unwrap_err();
    assert!(
        matches!(crossed, AuthError::Invalid(Reason::UnknownKid)),
        "{crossed:?}"
    );
    let crossed = verifier
        .authenticate(&token(&clock, &partners.url, "s", &staff_key))
        .await
        .unwrap_err();
    assert!(
        matches!(crossed, AuthError::Invalid(Reason::UnknownKid)),
        "{crossed:?}"
    );

    // Remembered tokens are checked against their own issuer's keys again.
    let remembered = token(&clock, &partners.url, "p", &partner_key);
    verifier.authenticate(&remembered).await.unwrap();
    verifier.authenticate(&remembered).await.unwrap();
}

#[tokio::test]
async fn sync_verification_refuses_every_token_when_keys_are_remote() {
    let (clock, shared) = common::clock();
    let provider = Provider::start().await;
    let a = SigningKey::generate(Algorithm::ES256).unwrap();
    provider.publish(&[("a", &a)], None);
    let verifier = verifier_of(discovered(&provider, &shared), &shared);
    let token = token(&clock, &provider.url, "a", &a);
    // Even once the set is held, the sync entry points never judge a token.
    verifier
        .verify_async::<Map<String, Value>>(&token)
        .await
        .unwrap();
    for error in [
        verifier.verify::<Map<String, Value>>(&token).unwrap_err(),
        verifier.verify_signature(&token).unwrap_err(),
    ] {
        assert!(matches!(error, AuthError::Internal(_)), "{error:?}");
        assert!(caused_by(&error, |e| matches!(e, JwksError::NeedsAsync)));
    }
}

#[tokio::test]
async fn a_discovered_set_serves_only_its_own_issuer() {
    let (_, shared) = common::clock();
    let provider = Provider::start().await;
    let build = |builder: auth_jwt::VerifierBuilder| builder.audience(AUDIENCE).build();
    let base = || Verifier::builder(KeySet::new(shared.clone()), shared.clone());
    assert!(build(base().remote_jwks(discovered(&provider, &shared))).is_ok());
    assert!(
        build(
            base()
                .issuer(&provider.url)
                .remote_jwks(discovered(&provider, &shared))
        )
        .is_ok()
    );
    assert!(
        build(
            base()
                .issuer("https://other.example")
                .remote_jwks(discovered(&provider, &shared))
        )
        .is_err()
    );
    assert!(
        build(base().remote_issuer("https://other.example", discovered(&provider, &shared)))
            .is_err()
    );
    // Two trusts with one iss, and an unnamed key set beside a named issuer.
    assert!(
        build(
            base()
                .remote_issuer(&provider.url, discovered(&provider, &shared))
                .remote_issuer(&provider.url, discovered(&provider, &shared))
        )
        .is_err()
    );
    let keys = KeySet::with_signing_key(
        shared.clone(),
        "local",
        SigningKey::generate(Algorithm::ES256).unwrap(),
    )
    .unwrap();
    assert!(
        build(
            Verifier::builder(keys, shared.clone())
                .remote_issuer(&provider.url, discovered(&provider, &shared))
        )
        .is_err()
    );
    assert_eq!(provider.discovery_hits(), 0, "building fetches nothing");
}

#[tokio::test]
async fn a_local_issuer_and_a_remote_one_share_a_verifier() {
    let (clock, shared) = common::clock();
    let provider = Provider::start().await;
    let remote_key = SigningKey::generate(Algorithm::ES256).unwrap();
    provider.publish(&[("r", &remote_key)], None);
    let local_key = SigningKey::generate(Algorithm::ES256).unwrap();
    let keys = KeySet::with_signing_key(shared.clone(), "l", local_key.clone()).unwrap();
    let verifier = Verifier::builder(keys, shared.clone())
        .issuer("https://local.example")
        .remote_issuer(&provider.url, discovered(&provider, &shared))
        .audience(AUDIENCE)
        .build()
        .unwrap();
    verifier
        .authenticate(&token(&clock, "https://local.example", "l", &local_key))
        .await
        .unwrap();
    assert_eq!(provider.jwks_hits(), 0, "a local token fetches nothing");
    verifier
        .authenticate(&token(&clock, &provider.url, "r", &remote_key))
        .await
        .unwrap();
    assert_eq!(provider.jwks_hits(), 1);
}

/// A JWK Set URL may carry an access token in its query: the source's `Debug` shows where
/// it fetches from, never the query.
#[test]
fn debug_never_shows_the_urls_query() {
    let source = HttpJwksSource::new("https://keys.example/jwks?access_token=PLANTED").unwrap();
    let debug = format!("{source:?}");
    assert!(
        debug.contains("https://keys.example/jwks?<redacted>"),
        "{debug}"
    );
    assert!(!debug.contains("PLANTED"), "{debug}");
    let plain = format!(
        "{:?}",
        HttpJwksSource::new("https://keys.example/jwks").unwrap()
    );
    assert!(plain.contains("https://keys.example/jwks"), "{plain}");
    assert!(!plain.contains('?'), "{plain}");
}
