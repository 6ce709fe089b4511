//! Invariant 2 and 9: after sessions, refresh tokens, revocations and throttle counts are
//! written, no Redis key or value under the store's prefix holds a session id or a refresh
//! token in clear; keys hold their SHA-256 digests instead, and subjects, user names and
//! revoked families only hashed.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failed test.

mod common;

use std::time::{Duration, SystemTime};

use auth_core::store::{RefreshRecord, Rotation, SessionRecord, ThrottleKey};
use auth_core::{
    FamilyId, RefreshToken, RefreshTokenStore, RevocationStore, SessionId, SessionStore,
    ThrottleStore,
};
use store_redis::RedisStoreBuilder;

/// Every key under `prefix`, with every string or member stored in it.
async fn dump(prefix: &str) -> Vec<(String, Vec<Vec<u8>>)> {
    let client = redis::Client::open(common::redis_url()).unwrap();
    let mut c = client.get_multiplexed_async_connection().await.unwrap();
    let mut keys: Vec<String> = Vec::new();
    let mut cursor = 0u64;
    loop {
        let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(format!("{{{prefix}:*"))
            .arg("COUNT")
            .arg(1000)
            .query_async(&mut c)
            .await
            .unwrap();
        keys.extend(batch);
        cursor = next;
        if cursor == 0 {
            break;
        }
    }
    let mut out = Vec::new();
    for key in keys {
        let kind: String = redis::cmd("TYPE")
            .arg(&key)
            .query_async(&mut c)
            .await
            .unwrap();
        let values: Vec<Vec<u8>> = match kind.as_str() {
            "string" => vec![
                redis::cmd("GET")
                    .arg(&key)
                    .query_async(&mut c)
                    .await
                    .unwrap(),
            ],
            "zset" => redis::cmd("ZRANGE")
                .arg(&key)
                .arg(0)
                .arg(-1)
                .query_async(&mut c)
                .await
                .unwrap(),
            other => panic!("unexpected key type {other} at {key}"),
        };
        out.push((key, values));
    }
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_key_or_value_holds_a_secret_in_clear() {
    let prefix = common::fresh_prefix();
    let builder = RedisStoreBuilder::new(common::connection().await).prefix(&prefix);
    let sessions = builder.sessions().unwrap();
    let refresh = builder.refresh_tokens().unwrap();
    let revocations = builder.revocations().unwrap();
    let throttle = builder.throttle().unwrap();
    let now = SystemTime::now();
    let later = now + Duration::from_secs(600);
    let subject = "carol {x} *";

    let mut secrets = Vec::new();
    let mut digests = Vec::new();
    for i in 0..5 {
        let id = SessionId::generate().unwrap();
        let data = format!("session data {i}").into_bytes();
        sessions
            .create(&id.key(), &SessionRecord::new(subject, data, now, later))
            .await
            .unwrap();
        digests.push(id.key().to_hex());
        secrets.push(id.expose_secret().to_owned());
    }
    let family = FamilyId::generate().unwrap();
    let first = RefreshToken::generate().unwrap();
    let record = RefreshRecord::new(family, subject, b"roles".to_vec(), now, later);
    refresh.insert(&first.hash(), &record).await.unwrap();
    let second = RefreshToken::generate().unwrap();
    let rotation = refresh
        .rotate(&first.hash(), &second.hash(), now, later)
        .await
        .unwrap();
    assert!(matches!(rotation, Rotation::Rotated(_)));
    for token in [&first, &second] {
        secrets.push(token.expose_secret().to_owned());
        digests.push(token.hash().to_hex());
    }
    revocations
        .revoke("issuer", "jti-secretish", later)
        .await
        .unwrap();
    revocations
        .revoke_subject(subject, now, later)
        .await
        .unwrap();
    let revoked_family = FamilyId::generate().unwrap();
    revocations
        .revoke_family("issuer", &revoked_family, later)
        .await
        .unwrap();
    // Not a secret, but revocation keys hash every id a token carries.
    secrets.push(revoked_family.as_str().to_owned());
    // The subject doubles as the user name a login was throttled under.
    throttle
        .hit(&ThrottleKey::username(subject), Duration::from_secs(60))
        .await
        .unwrap();

    let dump = dump(&prefix).await;
    // 5 sessions + their index, 2 tokens + family + subject's families, 3 revocations,
    // 1 throttle window.
    assert_eq!(
        dump.len(),
        14,
        "{:?}",
        dump.iter().map(|(k, _)| k).collect::<Vec<_>>()
    );
    for (key, values) in &dump {
        assert!(
            !contains(key.as_bytes(), subject.as_bytes()),
            "subject in key {key}"
        );
        for secret in &secrets {
            assert!(!key.contains(secret.as_str()), "secret in key {key}");
            for value in values {
                assert!(
                    !contains(value, secret.as_bytes()),
                    "secret in value of {key}"
                );
            }
        }
    }
    // The scan really saw the records: each one is keyed by its digest.
    for digest in &digests {
        assert!(
            dump.iter().any(|(key, _)| key.ends_with(digest.as_str())),
            "no key for digest {digest}"
        );
    }
}
