//! The conformance suite: one test per clause of the store contracts, run by every store
//! implementation so that every backend keeps the same promises.
//!
//! Each clause is a public `async fn(store, clock)` in [`session`], [`revocation`],
//! [`refresh`] or [`throttle`]; the macros
//! [`session_store_conformance!`](crate::session_store_conformance),
//! [`revocation_store_conformance!`](crate::revocation_store_conformance),
//! [`refresh_store_conformance!`](crate::refresh_store_conformance) and
//! [`throttle_store_conformance!`](crate::throttle_store_conformance) expand to one
//! `#[tokio::test]` per clause. The crate using them needs `tokio` (features
//! `rt-multi-thread`, `macros`) as a dev-dependency.
//!
//! ```
//! # struct MyStore;
//! # impl MyStore {
//! #     async fn connect_with_fresh_prefix(clock: auth_core::SharedClock) -> auth_core::memory::MemorySessionStore {
//! #         auth_core::memory::MemorySessionStore::new(clock)
//! #     }
//! # }
//! async fn store(clock: auth_core::SharedClock) -> impl auth_core::SessionStore {
//!     MyStore::connect_with_fresh_prefix(clock).await
//! }
//! mod sessions {
//!     auth_core::session_store_conformance!(super::store);
//! }
//! # // The macro's tests exist only under `cargo test`; run one clause the way they do.
//! # fn main() {
//! #     tokio::runtime::Runtime::new().unwrap().block_on(async {
//! #         let clock = std::sync::Arc::new(auth_core::ManualClock::starting_now());
//! #         let store = store(clock.clone()).await;
//! #         auth_core::conformance::session::create_then_load_round_trips(store, clock).await;
//! #     });
//! # }
//! ```
//!
//! The factory gets a [`ManualClock`] that starts at the real current
//! time and that the tests advance without real time passing: a store must decide every
//! expiry with it. Times are compared at millisecond precision, the least a store must
//! keep. Each factory call should return a store isolated from every other (its own key
//! prefix, tables or schema), since the tests run in parallel.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is a failed test.

pub mod refresh;
pub mod revocation;
pub mod session;
pub mod throttle;
pub mod unavailable;

use std::time::SystemTime;

use crate::{Clock, ManualClock, from_unix_millis, unix_millis};

/// The clock's current time, truncated to whole milliseconds.
pub fn now_ms(clock: &ManualClock) -> SystemTime {
    from_unix_millis(unix_millis(clock.now()))
}

/// A subject no other test uses.
pub fn unique_subject(label: &str) -> String {
    let id = crate::SessionId::generate().expect("CSPRNG");
    format!("{label}-{}", &id.key().to_hex()[..12])
}

/// Subjects every store refuses (see [`check_subject`](crate::store::check_subject)): one
/// byte too long, and one containing NUL.
pub fn rule_breaking_subjects() -> [String; 2] {
    [
        "s".repeat(crate::store::MAX_SUBJECT_LEN + 1),
        "nul\u{0}inside".to_owned(),
    ]
}

/// Asserts that `method`, given `subject` from [`rule_breaking_subjects`], refused it as
/// [`check_subject`](crate::store::check_subject) does: `TooLarge` for the long one,
/// `InvalidInput` for NUL.
pub fn assert_subject_refused<T: std::fmt::Debug>(
    method: &str,
    subject: &str,
    result: Result<T, crate::StoreError>,
) {
    let expected = crate::store::check_subject(subject).expect_err("a rule-breaking subject");
    match (&result, &expected) {
        (Err(crate::StoreError::TooLarge { .. }), crate::StoreError::TooLarge { .. })
        | (Err(crate::StoreError::InvalidInput(_)), crate::StoreError::InvalidInput(_)) => {}
        _ => panic!("{method} given {subject:?}: expected {expected:?}, got {result:?}"),
    }
}

/// `len` bytes covering every byte value (zeros, invalid UTF-8 and all).
pub fn every_byte(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 256) as u8).collect()
}

/// Expands to one test per clause. See the [module docs](crate::conformance).
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_tests {
    ($factory:path, $module:ident, [$($clause:ident),* $(,)?]) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $clause() {
                let clock = ::std::sync::Arc::new($crate::ManualClock::starting_now());
                let shared: $crate::SharedClock = clock.clone();
                let store = $factory(shared).await;
                $crate::conformance::$module::$clause(store, clock).await;
            }
        )*
    };
}

/// One `#[tokio::test]` per [`SessionStore`](crate::SessionStore) contract clause, for a
/// factory `async fn(SharedClock) -> impl SessionStore`.
#[macro_export]
macro_rules! session_store_conformance {
    ($factory:path) => {
        $crate::__conformance_tests!(
            $factory,
            session,
            [
                create_then_load_round_trips,
                create_never_overwrites,
                create_may_replace_an_expired_record,
                expired_records_never_load,
                expiry_is_exact_to_the_millisecond,
                save_bumps_version_and_persists,
                stale_version_is_conflict_and_newer_data_survives,
                save_never_resurrects_a_deleted_session,
                concurrent_saves_of_one_version_have_one_winner,
                touch_extends_expiry_without_bumping_version,
                touch_of_missing_or_expired_is_false,
                delete_removes_and_reports,
                delete_subject_removes_every_session_of_that_subject_and_no_other,
                list_subject_lists_only_live_sessions,
                data_up_to_the_limit_round_trips_byte_for_byte,
                oversized_values_are_refused_and_nothing_changes,
                hostile_subjects_stay_isolated,
                rule_breaking_subjects_are_refused_by_every_method,
                purge_expired_keeps_live_records,
            ]
        );
    };
}

/// One `#[tokio::test]` per [`RevocationStore`](crate::RevocationStore) contract clause,
/// for a factory `async fn(SharedClock) -> impl RevocationStore`.
#[macro_export]
macro_rules! revocation_store_conformance {
    ($factory:path) => {
        $crate::__conformance_tests!(
            $factory,
            revocation,
            [
                revocation_lasts_until_exp_and_no_longer,
                revocation_is_per_issuer_and_jti,
                subject_revocation_rejects_older_and_accepts_newer,
                subject_revocation_lasts_until_and_no_longer,
                subject_not_before_never_moves_backwards,
                is_token_revoked_checks_jti_and_subject,
                family_revocation_refuses_its_tokens_until_until,
                a_revocation_is_never_shortened,
                a_partial_millisecond_never_shortens_a_refusal,
                oversized_ids_are_refused,
                rule_breaking_subjects_are_refused_by_every_method,
            ]
        );
    };
}

/// One `#[tokio::test]` per [`RefreshTokenStore`](crate::RefreshTokenStore) contract
/// clause, for a factory `async fn(SharedClock) -> impl RefreshTokenStore`.
#[macro_export]
macro_rules! refresh_store_conformance {
    ($factory:path) => {
        $crate::__conformance_tests!(
            $factory,
            refresh,
            [
                rotate_keeps_family_subject_and_data,
                insert_never_overwrites,
                reuse_of_a_rotated_token_revokes_the_family,
                concurrent_rotations_have_exactly_one_winner,
                expired_and_unknown_tokens_are_unknown,
                revoke_family_revokes_only_that_family,
                revoke_subject_revokes_only_that_subject,
                data_up_to_the_limit_round_trips_and_larger_is_refused,
                rotation_never_extends_a_family_past_its_end,
                rule_breaking_subjects_are_refused_by_every_method,
            ]
        );
    };
}

/// One `#[tokio::test]` per [`ThrottleStore`](crate::ThrottleStore) contract clause, for a
/// factory `async fn(SharedClock) -> impl ThrottleStore`.
#[macro_export]
macro_rules! throttle_store_conformance {
    ($factory:path) => {
        $crate::__conformance_tests!(
            $factory,
            throttle,
            [
                hits_count_up_within_one_window,
                a_window_never_closes_early,
                a_new_window_opens_when_the_old_one_ends,
                release_takes_one_back_and_never_goes_below_zero,
                a_release_never_lowers_a_later_window,
                a_window_too_long_to_hold_still_counts,
                reset_forgets_only_that_key,
                concurrent_hits_all_count,
            ]
        );
    };
}

/// One `#[tokio::test]` per trait, proving the bounded-time rule against a **stalled**
/// backend: each factory is an `async fn() -> impl Trait` whose store talks to a server
/// that accepts connections and never answers, configured with a short time limit. Name
/// the traits the backend implements; see [`unavailable`](crate::conformance::unavailable).
///
/// ```
/// # // Stand-ins with the factories' shapes; a backend's talk to a server that never answers.
/// # use auth_core::memory::{MemoryRefreshTokenStore, MemoryRevocationStore, MemorySessionStore, MemoryThrottleStore};
/// # use auth_core::SystemClock;
/// # async fn stalled_sessions() -> MemorySessionStore { MemorySessionStore::new(SystemClock::shared()) }
/// # async fn stalled_revocations() -> MemoryRevocationStore { MemoryRevocationStore::new(SystemClock::shared()) }
/// # async fn stalled_refresh() -> MemoryRefreshTokenStore { MemoryRefreshTokenStore::new(SystemClock::shared()) }
/// # async fn stalled_throttle() -> MemoryThrottleStore { MemoryThrottleStore::new(SystemClock::shared()) }
/// auth_core::unavailable_conformance! {
///     sessions: stalled_sessions,
///     revocations: stalled_revocations,
///     refresh: stalled_refresh,
///     throttle: stalled_throttle,
/// }
/// # // The macro's tests exist only under `cargo test`; check the factories fit the clauses.
/// # use auth_core::conformance::unavailable::*;
/// # async fn _shapes() {
/// #     session_calls_answer_unavailable(stalled_sessions().await).await;
/// #     revocation_calls_answer_unavailable(stalled_revocations().await).await;
/// #     refresh_calls_answer_unavailable(stalled_refresh().await).await;
/// #     throttle_calls_answer_unavailable(stalled_throttle().await).await;
/// # }
/// # fn main() {}
/// ```
#[macro_export]
macro_rules! unavailable_conformance {
    ($($kind:ident : $factory:path),+ $(,)?) => {
        $( $crate::__unavailable_test!($kind, $factory); )+
    };
}

/// One test of [`unavailable_conformance!`](crate::unavailable_conformance).
#[doc(hidden)]
#[macro_export]
macro_rules! __unavailable_test {
    (sessions, $factory:path) => {
        $crate::__unavailable_test!(@test sessions_answer_unavailable_when_stalled,
            session_calls_answer_unavailable, $factory);
    };
    (revocations, $factory:path) => {
        $crate::__unavailable_test!(@test revocations_answer_unavailable_when_stalled,
            revocation_calls_answer_unavailable, $factory);
    };
    (refresh, $factory:path) => {
        $crate::__unavailable_test!(@test refresh_tokens_answer_unavailable_when_stalled,
            refresh_calls_answer_unavailable, $factory);
    };
    (throttle, $factory:path) => {
        $crate::__unavailable_test!(@test throttle_answers_unavailable_when_stalled,
            throttle_calls_answer_unavailable, $factory);
    };
    (@test $name:ident, $clause:ident, $factory:path) => {
        #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            $crate::conformance::unavailable::$clause($factory().await).await;
        }
    };
}
