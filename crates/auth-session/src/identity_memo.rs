//! Identities remembered per session, so that the requests of an unchanged session share
//! one [`Identity`] instead of each parsing the roles and copying the subject again.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use auth_core::store::SessionRecord;
use auth_core::{Identity, SessionKey};

use crate::{Session, SessionError};

/// Slots of the direct-mapped table. A session key is a SHA-256 digest, so its first
/// bytes already spread sessions evenly over them; two sessions that share a slot only
/// take turns in it.
const SLOTS: usize = 4096;

/// Sessions whose stored data is longer are not remembered, which bounds the memory the
/// table can hold (at most `SLOTS` times this, beside the identities).
const MAX_REMEMBERED_DATA: usize = 4096;

/// A bounded table from a session to the identity last built for it.
pub(crate) struct IdentityMemo {
    slots: Box<[Mutex<Option<Box<Remembered>>>]>,
}

/// An identity with the inputs of [`Session::identity`] that it does not carry itself
/// (its subject, creation and expiry it does): the key, and the record whose stored data
/// it read (shared, not copied). A hit needs every input to be equal, so a remembered
/// identity is exactly the one a fresh build would give: nothing here trusts a store's
/// version numbers.
struct Remembered {
    key: SessionKey,
    record: Arc<SessionRecord>,
    identity: Arc<Identity>,
}

impl Remembered {
    fn matches(&self, session: &Session) -> bool {
        self.key == session.key
            && self.identity.authenticated_at == Some(session.record.created_at)
            && self.identity.expires_at == Some(session.expires_at)
            && self.identity.subject == session.record.subject
            && self.record.data == session.record.data
    }
}

impl IdentityMemo {
    pub(crate) fn new() -> Self {
        Self {
            slots: (0..SLOTS).map(|_| Mutex::new(None)).collect(),
        }
    }

    /// `session`'s identity: the remembered one if its inputs are unchanged, otherwise a
    /// fresh build, then remembered. A session with unsaved edits is always built fresh.
    pub(crate) fn identity(&self, session: &Session) -> Result<Arc<Identity>, SessionError> {
        if !session.data.is_unedited() {
            return session.identity().map(Arc::new);
        }
        let slot = &self.slots[slot_of(&session.key)];
        if let Some(hit) = lock(slot).as_deref().filter(|r| r.matches(session)) {
            return Ok(hit.identity.clone());
        }
        let identity = Arc::new(session.identity()?);
        if session.record.data.len() <= MAX_REMEMBERED_DATA {
            let remembered = Box::new(Remembered {
                key: session.key,
                record: session.record.clone(),
                identity: identity.clone(),
            });
            // The entry it replaces is dropped after the lock is released.
            let _replaced = lock(slot).replace(remembered);
        }
        Ok(identity)
    }
}

fn slot_of(key: &SessionKey) -> usize {
    let bytes = key.as_bytes();
    usize::from(u16::from_le_bytes([bytes[0], bytes[1]])) % SLOTS
}

fn lock(slot: &Mutex<Option<Box<Remembered>>>) -> MutexGuard<'_, Option<Box<Remembered>>> {
    // Nothing panics while holding a slot; a poisoned one still holds a whole entry.
    slot.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // Test code: a panic is a failed test.

    use super::*;

    use std::time::Duration;

    use auth_core::memory::MemorySessionStore;
    use auth_core::{AuthMethod, ManualClock, SessionId, SessionStore};
    use serde_json::json;

    use crate::SessionManager;

    fn manager() -> (SessionManager<MemorySessionStore>, Arc<ManualClock>) {
        let clock = Arc::new(ManualClock::starting_now());
        let store = MemorySessionStore::builder().clock(clock.clone()).build();
        let manager = SessionManager::builder(store)
            .clock(clock.clone())
            .touch_interval(Duration::from_secs(60))
            .build()
            .unwrap();
        (manager, clock)
    }

    #[tokio::test]
    async fn an_unchanged_session_shares_one_identity() {
        let (manager, _) = manager();
        let session = manager
            .create("alice", &json!({ "roles": ["admin"] }))
            .await;
        let id = session.unwrap().id().clone();
        let first = manager.load_id(id.clone()).await.unwrap().unwrap();
        let second = manager.load_id(id).await.unwrap().unwrap();
        let a = manager.identity(&first).unwrap();
        let b = manager.identity(&second).unwrap();
        assert!(
            Arc::ptr_eq(&a, &b),
            "the second load reuses the first identity"
        );
        assert_eq!(*a, first.identity().unwrap());
    }

    #[tokio::test]
    async fn a_saved_change_of_roles_is_seen_at_once() {
        let (manager, _) = manager();
        let mut session = manager
            .create("alice", &json!({ "roles": ["admin", "reader"] }))
            .await
            .unwrap();
        let before = manager.identity(&session).unwrap();
        assert!(before.has_role("admin"));

        session.set_roles(["reader"]).unwrap();
        let edited = manager.identity(&session).unwrap();
        assert!(edited.has_role("reader") && !edited.has_role("admin"));
        manager.update(&mut session).await.unwrap();

        let reloaded = manager
            .load_id(session.id().clone())
            .await
            .unwrap()
            .unwrap();
        let after = manager.identity(&reloaded).unwrap();
        assert!(after.has_role("reader"), "{after:?}");
        assert!(!after.has_role("admin"), "a revoked role is never served");
        assert_eq!(*after, reloaded.identity().unwrap());
    }

    #[tokio::test]
    async fn a_touch_moves_the_expiry_of_the_identity() {
        let (manager, clock) = manager();
        let id = manager
            .create("alice", &json!({}))
            .await
            .unwrap()
            .id()
            .clone();
        let first = manager.load_id(id.clone()).await.unwrap().unwrap();
        let before = manager.identity(&first).unwrap();
        clock.advance(Duration::from_secs(120));
        let touched = manager.load_id(id).await.unwrap().unwrap();
        assert!(
            touched.expires_at() > first.expires_at(),
            "the load touched it"
        );
        let after = manager.identity(&touched).unwrap();
        assert_eq!(after.expires_at, Some(touched.expires_at()));
        assert_ne!(after.expires_at, before.expires_at);
    }

    #[tokio::test]
    async fn sessions_sharing_a_slot_each_get_their_own_identity() {
        let (manager, _) = manager();
        let mut by_slot = std::collections::HashMap::new();
        let (a, b) = loop {
            let id = SessionId::generate().unwrap();
            if let Some(other) = by_slot.insert(slot_of(&id.key()), id.clone()) {
                break (other, id);
            }
        };
        // Two sessions alike in everything but their key: only the key tells them apart.
        let now = manager.clock().now();
        let data = serde_json::to_vec(&json!({ "roles": ["admin"] })).unwrap();
        let record = SessionRecord::new("alice", data, now, now + Duration::from_secs(600));
        for id in [&a, &b] {
            SessionStore::create(manager.store(), &id.key(), &record)
                .await
                .unwrap();
        }
        for _ in 0..2 {
            for id in [&a, &b] {
                let session = manager.load_id(id.clone()).await.unwrap().unwrap();
                let who = manager.identity(&session).unwrap();
                let id_hint = id.key().hint();
                assert_eq!(who.method, AuthMethod::Session { id_hint });
                assert_eq!(*who, session.identity().unwrap());
            }
        }
    }

    #[tokio::test]
    async fn a_record_rewritten_under_the_same_key_is_built_afresh() {
        // Nothing but the manager writes sessions in this crate, yet the memo must not
        // depend on it: another process or an operator may rewrite a stored record.
        let (manager, _) = manager();
        let id = SessionId::generate().unwrap();
        let now = manager.clock().now();
        let data = serde_json::to_vec(&json!({ "roles": ["admin"] })).unwrap();
        let expires = now + Duration::from_secs(600);
        let earlier = now - Duration::from_secs(10);
        for (subject, created_at) in [("alice", now), ("mallory", now), ("mallory", earlier)] {
            let store = manager.store();
            SessionStore::delete(store, &id.key()).await.unwrap();
            let record = SessionRecord::new(subject, data.clone(), created_at, expires);
            SessionStore::create(store, &id.key(), &record)
                .await
                .unwrap();
            let session = manager.load_id(id.clone()).await.unwrap().unwrap();
            let who = manager.identity(&session).unwrap();
            assert_eq!(who.subject, subject);
            assert_eq!(who.authenticated_at, Some(created_at));
        }
    }

    #[tokio::test]
    async fn large_data_is_built_fresh_and_still_right() {
        let (manager, _) = manager();
        let filler = "x".repeat(MAX_REMEMBERED_DATA);
        let session = manager
            .create("alice", &json!({ "roles": ["admin"], "filler": filler }))
            .await
            .unwrap();
        let a = manager.identity(&session).unwrap();
        let b = manager.identity(&session).unwrap();
        assert!(!Arc::ptr_eq(&a, &b), "not remembered");
        assert_eq!(a, b);
        assert!(a.has_role("admin"));
    }
}
