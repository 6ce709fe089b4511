//! Cost of the id primitives on every request's path: generating a session id, parsing the
//! one a client presents, and hashing it into a store key.
#![allow(missing_docs)] // criterion's macros generate undocumented items.
#![allow(clippy::expect_used)] // A bench that cannot get randomness has nothing to measure.

use std::hint::black_box;

use auth_core::SessionId;
use criterion::{Criterion, criterion_group, criterion_main};

fn ids(c: &mut Criterion) {
    let id = SessionId::generate().expect("CSPRNG");
    let text = id.expose_secret().to_owned();
    c.bench_function("session_id/generate", |b| {
        b.iter(|| SessionId::generate().expect("CSPRNG"))
    });
    c.bench_function("session_id/parse", |b| {
        b.iter(|| SessionId::parse(black_box(&text)))
    });
    c.bench_function("session_id/key (sha256)", |b| {
        b.iter(|| black_box(&id).key())
    });
    c.bench_function("session_id/parse+key", |b| {
        b.iter(|| SessionId::parse(black_box(&text)).map(|id| id.key()))
    });
}

criterion_group!(benches, ids);
criterion_main!(benches);
