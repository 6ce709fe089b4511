//! A refresh family as one credential: revoked whole (access tokens included), ended by an
//! absolute lifetime, re-read through the `current_claims` hook; and revocations that
//! outlast every leeway and every access lifetime an issuer may have used.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failed test.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use async_trait::async_trait;
use auth_core::memory::{MemoryRefreshTokenStore, MemoryRevocationStore};
use auth_core::store::{RefreshRecord, Rotation, TokenRef};
use auth_core::{
    AuthError, FamilyId, ManualClock, Reason, RefreshTokenHash, RefreshTokenStore, RevocationStore,
    SharedClock, StoreError,
};
use auth_jwt::{
    Algorithm, Issuer, IssuerBuilder, KeySet, MAX_LEEWAY, SigningKey, SubjectStatus, Verifier,
};
use serde_json::{Map, Value, json};
use tokio::sync::Semaphore;
use tracing::Instrument as _;

const MINUTE: Duration = Duration::from_secs(60);
const DAY: Duration = Duration::from_secs(24 * 3600);

struct World {
    clock: Arc<ManualClock>,
    shared: SharedClock,
    keys: KeySet,
    refresh: Arc<MemoryRefreshTokenStore>,
    revocations: Arc<MemoryRevocationStore>,
}

impl World {
    fn new() -> Self {
        let (clock, shared) = common::clock();
        let keys = KeySet::with_signing_key(
            shared.clone(),
            "k",
            SigningKey::generate(Algorithm::EdDSA).unwrap(),
        )
        .unwrap();
        Self {
            refresh: Arc::new(MemoryRefreshTokenStore::new(shared.clone())),
            revocations: Arc::new(MemoryRevocationStore::new(shared.clone())),
            clock,
            shared,
            keys,
        }
    }

    fn issuer_with(&self, configure: impl FnOnce(IssuerBuilder) -> IssuerBuilder) -> Issuer {
        let builder = Issuer::builder(self.keys.clone(), self.shared.clone()).issuer("https://iss");
        configure(builder)
            .build(self.refresh.clone(), self.revocations.clone())
            .unwrap()
    }

    fn issuer(&self) -> Issuer {
        self.issuer_with(|b| b)
    }

    fn verifier(&self, leeway: Duration) -> Verifier {
        Verifier::builder(self.keys.clone(), self.shared.clone())
            .issuer("https://iss")
            .leeway(leeway)
            .revocation_store(self.revocations.clone())
            .build()
            .unwrap()
    }
}

#[tokio::test]
async fn reuse_refuses_every_access_token_of_the_family_at_once_and_says_whose() {
    let w = World::new();
    let issuer = w.issuer();
    let verifier = w.verifier(Duration::from_secs(30));
    let first = issuer.login("alice", &json!({})).await.unwrap();
    let second = issuer
        .refresh(first.refresh_token.expose_secret())
        .await
        .unwrap();
    let other_login = issuer.login("alice", &json!({})).await.unwrap();
    for token in [&first.access_token, &second.access_token] {
        verifier.authenticate(token).await.unwrap();
    }
    match issuer.refresh(first.refresh_token.expose_secret()).await {
        Err(AuthError::Reused { subject, family }) => {
            assert_eq!(subject, "alice");
            assert_eq!(family, first.family);
        }
        other => panic!("expected reuse, got {other:?}"),
    }
    for token in [&first.access_token, &second.access_token] {
        assert!(
            matches!(verifier.authenticate(token).await, Err(AuthError::Revoked)),
            "the family's access tokens die with it, cached or not"
        );
    }
    verifier
        .authenticate(&other_login.access_token)
        .await
        .expect("another login of the same user lives on");
}

/// A revocation store whose `revoke_family` and `revoke_subject` wait at a gate, to stop a
/// caller there.
struct Gated {
    inner: MemoryRevocationStore,
    entered: Semaphore,
    gate: Semaphore,
}

#[async_trait]
impl RevocationStore for Gated {
    async fn revoke(&self, issuer: &str, jti: &str, until: SystemTime) -> Result<(), StoreError> {
        self.inner.revoke(issuer, jti, until).await
    }
    async fn is_revoked(&self, issuer: &str, jti: &str) -> Result<bool, StoreError> {
        self.inner.is_revoked(issuer, jti).await
    }
    async fn revoke_family(
        &self,
        issuer: &str,
        family: &FamilyId,
        until: SystemTime,
    ) -> Result<(), StoreError> {
        self.entered.add_permits(1);
        self.gate.acquire().await.unwrap().forget();
        self.inner.revoke_family(issuer, family, until).await
    }
    async fn revoke_subject(
        &self,
        subject: &str,
        not_before: SystemTime,
        until: SystemTime,
    ) -> Result<(), StoreError> {
        self.entered.add_permits(1);
        self.gate.acquire().await.unwrap().forget();
        self.inner.revoke_subject(subject, not_before, until).await
    }
    async fn subject_not_before(&self, subject: &str) -> Result<Option<SystemTime>, StoreError> {
        self.inner.subject_not_before(subject).await
    }
    async fn is_token_revoked(&self, token: &TokenRef<'_>) -> Result<bool, StoreError> {
        self.inner.is_token_revoked(token).await
    }
}

/// An issuer and a verifier over one [`Gated`] revocation store.
fn gated() -> (Arc<Gated>, Issuer, Verifier, Arc<ManualClock>) {
    let w = World::new();
    let revocations = Arc::new(Gated {
        inner: MemoryRevocationStore::new(w.shared.clone()),
        entered: Semaphore::new(0),
        gate: Semaphore::new(0),
    });
    let issuer = Issuer::builder(w.keys.clone(), w.shared.clone())
        .issuer("https://iss")
        .build(w.refresh.clone(), revocations.clone())
        .unwrap();
    let verifier = Verifier::builder(w.keys.clone(), w.shared.clone())
        .issuer("https://iss")
        .revocation_store(revocations.clone())
        .build()
        .unwrap();
    (revocations, issuer, verifier, w.clock)
}

/// A thief refreshes a stolen token; the victim's replay is dropped once a store call
/// reaches the closed gate (`entered`, then held at `gate`), and the gate opens after: the
/// thief's access token must die anyway.
async fn replay_dropped_at_the_gate(
    issuer: &Issuer,
    verifier: &Verifier,
    entered: &Semaphore,
    gate: &Semaphore,
) {
    let stolen = issuer.login("alice", &json!({})).await.unwrap();
    let thief = issuer
        .refresh(stolen.refresh_token.expose_secret())
        .await
        .unwrap();
    verifier.authenticate(&thief.access_token).await.unwrap();
    // Calls that passed while the gate was open are not the replay's.
    while let Ok(passed) = entered.try_acquire() {
        passed.forget();
    }

    tokio::select! {
        answer = issuer.refresh(stolen.refresh_token.expose_secret()) => {
            panic!("the gate is closed, yet the refresh answered {answer:?}")
        }
        reached = entered.acquire() => reached.unwrap().forget(),
    }
    // The caller is gone; the store answers now.
    gate.add_permits(1);
    revoked_soon(
        verifier,
        &thief.access_token,
        "the thief's access token lives on",
    )
    .await;
}

/// Waits (in real time, at most 5 s) until `token` is refused as revoked: the revocation
/// runs in a task of its own once its caller is gone.
async fn revoked_soon(verifier: &Verifier, token: &str, otherwise: &str) {
    let started = Instant::now();
    loop {
        match verifier.authenticate(token).await {
            Err(AuthError::Revoked) => return,
            other => assert!(
                started.elapsed() < Duration::from_secs(5),
                "{otherwise}: {other:?}"
            ),
        }
        tokio::task::yield_now().await;
    }
}

/// The victim's replay of a stolen refresh token is caught, and its request dropped (a
/// client gone, a timeout) after the refresh store revoked the family but while the
/// family's access tokens are being revoked: the thief's access token must die anyway,
/// not live on until its `exp`.
#[tokio::test]
async fn a_reuse_whose_caller_stops_waiting_still_revokes_the_familys_access_tokens() {
    let (revocations, issuer, verifier, _) = gated();
    replay_dropped_at_the_gate(&issuer, &verifier, &revocations.entered, &revocations.gate).await;
}

/// "Log out everywhere" dropped (a client gone, a timeout) after the refresh store revoked
/// the subject's families but while its access tokens are being revoked: they must die
/// anyway, since nothing else would ever refuse them.
#[tokio::test]
async fn a_logout_everywhere_whose_caller_stops_waiting_still_refuses_every_access_token() {
    let (revocations, issuer, verifier, _) = gated();
    let session = issuer.login("alice", &json!({})).await.unwrap();
    verifier.authenticate(&session.access_token).await.unwrap();

    tokio::select! {
        answer = issuer.revoke_all("alice") => {
            panic!("the gate is closed, yet revoke_all answered {answer:?}")
        }
        entered = revocations.entered.acquire() => entered.unwrap().forget(),
    }
    assert!(
        issuer
            .refresh(session.refresh_token.expose_secret())
            .await
            .is_err(),
        "the families went first"
    );
    revocations.gate.add_permits(1);
    revoked_soon(
        &verifier,
        &session.access_token,
        "the access token outlives the logout",
    )
    .await;
}

/// A refresh store that stops at a gate in one call: after `rotate` has done its work but
/// before it answers, or before `insert` does its work.
struct GatedRefresh {
    inner: MemoryRefreshTokenStore,
    at_insert: bool,
    entered: Semaphore,
    gate: Semaphore,
}

impl GatedRefresh {
    async fn wait(&self) {
        self.entered.add_permits(1);
        self.gate.acquire().await.unwrap().forget();
    }
}

#[async_trait]
impl RefreshTokenStore for GatedRefresh {
    async fn insert(
        &self,
        hash: &RefreshTokenHash,
        record: &RefreshRecord,
    ) -> Result<(), StoreError> {
        if self.at_insert {
            self.wait().await;
        }
        self.inner.insert(hash, record).await
    }
    async fn rotate(
        &self,
        old: &RefreshTokenHash,
        new: &RefreshTokenHash,
        issued_at: SystemTime,
        expires_at: SystemTime,
    ) -> Result<Rotation, StoreError> {
        let rotation = self.inner.rotate(old, new, issued_at, expires_at).await;
        if !self.at_insert {
            self.wait().await;
        }
        rotation
    }
    async fn revoke_family(&self, family: &FamilyId) -> Result<u64, StoreError> {
        self.inner.revoke_family(family).await
    }
    async fn revoke_subject(&self, subject: &str) -> Result<u64, StoreError> {
        self.inner.revoke_subject(subject).await
    }
}

/// An issuer and a verifier over one [`GatedRefresh`] store; the gate is open for the
/// first `open` calls that reach it.
fn gated_refresh(
    at_insert: bool,
    open: usize,
) -> (Arc<GatedRefresh>, Issuer, Verifier, Arc<ManualClock>) {
    let w = World::new();
    let refresh = Arc::new(GatedRefresh {
        inner: MemoryRefreshTokenStore::new(w.shared.clone()),
        at_insert,
        entered: Semaphore::new(0),
        gate: Semaphore::new(open),
    });
    let issuer = Issuer::builder(w.keys.clone(), w.shared.clone())
        .issuer("https://iss")
        .build(refresh.clone(), w.revocations.clone())
        .unwrap();
    let verifier = w.verifier(Duration::ZERO);
    (refresh, issuer, verifier, w.clock)
}

/// The victim's replay is dropped (a client gone, a timeout) after the refresh store
/// ended the family and answered `Reused`, before the answer reached the issuer: the
/// thief's access token must die anyway.
#[tokio::test]
async fn a_reuse_answered_after_its_caller_left_still_revokes_the_familys_access_tokens() {
    let (refresh, issuer, verifier, _) = gated_refresh(false, 1);
    replay_dropped_at_the_gate(&issuer, &verifier, &refresh.entered, &refresh.gate).await;
}

/// A login whose password was checked before "log out everywhere" but whose family is
/// stored after it never survives it: the login fails, and nothing it minted works.
#[tokio::test]
async fn a_login_overtaken_by_log_out_everywhere_leaves_nothing_alive() {
    let (refresh, issuer, verifier, clock) = gated_refresh(true, 0);
    let login = tokio::spawn({
        let issuer = issuer.clone();
        async move { issuer.login("alice", &json!({})).await }
    });
    refresh.entered.acquire().await.unwrap().forget();
    issuer.revoke_all("alice").await.unwrap();
    refresh.gate.add_permits(1);
    let answer = login.await.unwrap();
    assert!(matches!(answer, Err(AuthError::Revoked)), "{answer:?}");

    // Whatever the login stored is ended: its family refreshes no more.
    let families = refresh.inner.revoke_subject("alice").await.unwrap();
    assert_eq!(families, 0, "the login's family was left alive");
    // A login after the logout is fine.
    clock.advance(Duration::from_millis(1));
    refresh.gate.add_permits(1);
    let later = issuer.login("alice", &json!({})).await.unwrap();
    verifier.authenticate(&later.access_token).await.unwrap();
}

/// A login that stores its family after "log out everywhere" swept the families but reads
/// the subject's "not before" before that logout wrote it: the logout's second sweep ends
/// the family, so no refresh turns it into a live access token.
#[tokio::test]
async fn a_login_between_the_steps_of_log_out_everywhere_never_survives_it() {
    let (revocations, issuer, verifier, clock) = gated();
    let logout = tokio::spawn({
        let issuer = issuer.clone();
        async move { issuer.revoke_all("alice").await }
    });
    revocations.entered.acquire().await.unwrap().forget();
    let login = issuer.login("alice", &json!({})).await.unwrap();
    revocations.gate.add_permits(1);
    logout.await.unwrap().unwrap();

    clock.advance(Duration::from_millis(1));
    let refreshed = issuer.refresh(login.refresh_token.expose_secret()).await;
    assert!(refreshed.is_err(), "{refreshed:?}");
    assert!(verifier.authenticate(&login.access_token).await.is_err());
}

/// Issuers sharing the refresh store: a node of the same service (same `iss`, same
/// audience) refreshes another's tokens; an issuer of another `iss` or for another API
/// finds none of them (it would mint its own access tokens from them), and leaves them
/// as they were.
#[tokio::test]
async fn a_refresh_token_serves_only_issuers_of_its_own_iss_and_audience() {
    let w = World::new();
    let api = |iss: &'static str, audiences: &[&'static str]| {
        let builder = Issuer::builder(w.keys.clone(), w.shared.clone()).issuer(iss);
        audiences
            .iter()
            .fold(builder, |builder, aud| builder.audience(*aud))
            .build(w.refresh.clone(), w.revocations.clone())
            .unwrap()
    };
    let node1 = api("https://iss", &["billing", "web"]);
    // The audiences are a set: another order, or one named twice, is the same service.
    let node2 = api("https://iss", &["web", "billing", "web"]);
    let strangers = [
        api("https://iss", &["billing"]),
        api("https://iss", &["billing", "admin"]),
        api("https://other", &["billing", "web"]),
    ];
    let mut pair = node1
        .login("carol", &json!({ "roles": ["admin"] }))
        .await
        .unwrap();
    for stranger in &strangers {
        let refused = stranger
            .refresh(pair.refresh_token.expose_secret())
            .await
            .unwrap_err();
        assert!(
            matches!(refused, AuthError::Invalid(Reason::RefreshTokenUnknown)),
            "{refused:?}"
        );
    }
    pair = node2
        .refresh(pair.refresh_token.expose_secret())
        .await
        .expect("another node of the same service");
    node1
        .refresh(pair.refresh_token.expose_secret())
        .await
        .expect("the family is untouched");
}

#[tokio::test]
async fn logout_with_one_access_token_ends_its_whole_family() {
    let w = World::new();
    let issuer = w.issuer();
    let verifier = w.verifier(Duration::from_secs(30));
    let first = issuer.login("bob", &json!({})).await.unwrap();
    let second = issuer
        .refresh(first.refresh_token.expose_secret())
        .await
        .unwrap();
    issuer.revoke(&second.access_token).await.unwrap();
    assert!(verifier.authenticate(&first.access_token).await.is_err());
    assert!(
        issuer
            .refresh(second.refresh_token.expose_secret())
            .await
            .is_err()
    );
}

#[tokio::test]
async fn a_family_ends_at_its_absolute_lifetime_however_often_it_rotates() {
    let w = World::new();
    let issuer = w.issuer_with(|b| b.family_lifetime(3 * DAY).refresh_ttl(2 * DAY));
    let verifier = w.verifier(Duration::ZERO);
    let login = issuer.login("carol", &json!({})).await.unwrap();
    let end = login.refresh_expires_at + DAY;
    let mut pair = login;
    for _ in 0..5 {
        w.clock.advance(DAY / 2);
        pair = issuer
            .refresh(pair.refresh_token.expose_secret())
            .await
            .unwrap();
        assert!(
            pair.refresh_expires_at <= end,
            "never past the family's end"
        );
        assert!(pair.access_expires_at <= end, "nor its access tokens");
        verifier.authenticate(&pair.access_token).await.unwrap();
    }
    w.clock.set(end - MINUTE);
    pair = issuer
        .refresh(pair.refresh_token.expose_secret())
        .await
        .unwrap();
    assert_eq!(
        common::secs(pair.access_expires_at),
        common::secs(end),
        "capped at the family's end (in whole seconds, as exp is)"
    );
    w.clock.set(end);
    assert!(matches!(
        issuer.refresh(pair.refresh_token.expose_secret()).await,
        Err(AuthError::Invalid(_))
    ));
    assert!(matches!(
        verifier.authenticate(&pair.access_token).await,
        Err(AuthError::Expired)
    ));
}

#[tokio::test]
async fn a_refresh_carries_the_subjects_current_claims_and_a_disabled_subject_ends_the_family() {
    let w = World::new();
    let disabled = Arc::new(AtomicBool::new(false));
    let flag = disabled.clone();
    let issuer = w.issuer_with(move |b| {
        b.current_claims(move |subject: &str, login: &Map<String, Value>| {
            assert_eq!(
                login["roles"],
                json!(["admin"]),
                "the login's claims are handed in"
            );
            if flag.load(Ordering::SeqCst) {
                return Ok(SubjectStatus::Disabled);
            }
            let mut now = Map::new();
            now.insert("roles".into(), json!(["user"]));
            now.insert("who".into(), json!(subject));
            Ok(SubjectStatus::Active(now))
        })
    });
    let verifier = w.verifier(Duration::ZERO);
    let login = issuer
        .login("dave", &json!({ "roles": ["admin"] }))
        .await
        .unwrap();
    assert!(
        verifier
            .authenticate(&login.access_token)
            .await
            .unwrap()
            .has_role("admin")
    );
    let next = issuer
        .refresh(login.refresh_token.expose_secret())
        .await
        .unwrap();
    let who = verifier.authenticate(&next.access_token).await.unwrap();
    assert!(
        who.has_role("user") && !who.has_role("admin"),
        "the demotion took"
    );
    assert_eq!(who.claims["who"], "dave");

    disabled.store(true, Ordering::SeqCst);
    assert!(matches!(
        issuer.refresh(next.refresh_token.expose_secret()).await,
        Err(AuthError::Revoked)
    ));
    assert!(
        matches!(
            verifier.authenticate(&next.access_token).await,
            Err(AuthError::Revoked)
        ),
        "a disabled subject's family dies whole"
    );
    disabled.store(false, Ordering::SeqCst);
    assert!(
        issuer
            .refresh(next.refresh_token.expose_secret())
            .await
            .is_err()
    );
}

#[tokio::test]
async fn a_hook_may_not_set_registered_claims() {
    let w = World::new();
    let issuer = w.issuer_with(|b| {
        b.current_claims(|_: &str, _: &Map<String, Value>| {
            let mut claims = Map::new();
            claims.insert("sub".into(), json!("root"));
            Ok(SubjectStatus::Active(claims))
        })
    });
    let login = issuer.login("erin", &json!({})).await.unwrap();
    assert!(matches!(
        issuer.refresh(login.refresh_token.expose_secret()).await,
        Err(AuthError::Internal(_))
    ));
}

#[tokio::test]
async fn a_revoked_token_stays_revoked_through_the_largest_leeway() {
    let w = World::new();
    let issuer = w.issuer();
    let verifier = w.verifier(MAX_LEEWAY);
    let token = issuer.access_token("frank", &json!({})).unwrap();
    issuer.revoke(&token.token).await.unwrap();
    // Past `exp`, but inside the largest leeway: the token would verify if not revoked.
    w.clock
        .set(token.expires_at + MAX_LEEWAY - Duration::from_secs(1));
    assert!(
        matches!(
            verifier.authenticate(&token.token).await,
            Err(AuthError::Revoked)
        ),
        "the revocation outlives the leeway"
    );
    assert!(
        Verifier::builder(w.keys.clone(), w.shared.clone())
            .leeway(MAX_LEEWAY + Duration::from_secs(1))
            .build()
            .is_err(),
        "no verifier may be configured with more leeway than revocations last"
    );
}

#[tokio::test]
async fn revoking_a_subject_covers_access_tokens_of_any_configured_lifetime() {
    let w = World::new();
    let long_lived = w.issuer_with(|b| b.access_ttl(12 * 3600 * Duration::from_secs(1)));
    let short_lived = w.issuer_with(|b| b.access_ttl(15 * MINUTE));
    let verifier = w.verifier(Duration::ZERO);
    let token = long_lived.access_token("gina", &json!({})).unwrap();
    // Logout everywhere through an issuer now configured with short lifetimes.
    w.clock.advance(Duration::from_secs(1));
    short_lived.revoke_all("gina").await.unwrap();
    w.clock.advance(11 * 3600 * Duration::from_secs(1));
    assert!(
        matches!(
            verifier.authenticate(&token.token).await,
            Err(AuthError::Revoked)
        ),
        "eleven hours later the long-lived token is still refused"
    );
}

#[tokio::test]
async fn access_lifetimes_are_bounded() {
    let w = World::new();
    let built = Issuer::builder(w.keys.clone(), w.shared.clone())
        .issuer("https://iss")
        .access_ttl(auth_jwt::MAX_ACCESS_TTL + Duration::from_secs(1))
        .build(w.refresh.clone(), w.revocations.clone());
    assert!(built.is_err());
}

/// The reuse alarm is raised inside the request's span (its id, its client), though the
/// rotation runs as a task of its own.
#[tokio::test(flavor = "current_thread")]
async fn the_reuse_alarm_keeps_the_callers_span() {
    let w = World::new();
    let issuer = w.issuer();
    let logged = common::Captured::default();
    let _events = tracing::subscriber::set_default(logged.subscriber());
    let first = issuer.login("alice", &json!({})).await.unwrap();
    issuer
        .refresh(first.refresh_token.expose_secret())
        .await
        .unwrap();
    let replay = issuer
        .refresh(first.refresh_token.expose_secret())
        .instrument(tracing::info_span!("request", id = "req-42"));
    assert!(matches!(replay.await, Err(AuthError::Reused { .. })));
    let text = logged.text();
    let alarm = text
        .lines()
        .find(|line| line.contains("token.reused"))
        .expect("the reuse is logged");
    assert!(alarm.contains("request{id=\"req-42\"}"), "{alarm}");
}

/// A refresh store whose rotations hand back data the issuer never stored: a registered
/// claim among the login's claims (a tampered row, or a writer of another version).
struct PlantedClaims(MemoryRefreshTokenStore);

#[async_trait]
impl RefreshTokenStore for PlantedClaims {
    async fn insert(
        &self,
        hash: &RefreshTokenHash,
        record: &RefreshRecord,
    ) -> Result<(), StoreError> {
        self.0.insert(hash, record).await
    }
    async fn rotate(
        &self,
        old: &RefreshTokenHash,
        new: &RefreshTokenHash,
        issued_at: SystemTime,
        expires_at: SystemTime,
    ) -> Result<Rotation, StoreError> {
        let mut rotation = self.0.rotate(old, new, issued_at, expires_at).await?;
        if let Rotation::Rotated(record) = &mut rotation {
            record.data = br#"{"roles":["admin"],"sub":"root"}"#.to_vec();
        }
        Ok(rotation)
    }
    async fn revoke_family(&self, family: &FamilyId) -> Result<u64, StoreError> {
        self.0.revoke_family(family).await
    }
    async fn revoke_subject(&self, subject: &str) -> Result<u64, StoreError> {
        self.0.revoke_subject(subject).await
    }
}

#[tokio::test]
async fn stored_claims_that_name_a_registered_claim_are_corrupt_never_signed() {
    let w = World::new();
    let issuer = Issuer::builder(w.keys.clone(), w.shared.clone())
        .issuer("https://iss")
        .build(
            Arc::new(PlantedClaims(MemoryRefreshTokenStore::new(
                w.shared.clone(),
            ))),
            w.revocations.clone(),
        )
        .unwrap();
    let login = issuer
        .login("grace", &json!({"roles": ["user"]}))
        .await
        .unwrap();
    let refreshed = issuer.refresh(login.refresh_token.expose_secret()).await;
    assert!(
        matches!(refreshed, Err(AuthError::Store(StoreError::Corrupt(_)))),
        "a token with the store's `sub` beside the family's: {refreshed:?}"
    );
}
