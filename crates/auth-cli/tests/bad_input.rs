//! Bad input of every kind gives exit 1 and one clear line on stderr, never a panic or a
//! backtrace: malformed JWKs, keys of the wrong type for `--alg`, truncated and huge
//! tokens, missing files, unknown algorithms.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failed test.

mod common;

use common::{Dir, alter, data, fails, fails_stdin, keygen, ok, sign};

#[test]
fn malformed_jwks_are_refused_by_every_command() {
    let dir = Dir::new();
    let cases = [
        ("not-json.jwk", "{\"kty\": \"EC\",", "not valid JSON"),
        (
            "no-kty.jwk",
            r#"{"crv":"P-256","x":"AA","y":"AA"}"#,
            "not a JWK or a JWK Set (line 1, column 33)",
        ),
        ("array.jwk", "[1, 2]", "neither a JWK"),
        (
            "bad-b64.jwk",
            r#"{"kty":"EC","crv":"P-256","x":"!!","y":"AA"}"#,
            "not base64url",
        ),
        (
            "short-x.jwk",
            r#"{"kty":"EC","crv":"P-256","x":"AAAA","y":"AAAA"}"#,
            "curve's length",
        ),
        (
            "dup.jwk",
            r#"{"kty":"EC","kty":"RSA"}"#,
            "not a JWK or a JWK Set",
        ),
        // A JWK Set whose key was encoded as a string once too often: the message gives
        // the position, never the text, which holds the secret.
        (
            "twice.jwk",
            r#"{"keys":["{\"kty\":\"oct\",\"alg\":\"HS256\",\"k\":\"c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldC0\"}"]}"#,
            "not a JWK or a JWK Set",
        ),
        (
            "weak-hmac.jwk",
            r#"{"kty":"oct","alg":"HS256","k":"c2hvcnQ"}"#,
            "too weak",
        ),
        (
            "none.jwk",
            r#"{"kty":"oct","alg":"none","k":"c2hvcnQ"}"#,
            "unsupported algorithm",
        ),
        ("binary.jwk", "\u{1}\u{2}", "not valid JSON"),
        (
            "cert.pem",
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
            "not a key",
        ),
    ];
    let token = sign(&data("ec-p256-private.pem"), "{}", &[]);
    for (name, contents, expected) in cases {
        let path = dir.write(name, contents);
        for args in [
            vec!["verify", "--jwks", &path, &token],
            vec!["jwks", &path],
            vec!["sign", "--key", &path, "--claims", "{}"],
        ] {
            let line = fails(&args);
            assert!(line.contains(name), "{args:?}: {line}");
            assert!(!line.contains("c2VjcmV0"), "{args:?}: {line}");
            // Signing with a public JWK, or publishing a secret, fails for that reason
            // first.
            let first = (args[0] == "sign" && line.contains("cannot sign"))
                || (args[0] == "jwks" && line.contains("never published"));
            if !first {
                assert!(line.contains(expected), "{args:?}: {line}");
            }
        }
    }
    let line = fails(&[
        "verify",
        "--jwks",
        &dir.path("missing.jwk").display().to_string(),
        &token,
    ]);
    assert!(
        line.contains("cannot read") && line.contains("missing.jwk"),
        "{line}"
    );
    let big = dir.write("big.jwk", &" ".repeat(2 * 1024 * 1024));
    let line = fails(&["jwks", &big]);
    assert!(line.contains("over the limit"), "{line}");
}

#[test]
fn keys_of_the_wrong_type_for_alg_are_refused() {
    let dir = Dir::new();
    let ec = keygen(&dir, "ec.jwk", &["--alg", "ES256", "--kid", "ec"]);
    let ec_public = dir.write("ec-public.json", &ok(&["jwks", &ec]));
    let mut unbound: serde_json::Value = serde_json::from_str(&ok(&["jwks", &ec])).unwrap();
    unbound["keys"][0].as_object_mut().unwrap().remove("alg");
    let unbound = dir.write("unbound.json", &unbound.to_string());
    let token = sign(&ec, "{}", &[]);

    // A JWK without alg bound to an algorithm of another family or curve.
    for alg in ["RS256", "HS256", "ES384", "EdDSA"] {
        let line = fails(&["verify", "--jwks", &unbound, "--alg", alg, &token]);
        assert!(
            line.contains("does not fit") || line.contains("Ed25519"),
            "{alg}: {line}"
        );
    }
    ok(&["verify", "--jwks", &unbound, "--alg", "ES256", &token]);
    // A JWK whose own alg disagrees with --alg.
    let line = fails(&["verify", "--jwks", &ec_public, "--alg", "ES384", &token]);
    assert!(
        line.contains("the JWK's alg is \"ES256\" but --alg is ES384"),
        "{line}"
    );
    // PEM keys of the wrong type, for each command that reads them.
    let line = fails(&[
        "verify",
        "--jwks",
        &data("ec-p256-public.pem"),
        "--alg",
        "RS256",
        &token,
    ]);
    assert!(line.contains("does not fit"), "{line}");
    let line = fails(&[
        "sign",
        "--key",
        &data("ed25519-private.pem"),
        "--alg",
        "ES256",
        "--claims",
        "{}",
    ]);
    assert!(line.contains("does not fit"), "{line}");
    let line = fails(&["jwks", "--alg", "HS256", &data("rsa2048-public.pem")]);
    assert!(
        line.contains("does not fit") || line.contains("HMAC"),
        "{line}"
    );
    // An RSA key under 2048 bits, and an unknown algorithm name.
    let line = fails(&["jwks", "--alg", "RS256", &data("rsa1024-public.pem")]);
    assert!(line.contains("at least 2048 bits"), "{line}");
    let line = fails(&["jwks", &data("rsa1024-public.pem")]);
    assert!(line.contains("at least 2048 bits"), "{line}");
    for alg in ["none", "hs256", "ES512"] {
        let line = fails(&["keygen", "--alg", alg]);
        assert!(line.contains("unknown algorithm"), "{alg}: {line}");
    }
    // A private key where a public one is expected.
    let line = fails(&["verify", "--jwks", &ec, &token]);
    assert!(line.contains("a private key"), "{line}");
    let line = fails(&["verify", "--jwks", &data("ec-p256-private.pem"), &token]);
    assert!(line.contains("a private key"), "{line}");
}

#[test]
fn truncated_altered_and_garbage_tokens_are_rejected() {
    let dir = Dir::new();
    let key = keygen(&dir, "k.jwk", &["--alg", "ES256", "--kid", "k"]);
    let set = dir.write("set.json", &ok(&["jwks", &key]));
    let token = sign(&key, r#"{"sub":"dave"}"#, &[]);
    ok(&["verify", "--jwks", &set, &token]);
    let dots: Vec<usize> = token.match_indices('.').map(|(i, _)| i).collect();
    let cases = [
        (token[..token.len() - 1].to_owned(), "signature"),
        (token[..token.len() - 10].to_owned(), "signature"),
        (token[..dots[1] + 1].to_owned(), "unsigned"),
        (token[..dots[1]].to_owned(), "three segments"),
        (token[..dots[0] + 5].to_owned(), "three segments"),
        (token[..5].to_owned(), "three segments"),
        (alter(&token, dots[0] + 3), "signature does not verify"),
        (alter(&token, token.len() - 5), "signature does not verify"),
        (format!("{token}.x"), "three segments"),
        (
            format!("{} {}", &token[..10], &token[11..]),
            "outside base64url",
        ),
        (token.replace('.', " "), "three segments"),
        (
            "eyJhbGciOiJub25lIn0.eyJleHAiOjk5OTk5OTk5OTl9.".to_owned(),
            "unsigned",
        ),
        (
            "eyJhbGciOiJub25lIn0.eyJleHAiOjk5OTk5OTk5OTl9.c2ln".to_owned(),
            "alg none",
        ),
        ("".to_owned(), "empty"),
    ];
    for (bad, expected) in &cases {
        let line = fails(&["verify", "--jwks", &set, bad]);
        assert!(line.contains("token rejected"), "{bad}: {line}");
        assert!(line.contains(expected), "{bad}: {line}");
    }
    // inspect says what is wrong with the shape, one line too.
    for (bad, expected) in [
        (token[..dots[1]].to_owned(), "2 segment(s)"),
        ("a.b.c.d.e".to_owned(), "JWE"),
        ("!!!.e30.AA".to_owned(), "header is not base64url"),
        ("e30.bm90IGpzb24.AA".to_owned(), "payload is not JSON"),
    ] {
        let line = fails(&["inspect", &bad]);
        assert!(line.contains(expected), "{bad}: {line}");
    }
}

#[test]
fn a_one_mebibyte_token_is_refused_before_decoding() {
    let dir = Dir::new();
    let key = keygen(&dir, "k.jwk", &["--alg", "HS256", "--kid", "k"]);
    let mut huge = sign(&key, "{}", &[]);
    let pad = 1024 * 1024 - huge.len();
    huge.insert_str(huge.find('.').unwrap() + 1, &"A".repeat(pad));
    assert_eq!(huge.len(), 1024 * 1024);
    // Too long for one argument on Linux, so it comes on stdin, as operators pipe it.
    let line = fails_stdin(&["verify", "--jwks", &key, "-"], Some(huge.as_bytes()));
    assert!(
        line.contains("the token is over the limit of 8192 bytes"),
        "{line}"
    );
    let line = fails_stdin(&["inspect", "-"], Some(huge.as_bytes()));
    assert!(line.contains("over the limit"), "{line}");
    // Raising --max-bytes lets the verifier see it, and it fails as a bad token.
    let line = fails_stdin(
        &["verify", "--jwks", &key, "--max-bytes", "2000000", "-"],
        Some(huge.as_bytes()),
    );
    assert!(line.contains("token rejected"), "{line}");
    // Junk on stdin: binary, or not UTF-8.
    let line = fails_stdin(&["verify", "--jwks", &key, "-"], Some(&[0xff, 0xfe, 0x00]));
    assert!(line.contains("not UTF-8"), "{line}");
}

#[test]
fn odd_options_and_unusable_keys_are_explained() {
    let dir = Dir::new();
    let line = fails(&["keygen", "--alg", "ES256", "--kid", ""]);
    assert!(line.contains("--kid must be 1 to 255 bytes"), "{line}");
    let line = fails(&[
        "keygen",
        "--alg",
        "HS256",
        "--from",
        &data("ec-p256-private.pem"),
    ]);
    assert!(line.contains("HMAC"), "{line}");

    let key = keygen(&dir, "e.jwk", &["--alg", "ES256", "--kid", "e"]);
    let other = keygen(&dir, "s.jwk", &["--alg", "ES256", "--kid", "s"]);
    let mut set: serde_json::Value = serde_json::from_str(&ok(&["jwks", &key, &other])).unwrap();
    set["keys"][0]["use"] = "enc".into();
    let set = dir.write("set.json", &set.to_string());
    let token = sign(&key, "{}", &[]);
    let line = fails(&["verify", "--jwks", &set, &token]);
    assert!(
        line.contains("kid \"e\" names a key of") && line.contains("use is not sig"),
        "{line}"
    );
    ok(&["verify", "--jwks", &set, &sign(&other, "{}", &[])]);

    let line = fails(&[
        "verify",
        "--jwks",
        &set,
        "--now",
        "18446744073709551615",
        &token,
    ]);
    assert!(line.contains("--now is out of range"), "{line}");
    let line = fails(&["verify", "--jwks", &set, "--max-bytes", "8", &token]);
    assert!(line.contains("over the limit of 8 bytes"), "{line}");
    let line = fails(&["verify", "--jwks", &set, "--max-bytes", "15", "e30.e30.AA"]);
    assert!(line.contains("too small"), "{line}");
}

#[test]
fn usage_errors_exit_2_without_a_backtrace() {
    for args in [
        &["verify"][..],
        &["sign", "--key", "k.jwk"],
        &["keygen"],
        &["verify", "--jwks", "f", "--leeway", "soon", "t"],
        &["nonsense"],
    ] {
        let out = assert_cmd::Command::cargo_bin("authctl")
            .unwrap()
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

/// Text from a key file (a JWK's `alg`, a PEM label) reaches the error line quoted and with
/// its control characters escaped: a hostile file cannot move the cursor and paint
/// "verified" over the error (`fails` asserts the line holds no control character).
#[test]
fn text_from_a_key_file_cannot_rewrite_the_error_line() {
    let dir = Dir::new();
    let jwk = ok(&["keygen", "--alg", "ES256", "--kid", "a"]);
    let public = ok(&["jwks", &dir.write("a.jwk", &jwk)]);
    let mut public: serde_json::Value = serde_json::from_str(&public).unwrap();
    // Escapes, and a right-to-left override that would show text in another order.
    public["keys"][0]["alg"] = "ES256\u{1b}[2K\u{1b}[1Gauthctl: \u{202e}KO deifirev".into();
    let hostile = dir.write("hostile.json", &public.to_string());
    let pem = dir.write(
        "hostile.pem",
        "-----BEGIN \u{1b}[2K\u{202e}x-----\nAAAA\n-----END \u{1b}[2K\u{202e}x-----\n",
    );
    for args in [
        [
            "verify",
            "--jwks",
            hostile.as_str(),
            "--alg",
            "ES256",
            "a.b.c",
        ]
        .as_slice(),
        &["jwks", "--alg", "ES256", hostile.as_str()],
        &["verify", "--jwks", pem.as_str(), "a.b.c"],
    ] {
        let line = fails(args);
        assert!(line.contains("\\u{1b}"), "escaped, not dropped: {line}");
        assert!(line.contains("\\u{202e}"), "escaped, not dropped: {line}");
        assert!(!line.contains('\u{202e}'), "{line}");
    }
}
