//! `authctl jwks`: the public JWK Set of key files (private members never printed).

use std::collections::HashSet;
use std::path::PathBuf;

use auth_jwt::{Algorithm, JwkSet};

use crate::error::CliError;
use crate::keyfile;

/// Runs `jwks`: the set, each key with `kid`, `alg` and `use: sig`, and a note naming
/// the HMAC secrets of key sets that were left out (a service publishing the same key
/// file leaves them out too).
pub(crate) fn run(
    files: &[PathBuf],
    alg: Option<Algorithm>,
) -> Result<(JwkSet, Option<String>), CliError> {
    let mut set = JwkSet::default();
    let mut kids = HashSet::new();
    let mut skipped = Vec::new();
    for path in files {
        let published = keyfile::public_jwks(keyfile::load(path)?, alg)?;
        skipped.extend(published.skipped);
        for jwk in published.keys {
            let kid = jwk.kid.clone().unwrap_or_default();
            if !kids.insert(kid.clone()) {
                return Err(CliError::key_file(
                    path.display().to_string(),
                    format!("the kid {kid:?} is already in the set"),
                ));
            }
            set.keys.push(jwk);
        }
    }
    if set.keys.is_empty() {
        return Err(CliError::key_file(
            files
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
            "no public key to publish: HMAC secrets are never published in a JWK Set",
        ));
    }
    let note = (!skipped.is_empty()).then(|| {
        format!(
            "left out, as HMAC secrets are never published: {}",
            skipped.join(", ")
        )
    });
    Ok((set, note))
}
