//! What the conformance suite cannot see: building stores from an existing connection,
//! refused settings, broken stored values, index pruning, key layout, native TTLs, and
//! the commands a revocation check sends.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failed test.

mod common;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use auth_core::store::{RefreshRecord, Rotation, SessionRecord, ThrottleKey, TokenRef};
use auth_core::{
    Clock, ManualClock, RefreshToken, RefreshTokenStore, RevocationStore, SessionId, SessionStore,
    StoreError, ThrottleStore,
};
use store_redis::{ConfigError, RedisConnection, RedisStoreBuilder};

async fn raw() -> redis::aio::MultiplexedConnection {
    common::connection().await;
    let client = redis::Client::open(common::redis_url()).unwrap();
    client.get_multiplexed_async_connection().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_can_be_built_on_an_existing_connection_manager() {
    common::connection().await;
    let client = redis::Client::open(common::redis_url()).unwrap();
    let manager = redis::aio::ConnectionManager::new(client).await.unwrap();
    let connection =
        RedisConnection::from_manager(manager).with_timeout(Duration::from_millis(500));
    assert_eq!(connection.timeout(), Duration::from_millis(500));
    let sessions = RedisStoreBuilder::new(connection)
        .prefix(common::fresh_prefix())
        .sessions()
        .unwrap();
    let id = SessionId::generate().unwrap();
    let now = SystemTime::now();
    let record = SessionRecord::new("erin", b"d".to_vec(), now, now + Duration::from_secs(60));
    sessions.create(&id.key(), &record).await.unwrap();
    assert_eq!(sessions.load(&id.key()).await.unwrap().unwrap().data, b"d");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_settings_are_typed_errors() {
    assert!(matches!(
        RedisConnection::connect("not a url").await,
        Err(ConfigError::InvalidConnection(_))
    ));
    assert!(matches!(
        RedisConnection::connect_with_timeout("redis://127.0.0.1", Duration::ZERO).await,
        Err(ConfigError::ZeroTimeout)
    ));
    let connection = RedisConnection::connect("redis://127.0.0.1").await.unwrap();
    for prefix in ["", "a{b}", "has space", "star*", &"p".repeat(65)] {
        let builder = RedisStoreBuilder::new(connection.clone()).prefix(prefix);
        assert!(
            matches!(builder.sessions(), Err(ConfigError::InvalidPrefix(_))),
            "{prefix:?}"
        );
        assert!(builder.revocations().is_err());
        assert!(builder.refresh_tokens().is_err());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_stored_values_are_corrupt_not_a_panic() {
    let prefix = common::fresh_prefix();
    let builder = RedisStoreBuilder::new(common::connection().await).prefix(&prefix);
    let sessions = builder.sessions().unwrap();
    let refresh = builder.refresh_tokens().unwrap();
    let revocations = builder.revocations().unwrap();
    let mut c = raw().await;

    let id = SessionId::generate().unwrap();
    let key = format!("{{{prefix}:s}}:rec:{}", id.key().to_hex());
    for garbage in [
        &b""[..],
        b"\x01",
        b"\x01not digits at all, not at all, no",
        &[0xff; 200],
    ] {
        let _: () = redis::cmd("SET")
            .arg(&key)
            .arg(garbage)
            .query_async(&mut c)
            .await
            .unwrap();
        let loaded = sessions.load(&id.key()).await;
        assert!(
            matches!(loaded, Err(StoreError::Corrupt(_))),
            "{garbage:?}: {loaded:?}"
        );
    }
    let _: () = redis::cmd("DEL")
        .arg(&key)
        .query_async(&mut c)
        .await
        .unwrap();
    let _: () = redis::cmd("RPUSH")
        .arg(&key)
        .arg("x")
        .query_async(&mut c)
        .await
        .unwrap();
    assert!(matches!(
        sessions.load(&id.key()).await,
        Err(StoreError::Corrupt(_))
    ));

    let token = RefreshToken::generate().unwrap();
    let token_key = format!("{{{prefix}:rt}}:tok:{}", token.hash().to_hex());
    let live = format!("{:020}", u64::MAX);
    let subject_name = "0".repeat(32);
    for value in [
        // Live-looking header, garbage after it.
        format!("\x020{live}{:020}{live}zz", 0),
        // Live-looking header, a family length that runs past the end.
        format!("\x020{live}{:020}{live}{subject_name}64abc", 0),
        // The layout before families had an end (format 1), as it was written.
        format!("\x010{live}{:020}{subject_name}03fam003bob", 0),
    ] {
        let _: () = redis::cmd("SET")
            .arg(&token_key)
            .arg(&value)
            .query_async(&mut c)
            .await
            .unwrap();
        let new = RefreshToken::generate().unwrap().hash();
        let now = SystemTime::now();
        let rotated = refresh.rotate(&token.hash(), &new, now, now).await;
        assert!(
            matches!(rotated, Err(StoreError::Corrupt(_))),
            "{value:?}: {rotated:?}"
        );
    }
    let now = SystemTime::now();

    revocations
        .revoke("iss", "j", now + Duration::from_secs(60))
        .await
        .unwrap();
    let mut keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{{{prefix}:rv}}:jti:*"))
        .query_async(&mut c)
        .await
        .unwrap();
    let _: () = redis::cmd("SET")
        .arg(keys.remove(0))
        .arg("soon")
        .query_async(&mut c)
        .await
        .unwrap();
    assert!(matches!(
        revocations.is_revoked("iss", "j").await,
        Err(StoreError::Corrupt(_))
    ));
}

/// Two nodes whose clocks differ by 2 s, within the TTL slack (5 s): a write on the node
/// ahead never prunes from the subject's index a session that the node behind still
/// serves, so "log out everywhere" on the node behind still finds it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_whose_clock_runs_ahead_never_hides_a_session_from_log_out_everywhere() {
    let ((behind, a), (ahead, b)) = skewed_nodes().await;
    let (a, b) = (a.sessions().unwrap(), b.sessions().unwrap());
    let now = behind.now();
    let idle = SessionId::generate().unwrap().key();
    let short = SessionRecord::new("gina", Vec::new(), now, now + Duration::from_secs(1));
    a.create(&idle, &short).await.unwrap();
    let now = ahead.now();
    let record = SessionRecord::new("gina", Vec::new(), now, now + Duration::from_secs(3600));
    b.create(&SessionId::generate().unwrap().key(), &record)
        .await
        .unwrap();
    assert_eq!(a.delete_subject("gina").await.unwrap(), 2);
    assert!(a.load(&idle).await.unwrap().is_none());
    let now = behind.now();
    assert!(
        !a.touch(&idle, now, now + Duration::from_secs(60))
            .await
            .unwrap()
    );
}

/// The same for refresh families: a family the node behind still honours is never pruned
/// from the subject's index by the node ahead, so revoking the subject ends it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_whose_clock_runs_ahead_never_hides_a_family_from_revoke_subject() {
    let ((behind, a), (ahead, b)) = skewed_nodes().await;
    let (a, b) = (a.refresh_tokens().unwrap(), b.refresh_tokens().unwrap());
    let day = Duration::from_secs(86_400);
    let token = |clock: &Arc<ManualClock>, lifetime: Duration| {
        let now = clock.now();
        let family = auth_core::FamilyId::generate().unwrap();
        RefreshRecord::new(family, "hugo", Vec::new(), now, now + lifetime)
            .with_family_expires_at(now + 30 * day)
    };
    let old = RefreshToken::generate().unwrap().hash();
    a.insert(&old, &token(&behind, Duration::from_secs(1)))
        .await
        .unwrap();
    let other = RefreshToken::generate().unwrap().hash();
    b.insert(&other, &token(&ahead, day)).await.unwrap();
    assert_eq!(a.revoke_subject("hugo").await.unwrap(), 2);
    let now = behind.now();
    let next = RefreshToken::generate().unwrap().hash();
    let rotated = a.rotate(&old, &next, now, now + 30 * day).await.unwrap();
    assert!(matches!(rotated, Rotation::Unknown), "the family lives on");
}

/// A revocation written on the node whose clock runs ahead is kept while the node behind
/// still accepts the token: by the writer's clock it is over, by the reader's it is not.
/// The same for a subject's "not before", which a later write from the node ahead
/// neither deletes nor moves back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_whose_clock_runs_ahead_never_drops_a_revocation_the_other_still_needs() {
    let ((behind, a), (_, b)) = skewed_nodes().await;
    let (a, b) = (a.revocations().unwrap(), b.revocations().unwrap());
    let until = behind.now() + Duration::from_secs(1);
    b.revoke("iss", "skewed", until).await.unwrap();
    assert!(a.is_revoked("iss", "skewed").await.unwrap());
    let family = auth_core::FamilyId::generate().unwrap();
    b.revoke_family("iss", &family, until).await.unwrap();
    let token = TokenRef::new("iss", "ivy", behind.now()).family(Some(&family));
    assert!(a.is_token_revoked(&token).await.unwrap());

    let not_before = behind.now();
    a.revoke_subject("ivy", not_before, until).await.unwrap();
    b.revoke_subject(
        "ivy",
        not_before - Duration::from_secs(60),
        behind.now() + Duration::from_millis(500),
    )
    .await
    .unwrap();
    assert_eq!(
        a.subject_not_before("ivy").await.unwrap(),
        Some(not_before),
        "the node ahead deleted or moved back a \"not before\" still in force here"
    );
}

/// Two processes' stores on one prefix, the second's clock 2 s ahead of the first's (less
/// than the default TTL slack).
async fn skewed_nodes() -> (
    (Arc<ManualClock>, RedisStoreBuilder),
    (Arc<ManualClock>, RedisStoreBuilder),
) {
    let prefix = common::fresh_prefix();
    let behind = Arc::new(ManualClock::starting_now());
    let ahead = Arc::new(ManualClock::new(behind.now() + Duration::from_secs(2)));
    let mut nodes = Vec::new();
    for clock in [behind, ahead] {
        let builder = RedisStoreBuilder::new(common::connection().await)
            .prefix(&prefix)
            .clock(clock.clone());
        nodes.push((clock, builder));
    }
    let ahead = nodes.pop().unwrap();
    (nodes.pop().unwrap(), ahead)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_subject_index_is_pruned_and_expires_with_its_sessions() {
    let prefix = common::fresh_prefix();
    let clock = Arc::new(ManualClock::starting_now());
    let sessions = RedisStoreBuilder::new(common::connection().await)
        .prefix(&prefix)
        .clock(clock.clone())
        .sessions()
        .unwrap();
    let mut c = raw().await;
    let subject = "frank";
    let index = {
        let keys: Vec<String> = {
            let now = clock.now();
            let first = SessionId::generate().unwrap().key();
            let record =
                SessionRecord::new(subject, Vec::new(), now, now + Duration::from_secs(60));
            sessions.create(&first, &record).await.unwrap();
            redis::cmd("KEYS")
                .arg(format!("{{{prefix}:s}}:sub:*"))
                .query_async(&mut c)
                .await
                .unwrap()
        };
        assert_eq!(keys.len(), 1);
        keys[0].clone()
    };
    // 50 short sessions, each created after the previous expired by every node's clock
    // (the store's, less the TTL slack of 5 s): the index never holds more than the live
    // one and the newest.
    for _ in 0..50 {
        clock.advance(Duration::from_secs(66));
        let now = clock.now();
        let record = SessionRecord::new(subject, Vec::new(), now, now + Duration::from_secs(60));
        sessions
            .create(&SessionId::generate().unwrap().key(), &record)
            .await
            .unwrap();
        let members: usize = redis::cmd("ZCARD")
            .arg(&index)
            .query_async(&mut c)
            .await
            .unwrap();
        assert_eq!(members, 1, "dead members are pruned on create");
    }
    // The index lives exactly as long as its longest session (plus the slack).
    let ttl: i64 = redis::cmd("PTTL")
        .arg(&index)
        .query_async(&mut c)
        .await
        .unwrap();
    assert!(ttl > 0 && ttl <= 65_000 + 66_000 * 51, "index ttl {ttl}");
    assert_eq!(sessions.list_subject(subject).await.unwrap().len(), 1);
    // Deleting the last session removes its index entry, and with it the index.
    let listed = sessions.list_subject(subject).await.unwrap();
    assert!(sessions.delete(&listed[0].key).await.unwrap());
    let exists: i64 = redis::cmd("EXISTS")
        .arg(&index)
        .query_async(&mut c)
        .await
        .unwrap();
    assert_eq!(exists, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn touch_moves_the_native_ttl_and_the_index_with_the_deadline() {
    let prefix = common::fresh_prefix();
    let clock = Arc::new(ManualClock::starting_now());
    let sessions = RedisStoreBuilder::new(common::connection().await)
        .prefix(&prefix)
        .clock(clock.clone())
        .ttl_slack(Duration::ZERO)
        .sessions()
        .unwrap();
    let mut c = raw().await;
    let id = SessionId::generate().unwrap();
    let now = clock.now();
    let record = SessionRecord::new("gail", Vec::new(), now, now + Duration::from_secs(60));
    sessions.create(&id.key(), &record).await.unwrap();
    assert!(
        sessions
            .touch(&id.key(), now, now + Duration::from_secs(3600))
            .await
            .unwrap()
    );
    let key = format!("{{{prefix}:s}}:rec:{}", id.key().to_hex());
    let ttl: i64 = redis::cmd("PTTL")
        .arg(&key)
        .query_async(&mut c)
        .await
        .unwrap();
    assert!(ttl > 3_590_000, "record ttl {ttl}");
    let index: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{{{prefix}:s}}:sub:*"))
        .query_async(&mut c)
        .await
        .unwrap();
    let ttl: i64 = redis::cmd("PTTL")
        .arg(&index[0])
        .query_async(&mut c)
        .await
        .unwrap();
    assert!(ttl > 3_590_000, "index ttl {ttl}");
    // Long past the first deadline, the touched session is still indexed and listed.
    clock.advance(Duration::from_secs(1800));
    assert_eq!(sessions.list_subject("gail").await.unwrap().len(), 1);
    assert_eq!(sessions.delete_subject("gail").await.unwrap(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_a_family_keeps_used_tokens_as_tombstones_and_forgets_the_family() {
    let prefix = common::fresh_prefix();
    let refresh = RedisStoreBuilder::new(common::connection().await)
        .prefix(&prefix)
        .refresh_tokens()
        .unwrap();
    let mut c = raw().await;
    let now = SystemTime::now();
    let later = now + Duration::from_secs(600);
    let family = auth_core::FamilyId::generate().unwrap();
    let (a, b) = (
        RefreshToken::generate().unwrap().hash(),
        RefreshToken::generate().unwrap().hash(),
    );
    let record =
        auth_core::store::RefreshRecord::new(family.clone(), "hal", Vec::new(), now, later);
    refresh.insert(&a, &record).await.unwrap();
    refresh.rotate(&a, &b, now, later).await.unwrap();
    // One unused token (b) is revoked; the used one (a) stays and keeps reporting reuse.
    assert_eq!(refresh.revoke_family(&family).await.unwrap(), 1);
    let replay = refresh
        .rotate(&a, &RefreshToken::generate().unwrap().hash(), now, later)
        .await
        .unwrap();
    assert!(
        matches!(replay, auth_core::store::Rotation::Reused { .. }),
        "{replay:?}"
    );
    // Nothing but the tombstone is left: no family or subject index.
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{{{prefix}:rt}}:*"))
        .query_async(&mut c)
        .await
        .unwrap();
    assert_eq!(keys, vec![format!("{{{prefix}:rt}}:tok:{}", a.to_hex())]);
    assert_eq!(refresh.revoke_subject("hal").await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn is_token_revoked_is_one_mget_of_jti_family_and_subject() {
    // A server of its own, so that its slow log holds only this test's commands.
    let dir = tempfile::tempdir().unwrap();
    let port = common::free_port();
    common::spawn_server(dir.path(), port, &["--save", "", "--appendonly", "no"]);
    let url = format!("redis://127.0.0.1:{port}");
    let revocations = RedisStoreBuilder::new(RedisConnection::connect(&url).await.unwrap())
        .prefix(common::fresh_prefix())
        .revocations()
        .unwrap();
    let family = auth_core::FamilyId::generate().unwrap();
    let now = SystemTime::now();
    revocations
        .revoke_family("iss", &family, now + Duration::from_secs(60))
        .await
        .unwrap();
    let mut c = redis::Client::open(url.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("slowlog-log-slower-than")
        .arg(0)
        .query_async(&mut c)
        .await
        .unwrap();
    let _: () = redis::cmd("SLOWLOG")
        .arg("RESET")
        .query_async(&mut c)
        .await
        .unwrap();
    let token = TokenRef::new("iss", "ivy", now)
        .jti(Some("j-1"))
        .family(Some(&family));
    assert!(revocations.is_token_revoked(&token).await.unwrap());
    // Each entry: id, time, duration, arguments, client address, client name.
    type Entry = (i64, i64, i64, Vec<String>, String, String);
    let log: Vec<Entry> = redis::cmd("SLOWLOG")
        .arg("GET")
        .arg(100)
        .query_async(&mut c)
        .await
        .unwrap();
    let store_commands: Vec<&Vec<String>> = log
        .iter()
        .map(|(_, _, _, args, _, _)| args)
        .filter(|args| !args[0].eq_ignore_ascii_case("SLOWLOG"))
        .collect();
    assert_eq!(store_commands.len(), 1, "{store_commands:?}");
    let mget = store_commands[0];
    assert!(mget[0].eq_ignore_ascii_case("MGET"), "{mget:?}");
    let keys = &mget[1..];
    assert_eq!(keys.len(), 3, "subject, jti and family: {keys:?}");
    for part in [":sub:", ":jti:", ":fam:"] {
        assert!(keys.iter().any(|k| k.contains(part)), "{part} in {keys:?}");
    }
    // Without jti or family, only the keys that apply are read.
    let _: () = redis::cmd("SLOWLOG")
        .arg("RESET")
        .query_async(&mut c)
        .await
        .unwrap();
    let bare = TokenRef::new("iss", "ivy", now);
    assert!(!revocations.is_token_revoked(&bare).await.unwrap());
    let log: Vec<redis::Value> = redis::cmd("SLOWLOG")
        .arg("GET")
        .arg(100)
        .query_async(&mut c)
        .await
        .unwrap();
    let text = format!("{log:?}");
    assert!(text.contains(":sub:") && !text.contains(":jti:") && !text.contains(":fam:"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_stores_what_refresh_record_rotated_describes() {
    let prefix = common::fresh_prefix();
    let clock = Arc::new(ManualClock::starting_now());
    let slack = Duration::from_secs(5);
    let refresh = RedisStoreBuilder::new(common::connection().await)
        .prefix(&prefix)
        .clock(clock.clone())
        .ttl_slack(slack)
        .refresh_tokens()
        .unwrap();
    let mut c = raw().await;
    let day = Duration::from_secs(24 * 3600);
    // Sub-millisecond instants: the family's end must survive to the nanosecond.
    let now = clock.now() + Duration::from_nanos(123_457);
    let family_end = now + 3 * day + Duration::from_nanos(999);
    let record = RefreshRecord::new(
        auth_core::FamilyId::generate().unwrap(),
        "judy",
        b"scopes".to_vec(),
        now,
        now + day,
    )
    .with_family_expires_at(family_end);
    let hashes: Vec<_> = (0..3)
        .map(|_| RefreshToken::generate().unwrap().hash())
        .collect();
    refresh.insert(&hashes[0], &record).await.unwrap();
    let mut expected = record;
    for step in 1..3 {
        clock.advance(day - Duration::from_secs(3600));
        let issued = clock.now();
        let asked = issued + 14 * day;
        let Rotation::Rotated(rotated) = refresh
            .rotate(&hashes[step - 1], &hashes[step], issued, asked)
            .await
            .unwrap()
        else {
            panic!("step {step} rotates");
        };
        expected = expected.rotated(issued, asked);
        assert_eq!(rotated, expected, "step {step}");
        assert_eq!(rotated.expires_at, family_end);
        // Redis keeps the capped token no longer than the family's end plus the slack,
        // give or take the script's outward rounding of both instants to milliseconds
        // (the end up, now down): under 2 ms over, never under.
        let ttl: i64 = redis::cmd("PTTL")
            .arg(format!("{{{prefix}:rt}}:tok:{}", hashes[step].to_hex()))
            .query_async(&mut c)
            .await
            .unwrap();
        let left = family_end.duration_since(clock.now()).unwrap() + slack;
        assert!(
            ttl > 0 && u128::try_from(ttl).unwrap() <= left.as_millis() + 2,
            "ttl {ttl} ms, {left:?} left"
        );
        // Step 2 asks again from a token already capped: it cannot rotate past the end.
        if step == 2 {
            clock.set(family_end);
            assert_eq!(
                refresh
                    .rotate(&hashes[2], &hashes[0], clock.now(), clock.now() + day)
                    .await
                    .unwrap(),
                Rotation::Unknown
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttle_window_is_one_string_collected_after_its_end() {
    let prefix = common::fresh_prefix();
    let clock = Arc::new(ManualClock::starting_now());
    let throttle = RedisStoreBuilder::new(common::connection().await)
        .prefix(&prefix)
        .clock(clock.clone())
        .ttl_slack(Duration::from_secs(5))
        .throttle()
        .unwrap();
    let mut c = raw().await;
    let key = ThrottleKey::username("kim");
    let window = Duration::from_secs(600);
    assert_eq!(throttle.hit(&key, window).await.unwrap().count, 1);
    let redis_key = format!("{{{prefix}:th}}:win:{}", key.to_hex());
    let ttl: i64 = redis::cmd("PTTL")
        .arg(&redis_key)
        .query_async(&mut c)
        .await
        .unwrap();
    assert!((600_000..=605_001).contains(&ttl), "ttl {ttl}");
    // A hit within the window keeps the window's TTL, whatever the store's clock says.
    clock.advance(Duration::from_secs(300));
    assert_eq!(throttle.hit(&key, window).await.unwrap().count, 2);
    let ttl: i64 = redis::cmd("PTTL")
        .arg(&redis_key)
        .query_async(&mut c)
        .await
        .unwrap();
    assert!(ttl > 590_000, "ttl {ttl}");

    // A value this crate did not write is corrupt, for hit and release alike.
    for garbage in ["", "12", &"x".repeat(40), &"9".repeat(41)] {
        let _: () = redis::cmd("SET")
            .arg(&redis_key)
            .arg(garbage)
            .query_async(&mut c)
            .await
            .unwrap();
        assert!(
            matches!(
                throttle.hit(&key, window).await,
                Err(StoreError::Corrupt(_))
            ),
            "{garbage:?}"
        );
        assert!(matches!(
            throttle.release(&key, SystemTime::now()).await,
            Err(StoreError::Corrupt(_))
        ));
    }
    throttle.reset(&key).await.unwrap();
    let exists: i64 = redis::cmd("EXISTS")
        .arg(&redis_key)
        .query_async(&mut c)
        .await
        .unwrap();
    assert_eq!(exists, 0);
    assert_eq!(throttle.hit(&key, window).await.unwrap().count, 1);
}
