//! `authctl jwks`: the public JWK Set of key files (private members never printed).

use std::collections::HashSet;
use std::path::PathBuf;

use auth_jwt::{Algorithm, JwkSet};

use crate::error::CliError;
use crate::keyfile;

/// Runs `jwks`: the set, each key with `kid`, `alg` and `use: sig`.
pub(crate) fn run(files: &[PathBuf], alg: Option<Algorithm>) -> Result<JwkSet, CliError> {
    let mut set = JwkSet::default();
    let mut kids = HashSet::new();
    for path in files {
        for jwk in keyfile::public_jwks(keyfile::load(path)?, alg)? {
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
    Ok(set)
}
