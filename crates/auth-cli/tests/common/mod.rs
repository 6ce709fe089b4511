//! Running the built `authctl` binary, and the checks every test shares: success prints
//! to stdout, failure is exit 1 with exactly one line on stderr and never a panic.
#![allow(dead_code)] // Each test binary uses a different subset of these helpers.

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use serde_json::Value;

/// A scratch directory for key files, removed when dropped.
pub(crate) struct Dir(tempfile::TempDir);

impl Dir {
    pub(crate) fn new() -> Self {
        Self(tempfile::tempdir().unwrap())
    }

    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.0.path().join(name)
    }

    /// Writes `contents` to `name` and returns its path as a string.
    pub(crate) fn write(&self, name: &str, contents: &str) -> String {
        let path = self.path(name);
        std::fs::write(&path, contents).unwrap();
        path.display().to_string()
    }
}

/// A file of `tests/data`.
pub(crate) fn data(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
        .display()
        .to_string()
}

fn command(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut cmd = Command::cargo_bin("authctl").unwrap();
    cmd.args(args).env("RUST_BACKTRACE", "1");
    if let Some(stdin) = stdin {
        cmd.write_stdin(stdin.to_vec());
    }
    cmd.output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// Runs `authctl args`, asserts exit 0, returns stdout.
pub(crate) fn ok(args: &[&str]) -> String {
    ok_stdin(args, None)
}

/// Like [`ok`] with bytes on stdin.
pub(crate) fn ok_stdin(args: &[&str], stdin: Option<&[u8]>) -> String {
    let out = command(args, stdin);
    assert!(
        out.status.success(),
        "authctl {args:?} failed: {}",
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// Runs `authctl args` and parses stdout as JSON (asserting exit 0).
pub(crate) fn ok_json(args: &[&str]) -> Value {
    serde_json::from_str(&ok(args)).unwrap()
}

/// Runs `authctl args`, asserts exit 1 with one line on stderr (no panic, no
/// backtrace) and nothing on stdout; returns the line.
pub(crate) fn fails(args: &[&str]) -> String {
    fails_stdin(args, None)
}

/// Like [`fails`] with bytes on stdin.
pub(crate) fn fails_stdin(args: &[&str], stdin: Option<&[u8]>) -> String {
    let out = command(args, stdin);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "authctl {args:?}: {stderr}");
    assert!(out.stdout.is_empty(), "authctl {args:?} printed to stdout");
    assert!(stderr.ends_with('\n'), "{stderr:?}");
    assert_eq!(stderr.lines().count(), 1, "not one line: {stderr:?}");
    assert!(stderr.starts_with("authctl: error: "), "{stderr:?}");
    assert!(
        !stderr.trim_end().contains(char::is_control),
        "a control character on the terminal: {stderr:?}"
    );
    for word in ["panicked", "backtrace", "RUST_BACKTRACE"] {
        assert!(!stderr.contains(word), "{stderr:?}");
    }
    stderr.trim_end().to_owned()
}

/// Generates a key with `keygen` into `dir/name` and returns the path.
pub(crate) fn keygen(dir: &Dir, name: &str, args: &[&str]) -> String {
    let mut all = vec!["keygen"];
    all.extend_from_slice(args);
    let jwk = ok(&all);
    dir.write(name, &jwk)
}

/// Signs with `key`, extra arguments appended; returns the token.
pub(crate) fn sign(key: &str, claims: &str, extra: &[&str]) -> String {
    let mut args = vec!["sign", "--key", key, "--claims", claims];
    args.extend_from_slice(extra);
    ok(&args).trim_end().to_owned()
}

/// Replaces the character at `index` of `token` with another base64url character.
pub(crate) fn alter(token: &str, index: usize) -> String {
    let mut bytes = token.as_bytes().to_vec();
    bytes[index] = if bytes[index] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).unwrap()
}
