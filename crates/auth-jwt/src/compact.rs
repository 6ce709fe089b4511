//! The JWS compact serialization, held strictly: exactly three base64url segments (no
//! padding, whitespace or other alphabets) within a size limit, the size checked before any
//! other work. The header and the signature must not be empty; an empty payload is a valid
//! JWS, and a JWT refuses it later as claims that are not a JSON object.

use auth_core::{AuthError, Reason};

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
    /// Splits `token` at its first and last dots. The alphabet is not scanned here: every
    /// segment is later decoded by the strict decoder, so a stray byte always ends in an
    /// error, and [`explain`](Self::explain) then names the real fault. Scanning every
    /// token up front would cost a tenth of an HS256 verification.
    pub(crate) fn parse(token: &'a str, max_len: usize) -> Result<Self, AuthError> {
        if token.len() > max_len {
            return Err(AuthError::Malformed(Reason::TooLong));
        }
        if token.is_empty() {
            return Err(AuthError::Malformed(Reason::Empty));
        }
        // The first dot from the front and the last from the back (both memchr scans); a
        // dot between them is a fault `explain` reports.
        let (Some(first), Some(last)) = (token.find('.'), token.rfind('.')) else {
            return Err(AuthError::Malformed(Reason::NotThreeSegments));
        };
        if first == last {
            return Err(AuthError::Malformed(Reason::NotThreeSegments));
        }
        let compact = Self {
            header: &token[..first],
            payload: &token[first + 1..last],
            signature: &token[last + 1..],
            signing_input: &token[..last],
        };
        if compact.header.is_empty() {
            return Err(compact.explain(AuthError::Malformed(Reason::EmptyHeader)));
        }
        if compact.signature.is_empty() {
            return Err(compact.explain(AuthError::Invalid(Reason::Unsigned)));
        }
        Ok(compact)
    }

    /// The error to report for a token that failed with `error`: a segment outside the
    /// strict base64url alphabet, or a fourth segment, is the root cause whatever step
    /// tripped over it.
    pub(crate) fn explain(&self, error: AuthError) -> AuthError {
        if self.payload.as_bytes().contains(&b'.') {
            return AuthError::Malformed(Reason::NotThreeSegments);
        }
        let strict = [self.header, self.payload, self.signature]
            .iter()
            .all(|segment| crate::b64::is_alphabet(segment.as_bytes()));
        if strict {
            error
        } else {
            AuthError::Malformed(Reason::NotBase64url)
        }
    }
}
