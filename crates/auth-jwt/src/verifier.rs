//! The [`Verifier`]: RFC 8725 defaults, then revocation, then an [`Identity`].

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use auth_core::store::TokenRef;
use auth_core::{
    AuthError, AuthMethod, Claim, Identity, Reason, RevocationStore, SharedClock, StoreError,
};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::Algorithm;
use crate::claims::{self, RegisteredClaims};
use crate::compact::Compact;
use crate::error::ConfigError;
use crate::header::{self, TokenHeader};
use crate::jwks::RemoteJwks;
use crate::jwks_error::JwksError;
use crate::key::VerifyingKey;
use crate::key_set::{KeySet, Resolved};
use crate::verified_cache::{Proven, VerifiedCache};

/// The default limit on a token's length, checked before any decoding: 8 KiB.
pub const DEFAULT_MAX_TOKEN_LEN: usize = 8 * 1024;
/// The default leeway for `exp`, `nbf` and `iat`: 30 seconds.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(30);
/// The most leeway any verifier accepts: 5 minutes. A fixed ceiling, not a setting,
/// because revocations are kept until a token's `exp` plus this much: a verifier allowed
/// more could honour a revoked token again once its revocation was forgotten.
pub const MAX_LEEWAY: Duration = Duration::from_secs(300);

/// The default capacity of the table of tokens [`Verifier::authenticate`] remembers having
/// verified; the table rounds it up to a power of two sets of 4 (16 384 tokens).
pub const DEFAULT_VERIFIED_CACHE: u64 = 10_000;

/// The largest signature accepted, in bytes (RSA-8192).
const MAX_SIGNATURE_LEN: usize = 1024;

/// A token whose signature verified (the JWS layer; no claim was checked).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct VerifiedJws {
    /// The header.
    pub header: TokenHeader,
    /// The decoded payload (any bytes: a JWS need not carry JSON).
    pub payload: Vec<u8>,
}

/// A token that passed every check of the [`Verifier`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Verified<C> {
    /// The header.
    pub header: TokenHeader,
    /// The registered claims, typed.
    pub registered: RegisteredClaims,
    /// The caller's claims: every claim that is not a registered one, deserialized from
    /// the same claims set.
    pub claims: C,
}

/// Verifies JWTs with RFC 8725's defaults, none of which can be turned off:
///
/// - the token is at most [`max_token_len`](VerifierBuilder::max_token_len) bytes
///   (default 8 KiB), checked before any base64 or JSON work;
/// - strict compact form: three non-empty base64url segments, no padding, no whitespace,
///   no other alphabet, canonical trailing bits;
/// - header and claims are JSON objects; a `crit` header is refused (no extension is
///   understood); `jku`, `x5u`, `x5c` and `jwk` are ignored, never used to find a key;
/// - `kid` is only a lookup in the configured [`KeySet`]; an unknown `kid` fails closed;
/// - the algorithm comes from the key: a token whose `alg` is not exactly its key's is
///   refused before any cryptography, so an HS256 token is never checked with an RSA, EC
///   or Ed25519 public key as the HMAC secret (and no other family crosses either);
///   `none` cannot be configured or accepted;
/// - `exp` is required; `exp`, `nbf` and `iat` must be JSON numbers (a string `nbf` is
///   an error, not an absent claim); leeway defaults to 30 s and is bounded;
/// - `iss` and `aud` are compared exactly when configured, `typ` ignoring ASCII case; a
///   token with an `aud` is refused by a verifier that claims no audience (RFC 7519
///   §4.1.3);
/// - [`authenticate`](Verifier::authenticate) then asks the [`RevocationStore`] (the
///   `jti` with its issuer, the refresh family the token was minted from, and the
///   subject's "not before", in one call), fails closed when the store cannot answer, and
///   requires `sub`.
///
/// ```
/// use std::sync::Arc;
/// use auth_core::{ManualClock, SharedClock};
/// use auth_core::memory::{MemoryRefreshTokenStore, MemoryRevocationStore};
/// use auth_jwt::{Algorithm, Issuer, KeySet, SigningKey, Verifier};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let clock: SharedClock = Arc::new(ManualClock::starting_now());
/// let keys = KeySet::with_signing_key(clock.clone(), "k1", SigningKey::generate(Algorithm::ES256)?)?;
/// let revocations = Arc::new(MemoryRevocationStore::new(clock.clone()));
/// let issuer = Issuer::builder(keys.clone(), clock.clone())
///     .issuer("https://auth.example")
///     .audience("api")
///     .build(Arc::new(MemoryRefreshTokenStore::new(clock.clone())), revocations.clone())?;
/// let verifier = Verifier::builder(keys, clock)
///     .issuer("https://auth.example")
///     .audience("api")
///     .revocation_store(revocations)
///     .build()?;
///
/// let pair = issuer.login("alice", &serde_json::json!({ "roles": ["admin"] })).await?;
/// let who = verifier.authenticate(&pair.access_token).await?;
/// assert_eq!(who.subject, "alice");
/// assert!(who.has_role("admin"));
///
/// issuer.revoke(&pair.access_token).await?;
/// assert!(verifier.authenticate(&pair.access_token).await.is_err());
/// # Ok(())
/// # }
/// ```
///
/// # Remote keys and several issuers
///
/// A verifier may trust several issuers, each with its own keys: the builder's own key set
/// (under [`issuer`](VerifierBuilder::issuer)), a [`RemoteJwks`] in its place
/// ([`remote_jwks`](VerifierBuilder::remote_jwks)), and more remote issuers
/// ([`remote_issuer`](VerifierBuilder::remote_issuer)). A token's `iss` then chooses the
/// issuer whose keys check it (and whose `iss` it must equal); an `iss` that no trusted
/// issuer has is refused ([`Reason::WrongIssuer`]) before any key is looked up or fetched,
/// so attacker-chosen issuers cause no request. [`Identity`]'s
/// [`AuthMethod::Jwt`] names the issuer that vouched.
///
/// With a remote JWK Set, [`authenticate`](Verifier::authenticate) and
/// [`verify_async`](Verifier::verify_async) are the entry points: they consult the set
/// every time (refreshing it when stale, refetching it on an unknown `kid`, failing closed
/// with [`AuthError::Unavailable`] when it cannot be had). The sync
/// [`verify`](Verifier::verify) and [`verify_signature`](Verifier::verify_signature)
/// cannot, so on such a verifier they refuse every token with [`AuthError::Internal`]
/// carrying [`JwksError::NeedsAsync`], never judging it on keys that may be stale.
#[derive(Clone)]
pub struct Verifier {
    inner: Arc<Inner>,
}

struct Inner {
    /// The issuers trusted, at least one.
    trusts: Box<[Trust]>,
    /// Whether a token's `iss` chooses its trust before any key lookup or fetch.
    route: bool,
    /// Whether any trust's keys are remote (then only the async entry points verify).
    remote: bool,
    clock: SharedClock,
    audiences: Vec<String>,
    typ: Option<String>,
    leeway: Duration,
    max_token_len: usize,
    require_jti: bool,
    require_iat: bool,
    revocations: Option<Arc<dyn RevocationStore>>,
    verified: Option<VerifiedCache>,
}

/// An issuer a verifier accepts tokens from: its `iss` (any, when `None`: a verifier of
/// one issuer that checks no `iss`), its keys, and where they come from.
struct Trust {
    issuer: Option<String>,
    keys: KeySet,
    remote: Option<Arc<RemoteJwks>>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let issuers: Vec<_> = self.inner.trusts.iter().map(|t| &t.issuer).collect();
        f.debug_struct("Verifier")
            .field("issuers", &issuers)
            .field("audiences", &self.inner.audiences)
            .field("typ", &self.inner.typ)
            .field("leeway", &self.inner.leeway)
            .field("max_token_len", &self.inner.max_token_len)
            .finish_non_exhaustive()
    }
}

/// Configures a [`Verifier`].
#[must_use]
pub struct VerifierBuilder {
    keys: KeySet,
    clock: SharedClock,
    issuer: Option<String>,
    audiences: Vec<String>,
    typ: Option<String>,
    leeway: Duration,
    max_token_len: usize,
    require_jti: bool,
    require_iat: bool,
    revocations: Option<Arc<dyn RevocationStore>>,
    remote: Option<Arc<RemoteJwks>>,
    remote_issuers: Vec<(String, Arc<RemoteJwks>)>,
    verified_cache: u64,
}

impl VerifierBuilder {
    /// Requires `iss` to equal `issuer` exactly: the issuer of the builder's key set (or of
    /// its [`remote_jwks`](Self::remote_jwks)).
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// Adds an audience this verifier accepts; a token must name at least one of them.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// Requires the header's `typ` to equal `typ` (compared ignoring ASCII case, as media
    /// types are). For example `"JWT"` or `"at+jwt"`.
    pub fn typ(mut self, typ: impl Into<String>) -> Self {
        self.typ = Some(typ.into());
        self
    }

    /// The clock-skew leeway for `exp`, `nbf` and `iat` (default [`DEFAULT_LEEWAY`], at
    /// most [`MAX_LEEWAY`]).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// The longest token accepted, in bytes (default 8 KiB).
    pub fn max_token_len(mut self, len: usize) -> Self {
        self.max_token_len = len;
        self
    }

    /// Requires a `jti` (needed to revoke single tokens).
    pub fn require_jti(mut self) -> Self {
        self.require_jti = true;
        self
    }

    /// Requires an `iat`.
    pub fn require_iat(mut self) -> Self {
        self.require_iat = true;
        self
    }

    /// The store that [`Verifier::authenticate`] asks about revoked tokens and subjects.
    pub fn revocation_store(mut self, store: Arc<dyn RevocationStore>) -> Self {
        self.revocations = Some(store);
        self
    }

    /// A remote JWK Set: its keys replace the builder's, are refreshed when stale, and
    /// refetched (rate limited) when a token names an unknown `kid`. When its source
    /// vouches for an issuer (`HttpJwksSource::discover`, feature `http`),
    /// tokens must carry exactly that `iss` (and [`issuer`](Self::issuer), if set, must
    /// name the same one). A source that vouches for none (a plain JWK Set URL,
    /// `HttpJwksSource::new`) checks no `iss` unless [`issuer`](Self::issuer) is set: set
    /// it, above all when the set's keys sign for more than one issuer (a provider's
    /// tenants sharing keys). Verify with [`Verifier::authenticate`] or
    /// [`Verifier::verify_async`].
    pub fn remote_jwks(mut self, remote: impl Into<Arc<RemoteJwks>>) -> Self {
        self.remote = Some(remote.into());
        self
    }

    /// Trusts one more issuer: tokens whose `iss` is exactly `issuer` are checked with the
    /// keys of `remote` (each issuer has its own, and its own discovery). Every trusted
    /// issuer must then be named: the builder's own key set serves only under
    /// [`issuer`](Self::issuer), and is left out when it is empty and unnamed. Audiences,
    /// `typ`, leeway and the other rules are the verifier's, shared by every issuer.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use async_trait::async_trait;
    /// use auth_core::{BoxError, SystemClock};
    /// use auth_jwt::{JwksDocument, JwksSource, KeySet, RemoteJwks, Verifier};
    ///
    /// struct Empty;
    /// #[async_trait]
    /// impl JwksSource for Empty {
    ///     async fn fetch(&self) -> Result<JwksDocument, BoxError> {
    ///         Ok(JwksDocument::new(r#"{"keys":[]}"#))
    ///     }
    /// }
    ///
    /// let clock = SystemClock::shared();
    /// let verifier = Verifier::builder(KeySet::new(clock.clone()), clock.clone())
    ///     .remote_issuer("https://staff.example", RemoteJwks::new(Arc::new(Empty), clock.clone()))
    ///     .remote_issuer("https://partners.example", RemoteJwks::new(Arc::new(Empty), clock))
    ///     .audience("api")
    ///     .build()?;
    /// # let _ = verifier;
    /// # Ok::<(), auth_jwt::ConfigError>(())
    /// ```
    pub fn remote_issuer(
        mut self,
        issuer: impl Into<String>,
        remote: impl Into<Arc<RemoteJwks>>,
    ) -> Self {
        self.remote_issuers.push((issuer.into(), remote.into()));
        self
    }

    /// How many tokens [`Verifier::authenticate`] remembers having verified (default
    /// [`DEFAULT_VERIFIED_CACHE`]; 0 turns the cache off).
    ///
    /// A client sends the same token with every request, and an asymmetric signature check
    /// costs tens of microseconds. A token seen again, byte for byte, skips the parse and
    /// the signature check; the time rules, the key (still in the key set, not retired,
    /// the very same key) and revocation are checked again on every request, so a
    /// remembered token is accepted exactly when a fresh verification would accept it.
    /// Entries hold only tokens that passed every check, are found only by the token's
    /// exact text, and live at most five minutes; tokens over 4 KiB are not remembered.
    /// The table is allocated when the verifier is built: one set of about 48 bytes per 4
    /// entries of `capacity`, the number of sets rounded up to a power of two (about 192 KiB
    /// by default); each remembered token and identity is allocated when it is remembered.
    pub fn verified_cache(mut self, capacity: u64) -> Self {
        self.verified_cache = capacity;
        self
    }

    /// Checks the settings and builds the verifier.
    pub fn build(self) -> Result<Verifier, ConfigError> {
        if self.leeway > MAX_LEEWAY {
            return Err(ConfigError::LeewayTooLarge {
                leeway_secs: self.leeway.as_secs(),
                max_secs: MAX_LEEWAY.as_secs(),
            });
        }
        if self.max_token_len < 16 {
            return Err(ConfigError::Invalid(
                "max_token_len is too small for any JWT",
            ));
        }
        let empty_issuer = self.issuer.as_deref() == Some("")
            || self
                .remote_issuers
                .iter()
                .any(|(issuer, _)| issuer.is_empty());
        if empty_issuer || self.audiences.iter().any(String::is_empty) {
            return Err(ConfigError::Invalid(
                "issuer and audiences must not be empty",
            ));
        }
        let trusts = trusts(self.keys, self.issuer, self.remote, self.remote_issuers)?;
        let remote = trusts.iter().any(|t| t.remote.is_some());
        let route = trusts.len() > 1
            || trusts
                .iter()
                .any(|t| t.remote.is_some() && t.issuer.is_some());
        crate::provider::install();
        Ok(Verifier {
            inner: Arc::new(Inner {
                trusts: trusts.into_boxed_slice(),
                route,
                remote,
                clock: self.clock,
                audiences: self.audiences,
                typ: self.typ,
                leeway: self.leeway,
                max_token_len: self.max_token_len,
                require_jti: self.require_jti,
                require_iat: self.require_iat,
                revocations: self.revocations,
                verified: VerifiedCache::new(self.verified_cache),
            }),
        })
    }
}

/// The issuers a verifier trusts, checked: each named when there are several, none twice,
/// and a remote set that vouches for an issuer serving only that one.
fn trusts(
    keys: KeySet,
    issuer: Option<String>,
    remote: Option<Arc<RemoteJwks>>,
    remote_issuers: Vec<(String, Arc<RemoteJwks>)>,
) -> Result<Vec<Trust>, ConfigError> {
    let vouched = remote.as_ref().and_then(|r| r.issuer().map(str::to_owned));
    let issuer = issuer.or(vouched);
    let own_used = remote_issuers.is_empty()
        || issuer.is_some()
        || remote.is_some()
        || !keys.kids().is_empty();
    let mut trusts = Vec::with_capacity(remote_issuers.len() + 1);
    if own_used {
        trusts.push(Trust {
            issuer,
            keys: remote.as_ref().map_or(keys, |r| r.keys().clone()),
            remote,
        });
    }
    for (issuer, remote) in remote_issuers {
        trusts.push(Trust {
            issuer: Some(issuer),
            keys: remote.keys().clone(),
            remote: Some(remote),
        });
    }
    if trusts.len() > 1 && trusts.iter().any(|t| t.issuer.is_none()) {
        return Err(ConfigError::Missing(
            "issuer: with several trusted issuers, each is named",
        ));
    }
    for (index, trust) in trusts.iter().enumerate() {
        let twice = trusts[..index]
            .iter()
            .any(|earlier| earlier.issuer == trust.issuer);
        if twice {
            return Err(ConfigError::Invalid("two trusted issuers share one iss"));
        }
        if let Some(vouched) = trust.remote.as_ref().and_then(|r| r.issuer())
            && trust.issuer.as_deref() != Some(vouched)
        {
            return Err(ConfigError::Invalid(
                "a remote JWK Set discovered for one issuer cannot serve another",
            ));
        }
    }
    Ok(trusts)
}

/// The `iss` of a token's claims, read before the signature is checked only to choose
/// which issuer's keys check it.
#[derive(Deserialize)]
struct IssOnly<'a> {
    #[serde(borrow, default)]
    iss: Option<std::borrow::Cow<'a, str>>,
}

impl Verifier {
    /// A builder verifying with `keys`, deciding time with `clock`.
    pub fn builder(keys: KeySet, clock: SharedClock) -> VerifierBuilder {
        VerifierBuilder {
            keys,
            clock,
            issuer: None,
            audiences: Vec::new(),
            typ: None,
            leeway: DEFAULT_LEEWAY,
            max_token_len: DEFAULT_MAX_TOKEN_LEN,
            require_jti: false,
            require_iat: false,
            revocations: None,
            remote: None,
            remote_issuers: Vec::new(),
            verified_cache: DEFAULT_VERIFIED_CACHE,
        }
    }

    /// The key set this verifier looks `kid`s up in (the first trusted issuer's, when it
    /// trusts several).
    pub fn keys(&self) -> &KeySet {
        &self.first().keys
    }

    fn first(&self) -> &Trust {
        // `build` never makes a verifier without a trust.
        &self.inner.trusts[0]
    }

    /// Refuses to verify synchronously when a remote JWK Set is configured: only the async
    /// entry points can refresh it.
    fn local_only(&self) -> Result<(), AuthError> {
        if self.inner.remote {
            Err(AuthError::Internal(Box::new(JwksError::NeedsAsync)))
        } else {
            Ok(())
        }
    }

    /// The compact form of `token` and the issuer whose keys check it.
    fn routed<'t>(&self, token: &'t str) -> Result<(Compact<'t>, &Trust), AuthError> {
        let compact = Compact::parse(token, self.inner.max_token_len)?;
        if !self.inner.route {
            return Ok((compact, self.first()));
        }
        let json = crate::b64::decode(compact.payload.as_bytes())
            .ok_or_else(|| compact.explain(PAYLOAD_NOT_BASE64))?;
        let peek: IssOnly<'_> = serde_json::from_slice(&json)
            .map_err(|_| compact.explain(AuthError::Malformed(Reason::ClaimsNotJson)))?;
        let iss = peek
            .iss
            .ok_or(AuthError::Invalid(Reason::MissingClaim(Claim::Iss)))?;
        let trust = self
            .trust_of(Some(&iss))
            .ok_or(AuthError::Invalid(Reason::WrongIssuer))?;
        Ok((compact, trust))
    }

    /// The trust whose issuer is `iss` (the only one, for a verifier that does not route).
    fn trust_of(&self, iss: Option<&str>) -> Option<&Trust> {
        if !self.inner.route {
            return Some(self.first());
        }
        self.inner
            .trusts
            .iter()
            .find(|trust| iss.is_some() && trust.issuer.as_deref() == iss)
    }

    fn check_signature<'t>(
        &self,
        trust: &Trust,
        compact: Compact<'t>,
    ) -> Result<(Compact<'t>, TokenHeader, VerifyingKey), AuthError> {
        self.check_jws(trust, compact)
            .map_err(|error| compact.explain(error))
    }

    /// The key a header names, checked against the header's `alg`, and whether its `typ`
    /// is the expected one (reported only once the signature verified).
    fn header_key(
        &self,
        trust: &Trust,
        alg: Algorithm,
        kid: Option<&str>,
        typ: Option<&str>,
    ) -> Result<(Resolved, bool), AuthError> {
        let resolved = trust.keys.resolve(kid)?;
        if alg != resolved.key.algorithm() {
            return Err(AuthError::Invalid(Reason::AlgNotKeys));
        }
        let typ_ok = match (&self.inner.typ, typ) {
            (None, _) => true,
            (Some(expected), Some(typ)) => typ.eq_ignore_ascii_case(expected),
            (Some(_), None) => false,
        };
        Ok((resolved, typ_ok))
    }

    fn check_jws<'t>(
        &self,
        trust: &Trust,
        compact: Compact<'t>,
    ) -> Result<(Compact<'t>, TokenHeader, VerifyingKey), AuthError> {
        let mut stack = [0u8; 256];
        let mut heap = Vec::new();
        let parsed = header::parse(compact.header, &mut stack, &mut heap)?;
        let (resolved, typ_ok) = self.header_key(
            trust,
            parsed.alg,
            parsed.kid.as_deref(),
            parsed.typ.as_deref(),
        )?;
        let found = HeaderKey {
            alg: parsed.alg,
            key: resolved.key,
            kid: resolved.kid,
            typ_ok,
        };
        let HeaderKey {
            alg,
            key,
            kid,
            typ_ok,
        } = found;
        if compact.signature.len() > MAX_SIGNATURE_LEN * 4 / 3 + 2 {
            return Err(AuthError::Invalid(Reason::SignatureTooLong));
        }
        // Up to RSA-4096 on the stack; longer signatures use the heap.
        let mut stack = [0u8; 516];
        let mut heap = Vec::new();
        let signature =
            crate::b64::decode_buffered(compact.signature.as_bytes(), &mut stack, &mut heap)
                .ok_or(AuthError::Malformed(Reason::SignatureNotBase64url))?;
        if !key.verify(compact.signing_input.as_bytes(), signature) {
            return Err(AuthError::Invalid(Reason::BadSignature));
        }
        // A header rule, but reported only for tokens whose signature verified.
        if !typ_ok {
            return Err(AuthError::Invalid(Reason::WrongTyp));
        }
        Ok((compact, TokenHeader { alg, kid }, key))
    }

    /// Verifies only the JWS layer: size, compact form, header, key choice and signature.
    /// The payload is returned as bytes; no claim is read or checked. For tokens, use
    /// [`Verifier::verify`] or [`Verifier::authenticate`].
    ///
    /// A verifier with a remote JWK Set refuses every token here (see
    /// [`JwksError::NeedsAsync`]).
    pub fn verify_signature(&self, token: &str) -> Result<VerifiedJws, AuthError> {
        self.local_only()?;
        let (compact, trust) = self.routed(token)?;
        let (compact, header, _) = self.check_signature(trust, compact)?;
        let payload = crate::b64::decode(compact.payload.as_bytes())
            .ok_or_else(|| compact.explain(PAYLOAD_NOT_BASE64))?;
        Ok(VerifiedJws { header, payload })
    }

    /// Verifies a token's signature and every claim rule. The registered claims come back
    /// typed in [`Verified::registered`]; every other claim is deserialized into `C` in
    /// the same pass (a struct of your custom claims, `serde_json::Map<String, Value>`, or
    /// `serde::de::IgnoredAny`). Revocation is not checked: see
    /// [`Verifier::authenticate`].
    ///
    /// A verifier with a remote JWK Set refuses every token here with
    /// [`AuthError::Internal`] carrying [`JwksError::NeedsAsync`]: use
    /// [`Verifier::verify_async`], which consults the set.
    pub fn verify<C: DeserializeOwned>(&self, token: &str) -> Result<Verified<C>, AuthError> {
        self.local_only()?;
        let (compact, trust) = self.routed(token)?;
        self.verify_with(trust, compact)
            .map(|(verified, _)| verified)
    }

    /// Verifies a token with `trust`'s keys and rules, also returning the key that
    /// verified the signature.
    fn verify_with<C: DeserializeOwned>(
        &self,
        trust: &Trust,
        compact: Compact<'_>,
    ) -> Result<(Verified<C>, VerifyingKey), AuthError> {
        let (compact, header, key) = self.check_signature(trust, compact)?;
        // Typical claims fit a small stack buffer; larger ones go to the heap.
        let mut stack = [0u8; 1024];
        let mut heap = Vec::new();
        let json = crate::b64::decode_buffered(compact.payload.as_bytes(), &mut stack, &mut heap)
            .ok_or_else(|| compact.explain(PAYLOAD_NOT_BASE64))?;
        let (claims, registered) = claims::parse::<C>(json, &self.expected(trust))?;
        self.check_claims(&registered, self.inner.clock.now())?;
        let verified = Verified {
            header,
            registered,
            claims,
        };
        Ok((verified, key))
    }

    fn expected<'v>(&'v self, trust: &'v Trust) -> claims::Expected<'v> {
        claims::Expected {
            issuer: trust.issuer.as_deref(),
            audiences: &self.inner.audiences,
        }
    }

    /// The time rules and required claims (`iss` and `aud` are checked while parsing).
    fn check_claims(&self, claims: &RegisteredClaims, now: SystemTime) -> Result<(), AuthError> {
        let inner = &*self.inner;
        // `now + leeway` saturates far in the future; `exp + leeway` likewise never expires.
        let late_now = now.checked_add(inner.leeway);
        let expired = claims
            .exp
            .checked_add(inner.leeway)
            .is_some_and(|limit| now >= limit);
        if expired {
            return Err(AuthError::Expired);
        }
        if let Some(nbf) = claims.nbf
            && late_now.is_some_and(|late| late < nbf)
        {
            return Err(AuthError::Invalid(Reason::NotYetValid));
        }
        match claims.iat {
            Some(iat) if late_now.is_some_and(|late| late < iat) => {
                return Err(AuthError::Invalid(Reason::IssuedInFuture));
            }
            None if inner.require_iat => {
                return Err(AuthError::Invalid(Reason::MissingClaim(Claim::Iat)));
            }
            _ => {}
        }
        if inner.require_jti && claims.jti.is_none() {
            return Err(AuthError::Invalid(Reason::MissingClaim(Claim::Jti)));
        }
        Ok(())
    }

    /// Verifies a token like [`Verifier::verify`], consulting the token's issuer's remote
    /// JWK Set first when it has one: refreshed when stale, refetched (once per cooldown)
    /// when the `kid` is unknown, and failing closed with [`AuthError::Unavailable`] when
    /// no usable set can be had. Works for every verifier.
    pub async fn verify_async<C: DeserializeOwned>(
        &self,
        token: &str,
    ) -> Result<Verified<C>, AuthError> {
        self.verify_async_keyed(token)
            .await
            .map(|(verified, _)| verified)
    }

    /// [`Verifier::verify_async`], also returning the key that verified the signature.
    async fn verify_async_keyed<C: DeserializeOwned>(
        &self,
        token: &str,
    ) -> Result<(Verified<C>, VerifyingKey), AuthError> {
        let (compact, trust) = self.routed(token)?;
        let Some(remote) = &trust.remote else {
            return self.verify_with(trust, compact);
        };
        remote.ensure_fresh().await?;
        match self.verify_with(trust, compact) {
            Err(AuthError::Invalid(Reason::UnknownKid)) => {
                if remote.refetch_for_unknown_kid().await? {
                    self.verify_with(trust, compact)
                } else {
                    Err(AuthError::Invalid(Reason::UnknownKid))
                }
            }
            other => other,
        }
    }

    /// Verifies a token, checks it is not revoked, and returns who it proves.
    ///
    /// Requires `sub`. Roles come from a `roles` claim (array of strings), scopes from
    /// `scope` (space-separated string) or `scp` (array of strings or string); every other
    /// non-registered claim lands in [`Identity::claims`]. With a revocation store, the
    /// token is refused when its `(iss, jti)` is revoked or when it was issued before its
    /// subject's "not before"; a store that cannot answer fails closed
    /// ([`AuthError::Unavailable`]).
    ///
    /// A token this verifier accepted before, byte for byte, is not parsed or
    /// signature-checked again while it is remembered (see
    /// [`verified_cache`](VerifierBuilder::verified_cache)); every check whose answer can
    /// change (time, key, revocation) still runs. The identity comes shared: a remembered
    /// token hands out the one it proved, not a copy of its claims per request.
    pub async fn authenticate(&self, token: &str) -> Result<Arc<Identity>, AuthError> {
        let cache =
            (self.inner.verified.as_ref()).filter(|_| token.len() <= self.inner.max_token_len);
        if let Some(cache) = cache {
            let mut now = self.inner.clock.now();
            if let Some(proven) = cache.get(token, now) {
                // The token was accepted through the trust its `iss` names.
                if let Some(trust) = self.trust_of(proven.registered.iss.as_deref()) {
                    if let Some(remote) = &trust.remote {
                        remote.ensure_fresh().await?;
                        now = self.inner.clock.now();
                    }
                    if self.still_holds(trust, &proven, now)? {
                        self.check_revocation(&proven.registered).await?;
                        return Ok(Arc::clone(&proven.identity));
                    }
                }
                cache.forget(token);
            }
        }
        let (verified, key) = self.verify_async_keyed(token).await?;
        let proven = self.prove(verified, key)?;
        self.check_revocation(&proven.registered).await?;
        let identity = Arc::clone(&proven.identity);
        if let Some(cache) = cache {
            cache.insert(token, proven, self.inner.clock.now());
        }
        Ok(identity)
    }

    /// Whether a remembered token still verifies, short of revocation: `Ok(false)` when its
    /// key is no longer the key its `kid` finds (removed, replaced or retired: then the
    /// token goes through a full verification, which decides, and may refetch a remote
    /// JWK Set), an error when a time rule now refuses it.
    fn still_holds(
        &self,
        trust: &Trust,
        proven: &Proven,
        now: SystemTime,
    ) -> Result<bool, AuthError> {
        if !trust.keys.still_serves(proven.kid.as_deref(), &proven.key) {
            return Ok(false);
        }
        self.check_claims(&proven.registered, now)?;
        Ok(true)
    }

    /// Refuses a revoked token: its `(iss, jti)`, its refresh family, or its subject's
    /// "not before", in one store call. A token without `iat` counts as issued before any
    /// "not before".
    async fn check_revocation(&self, registered: &RegisteredClaims) -> Result<(), AuthError> {
        let Some(store) = &self.inner.revocations else {
            return Ok(());
        };
        let token = TokenRef::new(
            registered.iss.as_deref().unwrap_or(""),
            registered.sub.as_deref().unwrap_or(""),
            registered.iat.unwrap_or(UNIX_EPOCH),
        )
        .jti(registered.jti.as_deref())
        .family(registered.family.as_ref());
        // Only the token's own ids can break a store's input rules here: a token signed
        // with a `sub` no store accepts is the issuer's fault, not a server error.
        let revoked = store
            .is_token_revoked(&token)
            .await
            .map_err(|error| match error {
                StoreError::TooLarge { .. } | StoreError::InvalidInput(_) => {
                    AuthError::Invalid(Reason::Unrevocable)
                }
                other => other.into(),
            })?;
        if revoked {
            return Err(AuthError::Revoked);
        }
        Ok(())
    }

    /// The identity a verified token proves: requires `sub`; roles from `roles`, scopes
    /// from `scope` or `scp`, every other claim kept.
    fn prove(
        &self,
        verified: Verified<Map<String, Value>>,
        key: VerifyingKey,
    ) -> Result<Proven, AuthError> {
        let registered = verified.registered;
        let sub = registered
            .sub
            .clone()
            .ok_or(AuthError::Invalid(Reason::MissingClaim(Claim::Sub)))?;
        let mut claims = verified.claims;
        let roles = match claims.remove("roles") {
            None => Vec::new(),
            Some(value) => strings(value).ok_or(AuthError::Malformed(Reason::RolesNotStrings))?,
        };
        let scope = claims.remove("scope");
        let scp = claims.remove("scp");
        let words = |s: String| {
            s.split(' ')
                .filter(|w| !w.is_empty())
                .map(str::to_owned)
                .collect()
        };
        let scopes = match (scope, scp) {
            (Some(Value::String(s)), _) => words(s),
            (Some(_), _) => return Err(AuthError::Malformed(Reason::ScopeNotString)),
            (None, Some(Value::String(s))) => words(s),
            (None, Some(value)) => {
                strings(value).ok_or(AuthError::Malformed(Reason::ScpNotStrings))?
            }
            (None, None) => Vec::new(),
        };
        let method = AuthMethod::Jwt {
            jti: registered.jti.clone(),
            kid: verified.header.kid.as_ref().map(|kid| kid.to_string()),
            issuer: registered.iss.clone(),
        };
        // Without `iat` the token does not say when its subject authenticated, and the
        // identity says so too rather than guessing.
        let identity = Identity::new(sub, method, registered.iat)
            .with_roles(roles)
            .with_scopes(scopes)
            .with_claims(claims)
            .with_expires_at(registered.exp);
        Ok(Proven {
            kid: verified.header.kid,
            key,
            registered,
            identity: Arc::new(identity),
        })
    }

    /// Like [`Verifier::verify`], but accepting expired tokens: what revoking a token
    /// needs (its `exp`, `jti` and family), never what authenticates a request.
    pub(crate) fn verify_ignoring_expiry(
        &self,
        token: &str,
    ) -> Result<RegisteredClaims, AuthError> {
        match self.verify::<serde::de::IgnoredAny>(token) {
            Ok(verified) => Ok(verified.registered),
            Err(AuthError::Expired) => {
                let (compact, trust) = self.routed(token)?;
                let (compact, _, _) = self.check_signature(trust, compact)?;
                let json = crate::b64::decode(compact.payload.as_bytes())
                    .ok_or_else(|| compact.explain(PAYLOAD_NOT_BASE64))?;
                claims::parse::<serde::de::IgnoredAny>(&json, &self.expected(trust)).map(|(_, r)| r)
            }
            Err(other) => Err(other),
        }
    }
}

const PAYLOAD_NOT_BASE64: AuthError = AuthError::Malformed(Reason::PayloadNotBase64url);

fn strings(value: Value) -> Option<Vec<String>> {
    match value {
        Value::Array(items) => items
            .into_iter()
            .map(|v| match v {
                Value::String(s) => Some(s),
                _ => None,
            })
            .collect(),
        _ => None,
    }
}

/// What a token's header resolved to.
struct HeaderKey {
    alg: Algorithm,
    key: VerifyingKey,
    kid: Option<Arc<str>>,
    typ_ok: bool,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // Test code: a panic is a failed test.

    use auth_core::ManualClock;
    use auth_core::memory::{MemoryRefreshTokenStore, MemoryRevocationStore};
    use serde_json::json;

    use super::*;
    use crate::{Algorithm, Issuer, SigningKey};

    fn setup(capacity: u64) -> (Verifier, Issuer) {
        setup_with(Arc::new(ManualClock::starting_now()), capacity)
    }

    fn setup_with(clock: Arc<ManualClock>, capacity: u64) -> (Verifier, Issuer) {
        let clock: SharedClock = clock;
        let key = SigningKey::generate(Algorithm::ES256).unwrap();
        let keys = KeySet::with_signing_key(clock.clone(), "k1", key).unwrap();
        let revocations = Arc::new(MemoryRevocationStore::new(clock.clone()));
        let issuer = Issuer::builder(keys.clone(), clock.clone())
            .issuer("https://issuer.test")
            .build(
                Arc::new(MemoryRefreshTokenStore::new(clock.clone())),
                revocations.clone(),
            )
            .unwrap();
        let verifier = Verifier::builder(keys, clock)
            .issuer("https://issuer.test")
            .revocation_store(revocations)
            .verified_cache(capacity)
            .build()
            .unwrap();
        (verifier, issuer)
    }

    fn remembered(verifier: &Verifier) -> usize {
        let now = verifier.inner.clock.now();
        verifier.inner.verified.as_ref().unwrap().len(now)
    }

    #[tokio::test]
    async fn only_tokens_that_passed_every_check_are_remembered() {
        let (verifier, issuer) = setup(100);
        let token = issuer.access_token("alice", &json!({})).unwrap().token;
        verifier.authenticate(&token).await.unwrap();
        verifier.authenticate(&token).await.unwrap();
        assert_eq!(remembered(&verifier), 1);

        let (input, _) = token.rsplit_once('.').unwrap();
        let unsigned = format!("{input}.AAAA");
        assert!(verifier.authenticate(&unsigned).await.is_err());
        let revoked = issuer.access_token("alice", &json!({})).unwrap().token;
        issuer.revoke(&revoked).await.unwrap();
        assert!(verifier.authenticate(&revoked).await.is_err());
        assert_eq!(remembered(&verifier), 1);

        let other = issuer.access_token("bob", &json!({})).unwrap().token;
        verifier.authenticate(&other).await.unwrap();
        assert_eq!(remembered(&verifier), 2);
    }

    #[tokio::test]
    async fn a_token_is_remembered_for_five_minutes_of_the_clock() {
        let clock = Arc::new(ManualClock::starting_now());
        let (verifier, issuer) = setup_with(clock.clone(), 100);
        let token = issuer.access_token("alice", &json!({})).unwrap().token;
        verifier.authenticate(&token).await.unwrap();
        clock.advance(crate::verified_cache::TIME_TO_LIVE - Duration::from_secs(1));
        assert_eq!(remembered(&verifier), 1);
        clock.advance(Duration::from_secs(1));
        assert_eq!(remembered(&verifier), 0);
        verifier.authenticate(&token).await.unwrap();
        assert_eq!(remembered(&verifier), 1);
    }

    #[tokio::test]
    async fn scopes_come_from_scope_or_scp() {
        let (verifier, issuer) = setup(0);
        let scopes = |claims: Value| {
            let token = issuer.access_token("alice", &claims).unwrap().token;
            let verifier = verifier.clone();
            async move {
                verifier
                    .authenticate(&token)
                    .await
                    .map(|who| who.scopes.clone())
            }
        };
        let read_write = vec!["read".to_owned(), "write".to_owned()];
        assert_eq!(
            scopes(json!({ "scope": " read  write" })).await.unwrap(),
            read_write
        );
        assert_eq!(
            scopes(json!({ "scp": "read write" })).await.unwrap(),
            read_write
        );
        assert_eq!(
            scopes(json!({ "scp": ["read", "write"] })).await.unwrap(),
            read_write
        );
        assert_eq!(
            scopes(json!({ "scope": "read", "scp": ["admin"] }))
                .await
                .unwrap(),
            vec!["read".to_owned()]
        );
        assert!(matches!(
            scopes(json!({ "scope": 5 })).await,
            Err(AuthError::Malformed(Reason::ScopeNotString))
        ));
        assert!(matches!(
            scopes(json!({ "scp": [5] })).await,
            Err(AuthError::Malformed(_))
        ));
    }

    #[test]
    fn a_capacity_of_zero_turns_the_cache_off() {
        let (verifier, _) = setup(0);
        assert!(verifier.inner.verified.is_none());
    }
}
