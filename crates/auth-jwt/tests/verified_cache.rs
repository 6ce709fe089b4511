//! The verified-token cache of `Verifier::authenticate` changes no answer: a token seen
//! before is refused as soon as a fresh verification would refuse it (expired, revoked,
//! its subject revoked, its key retired, removed or replaced), and accepted with the same
//! identity. Every test runs a cached and an uncached verifier side by side.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failed test.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use auth_core::memory::{MemoryRefreshTokenStore, MemoryRevocationStore};
use auth_core::store::TokenRef;
use auth_core::{
    AuthError, Clock as _, FamilyId, Identity, ManualClock, RevocationStore, StoreError,
};
use auth_jwt::{Algorithm, Issuer, KeySet, SigningKey, Verifier};
use serde_json::json;

const ISSUER: &str = "https://issuer.test";

struct World {
    clock: Arc<ManualClock>,
    keys: KeySet,
    issuer: Issuer,
    cached: Verifier,
    uncached: Verifier,
}

fn world(alg: Algorithm) -> World {
    let (clock, shared) = common::clock();
    let keys =
        KeySet::with_signing_key(shared.clone(), "k1", SigningKey::generate(alg).unwrap()).unwrap();
    let revocations = Arc::new(MemoryRevocationStore::new(shared.clone()));
    let issuer = Issuer::builder(keys.clone(), shared.clone())
        .issuer(ISSUER)
        .access_ttl(Duration::from_secs(600))
        .build(
            Arc::new(MemoryRefreshTokenStore::new(shared.clone())),
            revocations.clone(),
        )
        .unwrap();
    let verifier = |capacity| {
        Verifier::builder(keys.clone(), shared.clone())
            .issuer(ISSUER)
            .revocation_store(revocations.clone())
            .verified_cache(capacity)
            .build()
            .unwrap()
    };
    World {
        clock,
        cached: verifier(100),
        uncached: verifier(0),
        keys,
        issuer,
    }
}

impl World {
    fn token(&self) -> String {
        self.issuer
            .access_token("alice", &json!({ "roles": ["admin"], "team": "blue" }))
            .unwrap()
            .token
    }

    /// Both verifiers' answers, which must agree.
    async fn both(&self, token: &str) -> Result<Arc<Identity>, AuthError> {
        let cached = self.cached.authenticate(token).await;
        let uncached = self.uncached.authenticate(token).await;
        assert_eq!(
            cached.as_ref().map_err(common::reason),
            uncached.as_ref().map_err(common::reason),
            "the cached verifier answered differently"
        );
        cached
    }

    /// A token the cached verifier has accepted (so remembers) twice.
    async fn remembered(&self) -> String {
        let token = self.token();
        let first = self.both(&token).await.unwrap();
        let again = self.both(&token).await.unwrap();
        assert_eq!(first, again);
        token
    }
}

#[tokio::test]
async fn a_remembered_token_proves_the_same_identity() {
    for alg in [Algorithm::HS256, Algorithm::ES256, Algorithm::EdDSA] {
        let world = world(alg);
        let token = world.remembered().await;
        let who = world.both(&token).await.unwrap();
        assert_eq!(who.subject, "alice");
        assert!(who.has_role("admin"));
        assert_eq!(who.claims.get("team"), Some(&json!("blue")));
        // Handed out shared: a hit copies no claims.
        let again = world.cached.authenticate(&token).await.unwrap();
        assert!(Arc::ptr_eq(&who, &again));
    }
}

#[tokio::test]
async fn a_remembered_token_still_expires() {
    let world = world(Algorithm::EdDSA);
    let token = world.remembered().await;
    // 600 s of lifetime and 30 s of leeway.
    world.clock.advance(Duration::from_secs(629));
    world.both(&token).await.unwrap();
    world.clock.advance(Duration::from_secs(1));
    assert!(matches!(world.both(&token).await, Err(AuthError::Expired)));
}

#[tokio::test]
async fn a_remembered_token_is_refused_once_revoked() {
    let world = world(Algorithm::ES256);
    let token = world.remembered().await;
    world.issuer.revoke(&token).await.unwrap();
    assert!(matches!(world.both(&token).await, Err(AuthError::Revoked)));
}

#[tokio::test]
async fn a_remembered_token_is_refused_once_its_subject_is_revoked() {
    let world = world(Algorithm::ES256);
    let token = world.remembered().await;
    world.clock.advance(Duration::from_secs(1));
    world.issuer.revoke_all("alice").await.unwrap();
    assert!(matches!(world.both(&token).await, Err(AuthError::Revoked)));
}

#[tokio::test]
async fn a_remembered_token_is_refused_once_its_key_retires() {
    let world = world(Algorithm::EdDSA);
    let token = world.remembered().await;
    world
        .keys
        .rotate(
            "k2",
            SigningKey::generate(Algorithm::EdDSA).unwrap(),
            world.clock.now() + Duration::from_secs(60),
        )
        .unwrap();
    world.both(&token).await.unwrap();
    world.clock.advance(Duration::from_secs(60));
    let error = world.both(&token).await.unwrap_err();
    assert_eq!(
        common::reason(&error),
        "invalid: the token's key has been retired"
    );
}

#[tokio::test]
async fn a_remembered_token_is_refused_once_its_key_is_removed() {
    let world = world(Algorithm::ES256);
    let token = world.remembered().await;
    assert!(world.keys.remove("k1"));
    let error = world.both(&token).await.unwrap_err();
    assert_eq!(
        common::reason(&error),
        "invalid: the token's kid names no known key"
    );
}

#[tokio::test]
async fn a_remembered_token_is_refused_once_its_kid_names_another_key() {
    let world = world(Algorithm::ES256);
    let token = world.remembered().await;
    assert!(world.keys.remove("k1"));
    let stranger = SigningKey::generate(Algorithm::ES256).unwrap();
    world
        .keys
        .insert_verifying_key("k1", stranger.verifying_key())
        .unwrap();
    let error = world.both(&token).await.unwrap_err();
    assert_eq!(
        common::reason(&error),
        "invalid: the token's signature does not verify"
    );
}

#[tokio::test]
async fn a_token_differing_from_a_remembered_one_is_verified_in_full() {
    let world = world(Algorithm::HS256);
    let token = world.remembered().await;
    let (input, signature) = token.rsplit_once('.').unwrap();
    let mut forged = signature.as_bytes().to_vec();
    forged[0] = if forged[0] == b'A' { b'B' } else { b'A' };
    let forged = format!("{input}.{}", String::from_utf8(forged).unwrap());
    let error = world.both(&forged).await.unwrap_err();
    assert_eq!(
        common::reason(&error),
        "invalid: the token's signature does not verify"
    );
    // Trailing bytes make another token too, refused before any lookup.
    assert!(world.both(&format!("{token}A")).await.is_err());
}

#[tokio::test]
async fn a_token_without_iat_has_no_authentication_time_fresh_or_remembered() {
    let world = world(Algorithm::HS256);
    let now = common::now_secs(&world.clock);
    let key = SigningKey::generate(Algorithm::HS256).unwrap();
    world
        .keys
        .insert_verifying_key("raw", key.verifying_key())
        .unwrap();
    let token = common::forge_with(
        &key,
        &common::header(&key, "raw"),
        &format!(r#"{{"iss":"{ISSUER}","sub":"bob","exp":{}}}"#, now + 600),
    );
    let first = world.both(&token).await.unwrap();
    assert_eq!(
        first.authenticated_at, None,
        "not \"now\": the token does not say"
    );
    world.clock.advance(Duration::from_secs(5));
    let later = world.both(&token).await.unwrap();
    assert_eq!(later.authenticated_at, None);
}

/// A revocation store that can be switched off.
struct Switchable {
    inner: MemoryRevocationStore,
    down: AtomicBool,
}

impl Switchable {
    fn check(&self) -> Result<(), StoreError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(StoreError::Unavailable("switched off".into()));
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl RevocationStore for Switchable {
    async fn revoke(&self, issuer: &str, jti: &str, until: SystemTime) -> Result<(), StoreError> {
        self.check()?;
        self.inner.revoke(issuer, jti, until).await
    }
    async fn is_revoked(&self, issuer: &str, jti: &str) -> Result<bool, StoreError> {
        self.check()?;
        self.inner.is_revoked(issuer, jti).await
    }
    async fn revoke_subject(
        &self,
        subject: &str,
        not_before: SystemTime,
        until: SystemTime,
    ) -> Result<(), StoreError> {
        self.check()?;
        self.inner.revoke_subject(subject, not_before, until).await
    }
    async fn subject_not_before(&self, subject: &str) -> Result<Option<SystemTime>, StoreError> {
        self.check()?;
        self.inner.subject_not_before(subject).await
    }
    async fn revoke_family(
        &self,
        issuer: &str,
        family: &FamilyId,
        until: SystemTime,
    ) -> Result<(), StoreError> {
        self.check()?;
        self.inner.revoke_family(issuer, family, until).await
    }
    async fn is_token_revoked(&self, token: &TokenRef<'_>) -> Result<bool, StoreError> {
        self.check()?;
        self.inner.is_token_revoked(token).await
    }
}

#[tokio::test]
async fn a_remembered_token_fails_closed_when_the_revocation_store_cannot_answer() {
    let (_, shared) = common::clock();
    let keys = KeySet::with_signing_key(
        shared.clone(),
        "k1",
        SigningKey::generate(Algorithm::EdDSA).unwrap(),
    )
    .unwrap();
    let store = Arc::new(Switchable {
        inner: MemoryRevocationStore::new(shared.clone()),
        down: AtomicBool::new(false),
    });
    let issuer = Issuer::builder(keys.clone(), shared.clone())
        .issuer(ISSUER)
        .build(
            Arc::new(MemoryRefreshTokenStore::new(shared.clone())),
            store.clone(),
        )
        .unwrap();
    let verifier = Verifier::builder(keys, shared)
        .issuer(ISSUER)
        .revocation_store(store.clone())
        .build()
        .unwrap();
    let token = issuer.access_token("alice", &json!({})).unwrap().token;
    verifier.authenticate(&token).await.unwrap();
    verifier.authenticate(&token).await.unwrap();

    store.down.store(true, Ordering::SeqCst);
    let error = verifier.authenticate(&token).await.unwrap_err();
    assert!(matches!(error, AuthError::Unavailable(_)), "{error:?}");
    store.down.store(false, Ordering::SeqCst);
    verifier.authenticate(&token).await.unwrap();
}
