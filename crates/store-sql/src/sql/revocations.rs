//! Statements of the revocation store.

use super::{Flavor, Sql, name};
use crate::TablePrefix;

#[derive(Debug)]
pub(crate) struct RevocationSql {
    /// `$1` issuer, `$2` jti, `$3` until. A revocation already on file is only ever
    /// lengthened.
    pub(crate) revoke: Sql,
    /// `$1` issuer, `$2` jti, `$3` now.
    pub(crate) is_revoked: Sql,
    /// `$1` subject, `$2` not before, `$3` until, `$4` now. A live entry merges (the later
    /// "not before", the later end); an ended one is replaced.
    pub(crate) revoke_subject: Sql,
    /// `$1` subject, `$2` now.
    pub(crate) subject_not_before: Sql,
    /// `$1` issuer, `$2` family, `$3` until. Like `revoke`, only ever lengthened.
    pub(crate) revoke_family: Sql,
    /// `$1` issuer, `$2` jti or `NULL`, `$3` family or `NULL`, `$4` subject, `$5` issued
    /// at, `$6` now: a row if the token is revoked by any of the three. One statement, so
    /// one round trip on every authenticated request; a `NULL` key matches nothing.
    pub(crate) is_token_revoked: Sql,
    /// `$1` now, `$2` batch size.
    pub(crate) purge_tokens: Sql,
    /// `$1` now, `$2` batch size.
    pub(crate) purge_families: Sql,
    /// `$1` now, `$2` batch size.
    pub(crate) purge_subjects: Sql,
}

impl RevocationSql {
    pub(crate) fn new(flavor: Flavor, prefix: &TablePrefix) -> Self {
        let tokens = name(prefix, "revoked_tokens");
        let subjects = name(prefix, "revoked_subjects");
        let families = name(prefix, "revoked_families");
        let upsert = |target: &str| match flavor {
            Flavor::MySql => " ON DUPLICATE KEY UPDATE ".to_owned(),
            Flavor::Postgres | Flavor::Sqlite => format!(" ON CONFLICT ({target}) DO UPDATE SET "),
        };
        let max = |a: &str, b: &str| flavor.greatest(a, b);
        Self {
            revoke: Sql::new(
                flavor,
                &format!(
                    "INSERT INTO {tokens} (issuer, jti, valid_until) VALUES ($1, $2, $3){}\
                     valid_until = {}",
                    upsert("issuer, jti"),
                    max(&format!("{tokens}.valid_until"), "$3"),
                ),
            ),
            is_revoked: Sql::new(
                flavor,
                &format!(
                    "SELECT 1 FROM {tokens} WHERE issuer = $1 AND jti = $2 AND valid_until > $3"
                ),
            ),
            // MySQL applies the assignments left to right, so `not_before` is set first: the
            // second one must still see the old `valid_until`.
            revoke_subject: Sql::new(
                flavor,
                &format!(
                    "INSERT INTO {subjects} (subject, not_before, valid_until) VALUES ($1, $2, $3){}\
                     not_before = CASE WHEN {subjects}.valid_until > $4 THEN {} ELSE $2 END, \
                     valid_until = CASE WHEN {subjects}.valid_until > $4 THEN {} ELSE $3 END",
                    upsert("subject"),
                    max(&format!("{subjects}.not_before"), "$2"),
                    max(&format!("{subjects}.valid_until"), "$3"),
                ),
            ),
            subject_not_before: Sql::new(
                flavor,
                &format!(
                    "SELECT not_before FROM {subjects} WHERE subject = $1 AND valid_until > $2"
                ),
            ),
            revoke_family: Sql::new(
                flavor,
                &format!(
                    "INSERT INTO {families} (issuer, family, valid_until) VALUES ($1, $2, $3){}\
                     valid_until = {}",
                    upsert("issuer, family"),
                    max(&format!("{families}.valid_until"), "$3"),
                ),
            ),
            is_token_revoked: Sql::new(
                flavor,
                &format!(
                    "SELECT 1 FROM {tokens} WHERE issuer = $1 AND jti = $2 AND valid_until > $6 \
                     UNION ALL \
                     SELECT 1 FROM {families} WHERE issuer = $1 AND family = $3 \
                     AND valid_until > $6 \
                     UNION ALL \
                     SELECT 1 FROM {subjects} WHERE subject = $4 AND valid_until > $6 \
                     AND not_before > $5"
                ),
            ),
            purge_tokens: super::purge_batch(flavor, &tokens, "issuer, jti", "valid_until"),
            purge_families: super::purge_batch(flavor, &families, "issuer, family", "valid_until"),
            purge_subjects: super::purge_batch(flavor, &subjects, "subject", "valid_until"),
        }
    }

    #[cfg(test)]
    pub(crate) fn all(&self) -> Vec<&Sql> {
        vec![
            &self.revoke,
            &self.is_revoked,
            &self.revoke_subject,
            &self.subject_not_before,
            &self.revoke_family,
            &self.is_token_revoked,
            &self.purge_tokens,
            &self.purge_families,
            &self.purge_subjects,
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every authenticated request asks `is_token_revoked`: one statement, one round trip,
    /// over all three tables.
    #[test]
    fn the_request_check_is_one_statement_over_three_tables() {
        let prefix = TablePrefix::new("p_").unwrap();
        for flavor in [Flavor::Postgres, Flavor::MySql, Flavor::Sqlite] {
            let sql = RevocationSql::new(flavor, &prefix).is_token_revoked;
            let text = sql.as_str();
            assert!(!text.contains(';'), "{text}");
            for table in [
                "p_revoked_tokens",
                "p_revoked_families",
                "p_revoked_subjects",
            ] {
                assert!(text.contains(table), "{flavor:?}: {text}");
            }
        }
    }
}
