//! The validated prefix every table and index name starts with.

use std::fmt;

/// A table-name prefix: 1 to 41 characters, an ASCII letter or `_` first, then ASCII
/// letters, digits or `_` (`^[A-Za-z_][A-Za-z0-9_]{0,40}$`).
///
/// Table names cannot be bound as query parameters, so they are written into the SQL text;
/// this type is the only way a name gets there, and it admits nothing that could end an
/// identifier. The length bound keeps every derived name (prefix plus the longest suffix,
/// 22 characters) within PostgreSQL's 63-byte identifier limit.
///
/// ```
/// use store_sql::TablePrefix;
///
/// assert_eq!(TablePrefix::new("tenant_a_")?.as_str(), "tenant_a_");
/// assert!(TablePrefix::new("x; DROP TABLE users; --").is_err());
/// assert!(TablePrefix::new("1abc").is_err());
/// # Ok::<(), store_sql::InvalidPrefix>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct TablePrefix(String);

impl TablePrefix {
    /// The longest prefix accepted, in characters.
    pub const MAX_LEN: usize = 41;

    /// The prefix used when none is configured: `authkit_`.
    pub fn default_prefix() -> Self {
        Self("authkit_".to_owned())
    }

    /// Validates `prefix`.
    pub fn new(prefix: &str) -> Result<Self, InvalidPrefix> {
        let mut bytes = prefix.bytes();
        let Some(first) = bytes.next() else {
            return Err(InvalidPrefix::Empty);
        };
        if prefix.len() > Self::MAX_LEN {
            return Err(InvalidPrefix::TooLong);
        }
        if !(first.is_ascii_alphabetic() || first == b'_') {
            return Err(InvalidPrefix::Character);
        }
        if !bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(InvalidPrefix::Character);
        }
        // SQLite refuses to create tables whose names start with `sqlite_` (any case);
        // PostgreSQL reserves `pg_` for its catalogs. Refuse both here, not at migrate time.
        let lower = prefix.to_ascii_lowercase();
        if lower.starts_with("sqlite_") || lower.starts_with("pg_") {
            return Err(InvalidPrefix::Reserved);
        }
        Ok(Self(prefix.to_owned()))
    }

    /// The prefix as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for TablePrefix {
    fn default() -> Self {
        Self::default_prefix()
    }
}

impl fmt::Debug for TablePrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TablePrefix({:?})", self.0)
    }
}

impl fmt::Display for TablePrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for TablePrefix {
    type Err = InvalidPrefix;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

/// Why a [`TablePrefix`] was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidPrefix {
    /// The prefix is empty.
    #[error("the table prefix is empty")]
    Empty,
    /// The prefix is longer than [`TablePrefix::MAX_LEN`] characters.
    #[error("the table prefix is longer than 41 characters")]
    TooLong,
    /// A character outside `[A-Za-z0-9_]`, or a digit first.
    #[error("the table prefix must match ^[A-Za-z_][A-Za-z0-9_]{{0,40}}$")]
    Character,
    /// The prefix starts with a name a database reserves (`sqlite_`, `pg_`, any case).
    #[error("the table prefix starts with a name the database reserves (sqlite_, pg_)")]
    Reserved,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_identifiers_only() {
        for good in ["a", "_", "auth_", "A1_b2", &"x".repeat(41)] {
            assert_eq!(TablePrefix::new(good).unwrap().as_str(), good);
        }
        assert_eq!(TablePrefix::new(""), Err(InvalidPrefix::Empty));
        for reserved in ["sqlite_", "SQLite_x", "pg_", "PG_auth_"] {
            assert_eq!(
                TablePrefix::new(reserved),
                Err(InvalidPrefix::Reserved),
                "{reserved}"
            );
        }
        assert!(
            TablePrefix::new("sqlite").is_ok(),
            "only the reserved `sqlite_` form"
        );
        assert_eq!(
            TablePrefix::new(&"x".repeat(42)),
            Err(InvalidPrefix::TooLong)
        );
        for bad in [
            "1a", "a-b", "a b", "a;", "a\"", "a'", "a`", "a.b", "é", "a\0", "a\n", "a/*", "a$1",
            "ａ",
        ] {
            assert_eq!(
                TablePrefix::new(bad),
                Err(InvalidPrefix::Character),
                "{bad:?}"
            );
        }
    }
}
