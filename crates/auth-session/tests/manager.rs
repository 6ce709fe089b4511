//! Manager behaviours that depend on this crate's settings rather than on the store:
//! configuration, the manager's own limits, records written by others, clock oddities.
// Test helpers: a panic is a failed test.
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use std::time::SystemTime;

use async_trait::async_trait;
use auth_core::memory::MemorySessionStore;
use auth_core::store::{SessionEntry, SessionRecord};
use auth_core::{Clock, ManualClock, SessionId, SessionKey, SessionStore, StoreError};
use auth_session::{ConfigError, SessionError, SessionManager};
use serde_json::json;

fn setup() -> (Arc<ManualClock>, SessionManager<MemorySessionStore>) {
    let clock = Arc::new(ManualClock::starting_now());
    let store = MemorySessionStore::builder().clock(clock.clone()).build();
    let manager = SessionManager::builder(store)
        .clock(clock.clone())
        .build()
        .unwrap();
    (clock, manager)
}

/// Puts a record written by someone else (another version, a damaged row) under a fresh id.
async fn plant(manager: &SessionManager<MemorySessionStore>, record: SessionRecord) -> String {
    let id = SessionId::generate().unwrap();
    manager.store().create(&id.key(), &record).await.unwrap();
    id.expose_secret().to_owned()
}

#[test]
fn inconsistent_settings_are_refused_when_building() {
    let build = |f: fn(
        auth_session::SessionManagerBuilder<MemorySessionStore>,
    ) -> auth_session::SessionManagerBuilder<MemorySessionStore>| {
        f(SessionManager::builder(MemorySessionStore::default()))
            .build()
            .err()
    };
    assert_eq!(
        build(|b| b.touch_interval(Duration::from_secs(3600))),
        Some(ConfigError::TouchInterval)
    );
    assert_eq!(
        build(|b| b.idle_timeout(Duration::ZERO)),
        Some(ConfigError::ZeroIdleTimeout)
    );
    assert_eq!(
        build(|b| b.max_data_len(1 << 20)),
        Some(ConfigError::DataLimit { limit: 1 << 20 })
    );
    assert_eq!(build(|b| b.touch_interval(Duration::ZERO)), None);
}

#[test]
fn cookie_max_age_follows_the_absolute_lifetime() {
    let manager = SessionManager::builder(MemorySessionStore::default())
        .absolute_lifetime(Duration::from_secs(8 * 3600))
        .build()
        .unwrap();
    let cookies = manager.cookie_config();
    assert_eq!(cookies.max_age(), Some(Duration::from_secs(8 * 3600)));
    let id = SessionId::generate().unwrap();
    assert!(cookies.set_cookie(&id).contains("; Max-Age=28800;"));
}

#[tokio::test]
async fn the_managers_own_data_limit_applies() {
    let clock = Arc::new(ManualClock::starting_now());
    let manager =
        SessionManager::builder(MemorySessionStore::builder().clock(clock.clone()).build())
            .clock(clock)
            .max_data_len(100)
            .build()
            .unwrap();
    let mut session = manager.create("alice", &json!({})).await.unwrap();
    session.insert("note", &"x".repeat(100)).unwrap();
    assert!(matches!(
        manager.update(&mut session).await,
        Err(SessionError::TooLarge {
            what: "session data",
            limit: 100,
            ..
        })
    ));
    let stored = manager
        .load(session.id().expose_secret())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.version(), 0);
    assert!(!stored.contains("note").unwrap());
}

#[tokio::test]
async fn initial_data_must_be_an_object() {
    let (_, manager) = setup();
    for data in [json!(null), json!([1, 2]), json!("text")] {
        assert!(matches!(
            manager.create("alice", &data).await,
            Err(SessionError::Value(_))
        ));
    }
    assert!(manager.list("alice").await.unwrap().is_empty());
}

/// Session data may hold secrets (a token kept for a later call): an error about a value,
/// or about damaged stored data, never quotes it, in its chain or its `Debug`, nor once it
/// is an `AuthError` on its way to a log.
#[tokio::test]
async fn value_errors_never_quote_the_session_data() {
    let (clock, manager) = setup();
    let mut session = manager
        .create("alice", &json!({ "oauth_token": "PLANTED-SECRET" }))
        .await
        .unwrap();
    let quoted = |error: SessionError| {
        let chain = format!("{error:#} {error:?}");
        let auth = auth_core::AuthError::from(error);
        let mut text = format!("{chain} {auth:#} {auth:?}");
        let mut source = std::error::Error::source(&auth);
        while let Some(cause) = source {
            text.push_str(&format!(" {cause}"));
            source = cause.source();
        }
        assert!(!text.is_empty());
        text.contains("PLANTED")
    };
    let wrong_type = session.get::<u64>("oauth_token").unwrap_err();
    assert!(matches!(
        wrong_type,
        SessionError::Value(auth_session::JsonError::Shape { expected: "u64" })
    ));
    assert!(!quoted(wrong_type));
    #[derive(serde::Deserialize, Debug)]
    struct Token {
        _value: String,
    }
    assert!(!quoted(session.get::<Token>("oauth_token").unwrap_err()));

    let now = clock.now();
    for stored in [
        &b"\"PLANTED-SECRET\""[..],
        b"[\"PLANTED-SECRET\"]",
        b"{\"k\": PLANTED}",
    ] {
        let key = plant(
            &manager,
            SessionRecord::new("bob", stored.to_vec(), now, now + Duration::from_secs(60)),
        )
        .await;
        let loaded = manager.load(&key).await.unwrap().expect("live");
        let error = loaded.get::<u64>("k").unwrap_err();
        assert!(matches!(error, SessionError::CorruptData(_)), "{error:?}");
        assert!(!quoted(error));
    }
    session.insert("fine", &1).unwrap();
}

#[tokio::test]
async fn corrupt_stored_data_is_a_typed_error_not_a_failed_load() {
    let (clock, manager) = setup();
    let now = clock.now();
    let deadline = now + Duration::from_secs(600);
    let damaged = plant(
        &manager,
        SessionRecord::new("alice", b"{not json".to_vec(), now, deadline),
    )
    .await;
    let mut session = manager
        .load(&damaged)
        .await
        .unwrap()
        .expect("the record is live");
    assert_eq!(session.subject(), "alice");
    assert!(matches!(
        session.get::<u32>("n"),
        Err(SessionError::CorruptData(_))
    ));
    assert!(matches!(
        session.identity(),
        Err(SessionError::CorruptData(_))
    ));
    assert!(matches!(
        session.insert("n", &1),
        Err(SessionError::CorruptData(_))
    ));
    assert!(
        !manager.update(&mut session).await.unwrap(),
        "nothing was changed"
    );
    // The damaged session can still be destroyed.
    assert!(manager.destroy(&session).await.unwrap());

    // Empty data (written by a tool that stores nothing) is an empty map.
    let empty = plant(
        &manager,
        SessionRecord::new("bob", Vec::new(), now, deadline),
    )
    .await;
    let mut session = manager.load(&empty).await.unwrap().unwrap();
    assert_eq!(session.roles().unwrap(), Vec::<String>::new());
    session.insert("n", &1).unwrap();
    assert!(manager.update(&mut session).await.unwrap());
}

#[tokio::test]
async fn the_managers_limits_apply_to_records_the_store_would_keep() {
    // A record written with a far deadline (by an older configuration, or another tool) is
    // still held to this manager's idle and absolute limits.
    let (clock, manager) = setup();
    let now = clock.now();
    let far = now + Duration::from_secs(30 * 24 * 3600);
    let mut stale = SessionRecord::new("alice", b"{}".to_vec(), now, far);
    stale.last_seen_at = now - Duration::from_secs(31 * 60);
    let idle = plant(&manager, stale).await;
    assert!(manager.load(&idle).await.unwrap().is_none());

    let old = SessionRecord::new(
        "alice",
        b"{}".to_vec(),
        now - Duration::from_secs(13 * 3600),
        far,
    );
    let mut old = old;
    old.last_seen_at = now;
    let ancient = plant(&manager, old).await;
    assert!(manager.load(&ancient).await.unwrap().is_none());
    assert!(manager.list("alice").await.unwrap().is_empty());
}

#[tokio::test]
async fn a_clock_moved_back_neither_panics_nor_touches() {
    let (clock, manager) = setup();
    let session = manager.create("alice", &json!({})).await.unwrap();
    clock.set(clock.now() - Duration::from_secs(3600));
    let loaded = manager
        .load(session.id().expose_secret())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(loaded.last_seen_at(), session.last_seen_at());
}

#[tokio::test]
async fn an_update_after_expiry_writes_nothing() {
    let (clock, manager) = setup();
    let id = manager
        .create("alice", &json!({}))
        .await
        .unwrap()
        .id()
        .expose_secret()
        .to_owned();
    let mut session = manager.load(&id).await.unwrap().unwrap();
    clock.advance(Duration::from_secs(31 * 60));
    session.insert("n", &1).unwrap();
    assert!(matches!(
        manager.update(&mut session).await,
        Err(SessionError::Expired)
    ));
    assert!(matches!(
        manager.rotate(&mut session).await,
        Err(SessionError::Expired)
    ));
}

#[tokio::test]
async fn an_update_extends_the_idle_deadline() {
    let (clock, manager) = setup();
    let mut session = manager.create("alice", &json!({})).await.unwrap();
    let id = session.id().expose_secret().to_owned();
    clock.advance(Duration::from_secs(20 * 60));
    session.insert("n", &1).unwrap();
    assert!(manager.update(&mut session).await.unwrap());
    assert_eq!(session.last_seen_at(), clock.now());
    clock.advance(Duration::from_secs(20 * 60));
    assert!(
        manager.load(&id).await.unwrap().is_some(),
        "40 min after create, 20 after the update"
    );
}

#[tokio::test]
async fn debug_prints_neither_id_nor_data() {
    let (_, manager) = setup();
    let session = manager
        .create("alice", &json!({ "csrf": "secret-token-value" }))
        .await
        .unwrap();
    let printed = format!("{session:?} {manager:?}");
    assert!(!printed.contains(session.id().expose_secret()));
    assert!(!printed.contains("secret-token-value"));
    assert!(printed.contains(&session.key().hint()));
}

/// A memory store with one scripted fault: `delete` that cannot answer, or another
/// request's logout landing inside the next `create` (a rotation's second write).
#[derive(Default)]
struct Scripted {
    inner: MemorySessionStore,
    delete_fails: bool,
    during_create: Mutex<Option<Concurrent>>,
}

/// Another request's logout, and whether it lands before or after the create it is in.
struct Concurrent {
    logout: Logout,
    after_create: bool,
}

enum Logout {
    One(SessionKey),
    Everywhere(String),
}

impl Scripted {
    async fn logout(&self, logout: Logout) -> Result<(), StoreError> {
        match logout {
            Logout::One(key) => drop(self.inner.delete(&key).await?),
            Logout::Everywhere(subject) => drop(self.inner.delete_subject(&subject).await?),
        }
        Ok(())
    }
}

#[async_trait]
impl SessionStore for Scripted {
    async fn create(&self, key: &SessionKey, record: &SessionRecord) -> Result<(), StoreError> {
        let concurrent = self.during_create.lock().unwrap().take();
        match concurrent {
            Some(Concurrent {
                logout,
                after_create: false,
            }) => {
                self.logout(logout).await?;
                self.inner.create(key, record).await
            }
            Some(Concurrent {
                logout,
                after_create: true,
            }) => {
                self.inner.create(key, record).await?;
                self.logout(logout).await
            }
            None => self.inner.create(key, record).await,
        }
    }
    async fn load(&self, key: &SessionKey) -> Result<Option<SessionRecord>, StoreError> {
        self.inner.load(key).await
    }
    async fn save(&self, key: &SessionKey, record: &SessionRecord) -> Result<u64, StoreError> {
        self.inner.save(key, record).await
    }
    async fn touch(
        &self,
        key: &SessionKey,
        last_seen_at: SystemTime,
        expires_at: SystemTime,
    ) -> Result<bool, StoreError> {
        self.inner.touch(key, last_seen_at, expires_at).await
    }
    async fn delete(&self, key: &SessionKey) -> Result<bool, StoreError> {
        if self.delete_fails {
            return Err(StoreError::unavailable("the store went away"));
        }
        self.inner.delete(key).await
    }
    async fn delete_subject(&self, subject: &str) -> Result<u64, StoreError> {
        self.inner.delete_subject(subject).await
    }
    async fn list_subject(&self, subject: &str) -> Result<Vec<SessionEntry>, StoreError> {
        self.inner.list_subject(subject).await
    }
}

/// A logout or "log out everywhere" that lands while a rotation runs (another request of
/// the same user, or a thief rotating a stolen cookie in a loop) is never undone: whether
/// it lands before or after the rotation's new id is written, no session is left.
#[tokio::test]
async fn a_logout_during_a_rotation_is_never_undone() {
    for after_create in [false, true] {
        for everywhere in [false, true] {
            let manager = SessionManager::new(Scripted::default());
            let mut session = manager
                .create("alice", &json!({ "roles": ["user"] }))
                .await
                .unwrap();
            let logout = if everywhere {
                Logout::Everywhere("alice".to_owned())
            } else {
                Logout::One(*session.key())
            };
            *manager.store().during_create.lock().unwrap() = Some(Concurrent {
                logout,
                after_create,
            });
            let rotated = manager.rotate(&mut session).await;
            let case = format!("everywhere {everywhere}, after the create {after_create}");
            assert!(
                matches!(rotated, Err(SessionError::Conflict)),
                "{case}: {rotated:?}"
            );
            assert!(
                manager.list("alice").await.unwrap().is_empty(),
                "{case}: a session lives on"
            );
        }
    }
}

/// A rotation that stops after its versioned first write (a store error here; a dropped
/// future is the same) leaves the old id no more than it had: the new roles were meant
/// only for the new id, which was never made. An id that leaked before a step-up must not
/// become an admin's.
#[tokio::test]
async fn an_unfinished_rotation_never_upgrades_the_old_id() {
    let clock = Arc::new(ManualClock::starting_now());
    let store = Scripted {
        inner: MemorySessionStore::builder().clock(clock.clone()).build(),
        delete_fails: true,
        during_create: Mutex::default(),
    };
    let manager = SessionManager::builder(store)
        .clock(clock.clone())
        .build()
        .unwrap();
    let id = manager
        .create("alice", &json!({ "roles": ["user"] }))
        .await
        .unwrap()
        .id()
        .expose_secret()
        .to_owned();
    let mut session = manager.load(&id).await.unwrap().unwrap();
    session.set_roles(["admin"]).unwrap();
    assert!(matches!(
        manager.rotate(&mut session).await,
        Err(SessionError::Store(_))
    ));
    let old = manager.load(&id).await.unwrap().unwrap();
    assert_eq!(old.roles().unwrap(), ["user"]);
    let mut session = manager.load(&id).await.unwrap().unwrap();
    assert!(
        manager
            .rotate_to(&mut session, "mallory", ["user"])
            .await
            .is_err()
    );
    assert_eq!(manager.load(&id).await.unwrap().unwrap().subject(), "alice");
}

#[tokio::test]
async fn an_update_never_adds_a_role_under_the_same_id() {
    let (_, manager) = setup();
    let id = manager
        .create("alice", &json!({ "roles": ["user"] }))
        .await
        .unwrap()
        .id()
        .expose_secret()
        .to_owned();
    // Whoever else holds this id (a fixed or leaked cookie) must never hold a new role:
    // through set_roles, a raw insert, or clear-then-insert.
    let edits: [fn(&mut auth_session::Session); 3] = [
        |s| s.set_roles(["user", "admin"]).unwrap(),
        |s| s.insert("roles", &json!(["admin"])).unwrap(),
        |s| {
            s.clear().unwrap();
            s.insert("roles", &json!(["user", "admin"])).unwrap();
        },
    ];
    for edit in edits {
        let mut session = manager.load(&id).await.unwrap().unwrap();
        edit(&mut session);
        assert!(matches!(
            manager.update(&mut session).await,
            Err(SessionError::PrivilegeChange)
        ));
        assert!(session.is_dirty(), "the handle keeps its change");
        let stored = manager.load(&id).await.unwrap().unwrap();
        assert_eq!(stored.roles().unwrap(), ["user"], "nothing was written");
    }

    // Stored roles that do not read as a list count as none.
    let planted = manager
        .create("bob", &json!({ "roles": "admin" }))
        .await
        .unwrap();
    let mut session = manager
        .load_id(planted.id().clone())
        .await
        .unwrap()
        .unwrap();
    session.set_roles(["admin"]).unwrap();
    assert!(matches!(
        manager.update(&mut session).await,
        Err(SessionError::PrivilegeChange)
    ));

    // Rotation saves it under a fresh id; the old id is dead.
    let mut session = manager.load(&id).await.unwrap().unwrap();
    session.set_roles(["user", "admin"]).unwrap();
    manager.rotate(&mut session).await.unwrap();
    assert!(manager.load(&id).await.unwrap().is_none());
    let id = session.id().expose_secret().to_owned();
    assert_eq!(
        manager.load(&id).await.unwrap().unwrap().roles().unwrap(),
        ["user", "admin"]
    );

    // Taking a role away, or other data beside unchanged roles, is saved in place.
    let mut session = manager.load(&id).await.unwrap().unwrap();
    session.set_roles(["user"]).unwrap();
    session.insert("theme", "dark").unwrap();
    assert!(manager.update(&mut session).await.unwrap());
    session.set_roles(["user"]).unwrap();
    session.insert("theme", "light").unwrap();
    assert!(manager.update(&mut session).await.unwrap());
    let stored = manager.load(&id).await.unwrap().unwrap();
    assert_eq!(stored.roles().unwrap(), ["user"]);
    assert_eq!(
        stored.get::<String>("theme").unwrap().as_deref(),
        Some("light")
    );
}
