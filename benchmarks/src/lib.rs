//! What the comparison benches share: the session every store holds, where Redis is, how
//! long criterion measures by default, and how the `jwt` bench decides what to hand the
//! JWT peer script.
//!
//! The benches themselves live in `benches/` (see `README.md` beside this crate):
//!
//! ```text
//! cargo bench -p benchmarks                      # everything, about 9 minutes once built
//! cargo bench -p benchmarks --bench sessions     # one bench
//! cargo bench -p benchmarks -- --test            # each bench once, as a smoke test
//! ```
//!
//! ```
//! use benchmarks::{ROLES, SUBJECT, session_data};
//!
//! assert_eq!(session_data()["roles"][0], ROLES[0]);
//! assert!(!SUBJECT.is_empty());
//! ```

use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub mod jwt_peers;

/// The subject of every benchmarked session and token.
pub const SUBJECT: &str = "alice";

/// The roles every benchmarked session carries.
pub const ROLES: [&str; 2] = ["user", "editor"];

/// The variable naming the Redis the Redis benches use.
pub const REDIS_URL_VAR: &str = "REDIS_URL";

/// Where Redis is when [`REDIS_URL_VAR`] is unset (DESIGN.md §7).
pub const DEFAULT_REDIS_URL: &str = "redis://127.0.0.1:6379";

/// Criterion's warm-up per function unless the command line says otherwise: short, so that
/// `cargo bench -p benchmarks` stays under 10 minutes on a 2-core machine.
pub const WARM_UP: Duration = Duration::from_millis(500);

/// Criterion's measurement per function unless the command line says otherwise.
pub const MEASUREMENT: Duration = Duration::from_millis(1500);

/// authkit's session data: the roles, as a JSON object. The subject is the record's own
/// field.
pub fn session_data() -> serde_json::Value {
    serde_json::json!({ "roles": ROLES })
}

/// The Redis URL from [`REDIS_URL_VAR`], or [`DEFAULT_REDIS_URL`].
pub fn redis_url() -> String {
    std::env::var(REDIS_URL_VAR).unwrap_or_else(|_| DEFAULT_REDIS_URL.to_owned())
}

/// The message a bench fails with when Redis does not answer.
pub fn redis_unreachable(url: &str, error: &dyn std::fmt::Display) -> String {
    format!(
        "Redis is not reachable at {url} ({error}): start redis-server, or set \
         {REDIS_URL_VAR} to a Redis the benches may write to"
    )
}

/// A key prefix no other run uses: `authkit-bench-<what>-<pid>-<nanoseconds>`.
pub fn run_prefix(what: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("authkit-bench-{what}-{}-{nanos}", std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_differ_between_calls() {
        assert_ne!(run_prefix("s"), run_prefix("s"));
        assert!(run_prefix("s").starts_with("authkit-bench-s-"));
    }

    #[test]
    fn the_message_names_the_service_and_the_variable() {
        let message = redis_unreachable("redis://x", &"refused");
        assert!(message.contains("Redis") && message.contains(REDIS_URL_VAR));
    }
}
