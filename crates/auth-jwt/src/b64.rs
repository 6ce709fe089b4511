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

/// Decodes base64url without padding, refusing anything non-canonical (the decoder itself
/// refuses bytes outside the alphabet, padding and stray trailing bits), into `stack`
/// when it is large enough, else into `heap`; returns the bytes.
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

    /// The verifier leans on the decoder alone on its fast path: it must refuse every byte
    /// the alphabet check refuses, padding and non-canonical trailing bits.
    #[test]
    fn the_buffered_decoder_is_as_strict_as_the_alphabet() {
        let mut stack = [0u8; 16];
        let mut heap = Vec::new();
        let mut strict = |text: &[u8]| decode_buffered(text, &mut stack, &mut heap).is_some();
        assert!(strict(b"AAAA"));
        for b in 0..=255u8 {
            for text in [[b'A', b'A', b'A', b], [b, b'A', b'A', b'A']] {
                assert_eq!(strict(&text), is_alphabet(&text), "byte {b:#04x}");
            }
        }
        for bad in [&b"AA=="[..], b"AAA=", b"AAAA=", b"AB", b"AAB", b"A"] {
            assert!(!strict(bad), "{:?}", String::from_utf8_lossy(bad));
        }
        let mut long = "A".repeat(64).into_bytes();
        long.push(b'+');
        let mut heap = Vec::new();
        assert!(decode_buffered(&long, &mut [0u8; 4], &mut heap).is_none());
    }
}
