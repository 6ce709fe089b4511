//! The live session a handler sees, and the changes it asks for.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use auth_core::Identity;
use auth_session::{ROLES_KEY, Session, SessionError};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// The request's session, shared between the layer and the handler.
///
/// Reads and data changes act on the loaded session at once; the life-cycle changes
/// ([`login`](Self::login), [`rotate`](Self::rotate), [`logout`](Self::logout),
/// [`logout_everywhere`](Self::logout_everywhere)) and the saving of changed data happen
/// in the layer after the handler has answered, which then sets or clears the cookie.
///
/// **Login always issues a fresh id** (session fixation defence): an id the client brought
/// is never carried into an authenticated session.
#[derive(Clone)]
pub struct SessionHandle {
    state: Arc<Mutex<State>>,
}

pub(crate) struct State {
    pub(crate) session: Option<Session>,
    pub(crate) pending: Pending,
}

/// A life-cycle change the handler asked for.
pub(crate) enum Pending {
    None,
    Login { subject: String, roles: Vec<String> },
    Rotate,
    Logout,
    LogoutEverywhere,
}

/// Why a session change was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SessionHandleError {
    /// The request has no session to change: log in first.
    #[error("the request has no session")]
    NoSession,
    /// The session refused the change (value conversion, corrupt data).
    #[error(transparent)]
    Session(#[from] SessionError),
}

impl std::fmt::Debug for SessionHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionHandle")
            .field("session", &self.lock().session)
            .finish_non_exhaustive()
    }
}

impl SessionHandle {
    pub(crate) fn new(session: Option<Session>) -> Self {
        Self {
            state: Arc::new(Mutex::new(State {
                session,
                pending: Pending::None,
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // No code panics while holding this lock; a poisoned one still holds valid state.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes the session and the pending change out (the layer, after the handler).
    pub(crate) fn take(&self) -> (Option<Session>, Pending) {
        let mut state = self.lock();
        let pending = std::mem::replace(&mut state.pending, Pending::None);
        (state.session.take(), pending)
    }

    /// Whether the request came with a live session.
    pub fn is_authenticated(&self) -> bool {
        self.lock().session.is_some()
    }

    /// The session's subject, if there is a session.
    pub fn subject(&self) -> Option<String> {
        self.lock().session.as_ref().map(|s| s.subject().to_owned())
    }

    /// The session's identity, if there is a session.
    pub fn identity(&self) -> Result<Option<Identity>, SessionHandleError> {
        match &self.lock().session {
            Some(session) => Ok(Some(session.identity()?)),
            None => Ok(None),
        }
    }

    /// The value under `key`, if there is a session and it holds one.
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, SessionHandleError> {
        match &self.lock().session {
            Some(session) => Ok(session.get(key)?),
            None => Ok(None),
        }
    }

    /// Sets `key` to `value`; saved after the handler answers if it changed anything. A
    /// change of the roles (under [`ROLES_KEY`]) is a privilege change: the session then
    /// moves to a fresh id as with [`rotate`](Self::rotate).
    pub fn insert<T: Serialize + ?Sized>(
        &self,
        key: &str,
        value: &T,
    ) -> Result<(), SessionHandleError> {
        self.edit(key, |session| session.insert(key, value))
    }

    /// Removes `key`; returns whether it was there. Removing the roles rotates the id, as
    /// with [`insert`](Self::insert).
    pub fn remove(&self, key: &str) -> Result<bool, SessionHandleError> {
        self.edit(key, |session| session.remove(key))
    }

    /// Applies `edit` to the session, and asks for a rotation if it changed the roles.
    fn edit<T>(
        &self,
        key: &str,
        edit: impl FnOnce(&mut Session) -> Result<T, SessionError>,
    ) -> Result<T, SessionHandleError> {
        let mut state = self.lock();
        let session = state
            .session
            .as_mut()
            .ok_or(SessionHandleError::NoSession)?;
        if key != ROLES_KEY {
            return Ok(edit(session)?);
        }
        let before = session.get::<Value>(ROLES_KEY)?;
        let done = edit(session)?;
        if session.get::<Value>(ROLES_KEY)? != before && matches!(state.pending, Pending::None) {
            state.pending = Pending::Rotate;
        }
        Ok(done)
    }

    /// Logs the client in as `subject` with `roles`, under a fresh session id. If the
    /// client had a session of the same subject its data is kept; a session of another
    /// subject is destroyed, never handed over.
    pub fn login<I, R>(&self, subject: impl Into<String>, roles: I)
    where
        I: IntoIterator<Item = R>,
        R: Into<String>,
    {
        self.lock().pending = Pending::Login {
            subject: subject.into(),
            roles: roles.into_iter().map(Into::into).collect(),
        };
    }

    /// Moves the session to a fresh id (after a privilege change); the old id dies.
    pub fn rotate(&self) {
        let mut state = self.lock();
        if state.session.is_some() {
            state.pending = Pending::Rotate;
        }
    }

    /// Ends this session server-side and clears the cookie.
    pub fn logout(&self) {
        self.lock().pending = Pending::Logout;
    }

    /// Ends every session of this subject, in every store, and clears the cookie.
    pub fn logout_everywhere(&self) {
        self.lock().pending = Pending::LogoutEverywhere;
    }
}
