//! The last few JOSE headers that verified, by their exact encoded text.
//!
//! Every token of one issuer key carries the same header, byte for byte, so parsing it
//! again is wasted work. Parsing is deterministic, so the parse of the very same bytes can
//! be reused; only headers of tokens whose signature verified are remembered, so forged
//! tokens cannot fill the cache (at worst they miss it and are parsed in full).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{PoisonError, RwLock};

use jsonwebtoken::Algorithm;

use crate::header::ParsedHeader;

const SLOTS: usize = 4;

/// A parsed header, owned.
pub(crate) struct CachedHeader {
    encoded: Box<str>,
    pub(crate) alg: Algorithm,
    pub(crate) kid: Option<Box<str>>,
    pub(crate) typ: Option<Box<str>>,
}

impl CachedHeader {
    pub(crate) fn new(encoded: &str, parsed: &ParsedHeader<'_>) -> Self {
        Self {
            encoded: encoded.into(),
            alg: parsed.alg,
            kid: parsed.kid.as_deref().map(Into::into),
            typ: parsed.typ.as_deref().map(Into::into),
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

    pub(crate) fn insert(&self, header: CachedHeader) {
        let index = self.next.fetch_add(1, Ordering::Relaxed) % SLOTS;
        let mut slots = self.slots.write().unwrap_or_else(PoisonError::into_inner);
        slots[index] = Some(header);
    }
}
