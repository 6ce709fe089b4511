//! jsonwebtoken 11 as a [`Peer`]: `encode` and `decode` with keys loaded from PEM once, the
//! way its users hold them. Included with `#[path]` by each backend's crate, so the same code
//! runs against whichever backend that crate's features select (jsonwebtoken picks its
//! process-wide provider from the one enabled feature).

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, TokenData, Validation};
use jwt_floor::{AUDIENCE, Alg, Claims, Family, ISSUER, KID, KeyMaterial, Peer, PeerError};

/// jsonwebtoken with this crate's backend.
pub struct JsonWebToken;

/// One algorithm's keys and rules, built once.
pub struct Keys {
    header: Header,
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

fn algorithm(alg: Alg) -> Algorithm {
    match alg {
        Alg::HS256 => Algorithm::HS256,
        Alg::HS384 => Algorithm::HS384,
        Alg::HS512 => Algorithm::HS512,
        Alg::RS256 => Algorithm::RS256,
        Alg::RS384 => Algorithm::RS384,
        Alg::RS512 => Algorithm::RS512,
        Alg::PS256 => Algorithm::PS256,
        Alg::PS384 => Algorithm::PS384,
        Alg::PS512 => Algorithm::PS512,
        Alg::ES256 => Algorithm::ES256,
        Alg::ES384 => Algorithm::ES384,
        Alg::EdDSA => Algorithm::EdDSA,
    }
}

impl Peer for JsonWebToken {
    const NAME: &'static str = crate::NAME;
    type Keys = Keys;
    type Verified = TokenData<Claims>;

    fn keys(alg: Alg, material: &KeyMaterial) -> Result<Option<Keys>, PeerError> {
        let (encoding, decoding) = match (alg.family(), material) {
            (Family::Hmac, KeyMaterial::Hmac { secret }) => (
                EncodingKey::from_secret(secret),
                DecodingKey::from_secret(secret),
            ),
            (family, KeyMaterial::Pair(pair)) => {
                let private = pair.private_pem();
                let public = pair.public_pem();
                match family {
                    Family::Rsa => (
                        EncodingKey::from_rsa_pem(private.as_bytes())?,
                        DecodingKey::from_rsa_pem(public.as_bytes())?,
                    ),
                    Family::Ec => (
                        EncodingKey::from_ec_pem(private.as_bytes())?,
                        DecodingKey::from_ec_pem(public.as_bytes())?,
                    ),
                    Family::Ed => (
                        EncodingKey::from_ed_pem(private.as_bytes())?,
                        DecodingKey::from_ed_pem(public.as_bytes())?,
                    ),
                    Family::Hmac => return Err("an HMAC algorithm with a key pair".into()),
                }
            }
            (_, KeyMaterial::Hmac { .. }) => {
                return Err("a key-pair algorithm with a secret".into());
            }
        };
        let mut header = Header::new(algorithm(alg));
        header.kid = Some(KID.to_owned());
        // Full validation: exp (on by default), nbf, iss, aud, and those claims required.
        let mut validation = Validation::new(algorithm(alg));
        validation.validate_nbf = true;
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        Ok(Some(Keys {
            header,
            encoding,
            decoding,
            validation,
        }))
    }

    fn sign(keys: &Keys, claims: &Claims) -> Result<String, PeerError> {
        Ok(jsonwebtoken::encode(&keys.header, claims, &keys.encoding)?)
    }

    fn verify(keys: &Keys, token: &str) -> Result<TokenData<Claims>, PeerError> {
        Ok(jsonwebtoken::decode(
            token,
            &keys.decoding,
            &keys.validation,
        )?)
    }

    fn jti(verified: &TokenData<Claims>) -> &str {
        &verified.claims.jti
    }
}

#[cfg(test)]
mod tests {
    use jwt_floor::{Floor, check};

    use super::*;

    /// Every algorithm: jsonwebtoken and the floor read each other's tokens, and
    /// jsonwebtoken refuses the hostile ones `check` builds.
    #[test]
    fn agrees_with_the_floor_and_validates() {
        for alg in Alg::ALL {
            let material = KeyMaterial::for_alg(alg).unwrap();
            let keys = JsonWebToken::keys(alg, &material).unwrap().unwrap();
            let floor = Floor::new(alg, &material).unwrap();
            let claims = Claims::issue_now().unwrap();
            check::<JsonWebToken>(alg, &keys, &floor, &claims).unwrap();
        }
    }
}
