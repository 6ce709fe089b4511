//! Instants as the stored values and the Lua scripts see them.
//!
//! Scripts compare instants as 20-digit, zero-padded decimal nanoseconds since the Unix
//! epoch: for strings of equal length, Lua's `<` is numeric order, so the scripts never
//! convert them to (53-bit) Lua numbers. Instants before the epoch clamp to it; instants
//! after the year 2554 saturate.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Width of a stored instant or counter.
pub(crate) const DIGITS: usize = 20;

/// Nanoseconds since the epoch, clamped to `u64`.
pub(crate) fn nanos(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// The instant `nanos` nanoseconds after the epoch.
pub(crate) fn from_nanos(nanos: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_nanos(nanos)
}

/// `n` as exactly [`DIGITS`] decimal digits.
pub(crate) fn digits(n: u64) -> String {
    format!("{n:020}")
}

/// An instant as exactly [`DIGITS`] decimal digits.
pub(crate) fn instant(time: SystemTime) -> String {
    digits(nanos(time))
}

/// Parses exactly [`DIGITS`] ASCII digits.
pub(crate) fn parse_digits(bytes: &[u8]) -> Option<u64> {
    if bytes.len() != DIGITS || !bytes.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(bytes).ok()?.parse().ok()
}

/// Milliseconds since the epoch, rounded up: an index score that is never earlier than
/// the instant itself.
pub(crate) fn ceil_millis(time: SystemTime) -> u64 {
    nanos(time).div_ceil(1_000_000)
}

/// `ceil_ms(instant)` in Lua: [`ceil_millis`] of an instant as stored, for scripts that
/// derive a TTL or a score from a stored deadline. The first 14 of the 20 digits are the
/// whole milliseconds, exact in a Lua number (below 2^53).
pub(crate) const LUA_CEIL_MS: &str = "\
local function ceil_ms(instant)
  local ms = tonumber(string.sub(instant, 1, 14))
  if string.sub(instant, 15, 20) ~= '000000' then
    ms = ms + 1
  end
  return ms
end
";

/// Milliseconds since the epoch, rounded down: a score at or below it is in the past.
pub(crate) fn floor_millis(time: SystemTime) -> u64 {
    nanos(time) / 1_000_000
}

/// The score at or below which an index entry (a deadline in ms) is dead by every node's
/// clock: the store's clock less `slack`, rounded down. Node clocks are taken to agree
/// within the slack, as the native TTLs already assume; pruning at the bare now would let
/// a node whose clock runs ahead drop an entry that another node still serves, and "log
/// out everywhere", which finds a subject's credentials through its index, would miss it.
pub(crate) fn prune_millis(now: SystemTime, slack: Duration) -> u64 {
    floor_millis(over_everywhere(now, slack))
}

/// The instant before which a deadline has passed by every node's clock: the store's
/// clock less `slack` (node clocks agree within it). A deadline after it may still be
/// ahead on a node whose clock is behind.
pub(crate) fn over_everywhere(now: SystemTime, slack: Duration) -> SystemTime {
    now.checked_sub(slack).unwrap_or(UNIX_EPOCH)
}

/// The native TTL, in milliseconds, for a value that stops mattering at `deadline`: the
/// time left by the store's clock, rounded up, plus `slack` (so that a clock a little
/// behind Redis's never sees a live record vanish), and at least 1 ms.
pub(crate) fn ttl_millis(now: SystemTime, deadline: SystemTime, slack: Duration) -> u64 {
    let left = auth_core::remaining(now, deadline).saturating_add(slack);
    u64::try_from(left.as_nanos().div_ceil(1_000_000))
        .unwrap_or(MAX_TTL_MILLIS)
        .clamp(1, MAX_TTL_MILLIS)
}

/// `slack` in whole milliseconds (rounded up), for scripts that add it to a TTL they
/// compute: bounded like any TTL, so the sum stays an exact Lua number.
pub(crate) fn slack_millis(slack: Duration) -> u64 {
    u64::try_from(slack.as_nanos().div_ceil(1_000_000))
        .unwrap_or(MAX_TTL_MILLIS)
        .min(MAX_TTL_MILLIS)
}

/// The longest native TTL set (about 10,000 years): Redis refuses expiry times that
/// overflow its millisecond clock, and stored deadlines saturate long before this.
const MAX_TTL_MILLIS: u64 = 10_000 * 365 * 24 * 3600 * 1000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_round_trip_and_sort_as_strings() {
        let a = UNIX_EPOCH + Duration::new(1_700_000_000, 123_456_789);
        let b = a + Duration::from_nanos(1);
        assert_eq!(from_nanos(parse_digits(instant(a).as_bytes()).unwrap()), a);
        assert!(instant(a) < instant(b));
        assert_eq!(instant(UNIX_EPOCH - Duration::from_secs(1)), "0".repeat(20));
        assert_eq!(parse_digits(b"12"), None);
        assert_eq!(parse_digits(b"0000000000000000000x"), None);
    }

    #[test]
    fn millis_bound_the_instant() {
        let t = UNIX_EPOCH + Duration::from_nanos(1_500_001);
        assert_eq!(ceil_millis(t), 2);
        assert_eq!(floor_millis(t), 1);
        let now = UNIX_EPOCH;
        assert_eq!(ttl_millis(now, t, Duration::ZERO), 2);
        assert_eq!(ttl_millis(t, now, Duration::ZERO), 1);
        assert_eq!(ttl_millis(now, t, Duration::from_secs(1)), 1_002);
        let far = UNIX_EPOCH + Duration::from_secs(u64::MAX / 4);
        assert_eq!(ttl_millis(now, far, Duration::MAX), MAX_TTL_MILLIS);
        assert_eq!(slack_millis(Duration::from_nanos(1_000_001)), 2);
        assert_eq!(slack_millis(Duration::MAX), MAX_TTL_MILLIS);
    }
}
