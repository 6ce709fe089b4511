//! Why a credential was refused, as a type: what code matches on. The text of each reason
//! is for logs and for the detailed answers of development mode.

use std::fmt;

/// A registered JWT claim, named in a [`Reason`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Claim {
    /// `iss`.
    Iss,
    /// `sub`.
    Sub,
    /// `aud`.
    Aud,
    /// `exp`.
    Exp,
    /// `nbf`.
    Nbf,
    /// `iat`.
    Iat,
    /// `jti`.
    Jti,
    /// `fid`, the refresh family of an authkit access token.
    Fid,
}

impl Claim {
    /// The claim's name as it appears in a token.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Iss => "iss",
            Self::Sub => "sub",
            Self::Aud => "aud",
            Self::Exp => "exp",
            Self::Nbf => "nbf",
            Self::Iat => "iat",
            Self::Jti => "jti",
            Self::Fid => "fid",
        }
    }
}

impl fmt::Display for Claim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a credential was malformed or invalid ([`AuthError::Malformed`] and
/// [`AuthError::Invalid`]). Match on it; print it for logs.
///
/// [`AuthError::Malformed`]: crate::AuthError::Malformed
/// [`AuthError::Invalid`]: crate::AuthError::Invalid
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum Reason {
    // The compact form.
    /// The token is longer than the verifier's limit (checked before any decoding).
    #[error("the token is over the size limit")]
    TooLong,
    /// The token is empty.
    #[error("the token is empty")]
    Empty,
    /// The token is not three dot-separated segments.
    #[error("the token does not have exactly three segments")]
    NotThreeSegments,
    /// A segment has a character outside the base64url alphabet.
    #[error("the token has a character outside base64url")]
    NotBase64url,
    /// The header segment is empty.
    #[error("the token's header is empty")]
    EmptyHeader,
    /// The signature segment is empty.
    #[error("the token is unsigned")]
    Unsigned,

    // The header.
    /// The decoded header is over its size limit.
    #[error("the token's header is too long")]
    HeaderTooLong,
    /// The header is not canonical base64url.
    #[error("the token's header is not canonical base64url")]
    HeaderNotBase64url,
    /// The header is not a JSON object.
    #[error("the token's header is not a JSON object")]
    HeaderNotObject,
    /// The header is not valid JSON.
    #[error("the token's header is not valid JSON")]
    HeaderNotJson,
    /// `crit` names extensions, and this verifier understands none.
    #[error("the token's crit header names extensions this verifier does not understand")]
    CritNotUnderstood,
    /// `crit` is present but not a non-empty array of names.
    #[error("the token's crit header is not a non-empty array of names")]
    CritMalformed,
    /// The header has no `alg`.
    #[error("the token's header has no alg")]
    NoAlg,
    /// `alg` is `none`.
    #[error("alg none is never accepted")]
    AlgNone,
    /// `alg` names no algorithm this crate supports.
    #[error("the token's alg is not supported")]
    UnsupportedAlg,
    /// `alg` is not the algorithm of the key the token names.
    #[error("the token's alg is not the algorithm of its key")]
    AlgNotKeys,
    /// `kid` names no key of the key set.
    #[error("the token's kid names no known key")]
    UnknownKid,
    /// No `kid`, and the key set holds several keys.
    #[error("the token has no kid and the key set holds several keys")]
    NoKidAmongSeveral,
    /// The key set is empty.
    #[error("no verification key is configured")]
    NoKeys,
    /// The token's key was retired.
    #[error("the token's key has been retired")]
    KeyRetired,
    /// `typ` is not the one the verifier requires.
    #[error("the token's typ is not the expected one")]
    WrongTyp,

    // The signature.
    /// The signature is longer than any supported algorithm makes.
    #[error("the token's signature is too long")]
    SignatureTooLong,
    /// The signature is not canonical base64url.
    #[error("the token's signature is not canonical base64url")]
    SignatureNotBase64url,
    /// The signature does not verify.
    #[error("the token's signature does not verify")]
    BadSignature,

    // The claims.
    /// The payload is not canonical base64url.
    #[error("the token's payload is not canonical base64url")]
    PayloadNotBase64url,
    /// The claims are not a JSON object.
    #[error("the token's claims are not a JSON object")]
    ClaimsNotObject,
    /// The claims are not UTF-8.
    #[error("the token's claims are not UTF-8")]
    ClaimsNotUtf8,
    /// The claims are not valid JSON.
    #[error("the token's claims are not valid JSON")]
    ClaimsNotJson,
    /// The claims do not fit the caller's claims type.
    #[error("the token's claims do not have the expected types")]
    ClaimsWrongTypes,
    /// A registered claim appears twice.
    #[error("a registered claim appears twice")]
    DuplicateClaim,
    /// A claim the verifier requires is absent.
    #[error("the token has no {0}")]
    MissingClaim(Claim),
    /// A time claim is not a JSON number.
    #[error("{0} is not a number")]
    ClaimNotNumber(Claim),
    /// A time claim is a number outside 1970 to 9999.
    #[error("{0} is out of range")]
    ClaimOutOfRange(Claim),
    /// A claim that must be a string is not one.
    #[error("{0} is not a string")]
    ClaimNotString(Claim),
    /// `aud` is neither a string nor an array of strings.
    #[error("aud is not a string or an array of strings")]
    AudNotStrings,
    /// `iat_ms` is not a whole number.
    #[error("iat_ms is not a whole number")]
    IatMsNotWhole,
    /// `iat_ms` falls outside the second `iat` names.
    #[error("iat_ms does not match iat")]
    IatMsMismatch,
    /// `fid` is not a family id.
    #[error("fid is not a family id")]
    BadFamily,
    /// `iss` is not the expected issuer.
    #[error("the token's iss is not the expected issuer")]
    WrongIssuer,
    /// The token names an audience and the verifier claims none (RFC 7519 §4.1.3).
    #[error("the token names an audience and this verifier claims none")]
    UnexpectedAudience,
    /// `aud` names none of the verifier's audiences.
    #[error("the token's aud names none of our audiences")]
    WrongAudience,
    /// `nbf` is in the future, beyond the leeway.
    #[error("the token is not valid yet (nbf)")]
    NotYetValid,
    /// `iat` is in the future, beyond the leeway.
    #[error("the token was issued in the future (iat)")]
    IssuedInFuture,
    /// `roles` is not an array of strings.
    #[error("roles is not an array of strings")]
    RolesNotStrings,
    /// `scope` is not a string.
    #[error("scope is not a string")]
    ScopeNotString,
    /// `scp` is neither a string nor an array of strings.
    #[error("scp is not a string or an array of strings")]
    ScpNotStrings,
    /// `iss`, `jti` or `sub` is beyond what a revocation store keeps (over 255 bytes, or a
    /// `sub` with NUL): no revocation of the token could exist to be found, so it is
    /// refused rather than answered "not revoked".
    #[error("iss, jti or sub is beyond what the revocation store can check")]
    Unrevocable,

    // Refresh tokens.
    /// The refresh token is not 43 characters of canonical base64url.
    #[error("the refresh token is not well formed")]
    RefreshTokenMalformed,
    /// No live refresh token under that hash: never issued, expired, used and gone, or of
    /// a revoked or ended family.
    #[error("the refresh token is unknown, expired or revoked")]
    RefreshTokenUnknown,

    // The `Authorization` header.
    /// More than one `Authorization` header.
    #[error("more than one Authorization header")]
    SeveralAuthorizationHeaders,
    /// The `Authorization` header is not visible ASCII.
    #[error("Authorization header is not visible ASCII")]
    AuthorizationNotAscii,
    /// The `Authorization` header is not `<scheme> <credential>`.
    #[error("Authorization header is not `Bearer <token>`")]
    AuthorizationNotBearer,
    /// The `Authorization` scheme is not `Bearer`.
    #[error("Authorization scheme is not Bearer")]
    NotBearerScheme,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claim_reasons_name_their_claim() {
        assert_eq!(
            Reason::MissingClaim(Claim::Exp).to_string(),
            "the token has no exp"
        );
        assert_eq!(
            Reason::ClaimOutOfRange(Claim::Nbf).to_string(),
            "nbf is out of range"
        );
        assert_eq!(
            Reason::ClaimNotString(Claim::Fid).to_string(),
            "fid is not a string"
        );
        let error = crate::AuthError::Invalid(Reason::UnknownKid);
        assert!(matches!(
            error,
            crate::AuthError::Invalid(Reason::UnknownKid)
        ));
        assert_eq!(
            error.to_string(),
            "invalid credential: the token's kid names no known key"
        );
    }
}
