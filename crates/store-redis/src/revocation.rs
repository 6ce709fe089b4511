//! [`RedisRevocationStore`]: revoked JWTs and per-subject "not before" instants.

use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;
use auth_core::StoreError;
use auth_core::store::{RevocationStore, check_subject, check_token_id};
use redis::Script;

use crate::builder::{RedisStoreBuilder, Shared};
use crate::connection::RedisConnection;
use crate::error::{ConfigError, malformed};
use crate::keys::{name_hash, subject_name};
use crate::time::{DIGITS, from_nanos, instant, parse_digits, ttl_millis};

/// A [`RevocationStore`] on Redis or Redis Cluster.
///
/// Layout (`P` is the prefix): a revoked token is a string `{P:rv}:jti:<name>` holding its
/// deadline, `<name>` being a SHA-256 prefix of the issuer and `jti` (length-prefixed, so
/// no two pairs collide); a subject's "not before" is a string `{P:rv}:sub:<name>` holding
/// the instant and its deadline. Redis drops each entry after its deadline (plus a slack);
/// the store's clock decides before that.
///
/// [`RevocationStore::is_token_revoked`] is one `MGET`. Writes are small Lua scripts that
/// never shorten a revocation in force. **Cluster**: all keys of one store share the hash
/// tag `{P:rv}` (one slot), which is what lets that `MGET` read both keys at once.
#[derive(Clone, Debug)]
pub struct RedisRevocationStore {
    shared: Shared,
    scripts: Arc<Scripts>,
}

#[derive(Debug)]
struct Scripts {
    token: Script,
    subject: Script,
}

impl RedisRevocationStore {
    /// A store on `connection` with the defaults of [`RedisStoreBuilder`].
    pub fn new(connection: RedisConnection) -> Result<Self, ConfigError> {
        RedisStoreBuilder::new(connection).revocations()
    }

    pub(crate) fn from_shared(shared: Shared) -> Self {
        Self {
            shared,
            scripts: Arc::new(Scripts {
                token: Script::new(include_str!("lua/revoke_token.lua")),
                subject: Script::new(include_str!("lua/revoke_subject.lua")),
            }),
        }
    }

    fn token_key(&self, issuer: &str, jti: &str) -> Result<String, StoreError> {
        check_token_id("issuer", issuer)?;
        check_token_id("jti", jti)?;
        let issuer_len = u32::try_from(issuer.len())
            .unwrap_or(u32::MAX)
            .to_be_bytes();
        let name = name_hash(&[b"jti\0", &issuer_len, issuer.as_bytes(), jti.as_bytes()]);
        Ok(self.shared.keys.key("jti", &name))
    }

    fn subject_key(&self, subject: &str) -> Result<String, StoreError> {
        check_subject(subject)?;
        Ok(self.shared.keys.key("sub", &subject_name(subject)))
    }

    /// Whether a stored token deadline is still in the future.
    fn token_in_force(&self, value: Option<Vec<u8>>) -> Result<bool, StoreError> {
        let Some(value) = value else { return Ok(false) };
        let until = parse_digits(&value).ok_or_else(|| malformed("revocation value"))?;
        Ok(self.shared.clock.now() < from_nanos(until))
    }

    /// The "not before" of a stored subject entry, if still in force.
    fn not_before(&self, value: Option<Vec<u8>>) -> Result<Option<SystemTime>, StoreError> {
        let Some(value) = value else { return Ok(None) };
        let (not_before, until) = match (value.get(..DIGITS), value.get(DIGITS..)) {
            (Some(a), Some(b)) => (parse_digits(a), parse_digits(b)),
            _ => (None, None),
        };
        let (Some(not_before), Some(until)) = (not_before, until) else {
            return Err(malformed("subject revocation value"));
        };
        Ok((self.shared.clock.now() < from_nanos(until)).then(|| from_nanos(not_before)))
    }
}

#[async_trait]
impl RevocationStore for RedisRevocationStore {
    async fn revoke(&self, issuer: &str, jti: &str, until: SystemTime) -> Result<(), StoreError> {
        let key = self.token_key(issuer, jti)?;
        let now = self.shared.clock.now();
        if until <= now {
            return Ok(());
        }
        let _: i64 = self
            .shared
            .connection
            .invoke(
                self.scripts
                    .token
                    .key(key)
                    .arg(instant(until))
                    .arg(ttl_millis(now, until, self.shared.ttl_slack)),
            )
            .await?;
        Ok(())
    }

    async fn is_revoked(&self, issuer: &str, jti: &str) -> Result<bool, StoreError> {
        let key = self.token_key(issuer, jti)?;
        let value: Option<Vec<u8>> = self
            .shared
            .connection
            .query(redis::cmd("GET").arg(key))
            .await?;
        self.token_in_force(value)
    }

    async fn revoke_subject(
        &self,
        subject: &str,
        not_before: SystemTime,
        until: SystemTime,
    ) -> Result<(), StoreError> {
        let key = self.subject_key(subject)?;
        let now = self.shared.clock.now();
        let _: i64 = self
            .shared
            .connection
            .invoke(
                self.scripts
                    .subject
                    .key(key)
                    .arg(instant(not_before))
                    .arg(instant(until))
                    .arg(instant(now))
                    .arg(ttl_millis(now, until, self.shared.ttl_slack)),
            )
            .await?;
        Ok(())
    }

    async fn subject_not_before(&self, subject: &str) -> Result<Option<SystemTime>, StoreError> {
        let key = self.subject_key(subject)?;
        let value: Option<Vec<u8>> = self
            .shared
            .connection
            .query(redis::cmd("GET").arg(key))
            .await?;
        self.not_before(value)
    }

    async fn is_token_revoked(
        &self,
        issuer: &str,
        jti: Option<&str>,
        subject: &str,
        issued_at: SystemTime,
    ) -> Result<bool, StoreError> {
        let subject_key = self.subject_key(subject)?;
        let (token, subject): (Option<Vec<u8>>, Option<Vec<u8>>) = match jti {
            Some(jti) => {
                let token_key = self.token_key(issuer, jti)?;
                self.shared
                    .connection
                    .query(redis::cmd("MGET").arg(token_key).arg(subject_key))
                    .await?
            }
            None => {
                let value = self
                    .shared
                    .connection
                    .query(redis::cmd("GET").arg(subject_key))
                    .await?;
                (None, value)
            }
        };
        if self.token_in_force(token)? {
            return Ok(true);
        }
        Ok(self
            .not_before(subject)?
            .is_some_and(|not_before| issued_at < not_before))
    }
}
