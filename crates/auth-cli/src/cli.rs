//! The command line, as clap reads it.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::duration;

/// authctl: keys, tokens and sessions for authkit.
///
/// Errors are one line on stderr with exit status 1 (2 for a usage error).
#[derive(Debug, Parser)]
#[command(name = "authctl", version, about, long_about = None)]
pub(crate) struct Cli {
    /// The command.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Generate a key as a private JWK (keep it secret): printed, or written with --out.
    ///
    /// HS256/384/512 (a random secret as long as the hash), ES256, ES384 and EdDSA are
    /// generated here. RSA keys (RS*/PS*) cannot be generated with ring: create one with
    /// `openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072 -out key.pem` and
    /// convert it with `--from key.pem`. To keep the key in a file, use --out rather than
    /// a shell redirection, which creates the file with the umask's mode (often readable
    /// by every user).
    Keygen {
        /// The algorithm the key is bound to.
        #[arg(long, value_name = "ALG")]
        alg: String,
        /// The key id (default: the RFC 7638 thumbprint; random for HMAC secrets).
        #[arg(long, value_name = "KID")]
        kid: Option<String>,
        /// Convert this PEM private key (PKCS#8, or PKCS#1 for RSA) instead of generating.
        #[arg(long, value_name = "PEM")]
        from: Option<PathBuf>,
        /// Write the private JWK to FILE instead of stdout: a new file (one that exists,
        /// even a symbolic link, is refused), mode 0600 on Unix.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Print the public JWK Set of key files (private members are never printed).
    ///
    /// Each KEYFILE is a JWK, a JWK Set or a PEM key (private or public). PEM keys get
    /// their RFC 7638 thumbprint as kid; RSA PEM keys need --alg. HMAC secrets in a JWK
    /// Set are left out (named on stderr), as a service publishing the set leaves them out.
    Jwks {
        /// The algorithm for keys that name none (RSA PEM keys, JWKs without `alg`).
        #[arg(long, value_name = "ALG")]
        alg: Option<String>,
        /// The key files.
        #[arg(required = true, value_name = "KEYFILE")]
        files: Vec<PathBuf>,
    },
    /// Sign claims into a compact JWS (iat, exp and jti are filled unless given).
    Sign {
        /// The private key: a JWK, or a PEM private key.
        #[arg(long, value_name = "KEYFILE")]
        key: PathBuf,
        /// The claims: a JSON object inline, or @FILE (@- for stdin).
        #[arg(long, value_name = "JSON|@FILE")]
        claims: String,
        /// The lifetime when the claims have no exp [default: 15m].
        #[arg(long, value_name = "DURATION", value_parser = duration::parse)]
        ttl: Option<Duration>,
        /// Sets `iss`.
        #[arg(long, value_name = "ISSUER")]
        iss: Option<String>,
        /// Sets `aud`.
        #[arg(long, value_name = "AUDIENCE")]
        aud: Option<String>,
        /// Sets `sub`.
        #[arg(long, value_name = "SUBJECT")]
        sub: Option<String>,
        /// The algorithm, for a key that names none (an RSA PEM key, a JWK without `alg`).
        #[arg(long, value_name = "ALG")]
        alg: Option<String>,
    },
    /// Verify a token with auth-jwt's verifier; print its header and claims as JSON.
    ///
    /// Exit 0 with the verified header and claims on stdout, or exit 1 with one line on
    /// stderr saying why. Same rules and defaults as auth-jwt's Verifier, except that only
    /// `exp` is required unless --require names more, and that no revocation store is
    /// asked: a revoked or logged-out token that is otherwise valid verifies.
    Verify {
        /// The keys: a JWK, a JWK Set or a PEM public key.
        #[arg(long, value_name = "FILE")]
        jwks: PathBuf,
        /// Binds keys whose JWK names no alg (or a PEM key) to this algorithm; a JWK whose
        /// own alg differs is an error.
        #[arg(long, value_name = "ALG")]
        alg: Option<String>,
        /// The required issuer.
        #[arg(long, value_name = "ISSUER")]
        iss: Option<String>,
        /// An accepted audience (repeatable; the token must name one of them).
        #[arg(long, value_name = "AUDIENCE")]
        aud: Vec<String>,
        /// The required header `typ` (e.g. JWT or at+jwt).
        #[arg(long, value_name = "TYP")]
        typ: Option<String>,
        /// A claim that must be present (repeatable).
        #[arg(long, value_name = "CLAIM")]
        require: Vec<String>,
        /// Clock-skew leeway for exp, nbf and iat [default: 30s, at most 5m].
        #[arg(long, value_name = "DURATION", value_parser = duration::parse)]
        leeway: Option<Duration>,
        /// The longest token accepted, in bytes.
        #[arg(long, value_name = "N", default_value_t = auth_jwt::DEFAULT_MAX_TOKEN_LEN)]
        max_bytes: usize,
        /// Verify as if the time were this (seconds since 1970); moves only the clock.
        #[arg(long, value_name = "UNIX_SECONDS")]
        now: Option<u64>,
        /// The token, or - to read it from stdin.
        #[arg(value_name = "TOKEN")]
        token: String,
    },
    /// Decode a token's header and claims WITHOUT verifying anything.
    Inspect {
        /// The longest token read, in bytes.
        #[arg(long, value_name = "N", default_value_t = 64 * 1024)]
        max_bytes: usize,
        /// The token, or - to read it from stdin.
        #[arg(value_name = "TOKEN")]
        token: String,
    },
    /// Edit a key file: a JWK Set of private keys whose order is their role.
    ///
    /// The first key signs; every key verifies; the public part of every key but HMAC
    /// secrets is published. Each edit is checked by auth-jwt, written atomically (a new
    /// file in the same directory, flushed, renamed over the old one; on Unix mode 0600,
    /// or a replaced file's owner and group with at most group read) and prints the new
    /// listing. Edits run one at a time: on Unix each holds a lock on the file's directory
    /// from its read to its rename, and none writes over a file changed since it read it.
    /// Each first removes the temporary files (.FILE.<16 hex digits>.tmp) that killed edits
    /// left beside the file.
    /// A rotation without downtime: `add` the new key (second), reload every node, wait
    /// until verifiers have refetched the JWK Set, `promote` it, reload, and once the old
    /// key's tokens have expired, `retire` the old key and reload.
    Keys {
        /// What to do.
        #[command(subcommand)]
        action: KeysCommand,
    },
    /// List and revoke a user's server-side sessions in a shared store.
    Sessions {
        /// What to do.
        #[command(subcommand)]
        action: SessionsCommand,
    },
}

/// The key file subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum KeysCommand {
    /// List the keys as JSON, in order: kid, alg, role (signing or verifying), published.
    List {
        /// The key file.
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
    /// Add a key, second by default: it verifies and is published, the signing key stays.
    ///
    /// The key is generated like `keygen` (--alg), or taken from a private JWK or a PEM
    /// private key (--from; an RSA PEM key needs --alg). Its kid is --kid, else the JWK's
    /// own, else the RFC 7638 thumbprint (random for an HMAC secret). A key the file holds
    /// already, under any kid or algorithm, is refused.
    Add {
        /// The key file.
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// The algorithm of a generated key (or of a --from key that names none).
        #[arg(long, value_name = "ALG", required_unless_present = "from")]
        alg: Option<String>,
        /// Add this key (a private JWK, or a PEM private key) instead of generating one.
        #[arg(long, value_name = "KEYFILE")]
        from: Option<PathBuf>,
        /// The new key's kid.
        #[arg(long, value_name = "KID")]
        kid: Option<String>,
        /// Add the key last instead of second.
        #[arg(long)]
        last: bool,
        /// Start FILE with this key (which then signs). FILE must not exist yet, not even
        /// as a symbolic link: the new file is created mode 0600 and owned by whoever runs
        /// the command.
        #[arg(long)]
        create: bool,
    },
    /// Move the key KID first: it signs from the next reload on.
    Promote {
        /// The key file.
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// The key to promote.
        #[arg(value_name = "KID")]
        kid: String,
    },
    /// Remove the key KID: its tokens fail from the next reload on. The signing key and
    /// the last key cannot be retired.
    Retire {
        /// The key file.
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// The key to remove.
        #[arg(value_name = "KID")]
        kid: String,
    },
}

/// Where the sessions are.
#[derive(Debug, Args)]
pub(crate) struct StoreArgs {
    /// The store: redis://HOST:PORT, postgres://..., mysql://... or sqlite://FILE.
    #[arg(long, value_name = "URL")]
    pub(crate) store: String,
    /// The store's key prefix (Redis) or table prefix (SQL) [default: the store's own].
    #[arg(long, value_name = "PREFIX")]
    pub(crate) key_prefix: Option<String>,
}

/// The session subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum SessionsCommand {
    /// List a user's live sessions as JSON: handle, created, last seen, expiry (never the
    /// session id: stores hold only its SHA-256, which is the handle).
    List {
        /// The store.
        #[command(flatten)]
        store: StoreArgs,
        /// Whose sessions.
        #[arg(long, value_name = "SUBJECT")]
        subject: String,
    },
    /// Revoke one session by the handle `list` printed.
    Revoke {
        /// The store.
        #[command(flatten)]
        store: StoreArgs,
        /// The session's handle (64 hex characters).
        #[arg(value_name = "HANDLE")]
        handle: String,
    },
    /// Revoke every credential of a user ("log out everywhere"): its refresh-token
    /// families and every access token issued to it so far (in the store's revocation
    /// list), then its sessions.
    RevokeAll {
        /// The store.
        #[command(flatten)]
        store: StoreArgs,
        /// Whose credentials.
        #[arg(long, value_name = "SUBJECT")]
        subject: String,
    },
}
