//! What the conformance suite cannot see: building stores from an existing connection,
//! refused settings, broken stored values, index pruning and key layout.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failed test.

mod common;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use auth_core::store::SessionRecord;
use auth_core::{
    Clock, ManualClock, RefreshToken, RefreshTokenStore, RevocationStore, SessionId, SessionStore,
    StoreError,
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
    // Live-looking header, garbage after it.
    let value = format!("\x010{:020}{:020}zz", u64::MAX, 0);
    let _: () = redis::cmd("SET")
        .arg(&token_key)
        .arg(value)
        .query_async(&mut c)
        .await
        .unwrap();
    let new = RefreshToken::generate().unwrap().hash();
    let now = SystemTime::now();
    let rotated = refresh.rotate(&token.hash(), &new, now, now).await;
    assert!(
        matches!(rotated, Err(StoreError::Corrupt(_))),
        "{rotated:?}"
    );

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
    // 50 short sessions, each created after the previous expired by the store's clock:
    // the index never holds more than the live one and the newest.
    for _ in 0..50 {
        clock.advance(Duration::from_secs(61));
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
    assert!(ttl > 0 && ttl <= 65_000 + 61_000 * 51, "index ttl {ttl}");
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
