//! store-redis' stored values: the session record and the refresh-token record codecs
//! (private; reached through `store_redis::fuzzing`, compiled only under `--cfg fuzzing`).
//!
//! Input: a mode byte, then
//! - mode 0: a stored session value, decoded;
//! - mode 1: a stored refresh-token value, decoded;
//! - mode 2: raw material for records built by the target, encoded then decoded.
//!
//! Properties: no value panics; a value is either decoded or refused as
//! `StoreError::Corrupt`; a decoded value satisfies the store contract (subject rules)
//! and is the one canonical encoding of its record (encode(decode(v)) == v); the
//! header-only liveness check agrees with the full decode; decode(encode(r)) == r.
#![no_main]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use auth_core::store::{RefreshRecord, SessionRecord, check_subject};
use auth_core::{FamilyId, StoreError};
use libfuzzer_sys::arbitrary::{Result as ArbitraryResult, Unstructured};
use libfuzzer_sys::fuzz_target;
use store_redis::fuzzing::{
    decode_refresh_record, decode_session_record, encode_refresh_record, encode_session_record,
    session_record_is_live,
};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 3 {
        0 => session_value(rest),
        1 => refresh_value(rest),
        _ => {
            // Running out of input just ends the case.
            let _ = built_records(&mut Unstructured::new(rest));
        }
    }
});

fn session_value(bytes: &[u8]) {
    let decoded = decode_session_record(bytes);
    let probes = [
        UNIX_EPOCH,
        authkit_fuzz::now(),
        UNIX_EPOCH + Duration::from_nanos(u64::MAX),
    ];
    match decoded {
        Ok(record) => {
            assert!(check_subject(&record.subject).is_ok(), "{record:?}");
            assert_eq!(encode_session_record(&record, record.version), bytes);
            for now in probes {
                let live =
                    session_record_is_live(bytes, now).unwrap_or_else(|e| panic!("{e}: {bytes:?}"));
                assert_eq!(live, now < record.expires_at, "{bytes:?}");
            }
        }
        Err(error) => {
            assert!(matches!(error, StoreError::Corrupt(_)), "{error:?}");
            for now in probes {
                let _ = session_record_is_live(bytes, now);
            }
        }
    }
}

fn refresh_value(bytes: &[u8]) {
    match decode_refresh_record(bytes) {
        Ok(record) => {
            assert!(check_subject(&record.subject).is_ok(), "{record:?}");
            // The used flag (byte 1) is not part of the record; encode writes "unused".
            let mut unused = bytes.to_vec();
            unused[1] = b'0';
            assert_eq!(encode_refresh_record(&record), unused);
        }
        Err(error) => assert!(matches!(error, StoreError::Corrupt(_)), "{error:?}"),
    }
}

/// Records as a store would write them (valid subject, instants the format can hold).
fn built_records(u: &mut Unstructured<'_>) -> ArbitraryResult<()> {
    let subject = subject(u)?;
    let data: Vec<u8> = u.arbitrary()?;
    let created_at = instant(u)?;
    let expires_at = instant(u)?;
    let mut record = SessionRecord::new(subject.clone(), data.clone(), created_at, expires_at);
    record.last_seen_at = instant(u)?;
    record.version = u.arbitrary()?;
    let bytes = encode_session_record(&record, record.version);
    let back = decode_session_record(&bytes).unwrap_or_else(|e| panic!("{e}: {record:?}"));
    assert_eq!(back, record);
    assert_eq!(
        session_record_is_live(&bytes, created_at).ok(),
        Some(created_at < expires_at)
    );

    let family: String = u.arbitrary()?;
    let Ok(family) = FamilyId::parse(&family) else {
        return Ok(());
    };
    let refresh = RefreshRecord::new(family, subject, data, created_at, expires_at);
    let bytes = encode_refresh_record(&refresh);
    let back = decode_refresh_record(&bytes).unwrap_or_else(|e| panic!("{e}: {refresh:?}"));
    assert_eq!(back, refresh);
    Ok(())
}

/// A subject every store accepts: at most 255 bytes of UTF-8 without NUL.
fn subject(u: &mut Unstructured<'_>) -> ArbitraryResult<String> {
    let mut subject: String = u.arbitrary::<String>()?.replace('\0', "");
    while subject.len() > auth_core::store::MAX_SUBJECT_LEN {
        subject.pop();
    }
    Ok(subject)
}

/// An instant the 20-digit nanosecond fields hold exactly.
fn instant(u: &mut Unstructured<'_>) -> ArbitraryResult<SystemTime> {
    Ok(UNIX_EPOCH + Duration::from_nanos(u.arbitrary()?))
}
