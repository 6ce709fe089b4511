//! The one error type of the CLI's modules. `main` prints it as a single line (the error
//! and its sources joined with `: `) and exits with status 1.

use auth_core::AuthError;
use auth_jwt::{ConfigError, KeyError, KeyFileError};

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
    /// A file or stdin could not be read.
    #[error("cannot read {what}")]
    Read {
        /// The file name, or `stdin`.
        what: String,
        /// The I/O failure.
        #[source]
        source: std::io::Error,
    },
    /// Input over a size limit.
    #[error("{what} is over the limit of {limit} bytes")]
    TooLarge {
        /// What was read.
        what: String,
        /// The limit.
        limit: usize,
    },
    /// A document is not the JSON it should be.
    #[error("{what} is not valid JSON")]
    Json {
        /// What was parsed.
        what: String,
        /// serde_json's reason (one line, with position).
        #[source]
        source: serde_json::Error,
    },
    /// auth-jwt refused a key.
    #[error("{what}")]
    Key {
        /// Which key (file and, for a set, the `kid`).
        what: String,
        /// auth-jwt's reason.
        #[source]
        source: KeyError,
    },
    /// auth-jwt refused a key file, or an edit of one.
    #[error("{what}")]
    Keys {
        /// The file.
        what: String,
        /// auth-jwt's reason.
        #[source]
        source: KeyFileError,
    },
    /// A key file could not be read or written (the message names it).
    #[error(transparent)]
    KeysIo(KeyFileError),
    /// A key file is unusable for another reason than auth-jwt's (wrong kind of file,
    /// an RSA PEM without `--alg`, ...).
    #[error("{what}: {reason}")]
    KeyFile {
        /// The file.
        what: String,
        /// Why.
        reason: String,
    },
    /// The verifier's settings were refused by auth-jwt.
    #[error("invalid verifier settings")]
    Config(#[source] ConfigError),
    /// The token was rejected.
    #[error("token rejected")]
    Rejected(#[source] AuthError),
    /// The token was rejected by a check the CLI adds on top of auth-jwt (`--require`),
    /// or a rejection explained with more context.
    #[error("token rejected: {0}")]
    RejectedBecause(String),
    /// A token that cannot even be decoded (for `inspect`).
    #[error("not a compact JWS: {0}")]
    NotJws(String),
    /// Claims or options that cannot make a token.
    #[error("{0}")]
    Invalid(String),
    /// An unknown algorithm name.
    #[error(
        "unknown algorithm `{0}` (supported: HS256 HS384 HS512 RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 EdDSA)"
    )]
    Algorithm(String),
    /// The system random number generator failed.
    #[error("the system random number generator failed")]
    Random,
    /// The session store failed.
    #[error("the session store failed")]
    Store(#[source] auth_core::StoreError),
    /// Revoking a user's tokens failed (no session was deleted).
    #[error("revoking the tokens failed (no session was deleted)")]
    Tokens(#[source] AuthError),
    /// The store URL or prefix is unusable, or the store cannot be reached.
    #[error("cannot use the store: {0}")]
    StoreSetup(String),
    /// stdout could not be written.
    #[error("cannot write to stdout")]
    Stdout(#[source] std::io::Error),
}

impl CliError {
    /// A [`CliError::Key`] for `what`.
    pub(crate) fn key(what: impl Into<String>) -> impl FnOnce(KeyError) -> Self {
        let what = what.into();
        move |source| Self::Key { what, source }
    }

    /// A [`CliError::Keys`] for the key file `path`.
    pub(crate) fn keys(path: &std::path::Path) -> impl FnOnce(KeyFileError) -> Self {
        let what = path.display().to_string();
        move |source| match source {
            KeyFileError::Read { .. }
            | KeyFileError::Write { .. }
            | KeyFileError::Unflushed { .. }
            | KeyFileError::TooLarge { .. }
            | KeyFileError::TooLargeToWrite { .. }
            | KeyFileError::Exists { .. } => Self::KeysIo(source),
            source => Self::Keys { what, source },
        }
    }

    /// A [`CliError::KeyFile`].
    pub(crate) fn key_file(what: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::KeyFile {
            what: what.into(),
            reason: reason.into(),
        }
    }
}
