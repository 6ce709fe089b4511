//! The demo's user directory: two users with argon2id password hashes.

use argon2::Argon2;
use argon2::password_hash::PasswordVerifier;
use argon2::password_hash::phc::PasswordHash;

/// A user who can log in.
#[derive(Debug)]
pub struct User {
    /// The login name, also the subject of sessions and tokens.
    pub name: &'static str,
    /// The argon2id hash of the password (PHC string format).
    hash: &'static str,
    /// The user's roles.
    pub roles: &'static [&'static str],
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

/// The user with this name and password, if both are right.
pub fn authenticate(name: &str, password: &str) -> Option<&'static User> {
    let user = USERS.iter().find(|u| u.name == name);
    let hash = user.map_or(DECOY, |u| u.hash);
    let verified = PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false);
    user.filter(|_| verified)
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
        assert_eq!(
            authenticate("alice", "wonderland").map(|u| u.name),
            Some("alice")
        );
        assert_eq!(authenticate("bob", "builder").map(|u| u.name), Some("bob"));
        assert!(authenticate("alice", "builder").is_none());
        assert!(authenticate("carol", "wonderland").is_none());
        assert!(authenticate("", "").is_none());
    }
}
