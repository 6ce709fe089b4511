//! jsonwebtoken 11 with its `aws_lc_rs` backend as a JWT peer of authkit: its `encode` and
//! `decode` (full validation) measured against the ring floor in this process. See
//! `benches/jwt.rs` and `../README.md`.
//!
//! ```
//! use jwt_floor::{Alg, Claims, Floor, KeyMaterial, Peer, check};
//! use jwt_aws_lc::JsonWebToken;
//!
//! let material = KeyMaterial::for_alg(Alg::HS256)?;
//! let keys = JsonWebToken::keys(Alg::HS256, &material)?.ok_or("HS256 missing")?;
//! let floor = Floor::new(Alg::HS256, &material)?;
//! check::<JsonWebToken>(Alg::HS256, &keys, &floor, &Claims::issue_now()?)?;
//! # Ok::<(), jwt_floor::PeerError>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

/// The name this backend's measurements are filed under.
pub const NAME: &str = "aws-lc";

#[path = "../../shared/jsonwebtoken_peer.rs"]
mod jsonwebtoken_peer;

pub use jsonwebtoken_peer::{JsonWebToken, Keys};
