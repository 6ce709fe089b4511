//! How a [`RefreshRecord`] is stored: one Redis string per token.
//!
//! ```text
//! offset  size  field
//!      0     1  format version, 0x01
//!      1     1  '0' unused, '1' used (a tombstone kept until expires_at)
//!      2    20  expires_at  (decimal nanoseconds since the epoch, zero padded)
//!     22    20  issued_at   (as expires_at)
//!     42    32  the subject's key name (hex SHA-256 prefix, names its family index)
//!     74     2  family id length (decimal, at most 64)
//!     76     f  family id (base64url)
//!   76+f     3  subject length (decimal, at most 255)
//!   79+f     n  subject (UTF-8)
//! 79+f+n  rest  data (opaque bytes)
//! ```
//!
//! `lua/refresh_rotate.lua` reads the flag, the deadline, the subject name and the family
//! by these positions, and writes the next token by replacing bytes 1 to 41.

use auth_core::store::{RefreshRecord, check_subject};
use auth_core::{FamilyId, StoreError};

use crate::error::malformed;
use crate::keys::{NAME_HASH_HEX, subject_name};
use crate::session_record::FORMAT;
use crate::time::{DIGITS, from_nanos, instant, parse_digits};

const USED: usize = 1;
const EXPIRES: usize = 2;
const ISSUED: usize = EXPIRES + DIGITS;
const SUBJECT_NAME: usize = ISSUED + DIGITS;
const FAMILY_LEN: usize = SUBJECT_NAME + NAME_HASH_HEX;
const FAMILY: usize = FAMILY_LEN + 2;

/// Encodes an unused token.
pub(crate) fn encode(record: &RefreshRecord) -> Vec<u8> {
    let family = record.family.as_str();
    let mut out =
        Vec::with_capacity(FAMILY + family.len() + 3 + record.subject.len() + record.data.len());
    out.push(FORMAT);
    out.push(b'0');
    out.extend_from_slice(instant(record.expires_at).as_bytes());
    out.extend_from_slice(instant(record.issued_at).as_bytes());
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
/// did not write is [`StoreError::Corrupt`].
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
    let family_len = small_number(&bytes[FAMILY_LEN..FAMILY])?;
    let subject_len_at = FAMILY + family_len;
    let family = text(bytes.get(FAMILY..subject_len_at))?;
    let family = FamilyId::parse(family).map_err(StoreError::corrupt)?;
    let subject_at = subject_len_at + 3;
    let subject_len = small_number(
        bytes
            .get(subject_len_at..subject_at)
            .ok_or_else(|| malformed("refresh value truncated"))?,
    )?;
    let data_at = subject_at + subject_len;
    let subject = text(bytes.get(subject_at..data_at))?.to_owned();
    // Never written (stores check every subject), so never handed out either.
    check_subject(&subject).map_err(|_| malformed("refresh subject breaks the subject rules"))?;
    if bytes[SUBJECT_NAME..FAMILY_LEN] != *subject_name(&subject).as_bytes() {
        return Err(malformed("refresh subject name does not match"));
    }
    Ok(RefreshRecord::new(
        family,
        subject,
        bytes[data_at..].to_vec(),
        issued_at,
        expires_at,
    ))
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
    }

    #[test]
    fn round_trips_exactly() {
        let record = sample();
        let mut bytes = encode(&record);
        assert_eq!(decode(&bytes).unwrap(), record);
        assert_eq!(bytes[1], b'0');
        bytes[1] = b'1';
        assert_eq!(decode(&bytes).unwrap(), record);
        // Lua reads the family length at 1-based 75..76 and the family from 77.
        assert_eq!(&bytes[74..76], b"09");
        assert_eq!(&bytes[76..85], b"fam_ily-1");
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
        family[76] = b'{';
        assert!(matches!(decode(&family), Err(StoreError::Corrupt(_))));
        let mut len = good.clone();
        len[74..76].copy_from_slice(b"99");
        assert!(matches!(decode(&len), Err(StoreError::Corrupt(_))));
        // Well-formed, but with a subject no store accepts.
        let mut long = sample();
        long.subject = "x".repeat(256);
        assert!(matches!(
            decode(&encode(&long)),
            Err(StoreError::Corrupt(_))
        ));
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
            ) {
                let family = FamilyId::parse(&family).unwrap();
                let record = RefreshRecord::new(
                    family,
                    subject,
                    data,
                    from_nanos(issued),
                    from_nanos(expires),
                );
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
