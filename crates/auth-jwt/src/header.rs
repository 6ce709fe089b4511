//! The JOSE header, parsed strictly: a JSON object with a supported `alg`, no `crit`
//! (no extension is understood), and the members that never choose a key (`jku`, `x5u`,
//! `x5c`, `jwk`) ignored.

use std::borrow::Cow;
use std::sync::Arc;

use auth_core::{AuthError, Reason};
use jsonwebtoken::Algorithm;
use serde::Deserialize;

use crate::algorithm;
use crate::b64;

/// What a verified token's header said.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TokenHeader {
    /// The algorithm the token claims (always the verifying key's own).
    pub alg: Algorithm,
    /// The key id the token named, if any (shared with the key set, not copied).
    pub kid: Option<Arc<str>>,
}

/// A parsed header, borrowing from the decoded bytes.
pub(crate) struct ParsedHeader<'b> {
    pub(crate) alg: Algorithm,
    pub(crate) kid: Option<Cow<'b, str>>,
    pub(crate) typ: Option<Cow<'b, str>>,
}

#[derive(Deserialize)]
struct Raw<'a> {
    #[serde(borrow)]
    alg: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    kid: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    typ: Option<Cow<'a, str>>,
    /// Present whatever its value, `null` included (RFC 7515 §4.1.11 has it a non-empty
    /// array of names, and a member given as `null` is still given).
    #[serde(default)]
    crit: Present,
}

/// Whether a member appeared at all, and if so whether it is a non-empty array of
/// strings.
#[derive(Default)]
enum Present {
    #[default]
    Absent,
    Names,
    Malformed,
}

impl<'de> Deserialize<'de> for Present {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        Ok(match value {
            serde_json::Value::Array(names)
                if !names.is_empty() && names.iter().all(serde_json::Value::is_string) =>
            {
                Self::Names
            }
            _ => Self::Malformed,
        })
    }
}

/// The longest decoded header accepted, in bytes.
const MAX_HEADER_LEN: usize = 2048;

/// Parses the encoded header, decoding into `stack` (or `heap` when it is too long).
pub(crate) fn parse<'b>(
    encoded: &str,
    stack: &'b mut [u8; 256],
    heap: &'b mut Vec<u8>,
) -> Result<ParsedHeader<'b>, AuthError> {
    if encoded.len() > MAX_HEADER_LEN * 4 / 3 + 4 {
        return Err(AuthError::Malformed(Reason::HeaderTooLong));
    }
    // Typical headers fit a small stack buffer; longer ones (up to the limit) use the heap.
    let json = b64::decode_buffered(encoded.as_bytes(), stack, heap)
        .ok_or(AuthError::Malformed(Reason::HeaderNotBase64url))?;
    if json.first() != Some(&b'{') {
        return Err(AuthError::Malformed(Reason::HeaderNotObject));
    }
    let raw: Raw<'b> =
        serde_json::from_slice(json).map_err(|_| AuthError::Malformed(Reason::HeaderNotJson))?;
    match raw.crit {
        Present::Absent => {}
        Present::Names => {
            return Err(AuthError::Invalid(Reason::CritNotUnderstood));
        }
        Present::Malformed => {
            return Err(AuthError::Malformed(Reason::CritMalformed));
        }
    }
    let alg_name = raw.alg.ok_or(AuthError::Malformed(Reason::NoAlg))?;
    if alg_name.eq_ignore_ascii_case("none") {
        return Err(AuthError::Invalid(Reason::AlgNone));
    }
    let alg = algorithm::parse(&alg_name).ok_or(AuthError::Invalid(Reason::UnsupportedAlg))?;
    Ok(ParsedHeader {
        alg,
        kid: raw.kid,
        typ: raw.typ,
    })
}
