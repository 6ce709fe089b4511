//! How a [`RefreshRecord`] is stored: one Redis string per token. This is the one
//! definition of the layout; the Lua scripts read it through [`lua_script`].
//!
//! ```text
//! offset  size  field
//!      0     1  format version, 0x02
//!      1     1  '0' unused, '1' used (a tombstone kept until expires_at)
//!      2    20  expires_at         (decimal nanoseconds since the epoch, zero padded)
//!     22    20  issued_at          (as expires_at)
//!     42    20  family_expires_at  (as expires_at)
//!     62    32  the subject's key name (hex SHA-256 prefix, names its family index)
//!     94     2  family id length (decimal, at most 64)
//!     96     f  family id (base64url)
//!   96+f     3  subject length (decimal, at most 255)
//!   99+f     n  subject (UTF-8)
//! 99+f+n  rest  data (opaque bytes)
//! ```
//!
//! `lua/refresh_rotate.lua` checks the format byte, reads the flag, the deadline, the
//! family's end, the subject name and the family, and writes the next token by replacing
//! the flag, `expires_at` and `issued_at` (which is why they are contiguous and first).
//! `lua/refresh_insert.lua` reads the deadline and `lua/refresh_revoke.lua` the flag and
//! the subject name. None of them names a position itself: each is prefixed with
//! [`lua_layout`], generated from the constants below. A change of layout is a new format
//! version, so a value in another layout is refused as corrupt rather than misread.

use auth_core::store::RefreshRecord;
use auth_core::{FamilyId, StoreError};

use crate::error::malformed;
use crate::keys::{NAME_HASH_HEX, subject_name};
use crate::time::{DIGITS, LUA_CEIL_MS, from_nanos, instant, parse_digits};

/// The first byte of every refresh value in this layout.
const FORMAT: u8 = 2;

const USED: usize = 1;
const EXPIRES: usize = USED + 1;
const ISSUED: usize = EXPIRES + DIGITS;
const FAMILY_END: usize = ISSUED + DIGITS;
const SUBJECT_NAME: usize = FAMILY_END + DIGITS;
const FAMILY_LEN: usize = SUBJECT_NAME + NAME_HASH_HEX;
const FAMILY: usize = FAMILY_LEN + 2;
const SUBJECT_LEN_SIZE: usize = 3;

// Rotation rewrites the flag and both token times as one run of bytes, right after the
// format byte, and keeps everything from the family's end on.
const _: () = assert!(USED == 1 && EXPIRES == USED + 1 && FAMILY_END == EXPIRES + 2 * DIGITS);

/// The layout as the scripts see it: Lua locals holding each field's 1-based position and
/// size, and `field(value, at, size)`. Prefixed to every refresh script.
pub(crate) fn lua_layout() -> String {
    format!(
        "local FORMAT = string.char({FORMAT})\n\
         local DIGITS = {DIGITS}\n\
         local USED = {used}\n\
         local EXPIRES = {expires}\n\
         local ISSUED = {issued}\n\
         local FAMILY_END = {family_end}\n\
         local SUBJECT_NAME, SUBJECT_NAME_SIZE = {subject_name}, {NAME_HASH_HEX}\n\
         local FAMILY_LEN, FAMILY_LEN_SIZE = {family_len}, 2\n\
         local FAMILY = {family}\n\
         local function field(value, at, size) return string.sub(value, at, at + size - 1) end\n",
        used = USED + 1,
        expires = EXPIRES + 1,
        issued = ISSUED + 1,
        family_end = FAMILY_END + 1,
        subject_name = SUBJECT_NAME + 1,
        family_len = FAMILY_LEN + 1,
        family = FAMILY + 1,
    )
}

/// A refresh script's source: [`lua_layout`] and `ceil_ms` (see
/// [`LUA_CEIL_MS`](crate::time::LUA_CEIL_MS)), followed by `body`.
pub(crate) fn lua_script(body: &str) -> String {
    let mut script = lua_layout();
    script.push_str(LUA_CEIL_MS);
    script.push_str(body);
    script
}

/// Encodes an unused token.
pub(crate) fn encode(record: &RefreshRecord) -> Vec<u8> {
    let family = record.family.as_str();
    let mut out = Vec::with_capacity(
        FAMILY + family.len() + SUBJECT_LEN_SIZE + record.subject.len() + record.data.len(),
    );
    out.push(FORMAT);
    out.push(b'0');
    out.extend_from_slice(instant(record.expires_at).as_bytes());
    out.extend_from_slice(instant(record.issued_at).as_bytes());
    out.extend_from_slice(instant(record.family_expires_at).as_bytes());
    out.extend_from_slice(subject_name(&record.subject).as_bytes());
    // FamilyId::MAX_LEN is 64 and subjects are checked against 255 before encoding.
    out.extend_from_slice(format!("{:02}", family.len()).as_bytes());
    out.extend_from_slice(family.as_bytes());
    out.extend_from_slice(format!("{:03}", record.subject.len()).as_bytes());
    out.extend_from_slice(record.subject.as_bytes());
    out.extend_from_slice(&record.data);
    out
}

/// Decodes a stored token (used or not: the scripts act on the flag); anything this module
/// did not write, or a record no store accepts, is [`StoreError::Corrupt`].
pub(crate) fn decode(bytes: &[u8]) -> Result<RefreshRecord, StoreError> {
    if bytes.len() < FAMILY || bytes[0] != FORMAT {
        return Err(malformed("refresh token value"));
    }
    if !matches!(bytes[USED], b'0' | b'1') {
        return Err(malformed("refresh token flag"));
    }
    let field = |at: usize| {
        parse_digits(&bytes[at..at + DIGITS]).ok_or_else(|| malformed("refresh header field"))
    };
    let expires_at = from_nanos(field(EXPIRES)?);
    let issued_at = from_nanos(field(ISSUED)?);
    let family_expires_at = from_nanos(field(FAMILY_END)?);
    let family_len = small_number(&bytes[FAMILY_LEN..FAMILY])?;
    let subject_len_at = FAMILY + family_len;
    let family = text(bytes.get(FAMILY..subject_len_at))?;
    let family = FamilyId::parse(family).map_err(StoreError::corrupt)?;
    let subject_at = subject_len_at + SUBJECT_LEN_SIZE;
    let subject_len = small_number(
        bytes
            .get(subject_len_at..subject_at)
            .ok_or_else(|| malformed("refresh value truncated"))?,
    )?;
    let data_at = subject_at + subject_len;
    let subject = text(bytes.get(subject_at..data_at))?.to_owned();
    if bytes[SUBJECT_NAME..FAMILY_LEN] != *subject_name(&subject).as_bytes() {
        return Err(malformed("refresh subject name does not match"));
    }
    let record = RefreshRecord::new(
        family,
        subject,
        bytes[data_at..].to_vec(),
        issued_at,
        expires_at,
    )
    .with_family_expires_at(family_expires_at);
    // Never written (stores check every record), so never handed out either.
    record
        .check_limits()
        .map_err(|_| malformed("refresh record breaks the record rules"))?;
    Ok(record)
}

fn small_number(digits: &[u8]) -> Result<usize, StoreError> {
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(malformed("refresh length field"));
    }
    Ok(digits.iter().fold(0, |n, d| n * 10 + usize::from(d - b'0')))
}

fn text(bytes: Option<&[u8]>) -> Result<&str, StoreError> {
    let bytes = bytes.ok_or_else(|| malformed("refresh value truncated"))?;
    std::str::from_utf8(bytes).map_err(|_| malformed("refresh text is not UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    fn sample() -> RefreshRecord {
        let t = UNIX_EPOCH + Duration::new(1_800_000_000, 5);
        let family = FamilyId::parse("fam_ily-1").unwrap();
        RefreshRecord::new(
            family,
            "bob {*}",
            vec![9, 0, 7],
            t,
            t + Duration::from_secs(3600),
        )
        .with_family_expires_at(t + Duration::from_secs(86_400))
    }

    #[test]
    fn round_trips_exactly() {
        let record = sample();
        let mut bytes = encode(&record);
        assert_eq!(decode(&bytes).unwrap(), record);
        assert_eq!(bytes[1], b'0');
        bytes[1] = b'1';
        assert_eq!(decode(&bytes).unwrap(), record);
        assert_eq!(&bytes[FAMILY_LEN..FAMILY], b"09");
        assert_eq!(&bytes[FAMILY..FAMILY + 9], b"fam_ily-1");
    }

    #[test]
    fn broken_values_are_corrupt_never_a_panic() {
        let good = encode(&sample());
        for cut in 0..good.len() - 3 {
            assert!(decode(&good[..cut]).is_err(), "{cut}");
        }
        let mut flag = good.clone();
        flag[1] = b'x';
        assert!(matches!(decode(&flag), Err(StoreError::Corrupt(_))));
        let mut family = good.clone();
        family[FAMILY] = b'{';
        assert!(matches!(decode(&family), Err(StoreError::Corrupt(_))));
        let mut len = good.clone();
        len[FAMILY_LEN..FAMILY].copy_from_slice(b"99");
        assert!(matches!(decode(&len), Err(StoreError::Corrupt(_))));
        // Another format version (the layout before the family's end was stored).
        let mut older = good.clone();
        older[0] = 1;
        assert!(matches!(decode(&older), Err(StoreError::Corrupt(_))));
        // Well-formed, but with a subject no store accepts.
        let mut long = sample();
        long.subject = "x".repeat(256);
        assert!(matches!(
            decode(&encode(&long)),
            Err(StoreError::Corrupt(_))
        ));
        // Well-formed, but a token that outlives its family.
        let mut outlives = sample();
        outlives.family_expires_at = outlives.expires_at - Duration::from_nanos(1);
        assert!(matches!(
            decode(&encode(&outlives)),
            Err(StoreError::Corrupt(_))
        ));
    }

    /// The scripts address fields only through the generated layout.
    #[test]
    fn no_refresh_script_names_a_position_itself() {
        for (name, source) in [
            ("refresh_insert.lua", include_str!("lua/refresh_insert.lua")),
            ("refresh_rotate.lua", include_str!("lua/refresh_rotate.lua")),
            ("refresh_revoke.lua", include_str!("lua/refresh_revoke.lua")),
        ] {
            crate::lua_check::positions_come_from_the_layout(name, source);
        }
    }

    /// Lua reads, through the generated layout, exactly the fields Rust wrote: run against
    /// the Redis at `REDIS_URL`.
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
             local family_len = tonumber(field(v, FAMILY_LEN, FAMILY_LEN_SIZE))\n\
             return {field(v, 1, 1) == FORMAT and 1 or 0, field(v, USED, 1),\n\
               field(v, EXPIRES, DIGITS), field(v, ISSUED, DIGITS), field(v, FAMILY_END, DIGITS),\n\
               field(v, SUBJECT_NAME, SUBJECT_NAME_SIZE), field(v, FAMILY, family_len),\n\
               ceil_ms(field(v, FAMILY_END, DIGITS))}\n",
        ));
        let record = sample();
        type Fields = (i64, String, String, String, String, String, String, u64);
        let fields: Fields = probe
            .arg(encode(&record))
            .invoke_async(&mut c)
            .await
            .unwrap();
        assert_eq!(
            fields,
            (
                1,
                "0".to_owned(),
                instant(record.expires_at),
                instant(record.issued_at),
                instant(record.family_expires_at),
                subject_name(&record.subject),
                record.family.as_str().to_owned(),
                crate::time::ceil_millis(record.family_expires_at),
            )
        );
    }

    mod properties {
        use super::*;
        use crate::time::from_nanos;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn decode_inverts_encode(
                family in "[A-Za-z0-9_-]{1,64}",
                subject in "[^\\x00]{0,40}",
                data in proptest::collection::vec(any::<u8>(), 0..300),
                issued in any::<u64>(),
                expires in any::<u64>(),
                family_extra in any::<u64>(),
            ) {
                let family = FamilyId::parse(&family).unwrap();
                let record = RefreshRecord::new(
                    family,
                    subject,
                    data,
                    from_nanos(issued),
                    from_nanos(expires),
                )
                .with_family_expires_at(from_nanos(expires.saturating_add(family_extra)));
                prop_assert_eq!(decode(&encode(&record)).unwrap(), record);
            }

            /// Any byte string: a record or `Corrupt`, never a panic.
            #[test]
            fn any_bytes_decode_or_are_corrupt(
                bytes in proptest::collection::vec(any::<u8>(), 0..200),
            ) {
                if let Err(error) = decode(&bytes) {
                    prop_assert!(matches!(error, StoreError::Corrupt(_)));
                }
            }
        }
    }
}
