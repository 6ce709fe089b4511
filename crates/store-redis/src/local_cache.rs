//! A local cache that Redis keeps fresh: session loads and revocation checks answered
//! from process memory, with server-assisted invalidation (RESP3 `CLIENT TRACKING`).
//! What it promises is in the crate docs ("Local cache kept fresh by Redis"); how it keeps
//! those promises is here.
//!
//! # Mode and connection layout
//!
//! Each cached store (sessions, revocations) opens **one RESP3 connection of its own** (the
//! *link*, [`link`]) to the node that serves its keys: the server itself, or on a cluster
//! the master of the slot of the store's hash tag (all of a store's keys share one tag, so
//! one node holds them all; the link asks the cluster which, and asks again after a
//! `MOVED`). The link runs `CLIENT TRACKING ON NOLOOP` in **default mode**, and **every
//! command of the store goes through it**, reads and writes alike.
//!
//! - *Default mode, not broadcast*: the server pushes an invalidation only for keys this
//!   connection has read, so a process hears about the sessions it holds, not about every
//!   session written anywhere (broadcast mode sends every write under the prefix to every
//!   process). It costs the server a tracking table of the keys read (bounded by its
//!   `tracking-table-max-keys`; when full, the server drops keys from it *and pushes their
//!   invalidation*, so it stays correct).
//! - *One connection for reads and writes*: Redis answers one connection in order, so a
//!   read sent after a write through the link sees that write, and an invalidation pushed
//!   because of a write that ran after one of our reads arrives after that read's reply.
//! - *`NOLOOP`*: the server does not push the invalidations of the link's own writes (Lua
//!   scripts included, in default mode), so a touch or a save through this process updates
//!   the local entry in place, without a second read: a touch costs one command. Redis
//!   forgets that a connection tracks a key once the key changes, so the cached variants of
//!   the session create and update scripts read the record once more after writing it,
//!   which tracks it again (a test proves a write elsewhere still evicts it afterwards).
//!   Where a server would push those invalidations after all, the only cost is a reload.
//! - *redis-rs' `cache-aio`* (experimental) was evaluated and not used: it caches raw
//!   replies per command with a client-side TTL and installs a reply in the caller's task
//!   after the connection's reader has already handled later pushes, with nothing to stop
//!   an invalidation handled in between from being lost (a stale value cached until its
//!   TTL); it keeps serving cached replies while the connection is down, and nothing
//!   notices a connection that went silent; and it cannot tell its own scripts' writes from
//!   others'. Here the entries are [moka](moka) (bounded) and the push stream of the link.
//!
//! # How staleness is ruled out
//!
//! An entry is only ever installed from an answer that came on the link while the link
//! was up, and only if nothing that could have changed the key was seen meanwhile:
//!
//! 1. **Tickets** ([`entries`]): an operation takes a ticket on its key *before* its
//!    command leaves. An invalidation push for the key marks every open ticket on it; a
//!    write through the link marks the others when it completes (or is abandoned), since
//!    its own invalidation is not pushed. At completion the answer is installed only if the
//!    ticket is clean. A write after our read executed is pushed after that read's reply, so
//!    its push either marks our ticket (not yet installed) or evicts what we installed.
//! 2. **Versions**: an entry is the record (with its store `version`) or the revocation
//!    value as stored. A clean read that finds a *different* value already held (another
//!    version from a concurrent read or write) drops the key instead of choosing, so an
//!    older answer that completes late never replaces a newer one. A save is installed only
//!    over the entry of the version it replaced, a touch only over a held entry.
//! 3. **Epochs**: leaving the up state flushes every entry and voids every open ticket
//!    (after the state changed, so no ticket taken on the lost connection survives). The
//!    link leaves it when redis-rs reports the connection closed, when a command on it
//!    fails at the connection level or answers `MOVED`/`ASK`, when the heartbeat probe
//!    fails or times out, and when a push is not understood (`FLUSHALL`'s null is a flush).
//! 4. **Heartbeat**: every `heartbeat` the link sends a probe (`EXISTS` of a key in the
//!    store's slot, which on a cluster also proves the node still serves it). Replies and
//!    pushes arrive in order, so an answered probe proves every invalidation produced
//!    before it has been applied. Nothing is served, and nothing installed, unless a probe
//!    sent within the last `heartbeat + timeout` was answered: a link that went silent (a
//!    partition, a stopped server) fails closed within that bound.
//!
//! 5. **A thread for the links**: every link's task, and the connection it opens, run on
//!    one current-thread runtime on a thread of its own, so pushes are read while the
//!    application's runtimes are blocked or gone; a link on the runtime that first used
//!    the store would stop reading while a blocking handler held that runtime, and the
//!    store's other runtimes would go on serving hits.
//! 6. **Reads beside writes**: a read that completes while a write through the link on its
//!    key (or a subject-wide delete) is in flight installs nothing: Redis may already hold
//!    the write and another read may have seen it, so what this read carries may be older.
//!
//! What remains is the window of the heartbeat: a write elsewhere whose invalidation is
//! lost in a network partition that drops packets silently (no reset, no close), or never
//! sent (a cluster slot reassigned without a migration, `SWAPDB`), is missed until the
//! probe fails, `heartbeat + timeout` at most (never, for `SWAPDB`, which moves no slot).
//! A closed or reset connection is seen at once.

pub(crate) mod entries;
pub(crate) mod link;

use std::time::Duration;

use crate::error::ConfigError;

/// Turns on the local cache of the session and revocation stores built by a
/// [`RedisStoreBuilder`](crate::RedisStoreBuilder): see the crate docs, "Local cache kept
/// fresh by Redis".
///
/// ```no_run
/// use std::time::Duration;
/// use store_redis::{LocalCacheConfig, RedisConnection, RedisStoreBuilder};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let connection = RedisConnection::connect("redis://127.0.0.1:6379").await?;
/// let builder = RedisStoreBuilder::new(connection)
///     .local_cache(LocalCacheConfig::new().max_entries(50_000));
/// let sessions = builder.sessions()?; // answers warm loads from memory
/// let revocations = builder.revocations()?; // and warm revocation checks
/// # let _ = (sessions, revocations);
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub struct LocalCacheConfig {
    max_entries: u64,
    heartbeat: Duration,
}

impl Default for LocalCacheConfig {
    fn default() -> Self {
        Self::new()
    }
}

impl LocalCacheConfig {
    /// The most values a store keeps locally unless configured otherwise.
    pub const DEFAULT_MAX_ENTRIES: u64 = 100_000;

    /// How often the invalidation connection is probed unless configured otherwise.
    pub const DEFAULT_HEARTBEAT: Duration = Duration::from_secs(1);

    /// [`DEFAULT_MAX_ENTRIES`](Self::DEFAULT_MAX_ENTRIES) and
    /// [`DEFAULT_HEARTBEAT`](Self::DEFAULT_HEARTBEAT).
    pub fn new() -> Self {
        Self {
            max_entries: Self::DEFAULT_MAX_ENTRIES,
            heartbeat: Self::DEFAULT_HEARTBEAT,
        }
    }

    /// The most values each store keeps (a session entry holds the whole record, data
    /// included; a revocation entry one stored deadline). Past it, the least useful cached
    /// values are dropped and read again when next asked for: only copies are ever evicted,
    /// never what Redis holds.
    pub fn max_entries(mut self, max_entries: u64) -> Self {
        self.max_entries = max_entries;
        self
    }

    /// How often the invalidation connection is probed. With the connection's timeout it
    /// bounds how long a silently broken connection (a partition that neither closes nor
    /// resets it) can go unnoticed: `heartbeat + timeout`. Each probe is one command per
    /// cached store. Zero is refused when a store is built.
    pub fn heartbeat(mut self, heartbeat: Duration) -> Self {
        self.heartbeat = heartbeat;
        self
    }

    pub(crate) fn checked(self) -> Result<Self, ConfigError> {
        if self.heartbeat.is_zero() {
            return Err(ConfigError::LocalCache("the heartbeat must be positive"));
        }
        Ok(self)
    }

    pub(crate) fn entries(&self) -> u64 {
        self.max_entries
    }

    pub(crate) fn beat(&self) -> Duration {
        self.heartbeat
    }
}

/// Counters of one cached store, since it was built.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LocalCacheStats {
    /// Lookups answered from memory (a revocation check counts one per key it needs).
    pub hits: u64,
    /// Lookups that had to ask Redis.
    pub misses: u64,
    /// Keys Redis reported changed.
    pub invalidations: u64,
    /// Times every entry was dropped (the invalidation connection lost, `FLUSHALL`).
    pub flushes: u64,
    /// Values held now (approximate: evictions are applied lazily).
    pub entries: u64,
}

pub use link::CacheUnavailable;
