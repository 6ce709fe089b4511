//! JWTs for authkit: issuing, verifying, key rotation, refresh-token families and
//! revocation, with ring as the only cryptography.
//!
//! - [`SigningKey`] / [`VerifyingKey`]: generated with ring or loaded from PEM, DER or a
//!   JWK, bound to one algorithm, parsed once. HMAC secrets shorter than the hash and RSA
//!   keys under 2048 bits are refused when loaded.
//! - [`KeySet`]: keys by `kid`, one active signing key, retired keys verifying until a
//!   deadline, [`KeySet::jwks`] to publish; [`RemoteJwks`] and [`JwksSource`] for a
//!   remote issuer's JWK Set (over HTTP with the `http` feature, below).
//! - [`SigningKeys`]: a key file, a JWK Set of private JWKs whose order is the role (the
//!   first signs, every key verifies), read, edited (add, promote, retire) and written
//!   atomically; [`KeySet::reload`] swaps a running set for a new version of the file in
//!   one step, for rotation without downtime.
//! - [`Verifier`]: RFC 8725 rules that cannot be switched off, then revocation through
//!   auth-core's [`RevocationStore`](auth_core::RevocationStore), giving an auth-core
//!   [`Identity`](auth_core::Identity).
//! - [`Issuer`]: access tokens, refresh tokens stored hashed in families through
//!   [`RefreshTokenStore`](auth_core::RefreshTokenStore), rotation with reuse detection,
//!   logout and logout-everywhere.
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//! use auth_core::{AuthError, ManualClock, SharedClock};
//! use auth_core::memory::{MemoryRefreshTokenStore, MemoryRevocationStore};
//! use auth_jwt::{Algorithm, Issuer, KeySet, SigningKey, Verifier};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let clock = Arc::new(ManualClock::starting_now());
//! let shared: SharedClock = clock.clone();
//! let keys = KeySet::with_signing_key(shared.clone(), "2026-11", SigningKey::generate(Algorithm::EdDSA)?)?;
//! let revocations = Arc::new(MemoryRevocationStore::new(shared.clone()));
//! let issuer = Issuer::builder(keys.clone(), shared.clone())
//!     .issuer("https://auth.example")
//!     .build(Arc::new(MemoryRefreshTokenStore::new(shared.clone())), revocations.clone())?;
//! let verifier = Verifier::builder(keys.clone(), shared)
//!     .issuer("https://auth.example")
//!     .revocation_store(revocations)
//!     .build()?;
//!
//! // Login: an access token and a refresh token.
//! let pair = issuer.login("alice", &serde_json::json!({ "scope": "read write" })).await?;
//! let who = verifier.authenticate(&pair.access_token).await?;
//! assert_eq!(who.subject, "alice");
//! assert!(who.has_scope("write"));
//!
//! // Sixteen minutes later the access token has expired; the refresh token rotates.
//! clock.advance(Duration::from_secs(16 * 60));
//! assert!(matches!(verifier.authenticate(&pair.access_token).await, Err(AuthError::Expired)));
//! let next = issuer.refresh(pair.refresh_token.expose_secret()).await?;
//! assert_eq!(verifier.authenticate(&next.access_token).await?.subject, "alice");
//!
//! // Presenting the old refresh token again revokes the whole family.
//! assert!(matches!(issuer.refresh(pair.refresh_token.expose_secret()).await, Err(AuthError::Reused { .. })));
//! assert!(issuer.refresh(next.refresh_token.expose_secret()).await.is_err());
//!
//! // The public keys, for other services.
//! assert_eq!(keys.jwks().keys[0].kid.as_deref(), Some("2026-11"));
//! # Ok(())
//! # }
//! ```
//!
//! # Keys over HTTP (feature `http`)
//!
//! A resource server that trusts an OpenID provider finds its keys from its issuer URL
//! alone: `HttpJwksSource::discover` reads `{issuer}/.well-known/openid-configuration`
//! (whose `issuer` must equal it exactly) and fetches its `jwks_uri` over hyper, TLS by
//! rustls on ring (no aws-lc in the graph). [`RemoteJwks`] keeps the set for the
//! `Cache-Control: max-age` the provider sends (within 1 min to 1 h by default), refetches
//! it when a token names an unknown `kid` (at most once per 10 s cooldown, however many
//! made-up `kid`s arrive), makes concurrent first requests wait on one fetch, refuses
//! documents over 256 KiB or 100 keys and any HMAC secret, and when refreshes keep
//! failing trusts the set it holds for at most 24 h; a request it cannot serve fails
//! closed with [`AuthError::Unavailable`](auth_core::AuthError::Unavailable) (503).
//!
//! [`Verifier::authenticate`] (what auth-tower's layers call) and [`Verifier::verify_async`]
//! consult the remote set on every call; the sync [`Verifier::verify`] refuses every token
//! on such a verifier ([`JwksError::NeedsAsync`]) rather than judge it on keys that may be
//! stale. A verifier may trust several issuers
//! ([`VerifierBuilder::remote_issuer`]), each with its own discovery: a token's `iss`
//! chooses the keys, an unknown `iss` is refused before any fetch, and the
//! [`Identity`](auth_core::Identity)'s [`AuthMethod::Jwt`](auth_core::AuthMethod::Jwt)
//! names the issuer that vouched.
//!
//! ```no_run
//! # #[cfg(feature = "http")]
//! # async fn example(token: &str) -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use auth_core::SystemClock;
//! use auth_jwt::{Algorithm, HttpJwksSource, KeySet, RemoteJwks, Verifier};
//!
//! let clock = SystemClock::shared();
//! let discovered = |issuer: &str| -> Result<RemoteJwks, auth_jwt::JwksError> {
//!     let source = HttpJwksSource::discover(issuer)?;
//!     // Pinning the algorithms also lets keys published without `alg` serve.
//!     Ok(RemoteJwks::new(Arc::new(source), clock.clone()).with_algorithms([Algorithm::RS256]))
//! };
//! let verifier = Verifier::builder(KeySet::new(clock.clone()), clock.clone())
//!     .remote_issuer("https://login.example.com", discovered("https://login.example.com")?)
//!     .remote_issuer("https://partners.example.net", discovered("https://partners.example.net")?)
//!     .audience("https://api.example.com")
//!     .build()?;
//! let who = verifier.authenticate(token).await?;
//! # let _ = who;
//! # Ok(())
//! # }
//! # fn main() {}
//! ```
//!
//! # Where jsonwebtoken fits
//!
//! jsonwebtoken 11 is used for its [`Algorithm`] type and receives our ring-backed
//! [`provider::RING_PROVIDER`], installed by this crate, so any code in the process that
//! calls jsonwebtoken directly works and interoperates with our tokens (the tests prove
//! it both ways). Our own [`Verifier`] and [`Issuer`] do not go through
//! `jsonwebtoken::encode`/`decode`, for three reasons: its provider is process-wide and
//! installable once, so another crate could install a different one (or trigger its
//! panicking placeholder) and silently change our checks; its provider API hands over raw
//! key bytes, so every call would re-parse the key; and its decoding does not enforce
//! several rules we promise (strict compact form before decoding, a size limit, `crit`,
//! typed `nbf`, JSON objects only). So we parse the compact form, verify with the parsed
//! ring key, and read the claims in one serde pass ourselves. See [`provider`].
//!
//! # Performance notes
//!
//! - The claims set is read once: registered claims go to [`RegisteredClaims`], every other
//!   claim to the caller's type, with strings borrowed from the decoded bytes where serde
//!   allows; `iss` and `aud` are compared in place.
//! - Decoding uses stack buffers for typical sizes; keys are ring objects built once.
//! - [`Verifier::authenticate`] remembers the tokens it accepted, found by their exact
//!   text, so a client's repeated token skips the parse and the signature check (tens of microseconds
//!   for EdDSA, ES256 and RSA); time, key and revocation are checked again every time.
//!   See [`VerifierBuilder::verified_cache`].
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod algorithm;
mod b64;
mod claims;
mod compact;
mod current_claims;
mod der;
mod error;
mod header;
#[cfg(feature = "http")]
mod http;
mod inspect;
mod issuer;
mod jwk;
mod jwks;
mod jwks_error;
mod key;
mod key_file;
mod key_set;
mod pem;
pub mod provider;
mod roca;
mod rsa_consistency;
mod thumbprint;
mod verified_cache;
mod verifier;

pub use claims::{FAMILY_CLAIM, IAT_MS_CLAIM, MAX_NUMERIC_DATE, RegisteredClaims};
pub use current_claims::{CurrentClaims, SubjectStatus};
pub use error::{ConfigError, KeyError};
pub use header::TokenHeader;
#[cfg(feature = "http")]
pub use http::{DEFAULT_HTTP_TIMEOUT, HttpJwksSource};
pub use inspect::{UnverifiedJws, inspect_unverified};
pub use issuer::{
    AccessToken, ClaimsError, DEFAULT_ACCESS_TTL, DEFAULT_FAMILY_LIFETIME, DEFAULT_REFRESH_TTL,
    Issuer, IssuerBuilder, MAX_ACCESS_TTL, TokenPair, revoke_subject_tokens,
};
pub use jsonwebtoken::Algorithm;
pub use jwk::{Jwk, JwkSet};
pub use jwks::{
    DEFAULT_MAX_AGE, DEFAULT_MAX_AGE_BOUNDS, DEFAULT_MAX_STALENESS, DEFAULT_REFETCH_COOLDOWN,
    JwksDocument, JwksSource, MAX_JWKS_BYTES, MAX_JWKS_KEYS, RemoteJwks,
};
pub use jwks_error::JwksError;
pub use key::{MAX_RSA_BITS, MIN_RSA_BITS, SigningKey, VerifyingKey};
pub use key_file::{KeyFileError, MAX_KEY_FILE_LEN, SigningKeys};
pub use key_set::{KeyInfo, KeyRole, KeySet, MAX_KID_LEN, SkippedKey, check_kid};
pub use pem::{KeyKind, Pem};
pub use verifier::{
    DEFAULT_LEEWAY, DEFAULT_MAX_TOKEN_LEN, DEFAULT_VERIFIED_CACHE, MAX_LEEWAY, Verified,
    VerifiedJws, Verifier, VerifierBuilder,
};
