//! Fixtures shared by the fuzz targets: fixed keys, the verifiers under test, and the only
//! tokens that are genuine (so that a target can tell a forgery from a real token), plus
//! the seed files of `corpus/<target>/`.
//!
//! Everything here is deterministic: the clock is frozen, the HMAC secret is a constant
//! and the asymmetric keys are auth-jwt's committed test keys, so a crash found on one
//! machine replays on any other.
// A fixture that cannot be built is a broken harness, not a finding: failing loudly at
// start-up is what we want, so `expect` is fine in this crate.
#![allow(clippy::expect_used)]

use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use auth_core::{ManualClock, SharedClock};
use auth_jwt::{Algorithm, KeySet, SigningKey, Verifier, VerifyingKey, algorithm};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The frozen "now" of every fixture, in seconds since the epoch (January 2027).
pub const NOW_SECS: u64 = 1_800_000_000;
/// The issuer the main verifier expects and the genuine tokens carry.
pub const ISSUER: &str = "https://issuer.fuzz.test";
/// The audience the main verifier expects and the genuine tokens carry.
pub const AUDIENCE: &str = "api";
/// The HMAC-SHA256 secret of the `hs` key (at least the hash size, as auth-jwt demands).
pub const HMAC_SECRET: &[u8] = b"authkit fuzz fixture: HMAC-SHA256 secret, never used for real";

const ED25519_PEM: &str = include_str!("../../crates/auth-jwt/tests/data/ed25519-private.pem");
const EC_P256_PEM: &str = include_str!("../../crates/auth-jwt/tests/data/ec-p256-private.pem");

/// The `kid`s of the three signing keys, in the order of [`Fixture::signers`].
pub const KIDS: [&str; 3] = ["hs", "ed", "es"];

/// The frozen "now".
pub fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(NOW_SECS)
}

/// Unpadded base64url.
pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The JWS signing input of a compact token: everything before its last dot.
pub fn signing_input(token: &str) -> Option<&str> {
    token.rfind('.').map(|dot| &token[..dot])
}

/// The header every genuine token of `key` under `kid` carries.
pub fn header_json(key: &SigningKey, kid: Option<&str>) -> String {
    let alg = algorithm::name(key.algorithm());
    match kid {
        Some(kid) => format!(r#"{{"alg":"{alg}","typ":"JWT","kid":"{kid}"}}"#),
        None => format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#),
    }
}

/// The claims every genuine token carries: valid at [`now`] for the main verifier.
pub fn claims_json() -> String {
    format!(
        r#"{{"iss":"{ISSUER}","sub":"alice","aud":"{AUDIENCE}","iat":{NOW_SECS},"nbf":{NOW_SECS},"exp":{},"jti":"fuzz-1","roles":["admin"]}}"#,
        NOW_SECS + 600
    )
}

/// A compact token over raw header and payload bytes, signed by `key`.
pub fn sign_token(key: &SigningKey, header: &[u8], payload: &[u8]) -> String {
    let input = format!("{}.{}", b64(header), b64(payload));
    // Signing with a fixture key over any message cannot fail; if it does the harness is broken.
    let signature = key.sign(input.as_bytes()).expect("fixture key signs");
    format!("{input}.{}", b64(signature))
}

/// Keys, key sets and the genuine tokens.
pub struct Fixture {
    /// The frozen clock.
    pub clock: SharedClock,
    /// The signing keys, `kid`s as in [`KIDS`].
    pub signers: [SigningKey; 3],
    /// Every key, under its `kid`: what the main verifier uses.
    pub keys: KeySet,
    /// The HMAC key alone: what the single-key verifier uses (tokens without `kid`).
    pub hs_only: KeySet,
    /// The genuine tokens: each signer's under its `kid`, and the HMAC one without a `kid`.
    pub genuine: Vec<String>,
}

impl Fixture {
    fn build() -> Self {
        let clock: SharedClock = Arc::new(ManualClock::new(now()));
        let hs = SigningKey::hmac(Algorithm::HS256, HMAC_SECRET).expect("HMAC fixture key");
        let ed = SigningKey::from_pem(Algorithm::EdDSA, ED25519_PEM).expect("Ed25519 fixture key");
        let es = SigningKey::from_pem(Algorithm::ES256, EC_P256_PEM).expect("P-256 fixture key");
        let signers = [hs, ed, es];

        let keys = KeySet::new(clock.clone());
        for (kid, key) in KIDS.iter().zip(&signers) {
            keys.insert_verifying_key(*kid, key.verifying_key())
                .expect("fixture kid");
        }
        let hs_only = KeySet::new(clock.clone());
        hs_only
            .insert_verifying_key(
                "hs",
                VerifyingKey::hmac(Algorithm::HS256, HMAC_SECRET).expect("HMAC fixture key"),
            )
            .expect("fixture kid");

        let claims = claims_json();
        let mut genuine: Vec<String> = KIDS
            .iter()
            .zip(&signers)
            .map(|(kid, key)| {
                sign_token(
                    key,
                    header_json(key, Some(kid)).as_bytes(),
                    claims.as_bytes(),
                )
            })
            .collect();
        genuine.push(sign_token(
            &signers[0],
            header_json(&signers[0], None).as_bytes(),
            claims.as_bytes(),
        ));
        Self {
            clock,
            signers,
            keys,
            hs_only,
            genuine,
        }
    }

    /// Whether `signing_input` is that of a genuine token: the only messages our keys
    /// ever signed, so the only ones any verifier may accept from an outsider.
    pub fn is_genuine_input(&self, signing_input: &str) -> bool {
        self.genuine
            .iter()
            .any(|token| self::signing_input(token) == Some(signing_input))
    }

    /// A fresh verifier over every key, with `iss` and `aud` required (a fresh one per
    /// input, so that its verified-token cache carries nothing from one input to the next).
    pub fn verifier(&self) -> Verifier {
        Verifier::builder(self.keys.clone(), self.clock.clone())
            .issuer(ISSUER)
            .audience(AUDIENCE)
            .build()
            .expect("fixture verifier")
    }

    /// A fresh verifier over the HMAC key alone, requiring `typ: JWT` and nothing else.
    pub fn single_key_verifier(&self) -> Verifier {
        Verifier::builder(self.hs_only.clone(), self.clock.clone())
            .typ("JWT")
            .build()
            .expect("fixture verifier")
    }
}

/// The fixture, built once per process.
pub fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(Fixture::build)
}

/// The first input byte selects how the `jwt_verify` target reads the rest.
pub mod jwt_mode {
    /// The rest is the token (lossy UTF-8).
    pub const RAW: u8 = 0;
    /// The rest is `signer index, header, 0, payload`; the target signs it with that key.
    pub const SIGNED: u8 = 1;
    /// The rest is `header, 0, payload, 0, signature`, all the fuzzer's.
    pub const FORGED: u8 = 2;
    /// How many modes there are (the mode byte is taken modulo this).
    pub const COUNT: u8 = 3;
}

/// The seed files of every target: `(target, file name, contents)`.
pub fn seeds() -> Vec<(&'static str, &'static str, Vec<u8>)> {
    let fx = fixture();
    let mut seeds = Vec::new();

    // jwt_verify: genuine HMAC and Ed25519 tokens (deterministic signatures), a claims
    // set for the target to sign, and a forged one.
    let with_mode = |mode: u8, rest: &[u8]| [&[mode][..], rest].concat();
    seeds.push((
        "jwt_verify",
        "seed-hs256-token",
        with_mode(jwt_mode::RAW, fx.genuine[0].as_bytes()),
    ));
    seeds.push((
        "jwt_verify",
        "seed-eddsa-token",
        with_mode(jwt_mode::RAW, fx.genuine[1].as_bytes()),
    ));
    let header = header_json(&fx.signers[2], Some(KIDS[2]));
    let parts = [
        &[2u8][..],
        header.as_bytes(),
        &[0],
        claims_json().as_bytes(),
    ]
    .concat();
    seeds.push((
        "jwt_verify",
        "seed-es256-signed-parts",
        with_mode(jwt_mode::SIGNED, &parts),
    ));
    let forged = [
        header_json(&fx.signers[0], Some(KIDS[0])).as_bytes(),
        &[0],
        claims_json().as_bytes(),
        &[0],
        &[0x5a; 32],
    ]
    .concat();
    seeds.push((
        "jwt_verify",
        "seed-forged-parts",
        with_mode(jwt_mode::FORGED, &forged),
    ));

    // jwk_parse: the published JWK Set of the asymmetric keys, and an HMAC one.
    seeds.push((
        "jwk_parse",
        "seed-public-jwks",
        fx.keys.jwks().to_json().into_bytes(),
    ));
    let oct = format!(
        r#"{{"keys":[{{"kty":"oct","kid":"hs","alg":"HS256","use":"sig","k":"{}"}}]}}"#,
        b64(HMAC_SECRET)
    );
    seeds.push(("jwk_parse", "seed-hmac-jwks", oct.into_bytes()));

    // cookie_session_id: flags byte, then `name \n header [\n header]*`.
    let id = b64(b"fuzz fixture session id 32 bytes");
    let cookie = format!("\x00session\ntheme=dark; __Host-session={id}; lang=en");
    seeds.push((
        "cookie_session_id",
        "seed-cookie-header",
        cookie.into_bytes(),
    ));

    // redis_record: mode byte, then a stored session value or refresh value.
    seeds.push((
        "redis_record",
        "seed-session-value",
        [&[0u8][..], &redis_session_value()].concat(),
    ));
    seeds.push((
        "redis_record",
        "seed-refresh-value",
        [&[1u8][..], &redis_refresh_value()].concat(),
    ));

    // session_data: mode byte 0, then stored session data.
    seeds.push((
        "session_data",
        "seed-session-data",
        [
            &[0u8][..],
            br#"{"cart":[17,42],"roles":["user"],"theme":"dark","n":1.5,"csrf":null}"#,
        ]
        .concat(),
    ));
    seeds
}

/// A stored store-redis session value, built by hand from the documented layout
/// (`store-redis/src/session_record.rs`) so this crate needs no `--cfg fuzzing`.
fn redis_session_value() -> Vec<u8> {
    let subject = "alice";
    let created = NOW_SECS * 1_000_000_000;
    let mut out = vec![1u8];
    out.extend_from_slice(format!("{:020}", created + 1_800_000_000_000).as_bytes());
    out.extend_from_slice(format!("{:020}", 3).as_bytes());
    out.extend_from_slice(format!("{created:020}").as_bytes());
    out.extend_from_slice(format!("{created:020}").as_bytes());
    out.extend_from_slice(subject_name(subject).as_bytes());
    out.extend_from_slice(format!("{:03}", subject.len()).as_bytes());
    out.extend_from_slice(subject.as_bytes());
    out.extend_from_slice(br#"{"roles":["user"]}"#);
    out
}

/// A stored store-redis refresh value, from `store-redis/src/refresh_record.rs`'s layout.
fn redis_refresh_value() -> Vec<u8> {
    let subject = "alice";
    let family = "fam_ily-1";
    let issued = NOW_SECS * 1_000_000_000;
    let mut out = vec![1u8, b'0'];
    out.extend_from_slice(format!("{:020}", issued + 86_400_000_000_000).as_bytes());
    out.extend_from_slice(format!("{issued:020}").as_bytes());
    out.extend_from_slice(subject_name(subject).as_bytes());
    out.extend_from_slice(format!("{:02}", family.len()).as_bytes());
    out.extend_from_slice(family.as_bytes());
    out.extend_from_slice(format!("{:03}", subject.len()).as_bytes());
    out.extend_from_slice(subject.as_bytes());
    out.extend_from_slice(br#"{"scope":"read"}"#);
    out
}

/// store-redis' name of a subject: the first 32 hex digits of SHA-256("subject\0" subject).
fn subject_name(subject: &str) -> String {
    use std::fmt::Write as _;
    let mut context = ring_digest();
    context.update(b"subject\0");
    context.update(subject.as_bytes());
    let digest = context.finish();
    let mut hex = String::new();
    for b in &digest.as_ref()[..16] {
        let _ = write!(hex, "{b:02x}");
    }
    hex
}

fn ring_digest() -> ring::digest::Context {
    ring::digest::Context::new(&ring::digest::SHA256)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `AUTHKIT_WRITE_SEEDS=1 cargo +nightly test` (in `fuzz/`)
    /// rewrites `corpus/<target>/seed-*`; otherwise the committed seeds must match.
    #[test]
    fn seeds_are_current() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/corpus");
        let write = std::env::var_os("AUTHKIT_WRITE_SEEDS").is_some();
        for (target, name, bytes) in seeds() {
            let dir = format!("{root}/{target}");
            let path = format!("{dir}/{name}");
            if write {
                std::fs::create_dir_all(&dir).expect("corpus directory");
                std::fs::write(&path, &bytes).expect("seed file");
            } else {
                let committed = std::fs::read(&path).expect("seed file");
                assert_eq!(
                    committed, bytes,
                    "{path} is stale: rerun with AUTHKIT_WRITE_SEEDS=1"
                );
            }
        }
    }

    #[test]
    fn genuine_tokens_verify() {
        let fx = fixture();
        let verifier = fx.verifier();
        for token in &fx.genuine[..3] {
            let verified = verifier
                .verify::<serde_json::Map<String, serde_json::Value>>(token)
                .expect("genuine token");
            assert_eq!(verified.registered.sub.as_deref(), Some("alice"));
        }
        assert!(
            fx.single_key_verifier()
                .verify_signature(&fx.genuine[3])
                .is_ok()
        );
    }
}
