//! Whether an RSA private key can sign, checked once when the key loads.
//!
//! ring checks `n = p·q` and `qInv` when it builds a key pair, but `dP` and `dQ` only when
//! it signs: a key with them swapped loads, then fails every signature. So an RSA key
//! loads only when it signs a fixed message and its public key verifies the signature,
//! which proves `dP`, `dQ` and `qInv` with the primes and `e`. ring checks its own result
//! too, so a failure is the key's, never the random number generator's: PKCS#1 v1.5
//! padding draws no random bytes.
//!
//! `d` is not checked: ring signs with the CRT members alone, so a wrong `d` signs nothing
//! wrong here, and another library signing with it makes signatures that verify nowhere
//! (a failure at once, never an acceptance). Checking it would need big-number arithmetic
//! of our own.

use ring::rand::SystemRandom;
use ring::signature::{self, RsaKeyPair, RsaPublicKeyComponents};

use crate::error::KeyError;

/// Refuses an RSA key that cannot sign: [`KeyError::InconsistentRsaKey`].
pub(crate) fn check(pair: &RsaKeyPair, n: &[u8], e: &[u8]) -> Result<(), KeyError> {
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
    if signs {
        Ok(())
    } else {
        Err(KeyError::InconsistentRsaKey(
            "it cannot sign: dp or dq does not fit p, q and e",
        ))
    }
}
