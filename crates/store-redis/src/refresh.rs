//! [`RedisRefreshTokenStore`]: refresh-token families with atomic rotation.

use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;
use auth_core::store::{RefreshRecord, RefreshTokenStore, Rotation, check_subject};
use auth_core::{FamilyId, RefreshTokenHash, StoreError};
use redis::Script;

use crate::builder::{RedisStoreBuilder, Shared};
use crate::connection::RedisConnection;
use crate::error::{ConfigError, malformed};
use crate::keys::subject_name;
use crate::refresh_record::{decode, encode, lua_script};
use crate::time::{ceil_millis, floor_millis, instant, prune_millis, slack_millis, ttl_millis};

/// A [`RefreshTokenStore`] on Redis or Redis Cluster.
///
/// Layout (`P` is the prefix): each token is one string at `{P:rt}:tok:<hash hex>` keyed by
/// auth-core's [`RefreshTokenHash`] (the token itself never reaches Redis); each family is
/// a sorted set `{P:rt}:fam:<family id>` of its token hashes; each subject has a sorted
/// set `{P:rt}:sub:<name>` of its families. A used token stays, flagged, until its own
/// deadline, even after its family is revoked, so every replay of it is reported as reuse.
///
/// `insert`, `rotate`, `revoke_family` and `revoke_subject` are each one Lua script: of
/// any number of concurrent rotations of one token exactly one wins, and a replay revokes
/// the family in the same step.
///
/// Each token's value carries its family's absolute end
/// ([`RefreshRecord::family_expires_at`]): `insert` refuses a token that outlives it, and
/// `rotate` caps the new token's expiry at it inside the script
/// ([`RefreshRecord::rotated`]), so no chain of rotations extends a family.
///
/// **Cluster**: the caller of `rotate` knows only the old token's hash, not its family,
/// so a token key cannot carry its family's hash tag. Instead all refresh state of one
/// store shares the hash tag `{P:rt}` and lives in one slot (one master and its replicas),
/// which keeps every operation a single atomic script.
#[derive(Clone, Debug)]
pub struct RedisRefreshTokenStore {
    shared: Shared,
    scripts: Arc<Scripts>,
}

#[derive(Debug)]
struct Scripts {
    insert: Script,
    rotate: Script,
    revoke: Script,
}

impl RedisRefreshTokenStore {
    /// A store on `connection` with the defaults of [`RedisStoreBuilder`].
    pub fn new(connection: RedisConnection) -> Result<Self, ConfigError> {
        RedisStoreBuilder::new(connection).refresh_tokens()
    }

    pub(crate) fn from_shared(shared: Shared) -> Self {
        Self {
            shared,
            scripts: Arc::new(Scripts {
                insert: Script::new(&lua_script(include_str!("lua/refresh_insert.lua"))),
                rotate: Script::new(&lua_script(include_str!("lua/refresh_rotate.lua"))),
                revoke: Script::new(&lua_script(include_str!("lua/refresh_revoke.lua"))),
            }),
        }
    }

    fn token_key(&self, hash: &RefreshTokenHash) -> String {
        self.shared.keys.key("tok", &hash.to_hex())
    }

    async fn revoke(&self, key: String, mode: &str, family: &str) -> Result<u64, StoreError> {
        let keys = &self.shared.keys;
        let deleted: i64 = self
            .shared
            .connection
            .invoke(
                self.scripts
                    .revoke
                    .key(key)
                    .arg(keys.part("tok"))
                    .arg(keys.part("fam"))
                    .arg(keys.part("sub"))
                    .arg(mode)
                    .arg(family),
            )
            .await?;
        u64::try_from(deleted).map_err(|_| malformed("revoke answer"))
    }
}

#[async_trait]
impl RefreshTokenStore for RedisRefreshTokenStore {
    async fn insert(
        &self,
        hash: &RefreshTokenHash,
        record: &RefreshRecord,
    ) -> Result<(), StoreError> {
        record.check_limits()?;
        let now = self.shared.clock.now();
        let keys = &self.shared.keys;
        let stored: i64 = self
            .shared
            .connection
            .invoke(
                self.scripts
                    .insert
                    .key(self.token_key(hash))
                    .key(keys.key("fam", record.family.as_str()))
                    .key(keys.key("sub", &subject_name(&record.subject)))
                    .arg(encode(record))
                    .arg(instant(now))
                    .arg(ttl_millis(now, record.expires_at, self.shared.ttl_slack))
                    .arg(ceil_millis(record.expires_at))
                    .arg(hash.to_hex())
                    .arg(record.family.as_str())
                    .arg(prune_millis(now, self.shared.ttl_slack)),
            )
            .await?;
        if stored == 1 {
            Ok(())
        } else {
            Err(StoreError::AlreadyExists)
        }
    }

    async fn rotate(
        &self,
        old: &RefreshTokenHash,
        new: &RefreshTokenHash,
        issued_at: SystemTime,
        expires_at: SystemTime,
    ) -> Result<Rotation, StoreError> {
        let now = self.shared.clock.now();
        let keys = &self.shared.keys;
        let (code, value): (i64, Vec<u8>) = self
            .shared
            .connection
            .invoke(
                self.scripts
                    .rotate
                    .key(self.token_key(old))
                    .key(self.token_key(new))
                    .arg(instant(now))
                    .arg(instant(expires_at))
                    .arg(instant(issued_at))
                    .arg(slack_millis(self.shared.ttl_slack))
                    .arg(new.to_hex())
                    .arg(keys.part("fam"))
                    .arg(keys.part("tok"))
                    .arg(keys.part("sub"))
                    .arg(floor_millis(now))
                    .arg(old.to_hex()),
            )
            .await?;
        match code {
            0 => Ok(Rotation::Unknown),
            1 => Ok(Rotation::Rotated(decode(&value)?)),
            2 => {
                let presented = decode(&value)?;
                Ok(Rotation::Reused {
                    family: presented.family,
                    subject: presented.subject,
                })
            }
            3 => Err(StoreError::AlreadyExists),
            _ => Err(malformed("refresh token value")),
        }
    }

    async fn revoke_family(&self, family: &FamilyId) -> Result<u64, StoreError> {
        let key = self.shared.keys.key("fam", family.as_str());
        self.revoke(key, "family", family.as_str()).await
    }

    async fn revoke_subject(&self, subject: &str) -> Result<u64, StoreError> {
        check_subject(subject)?;
        let key = self.shared.keys.key("sub", &subject_name(subject));
        self.revoke(key, "subject", "").await
    }
}
