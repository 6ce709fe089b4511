//! The tracked connection of one cached store: a RESP3 connection of our own to the node
//! that holds the store's keys, with `CLIENT TRACKING ON NOLOOP`, kept alive by a
//! heartbeat task on a thread shared by every link, and carrying every command of that
//! store.
//!
//! States: `Down` (connecting; nothing is served) and `Up` (a connection whose tracking is
//! on, confirmed by a probe sent at most `heartbeat + timeout` ago). Leaving `Up` flushes
//! the store's entries, after the state has changed, so that no ticket taken on the old
//! connection survives. Each connection has a generation; reports about an older one
//! (its `Disconnection` push, a failed probe) are ignored once it has been replaced.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, Weak};
use std::time::{Duration, Instant};

use auth_core::StoreError;
use auth_core::store::TimedOut;
use redis::aio::MultiplexedConnection;
use redis::{
    AsyncConnectionConfig, Cmd, ErrorKind, FromRedisValue, ProtocolVersion, PushInfo, PushKind,
    RedisError, ScriptInvocation, ServerErrorKind, Value,
};
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use crate::error::map_redis_error;
use crate::local_cache::entries::Invalidate;

/// The shortest and longest pause between two failed connection attempts.
const MIN_BACKOFF: Duration = Duration::from_millis(10);
const MAX_BACKOFF: Duration = Duration::from_millis(500);

/// Where the tracked connection goes.
pub(crate) enum Target {
    /// A single server.
    Node(redis::ConnectionInfo),
    /// The master of a cluster that serves `tag`'s slot, as the cluster says now; its
    /// address replaces the one in `template` (a seed's settings: credentials, TLS).
    #[cfg(feature = "cluster")]
    Cluster {
        cluster: redis::cluster_async::ClusterConnection,
        template: redis::ConnectionInfo,
        tag: String,
    },
}

/// What a [`Link`] is built from.
pub(crate) struct LinkSettings {
    pub(crate) target: Target,
    /// Per command, per connection attempt, per probe.
    pub(crate) timeout: Duration,
    pub(crate) heartbeat: Duration,
    /// A key in the store's slot that is never written: the probe reads it.
    pub(crate) probe_key: String,
    /// `CLIENT SETNAME`, so that operators (and tests) can find the connection.
    pub(crate) name: String,
    pub(crate) sink: Arc<dyn Invalidate>,
}

/// The invalidation connection of one cached store. Dropping it stops its task.
pub(crate) struct Link {
    shared: Arc<Shared>,
    task: Mutex<Option<JoinHandle<()>>>,
}

struct Shared {
    settings: LinkSettings,
    state: watch::Sender<State>,
    /// Wakes the heartbeat task: a probe is due now, or the state left `Up`.
    wake: Notify,
    generations: AtomicU64,
}

#[derive(Clone)]
enum State {
    /// No connection. `lost`: one was up and went away, or an attempt failed; requests
    /// then fail at once rather than wait out the timeout for a reconnection (a process
    /// starting up waits for its first connection instead).
    Down { lost: bool },
    Up {
        connection: MultiplexedConnection,
        generation: u64,
        /// When the last answered probe was sent: every invalidation Redis produced before
        /// then has been applied.
        confirmed: Instant,
    },
}

/// Why a cached store cannot answer now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CacheUnavailable {
    /// The invalidation connection is down or reconnecting: nothing this process holds can
    /// be vouched for, so the cache was flushed and the store answers nothing.
    #[error("the local cache's invalidation connection is down")]
    Disconnected,
    /// The invalidation connection has not been confirmed alive recently enough (its
    /// heartbeat is late): it may have missed invalidations.
    #[error("the local cache's invalidation connection is not confirmed alive")]
    Unconfirmed,
    /// Redis answered that the store's keys are served elsewhere (a cluster slot moved).
    #[error("the store's keys moved to another cluster node")]
    Moved,
    /// Called outside a tokio runtime, or the thread that runs every invalidation
    /// connection could not be started.
    #[error("the local cache needs a tokio runtime")]
    NoRuntime,
}

impl Link {
    pub(crate) fn new(settings: LinkSettings) -> Self {
        Self {
            shared: Arc::new(Shared {
                settings,
                state: watch::Sender::new(State::Down { lost: false }),
                wake: Notify::new(),
                generations: AtomicU64::new(0),
            }),
            task: Mutex::new(None),
        }
    }

    pub(crate) fn timeout(&self) -> Duration {
        self.shared.settings.timeout
    }

    /// Starts the heartbeat task on the links' own runtime unless it runs.
    fn ensure_started(&self) -> Result<(), StoreError> {
        let mut task = self.task.lock().unwrap_or_else(PoisonError::into_inner);
        if task.as_ref().is_some_and(|t| !t.is_finished()) {
            return Ok(());
        }
        // Callers wait with tokio's timers: they need a runtime of their own. Checked when
        // the link starts, not on every hit.
        tokio::runtime::Handle::try_current()
            .map_err(|_| StoreError::unavailable(CacheUnavailable::NoRuntime))?;
        let runtime =
            links_runtime().ok_or(StoreError::unavailable(CacheUnavailable::NoRuntime))?;
        if task.is_some() {
            // The task ended (it runs until aborted, so it panicked), and its connection
            // with it: what it vouched for is unknown now. A new task starts connecting:
            // wait for it as at start.
            self.shared.down(None);
            self.shared.state.send_replace(State::Down { lost: false });
        }
        *task = Some(runtime.spawn(run(self.shared.clone())));
        Ok(())
    }

    /// Waits (within the timeout) until the connection is up and confirmed: only then may
    /// a held value be served or a read be installed.
    pub(crate) async fn ready(&self) -> Result<(), StoreError> {
        self.ensure_started()?;
        if self.shared.fresh(&self.shared.state.borrow()).is_some() {
            return Ok(());
        }
        self.connection().await.map(|_| ())
    }

    /// The current connection and its generation, once up and confirmed.
    async fn connection(&self) -> Result<(MultiplexedConnection, u64), StoreError> {
        self.connection_until(tokio::time::Instant::now() + self.timeout())
            .await
    }

    /// [`connection`](Self::connection), waiting until `deadline` at most.
    async fn connection_until(
        &self,
        deadline: tokio::time::Instant,
    ) -> Result<(MultiplexedConnection, u64), StoreError> {
        self.ensure_started()?;
        let mut changes = self.shared.state.subscribe();
        loop {
            let reason = match &*changes.borrow_and_update() {
                State::Down { lost: true } => {
                    return Err(StoreError::unavailable(CacheUnavailable::Disconnected));
                }
                State::Down { lost: false } => CacheUnavailable::Disconnected,
                up => match self.shared.fresh(up) {
                    Some((connection, generation)) => return Ok((connection.clone(), generation)),
                    None => CacheUnavailable::Unconfirmed,
                },
            };
            if reason == CacheUnavailable::Unconfirmed {
                // A late probe: ask for one now rather than wait for the next beat.
                self.shared.wake.notify_one();
            }
            match tokio::time::timeout_at(deadline, changes.changed()).await {
                Ok(Ok(())) => {}
                _ => return Err(StoreError::unavailable(reason)),
            }
        }
    }

    /// Runs one command on the tracked connection.
    pub(crate) async fn query<T: FromRedisValue>(&self, cmd: &Cmd) -> Result<T, StoreError> {
        self.bounded(|mut c| async move { cmd.query_async(&mut c).await })
            .await
    }

    /// Runs a Lua script on the tracked connection.
    pub(crate) async fn invoke<T: FromRedisValue>(
        &self,
        script: &ScriptInvocation<'_>,
    ) -> Result<T, StoreError> {
        self.bounded(|mut c| async move { script.invoke_async(&mut c).await })
            .await
    }

    /// Waits for the connection and runs `call` on it, all within one timeout. An answer
    /// that says the connection is broken or no longer the right node takes the link down.
    async fn bounded<T, F, Fut>(&self, call: F) -> Result<T, StoreError>
    where
        F: FnOnce(MultiplexedConnection) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        let deadline = tokio::time::Instant::now() + self.timeout();
        let (connection, generation) = self.connection_until(deadline).await?;
        match tokio::time::timeout_at(deadline, call(connection)).await {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(error)) if moved(&error) => {
                self.shared.down(Some(generation));
                Err(StoreError::unavailable(CacheUnavailable::Moved))
            }
            Ok(Err(error)) => {
                if broken(&error) {
                    self.shared.down(Some(generation));
                }
                Err(map_redis_error(error))
            }
            Err(_) => {
                // Slow or gone: let the heartbeat find out which, now.
                self.shared.wake.notify_one();
                Err(StoreError::unavailable(TimedOut(self.timeout())))
            }
        }
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        if let Some(task) = self
            .task
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            task.abort();
        }
    }
}

impl Shared {
    /// The connection of `state` if it is up and confirmed recently enough.
    fn fresh<'s>(&self, state: &'s State) -> Option<(&'s MultiplexedConnection, u64)> {
        let State::Up {
            connection,
            generation,
            confirmed,
        } = state
        else {
            return None;
        };
        let limit = self.settings.heartbeat + self.settings.timeout;
        (confirmed.elapsed() <= limit).then_some((connection, *generation))
    }

    fn is_current(&self, generation: u64) -> bool {
        matches!(&*self.state.borrow(), State::Up { generation: g, .. } if *g == generation)
    }

    /// Leaves `Up` (if `generation` is the current one, or in any case for `None`), then
    /// flushes: after the state changed, so that no ticket taken before the flush can
    /// complete on the lost connection.
    fn down(&self, generation: Option<u64>) {
        let changed = self.state.send_if_modified(|state| match state {
            State::Up { generation: g, .. } if generation.is_none_or(|lost| lost == *g) => {
                *state = State::Down { lost: true };
                true
            }
            _ => false,
        });
        if changed || generation.is_none() {
            self.settings.sink.flush();
        }
        if changed {
            self.wake.notify_one();
        }
    }

    fn confirm(&self, generation: u64, sent: Instant) {
        self.state.send_if_modified(|state| match state {
            State::Up {
                generation: g,
                confirmed,
                ..
            } if *g == generation => {
                *confirmed = sent;
                true
            }
            _ => false,
        });
    }

    fn on_push(&self, generation: u64, push: PushInfo) {
        match push.kind {
            PushKind::Invalidate => match push.data.first() {
                Some(Value::Array(keys)) => {
                    for key in keys {
                        match key {
                            Value::BulkString(key) => self.settings.sink.invalidate(key),
                            Value::SimpleString(key) => {
                                self.settings.sink.invalidate(key.as_bytes());
                            }
                            // Not a key name: what changed is unknown.
                            _ => self.settings.sink.flush(),
                        }
                    }
                }
                // A null after FLUSHALL / FLUSHDB; anything else is not understood.
                _ => self.settings.sink.flush(),
            },
            PushKind::Disconnection => self.down(Some(generation)),
            _ => {}
        }
    }

    /// Opens a tracked connection: RESP3, pushes applied as they are read, tracking on,
    /// and a first probe (which also proves, on a cluster, that the node serves the slot).
    async fn connect(
        self: &Arc<Self>,
        generation: u64,
    ) -> Result<MultiplexedConnection, StoreError> {
        let settings = &self.settings;
        let info = settings.target.node().await?;
        let redis_settings = info
            .redis_settings()
            .clone()
            .set_protocol(ProtocolVersion::RESP3);
        let client = redis::Client::open(info.set_redis_settings(redis_settings))
            .map_err(map_redis_error)?;
        let weak: Weak<Self> = Arc::downgrade(self);
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(settings.timeout))
            .set_response_timeout(Some(settings.timeout))
            .set_push_sender(move |push: PushInfo| match weak.upgrade() {
                Some(shared) => {
                    shared.on_push(generation, push);
                    Ok(())
                }
                None => Err(CacheUnavailable::Disconnected),
            });
        let mut connection = client
            .get_multiplexed_async_connection_with_config(&config)
            .await
            .map_err(map_redis_error)?;
        let (_, _, _): (Value, Value, i64) = redis::pipe()
            .cmd("CLIENT")
            .arg("SETNAME")
            .arg(&settings.name)
            .cmd("CLIENT")
            .arg("TRACKING")
            .arg("ON")
            .arg("NOLOOP")
            .cmd("EXISTS")
            .arg(&settings.probe_key)
            .query_async(&mut connection)
            .await
            .map_err(map_redis_error)?;
        Ok(connection)
    }

    /// Probes the connection every heartbeat (or when woken) until it fails or is replaced.
    async fn watch_over(&self, mut connection: MultiplexedConnection, generation: u64) {
        loop {
            let _ = tokio::time::timeout(self.settings.heartbeat, self.wake.notified()).await;
            if !self.is_current(generation) {
                return;
            }
            let sent = Instant::now();
            let probe = redis::cmd("EXISTS").arg(&self.settings.probe_key).clone();
            let answer = probe.query_async::<i64>(&mut connection);
            match tokio::time::timeout(self.settings.timeout, answer).await {
                Ok(Ok(_)) => self.confirm(generation, sent),
                _ => {
                    self.down(Some(generation));
                    return;
                }
            }
        }
    }
}

impl Target {
    /// The address (and settings) of the node to track now.
    async fn node(&self) -> Result<redis::ConnectionInfo, StoreError> {
        match self {
            Self::Node(info) => Ok(info.clone()),
            #[cfg(feature = "cluster")]
            Self::Cluster {
                cluster,
                template,
                tag,
            } => {
                use redis::ConnectionAddr;

                let mut cluster = cluster.clone();
                let slot: u16 = redis::cmd("CLUSTER")
                    .arg("KEYSLOT")
                    .arg(tag)
                    .query_async(&mut cluster)
                    .await
                    .map_err(map_redis_error)?;
                let slots: Value = redis::cmd("CLUSTER")
                    .arg("SLOTS")
                    .query_async(&mut cluster)
                    .await
                    .map_err(map_redis_error)?;
                let (host, port) = slot_owner(slots, slot)?;
                let addr = match template.addr() {
                    ConnectionAddr::Tcp(..) => ConnectionAddr::Tcp(host, port),
                    ConnectionAddr::TcpTls {
                        insecure,
                        tls_params,
                        ..
                    } => ConnectionAddr::TcpTls {
                        host,
                        port,
                        insecure: *insecure,
                        tls_params: tls_params.clone(),
                    },
                    _ => {
                        return Err(StoreError::backend(crate::error::ConfigError::LocalCache(
                            "a cluster seed's address is neither TCP nor TLS",
                        )));
                    }
                };
                Ok(template.clone().set_addr(addr))
            }
        }
    }
}

/// The master serving `slot` in a `CLUSTER SLOTS` answer: ranges of
/// `[first, last, [host, port, id, ...], replicas...]`.
#[cfg(feature = "cluster")]
fn slot_owner(slots: Value, slot: u16) -> Result<(String, u16), StoreError> {
    let malformed = || crate::error::malformed("CLUSTER SLOTS answer");
    let Value::Array(ranges) = slots else {
        return Err(malformed());
    };
    for range in ranges {
        let Value::Array(range) = range else {
            return Err(malformed());
        };
        let (Some(Value::Int(first)), Some(Value::Int(last)), Some(Value::Array(master))) =
            (range.first(), range.get(1), range.get(2))
        else {
            return Err(malformed());
        };
        if !(*first..=*last).contains(&i64::from(slot)) {
            continue;
        }
        let (Some(host), Some(Value::Int(port))) = (master.first(), master.get(1)) else {
            return Err(malformed());
        };
        let host = String::from_redis_value(host.clone())
            .map_err(|e| StoreError::corrupt(RedisError::from(e)))?;
        let port = u16::try_from(*port).map_err(|_| malformed())?;
        return Ok((host, port));
    }
    // No master serves it now (the cluster is resharding or down).
    Err(StoreError::unavailable(CacheUnavailable::Moved))
}

/// The runtime every link's task runs on, with the connection it opens (redis-rs drives a
/// connection on the runtime that opened it): a thread of its own, so that pushes are read
/// and probes answered while the application's runtimes are busy, blocked or gone. Serving
/// a hit trusts that the link reads every push promptly; a link on a runtime that a
/// blocking handler stalls would miss invalidations while other runtimes kept serving.
fn links_runtime() -> Option<tokio::runtime::Handle> {
    static RUNTIME: OnceLock<Option<tokio::runtime::Handle>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            let handle = runtime.handle().clone();
            std::thread::Builder::new()
                .name("store-redis-cache".into())
                .spawn(move || runtime.block_on(std::future::pending::<()>()))
                .ok()?;
            Some(handle)
        })
        .clone()
}

/// The heartbeat task: connects (with backoff), then watches the connection until it is
/// lost, and again.
async fn run(shared: Arc<Shared>) {
    let mut backoff = MIN_BACKOFF;
    loop {
        let generation = shared.generations.fetch_add(1, Ordering::Relaxed) + 1;
        let sent = Instant::now();
        let attempt = auth_core::store::within(shared.settings.timeout, shared.connect(generation));
        match attempt.await {
            Ok(connection) => {
                backoff = MIN_BACKOFF;
                shared.state.send_replace(State::Up {
                    connection: connection.clone(),
                    generation,
                    confirmed: sent,
                });
                shared.watch_over(connection, generation).await;
            }
            Err(_) => {
                // Redis cannot be reached: answer requests at once until it can.
                shared.state.send_if_modified(|state| match state {
                    State::Down { lost } if !*lost => {
                        *lost = true;
                        true
                    }
                    _ => false,
                });
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

/// Redis says the key is served by another node.
fn moved(error: &RedisError) -> bool {
    matches!(
        error.kind(),
        ErrorKind::Server(ServerErrorKind::Moved | ServerErrorKind::Ask)
    )
}

/// The connection itself failed: whatever was in flight on it, pushes included, is lost.
fn broken(error: &RedisError) -> bool {
    error.is_io_error()
        || error.is_connection_dropped()
        || error.is_connection_refusal()
        || error.is_unrecoverable_error()
}
