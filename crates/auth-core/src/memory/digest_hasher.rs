//! A hasher for map keys that are already uniformly random digests.

use std::hash::{BuildHasherDefault, Hasher};

/// Folds the bytes it is given into 64 bits with one multiply per eight bytes, instead of
/// running SipHash over them. Only for keys that are SHA-256 digests of secrets the
/// server generated (session keys): they are uniform already, and since no client chooses
/// a stored key, no client can flood one bucket with them. A client can aim a lookup at a
/// bucket, which costs it one probe of the keys already there.
#[derive(Default)]
pub(crate) struct DigestHasher(u64);

/// Builds [`DigestHasher`]s.
pub(crate) type BuildDigestHasher = BuildHasherDefault<DigestHasher>;

impl Hasher for DigestHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0; 8];
            word.copy_from_slice(chunk);
            self.mix(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.mix(u64::from_le_bytes(word));
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

impl DigestHasher {
    fn mix(&mut self, word: u64) {
        // An odd constant (the golden ratio's fraction): the product spreads every input
        // bit into the high bits, which moka uses to pick a segment.
        self.0 = (self.0.rotate_left(29) ^ word).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // Test code: a panic is a failed test.

    use std::hash::BuildHasher;

    use super::*;
    use crate::SessionId;

    #[test]
    fn distinct_keys_spread_over_high_and_low_bits() {
        let build = BuildDigestHasher::default();
        let hashes: Vec<u64> = (0..4096)
            .map(|_| build.hash_one(SessionId::generate().unwrap().key()))
            .collect();
        for (name, bucket) in [
            (
                "low",
                Box::new(|h: u64| (h & 63) as usize) as Box<dyn Fn(u64) -> usize>,
            ),
            ("high", Box::new(|h: u64| (h >> 58) as usize)),
        ] {
            let mut counts = [0u32; 64];
            for &h in &hashes {
                counts[bucket(h)] += 1;
            }
            // 64 expected per bucket; a broken fold would leave most of them empty.
            assert!(
                counts.iter().all(|&c| (20..=120).contains(&c)),
                "{name}: {counts:?}"
            );
        }
    }

    #[test]
    fn every_byte_counts() {
        let build = BuildDigestHasher::default();
        let base = [7u8; 33];
        for i in 0..base.len() {
            let mut other = base;
            other[i] ^= 1;
            assert_ne!(build.hash_one(base), build.hash_one(other), "byte {i}");
        }
    }
}
