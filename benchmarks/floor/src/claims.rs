//! The claims every measured token carries.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::{SecureRandom as _, SystemRandom};
use serde::{Deserialize, Serialize};

use crate::FloorError;

/// The `iss` of every measured token.
pub const ISSUER: &str = "https://issuer.example";
/// The `aud` of every measured token.
pub const AUDIENCE: &str = "api";
/// The `sub` of every measured token.
pub const SUBJECT: &str = "alice";
/// Lifetime of a measured token: auth-jwt's default access-token lifetime.
pub const LIFETIME_SECS: u64 = 15 * 60;
/// The `kid` header every peer writes, as auth-jwt's bench does.
pub const KID: &str = "k";

/// The claims auth-jwt's issuer writes (and its bench parses), as a struct: the same shape
/// for every peer and the floor, so each parses the same bytes into the same fields.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Issuer.
    pub iss: String,
    /// Subject.
    pub sub: String,
    /// Audience.
    pub aud: String,
    /// Expiry, seconds since the epoch.
    pub exp: u64,
    /// Not before, seconds since the epoch.
    pub nbf: u64,
    /// Issued at, seconds since the epoch.
    pub iat: u64,
    /// Token id: 16 random bytes, base64url, like auth-jwt's.
    pub jti: String,
    /// auth-jwt's extra claim: the issue time to the millisecond.
    pub iat_ms: u64,
}

impl Claims {
    /// Claims issued now to [`SUBJECT`] by [`ISSUER`] for [`AUDIENCE`], valid for
    /// [`LIFETIME_SECS`], with a random `jti`.
    pub fn issue_now() -> Result<Self, FloorError> {
        let since = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_err(|_| FloorError::Clock)?;
        let mut jti = [0u8; 16];
        SystemRandom::new()
            .fill(&mut jti)
            .map_err(|_| FloorError::Random)?;
        let iat = since.as_secs();
        Ok(Claims {
            iss: ISSUER.to_owned(),
            sub: SUBJECT.to_owned(),
            aud: AUDIENCE.to_owned(),
            exp: iat + LIFETIME_SECS,
            nbf: iat,
            iat,
            jti: URL_SAFE_NO_PAD.encode(jti),
            iat_ms: u64::try_from(since.as_millis()).map_err(|_| FloorError::Clock)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_claims_are_current_and_unique() {
        let a = Claims::issue_now().unwrap();
        let b = Claims::issue_now().unwrap();
        assert_ne!(a.jti, b.jti);
        assert_eq!(a.jti.len(), 22);
        assert_eq!(a.exp, a.iat + LIFETIME_SECS);
        assert_eq!(a.iat_ms / 1000, a.iat);
    }
}
