//! Sign and verify per algorithm through our API, against the bare floor measured in the
//! same run: base64url decode + ring verify with a key parsed once + serde_json parse of
//! the same claims (and for signing: serde_json of the same claims + ring sign + base64url).
//!
//! ```text
//! cargo bench -p auth-jwt --bench jwt -- \
//!     --warm-up-time 1 --measurement-time 2
//! ```
//!
//! Criterion's estimates land in `target/criterion/{verify,sign}_<alg>/{ours,floor}`. On a
//! loaded machine, `AUTH_JWT_BENCH_INTERLEAVED=1` measures ours and the floor alternately
//! instead (see `interleaved`).
#![allow(missing_docs)] // A bench binary, not an API.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Bench setup: a panic is a failed run.

use std::hint::black_box;
use std::sync::Arc;

use auth_core::memory::{MemoryRefreshTokenStore, MemoryRevocationStore};
use auth_core::{SharedClock, SystemClock};
use auth_jwt::{Algorithm, Issuer, KeySet, SigningKey, Verifier, algorithm};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::{Criterion, criterion_group};
use jsonwebtoken::AlgorithmFamily;
use ring::rand::SystemRandom;
use ring::signature::{self, KeyPair as _};
use serde::{Deserialize, Serialize};

/// The claims our issuer writes, as a struct: what the floor deserializes. Our verifier
/// reads the same claims set once, the registered claims into its typed
/// `RegisteredClaims` and the rest (none here) into `NoCustomClaims`.
#[derive(Serialize, Deserialize)]
struct Claims {
    iss: String,
    sub: String,
    aud: String,
    exp: u64,
    nbf: u64,
    iat: u64,
    jti: String,
    iat_ms: u64,
}

#[derive(Serialize, Deserialize)]
struct NoCustomClaims {}

/// The floor's key material: ring objects built once.
enum FloorVerify {
    Hmac(ring::hmac::Key),
    Rsa(
        signature::RsaPublicKeyComponents<Vec<u8>>,
        &'static signature::RsaParameters,
    ),
    Unparsed(signature::UnparsedPublicKey<Vec<u8>>),
}

enum FloorSign {
    Hmac(ring::hmac::Key),
    Rsa(signature::RsaKeyPair, &'static dyn signature::RsaEncoding),
    Ec(signature::EcdsaKeyPair),
    Ed(signature::Ed25519KeyPair),
}

fn rsa_pkcs1() -> Vec<u8> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/rsa2048-private.der"
    );
    std::fs::read(path).unwrap()
}

fn keys_for(alg: Algorithm) -> (SigningKey, FloorSign, FloorVerify) {
    let rng = SystemRandom::new();
    let b64 = |s: &Option<String>| URL_SAFE_NO_PAD.decode(s.as_deref().unwrap()).unwrap();
    match alg.family() {
        AlgorithmFamily::Hmac => {
            let secret = vec![7u8; 64];
            let ring_alg = match alg {
                Algorithm::HS256 => ring::hmac::HMAC_SHA256,
                Algorithm::HS384 => ring::hmac::HMAC_SHA384,
                _ => ring::hmac::HMAC_SHA512,
            };
            let key = ring::hmac::Key::new(ring_alg, &secret);
            (
                SigningKey::hmac(alg, &secret).unwrap(),
                FloorSign::Hmac(key.clone()),
                FloorVerify::Hmac(key),
            )
        }
        AlgorithmFamily::Rsa => {
            let der = rsa_pkcs1();
            let ours = SigningKey::from_der(alg, &der).unwrap();
            let jwk = ours.verifying_key().to_jwk(None).unwrap();
            let (padding, params): (
                &'static dyn signature::RsaEncoding,
                &'static signature::RsaParameters,
            ) = match alg {
                Algorithm::RS256 => (
                    &signature::RSA_PKCS1_SHA256,
                    &signature::RSA_PKCS1_2048_8192_SHA256,
                ),
                Algorithm::RS384 => (
                    &signature::RSA_PKCS1_SHA384,
                    &signature::RSA_PKCS1_2048_8192_SHA384,
                ),
                Algorithm::RS512 => (
                    &signature::RSA_PKCS1_SHA512,
                    &signature::RSA_PKCS1_2048_8192_SHA512,
                ),
                Algorithm::PS256 => (
                    &signature::RSA_PSS_SHA256,
                    &signature::RSA_PSS_2048_8192_SHA256,
                ),
                Algorithm::PS384 => (
                    &signature::RSA_PSS_SHA384,
                    &signature::RSA_PSS_2048_8192_SHA384,
                ),
                _ => (
                    &signature::RSA_PSS_SHA512,
                    &signature::RSA_PSS_2048_8192_SHA512,
                ),
            };
            let components = signature::RsaPublicKeyComponents {
                n: b64(&jwk.n),
                e: b64(&jwk.e),
            };
            (
                ours,
                FloorSign::Rsa(signature::RsaKeyPair::from_der(&der).unwrap(), padding),
                FloorVerify::Rsa(components, params),
            )
        }
        AlgorithmFamily::Ec => {
            let pkcs8 = SigningKey::generate_pkcs8(alg).unwrap();
            let (signing, verifying) = if alg == Algorithm::ES256 {
                (
                    &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                    &signature::ECDSA_P256_SHA256_FIXED,
                )
            } else {
                (
                    &signature::ECDSA_P384_SHA384_FIXED_SIGNING,
                    &signature::ECDSA_P384_SHA384_FIXED,
                )
            };
            let pair = signature::EcdsaKeyPair::from_pkcs8(signing, &pkcs8, &rng).unwrap();
            let public =
                signature::UnparsedPublicKey::new(verifying, pair.public_key().as_ref().to_vec());
            (
                SigningKey::from_der(alg, &pkcs8).unwrap(),
                FloorSign::Ec(pair),
                FloorVerify::Unparsed(public),
            )
        }
        AlgorithmFamily::Ed => {
            let pkcs8 = SigningKey::generate_pkcs8(alg).unwrap();
            let pair = signature::Ed25519KeyPair::from_pkcs8(&pkcs8).unwrap();
            let public = signature::UnparsedPublicKey::new(
                &signature::ED25519,
                pair.public_key().as_ref().to_vec(),
            );
            (
                SigningKey::from_der(alg, &pkcs8).unwrap(),
                FloorSign::Ed(pair),
                FloorVerify::Unparsed(public),
            )
        }
    }
}

/// The floor of verification: split, decode, verify, parse. No rule checked.
fn floor_verify(key: &FloorVerify, token: &str) -> Claims {
    let (input, sig_b64) = token.rsplit_once('.').unwrap();
    let mut sig = [0u8; 512];
    let len = URL_SAFE_NO_PAD.decode_slice(sig_b64, &mut sig).unwrap();
    let sig = &sig[..len];
    let ok = match key {
        FloorVerify::Hmac(k) => ring::hmac::verify(k, input.as_bytes(), sig).is_ok(),
        FloorVerify::Rsa(k, params) => k.verify(params, input.as_bytes(), sig).is_ok(),
        FloorVerify::Unparsed(k) => k.verify(input.as_bytes(), sig).is_ok(),
    };
    assert!(ok);
    let payload_b64 = input.split_once('.').unwrap().1;
    let mut payload = [0u8; 1024];
    let len = URL_SAFE_NO_PAD
        .decode_slice(payload_b64, &mut payload)
        .unwrap();
    serde_json::from_slice(&payload[..len]).unwrap()
}

/// The floor of signing: serialize the same claims, encode, sign, encode.
fn floor_sign(key: &FloorSign, header_b64: &str, claims: &Claims, rng: &SystemRandom) -> String {
    let json = serde_json::to_vec(claims).unwrap();
    let mut token = String::with_capacity(512);
    token.push_str(header_b64);
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(&json, &mut token);
    let signature: Vec<u8> = match key {
        FloorSign::Hmac(k) => ring::hmac::sign(k, token.as_bytes()).as_ref().to_vec(),
        FloorSign::Ec(k) => k.sign(rng, token.as_bytes()).unwrap().as_ref().to_vec(),
        FloorSign::Ed(k) => k.sign(token.as_bytes()).as_ref().to_vec(),
        FloorSign::Rsa(k, padding) => {
            let mut out = vec![0; k.public().modulus_len()];
            k.sign(*padding, rng, token.as_bytes(), &mut out).unwrap();
            out
        }
    };
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(signature, &mut token);
    token
}

/// Everything one algorithm's measurements need, built once.
struct Fixture {
    name: &'static str,
    issuer: Issuer,
    verifier: Verifier,
    token: String,
    header_b64: String,
    parsed: Claims,
    floor_signer: FloorSign,
    floor_verifier: FloorVerify,
}

fn fixture(alg: Algorithm, clock: &SharedClock) -> Fixture {
    let (ours, floor_signer, floor_verifier) = keys_for(alg);
    let keys = KeySet::with_signing_key(clock.clone(), "k", ours).unwrap();
    let issuer = Issuer::builder(keys.clone(), clock.clone())
        .issuer("https://issuer.example")
        .audience("api")
        .build(
            Arc::new(MemoryRefreshTokenStore::new(clock.clone())),
            Arc::new(MemoryRevocationStore::new(clock.clone())),
        )
        .unwrap();
    let verifier = Verifier::builder(keys, clock.clone())
        .issuer("https://issuer.example")
        .audience("api")
        .build()
        .unwrap();
    let token = issuer
        .access_token("alice", &NoCustomClaims {})
        .unwrap()
        .token;
    // Both paths check and parse the very same token.
    let parsed = floor_verify(&floor_verifier, &token);
    let ours = verifier.verify::<NoCustomClaims>(&token).unwrap();
    assert_eq!(ours.registered.jti.as_deref(), Some(parsed.jti.as_str()));
    let header_b64 = token.split('.').next().unwrap().to_owned();
    Fixture {
        name: algorithm::name(alg),
        issuer,
        verifier,
        token,
        header_b64,
        parsed,
        floor_signer,
        floor_verifier,
    }
}

impl Fixture {
    fn verify_ours(&self) {
        black_box(
            self.verifier
                .verify::<NoCustomClaims>(black_box(&self.token))
                .unwrap(),
        );
    }

    fn verify_floor(&self) {
        black_box(floor_verify(&self.floor_verifier, black_box(&self.token)));
    }

    fn sign_ours(&self) {
        black_box(
            self.issuer
                .access_token(black_box("alice"), &NoCustomClaims {})
                .unwrap(),
        );
    }

    fn sign_floor(&self, rng: &SystemRandom) {
        black_box(floor_sign(
            &self.floor_signer,
            &self.header_b64,
            black_box(&self.parsed),
            rng,
        ));
    }
}

fn bench(c: &mut Criterion) {
    let clock: SharedClock = SystemClock::shared();
    let rng = SystemRandom::new();
    for alg in algorithm::SUPPORTED {
        let f = fixture(alg, &clock);
        let mut group = c.benchmark_group(format!("verify/{}", f.name));
        group.bench_function("ours", |b| b.iter(|| f.verify_ours()));
        group.bench_function("floor", |b| b.iter(|| f.verify_floor()));
        group.finish();
        let mut group = c.benchmark_group(format!("sign/{}", f.name));
        group.bench_function("ours", |b| b.iter(|| f.sign_ours()));
        group.bench_function("floor", |b| b.iter(|| f.sign_floor(&rng)));
        group.finish();
    }
}

/// The fastest of many short batches of `op`, in nanoseconds per call.
fn best_batch(op: &mut dyn FnMut(), per_batch: u32) -> f64 {
    let started = std::time::Instant::now();
    for _ in 0..per_batch {
        op();
    }
    started.elapsed().as_nanos() as f64 / f64::from(per_batch)
}

/// On a shared, loaded machine criterion's means drift with the neighbours' load. This
/// mode alternates ours and the floor batch by batch and keeps each side's fastest batch,
/// which both see under the same conditions: `AUTH_JWT_BENCH_INTERLEAVED=1 cargo bench
/// -p auth-jwt --bench jwt`.
#[allow(clippy::print_stdout)] // This mode reports on stdout.
fn interleaved() {
    let clock: SharedClock = SystemClock::shared();
    let rng = SystemRandom::new();
    println!("alg     verify ours  floor   ratio |  sign ours    floor   ratio");
    for alg in algorithm::SUPPORTED {
        let f = fixture(alg, &clock);
        let pair = |ours: &mut dyn FnMut(), floor: &mut dyn FnMut()| {
            // Size batches to about 200 µs so timer resolution does not matter.
            let once = best_batch(floor, 1).max(1.0);
            let per_batch = ((200_000.0 / once) as u32).clamp(1, 10_000);
            let (mut best_ours, mut best_floor) = (f64::MAX, f64::MAX);
            for _ in 0..60 {
                best_ours = best_ours.min(best_batch(ours, per_batch));
                best_floor = best_floor.min(best_batch(floor, per_batch));
            }
            (best_ours, best_floor)
        };
        let (vo, vf) = pair(&mut || f.verify_ours(), &mut || f.verify_floor());
        let (so, sf) = pair(&mut || f.sign_ours(), &mut || f.sign_floor(&rng));
        println!(
            "{:6} {:>9.0} ns {:>7.0} {:>6.2}x | {:>9.0} ns {:>7.0} {:>6.2}x",
            f.name,
            vo,
            vf,
            vo / vf,
            so,
            sf,
            so / sf
        );
    }
}

criterion_group!(benches, bench);

fn main() {
    if std::env::var_os("AUTH_JWT_BENCH_INTERLEAVED").is_some() {
        interleaved();
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
