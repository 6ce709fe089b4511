//! Shared helpers: a controllable clock, a key for every algorithm, and a forger that
//! builds any token from raw header and payload text.
#![allow(dead_code, unreachable_pub)] // Each test binary uses a different subset.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failed test.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use auth_core::{AuthError, ManualClock, SharedClock};
use auth_jwt::{Algorithm, KeySet, SigningKey, Verifier, algorithm};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

pub fn clock() -> (Arc<ManualClock>, SharedClock) {
    let clock = Arc::new(ManualClock::starting_now());
    let shared: SharedClock = clock.clone();
    (clock, shared)
}

pub fn data(name: &str) -> String {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

pub fn data_bytes(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn now_secs(clock: &ManualClock) -> u64 {
    use auth_core::Clock as _;
    clock.now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

pub fn secs(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).unwrap().as_secs()
}

/// A signing key for `alg`: generated, except RSA, loaded from the committed test key.
pub fn key_for(alg: Algorithm) -> SigningKey {
    match alg.family() {
        jsonwebtoken::AlgorithmFamily::Rsa => {
            SigningKey::from_pem(alg, &data("rsa2048-private.pem")).unwrap()
        }
        _ => SigningKey::generate(alg).unwrap(),
    }
}

/// A token from raw header and payload JSON text, signed by `sign` over the signing input.
pub fn forge(header: &str, payload: &str, sign: impl FnOnce(&[u8]) -> Vec<u8>) -> String {
    let input = format!("{}.{}", b64(header), b64(payload));
    let signature = sign(input.as_bytes());
    format!("{input}.{}", b64(signature))
}

/// A token signed by `key` with the given raw header and payload.
pub fn forge_with(key: &SigningKey, header: &str, payload: &str) -> String {
    forge(header, payload, |input| key.sign(input).unwrap())
}

/// A standard header for `key` under `kid`.
pub fn header(key: &SigningKey, kid: &str) -> String {
    format!(
        r#"{{"alg":"{}","typ":"JWT","kid":"{kid}"}}"#,
        algorithm::name(key.algorithm())
    )
}

/// Claims valid at `clock`'s now.
pub fn claims(clock: &ManualClock) -> String {
    let now = now_secs(clock);
    format!(
        r#"{{"iss":"https://issuer.test","sub":"alice","aud":"api","iat":{now},"nbf":{now},"exp":{},"jti":"j1"}}"#,
        now + 600
    )
}

/// A verifier for `https://issuer.test` and audience `api` over `keys`.
pub fn verifier(keys: &KeySet, clock: SharedClock) -> Verifier {
    Verifier::builder(keys.clone(), clock)
        .issuer("https://issuer.test")
        .audience("api")
        .build()
        .unwrap()
}

/// The reason of a `Malformed` or `Invalid` error, or the variant's name.
pub fn reason(error: &AuthError) -> String {
    match error {
        AuthError::Malformed(r) => format!("malformed: {r}"),
        AuthError::Invalid(r) => format!("invalid: {r}"),
        other => format!("{other:?}"),
    }
}

/// The text of the `tracing` events written while its subscriber is the default.
#[derive(Clone, Default)]
pub struct Captured(Arc<std::sync::Mutex<Vec<u8>>>);

impl Captured {
    /// A subscriber writing every event, at every level, into this capture.
    pub fn subscriber(&self) -> impl tracing::Subscriber + Send + Sync + 'static {
        let sink = self.clone();
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || sink.clone())
            .finish()
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
