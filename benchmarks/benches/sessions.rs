//! Sessions: tower-sessions' stores against authkit's, in one run, at two levels.
//!
//! **Store level** (each library's `SessionStore` trait, what a framework calls):
//!
//! | step | tower-sessions (`tower_sessions::SessionStore`) | authkit (`auth_core::SessionStore`) |
//! |---|---|---|
//! | create | `create(&mut Record)` | `create(&key, &record)` |
//! | load | `load(&id)` | `load(&key)` |
//! | extend expiry | `save(&record)` with a later `expiry_date` (its only way) | `touch(&key, now, now + 30 min)`; `save` with a version is measured too |
//!
//! plus `create+load+extend`, the three in a row on a fresh session (extending by `save`
//! for tower-sessions, `touch` for authkit). Functions in the extend group name the call
//! (`(save)`, `(touch)`). Records are built
//! before the clock starts (ids included: at this level the caller supplies them), and the
//! sessions a sample created are deleted after its clock stops.
//!
//! **Manager level** (what an application calls):
//!
//! - create: tower-sessions `Session::new(None, store, expiry)`, `insert("user_id")`,
//!   `insert("roles")`, `save()` (what its middleware does at the end of a login request);
//!   authkit `SessionManager::create(subject, {"roles": [..]})`. Fresh random ids on both.
//! - load: from the cookie's text to the user id and roles: tower-sessions parses the id,
//!   `Session::new(Some(id), ..)`, `get("user_id")` and `get("roles")` (its first `get`
//!   loads the record); authkit `SessionManager::load(id)`, `subject()` and `roles()`.
//!
//! The same content everywhere: subject `alice` and roles `["user", "editor"]`
//! (tower-sessions records have no subject field, so it is the data key `user_id`), 30
//! minutes of idle expiry.
//!
//! Stores: tower-sessions' `MemoryStore` against `MemorySessionStore` and
//! `Cached<MemorySessionStore>`; then tower-sessions-redis-store's `RedisStore` (one fred
//! `Client`) against `RedisSessionStore` (one redis-rs `ConnectionManager`), on the Redis
//! at `REDIS_URL` (default `redis://127.0.0.1:6379`). Without Redis the bench fails and
//! says so. authkit's keys carry a per-run prefix; tower-sessions-redis-store has no prefix
//! setting (its keys are the bare 128-bit session ids), so its keys are deleted one by one
//! after each sample and at the end.
//!
//! Groups are named `session store <step> (<backend>)` and `session manager <step>
//! (<backend>)`, so `-- memory`, `-- redis`, `-- "session store"` select parts.
//!
//! `cargo bench -p benchmarks --bench sessions`
#![allow(missing_docs)] // A bench binary, not an API.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Bench setup: a panic is a failed run.

use std::cell::RefCell;
use std::collections::HashMap;
use std::hint::black_box;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use auth_core::memory::MemorySessionStore;
use auth_core::store::SessionRecord;
use auth_core::{Cached, SessionId, SessionKey, SessionStore as OurStore};
use auth_session::SessionManager;
use benchmarks::{
    MEASUREMENT, ROLES, SUBJECT, WARM_UP, redis_unreachable, redis_url, run_prefix, session_data,
};
use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, criterion_group, criterion_main};
use store_redis::{RedisConnection, RedisSessionStore, RedisStoreBuilder};
use tokio::runtime::Runtime;
use tower_sessions::cookie::time::{Duration as TimeDuration, OffsetDateTime};
use tower_sessions::session::{Id, Record};
use tower_sessions::{Expiry, MemoryStore, Session, SessionStore as TheirStore};
use tower_sessions_redis_store::RedisStore;
use tower_sessions_redis_store::fred::prelude::{Client, ClientLike, Config};

/// Idle expiry on both sides: authkit's default idle timeout.
const IDLE: Duration = Duration::from_secs(30 * 60);

fn their_expiry() -> Expiry {
    Expiry::OnInactivity(TimeDuration::minutes(30))
}

/// One session store, driven at the trait level.
trait StoreSide {
    /// A session ready to be created: its id and record.
    type Session;
    /// The name in the benchmark group.
    fn name(&self) -> &str;
    /// A fresh session (untimed).
    fn prepare(&self) -> Self::Session;
    async fn create(&self, session: &mut Self::Session);
    async fn load(&self, session: &Self::Session);
    /// Extends the idle expiry the way the library does it.
    async fn extend(&self, session: &mut Self::Session);
    /// The call `extend` makes, for the function's name.
    fn extend_call(&self) -> &'static str;
    async fn delete(&self, session: &Self::Session);
}

/// A tower-sessions store.
struct Theirs<S> {
    name: String,
    store: S,
}

impl<S: TheirStore> StoreSide for Theirs<S> {
    type Session = Record;

    fn name(&self) -> &str {
        &self.name
    }

    fn prepare(&self) -> Record {
        Record {
            id: Id::default(),
            data: HashMap::from([
                ("user_id".to_owned(), SUBJECT.into()),
                ("roles".to_owned(), ROLES.as_slice().into()),
            ]),
            expiry_date: OffsetDateTime::now_utc() + IDLE,
        }
    }

    async fn create(&self, record: &mut Record) {
        self.store.create(record).await.unwrap();
    }

    async fn load(&self, record: &Record) {
        let loaded = self.store.load(&record.id).await.unwrap();
        black_box(loaded.unwrap());
    }

    async fn extend(&self, record: &mut Record) {
        record.expiry_date = OffsetDateTime::now_utc() + IDLE;
        self.store.save(record).await.unwrap();
    }

    fn extend_call(&self) -> &'static str {
        "save"
    }

    async fn delete(&self, record: &Record) {
        self.store.delete(&record.id).await.unwrap();
    }
}

/// An authkit store; `extend` is `touch`, or `save` when `by_save`.
struct Ours<S> {
    name: String,
    store: S,
    data: Vec<u8>,
    by_save: bool,
}

impl<S: OurStore> Ours<S> {
    fn new(name: &str, store: S) -> Self {
        Self {
            name: name.to_owned(),
            store,
            data: serde_json::to_vec(&session_data()).unwrap(),
            by_save: false,
        }
    }

    /// The same store, measured extending by a versioned `save`.
    fn by_save(self) -> Self {
        Self {
            by_save: true,
            ..self
        }
    }
}

impl<S: OurStore> StoreSide for Ours<S> {
    type Session = (SessionKey, SessionRecord);

    fn name(&self) -> &str {
        &self.name
    }

    fn prepare(&self) -> Self::Session {
        let now = SystemTime::now();
        let record = SessionRecord::new(SUBJECT, self.data.clone(), now, now + IDLE);
        (SessionId::generate().unwrap().key(), record)
    }

    async fn create(&self, (key, record): &mut Self::Session) {
        self.store.create(key, record).await.unwrap();
    }

    async fn load(&self, (key, _): &Self::Session) {
        let loaded = self.store.load(key).await.unwrap();
        black_box(loaded.unwrap());
    }

    async fn extend(&self, (key, record): &mut Self::Session) {
        let now = SystemTime::now();
        if self.by_save {
            record.last_seen_at = now;
            record.expires_at = now + IDLE;
            record.version = self.store.save(key, record).await.unwrap();
        } else {
            assert!(self.store.touch(key, now, now + IDLE).await.unwrap());
        }
    }

    fn extend_call(&self) -> &'static str {
        if self.by_save { "save" } else { "touch" }
    }

    async fn delete(&self, (key, _): &Self::Session) {
        self.store.delete(key).await.unwrap();
    }
}

/// Creates `iters` prepared sessions against the clock (with `load` and `extend` after
/// each when `full`), then deletes them.
async fn create_many<S: StoreSide>(side: &S, iters: u64, full: bool) -> Duration {
    let mut sessions: Vec<S::Session> = (0..iters).map(|_| side.prepare()).collect();
    let started = Instant::now();
    for session in &mut sessions {
        side.create(session).await;
        if full {
            side.load(session).await;
            side.extend(session).await;
        }
    }
    let elapsed = started.elapsed();
    for session in &sessions {
        side.delete(session).await;
    }
    elapsed
}

/// One step of the store level.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Step {
    Create,
    Load,
    Extend,
    All,
}

impl Step {
    const EVERY: [Self; 4] = [Self::Create, Self::Load, Self::Extend, Self::All];

    fn group(self, backend: &str) -> String {
        let label = match self {
            Self::Create => "create",
            Self::Load => "load",
            Self::Extend => "extend expiry",
            Self::All => "create+load+extend",
        };
        format!("session store {label} ({backend})")
    }
}

/// Measures `side` doing `step` in `group`.
fn store_step<S: StoreSide>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    rt: &Runtime,
    side: &S,
    step: Step,
) {
    match step {
        Step::Create | Step::All => {
            group.bench_function(side.name(), |b| {
                b.to_async(rt)
                    .iter_custom(|iters| create_many(side, iters, step == Step::All))
            });
        }
        Step::Load => {
            let mut session = side.prepare();
            rt.block_on(side.create(&mut session));
            group.bench_function(side.name(), |b| {
                b.to_async(rt).iter_custom(|iters| {
                    let session = &session;
                    async move {
                        let started = Instant::now();
                        for _ in 0..iters {
                            side.load(session).await;
                        }
                        started.elapsed()
                    }
                })
            });
            rt.block_on(side.delete(&session));
        }
        Step::Extend => {
            let mut session = side.prepare();
            rt.block_on(side.create(&mut session));
            // Each sample's future owns the session and hands it back at its end.
            let slot = Rc::new(RefCell::new(Some(session)));
            let name = format!("{} ({})", side.name(), side.extend_call());
            group.bench_function(name, |b| {
                b.to_async(rt).iter_custom(|iters| {
                    let slot = slot.clone();
                    async move {
                        let mut session = slot.borrow_mut().take().unwrap();
                        let started = Instant::now();
                        for _ in 0..iters {
                            side.extend(&mut session).await;
                        }
                        let elapsed = started.elapsed();
                        *slot.borrow_mut() = Some(session);
                        elapsed
                    }
                })
            });
            let session = slot.borrow_mut().take().unwrap();
            rt.block_on(side.delete(&session));
        }
    }
}

/// tower-sessions' way to create a session: a `Session` with no id, two inserts, `save`.
async fn their_session<T: TheirStore>(store: &Arc<T>) -> Id {
    let session = Session::new(None, store.clone(), Some(their_expiry()));
    session.insert("user_id", SUBJECT).await.unwrap();
    session.insert("roles", ROLES).await.unwrap();
    session.save().await.unwrap();
    session.id().unwrap()
}

fn their_manager_create<T: TheirStore>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    rt: &Runtime,
    name: &str,
    store: &Arc<T>,
) {
    group.bench_function(name, |b| {
        b.to_async(rt).iter_custom(|iters| async move {
            let mut ids = Vec::with_capacity(iters as usize);
            let started = Instant::now();
            for _ in 0..iters {
                ids.push(their_session(store).await);
            }
            let elapsed = started.elapsed();
            for id in &ids {
                store.delete(id).await.unwrap();
            }
            elapsed
        })
    });
}

fn our_manager_create<S: OurStore>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    rt: &Runtime,
    name: &str,
    manager: &SessionManager<S>,
) {
    let data = session_data();
    group.bench_function(name, |b| {
        b.to_async(rt).iter_custom(|iters| {
            let data = &data;
            async move {
                let mut sessions = Vec::with_capacity(iters as usize);
                let started = Instant::now();
                for _ in 0..iters {
                    sessions.push(manager.create(SUBJECT, data).await.unwrap());
                }
                let elapsed = started.elapsed();
                for session in &sessions {
                    manager.destroy(session).await.unwrap();
                }
                elapsed
            }
        })
    });
}

fn their_manager_load<T: TheirStore>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    rt: &Runtime,
    name: &str,
    store: &Arc<T>,
) {
    let id = rt.block_on(their_session(store));
    // What the cookie carries.
    let cookie = id.to_string();
    group.bench_function(name, |b| {
        b.to_async(rt).iter(|| async {
            let id: Id = cookie.parse().unwrap();
            let session = Session::new(Some(id), store.clone(), Some(their_expiry()));
            let user: String = session.get("user_id").await.unwrap().unwrap();
            let roles: Vec<String> = session.get("roles").await.unwrap().unwrap();
            black_box((user, roles))
        })
    });
    rt.block_on(store.delete(&id)).unwrap();
}

fn our_manager_load<S: OurStore>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    rt: &Runtime,
    name: &str,
    manager: &SessionManager<S>,
) {
    let session = rt
        .block_on(manager.create(SUBJECT, &session_data()))
        .unwrap();
    // What the cookie carries.
    let cookie = session.id().expose_secret().to_owned();
    group.bench_function(name, |b| {
        b.to_async(rt).iter(|| async {
            let session = manager.load(&cookie).await.unwrap().unwrap();
            black_box((session.subject().to_owned(), session.roles().unwrap()))
        })
    });
    rt.block_on(manager.destroy(&session)).unwrap();
}

fn memory(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();

    let theirs = Theirs {
        name: "tower-sessions MemoryStore".into(),
        store: MemoryStore::default(),
    };
    let memory = Ours::new("authkit MemorySessionStore", MemorySessionStore::default());
    let cached = Ours::new(
        "authkit Cached<MemorySessionStore>",
        Cached::builder(MemorySessionStore::default()).build(),
    );
    let memory_save = Ours::new("authkit MemorySessionStore", memory.store.clone()).by_save();
    for step in Step::EVERY {
        let mut group = c.benchmark_group(step.group("memory"));
        store_step(&mut group, &rt, &theirs, step);
        store_step(&mut group, &rt, &memory, step);
        if step == Step::Extend {
            store_step(&mut group, &rt, &memory_save, step);
        }
        store_step(&mut group, &rt, &cached, step);
        group.finish();
    }

    let theirs = (
        "tower-sessions Session (MemoryStore)",
        Arc::new(MemoryStore::default()),
    );
    let memory = (
        "authkit SessionManager (MemorySessionStore)",
        SessionManager::new(MemorySessionStore::default()),
    );
    let cached = (
        "authkit SessionManager (Cached<MemorySessionStore>)",
        SessionManager::new(Cached::builder(MemorySessionStore::default()).build()),
    );
    let mut group = c.benchmark_group("session manager create (memory)");
    their_manager_create(&mut group, &rt, theirs.0, &theirs.1);
    our_manager_create(&mut group, &rt, memory.0, &memory.1);
    our_manager_create(&mut group, &rt, cached.0, &cached.1);
    group.finish();
    let mut group = c.benchmark_group("session manager load (memory)");
    their_manager_load(&mut group, &rt, theirs.0, &theirs.1);
    our_manager_load(&mut group, &rt, memory.0, &memory.1);
    our_manager_load(&mut group, &rt, cached.0, &cached.1);
    group.finish();
}

fn redis(c: &mut Criterion) {
    // As store-redis' own bench: one worker thread, so both clients' I/O runs beside the
    // benchmark loop the same way.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let url = redis_url();
    let prefix = run_prefix("sessions");
    let (client, ours) = rt.block_on(async {
        let config =
            Config::from_url(&url).unwrap_or_else(|e| panic!("{}", redis_unreachable(&url, &e)));
        let client = Client::new(config, None, None, None);
        match tokio::time::timeout(Duration::from_secs(5), client.init()).await {
            Ok(Ok(_connection_task)) => {}
            Ok(Err(e)) => panic!("{}", redis_unreachable(&url, &e)),
            Err(_) => panic!("{}", redis_unreachable(&url, &"no answer within 5 s")),
        }
        let connection = RedisConnection::connect(&url)
            .await
            .unwrap_or_else(|e| panic!("{}", redis_unreachable(&url, &e)));
        let ours: RedisSessionStore = RedisStoreBuilder::new(connection)
            .prefix(prefix.as_str())
            .sessions()
            .unwrap();
        // The connection is lazy: prove Redis answers before measuring anything.
        let probe = SessionId::generate().unwrap().key();
        if let Err(e) = ours.load(&probe).await {
            panic!("{}", redis_unreachable(&url, &e));
        }
        (client, ours)
    });

    let theirs = Theirs {
        name: "tower-sessions-redis-store RedisStore (fred)".into(),
        store: RedisStore::new(client.clone()),
    };
    let mine = Ours::new("authkit RedisSessionStore", ours.clone());
    let mine_save = Ours::new("authkit RedisSessionStore", ours.clone()).by_save();
    for step in Step::EVERY {
        let mut group = c.benchmark_group(step.group("redis"));
        store_step(&mut group, &rt, &theirs, step);
        store_step(&mut group, &rt, &mine, step);
        if step == Step::Extend {
            store_step(&mut group, &rt, &mine_save, step);
        }
        group.finish();
    }

    let theirs = Arc::new(RedisStore::new(client));
    let manager = SessionManager::new(ours);
    let (their_name, our_name) = (
        "tower-sessions Session (RedisStore)",
        "authkit SessionManager (RedisSessionStore)",
    );
    let mut group = c.benchmark_group("session manager create (redis)");
    their_manager_create(&mut group, &rt, their_name, &theirs);
    our_manager_create(&mut group, &rt, our_name, &manager);
    group.finish();
    let mut group = c.benchmark_group("session manager load (redis)");
    their_manager_load(&mut group, &rt, their_name, &theirs);
    our_manager_load(&mut group, &rt, our_name, &manager);
    group.finish();

    // Anything a panicking sample left behind under our prefix.
    rt.block_on(manager.destroy_all(SUBJECT)).unwrap();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(WARM_UP)
        .measurement_time(MEASUREMENT)
}

criterion_group! {
    name = benches;
    config = config();
    targets = memory, redis
}
criterion_main!(benches);
