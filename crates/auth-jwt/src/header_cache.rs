//! The last few JOSE headers that verified, by their exact encoded text.
//!
//! Every token of one issuer key carries the same header, byte for byte, so parsing it
//! again is wasted work. Parsing is deterministic, so the parse of the very same bytes can
//! be reused; only headers of tokens whose signature verified are remembered, so forged
//! tokens cannot fill the cache (at worst they miss it and are parsed in full).
//!
//! An entry also keeps the key its `kid` found, tagged with the key set's generation: while
//! the set is unchanged and the key unretired, a hit needs no key lookup either.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{PoisonError, RwLock};

use jsonwebtoken::Algorithm;

use crate::header::ParsedHeader;
use crate::key_set::Resolved;

const SLOTS: usize = 4;

/// A parsed header, owned, with the key it found.
pub(crate) struct CachedHeader {
    encoded: Box<str>,
    pub(crate) alg: Algorithm,
    pub(crate) kid: Option<Box<str>>,
    pub(crate) typ: Option<Box<str>>,
    /// The key the `kid` found when the header was remembered.
    pub(crate) resolved: Resolved,
    /// Whether `typ` is the one the verifier expects.
    pub(crate) typ_ok: bool,
}

impl CachedHeader {
    pub(crate) fn new(
        encoded: &str,
        parsed: &ParsedHeader<'_>,
        resolved: Resolved,
        typ_ok: bool,
    ) -> Self {
        Self {
            encoded: encoded.into(),
            alg: parsed.alg,
            kid: parsed.kid.as_deref().map(Into::into),
            typ: parsed.typ.as_deref().map(Into::into),
            resolved,
            typ_ok,
        }
    }

    /// The same header with the key its `kid` finds now.
    pub(crate) fn resolved_again(&self, resolved: Resolved) -> Self {
        Self {
            encoded: self.encoded.clone(),
            alg: self.alg,
            kid: self.kid.clone(),
            typ: self.typ.clone(),
            resolved,
            typ_ok: self.typ_ok,
        }
    }
}

#[derive(Default)]
pub(crate) struct HeaderCache {
    slots: RwLock<[Option<CachedHeader>; SLOTS]>,
    next: AtomicUsize,
}

impl HeaderCache {
    /// Runs `use_header` on the remembered parse of `encoded`, under the read lock: a hit
    /// copies nothing and counts no references. `None` when `encoded` is not remembered.
    pub(crate) fn with<R>(
        &self,
        encoded: &str,
        use_header: impl FnOnce(&CachedHeader) -> R,
    ) -> Option<R> {
        let slots = self.slots.read().unwrap_or_else(PoisonError::into_inner);
        slots
            .iter()
            .flatten()
            .find(|c| &*c.encoded == encoded)
            .map(use_header)
    }

    /// Remembers `header`, in place of an entry of the same text (whose key is stale),
    /// else in the slots in turn.
    pub(crate) fn insert(&self, header: CachedHeader) {
        let mut slots = self.slots.write().unwrap_or_else(PoisonError::into_inner);
        let same = slots
            .iter()
            .position(|slot| slot.as_ref().is_some_and(|c| c.encoded == header.encoded));
        let index = same.unwrap_or_else(|| self.next.fetch_add(1, Ordering::Relaxed) % SLOTS);
        slots[index] = Some(header);
    }
}
