//! A tour of authkit's embedded defaults, no server needed: sessions in the in-memory
//! store, with time moved by a manual clock instead of waiting.
#![allow(clippy::print_stdout)] // A demo's output is its point.

use std::sync::Arc;
use std::time::Duration;

use auth_core::memory::MemorySessionStore;
use auth_core::store::SessionRecord;
use auth_core::{Clock, ManualClock, SessionId, SessionStore};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let clock = Arc::new(ManualClock::starting_now());
    let store = MemorySessionStore::builder().clock(clock.clone()).build();

    let id = SessionId::generate()?;
    let now = clock.now();
    let record = SessionRecord::new(
        "alice",
        b"{}".to_vec(),
        now,
        now + Duration::from_secs(1800),
    );
    store.create(&id.key(), &record).await?;
    println!(
        "created a session for alice; the store keys it as {:?}",
        id.key()
    );
    println!("the id itself prints as {id:?}");

    let sessions = store.list_subject("alice").await?;
    println!("alice has {} live session(s)", sessions.len());

    clock.advance(Duration::from_secs(1801));
    let after = store.load(&id.key()).await?;
    println!("31 minutes later the session loads: {}", after.is_some());
    Ok(())
}
