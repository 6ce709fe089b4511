//! jwt-simple (its pure-Rust feature set) as a JWT peer of authkit: signing and
//! `verify_token` (issuer and audience set, its default time checks) measured against the
//! ring floor in this process. See `benches/jwt.rs` and `../README.md`.
//!
//! ```
//! use jwt_floor::{Alg, Claims, Floor, KeyMaterial, Peer, check};
//! use jwt_simple_peer::JwtSimple;
//!
//! let material = KeyMaterial::for_alg(Alg::EdDSA)?;
//! let keys = JwtSimple::keys(Alg::EdDSA, &material)?.ok_or("EdDSA missing")?;
//! let floor = Floor::new(Alg::EdDSA, &material)?;
//! check::<JwtSimple>(Alg::EdDSA, &keys, &floor, &Claims::issue_now()?)?;
//! # Ok::<(), jwt_floor::PeerError>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::collections::HashSet;

use jwt_floor::{AUDIENCE, Alg, Claims, ISSUER, KID, KeyMaterial, Peer, PeerError};
use jwt_simple::prelude::{
    Audiences, Duration, ECDSAP256KeyPairLike as _, ECDSAP256PublicKeyLike as _,
    ECDSAP384KeyPairLike as _, ECDSAP384PublicKeyLike as _, ES256KeyPair, ES256PublicKey,
    ES384KeyPair, ES384PublicKey, Ed25519KeyPair, Ed25519PublicKey, EdDSAKeyPairLike as _,
    EdDSAPublicKeyLike as _, HS256Key, HS384Key, HS512Key, JWTClaims, MACLike as _, PS256KeyPair,
    PS256PublicKey, PS384KeyPair, PS384PublicKey, PS512KeyPair, PS512PublicKey, RS256KeyPair,
    RS256PublicKey, RS384KeyPair, RS384PublicKey, RS512KeyPair, RS512PublicKey,
    RSAKeyPairLike as _, RSAPublicKeyLike as _, VerificationOptions,
};
use serde::{Deserialize, Serialize};

/// The peer.
pub struct JwtSimple;

/// auth-jwt's extra claim, as jwt-simple's custom claims.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Extra {
    /// The issue time to the millisecond.
    pub iat_ms: u64,
}

/// One algorithm's keys and verification options, built once.
pub struct Keys {
    sign: SignKey,
    verify: VerifyKey,
    options: VerificationOptions,
}

enum SignKey {
    HS256(HS256Key),
    HS384(HS384Key),
    HS512(HS512Key),
    RS256(RS256KeyPair),
    RS384(RS384KeyPair),
    RS512(RS512KeyPair),
    PS256(PS256KeyPair),
    PS384(PS384KeyPair),
    PS512(PS512KeyPair),
    ES256(ES256KeyPair),
    ES384(ES384KeyPair),
    EdDSA(Ed25519KeyPair),
}

enum VerifyKey {
    HS256(HS256Key),
    HS384(HS384Key),
    HS512(HS512Key),
    RS256(RS256PublicKey),
    RS384(RS384PublicKey),
    RS512(RS512PublicKey),
    PS256(PS256PublicKey),
    PS384(PS384PublicKey),
    PS512(PS512PublicKey),
    ES256(ES256PublicKey),
    ES384(ES384PublicKey),
    EdDSA(Ed25519PublicKey),
}

/// The claims as jwt-simple's users build them: owned, since its signers take them by value.
fn jwt_claims(claims: &Claims) -> JWTClaims<Extra> {
    JWTClaims {
        issued_at: Some(Duration::from_secs(claims.iat)),
        expires_at: Some(Duration::from_secs(claims.exp)),
        invalid_before: Some(Duration::from_secs(claims.nbf)),
        issuer: Some(claims.iss.clone()),
        subject: Some(claims.sub.clone()),
        audiences: Some(Audiences::AsString(claims.aud.clone())),
        jwt_id: Some(claims.jti.clone()),
        nonce: None,
        custom: Extra {
            iat_ms: claims.iat_ms,
        },
    }
}

impl Peer for JwtSimple {
    const NAME: &'static str = "jwt-simple";
    type Keys = Keys;
    type Verified = JWTClaims<Extra>;

    fn keys(alg: Alg, material: &KeyMaterial) -> Result<Option<Keys>, PeerError> {
        let (sign, verify) = match material {
            KeyMaterial::Hmac { secret } => match alg {
                Alg::HS256 => {
                    let key = HS256Key::from_bytes(secret).with_key_id(KID);
                    (SignKey::HS256(key.clone()), VerifyKey::HS256(key))
                }
                Alg::HS384 => {
                    let key = HS384Key::from_bytes(secret).with_key_id(KID);
                    (SignKey::HS384(key.clone()), VerifyKey::HS384(key))
                }
                Alg::HS512 => {
                    let key = HS512Key::from_bytes(secret).with_key_id(KID);
                    (SignKey::HS512(key.clone()), VerifyKey::HS512(key))
                }
                _ => return Err("a key-pair algorithm with a secret".into()),
            },
            KeyMaterial::Pair(pair) => {
                let private = pair.private_pem();
                let public = pair.public_pem();
                macro_rules! load {
                    ($variant:ident, $pair:ty, $public:ty) => {
                        (
                            SignKey::$variant(<$pair>::from_pem(&private)?.with_key_id(KID)),
                            VerifyKey::$variant(<$public>::from_pem(&public)?),
                        )
                    };
                }
                match alg {
                    Alg::RS256 => load!(RS256, RS256KeyPair, RS256PublicKey),
                    Alg::RS384 => load!(RS384, RS384KeyPair, RS384PublicKey),
                    Alg::RS512 => load!(RS512, RS512KeyPair, RS512PublicKey),
                    Alg::PS256 => load!(PS256, PS256KeyPair, PS256PublicKey),
                    Alg::PS384 => load!(PS384, PS384KeyPair, PS384PublicKey),
                    Alg::PS512 => load!(PS512, PS512KeyPair, PS512PublicKey),
                    Alg::ES256 => load!(ES256, ES256KeyPair, ES256PublicKey),
                    Alg::ES384 => load!(ES384, ES384KeyPair, ES384PublicKey),
                    Alg::EdDSA => load!(EdDSA, Ed25519KeyPair, Ed25519PublicKey),
                    Alg::HS256 | Alg::HS384 | Alg::HS512 => {
                        return Err("an HMAC algorithm with a key pair".into());
                    }
                }
            }
        };
        let options = VerificationOptions {
            allowed_issuers: Some(HashSet::from([ISSUER.to_owned()])),
            allowed_audiences: Some(HashSet::from([AUDIENCE.to_owned()])),
            ..VerificationOptions::default()
        };
        Ok(Some(Keys {
            sign,
            verify,
            options,
        }))
    }

    fn sign(keys: &Keys, claims: &Claims) -> Result<String, PeerError> {
        let claims = jwt_claims(claims);
        let token = match &keys.sign {
            SignKey::HS256(k) => k.authenticate(claims),
            SignKey::HS384(k) => k.authenticate(claims),
            SignKey::HS512(k) => k.authenticate(claims),
            SignKey::RS256(k) => k.sign(claims),
            SignKey::RS384(k) => k.sign(claims),
            SignKey::RS512(k) => k.sign(claims),
            SignKey::PS256(k) => k.sign(claims),
            SignKey::PS384(k) => k.sign(claims),
            SignKey::PS512(k) => k.sign(claims),
            SignKey::ES256(k) => k.sign(claims),
            SignKey::ES384(k) => k.sign(claims),
            SignKey::EdDSA(k) => k.sign(claims),
        };
        Ok(token?)
    }

    fn verify(keys: &Keys, token: &str) -> Result<JWTClaims<Extra>, PeerError> {
        // jwt-simple takes its options by value: a clone per call is part of its API's cost.
        let options = Some(keys.options.clone());
        let claims = match &keys.verify {
            VerifyKey::HS256(k) => k.verify_token(token, options),
            VerifyKey::HS384(k) => k.verify_token(token, options),
            VerifyKey::HS512(k) => k.verify_token(token, options),
            VerifyKey::RS256(k) => k.verify_token(token, options),
            VerifyKey::RS384(k) => k.verify_token(token, options),
            VerifyKey::RS512(k) => k.verify_token(token, options),
            VerifyKey::PS256(k) => k.verify_token(token, options),
            VerifyKey::PS384(k) => k.verify_token(token, options),
            VerifyKey::PS512(k) => k.verify_token(token, options),
            VerifyKey::ES256(k) => k.verify_token(token, options),
            VerifyKey::ES384(k) => k.verify_token(token, options),
            VerifyKey::EdDSA(k) => k.verify_token(token, options),
        };
        Ok(claims?)
    }

    fn jti(verified: &JWTClaims<Extra>) -> &str {
        verified.jwt_id.as_deref().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use jwt_floor::{Floor, check};

    use super::*;

    /// Every algorithm: jwt-simple and the floor read each other's tokens, and jwt-simple
    /// refuses the hostile ones `check` builds.
    #[test]
    fn agrees_with_the_floor_and_validates() {
        for alg in Alg::ALL {
            let material = KeyMaterial::for_alg(alg).unwrap();
            let keys = JwtSimple::keys(alg, &material).unwrap().unwrap();
            let floor = Floor::new(alg, &material).unwrap();
            let claims = Claims::issue_now().unwrap();
            check::<JwtSimple>(alg, &keys, &floor, &claims).unwrap();
        }
    }
}
