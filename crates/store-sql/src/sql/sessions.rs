//! Statements of the session store.

use super::{Flavor, Sql, name};
use crate::TablePrefix;

/// The columns a session row is read back with, in this order.
const COLUMNS: &str = "subject, data, created_at, last_seen_at, expires_at, version";

#[derive(Debug)]
pub(crate) struct SessionSql {
    /// `$1` key, `$2` subject, `$3` data, `$4` created, `$5` last seen, `$6` expires.
    pub(crate) insert: Sql,
    /// As `insert`, over an expired row only; `$7` now.
    pub(crate) replace_expired: Sql,
    /// `$1` key, `$2` now.
    pub(crate) load: Sql,
    /// `$1` data, `$2` last seen, `$3` expires, `$4` key, `$5` version, `$6` now.
    pub(crate) save: Sql,
    /// `$1` last seen, `$2` expires, `$3` key, `$4` now.
    pub(crate) touch: Sql,
    /// `$1` key, `$2` now: the row if live, to count it.
    pub(crate) delete: Sql,
    /// `$1` key: the row whatever its deadline.
    pub(crate) delete_any: Sql,
    /// `$1` subject, `$2` now: the live rows, to count them.
    pub(crate) delete_subject: Sql,
    /// `$1` subject: every row whatever its deadline.
    pub(crate) delete_subject_any: Sql,
    /// `$1` subject, `$2` now; the key column first, then [`COLUMNS`].
    pub(crate) list_subject: Sql,
    /// `$1` now, `$2` batch size.
    pub(crate) purge: Sql,
}

impl SessionSql {
    pub(crate) fn new(flavor: Flavor, prefix: &TablePrefix) -> Self {
        let t = name(prefix, "sessions");
        Self {
            insert: Sql::new(
                flavor,
                &format!(
                    "INSERT INTO {t} (session_key, subject, data, created_at, last_seen_at, \
                     expires_at, version) VALUES ($1, $2, $3, $4, $5, $6, 0)"
                ),
            ),
            replace_expired: Sql::new(
                flavor,
                &format!(
                    "UPDATE {t} SET subject = $2, data = $3, created_at = $4, \
                     last_seen_at = $5, expires_at = $6, version = 0 \
                     WHERE session_key = $1 AND expires_at <= $7"
                ),
            ),
            load: Sql::new(
                flavor,
                &format!("SELECT {COLUMNS} FROM {t} WHERE session_key = $1 AND expires_at > $2"),
            ),
            save: Sql::new(
                flavor,
                &format!(
                    "UPDATE {t} SET data = $1, last_seen_at = $2, expires_at = $3, \
                     version = version + 1 \
                     WHERE session_key = $4 AND version = $5 AND expires_at > $6"
                ),
            ),
            touch: Sql::new(
                flavor,
                &format!(
                    "UPDATE {t} SET last_seen_at = $1, expires_at = $2 \
                     WHERE session_key = $3 AND expires_at > $4"
                ),
            ),
            delete: Sql::new(
                flavor,
                &format!("DELETE FROM {t} WHERE session_key = $1 AND expires_at > $2"),
            ),
            delete_any: Sql::new(flavor, &format!("DELETE FROM {t} WHERE session_key = $1")),
            delete_subject: Sql::new(
                flavor,
                &format!("DELETE FROM {t} WHERE subject = $1 AND expires_at > $2"),
            ),
            delete_subject_any: Sql::new(flavor, &format!("DELETE FROM {t} WHERE subject = $1")),
            list_subject: Sql::new(
                flavor,
                &format!(
                    "SELECT session_key, {COLUMNS} FROM {t} WHERE subject = $1 AND expires_at > $2"
                ),
            ),
            purge: super::purge_batch(flavor, &t, "session_key", "expires_at"),
        }
    }

    #[cfg(test)]
    pub(crate) fn all(&self) -> Vec<&Sql> {
        vec![
            &self.insert,
            &self.replace_expired,
            &self.load,
            &self.save,
            &self.touch,
            &self.delete,
            &self.delete_any,
            &self.delete_subject,
            &self.delete_subject_any,
            &self.list_subject,
            &self.purge,
        ]
    }
}
