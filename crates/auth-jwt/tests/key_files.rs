//! Key files: a JWK Set of private JWKs whose order is the role (the first signs, every
//! key verifies, asymmetric keys are published), loaded into a `KeySet`, reloaded whole
//! and atomically, edited for a staged rotation and written atomically.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failed test.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use auth_core::memory::{MemoryRefreshTokenStore, MemoryRevocationStore};
use auth_core::{AuthError, Reason, SharedClock};
use auth_jwt::{
    Algorithm, Issuer, JwkSet, KeyError, KeyFileError, KeyInfo, KeyRole, KeySet, SigningKey,
    SigningKeys, Verifier,
};
use base64::Engine as _;
use serde_json::{Map, Value, json};

use common::{claims, data, forge_with, header, key_for, reason, verifier};

const ISSUER: &str = "https://issuer.test";

/// A scratch directory, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let id = SigningKey::generate(Algorithm::HS256)
            .unwrap()
            .to_private_jwk(None)
            .k
            .unwrap();
        let dir = std::env::temp_dir().join(format!(
            "auth-jwt-{name}-{}-{}",
            std::process::id(),
            &id[..12]
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    fn entries(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&self.0)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn kid_of(token: &str) -> String {
    let header = token.split('.').next().unwrap();
    let header = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .unwrap();
    let header: Value = serde_json::from_slice(&header).unwrap();
    header["kid"].as_str().unwrap().to_owned()
}

/// A token signed by `key` under `kid`, valid now for `verifier`'s issuer and audience.
fn token_of(clock: &auth_core::ManualClock, kid: &str, key: &SigningKey) -> String {
    forge_with(key, &header(key, kid), &claims(clock))
}

fn ok(verifier: &Verifier, token: &str) -> bool {
    verifier.verify::<Map<String, Value>>(token).is_ok()
}

fn published_kids(keys: &KeySet) -> Vec<String> {
    keys.jwks()
        .keys
        .into_iter()
        .map(|k| k.kid.unwrap())
        .collect()
}

fn file_of(keys: &[(&str, &SigningKey)]) -> String {
    let set = JwkSet {
        keys: keys
            .iter()
            .map(|(kid, key)| key.to_private_jwk(Some(kid)))
            .collect(),
    };
    set.to_json()
}

#[test]
fn the_first_key_signs_and_every_key_verifies() {
    let (clock, shared) = common::clock();
    let ec = key_for(Algorithm::ES256);
    let ed = key_for(Algorithm::EdDSA);
    let rsa = key_for(Algorithm::PS256);
    let hs = key_for(Algorithm::HS256);
    let document = file_of(&[("ec", &ec), ("ed", &ed), ("rsa", &rsa), ("hs", &hs)]);
    let file = SigningKeys::parse(&document).unwrap();
    assert_eq!(file.signing_kid(), "ec");
    assert_eq!(file.kids().collect::<Vec<_>>(), ["ec", "ed", "rsa", "hs"]);
    let keys = KeySet::from_signing_keys(&file, shared.clone());
    assert_eq!(keys.active_kid().as_deref(), Some("ec"));

    // The issuer signs with the first key.
    let issuer = Issuer::builder(keys.clone(), shared.clone())
        .issuer(ISSUER)
        .build(
            Arc::new(MemoryRefreshTokenStore::new(shared.clone())),
            Arc::new(MemoryRevocationStore::new(shared.clone())),
        )
        .unwrap();
    let minted = issuer.access_token("alice", &json!({})).unwrap().token;
    assert_eq!(kid_of(&minted), "ec");
    let plain = Verifier::builder(keys.clone(), shared.clone())
        .issuer(ISSUER)
        .build()
        .unwrap();
    assert!(ok(&plain, &minted));

    // Every key verifies its own tokens, and only under its own kid.
    let v = verifier(&keys, shared);
    for (kid, key) in [("ec", &ec), ("ed", &ed), ("rsa", &rsa), ("hs", &hs)] {
        assert!(ok(&v, &token_of(&clock, kid, key)), "{kid}");
    }
    assert!(!ok(&v, &token_of(&clock, "ed", &ec)));

    // Roles, in order; the HMAC secret is not published.
    let listed: Vec<(String, KeyRole, bool)> = keys
        .list()
        .into_iter()
        .map(|k| (k.kid, k.role, k.published))
        .collect();
    assert_eq!(
        listed,
        [
            ("ec".to_owned(), KeyRole::Signing, true),
            ("ed".to_owned(), KeyRole::Verifying, true),
            ("rsa".to_owned(), KeyRole::Verifying, true),
            ("hs".to_owned(), KeyRole::Verifying, false),
        ]
    );
    assert_eq!(file.list(), keys.list());
    assert_eq!(published_kids(&keys), ["ec", "ed", "rsa"]);
}

#[test]
fn an_hmac_secret_may_sign_and_is_never_published() {
    let (clock, shared) = common::clock();
    let hs = key_for(Algorithm::HS512);
    let ec = key_for(Algorithm::ES384);
    let file = SigningKeys::parse(&file_of(&[("hs", &hs), ("ec", &ec)])).unwrap();
    let keys = KeySet::from_signing_keys(&file, shared.clone());
    assert_eq!(keys.active_kid().as_deref(), Some("hs"));
    let v = verifier(&keys, shared);
    assert!(ok(&v, &token_of(&clock, "hs", &hs)));
    assert!(ok(&v, &token_of(&clock, "ec", &ec)));
    assert_eq!(published_kids(&keys), ["ec"]);
    assert_eq!(
        keys.list()[0],
        keys.list().into_iter().find(|k| !k.published).unwrap()
    );
}

#[test]
fn the_published_set_never_carries_private_members() {
    // Every RSA algorithm's key is the one committed RSA key, which a set holds once: each
    // gets a set of its own, beside a key of every other algorithm.
    let (rsa, others): (Vec<Algorithm>, Vec<Algorithm>) = auth_jwt::algorithm::SUPPORTED
        .into_iter()
        .partition(|alg| alg.family() == jsonwebtoken::AlgorithmFamily::Rsa);
    assert_eq!(rsa.len(), 6);
    for rsa in rsa {
        the_published_set_of_these_never_carries_private_members(&[&others[..], &[rsa]].concat());
    }
}

fn the_published_set_of_these_never_carries_private_members(algorithms: &[Algorithm]) {
    let (_, shared) = common::clock();
    let mut all = Vec::new();
    for (i, &alg) in algorithms.iter().enumerate() {
        all.push((format!("k{i}"), key_for(alg)));
    }
    let named: Vec<(&str, &SigningKey)> = all.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let keys = KeySet::from_signing_keys(&SigningKeys::parse(&file_of(&named)).unwrap(), shared);
    let jwks = keys.jwks();
    assert_eq!(jwks.keys.len(), 4, "the three HMAC secrets are left out");
    for jwk in &jwks.keys {
        assert!(!jwk.has_private_members(), "{jwk:?}");
        assert_ne!(jwk.kty, "oct");
    }
    let json = jwks.to_json();
    for private in [
        "\"d\"", "\"k\"", "\"p\"", "\"q\"", "\"dp\"", "\"dq\"", "\"qi\"",
    ] {
        assert!(!json.contains(private), "{private} in {json}");
    }
    // The published set is what a remote verifier loads.
    assert_eq!(
        KeySet::from_jwks(&json, keys.clock().clone())
            .unwrap()
            .jwks(),
        jwks
    );
}

#[test]
fn files_that_are_not_a_usable_key_set_are_refused_whole() {
    let a = key_for(Algorithm::ES256);
    let b = key_for(Algorithm::EdDSA);
    let private =
        |kid: &str, key: &SigningKey| serde_json::to_value(key.to_private_jwk(Some(kid))).unwrap();
    let public = serde_json::to_value(a.verifying_key().to_jwk(Some("pub")).unwrap()).unwrap();
    let parse = |keys: Vec<Value>| SigningKeys::parse(&json!({ "keys": keys }).to_string());

    assert!(matches!(parse(vec![]), Err(KeyFileError::Empty)));
    assert!(matches!(
        parse(vec![private("x", &a), private("x", &b)]),
        Err(KeyFileError::DuplicateKid(kid)) if kid == "x"
    ));
    assert!(matches!(
        parse(vec![private("a", &a), public.clone()]),
        Err(KeyFileError::PublicKey { index: 1, kid: Some(kid) }) if kid == "pub"
    ));
    assert!(matches!(
        parse(vec![public]),
        Err(KeyFileError::PublicKey { index: 0, .. })
    ));
    // An HMAC secret needs a kid: its thumbprint would hash the secret.
    let mut hs = private("h", &key_for(Algorithm::HS256));
    hs.as_object_mut().unwrap().remove("kid");
    assert!(matches!(
        parse(vec![private("a", &a), hs]),
        Err(KeyFileError::MissingKid { index: 1 })
    ));
    // A key the crate refuses refuses the file, with the key's position and kid.
    let mut enc = private("e", &b);
    enc["use"] = json!("enc");
    assert!(matches!(
        parse(vec![private("a", &a), enc]),
        Err(KeyFileError::Key { index: 1, kid: Some(kid), source: KeyError::Jwk(_) }) if kid == "e"
    ));
    let mut short = private("s", &key_for(Algorithm::HS256));
    short["k"] = json!("c2hvcnQ");
    assert!(matches!(
        parse(vec![short]),
        Err(KeyFileError::Key {
            source: KeyError::TooWeak(_),
            ..
        })
    ));
    let mut bad_kid = private("", &a);
    bad_kid["kid"] = json!("");
    assert!(matches!(
        parse(vec![bad_kid]),
        Err(KeyFileError::Key { .. })
    ));
    for document in [
        "",
        "[]",
        "{\"keys\":{}}",
        "{\"keys\":[1]}",
        "{\"keys\":[], \"keys\":[]}",
    ] {
        assert!(
            matches!(
                SigningKeys::parse(document),
                Err(KeyFileError::Document { .. })
            ),
            "{document}"
        );
    }
    // A duplicated member inside a key is refused too (which value would count?).
    let text = file_of(&[("a", &a)]).replacen("\"kty\"", "\"kty\":\"EC\",\"kty\"", 1);
    assert!(matches!(
        SigningKeys::parse(&text),
        Err(KeyFileError::Document { .. })
    ));
}

/// One key under two `kid`s used to be accepted, and retiring one `kid` left the key
/// signing or verifying under the other. The same public key (whatever its algorithm: an
/// RSA key as RS256 and PS256) or the same HMAC secret is refused, by an edit and in a
/// file.
#[test]
fn a_key_is_never_in_a_set_twice() {
    let ec = data("ec-p256-private.pem");
    let mut keys = SigningKeys::from_pem(&ec, None, Some("2026-01")).unwrap();
    // The same PEM again, under its thumbprint or another kid, first or last.
    let again = SigningKeys::from_pem(&ec, None, None).unwrap();
    for (index, kid) in [(1, again.signing_kid()), (0, "2026-02"), (9, "2026-03")] {
        let error = keys
            .insert(index, kid, again.signing_key().clone())
            .unwrap_err();
        assert!(
            matches!(
                &error,
                KeyFileError::DuplicateKey { kid: refused, existing }
                    if refused == kid && existing == "2026-01"
            ),
            "{error:?}"
        );
        assert_eq!(
            error.to_string(),
            format!("key \"{kid}\" is already in the set as \"2026-01\"")
        );
    }
    assert_eq!(keys.kids().collect::<Vec<_>>(), ["2026-01"]);

    // One RSA key bound to two algorithms is one key.
    let rsa = data("rsa2048-private.pem");
    let rs256 = SigningKey::from_pem(Algorithm::RS256, &rsa).unwrap();
    let ps256 = SigningKey::from_pem(Algorithm::PS256, &rsa).unwrap();
    keys.push("rs", rs256).unwrap();
    assert!(matches!(
        keys.push("ps", ps256.clone()),
        Err(KeyFileError::DuplicateKey { existing, .. }) if existing == "rs"
    ));

    // One HMAC secret under two kids, or two hashes, is one key; another secret is not.
    let secret = [7u8; 64];
    keys.push("h1", SigningKey::hmac(Algorithm::HS256, &secret).unwrap())
        .unwrap();
    for alg in [Algorithm::HS256, Algorithm::HS512] {
        assert!(matches!(
            keys.push("h2", SigningKey::hmac(alg, &secret).unwrap()),
            Err(KeyFileError::DuplicateKey { existing, .. }) if existing == "h1"
        ));
    }
    let mut other = secret;
    other[63] ^= 1;
    keys.push("h3", SigningKey::hmac(Algorithm::HS256, &other).unwrap())
        .unwrap();
    assert_eq!(
        keys.kids().collect::<Vec<_>>(),
        ["2026-01", "rs", "h1", "h3"]
    );

    // A file that holds a key twice is refused whole.
    let ec_key = keys.signing_key().clone();
    for twice in [
        file_of(&[("2026-01", &ec_key), ("2026-02", &ec_key)]),
        file_of(&[
            ("rs", &SigningKey::from_pem(Algorithm::RS256, &rsa).unwrap()),
            ("ps", &ps256),
        ]),
    ] {
        assert!(matches!(
            SigningKeys::parse(&twice),
            Err(KeyFileError::DuplicateKey { .. })
        ));
    }
}

#[test]
fn an_asymmetric_key_without_a_kid_is_named_by_its_thumbprint() {
    let key = key_for(Algorithm::EdDSA);
    let mut private = key.to_private_jwk(None);
    private.kid = None;
    let file = SigningKeys::from_jwk_set(&JwkSet {
        keys: vec![private],
    })
    .unwrap();
    let thumbprint = key
        .verifying_key()
        .to_jwk(None)
        .unwrap()
        .thumbprint()
        .unwrap();
    assert_eq!(file.signing_kid(), thumbprint);
    // Written back, the kid is explicit.
    assert_eq!(
        SigningKeys::parse(&file.to_json())
            .unwrap()
            .to_jwk_set()
            .keys[0]
            .kid
            .as_deref(),
        Some(thumbprint.as_str())
    );
}

#[test]
fn pem_private_keys_load_with_a_given_or_thumbprint_kid() {
    let ed = data("ed25519-private.pem");
    let file = SigningKeys::from_pem(&ed, None, None).unwrap();
    let key = file.signing_key();
    assert_eq!(key.algorithm(), Algorithm::EdDSA);
    let thumbprint = key
        .verifying_key()
        .to_jwk(None)
        .unwrap()
        .thumbprint()
        .unwrap();
    assert_eq!(file.signing_kid(), thumbprint);
    let ec = SigningKeys::from_pem(&data("ec-p256-private.pem"), None, Some("ec-1")).unwrap();
    assert_eq!(ec.signing_kid(), "ec-1");
    assert_eq!(ec.signing_key().algorithm(), Algorithm::ES256);

    // RSA serves six algorithms: the caller chooses.
    let rsa = data("rsa2048-private.pem");
    assert!(matches!(
        SigningKeys::from_pem(&rsa, None, None),
        Err(KeyFileError::AlgorithmNeeded)
    ));
    let rsa = SigningKeys::from_pem(&rsa, Some(Algorithm::PS384), None).unwrap();
    assert_eq!(rsa.signing_key().algorithm(), Algorithm::PS384);
    // Too weak, public, or wrong family: refused with the reason.
    assert!(matches!(
        SigningKeys::from_pem(&data("rsa1024-private.pem"), Some(Algorithm::RS256), None),
        Err(KeyFileError::Key { index: 0, .. })
    ));
    assert!(matches!(
        SigningKeys::from_pem(&data("ec-p256-public.pem"), None, None),
        Err(KeyFileError::PublicKey { .. })
    ));
    assert!(matches!(
        SigningKeys::from_pem(&ed, Some(Algorithm::ES256), None),
        Err(KeyFileError::Key {
            source: KeyError::WrongFamily(_),
            ..
        })
    ));

    // A PEM file reads as a set of one key.
    let dir = Scratch::new("pem");
    let path = dir.path("signing.pem");
    std::fs::write(&path, &ed).unwrap();
    assert_eq!(SigningKeys::read(&path).unwrap().signing_kid(), thumbprint);
}

#[test]
fn reading_reports_missing_oversized_and_malformed_files() {
    let dir = Scratch::new("read");
    assert!(matches!(
        SigningKeys::read(dir.path("missing.json")),
        Err(KeyFileError::Read { .. })
    ));
    let big = dir.path("big.json");
    std::fs::write(&big, vec![b' '; auth_jwt::MAX_KEY_FILE_LEN + 1]).unwrap();
    assert!(matches!(
        SigningKeys::read(&big),
        Err(KeyFileError::TooLarge { .. })
    ));
    let junk = dir.path("junk.json");
    std::fs::write(&junk, b"{\"keys\": [\xff]}").unwrap();
    assert!(matches!(
        SigningKeys::read(&junk),
        Err(KeyFileError::Document { .. })
    ));
    let (_, shared) = common::clock();
    assert!(KeySet::from_key_file(&junk, shared).is_err());
}

/// `write` used to write a set of any size, so an edit of a file near the limit left a
/// file that the next read, reload and start refused.
#[test]
fn an_edit_never_writes_a_file_that_readers_refuse() {
    let dir = Scratch::new("too-large");
    let path = dir.path("keys.json");
    let secret = |byte: u8| SigningKey::hmac(Algorithm::HS256, &vec![byte; 380_000]).unwrap();
    let mut file = SigningKeys::new("a", secret(1)).unwrap();
    file.push("b", secret(2)).unwrap();
    file.write(&path).unwrap();
    let before = std::fs::read(&path).unwrap();
    assert!(
        before.len() <= auth_jwt::MAX_KEY_FILE_LEN,
        "{}",
        before.len()
    );

    file.push("c", secret(3)).unwrap();
    let error = file.write(&path).unwrap_err();
    assert!(
        matches!(
            error,
            KeyFileError::TooLargeToWrite { len, limit, .. }
                if len == file.to_json().len() && limit == auth_jwt::MAX_KEY_FILE_LEN
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains("nothing was written"), "{error}");
    assert_eq!(std::fs::read(&path).unwrap(), before);
    assert_eq!(dir.entries(), ["keys.json"]);
    let again = SigningKeys::read(&path).unwrap();
    assert_eq!(again.kids().collect::<Vec<_>>(), ["a", "b"]);
    // Nor is a new file written.
    assert!(matches!(
        file.write(dir.path("new.json")),
        Err(KeyFileError::TooLargeToWrite { .. })
    ));
    assert_eq!(dir.entries(), ["keys.json"]);
}

/// `write` keeps the owner of a file it replaces, so starting a key file with it where
/// others can write let someone who created the file first own the new private key.
/// `write_new` refuses any path that exists, and leaves it as it was.
#[test]
fn write_new_never_takes_over_an_existing_path() {
    let dir = Scratch::new("write-new");
    let keys = SigningKeys::new("mine", key_for(Algorithm::ES256)).unwrap();
    let planted = dir.path("keys.json");
    let theirs = file_of(&[("theirs", &key_for(Algorithm::ES256))]);
    std::fs::write(&planted, &theirs).unwrap();
    for path in [planted.clone(), dir.0.clone()] {
        assert!(
            matches!(keys.write_new(&path), Err(KeyFileError::Exists { path: p }) if p == path),
            "{path:?}"
        );
    }
    assert_eq!(std::fs::read_to_string(&planted).unwrap(), theirs);
    #[cfg(unix)]
    {
        let link = dir.path("link.json");
        std::os::unix::fs::symlink(dir.path("missing.json"), &link).unwrap();
        assert!(matches!(
            keys.write_new(&link),
            Err(KeyFileError::Exists { .. })
        ));
        assert!(!dir.path("missing.json").exists());
        std::fs::remove_file(&link).unwrap();
    }
    assert_eq!(dir.entries(), ["keys.json"], "no temporary file is left");

    let new = dir.path("new.json");
    keys.write_new(&new).unwrap();
    assert_eq!(SigningKeys::read(&new).unwrap().signing_kid(), "mine");
    assert_eq!(dir.entries(), ["keys.json", "new.json"]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
        let meta = std::fs::metadata(&new).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        assert_eq!(meta.nlink(), 1, "the temporary name is gone");
    }
}

/// A write killed before its rename leaves its temporary file (private keys) beside the
/// key file, and nothing used to remove it. `remove_stale_temp_files` removes exactly the
/// names the writer gives, for that file, and nothing else.
#[test]
fn stale_temporary_files_are_removed_and_nothing_else() {
    let dir = Scratch::new("stale");
    let path = dir.path("k.json");
    let keys = SigningKeys::new("a", key_for(Algorithm::ES256)).unwrap();
    keys.write(&path).unwrap();
    let stale = [
        ".k.json.0123456789abcdef.tmp",
        ".k.json.ffffffffffffffff.tmp",
    ];
    let others = [
        ".k.json.0123456789ABCDEF.tmp",
        ".k.json.0123456789abcdef.tmp.bak",
        ".k.json.0123.tmp",
        ".other.json.0123456789abcdef.tmp",
        "k.json.0123456789abcdef.tmp",
        "notes.txt",
    ];
    for name in stale.iter().chain(&others) {
        std::fs::write(dir.path(name), keys.to_json()).unwrap();
    }
    // A directory named like a temporary file is not one.
    std::fs::create_dir(dir.path(".k.json.aaaaaaaaaaaaaaaa.tmp")).unwrap();
    let before = dir.entries();

    assert_eq!(SigningKeys::remove_stale_temp_files(&path).unwrap(), 2);
    let mut left: Vec<String> = before
        .into_iter()
        .filter(|name| !stale.contains(&name.as_str()))
        .collect();
    left.sort();
    assert_eq!(dir.entries(), left);
    assert_eq!(SigningKeys::read(&path).unwrap().signing_kid(), "a");
    // Nothing left to remove; a missing key file has none either.
    assert_eq!(SigningKeys::remove_stale_temp_files(&path).unwrap(), 0);
    assert_eq!(
        SigningKeys::remove_stale_temp_files(dir.path("missing.json")).unwrap(),
        0
    );
    // Through a symbolic link, the real file's leftovers are removed.
    #[cfg(unix)]
    {
        std::fs::write(dir.path(stale[0]), "{}").unwrap();
        let link = dir.path("link.json");
        std::os::unix::fs::symlink(&path, &link).unwrap();
        assert_eq!(SigningKeys::remove_stale_temp_files(&link).unwrap(), 1);
        assert!(!dir.path(stale[0]).exists());
    }
}

#[test]
fn writing_is_atomic_private_and_round_trips() {
    let dir = Scratch::new("write");
    let path = dir.path("keys.json");
    let mut file = SigningKeys::new("a", key_for(Algorithm::ES256)).unwrap();
    file.push("b", key_for(Algorithm::RS256)).unwrap();
    file.push("c", key_for(Algorithm::HS384)).unwrap();
    file.write(&path).unwrap();
    assert_eq!(dir.entries(), ["keys.json"], "no temporary file is left");
    let again = SigningKeys::read(&path).unwrap();
    assert_eq!(again.list(), file.list());
    assert_eq!(again.to_json(), file.to_json());
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.ends_with("}\n"));

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        // A file someone made readable to all keeps its group's read after an edit, and
        // nothing more: a service reading it through its group still can.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
        file.promote("b").unwrap();
        file.write(&path).unwrap();
        assert_eq!(mode(&path), 0o640);
        assert_eq!(SigningKeys::read(&path).unwrap().signing_kid(), "b");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o400)).unwrap();
        file.write(&path).unwrap();
        assert_eq!(mode(&path), 0o600);
        // The owner and group stay (changing them takes root: checked where it is).
        use std::os::unix::fs::MetadataExt as _;
        let nobody = 65534;
        if std::os::unix::fs::chown(&path, Some(nobody), Some(nobody)).is_ok() {
            file.write(&path).unwrap();
            let meta = std::fs::metadata(&path).unwrap();
            assert_eq!((meta.uid(), meta.gid()), (nobody, nobody));
        }
        // A link to a missing file is refused, not replaced by a file of its own.
        let dangling = dir.path("dangling.json");
        std::os::unix::fs::symlink(dir.path("gone.json"), &dangling).unwrap();
        assert!(matches!(
            file.write(&dangling),
            Err(KeyFileError::Write { .. })
        ));
        assert!(std::fs::symlink_metadata(&dangling).unwrap().is_symlink());
        std::fs::remove_file(&dangling).unwrap();
        // A symbolic link is followed: the file it names is replaced, the link stays.
        let link = dir.path("link.json");
        std::os::unix::fs::symlink(&path, &link).unwrap();
        file.promote("c").unwrap();
        file.write(&link).unwrap();
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(SigningKeys::read(&path).unwrap().signing_kid(), "c");
        assert_eq!(dir.entries(), ["keys.json", "link.json"]);
    }

    // A write that cannot happen leaves nothing behind.
    let nowhere = dir.path("missing-dir").join("keys.json");
    assert!(matches!(
        file.write(&nowhere),
        Err(KeyFileError::Write { .. })
    ));
    assert!(!nowhere.exists());
}

#[test]
fn debug_and_errors_never_show_key_material() {
    let key = key_for(Algorithm::HS256);
    let secret = key.to_private_jwk(None).k.unwrap();
    let file = SigningKeys::new("h", key).unwrap();
    let shown = format!("{file:?} {:?}", file.list());
    assert!(!shown.contains(&secret), "{shown}");
    let (_, shared) = common::clock();
    let keys = KeySet::from_signing_keys(&file, shared);
    assert!(!format!("{keys:?}").contains(&secret));
    // A secret too short to use: the error names the key, not the bytes.
    let document =
        json!({ "keys": [{ "kty": "oct", "alg": "HS256", "kid": "h", "k": "c2VjcmV0LXNob3J0" }] });
    let error = SigningKeys::parse(&document.to_string()).unwrap_err();
    let shown = format!("{error} {error:?}");
    assert!(!shown.contains("c2VjcmV0LXNob3J0"), "{shown}");
    assert!(shown.contains("key 0 (\"h\")"), "{shown}");
}

#[test]
fn a_reload_replaces_the_whole_set() {
    let (clock, shared) = common::clock();
    let (a, b, c) = (
        key_for(Algorithm::ES256),
        key_for(Algorithm::EdDSA),
        key_for(Algorithm::ES256),
    );
    let keys = KeySet::from_signing_keys(
        &SigningKeys::parse(&file_of(&[("a", &a), ("b", &b)])).unwrap(),
        shared.clone(),
    );
    let v = verifier(&keys, shared.clone());
    let (ta, tb) = (token_of(&clock, "a", &a), token_of(&clock, "b", &b));
    assert!(ok(&v, &ta) && ok(&v, &tb));

    // Retirement deadlines set by hand are dropped: the file is the whole truth.
    keys.retire(
        "b",
        auth_core::Clock::now(&*clock) + Duration::from_secs(60),
    );
    keys.reload(&SigningKeys::parse(&file_of(&[("c", &c), ("b", &b)])).unwrap());
    assert_eq!(keys.active_kid().as_deref(), Some("c"));
    assert_eq!(published_kids(&keys), ["c", "b"]);
    assert!(
        keys.list()
            .iter()
            .all(|k| !matches!(k.role, KeyRole::Retiring { .. }))
    );
    let error = v.verify::<Map<String, Value>>(&ta).unwrap_err();
    assert_eq!(
        reason(&error),
        "invalid: the token's kid names no known key"
    );
    assert!(ok(&v, &tb));
    assert!(ok(&v, &token_of(&clock, "c", &c)));

    // The same kid with another key: the old key's tokens fail.
    keys.reload(&SigningKeys::parse(&file_of(&[("c", &a)])).unwrap());
    assert!(!ok(&v, &token_of(&clock, "c", &c)));
    assert!(ok(&v, &token_of(&clock, "c", &a)));

    // A file that cannot be read leaves the set as it was.
    let dir = Scratch::new("reload");
    let path = dir.path("keys.json");
    std::fs::write(&path, "{\"keys\": []}").unwrap();
    assert!(matches!(
        keys.reload_from_file(&path),
        Err(KeyFileError::Empty)
    ));
    assert_eq!(published_kids(&keys), ["c"]);
    std::fs::write(&path, file_of(&[("b", &b)])).unwrap();
    keys.reload_from_file(&path).unwrap();
    assert_eq!(keys.active_kid().as_deref(), Some("b"));
}

/// The rotation a key file is for, each step an edit and a reload, with an issuer and a
/// remembering verifier on the set: no live token is ever refused, the new key signs
/// only once promoted, and the old key's tokens end only when it leaves the file.
#[tokio::test]
async fn a_staged_rotation_never_refuses_a_live_token() {
    let (clock, shared) = common::clock();
    let dir = Scratch::new("staged");
    let path = dir.path("keys.json");
    SigningKeys::new("old", key_for(Algorithm::ES256))
        .unwrap()
        .write(&path)
        .unwrap();
    let keys = KeySet::from_key_file(&path, shared.clone()).unwrap();
    let revocations = Arc::new(MemoryRevocationStore::new(shared.clone()));
    let issuer = Issuer::builder(keys.clone(), shared.clone())
        .issuer(ISSUER)
        .build(
            Arc::new(MemoryRefreshTokenStore::new(shared.clone())),
            revocations.clone(),
        )
        .unwrap();
    let verifier = |capacity| {
        Verifier::builder(keys.clone(), shared.clone())
            .issuer(ISSUER)
            .revocation_store(revocations.clone())
            .verified_cache(capacity)
            .build()
            .unwrap()
    };
    let (cached, uncached) = (verifier(100), verifier(0));
    let check = async |token: &str| -> Result<(), AuthError> {
        let a = cached.authenticate(token).await.map(|_| ());
        let b = uncached.authenticate(token).await.map(|_| ());
        assert_eq!(
            a.as_ref().map_err(reason),
            b.as_ref().map_err(reason),
            "the remembering verifier answered differently"
        );
        a
    };
    let mint = || issuer.access_token("alice", &json!({})).unwrap().token;
    let edit = |change: &dyn Fn(&mut SigningKeys)| {
        let mut file = SigningKeys::read(&path).unwrap();
        change(&mut file);
        file.write(&path).unwrap();
        keys.reload_from_file(&path).unwrap();
    };

    let old_token = mint();
    assert_eq!(kid_of(&old_token), "old");
    check(&old_token).await.unwrap();

    // 1. The new key second: published and verifying, the old key still signs.
    let new_key = key_for(Algorithm::EdDSA);
    edit(&|file| file.insert(1, "new", new_key.clone()).unwrap());
    assert_eq!(published_kids(&keys), ["old", "new"]);
    let still_old = mint();
    assert_eq!(kid_of(&still_old), "old");
    check(&old_token).await.unwrap();
    check(&still_old).await.unwrap();
    let early = {
        // A node that promoted early: its tokens already verify here.
        let early = SigningKeys::new("new", new_key.clone()).unwrap();
        let node = KeySet::from_signing_keys(&early, shared.clone());
        Issuer::builder(node, shared.clone())
            .issuer(ISSUER)
            .build(
                Arc::new(MemoryRefreshTokenStore::new(shared.clone())),
                revocations.clone(),
            )
            .unwrap()
            .access_token("bob", &json!({}))
            .unwrap()
            .token
    };
    check(&early).await.unwrap();

    // 2. Promoted: the new key signs, the old one verifies.
    edit(&|file| file.promote("new").unwrap());
    assert_eq!(published_kids(&keys), ["new", "old"]);
    let new_token = mint();
    assert_eq!(kid_of(&new_token), "new");
    for token in [&old_token, &still_old, &new_token, &early] {
        check(token).await.unwrap();
    }
    // The signing key cannot be retired.
    let mut file = SigningKeys::read(&path).unwrap();
    assert!(matches!(
        file.retire("new"),
        Err(KeyFileError::RetireSigning(_))
    ));

    // 3. Retired: the old key's tokens are refused, remembered or not.
    edit(&|file| {
        file.retire("old").unwrap();
    });
    assert_eq!(published_kids(&keys), ["new"]);
    for token in [&old_token, &still_old] {
        let error = check(token).await.unwrap_err();
        assert!(
            matches!(error, AuthError::Invalid(Reason::UnknownKid)),
            "{error:?}"
        );
    }
    check(&new_token).await.unwrap();
    check(&early).await.unwrap();
    let _ = clock;
}

/// Reloads racing verifications, signatures and reads: each sees one whole version of the
/// set, never keys of one with the signing key of the other.
#[test]
fn concurrent_readers_never_see_half_a_reload() {
    let (clock, shared) = common::clock();
    let a: Vec<(String, SigningKey)> = [Algorithm::ES256, Algorithm::EdDSA, Algorithm::HS256]
        .into_iter()
        .enumerate()
        .map(|(i, alg)| (format!("a{i}"), key_for(alg)))
        .collect();
    let b: Vec<(String, SigningKey)> = [Algorithm::EdDSA, Algorithm::ES256]
        .into_iter()
        .enumerate()
        .map(|(i, alg)| (format!("b{i}"), key_for(alg)))
        .collect();
    let file = |keys: &[(String, SigningKey)]| {
        let named: Vec<(&str, &SigningKey)> = keys.iter().map(|(k, v)| (k.as_str(), v)).collect();
        SigningKeys::parse(&file_of(&named)).unwrap()
    };
    let (file_a, file_b) = (file(&a), file(&b));
    let (list_a, list_b) = (file_a.list(), file_b.list());
    let jwks_a: Vec<String> = KeySet::from_signing_keys(&file_a, shared.clone())
        .jwks()
        .keys
        .into_iter()
        .map(|k| k.kid.unwrap())
        .collect();
    let jwks_b: Vec<String> = b.iter().map(|(k, _)| k.clone()).collect();

    let keys = KeySet::from_signing_keys(&file_a, shared.clone());
    let v = verifier(&keys, shared.clone());
    // Every key of both versions, never reloaded: checks a minted token's header and
    // signature belong together.
    let everything = KeySet::new(shared.clone());
    for (kid, key) in a.iter().chain(&b) {
        everything
            .insert_verifying_key(kid, key.verifying_key())
            .unwrap();
    }
    let judge = Verifier::builder(everything, shared.clone())
        .issuer(ISSUER)
        .build()
        .unwrap();
    let issuer = Issuer::builder(keys.clone(), shared.clone())
        .issuer(ISSUER)
        .build(
            Arc::new(MemoryRefreshTokenStore::new(shared.clone())),
            Arc::new(MemoryRevocationStore::new(shared.clone())),
        )
        .unwrap();
    let token_a = token_of(&clock, "a0", &a[0].1);
    let token_b = token_of(&clock, "b1", &b[1].1);

    let stop = AtomicBool::new(false);
    let reads = AtomicUsize::new(0);
    let (seen_a, seen_b) = (AtomicUsize::new(0), AtomicUsize::new(0));
    std::thread::scope(|scope| {
        for _ in 0..3 {
            scope.spawn(|| {
                while !stop.load(Ordering::Relaxed) {
                    let listed: Vec<KeyInfo> = keys.list();
                    if listed == list_a {
                        seen_a.fetch_add(1, Ordering::Relaxed);
                    } else if listed == list_b {
                        seen_b.fetch_add(1, Ordering::Relaxed);
                    } else {
                        panic!("half a set: {listed:?}");
                    }
                    let published = published_kids(&keys);
                    assert!(published == jwks_a || published == jwks_b, "{published:?}");
                    let minted = issuer.access_token("alice", &json!({})).unwrap().token;
                    let kid = kid_of(&minted);
                    assert!(kid == "a0" || kid == "b0", "{kid}");
                    assert!(
                        ok(&judge, &minted),
                        "a header of one version, a key of another"
                    );
                    for token in [&token_a, &token_b] {
                        match v.verify::<Map<String, Value>>(token) {
                            Ok(_) | Err(AuthError::Invalid(Reason::UnknownKid)) => {}
                            Err(other) => panic!("{other:?}"),
                        }
                    }
                    reads.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
        scope.spawn(|| {
            let mut reloads = 0;
            let give_up = std::time::Instant::now() + Duration::from_secs(60);
            while (reloads < 200 || reads.load(Ordering::Relaxed) < 600)
                && std::time::Instant::now() < give_up
            {
                keys.reload(if reloads % 2 == 0 { &file_b } else { &file_a });
                reloads += 1;
                std::thread::yield_now();
            }
            stop.store(true, Ordering::Relaxed);
        });
    });
    assert!(seen_a.load(Ordering::Relaxed) > 0, "never saw version A");
    assert!(seen_b.load(Ordering::Relaxed) > 0, "never saw version B");
    let _: SharedClock = shared;
}
