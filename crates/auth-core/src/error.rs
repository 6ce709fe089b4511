//! Typed errors, one enum per concern.

use std::time::Duration;

use crate::{FamilyId, Reason};

/// A boxed error kept as the `source` of ours.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What a store operation can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The backend could not answer (connection refused, timeout, pool exhausted). Callers
    /// must fail closed: a request is never treated as authenticated on this error.
    #[error("the store is unavailable")]
    Unavailable(#[source] BoxError),
    /// The record changed or vanished since it was loaded: an optimistic-concurrency save
    /// lost the race. Reload and retry, or give up.
    #[error("the record changed or vanished since it was loaded")]
    Conflict,
    /// `create`/`insert` found a live record under the same key; nothing was written.
    #[error("a live record already exists under this key")]
    AlreadyExists,
    /// A value is over a documented size limit; nothing was written.
    #[error("{what} is {size} bytes, over the limit of {limit}")]
    TooLarge {
        /// Which value: `"session data"`, `"subject"`, ...
        what: &'static str,
        /// Its size in bytes.
        size: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// A value breaks a rule other than size (a subject containing NUL, say); nothing was
    /// written.
    #[error("invalid input: {0}")]
    InvalidInput(&'static str),
    /// The backend returned something that is not a valid record.
    #[error("the store holds a corrupt record")]
    Corrupt(#[source] BoxError),
    /// The store holds as many entries as it was sized for and refuses to drop one to make
    /// room: a bounded in-memory store answers this rather than silently forgetting a
    /// revocation or a refresh token. Nothing was written; callers fail closed.
    #[error("the store is full ({limit} entries)")]
    Full {
        /// The number of entries the store was sized for.
        limit: u64,
    },
    /// Any other backend failure.
    #[error("the store failed")]
    Backend(#[source] BoxError),
}

impl StoreError {
    /// A [`StoreError::Unavailable`] from any error.
    pub fn unavailable(source: impl Into<BoxError>) -> Self {
        Self::Unavailable(source.into())
    }

    /// A [`StoreError::Corrupt`] from any error (or message).
    pub fn corrupt(source: impl Into<BoxError>) -> Self {
        Self::Corrupt(source.into())
    }

    /// A [`StoreError::Backend`] from any error.
    pub fn backend(source: impl Into<BoxError>) -> Self {
        Self::Backend(source.into())
    }
}

/// Why a request is not authenticated.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// No credential was presented.
    #[error("no credential was presented")]
    Missing,
    /// The credential is not well formed (wrong length, alphabet, structure).
    #[error("malformed credential: {0}")]
    Malformed(Reason),
    /// The credential is well formed but not valid (bad signature, unknown id, wrong
    /// audience, ...).
    #[error("invalid credential: {0}")]
    Invalid(Reason),
    /// The credential has expired.
    #[error("the credential has expired")]
    Expired,
    /// The credential was revoked.
    #[error("the credential was revoked")]
    Revoked,
    /// An already used refresh token was presented again; its whole family is now revoked,
    /// access tokens included. Worth an alert: either the client retried a refresh it had
    /// already made, or someone else holds a copy of the token.
    #[error("a refresh token was reused; its family has been revoked")]
    Reused {
        /// Whose family it was.
        subject: String,
        /// The revoked family.
        family: FamilyId,
    },
    /// Too many failed logins for this user name or client address: refused without
    /// checking the password, until the window ends (HTTP 429 with `Retry-After`).
    #[error("too many failed logins; retry after {} s", retry_after.as_secs())]
    Throttled {
        /// How long until the window that counts the failures ends.
        retry_after: Duration,
    },
    /// A store needed for the decision could not answer: fail closed (503).
    #[error("a store needed to decide is unavailable")]
    Unavailable(#[source] StoreError),
    /// A store failed in another way (corrupt record, backend error).
    #[error("a store failed")]
    Store(#[source] StoreError),
    /// The server itself failed (random number generator, encoding).
    #[error("internal error")]
    Internal(#[source] BoxError),
}

impl From<StoreError> for AuthError {
    fn from(error: StoreError) -> Self {
        match error {
            // A full store cannot take the write now: fail closed exactly as when it is down.
            StoreError::Unavailable(_) | StoreError::Full { .. } => Self::Unavailable(error),
            other => Self::Store(other),
        }
    }
}

impl From<RandomError> for AuthError {
    fn from(error: RandomError) -> Self {
        Self::Internal(Box::new(error))
    }
}

/// The operating system's random number generator failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the system random number generator failed")]
pub struct RandomError;

/// Why an opaque secret (session id, refresh token) or digest was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MalformedSecret {
    /// Not the exact expected length.
    #[error("wrong length")]
    Length,
    /// A character outside the expected alphabet.
    #[error("character outside the alphabet")]
    Alphabet,
    /// Right length and alphabet, but not the canonical encoding of the value.
    #[error("non-canonical encoding")]
    Encoding,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn store_errors_map_to_auth_errors_keeping_the_chain() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let auth = AuthError::from(StoreError::unavailable(io));
        assert!(matches!(auth, AuthError::Unavailable(_)));
        let store = auth.source().unwrap();
        assert!(store.source().unwrap().to_string().contains("refused"));
        assert!(matches!(
            AuthError::from(StoreError::Conflict),
            AuthError::Store(StoreError::Conflict)
        ));
    }
}
