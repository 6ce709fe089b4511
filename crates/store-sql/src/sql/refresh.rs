//! Statements of the refresh-token store.
//!
//! Every change to a family's tokens first takes the lock on the family's row, so changes
//! to one family (a rotation, a reuse that revokes it, an insert) happen one after the
//! other: a revocation can never miss a token that a concurrent rotation was adding.

use super::{Flavor, Sql, name};
use crate::TablePrefix;

/// The columns a token row is read back with, in this order. A row without a family end
/// (written by a version-1 process during an upgrade) ends its family with itself.
pub(crate) const TOKEN_COLUMNS: &str =
    "family, subject, data, issued_at, expires_at, used, COALESCE(family_expires_at, expires_at)";

#[derive(Debug)]
pub(crate) struct RefreshSql {
    /// `$1` family, `$2` subject, `$3` expires: creates the family or extends its life
    /// (locking its row either way).
    pub(crate) upsert_family: Sql,
    /// `$1` family: locks the family's row; reads its id and subject.
    pub(crate) lock_family: Sql,
    /// `$1` family, `$2` expires.
    pub(crate) extend_family: Sql,
    /// `$1` subject: locks the subject's families, in a fixed order.
    pub(crate) lock_subject_families: Sql,
    /// `$1` hash, `$2` family, `$3` subject, `$4` data, `$5` issued, `$6` expires, `$7`
    /// the family's end.
    pub(crate) insert_token: Sql,
    /// `$1` hash, `$2` now: clears an expired token out of the way of a new one.
    pub(crate) delete_expired_token: Sql,
    /// `$1` hash, `$2` now: the family of a live token, without locking.
    pub(crate) family_of: Sql,
    /// `$1` hash, `$2` now: a live token, locked.
    pub(crate) lock_token: Sql,
    /// `$1` hash.
    pub(crate) mark_used: Sql,
    /// `$1` family: the tokens of the family that were never used (revocations keep the
    /// used ones until they expire, so that every later replay is still recognised).
    pub(crate) delete_family_unused: Sql,
    /// `$1` now, `$2` batch size.
    pub(crate) purge_tokens: Sql,
    /// `$1` now, `$2` batch size.
    pub(crate) purge_families: Sql,
}

impl RefreshSql {
    pub(crate) fn new(flavor: Flavor, prefix: &TablePrefix) -> Self {
        let tokens = name(prefix, "refresh_tokens");
        let families = name(prefix, "refresh_families");
        let lock = flavor.for_update();
        let upsert = match flavor {
            Flavor::MySql => " ON DUPLICATE KEY UPDATE ".to_owned(),
            Flavor::Postgres | Flavor::Sqlite => " ON CONFLICT (family) DO UPDATE SET ".to_owned(),
        };
        Self {
            upsert_family: Sql::new(
                flavor,
                &format!(
                    "INSERT INTO {families} (family, subject, expires_at) VALUES ($1, $2, $3)\
                     {upsert}expires_at = {}",
                    flavor.greatest(&format!("{families}.expires_at"), "$3")
                ),
            ),
            lock_family: Sql::new(
                flavor,
                &format!("SELECT family, subject FROM {families} WHERE family = $1{lock}"),
            ),
            extend_family: Sql::new(
                flavor,
                &format!(
                    "UPDATE {families} SET expires_at = {} WHERE family = $1",
                    flavor.greatest("expires_at", "$2")
                ),
            ),
            lock_subject_families: Sql::new(
                flavor,
                &format!("SELECT family FROM {families} WHERE subject = $1 ORDER BY family{lock}"),
            ),
            insert_token: Sql::new(
                flavor,
                &format!(
                    "INSERT INTO {tokens} (token_hash, family, subject, data, issued_at, \
                     expires_at, family_expires_at, used) VALUES ($1, $2, $3, $4, $5, $6, $7, 0)"
                ),
            ),
            delete_expired_token: Sql::new(
                flavor,
                &format!("DELETE FROM {tokens} WHERE token_hash = $1 AND expires_at <= $2"),
            ),
            family_of: Sql::new(
                flavor,
                &format!("SELECT family FROM {tokens} WHERE token_hash = $1 AND expires_at > $2"),
            ),
            lock_token: Sql::new(
                flavor,
                &format!(
                    "SELECT {TOKEN_COLUMNS} FROM {tokens} \
                     WHERE token_hash = $1 AND expires_at > $2{lock}"
                ),
            ),
            mark_used: Sql::new(
                flavor,
                &format!("UPDATE {tokens} SET used = 1 WHERE token_hash = $1"),
            ),
            delete_family_unused: Sql::new(
                flavor,
                &format!("DELETE FROM {tokens} WHERE family = $1 AND used = 0"),
            ),
            purge_tokens: super::purge_batch(flavor, &tokens, "token_hash", "expires_at"),
            purge_families: super::purge_batch(flavor, &families, "family", "expires_at"),
        }
    }

    #[cfg(test)]
    pub(crate) fn all(&self) -> Vec<&Sql> {
        vec![
            &self.upsert_family,
            &self.lock_family,
            &self.extend_family,
            &self.lock_subject_families,
            &self.insert_token,
            &self.delete_expired_token,
            &self.family_of,
            &self.lock_token,
            &self.mark_used,
            &self.delete_family_unused,
            &self.purge_tokens,
            &self.purge_families,
        ]
    }
}
