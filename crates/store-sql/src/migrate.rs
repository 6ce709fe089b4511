//! The embedded migrations runner behind `migrate()`.

use auth_core::StoreError;

use crate::backend::Backend;
use crate::error::store_error;
use crate::sql::{Arg, Flavor, LockKey, SchemaSql};
use crate::stores::Shared;

/// Applies every migration up to version `up_to` not yet recorded, under the backend's
/// migration lock.
pub(crate) async fn run<DB: Backend>(shared: &Shared<DB>, up_to: i64) -> Result<(), StoreError> {
    let schema = &shared.schema;
    let now = shared.now();
    if DB::FLAVOR == Flavor::MySql {
        return run_mysql(shared, up_to, now).await;
    }
    shared
        .run_unbounded(|conn, _| {
            Box::pin(async move {
                // PostgreSQL and SQLite change schemas transactionally: the whole run commits
                // or not at all, and the lock is held until it does.
                let mut tx = DB::begin_write(conn).await?;
                if let Some(lock) = &schema.lock {
                    DB::fetch_optional(&mut tx, lock, &lock_args(schema)).await?;
                }
                apply::<DB>(&mut tx, schema, up_to, now).await?;
                tx.commit().await
            })
        })
        .await
}

/// MySQL commits each DDL statement on its own, so a transaction cannot hold the runs
/// apart: a named lock on one connection does, released on that same connection.
async fn run_mysql<DB: Backend>(
    shared: &Shared<DB>,
    up_to: i64,
    now: i64,
) -> Result<(), StoreError> {
    let schema = &shared.schema;
    let (Some(lock), Some(unlock)) = (&schema.lock, &schema.unlock) else {
        return Err(StoreError::backend(
            "no migration lock is defined for MySQL",
        ));
    };
    let args = lock_args(schema);
    let mut conn = shared.pool.acquire().await.map_err(store_error::<DB>)?;
    // Never back to the pool: a connection that may hold the lock (a run stopped at any
    // await, its future dropped by a timeout) would keep it from every other process for
    // as long as the pool keeps the connection. Closing it releases the lock.
    conn.close_on_drop();
    let granted = DB::fetch_optional(&mut conn, lock, &args)
        .await
        .and_then(|row| row.map(|row| DB::get_i64(&row, 0)).transpose())
        .map_err(store_error::<DB>)?;
    if granted != Some(1) {
        return Err(StoreError::unavailable(LockNotGranted));
    }
    let applied = apply::<DB>(&mut conn, schema, up_to, now).await;
    let released = DB::fetch_optional(&mut conn, unlock, &args).await;
    applied.map_err(store_error::<DB>)?;
    released.map_err(store_error::<DB>)?;
    Ok(())
}

/// MySQL's `GET_LOCK` gave up waiting (another run held the lock for 30 s).
#[derive(Debug, thiserror::Error)]
#[error("timed out waiting for the migration lock")]
struct LockNotGranted;

fn lock_args(schema: &SchemaSql) -> [Arg<'_>; 1] {
    match &schema.lock_key {
        LockKey::Int(key) => [Arg::Int(*key)],
        LockKey::Name(name) => [Arg::Bytes(name)],
    }
}

/// Creates the version table, then runs and records each migration up to `up_to` that it
/// does not list.
async fn apply<DB: Backend>(
    conn: &mut DB::Connection,
    schema: &SchemaSql,
    up_to: i64,
    now: i64,
) -> Result<(), sqlx::Error> {
    DB::execute(conn, &schema.create_versions, &[]).await?;
    let rows = DB::fetch_all(conn, &schema.applied_versions, &[]).await?;
    let applied = rows
        .iter()
        .map(|row| DB::get_i64(row, 0))
        .collect::<Result<Vec<_>, _>>()?;
    for migration in &schema.migrations {
        if migration.version > up_to || applied.contains(&migration.version) {
            continue;
        }
        for step in &migration.steps {
            if let Some(done) = &step.done_if
                && DB::fetch_optional(conn, done, &[]).await?.is_some()
            {
                continue;
            }
            DB::execute(conn, &step.sql, &[]).await?;
        }
        DB::execute(
            conn,
            &schema.record_version,
            &[Arg::Int(migration.version), Arg::Int(now)],
        )
        .await?;
    }
    Ok(())
}
