//! [`RedisSessionStore`]: sessions as Redis strings, indexed per subject.

use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;
use auth_core::store::{SessionEntry, SessionRecord, SessionStore, check_subject};
use auth_core::{SessionKey, StoreError};
use redis::{FromRedisValue, Script};

use crate::builder::{RedisStoreBuilder, Shared};
use crate::connection::RedisConnection;
use crate::error::{ConfigError, malformed};
use crate::keys::subject_name;
use crate::session_record::{decode, encode, is_live, lua_script};
use crate::time::{ceil_millis, digits, floor_millis, instant, ttl_millis};

/// A [`SessionStore`] on Redis or Redis Cluster.
///
/// Layout (`P` is the prefix): each session is one string at `{P:s}:rec:<key hex>`,
/// where the key is auth-core's [`SessionKey`] (SHA-256 of the session id: the cookie
/// value never reaches Redis); each subject has a sorted set `{P:s}:sub:<name>` of its
/// session keys scored by deadline, `<name>` being a SHA-256 prefix of the subject.
///
/// - `load` is one `GET`. `create`, `save`, `touch`, `delete`, `delete_subject` and
///   `list_subject` are each one Lua script, so each is atomic and one round trip.
/// - Expiry is decided by the store's clock on every read and write; Redis's own TTLs
///   (set to the deadline plus a slack) only collect garbage. The subject index is
///   pruned of dead members whenever it is touched, and expires with its last session.
/// - **Cluster**: all keys of one store share the hash tag `{P:s}`, so they live in one
///   slot (one master and its replicas). That is what makes "log out everywhere" and the
///   index atomic; it also means one store's sessions do not spread across masters.
///   Stores with different prefixes land on different slots. The scripts reach the
///   records of an index (and the index of a record) through key names they build from
///   that tag, which Redis Cluster allows because they hash to the script's own slot.
#[derive(Clone, Debug)]
pub struct RedisSessionStore {
    shared: Shared,
    scripts: Arc<Scripts>,
}

#[derive(Debug)]
struct Scripts {
    create: Script,
    update: Script,
    delete: Script,
    subject: Script,
}

impl RedisSessionStore {
    /// A store on `connection` with the defaults of [`RedisStoreBuilder`].
    pub fn new(connection: RedisConnection) -> Result<Self, ConfigError> {
        RedisStoreBuilder::new(connection).sessions()
    }

    pub(crate) fn from_shared(shared: Shared) -> Self {
        Self {
            shared,
            scripts: Arc::new(Scripts {
                create: Script::new(&lua_script(include_str!("lua/session_create.lua"))),
                update: Script::new(&lua_script(include_str!("lua/session_update.lua"))),
                delete: Script::new(&lua_script(include_str!("lua/session_delete.lua"))),
                subject: Script::new(&lua_script(include_str!("lua/session_subject.lua"))),
            }),
        }
    }

    fn record_key(&self, key: &SessionKey) -> String {
        self.shared.keys.key("rec", &key.to_hex())
    }

    fn index_key(&self, subject: &str) -> String {
        self.shared.keys.key("sub", &subject_name(subject))
    }

    fn now(&self) -> SystemTime {
        self.shared.clock.now()
    }

    /// Rewrites the header of a live record: a save when `expected` is set, a touch
    /// otherwise. Returns whether a record was updated.
    async fn update(
        &self,
        key: &SessionKey,
        expected: Option<(u64, u64)>,
        last_seen_at: SystemTime,
        expires_at: SystemTime,
        data: Option<&[u8]>,
    ) -> Result<bool, StoreError> {
        let now = self.now();
        let (expected, next) = match expected {
            Some((expected, next)) => (digits(expected), digits(next)),
            None => (String::new(), String::new()),
        };
        let updated: i64 = self
            .shared
            .connection
            .invoke(
                self.scripts
                    .update
                    .key(self.record_key(key))
                    .arg(instant(now))
                    .arg(expected)
                    .arg(instant(expires_at))
                    .arg(next)
                    .arg(instant(last_seen_at))
                    .arg(if data.is_some() { "1" } else { "0" })
                    .arg(data.unwrap_or_default())
                    .arg(ttl_millis(now, expires_at, self.shared.ttl_slack))
                    .arg(ceil_millis(expires_at))
                    .arg(key.to_hex())
                    .arg(self.shared.keys.part("sub")),
            )
            .await?;
        match updated {
            1 => Ok(true),
            0 => Ok(false),
            _ => Err(malformed("session value")),
        }
    }

    async fn for_subject<T: FromRedisValue>(
        &self,
        subject: &str,
        action: &str,
    ) -> Result<T, StoreError> {
        check_subject(subject)?;
        let now = self.now();
        self.shared
            .connection
            .invoke(
                self.scripts
                    .subject
                    .key(self.index_key(subject))
                    .arg(instant(now))
                    .arg(self.shared.keys.part("rec"))
                    .arg(subject_name(subject))
                    .arg(subject)
                    .arg(floor_millis(now))
                    .arg(action),
            )
            .await
    }
}

#[async_trait]
impl SessionStore for RedisSessionStore {
    async fn create(&self, key: &SessionKey, record: &SessionRecord) -> Result<(), StoreError> {
        record.check_limits()?;
        let now = self.now();
        let ttl = ttl_millis(now, record.expires_at, self.shared.ttl_slack);
        let created: i64 = self
            .shared
            .connection
            .invoke(
                self.scripts
                    .create
                    .key(self.record_key(key))
                    .key(self.index_key(&record.subject))
                    .arg(encode(record, 0))
                    .arg(instant(now))
                    .arg(ttl)
                    .arg(ceil_millis(record.expires_at))
                    .arg(key.to_hex())
                    .arg(floor_millis(now)),
            )
            .await?;
        if created == 1 {
            Ok(())
        } else {
            Err(StoreError::AlreadyExists)
        }
    }

    async fn load(&self, key: &SessionKey) -> Result<Option<SessionRecord>, StoreError> {
        let value: Option<Vec<u8>> = self
            .shared
            .connection
            .query(redis::cmd("GET").arg(self.record_key(key)))
            .await?;
        let Some(value) = value else { return Ok(None) };
        let record = decode(&value)?;
        Ok(record.is_live_at(self.now()).then_some(record))
    }

    async fn save(&self, key: &SessionKey, record: &SessionRecord) -> Result<u64, StoreError> {
        record.check_limits()?;
        // A version at u64::MAX cannot have been stored by a live session: nothing to match.
        let Some(next) = record.version.checked_add(1) else {
            return Err(StoreError::Conflict);
        };
        let saved = self
            .update(
                key,
                Some((record.version, next)),
                record.last_seen_at,
                record.expires_at,
                Some(&record.data),
            )
            .await?;
        if saved {
            Ok(next)
        } else {
            Err(StoreError::Conflict)
        }
    }

    async fn touch(
        &self,
        key: &SessionKey,
        last_seen_at: SystemTime,
        expires_at: SystemTime,
    ) -> Result<bool, StoreError> {
        self.update(key, None, last_seen_at, expires_at, None).await
    }

    async fn delete(&self, key: &SessionKey) -> Result<bool, StoreError> {
        let deleted: i64 = self
            .shared
            .connection
            .invoke(
                self.scripts
                    .delete
                    .key(self.record_key(key))
                    .arg(instant(self.now()))
                    .arg(self.shared.keys.part("sub"))
                    .arg(key.to_hex()),
            )
            .await?;
        Ok(deleted == 1)
    }

    async fn delete_subject(&self, subject: &str) -> Result<u64, StoreError> {
        let deleted: i64 = self.for_subject(subject, "delete").await?;
        u64::try_from(deleted).map_err(|_| malformed("delete_subject answer"))
    }

    async fn list_subject(&self, subject: &str) -> Result<Vec<SessionEntry>, StoreError> {
        let listed: Vec<(String, Vec<u8>)> = self.for_subject(subject, "list").await?;
        let now = self.now();
        let mut entries = Vec::with_capacity(listed.len());
        for (member, value) in listed {
            let key = SessionKey::from_hex(&member).map_err(StoreError::corrupt)?;
            if !is_live(&value, now)? {
                continue;
            }
            entries.push(SessionEntry::new(key, decode(&value)?));
        }
        Ok(entries)
    }
}
