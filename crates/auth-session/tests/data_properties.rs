//! Property tests of session data through the public API: whatever a handler stores is
//! what a later request loads, and the size limit is a typed error.
// Test code: a panic is a failed test.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use auth_core::memory::MemorySessionStore;
use auth_session::{SessionError, SessionManager};
use proptest::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

mod strategies;
use strategies::json_map;

fn block_on<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(future)
}

/// A typed value a handler might keep in a session.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Profile {
    name: String,
    visits: u32,
    tags: Vec<String>,
    score: Option<i64>,
    ratio: f64,
    flags: BTreeMap<String, bool>,
}

fn profile() -> impl Strategy<Value = Profile> {
    (
        ".{0,16}",
        any::<u32>(),
        proptest::collection::vec(".{0,8}", 0..4),
        any::<Option<i64>>(),
        any::<f64>().prop_filter("finite", |f| f.is_finite()),
        proptest::collection::btree_map("[a-z]{1,6}", any::<bool>(), 0..4),
    )
        .prop_map(|(name, visits, tags, score, ratio, flags)| Profile {
            name,
            visits,
            tags,
            score,
            ratio,
            flags,
        })
}

/// A value nested `depth` arrays deep.
fn nested(depth: usize) -> Value {
    (0..depth).fold(json!("core"), |inner, _| Value::Array(vec![inner]))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// insert → update → load → get gives back the same typed value.
    #[test]
    fn typed_values_load_back(profile in profile(), key in "[a-z_]{1,8}") {
        block_on(async {
            let manager = SessionManager::new(MemorySessionStore::default());
            let mut session = manager.create("alice", &json!({})).await.unwrap();
            session.insert(&key, &profile).unwrap();
            assert!(manager.update(&mut session).await.unwrap());
            let loaded = manager.load_id(session.id().clone()).await.unwrap().unwrap();
            assert_eq!(loaded.get::<Profile>(&key).unwrap(), Some(profile));
        });
    }

    /// Any JSON map given at creation loads back key for key.
    #[test]
    fn any_json_map_round_trips(map in json_map()) {
        block_on(async {
            let manager = SessionManager::new(MemorySessionStore::default());
            let session = manager.create("alice", &map).await.unwrap();
            let loaded = manager.load_id(session.id().clone()).await.unwrap().unwrap();
            for (key, value) in &map {
                assert_eq!(loaded.get::<Value>(key).unwrap().as_ref(), Some(value), "{key:?}");
            }
        });
    }

    /// Data over the configured limit is refused with `TooLarge` (its exact encoded size)
    /// before anything is written, at creation and at update; data within it is stored.
    #[test]
    fn the_size_limit_is_a_typed_error(map in json_map(), limit in 2usize..200) {
        let size = serde_json::to_vec(&map).unwrap().len();
        block_on(async {
            let manager = SessionManager::builder(MemorySessionStore::default())
                .max_data_len(limit)
                .build()
                .unwrap();
            match manager.create("alice", &map).await {
                Ok(_) => assert!(size <= limit),
                Err(SessionError::TooLarge { what, size: reported, limit: reported_limit }) => {
                    assert!(size > limit);
                    assert_eq!((what, reported, reported_limit), ("session data", size, limit));
                    assert!(manager.list("alice").await.unwrap().is_empty());
                }
                Err(other) => panic!("{other:?}"),
            }

            let mut session = manager.create("bob", &json!({})).await.unwrap();
            for (key, value) in &map {
                session.insert(key, value).unwrap();
            }
            match manager.update(&mut session).await {
                Ok(_) => assert!(size <= limit),
                Err(SessionError::TooLarge { size: reported, .. }) => {
                    assert!(size > limit);
                    assert_eq!(reported, size);
                    let stored = manager.load_id(session.id().clone()).await.unwrap().unwrap();
                    assert_eq!(stored.get::<Value>("anything").unwrap(), None);
                    assert_eq!(stored.version(), 0, "nothing was written");
                }
                Err(other) => panic!("{other:?}"),
            }
        });
    }

    /// A value of any nesting depth is either stored and loaded back, or refused when it
    /// is inserted: never saved in a form that a later load cannot read.
    #[test]
    fn deep_values_are_stored_faithfully_or_refused(depth in 0usize..300) {
        block_on(async {
            let manager = SessionManager::new(MemorySessionStore::default());
            let mut session = manager.create("alice", &json!({})).await.unwrap();
            let value = nested(depth);
            match session.insert("deep", &value) {
                Ok(()) => {
                    manager.update(&mut session).await.unwrap();
                    let loaded = manager.load_id(session.id().clone()).await.unwrap().unwrap();
                    assert_eq!(loaded.get::<Value>("deep").unwrap(), Some(value));
                }
                Err(SessionError::Value(_)) => assert!(!session.is_dirty()),
                Err(other) => panic!("{other:?}"),
            }
            // Either way the session still loads and reads.
            let loaded = manager.load_id(session.id().clone()).await.unwrap().unwrap();
            assert!(loaded.contains("absent").is_ok());
        });
    }
}
