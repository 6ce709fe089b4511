//! Every command, run as the built binary: keygen, jwks, sign, verify, inspect, `--help`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failed test.

mod common;

use common::{Dir, data, fails, keygen, ok, ok_json, ok_stdin, sign};
use serde_json::Value;

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[test]
fn every_command_has_help() {
    for command in [
        &["--help"][..],
        &["keygen", "--help"],
        &["jwks", "--help"],
        &["sign", "--help"],
        &["verify", "--help"],
        &["inspect", "--help"],
    ] {
        let help = ok(command);
        assert!(help.contains("Usage: authctl"), "{command:?}: {help}");
    }
    assert!(ok(&["verify", "--help"]).contains("--require"));
}

#[test]
fn keygen_prints_private_jwks_for_every_generated_algorithm() {
    for (alg, kty, private) in [
        ("HS256", "oct", "k"),
        ("HS384", "oct", "k"),
        ("HS512", "oct", "k"),
        ("ES256", "EC", "d"),
        ("ES384", "EC", "d"),
        ("EdDSA", "OKP", "d"),
    ] {
        let jwk = ok_json(&["keygen", "--alg", alg, "--kid", "k1"]);
        assert_eq!(jwk["kty"], kty, "{alg}");
        assert_eq!(jwk["alg"], alg);
        assert_eq!(jwk["kid"], "k1");
        assert!(jwk[private].is_string(), "{alg}: {jwk}");
        // Without --kid a kid is still set (thumbprint, or random for secrets), and two
        // keys differ.
        let a = ok_json(&["keygen", "--alg", alg]);
        let b = ok_json(&["keygen", "--alg", alg]);
        assert!(a["kid"].as_str().is_some_and(|k| !k.is_empty()));
        assert_ne!(a[private], b[private], "{alg}");
        assert_ne!(a["kid"], b["kid"], "{alg}");
    }
    // The secret has the hash's length.
    let hs512 = ok_json(&["keygen", "--alg", "HS512"]);
    assert_eq!(hs512["k"].as_str().unwrap().len(), 86); // 64 bytes in base64url
}

/// `keygen > signing.jwk` leaves the private key as readable as the umask allows (0644
/// under the usual 022). `--out` writes a new file, mode 0600, atomically, and never
/// over one that exists.
#[test]
fn keygen_out_writes_a_new_private_file_only() {
    let dir = Dir::new();
    let out = dir.path("signing.jwk").display().to_string();
    let done = assert_cmd::Command::cargo_bin("authctl")
        .unwrap()
        .args([
            "keygen", "--alg", "ES256", "--kid", "2026-11", "--out", &out,
        ])
        .output()
        .unwrap();
    assert!(done.status.success(), "{done:?}");
    assert!(done.stdout.is_empty(), "the key is not printed");
    let note = String::from_utf8(done.stderr).unwrap();
    assert!(
        note.starts_with("authctl: note: ") && note.contains("\"2026-11\"") && note.contains(&out),
        "{note}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let written = std::fs::read_to_string(&out).unwrap();
    let jwk: Value = serde_json::from_str(&written).unwrap();
    assert_eq!(
        (jwk["alg"].as_str(), jwk["kid"].as_str()),
        (Some("ES256"), Some("2026-11"))
    );
    assert!(jwk["d"].is_string());
    let token = sign(&out, "{}", &[]);
    assert!(!token.is_empty());
    // --from converts into a file the same way.
    let rsa = dir.path("rsa.jwk").display().to_string();
    let pem = data("rsa2048-private.pem");
    ok(&["keygen", "--alg", "PS256", "--from", &pem, "--out", &rsa]);
    assert_eq!(ok_json(&["jwks", &rsa])["keys"][0]["alg"], "PS256");

    // Never over a file that exists, nor through a symbolic link.
    let line = fails(&["keygen", "--alg", "EdDSA", "--out", &out]);
    assert!(line.contains("exists already"), "{line}");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), written);
    #[cfg(unix)]
    {
        let link = dir.path("link.jwk").display().to_string();
        let target = dir.path("elsewhere.jwk");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let line = fails(&["keygen", "--alg", "EdDSA", "--out", &link]);
        assert!(line.contains("exists already"), "{line}");
        assert!(!target.exists());
        std::fs::remove_file(&link).unwrap();
    }
    let mut names: Vec<String> = std::fs::read_dir(dir.path(""))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["rsa.jwk", "signing.jwk"],
        "no temporary file is left"
    );
    assert!(ok(&["keygen", "--help"]).contains("--out"));
}

#[test]
fn keygen_refuses_rsa_generation_and_converts_rsa_pem() {
    for alg in ["RS256", "PS512"] {
        let line = fails(&["keygen", "--alg", alg]);
        assert!(line.contains("openssl genpkey"), "{line}");
        assert!(line.contains("--from"), "{line}");
    }
    let pem = data("rsa2048-private.pem");
    let jwk = ok_json(&["keygen", "--alg", "PS256", "--from", &pem, "--kid", "r1"]);
    assert_eq!(jwk["kty"], "RSA");
    assert_eq!(jwk["alg"], "PS256");
    for member in ["n", "e", "d", "p", "q", "dp", "dq", "qi"] {
        assert!(jwk[member].is_string(), "{member}");
    }
    // EC and Ed25519 PEM keys convert too, and the result signs what the PEM's public
    // key verifies.
    let dir = Dir::new();
    for (private, public, alg) in [
        ("ec-p256-private.pem", "ec-p256-public.pem", "ES256"),
        ("ed25519-private.pem", "ed25519-public.pem", "EdDSA"),
        ("rsa2048-private.pem", "rsa2048-public.pem", "RS384"),
    ] {
        let jwk = ok(&["keygen", "--alg", alg, "--from", &data(private)]);
        let key = dir.write(&format!("{alg}.jwk"), &jwk);
        let token = sign(&key, "{}", &[]);
        let out = ok_json(&["verify", "--jwks", &data(public), "--alg", alg, &token]);
        assert_eq!(out["header"]["alg"], alg);
    }
    // A PEM public key verifies whatever kid the token names (it is the only key).
    let custom = dir.write(
        "custom.jwk",
        &ok(&[
            "keygen",
            "--alg",
            "ES256",
            "--kid",
            "custom",
            "--from",
            &data("ec-p256-private.pem"),
        ]),
    );
    let token = sign(&custom, "{}", &[]);
    let out = ok_json(&["verify", "--jwks", &data("ec-p256-public.pem"), &token]);
    assert_eq!(out["header"]["kid"], "custom");
    // A public PEM, or a key of the wrong type for --alg, is refused.
    let line = fails(&[
        "keygen",
        "--alg",
        "ES256",
        "--from",
        &data("ec-p256-public.pem"),
    ]);
    assert!(line.contains("PEM private key"), "{line}");
    let line = fails(&["keygen", "--alg", "ES256", "--from", &pem]);
    assert!(line.contains("does not fit"), "{line}");
}

#[test]
fn keys_from_keygen_sign_with_one_kid_and_verify_with_a_set_of_several() {
    let dir = Dir::new();
    let keys = [
        keygen(&dir, "a.jwk", &["--alg", "ES256", "--kid", "a"]),
        keygen(&dir, "b.jwk", &["--alg", "EdDSA", "--kid", "b"]),
        keygen(&dir, "c.jwk", &["--alg", "ES384", "--kid", "c"]),
        dir.write(
            "d.jwk",
            &ok(&[
                "keygen",
                "--alg",
                "RS256",
                "--kid",
                "d",
                "--from",
                &data("rsa2048-private.pem"),
            ]),
        ),
    ];
    let set = ok(&["jwks", &keys[0], &keys[1], &keys[2], &keys[3]]);
    let parsed: Value = serde_json::from_str(&set).unwrap();
    let published = parsed["keys"].as_array().unwrap();
    assert_eq!(published.len(), 4);
    for jwk in published {
        for member in ["d", "p", "q", "dp", "dq", "qi", "k", "oth"] {
            assert!(
                jwk.get(member).is_none(),
                "a private member {member} was published"
            );
        }
        assert_eq!(jwk["use"], "sig");
    }
    let set_file = dir.write("set.json", &set);
    for (key, kid, alg) in [
        (&keys[0], "a", "ES256"),
        (&keys[1], "b", "EdDSA"),
        (&keys[2], "c", "ES384"),
        (&keys[3], "d", "RS256"),
    ] {
        let token = sign(
            key,
            r#"{"scope":"read write"}"#,
            &["--sub", "alice", "--iss", "https://auth.example"],
        );
        let out = ok_json(&[
            "verify",
            "--jwks",
            &set_file,
            "--iss",
            "https://auth.example",
            "--require",
            "sub",
            &token,
        ]);
        assert_eq!(out["verified"], true);
        assert_eq!(out["header"]["kid"], kid);
        assert_eq!(out["header"]["alg"], alg);
        assert_eq!(out["header"]["typ"], "JWT");
        assert_eq!(out["claims"]["sub"], "alice");
        assert_eq!(out["claims"]["scope"], "read write");
        // A set without that key does not know the kid.
        let others: Vec<&str> = keys
            .iter()
            .filter(|k| *k != key)
            .map(String::as_str)
            .collect();
        let mut args = vec!["jwks"];
        args.extend(others);
        let without = dir.write("without.json", &ok(&args));
        let line = fails(&["verify", "--jwks", &without, &token]);
        assert!(line.contains(&format!("unknown kid: {kid:?}")), "{line}");
    }
}

#[test]
fn hmac_keys_sign_and_verify_with_the_secret_jwk_and_never_publish() {
    let dir = Dir::new();
    let key = keygen(&dir, "h.jwk", &["--alg", "HS384", "--kid", "h"]);
    let token = sign(&key, r#"{"role":"admin"}"#, &["--aud", "api"]);
    let out = ok_json(&["verify", "--jwks", &key, "--aud", "api", &token]);
    assert_eq!(out["header"]["alg"], "HS384");
    assert_eq!(out["claims"]["role"], "admin");
    let line = fails(&["jwks", &key]);
    assert!(line.contains("never published"), "{line}");
}

#[test]
fn pem_keys_sign_and_verify_with_rsa_needing_alg() {
    let token = sign(&data("ec-p256-private.pem"), "{}", &[]);
    let out = ok_json(&["verify", "--jwks", &data("ec-p256-public.pem"), &token]);
    assert_eq!(out["header"]["alg"], "ES256");
    let token = sign(&data("ed25519-private.pem"), "{}", &[]);
    ok_json(&["verify", "--jwks", &data("ed25519-public.pem"), &token]);

    let line = fails(&[
        "sign",
        "--key",
        &data("rsa2048-private.pem"),
        "--claims",
        "{}",
    ]);
    assert!(line.contains("choose one with --alg"), "{line}");
    let token = sign(&data("rsa2048-private.pem"), "{}", &["--alg", "PS384"]);
    let out = ok_json(&[
        "verify",
        "--jwks",
        &data("rsa2048-public.pem"),
        "--alg",
        "PS384",
        &token,
    ]);
    assert_eq!(out["header"]["alg"], "PS384");
    // The same key bound to another algorithm refuses the token before any cryptography.
    let line = fails(&[
        "verify",
        "--jwks",
        &data("rsa2048-public.pem"),
        "--alg",
        "RS384",
        &token,
    ]);
    assert!(line.contains("not the algorithm of its key"), "{line}");

    // The PEM's thumbprint kid is the one jwks publishes for it.
    let set: Value = serde_json::from_str(&ok(&[
        "jwks",
        "--alg",
        "PS384",
        &data("rsa2048-private.pem"),
    ]))
    .unwrap();
    let header = ok_json(&["inspect", &token]);
    assert_eq!(set["keys"][0]["kid"], header["header"]["kid"]);
    assert_eq!(set["keys"][0]["alg"], "PS384");
    let public: Value = serde_json::from_str(&ok(&[
        "jwks",
        "--alg",
        "PS384",
        &data("rsa2048-public.pem"),
    ]))
    .unwrap();
    assert_eq!(set, public);
}

#[test]
fn sign_fills_iat_exp_jti_and_honours_given_claims() {
    let dir = Dir::new();
    let key = keygen(&dir, "k.jwk", &["--alg", "ES256"]);
    let before = now();
    let token = sign(&key, r#"{"a":1}"#, &["--ttl", "1h30m"]);
    let claims = &ok_json(&["inspect", &token])["claims"];
    let iat = claims["iat"].as_u64().unwrap();
    assert!(iat >= before && iat <= now());
    assert_eq!(claims["exp"].as_u64().unwrap(), iat + 5400);
    assert_eq!(claims["jti"].as_str().unwrap().len(), 22);
    assert_eq!(claims["a"], 1);

    // Given claims are kept; claims can come from a file.
    let file = dir.write(
        "claims.json",
        r#"{"iat": 1000, "exp": 2000, "jti": "mine", "sub": "bob"}"#,
    );
    let token = sign(&key, &format!("@{file}"), &[]);
    let claims = &ok_json(&["inspect", &token])["claims"];
    assert_eq!(
        (claims["iat"].as_u64(), claims["exp"].as_u64()),
        (Some(1000), Some(2000))
    );
    assert_eq!(claims["jti"], "mine");
    let public = dir.write("pub.json", &ok(&["jwks", &key]));
    let out = ok_json(&[
        "verify",
        "--jwks",
        &public,
        "--now",
        "1500",
        "--require",
        "jti",
        &token,
    ]);
    assert_eq!(out["claims"]["sub"], "bob");

    // Claims from stdin.
    let token = ok_stdin(
        &["sign", "--key", &key, "--claims", "@-"],
        Some(br#"{"via":"stdin"}"#),
    );
    assert_eq!(
        ok_json(&["inspect", token.trim()])["claims"]["via"],
        "stdin"
    );

    // Conflicts and impossible claims are refused, never silently resolved.
    for (claims, extra, expected) in [
        (r#"{"sub":"a"}"#, &["--sub", "b"][..], "--sub conflicts"),
        (r#"{"exp":5}"#, &["--ttl", "5m"][..], "--ttl conflicts"),
        (
            r#"{"exp":"soon"}"#,
            &[][..],
            "`exp` must be a non-negative number",
        ),
        (r#"{"aud":7}"#, &[][..], "`aud` must be a string"),
        ("[1,2]", &[][..], "must be a JSON object"),
        ("{not json", &[][..], "not valid JSON"),
        ("{}", &["--ttl", "0s"][..], "at least 1s"),
    ] {
        let mut args = vec!["sign", "--key", &key, "--claims", claims];
        args.extend_from_slice(extra);
        let line = fails(&args);
        assert!(line.contains(expected), "{claims}: {line}");
    }
    let line = fails(&["sign", "--key", &public, "--claims", "{}"]);
    assert!(
        line.contains("several keys") || line.contains("cannot sign"),
        "{line}"
    );
    let big = format!(r#"{{"blob":"{}"}}"#, "x".repeat(9000));
    let line = fails(&["sign", "--key", &key, "--claims", &big]);
    assert!(line.contains("8192"), "{line}");
}

#[test]
fn verify_reports_why_in_one_line() {
    let dir = Dir::new();
    let key = keygen(&dir, "k.jwk", &["--alg", "EdDSA", "--kid", "k"]);
    let set = dir.write("set.json", &ok(&["jwks", &key]));
    let token = sign(&key, "{}", &["--ttl", "10m", "--iss", "me", "--aud", "api"]);
    let iat = ok_json(&["inspect", &token])["claims"]["iat"]
        .as_u64()
        .unwrap();
    let at = |offset: u64| (iat + offset).to_string();

    // Reading the token from stdin.
    let out = ok_stdin(
        &["verify", "--jwks", &set, "--aud", "api", "-"],
        Some(format!("{token}\n").as_bytes()),
    );
    assert!(out.contains("\"verified\": true"), "{out}");

    for (args, expected) in [
        (vec!["--aud", "api", "--now", &at(600 + 31)], "expired"),
        (
            vec!["--aud", "api", "--now", &at(600 + 31), "--leeway", "1m"],
            "",
        ),
        (
            vec!["--aud", "api", "--leeway", "6m"],
            "leeway of 360 s is over the maximum of 300 s",
        ),
        (vec!["--aud", "web"], "aud names none of our audiences"),
        (vec![], "names an audience and this verifier claims none"),
        (
            vec!["--aud", "api", "--iss", "you"],
            "iss is not the expected issuer",
        ),
        (
            vec!["--aud", "api", "--typ", "at+jwt"],
            "typ is not the expected one",
        ),
        (
            vec![
                "--aud",
                "api",
                "--typ",
                "jwt",
                "--require",
                "iat",
                "--require",
                "jti",
            ],
            "",
        ),
        (
            vec!["--aud", "api", "--require", "sub"],
            "has no `sub` claim",
        ),
        (
            vec!["--aud", "api", "--now", "1000"],
            "issued in the future",
        ),
        (
            vec!["--aud", "api", "--max-bytes", "100"],
            "over the limit of 100 bytes",
        ),
        (
            vec!["--aud", "api", "--alg", "ES256"],
            "alg is \"EdDSA\" but --alg is ES256",
        ),
    ] {
        let mut all = vec!["verify", "--jwks", set.as_str()];
        all.extend(args.iter().copied());
        all.push(&token);
        if expected.is_empty() {
            ok_json(&all);
        } else {
            let line = fails(&all);
            assert!(line.contains(expected), "{args:?}: {line}");
        }
    }
}

#[test]
fn inspect_labels_its_output_as_not_verified() {
    let dir = Dir::new();
    let key = keygen(&dir, "k.jwk", &["--alg", "ES256", "--kid", "k"]);
    let token = sign(&key, r#"{"x":true}"#, &["--sub", "carol"]);
    let out = ok(&["inspect", &token]);
    assert!(
        out.trim_start()
            .starts_with("{\n  \"WARNING\": \"NOT VERIFIED"),
        "{out}"
    );
    let json: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["verified"], false);
    assert_eq!(json["header"]["kid"], "k");
    assert_eq!(json["claims"]["sub"], "carol");
    assert_eq!(json["signature_bytes"], 64);
    // Inspect does not care about the signature: an altered one still decodes.
    let forged = common::alter(&token, token.len() - 3);
    assert_eq!(ok_json(&["inspect", &forged])["verified"], false);
    // And from stdin.
    let out = ok_stdin(&["inspect", "-"], Some(token.as_bytes()));
    assert!(out.contains("carol"));
}
