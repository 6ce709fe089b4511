//! `authctl keys`: list and edit a key file (a JWK Set of private JWKs whose order is the
//! role: the first signs, every key verifies). auth-jwt's `SigningKeys` reads the file,
//! applies the edit under its rules and writes it back atomically; this module picks the
//! new key and keeps concurrent edits from undoing one another: on Unix an edit holds an
//! exclusive lock on the file's directory from its read to its rename, and everywhere it
//! writes nothing if the file changed since it was read (an editor that takes no lock).
//! Each edit first removes the temporary files that killed edits left beside the file.

use std::path::{Path, PathBuf};

use auth_jwt::{KeyInfo, KeyRole, SigningKey, SigningKeys, algorithm};
use serde::Serialize;

use crate::commands::keygen;
use crate::error::CliError;
use crate::{input, keyfile};

/// After `add --create` made a new file.
pub(crate) const AFTER_CREATE: &str = "a new key file: its one key signs";
/// The next step of a staged rotation, after `add`.
pub(crate) const AFTER_ADD: &str = "reload every node; once verifiers have refetched the JWK Set, \
    `authctl keys promote` the new key (a key added second verifies but does not sign)";
/// The next step, after `promote`.
pub(crate) const AFTER_PROMOTE: &str = "reload every node; once the old key's last tokens have \
    expired, `authctl keys retire` it";
/// The next step after `promote` made an HMAC secret the signing key, whose tokens no
/// verifier that relies on the published JWK Set can check.
pub(crate) const AFTER_PROMOTE_SECRET: &str = "the signing key is now an HMAC secret: its \
    tokens verify only where the secret is held, never through the published JWK Set \
    (services that fetch it will refuse them); reload every node";
/// After `retire`.
pub(crate) const AFTER_RETIRE: &str =
    "reload every node: the retired key's tokens fail from then on";

/// One line of a listing.
#[derive(Debug, Serialize)]
pub(crate) struct Listed {
    kid: String,
    alg: &'static str,
    /// `signing` (the first key) or `verifying`.
    role: &'static str,
    /// Whether the key's public part is published (never for HMAC secrets).
    published: bool,
}

fn listing(keys: &SigningKeys) -> Vec<Listed> {
    keys.list().into_iter().map(listed).collect()
}

fn listed(info: KeyInfo) -> Listed {
    Listed {
        alg: algorithm::name(info.algorithm),
        role: match info.role {
            KeyRole::Signing => "signing",
            _ => "verifying",
        },
        published: info.published,
        kid: info.kid,
    }
}

/// Runs `keys list`.
pub(crate) fn list(file: &Path) -> Result<Vec<Listed>, CliError> {
    let keys = SigningKeys::read(file).map_err(CliError::keys(file))?;
    Ok(listing(&keys))
}

/// What `keys add` adds.
pub(crate) struct AddOptions {
    /// The key file.
    pub(crate) file: PathBuf,
    /// The algorithm of a generated key, or of a `--from` key that names none.
    pub(crate) alg: Option<String>,
    /// A private JWK or PEM private key to add instead of a generated one.
    pub(crate) from: Option<PathBuf>,
    /// The new key's `kid`.
    pub(crate) kid: Option<String>,
    /// Add last instead of second.
    pub(crate) last: bool,
    /// Start a new file, which must not exist yet.
    pub(crate) create: bool,
}

/// Runs `keys add`: the listing, and the next step of a rotation.
pub(crate) fn add(options: AddOptions) -> Result<(Vec<Listed>, &'static str), CliError> {
    let (kid, key) = new_key(&options)?;
    let file = &options.file;
    let _edit = start_edit(file)?;
    let before = snapshot(file)?;
    let (keys, note) = match (&before, options.create) {
        (Some(bytes), false) => {
            let mut keys = read(file, bytes)?;
            let at = if options.last { usize::MAX } else { 1 };
            keys.insert(at, kid, key).map_err(CliError::keys(file))?;
            write(file, &before, &keys)?;
            (keys, AFTER_ADD)
        }
        // A new file only: one that exists may belong to someone else, who would then own
        // the new private key (an edit keeps a file's owner).
        (Some(_), true) => {
            return Err(CliError::key_file(
                file.display().to_string(),
                "exists already: --create starts a new key file (add to this one without --create)",
            ));
        }
        (None, true) => {
            let keys = SigningKeys::new(kid, key).map_err(CliError::keys(file))?;
            keys.write_new(file).map_err(CliError::keys(file))?;
            (keys, AFTER_CREATE)
        }
        (None, false) => {
            return Err(CliError::key_file(
                file.display().to_string(),
                "no such file (use --create to start a key file)",
            ));
        }
    };
    Ok((listing(&keys), note))
}

/// The key to add and its `kid`.
fn new_key(options: &AddOptions) -> Result<(String, SigningKey), CliError> {
    let (key, kid) = match &options.from {
        Some(path) => {
            let alg = options.alg.as_deref().map(keyfile::parse_alg).transpose()?;
            let signer = keyfile::signer(keyfile::load(path)?, alg)?;
            (signer.key, options.kid.clone().or(signer.kid))
        }
        None => {
            // clap requires --alg without --from.
            let alg = options.alg.as_deref().unwrap_or_default();
            (keygen::new_key(alg, None)?, options.kid.clone())
        }
    };
    let kid = keygen::kid_for(&key, kid)?
        .ok_or_else(|| CliError::Invalid("the new key needs a --kid".to_owned()))?;
    Ok((kid, key))
}

/// Runs `keys promote`: the listing, and the next step of a rotation.
pub(crate) fn promote(file: &Path, kid: &str) -> Result<(Vec<Listed>, &'static str), CliError> {
    let listing = edit(file, |keys| keys.promote(kid))?;
    let published = listing.first().is_some_and(|signing| signing.published);
    let note = if published {
        AFTER_PROMOTE
    } else {
        AFTER_PROMOTE_SECRET
    };
    Ok((listing, note))
}

/// Runs `keys retire`.
pub(crate) fn retire(file: &Path, kid: &str) -> Result<Vec<Listed>, CliError> {
    edit(file, |keys| keys.retire(kid).map(drop))
}

fn edit(
    file: &Path,
    change: impl FnOnce(&mut SigningKeys) -> Result<(), auth_jwt::KeyFileError>,
) -> Result<Vec<Listed>, CliError> {
    let _edit = start_edit(file)?;
    let before = snapshot(file)?;
    let Some(bytes) = &before else {
        return Err(CliError::key_file(
            file.display().to_string(),
            "no such file",
        ));
    };
    let mut keys = read(file, bytes)?;
    change(&mut keys).map_err(CliError::keys(file))?;
    write(file, &before, &keys)?;
    Ok(listing(&keys))
}

/// The file's bytes as they are now (`None`: no file), to detect a concurrent edit.
fn snapshot(file: &Path) -> Result<Option<Vec<u8>>, CliError> {
    let what = file.display().to_string();
    match std::fs::File::open(file) {
        Ok(opened) => input::read_limited(opened, &what, input::MAX_FILE_LEN).map(Some),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(CliError::Read { what, source }),
    }
}

/// The keys of the key file whose bytes are `bytes`. A PEM file holds one key and no
/// order: it is not edited in place.
fn read(file: &Path, bytes: &[u8]) -> Result<SigningKeys, CliError> {
    if bytes.trim_ascii_start().starts_with(b"-----") {
        return Err(CliError::key_file(
            file.display().to_string(),
            "a PEM key, not a key file: start one with `authctl keys add NEW-FILE --create --from KEY.pem`",
        ));
    }
    // The snapshot's bytes, not a second read: the edit applies to what `write` compares.
    let text = std::str::from_utf8(bytes).map_err(|_| {
        CliError::key_file(
            file.display().to_string(),
            "not a JWK Set document (not UTF-8)",
        )
    })?;
    SigningKeys::parse(text).map_err(CliError::keys(file))
}

/// Writes `keys` over `file` unless the file changed since `before` was read.
fn write(file: &Path, before: &Option<Vec<u8>>, keys: &SigningKeys) -> Result<(), CliError> {
    if &snapshot(file)? != before {
        return Err(CliError::key_file(
            file.display().to_string(),
            "the file changed during the edit: nothing written, run the command again",
        ));
    }
    keys.write(file).map_err(CliError::keys(file))
}

/// Takes the edit lock of `file`, then removes the temporary files (private keys) that
/// edits killed before their rename left beside it, which nothing else would ever remove.
/// No other edit can be under way then; where there is no lock (not Unix), an edit whose
/// temporary file this removes fails with nothing written.
fn start_edit(file: &Path) -> Result<EditLock, CliError> {
    let lock = EditLock::take(file)?;
    SigningKeys::remove_stale_temp_files(file).map_err(CliError::keys(file))?;
    Ok(lock)
}

/// How long an edit waits for another one to finish before giving up.
#[cfg(unix)]
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// An exclusive lock on the directory of a key file, held for a whole edit and released on
/// drop (or when the process ends), so that two `authctl keys` edits of one file run one
/// after the other. The comparison in [`write()`] alone would leave the time between the
/// check and the rename, long enough (the new file is flushed to disk in between) for two
/// edits to pass it and the later rename to undo the earlier edit, a retired key included.
/// The directory is locked, not the file, because the edit replaces the file; no lock file
/// is left behind.
struct EditLock {
    #[cfg(unix)]
    _directory: std::fs::File,
}

impl EditLock {
    fn take(file: &Path) -> Result<Self, CliError> {
        #[cfg(unix)]
        {
            use std::fs::TryLockError;
            use std::time::{Duration, Instant};

            let directory = directory_of(file);
            let failed = |source| CliError::Read {
                what: directory.display().to_string(),
                source,
            };
            let handle = std::fs::File::open(&directory).map_err(failed)?;
            let deadline = Instant::now() + LOCK_WAIT;
            loop {
                match handle.try_lock() {
                    Ok(()) => return Ok(Self { _directory: handle }),
                    Err(TryLockError::WouldBlock) if Instant::now() < deadline => {
                        std::thread::sleep(Duration::from_millis(20));
                    }
                    Err(TryLockError::WouldBlock) => {
                        return Err(CliError::key_file(
                            file.display().to_string(),
                            format!(
                                "another edit of a key file in {} has held its lock for {} s: nothing written",
                                directory.display(),
                                LOCK_WAIT.as_secs()
                            ),
                        ));
                    }
                    Err(TryLockError::Error(source)) => return Err(failed(source)),
                }
            }
        }
        #[cfg(not(unix))]
        {
            let _ = file;
            Ok(Self {})
        }
    }
}

/// The directory that holds the file `SigningKeys::write` replaces: the real file's, when
/// `file` is a symbolic link, so that every path to one file takes the same lock.
#[cfg(unix)]
fn directory_of(file: &Path) -> PathBuf {
    let real = std::fs::canonicalize(file).unwrap_or_else(|_| file.to_owned());
    match real.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
        _ => PathBuf::from("."),
    }
}
