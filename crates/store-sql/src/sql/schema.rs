//! The embedded migrations and the statements that track them.

use super::{Flavor, Sql, name};
use crate::TablePrefix;

/// The schema version this release's stores read and write.
pub(crate) const SCHEMA_VERSION: i64 = 2;

/// One schema version: steps that are each idempotent on their own, so a run cut short
/// (MySQL commits every DDL statement by itself) is finished by the next one.
#[derive(Debug)]
pub(crate) struct Migration {
    pub(crate) version: i64,
    pub(crate) steps: Vec<Step>,
}

/// One statement of a migration.
#[derive(Debug)]
pub(crate) struct Step {
    pub(crate) sql: Sql,
    /// A query that returns a row when the statement's change is already in place, for
    /// changes that have no `IF NOT EXISTS` form in the dialect.
    pub(crate) done_if: Option<Sql>,
}

impl Step {
    fn new(sql: Sql) -> Self {
        Self { sql, done_if: None }
    }
}

/// Everything `migrate()` runs.
#[derive(Debug)]
pub(crate) struct SchemaSql {
    /// The lock that makes concurrent runs take turns (PostgreSQL and MySQL; SQLite's
    /// `BEGIN IMMEDIATE` already does).
    pub(crate) lock: Option<Sql>,
    pub(crate) unlock: Option<Sql>,
    /// The key or name of that lock, derived from the prefix.
    pub(crate) lock_key: LockKey,
    pub(crate) create_versions: Sql,
    pub(crate) applied_versions: Sql,
    pub(crate) record_version: Sql,
    pub(crate) migrations: Vec<Migration>,
}

/// The argument naming the migration lock.
#[derive(Debug, Clone)]
pub(crate) enum LockKey {
    Int(i64),
    Name(Vec<u8>),
}

/// Column types per dialect.
struct Types {
    /// A 32-byte hash.
    hash: &'static str,
    /// Up to 255 bytes (subjects, issuers, `jti`s).
    short: &'static str,
    /// A family id, up to 64 bytes.
    family: &'static str,
    /// Record data, up to 64 KiB (MySQL's `BLOB` stops one byte short of that).
    data: &'static str,
    /// Table options.
    table: &'static str,
}

fn types(flavor: Flavor) -> Types {
    match flavor {
        Flavor::Postgres => Types {
            hash: "BYTEA",
            short: "BYTEA",
            family: "BYTEA",
            data: "BYTEA",
            table: "",
        },
        Flavor::MySql => Types {
            hash: "BINARY(32)",
            short: "VARBINARY(255)",
            family: "VARBINARY(64)",
            data: "MEDIUMBLOB",
            table: " ENGINE=InnoDB",
        },
        Flavor::Sqlite => Types {
            hash: "BLOB",
            short: "BLOB",
            family: "BLOB",
            data: "BLOB",
            table: "",
        },
    }
}

/// A table with its indexes. MySQL has no `CREATE INDEX IF NOT EXISTS`, so there the
/// indexes are declared inside `CREATE TABLE IF NOT EXISTS`, which makes them exactly as
/// idempotent as the table.
fn table(
    flavor: Flavor,
    prefix: &TablePrefix,
    table: &str,
    columns: &str,
    indexes: &[(&str, &str)],
) -> Vec<Sql> {
    let t = types(flavor);
    let table_name = name(prefix, table);
    let mut out = Vec::new();
    if flavor == Flavor::MySql {
        let inline: String = indexes
            .iter()
            .map(|(index, cols)| format!(", INDEX {} ({cols})", name(prefix, index)))
            .collect();
        out.push(Sql::once(
            flavor,
            &format!(
                "CREATE TABLE IF NOT EXISTS {table_name} ({columns}{inline}){}",
                t.table
            ),
        ));
    } else {
        out.push(Sql::once(
            flavor,
            &format!(
                "CREATE TABLE IF NOT EXISTS {table_name} ({columns}){}",
                t.table
            ),
        ));
        for (index, cols) in indexes {
            out.push(Sql::once(
                flavor,
                &format!(
                    "CREATE INDEX IF NOT EXISTS {} ON {table_name} ({cols})",
                    name(prefix, index)
                ),
            ));
        }
    }
    out
}

/// Version 1: sessions, revocations, refresh tokens and their families.
fn version_1(flavor: Flavor, prefix: &TablePrefix) -> Vec<Step> {
    let Types {
        hash,
        short,
        family,
        data,
        ..
    } = types(flavor);
    let mut statements = Vec::new();
    statements.extend(table(
        flavor,
        prefix,
        "sessions",
        &format!(
            "session_key {hash} NOT NULL PRIMARY KEY, subject {short} NOT NULL, \
             data {data} NOT NULL, created_at BIGINT NOT NULL, last_seen_at BIGINT NOT NULL, \
             expires_at BIGINT NOT NULL, version BIGINT NOT NULL"
        ),
        &[
            ("sessions_subject_idx", "subject"),
            ("sessions_expiry_idx", "expires_at"),
        ],
    ));
    statements.extend(table(
        flavor,
        prefix,
        "revoked_tokens",
        &format!(
            "issuer {short} NOT NULL, jti {short} NOT NULL, valid_until BIGINT NOT NULL, \
             PRIMARY KEY (issuer, jti)"
        ),
        &[("rvk_tokens_exp_idx", "valid_until")],
    ));
    statements.extend(table(
        flavor,
        prefix,
        "revoked_subjects",
        &format!(
            "subject {short} NOT NULL PRIMARY KEY, not_before BIGINT NOT NULL, \
             valid_until BIGINT NOT NULL"
        ),
        &[("rvk_subj_exp_idx", "valid_until")],
    ));
    statements.extend(table(
        flavor,
        prefix,
        "refresh_families",
        &format!(
            "family {family} NOT NULL PRIMARY KEY, subject {short} NOT NULL, \
             expires_at BIGINT NOT NULL"
        ),
        &[
            ("rfam_subject_idx", "subject"),
            ("rfam_expiry_idx", "expires_at"),
        ],
    ));
    statements.extend(table(
        flavor,
        prefix,
        "refresh_tokens",
        &format!(
            "token_hash {hash} NOT NULL PRIMARY KEY, family {family} NOT NULL, \
             subject {short} NOT NULL, data {data} NOT NULL, issued_at BIGINT NOT NULL, \
             expires_at BIGINT NOT NULL, used BIGINT NOT NULL"
        ),
        &[
            ("rtok_family_idx", "family"),
            ("rtok_subject_idx", "subject"),
            ("rtok_expiry_idx", "expires_at"),
        ],
    ));
    statements.into_iter().map(Step::new).collect()
}

/// Version 2: revoked refresh families, a family's absolute end on each refresh token, and
/// login-throttle windows.
fn version_2(flavor: Flavor, prefix: &TablePrefix) -> Vec<Step> {
    let Types {
        hash,
        short,
        family,
        ..
    } = types(flavor);
    let tokens = name(prefix, "refresh_tokens");
    let mut steps = Vec::new();
    // Nullable, and read as `COALESCE(family_expires_at, expires_at)`: a row that a
    // version-1 process writes during a rolling upgrade then ends its family with itself,
    // exactly like the rows this migration fills in.
    let column = "family_expires_at BIGINT";
    let add_column = match flavor {
        Flavor::Postgres => Step::new(Sql::once(
            flavor,
            &format!("ALTER TABLE {tokens} ADD COLUMN IF NOT EXISTS {column}"),
        )),
        // MySQL has no `ADD COLUMN IF NOT EXISTS` (MariaDB has): ask the catalog first.
        // The plain equality lets the server open that one table instead of every table
        // of the schema; the byte comparison keeps `A_` and `a_` prefixes apart.
        Flavor::MySql => Step {
            sql: Sql::once(flavor, &format!("ALTER TABLE {tokens} ADD COLUMN {column}")),
            done_if: Some(Sql::once(
                flavor,
                &format!(
                    "SELECT 1 FROM information_schema.columns \
                     WHERE table_schema = DATABASE() AND table_name = '{tokens}' \
                     AND CAST(table_name AS BINARY) = CAST('{tokens}' AS BINARY) \
                     AND column_name = 'family_expires_at'"
                ),
            )),
        },
        // SQLite migrates in one transaction, after checking the recorded versions under
        // its write lock: this runs exactly once.
        Flavor::Sqlite => Step::new(Sql::once(
            flavor,
            &format!("ALTER TABLE {tokens} ADD COLUMN {column}"),
        )),
    };
    steps.push(add_column);
    steps.push(Step::new(Sql::once(
        flavor,
        &format!(
            "UPDATE {tokens} SET family_expires_at = expires_at \
             WHERE family_expires_at IS NULL"
        ),
    )));
    let mut tables = Vec::new();
    tables.extend(table(
        flavor,
        prefix,
        "revoked_families",
        &format!(
            "issuer {short} NOT NULL, family {family} NOT NULL, valid_until BIGINT NOT NULL, \
             PRIMARY KEY (issuer, family)"
        ),
        &[("rvk_fam_exp_idx", "valid_until")],
    ));
    tables.extend(table(
        flavor,
        prefix,
        "throttle_windows",
        &format!(
            "throttle_key {hash} NOT NULL PRIMARY KEY, hits BIGINT NOT NULL, \
             ends_at BIGINT NOT NULL"
        ),
        &[("throttle_end_idx", "ends_at")],
    ));
    steps.extend(tables.into_iter().map(Step::new));
    steps
}

impl SchemaSql {
    pub(crate) fn new(flavor: Flavor, prefix: &TablePrefix) -> Self {
        let versions = name(prefix, "schema_migrations");
        let t = types(flavor);
        let lock_name = format!("authkit_migrate_{}", prefix.as_str());
        let (lock, unlock, lock_key) = match flavor {
            Flavor::Postgres => (
                Some(Sql::new(flavor, "SELECT pg_advisory_xact_lock($1)")),
                None,
                LockKey::Int(fnv1a(lock_name.as_bytes())),
            ),
            Flavor::MySql => (
                // NULL (an error while waiting) reads as "not granted".
                Some(Sql::new(flavor, "SELECT COALESCE(GET_LOCK($1, 30), 0)")),
                Some(Sql::new(flavor, "SELECT RELEASE_LOCK($1)")),
                LockKey::Name(lock_name.into_bytes()),
            ),
            Flavor::Sqlite => (None, None, LockKey::Int(0)),
        };
        Self {
            lock,
            unlock,
            lock_key,
            create_versions: Sql::once(
                flavor,
                &format!(
                    "CREATE TABLE IF NOT EXISTS {versions} (version BIGINT NOT NULL PRIMARY KEY, \
                     applied_at BIGINT NOT NULL){}",
                    t.table
                ),
            ),
            applied_versions: Sql::once(flavor, &format!("SELECT version FROM {versions}")),
            record_version: Sql::once(
                flavor,
                &format!("INSERT INTO {versions} (version, applied_at) VALUES ($1, $2)"),
            ),
            migrations: vec![
                Migration {
                    version: 1,
                    steps: version_1(flavor, prefix),
                },
                Migration {
                    version: SCHEMA_VERSION,
                    steps: version_2(flavor, prefix),
                },
            ],
        }
    }

    /// Every statement, for checks on the generated text.
    #[cfg(test)]
    pub(crate) fn all(&self) -> Vec<&Sql> {
        let mut all = vec![
            &self.create_versions,
            &self.applied_versions,
            &self.record_version,
        ];
        all.extend(self.lock.iter().chain(self.unlock.iter()));
        for step in self.migrations.iter().flat_map(|m| m.steps.iter()) {
            all.push(&step.sql);
            all.extend(step.done_if.iter());
        }
        all
    }
}

/// FNV-1a, folded to the signed 64-bit key `pg_advisory_xact_lock` takes. Stable across
/// processes and releases, which is all a lock key needs.
fn fnv1a(bytes: &[u8]) -> i64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    i64::from_ne_bytes(hash.to_ne_bytes())
}
