//! What can go wrong while preparing or running a measurement.

/// A failure of the floor or of the benchmark setup. Any of them means the run is void.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FloorError {
    /// The system clock is before the epoch or beyond `u64` milliseconds.
    #[error("system clock out of range")]
    Clock,
    /// The system random number generator failed.
    #[error("system random number generator failed")]
    Random,
    /// A key file shared with auth-jwt's tests could not be read.
    #[error("cannot read key file {path}")]
    KeyFile {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// ring refused a key.
    #[error("ring refused the {alg} key: {reason}")]
    Key {
        /// The algorithm the key was for.
        alg: &'static str,
        /// ring's reason.
        reason: String,
    },
    /// A token is not three dot-separated segments.
    #[error("token is not in compact form")]
    Compact,
    /// A segment is not base64url or does not fit the floor's buffers.
    #[error("bad base64url segment")]
    Base64(#[source] base64::DecodeSliceError),
    /// The signature does not verify.
    #[error("signature does not verify")]
    Signature,
    /// ring failed to sign.
    #[error("signing failed")]
    Sign,
    /// The claims are not the expected JSON.
    #[error("claims are not the expected JSON")]
    Json(#[source] serde_json::Error),
    /// A peer library refused or mangled a token it should accept: the comparison is void.
    #[error("{peer} disagrees with the floor on {alg}: {reason}")]
    Peer {
        /// The peer.
        peer: &'static str,
        /// The algorithm.
        alg: &'static str,
        /// What went wrong.
        reason: String,
    },
}
