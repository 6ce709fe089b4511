//! The demo's user directory: two users with argon2id password hashes.

use argon2::password_hash::phc::PasswordHash;
use argon2::{Algorithm, Argon2, Block, Params, Version};

/// A user who can log in. Its `Debug` leaves the password hash out: a hash is all a word
/// list needs.
pub struct User {
    /// The login name, also the subject of sessions and tokens.
    pub name: &'static str,
    /// The argon2id hash of the password (PHC string format).
    hash: &'static str,
    /// The user's roles.
    pub roles: &'static [&'static str],
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("name", &self.name)
            .field("roles", &self.roles)
            .finish_non_exhaustive()
    }
}

/// `alice` / `wonderland` (admin) and `bob` / `builder` (user). The hashes are argon2id
/// with m=19456 KiB, t=2, p=1 (OWASP's minimum); the passwords are printed in the README
/// because this is a demo.
const USERS: &[User] = &[
    User {
        name: "alice",
        hash: "$argon2id$v=19$m=19456,t=2,p=1$Bx5eJKFP7O9z3HGKU//89A$icDqscsF7J6IeNmlFuichf3aOjxr9BTjYt6N0kzLwPM",
        roles: &["admin", "user"],
    },
    User {
        name: "bob",
        hash: "$argon2id$v=19$m=19456,t=2,p=1$F331SN0m26kGJByEnqg9Fg$AZ1V5fWq75OxVZb9wCoMD9nB1Et7WnMLeiHfWODgPVw",
        roles: &["user"],
    },
];

/// Hashes verified for unknown user names, so that a wrong name costs as long as a wrong
/// password and response times do not reveal which names exist.
const DECOY: &str = "$argon2id$v=19$m=19456,t=2,p=1$Bx5eJKFP7O9z3HGKU//89A$icDqscsF7J6IeNmlFuichf3aOjxr9BTjYt6N0kzLwPM";

/// The user with this name and password, if both are right. `memory` is the argon2
/// working memory, kept by the caller's thread from one check to the next (19 MiB for
/// these hashes) so that the allocator is not asked for it, and does not keep a copy of
/// it, at every login.
pub fn authenticate(name: &str, password: &str, memory: &mut Vec<Block>) -> Option<&'static User> {
    let user = USERS.iter().find(|u| u.name == name);
    let hash = user.map_or(DECOY, |u| u.hash);
    let verified = verify(password.as_bytes(), hash, memory).unwrap_or(false);
    user.filter(|_| verified)
}

/// Whether `password` hashes to the PHC string `phc`, computed in `memory`.
fn verify(password: &[u8], phc: &str, memory: &mut Vec<Block>) -> Option<bool> {
    let parsed = PasswordHash::new(phc).ok()?;
    let params = Params::try_from(&parsed).ok()?;
    let algorithm = Algorithm::try_from(parsed.algorithm.as_str()).ok()?;
    let version = match parsed.version {
        Some(v) => Version::try_from(v).ok()?,
        None => Version::default(),
    };
    let (salt, expected) = (parsed.salt?, parsed.hash?);
    let blocks = params.block_count();
    if memory.len() < blocks {
        memory.resize(blocks, Block::default());
    }
    let mut computed = vec![0u8; expected.len()];
    Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(password, &salt, &mut computed, &mut memory[..blocks])
        .ok()?;
    Some(auth_core::constant_time_eq(&computed, expected.as_ref()))
}

/// The user with this name (for roles when a refresh or session names only the subject).
pub fn find(name: &str) -> Option<&'static User> {
    USERS.iter().find(|u| u.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_passwords_work_and_nothing_else_does() {
        let memory = &mut Vec::new();
        let name = |user: Option<&User>| user.map(|u| u.name);
        assert_eq!(
            name(authenticate("alice", "wonderland", memory)),
            Some("alice")
        );
        assert_eq!(name(authenticate("bob", "builder", memory)), Some("bob"));
        assert!(authenticate("alice", "builder", memory).is_none());
        assert!(authenticate("carol", "wonderland", memory).is_none());
        assert!(authenticate("", "", memory).is_none());
        assert_eq!(memory.len(), 19 * 1024, "one working memory, reused");
    }

    #[test]
    fn our_verification_agrees_with_the_argon2_crate() {
        use argon2::password_hash::PasswordVerifier;
        let memory = &mut Vec::new();
        for (password, phc) in [("wonderland", USERS[0].hash), ("builder", USERS[1].hash)] {
            let parsed = PasswordHash::new(phc).unwrap();
            for attempt in [password, "wrong", ""] {
                let theirs = Argon2::default()
                    .verify_password(attempt.as_bytes(), &parsed)
                    .is_ok();
                assert_eq!(verify(attempt.as_bytes(), phc, memory), Some(theirs));
            }
        }
        assert_eq!(verify(b"x", "not a phc string", memory), None);
    }
}
