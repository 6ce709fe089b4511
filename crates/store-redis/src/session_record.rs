//! How a [`SessionRecord`] is stored: one Redis string, read in one `GET`.
//!
//! ```text
//! offset  size  field
//!      0     1  format version, 0x01
//!      1    20  expires_at    (decimal nanoseconds since the epoch, zero padded)
//!     21    20  version       (decimal, zero padded)
//!     41    20  last_seen_at  (as expires_at)
//!     61    20  created_at    (as expires_at)
//!     81    32  the subject's key name (hex SHA-256 prefix, names its index)
//!    113     3  subject length (decimal, zero padded, at most 255)
//!    116     n  subject (UTF-8)
//!  116+n  rest  data (opaque bytes)
//! ```
//!
//! The fixed-width header lets the Lua scripts compare deadlines and versions as strings
//! and rewrite the mutable fields without parsing the rest. This is the one definition of
//! the layout: the scripts (`lua/session_*.lua`) name no position themselves, each is
//! prefixed with [`lua_layout`], generated from the constants below (a test refuses a
//! literal position in them, and another runs the layout against Redis). A change of
//! layout is a new format version.

use std::time::SystemTime;

use auth_core::StoreError;
use auth_core::store::{SessionRecord, check_subject};

use crate::error::malformed;
use crate::keys::{NAME_HASH_HEX, subject_name};
use crate::time::{DIGITS, digits, from_nanos, instant, parse_digits};

/// The first byte of every value in this format.
pub(crate) const FORMAT: u8 = 1;

const EXPIRES: usize = 1;
const VERSION: usize = EXPIRES + DIGITS;
const LAST_SEEN: usize = VERSION + DIGITS;
const CREATED: usize = LAST_SEEN + DIGITS;
const SUBJECT_NAME: usize = CREATED + DIGITS;
const SUBJECT_LEN: usize = SUBJECT_NAME + NAME_HASH_HEX;
const SUBJECT_LEN_SIZE: usize = 3;
const SUBJECT: usize = SUBJECT_LEN + SUBJECT_LEN_SIZE;

// A save rewrites expires_at, version and last_seen_at as one run of bytes right after
// the format byte, and keeps everything from created_at to the end of the subject.
const _: () =
    assert!(EXPIRES == 1 && VERSION == EXPIRES + DIGITS && CREATED == EXPIRES + 3 * DIGITS);

/// The layout as the scripts see it: Lua locals holding each field's 1-based position and
/// size, and `field(value, at, size)`. Prefixed to every session script.
pub(crate) fn lua_layout() -> String {
    format!(
        "local FORMAT = string.char({FORMAT})\n\
         local DIGITS = {DIGITS}\n\
         local EXPIRES = {expires}\n\
         local VERSION = {version}\n\
         local CREATED = {created}\n\
         local SUBJECT_NAME, SUBJECT_NAME_SIZE = {subject_name}, {NAME_HASH_HEX}\n\
         local SUBJECT_LEN, SUBJECT_LEN_SIZE = {subject_len}, {SUBJECT_LEN_SIZE}\n\
         local SUBJECT = {subject}\n\
         local function field(value, at, size) return string.sub(value, at, at + size - 1) end\n",
        expires = EXPIRES + 1,
        version = VERSION + 1,
        created = CREATED + 1,
        subject_name = SUBJECT_NAME + 1,
        subject_len = SUBJECT_LEN + 1,
        subject = SUBJECT + 1,
    )
}

/// A session script's source: [`lua_layout`] followed by `body`.
pub(crate) fn lua_script(body: &str) -> String {
    let mut script = lua_layout();
    script.push_str(body);
    script
}

/// Encodes `record` as stored, with `version` in place of `record.version`.
pub(crate) fn encode(record: &SessionRecord, version: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(SUBJECT + record.subject.len() + record.data.len());
    out.push(FORMAT);
    out.extend_from_slice(instant(record.expires_at).as_bytes());
    out.extend_from_slice(digits(version).as_bytes());
    out.extend_from_slice(instant(record.last_seen_at).as_bytes());
    out.extend_from_slice(instant(record.created_at).as_bytes());
    out.extend_from_slice(subject_name(&record.subject).as_bytes());
    // Callers check the subject against MAX_SUBJECT_LEN (255) first.
    out.extend_from_slice(format!("{:03}", record.subject.len()).as_bytes());
    out.extend_from_slice(record.subject.as_bytes());
    out.extend_from_slice(&record.data);
    out
}

/// Decodes a stored value; anything this module did not write is [`StoreError::Corrupt`].
pub(crate) fn decode(bytes: &[u8]) -> Result<SessionRecord, StoreError> {
    if bytes.len() < SUBJECT {
        return Err(malformed("session value too short"));
    }
    if bytes[0] != FORMAT {
        return Err(malformed("unknown session format"));
    }
    let field = |at: usize| {
        parse_digits(&bytes[at..at + DIGITS]).ok_or_else(|| malformed("session header field"))
    };
    let expires_at = from_nanos(field(EXPIRES)?);
    let version = field(VERSION)?;
    let last_seen_at = from_nanos(field(LAST_SEEN)?);
    let created_at = from_nanos(field(CREATED)?);
    let len_text = &bytes[SUBJECT_LEN..SUBJECT];
    if !len_text.iter().all(u8::is_ascii_digit) {
        return Err(malformed("session subject length"));
    }
    let subject_len = len_text
        .iter()
        .fold(0usize, |n, d| n * 10 + usize::from(d - b'0'));
    let data_at = SUBJECT + subject_len;
    let subject = bytes
        .get(SUBJECT..data_at)
        .ok_or_else(|| malformed("session subject truncated"))?;
    let subject = std::str::from_utf8(subject)
        .map_err(|_| malformed("session subject is not UTF-8"))?
        .to_owned();
    // Never written (stores check every subject), so never handed out either.
    check_subject(&subject).map_err(|_| malformed("session subject breaks the subject rules"))?;
    if bytes[SUBJECT_NAME..SUBJECT_LEN] != *subject_name(&subject).as_bytes() {
        return Err(malformed("session subject name does not match"));
    }
    let mut record = SessionRecord::new(subject, bytes[data_at..].to_vec(), created_at, expires_at);
    record.last_seen_at = last_seen_at;
    record.version = version;
    Ok(record)
}

/// Whether the stored value `bytes` is live at `now`, reading only its header.
pub(crate) fn is_live(bytes: &[u8], now: SystemTime) -> Result<bool, StoreError> {
    let field = bytes
        .get(EXPIRES..EXPIRES + DIGITS)
        .and_then(parse_digits)
        .ok_or_else(|| malformed("session header field"))?;
    Ok(now < from_nanos(field))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // Test code: a panic is a failed test.

    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    /// The scripts address fields only through the generated layout.
    #[test]
    fn no_session_script_names_a_position_itself() {
        for (name, source) in [
            ("session_create.lua", include_str!("lua/session_create.lua")),
            ("session_update.lua", include_str!("lua/session_update.lua")),
            ("session_delete.lua", include_str!("lua/session_delete.lua")),
            (
                "session_subject.lua",
                include_str!("lua/session_subject.lua"),
            ),
        ] {
            crate::lua_check::positions_come_from_the_layout(name, source);
        }
    }

    /// Lua reads, through the generated layout, exactly the fields Rust wrote, and keeps
    /// the bytes a save must keep: run against the Redis at `REDIS_URL`.
    #[tokio::test(flavor = "current_thread")]
    async fn lua_reads_every_field_where_rust_writes_it() {
        let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
        let client = redis::Client::open(url.as_str()).unwrap();
        let mut c = client
            .get_multiplexed_async_connection()
            .await
            .unwrap_or_else(|e| panic!("Redis is not reachable at {url} (set REDIS_URL): {e}"));
        let probe = redis::Script::new(&lua_script(
            "local v = ARGV[1]\n\
             local len = tonumber(field(v, SUBJECT_LEN, SUBJECT_LEN_SIZE))\n\
             return {string.sub(v, 1, 1) == FORMAT and 1 or 0, field(v, EXPIRES, DIGITS),\n\
               field(v, VERSION, DIGITS), field(v, CREATED, DIGITS),\n\
               field(v, SUBJECT_NAME, SUBJECT_NAME_SIZE), field(v, SUBJECT, len),\n\
               string.sub(v, SUBJECT + len)}\n",
        ));
        let record = sample();
        type Fields = (i64, String, String, String, String, String, Vec<u8>);
        let fields: Fields = probe
            .arg(encode(&record, 7))
            .invoke_async(&mut c)
            .await
            .unwrap();
        assert_eq!(
            fields,
            (
                1,
                instant(record.expires_at),
                digits(7),
                instant(record.created_at),
                subject_name(&record.subject),
                record.subject.clone(),
                record.data.clone(),
            )
        );
    }

    fn sample() -> SessionRecord {
        let t = UNIX_EPOCH + Duration::new(1_800_000_000, 987_654_321);
        let mut r = SessionRecord::new(
            "ålice {x}",
            vec![0, 255, b'{', 1],
            t,
            t + Duration::from_secs(60),
        );
        r.last_seen_at = t + Duration::from_nanos(5);
        r
    }

    #[test]
    fn round_trips_exactly() {
        let record = sample();
        let bytes = encode(&record, 41);
        let mut back = decode(&bytes).unwrap();
        assert_eq!(back.version, 41);
        back.version = 0;
        assert_eq!(back, record);
        assert!(is_live(&bytes, record.created_at).unwrap());
        assert!(!is_live(&bytes, record.expires_at).unwrap());
    }

    #[test]
    fn header_positions_match_the_lua_scripts() {
        let bytes = encode(&sample(), 7);
        // Lua's string.sub(v, 22, 41) is the version, string.sub(v, 114, 116) the length.
        assert_eq!(&bytes[21..41], digits(7).as_bytes());
        assert_eq!(&bytes[113..116], b"010");
        assert_eq!(&bytes[116..126], "ålice {x}".as_bytes());
    }

    #[test]
    fn broken_values_are_corrupt_never_a_panic() {
        let good = encode(&sample(), 1);
        let mut cases: Vec<Vec<u8>> = vec![Vec::new(), b"x".to_vec(), good[..50].to_vec()];
        let mut wrong_format = good.clone();
        wrong_format[0] = 9;
        cases.push(wrong_format);
        let mut bad_digit = good.clone();
        bad_digit[5] = b'a';
        cases.push(bad_digit);
        let mut long_subject = good.clone();
        long_subject[113..116].copy_from_slice(b"999");
        cases.push(long_subject);
        let mut bad_len = good.clone();
        bad_len[113] = b'-';
        cases.push(bad_len);
        let mut other_name = good.clone();
        other_name[81] ^= 1;
        cases.push(other_name);
        // Well-formed, but with subjects no store accepts: 256 bytes, or a NUL.
        for subject in ["x".repeat(256), "a\0b".to_owned()] {
            let record = SessionRecord::new(subject, Vec::new(), UNIX_EPOCH, UNIX_EPOCH);
            cases.push(encode(&record, 0));
        }
        for case in cases {
            assert!(
                matches!(decode(&case), Err(StoreError::Corrupt(_))),
                "{case:?}"
            );
        }
        for cut in 0..good.len() {
            let _ = decode(&good[..cut]);
        }
    }

    mod properties {
        use super::*;
        use auth_core::store::MAX_SUBJECT_LEN;
        use proptest::prelude::*;

        /// Records as the store writes them: a subject the store accepts, any data, any
        /// instants the 20-digit fields hold.
        fn record() -> impl Strategy<Value = SessionRecord> {
            let subject = "[^\\x00]{0,40}"
                .prop_filter("at most 255 bytes", |s: &String| s.len() <= MAX_SUBJECT_LEN);
            let instant = any::<u64>().prop_map(from_nanos);
            (
                subject,
                proptest::collection::vec(any::<u8>(), 0..300),
                instant.clone(),
                instant.clone(),
                instant,
                any::<u64>(),
            )
                .prop_map(|(subject, data, created, last_seen, expires, version)| {
                    let mut record = SessionRecord::new(subject, data, created, expires);
                    record.last_seen_at = last_seen;
                    record.version = version;
                    record
                })
        }

        proptest! {
            #[test]
            fn decode_inverts_encode(record in record()) {
                let bytes = encode(&record, record.version);
                prop_assert_eq!(decode(&bytes).unwrap(), record.clone());
                prop_assert_eq!(
                    is_live(&bytes, record.created_at).unwrap(),
                    record.created_at < record.expires_at
                );
            }

            /// Any byte string: a record or `Corrupt`, never a panic.
            #[test]
            fn any_bytes_decode_or_are_corrupt(
                bytes in proptest::collection::vec(any::<u8>(), 0..200),
            ) {
                match decode(&bytes) {
                    Ok(record) => prop_assert_eq!(encode(&record, record.version), bytes),
                    Err(error) => prop_assert!(matches!(error, StoreError::Corrupt(_))),
                }
            }

            /// A damaged value (one byte changed) decodes only if it is again the one
            /// canonical encoding of what it decodes to; otherwise it is `Corrupt`.
            #[test]
            fn damaged_values_are_canonical_or_corrupt(
                record in record(),
                at in any::<prop::sample::Index>(),
                byte in any::<u8>(),
            ) {
                let mut bytes = encode(&record, record.version);
                let at = at.index(bytes.len());
                bytes[at] = byte;
                match decode(&bytes) {
                    Ok(back) => {
                        prop_assert_eq!(encode(&back, back.version), bytes.clone());
                        let live = is_live(&bytes, record.created_at).unwrap();
                        prop_assert_eq!(live, record.created_at < back.expires_at);
                    }
                    Err(error) => prop_assert!(matches!(error, StoreError::Corrupt(_))),
                }
            }
        }
    }
}
