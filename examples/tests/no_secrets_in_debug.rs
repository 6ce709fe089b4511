//! No credential in `Debug`: every public type of the workspace that holds a session id, a
//! token, a key or a password is formatted with `{:?}` and `{:#?}`, and the secret it
//! holds must not appear (whole, or as its longest recognisable run).
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests: a panic is a failed test.

use std::sync::Arc;

use auth_core::memory::{MemoryRefreshTokenStore, MemoryRevocationStore, MemorySessionStore};
use auth_core::{RefreshToken, SessionId, SystemClock};
use auth_jwt::{Algorithm, Issuer, Jwk, JwkSet, KeySet, SigningKey};
use auth_session::SessionManager;
use authkit_examples::demo::{DemoConfig, StoreChoice};
use serde_json::json;

/// Fails when `secret` (or a 12-character piece of it) shows in `value`'s `Debug`.
#[track_caller]
fn assert_hidden(what: &str, value: &impl std::fmt::Debug, secret: &str) {
    assert!(secret.len() >= 12, "{what}: test a real secret");
    for text in [format!("{value:?}"), format!("{value:#?}")] {
        let pieces = secret.as_bytes().windows(12);
        for piece in pieces {
            let piece = std::str::from_utf8(piece).unwrap();
            assert!(!text.contains(piece), "{what} shows its secret: {text}");
        }
    }
}

#[tokio::test]
async fn no_public_type_prints_the_credential_it_holds() {
    let clock = SystemClock::shared();

    let id = SessionId::generate().unwrap();
    assert_hidden("SessionId", &id, id.expose_secret());
    let refresh = RefreshToken::generate().unwrap();
    assert_hidden("RefreshToken", &refresh, refresh.expose_secret());

    // Sessions: the manager's session handle carries its id.
    let sessions = SessionManager::new(MemorySessionStore::default());
    let session = sessions
        .create("alice", &json!({ "csrf": "s3cr3t-csrf-token-value" }))
        .await
        .unwrap();
    assert_hidden("Session", &session, session.id().expose_secret());
    assert_hidden("Session data", &session, "s3cr3t-csrf-token-value");

    // Keys: an HMAC secret and a private EC key, as objects and as JWKs.
    let secret = b"an-hmac-secret-that-is-long-enough!!";
    let hmac = SigningKey::hmac(Algorithm::HS256, secret).unwrap();
    assert_hidden(
        "SigningKey (HS256)",
        &hmac,
        std::str::from_utf8(secret).unwrap(),
    );
    // The committed test key `ec-p256-private.pem`, and its components as a private JWK.
    let pem = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../crates/auth-jwt/tests/data/ec-p256-private.pem"
    ))
    .unwrap();
    let ec = SigningKey::from_pem(Algorithm::ES256, &pem).unwrap();
    let d = "p85lj-wF-XByl9OYK99EN1NCcUzCmUixaLuNX6T5KWU".to_owned();
    let d_hex = "a7ce658fec05f97072";
    let private: Jwk = serde_json::from_value(json!({
        "kty": "EC", "crv": "P-256", "kid": "k1", "d": d,
        "x": "__x9x6j-NP9bUIgiH-pfZ_-QyCuEL_ATpdrpaC_twl4",
        "y": "dd4io-Z0MwlTZvS6839PTaRz8bxc4tKZdxXyieUl9Ow",
    }))
    .unwrap();
    assert!(private.to_signing_key().is_ok(), "the JWK is the PEM's key");
    assert_hidden("SigningKey (ES256, hex)", &ec, d_hex);
    assert_hidden("SigningKey (ES256)", &ec, &d);
    assert_hidden("Jwk (private)", &private, &d);
    let set = JwkSet::parse(&json!({ "keys": [private] }).to_string()).unwrap();
    assert_hidden("JwkSet (private)", &set, &d);
    let octet: Jwk = serde_json::from_value(json!({
        "kty": "oct",
        "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA",
    }))
    .unwrap();
    assert_hidden("Jwk (oct)", &octet, octet.k.as_deref().unwrap());
    let keys = KeySet::with_signing_key(clock.clone(), "k1", ec).unwrap();
    assert_hidden("KeySet", &keys, &d);

    // Tokens.
    let issuer = Issuer::builder(keys, clock.clone())
        .issuer("https://auth.example")
        .build(
            Arc::new(MemoryRefreshTokenStore::new(clock.clone())),
            Arc::new(MemoryRevocationStore::new(clock)),
        )
        .unwrap();
    let access = issuer.access_token("alice", &json!({})).unwrap();
    assert_hidden("AccessToken", &access, &access.token);
    let pair = issuer.login("alice", &json!({})).await.unwrap();
    assert_hidden("TokenPair (access)", &pair, &pair.access_token);
    assert_hidden(
        "TokenPair (refresh)",
        &pair,
        pair.refresh_token.expose_secret(),
    );
    assert_hidden("Issuer", &issuer, &d);

    // The demo's configuration names its store by URL, password included, in any shape
    // the URL parsers accept or half-accept.
    let password = "hunter2-hunter2-hunter2";
    for url in [
        format!("redis://default:{password}@127.0.0.1:6379"),
        format!("postgres://app:{password}@db.internal:5432/app"),
        format!("redis://:p@{password}@127.0.0.1:1"),
        format!("redis://:{password}?x@127.0.0.1:1"),
        format!("redis+cluster://:a@127.0.0.1:1,:{password}@127.0.0.1:2"),
        format!("postgres://u@127.0.0.1/db?password={password}"),
        format!("mysql://root:{password}@[::1]:3306/x#frag"),
    ] {
        let store: StoreChoice = url.parse().unwrap();
        assert_hidden("StoreChoice", &store, password);
        let config = DemoConfig {
            store,
            ..DemoConfig::default()
        };
        assert_hidden("DemoConfig", &config, password);
    }

    // A user of the demo's directory: its argon2 hash is what a word list needs.
    let user = authkit_examples::demo::users::authenticate("alice", "wonderland", &mut Vec::new())
        .expect("the demo's user");
    assert_hidden("User", &user, "icDqscsF7J6IeNmlFuichf3aOjxr9BTjYt6N0kzLwPM");
}

/// The demo's start-up errors name the store without its password: a server it cannot
/// reach, and a store URL it does not know.
#[tokio::test]
async fn start_up_errors_never_print_the_store_password() {
    let password = "hunter2-hunter2-hunter2";
    // (A SQL URL goes through the same redaction, which the test above covers; sqlx
    // retries a refused connection until the timeout, seconds this test need not spend.)
    for url in [
        format!("redis://:p@{password}@127.0.0.1:1"),
        format!("redis+cluster://:a@127.0.0.1:1,:{password}@127.0.0.1:2"),
    ] {
        let config = DemoConfig {
            store: url.parse().unwrap(),
            ..DemoConfig::default()
        };
        let error = authkit_examples::demo::app(&config, "http://127.0.0.1")
            .await
            .expect_err("nothing listens on port 1");
        let text = format!("{error:#} {error:?}");
        assert!(text.contains("connecting to"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
    }
    let error = format!("valkey://:{password}@127.0.0.1:6379")
        .parse::<StoreChoice>()
        .unwrap_err();
    let text = format!("{error:#} {error:?}");
    assert!(text.contains("\"valkey\""), "{text}");
    assert!(!text.contains("hunter2"), "{text}");
}
