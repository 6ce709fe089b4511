//! jsonwebtoken with its `aws_lc_rs` backend against the ring floor, one process.
//!
//! ```text
//! cargo bench --manifest-path benchmarks/jwt-aws-lc/Cargo.toml -- --warm-up-time 1 --measurement-time 2
//! ```
#![allow(missing_docs)] // A bench binary, not an API.

use criterion::{Criterion, criterion_group, criterion_main};

fn bench(c: &mut Criterion) {
    if let Err(e) = jwt_floor::run::<jwt_aws_lc::JsonWebToken>(c) {
        // A peer that disagrees with the floor voids the run: fail loudly.
        panic!("aws-lc: {e}");
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
