//! What a session list shows about each session.

use std::time::SystemTime;

use auth_core::SessionKey;

/// One live session of a subject, as [`SessionManager::list`](crate::SessionManager::list)
/// shows it: enough for a "your devices" page, nothing secret. Its key can be passed to
/// [`SessionManager::destroy_key`](crate::SessionManager::destroy_key).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionInfo {
    /// The session's store key (a hash of its id, safe to show).
    pub key: SessionKey,
    /// When it was created.
    pub created_at: SystemTime,
    /// When it was last seen (as of its last touch or update).
    pub last_seen_at: SystemTime,
    /// When it stops loading unless used again.
    pub expires_at: SystemTime,
}

impl SessionInfo {
    /// A short, non-secret label of the session (the first 8 hex characters of its key).
    pub fn hint(&self) -> String {
        self.key.hint()
    }
}
