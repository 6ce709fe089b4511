//! The JWS compact serialization, parsed strictly before any decoding: exactly three
//! base64url segments (no padding, whitespace or other alphabets) within a size limit. The
//! header and the signature must not be empty; an empty payload is a valid JWS, and a JWT
//! refuses it later as claims that are not a JSON object.

use auth_core::AuthError;

/// The three segments of a compact JWS, still encoded.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Compact<'a> {
    pub(crate) header: &'a str,
    pub(crate) payload: &'a str,
    pub(crate) signature: &'a str,
    /// `header '.' payload`: the signing input.
    pub(crate) signing_input: &'a str,
}

impl<'a> Compact<'a> {
    pub(crate) fn parse(token: &'a str, max_len: usize) -> Result<Self, AuthError> {
        if token.len() > max_len {
            return Err(AuthError::Malformed("the token is over the size limit"));
        }
        if token.is_empty() {
            return Err(AuthError::Malformed("the token is empty"));
        }
        let bytes = token.as_bytes();
        // The header is short, so look for the first dot from the front and the last from
        // the back; the segment between must then hold no dot (the alphabet has none).
        let (Some(first), Some(last)) = (
            bytes.iter().position(|&b| b == b'.'),
            bytes.iter().rposition(|&b| b == b'.'),
        ) else {
            return Err(AuthError::Malformed(
                "the token does not have exactly three segments",
            ));
        };
        if first == last {
            return Err(AuthError::Malformed(
                "the token does not have exactly three segments",
            ));
        }
        let dots = [first, last];
        let segments_ok = crate::b64::is_alphabet(&bytes[..first])
            & crate::b64::is_alphabet(&bytes[first + 1..last])
            & crate::b64::is_alphabet(&bytes[last + 1..]);
        if !segments_ok {
            return Err(if bytes[first + 1..last].contains(&b'.') {
                AuthError::Malformed("the token does not have exactly three segments")
            } else {
                AuthError::Malformed("the token has a character outside base64url")
            });
        }
        let header = &token[..dots[0]];
        let payload = &token[dots[0] + 1..dots[1]];
        let signature = &token[dots[1] + 1..];
        if header.is_empty() {
            return Err(AuthError::Malformed("the token's header is empty"));
        }
        if signature.is_empty() {
            return Err(AuthError::Invalid("the token is unsigned"));
        }
        Ok(Self {
            header,
            payload,
            signature,
            signing_input: &token[..dots[1]],
        })
    }
}
