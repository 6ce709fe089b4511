//! `SessionManager`: the session life cycle on top of any `SessionStore`.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use auth_core::store::SessionRecord;
use auth_core::{
    Identity, SessionId, SessionKey, SessionStore, SharedClock, StoreError, SystemClock,
};
use serde::Serialize;
use serde_json::Value;

use crate::data::{Data, encode, unserializable};
use crate::identity_memo::IdentityMemo;
use crate::{
    ConfigError, CookieConfig, JsonError, Session, SessionConfig, SessionError, SessionInfo,
};

/// The outcome of the expiry check on a load.
enum Admission {
    /// Live, no touch due: the session stops loading at `expires_at`.
    Live { expires_at: SystemTime },
    /// Live, and the idle extension to `expires_at` is due at `now`.
    Touch {
        now: SystemTime,
        expires_at: SystemTime,
    },
    /// Expired by this manager's limits.
    Dead,
}

/// How many fresh ids `create` tries before giving up on a key collision (with 256-bit
/// random ids a second attempt already means a broken random source or store).
const CREATE_ATTEMPTS: usize = 3;

/// Creates, loads, updates, rotates and destroys sessions in a [`SessionStore`],
/// enforcing the idle timeout and absolute lifetime of its [`SessionConfig`] on every load
/// through its [`Clock`](auth_core::Clock).
///
/// See the [crate documentation](crate) for the login (rotation) and concurrency rules.
/// Cloning a manager clones its store handle (cheap for the memory, Redis and SQL stores).
#[derive(Clone)]
pub struct SessionManager<S> {
    store: S,
    clock: SharedClock,
    config: SessionConfig,
    identities: Arc<IdentityMemo>,
}

/// Builds a [`SessionManager`] with non-default timeouts, limits or clock.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use auth_core::{ManualClock, memory::MemorySessionStore};
/// use auth_session::SessionManager;
///
/// let clock = Arc::new(ManualClock::starting_now());
/// let manager = SessionManager::builder(MemorySessionStore::builder().clock(clock.clone()).build())
///     .clock(clock)
///     .idle_timeout(Duration::from_secs(15 * 60))
///     .absolute_lifetime(Duration::from_secs(8 * 3600))
///     .touch_interval(Duration::from_secs(30))
///     .build()?;
/// assert_eq!(manager.config().idle_timeout(), Duration::from_secs(900));
/// # Ok::<(), auth_session::ConfigError>(())
/// ```
#[derive(Debug)]
pub struct SessionManagerBuilder<S> {
    store: S,
    clock: SharedClock,
    config: SessionConfig,
}

impl<S> SessionManagerBuilder<S> {
    /// The clock that decides expiry (default: [`SystemClock`]). Give the store the same one.
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// How long an unused session stays loadable (default 30 min).
    pub fn idle_timeout(mut self, idle: Duration) -> Self {
        self.config.idle_timeout = idle;
        self
    }

    /// How long any session stays loadable after creation (default 12 h, at most 400 days).
    pub fn absolute_lifetime(mut self, lifetime: Duration) -> Self {
        self.config.absolute_lifetime = lifetime;
        self
    }

    /// The least time between two idle extensions written by loads (default 60 s; must be
    /// shorter than the idle timeout; zero writes on every load).
    pub fn touch_interval(mut self, interval: Duration) -> Self {
        self.config.touch_interval = interval;
        self
    }

    /// The largest encoded session data in bytes (default and maximum 64 KiB).
    pub fn max_data_len(mut self, limit: usize) -> Self {
        self.config.max_data_len = limit;
        self
    }

    /// Replaces all settings at once.
    pub fn config(mut self, config: SessionConfig) -> Self {
        self.config = config;
        self
    }

    /// The manager, or why the settings do not fit together.
    pub fn build(self) -> Result<SessionManager<S>, ConfigError> {
        self.config.validate()?;
        Ok(SessionManager {
            store: self.store,
            clock: self.clock,
            config: self.config,
            identities: Arc::new(IdentityMemo::new()),
        })
    }
}

impl<S> SessionManager<S> {
    /// A manager with the default settings and the system clock.
    pub fn new(store: S) -> Self {
        Self {
            store,
            clock: SystemClock::shared(),
            config: SessionConfig::default(),
            identities: Arc::new(IdentityMemo::new()),
        }
    }

    /// A builder around `store`, starting from the defaults.
    pub fn builder(store: S) -> SessionManagerBuilder<S> {
        SessionManagerBuilder {
            store,
            clock: SystemClock::shared(),
            config: SessionConfig::default(),
        }
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The clock.
    pub fn clock(&self) -> &SharedClock {
        &self.clock
    }

    /// The timeouts and limits.
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// The default cookie policy with `Max-Age` equal to this manager's absolute lifetime.
    pub fn cookie_config(&self) -> CookieConfig {
        CookieConfig::default().with_max_age(Some(self.config.absolute_lifetime))
    }

    /// [`Session::identity`], shared: while a session's subject, data and deadlines stay as
    /// they were, every call for it (through any clone of this manager) returns the same
    /// `Arc` instead of parsing the roles and copying the subject again. This is what the
    /// auth-tower layers call on each request. A change to any of them, saved or not, is
    /// seen by the next call. The manager remembers a bounded number of sessions: a table
    /// of 4096 slots (64 KiB, allocated when the manager is built and shared by its clones)
    /// holding at most one session each; sessions with more than 4 KiB of data are always
    /// built afresh.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use auth_session::SessionManager;
    /// # use auth_core::memory::MemorySessionStore;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let manager = SessionManager::new(MemorySessionStore::default());
    /// let session = manager.create("alice", &serde_json::json!({ "roles": ["admin"] })).await?;
    /// let first = manager.identity(&session)?;
    /// let again = manager.load(session.id().expose_secret()).await?.unwrap();
    /// assert!(Arc::ptr_eq(&first, &manager.identity(&again)?));
    /// assert!(first.has_role("admin"));
    /// # Ok(())
    /// # }
    /// ```
    pub fn identity(&self, session: &Session) -> Result<Arc<Identity>, SessionError> {
        self.identities.identity(session)
    }
}

impl<S: SessionStore> SessionManager<S> {
    /// Starts a new session for `subject` with `data` (anything that serializes to a JSON
    /// object, such as `serde_json::json!({})` or a struct), under a fresh random id.
    ///
    /// `create` never takes an id: an id a client brought is never adopted. Use it at login
    /// when the client has no session, or [`rotate_to`](Self::rotate_to) when it has one.
    pub async fn create<T: Serialize + ?Sized>(
        &self,
        subject: impl Into<String>,
        data: &T,
    ) -> Result<Session, SessionError> {
        let map = match serde_json::to_value(data).map_err(|_| unserializable())? {
            Value::Object(map) => map,
            _ => {
                return Err(SessionError::Value(JsonError::Shape {
                    expected: "a JSON object (initial session data)",
                }));
            }
        };
        let stored = encode(&map)?;
        self.check_size(stored.len())?;
        let now = self.clock.now();
        let expires_at = self
            .config
            .deadline(now, now)
            .ok_or(SessionError::Expired)?;
        let record = SessionRecord::new(subject, stored, now, expires_at);
        record.check_limits()?;
        let (id, key) = self.insert_new(&record).await?;
        tracing::info!(
            event = "session.created",
            subject = %record.subject,
            session = %key.hint(),
        );
        Ok(Session::new(
            id,
            key,
            Arc::new(record),
            expires_at,
            Data::decoded(map),
        ))
    }

    /// The live session whose id is `id` (the text from the client's cookie), or `None`:
    /// a malformed, tampered, unknown, destroyed, rotated or expired id is simply "no
    /// session", never an error. Errors mean the store failed: fail closed.
    ///
    /// Cost: the id's strict parse, its SHA-256, one store read and the expiry check; the
    /// data is not decoded until first read. If the stored "last seen" is at least one touch
    /// interval old, the idle extension is written with [`SessionStore::touch`] (never past
    /// the absolute limit).
    pub async fn load(&self, id: &str) -> Result<Option<Session>, SessionError> {
        match SessionId::parse(id) {
            Ok(id) => self.load_id(id).await,
            Err(_) => Ok(None),
        }
    }

    /// [`load`](Self::load) for an already parsed id.
    pub async fn load_id(&self, id: SessionId) -> Result<Option<Session>, SessionError> {
        let key = id.key();
        let Some(record) = self.store.load_shared(&key).await? else {
            return Ok(None);
        };
        match self.admit(&record, self.clock.now()) {
            Admission::Live { expires_at } => Ok(Some(Session::new(
                id,
                key,
                record,
                expires_at,
                Data::default(),
            ))),
            // Boxed: taken once per touch interval, and unboxed its state would make every
            // load's future (and each caller's) larger, copied on every request.
            Admission::Touch { now, expires_at } => {
                Box::pin(self.touch(id, key, record, now, expires_at)).await
            }
            Admission::Dead => Ok(None),
        }
    }

    /// Writes the session's data if it changed (returns `false` without touching the store
    /// if not), extending its idle deadline.
    ///
    /// **Concurrency rule:** the write carries the version the session was loaded at and
    /// succeeds only if the store still holds that version. Of two handles loaded at the
    /// same version, the first update wins and the second fails with
    /// [`SessionError::Conflict`], writing nothing: no update is ever silently lost. On a
    /// conflict, [`load`](Self::load) again, reapply the change and retry. A session
    /// destroyed, rotated or expired meanwhile is also a conflict and is never resurrected.
    ///
    /// Data over the size limit fails with [`SessionError::TooLarge`] before anything is
    /// written; the stored session stays as it was (the handle keeps its unsaved changes).
    ///
    /// **Privilege changes:** a change that adds a role fails with
    /// [`SessionError::PrivilegeChange`], writing nothing: save it with
    /// [`rotate`](Self::rotate), so that whoever learned the old id (a fixed or leaked
    /// cookie) never holds the new role. A change that only removes roles is saved in place
    /// (taking a role away from someone else's session must not log them out). Roles are
    /// names, not ranks: `["admin"]` to `["user"]` adds `user`. Nor is a role whose
    /// absence grants something (`mfa_pending`, say) understood: removing it is saved in
    /// place, so save such a step-up with `rotate`.
    pub async fn update(&self, session: &mut Session) -> Result<bool, SessionError> {
        if !session.is_dirty() {
            return Ok(false);
        }
        if session.gains_roles()? {
            return Err(SessionError::PrivilegeChange);
        }
        let mut record = self.record_for_write(session)?;
        record.version = self.store.save(&session.key, &record).await?;
        session.expires_at = record.expires_at;
        session.record = Arc::new(record);
        session.data.mark_saved();
        Ok(true)
    }

    /// Moves the session to a fresh id, keeping its subject, data (including unsaved
    /// changes) and creation time. The old id stops loading before this returns. Call it
    /// after every privilege change; `session` then holds the new id, which the client must
    /// be sent.
    ///
    /// It follows the same concurrency rule as [`update`](Self::update): a handle loaded at
    /// a stale version (or a session destroyed meanwhile) gets [`SessionError::Conflict`].
    /// A logout or "log out everywhere" that lands while the rotation runs is never undone:
    /// the rotation then fails with `Conflict` and leaves no session. If the store fails,
    /// the rotation did not happen: the old id keeps the data it had, without the
    /// handle's changes, and the new id is deleted again. Only a rotation whose future is
    /// dropped between its writes can leave the new id stored; no client ever holds it (the
    /// store keeps its hash) and it ends at the idle timeout.
    pub async fn rotate(&self, session: &mut Session) -> Result<(), SessionError> {
        self.rotate_inner(session, None).await
    }

    /// Logs the client in as `subject` with `roles`: like [`rotate`](Self::rotate), but the
    /// session now belongs to `subject` and its absolute lifetime starts over (a new
    /// authentication). Use it at login when the client already had a session (an
    /// anonymous cart, say): its data is carried over, except its roles, which are
    /// replaced by `roles` (a new subject never inherits the privileges of the previous
    /// one). On an error `session` is left as it was.
    pub async fn rotate_to<I, R>(
        &self,
        session: &mut Session,
        subject: impl Into<String>,
        roles: I,
    ) -> Result<(), SessionError>
    where
        I: IntoIterator<Item = R>,
        R: Into<String>,
    {
        let mut next = session.clone();
        next.set_roles(roles)?;
        self.rotate_inner(&mut next, Some(subject.into())).await?;
        *session = next;
        Ok(())
    }

    /// Deletes the session (logout). Returns whether it was still live. Clear the client's
    /// cookie as well ([`CookieConfig::clear_cookie`]).
    pub async fn destroy(&self, session: &Session) -> Result<bool, SessionError> {
        self.destroy_key(&session.key).await
    }

    /// Deletes the session stored under `key` (a key from [`list`](Self::list): "log out
    /// that device"). Returns whether it was still live.
    pub async fn destroy_key(&self, key: &SessionKey) -> Result<bool, SessionError> {
        let deleted = self.store.delete(key).await?;
        tracing::info!(event = "session.destroyed", session = %key.hint(), deleted);
        Ok(deleted)
    }

    /// Deletes every session of `subject` ("log out everywhere") and no other. Returns how
    /// many live sessions were deleted.
    pub async fn destroy_all(&self, subject: &str) -> Result<u64, SessionError> {
        let deleted = self.store.delete_subject(subject).await?;
        tracing::info!(event = "session.destroyed_all", subject, sessions = deleted);
        Ok(deleted)
    }

    /// The live sessions of `subject`, in no particular order.
    pub async fn list(&self, subject: &str) -> Result<Vec<SessionInfo>, SessionError> {
        let now = self.clock.now();
        let entries = self.store.list_subject(subject).await?;
        Ok(entries
            .into_iter()
            .filter_map(|entry| {
                let expires_at = self.live_deadline(&entry.record, now)?;
                Some(SessionInfo {
                    key: entry.key,
                    created_at: entry.record.created_at,
                    last_seen_at: entry.record.last_seen_at,
                    expires_at,
                })
            })
            .collect())
    }

    /// The moment `record` stops loading, if it is live at `now`: the earliest of the
    /// store's deadline and this manager's idle and absolute limits.
    fn live_deadline(&self, record: &SessionRecord, now: SystemTime) -> Option<SystemTime> {
        let ours = self
            .config
            .deadline(record.created_at, record.last_seen_at)?;
        let deadline = ours.min(record.expires_at);
        (now < deadline).then_some(deadline)
    }

    /// What a load does with a live `record` at `now`: hand it out as it is, write the
    /// idle extension first (at most once per touch interval, never past the absolute
    /// limit), or treat it as gone.
    fn admit(&self, record: &SessionRecord, now: SystemTime) -> Admission {
        let Some(expires_at) = self.live_deadline(record, now) else {
            return Admission::Dead;
        };
        let touch_due = record
            .last_seen_at
            .checked_add(self.config.touch_interval)
            .is_some_and(|due| now >= due);
        if !touch_due {
            return Admission::Live { expires_at };
        }
        match self.config.deadline(record.created_at, now) {
            Some(expires_at) => Admission::Touch { now, expires_at },
            None => Admission::Dead,
        }
    }

    /// Writes the idle extension of a loaded record, then hands the session out.
    async fn touch(
        &self,
        id: SessionId,
        key: SessionKey,
        mut record: Arc<SessionRecord>,
        now: SystemTime,
        expires_at: SystemTime,
    ) -> Result<Option<Session>, SessionError> {
        if !self.store.touch(&key, now, expires_at).await? {
            // Deleted since the read.
            return Ok(None);
        }
        // A copy when the store shares its record: once per touch interval.
        Arc::make_mut(&mut record).last_seen_at = now;
        Ok(Some(Session::new(
            id,
            key,
            record,
            expires_at,
            Data::default(),
        )))
    }

    fn check_size(&self, size: usize) -> Result<(), SessionError> {
        let limit = self.config.max_data_len;
        if size > limit {
            return Err(SessionError::TooLarge {
                what: "session data",
                size,
                limit,
            });
        }
        Ok(())
    }

    /// The record a write of `session` at the clock's `now` would store (at the session's
    /// loaded version, last seen `now`), after the size and expiry checks.
    fn record_for_write(&self, session: &Session) -> Result<SessionRecord, SessionError> {
        let data = session.data.encode(&session.record.data)?;
        self.check_size(data.len())?;
        let now = self.clock.now();
        if now >= session.expires_at {
            return Err(SessionError::Expired);
        }
        let expires_at = self
            .config
            .deadline(session.record.created_at, now)
            .filter(|deadline| now < *deadline)
            .ok_or(SessionError::Expired)?;
        let mut record = SessionRecord::new(
            session.record.subject.clone(),
            data,
            session.record.created_at,
            expires_at,
        );
        record.last_seen_at = now;
        record.version = session.record.version;
        record.check_limits()?;
        Ok(record)
    }

    async fn rotate_inner(
        &self,
        session: &mut Session,
        subject: Option<String>,
    ) -> Result<(), SessionError> {
        // Everything the new record needs is checked before the first write.
        let mut record = self.record_for_write(session)?;
        let now = record.last_seen_at;
        // The fence keeps the data the old id holds: the session's changes (new roles, a
        // step-up) go only under the new id, so a rotation that stops after the fence
        // (a store error, a dropped future) leaves the old id with no more than it had.
        let mut fence = record.clone();
        fence.data.clone_from(&session.record.data);
        if let Some(subject) = subject {
            record.subject = subject;
            record.created_at = now;
            record.expires_at = self
                .config
                .deadline(now, now)
                .ok_or(SessionError::Expired)?;
            record.check_limits()?;
        }
        record.version = 0;
        // A versioned write first: a stale handle or a destroyed session stops here, before
        // anything is deleted, so rotation can neither lose newer data nor resurrect.
        self.store.save(&session.key, &fence).await?;
        // The new id is written before the old one is deleted, and the old one must still
        // be there to delete: a logout or "log out everywhere" that took it meanwhile took
        // the new id too or is answered here by deleting it, so a rotation never undoes one.
        let (id, key) = self.insert_new(&record).await?;
        match self.store.delete(&session.key).await {
            Ok(true) => {}
            Ok(false) => {
                self.store.delete(&key).await?;
                return Err(SessionError::Conflict);
            }
            Err(error) => {
                // Best effort: no client holds the new id, so it is harmless if this fails.
                let _ = self.store.delete(&key).await;
                return Err(error.into());
            }
        }
        tracing::info!(
            event = "session.rotated",
            subject = %record.subject,
            from = %session.key.hint(),
            session = %key.hint(),
        );
        session.id = id;
        session.key = key;
        session.expires_at = record.expires_at;
        session.record = Arc::new(record);
        session.data.mark_saved();
        Ok(())
    }

    /// Stores `record` under a fresh id, retrying on the (astronomically unlikely) key
    /// collision.
    async fn insert_new(
        &self,
        record: &SessionRecord,
    ) -> Result<(SessionId, SessionKey), SessionError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let id = SessionId::generate()?;
            let key = id.key();
            match self.store.create(&key, record).await {
                Ok(()) => return Ok((id, key)),
                Err(StoreError::AlreadyExists) if attempt < CREATE_ATTEMPTS => continue,
                Err(error) => return Err(error.into()),
            }
        }
    }
}

impl<S: fmt::Debug> fmt::Debug for SessionManager<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionManager")
            .field("store", &self.store)
            .field("clock", &self.clock)
            .field("config", &self.config)
            .finish()
    }
}
