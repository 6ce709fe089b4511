//! Statements of the login-throttle store.

use super::{Flavor, Sql, name};
use crate::TablePrefix;

#[derive(Debug)]
pub(crate) struct ThrottleSql {
    /// `$1` key, `$2` now, `$3` the end of a window opened now: counts one hit, in the
    /// open window or in a new one if the key's has ended. On PostgreSQL and SQLite it
    /// returns the row's new `hits, ends_at`.
    pub(crate) hit: Sql,
    /// `$1` key: reads `hits, ends_at` back, inside the transaction that ran `hit`, where
    /// the dialect cannot return them from the upsert (MySQL).
    pub(crate) read_hit: Option<Sql>,
    /// `$1` key, `$2` now, `$3` the end of the window the hit was counted in: one hit
    /// fewer in that window while it is open, never below zero.
    pub(crate) release: Sql,
    /// `$1` key.
    pub(crate) reset: Sql,
    /// `$1` now, `$2` batch size: ended windows.
    pub(crate) purge: Sql,
}

impl ThrottleSql {
    pub(crate) fn new(flavor: Flavor, prefix: &TablePrefix) -> Self {
        let t = name(prefix, "throttle_windows");
        let insert = format!("INSERT INTO {t} (throttle_key, hits, ends_at) VALUES ($1, 1, $3)");
        // Every assignment must see the row as it was. PostgreSQL and SQLite evaluate them
        // all against the old row; MySQL applies them left to right, so `ends_at` goes last
        // and `hits` still sees the old `ends_at`.
        let open = format!("{t}.ends_at > $2");
        let assignments = format!(
            "hits = CASE WHEN {open} THEN {t}.hits + 1 ELSE 1 END, \
             ends_at = CASE WHEN {open} THEN {t}.ends_at ELSE $3 END"
        );
        let (hit, read_hit) = match flavor {
            Flavor::Postgres | Flavor::Sqlite => (
                format!(
                    "{insert} ON CONFLICT (throttle_key) DO UPDATE SET {assignments} \
                     RETURNING hits, ends_at"
                ),
                None,
            ),
            Flavor::MySql => (
                format!("{insert} ON DUPLICATE KEY UPDATE {assignments}"),
                Some(Sql::new(
                    flavor,
                    &format!("SELECT hits, ends_at FROM {t} WHERE throttle_key = $1"),
                )),
            ),
        };
        Self {
            hit: Sql::new(flavor, &hit),
            read_hit,
            release: Sql::new(
                flavor,
                &format!(
                    "UPDATE {t} SET hits = hits - 1 \
                     WHERE throttle_key = $1 AND ends_at > $2 AND ends_at = $3 AND hits > 0"
                ),
            ),
            reset: Sql::new(flavor, &format!("DELETE FROM {t} WHERE throttle_key = $1")),
            purge: super::purge_batch(flavor, &t, "throttle_key", "ends_at"),
        }
    }

    #[cfg(test)]
    pub(crate) fn all(&self) -> Vec<&Sql> {
        let mut all = vec![&self.hit, &self.release, &self.reset, &self.purge];
        all.extend(self.read_hit.iter());
        all
    }
}
