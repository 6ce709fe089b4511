//! Strict base64url (RFC 7515 §2): no padding, no whitespace, URL-safe alphabet only,
//! canonical trailing bits.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Whether every byte is in the base64url alphabet. Branch-free per byte, so the compiler
/// can vectorize it: this runs over every token before anything else.
pub(crate) fn is_alphabet(text: &[u8]) -> bool {
    let bad = text.iter().fold(0u8, |bad, &b| {
        // `b | 0x20` folds upper case onto lower case and maps no other byte into a-z.
        let letter = (b | 0x20).wrapping_sub(b'a') < 26;
        let digit = b.wrapping_sub(b'0') < 10;
        bad | u8::from(!(letter | digit | (b == b'-') | (b == b'_')))
    });
    bad == 0
}

/// Decodes base64url without padding, refusing anything non-canonical.
pub(crate) fn decode(text: &[u8]) -> Option<Vec<u8>> {
    if !is_alphabet(text) {
        return None;
    }
    URL_SAFE_NO_PAD.decode(text).ok()
}

/// Decodes text whose alphabet was already checked (a segment of a parsed compact
/// token) into `stack` when it is large enough, else into `heap`; returns the bytes.
pub(crate) fn decode_buffered<'b>(
    text: &[u8],
    stack: &'b mut [u8],
    heap: &'b mut Vec<u8>,
) -> Option<&'b [u8]> {
    if base64::decoded_len_estimate(text.len()) <= stack.len() {
        let len = URL_SAFE_NO_PAD.decode_slice(text, stack).ok()?;
        Some(&stack[..len])
    } else {
        URL_SAFE_NO_PAD.decode_vec(text, heap).ok()?;
        Some(heap.as_slice())
    }
}

/// Encodes as base64url without padding.
pub(crate) fn encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Appends base64url without padding to `out`.
pub(crate) fn encode_into(bytes: &[u8], out: &mut String) {
    URL_SAFE_NO_PAD.encode_string(bytes, out);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_alphabet_check_matches_the_definition_for_every_byte() {
        for b in 0..=255u8 {
            let expected = b.is_ascii_alphanumeric() || b == b'-' || b == b'_';
            assert_eq!(is_alphabet(&[b]), expected, "byte {b:#04x}");
            assert_eq!(is_alphabet(&[b'A', b, b'z']), expected, "byte {b:#04x}");
        }
        assert!(is_alphabet(b""));
    }
}
