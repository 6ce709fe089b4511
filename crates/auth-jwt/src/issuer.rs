//! The [`Issuer`]: access tokens, refresh tokens in families, rotation, logout.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use auth_core::store::{RefreshRecord, Rotation};
use auth_core::{
    AuthError, FamilyId, RefreshToken, RefreshTokenStore, RevocationStore, SharedClock, StoreError,
};
use ring::rand::{SecureRandom, SystemRandom};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::claims::{FAMILY_CLAIM, IAT_MS_CLAIM};
use crate::error::ConfigError;
use crate::key_set::KeySet;
use crate::verifier::{DEFAULT_MAX_LEEWAY, DEFAULT_MAX_TOKEN_LEN, Verifier};

/// The default lifetime of an access token: 15 minutes.
pub const DEFAULT_ACCESS_TTL: Duration = Duration::from_secs(15 * 60);
/// The default lifetime of a refresh token: 14 days.
pub const DEFAULT_REFRESH_TTL: Duration = Duration::from_secs(14 * 24 * 3600);

/// Claim names the issuer sets itself; custom claims may not use them.
const RESERVED: [&str; 9] = [
    "iss",
    "sub",
    "aud",
    "exp",
    "nbf",
    "iat",
    "jti",
    FAMILY_CLAIM,
    IAT_MS_CLAIM,
];

/// A signed access token.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct AccessToken {
    /// The compact JWS, for the `Authorization: Bearer` header.
    pub token: String,
    /// Its `jti`.
    pub jti: String,
    /// Its `exp`.
    pub expires_at: SystemTime,
}

/// What a login or a refresh hands to the client.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct TokenPair {
    /// The access token (compact JWS).
    pub access_token: String,
    /// When the access token expires.
    pub access_expires_at: SystemTime,
    /// The opaque refresh token (its `Debug` is redacted; send
    /// [`RefreshToken::expose_secret`] to the client).
    pub refresh_token: RefreshToken,
    /// When the refresh token expires.
    pub refresh_expires_at: SystemTime,
    /// The family both tokens belong to (also the access token's `fid` claim).
    pub family: FamilyId,
}

/// Custom claims that could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClaimsError {
    /// The claims did not serialize to a JSON object.
    #[error("custom claims must serialize to a JSON object")]
    NotAnObject,
    /// The claims use a name the issuer sets itself.
    #[error("custom claims may not set the reserved claim `{0}`")]
    Reserved(&'static str),
    /// The claims could not be serialized.
    #[error("custom claims could not be serialized")]
    Serialize(#[source] serde_json::Error),
    /// The token would exceed the verifier's default size limit.
    #[error("the token would be {0} bytes, over the 8 KiB limit verifiers apply")]
    TooLarge(usize),
    /// No key is active in the key set.
    #[error("the key set has no active signing key")]
    NoActiveKey,
    /// The key failed to sign.
    #[error("signing failed")]
    Sign(#[source] crate::KeyError),
}

fn internal(error: ClaimsError) -> AuthError {
    AuthError::Internal(Box::new(error))
}

/// Mints access tokens and refresh tokens, rotates refresh tokens, and revokes.
///
/// - Access tokens carry `iss`, `sub`, `aud` (when configured), `iat`, `nbf`, `exp`
///   (default lifetime 15 minutes), a random 128-bit `jti`, the private claims `fid`
///   (refresh family, so logout can revoke it) and `iat_ms` (the issue time to the
///   millisecond), and the caller's custom claims.
/// - Refresh tokens are 256-bit random values ([`RefreshToken`]), stored only as their
///   SHA-256 through the [`RefreshTokenStore`], grouped in families, default lifetime 14
///   days. [`Issuer::refresh`] rotates one atomically; presenting a rotated one again
///   revokes its family and fails with [`AuthError::Reused`].
///
/// # Per-subject revocation and the same-second problem
///
/// JWT `iat` is in whole seconds, but [`Issuer::revoke_all`] happens at some instant
/// inside a second. This crate's rule: `revoke_all` sets the subject's "not before" to
/// the first whole millisecond strictly after now, and the verifier compares it with the
/// token's issue time to the millisecond (`iat_ms`, which must agree with `iat`). So every
/// token issued up to and including the millisecond of the call is refused (even one
/// minted concurrently, at the same clock reading), and tokens issued from the next
/// millisecond on are accepted. Tokens from other issuers, without `iat_ms`, are compared by `iat` alone,
/// rounded down: those issued in the same second after the revocation are refused too
/// (safe, never lenient).
///
/// # Build it after any `fork`
///
/// `jti`s are cut from up to a kilobyte of system randomness read ahead of time, so that
/// minting a token makes no system call. A process that forks (without `exec`) after
/// building an `Issuer` leaves parent and child holding the same unread bytes: both would
/// hand out the same `jti`s until their next refill, and revoking one token would revoke
/// the other process's twin. Build the `Issuer` in each process after forking.
#[derive(Clone)]
pub struct Issuer {
    inner: Arc<Inner>,
}

struct Inner {
    keys: KeySet,
    clock: SharedClock,
    issuer: String,
    audience: Option<Value>,
    access_ttl: Duration,
    refresh_ttl: Duration,
    refresh_store: Arc<dyn RefreshTokenStore>,
    revocations: Arc<dyn RevocationStore>,
    verifier: Verifier,
    jti_pool: Mutex<JtiPool>,
}

/// Random bytes for `jti`s, drawn from the system CSPRNG a kilobyte at a time: every `jti`
/// is still 128 fresh random bits, without a system call per token.
struct JtiPool {
    rng: SystemRandom,
    bytes: [u8; JTI_POOL_LEN],
    used: usize,
}

const JTI_POOL_LEN: usize = 1024;

impl JtiPool {
    fn new() -> Self {
        Self {
            rng: SystemRandom::new(),
            bytes: [0; JTI_POOL_LEN],
            used: JTI_POOL_LEN,
        }
    }

    fn take(&mut self) -> Result<[u8; 16], auth_core::RandomError> {
        if self.used + 16 > self.bytes.len() {
            self.rng
                .fill(&mut self.bytes)
                .map_err(|_| auth_core::RandomError)?;
            self.used = 0;
        }
        let mut out = [0u8; 16];
        out.copy_from_slice(&self.bytes[self.used..self.used + 16]);
        // Never hand out the same bytes twice.
        self.bytes[self.used..self.used + 16].fill(0);
        self.used += 16;
        Ok(out)
    }
}

impl std::fmt::Debug for Issuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issuer")
            .field("issuer", &self.inner.issuer)
            .field("access_ttl", &self.inner.access_ttl)
            .field("refresh_ttl", &self.inner.refresh_ttl)
            .finish_non_exhaustive()
    }
}

/// Configures an [`Issuer`].
#[must_use]
pub struct IssuerBuilder {
    keys: KeySet,
    clock: SharedClock,
    issuer: Option<String>,
    audiences: Vec<String>,
    access_ttl: Duration,
    refresh_ttl: Duration,
}

impl IssuerBuilder {
    /// The `iss` of every token (required).
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// Adds an `aud` value (one becomes a string, several an array).
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// The access-token lifetime (default 15 minutes).
    pub fn access_ttl(mut self, ttl: Duration) -> Self {
        self.access_ttl = ttl;
        self
    }

    /// The refresh-token lifetime (default 14 days).
    pub fn refresh_ttl(mut self, ttl: Duration) -> Self {
        self.refresh_ttl = ttl;
        self
    }

    /// Builds the issuer over its two stores.
    pub fn build(
        self,
        refresh_store: Arc<dyn RefreshTokenStore>,
        revocations: Arc<dyn RevocationStore>,
    ) -> Result<Issuer, ConfigError> {
        let issuer = self
            .issuer
            .filter(|i| !i.is_empty())
            .ok_or(ConfigError::Missing("issuer"))?;
        if self.access_ttl < Duration::from_secs(1) || self.refresh_ttl < Duration::from_secs(1) {
            return Err(ConfigError::Invalid(
                "token lifetimes must be at least one second",
            ));
        }
        let mut verifier = Verifier::builder(self.keys.clone(), self.clock.clone())
            .issuer(issuer.clone())
            .require_jti();
        for audience in &self.audiences {
            verifier = verifier.audience(audience.clone());
        }
        let audience = match self.audiences.as_slice() {
            [] => None,
            [one] => Some(Value::String(one.clone())),
            many => Some(Value::Array(
                many.iter().cloned().map(Value::String).collect(),
            )),
        };
        Ok(Issuer {
            inner: Arc::new(Inner {
                keys: self.keys,
                clock: self.clock,
                issuer,
                audience,
                access_ttl: self.access_ttl,
                refresh_ttl: self.refresh_ttl,
                refresh_store,
                revocations,
                verifier: verifier.build()?,
                jti_pool: Mutex::new(JtiPool::new()),
            }),
        })
    }
}

#[derive(Serialize)]
struct Payload<'a> {
    iss: &'a str,
    sub: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    aud: Option<&'a Value>,
    exp: u64,
    nbf: u64,
    iat: u64,
    jti: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    fid: Option<&'a str>,
    iat_ms: u64,
    #[serde(flatten)]
    custom: &'a Map<String, Value>,
}

fn custom_claims<C: Serialize>(claims: &C) -> Result<Map<String, Value>, AuthError> {
    let value = serde_json::to_value(claims).map_err(|e| internal(ClaimsError::Serialize(e)))?;
    let Value::Object(map) = value else {
        return Err(internal(ClaimsError::NotAnObject));
    };
    if let Some(reserved) = RESERVED.iter().find(|name| map.contains_key(**name)) {
        return Err(internal(ClaimsError::Reserved(reserved)));
    }
    Ok(map)
}

/// The first whole millisecond strictly after `time`.
fn next_millisecond(time: SystemTime) -> SystemTime {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let millis = u64::try_from(since.as_millis()).unwrap_or(u64::MAX - 1);
    UNIX_EPOCH + Duration::from_millis(millis + 1)
}

impl Issuer {
    /// A builder signing with `keys`' active key, deciding time with `clock`.
    pub fn builder(keys: KeySet, clock: SharedClock) -> IssuerBuilder {
        crate::provider::install();
        IssuerBuilder {
            keys,
            clock,
            issuer: None,
            audiences: Vec::new(),
            access_ttl: DEFAULT_ACCESS_TTL,
            refresh_ttl: DEFAULT_REFRESH_TTL,
        }
    }

    /// A verifier of this issuer's tokens (same keys, `iss` and `aud`, `jti` required),
    /// without a revocation store; add one with [`Verifier::builder`] for requests.
    pub fn verifier(&self) -> &Verifier {
        &self.inner.verifier
    }

    fn jti(&self) -> Result<String, AuthError> {
        let bytes = self
            .inner
            .jti_pool
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()?;
        Ok(crate::b64::encode(&bytes))
    }

    fn mint(
        &self,
        subject: &str,
        custom: &Map<String, Value>,
        family: Option<&FamilyId>,
        now: SystemTime,
    ) -> Result<AccessToken, AuthError> {
        let active = self
            .inner
            .keys
            .active()
            .ok_or_else(|| internal(ClaimsError::NoActiveKey))?;
        let since = now.duration_since(UNIX_EPOCH).unwrap_or_default();
        let iat = since.as_secs();
        let exp = iat.saturating_add(self.inner.access_ttl.as_secs());
        let jti = self.jti()?;
        let payload = Payload {
            iss: &self.inner.issuer,
            sub: subject,
            aud: self.inner.audience.as_ref(),
            exp,
            nbf: iat,
            iat,
            jti: &jti,
            fid: family.map(FamilyId::as_str),
            iat_ms: u64::try_from(since.as_millis()).unwrap_or(u64::MAX),
            custom,
        };
        // Registered claims alone are about 250 bytes: one allocation instead of a few
        // doubling reallocations, each copying what was written so far.
        let mut json = Vec::with_capacity(384);
        serde_json::to_writer(&mut json, &payload)
            .map_err(|e| internal(ClaimsError::Serialize(e)))?;
        let mut token = String::with_capacity(active.header_b64.len() + json.len() * 4 / 3 + 400);
        token.push_str(&active.header_b64);
        token.push('.');
        crate::b64::encode_into(&json, &mut token);
        let signing_input_len = token.len();
        token.push('.');
        active
            .key
            .sign_b64_onto(&mut token, signing_input_len)
            .map_err(|e| internal(ClaimsError::Sign(e)))?;
        if token.len() > DEFAULT_MAX_TOKEN_LEN {
            return Err(internal(ClaimsError::TooLarge(token.len())));
        }
        Ok(AccessToken {
            token,
            jti,
            expires_at: UNIX_EPOCH + Duration::from_secs(exp),
        })
    }

    /// Signs an access token for `subject` with custom `claims` (any serde type that
    /// serializes to a JSON object without the reserved names), outside any refresh
    /// family.
    pub fn access_token<C: Serialize>(
        &self,
        subject: &str,
        claims: &C,
    ) -> Result<AccessToken, AuthError> {
        let custom = custom_claims(claims)?;
        self.mint(subject, &custom, None, self.inner.clock.now())
    }

    /// Starts a session: a new refresh-token family, its first refresh token (stored
    /// hashed), and an access token carrying the family id.
    pub async fn login<C: Serialize>(
        &self,
        subject: &str,
        claims: &C,
    ) -> Result<TokenPair, AuthError> {
        let custom = custom_claims(claims)?;
        let data = serde_json::to_vec(&custom).map_err(|e| internal(ClaimsError::Serialize(e)))?;
        let family = FamilyId::generate()?;
        let refresh = RefreshToken::generate()?;
        let now = self.inner.clock.now();
        let refresh_expires_at = now + self.inner.refresh_ttl;
        let access = self.mint(subject, &custom, Some(&family), now)?;
        let record = RefreshRecord::new(family.clone(), subject, data, now, refresh_expires_at);
        self.inner
            .refresh_store
            .insert(&refresh.hash(), &record)
            .await?;
        Ok(TokenPair {
            access_token: access.token,
            access_expires_at: access.expires_at,
            refresh_token: refresh,
            refresh_expires_at,
            family,
        })
    }

    /// Exchanges a refresh token for a new access token and a new refresh token, using
    /// the old one up (atomically, through [`RefreshTokenStore::rotate`]).
    ///
    /// - A malformed token: [`AuthError::Malformed`].
    /// - Unknown, expired, or of a revoked family: [`AuthError::Invalid`].
    /// - Already rotated (a replay, or a stolen copy): the whole family is revoked,
    ///   [`AuthError::Reused`].
    pub async fn refresh(&self, refresh_token: &str) -> Result<TokenPair, AuthError> {
        let old = RefreshToken::parse(refresh_token)
            .map_err(|_| AuthError::Malformed("the refresh token is not well formed"))?;
        let new = RefreshToken::generate()?;
        let now = self.inner.clock.now();
        let refresh_expires_at = now + self.inner.refresh_ttl;
        let rotation = self
            .inner
            .refresh_store
            .rotate(&old.hash(), &new.hash(), now, refresh_expires_at)
            .await?;
        let record = match rotation {
            Rotation::Rotated(record) => record,
            Rotation::Reused { .. } => return Err(AuthError::Reused),
            Rotation::Unknown => {
                return Err(AuthError::Invalid(
                    "the refresh token is unknown, expired or revoked",
                ));
            }
            _ => {
                return Err(AuthError::Invalid(
                    "the refresh store answered unexpectedly",
                ));
            }
        };
        let custom: Map<String, Value> = serde_json::from_slice(&record.data)
            .map_err(|e| AuthError::Store(StoreError::corrupt(e)))?;
        let access = self.mint(&record.subject, &custom, Some(&record.family), now)?;
        Ok(TokenPair {
            access_token: access.token,
            access_expires_at: access.expires_at,
            refresh_token: new,
            refresh_expires_at,
            family: record.family,
        })
    }

    /// Logout: revokes the access token's `jti` until it could no longer be accepted
    /// (its `exp` plus the largest leeway a verifier may use), and its refresh family.
    /// The token must be one of ours (signature, `iss`, `aud`); an expired one is fine.
    pub async fn revoke(&self, access_token: &str) -> Result<(), AuthError> {
        let claims = self.inner.verifier.verify_ignoring_expiry(access_token)?;
        if let Some(family) = &claims.family {
            self.inner.refresh_store.revoke_family(family).await?;
        }
        if let Some(jti) = &claims.jti {
            let until = claims.exp + DEFAULT_MAX_LEEWAY;
            if until > self.inner.clock.now() {
                self.inner
                    .revocations
                    .revoke(&self.inner.issuer, jti, until)
                    .await?;
            }
        }
        Ok(())
    }

    /// Logout everywhere: revokes every refresh family of `subject` first (so no refresh can
    /// mint a new access token afterwards), then every access token issued to it up to the
    /// current millisecond (see the type's docs).
    pub async fn revoke_all(&self, subject: &str) -> Result<(), AuthError> {
        self.inner.refresh_store.revoke_subject(subject).await?;
        let now = self.inner.clock.now();
        let not_before = next_millisecond(now);
        let until = now + self.inner.access_ttl + DEFAULT_MAX_LEEWAY;
        self.inner
            .revocations
            .revoke_subject(subject, not_before, until)
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // Test code: a panic is a failed test.

    use std::collections::HashSet;

    use super::*;

    #[test]
    fn the_jti_pool_hands_out_fresh_bytes_across_refills() {
        let mut pool = JtiPool::new();
        let draws = 2 * JTI_POOL_LEN / 16 + 3;
        let jtis: HashSet<[u8; 16]> = (0..draws).map(|_| pool.take().unwrap()).collect();
        assert_eq!(jtis.len(), draws);
        assert!(!jtis.contains(&[0u8; 16]));
    }
}
