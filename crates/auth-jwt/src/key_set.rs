//! A set of keys addressed by `kid`: one active signing key, and the verifying keys that
//! tokens may name, some of them retired until a deadline.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::SystemTime;

use auth_core::{AuthError, Reason, SharedClock};

use crate::algorithm;
use crate::b64;
use crate::error::KeyError;
use crate::jwk::{Jwk, JwkSet};
use crate::key::{SigningKey, VerifyingKey};

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
                        state.keys.insert(
                            kid.clone(),
                            Entry {
                                kid: kid.into(),
                                key,
                                retire_at: None,
                            },
                        );
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
        let header = serde_json::json!({
            "alg": algorithm::name(key.algorithm()),
            "typ": "JWT",
            "kid": kid,
        });
        let header_b64 = b64::encode(header.to_string().as_bytes());
        let mut state = self.write();
        if state.keys.contains_key(&kid) && state.active.as_ref().is_none_or(|a| a.kid != kid) {
            return Err(KeyError::Jwk("the kid is already in the set"));
        }
        state.keys.insert(
            kid.clone(),
            Entry {
                kid: kid.as_str().into(),
                key: key.verifying_key(),
                retire_at: None,
            },
        );
        state.active = Some(Arc::new(Active {
            kid,
            key,
            header_b64,
        }));
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
        state.keys.insert(
            kid.clone(),
            Entry {
                kid: kid.into(),
                key,
                retire_at: None,
            },
        );
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
        let keys = other.read().keys.clone();
        let mut state = self.write();
        state.keys = keys;
        state.active = None;
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
    /// only, with `kid`, `alg` and `use: sig`. HMAC secrets are never included.
    pub fn jwks(&self) -> JwkSet {
        let now = self.clock.now();
        let state = self.read();
        let mut keys: Vec<Jwk> = state
            .keys
            .iter()
            .filter(|(_, e)| e.retire_at.is_none_or(|at| now < at))
            .filter_map(|(kid, e)| e.key.to_jwk(Some(kid)).ok())
            .collect();
        keys.sort_by(|a, b| a.kid.cmp(&b.kid));
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
