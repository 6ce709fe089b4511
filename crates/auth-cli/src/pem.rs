//! PEM (RFC 7468) framing: the label of the first block, and its DER bytes.

use base64::Engine as _;

/// The label of the first PEM block (`PRIVATE KEY`, `PUBLIC KEY`, ...), if the text
/// starts with one.
pub(crate) fn label(text: &str) -> Option<&str> {
    let rest = text.trim_start().strip_prefix("-----BEGIN ")?;
    let end = rest.find("-----")?;
    Some(&rest[..end])
}

/// The label and DER bytes of the first PEM block.
pub(crate) fn decode(text: &str) -> Option<(&str, Vec<u8>)> {
    let label = label(text)?;
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = text.find(&begin)? + begin.len();
    let stop = start + text[start..].find(&end)?;
    let body: String = text[start..stop]
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(body)
        .ok()?;
    Some((label, der))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_bodies() {
        let text = "\n-----BEGIN PUBLIC KEY-----\nAAEC\nAw==\n-----END PUBLIC KEY-----\n";
        assert_eq!(label(text), Some("PUBLIC KEY"));
        assert_eq!(decode(text), Some(("PUBLIC KEY", vec![0, 1, 2, 3])));
        assert_eq!(label("{\"kty\":\"EC\"}"), None);
        assert_eq!(decode("-----BEGIN X-----\n!!\n-----END X-----"), None);
        assert_eq!(decode("-----BEGIN X-----\nAAEC\n"), None);
    }
}
