//! A set of keys addressed by `kid`: one active signing key, and the verifying keys that
//! tokens may name, some of them retired until a deadline.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::SystemTime;

use auth_core::{AuthError, Reason, SharedClock};
use jsonwebtoken::Algorithm;

use crate::algorithm;
use crate::b64;
use crate::error::KeyError;
use crate::jwk::{Jwk, JwkSet};
use crate::key::{SigningKey, VerifyingKey};
use crate::key_file::{KeyFileError, SigningKeys};

/// The longest `kid` accepted, in bytes.
pub const MAX_KID_LEN: usize = 255;

/// Keys addressed by `kid`, shared by an [`Issuer`](crate::Issuer) and any number of
/// [`Verifier`](crate::Verifier)s; cloning shares the same set, so a rotation is seen by
/// every holder at once.
///
/// - One key is *active*: the issuer signs with it and names it in the `kid` header.
/// - [`KeySet::rotate`] makes a new key active and keeps the previous one for
///   verification until a deadline (when its last tokens have expired), decided by the
///   set's [`Clock`](auth_core::Clock).
/// - [`KeySet::jwks`] publishes the public keys (RFC 7517); secrets never appear.
/// - From a key file: [`KeySet::from_signing_keys`] (or [`KeySet::from_key_file`]) loads
///   a JWK Set of private keys whose order is the role (the first signs, every key
///   verifies), and [`KeySet::reload`] swaps the whole set for a new version of the file
///   in one step, so a staged rotation is a sequence of file edits and reloads (see
///   [`SigningKeys`]).
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use auth_core::{Clock, ManualClock};
/// use auth_jwt::{Algorithm, KeySet, SigningKey};
///
/// let clock = Arc::new(ManualClock::starting_now());
/// let keys = KeySet::new(clock.clone());
/// keys.set_active("2026-01", SigningKey::generate(Algorithm::ES256)?)?;
/// keys.rotate("2026-02", SigningKey::generate(Algorithm::ES256)?, clock.now() + Duration::from_secs(900))?;
/// assert_eq!(keys.active_kid().as_deref(), Some("2026-02"));
/// assert_eq!(keys.jwks().keys.len(), 2);
/// clock.advance(Duration::from_secs(901));
/// assert_eq!(keys.jwks().keys.len(), 1);
/// # Ok::<(), auth_jwt::KeyError>(())
/// ```
#[derive(Clone)]
pub struct KeySet {
    shared: Arc<Shared>,
    clock: SharedClock,
}

struct Shared {
    state: RwLock<State>,
}

#[derive(Default)]
struct State {
    active: Option<Arc<Active>>,
    keys: HashMap<String, Entry>,
    /// The position the next key inserted takes: the set's order.
    next: u64,
}

impl State {
    /// The whole state a key file describes: the first key active, every key verifying.
    fn of(keys: &SigningKeys) -> Self {
        let mut state = Self::default();
        for (kid, key) in keys.iter() {
            state.insert(kid.to_owned(), key.verifying_key(), None);
        }
        let (kid, key) = (keys.signing_kid(), keys.signing_key());
        state.active = Some(Active::new(kid.to_owned(), key.clone()));
        state
    }

    /// Adds (or replaces) the key `kid`, last in the set's order.
    fn insert(&mut self, kid: String, key: VerifyingKey, retire_at: Option<SystemTime>) {
        let position = self.next;
        self.next += 1;
        let entry = Entry {
            kid: kid.as_str().into(),
            key,
            retire_at,
            position,
        };
        self.keys.insert(kid, entry);
    }

    /// The keys that verify at `now`, the active key first, then in the set's order.
    fn ordered(&self, now: SystemTime) -> Vec<(&str, &Entry)> {
        let active = self.active.as_deref().map(|a| a.kid.as_str());
        let mut entries: Vec<(&str, &Entry)> = self
            .keys
            .iter()
            .filter(|(_, e)| e.retire_at.is_none_or(|at| now < at))
            .map(|(kid, e)| (kid.as_str(), e))
            .collect();
        entries.sort_by_key(|(kid, e)| (Some(*kid) != active, e.position));
        entries
    }
}

/// The active signing key with its precomputed, base64url-encoded JWS header.
pub(crate) struct Active {
    pub(crate) kid: String,
    pub(crate) key: SigningKey,
    pub(crate) header_b64: String,
}

#[derive(Clone)]
struct Entry {
    kid: Arc<str>,
    key: VerifyingKey,
    retire_at: Option<SystemTime>,
    /// Where the key stands in the set's order.
    position: u64,
}

impl Active {
    /// The active key `key` under `kid` (already checked), its header encoded once.
    fn new(kid: String, key: SigningKey) -> Arc<Self> {
        let header = serde_json::json!({
            "alg": algorithm::name(key.algorithm()),
            "typ": "JWT",
            "kid": kid,
        });
        let header_b64 = b64::encode(header.to_string().as_bytes());
        Arc::new(Self {
            kid,
            key,
            header_b64,
        })
    }
}

/// What a key of a [`KeySet`] or [`SigningKeys`] is for, as [`KeySet::list`] and
/// [`SigningKeys::list`] report it. Never any key material.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeyInfo {
    /// The key's `kid`.
    pub kid: String,
    /// The one algorithm it signs or verifies.
    pub algorithm: Algorithm,
    /// Its role.
    pub role: KeyRole,
    /// Whether [`KeySet::jwks`] publishes it (every key but HMAC secrets).
    pub published: bool,
}

impl KeyInfo {
    pub(crate) fn new(kid: &str, key: &VerifyingKey, role: KeyRole) -> Self {
        Self {
            kid: kid.to_owned(),
            algorithm: key.algorithm(),
            role,
            published: !key.is_symmetric(),
        }
    }
}

/// The role of a key in a set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyRole {
    /// The active key: new tokens are signed with it (and it verifies).
    Signing,
    /// A key that verifies (and is published, unless it is an HMAC secret).
    Verifying,
    /// A key that verifies until `at`, then never again ([`KeySet::retire`]).
    Retiring {
        /// When it stops verifying.
        at: SystemTime,
    },
}

/// The key a `kid` found.
pub(crate) struct Resolved {
    pub(crate) key: VerifyingKey,
    /// The set's shared copy of the `kid`, when the token named one.
    pub(crate) kid: Option<Arc<str>>,
}

/// A key of a JWK Set that [`KeySet::from_jwk_set`] left out, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SkippedKey {
    /// The key's `kid`, if it had one.
    pub kid: Option<String>,
    /// Why it cannot serve.
    pub error: KeyError,
}

/// The rule every `kid` of a [`KeySet`] keeps: 1 to [`MAX_KID_LEN`] bytes, no control
/// characters.
pub fn check_kid(kid: &str) -> Result<(), KeyError> {
    if kid.is_empty() || kid.len() > MAX_KID_LEN || kid.chars().any(char::is_control) {
        Err(KeyError::Jwk(
            "a kid must be 1 to 255 bytes without control characters",
        ))
    } else {
        Ok(())
    }
}

impl std::fmt::Debug for KeySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.read();
        f.debug_struct("KeySet")
            .field("active", &state.active.as_ref().map(|a| a.kid.clone()))
            .field("kids", &state.keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl KeySet {
    /// An empty set whose retirement deadlines follow `clock`.
    pub fn new(clock: SharedClock) -> Self {
        crate::provider::install();
        Self {
            shared: Arc::new(Shared {
                state: RwLock::new(State::default()),
            }),
            clock,
        }
    }

    /// A set holding one active signing key.
    pub fn with_signing_key(
        clock: SharedClock,
        kid: impl Into<String>,
        key: SigningKey,
    ) -> Result<Self, KeyError> {
        let set = Self::new(clock);
        set.set_active(kid, key)?;
        Ok(set)
    }

    /// A verification-only set from a JWK Set document (see [`KeySet::from_jwk_set`]).
    pub fn from_jwks(document: &str, clock: SharedClock) -> Result<Self, KeyError> {
        Self::from_jwk_set(&JwkSet::parse(document)?, clock).map(|(set, _)| set)
    }

    /// A verification-only set from a JWK Set, and the keys it left out with the reason.
    ///
    /// The whole set is refused when it is ambiguous: two keys with one `kid`, HMAC
    /// secrets mixed with public keys, or public keys carrying private members. Single
    /// keys that cannot serve (unsupported `alg`, `use: enc`, too weak, wrong curve) are
    /// left out, so a token naming them fails as an unknown `kid`.
    pub fn from_jwk_set(
        set: &JwkSet,
        clock: SharedClock,
    ) -> Result<(Self, Vec<SkippedKey>), KeyError> {
        let symmetric = set.keys.iter().filter(|k| k.kty == "oct").count();
        if symmetric != 0 && symmetric != set.keys.len() {
            return Err(KeyError::Jwk(
                "a JWK Set must not mix HMAC secrets with public keys",
            ));
        }
        let mut seen = std::collections::HashSet::new();
        for jwk in &set.keys {
            if let Some(kid) = &jwk.kid
                && !seen.insert(kid.as_str())
            {
                return Err(KeyError::Jwk("two keys of the JWK Set share a kid"));
            }
            if jwk.kty != "oct" && jwk.has_private_members() {
                return Err(KeyError::Jwk("a public JWK Set carries private members"));
            }
        }
        let out = Self::new(clock);
        let mut skipped = Vec::new();
        {
            let mut state = out.write();
            let alone = set.keys.len() == 1;
            for (index, jwk) in set.keys.iter().enumerate() {
                match jwk.to_verifying_key() {
                    Ok(key) => {
                        // A key without a kid is chosen only by a token without one, which
                        // needs it to be alone. Among several it could never verify, and a
                        // made-up name could collide with a real kid, so it is left out.
                        if jwk.kid.is_none() && !alone {
                            skipped.push(SkippedKey {
                                kid: None,
                                error: KeyError::Jwk(
                                    "a key without a kid among several can never be chosen",
                                ),
                            });
                            continue;
                        }
                        let kid = jwk.kid.clone().unwrap_or_else(|| format!("#{index}"));
                        if let Err(error) = check_kid(&kid) {
                            skipped.push(SkippedKey {
                                kid: jwk.kid.clone(),
                                error,
                            });
                            continue;
                        }
                        state.insert(kid, key, None);
                    }
                    Err(error) => skipped.push(SkippedKey {
                        kid: jwk.kid.clone(),
                        error,
                    }),
                }
            }
        }
        Ok((out, skipped))
    }

    fn read(&self) -> RwLockReadGuard<'_, State> {
        // No code panics while holding the lock; a poisoned lock still holds a whole map.
        self.shared
            .state
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The state, to change it.
    fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.shared
            .state
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The clock deciding retirement.
    pub fn clock(&self) -> &SharedClock {
        &self.clock
    }

    /// Makes `key` the active signing key under `kid` (and verifiable under it). The
    /// previously active key, if any, stays verifiable with no deadline: prefer
    /// [`KeySet::rotate`].
    pub fn set_active(&self, kid: impl Into<String>, key: SigningKey) -> Result<(), KeyError> {
        let kid = kid.into();
        check_kid(&kid)?;
        let verifying = key.verifying_key();
        let active = Active::new(kid.clone(), key);
        let mut state = self.write();
        if state.keys.contains_key(&kid) && state.active.as_ref().is_none_or(|a| a.kid != kid) {
            return Err(KeyError::Jwk("the kid is already in the set"));
        }
        state.insert(kid, verifying, None);
        state.active = Some(active);
        Ok(())
    }

    /// Makes `key` active under `kid`; the previously active key keeps verifying until
    /// `retire_previous_at` (set it to at least now + the access-token lifetime + leeway).
    pub fn rotate(
        &self,
        kid: impl Into<String>,
        key: SigningKey,
        retire_previous_at: SystemTime,
    ) -> Result<(), KeyError> {
        let previous = self.read().active.as_ref().map(|a| a.kid.clone());
        self.set_active(kid, key)?;
        if let Some(previous) = previous {
            self.retire(&previous, retire_previous_at);
        }
        Ok(())
    }

    /// Adds a key that only verifies (a peer's public key, or a secret shared with one).
    pub fn insert_verifying_key(
        &self,
        kid: impl Into<String>,
        key: VerifyingKey,
    ) -> Result<(), KeyError> {
        let kid = kid.into();
        check_kid(&kid)?;
        let mut state = self.write();
        if state.keys.contains_key(&kid) {
            return Err(KeyError::Jwk("the kid is already in the set"));
        }
        state.insert(kid, key, None);
        Ok(())
    }

    /// Retires the key `kid`: it verifies until `at`, then never again. Returns whether
    /// the key was in the set. The active key cannot be retired (rotate instead).
    pub fn retire(&self, kid: &str, at: SystemTime) -> bool {
        let mut state = self.write();
        if state.active.as_ref().is_some_and(|a| a.kid == kid) {
            return false;
        }
        match state.keys.get_mut(kid) {
            Some(entry) => {
                entry.retire_at = Some(at);
                true
            }
            None => false,
        }
    }

    /// Removes the key `kid` at once (for a compromised key). Returns whether it was there.
    pub fn remove(&self, kid: &str) -> bool {
        let mut state = self.write();
        if state.active.as_ref().is_some_and(|a| a.kid == kid) {
            state.active = None;
        }
        state.keys.remove(kid).is_some()
    }

    /// Replaces every key with those of `other` (a refreshed remote JWK Set).
    pub(crate) fn replace_with(&self, other: &KeySet) {
        let (keys, next) = {
            let other = other.read();
            (other.keys.clone(), other.next)
        };
        let mut state = self.write();
        state.keys = keys;
        state.next = next;
        state.active = None;
    }

    /// A set holding a key file's keys: the first signs, every key verifies.
    ///
    /// ```
    /// use auth_core::SystemClock;
    /// use auth_jwt::{Algorithm, KeyRole, KeySet, SigningKey, SigningKeys};
    ///
    /// let mut file = SigningKeys::new("new", SigningKey::generate(Algorithm::EdDSA)?)?;
    /// file.push("old", SigningKey::generate(Algorithm::ES256)?)?;
    /// let keys = KeySet::from_signing_keys(&file, SystemClock::shared());
    /// assert_eq!(keys.active_kid().as_deref(), Some("new"));
    /// let roles: Vec<_> = keys.list().into_iter().map(|k| (k.kid, k.role)).collect();
    /// assert_eq!(roles, [("new".to_owned(), KeyRole::Signing), ("old".to_owned(), KeyRole::Verifying)]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_signing_keys(keys: &SigningKeys, clock: SharedClock) -> Self {
        let set = Self::new(clock);
        set.reload(keys);
        set
    }

    /// A set holding the keys of the key file at `path` (see [`SigningKeys::read`]).
    pub fn from_key_file(path: impl AsRef<Path>, clock: SharedClock) -> Result<Self, KeyFileError> {
        Ok(Self::from_signing_keys(&SigningKeys::read(path)?, clock))
    }

    /// Replaces the whole set with `keys` in one step: the active key, every verifying
    /// key and their order. Every holder of this set (issuers, verifiers) sees the old
    /// set or the new one, never a mix: a token is checked against one version, and the
    /// key that signs is always the first key of the version it belongs to.
    ///
    /// The file is the whole truth: keys it no longer holds stop verifying at once, and
    /// deadlines set with [`KeySet::retire`] are dropped. A token the verifier remembers
    /// (its verified-token cache) is accepted only while its `kid` still finds the very
    /// key that verified it, so it is refused once that key left the set or changed.
    pub fn reload(&self, keys: &SigningKeys) {
        let fresh = State::of(keys);
        // The old state is dropped after the lock is released.
        let previous = std::mem::replace(&mut *self.write(), fresh);
        drop(previous);
    }

    /// Re-reads the key file at `path` ([`SigningKeys::read`]) and [`reload`]s the set
    /// from it. On any error the set is left as it was.
    ///
    /// [`reload`]: KeySet::reload
    pub fn reload_from_file(&self, path: impl AsRef<Path>) -> Result<(), KeyFileError> {
        let keys = SigningKeys::read(path)?;
        self.reload(&keys);
        Ok(())
    }

    /// Every key that verifies now, with its algorithm and role, the signing key first
    /// and the others in the set's order (a key file's order, or the order they were
    /// added in). Read in one step, so it describes one version of the set.
    pub fn list(&self) -> Vec<KeyInfo> {
        let now = self.clock.now();
        let state = self.read();
        let active = state.active.as_deref().map(|a| a.kid.as_str());
        state
            .ordered(now)
            .into_iter()
            .map(|(kid, e)| {
                let role = match e.retire_at {
                    _ if Some(kid) == active => KeyRole::Signing,
                    Some(at) => KeyRole::Retiring { at },
                    None => KeyRole::Verifying,
                };
                KeyInfo::new(kid, &e.key, role)
            })
            .collect()
    }

    /// The `kid` of the active signing key.
    pub fn active_kid(&self) -> Option<String> {
        self.read().active.as_ref().map(|a| a.kid.clone())
    }

    pub(crate) fn active(&self) -> Option<Arc<Active>> {
        self.read().active.clone()
    }

    /// The `kid`s that verify now.
    pub fn kids(&self) -> Vec<String> {
        let now = self.clock.now();
        let state = self.read();
        let mut kids: Vec<String> = state
            .keys
            .iter()
            .filter(|(_, e)| e.retire_at.is_none_or(|at| now < at))
            .map(|(kid, _)| kid.clone())
            .collect();
        kids.sort();
        kids
    }

    /// The public JWK Set of every key that verifies now (RFC 7517 §5): public members
    /// only, with `kid`, `alg` and `use: sig`, the signing key first and the others in the
    /// set's order. HMAC secrets are never included.
    pub fn jwks(&self) -> JwkSet {
        let now = self.clock.now();
        let state = self.read();
        let keys: Vec<Jwk> = state
            .ordered(now)
            .into_iter()
            .filter_map(|(kid, e)| e.key.to_jwk(Some(kid)).ok())
            .collect();
        JwkSet { keys }
    }

    /// Finds the key a token names. `kid` is only a lookup: a token without one is
    /// accepted only when the set holds exactly one key.
    pub(crate) fn resolve(&self, kid: Option<&str>) -> Result<Resolved, AuthError> {
        let state = self.read();
        let entry = self.serving(&state, kid)?;
        Ok(Resolved {
            key: entry.key.clone(),
            kid: kid.map(|_| entry.kid.clone()),
        })
    }

    /// Whether `kid` still finds `key` itself, unretired: what a remembered token needs,
    /// asked on every request without cloning anything.
    pub(crate) fn still_serves(&self, kid: Option<&str>, key: &VerifyingKey) -> bool {
        let state = self.read();
        self.serving(&state, kid)
            .is_ok_and(|entry| entry.key.is_same(key))
    }

    /// The unretired entry `kid` names (or the only key, for a token without a `kid`).
    fn serving<'s>(&self, state: &'s State, kid: Option<&str>) -> Result<&'s Entry, AuthError> {
        let entry = match kid {
            Some(kid) => state
                .keys
                .get(kid)
                .ok_or(AuthError::Invalid(Reason::UnknownKid))?,
            None => {
                let mut all = state.keys.values();
                match (all.next(), all.next()) {
                    (Some(only), None) => only,
                    (None, _) => {
                        return Err(AuthError::Invalid(Reason::NoKeys));
                    }
                    (Some(_), Some(_)) => {
                        return Err(AuthError::Invalid(Reason::NoKidAmongSeveral));
                    }
                }
            }
        };
        if let Some(at) = entry.retire_at
            && self.clock.now() >= at
        {
            return Err(AuthError::Invalid(Reason::KeyRetired));
        }
        Ok(entry)
    }
}
