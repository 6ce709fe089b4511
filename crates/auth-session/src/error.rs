//! What session operations can fail with.

use auth_core::{AuthError, RandomError, StoreError};

/// Why a session operation failed.
///
/// A malformed, unknown or expired id is *not* an error: [`load`](crate::SessionManager::load)
/// answers `Ok(None)` ("no session") for it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// The session changed, was rotated, destroyed or expired in the store since this
    /// handle was loaded, so the write was refused and nothing changed: an
    /// optimistic-concurrency loss. Reload the session, reapply the change and retry.
    #[error("the session changed or vanished since it was loaded")]
    Conflict,
    /// A value is over its size limit (`what` is `"session data"` or `"subject"`); nothing
    /// was written and the stored session is unchanged.
    #[error("{what} is {size} bytes, over the limit of {limit}")]
    TooLarge {
        /// Which value.
        what: &'static str,
        /// Its size in bytes.
        size: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// [`update`](crate::SessionManager::update) was asked to save a change that gives the
    /// subject a role it did not hold: a privilege change, which must move the session to a
    /// fresh id so that nobody who learned the old id gains the role. Nothing was written
    /// and the handle keeps its changes: save them with
    /// [`rotate`](crate::SessionManager::rotate) and send the client the new id.
    #[error("adding a role is a privilege change: save it with rotate, under a fresh id")]
    PrivilegeChange,
    /// The session reached its idle or absolute limit while this handle was held; nothing
    /// was written.
    #[error("the session has expired")]
    Expired,
    /// A value could not be converted to or from JSON (the type does not match what is
    /// stored under the key, or it does not serialize; initial data is not a JSON object).
    #[error("a session value could not be converted")]
    Value(#[source] JsonError),
    /// The stored data is not a JSON object (written by something else, or damaged).
    #[error("the stored session data is not a JSON object")]
    CorruptData(#[source] JsonError),
    /// The store failed ([`StoreError::Unavailable`] among others): fail closed.
    #[error("the session store failed")]
    Store(#[source] StoreError),
    /// The system random number generator failed while making a new id.
    #[error("could not generate a session id")]
    Random(#[source] RandomError),
}

/// Why a value did not convert to or from JSON, said without the value: serde_json's own
/// messages quote what they could not convert, and session data may hold secrets (a
/// token kept in the session would reach a log through an error chain).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JsonError {
    /// Not valid JSON, or JSON that ends early, at this position.
    #[error("not valid JSON (line {line}, column {column})")]
    Syntax {
        /// The line, from 1.
        line: usize,
        /// The column, from 1.
        column: usize,
    },
    /// Valid JSON of another type or shape than the one asked for.
    #[error("not {expected}")]
    Shape {
        /// What was asked for: a Rust type's name, or "a JSON object".
        expected: &'static str,
    },
    /// The value does not serialize to JSON (a map with keys that are not strings, or a
    /// `Serialize` implementation that fails).
    #[error("the value does not serialize to JSON")]
    Unserializable,
    /// Arrays and objects nested deeper than `limit` levels (127, the data's own object
    /// included): it would be written, but no later load could read it back.
    #[error("nested deeper than {limit} levels of arrays and objects")]
    TooDeep {
        /// The deepest nesting accepted.
        limit: usize,
    },
}

impl JsonError {
    /// A reading error, keeping where and what kind it was and nothing of the text.
    pub(crate) fn reading(error: &serde_json::Error, expected: &'static str) -> Self {
        use serde_json::error::Category;
        match error.classify() {
            Category::Syntax | Category::Eof => Self::Syntax {
                line: error.line(),
                column: error.column(),
            },
            Category::Data | Category::Io => Self::Shape { expected },
        }
    }
}

impl From<StoreError> for SessionError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Conflict => Self::Conflict,
            StoreError::TooLarge { what, size, limit } => Self::TooLarge { what, size, limit },
            other => Self::Store(other),
        }
    }
}

impl From<RandomError> for SessionError {
    fn from(error: RandomError) -> Self {
        Self::Random(error)
    }
}

/// How a failed session operation looks to the request layer: a store that cannot answer
/// stays [`AuthError::Unavailable`] (503), an expired session is [`AuthError::Expired`],
/// everything else is a server-side failure.
impl From<SessionError> for AuthError {
    fn from(error: SessionError) -> Self {
        match error {
            SessionError::Store(store) => Self::from(store),
            SessionError::Conflict => Self::Store(StoreError::Conflict),
            SessionError::TooLarge { what, size, limit } => {
                Self::Store(StoreError::TooLarge { what, size, limit })
            }
            SessionError::Expired => Self::Expired,
            SessionError::Random(random) => Self::from(random),
            other => Self::Internal(Box::new(other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_errors_keep_their_meaning() {
        assert!(matches!(
            SessionError::from(StoreError::Conflict),
            SessionError::Conflict
        ));
        assert!(matches!(
            SessionError::from(StoreError::TooLarge {
                what: "subject",
                size: 300,
                limit: 255
            }),
            SessionError::TooLarge {
                what: "subject",
                ..
            }
        ));
        let down = SessionError::from(StoreError::unavailable("refused"));
        assert!(matches!(
            AuthError::from(down),
            AuthError::Unavailable(StoreError::Unavailable(_))
        ));
        assert!(matches!(
            AuthError::from(SessionError::Expired),
            AuthError::Expired
        ));
    }
}
