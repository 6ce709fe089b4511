//! The session-level conformance suite: the behaviours a [`SessionManager`] promises,
//! proved against any [`SessionStore`] (feature `test-suite`).
//!
//! Store crates run it with [`session_manager_conformance!`](crate::session_manager_conformance)
//! and a factory of the same form as auth-core's store suite: an
//! `async fn(auth_core::SharedClock) -> S` returning a fresh, empty store (its own key
//! prefix, schema or table) that decides expiry by the given clock.
//!
//! ```text
//! // dev-dependencies: auth-session = { workspace = true, features = ["test-suite"] },
//! //                   tokio = { workspace = true, features = ["rt-multi-thread", "macros"] }
//! async fn factory(clock: auth_core::SharedClock) -> MyStore { /* ... */ }
//! mod session_manager { auth_session::session_manager_conformance!(super::factory); }
//! ```
//!
//! Each behaviour is a public `async fn` here taking the factory; the macro expands to one
//! `#[tokio::test(flavor = "multi_thread", worker_threads = 2)]` per behaviour. The clock is
//! an [`auth_core::ManualClock`] starting at the real current time; time only moves when a
//! test advances it, by whole seconds, so backends that keep milliseconds pass too.

// Test code: a failed step is a failed test, and the message says which.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod counting;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use auth_core::store::{MAX_DATA_LEN, MAX_SUBJECT_LEN, SessionStore};
use auth_core::{Clock, ManualClock, SessionId, SharedClock};
use serde::{Deserialize, Serialize};
use serde_json::json;

pub use counting::CountingStore;

use crate::{CookieConfig, Session, SessionError, SessionManager};

/// The idle timeout the suite configures.
pub const IDLE: Duration = Duration::from_secs(30 * 60);
/// The absolute lifetime the suite configures.
pub const ABSOLUTE: Duration = Duration::from_secs(12 * 60 * 60);
/// The touch interval the suite configures.
pub const TOUCH_INTERVAL: Duration = Duration::from_secs(60);

/// Runs every behaviour of the suite as its own test against the stores `factory` makes.
///
/// `factory` is an expression (usually a path such as `super::factory`) for an
/// `async fn(auth_core::SharedClock) -> S` where `S: SessionStore`. The invoking crate needs
/// `tokio` with `rt-multi-thread` and `macros` among its dev-dependencies.
#[macro_export]
macro_rules! session_manager_conformance {
    ($factory:expr) => {
        $crate::__session_manager_conformance_tests!(
            $factory;
            idle_expiry,
            absolute_expiry_for_active_session,
            touch_is_throttled,
            update_writes_only_changes,
            typed_data_round_trips,
            rotation_invalidates_old_id,
            login_rotation_changes_subject,
            a_login_over_someone_elses_session_never_inherits_its_roles,
            destroy_all_leaves_other_subjects,
            tampered_or_unknown_id_is_no_session,
            oversized_data_is_refused,
            concurrent_updates_never_lose_one,
        );
    };
}

/// One test per named behaviour (used by [`session_manager_conformance!`]).
#[doc(hidden)]
#[macro_export]
macro_rules! __session_manager_conformance_tests {
    ($factory:expr; $($name:ident),+ $(,)?) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                $crate::conformance::$name($factory).await;
            }
        )+
    };
}

/// A manager with the suite's settings over a counting wrapper of a fresh store, and the
/// manual clock both share.
pub struct Fixture<S> {
    /// The clock the store and the manager decide expiry by.
    pub clock: Arc<ManualClock>,
    /// The manager under test.
    pub manager: SessionManager<CountingStore<S>>,
}

impl<S: SessionStore> Fixture<S> {
    /// Builds the fixture from a store factory.
    pub async fn new<F, Fut>(factory: F) -> Self
    where
        F: FnOnce(SharedClock) -> Fut,
        Fut: Future<Output = S>,
    {
        let clock = Arc::new(ManualClock::starting_now());
        let store = factory(clock.clone()).await;
        let manager = SessionManager::builder(CountingStore::new(store))
            .clock(clock.clone())
            .idle_timeout(IDLE)
            .absolute_lifetime(ABSOLUTE)
            .touch_interval(TOUCH_INTERVAL)
            .build()
            .expect("the suite's settings are valid");
        Self { clock, manager }
    }

    /// The counting store.
    pub fn store(&self) -> &CountingStore<S> {
        self.manager.store()
    }

    /// A subject no other test uses (stores may share a backend between tests).
    pub fn subject(&self, label: &str) -> String {
        let tag = SessionId::generate().expect("CSPRNG").key().hint();
        format!("{label}-{tag}")
    }

    /// Creates a session for `subject` with `{"n": 0}`.
    pub async fn create(&self, subject: &str) -> Session {
        self.manager
            .create(subject, &json!({ "n": 0 }))
            .await
            .expect("create")
    }

    /// Loads by id text; panics on a store error.
    pub async fn load(&self, id: &str) -> Option<Session> {
        self.manager.load(id).await.expect("load must not fail")
    }

    /// Whether `id` loads.
    pub async fn is_live(&self, id: &str) -> bool {
        self.load(id).await.is_some()
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn text(session: &Session) -> String {
    session.id().expose_secret().to_owned()
}

/// A session unused for the idle timeout stops loading; each use (touch) restarts the
/// idle clock.
pub async fn idle_expiry<S, F, Fut>(factory: F)
where
    S: SessionStore,
    F: FnOnce(SharedClock) -> Fut,
    Fut: Future<Output = S>,
{
    let f = Fixture::new(factory).await;
    let alice = f.subject("alice");
    let used = text(&f.create(&alice).await);
    let idle = text(&f.create(&alice).await);

    f.advance(IDLE - secs(5));
    assert!(f.is_live(&used).await, "alive just before the idle timeout");
    f.advance(secs(10));
    assert!(
        !f.is_live(&idle).await,
        "unused for longer than the idle timeout"
    );
    assert!(
        f.is_live(&used).await,
        "the load before restarted the idle clock"
    );

    f.advance(IDLE + secs(1));
    assert!(
        !f.is_live(&used).await,
        "idle again for longer than the timeout"
    );
    assert!(f.manager.list(&alice).await.unwrap().is_empty());
}

/// However active a session is, it stops loading at creation plus the absolute lifetime,
/// and touches never extend it past that limit, in the store either.
pub async fn absolute_expiry_for_active_session<S, F, Fut>(factory: F)
where
    S: SessionStore,
    F: FnOnce(SharedClock) -> Fut,
    Fut: Future<Output = S>,
{
    let f = Fixture::new(factory).await;
    let alice = f.subject("alice");
    let created = f.create(&alice).await;
    let id = text(&created);
    let limit = created.created_at() + ABSOLUTE;

    let step = secs(10 * 60);
    let mut elapsed = Duration::ZERO;
    while elapsed + step < ABSOLUTE {
        f.advance(step);
        elapsed += step;
        let mut session = f.load(&id).await.expect("an active session stays alive");
        assert!(
            session.expires_at() <= limit,
            "never past the absolute limit"
        );
        let stored = f
            .store()
            .inner()
            .load(session.key())
            .await
            .unwrap()
            .unwrap();
        assert!(
            stored.expires_at <= stored.created_at + ABSOLUTE,
            "stored deadline"
        );
        if elapsed == step * 6 {
            session.insert("n", &1).unwrap();
            assert!(f.manager.update(&mut session).await.unwrap());
            assert!(
                session.expires_at() <= limit,
                "an update does not extend it either"
            );
        }
    }
    let left = ABSOLUTE - elapsed;
    f.advance(left - secs(2));
    assert!(
        f.is_live(&id).await,
        "alive two seconds before the absolute limit"
    );
    f.advance(secs(2));
    assert!(
        !f.is_live(&id).await,
        "dead at the absolute limit though active"
    );
}

/// Loads write the idle extension at most once per touch interval; counted at the store.
pub async fn touch_is_throttled<S, F, Fut>(factory: F)
where
    S: SessionStore,
    F: FnOnce(SharedClock) -> Fut,
    Fut: Future<Output = S>,
{
    let f = Fixture::new(factory).await;
    let alice = f.subject("alice");
    let id = text(&f.create(&alice).await);
    f.store().reset();

    for _ in 0..10 {
        assert!(f.is_live(&id).await);
    }
    f.advance(secs(30));
    assert!(f.is_live(&id).await);
    assert_eq!(f.store().writes(), 0, "no write within the first interval");

    f.advance(secs(30));
    let session = f.load(&id).await.unwrap();
    assert_eq!(
        f.store().touches(),
        1,
        "one touch once the interval has passed"
    );
    assert_eq!(session.last_seen_at(), f.clock.now());
    let stored = f
        .store()
        .inner()
        .load(session.key())
        .await
        .unwrap()
        .unwrap();
    assert!(
        stored.expires_at >= f.clock.now() + IDLE - secs(1),
        "the touch moved the stored idle deadline"
    );

    for _ in 0..5 {
        f.advance(secs(11));
        assert!(f.is_live(&id).await);
    }
    assert_eq!(f.store().touches(), 1, "no second touch within 55 s");
    f.advance(secs(5));
    assert!(f.is_live(&id).await);
    assert_eq!(
        f.store().touches(),
        2,
        "the next interval's first load touches"
    );
    assert_eq!(f.store().writes(), 2, "touches are the only writes");
    assert_eq!(f.store().loads(), 18);
}

/// `update` writes only when the data changed; inserting an equal value is no change.
pub async fn update_writes_only_changes<S, F, Fut>(factory: F)
where
    S: SessionStore,
    F: FnOnce(SharedClock) -> Fut,
    Fut: Future<Output = S>,
{
    let f = Fixture::new(factory).await;
    let alice = f.subject("alice");
    let id = text(&f.create(&alice).await);
    f.store().reset();

    let mut session = f.load(&id).await.unwrap();
    assert!(!f.manager.update(&mut session).await.unwrap());
    session.insert("n", &0).unwrap();
    assert!(!session.is_dirty(), "the same value is no change");
    assert!(!session.remove("absent").unwrap());
    assert!(!f.manager.update(&mut session).await.unwrap());
    assert_eq!(f.store().writes(), 0);

    session.insert("n", &1).unwrap();
    assert!(session.is_dirty());
    assert!(f.manager.update(&mut session).await.unwrap());
    assert!(!session.is_dirty());
    assert_eq!(f.store().saves(), 1);
    assert!(!f.manager.update(&mut session).await.unwrap());
    assert_eq!(f.store().saves(), 1, "nothing new to write");
    assert_eq!(f.load(&id).await.unwrap().get::<u32>("n").unwrap(), Some(1));
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Cart {
    items: Vec<(String, u32)>,
    note: Option<String>,
}

/// Typed values round-trip through the store; a wrong type is a typed error; removal
/// persists.
pub async fn typed_data_round_trips<S, F, Fut>(factory: F)
where
    S: SessionStore,
    F: FnOnce(SharedClock) -> Fut,
    Fut: Future<Output = S>,
{
    let f = Fixture::new(factory).await;
    let alice = f.subject("alice");
    let mut session = f.create(&alice).await;
    let cart = Cart {
        items: vec![("apple".into(), 3), ("ünïcødé \"quoted\"".into(), 1)],
        note: None,
    };
    session.insert("cart", &cart).unwrap();
    assert!(f.manager.update(&mut session).await.unwrap());
    // New roles are a privilege change: saved under a fresh id.
    session.set_roles(["user", "admin"]).unwrap();
    f.manager.rotate(&mut session).await.unwrap();
    let id = text(&session);

    let mut loaded = f.load(&id).await.unwrap();
    assert_eq!(loaded.get::<Cart>("cart").unwrap(), Some(cart));
    assert_eq!(loaded.get::<u32>("n").unwrap(), Some(0));
    assert_eq!(loaded.get::<u32>("missing").unwrap(), None);
    assert!(matches!(
        loaded.get::<u32>("cart"),
        Err(SessionError::Value(_))
    ));
    let who = loaded.identity().unwrap();
    assert_eq!(who.subject, alice);
    assert!(who.has_role("admin"));

    assert!(loaded.remove("cart").unwrap());
    assert!(f.manager.update(&mut loaded).await.unwrap());
    assert_eq!(
        f.load(&id).await.unwrap().get::<Cart>("cart").unwrap(),
        None
    );
}

/// After `rotate` the old id no longer loads (at once), the new one carries the same
/// subject and data, and a stale handle can neither update nor rotate.
pub async fn rotation_invalidates_old_id<S, F, Fut>(factory: F)
where
    S: SessionStore,
    F: FnOnce(SharedClock) -> Fut,
    Fut: Future<Output = S>,
{
    let f = Fixture::new(factory).await;
    let alice = f.subject("alice");
    let old = text(&f.create(&alice).await);
    let mut session = f.load(&old).await.unwrap();
    let mut stale = f.load(&old).await.unwrap();
    let created_at = session.created_at();

    session.insert("unsaved", "carried over").unwrap();
    f.manager.rotate(&mut session).await.unwrap();
    let new = text(&session);
    assert_ne!(new, old);
    assert!(!session.is_dirty());
    assert!(!f.is_live(&old).await, "the old id is dead at once");

    let loaded = f.load(&new).await.expect("the new id loads");
    assert_eq!(loaded.subject(), alice);
    assert_eq!(loaded.get::<u32>("n").unwrap(), Some(0));
    assert_eq!(
        loaded.get::<String>("unsaved").unwrap().as_deref(),
        Some("carried over")
    );
    let kept = loaded
        .created_at()
        .duration_since(created_at)
        .unwrap_or_else(|e| e.duration());
    assert!(kept < secs(1), "rotation keeps the creation time");

    stale.insert("n", &9).unwrap();
    assert!(matches!(
        f.manager.update(&mut stale).await,
        Err(SessionError::Conflict)
    ));
    assert!(matches!(
        f.manager.rotate(&mut stale).await,
        Err(SessionError::Conflict)
    ));
    assert!(
        !f.is_live(&old).await,
        "a stale handle does not resurrect the old id"
    );
    assert_eq!(f.manager.list(&alice).await.unwrap().len(), 1);
}

/// Logging in over an existing session moves its data to a fresh id for the new subject,
/// with a fresh absolute lifetime; the pre-login id is dead.
pub async fn login_rotation_changes_subject<S, F, Fut>(factory: F)
where
    S: SessionStore,
    F: FnOnce(SharedClock) -> Fut,
    Fut: Future<Output = S>,
{
    let f = Fixture::new(factory).await;
    let bob = f.subject("bob");
    let anonymous_visitor = f.subject("anonymous-visitor");
    let mut session = f.create(&anonymous_visitor).await;
    let before = text(&session);
    session.insert("cart", &["apple"]).unwrap();
    let before_login = secs(20 * 60);
    f.advance(before_login);

    f.manager
        .rotate_to(&mut session, &bob, ["customer"])
        .await
        .unwrap();
    assert!(!f.is_live(&before).await);
    assert!(f.manager.list(&anonymous_visitor).await.unwrap().is_empty());
    let after = text(&session);
    let loaded = f.load(&after).await.unwrap();
    assert_eq!(loaded.subject(), bob);
    assert_eq!(loaded.roles().unwrap(), ["customer"]);
    assert_eq!(
        loaded.get::<Vec<String>>("cart").unwrap(),
        Some(vec!["apple".to_owned()])
    );

    // The absolute lifetime counts from the login, not from the anonymous session: kept
    // active, the session outlives the anonymous one's limit and dies at its own.
    let step = secs(10 * 60);
    let mut since_login = Duration::ZERO;
    let mut outlived_anonymous = false;
    while since_login + step < ABSOLUTE {
        f.advance(step);
        since_login += step;
        assert!(f.is_live(&after).await, "alive {since_login:?} after login");
        outlived_anonymous |= before_login + since_login > ABSOLUTE;
    }
    assert!(outlived_anonymous);
    f.advance(ABSOLUTE - since_login);
    assert!(
        !f.is_live(&after).await,
        "dead at login plus the absolute lifetime"
    );
}

/// A login over another subject's session (a shared computer someone left logged in)
/// carries its data but never its roles: the new subject has the roles the login gave.
/// A login that fails leaves the handle as it was.
pub async fn a_login_over_someone_elses_session_never_inherits_its_roles<S, F, Fut>(factory: F)
where
    S: SessionStore,
    F: FnOnce(SharedClock) -> Fut,
    Fut: Future<Output = S>,
{
    let f = Fixture::new(factory).await;
    let alice = f.subject("alice");
    let bob = f.subject("bob");
    let data = json!({ "roles": ["admin"], "theme": "dark" });
    let mut session = f.manager.create(&alice, &data).await.unwrap();
    let mut stale = session.clone();
    f.manager
        .rotate_to(&mut session, &bob, ["user"])
        .await
        .unwrap();
    assert_eq!(session.roles().unwrap(), ["user"]);
    let loaded = f.load(&text(&session)).await.unwrap();
    let who = f.manager.identity(&loaded).unwrap();
    assert_eq!(
        (who.subject.as_str(), &who.roles[..]),
        (bob.as_str(), &["user".to_owned()][..])
    );
    assert_eq!(
        loaded.get::<String>("theme").unwrap().as_deref(),
        Some("dark")
    );

    let before = text(&stale);
    assert!(matches!(
        f.manager.rotate_to(&mut stale, &bob, ["user"]).await,
        Err(SessionError::Conflict)
    ));
    assert_eq!(
        (
            text(&stale),
            stale.subject(),
            stale.roles().unwrap(),
            stale.is_dirty()
        ),
        (before, alice.as_str(), vec!["admin".to_owned()], false),
        "a failed login leaves the handle as it was"
    );
}

/// `destroy_all` deletes every session of one subject and none of another's; `destroy`
/// deletes one; `list` shows exactly the live ones.
pub async fn destroy_all_leaves_other_subjects<S, F, Fut>(factory: F)
where
    S: SessionStore,
    F: FnOnce(SharedClock) -> Fut,
    Fut: Future<Output = S>,
{
    let f = Fixture::new(factory).await;
    let alice = f.subject("alice");
    let bob = f.subject("bob");
    let nobody = f.subject("nobody");
    let alice_ids = [text(&f.create(&alice).await), text(&f.create(&alice).await)];
    let bob_first = f.create(&bob).await;
    let bob_id = text(&bob_first);
    let bob_second = f.create(&bob).await;

    assert_eq!(f.manager.list(&alice).await.unwrap().len(), 2);
    assert_eq!(f.manager.destroy_all(&alice).await.unwrap(), 2);
    for id in &alice_ids {
        assert!(!f.is_live(id).await, "every session of alice is gone");
    }
    assert!(f.manager.list(&alice).await.unwrap().is_empty());
    assert!(f.is_live(&bob_id).await, "bob is untouched");
    assert_eq!(f.manager.list(&bob).await.unwrap().len(), 2);
    assert_eq!(f.manager.destroy_all(&nobody).await.unwrap(), 0);

    assert!(f.manager.destroy(&bob_second).await.unwrap());
    assert!(!f.manager.destroy(&bob_second).await.unwrap());
    let listed = f.manager.list(&bob).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(&listed[0].key, bob_first.key());
    assert!(f.manager.destroy_key(&listed[0].key).await.unwrap());
    assert!(!f.is_live(&bob_id).await);
}

/// Every malformed, tampered or unknown id, in a cookie or not, is a clean "no session":
/// no error, no panic, and the real session is unaffected.
pub async fn tampered_or_unknown_id_is_no_session<S, F, Fut>(factory: F)
where
    S: SessionStore,
    F: FnOnce(SharedClock) -> Fut,
    Fut: Future<Output = S>,
{
    let f = Fixture::new(factory).await;
    let alice = f.subject("alice");
    let real = text(&f.create(&alice).await);
    let unknown = SessionId::generate().unwrap().expose_secret().to_owned();

    let mut forged: Vec<String> = vec![
        unknown,
        String::new(),
        " ".into(),
        real[1..].into(),
        format!("{real}A"),
        format!("{real}="),
        format!(" {real}"),
        format!("{}+", &real[..42]),
        format!("{}/", &real[..42]),
        format!("{}\0", &real[..42]),
        format!("{}é", &real[..41]),
        real.to_uppercase(),
        "A".repeat(43),
        "x".repeat(64 * 1024),
        "\u{feff}".repeat(15),
    ];
    // Each position changed to another character of the alphabet.
    for (i, c) in real.char_indices() {
        let other = if c == 'A' { 'B' } else { 'A' };
        forged.push(format!("{}{other}{}", &real[..i], &real[i + 1..]));
    }
    for id in &forged {
        assert!(
            f.manager.load(id).await.expect("never an error").is_none(),
            "forged id {id:?} loaded"
        );
    }

    let cookies = CookieConfig::default();
    // (A cookie value's surrounding spaces are not part of it: skip the one that differs
    // from the real id only by them.)
    for id in forged.iter().filter(|id| id.trim() != real) {
        let header = format!("{}={id}", cookies.name());
        if let Some(parsed) = cookies.session_id(&header) {
            assert!(f.manager.load_id(parsed).await.unwrap().is_none());
        }
    }
    assert!(f.is_live(&real).await, "the real session still loads");
    assert_eq!(f.store().writes(), 1, "forged ids cost no write");
}

/// Data over the limit is refused with [`SessionError::TooLarge`] before any write, and the
/// stored session stays as it was; so is an oversized subject or initial data.
pub async fn oversized_data_is_refused<S, F, Fut>(factory: F)
where
    S: SessionStore,
    F: FnOnce(SharedClock) -> Fut,
    Fut: Future<Output = S>,
{
    let f = Fixture::new(factory).await;
    let alice = f.subject("alice");
    let bob = f.subject("bob");
    let id = text(&f.create(&alice).await);
    let mut session = f.load(&id).await.unwrap();
    let version = session.version();
    f.store().reset();

    session.insert("n", &7).unwrap();
    session.insert("big", &"x".repeat(MAX_DATA_LEN)).unwrap();
    let refused = f.manager.update(&mut session).await;
    assert!(
        matches!(
            refused,
            Err(SessionError::TooLarge { what: "session data", size, limit })
                if size > MAX_DATA_LEN && limit == MAX_DATA_LEN
        ),
        "{refused:?}"
    );
    assert!(matches!(
        f.manager.rotate(&mut session).await,
        Err(SessionError::TooLarge { .. })
    ));
    assert_eq!(f.store().writes(), 0, "refused before any write");

    let stored = f.load(&id).await.unwrap();
    assert_eq!(stored.version(), version);
    assert_eq!(stored.get::<u32>("n").unwrap(), Some(0));
    assert!(!stored.contains("big").unwrap());

    // Just under the limit is fine once the oversized value is gone.
    session.remove("big").unwrap();
    assert!(f.manager.update(&mut session).await.unwrap());

    let too_big = json!({ "big": "x".repeat(MAX_DATA_LEN) });
    assert!(matches!(
        f.manager.create(bob.as_str(), &too_big).await,
        Err(SessionError::TooLarge { .. })
    ));
    let long_subject = "s".repeat(MAX_SUBJECT_LEN + 1);
    assert!(matches!(
        f.manager.create(long_subject.as_str(), &json!({})).await,
        Err(SessionError::TooLarge { .. })
    ));
    assert!(f.manager.list(&bob).await.unwrap().is_empty());
}

/// Of several handles updating the same session at once, exactly one wins and every other
/// gets [`SessionError::Conflict`]; retrying after a reload loses nothing.
pub async fn concurrent_updates_never_lose_one<S, F, Fut>(factory: F)
where
    S: SessionStore,
    F: FnOnce(SharedClock) -> Fut,
    Fut: Future<Output = S>,
{
    const WRITERS: usize = 8;
    let f = Fixture::new(factory).await;
    let alice = f.subject("alice");
    let id = text(&f.create(&alice).await);
    let manager = Arc::new(f.manager);
    let barrier = Arc::new(tokio::sync::Barrier::new(WRITERS));

    let mut tasks = Vec::new();
    for writer in 0..WRITERS {
        let mut session = manager.load(&id).await.unwrap().unwrap();
        let (manager, barrier) = (manager.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            session.insert("last", &writer).unwrap();
            session.insert(&format!("w{writer}"), &true).unwrap();
            barrier.wait().await;
            (writer, manager.update(&mut session).await)
        }));
    }
    let mut winners = Vec::new();
    let mut losers = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            (writer, Ok(true)) => winners.push(writer),
            (writer, Err(SessionError::Conflict)) => losers.push(writer),
            (writer, other) => panic!("writer {writer}: {other:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one update wins: {winners:?}");
    let stored = manager.load(&id).await.unwrap().unwrap();
    assert_eq!(stored.get::<usize>("last").unwrap(), Some(winners[0]));

    // The losers follow the documented rule: reload, reapply, retry.
    let mut retries = Vec::new();
    for writer in losers {
        let manager = manager.clone();
        let id = id.clone();
        retries.push(tokio::spawn(async move {
            loop {
                let mut session = manager.load(&id).await.unwrap().unwrap();
                session.insert(&format!("w{writer}"), &true).unwrap();
                match manager.update(&mut session).await {
                    Ok(_) => break,
                    Err(SessionError::Conflict) => tokio::task::yield_now().await,
                    Err(other) => panic!("writer {writer}: {other:?}"),
                }
            }
        }));
    }
    for retry in retries {
        retry.await.unwrap();
    }
    let stored = manager.load(&id).await.unwrap().unwrap();
    for writer in 0..WRITERS {
        assert_eq!(
            stored.get::<bool>(&format!("w{writer}")).unwrap(),
            Some(true),
            "the change of writer {writer} survived"
        );
    }
    assert_eq!(
        stored.version(),
        WRITERS as u64,
        "one version per successful write"
    );
}
