//! Key files: a JWK Set of private JWKs (as `authctl keygen` prints them) whose order is
//! the keys' role. The first key signs; every key verifies; the public part of every
//! asymmetric key is published (HMAC secrets never are).
//!
//! [`SigningKeys`] is such a file parsed: read, edited (add, promote, retire) and written
//! back atomically here, loaded into a [`KeySet`](crate::KeySet) with
//! [`KeySet::from_signing_keys`](crate::KeySet::from_signing_keys) and swapped into a
//! running one, whole, with [`KeySet::reload`](crate::KeySet::reload).

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::io::{self, Read as _, Write as _};
use std::path::{Path, PathBuf};

use auth_core::constant_time_eq;
use jsonwebtoken::Algorithm;
use ring::rand::{SecureRandom as _, SystemRandom};

use crate::error::{KeyError, shown};
use crate::jwk::{Jwk, JwkSet};
use crate::key::{PrivateParts, SigningKey};
use crate::key_set::{KeyInfo, KeyRole, check_kid};
use crate::pem::Pem;

/// The largest key file read, in bytes.
pub const MAX_KEY_FILE_LEN: usize = 1024 * 1024;

/// Why a key file could not be read, used, edited or written.
///
/// Messages and `Debug` name keys by `kid` and position, never by their material.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyFileError {
    /// The file could not be read.
    #[error("cannot read the key file {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O failure.
        #[source]
        source: io::Error,
    },
    /// The file is larger than [`MAX_KEY_FILE_LEN`].
    #[error("the key file {} is over the limit of {limit} bytes", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The limit.
        limit: usize,
    },
    /// The set's text is over [`MAX_KEY_FILE_LEN`], which every reader refuses: nothing
    /// was written.
    #[error(
        "the key file {} would be {len} bytes, over the limit of {limit} bytes that readers accept: nothing was written",
        path.display()
    )]
    TooLargeToWrite {
        /// The file.
        path: PathBuf,
        /// The length of the text.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// [`SigningKeys::write_new`] or [`Jwk::write_new`] found something at the path
    /// already (a file, a directory, a symbolic link): nothing was written.
    #[error("{} exists already: nothing was written", path.display())]
    Exists {
        /// The path.
        path: PathBuf,
    },
    /// The file could not be written (nothing was replaced).
    #[error("cannot write the key file {}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O failure.
        #[source]
        source: io::Error,
    },
    /// The new file replaced the old one, but its directory could not be flushed to disk:
    /// a crash before the system writes it back may bring the old file back (a retired key
    /// with it). Flush the file system (`sync`) before relying on the edit.
    #[error("the key file {} was replaced but not flushed to disk", path.display())]
    Unflushed {
        /// The file.
        path: PathBuf,
        /// The I/O failure.
        #[source]
        source: io::Error,
    },
    /// The document is not a JWK Set (bad JSON, a member of the wrong type, a duplicated
    /// member). The position is where the parser stopped; the parser's own message is
    /// left out, since it may quote the document.
    #[error("not a JWK Set document (line {line}, column {column})")]
    Document {
        /// The line (1-based; 0 when unknown).
        line: usize,
        /// The column (1-based; 0 when unknown).
        column: usize,
    },
    /// The set holds no key: nothing could sign.
    #[error("the key set holds no key")]
    Empty,
    /// A key was refused by this crate's key rules.
    #[error("key {} is refused", describe(*index, kid.as_deref()))]
    Key {
        /// Its position in the set (0 signs).
        index: usize,
        /// Its `kid`, if it had one.
        kid: Option<String>,
        /// Why.
        #[source]
        source: KeyError,
    },
    /// A key has no private members: a key file holds private keys only (publish their
    /// public parts with [`KeySet::jwks`](crate::KeySet::jwks)).
    #[error("key {} is a public key: a key file holds private keys", describe(*index, kid.as_deref()))]
    PublicKey {
        /// Its position in the set.
        index: usize,
        /// Its `kid`, if it had one.
        kid: Option<String>,
    },
    /// An HMAC secret without a `kid` (an asymmetric key without one is named by its
    /// RFC 7638 thumbprint, but a secret's thumbprint is a hash of the secret).
    #[error("key {index} is an HMAC secret without a kid: give it one")]
    MissingKid {
        /// Its position in the set.
        index: usize,
    },
    /// Two keys share a `kid`.
    #[error("two keys share the kid {}", shown(.0))]
    DuplicateKid(String),
    /// One key under two `kid`s (the same public key, whatever algorithm each is bound
    /// to, or the same HMAC secret): retiring one `kid` would leave the key signing or
    /// verifying under the other.
    #[error("key {} is already in the set as {}", shown(kid), shown(existing))]
    DuplicateKey {
        /// The `kid` the key was refused under.
        kid: String,
        /// The `kid` it already has in the set.
        existing: String,
    },
    /// An RSA key serves six algorithms: the caller must choose one.
    #[error("an RSA key serves RS256, RS384, RS512, PS256, PS384 and PS512: choose its algorithm")]
    AlgorithmNeeded,
    /// No key of the set has this `kid`.
    #[error("no key has the kid {}", shown(.0))]
    UnknownKid(String),
    /// The signing (first) key cannot be retired: promote another key first.
    #[error("{} is the signing key: promote another key before retiring it", shown(.0))]
    RetireSigning(String),
    /// The last key cannot be retired: a key set always holds a key that signs.
    #[error("{} is the only key: add and promote another before retiring it", shown(.0))]
    RetireLast(String),
}

fn describe(index: usize, kid: Option<&str>) -> String {
    match kid {
        Some(kid) => format!("{index} ({})", shown(kid)),
        None => index.to_string(),
    }
}

/// The keys of a key file, in order: the first signs, every key verifies.
///
/// Always holds at least one key, every `kid` unique and valid ([`check_kid`]), every key
/// once (so retiring a `kid` retires its key). `Debug` prints `kid`s and algorithms only.
///
/// A staged rotation without downtime, each step followed by a reload of every node
/// ([`KeySet::reload`](crate::KeySet::reload)):
///
/// 1. add the new key second ([`SigningKeys::insert`] at 1): every node verifies and
///    publishes it, the old key still signs;
/// 2. once verifiers have refetched the published JWK Set (their cache's maximum age),
///    [`SigningKeys::promote`] it: it signs, the old key still verifies;
/// 3. once the old key's last tokens have expired, [`SigningKeys::retire`] the old key.
///
/// ```
/// use auth_jwt::{Algorithm, SigningKey, SigningKeys};
///
/// let mut keys = SigningKeys::new("2026-01", SigningKey::generate(Algorithm::ES256)?)?;
/// keys.insert(1, "2026-02", SigningKey::generate(Algorithm::ES256)?)?;
/// assert_eq!(keys.signing_kid(), "2026-01");
/// keys.promote("2026-02")?;
/// assert_eq!(keys.signing_kid(), "2026-02");
/// keys.retire("2026-01")?;
/// assert_eq!(keys.kids().collect::<Vec<_>>(), ["2026-02"]);
/// // The file's contents, and back.
/// let again = SigningKeys::parse(&keys.to_json())?;
/// assert_eq!(again.signing_kid(), "2026-02");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct SigningKeys {
    keys: Vec<Named>,
}

#[derive(Clone)]
struct Named {
    kid: String,
    key: SigningKey,
    /// The key's RFC 7638 thumbprint (`None` for an HMAC secret), computed once: a key
    /// added to a set is compared with every key of it.
    thumbprint: Option<String>,
}

impl Named {
    fn new(kid: String, key: SigningKey) -> Self {
        let thumbprint = thumbprint_kid(&key);
        Self {
            kid,
            key,
            thumbprint,
        }
    }

    /// Whether `other` is the same key: the same thumbprint for asymmetric keys (so one
    /// RSA key bound to RS256 and to PS256 is one key), the same secret, compared in
    /// constant time, for HMAC keys (whatever hash each is bound to).
    fn same_key(&self, other: &Named) -> bool {
        match (self.key.private_parts(), other.key.private_parts()) {
            (PrivateParts::Hmac { k: a }, PrivateParts::Hmac { k: b }) => constant_time_eq(a, b),
            _ => self.thumbprint.is_some() && self.thumbprint == other.thumbprint,
        }
    }
}

impl fmt::Debug for SigningKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(
                self.keys
                    .iter()
                    .map(|named| (named.kid.as_str(), named.key.algorithm())),
            )
            .finish()
    }
}

/// The `kid` an asymmetric key gets when its JWK or PEM names none: its RFC 7638
/// thumbprint. `None` for an HMAC secret.
fn thumbprint_kid(key: &SigningKey) -> Option<String> {
    key.verifying_key().to_jwk(None).ok()?.thumbprint().ok()
}

/// Refuses `named` when `keys` hold its `kid` or its key already.
fn check_new(keys: &[Named], named: &Named) -> Result<(), KeyFileError> {
    if keys.iter().any(|other| other.kid == named.kid) {
        return Err(KeyFileError::DuplicateKid(named.kid.clone()));
    }
    match keys.iter().find(|other| other.same_key(named)) {
        Some(other) => Err(KeyFileError::DuplicateKey {
            kid: named.kid.clone(),
            existing: other.kid.clone(),
        }),
        None => Ok(()),
    }
}

impl SigningKeys {
    /// A set of one key, which signs.
    pub fn new(kid: impl Into<String>, key: SigningKey) -> Result<Self, KeyFileError> {
        let kid = kid.into();
        check_kid(&kid).map_err(|source| KeyFileError::Key {
            index: 0,
            kid: Some(kid.clone()),
            source,
        })?;
        Ok(Self {
            keys: vec![Named::new(kid, key)],
        })
    }

    /// Parses a JWK Set document of private JWKs (see [`SigningKeys::from_jwk_set`]).
    pub fn parse(document: &str) -> Result<Self, KeyFileError> {
        Self::from_jwk_set(&parse_set(document.as_bytes())?)
    }

    /// The keys of a JWK Set of private JWKs, in the set's order.
    ///
    /// The whole set is refused when any key is: no keys, a public key, a key this crate
    /// refuses (weak, unsupported, `use` other than `sig`, `key_ops` without `sign`), an
    /// invalid or duplicated `kid`, a key the set holds already (under another `kid` or
    /// algorithm), or an HMAC secret without a `kid`. An asymmetric key without a `kid`
    /// is named by its RFC 7638 thumbprint. HMAC secrets may be anywhere in the set: they
    /// sign and verify, and are never published.
    pub fn from_jwk_set(set: &JwkSet) -> Result<Self, KeyFileError> {
        let mut keys: Vec<Named> = Vec::with_capacity(set.keys.len());
        for (index, jwk) in set.keys.iter().enumerate() {
            let named = Self::from_jwk(index, jwk)?;
            check_new(&keys, &named)?;
            keys.push(named);
        }
        if keys.is_empty() {
            return Err(KeyFileError::Empty);
        }
        Ok(Self { keys })
    }

    fn from_jwk(index: usize, jwk: &Jwk) -> Result<Named, KeyFileError> {
        let refused = |source| KeyFileError::Key {
            index,
            kid: jwk.kid.clone(),
            source,
        };
        if !jwk.has_private_members() {
            return Err(KeyFileError::PublicKey {
                index,
                kid: jwk.kid.clone(),
            });
        }
        let key = jwk.to_signing_key().map_err(refused)?;
        let kid = match &jwk.kid {
            Some(kid) => kid.clone(),
            None => thumbprint_kid(&key).ok_or(KeyFileError::MissingKid { index })?,
        };
        check_kid(&kid).map_err(refused)?;
        Ok(Named::new(kid, key))
    }

    /// A set of one key from a PEM private key (PKCS#8, or PKCS#1 for RSA). The algorithm
    /// is `alg`, or the one an EC or Ed25519 key's curve decides (an RSA key needs `alg`:
    /// [`KeyFileError::AlgorithmNeeded`]); the `kid` is `kid`, or the key's RFC 7638
    /// thumbprint.
    pub fn from_pem(
        pem: &str,
        alg: Option<Algorithm>,
        kid: Option<&str>,
    ) -> Result<Self, KeyFileError> {
        let refused = |source| KeyFileError::Key {
            index: 0,
            kid: kid.map(str::to_owned),
            source,
        };
        let alg = match alg {
            Some(alg) => alg,
            None => {
                let block = Pem::parse(pem).map_err(refused)?;
                if !block.is_private_key() {
                    return Err(KeyFileError::PublicKey {
                        index: 0,
                        kid: kid.map(str::to_owned),
                    });
                }
                block
                    .key_kind()
                    .map_err(refused)?
                    .algorithm()
                    .ok_or(KeyFileError::AlgorithmNeeded)?
            }
        };
        let key = SigningKey::from_pem(alg, pem).map_err(refused)?;
        let kid = match kid {
            Some(kid) => kid.to_owned(),
            None => thumbprint_kid(&key).ok_or(KeyFileError::MissingKid { index: 0 })?,
        };
        Self::new(kid, key)
    }

    /// Reads a key file of at most [`MAX_KEY_FILE_LEN`] bytes: a JWK Set of private JWKs
    /// ([`SigningKeys::parse`]), or a single PEM private key of an EC or Ed25519 key
    /// ([`SigningKeys::from_pem`] with the curve's algorithm and the thumbprint as `kid`).
    pub fn read(path: impl AsRef<Path>) -> Result<Self, KeyFileError> {
        let path = path.as_ref();
        let bytes = read_limited(path)?;
        if bytes.trim_ascii_start().starts_with(b"-----") {
            let text = std::str::from_utf8(&bytes).map_err(|_| KeyFileError::Key {
                index: 0,
                kid: None,
                source: KeyError::Malformed("not a PEM document"),
            })?;
            return Self::from_pem(text, None, None);
        }
        Self::from_jwk_set(&parse_set(&bytes)?)
    }

    /// Writes the set to `path` as [`SigningKeys::to_json`], atomically: into a new file
    /// in the same directory, flushed to disk, then renamed over `path`, and the directory
    /// flushed. A reader sees the old file or the new one, never a part; on a
    /// [`KeyFileError::Write`] `path` is left as it was. A symbolic link at `path` is
    /// followed, so the file it names is replaced (a link to a missing file is refused).
    ///
    /// A set whose text is over [`MAX_KEY_FILE_LEN`] is refused with nothing written
    /// ([`KeyFileError::TooLargeToWrite`]): no reader would load the file.
    ///
    /// On Unix a new file gets mode `0600`; a replaced file keeps its owner and group, and
    /// its group's read permission if it had it (never more: `0640` at most), so that a
    /// service reading the file through its group still can after an edit by root.
    pub fn write(&self, path: impl AsRef<Path>) -> Result<(), KeyFileError> {
        let path = path.as_ref();
        let text = self.text_for(path)?;
        let failed = |source| KeyFileError::Write {
            path: path.to_owned(),
            source,
        };
        let target = match std::fs::canonicalize(path) {
            Ok(real) => real,
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                if std::fs::symlink_metadata(path).is_ok_and(|meta| meta.is_symlink()) {
                    return Err(failed(io::Error::new(
                        io::ErrorKind::NotFound,
                        "a symbolic link to a missing file",
                    )));
                }
                path.to_owned()
            }
            Err(error) => return Err(failed(error)),
        };
        match write_atomic(&target, text.as_bytes()) {
            Ok(()) => Ok(()),
            Err(Failure::Before(source)) => Err(failed(source)),
            Err(Failure::Unflushed(source)) => Err(KeyFileError::Unflushed {
                path: path.to_owned(),
                source,
            }),
        }
    }

    /// Writes the set to a new file at `path`, which must not exist, not even as a
    /// symbolic link ([`KeyFileError::Exists`], nothing written): the file is created
    /// exclusively (`O_CREAT|O_EXCL`, which no link planted at `path` survives), written
    /// and flushed. On Unix it gets mode `0600` and belongs to whoever runs this. A write
    /// that fails removes the file it created; one killed midway leaves it short, and
    /// every reader refuses it.
    ///
    /// This is how to start a key file in a directory others can write to: `write` keeps
    /// the owner of a file it replaces, so a file someone else created there first would
    /// stay theirs, with the new private key in it.
    pub fn write_new(&self, path: impl AsRef<Path>) -> Result<(), KeyFileError> {
        let path = path.as_ref();
        let text = self.text_for(path)?;
        write_new_file(path, text.as_bytes())
    }

    /// Removes what writes of the key file `path` left behind when they were killed
    /// before their rename: the temporary files, holding private keys, that
    /// [`SigningKeys::write`] and [`SigningKeys::write_new`] name `.NAME.<16 hex
    /// digits>.tmp` beside the file (beside the file a symbolic link `path` names). Only
    /// regular files named exactly so are removed; one that cannot be removed is left.
    /// Returns how many were removed.
    ///
    /// Call it only where no other write of this file can be under way (authctl runs it
    /// under the lock its edits hold): a write whose temporary file is removed fails,
    /// with nothing replaced.
    pub fn remove_stale_temp_files(path: impl AsRef<Path>) -> Result<usize, KeyFileError> {
        let path = path.as_ref();
        let real = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
        let Some(name) = real.file_name() else {
            return Ok(0);
        };
        let dir = match real.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        let entries = std::fs::read_dir(dir).map_err(|source| KeyFileError::Read {
            path: dir.to_owned(),
            source,
        })?;
        let mut removed = 0;
        for entry in entries.flatten() {
            let stale = is_temp_name(name, &entry.file_name())
                && entry.file_type().is_ok_and(|kind| kind.is_file());
            if stale && std::fs::remove_file(entry.path()).is_ok() {
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// The text of the file at `path`, refused when no reader would accept it.
    fn text_for(&self, path: &Path) -> Result<String, KeyFileError> {
        let text = self.to_json();
        if text.len() > MAX_KEY_FILE_LEN {
            return Err(KeyFileError::TooLargeToWrite {
                path: path.to_owned(),
                len: text.len(),
                limit: MAX_KEY_FILE_LEN,
            });
        }
        Ok(text)
    }

    /// The private JWK Set of the keys, in order, each with its `kid`, `alg` and
    /// `use: sig`: the key file itself. Keep it as secret as the keys; publish
    /// [`KeySet::jwks`](crate::KeySet::jwks) instead.
    pub fn to_jwk_set(&self) -> JwkSet {
        JwkSet {
            keys: self
                .keys
                .iter()
                .map(|named| named.key.to_private_jwk(Some(&named.kid)))
                .collect(),
        }
    }

    /// The key file's text: [`SigningKeys::to_jwk_set`] as indented JSON with a final
    /// newline.
    pub fn to_json(&self) -> String {
        // Serializing strings and vectors cannot fail.
        let mut text = serde_json::to_string_pretty(&self.to_jwk_set())
            .unwrap_or_else(|_| String::from("{\"keys\":[]}"));
        text.push('\n');
        text
    }

    /// The `kid` of the signing (first) key.
    pub fn signing_kid(&self) -> &str {
        // Never empty: every constructor refuses an empty set and `retire` the last key.
        &self.keys[0].kid
    }

    /// The signing (first) key.
    pub fn signing_key(&self) -> &SigningKey {
        &self.keys[0].key
    }

    /// The `kid`s in order, the signing key's first.
    pub fn kids(&self) -> impl ExactSizeIterator<Item = &str> {
        self.keys.iter().map(|named| named.kid.as_str())
    }

    /// The keys in order with their `kid`s, the signing key first.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &SigningKey)> {
        self.keys
            .iter()
            .map(|named| (named.kid.as_str(), &named.key))
    }

    /// The key named `kid`.
    pub fn get(&self, kid: &str) -> Option<&SigningKey> {
        self.position(kid).map(|index| &self.keys[index].key)
    }

    /// Each key's `kid`, algorithm, role (the first [`KeyRole::Signing`], the others
    /// [`KeyRole::Verifying`]) and whether it is published, in order.
    pub fn list(&self) -> Vec<KeyInfo> {
        self.iter()
            .enumerate()
            .map(|(index, (kid, key))| {
                let role = if index == 0 {
                    KeyRole::Signing
                } else {
                    KeyRole::Verifying
                };
                KeyInfo::new(kid, &key.verifying_key(), role)
            })
            .collect()
    }

    fn position(&self, kid: &str) -> Option<usize> {
        self.keys.iter().position(|named| named.kid == kid)
    }

    /// Inserts `key` under `kid` at `index` (0: it signs from now on; 1: it verifies and
    /// is published, the staged way to add a key; past the end: last). Refused when the
    /// `kid` is invalid or taken, or when the set holds the key already, under any `kid`
    /// or algorithm ([`KeyFileError::DuplicateKey`]).
    pub fn insert(
        &mut self,
        index: usize,
        kid: impl Into<String>,
        key: SigningKey,
    ) -> Result<(), KeyFileError> {
        let kid = kid.into();
        let index = index.min(self.keys.len());
        check_kid(&kid).map_err(|source| KeyFileError::Key {
            index,
            kid: Some(kid.clone()),
            source,
        })?;
        let named = Named::new(kid, key);
        check_new(&self.keys, &named)?;
        self.keys.insert(index, named);
        Ok(())
    }

    /// Appends `key` under `kid` as the last key.
    pub fn push(&mut self, kid: impl Into<String>, key: SigningKey) -> Result<(), KeyFileError> {
        self.insert(usize::MAX, kid, key)
    }

    /// Moves the key `kid` first: it signs from the next reload on; the other keys keep
    /// their order. Promoting the signing key changes nothing.
    pub fn promote(&mut self, kid: &str) -> Result<(), KeyFileError> {
        let index = self
            .position(kid)
            .ok_or_else(|| KeyFileError::UnknownKid(kid.to_owned()))?;
        let named = self.keys.remove(index);
        self.keys.insert(0, named);
        Ok(())
    }

    /// Removes the key `kid` and returns it: its tokens fail from the next reload on.
    /// The signing key and the last key cannot be retired.
    pub fn retire(&mut self, kid: &str) -> Result<SigningKey, KeyFileError> {
        let index = self
            .position(kid)
            .ok_or_else(|| KeyFileError::UnknownKid(kid.to_owned()))?;
        if self.keys.len() == 1 {
            return Err(KeyFileError::RetireLast(kid.to_owned()));
        }
        if index == 0 {
            return Err(KeyFileError::RetireSigning(kid.to_owned()));
        }
        Ok(self.keys.remove(index).key)
    }
}

fn parse_set(bytes: &[u8]) -> Result<JwkSet, KeyFileError> {
    serde_json::from_slice(bytes).map_err(|error| KeyFileError::Document {
        line: error.line(),
        column: error.column(),
    })
}

fn read_limited(path: &Path) -> Result<Vec<u8>, KeyFileError> {
    let failed = |source| KeyFileError::Read {
        path: path.to_owned(),
        source,
    };
    let file = std::fs::File::open(path).map_err(failed)?;
    let mut bytes = Vec::new();
    let cap = u64::try_from(MAX_KEY_FILE_LEN)
        .unwrap_or(u64::MAX)
        .saturating_add(1);
    file.take(cap).read_to_end(&mut bytes).map_err(failed)?;
    if bytes.len() > MAX_KEY_FILE_LEN {
        return Err(KeyFileError::TooLarge {
            path: path.to_owned(),
            limit: MAX_KEY_FILE_LEN,
        });
    }
    Ok(bytes)
}

/// Writes `contents` to a new file at `path` as [`SigningKeys::write_new`] does.
pub(crate) fn write_new_file(path: &Path, contents: &[u8]) -> Result<(), KeyFileError> {
    let failed = |source| KeyFileError::Write {
        path: path.to_owned(),
        source,
    };
    let mut file = match private_file().open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {
            return Err(KeyFileError::Exists {
                path: path.to_owned(),
            });
        }
        Err(error) => return Err(failed(error)),
    };
    let written = (|| {
        restrict(&file, None)?;
        file.write_all(contents)?;
        file.sync_all()
    })();
    if let Err(error) = written {
        drop(file);
        // Created above, exclusively: nobody else's file.
        let _ = std::fs::remove_file(path);
        return Err(failed(error));
    }
    sync_dir(parent(path)).map_err(|source| KeyFileError::Unflushed {
        path: path.to_owned(),
        source,
    })
}

/// How [`write_atomic`] failed: before the rename (`path` untouched) or after it.
enum Failure {
    Before(io::Error),
    Unflushed(io::Error),
}

/// Writes `contents` to a fresh file beside `path`, flushes it, renames it over `path`
/// and flushes the directory. The fresh file is removed on failure.
fn write_atomic(path: &Path, contents: &[u8]) -> Result<(), Failure> {
    let dir = parent(path);
    replace(path, dir, contents).map_err(Failure::Before)?;
    sync_dir(dir).map_err(Failure::Unflushed)
}

/// The directory `path` is in (`.` for a bare name).
fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// Options that create a file only where none is, `0600` on Unix.
fn private_file() -> std::fs::OpenOptions {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    options
}

/// Gives `file` mode `0600` whatever the umask; with `replaced`, that file's owner,
/// group and group read.
fn restrict(file: &std::fs::File, replaced: Option<&std::fs::Metadata>) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
        let mut mode = 0o600;
        if let Some(old) = replaced {
            mode |= old.mode() & 0o040;
            let new = file.metadata()?;
            if (new.uid(), new.gid()) != (old.uid(), old.gid()) {
                std::os::unix::fs::fchown(file, Some(old.uid()), Some(old.gid()))?;
            }
        }
        file.set_permissions(std::fs::Permissions::from_mode(mode))?;
    }
    #[cfg(not(unix))]
    let _ = (file, replaced);
    Ok(())
}

/// The write and the rename of [`write_atomic`].
fn replace(path: &Path, dir: &Path, contents: &[u8]) -> io::Result<()> {
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file name"))?;
    let replaced = match std::fs::metadata(path) {
        Ok(meta) => Some(meta),
        Err(error) if error.kind() == io::ErrorKind::NotFound => None,
        Err(error) => return Err(error),
    };
    let mut random = [0u8; 8];
    SystemRandom::new()
        .fill(&mut random)
        .map_err(|_| io::Error::other("the system random number generator failed"))?;
    let temp = dir.join(temp_name(name, &random));
    let mut file = private_file().open(&temp)?;
    let written = (|| {
        restrict(&file, replaced.as_ref())?;
        file.write_all(contents)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&temp, path)
    })();
    if let Err(error) = written {
        let _ = std::fs::remove_file(&temp);
        return Err(error);
    }
    Ok(())
}

/// The name of the temporary file a write of the key file `name` goes through, hidden
/// beside it: `.NAME.<16 lowercase hex digits>.tmp`.
fn temp_name(name: &OsStr, random: &[u8; 8]) -> OsString {
    let suffix: String = random.iter().map(|b| format!("{b:02x}")).collect();
    let mut temp = OsString::from(".");
    temp.push(name);
    temp.push(format!(".{suffix}.tmp"));
    temp
}

/// Whether `candidate` is a name [`temp_name`] gives for the key file `name`.
fn is_temp_name(name: &OsStr, candidate: &OsStr) -> bool {
    let hex = candidate
        .as_encoded_bytes()
        .strip_prefix(b".")
        .and_then(|rest| rest.strip_prefix(name.as_encoded_bytes()))
        .and_then(|rest| rest.strip_prefix(b"."))
        .and_then(|rest| rest.strip_suffix(b".tmp"));
    hex.is_some_and(|hex| {
        hex.len() == 16 && hex.iter().all(|&b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    })
}

/// Flushes a directory's entries (the rename) to disk, where the platform can.
fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        std::fs::File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failed test.

    use super::*;

    fn es256() -> SigningKey {
        SigningKey::generate(Algorithm::ES256).unwrap()
    }

    #[test]
    fn edits_keep_the_rules() {
        let mut keys = SigningKeys::new("a", es256()).unwrap();
        assert!(matches!(
            keys.retire("a"),
            Err(KeyFileError::RetireLast(kid)) if kid == "a"
        ));
        keys.insert(1, "b", es256()).unwrap();
        keys.push("c", es256()).unwrap();
        keys.insert(0, "d", es256()).unwrap();
        assert_eq!(keys.kids().collect::<Vec<_>>(), ["d", "a", "b", "c"]);
        assert!(matches!(
            keys.insert(2, "b", es256()),
            Err(KeyFileError::DuplicateKid(kid)) if kid == "b"
        ));
        assert!(matches!(
            keys.insert(2, "", es256()),
            Err(KeyFileError::Key { .. })
        ));
        assert!(matches!(
            keys.retire("d"),
            Err(KeyFileError::RetireSigning(kid)) if kid == "d"
        ));
        assert!(matches!(
            keys.promote("x"),
            Err(KeyFileError::UnknownKid(kid)) if kid == "x"
        ));
        keys.promote("b").unwrap();
        assert_eq!(keys.kids().collect::<Vec<_>>(), ["b", "d", "a", "c"]);
        keys.promote("b").unwrap();
        assert_eq!(keys.signing_kid(), "b");
        keys.retire("a").unwrap();
        assert_eq!(keys.kids().collect::<Vec<_>>(), ["b", "d", "c"]);
        assert_eq!(
            format!("{keys:?}"),
            "[(\"b\", ES256), (\"d\", ES256), (\"c\", ES256)]"
        );
    }

    #[test]
    fn temporary_names_are_recognised_exactly() {
        let name = OsStr::new("k.json");
        for random in [
            [0u8; 8],
            [0xff; 8],
            [0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef],
        ] {
            assert!(is_temp_name(name, &temp_name(name, &random)));
        }
        assert_eq!(
            temp_name(name, &[0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef]),
            ".k.json.0123456789abcdef.tmp"
        );
        for other in [
            "k.json",
            "k.json.0123456789abcdef.tmp",
            ".k.json.0123456789ABCDEF.tmp",
            ".k.json.0123456789abcde.tmp",
            ".k.json.0123456789abcdef0.tmp",
            ".k.json.0123456789abcdef.tmp.bak",
            ".k.json.0123456789abcdeg.tmp",
            ".k.jsonx0123456789abcdef.tmp",
            ".j.json.0123456789abcdef.tmp",
            "..k.json.0123456789abcdef.tmp",
        ] {
            assert!(!is_temp_name(name, OsStr::new(other)), "{other}");
        }
    }

    #[test]
    fn documents_that_are_not_key_sets_are_refused_without_quoting_them() {
        let error = SigningKeys::parse("{\"keys\": [\"secret-material\"]}").unwrap_err();
        assert!(matches!(error, KeyFileError::Document { line: 1, .. }));
        assert!(!format!("{error} {error:?}").contains("secret"));
        assert!(matches!(
            SigningKeys::parse("{\"keys\": []}"),
            Err(KeyFileError::Empty)
        ));
        assert!(matches!(
            SigningKeys::parse("{\"keys\": [], \"keys\": []}"),
            Err(KeyFileError::Document { .. })
        ));
    }
}
