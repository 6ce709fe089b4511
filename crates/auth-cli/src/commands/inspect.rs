//! `authctl inspect`: a token's header and claims, decoded and clearly NOT verified.

use serde_json::{Value, json};

use crate::error::CliError;
use crate::{input, jose};

/// What `inspect` prints at the top of its output.
pub(crate) const WARNING: &str = "NOT VERIFIED: anyone can write this header and these claims; check a token with `authctl verify`";

/// Runs `inspect`: the labelled JSON document.
pub(crate) fn run(token: &str, max_bytes: usize) -> Result<Value, CliError> {
    let token = input::token(token, max_bytes)?;
    let decoded = jose::decode(&token)?;
    Ok(json!({
        "verified": false,
        // Upper case sorts first: the warning is the first thing printed.
        "WARNING": WARNING,
        "header": decoded.header,
        "claims": decoded.claims,
        "signature_bytes": decoded.signature_len,
    }))
}
