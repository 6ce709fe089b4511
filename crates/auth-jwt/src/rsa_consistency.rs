//! Whether an RSA private key's members agree, checked once when the key loads.
//!
//! ring checks `n = p·q` and `qInv` when it builds a key pair, but `dP` and `dQ` only when
//! it signs (a key with them swapped loads, then fails every signature) and `d` never,
//! since it signs with the CRT members alone. A key file exports `d` all the same, and
//! other libraries sign with it. So an RSA key loads only when
//!
//! - it signs a fixed message and its public key verifies the signature, which proves
//!   `dP`, `dQ` and `qInv` with the primes and `e` (ring checks its own result too, so a
//!   failure is the key's, never the random number generator's: PKCS#1 v1.5 padding
//!   draws no random bytes); and
//! - `e·d ≡ 1 (mod p−1)` and `(mod q−1)`, that is `e·d ≡ 1 (mod λ(n))`, the definition of
//!   the private exponent (RFC 8017 §3.2). This is checked directly rather than by a
//!   signature made with `d`, which would need a modular exponentiation of our own; a
//!   product and two remainders need only the few lines below.
//!
//! The arithmetic runs on 32-bit limbs, with loops and memory accesses that depend on the
//! lengths of the numbers only, and a masked choice instead of a branch on their values,
//! so its time tells nothing of `d`, `p` or `q` beyond their lengths.

use ring::rand::SystemRandom;
use ring::signature::{self, RsaKeyPair, RsaPublicKeyComponents};

use crate::error::KeyError;
use crate::key::RsaPrivate;

/// Refuses an RSA key whose members disagree: [`KeyError::InconsistentRsaKey`].
pub(crate) fn check(
    pair: &RsaKeyPair,
    private: &RsaPrivate,
    n: &[u8],
    e: &[u8],
) -> Result<(), KeyError> {
    const MESSAGE: &[u8] = b"authkit: can this RSA key sign?";
    let mut signature = vec![0u8; pair.public().modulus_len()];
    let signs = pair
        .sign(
            &signature::RSA_PKCS1_SHA256,
            &SystemRandom::new(),
            MESSAGE,
            &mut signature,
        )
        .is_ok()
        && RsaPublicKeyComponents { n, e }
            .verify(&signature::RSA_PKCS1_2048_8192_SHA256, MESSAGE, &signature)
            .is_ok();
    if !signs {
        return Err(KeyError::InconsistentRsaKey(
            "it cannot sign: dp or dq does not fit p, q and e",
        ));
    }
    if !inverts_modulo_lambda(e, &private.d, &private.p, &private.q) {
        return Err(KeyError::InconsistentRsaKey(
            "d is not the inverse of e modulo lcm(p-1, q-1)",
        ));
    }
    Ok(())
}

/// Whether `e·d ≡ 1` modulo `p − 1` and modulo `q − 1` (big-endian numbers).
fn inverts_modulo_lambda(e: &[u8], d: &[u8], p: &[u8], q: &[u8]) -> bool {
    let ed = multiply(&limbs(e), &limbs(d));
    [p, q].into_iter().all(|prime| {
        let modulus = minus_one(&limbs(prime));
        if modulus.iter().all(|&limb| limb == 0) {
            return false;
        }
        let remainder = remainder(&ed, &modulus);
        let not_one = remainder
            .iter()
            .enumerate()
            .fold(0, |acc, (i, &limb)| acc | (limb ^ u32::from(i == 0)));
        not_one == 0
    })
}

/// A big-endian number as 32-bit limbs, least significant first.
fn limbs(be: &[u8]) -> Vec<u32> {
    be.rchunks(4)
        .map(|chunk| {
            chunk
                .iter()
                .fold(0u32, |acc, &byte| (acc << 8) | u32::from(byte))
        })
        .collect()
}

/// `a · b`.
fn multiply(a: &[u32], b: &[u32]) -> Vec<u32> {
    let mut product = vec![0u32; a.len() + b.len()];
    for (i, &x) in a.iter().enumerate() {
        let mut carry = 0u64;
        for (j, &y) in b.iter().enumerate() {
            let sum = u64::from(x) * u64::from(y) + u64::from(product[i + j]) + carry;
            product[i + j] = sum as u32;
            carry = sum >> 32;
        }
        product[i + b.len()] = carry as u32;
    }
    product
}

/// `x − 1`, for `x ≥ 1`.
fn minus_one(x: &[u32]) -> Vec<u32> {
    let mut out = x.to_vec();
    let mut borrow = 1u64;
    for limb in &mut out {
        let diff = u64::from(*limb).wrapping_sub(borrow);
        *limb = diff as u32;
        borrow = (diff >> 63) & 1;
    }
    out
}

/// `x mod m` by binary long division, `m` not zero: for each bit of `x`, most significant
/// first, the remainder doubles, takes the bit, and loses `m` when it reaches `m`.
fn remainder(x: &[u32], m: &[u32]) -> Vec<u32> {
    let mut r = vec![0u32; m.len()];
    let mut less_m = vec![0u32; m.len()];
    for bit in (0..x.len() * 32).rev() {
        // r < m, so 2r + 1 < 2m: one subtraction of m at most brings it back under m.
        let mut carry = (x[bit / 32] >> (bit % 32)) & 1;
        for limb in &mut r {
            let out = *limb >> 31;
            *limb = (*limb << 1) | carry;
            carry = out;
        }
        let mut borrow = 0u64;
        for ((diff, &limb), &sub) in less_m.iter_mut().zip(&r).zip(m) {
            let wide = u64::from(limb)
                .wrapping_sub(u64::from(sub))
                .wrapping_sub(borrow);
            *diff = wide as u32;
            borrow = (wide >> 63) & 1;
        }
        // r ≥ m when a bit was shifted out of r's width or the subtraction did not borrow.
        let take = carry | (1 ^ borrow as u32);
        let mask = 0u32.wrapping_sub(take);
        for (limb, &diff) in r.iter_mut().zip(&less_m) {
            *limb = (*limb & !mask) | (diff & mask);
        }
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn number(limbs: &[u32]) -> u128 {
        limbs
            .iter()
            .rev()
            .fold(0u128, |acc, &limb| (acc << 32) | u128::from(limb))
    }

    #[test]
    fn the_arithmetic_agrees_with_native_integers() {
        let values: [u128; 6] = [
            1,
            2,
            0xffff_ffff,
            0x1_0000_0000,
            0x1234_5678_9abc_def0_0fed_cba9,
            u64::MAX as u128 * 3,
        ];
        for &a in &values {
            let a_limbs = limbs(&a.to_be_bytes());
            assert_eq!(number(&a_limbs), a);
            assert_eq!(number(&minus_one(&a_limbs)), a - 1);
            for &b in values.iter().filter(|&&b| b < 1 << 64) {
                let b_limbs = limbs(&b.to_be_bytes()[8..]);
                let low = a & u128::from(u64::MAX);
                assert_eq!(number(&multiply(&a_limbs[..2], &b_limbs)), low * b);
                assert_eq!(number(&remainder(&a_limbs, &b_limbs)), a % b, "{a} % {b}");
            }
        }
    }

    #[test]
    fn a_textbook_key_inverts_and_a_wrong_d_does_not() {
        // p = 61, q = 53, e = 17: λ(n) = lcm(60, 52) = 780, d = 413 (17·413 = 7021 = 9·780 + 1).
        assert!(inverts_modulo_lambda(&[17], &[0x01, 0x9d], &[61], &[53]));
        // 2753 = 413 + 3·780 fits too (RFC 8017 allows any d ≡ e⁻¹ mod λ(n)).
        assert!(inverts_modulo_lambda(&[17], &[0x0a, 0xc1], &[61], &[53]));
        assert!(!inverts_modulo_lambda(&[17], &[0x01, 0x9c], &[61], &[53]));
        assert!(!inverts_modulo_lambda(&[17], &[0x01, 0x9d], &[61], &[59]));
        assert!(!inverts_modulo_lambda(&[17], &[0x01, 0x9d], &[1], &[53]));
    }
}
