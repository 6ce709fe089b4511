//! The [`SessionStore`] contract, clause by clause.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::{assert_subject_refused, every_byte, now_ms, rule_breaking_subjects, unique_subject};
use crate::store::{MAX_DATA_LEN, MAX_SUBJECT_LEN, SessionRecord};
use crate::{Clock, ManualClock, SessionId, SessionKey, SessionStore, StoreError, unix_millis};

const MINUTE: Duration = Duration::from_secs(60);

fn key() -> SessionKey {
    SessionId::generate().expect("CSPRNG").key()
}

fn record(clock: &ManualClock, subject: &str, data: &[u8], ttl: Duration) -> SessionRecord {
    let now = now_ms(clock);
    SessionRecord::new(subject, data.to_vec(), now, now + ttl)
}

/// Compares everything a store must keep, times at millisecond precision.
fn assert_same(actual: &SessionRecord, expected: &SessionRecord) {
    assert_eq!(actual.subject, expected.subject, "subject");
    assert!(actual.data == expected.data, "data differs");
    let ms = |t: SystemTime| unix_millis(t);
    assert_eq!(ms(actual.created_at), ms(expected.created_at), "created_at");
    assert_eq!(
        ms(actual.last_seen_at),
        ms(expected.last_seen_at),
        "last_seen_at"
    );
    assert_eq!(ms(actual.expires_at), ms(expected.expires_at), "expires_at");
    assert_eq!(actual.version, expected.version, "version");
}

/// Loads through both `load` and `load_shared`, which must answer alike. Test-suite code:
/// a store error fails the clause.
async fn load<S: SessionStore>(store: &S, key: &SessionKey) -> Option<SessionRecord> {
    let owned = store.load(key).await.expect("load");
    let shared = store.load_shared(key).await.expect("load_shared");
    match (&owned, &shared) {
        (Some(owned), Some(shared)) => assert_same(shared, owned),
        (None, None) => {}
        _ => panic!(
            "load found {} record, load_shared {}",
            if owned.is_some() { "a" } else { "no" },
            if shared.is_some() { "one" } else { "none" },
        ),
    }
    owned
}

async fn must_load<S: SessionStore>(store: &S, key: &SessionKey) -> SessionRecord {
    load(store, key).await.expect("a live record")
}

/// What was created loads back unchanged, at version 0.
pub async fn create_then_load_round_trips<S: SessionStore>(store: S, clock: Arc<ManualClock>) {
    let k = key();
    let mut r = record(
        &clock,
        &unique_subject("rt"),
        b"{\"cart\":[1,2]}",
        30 * MINUTE,
    );
    r.version = 41; // create stores version 0 whatever it is given
    store.create(&k, &r).await.unwrap();
    r.version = 0;
    assert_same(&must_load(&store, &k).await, &r);
    assert!(load(&store, &key()).await.is_none(), "unknown key");
}

/// A second create under a live key fails and the first record survives.
pub async fn create_never_overwrites<S: SessionStore>(store: S, clock: Arc<ManualClock>) {
    let k = key();
    let first = record(&clock, &unique_subject("first"), b"first", 30 * MINUTE);
    store.create(&k, &first).await.unwrap();
    let second = record(&clock, &unique_subject("second"), b"second", 30 * MINUTE);
    assert!(matches!(
        store.create(&k, &second).await,
        Err(StoreError::AlreadyExists)
    ));
    assert_same(&must_load(&store, &k).await, &first);
}

/// An expired record does not block a create under its key.
pub async fn create_may_replace_an_expired_record<S: SessionStore>(
    store: S,
    clock: Arc<ManualClock>,
) {
    let k = key();
    store
        .create(&k, &record(&clock, &unique_subject("old"), b"old", MINUTE))
        .await
        .unwrap();
    clock.advance(2 * MINUTE);
    let fresh = record(&clock, &unique_subject("new"), b"new", MINUTE);
    store.create(&k, &fresh).await.unwrap();
    assert_same(&must_load(&store, &k).await, &fresh);
}

/// Past `expires_at` by the store's clock a record is gone for every operation, even
/// though the backend (whose own TTL runs on real time) still holds it.
pub async fn expired_records_never_load<S: SessionStore>(store: S, clock: Arc<ManualClock>) {
    let subject = unique_subject("expired");
    let k = key();
    let r = record(&clock, &subject, b"x", 10 * MINUTE);
    store.create(&k, &r).await.unwrap();
    clock.advance(10 * MINUTE + Duration::from_secs(1));
    assert!(load(&store, &k).await.is_none(), "load");
    assert!(
        store.list_subject(&subject).await.unwrap().is_empty(),
        "list"
    );
    let now = clock.now();
    assert!(!store.touch(&k, now, now + MINUTE).await.unwrap(), "touch");
    assert!(
        matches!(store.save(&k, &r).await, Err(StoreError::Conflict)),
        "save"
    );
    assert!(load(&store, &k).await.is_none(), "still gone");
    assert!(
        !store.delete(&k).await.unwrap(),
        "delete reports no live record"
    );
}

/// A record is live strictly before `expires_at` and dead from that instant.
pub async fn expiry_is_exact_to_the_millisecond<S: SessionStore>(
    store: S,
    clock: Arc<ManualClock>,
) {
    let k = key();
    let r = record(&clock, &unique_subject("edge"), b"x", MINUTE);
    clock.set(r.created_at);
    store.create(&k, &r).await.unwrap();
    clock.set(r.expires_at - Duration::from_millis(1));
    assert!(load(&store, &k).await.is_some(), "1 ms before expiry");
    clock.set(r.expires_at);
    assert!(load(&store, &k).await.is_none(), "at expiry");
}

/// A save with the current version stores the new data and returns version + 1.
pub async fn save_bumps_version_and_persists<S: SessionStore>(store: S, clock: Arc<ManualClock>) {
    let k = key();
    let r = record(&clock, &unique_subject("save"), b"v0", 30 * MINUTE);
    store.create(&k, &r).await.unwrap();
    clock.advance(MINUTE);
    let mut next = must_load(&store, &k).await;
    next.data = b"v1".to_vec();
    next.last_seen_at = now_ms(&clock);
    next.expires_at = next.last_seen_at + 30 * MINUTE;
    assert_eq!(store.save(&k, &next).await.unwrap(), 1);
    next.version = 1;
    assert_same(&must_load(&store, &k).await, &next);
    next.data = b"v2".to_vec();
    assert_eq!(store.save(&k, &next).await.unwrap(), 2);
    assert_eq!(must_load(&store, &k).await.data, b"v2");
}

/// A save carrying a stale version is a `Conflict` and the newer data survives.
pub async fn stale_version_is_conflict_and_newer_data_survives<S: SessionStore>(
    store: S,
    clock: Arc<ManualClock>,
) {
    let k = key();
    store
        .create(
            &k,
            &record(&clock, &unique_subject("stale"), b"v0", 30 * MINUTE),
        )
        .await
        .unwrap();
    let mut a = must_load(&store, &k).await;
    let mut b = a.clone();
    a.data = b"writer a".to_vec();
    b.data = b"writer b".to_vec();
    store.save(&k, &a).await.unwrap();
    assert!(matches!(
        store.save(&k, &b).await,
        Err(StoreError::Conflict)
    ));
    let stored = must_load(&store, &k).await;
    assert_eq!(stored.data, b"writer a");
    assert_eq!(stored.version, 1);
}

/// Saving a session that was deleted meanwhile is a `Conflict`, and it stays deleted.
pub async fn save_never_resurrects_a_deleted_session<S: SessionStore>(
    store: S,
    clock: Arc<ManualClock>,
) {
    let k = key();
    store
        .create(
            &k,
            &record(&clock, &unique_subject("gone"), b"v0", 30 * MINUTE),
        )
        .await
        .unwrap();
    let mut loaded = must_load(&store, &k).await;
    assert!(store.delete(&k).await.unwrap());
    loaded.data = b"late write".to_vec();
    assert!(matches!(
        store.save(&k, &loaded).await,
        Err(StoreError::Conflict)
    ));
    assert!(load(&store, &k).await.is_none());
}

/// Of many concurrent saves from the same loaded version exactly one succeeds.
pub async fn concurrent_saves_of_one_version_have_one_winner<S: SessionStore>(
    store: S,
    clock: Arc<ManualClock>,
) {
    const WRITERS: usize = 8;
    let store = Arc::new(store);
    let k = key();
    store
        .create(
            &k,
            &record(&clock, &unique_subject("race"), b"v0", 30 * MINUTE),
        )
        .await
        .unwrap();
    let loaded = must_load(&*store, &k).await;
    let barrier = Arc::new(tokio::sync::Barrier::new(WRITERS));
    let mut tasks = Vec::new();
    for i in 0..WRITERS {
        let (store, barrier, mut mine) = (store.clone(), barrier.clone(), loaded.clone());
        mine.data = format!("writer {i}").into_bytes();
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            (store.save(&k, &mine).await, mine.data)
        }));
    }
    let mut winners = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            (Ok(version), data) => winners.push((version, data)),
            (Err(StoreError::Conflict), _) => {}
            (Err(other), _) => panic!("unexpected error: {other}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one concurrent save wins");
    let stored = must_load(&*store, &k).await;
    assert_eq!((stored.version, stored.data), winners.remove(0));
}

/// `touch` moves `last_seen_at` and `expires_at` and leaves data and version alone.
pub async fn touch_extends_expiry_without_bumping_version<S: SessionStore>(
    store: S,
    clock: Arc<ManualClock>,
) {
    let k = key();
    let r = record(&clock, &unique_subject("touch"), b"data", 10 * MINUTE);
    store.create(&k, &r).await.unwrap();
    clock.advance(9 * MINUTE);
    let seen = now_ms(&clock);
    assert!(store.touch(&k, seen, seen + 10 * MINUTE).await.unwrap());
    clock.advance(5 * MINUTE); // past the original expiry, inside the extended one
    let touched = must_load(&store, &k).await;
    assert_eq!(unix_millis(touched.last_seen_at), unix_millis(seen));
    assert_eq!(
        unix_millis(touched.expires_at),
        unix_millis(seen + 10 * MINUTE)
    );
    assert_eq!(touched.version, 0);
    assert_eq!(touched.data, b"data");
    // A save from the version loaded before the touch still succeeds.
    let mut write = r.clone();
    write.last_seen_at = seen;
    write.expires_at = seen + 10 * MINUTE;
    assert_eq!(store.save(&k, &write).await.unwrap(), 1);
}

/// Touching an unknown or expired session reports `false` and creates nothing.
pub async fn touch_of_missing_or_expired_is_false<S: SessionStore>(
    store: S,
    clock: Arc<ManualClock>,
) {
    let now = now_ms(&clock);
    let unknown = key();
    assert!(!store.touch(&unknown, now, now + MINUTE).await.unwrap());
    assert!(load(&store, &unknown).await.is_none());
}

/// `delete` removes a session and says whether one was there.
pub async fn delete_removes_and_reports<S: SessionStore>(store: S, clock: Arc<ManualClock>) {
    let k = key();
    store
        .create(&k, &record(&clock, &unique_subject("del"), b"x", MINUTE))
        .await
        .unwrap();
    assert!(store.delete(&k).await.unwrap());
    assert!(load(&store, &k).await.is_none());
    assert!(!store.delete(&k).await.unwrap());
}

/// "Log out everywhere" deletes every session of the subject and no other.
pub async fn delete_subject_removes_every_session_of_that_subject_and_no_other<S: SessionStore>(
    store: S,
    clock: Arc<ManualClock>,
) {
    let alice = unique_subject("alice");
    let bob = unique_subject("bob");
    let alices: Vec<SessionKey> = (0..5).map(|_| key()).collect();
    for k in &alices {
        store
            .create(k, &record(&clock, &alice, b"a", 30 * MINUTE))
            .await
            .unwrap();
    }
    // Subjects that extend, contain or differ only in case from alice's are other users.
    let others = [
        bob,
        format!("{alice}2"),
        alice.to_uppercase(),
        format!("x{alice}"),
    ];
    let mut other_keys = Vec::new();
    for other in &others {
        let k = key();
        store
            .create(&k, &record(&clock, other, b"b", 30 * MINUTE))
            .await
            .unwrap();
        other_keys.push(k);
    }
    assert_eq!(store.delete_subject(&alice).await.unwrap(), 5);
    for k in &alices {
        assert!(load(&store, k).await.is_none());
    }
    assert!(store.list_subject(&alice).await.unwrap().is_empty());
    for (other, k) in others.iter().zip(&other_keys) {
        assert!(load(&store, k).await.is_some(), "{other} survives");
        assert_eq!(store.list_subject(other).await.unwrap().len(), 1);
    }
    assert_eq!(store.delete_subject(&alice).await.unwrap(), 0);
}

/// A subject's list holds its live sessions only, with their keys.
pub async fn list_subject_lists_only_live_sessions<S: SessionStore>(
    store: S,
    clock: Arc<ManualClock>,
) {
    let subject = unique_subject("list");
    let short = key();
    let long = key();
    let deleted = key();
    store
        .create(&short, &record(&clock, &subject, b"short", MINUTE))
        .await
        .unwrap();
    store
        .create(&long, &record(&clock, &subject, b"long", 60 * MINUTE))
        .await
        .unwrap();
    store
        .create(&deleted, &record(&clock, &subject, b"deleted", 60 * MINUTE))
        .await
        .unwrap();
    store
        .create(
            &key(),
            &record(&clock, &unique_subject("other"), b"o", 60 * MINUTE),
        )
        .await
        .unwrap();
    store.delete(&deleted).await.unwrap();
    assert_eq!(store.list_subject(&subject).await.unwrap().len(), 2);
    clock.advance(2 * MINUTE);
    let listed = store.list_subject(&subject).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].key, long);
    assert_eq!(listed[0].record.data, b"long");
    assert_eq!(listed[0].record.subject, subject);
}

/// Data of every size up to [`MAX_DATA_LEN`], with every byte value, round-trips exactly.
pub async fn data_up_to_the_limit_round_trips_byte_for_byte<S: SessionStore>(
    store: S,
    clock: Arc<ManualClock>,
) {
    let subject = unique_subject("bytes");
    for len in [0, 1, 255, 256, 4096, MAX_DATA_LEN - 1, MAX_DATA_LEN] {
        let k = key();
        let data = every_byte(len);
        store
            .create(&k, &record(&clock, &subject, &data, MINUTE))
            .await
            .unwrap();
        let loaded = must_load(&store, &k).await;
        assert!(loaded.data == data, "{len} bytes did not round-trip");
        let mut next = loaded;
        next.data = data.iter().rev().copied().collect();
        store.save(&k, &next).await.unwrap();
        assert!(
            must_load(&store, &k).await.data == next.data,
            "save of {len}"
        );
    }
    let long_subject = "s".repeat(MAX_SUBJECT_LEN);
    let k = key();
    store
        .create(&k, &record(&clock, &long_subject, b"", MINUTE))
        .await
        .unwrap();
    assert_eq!(must_load(&store, &k).await.subject, long_subject);
}

/// Values over the limits are `TooLarge`, a subject with NUL is `InvalidInput`, and
/// neither changes the store.
pub async fn oversized_values_are_refused_and_nothing_changes<S: SessionStore>(
    store: S,
    clock: Arc<ManualClock>,
) {
    let subject = unique_subject("big");
    let k = key();
    let too_big = every_byte(MAX_DATA_LEN + 1);
    assert!(matches!(
        store
            .create(&k, &record(&clock, &subject, &too_big, MINUTE))
            .await,
        Err(StoreError::TooLarge { .. })
    ));
    assert!(load(&store, &k).await.is_none());
    let long_subject = "s".repeat(MAX_SUBJECT_LEN + 1);
    assert!(matches!(
        store
            .create(&k, &record(&clock, &long_subject, b"", MINUTE))
            .await,
        Err(StoreError::TooLarge { .. })
    ));
    assert!(matches!(
        store
            .create(&k, &record(&clock, "nul\u{0}inside", b"", MINUTE))
            .await,
        Err(StoreError::InvalidInput(_))
    ));
    store
        .create(&k, &record(&clock, &subject, b"small", MINUTE))
        .await
        .unwrap();
    let mut next = must_load(&store, &k).await;
    next.data = too_big;
    assert!(matches!(
        store.save(&k, &next).await,
        Err(StoreError::TooLarge { .. })
    ));
    let stored = must_load(&store, &k).await;
    assert_eq!((stored.data, stored.version), (b"small".to_vec(), 0));
}

/// Every method given a subject refuses one no backend keeps faithfully (too long:
/// `TooLarge`; NUL: `InvalidInput`), reads and deletes as well as writes.
pub async fn rule_breaking_subjects_are_refused_by_every_method<S: SessionStore>(
    store: S,
    clock: Arc<ManualClock>,
) {
    for subject in rule_breaking_subjects() {
        let created = store
            .create(&key(), &record(&clock, &subject, b"", MINUTE))
            .await;
        assert_subject_refused("create", &subject, created);
        assert_subject_refused(
            "delete_subject",
            &subject,
            store.delete_subject(&subject).await,
        );
        assert_subject_refused("list_subject", &subject, store.list_subject(&subject).await);
    }
}

/// Subjects full of characters that mean something to some backend (globs, hash tags,
/// separators, quotes, SQL, control and non-ASCII characters) stay separate subjects.
pub async fn hostile_subjects_stay_isolated<S: SessionStore>(store: S, clock: Arc<ManualClock>) {
    let base = unique_subject("h");
    let subjects: Vec<String> = [
        "",
        "*",
        "?",
        "{tag}",
        "}{",
        ":",
        "a:b",
        "%",
        "_",
        "\\",
        "'",
        "\"",
        "' OR '1'='1",
        "'; DROP TABLE sessions; --",
        "\n\r\t",
        "ünïcødé €",
        "[a-z]",
        " ",
        "a",
        "A",
        "u",
        "ü",
    ]
    .iter()
    .map(|s| format!("{base}{s}"))
    .collect();
    let mut keys = Vec::new();
    for s in &subjects {
        let k = key();
        store
            .create(&k, &record(&clock, s, s.as_bytes(), MINUTE))
            .await
            .unwrap();
        keys.push(k);
    }
    for (s, k) in subjects.iter().zip(&keys) {
        let listed = store.list_subject(s).await.unwrap();
        assert_eq!(
            listed.len(),
            1,
            "subject {s:?} lists exactly its own session"
        );
        assert_eq!(&listed[0].key, k);
        assert_eq!(must_load(&store, k).await.subject, *s);
    }
    // Deleting the glob-like subject removes only that one.
    let star = format!("{base}*");
    assert_eq!(store.delete_subject(&star).await.unwrap(), 1);
    for (s, k) in subjects.iter().zip(&keys) {
        assert_eq!(load(&store, k).await.is_some(), *s != star, "{s:?}");
    }
}

/// `purge_expired` removes no live record (backends with native expiry may remove none).
pub async fn purge_expired_keeps_live_records<S: SessionStore>(store: S, clock: Arc<ManualClock>) {
    let subject = unique_subject("purge");
    let live = key();
    let dead = key();
    store
        .create(&dead, &record(&clock, &subject, b"dead", MINUTE))
        .await
        .unwrap();
    store
        .create(&live, &record(&clock, &subject, b"live", 60 * MINUTE))
        .await
        .unwrap();
    clock.advance(2 * MINUTE);
    let purged = store.purge_expired().await.unwrap();
    assert!(purged <= 1, "purged {purged} records, only one was expired");
    assert_eq!(must_load(&store, &live).await.data, b"live");
    assert!(load(&store, &dead).await.is_none());
}
