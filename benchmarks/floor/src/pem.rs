//! PEM armor (RFC 7468) around DER, the form key files take.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// `der` as a PEM document with `label` (`PRIVATE KEY`, `PUBLIC KEY`), 64 characters a line.
pub fn pem(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in body.as_bytes().chunks(64) {
        // base64 output is ASCII, so every chunk is valid UTF-8.
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// The DER inside a PEM document labelled `label`, or `None` if it is not one.
pub fn unpem(label: &str, text: &str) -> Option<Vec<u8>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let body = text.trim().strip_prefix(&begin)?.strip_suffix(&end)?;
    let body: String = body.split_whitespace().collect();
    STANDARD.decode(body).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_the_files_auth_jwt_tests_use() {
        let dir = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../crates/auth-jwt/tests/data"
        );
        for (file, label, der) in [
            ("rsa2048-private.pem", "PRIVATE KEY", None),
            (
                "rsa2048-public.pem",
                "PUBLIC KEY",
                Some("rsa2048-public.der"),
            ),
            ("ed25519-public.pem", "PUBLIC KEY", None),
        ] {
            let text = std::fs::read_to_string(format!("{dir}/{file}")).unwrap();
            let decoded = unpem(label, &text).unwrap();
            assert_eq!(pem(label, &decoded), text, "{file}");
            if let Some(der) = der {
                assert_eq!(decoded, std::fs::read(format!("{dir}/{der}")).unwrap());
            }
        }
        assert!(
            unpem(
                "PUBLIC KEY",
                "-----BEGIN PRIVATE KEY-----\nAA==\n-----END PRIVATE KEY-----\n"
            )
            .is_none()
        );
    }
}
