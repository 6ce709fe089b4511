//! auth-core's store traits on SQL databases, through sqlx: PostgreSQL (feature
//! `postgres`), MySQL and MariaDB (feature `mysql`) and SQLite (feature `sqlite`, on by
//! default, so a service gets an embedded store with nothing to run beside it).
//!
//! - [`SqlSessionStore`], [`SqlRevocationStore`], [`SqlRefreshTokenStore`] and
//!   [`SqlThrottleStore`], generic over the [`Backend`] (`sqlx::Postgres`, `sqlx::MySql`,
//!   `sqlx::Sqlite`), built over a pool you already have or from a URL ([`connect`]), all
//!   four from one [`SqlStores`].
//! - Table names start with a validated [`TablePrefix`]; values only ever reach the
//!   database as bound parameters.
//! - Embedded, versioned migrations, applied by an explicit [`SqlStores::migrate`]:
//!   idempotent, safe to run from several processes at once, and upgrading a database an
//!   earlier release created.
//! - The revocation check every authenticated request makes
//!   ([`is_token_revoked`](auth_core::RevocationStore::is_token_revoked): the token's `jti`,
//!   its refresh family and its subject's "not before") is one statement, one round trip.
//! - Keys are the SHA-256 hashes auth-core computes ([`auth_core::SessionKey`],
//!   [`auth_core::RefreshTokenHash`]): a dump of the tables cannot be replayed. Times are
//!   Unix milliseconds, compared with the store's [`Clock`](auth_core::Clock) (bound as a
//!   value, never the database server's `NOW()`); what ends or starts a refusal (a
//!   revocation's `until`, a subject's "not before", a throttle window's end) is rounded
//!   up, so a refusal never ends early. Each process decides by its own clock; processes
//!   on one database must agree within [`CLOCK_SKEW`] (5 s; NTP keeps them within
//!   milliseconds): a revocation counts as over, to skip writing it, to merge a subject's
//!   entry rather than replace it, and to purge it, only once it is over by every clock
//!   within that skew, so a process behind still refuses by it; the purge keeps every
//!   other row (a used refresh token, a throttle window) as long.
//! - Expired rows never load; [`PurgeHandle`] deletes them in the background, in bounded
//!   batches.
//! - Every store call is bounded in time ([`SqlStoresBuilder::timeout`], default
//!   [`DEFAULT_TIMEOUT`], 5 s): waiting for a pooled connection, a locked row or a stalled
//!   server, the call gives up at the deadline and answers `Unavailable`, so a request
//!   fails closed quickly instead of hanging. A PostgreSQL or MySQL connection given up on
//!   mid-statement is closed, never handed to the next call; a SQLite connection finishes
//!   the statement on its worker thread and comes back to the pool in a known state.
//! - Errors are auth-core's [`StoreError`](auth_core::StoreError): a database that cannot
//!   be reached, a pool or a call that times out, or a lost connection is `Unavailable`; a
//!   row that breaks the schema's rules is `Corrupt`, never a panic.
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//! use auth_core::{Clock, ManualClock, SessionId, SessionStore};
//! use auth_core::store::SessionRecord;
//! use store_sql::{SqlStores, TablePrefix};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let clock = Arc::new(ManualClock::starting_now());
//! let pool = store_sql::connect::<sqlx::Sqlite>("sqlite::memory:").await?;
//! let stores = SqlStores::builder(pool)
//!     .prefix(TablePrefix::new("auth_")?)
//!     .clock(clock.clone())
//!     .build();
//! stores.migrate().await?;
//! let sessions = stores.sessions();
//!
//! // The client gets the id; the table only ever sees its SHA-256.
//! let id = SessionId::generate()?;
//! let now = clock.now();
//! let record = SessionRecord::new("alice", b"{}".to_vec(), now, now + Duration::from_secs(60));
//! sessions.create(&id.key(), &record).await?;
//! assert_eq!(sessions.load(&id.key()).await?.map(|r| r.subject), Some("alice".into()));
//!
//! // Expiry follows the store's clock, whatever the row still says.
//! clock.advance(Duration::from_secs(61));
//! assert!(sessions.load(&id.key()).await?.is_none());
//! // The purge deletes the row once it is over for every clock within the skew.
//! clock.advance(store_sql::CLOCK_SKEW);
//! assert_eq!(sessions.purge_expired().await?, 1);
//! # Ok(())
//! # }
//! ```
//!
//! # Pools
//!
//! Any sqlx pool of a supported database will do. Two things to know when you build your
//! own:
//!
//! - Each connection to `sqlite::memory:` opens a separate, empty database that disappears
//!   with the connection: give such a pool exactly one connection and no idle timeout or
//!   maximum lifetime (as [`connect`] does), or use a file.
//! - sqlx checks an idle connection with a ping before handing it out
//!   (`PoolOptions::test_before_acquire`, on by default): one more round trip per
//!   operation, in exchange for never using a connection the server has dropped. Turning it
//!   off makes a load or save exactly one round trip.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod prefix;

pub use prefix::{InvalidPrefix, TablePrefix};

#[cfg(any(feature = "postgres", feature = "mysql", feature = "sqlite"))]
mod backend;
#[cfg(any(feature = "postgres", feature = "mysql", feature = "sqlite"))]
mod call;
#[cfg(any(feature = "postgres", feature = "mysql", feature = "sqlite"))]
mod error;
#[cfg(any(feature = "postgres", feature = "mysql", feature = "sqlite"))]
mod migrate;
#[cfg(any(feature = "postgres", feature = "mysql", feature = "sqlite"))]
mod purge;
#[cfg(any(feature = "postgres", feature = "mysql", feature = "sqlite"))]
mod refresh_store;
#[cfg(any(feature = "postgres", feature = "mysql", feature = "sqlite"))]
mod revocation_store;
#[cfg(any(feature = "postgres", feature = "mysql", feature = "sqlite"))]
mod session_store;
#[cfg(any(feature = "postgres", feature = "mysql", feature = "sqlite"))]
mod sql;
#[cfg(any(feature = "postgres", feature = "mysql", feature = "sqlite"))]
mod stores;
#[cfg(any(feature = "postgres", feature = "mysql", feature = "sqlite"))]
mod throttle_store;

#[cfg(any(feature = "postgres", feature = "mysql", feature = "sqlite"))]
pub use {
    backend::Backend,
    error::ConfigError,
    purge::PurgeHandle,
    refresh_store::SqlRefreshTokenStore,
    revocation_store::SqlRevocationStore,
    session_store::SqlSessionStore,
    stores::{
        CLOCK_SKEW, DEFAULT_PURGE_BATCH, DEFAULT_TIMEOUT, SqlStores, SqlStoresBuilder, connect,
    },
    throttle_store::SqlThrottleStore,
};

/// The sqlx version this crate is built on, re-exported so that pools and database types
/// always match: `store_sql::sqlx::PgPool`, `store_sql::sqlx::Sqlite`, ...
#[cfg(any(feature = "postgres", feature = "mysql", feature = "sqlite"))]
pub use sqlx;
