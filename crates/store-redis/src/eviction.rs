//! Refusing a Redis that may evict keys.
//!
//! Every key the stores write carries a TTL (garbage collection past its deadline), so any
//! `maxmemory-policy` but `noeviction` lets a full Redis delete live ones: `volatile-*`
//! policies pick among keys with a TTL, which is all of ours, as surely as `allkeys-*`
//! ones. An evicted revocation is a revocation undone, and an evicted used refresh token
//! hides its replay. Under `noeviction` a full Redis refuses writes instead, and the
//! stores fail closed.

use std::collections::HashMap;

use auth_core::StoreError;
use redis::{FromRedisValue, RedisError, Value};

use crate::connection::RedisConnection;
use crate::error::{ConfigError, malformed};

/// The one policy under which Redis never deletes a key before its TTL.
const NO_EVICTION: &str = "noeviction";

/// `Ok` if every server behind `connection` (each master of a cluster) reports
/// [`NO_EVICTION`].
pub(crate) async fn check(connection: &RedisConnection) -> Result<(), ConfigError> {
    let question = redis::cmd("CONFIG")
        .arg("GET")
        .arg("maxmemory-policy")
        .to_owned();
    let answers = connection
        .ask_every_master(&question)
        .await
        .map_err(|error| refused(None, error))?;
    let masters = connection
        .master_count()
        .await
        .map_err(|error| refused(None, error))?
        .unwrap_or(1);
    if answers.len() < masters {
        return Err(ConfigError::Unreachable(StoreError::unavailable(
            MastersMissing {
                answered: answers.len(),
                masters,
            },
        )));
    }
    for (node, answer) in answers {
        let policy = answer
            .and_then(policy_in)
            .map_err(|error| refused(node.clone(), error))?;
        if !policy.eq_ignore_ascii_case(NO_EVICTION) {
            return Err(ConfigError::EvictionPolicy { node, policy });
        }
    }
    Ok(())
}

/// Why the policy could not be read: Redis did not answer, or would not say.
fn refused(node: Option<String>, error: StoreError) -> ConfigError {
    match error {
        StoreError::Unavailable(_) => ConfigError::Unreachable(error),
        source => ConfigError::EvictionPolicyUnknown { node, source },
    }
}

/// The policy in a `CONFIG GET maxmemory-policy` answer (a flat array in RESP2, a map in
/// RESP3).
fn policy_in(answer: Value) -> Result<String, StoreError> {
    let settings = HashMap::<String, String>::from_redis_value(answer)
        .map_err(|e| StoreError::corrupt(RedisError::from(e)))?;
    settings
        .into_iter()
        .find_map(|(name, value)| {
            name.eq_ignore_ascii_case("maxmemory-policy")
                .then_some(value)
        })
        .ok_or_else(|| malformed("CONFIG GET did not return maxmemory-policy"))
}

/// Fewer masters answered than the cluster has.
#[derive(Debug, thiserror::Error)]
#[error("only {answered} of {masters} masters could be asked for their maxmemory-policy")]
struct MastersMissing {
    answered: usize,
    masters: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(text: &str) -> Value {
        Value::BulkString(text.as_bytes().to_vec())
    }

    #[test]
    fn the_policy_is_read_from_either_protocol() {
        let resp2 = Value::Array(vec![bulk("maxmemory-policy"), bulk("allkeys-lru")]);
        assert_eq!(policy_in(resp2).unwrap(), "allkeys-lru");
        let resp3 = Value::Map(vec![(bulk("maxmemory-policy"), bulk("noeviction"))]);
        assert_eq!(policy_in(resp3).unwrap(), NO_EVICTION);
        for nothing in [Value::Array(Vec::new()), Value::Nil, Value::Int(3)] {
            assert!(matches!(policy_in(nothing), Err(StoreError::Corrupt(_))));
        }
    }
}
