//! Why a remote JWK Set could not be set up, fetched or used.

use std::sync::Arc;

use auth_core::BoxError;

use crate::error::KeyError;

/// Why a remote JWK Set could not be set up, fetched or used.
///
/// A verification that needed the set and could not have it fails closed with
/// [`AuthError::Unavailable`](auth_core::AuthError::Unavailable) (503), this error in its
/// `source()` chain; the same error goes to the `jwks.fetch_failed` event. Fetch failures
/// are shared by every caller that waited on the fetch, hence the `Arc`s.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JwksError {
    /// The source could not fetch the document (connection refused, timeout, TLS).
    #[error("the JWK Set could not be fetched")]
    Fetch(#[source] BoxError),
    /// The server answered with another status than 200 OK.
    #[error("the server answered HTTP {0}")]
    Status(u16),
    /// The document is larger than [`MAX_JWKS_BYTES`](crate::MAX_JWKS_BYTES) (JWK Sets
    /// and discovery documents alike).
    #[error("the document is over the limit of {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The JWK Set holds more than [`MAX_JWKS_KEYS`](crate::MAX_JWKS_KEYS) keys.
    #[error("the JWK Set has {count} keys, over the limit of {limit}")]
    TooManyKeys {
        /// How many keys the document holds.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// The document is not a JWK Set, or one refused whole (two keys with one `kid`,
    /// public keys carrying private members).
    #[error("the JWK Set is refused")]
    Refused(#[source] KeyError),
    /// The OpenID discovery document is unusable.
    #[error("the discovery document is unusable: {0}")]
    Discovery(&'static str),
    /// The discovery document names another issuer than the one configured (compared
    /// exactly, OpenID Connect Discovery §4.3).
    #[error("the discovery document names the issuer {found}, not {expected:?}")]
    IssuerMismatch {
        /// The issuer configured.
        expected: String,
        /// The issuer the document names, quoted, escaped and cut after 64 characters (a
        /// document names what it likes, and this text reaches logs).
        found: String,
    },
    /// A key of the JWK Set carries private members: its private key is public, so anyone
    /// can sign with it. Every key of the issuer is dropped at once, and its tokens fail
    /// closed until a fetched set carries no private key; the keys shown are never
    /// trusted again (the provider must rotate them), even once the set shows only their
    /// public part.
    #[error("the JWK Set publishes {} private key(s): every key of it is dropped", thumbprints.len())]
    PrivateKeyPublished {
        /// The RFC 7638 thumbprints of the keys shown with private members.
        thumbprints: Vec<String>,
    },
    /// A URL is unusable: not `https` (plain `http` is for loopback hosts only), not
    /// absolute, or carrying credentials or a fragment.
    #[error("unusable URL: {0}")]
    Url(&'static str),
    /// The HTTP client could not be built (TLS configuration, platform certificates).
    #[error("the HTTP client could not be built")]
    Client(#[source] BoxError),
    /// No JWK Set has been fetched yet: the first fetch failed and the refetch cooldown
    /// has not passed, or it was interrupted. The last failure, if any, is the source.
    #[error("no JWK Set has been fetched yet")]
    NotFetched(#[source] Option<Arc<JwksError>>),
    /// The set held is older than the maximum staleness and could not be refreshed. The
    /// last failure, if any, is the source.
    #[error("the JWK Set held is over {max_staleness_secs} s old and could not be refreshed")]
    Stale {
        /// The maximum staleness, in seconds.
        max_staleness_secs: u64,
        /// The last failure.
        #[source]
        last_error: Option<Arc<JwksError>>,
    },
    /// The fetch ended without an outcome (its task was cancelled).
    #[error("the fetch was interrupted")]
    Interrupted,
    /// A verifier with a remote JWK Set was asked to verify synchronously. Only the async
    /// entry points ([`Verifier::verify_async`](crate::Verifier::verify_async),
    /// [`Verifier::authenticate`](crate::Verifier::authenticate)) can refresh the set, so
    /// the sync ones refuse every token rather than judge it on keys that may be stale.
    #[error("a verifier with a remote JWK Set verifies only through verify_async or authenticate")]
    NeedsAsync,
}
