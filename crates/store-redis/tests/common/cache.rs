//! Local-cache scenarios with two store instances ("processes") on separate connections
//! to the same deployment, run against a single server and against the cluster.

use std::time::{Duration, Instant, SystemTime};

use auth_core::store::{SessionRecord, TokenRef};
use auth_core::{FamilyId, RevocationStore, SessionId, SessionKey, SessionStore, StoreError};
use store_redis::{LocalCacheStats, RedisRevocationStore, RedisSessionStore, RedisStoreBuilder};

/// How long an invalidation may take before a test fails: far above the milliseconds it
/// takes, so that a loaded machine does not fail the test, while a missing one still does.
pub const BOUND: Duration = Duration::from_secs(2);

/// Polls `check` every 2 ms until it holds; fails the test, naming `what`, after [`BOUND`].
/// Returns how long it took.
pub async fn within_bound<F, Fut>(what: &str, mut check: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let started = Instant::now();
    loop {
        if check().await {
            return started.elapsed();
        }
        assert!(started.elapsed() < BOUND, "{what}: not within {BOUND:?}");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

fn stats(sessions: &RedisSessionStore) -> LocalCacheStats {
    sessions.local_cache_stats().expect("a cached store")
}

fn revocation_stats(revocations: &RedisRevocationStore) -> LocalCacheStats {
    revocations.local_cache_stats().expect("a cached store")
}

fn record(subject: &str, data: &[u8]) -> SessionRecord {
    let now = SystemTime::now();
    SessionRecord::new(subject, data.to_vec(), now, now + Duration::from_secs(600))
}

/// `store.load(key)`, which must answer.
pub async fn load(store: &RedisSessionStore, key: &SessionKey) -> Option<SessionRecord> {
    store.load(key).await.expect("load")
}

/// Waits until `store` has seen an invalidation since `before`, then loads `key`.
async fn load_after_invalidation(
    store: &RedisSessionStore,
    before: LocalCacheStats,
    key: &SessionKey,
    what: &str,
) -> Option<SessionRecord> {
    within_bound(what, || async {
        stats(store).invalidations > before.invalidations
    })
    .await;
    load(store, key).await
}

/// Loads `key` twice through `store` and proves the second answer came from memory.
async fn warm(store: &RedisSessionStore, key: &SessionKey) -> SessionRecord {
    let first = load(store, key).await.expect("a live session");
    let before = stats(store);
    let second = load(store, key).await.expect("a live session");
    let after = stats(store);
    assert_eq!(second, first);
    assert_eq!(
        (after.hits, after.misses),
        (before.hits + 1, before.misses),
        "a warm load is a hit"
    );
    second
}

/// Two session stores with local caches, `a` and `b` on separate connections: every write
/// through `b` evicts `a`'s copy (and the other way round), including after `a`'s own
/// write-through updates; `a`'s own writes are seen by `a` at once, from memory.
pub async fn session_writes_evict_other_instances(a: &RedisStoreBuilder, b: &RedisStoreBuilder) {
    let (a, b) = (a.sessions().unwrap(), b.sessions().unwrap());
    let key = SessionId::generate().unwrap().key();
    let subject = crate::common::fresh_prefix();
    b.create(&key, &record(&subject, b"v0")).await.unwrap();
    let cached = warm(&a, &key).await;
    assert_eq!(cached.data, b"v0");

    // A save through b: a's copy goes, and a reads the new version.
    let before = stats(&a);
    let mut next = cached.clone();
    next.data = b"saved by b".to_vec();
    let started = Instant::now();
    b.save(&key, &next).await.unwrap();
    let loaded = load_after_invalidation(&a, before, &key, "b's save evicts a's copy").await;
    eprintln!("eviction after a save elsewhere: {:?}", started.elapsed());
    let loaded = loaded.expect("still live");
    assert_eq!(
        (loaded.data.as_slice(), loaded.version),
        (&b"saved by b"[..], 1)
    );

    // A touch through a updates a's copy in place: the next load is a hit.
    let now = SystemTime::now();
    let (seen, until) = (now + Duration::from_secs(1), now + Duration::from_secs(900));
    warm(&a, &key).await;
    assert!(a.touch(&key, seen, until).await.unwrap());
    let before = stats(&a);
    let touched = load(&a, &key).await.expect("live");
    assert_eq!(
        stats(&a).misses,
        before.misses,
        "a touch leaves a warm entry"
    );
    assert_eq!(touched.version, 1);
    assert_eq!((touched.last_seen_at, touched.expires_at), (seen, until));
    // b held the version before the touch; once evicted, it reads what a holds.
    within_bound("the copy a updated is what Redis holds", || async {
        load(&b, &key).await.as_ref() == Some(&touched)
    })
    .await;
    let from_redis = touched.clone();

    // ...and a write elsewhere still evicts it: a's own write did not end its tracking.
    let before = stats(&a);
    let mut next = from_redis.clone();
    next.data = b"saved by b after a's touch".to_vec();
    b.save(&key, &next).await.unwrap();
    let loaded = load_after_invalidation(&a, before, &key, "b's save after a's touch").await;
    assert_eq!(loaded.expect("live").data, b"saved by b after a's touch");

    // A save through a: seen by a at once from memory, and by b after its eviction.
    let cached_in_b = warm(&b, &key).await;
    let mut mine = warm(&a, &key).await;
    mine.data = b"saved by a".to_vec();
    let before_b = stats(&b);
    mine.version = a.save(&key, &mine).await.unwrap();
    let before = stats(&a);
    let loaded = load(&a, &key).await.expect("live");
    assert_eq!(
        stats(&a).misses,
        before.misses,
        "a save leaves a warm entry"
    );
    assert_eq!(
        (loaded.data.as_slice(), loaded.version),
        (&b"saved by a"[..], 3)
    );
    assert_eq!(cached_in_b.version, 2);
    let loaded = load_after_invalidation(&b, before_b, &key, "a's save evicts b's copy").await;
    assert_eq!(loaded.expect("live").version, 3);

    // A delete through b: a's copy goes.
    warm(&a, &key).await;
    let before = stats(&a);
    assert!(b.delete(&key).await.unwrap());
    let loaded = load_after_invalidation(&a, before, &key, "b's delete evicts a's copy").await;
    assert_eq!(loaded, None);

    // Log out everywhere through b: every copy a holds of the subject goes.
    let keys: Vec<SessionKey> = (0..3)
        .map(|_| SessionId::generate().unwrap().key())
        .collect();
    for key in &keys {
        b.create(key, &record(&subject, b"many")).await.unwrap();
        warm(&a, key).await;
    }
    assert_eq!(b.delete_subject(&subject).await.unwrap(), 3);
    for key in &keys {
        within_bound("log out everywhere evicts a's copies", || async {
            load(&a, key).await.is_none()
        })
        .await;
    }

    // And through a: gone from a at once, with no wait.
    let key = SessionId::generate().unwrap().key();
    a.create(&key, &record(&subject, b"own")).await.unwrap();
    warm(&a, &key).await;
    assert_eq!(a.delete_subject(&subject).await.unwrap(), 1);
    assert_eq!(load(&a, &key).await, None);
}

/// Two revocation stores with local caches on separate connections: a token checked (and
/// cached as not revoked) by `a` is refused by `a` soon after `b` revokes its `jti`, its
/// family or its subject; `a`'s own revocations are refused by `a` at once.
pub async fn revocations_elsewhere_are_refused(a: &RedisStoreBuilder, b: &RedisStoreBuilder) {
    let (a, b) = (a.revocations().unwrap(), b.revocations().unwrap());
    let subject = crate::common::fresh_prefix();
    let issued = SystemTime::now() - Duration::from_secs(10);
    let until = SystemTime::now() + Duration::from_secs(600);
    let family = FamilyId::generate().unwrap();
    let token = TokenRef::new("iss", &subject, issued)
        .jti(Some("jti-1"))
        .family(Some(&family));

    // Warm: the three keys (subject, jti, family) are held as "nothing stored".
    assert!(!a.is_token_revoked(&token).await.unwrap());
    let before = revocation_stats(&a);
    assert!(!a.is_token_revoked(&token).await.unwrap());
    let after = revocation_stats(&a);
    assert_eq!(
        (after.hits, after.misses),
        (before.hits + 3, before.misses),
        "a warm check is answered from memory"
    );

    b.revoke("iss", "jti-1", until).await.unwrap();
    let took = within_bound("b's jti revocation refused by a", || async {
        a.is_token_revoked(&token).await.unwrap()
    })
    .await;
    eprintln!("revocation refused elsewhere after {took:?}");

    let family = FamilyId::generate().unwrap();
    let other = TokenRef::new("iss", &subject, issued)
        .jti(Some("jti-2"))
        .family(Some(&family));
    assert!(!a.is_token_revoked(&other).await.unwrap());
    b.revoke_family("iss", &family, until).await.unwrap();
    within_bound("b's family revocation refused by a", || async {
        a.is_token_revoked(&other).await.unwrap()
    })
    .await;

    // The subject's key is held now; a login's read of its "not before" still goes to
    // Redis, so it sees a logout everywhere that b finished, even before the
    // invalidation reaches a.
    let plain = TokenRef::new("iss", &subject, issued);
    assert!(!a.is_token_revoked(&plain).await.unwrap());
    let before = revocation_stats(&a);
    assert_eq!(a.subject_not_before(&subject).await.unwrap(), None);
    assert_eq!(
        revocation_stats(&a).hits,
        before.hits,
        "a subject's \"not before\" is never answered from memory"
    );
    b.revoke_subject(&subject, SystemTime::now(), until)
        .await
        .unwrap();
    assert!(a.subject_not_before(&subject).await.unwrap().is_some());
    within_bound("b's subject revocation refused by a", || async {
        a.is_token_revoked(&plain).await.unwrap()
    })
    .await;
    assert!(a.subject_not_before(&subject).await.unwrap().is_some());

    // a's own revocation: refused by a at once.
    assert!(!a.is_revoked("iss", "jti-3").await.unwrap());
    a.revoke("iss", "jti-3", until).await.unwrap();
    assert!(a.is_revoked("iss", "jti-3").await.unwrap());
}

/// Kills, on the server at `port`, every client named after the local cache of `builder`'s
/// store kind `kind` (`s`, `rv`); returns how many.
pub fn kill_cache_connections(port: u16, prefix: &str, kind: &str) -> usize {
    let name = format!("name=authkit-cache:{{{prefix}:{kind}}} ");
    let list = crate::common::cli(port, &["CLIENT", "LIST"]).expect("CLIENT LIST");
    let ids: Vec<String> = list
        .lines()
        .filter(|line| line.contains(&name))
        .filter_map(|line| {
            line.split(' ')
                .find_map(|field| field.strip_prefix("id="))
                .map(str::to_owned)
        })
        .collect();
    for id in &ids {
        crate::common::cli(port, &["CLIENT", "KILL", "ID", id]).expect("CLIENT KILL");
    }
    ids.len()
}

/// A session cached by `a` and changed through `b` while `a`'s invalidation connection is
/// killed: `a` flushes, fails closed or reconnects, and never answers the old version.
/// `kill` kills `a`'s invalidation connections and returns how many it killed.
pub async fn a_lost_invalidation_connection_flushes(
    a: &RedisStoreBuilder,
    b: &RedisStoreBuilder,
    kill: impl Fn() -> usize,
) {
    let (a, b) = (a.sessions().unwrap(), b.sessions().unwrap());
    let key = SessionId::generate().unwrap().key();
    let subject = crate::common::fresh_prefix();
    b.create(&key, &record(&subject, b"before")).await.unwrap();
    let cached = warm(&a, &key).await;
    // b's own copy, so that b is not the one reading the change back.
    warm(&b, &key).await;

    let before = stats(&a);
    assert!(kill() >= 1, "a's invalidation connection was found");
    let mut next = cached.clone();
    next.data = b"after".to_vec();
    // b's cache connection has the same name as a's and was killed too: b fails closed
    // until it has reconnected. Its failed attempts were never applied (the server had
    // closed the connection before they were sent), so the retry cannot conflict.
    within_bound("b writes once reconnected", || async {
        match b.save(&key, &next).await {
            Ok(_) => true,
            Err(StoreError::Unavailable(_)) => false,
            Err(other) => panic!("{other:?}"),
        }
    })
    .await;
    within_bound(
        "a flushes when its invalidation connection is lost",
        || async { stats(&a).flushes > before.flushes },
    )
    .await;
    // Nothing held any more: a answers from Redis (once reconnected) or fails closed.
    within_bound("a answers again after reconnecting", || async {
        match a.load(&key).await {
            Ok(Some(loaded)) => {
                assert_eq!(loaded.data, b"after", "never the version before the loss");
                true
            }
            Ok(None) => panic!("the session is live"),
            Err(StoreError::Unavailable(_)) => false,
            Err(other) => panic!("{other:?}"),
        }
    })
    .await;
}
