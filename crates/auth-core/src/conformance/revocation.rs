//! The [`RevocationStore`] contract, clause by clause.

use std::sync::Arc;
use std::time::Duration;

use super::{assert_subject_refused, now_ms, rule_breaking_subjects, unique_subject};
use crate::store::{MAX_SUBJECT_LEN, MAX_TOKEN_ID_LEN, TokenRef};
use crate::{FamilyId, ManualClock, RevocationStore, StoreError};

const MINUTE: Duration = Duration::from_secs(60);

/// A revoked `jti` stays revoked until its `exp` and not a moment longer.
pub async fn revocation_lasts_until_exp_and_no_longer<S: RevocationStore>(
    store: S,
    clock: Arc<ManualClock>,
) {
    let iss = unique_subject("https://issuer.example");
    let exp = now_ms(&clock) + 15 * MINUTE;
    assert!(!store.is_revoked(&iss, "jti-1").await.unwrap());
    store.revoke(&iss, "jti-1", exp).await.unwrap();
    assert!(store.is_revoked(&iss, "jti-1").await.unwrap());
    clock.set(exp - Duration::from_millis(1));
    assert!(store.is_revoked(&iss, "jti-1").await.unwrap(), "until exp");
    clock.set(exp);
    assert!(!store.is_revoked(&iss, "jti-1").await.unwrap(), "no longer");
}

/// Revocation keys on both issuer and `jti`, without ambiguity between the two.
pub async fn revocation_is_per_issuer_and_jti<S: RevocationStore>(
    store: S,
    clock: Arc<ManualClock>,
) {
    let iss = unique_subject("iss");
    let exp = now_ms(&clock) + MINUTE;
    store.revoke(&format!("{iss}a"), "bc", exp).await.unwrap();
    assert!(store.is_revoked(&format!("{iss}a"), "bc").await.unwrap());
    assert!(!store.is_revoked(&format!("{iss}ab"), "c").await.unwrap());
    assert!(!store.is_revoked(&iss, "abc").await.unwrap());
    assert!(!store.is_revoked(&format!("{iss}a"), "b").await.unwrap());
    assert!(!store.is_revoked(&format!("{iss}b"), "bc").await.unwrap());
    // Glob and separator characters are data, not patterns.
    store.revoke(&iss, "*", exp).await.unwrap();
    assert!(!store.is_revoked(&iss, "x").await.unwrap());
    assert!(store.is_revoked(&iss, "*").await.unwrap());
}

/// After revoking a subject at T, its tokens issued before T are revoked and its tokens
/// issued at or after T are not; other subjects are untouched.
pub async fn subject_revocation_rejects_older_and_accepts_newer<S: RevocationStore>(
    store: S,
    clock: Arc<ManualClock>,
) {
    let alice = unique_subject("alice");
    let bob = unique_subject("bob");
    let issued_before = now_ms(&clock);
    clock.advance(Duration::from_secs(5));
    let at = now_ms(&clock);
    assert_eq!(store.subject_not_before(&alice).await.unwrap(), None);
    store
        .revoke_subject(&alice, at, at + 15 * MINUTE)
        .await
        .unwrap();
    let nb = store.subject_not_before(&alice).await.unwrap().unwrap();
    assert_eq!(crate::unix_millis(nb), crate::unix_millis(at));
    let check = |subject: String, issued| {
        let store = &store;
        async move {
            store
                .is_token_revoked(&TokenRef::new("iss", &subject, issued))
                .await
                .unwrap()
        }
    };
    assert!(check(alice.clone(), issued_before).await, "older token");
    assert!(
        check(alice.clone(), at - Duration::from_millis(1)).await,
        "1 ms older"
    );
    assert!(!check(alice.clone(), at).await, "issued at the instant");
    assert!(!check(alice.clone(), at + MINUTE).await, "newer token");
    assert!(!check(bob.clone(), issued_before).await, "other subject");
}

/// A subject revocation is kept until `until` and then forgotten.
pub async fn subject_revocation_lasts_until_and_no_longer<S: RevocationStore>(
    store: S,
    clock: Arc<ManualClock>,
) {
    let subject = unique_subject("sub");
    let at = now_ms(&clock);
    let until = at + 15 * MINUTE;
    store.revoke_subject(&subject, at, until).await.unwrap();
    clock.set(until - Duration::from_millis(1));
    assert!(store.subject_not_before(&subject).await.unwrap().is_some());
    clock.set(until);
    assert_eq!(store.subject_not_before(&subject).await.unwrap(), None);
    assert!(
        !store
            .is_token_revoked(&TokenRef::new("iss", &subject, at - MINUTE))
            .await
            .unwrap()
    );
}

/// An older revocation arriving late never re-admits tokens a newer one revoked.
pub async fn subject_not_before_never_moves_backwards<S: RevocationStore>(
    store: S,
    clock: Arc<ManualClock>,
) {
    let subject = unique_subject("mono");
    let early = now_ms(&clock);
    let late = early + MINUTE;
    store
        .revoke_subject(&subject, late, late + 15 * MINUTE)
        .await
        .unwrap();
    store
        .revoke_subject(&subject, early, early + 15 * MINUTE)
        .await
        .unwrap();
    let nb = store.subject_not_before(&subject).await.unwrap().unwrap();
    assert_eq!(crate::unix_millis(nb), crate::unix_millis(late));
    clock.set(early + 15 * MINUTE);
    assert!(
        store.subject_not_before(&subject).await.unwrap().is_some(),
        "the later `until` is kept too"
    );
}

/// `is_token_revoked` answers for either kind of revocation.
pub async fn is_token_revoked_checks_jti_and_subject<S: RevocationStore>(
    store: S,
    clock: Arc<ManualClock>,
) {
    let iss = unique_subject("iss");
    let subject = unique_subject("sub");
    let now = now_ms(&clock);
    store.revoke(&iss, "dead", now + MINUTE).await.unwrap();
    assert!(
        store
            .is_token_revoked(&TokenRef::new(&iss, &subject, now).jti(Some("dead")))
            .await
            .unwrap()
    );
    assert!(
        !store
            .is_token_revoked(&TokenRef::new(&iss, &subject, now).jti(Some("alive")))
            .await
            .unwrap()
    );
    assert!(
        !store
            .is_token_revoked(&TokenRef::new(&iss, &subject, now).jti(None))
            .await
            .unwrap()
    );
    store
        .revoke_subject(&subject, now + Duration::from_secs(1), now + MINUTE)
        .await
        .unwrap();
    assert!(
        store
            .is_token_revoked(&TokenRef::new(&iss, &subject, now).jti(Some("alive")))
            .await
            .unwrap()
    );
}

/// Issuers, `jti`s and subjects over the limits are refused with `TooLarge`, by the
/// checks as well as the writes.
pub async fn oversized_ids_are_refused<S: RevocationStore>(store: S, clock: Arc<ManualClock>) {
    let exp = now_ms(&clock) + MINUTE;
    let long = "x".repeat(MAX_TOKEN_ID_LEN + 1);
    let fits = "x".repeat(MAX_TOKEN_ID_LEN);
    assert!(matches!(
        store.revoke(&long, "j", exp).await,
        Err(StoreError::TooLarge { .. })
    ));
    assert!(matches!(
        store.revoke("i", &long, exp).await,
        Err(StoreError::TooLarge { .. })
    ));
    store.revoke(&fits, &fits, exp).await.unwrap();
    assert!(store.is_revoked(&fits, &fits).await.unwrap());
    // Reads refuse them too: no store could hold such a revocation, so "not revoked"
    // would be an answer it never checked.
    let family = FamilyId::generate().unwrap();
    let now = now_ms(&clock);
    let too_large = |what: &str, result: Result<bool, StoreError>| {
        assert!(
            matches!(result, Err(StoreError::TooLarge { .. })),
            "{what}: {result:?}"
        );
    };
    too_large("is_revoked issuer", store.is_revoked(&long, "j").await);
    too_large("is_revoked jti", store.is_revoked("i", &long).await);
    let token = TokenRef::new(&long, "sub", now).jti(Some("j"));
    too_large(
        "is_token_revoked issuer",
        store.is_token_revoked(&token).await,
    );
    let token = TokenRef::new("i", "sub", now).jti(Some(&long));
    too_large("is_token_revoked jti", store.is_token_revoked(&token).await);
    let token = TokenRef::new(&long, "sub", now).family(Some(&family));
    too_large(
        "is_token_revoked family issuer",
        store.is_token_revoked(&token).await,
    );
    assert!(matches!(
        store.revoke_family(&long, &family, exp).await,
        Err(StoreError::TooLarge { .. })
    ));
    let long_subject = "s".repeat(MAX_SUBJECT_LEN + 1);
    assert!(matches!(
        store.revoke_subject(&long_subject, exp, exp).await,
        Err(StoreError::TooLarge { .. })
    ));
}

/// Every method given a subject refuses one no backend keeps faithfully (too long:
/// `TooLarge`; NUL: `InvalidInput`), the per-request check included: a token whose `sub`
/// no store could have revoked is not answered "not revoked".
pub async fn rule_breaking_subjects_are_refused_by_every_method<S: RevocationStore>(
    store: S,
    clock: Arc<ManualClock>,
) {
    let now = now_ms(&clock);
    for subject in rule_breaking_subjects() {
        let revoked = store.revoke_subject(&subject, now, now + MINUTE).await;
        assert_subject_refused("revoke_subject", &subject, revoked);
        let not_before = store.subject_not_before(&subject).await;
        assert_subject_refused("subject_not_before", &subject, not_before);
        let token = TokenRef::new("https://issuer.example", &subject, now).jti(Some("j"));
        let checked = store.is_token_revoked(&token).await;
        assert_subject_refused("is_token_revoked", &subject, checked);
    }
}

/// A revoked family refuses every token of that issuer naming it, until `until`, and no
/// token of another family or issuer; it is answered in the same call as the `jti`.
pub async fn family_revocation_refuses_its_tokens_until_until<S: RevocationStore>(
    store: S,
    clock: Arc<ManualClock>,
) {
    let iss = unique_subject("iss");
    let subject = unique_subject("sub");
    let family = FamilyId::generate().unwrap();
    let other = FamilyId::generate().unwrap();
    let now = now_ms(&clock);
    let until = now + 15 * MINUTE;
    let token = |iss, family| {
        TokenRef::new(iss, &subject, now)
            .jti(Some("j1"))
            .family(family)
    };
    assert!(
        !store
            .is_token_revoked(&token(&iss, Some(&family)))
            .await
            .unwrap()
    );
    store.revoke_family(&iss, &family, until).await.unwrap();
    assert!(
        store
            .is_token_revoked(&token(&iss, Some(&family)))
            .await
            .unwrap()
    );
    assert!(
        !store
            .is_token_revoked(&token(&iss, Some(&other)))
            .await
            .unwrap()
    );
    assert!(!store.is_token_revoked(&token(&iss, None)).await.unwrap());
    let elsewhere = format!("{iss}x");
    assert!(
        !store
            .is_token_revoked(&token(&elsewhere, Some(&family)))
            .await
            .unwrap(),
        "families are per issuer"
    );
    assert!(
        !store.is_revoked(&iss, family.as_str()).await.unwrap(),
        "a family is not a jti"
    );
    clock.set(until - Duration::from_millis(1));
    assert!(
        store
            .is_token_revoked(&token(&iss, Some(&family)))
            .await
            .unwrap()
    );
    clock.set(until);
    assert!(
        !store
            .is_token_revoked(&token(&iss, Some(&family)))
            .await
            .unwrap()
    );
}

/// A second, shorter revocation of the same token or family never shortens the first:
/// the token stays refused until the later `until`.
pub async fn a_revocation_is_never_shortened<S: RevocationStore>(
    store: S,
    clock: Arc<ManualClock>,
) {
    let iss = unique_subject("iss");
    let subject = unique_subject("sub");
    let family = FamilyId::generate().unwrap();
    let now = now_ms(&clock);
    let long = now + 30 * MINUTE;
    let short = now + MINUTE;
    store.revoke(&iss, "j", long).await.unwrap();
    store.revoke(&iss, "j", short).await.unwrap();
    store.revoke_family(&iss, &family, long).await.unwrap();
    store.revoke_family(&iss, &family, short).await.unwrap();
    clock.set(short + MINUTE);
    assert!(store.is_revoked(&iss, "j").await.unwrap());
    let by_family = TokenRef::new(&iss, &subject, now).family(Some(&family));
    assert!(store.is_token_revoked(&by_family).await.unwrap());
}

/// Times are kept to the millisecond, but rounding never shortens a refusal: a revocation
/// whose `until` falls inside a millisecond holds until that instant (and ends by the next
/// whole millisecond), and a "not before" inside a millisecond refuses a token issued
/// earlier in that same millisecond.
pub async fn a_partial_millisecond_never_shortens_a_refusal<S: RevocationStore>(
    store: S,
    clock: Arc<ManualClock>,
) {
    let iss = unique_subject("iss");
    let subject = unique_subject("sub");
    let family = FamilyId::generate().unwrap();
    let whole = now_ms(&clock);
    let not_before = whole + Duration::from_micros(500);
    clock.set(not_before);
    let until = not_before + MINUTE;
    store.revoke(&iss, "j", until).await.unwrap();
    store.revoke_family(&iss, &family, until).await.unwrap();
    store
        .revoke_subject(&subject, not_before, until)
        .await
        .unwrap();
    let issued_just_before = whole + Duration::from_micros(300);
    let other = unique_subject("other");
    let by_family = TokenRef::new(&iss, &other, whole + MINUTE).family(Some(&family));
    let by_subject = TokenRef::new(&iss, &subject, issued_just_before);
    assert!(
        store.is_token_revoked(&by_subject).await.unwrap(),
        "issued 200 µs before \"not before\""
    );
    let next_whole = whole + Duration::from_millis(1);
    assert!(
        !store
            .is_token_revoked(&TokenRef::new(&iss, &subject, next_whole))
            .await
            .unwrap(),
        "issued at the next whole millisecond"
    );
    clock.set(until - Duration::from_micros(100));
    assert!(
        store.is_revoked(&iss, "j").await.unwrap(),
        "jti, 100 µs before until"
    );
    assert!(store.is_token_revoked(&by_family).await.unwrap(), "family");
    assert!(
        store.is_token_revoked(&by_subject).await.unwrap(),
        "subject"
    );
    clock.set(next_whole + MINUTE);
    assert!(
        !store.is_revoked(&iss, "j").await.unwrap(),
        "ended by the next millisecond"
    );
    assert!(!store.is_token_revoked(&by_family).await.unwrap());
    assert!(!store.is_token_revoked(&by_subject).await.unwrap());
}
