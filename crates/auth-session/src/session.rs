//! One loaded session: its id, its timestamps and its typed data.

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use auth_core::store::SessionRecord;
use auth_core::{AuthMethod, Identity, SessionId, SessionKey};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::SessionError;
use crate::data::Data;

/// The data key under which [`Session::identity`] looks for the subject's roles (a JSON
/// array of strings), and [`Session::set_roles`] writes them.
pub const ROLES_KEY: &str = "roles";

/// A session loaded or created by a [`SessionManager`](crate::SessionManager).
///
/// Its data is a map from string keys to JSON values, read and written with typed
/// [`get`](Self::get)/[`insert`](Self::insert)/[`remove`](Self::remove) through serde. The
/// stored encoding is decoded only on the first read, so a request that never looks at
/// the data never pays for it. Changes stay local, marked by [`is_dirty`](Self::is_dirty),
/// until [`SessionManager::update`](crate::SessionManager::update) writes them; inserting a
/// value equal to the one already there is not a change.
///
/// `Debug` never prints the id or the data. A clone is a second handle at the same version:
/// of two handles, only the first to update wins (see
/// [`SessionManager::update`](crate::SessionManager::update)).
///
/// ```
/// # use auth_session::SessionManager;
/// # use auth_core::memory::MemorySessionStore;
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let manager = SessionManager::new(MemorySessionStore::default());
/// let mut session = manager.create("alice", &serde_json::json!({ "theme": "dark" })).await?;
/// assert_eq!(session.get::<String>("theme")?.as_deref(), Some("dark"));
///
/// session.insert("theme", "dark")?;
/// assert!(!session.is_dirty()); // same value: nothing to write
/// session.insert("cart", &vec![17_u32, 42])?;
/// assert!(session.is_dirty());
/// assert!(manager.update(&mut session).await?);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Session {
    pub(crate) id: SessionId,
    pub(crate) key: SessionKey,
    /// The record as the store holds it (subject, times, version and the data's stored
    /// encoding), shared with the store where it keeps records behind an `Arc`.
    pub(crate) record: Arc<SessionRecord>,
    pub(crate) expires_at: SystemTime,
    pub(crate) data: Data,
}

impl Session {
    /// A session handed out by a load or written by a create: `record` as the store
    /// holds it, live until `expires_at` by the manager's limits, with `data` beside it.
    pub(crate) fn new(
        id: SessionId,
        key: SessionKey,
        record: Arc<SessionRecord>,
        expires_at: SystemTime,
        data: Data,
    ) -> Self {
        Self {
            id,
            key,
            record,
            expires_at,
            data,
        }
    }

    /// The id to put in the client's cookie. Do not log it.
    pub fn id(&self) -> &SessionId {
        &self.id
    }

    /// The store key (SHA-256 of the id): not secret, a handle for logs and session lists.
    pub fn key(&self) -> &SessionKey {
        &self.key
    }

    /// Whose session it is.
    pub fn subject(&self) -> &str {
        &self.record.subject
    }

    /// When the session was created (or logged in through
    /// [`rotate_to`](crate::SessionManager::rotate_to)); its absolute lifetime counts
    /// from here.
    pub fn created_at(&self) -> SystemTime {
        self.record.created_at
    }

    /// The "last seen" time the store holds (updated at most once per touch interval).
    pub fn last_seen_at(&self) -> SystemTime {
        self.record.last_seen_at
    }

    /// When the session stops loading unless it is used again: the earlier of its idle and
    /// absolute deadlines.
    pub fn expires_at(&self) -> SystemTime {
        self.expires_at
    }

    /// The stored version this handle was loaded at (optimistic concurrency).
    pub fn version(&self) -> u64 {
        self.record.version
    }

    /// Whether the data changed since it was loaded or last written.
    pub fn is_dirty(&self) -> bool {
        self.data.is_dirty()
    }

    /// The value under `key`, converted to `T`; `None` if there is none. Fails with
    /// [`SessionError::Value`] if the stored value does not fit `T`, and with
    /// [`SessionError::CorruptData`] if the stored data is not a JSON object.
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, SessionError> {
        self.data.get(&self.record.data, key)
    }

    /// Sets `key` to `value`. Marks the session dirty unless the value was already there.
    pub fn insert<T: Serialize + ?Sized>(
        &mut self,
        key: &str,
        value: &T,
    ) -> Result<(), SessionError> {
        self.data.insert(&self.record.data, key, value)
    }

    /// Removes `key`; returns whether it was there (and so whether the session is now dirty).
    pub fn remove(&mut self, key: &str) -> Result<bool, SessionError> {
        self.data.remove(&self.record.data, key)
    }

    /// Removes every key.
    pub fn clear(&mut self) -> Result<(), SessionError> {
        self.data.clear(&self.record.data)
    }

    /// Whether `key` holds a value.
    pub fn contains(&self, key: &str) -> Result<bool, SessionError> {
        Ok(self.data.map(&self.record.data)?.contains_key(key))
    }

    /// The roles stored under [`ROLES_KEY`] (none if the key is absent).
    pub fn roles(&self) -> Result<Vec<String>, SessionError> {
        Ok(self
            .data
            .get(&self.record.data, ROLES_KEY)?
            .unwrap_or_default())
    }

    /// Stores `roles` under [`ROLES_KEY`]. A privilege change: save it with
    /// [`SessionManager::rotate`](crate::SessionManager::rotate), which moves the session to
    /// a fresh id. [`SessionManager::update`](crate::SessionManager::update) refuses a change
    /// that adds a role ([`SessionError::PrivilegeChange`]); it saves one that only removes
    /// roles in place, so that an operator can take a role away without logging the user
    /// out.
    pub fn set_roles<I, R>(&mut self, roles: I) -> Result<(), SessionError>
    where
        I: IntoIterator<Item = R>,
        R: Into<String>,
    {
        let roles: Vec<String> = roles.into_iter().map(Into::into).collect();
        self.insert(ROLES_KEY, &roles)
    }

    /// Whether the unsaved changes give the subject a role the stored session does not
    /// hold. Stored roles that do not read as a list of strings count as none.
    pub(crate) fn gains_roles(&self) -> Result<bool, SessionError> {
        if !self.data.roles_edited() {
            return Ok(false);
        }
        let roles = self.roles()?;
        let stored: Vec<String> = crate::data::decode(&self.record.data)
            .ok()
            .and_then(|mut map| map.remove(ROLES_KEY))
            .and_then(|value| serde_json::from_value(value).ok())
            .unwrap_or_default();
        Ok(roles.iter().any(|role| !stored.contains(role)))
    }

    /// The [`Identity`] this session proves: its subject, the roles under [`ROLES_KEY`],
    /// [`AuthMethod::Session`] with the key's hint, authenticated at creation, expiring at
    /// [`expires_at`](Self::expires_at).
    ///
    /// ```
    /// # use auth_session::SessionManager;
    /// # use auth_core::{AuthMethod, memory::MemorySessionStore};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let manager = SessionManager::new(MemorySessionStore::default());
    /// let session = manager.create("alice", &serde_json::json!({ "roles": ["admin"] })).await?;
    /// let who = session.identity()?;
    /// assert_eq!(who.subject, "alice");
    /// assert!(who.has_role("admin"));
    /// assert_eq!(who.method, AuthMethod::Session { id_hint: session.key().hint() });
    /// # Ok(())
    /// # }
    /// ```
    pub fn identity(&self) -> Result<Identity, SessionError> {
        let method = AuthMethod::Session {
            id_hint: self.key.hint(),
        };
        // Filled in place: the builder methods would move the whole struct at each step,
        // on every request.
        let mut identity =
            Identity::new(self.record.subject.clone(), method, self.record.created_at);
        identity.roles = self.roles()?;
        identity.expires_at = Some(self.expires_at);
        Ok(identity)
    }
}

impl fmt::Debug for Session {
    // The id is the secret and the data may hold secrets (CSRF tokens, OAuth state).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("key", &self.key)
            .field("subject", &self.record.subject)
            .field("created_at", &self.record.created_at)
            .field("last_seen_at", &self.record.last_seen_at)
            .field("expires_at", &self.expires_at)
            .field("version", &self.record.version)
            .field("stored_len", &self.record.data.len())
            .field("dirty", &self.data.is_dirty())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shareable<T: Clone + Send + Sync + 'static>() {}

    #[test]
    fn handles_can_live_in_request_extensions() {
        // http's `Extensions` wants `Clone + Send + Sync + 'static`.
        shareable::<Session>();
        shareable::<crate::SessionManager<auth_core::memory::MemorySessionStore>>();
    }

    #[tokio::test]
    async fn loads_share_the_memory_stores_record_instead_of_copying_it() {
        let manager = crate::SessionManager::new(auth_core::memory::MemorySessionStore::default());
        let created = manager
            .create("alice", &serde_json::json!({ "roles": ["admin"] }))
            .await
            .unwrap();
        let first = manager
            .load_id(created.id().clone())
            .await
            .unwrap()
            .unwrap();
        let second = manager
            .load_id(created.id().clone())
            .await
            .unwrap()
            .unwrap();
        assert!(Arc::ptr_eq(&first.record, &second.record));
        assert_eq!(second.subject(), "alice");
        assert_eq!(second.roles().unwrap(), ["admin"]);
    }
}
