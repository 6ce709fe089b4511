//! auth-session's stored session data (private; reached through `auth_session::fuzzing`,
//! compiled only under `--cfg fuzzing`).
//!
//! Input: a mode byte, then
//! - mode 0: stored data bytes, decoded as a loaded session's first read decodes them;
//! - mode 1: raw material for a data map built by the target, encoded then decoded.
//!
//! Properties: no input panics; data is either a map or refused as
//! `SessionError::CorruptData`; whatever encodes decodes back to the same map (a session
//! that could be saved can always be loaded again), and re-encoding is stable; `get` of any
//! entry answers with a value or a typed error.
#![no_main]

use auth_session::SessionError;
use auth_session::fuzzing::{decode_data, encode_data, get};
use libfuzzer_sys::arbitrary::{Result as ArbitraryResult, Unstructured};
use libfuzzer_sys::fuzz_target;
use serde::de::DeserializeOwned;
use serde_json::{Map, Number, Value};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode % 2 == 0 {
        stored(rest);
    } else if let Ok(map) = map(&mut Unstructured::new(rest), 0) {
        // Running out of input while building just ends the case.
        round_trip(&map);
    }
});

fn stored(bytes: &[u8]) {
    let decoded = decode_data(bytes);
    let mut keys = vec![String::from("roles")];
    match &decoded {
        Ok(map) => {
            round_trip(map);
            keys.extend(map.keys().next().cloned());
        }
        Err(error) => assert!(matches!(error, SessionError::CorruptData(_)), "{error:?}"),
    }
    for key in &keys {
        typed_answer::<Value>(bytes, key);
        typed_answer::<Vec<String>>(bytes, key);
        typed_answer::<u64>(bytes, key);
    }
}

/// `get` answers with a value, or a typed failure.
fn typed_answer<T: DeserializeOwned + PartialEq + std::fmt::Debug>(bytes: &[u8], key: &str) {
    match get::<T>(bytes, key) {
        Ok(_) | Err(SessionError::Value(_) | SessionError::CorruptData(_)) => {}
        Err(other) => panic!("untyped answer: {other:?}"),
    }
}

/// decode(encode(map)) == map, when the map encodes at all (a refusal must be typed).
fn round_trip(map: &Map<String, Value>) {
    let encoded = match encode_data(map) {
        Ok(encoded) => encoded,
        Err(error) => {
            assert!(
                matches!(error, SessionError::Value(_)),
                "untyped refusal: {error:?}"
            );
            return;
        }
    };
    let back = decode_data(&encoded).unwrap_or_else(|e| {
        panic!(
            "saved data does not load: {e:?}: {}",
            String::from_utf8_lossy(&encoded)
        )
    });
    assert!(back == *map, "{}", String::from_utf8_lossy(&encoded));
    let again = encode_data(&back).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(again, encoded);
}

/// Deep enough to pass serde_json's default recursion limit of 128.
const MAX_DEPTH: usize = 200;

fn map(u: &mut Unstructured<'_>, depth: usize) -> ArbitraryResult<Map<String, Value>> {
    let mut map = Map::new();
    for _ in 0..u.int_in_range(0..=4u8)? {
        let key: String = u.arbitrary()?;
        map.insert(key, value(u, depth + 1)?);
    }
    Ok(map)
}

fn value(u: &mut Unstructured<'_>, depth: usize) -> ArbitraryResult<Value> {
    let nested = depth < MAX_DEPTH;
    Ok(match u.int_in_range(0..=8u8)? {
        0 => Value::Null,
        1 => Value::Bool(u.arbitrary()?),
        2 => Value::from(u.arbitrary::<i64>()?),
        3 => Value::from(u.arbitrary::<u64>()?),
        4 => Number::from_f64(u.arbitrary()?).map_or(Value::Null, Value::Number),
        5 => Value::String(u.arbitrary()?),
        6 if nested => {
            let len = u.int_in_range(0..=3u8)?;
            let mut items = Vec::new();
            for _ in 0..len {
                items.push(value(u, depth + 1)?);
            }
            Value::Array(items)
        }
        7 if nested => Value::Object(map(u, depth)?),
        8 if nested => {
            // A chain of single-element arrays: cheap depth.
            let levels = usize::from(u.arbitrary::<u8>()?).min(MAX_DEPTH - depth);
            let mut inner = value(u, depth + levels)?;
            for _ in 0..levels {
                inner = Value::Array(vec![inner]);
            }
            inner
        }
        _ => Value::Null,
    })
}
