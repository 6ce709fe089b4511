//! The [`Issuer`]: access tokens, refresh tokens in families, rotation, logout.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use auth_core::store::{RefreshRecord, Rotation, to_completion};
use auth_core::{
    AuthError, FamilyId, Reason, RefreshToken, RefreshTokenHash, RefreshTokenStore,
    RevocationStore, SharedClock, StoreError,
};
use ring::rand::{SecureRandom, SystemRandom};
use serde::Serialize;
use serde_json::{Map, Value};
use tracing::Instrument as _;

use crate::claims::{FAMILY_CLAIM, IAT_MS_CLAIM};
use crate::current_claims::{CurrentClaims, SubjectStatus};
use crate::error::ConfigError;
use crate::key_set::KeySet;
use crate::verifier::{DEFAULT_MAX_TOKEN_LEN, MAX_LEEWAY, Verifier};

/// The default lifetime of an access token: 15 minutes.
pub const DEFAULT_ACCESS_TTL: Duration = Duration::from_secs(15 * 60);
/// The longest access-token lifetime an issuer can be built with: one day. Revoking a
/// subject or a family lasts this long (plus [`MAX_LEEWAY`]), which covers every access
/// token any issuer configuration could have minted, whatever the current one says.
pub const MAX_ACCESS_TTL: Duration = Duration::from_secs(24 * 3600);
/// The default lifetime of a refresh token: 14 days.
pub const DEFAULT_REFRESH_TTL: Duration = Duration::from_secs(14 * 24 * 3600);
/// The default absolute lifetime of a refresh family: 30 days after the login, however
/// often it rotates.
pub const DEFAULT_FAMILY_LIFETIME: Duration = Duration::from_secs(30 * 24 * 3600);

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

/// A signed access token. Its `Debug` never prints the token.
#[derive(Clone)]
#[non_exhaustive]
pub struct AccessToken {
    /// The compact JWS, for the `Authorization: Bearer` header.
    pub token: String,
    /// Its `jti`.
    pub jti: String,
    /// Its `exp`.
    pub expires_at: SystemTime,
}

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessToken")
            .field("token", &"<redacted>")
            .field("jti", &self.jti)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// What a login or a refresh hands to the client. Its `Debug` prints neither token.
#[derive(Clone)]
#[non_exhaustive]
pub struct TokenPair {
    /// The access token (compact JWS).
    pub access_token: String,
    /// When the access token expires.
    pub access_expires_at: SystemTime,
    /// The opaque refresh token (send [`RefreshToken::expose_secret`] to the client).
    pub refresh_token: RefreshToken,
    /// When the refresh token expires.
    pub refresh_expires_at: SystemTime,
    /// The family both tokens belong to (also the access token's `fid` claim).
    pub family: FamilyId,
}

impl std::fmt::Debug for TokenPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenPair")
            .field("access_token", &"<redacted>")
            .field("access_expires_at", &self.access_expires_at)
            .field("refresh_token", &self.refresh_token)
            .field("refresh_expires_at", &self.refresh_expires_at)
            .field("family", &self.family)
            .finish()
    }
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
    /// A token time cannot be represented (a clock set absurdly far ahead).
    #[error("a token time is out of range")]
    TimeOutOfRange,
}

fn internal(error: ClaimsError) -> AuthError {
    AuthError::Internal(Box::new(error))
}

/// Mints access tokens and refresh tokens, rotates refresh tokens, and revokes.
///
/// - Access tokens carry `iss`, `sub`, `aud` (when configured), `iat`, `nbf`, `exp`
///   (default lifetime 15 minutes, at most [`MAX_ACCESS_TTL`]), a random 128-bit `jti`,
///   the private claims `fid` (refresh family, so logout can revoke it) and `iat_ms` (the
///   issue time to the millisecond), and the caller's custom claims.
/// - Refresh tokens are 256-bit random values ([`RefreshToken`]), stored only as their
///   SHA-256 through the [`RefreshTokenStore`], grouped in families, default lifetime 14
///   days. [`Issuer::refresh`] rotates one atomically; presenting a rotated one again
///   revokes its family and fails with [`AuthError::Reused`], which names the subject and
///   the family so the application can raise an alarm.
/// - **A family dies whole**: when it is revoked (reuse, logout, a disabled subject), the
///   [`RevocationStore`] learns it too, and every access token minted from it (they carry
///   `fid`) is refused at once by a verifier that asks that store.
/// - **A family does not live forever**: it ends [`DEFAULT_FAMILY_LIFETIME`] after the
///   login ([`IssuerBuilder::family_lifetime`]); no rotation extends that, and no token of
///   the family, refresh or access, outlives it. With [`IssuerBuilder::current_claims`],
///   each refresh re-reads the subject's claims (or learns it is disabled) instead of
///   copying the login's.
///
/// # Per-subject revocation and the same-second problem
///
/// JWT `iat` is in whole seconds, but [`Issuer::revoke_all`] happens at some instant
/// inside a second. This crate's rule: `revoke_all` sets the subject's "not before" to
/// the first whole millisecond strictly after now, and the verifier compares it with the
/// token's issue time to the millisecond (`iat_ms`, which must agree with `iat`). So every
/// token issued up to and including the millisecond of the call is refused (even one
/// minted concurrently, at the same clock reading), and tokens issued from the next
/// millisecond on are accepted. Tokens from other issuers, without `iat_ms`, are compared
/// by `iat` alone, rounded down: those issued in the same second after the revocation are
/// refused too (safe, never lenient).
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
    family_lifetime: Duration,
    refresh_store: Arc<dyn RefreshTokenStore>,
    revocations: Arc<dyn RevocationStore>,
    current_claims: Option<Arc<dyn CurrentClaims>>,
    verifier: Verifier,
    /// `iss` and the sorted audiences as JSON, bound into every refresh token's store key.
    refresh_context: Vec<u8>,
}

impl std::fmt::Debug for Issuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issuer")
            .field("issuer", &self.inner.issuer)
            .field("access_ttl", &self.inner.access_ttl)
            .field("refresh_ttl", &self.inner.refresh_ttl)
            .field("family_lifetime", &self.inner.family_lifetime)
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
    family_lifetime: Duration,
    current_claims: Option<Arc<dyn CurrentClaims>>,
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

    /// The access-token lifetime (default 15 minutes, at most [`MAX_ACCESS_TTL`]).
    pub fn access_ttl(mut self, ttl: Duration) -> Self {
        self.access_ttl = ttl;
        self
    }

    /// The refresh-token lifetime (default 14 days): how long a client may stay away
    /// between two refreshes.
    pub fn refresh_ttl(mut self, ttl: Duration) -> Self {
        self.refresh_ttl = ttl;
        self
    }

    /// The absolute lifetime of a refresh family (default [`DEFAULT_FAMILY_LIFETIME`]):
    /// after it the subject logs in again, however often it refreshed.
    pub fn family_lifetime(mut self, lifetime: Duration) -> Self {
        self.family_lifetime = lifetime;
        self
    }

    /// Re-reads the subject's claims at every refresh through `hook`, instead of copying
    /// the ones it logged in with; a hook answering [`SubjectStatus::Disabled`] ends the
    /// family.
    pub fn current_claims(mut self, hook: impl CurrentClaims) -> Self {
        self.current_claims = Some(Arc::new(hook));
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
        let second = Duration::from_secs(1);
        if self.access_ttl < second || self.refresh_ttl < second || self.family_lifetime < second {
            return Err(ConfigError::Invalid(
                "token and family lifetimes must be at least one second",
            ));
        }
        if self.access_ttl > MAX_ACCESS_TTL {
            return Err(ConfigError::Invalid(
                "the access-token lifetime is over MAX_ACCESS_TTL (one day)",
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
        // The audiences as a set: nodes listing them in another order, or one twice, are
        // still one service.
        let mut audiences = self.audiences.clone();
        audiences.sort_unstable();
        audiences.dedup();
        let refresh_context = serde_json::to_vec(&(&issuer, &audiences))
            .map_err(|_| ConfigError::Invalid("the issuer and audiences must serialize"))?;
        Ok(Issuer {
            inner: Arc::new(Inner {
                refresh_context,
                keys: self.keys,
                clock: self.clock,
                issuer,
                audience,
                access_ttl: self.access_ttl,
                refresh_ttl: self.refresh_ttl,
                family_lifetime: self.family_lifetime,
                refresh_store,
                revocations,
                current_claims: self.current_claims,
                verifier: verifier.build()?,
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
    checked_claims(map)
}

/// Refuses custom claims that use a name the issuer sets itself.
fn checked_claims(claims: Map<String, Value>) -> Result<Map<String, Value>, AuthError> {
    match reserved_in(&claims) {
        Some(reserved) => Err(internal(ClaimsError::Reserved(reserved))),
        None => Ok(claims),
    }
}

/// The first name in `claims` that the issuer sets itself.
fn reserved_in(claims: &Map<String, Value>) -> Option<&'static str> {
    RESERVED.into_iter().find(|name| claims.contains_key(*name))
}

/// The login's claims as a refresh record carries them. This issuer stored them checked, so
/// a registered name among them is data it never wrote (a tampered row, another writer):
/// corrupt, never signed beside the claim the issuer sets itself.
fn stored_claims(data: &[u8]) -> Result<Map<String, Value>, AuthError> {
    let claims: Map<String, Value> =
        serde_json::from_slice(data).map_err(|e| AuthError::Store(StoreError::corrupt(e)))?;
    match reserved_in(&claims) {
        Some(reserved) => Err(AuthError::Store(StoreError::corrupt(
            ClaimsError::Reserved(reserved),
        ))),
        None => Ok(claims),
    }
}

/// The first whole millisecond strictly after `time` (`time` itself where that cannot be
/// represented).
fn next_millisecond(time: SystemTime) -> SystemTime {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let next = since.as_millis() + 1;
    let whole = u64::try_from(next / 1000)
        .ok()
        .map(|secs| Duration::new(secs, (next % 1000) as u32 * 1_000_000));
    whole
        .and_then(|d| UNIX_EPOCH.checked_add(d))
        .unwrap_or(time)
}

/// `time + by`, or an internal error where the sum cannot be represented: never a panic.
fn later(time: SystemTime, by: Duration) -> Result<SystemTime, AuthError> {
    time.checked_add(by)
        .ok_or_else(|| internal(ClaimsError::TimeOutOfRange))
}

/// Until when revoking a family or a subject at `now` must last: past the `exp` of any
/// access token minted up to `now` under any configuration, plus any verifier's leeway.
fn access_horizon(now: SystemTime) -> Result<SystemTime, AuthError> {
    later(now, MAX_ACCESS_TTL + MAX_LEEWAY)
}

/// Whole seconds since the epoch (0 before it).
fn unix_secs(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
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
            family_lifetime: DEFAULT_FAMILY_LIFETIME,
            current_claims: None,
        }
    }

    /// A verifier of this issuer's tokens (same keys, `iss` and `aud`, `jti` required),
    /// without a revocation store; add one with [`Verifier::builder`] for requests.
    pub fn verifier(&self) -> &Verifier {
        &self.inner.verifier
    }

    /// The key `token` is stored under: SHA-256 of the token after this issuer's `iss` and
    /// audiences (as a set). An issuer of another `iss` or for another API that shares the
    /// refresh store finds none of this one's tokens (it would mint its own access tokens
    /// from them), and a dump of the store still replays nothing. Changing either on a
    /// running service ends every refresh token it issued: nodes on the old and the new
    /// setting do not share them.
    fn stored_as(&self, token: &RefreshToken) -> RefreshTokenHash {
        let mut digest = ring::digest::Context::new(&ring::digest::SHA256);
        digest.update(&self.inner.refresh_context);
        digest.update(token.expose_secret().as_bytes());
        let mut key = [0u8; 32];
        key.copy_from_slice(digest.finish().as_ref());
        RefreshTokenHash::from_bytes(key)
    }

    /// 128 fresh bits from the system CSPRNG for every token: nothing is read ahead, so
    /// two processes forked from one never share a `jti`.
    fn jti() -> Result<String, AuthError> {
        let mut bytes = [0u8; 16];
        SystemRandom::new()
            .fill(&mut bytes)
            .map_err(|_| auth_core::RandomError)?;
        Ok(crate::b64::encode(&bytes))
    }

    /// Signs an access token issued at `now`, expiring after the access lifetime or at
    /// `not_after` (its family's end), whichever is first.
    fn mint(
        &self,
        subject: &str,
        custom: &Map<String, Value>,
        family: Option<&FamilyId>,
        now: SystemTime,
        not_after: Option<SystemTime>,
    ) -> Result<AccessToken, AuthError> {
        let active = self
            .inner
            .keys
            .active()
            .ok_or_else(|| internal(ClaimsError::NoActiveKey))?;
        let since = now.duration_since(UNIX_EPOCH).unwrap_or_default();
        let iat = since.as_secs();
        let mut exp = iat.saturating_add(self.inner.access_ttl.as_secs());
        if let Some(end) = not_after {
            exp = exp.min(unix_secs(end).max(iat));
        }
        let expires_at = later(UNIX_EPOCH, Duration::from_secs(exp))?;
        let jti = Self::jti()?;
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
            expires_at,
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
        let access = self.mint(subject, &custom, None, self.inner.clock.now(), None)?;
        tracing::info!(event = "token.issued", subject, jti = %access.jti);
        Ok(access)
    }

    /// Starts a session: a new refresh-token family (ending after the family lifetime),
    /// its first refresh token (stored hashed), and an access token carrying the family id.
    ///
    /// A "log out everywhere" of `subject` ([`revoke_all`](Self::revoke_all)) that runs
    /// while the login is in flight ends the new family too, and the login fails with
    /// [`AuthError::Revoked`]; so does a login in the same millisecond as that logout (its
    /// access token would be refused anyway). The check is one read of the revocation
    /// store ([`RevocationStore::subject_not_before`], which no store answers from a local
    /// cache), so it holds across nodes whose clocks agree.
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
        let family_expires_at = later(now, self.inner.family_lifetime)?;
        let refresh_expires_at = later(now, self.inner.refresh_ttl)?.min(family_expires_at);
        let access = self.mint(
            subject,
            &custom,
            Some(&family),
            now,
            Some(family_expires_at),
        )?;
        let record = RefreshRecord::new(family.clone(), subject, data, now, refresh_expires_at)
            .with_family_expires_at(family_expires_at);
        self.inner
            .refresh_store
            .insert(&self.stored_as(&refresh), &record)
            .await?;
        // A "log out everywhere" that ran while this login was in flight (its password
        // checked, its family not yet stored) ends it too. That logout writes its "not
        // before" between two sweeps of the families, and this reads it after storing the
        // family: either this sees it, or the second sweep sees the family.
        let overtaken = self
            .inner
            .revocations
            .subject_not_before(subject)
            .await?
            .is_some_and(|not_before| now < not_before);
        if overtaken {
            tracing::warn!(
                event = "token.family_ended",
                subject,
                family = %family,
                why = "the subject logged out everywhere during the login",
            );
            self.end_family(&family, now).await?;
            return Err(AuthError::Revoked);
        }
        tracing::info!(event = "token.issued", subject, jti = %access.jti, family = %family);
        Ok(TokenPair {
            access_token: access.token,
            access_expires_at: access.expires_at,
            refresh_token: refresh,
            refresh_expires_at,
            family,
        })
    }

    /// Exchanges a refresh token for a new access token and a new refresh token, using
    /// the old one up (atomically, through [`RefreshTokenStore::rotate`]). Neither new
    /// token outlives the family's end. With
    /// [`current_claims`](IssuerBuilder::current_claims) the access token carries the
    /// subject's claims as they are now.
    ///
    /// - A malformed token: [`AuthError::Malformed`].
    /// - Unknown, expired, or of a revoked or ended family: [`AuthError::Invalid`].
    /// - Already rotated (a replay, or a stolen copy): the whole family is revoked, access
    ///   tokens included, and the error is [`AuthError::Reused`] naming subject and family.
    /// - A subject the hook calls disabled: the family is revoked, [`AuthError::Revoked`].
    /// - Stored claims this issuer never wrote (not a JSON object, or naming a claim the
    ///   issuer sets itself, such as `sub`): [`StoreError::Corrupt`], and no token.
    ///
    /// Once begun, the rotation runs to its end even if the caller stops waiting (so that
    /// a reuse found is always acted on): a client that gave up on a refresh (a timeout, a
    /// lost connection) and presents the same token again may find it used, which is
    /// reuse. Such a client logs in again.
    pub async fn refresh(&self, refresh_token: &str) -> Result<TokenPair, AuthError> {
        let old = RefreshToken::parse(refresh_token)
            .map_err(|_| AuthError::Malformed(Reason::RefreshTokenMalformed))?;
        let new = RefreshToken::generate()?;
        let now = self.inner.clock.now();
        let asked_expiry = later(now, self.inner.refresh_ttl)?;
        // The store ends a reused family's refresh tokens in the same step as it answers
        // `Reused`: its access tokens must go too even if the caller stops waiting for the
        // answer, or they would outlive the family.
        let issuer = self.clone();
        let (old_hash, new_hash) = (self.stored_as(&old), self.stored_as(&new));
        let rotation = to_completion(
            async move {
                let rotation = issuer
                    .inner
                    .refresh_store
                    .rotate(&old_hash, &new_hash, now, asked_expiry)
                    .await?;
                if let Rotation::Reused { family, subject } = &rotation {
                    tracing::warn!(event = "token.reused", subject = %subject, family = %family);
                    issuer.revoke_family_access(family, now).await?;
                }
                Ok::<_, AuthError>(rotation)
            }
            .in_current_span(),
        )
        .await?;
        let record = match rotation {
            Rotation::Rotated(record) => record,
            Rotation::Reused { family, subject } => {
                return Err(AuthError::Reused { subject, family });
            }
            Rotation::Unknown => {
                return Err(AuthError::Invalid(Reason::RefreshTokenUnknown));
            }
            _ => {
                return Err(AuthError::Internal(
                    "the refresh store answered unexpectedly".into(),
                ));
            }
        };
        let login_claims = stored_claims(&record.data)?;
        let claims = match &self.inner.current_claims {
            None => login_claims,
            Some(hook) => match hook.current_claims(&record.subject, &login_claims).await? {
                SubjectStatus::Active(claims) => checked_claims(claims)?,
                SubjectStatus::Disabled => {
                    tracing::warn!(
                        event = "token.family_ended",
                        subject = %record.subject,
                        family = %record.family,
                        why = "the subject is disabled",
                    );
                    self.end_family(&record.family, now).await?;
                    return Err(AuthError::Revoked);
                }
            },
        };
        let access = self.mint(
            &record.subject,
            &claims,
            Some(&record.family),
            now,
            Some(record.family_expires_at),
        )?;
        tracing::info!(
            event = "token.refreshed",
            subject = %record.subject,
            jti = %access.jti,
            family = %record.family,
        );
        Ok(TokenPair {
            access_token: access.token,
            access_expires_at: access.expires_at,
            refresh_token: new,
            refresh_expires_at: record.expires_at,
            family: record.family,
        })
    }

    /// Refuses, from now on, every access token minted from `family`.
    async fn revoke_family_access(
        &self,
        family: &FamilyId,
        now: SystemTime,
    ) -> Result<(), AuthError> {
        self.inner
            .revocations
            .revoke_family(&self.inner.issuer, family, access_horizon(now)?)
            .await?;
        Ok(())
    }

    /// Ends a family whole: its refresh tokens, then its access tokens, both even if the
    /// caller stops waiting in between (see [`to_completion`]).
    async fn end_family(&self, family: &FamilyId, now: SystemTime) -> Result<(), AuthError> {
        let issuer = self.clone();
        let family = family.clone();
        to_completion(async move {
            issuer.inner.refresh_store.revoke_family(&family).await?;
            issuer.revoke_family_access(&family, now).await
        })
        .await
    }

    /// Logout: revokes the access token's `jti` until it could no longer be accepted (its
    /// `exp` plus [`MAX_LEEWAY`]) and its whole refresh family, refresh and access tokens
    /// alike. The token must be one of ours (signature, `iss`, `aud`); an expired one is
    /// fine.
    pub async fn revoke(&self, access_token: &str) -> Result<(), AuthError> {
        let claims = self.inner.verifier.verify_ignoring_expiry(access_token)?;
        let now = self.inner.clock.now();
        tracing::info!(
            event = "token.revoked",
            subject = claims.sub.as_deref(),
            jti = claims.jti.as_deref(),
            family = claims.family.as_ref().map(FamilyId::as_str),
        );
        if let Some(family) = &claims.family {
            self.end_family(family, now).await?;
        }
        if let Some(jti) = &claims.jti {
            // Even if `until` has passed here: the store decides, and a store shared by
            // nodes whose clocks differ keeps it while a node behind may still accept it.
            let until = later(claims.exp, MAX_LEEWAY)?;
            self.inner
                .revocations
                .revoke(&self.inner.issuer, jti, until)
                .await?;
        }
        Ok(())
    }

    /// Logout everywhere, for tokens: revokes every refresh family of `subject` first (so
    /// no refresh can mint a new access token afterwards), then every access token issued
    /// to it up to the current millisecond (see the type's docs), for as long as any
    /// access token could live ([`MAX_ACCESS_TTL`] plus [`MAX_LEEWAY`]), then the families
    /// again (a login in flight may have stored one meanwhile; a login that completed in
    /// between is ended too, and its user logs in again at its first refresh). Returns how
    /// many refresh tokens it revoked.
    ///
    /// Both steps run to their end even if the caller stops waiting in between (on the
    /// current tokio runtime, see [`to_completion`]): once the families are revoked,
    /// nothing else would ever refuse the access tokens already out.
    pub async fn revoke_all(&self, subject: &str) -> Result<u64, AuthError> {
        let inner = &self.inner;
        revoke_subject_tokens(
            inner.refresh_store.clone(),
            inner.revocations.clone(),
            inner.clock.clone(),
            subject,
        )
        .await
    }
}

/// [`Issuer::revoke_all`] without an issuer, over the stores the issuers share: for an
/// operator's tool (`authctl sessions revoke-all`), a job, or a service that verifies but
/// does not sign. Revokes every refresh family of `subject`, then every access token
/// issued to it up to the current millisecond by `clock`, for as long as any access token
/// could live, then the families again; all run to their end even if the caller stops
/// waiting. Returns how many refresh tokens it revoked.
pub async fn revoke_subject_tokens(
    refresh_store: Arc<dyn RefreshTokenStore>,
    revocations: Arc<dyn RevocationStore>,
    clock: SharedClock,
    subject: &str,
) -> Result<u64, AuthError> {
    let owned = subject.to_owned();
    let revoked = to_completion(async move {
        let revoked = refresh_store.revoke_subject(&owned).await?;
        let now = clock.now();
        revocations
            .revoke_subject(&owned, next_millisecond(now), access_horizon(now)?)
            .await?;
        // A login in flight may have stored its family after the first sweep yet read the
        // "not before" before it was written (see `Issuer::login`): this ends it.
        let late = refresh_store.revoke_subject(&owned).await?;
        Ok::<_, AuthError>(revoked.saturating_add(late))
    })
    .await?;
    tracing::info!(event = "subject.revoked", subject, refresh_tokens = revoked);
    Ok(revoked)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // Test code: a panic is a failed test.

    use super::*;

    #[test]
    fn time_sums_fail_or_saturate_instead_of_panicking() {
        let far = UNIX_EPOCH + Duration::from_secs(i64::MAX as u64);
        assert!(later(far, Duration::from_secs(1)).is_err());
        assert!(access_horizon(far).is_err());
        assert!(next_millisecond(far) > far, "never earlier, never a panic");
        let t = UNIX_EPOCH + Duration::from_millis(1_500);
        assert_eq!(
            next_millisecond(t),
            UNIX_EPOCH + Duration::from_millis(1_501)
        );
    }
}
