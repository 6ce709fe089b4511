//! The SQL text of every statement, per dialect, built once per table prefix.
//!
//! Statements are written with PostgreSQL's numbered placeholders (`$1`, `$2`, ...), so one
//! template serves every backend: SQLite takes them as `?1`, `?2`; MySQL has only
//! positional `?`, so the template is rewritten and the order in which it uses its
//! parameters is kept beside it, letting callers always pass arguments by number.

mod refresh;
mod revocations;
mod schema;
mod sessions;
mod throttle;

pub(crate) use refresh::RefreshSql;
pub(crate) use revocations::RevocationSql;
pub(crate) use schema::{LockKey, SCHEMA_VERSION, SchemaSql};
pub(crate) use sessions::SessionSql;
pub(crate) use throttle::ThrottleSql;

use std::sync::Arc;

use sqlx::{AssertSqlSafe, SqlSafeStr, SqlStr};

use crate::TablePrefix;

/// The SQL dialects this crate speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    Postgres,
    MySql,
    Sqlite,
}

impl Flavor {
    /// The larger of two integer expressions.
    pub(crate) fn greatest(self, a: &str, b: &str) -> String {
        match self {
            Self::Postgres | Self::MySql => format!("GREATEST({a}, {b})"),
            Self::Sqlite => format!("MAX({a}, {b})"),
        }
    }

    /// What ends a `SELECT` that must lock the rows it reads until the transaction ends.
    /// SQLite has no row locks: its write transactions (`BEGIN IMMEDIATE`) exclude every
    /// other writer instead.
    pub(crate) fn for_update(self) -> &'static str {
        match self {
            Self::Postgres | Self::MySql => " FOR UPDATE",
            Self::Sqlite => "",
        }
    }
}

/// One value bound to a statement parameter.
#[derive(Clone, Copy, Debug)]
pub enum Arg<'a> {
    Int(i64),
    Bytes(&'a [u8]),
    /// Bytes or SQL `NULL`: a `NULL` compared with `=` matches no row, which lets one
    /// statement skip a branch whose key the caller does not have.
    OptBytes(Option<&'a [u8]>),
}

/// A statement ready to run: its text in the backend's dialect, and for each placeholder in
/// the text, in order, which argument (0-based) goes there.
#[derive(Clone, Debug)]
pub struct Sql {
    text: SqlStr,
    order: Arc<[usize]>,
    /// Whether the driver may cache the prepared statement on the connection. Schema
    /// statements run once and are not cached.
    persistent: bool,
}

impl Sql {
    /// Translates a `$n` template for `flavor`.
    pub(crate) fn new(flavor: Flavor, template: &str) -> Self {
        let (text, order) = translate(flavor, template);
        Self {
            text: AssertSqlSafe(Arc::<str>::from(text)).into_sql_str(),
            order: order.into(),
            persistent: true,
        }
    }

    /// A statement run once (schema changes): not cached as a prepared statement.
    pub(crate) fn once(flavor: Flavor, template: &str) -> Self {
        Self {
            persistent: false,
            ..Self::new(flavor, template)
        }
    }

    /// The text for the driver (a cheap shared copy).
    pub(crate) fn text(&self) -> SqlStr {
        self.text.clone()
    }

    pub(crate) fn as_str(&self) -> &str {
        self.text.as_str()
    }

    /// The 0-based argument index for each placeholder, in textual order.
    pub(crate) fn order(&self) -> &[usize] {
        &self.order
    }

    pub(crate) fn persistent(&self) -> bool {
        self.persistent
    }
}

/// Rewrites `$n` placeholders for `flavor`, returning the text and the argument order.
fn translate(flavor: Flavor, template: &str) -> (String, Vec<usize>) {
    let mut text = String::with_capacity(template.len());
    let mut order = Vec::new();
    let mut chars = template.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        if c != '$' {
            text.push(c);
            continue;
        }
        let mut number = 0usize;
        let mut digits = 0;
        while let Some(&(_, d)) = chars.peek() {
            let Some(value) = d.to_digit(10) else { break };
            number = number * 10 + value as usize;
            digits += 1;
            chars.next();
        }
        if digits == 0 || number == 0 {
            // Not a placeholder; our templates have none of these, but keep the text as is.
            text.push('$');
            continue;
        }
        match flavor {
            Flavor::Postgres => {
                text.push('$');
                text.push_str(&number.to_string());
                order.push(number - 1);
            }
            Flavor::Sqlite => {
                text.push('?');
                text.push_str(&number.to_string());
                order.push(number - 1);
            }
            Flavor::MySql => {
                text.push('?');
                order.push(number - 1);
            }
        }
    }
    if flavor != Flavor::MySql {
        // Numbered placeholders bind by number: arguments go in plain order, once each.
        order.sort_unstable();
        order.dedup();
    }
    (text, order)
}

/// The name of table or index `suffix` under `prefix`. Both parts are plain identifiers
/// (the prefix is validated, the suffixes are ours), so the result needs no quoting.
pub(crate) fn name(prefix: &TablePrefix, suffix: &str) -> String {
    format!("{}{suffix}", prefix.as_str())
}

/// Deletes at most `$2` rows of `table` whose `deadline` column is at or before `$1`; `key`
/// lists the primary-key columns.
/// MySQL cannot `LIMIT` a subquery under `IN`, but takes `LIMIT` on `DELETE` itself.
/// Elsewhere the deadline is checked in the outer `DELETE` too: the subquery reads the
/// statement's snapshot, and PostgreSQL re-checks only the outer condition on a row that
/// changed meanwhile, so a row re-armed concurrently (a second "log out everywhere" on an
/// ended subject row) would otherwise be deleted with its new deadline still ahead.
pub(crate) fn purge_batch(flavor: Flavor, table: &str, key: &str, deadline: &str) -> Sql {
    let template = match flavor {
        Flavor::MySql => format!("DELETE FROM {table} WHERE {deadline} <= $1 LIMIT $2"),
        Flavor::Postgres | Flavor::Sqlite => format!(
            "DELETE FROM {table} WHERE {deadline} <= $1 AND ({key}) IN \
             (SELECT {key} FROM {table} WHERE {deadline} <= $1 LIMIT $2)"
        ),
    };
    Sql::new(flavor, &template)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_translate_per_dialect() {
        let template = "UPDATE t SET a = $2, b = GREATEST(b, $3) WHERE k = $1 AND c > $3";
        let pg = Sql::new(Flavor::Postgres, template);
        assert_eq!(pg.as_str(), template);
        assert_eq!(pg.order(), &[0, 1, 2]);
        let lite = Sql::new(Flavor::Sqlite, template);
        assert_eq!(
            lite.as_str(),
            "UPDATE t SET a = ?2, b = GREATEST(b, ?3) WHERE k = ?1 AND c > ?3"
        );
        assert_eq!(lite.order(), &[0, 1, 2]);
        let my = Sql::new(Flavor::MySql, template);
        assert_eq!(
            my.as_str(),
            "UPDATE t SET a = ?, b = GREATEST(b, ?) WHERE k = ? AND c > ?"
        );
        assert_eq!(my.order(), &[1, 2, 0, 2]);
    }

    /// Every statement of every dialect binds each of its arguments: numbered placeholders
    /// run from `$1` without a gap (a gap would shift every later argument), and MySQL's
    /// positional ones use each argument at least once.
    #[test]
    fn every_statement_uses_its_arguments_without_gaps() {
        let prefix = TablePrefix::new("p_").unwrap();
        for flavor in [Flavor::Postgres, Flavor::MySql, Flavor::Sqlite] {
            let sessions = SessionSql::new(flavor, &prefix);
            let revocations = RevocationSql::new(flavor, &prefix);
            let refresh = RefreshSql::new(flavor, &prefix);
            let throttle = ThrottleSql::new(flavor, &prefix);
            let schema = SchemaSql::new(flavor, &prefix);
            let all = sessions
                .all()
                .into_iter()
                .chain(revocations.all())
                .chain(refresh.all())
                .chain(throttle.all())
                .chain(schema.all());
            for sql in all {
                let mut used: Vec<usize> = sql.order().to_vec();
                used.sort_unstable();
                used.dedup();
                let expected: Vec<usize> = (0..used.len()).collect();
                assert_eq!(used, expected, "{flavor:?}: {}", sql.as_str());
                assert!(!sql.as_str().contains('$') || flavor == Flavor::Postgres);
                // Every statement but the migration lock (named by an argument) names a table.
                let text = sql.as_str();
                assert!(
                    text.contains("p_") || text.to_ascii_uppercase().contains("LOCK("),
                    "{text}"
                );
            }
        }
    }

    /// Every name a prefix yields fits PostgreSQL's 63-byte identifiers.
    #[test]
    fn names_fit_with_the_longest_prefix() {
        let prefix = TablePrefix::new(&"x".repeat(TablePrefix::MAX_LEN)).unwrap();
        let schema = SchemaSql::new(Flavor::Postgres, &prefix);
        for sql in schema.all() {
            for word in sql
                .as_str()
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            {
                assert!(word.len() <= 63, "{word}");
            }
        }
    }

    #[test]
    fn two_digit_placeholders() {
        let my = Sql::new(Flavor::MySql, "VALUES ($10, $1)");
        assert_eq!(my.as_str(), "VALUES (?, ?)");
        assert_eq!(my.order(), &[9, 0]);
    }
}
