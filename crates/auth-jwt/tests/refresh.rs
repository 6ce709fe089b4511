//! Refresh tokens and revocation against auth-core's memory stores: rotation, reuse
//! detection revoking the whole family, one winner among concurrent refreshes, logout and
//! logout everywhere (with the same-second rule).
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failed test.

mod common;

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use auth_core::memory::{MemoryRefreshTokenStore, MemoryRevocationStore};
use auth_core::{AuthError, Clock, ManualClock, RevocationStore, SharedClock};
use auth_jwt::{Algorithm, Issuer, KeySet, SigningKey, Verifier};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Custom {
    roles: Vec<String>,
    tenant: String,
}

struct Setup {
    clock: Arc<ManualClock>,
    issuer: Issuer,
    verifier: Verifier,
    refresh_store: Arc<MemoryRefreshTokenStore>,
}

fn setup() -> Setup {
    let (clock, shared) = common::clock();
    setup_with(clock, shared)
}

fn setup_with(clock: Arc<ManualClock>, shared: SharedClock) -> Setup {
    let keys = KeySet::with_signing_key(
        shared.clone(),
        "k",
        SigningKey::generate(Algorithm::ES256).unwrap(),
    )
    .unwrap();
    let refresh_store = Arc::new(MemoryRefreshTokenStore::new(shared.clone()));
    let revocations = Arc::new(MemoryRevocationStore::new(shared.clone()));
    let issuer = Issuer::builder(keys.clone(), shared.clone())
        .issuer("https://issuer.test")
        .audience("api")
        .build(refresh_store.clone(), revocations.clone())
        .unwrap();
    let verifier = Verifier::builder(keys, shared)
        .issuer("https://issuer.test")
        .audience("api")
        .require_jti()
        .revocation_store(revocations)
        .build()
        .unwrap();
    Setup {
        clock,
        issuer,
        verifier,
        refresh_store,
    }
}

fn custom() -> Custom {
    Custom {
        roles: vec!["admin".into()],
        tenant: "t1".into(),
    }
}

#[tokio::test]
async fn login_issues_tokens_that_authenticate_with_typed_claims() {
    let s = setup();
    let pair = s.issuer.login("alice", &custom()).await.unwrap();
    let who = s.verifier.authenticate(&pair.access_token).await.unwrap();
    assert_eq!(who.subject, "alice");
    assert!(who.has_role("admin"));
    assert_eq!(who.claims["tenant"], "t1");
    assert!(
        !who.claims.contains_key("exp"),
        "registered claims are not extra claims"
    );
    let typed = s.verifier.verify::<Custom>(&pair.access_token).unwrap();
    assert_eq!(typed.claims, custom());
    assert_eq!(typed.registered.family.as_ref(), Some(&pair.family));
    assert_eq!(typed.registered.iss.as_deref(), Some("https://issuer.test"));
    let lifetime = typed
        .registered
        .exp
        .duration_since(typed.registered.iat.unwrap())
        .unwrap();
    assert!(
        lifetime <= Duration::from_secs(15 * 60) && lifetime > Duration::from_secs(15 * 60 - 1)
    );
    // Refresh tokens live 14 days.
    let refresh_life = pair
        .refresh_expires_at
        .duration_since(typed.registered.iat.unwrap())
        .unwrap();
    assert_eq!(refresh_life.as_secs() / 86400, 14);
    assert!(!format!("{pair:?}").contains(pair.refresh_token.expose_secret()));
}

#[tokio::test]
async fn custom_claims_may_not_override_registered_ones() {
    let s = setup();
    for bad in [
        serde_json::json!({"sub": "root"}),
        serde_json::json!({"exp": 1}),
        serde_json::json!([1]),
    ] {
        assert!(matches!(
            s.issuer.access_token("alice", &bad),
            Err(AuthError::Internal(_))
        ));
    }
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_family_including_the_newest() {
    let s = setup();
    let first = s.issuer.login("alice", &custom()).await.unwrap();
    s.clock.advance(Duration::from_secs(60));
    let second = s
        .issuer
        .refresh(first.refresh_token.expose_secret())
        .await
        .unwrap();
    assert_eq!(second.family, first.family);
    assert_ne!(second.refresh_token, first.refresh_token);
    let who = s.verifier.authenticate(&second.access_token).await.unwrap();
    assert!(
        who.has_role("admin"),
        "custom claims carry over through refresh"
    );
    let third = s
        .issuer
        .refresh(second.refresh_token.expose_secret())
        .await
        .unwrap();

    // Replaying the first token: reuse. The whole family dies, the newest token included.
    assert!(matches!(
        s.issuer.refresh(first.refresh_token.expose_secret()).await,
        Err(AuthError::Reused { .. })
    ));
    let after = s
        .issuer
        .refresh(third.refresh_token.expose_secret())
        .await
        .unwrap_err();
    assert_eq!(
        common::reason(&after),
        "invalid: the refresh token is unknown, expired or revoked"
    );

    // Garbage is malformed, not a store lookup.
    let garbage = s.issuer.refresh("not a token").await.unwrap_err();
    assert_eq!(
        common::reason(&garbage),
        "malformed: the refresh token is not well formed"
    );
}

#[tokio::test]
async fn refresh_tokens_expire() {
    let s = setup();
    let pair = s.issuer.login("alice", &custom()).await.unwrap();
    s.clock.advance(Duration::from_secs(14 * 86400));
    assert!(matches!(
        s.issuer.refresh(pair.refresh_token.expose_secret()).await,
        Err(AuthError::Invalid(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_refresh_of_one_token_has_exactly_one_winner() {
    let s = setup();
    let pair = s.issuer.login("alice", &custom()).await.unwrap();
    let token = pair.refresh_token.expose_secret().to_owned();
    let barrier = Arc::new(tokio::sync::Barrier::new(16));
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let issuer = s.issuer.clone();
        let token = token.clone();
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            issuer.refresh(&token).await
        }));
    }
    let mut wins = 0;
    let mut reused = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => wins += 1,
            Err(AuthError::Reused { .. }) => reused += 1,
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(wins, 1);
    assert_eq!(reused, 15);
    let _ = &s.refresh_store;
}

#[tokio::test]
async fn logout_revokes_the_access_token_and_its_family() {
    let s = setup();
    let pair = s.issuer.login("alice", &custom()).await.unwrap();
    let other = s.issuer.login("alice", &custom()).await.unwrap();
    s.issuer.revoke(&pair.access_token).await.unwrap();
    let result = s.verifier.authenticate(&pair.access_token).await;
    assert!(matches!(result, Err(AuthError::Revoked)), "{result:?}");
    assert!(
        s.issuer
            .refresh(pair.refresh_token.expose_secret())
            .await
            .is_err()
    );
    // The other session of the same user is untouched.
    assert!(s.verifier.authenticate(&other.access_token).await.is_ok());
    assert!(
        s.issuer
            .refresh(other.refresh_token.expose_secret())
            .await
            .is_ok()
    );
    // A forged token cannot be used to revoke anything.
    assert!(s.issuer.revoke("a.b.c").await.is_err());
}

#[tokio::test]
async fn revoking_an_expired_token_still_revokes_its_family() {
    let s = setup();
    let pair = s.issuer.login("alice", &custom()).await.unwrap();
    s.clock.advance(Duration::from_secs(3600));
    s.issuer.revoke(&pair.access_token).await.unwrap();
    assert!(
        s.issuer
            .refresh(pair.refresh_token.expose_secret())
            .await
            .is_err()
    );
}

/// The issuer leaves to the store whether a token's revocation is still needed: with
/// the issuer's clock ahead of the store's, a token its `exp` plus the leeway has passed
/// by the issuer's clock, but not by the store's, is still revoked there.
#[tokio::test]
async fn a_logout_on_a_clock_ahead_still_revokes_what_the_store_may_accept() {
    let (ahead, shared) = common::clock();
    let behind = Arc::new(ManualClock::new(ahead.now()));
    let keys = KeySet::with_signing_key(
        shared.clone(),
        "k",
        SigningKey::generate(Algorithm::ES256).unwrap(),
    )
    .unwrap();
    let revocations = MemoryRevocationStore::new(behind.clone());
    let issuer = Issuer::builder(keys.clone(), shared.clone())
        .issuer("https://issuer.test")
        .build(
            Arc::new(MemoryRefreshTokenStore::new(shared.clone())),
            Arc::new(revocations.clone()),
        )
        .unwrap();
    let pair = issuer.login("alice", &custom()).await.unwrap();
    let verifier = Verifier::builder(keys, shared)
        .issuer("https://issuer.test")
        .build()
        .unwrap();
    let jti = verifier
        .verify::<serde_json::Value>(&pair.access_token)
        .unwrap()
        .registered
        .jti
        .expect("a jti");
    let past = Duration::from_secs(15 * 60) + auth_jwt::MAX_LEEWAY;
    ahead.advance(past + Duration::from_secs(2));
    behind.advance(past - Duration::from_secs(2));
    issuer.revoke(&pair.access_token).await.unwrap();
    assert!(
        revocations
            .is_revoked("https://issuer.test", &jti)
            .await
            .unwrap(),
        "a store whose clock is behind still accepts the token until its own deadline"
    );
}

#[tokio::test]
async fn logout_everywhere_and_the_same_second_rule() {
    // Start 400 ms into a second, so everything below happens within one `iat` second.
    let start = UNIX_EPOCH + Duration::from_millis(1_900_000_000_400);
    let clock = Arc::new(ManualClock::new(start));
    let shared: SharedClock = clock.clone();
    let s = setup_with(clock.clone(), shared);
    let a = s.issuer.login("alice", &custom()).await.unwrap();
    let b = s.issuer.login("alice", &custom()).await.unwrap();
    let bob = s.issuer.login("bob", &custom()).await.unwrap();
    clock.advance(Duration::from_millis(100));
    s.issuer.revoke_all("alice").await.unwrap();

    // Everything alice held is dead, bob's is not.
    for pair in [&a, &b] {
        assert!(matches!(
            s.verifier.authenticate(&pair.access_token).await,
            Err(AuthError::Revoked)
        ));
        assert!(
            s.issuer
                .refresh(pair.refresh_token.expose_secret())
                .await
                .is_err()
        );
    }
    assert!(s.verifier.authenticate(&bob.access_token).await.is_ok());

    // A token minted at the very clock reading of the revocation is refused too ...
    let same_instant = s.issuer.access_token("alice", &custom()).unwrap();
    assert!(matches!(
        s.verifier.authenticate(&same_instant.token).await,
        Err(AuthError::Revoked)
    ));
    // ... and one minted in the next millisecond, still in the same `iat` second, works.
    clock.advance(Duration::from_millis(1));
    let c = s.issuer.login("alice", &custom()).await.unwrap();
    let who = s.verifier.authenticate(&c.access_token).await.unwrap();
    assert_eq!(who.subject, "alice");
    let typed = s
        .verifier
        .verify::<serde::de::IgnoredAny>(&c.access_token)
        .unwrap();
    assert_eq!(
        common::secs(typed.registered.iat.unwrap()),
        common::secs(start),
        "the new token shares the revocation's iat second"
    );
}

#[tokio::test]
async fn foreign_tokens_without_iat_ms_are_compared_by_whole_seconds() {
    let (clock, shared) = common::clock();
    let key = SigningKey::generate(Algorithm::HS256).unwrap();
    let keys = KeySet::with_signing_key(shared.clone(), "k", key.clone()).unwrap();
    let revocations = Arc::new(MemoryRevocationStore::new(shared.clone()));
    let verifier = Verifier::builder(keys, shared.clone())
        .revocation_store(revocations.clone())
        .build()
        .unwrap();
    let now = common::now_secs(&clock);
    let token = |iat: u64| {
        common::forge_with(
            &key,
            r#"{"alg":"HS256","kid":"k"}"#,
            &format!(r#"{{"sub":"alice","iat":{iat},"exp":{}}}"#, now + 600),
        )
    };
    use auth_core::Clock as _;
    use auth_core::RevocationStore as _;
    revocations
        .revoke_subject(
            "alice",
            clock.now(),
            clock.now() + Duration::from_secs(3600),
        )
        .await
        .unwrap();
    // Same whole second as the revocation: refused (iat rounds down, never lenient).
    assert!(matches!(
        verifier.authenticate(&token(now)).await,
        Err(AuthError::Revoked)
    ));
    assert!(verifier.authenticate(&token(now + 1)).await.is_ok());
    // Without sub there is no identity.
    let no_sub = common::forge_with(
        &key,
        r#"{"alg":"HS256","kid":"k"}"#,
        &format!(r#"{{"exp":{}}}"#, now + 600),
    );
    assert_eq!(
        common::reason(&verifier.authenticate(&no_sub).await.unwrap_err()),
        "invalid: the token has no sub"
    );
}
