//! `authctl keys`: a key file edited step by step through a staged rotation, each edit
//! checked by auth-jwt and written atomically; refusals are one line and leave the file
//! as it was.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failed test.

mod common;

use auth_jwt::SigningKeys;
use common::{Dir, data, fails, keygen, ok, ok_json};
use serde_json::Value;

/// `(kid, alg, role, published)` of each key of a listing.
fn roles(listing: &Value) -> Vec<(String, String, String, bool)> {
    listing
        .as_array()
        .unwrap()
        .iter()
        .map(|key| {
            assert_eq!(key.as_object().unwrap().len(), 4, "{key}");
            (
                key["kid"].as_str().unwrap().to_owned(),
                key["alg"].as_str().unwrap().to_owned(),
                key["role"].as_str().unwrap().to_owned(),
                key["published"].as_bool().unwrap(),
            )
        })
        .collect()
}

fn kids(listing: &Value) -> Vec<String> {
    roles(listing).into_iter().map(|(kid, ..)| kid).collect()
}

#[cfg(unix)]
fn mode(path: &str) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn entries(dir: &Dir) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir.path(""))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_staged_rotation_step_by_step() {
    let dir = Dir::new();
    let file = dir.path("keys.json").display().to_string();
    let listing = ok_json(&[
        "keys", "add", &file, "--create", "--alg", "ES256", "--kid", "2026-11",
    ]);
    assert_eq!(
        roles(&listing),
        [(
            "2026-11".to_owned(),
            "ES256".to_owned(),
            "signing".to_owned(),
            true
        )]
    );
    #[cfg(unix)]
    assert_eq!(mode(&file), 0o600);

    // Added second by default: it verifies, the first key still signs.
    let listing = ok_json(&["keys", "add", &file, "--alg", "EdDSA", "--kid", "2026-12"]);
    assert_eq!(
        roles(&listing),
        [
            (
                "2026-11".to_owned(),
                "ES256".to_owned(),
                "signing".to_owned(),
                true
            ),
            (
                "2026-12".to_owned(),
                "EdDSA".to_owned(),
                "verifying".to_owned(),
                true
            ),
        ]
    );
    // The file is what auth-jwt loads, in the same order.
    let loaded = SigningKeys::read(&file).unwrap();
    assert_eq!(loaded.kids().collect::<Vec<_>>(), ["2026-11", "2026-12"]);
    assert_eq!(ok_json(&["keys", "list", &file]), listing);

    // Promote: the new key signs.
    let listing = ok_json(&["keys", "promote", &file, "2026-12"]);
    assert_eq!(kids(&listing), ["2026-12", "2026-11"]);
    assert_eq!(roles(&listing)[0].2, "signing");
    assert_eq!(roles(&listing)[1].2, "verifying");
    // Promoting the signing key again changes nothing.
    assert_eq!(ok_json(&["keys", "promote", &file, "2026-12"]), listing);

    // The signing key cannot be retired; the old one can.
    let line = fails(&["keys", "retire", &file, "2026-12"]);
    assert!(line.contains("signing key"), "{line}");
    let listing = ok_json(&["keys", "retire", &file, "2026-11"]);
    assert_eq!(kids(&listing), ["2026-12"]);
    // Nor the last key.
    let line = fails(&["keys", "retire", &file, "2026-12"]);
    assert!(line.contains("only key"), "{line}");
    assert_eq!(kids(&ok_json(&["keys", "list", &file])), ["2026-12"]);

    #[cfg(unix)]
    assert_eq!(mode(&file), 0o600);
    assert_eq!(entries(&dir), ["keys.json"], "no temporary file is left");
}

#[test]
fn add_places_keys_second_or_last_and_never_publishes_secrets() {
    let dir = Dir::new();
    let file = dir.path("keys.json").display().to_string();
    ok(&[
        "keys", "add", &file, "--create", "--alg", "ES256", "--kid", "a",
    ]);
    ok(&["keys", "add", &file, "--alg", "ES384", "--kid", "b"]);
    let listing = ok_json(&[
        "keys", "add", &file, "--alg", "HS256", "--kid", "h", "--last",
    ]);
    assert_eq!(kids(&listing), ["a", "b", "h"]);
    let listing = ok_json(&["keys", "add", &file, "--alg", "EdDSA", "--kid", "c"]);
    assert_eq!(kids(&listing), ["a", "c", "b", "h"]);
    let (_, alg, role, published) = roles(&listing).remove(3);
    assert_eq!(
        (alg.as_str(), role.as_str(), published),
        ("HS256", "verifying", false)
    );
    // A generated key without --kid gets one: its thumbprint, random for a secret.
    let listing = ok_json(&["keys", "add", &file, "--alg", "HS512", "--last"]);
    assert_eq!(kids(&listing).len(), 5);
    let listing = ok_json(&["keys", "add", &file, "--alg", "ES256", "--last"]);
    let thumbprint = kids(&listing).pop().unwrap();
    assert_eq!(thumbprint.len(), 43, "{thumbprint}");

    // The listing never shows key material.
    let text = ok(&["keys", "list", &file]);
    for member in ["\"d\"", "\"k\"", "\"x\""] {
        assert!(!text.contains(member), "{member} in {text}");
    }
    // Duplicate kids are refused and the file is unchanged.
    let before = std::fs::read(&file).unwrap();
    let line = fails(&["keys", "add", &file, "--alg", "ES256", "--kid", "b"]);
    assert!(line.contains("share the kid \"b\""), "{line}");
    assert_eq!(std::fs::read(&file).unwrap(), before);

    // Promoting a secret warns that JWKS verifiers will refuse its tokens; promoting a
    // published key does not.
    let promote = |kid: &str| {
        let out = assert_cmd::Command::cargo_bin("authctl")
            .unwrap()
            .args(["keys", "promote", &file, kid])
            .output()
            .unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stderr).unwrap()
    };
    let note = promote("h");
    assert!(
        note.contains("HMAC secret") && note.contains("JWK Set"),
        "{note}"
    );
    let note = promote("a");
    assert!(!note.contains("HMAC"), "{note}");
}

#[test]
fn jwks_of_a_key_file_publishes_what_the_listing_marks_published() {
    let dir = Dir::new();
    let file = dir.path("keys.json").display().to_string();
    ok(&[
        "keys", "add", &file, "--create", "--alg", "ES256", "--kid", "a",
    ]);
    ok(&[
        "keys", "add", &file, "--alg", "HS256", "--kid", "h", "--last",
    ]);
    let listing = ok_json(&["keys", "add", &file, "--alg", "EdDSA", "--kid", "c"]);
    let published: Vec<String> = roles(&listing)
        .into_iter()
        .filter(|(_, _, _, published)| *published)
        .map(|(kid, ..)| kid)
        .collect();
    assert_eq!(published, ["a", "c"]);

    let out = assert_cmd::Command::cargo_bin("authctl")
        .unwrap()
        .args(["jwks", &file])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let set: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let kids: Vec<&str> = set["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(kids, published);
    assert!(!String::from_utf8_lossy(&out.stdout).contains("\"k\""));
    // The secret left out is named on stderr.
    let note = String::from_utf8(out.stderr).unwrap();
    assert!(
        note.starts_with("authctl: note: ") && note.contains("HMAC"),
        "{note}"
    );
    assert!(note.contains("key \"h\""), "{note}");

    // A file that is only a secret publishes nothing, and says so.
    let secret = keygen(&dir, "h.jwk", &["--alg", "HS256", "--kid", "h"]);
    let line = fails(&["jwks", &secret]);
    assert!(line.contains("never published"), "{line}");
    let only_secrets = dir.path("secrets.json").display().to_string();
    ok(&[
        "keys",
        "add",
        &only_secrets,
        "--create",
        "--alg",
        "HS256",
        "--kid",
        "s",
    ]);
    let line = fails(&["jwks", &only_secrets]);
    assert!(line.contains("no public key to publish"), "{line}");
}

#[test]
fn add_takes_existing_keys_from_jwks_and_pem() {
    let dir = Dir::new();
    let file = dir.path("keys.json").display().to_string();
    let jwk = keygen(&dir, "new.jwk", &["--alg", "EdDSA", "--kid", "from-jwk"]);
    ok(&["keys", "add", &file, "--create", "--from", &jwk]);
    // A PEM key is named by its thumbprint unless --kid names it.
    let ec = data("ec-p256-private.pem");
    let listing = ok_json(&["keys", "add", &file, "--from", &ec, "--last"]);
    let (kid, alg, ..) = roles(&listing).pop().unwrap();
    assert_eq!(alg, "ES256");
    let public = ok_json(&["jwks", &data("ec-p256-public.pem")]);
    assert_eq!(public["keys"][0]["kid"], kid.as_str());
    // An RSA PEM key needs its algorithm.
    let rsa = data("rsa2048-private.pem");
    let line = fails(&["keys", "add", &file, "--from", &rsa, "--kid", "r"]);
    assert!(line.contains("--alg"), "{line}");
    ok(&[
        "keys", "add", &file, "--from", &rsa, "--alg", "PS256", "--kid", "r",
    ]);
    // --kid renames a JWK's key.
    let other = keygen(&dir, "other.jwk", &["--alg", "ES384", "--kid", "mine"]);
    let listing = ok_json(&["keys", "add", &file, "--from", &other, "--kid", "renamed"]);
    assert_eq!(kids(&listing), ["from-jwk", "renamed", "r", &kid]);
    // A public key cannot be added.
    let line = fails(&["keys", "add", &file, "--from", &data("ed25519-public.pem")]);
    assert!(line.contains("public key"), "{line}");

    // The file publishes through `authctl jwks` and signs through auth-jwt.
    let published = ok_json(&["jwks", &file]);
    assert_eq!(published["keys"].as_array().unwrap().len(), 4);
    assert!(!published.to_string().contains("\"d\""));
    let loaded = SigningKeys::read(&file).unwrap();
    assert_eq!(loaded.signing_kid(), "from-jwk");
}

#[test]
fn refusals_are_one_line_and_leave_the_file_alone() {
    let dir = Dir::new();
    let missing = dir.path("missing.json").display().to_string();
    let line = fails(&["keys", "add", &missing, "--alg", "ES256"]);
    assert!(line.contains("--create"), "{line}");
    assert!(fails(&["keys", "promote", &missing, "k"]).contains("no such file"));
    assert!(fails(&["keys", "list", &missing]).contains("cannot read"));
    assert_eq!(entries(&dir), Vec::<String>::new());

    let file = dir.path("keys.json").display().to_string();
    ok(&[
        "keys", "add", &file, "--create", "--alg", "ES256", "--kid", "a",
    ]);
    ok(&["keys", "add", &file, "--alg", "ES256", "--kid", "b"]);
    let before = std::fs::read(&file).unwrap();
    for (args, expected) in [
        (
            &["keys", "promote", &file, "x"][..],
            "no key has the kid \"x\"",
        ),
        (&["keys", "retire", &file, "x"], "no key has the kid \"x\""),
        (&["keys", "retire", &file, "a"], "signing key"),
        (&["keys", "add", &file, "--alg", "RS256"], "openssl genpkey"),
        (
            &["keys", "add", &file, "--alg", "none"],
            "unknown algorithm",
        ),
        (
            &["keys", "add", &file, "--alg", "ES256", "--kid", ""],
            "kid",
        ),
    ] {
        let line = fails(args);
        assert!(line.contains(expected), "{args:?}: {line}");
    }
    assert_eq!(std::fs::read(&file).unwrap(), before);

    // Files that are not key files.
    let public = dir.write(
        "public.json",
        &ok(&[
            "jwks",
            &keygen(&dir, "k.jwk", &["--alg", "ES256", "--kid", "p"]),
        ]),
    );
    let line = fails(&["keys", "list", &public]);
    assert!(line.contains("public key"), "{line}");
    let junk = dir.write("junk.json", "{\"keys\": [\"a secret\"]}");
    let line = fails(&["keys", "list", &junk]);
    assert!(
        line.contains("not a JWK Set") && !line.contains("secret"),
        "{line}"
    );
    let empty = dir.write("empty.json", "{\"keys\": []}");
    assert!(fails(&["keys", "add", &empty, "--alg", "ES256"]).contains("no key"));
    // A PEM key is read (one key, named by its thumbprint), never rewritten.
    let pem = dir.write(
        "key.pem",
        &std::fs::read_to_string(data("ed25519-private.pem")).unwrap(),
    );
    assert_eq!(roles(&ok_json(&["keys", "list", &pem]))[0].2, "signing");
    let line = fails(&["keys", "add", &pem, "--alg", "ES256"]);
    assert!(line.contains("not a key file"), "{line}");
}

/// An RSA key with `dp` and `dq` swapped used to be added (ring checks them only when it
/// signs) and, once promoted, failed every signature.
#[test]
fn an_rsa_key_whose_members_disagree_is_never_added() {
    let dir = Dir::new();
    let file = dir.path("keys.json").display().to_string();
    ok(&[
        "keys", "add", &file, "--create", "--alg", "ES256", "--kid", "a",
    ]);
    let before = std::fs::read(&file).unwrap();
    let rsa = data("rsa2048-private.pem");
    let good: Value = ok_json(&["keygen", "--alg", "RS256", "--from", &rsa, "--kid", "r"]);
    let mut swapped = good.clone();
    swapped["dp"] = good["dq"].clone();
    swapped["dq"] = good["dp"].clone();
    let bad = dir.write("swapped.jwk", &swapped.to_string());
    let line = fails(&["keys", "add", &file, "--from", &bad]);
    assert!(line.contains("inconsistent RSA private key"), "{line}");
    assert_eq!(std::fs::read(&file).unwrap(), before);
}

/// One key under a second kid used to be added, and retiring the first kid left it
/// signing and verifying under the second.
#[test]
fn a_key_is_never_added_under_a_second_kid() {
    let dir = Dir::new();
    let file = dir.path("d.json").display().to_string();
    let ec = data("ec-p256-private.pem");
    ok(&[
        "keys", "add", &file, "--create", "--from", &ec, "--kid", "2026-01",
    ]);
    let before = std::fs::read(&file).unwrap();
    for extra in [&[][..], &["--kid", "2026-02"]] {
        let mut args = vec!["keys", "add", &file, "--from", &ec];
        args.extend_from_slice(extra);
        let line = fails(&args);
        assert!(line.contains("already in the set as \"2026-01\""), "{line}");
        assert_eq!(std::fs::read(&file).unwrap(), before, "{extra:?}");
    }
    // One RSA key is one key, whichever algorithm it is bound to.
    let rsa = data("rsa2048-private.pem");
    ok(&[
        "keys", "add", &file, "--from", &rsa, "--alg", "RS256", "--kid", "rs",
    ]);
    let line = fails(&[
        "keys", "add", &file, "--from", &rsa, "--alg", "PS256", "--kid", "ps",
    ]);
    assert!(line.contains("already in the set as \"rs\""), "{line}");
    assert_eq!(kids(&ok_json(&["keys", "list", &file])), ["2026-01", "rs"]);
}

/// `keys add` on a file near the size limit used to exit 0 and write a file that the
/// next `keys list`, a reload and a start all refused.
#[test]
fn an_edit_never_writes_a_file_over_the_limit() {
    let dir = Dir::new();
    let file = dir.path("keys.json").display().to_string();
    // One HMAC secret, long enough that the file ends a few hundred bytes under the limit.
    let text_len = |len: usize| {
        let key = auth_jwt::SigningKey::hmac(auth_jwt::Algorithm::HS256, &vec![7; len]).unwrap();
        SigningKeys::new("big", key).unwrap().to_json().len()
    };
    let overhead = text_len(33) - 44;
    let len = (auth_jwt::MAX_KEY_FILE_LEN - overhead - 200) / 4 * 3;
    let key = auth_jwt::SigningKey::hmac(auth_jwt::Algorithm::HS256, &vec![7; len]).unwrap();
    SigningKeys::new("big", key).unwrap().write(&file).unwrap();
    let before = std::fs::read(&file).unwrap();
    assert!(
        before.len() > auth_jwt::MAX_KEY_FILE_LEN - 300,
        "{}",
        before.len()
    );

    let line = fails(&["keys", "add", &file, "--alg", "ES256", "--kid", "new"]);
    assert!(line.contains("over the limit"), "{line}");
    assert!(line.contains("nothing was written"), "{line}");
    assert_eq!(std::fs::read(&file).unwrap(), before);
    assert_eq!(kids(&ok_json(&["keys", "list", &file])), ["big"]);
}

/// `keys add FILE --create` used to edit a FILE that existed, keeping its owner: whoever
/// created it first (in a shared directory) got the new private key in a file they own,
/// and their own key in the set.
#[test]
fn create_never_takes_over_a_file_that_exists() {
    let dir = Dir::new();
    let planted = keygen(&dir, "theirs.jwk", &["--alg", "ES256", "--kid", "theirs"]);
    let file = dir.path("keys.json").display().to_string();
    ok(&["keys", "add", &file, "--create", "--from", &planted]);
    let before = std::fs::read(&file).unwrap();
    let line = fails(&[
        "keys", "add", &file, "--create", "--alg", "ES256", "--kid", "mine",
    ]);
    assert!(line.contains("exists already"), "{line}");
    assert_eq!(std::fs::read(&file).unwrap(), before);
    // An empty file, or a symbolic link to a file not made yet, is taken no more.
    let empty = dir.write("empty.json", "");
    let line = fails(&["keys", "add", &empty, "--create", "--alg", "ES256"]);
    assert!(line.contains("exists already"), "{line}");
    assert_eq!(std::fs::read(&empty).unwrap(), b"");
    #[cfg(unix)]
    {
        let link = dir.path("link.json").display().to_string();
        let target = dir.path("later.json");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let line = fails(&["keys", "add", &link, "--create", "--alg", "ES256"]);
        assert!(line.contains("exists already"), "{line}");
        assert!(!target.exists());
    }
}

/// An edit killed before its rename (`strace -e inject=rename:signal=KILL`) leaves its
/// temporary file, with the private keys in it, beside the key file; nothing used to
/// remove it. The next edit does, and only files named exactly as the writer names them.
#[test]
fn an_edit_removes_the_temporary_files_of_killed_edits() {
    let dir = Dir::new();
    let file = dir.path("k.json").display().to_string();
    ok(&[
        "keys", "add", &file, "--create", "--alg", "ES256", "--kid", "old3",
    ]);
    ok(&["keys", "add", &file, "--alg", "ES256", "--kid", "new"]);
    let contents = std::fs::read_to_string(&file).unwrap();
    // What a killed `keys retire k.json old3` leaves, and files that only look like it.
    dir.write(".k.json.9f86d081884c7d65.tmp", &contents);
    for other in [
        ".k.json.9F86D081884C7D65.tmp",
        ".k.json.9f86d081.tmp",
        "k.json.bak",
    ] {
        dir.write(other, &contents);
    }
    ok(&["keys", "promote", &file, "new"]);
    assert_eq!(
        entries(&dir),
        [
            ".k.json.9F86D081884C7D65.tmp",
            ".k.json.9f86d081.tmp",
            "k.json",
            "k.json.bak"
        ]
    );
    // A refused edit cleans up too: it holds the lock all the same.
    dir.write(".k.json.0000000000000000.tmp", &contents);
    fails(&["keys", "retire", &file, "missing"]);
    assert!(!dir.path(".k.json.0000000000000000.tmp").exists());
    // And so does an add.
    dir.write(".k.json.0000000000000001.tmp", &contents);
    ok(&["keys", "add", &file, "--alg", "EdDSA", "--kid", "next"]);
    assert!(!dir.path(".k.json.0000000000000001.tmp").exists());
}

#[test]
fn concurrent_edits_never_undo_one_another() {
    let dir = Dir::new();
    let file = dir.path("keys.json").display().to_string();
    ok(&[
        "keys", "add", &file, "--create", "--alg", "ES256", "--kid", "signing",
    ]);
    ok(&[
        "keys",
        "add",
        &file,
        "--alg",
        "ES256",
        "--kid",
        "compromised",
    ]);
    // Eight adds and a retire at once, as processes: each one that reports success must
    // find its change in the file. Without a lock across the read and the rename, a later
    // rename drops an earlier edit (here most runs lost one), the retire included.
    let bin = assert_cmd::cargo::cargo_bin("authctl");
    let mut edits: Vec<(String, std::process::Child)> = (0..8)
        .map(|i| {
            let kid = format!("k{i}");
            let child = std::process::Command::new(&bin)
                .args([
                    "keys", "add", &file, "--alg", "ES256", "--kid", &kid, "--last",
                ])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            (kid, child)
        })
        .collect();
    let retire = std::process::Command::new(&bin)
        .args(["keys", "retire", &file, "compromised"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    edits.push(("compromised".to_owned(), retire));
    let mut expected = vec!["signing".to_owned()];
    for (kid, child) in edits {
        let done = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&done.stderr);
        assert!(done.status.success(), "{kid}: {stderr}");
        if kid != "compromised" {
            expected.push(kid);
        }
    }
    let mut found = kids(&ok_json(&["keys", "list", &file]));
    found.sort();
    expected.sort();
    assert_eq!(found, expected);
    // The lock is on the directory: the edits leave no file beside the key file.
    assert_eq!(entries(&dir), ["keys.json"]);
}

#[test]
fn keys_commands_have_help() {
    for command in ["list", "add", "promote", "retire"] {
        let help = ok(&["keys", command, "--help"]);
        assert!(help.contains("Usage: authctl keys"), "{command}: {help}");
    }
    assert!(ok(&["keys", "--help"]).contains("promote"));
    assert!(ok(&["keys", "add", "--help"]).contains("--last"));
}
