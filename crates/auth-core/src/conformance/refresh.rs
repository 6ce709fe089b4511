//! The [`RefreshTokenStore`] contract, clause by clause.

use std::sync::Arc;
use std::time::Duration;

use super::{assert_subject_refused, every_byte, now_ms, rule_breaking_subjects, unique_subject};
use crate::store::{MAX_DATA_LEN, RefreshRecord, Rotation};
use crate::{
    FamilyId, ManualClock, RefreshToken, RefreshTokenHash, RefreshTokenStore, StoreError,
    unix_millis,
};

const DAY: Duration = Duration::from_secs(24 * 3600);

fn hash() -> RefreshTokenHash {
    RefreshToken::generate().expect("CSPRNG").hash()
}

/// The first token of a new family: 14 days for the token, 30 for the family.
fn first_token(clock: &ManualClock, subject: &str, data: &[u8]) -> RefreshRecord {
    let now = now_ms(clock);
    RefreshRecord::new(
        FamilyId::generate().expect("CSPRNG"),
        subject,
        data.to_vec(),
        now,
        now + 14 * DAY,
    )
    .with_family_expires_at(now + 30 * DAY)
}

async fn rotate<S: RefreshTokenStore>(
    store: &S,
    clock: &ManualClock,
    old: &RefreshTokenHash,
    new: &RefreshTokenHash,
) -> Rotation {
    let now = now_ms(clock);
    store.rotate(old, new, now, now + 14 * DAY).await.unwrap()
}

/// A rotation hands back the new token's record: same family, subject and data, new times.
pub async fn rotate_keeps_family_subject_and_data<S: RefreshTokenStore>(
    store: S,
    clock: Arc<ManualClock>,
) {
    let (a, b, c) = (hash(), hash(), hash());
    let first = first_token(&clock, &unique_subject("rot"), b"{\"roles\":[\"admin\"]}");
    store.insert(&a, &first).await.unwrap();
    clock.advance(Duration::from_secs(900));
    let Rotation::Rotated(second) = rotate(&store, &clock, &a, &b).await else {
        panic!("a live, unused token rotates");
    };
    assert_eq!(second.family, first.family);
    assert_eq!(second.subject, first.subject);
    assert_eq!(second.data, first.data);
    assert_eq!(
        unix_millis(second.family_expires_at),
        unix_millis(first.family_expires_at)
    );
    assert_eq!(unix_millis(second.issued_at), unix_millis(now_ms(&clock)));
    assert_eq!(
        unix_millis(second.expires_at),
        unix_millis(now_ms(&clock) + 14 * DAY)
    );
    assert!(matches!(
        rotate(&store, &clock, &b, &c).await,
        Rotation::Rotated(_)
    ));
}

/// Inserting under a hash that is already stored fails and keeps the stored token.
pub async fn insert_never_overwrites<S: RefreshTokenStore>(store: S, clock: Arc<ManualClock>) {
    let (a, b) = (hash(), hash());
    let mine = first_token(&clock, &unique_subject("mine"), b"mine");
    store.insert(&a, &mine).await.unwrap();
    let theirs = first_token(&clock, &unique_subject("theirs"), b"theirs");
    assert!(matches!(
        store.insert(&a, &theirs).await,
        Err(StoreError::AlreadyExists)
    ));
    let Rotation::Rotated(next) = rotate(&store, &clock, &a, &b).await else {
        panic!("the original token still rotates");
    };
    assert_eq!(next.subject, mine.subject);
}

/// Presenting a token that was already rotated is `Reused` and revokes the whole family,
/// its newest token included.
pub async fn reuse_of_a_rotated_token_revokes_the_family<S: RefreshTokenStore>(
    store: S,
    clock: Arc<ManualClock>,
) {
    let (a, b, c, d) = (hash(), hash(), hash(), hash());
    let first = first_token(&clock, &unique_subject("reuse"), b"");
    store.insert(&a, &first).await.unwrap();
    assert!(matches!(
        rotate(&store, &clock, &a, &b).await,
        Rotation::Rotated(_)
    ));
    assert!(matches!(
        rotate(&store, &clock, &b, &c).await,
        Rotation::Rotated(_)
    ));
    match rotate(&store, &clock, &a, &d).await {
        Rotation::Reused { family, subject } => {
            assert_eq!(family, first.family);
            assert_eq!(subject, first.subject);
        }
        other => panic!("expected Reused, got {other:?}"),
    }
    assert_eq!(
        rotate(&store, &clock, &c, &hash()).await,
        Rotation::Unknown,
        "the newest token of the family is dead"
    );
    assert_eq!(
        rotate(&store, &clock, &d, &hash()).await,
        Rotation::Unknown,
        "the replay produced no token"
    );
}

/// Of many concurrent rotations of one token exactly one wins; the others see reuse, and
/// the family (the winner's new token too) ends revoked.
pub async fn concurrent_rotations_have_exactly_one_winner<S: RefreshTokenStore>(
    store: S,
    clock: Arc<ManualClock>,
) {
    const CALLERS: usize = 16;
    let store = Arc::new(store);
    let a = hash();
    store
        .insert(&a, &first_token(&clock, &unique_subject("race"), b""))
        .await
        .unwrap();
    let barrier = Arc::new(tokio::sync::Barrier::new(CALLERS));
    let now = now_ms(&clock);
    let mut tasks = Vec::new();
    for _ in 0..CALLERS {
        let (store, barrier, new) = (store.clone(), barrier.clone(), hash());
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            (store.rotate(&a, &new, now, now + DAY).await, new)
        }));
    }
    let mut winners = Vec::new();
    let mut reused = 0;
    for task in tasks {
        match task.await.unwrap() {
            (Ok(Rotation::Rotated(_)), new) => winners.push(new),
            (Ok(Rotation::Reused { .. }), _) => reused += 1,
            (Ok(Rotation::Unknown), _) => {
                panic!("the token was live: a loser must see reuse, not an unknown token")
            }
            (Err(StoreError::Conflict), _) => reused += 1,
            (other, _) => panic!("unexpected outcome: {:?}", other.map(|_| ())),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one rotation wins");
    assert_eq!(reused, CALLERS - 1);
    assert_eq!(
        rotate(&*store, &clock, &winners[0], &hash()).await,
        Rotation::Unknown,
        "the family, the winner's token included, is revoked"
    );
}

/// Expired and never-issued tokens are `Unknown`, and rotating them stores nothing.
pub async fn expired_and_unknown_tokens_are_unknown<S: RefreshTokenStore>(
    store: S,
    clock: Arc<ManualClock>,
) {
    let (a, b) = (hash(), hash());
    assert_eq!(rotate(&store, &clock, &a, &b).await, Rotation::Unknown);
    assert_eq!(rotate(&store, &clock, &b, &hash()).await, Rotation::Unknown);
    let record = first_token(&clock, &unique_subject("exp"), b"");
    store.insert(&a, &record).await.unwrap();
    clock.set(record.expires_at);
    assert_eq!(rotate(&store, &clock, &a, &b).await, Rotation::Unknown);
    assert_eq!(rotate(&store, &clock, &b, &hash()).await, Rotation::Unknown);
}

/// Revoking a family kills all its tokens and nothing else.
pub async fn revoke_family_revokes_only_that_family<S: RefreshTokenStore>(
    store: S,
    clock: Arc<ManualClock>,
) {
    let subject = unique_subject("fam");
    let (a, b, other) = (hash(), hash(), hash());
    let first = first_token(&clock, &subject, b"");
    store.insert(&a, &first).await.unwrap();
    store
        .insert(&other, &first_token(&clock, &subject, b""))
        .await
        .unwrap();
    assert!(matches!(
        rotate(&store, &clock, &a, &b).await,
        Rotation::Rotated(_)
    ));
    assert!(store.revoke_family(&first.family).await.unwrap() >= 1);
    assert_eq!(rotate(&store, &clock, &b, &hash()).await, Rotation::Unknown);
    assert!(matches!(
        rotate(&store, &clock, &other, &hash()).await,
        Rotation::Rotated(_)
    ));
}

/// Revoking a subject kills every family of that subject and no other subject's.
pub async fn revoke_subject_revokes_only_that_subject<S: RefreshTokenStore>(
    store: S,
    clock: Arc<ManualClock>,
) {
    let alice = unique_subject("alice");
    let bob = unique_subject("bob");
    let alices = [hash(), hash(), hash()];
    for a in &alices {
        store
            .insert(a, &first_token(&clock, &alice, b""))
            .await
            .unwrap();
    }
    let bobs = hash();
    store
        .insert(&bobs, &first_token(&clock, &bob, b""))
        .await
        .unwrap();
    assert_eq!(store.revoke_subject(&alice).await.unwrap(), 3);
    for a in &alices {
        assert_eq!(rotate(&store, &clock, a, &hash()).await, Rotation::Unknown);
    }
    assert!(matches!(
        rotate(&store, &clock, &bobs, &hash()).await,
        Rotation::Rotated(_)
    ));
}

/// Data up to the limit round-trips through rotation byte for byte; larger is refused.
pub async fn data_up_to_the_limit_round_trips_and_larger_is_refused<S: RefreshTokenStore>(
    store: S,
    clock: Arc<ManualClock>,
) {
    let subject = unique_subject("data");
    for len in [0, 1, 256, MAX_DATA_LEN] {
        let (a, b) = (hash(), hash());
        let data = every_byte(len);
        store
            .insert(&a, &first_token(&clock, &subject, &data))
            .await
            .unwrap();
        let Rotation::Rotated(next) = rotate(&store, &clock, &a, &b).await else {
            panic!("rotates");
        };
        assert!(next.data == data, "{len} bytes did not round-trip");
    }
    let a = hash();
    assert!(matches!(
        store
            .insert(
                &a,
                &first_token(&clock, &subject, &every_byte(MAX_DATA_LEN + 1))
            )
            .await,
        Err(StoreError::TooLarge { .. })
    ));
    assert_eq!(rotate(&store, &clock, &a, &hash()).await, Rotation::Unknown);
}

/// A family has an absolute end: a token cannot be inserted past it, and rotation caps the
/// new token's expiry at it however often the family rotates; then the family is over.
pub async fn rotation_never_extends_a_family_past_its_end<S: RefreshTokenStore>(
    store: S,
    clock: Arc<ManualClock>,
) {
    let now = now_ms(&clock);
    let family_end = now + 3 * DAY;
    let subject = unique_subject("end");
    let record = first_token(&clock, &subject, b"").with_family_expires_at(family_end);
    assert!(record.expires_at > family_end);
    assert!(matches!(
        store.insert(&hash(), &record).await,
        Err(StoreError::InvalidInput(_))
    ));
    let record = RefreshRecord::new(
        FamilyId::generate().expect("CSPRNG"),
        subject,
        Vec::new(),
        now,
        now + DAY,
    )
    .with_family_expires_at(family_end);
    let mut token = hash();
    store.insert(&token, &record).await.unwrap();
    for day in 1..=2 {
        clock.advance(DAY - Duration::from_secs(1));
        let next = hash();
        let Rotation::Rotated(rotated) = rotate(&store, &clock, &token, &next).await else {
            panic!("rotates on day {day}");
        };
        assert_eq!(
            unix_millis(rotated.family_expires_at),
            unix_millis(family_end)
        );
        assert!(
            rotated.expires_at <= family_end,
            "capped at the family's end"
        );
        token = next;
    }
    clock.set(family_end);
    assert_eq!(
        rotate(&store, &clock, &token, &hash()).await,
        Rotation::Unknown,
        "the family is over, however recently it rotated"
    );
}

/// Every method given a subject refuses one no backend keeps faithfully (too long:
/// `TooLarge`; NUL: `InvalidInput`).
pub async fn rule_breaking_subjects_are_refused_by_every_method<S: RefreshTokenStore>(
    store: S,
    clock: Arc<ManualClock>,
) {
    for subject in rule_breaking_subjects() {
        let inserted = store
            .insert(&hash(), &first_token(&clock, &subject, b""))
            .await;
        assert_subject_refused("insert", &subject, inserted);
        assert_subject_refused(
            "revoke_subject",
            &subject,
            store.revoke_subject(&subject).await,
        );
    }
}
