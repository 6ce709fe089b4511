//! The shared half of authkit's JWT peer benchmarks: the claims every token carries, the key
//! material, the bare floor, and the driver that measures a peer library against that floor
//! in the peer's own process.
//!
//! The floor is the least work any JWT library must do: base64url decode + ring verify with
//! a key parsed once + serde_json parse of the claims (and for signing: serde_json of the
//! claims + ring sign + base64url). auth-jwt's own bench measures the same floor, so each
//! process reports its library as a ratio to a floor it measured itself, and the ratios of
//! separate processes compare.
//!
//! ```
//! use jwt_floor::{Alg, Claims, Floor, KID, KeyMaterial, header_b64};
//!
//! let material = KeyMaterial::for_alg(Alg::ES256)?;
//! let floor = Floor::new(Alg::ES256, &material)?;
//! let claims = Claims::issue_now()?;
//! let token = floor.sign(&header_b64(Alg::ES256, KID), &claims)?;
//! assert_eq!(floor.verify(&token)?, claims);
//! # Ok::<(), jwt_floor::FloorError>(())
//! ```
//!
//! A peer implements [`Peer`] and hands it to [`run`] from its criterion bench.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod alg;
mod claims;
mod error;
mod floor;
mod header;
mod keys;
mod peer;
mod pem;
mod spki;

pub use alg::{Alg, Family};
pub use claims::{AUDIENCE, Claims, ISSUER, KID, LIFETIME_SECS, SUBJECT};
pub use error::FloorError;
pub use floor::Floor;
pub use header::{header_b64, header_of};
pub use keys::{HMAC_SECRET, KeyMaterial, KeyPairMaterial, RSA_PKCS8_PEM_PATH};
pub use peer::{Peer, PeerError, check, run};
pub use pem::{pem, unpem};
pub use spki::spki_der;
