//! The driver every peer bench runs: per algorithm, check that the peer and the floor agree,
//! then measure both side by side in the same process.

use std::error::Error as StdError;
use std::hint::black_box;

use criterion::Criterion;

use crate::{Alg, Claims, Floor, FloorError, KeyMaterial, header_of};

/// A boxed error from a peer library, kept as a source.
pub type PeerError = Box<dyn StdError + Send + Sync>;

/// A JWT library measured against the floor.
///
/// `verify` must do what a service does with a bearer token: check the signature and the
/// rules (`exp`, `nbf`, `iss` = [`ISSUER`](crate::ISSUER), `aud` = [`AUDIENCE`](crate::AUDIENCE))
/// and return the parsed claims. [`run`] proves that before measuring anything.
pub trait Peer {
    /// The name criterion files the peer's measurements under (`aws-lc`, `jwt-simple`, …).
    const NAME: &'static str;
    /// The library's keys for one algorithm, built once as its users hold them.
    type Keys;
    /// What a successful verification returns.
    type Verified;

    /// The library's keys for `alg` from `material`, or `None` if it lacks `alg`.
    fn keys(alg: Alg, material: &KeyMaterial) -> Result<Option<Self::Keys>, PeerError>;
    /// Signs `claims` under the header `{"alg":…,"typ":"JWT","kid":KID}`.
    fn sign(keys: &Self::Keys, claims: &Claims) -> Result<String, PeerError>;
    /// Verifies `token` with full validation.
    fn verify(keys: &Self::Keys, token: &str) -> Result<Self::Verified, PeerError>;
    /// The `jti` of verified claims, to check the peer parsed the right token.
    fn jti(verified: &Self::Verified) -> &str;
}

fn disagree<P: Peer>(alg: Alg, reason: impl Into<String>) -> FloorError {
    FloorError::Peer {
        peer: P::NAME,
        alg: alg.name(),
        reason: reason.into(),
    }
}

/// Proves, for `alg`, that `P` and the floor agree on good tokens and that `P` really
/// validates (a wrong audience, a wrong issuer, an expired token and a bad signature are
/// refused). Returns the token both will verify and its header segment.
pub fn check<P: Peer>(
    alg: Alg,
    keys: &P::Keys,
    floor: &Floor,
    claims: &Claims,
) -> Result<(String, String), FloorError> {
    let token = P::sign(keys, claims).map_err(|e| disagree::<P>(alg, format!("sign: {e}")))?;
    if floor.verify(&token)? != *claims {
        return Err(disagree::<P>(alg, "the floor parsed other claims"));
    }
    let verified =
        P::verify(keys, &token).map_err(|e| disagree::<P>(alg, format!("own token: {e}")))?;
    if P::jti(&verified) != claims.jti {
        return Err(disagree::<P>(alg, "parsed another jti"));
    }
    let header = header_of(&token).to_owned();
    let floor_token = floor.sign(&header, claims)?;
    P::verify(keys, &floor_token).map_err(|e| disagree::<P>(alg, format!("floor's token: {e}")))?;

    let hour = 3600;
    let hostile = [
        (
            "wrong aud",
            Claims {
                aud: "other".into(),
                ..claims.clone()
            },
        ),
        (
            "wrong iss",
            Claims {
                iss: "https://evil.example".into(),
                ..claims.clone()
            },
        ),
        (
            "expired",
            Claims {
                iat: claims.iat - 2 * hour,
                nbf: claims.iat - 2 * hour,
                exp: claims.iat - hour,
                ..claims.clone()
            },
        ),
    ];
    for (what, bad) in hostile {
        if P::verify(keys, &floor.sign(&header, &bad)?).is_ok() {
            return Err(disagree::<P>(alg, format!("accepted a token with {what}")));
        }
    }
    // The signature is over the encoded text: any altered character must be refused.
    let dot = token.find('.').ok_or(FloorError::Compact)?;
    let middle = dot + (token.len() - dot) / 3;
    let mut tampered = token.clone().into_bytes();
    tampered[middle] = if tampered[middle] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).map_err(|_| FloorError::Compact)?;
    if P::verify(keys, &tampered).is_ok() {
        return Err(disagree::<P>(alg, "accepted an altered payload"));
    }
    Ok((token, header))
}

/// Measures `P` and the floor for every algorithm `P` supports: criterion groups
/// `verify/<alg>` and `sign/<alg>`, each with functions [`Peer::NAME`] and `floor`.
/// Fails before measuring anything if `P` and the floor disagree.
pub fn run<P: Peer>(c: &mut Criterion) -> Result<(), FloorError> {
    for alg in Alg::ALL {
        let material = KeyMaterial::for_alg(alg)?;
        let Some(keys) =
            P::keys(alg, &material).map_err(|e| disagree::<P>(alg, format!("keys: {e}")))?
        else {
            continue;
        };
        let floor = Floor::new(alg, &material)?;
        let claims = Claims::issue_now()?;
        let (token, header) = check::<P>(alg, &keys, &floor, &claims)?;

        let mut group = c.benchmark_group(format!("verify/{}", alg.name()));
        group.bench_function(P::NAME, |b| b.iter(|| P::verify(&keys, black_box(&token))));
        group.bench_function("floor", |b| b.iter(|| floor.verify(black_box(&token))));
        group.finish();

        let mut group = c.benchmark_group(format!("sign/{}", alg.name()));
        group.bench_function(P::NAME, |b| b.iter(|| P::sign(&keys, black_box(&claims))));
        group.bench_function("floor", |b| {
            b.iter(|| floor.sign(&header, black_box(&claims)))
        });
        group.finish();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A "library" that checks the signature and nothing else: `check` must refuse it.
    struct Lax;

    impl Peer for Lax {
        const NAME: &'static str = "lax";
        type Keys = (Floor, String);
        type Verified = Claims;

        fn keys(alg: Alg, material: &KeyMaterial) -> Result<Option<Self::Keys>, PeerError> {
            Ok(Some((
                Floor::new(alg, material)?,
                crate::header_b64(alg, crate::KID),
            )))
        }
        fn sign((floor, header): &Self::Keys, claims: &Claims) -> Result<String, PeerError> {
            Ok(floor.sign(header, claims)?)
        }
        fn verify((floor, _): &Self::Keys, token: &str) -> Result<Claims, PeerError> {
            Ok(floor.verify(token)?)
        }
        fn jti(verified: &Claims) -> &str {
            &verified.jti
        }
    }

    #[test]
    fn check_refuses_a_peer_that_does_not_validate() {
        for alg in [Alg::HS256, Alg::ES256] {
            let material = KeyMaterial::for_alg(alg).unwrap();
            let keys = Lax::keys(alg, &material).unwrap().unwrap();
            let floor = Floor::new(alg, &material).unwrap();
            let claims = Claims::issue_now().unwrap();
            let err = check::<Lax>(alg, &keys, &floor, &claims).unwrap_err();
            assert!(
                err.to_string().contains("accepted a token with wrong aud"),
                "{err}"
            );
        }
    }

    #[test]
    fn check_refuses_a_peer_with_another_key() {
        let material = KeyMaterial::for_alg(Alg::ES256).unwrap();
        let keys = Lax::keys(Alg::ES256, &material).unwrap().unwrap();
        let other = Floor::new(Alg::ES256, &KeyMaterial::for_alg(Alg::ES256).unwrap()).unwrap();
        let claims = Claims::issue_now().unwrap();
        assert!(matches!(
            check::<Lax>(Alg::ES256, &keys, &other, &claims),
            Err(FloorError::Signature)
        ));
    }
}
