//! The [`ThrottleStore`] contract, clause by clause.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::{now_ms, unique_subject};
use crate::store::{ThrottleKey, ThrottleWindow};
use crate::{Clock, ManualClock, ThrottleStore, unix_millis, unix_millis_up};

const WINDOW: Duration = Duration::from_secs(15 * 60);

fn key(label: &str) -> ThrottleKey {
    ThrottleKey::username(&unique_subject(label))
}

/// Hits count up in one window that ends `window` after the first hit, to the millisecond.
pub async fn hits_count_up_within_one_window<S: ThrottleStore>(store: S, clock: Arc<ManualClock>) {
    let key = key("count");
    let opened = clock.now();
    let first = store.hit(&key, WINDOW).await.unwrap();
    assert_eq!(first.count, 1);
    assert_ends(&first, opened + WINDOW);
    clock.advance(Duration::from_secs(60));
    for expected in 2..=4 {
        let window = store.hit(&key, WINDOW).await.unwrap();
        assert_eq!(window.count, expected);
        assert_eq!(window.ends_at, first.ends_at, "fixed window");
    }
}

/// A window opened inside a millisecond stays open until its full length has passed.
pub async fn a_window_never_closes_early<S: ThrottleStore>(store: S, clock: Arc<ManualClock>) {
    let key = key("partial");
    let opened = now_ms(&clock) + Duration::from_micros(700);
    clock.set(opened);
    let first = store.hit(&key, WINDOW).await.unwrap();
    assert_ends(&first, opened + WINDOW);
    clock.set(opened + WINDOW - Duration::from_micros(100));
    assert_eq!(store.hit(&key, WINDOW).await.unwrap().count, 2, "not yet");
}

/// `window` ends at `due`, or (stored to the millisecond) at the next whole one; never
/// earlier.
fn assert_ends(window: &ThrottleWindow, due: SystemTime) {
    assert!(window.ends_at >= due, "ends before {due:?}: {window:?}");
    assert!(
        unix_millis(window.ends_at) <= unix_millis_up(due),
        "ends after the millisecond of {due:?}: {window:?}"
    );
}

/// When the window ends by the store's clock, the next hit opens a new one at 1.
pub async fn a_new_window_opens_when_the_old_one_ends<S: ThrottleStore>(
    store: S,
    clock: Arc<ManualClock>,
) {
    let key = key("window");
    let first = store.hit(&key, WINDOW).await.unwrap();
    store.hit(&key, WINDOW).await.unwrap();
    clock.set(first.ends_at - Duration::from_millis(1));
    assert_eq!(store.hit(&key, WINDOW).await.unwrap().count, 3, "not yet");
    clock.set(first.ends_at);
    let next = store.hit(&key, WINDOW).await.unwrap();
    assert_eq!(next.count, 1);
    assert_ends(&next, first.ends_at + WINDOW);
}

/// `release` takes one hit back from the window it was counted in, never below zero, and
/// opens no window.
pub async fn release_takes_one_back_and_never_goes_below_zero<S: ThrottleStore>(
    store: S,
    clock: Arc<ManualClock>,
) {
    let key = key("release");
    store.release(&key, clock.now() + WINDOW).await.unwrap();
    let first = store.hit(&key, WINDOW).await.unwrap();
    assert_eq!(first.count, 1, "release opened nothing");
    store.hit(&key, WINDOW).await.unwrap();
    store.release(&key, first.ends_at).await.unwrap();
    assert_eq!(store.hit(&key, WINDOW).await.unwrap().count, 2);
    for _ in 0..5 {
        store.release(&key, first.ends_at).await.unwrap();
    }
    assert_eq!(
        store.hit(&key, WINDOW).await.unwrap().count,
        1,
        "floored at zero"
    );
    let ended = self::key("ended");
    let window = store.hit(&ended, WINDOW).await.unwrap();
    clock.set(window.ends_at);
    store.release(&ended, window.ends_at).await.unwrap();
    assert_eq!(store.hit(&ended, WINDOW).await.unwrap().count, 1);
}

/// An attempt counted in a window that has since ended is never taken back from the next
/// one: a login that ends after its window closed (abandoned while the server was busy)
/// cannot hand out extra attempts in the new window.
pub async fn a_release_never_lowers_a_later_window<S: ThrottleStore>(
    store: S,
    clock: Arc<ManualClock>,
) {
    let key = key("crossing");
    let old = store.hit(&key, WINDOW).await.unwrap();
    clock.set(old.ends_at);
    let new = store.hit(&key, WINDOW).await.unwrap();
    assert_eq!(new.count, 1, "a new window");
    store.hit(&key, WINDOW).await.unwrap();
    store.release(&key, old.ends_at).await.unwrap();
    assert_eq!(
        store.hit(&key, WINDOW).await.unwrap().count,
        3,
        "the release of an attempt of the ended window lowered the new one"
    );
    // An instant that is no window's end lowers nothing either.
    store
        .release(&key, new.ends_at + Duration::from_secs(1))
        .await
        .unwrap();
    assert_eq!(store.hit(&key, WINDOW).await.unwrap().count, 4);
    store.release(&key, new.ends_at).await.unwrap();
    assert_eq!(store.hit(&key, WINDOW).await.unwrap().count, 4);
}

/// A window too long to represent still counts: it ends at the latest instant the store
/// can hold, never at once.
pub async fn a_window_too_long_to_hold_still_counts<S: ThrottleStore>(
    store: S,
    clock: Arc<ManualClock>,
) {
    let key = key("huge");
    let first = store.hit(&key, Duration::MAX).await.unwrap();
    assert!(
        first.ends_at > clock.now() + Duration::from_secs(100 * 365 * 24 * 3600),
        "{first:?}"
    );
    for expected in 2..=4 {
        let window = store.hit(&key, Duration::MAX).await.unwrap();
        assert_eq!(window.count, expected);
        assert_eq!(window.ends_at, first.ends_at);
    }
}

/// `reset` forgets the count; other keys keep theirs.
pub async fn reset_forgets_only_that_key<S: ThrottleStore>(store: S, _clock: Arc<ManualClock>) {
    let (a, b) = (key("a"), key("b"));
    for _ in 0..3 {
        store.hit(&a, WINDOW).await.unwrap();
        store.hit(&b, WINDOW).await.unwrap();
    }
    store.reset(&a).await.unwrap();
    assert_eq!(store.hit(&a, WINDOW).await.unwrap().count, 1);
    assert_eq!(store.hit(&b, WINDOW).await.unwrap().count, 4);
    let address = ThrottleKey::address(std::net::IpAddr::from([192, 0, 2, 1]));
    store.reset(&address).await.unwrap();
    assert_eq!(store.hit(&address, WINDOW).await.unwrap().count, 1);
}

/// Concurrent hits are all counted, each seeing its own count.
pub async fn concurrent_hits_all_count<S: ThrottleStore>(store: S, _clock: Arc<ManualClock>) {
    const CALLERS: u64 = 24;
    let store = Arc::new(store);
    let key = key("race");
    let barrier = Arc::new(tokio::sync::Barrier::new(CALLERS as usize));
    let tasks: Vec<_> = (0..CALLERS)
        .map(|_| {
            let (store, barrier) = (store.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                store.hit(&key, WINDOW).await.unwrap().count
            })
        })
        .collect();
    let mut seen = BTreeSet::new();
    for task in tasks {
        seen.insert(task.await.unwrap());
    }
    assert_eq!(seen, (1..=CALLERS).collect::<BTreeSet<_>>());
}
