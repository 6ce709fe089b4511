//! The four store traits every backend implements, and the records they hold.

#[cfg(feature = "tokio")]
mod completion;
#[cfg(feature = "tokio")]
mod deadline;
mod forward;
mod refresh;
mod revocation;
mod session;
mod throttle;

#[cfg(feature = "tokio")]
pub use completion::to_completion;
#[cfg(feature = "tokio")]
pub use deadline::{TimedOut, within};
pub use refresh::{RefreshRecord, RefreshTokenStore, Rotation};
pub use revocation::{RevocationStore, TokenRef};
pub use session::{SessionEntry, SessionRecord, SessionStore};
pub use throttle::{ThrottleKey, ThrottleStore, ThrottleWindow};

use crate::StoreError;

/// The largest `data` a session or refresh record may carry, in bytes (64 KiB). Every store
/// round-trips values up to this size byte for byte and refuses larger ones with
/// [`StoreError::TooLarge`].
pub const MAX_DATA_LEN: usize = 64 * 1024;

/// The longest subject (user id) a store accepts, in bytes. Subjects are UTF-8 without NUL.
pub const MAX_SUBJECT_LEN: usize = 255;

/// The longest issuer or `jti` a revocation store accepts, in bytes.
pub const MAX_TOKEN_ID_LEN: usize = 255;

/// Refuses subjects no backend can store faithfully: longer than [`MAX_SUBJECT_LEN`], or
/// containing NUL (which PostgreSQL text cannot hold and C-based clients truncate at).
/// Every store calls it on every subject it is given.
pub fn check_subject(subject: &str) -> Result<(), StoreError> {
    check_len("subject", subject.len(), MAX_SUBJECT_LEN)?;
    if subject.contains('\0') {
        return Err(StoreError::InvalidInput("subject contains NUL"));
    }
    Ok(())
}

/// Refuses an issuer or `jti` longer than [`MAX_TOKEN_ID_LEN`]; `what` names it in the
/// error.
pub fn check_token_id(what: &'static str, value: &str) -> Result<(), StoreError> {
    check_len(what, value.len(), MAX_TOKEN_ID_LEN)
}

pub(crate) fn check_len(what: &'static str, size: usize, limit: usize) -> Result<(), StoreError> {
    if size > limit {
        Err(StoreError::TooLarge { what, size, limit })
    } else {
        Ok(())
    }
}
