//! The demo with a key file (`--keys FILE`), rotated without a restart: over real HTTP
//! in-process (the file edited with the code `authctl keys` runs, then `KeyFile::reload`,
//! what SIGHUP runs), and as the built binary receiving a real SIGHUP while a
//! connection stays open.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests: a panic is a failed test.

mod common;

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use auth_jwt::{Algorithm, KeyError, KeyFileError, SigningKey, SigningKeys};
use authkit_examples::demo::{DemoConfig, KeyFile};
use common::{Demo, jwt_header};
use reqwest::StatusCode;
use serde_json::Value;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// Edits the key file as `authctl keys` does: read, change, write atomically.
fn edit(path: &Path, change: impl FnOnce(&mut SigningKeys)) {
    let mut keys = SigningKeys::read(path).unwrap();
    change(&mut keys);
    keys.write(path).unwrap();
}

fn new_key(alg: Algorithm) -> SigningKey {
    SigningKey::generate(alg).unwrap()
}

fn published(jwks: &Value) -> Vec<String> {
    let keys = jwks["keys"].as_array().unwrap();
    for key in keys {
        for private in ["d", "k", "p", "q", "dp", "dq", "qi"] {
            assert!(key.get(private).is_none(), "{private} published: {key}");
        }
    }
    keys.iter()
        .map(|key| key["kid"].as_str().unwrap().to_owned())
        .collect()
}

/// A key file in `dir` holding one ES256 key, `2026-11`: where each rotation starts.
fn first_key_file(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("keys.json");
    SigningKeys::new("2026-11", new_key(Algorithm::ES256))
        .unwrap()
        .write(&path)
        .unwrap();
    path
}

/// A demo started on [`first_key_file`] in `dir`: the file's path, its handle, the demo.
async fn demo_on_first_key_file(dir: &Path) -> (std::path::PathBuf, KeyFile, Demo) {
    let path = first_key_file(dir);
    let file = KeyFile::new(&path);
    let demo = Demo::start_with(DemoConfig {
        keys: Some(file.clone()),
        ..DemoConfig::default()
    })
    .await;
    (path, file, demo)
}

async fn jwks(demo: &Demo) -> Vec<String> {
    let jwks: Value = demo
        .get("/.well-known/jwks.json", None)
        .await
        .json()
        .await
        .unwrap();
    published(&jwks)
}

async fn access_token(demo: &Demo) -> String {
    demo.token("alice", "wonderland").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn kid(token: &str) -> String {
    jwt_header(token)["kid"].as_str().unwrap().to_owned()
}

async fn me(demo: &Demo, token: &str) -> StatusCode {
    demo.get_bearer("/api/me", token).await.status()
}

#[tokio::test]
async fn a_key_file_rotates_in_stages_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (path, file, demo) = demo_on_first_key_file(dir.path()).await;
    assert_eq!(jwks(&demo).await, ["2026-11"]);
    let old = access_token(&demo).await;
    assert_eq!(kid(&old), "2026-11");
    assert_eq!(me(&demo, &old).await, StatusCode::OK);

    // 1. The new key second: published and verifying; the old key still signs.
    let next = new_key(Algorithm::EdDSA);
    edit(&path, |keys| {
        keys.insert(1, "2026-12", next.clone()).unwrap()
    });
    file.reload().unwrap();
    assert_eq!(jwks(&demo).await, ["2026-11", "2026-12"]);
    let still_old = access_token(&demo).await;
    assert_eq!(kid(&still_old), "2026-11");
    for token in [&old, &still_old] {
        assert_eq!(me(&demo, token).await, StatusCode::OK);
    }

    // 2. Promoted: the new key signs, tokens of the old one still verify.
    edit(&path, |keys| keys.promote("2026-12").unwrap());
    let listed = file.reload().unwrap();
    assert_eq!(listed[0].kid, "2026-12");
    assert_eq!(jwks(&demo).await, ["2026-12", "2026-11"]);
    let new = access_token(&demo).await;
    assert_eq!(kid(&new), "2026-12");
    assert_eq!(jwt_header(&new)["alg"], "EdDSA");
    for token in [&old, &still_old, &new] {
        assert_eq!(me(&demo, token).await, StatusCode::OK);
    }

    // 3. Retired: the old key's tokens are refused, the new key's verify.
    edit(&path, |keys| {
        keys.retire("2026-11").unwrap();
    });
    file.reload().unwrap();
    assert_eq!(jwks(&demo).await, ["2026-12"]);
    for token in [&old, &still_old] {
        assert_eq!(me(&demo, token).await, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(me(&demo, &new).await, StatusCode::OK);

    // A file that cannot be used is refused and the demo keeps its keys.
    std::fs::write(&path, "{\"keys\": []}").unwrap();
    assert!(matches!(file.reload(), Err(KeyFileError::Empty)));
    std::fs::write(&path, "not json").unwrap();
    assert!(matches!(file.reload(), Err(KeyFileError::Document { .. })));
    assert_eq!(jwks(&demo).await, ["2026-12"]);
    assert_eq!(me(&demo, &new).await, StatusCode::OK);
    assert_eq!(kid(&access_token(&demo).await), "2026-12");
}

/// An RSA key with `dp` and `dq` swapped loads in ring, which checks them only when it
/// signs: a reload that put one first used to swap it in, and every token request then
/// answered 500. The reload is refused and the current key keeps signing.
#[tokio::test]
async fn a_reload_of_an_rsa_key_that_cannot_sign_is_refused_and_tokens_keep_coming() {
    let dir = tempfile::tempdir().unwrap();
    let (path, file, demo) = demo_on_first_key_file(dir.path()).await;
    let pem = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../crates/auth-jwt/tests/data/rsa2048-private.pem"
    ))
    .unwrap();
    let mut broken = SigningKey::from_pem(Algorithm::RS256, &pem)
        .unwrap()
        .to_private_jwk(Some("2026-12"));
    std::mem::swap(&mut broken.dp, &mut broken.dq);
    let mut set = SigningKeys::read(&path).unwrap().to_jwk_set();
    set.keys.insert(0, broken);
    std::fs::write(&path, set.to_json()).unwrap();

    let reloaded = file.reload();
    let response = demo
        .post_json(
            "/api/token",
            None,
            serde_json::json!({ "username": "alice", "password": "wonderland" }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        matches!(
            reloaded,
            Err(KeyFileError::Key {
                index: 0,
                source: KeyError::InconsistentRsaKey(_),
                ..
            })
        ),
        "{reloaded:?}"
    );
    let body: Value = response.json().await.unwrap();
    let token = body["access_token"].as_str().unwrap();
    assert_eq!(kid(token), "2026-11");
    assert_eq!(me(&demo, token).await, StatusCode::OK);
    assert_eq!(jwks(&demo).await, ["2026-11"]);
}

/// Two nodes on one key file and one issuer follow a staged rotation together: each stage
/// is one edit of the file and a reload on every node (what SIGHUP runs). At every stage
/// both nodes publish the same set and accept each other's tokens; after the retirement
/// neither accepts the old key's.
#[tokio::test]
async fn nodes_sharing_a_key_file_rotate_in_stages_together() {
    let dir = tempfile::tempdir().unwrap();
    let path = first_key_file(dir.path());
    let files = [KeyFile::new(&path), KeyFile::new(&path)];
    let mut nodes = Vec::new();
    for file in &files {
        nodes.push(
            Demo::start_with(DemoConfig {
                keys: Some(file.clone()),
                issuer: Some("https://auth.example.test".to_owned()),
                ..DemoConfig::default()
            })
            .await,
        );
    }
    let reload_everywhere = || {
        for file in &files {
            file.reload().unwrap();
        }
    };
    async fn accepted_everywhere(nodes: &[Demo], token: &str) -> Vec<StatusCode> {
        let mut answers = Vec::new();
        for node in nodes {
            answers.push(me(node, token).await);
        }
        answers
    }
    let ok = [StatusCode::OK, StatusCode::OK];
    let old = access_token(&nodes[0]).await;
    assert_eq!(accepted_everywhere(&nodes, &old).await, ok);

    // 1. The new key second, on every node.
    edit(&path, |keys| {
        keys.insert(1, "2026-12", new_key(Algorithm::EdDSA))
            .unwrap()
    });
    reload_everywhere();
    for node in &nodes {
        assert_eq!(jwks(node).await, ["2026-11", "2026-12"]);
    }

    // 2. Promoted everywhere: node 1 signs with the new key, node 0 verifies it.
    edit(&path, |keys| keys.promote("2026-12").unwrap());
    reload_everywhere();
    let new = access_token(&nodes[1]).await;
    assert_eq!(kid(&new), "2026-12");
    for token in [&old, &new] {
        assert_eq!(accepted_everywhere(&nodes, token).await, ok);
    }

    // 3. Retired everywhere: the old key's token is refused on both nodes.
    edit(&path, |keys| {
        keys.retire("2026-11").unwrap();
    });
    reload_everywhere();
    for node in &nodes {
        assert_eq!(jwks(node).await, ["2026-12"]);
    }
    assert_eq!(
        accepted_everywhere(&nodes, &old).await,
        [StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED]
    );
    assert_eq!(accepted_everywhere(&nodes, &new).await, ok);
}

#[tokio::test]
async fn an_hmac_key_in_the_file_signs_but_is_never_published() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys.json");
    let mut keys = SigningKeys::new("secret", new_key(Algorithm::HS256)).unwrap();
    keys.push("public", new_key(Algorithm::ES256)).unwrap();
    keys.write(&path).unwrap();
    let demo = Demo::start_with(DemoConfig {
        keys: Some(KeyFile::new(&path)),
        ..DemoConfig::default()
    })
    .await;
    assert_eq!(jwks(&demo).await, ["public"]);
    let token = access_token(&demo).await;
    assert_eq!(jwt_header(&token)["alg"], "HS256");
    assert_eq!(me(&demo, &token).await, StatusCode::OK);
}

#[tokio::test]
async fn a_demo_does_not_start_on_an_unusable_key_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys.json");
    // A public JWK Set is not a key file.
    let public = SigningKey::generate(Algorithm::ES256)
        .unwrap()
        .verifying_key()
        .to_jwk(Some("p"))
        .unwrap();
    std::fs::write(&path, auth_jwt::JwkSet { keys: vec![public] }.to_json()).unwrap();
    let config = DemoConfig {
        keys: Some(KeyFile::new(&path)),
        ..DemoConfig::default()
    };
    let error = authkit_examples::demo::app(&config, "http://127.0.0.1")
        .await
        .expect_err("a public key set must be refused");
    let error = format!("{error:#}");
    assert!(error.contains("public key"), "{error}");
}

/// The built demo binary, stopped when dropped.
struct Running {
    child: Child,
    addr: String,
    stderr: mpsc::Receiver<String>,
}

impl Running {
    fn start(keys: &Path) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_demo"))
            .args(["--addr", "127.0.0.1:0", "--keys"])
            .arg(keys)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut banner = String::new();
        stdout.read_line(&mut banner).unwrap();
        let addr = banner
            .trim()
            .strip_prefix("authkit demo on http://")
            .and_then(|rest| rest.strip_suffix('/'))
            .unwrap_or_else(|| panic!("no banner: {banner:?}"))
            .to_owned();
        // Drain stdout so the demo never blocks on a full pipe.
        std::thread::spawn(move || for _ in stdout.lines() {});
        let (lines, stderr) = mpsc::channel();
        let pipe = BufReader::new(child.stderr.take().unwrap());
        std::thread::spawn(move || {
            for line in pipe.lines().map_while(Result::ok) {
                if lines.send(line).is_err() {
                    break;
                }
            }
        });
        Self {
            child,
            addr,
            stderr,
        }
    }

    fn hangup(&self) {
        let status = Command::new("kill")
            .args(["-HUP", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// The next line of the demo's log that holds `marker` (other lines are skipped).
    fn expect_line(&self, marker: &str) -> String {
        loop {
            let line = self
                .stderr
                .recv_timeout(Duration::from_secs(30))
                .unwrap_or_else(|_| panic!("no log line holding {marker:?}"));
            if line.contains(marker) {
                return line;
            }
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 keep-alive connection, to show a reload drops none.
struct Connection(TcpStream);

impl Connection {
    async fn open(addr: &str) -> Self {
        Self(TcpStream::connect(addr).await.unwrap())
    }

    /// `GET path` on this connection; the response's status and body.
    async fn get(&mut self, path: &str) -> (u16, String) {
        let request = format!("GET {path} HTTP/1.1\r\nHost: demo\r\n\r\n");
        self.0.write_all(request.as_bytes()).await.unwrap();
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            let byte = self.0.read_u8().await.expect("the connection was closed");
            head.push(byte);
        }
        let head = String::from_utf8(head).unwrap();
        let status = head[9..12].parse().unwrap();
        let length: usize = head
            .lines()
            .find_map(|line| {
                let (name, value) = line.split_once(':')?;
                name.eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse().unwrap())
            })
            .expect("a content-length");
        let mut body = vec![0; length];
        self.0.read_exact(&mut body).await.unwrap();
        (status, String::from_utf8(body).unwrap())
    }

    async fn jwks(&mut self) -> Vec<String> {
        let (status, body) = self.get("/.well-known/jwks.json").await;
        assert_eq!(status, 200, "{body}");
        published(&serde_json::from_str(&body).unwrap())
    }
}

#[tokio::test]
async fn sighup_reloads_the_binary_keys_on_an_open_connection() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys.json");
    SigningKeys::new("first", new_key(Algorithm::ES256))
        .unwrap()
        .write(&path)
        .unwrap();
    let demo = Running::start(&path);
    let mut connection = Connection::open(&demo.addr).await;
    assert_eq!(connection.jwks().await, ["first"]);

    edit(&path, |keys| {
        keys.insert(1, "second", new_key(Algorithm::EdDSA)).unwrap();
    });
    demo.hangup();
    let line = demo.expect_line("keys.reload");
    assert!(line.contains("reloaded"), "{line}");
    assert!(line.contains("first (ES256, signs)"), "{line}");
    assert!(line.contains("second (EdDSA, verifies)"), "{line}");
    assert_eq!(connection.jwks().await, ["first", "second"]);

    // A refused file is reported and changes nothing; the connection is still open.
    std::fs::write(&path, "{\"keys\": [1]}").unwrap();
    demo.hangup();
    let line = demo.expect_line("keys.reload");
    assert!(line.contains("keeping the current keys"), "{line}");
    assert!(line.contains("not a JWK Set"), "{line}");
    assert_eq!(connection.jwks().await, ["first", "second"]);
    let (status, body) = connection.get("/api/health").await;
    assert_eq!((status, body.as_str()), (200, "ok"));

    // Promoted and the old key retired in one edit: only the new key is left.
    let mut keys = SigningKeys::new("second", new_key(Algorithm::EdDSA)).unwrap();
    keys.push("third", new_key(Algorithm::ES384)).unwrap();
    keys.write(&path).unwrap();
    demo.hangup();
    let line = demo.expect_line("keys.reload");
    assert!(line.contains("second (EdDSA, signs)"), "{line}");
    assert_eq!(connection.jwks().await, ["second", "third"]);
}
