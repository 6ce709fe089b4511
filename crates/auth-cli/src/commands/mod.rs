//! One module per subcommand; each returns what it prints, `main` prints it.

pub(crate) mod inspect;
pub(crate) mod jwks;
pub(crate) mod keygen;
pub(crate) mod keys;
pub(crate) mod sessions;
pub(crate) mod sign;
pub(crate) mod verify;
