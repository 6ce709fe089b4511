//! A session's key/value data: stored as compact JSON, decoded only when first read.

use std::sync::OnceLock;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::{JsonError, ROLES_KEY, SessionError};

/// The data of one session beside the bytes the store holds (which the session keeps in
/// its shared record and passes in as `stored`): the decoded map (filled on first read),
/// the edited map once an edit began, and whether it differs from `stored`.
#[derive(Clone, Default)]
pub(crate) struct Data {
    /// The decoded map, filled on first read while nothing has been edited.
    decoded: OnceLock<Map<String, Value>>,
    /// The map once an edit began (moved out of `decoded`).
    edited: Option<Map<String, Value>>,
    /// Whether the map differs from `stored`.
    dirty: bool,
    /// Whether an edit since the last save wrote or removed the roles.
    roles_edited: bool,
}

impl Data {
    /// Data whose stored encoding is `map`'s.
    pub(crate) fn decoded(map: Map<String, Value>) -> Self {
        Self {
            decoded: OnceLock::from(map),
            ..Self::default()
        }
    }

    pub(crate) fn is_dirty(&self) -> bool {
        self.dirty
    }

    /// Whether an edit since the last save changed what is under [`ROLES_KEY`].
    pub(crate) fn roles_edited(&self) -> bool {
        self.roles_edited
    }

    /// Whether no edit began since the data was loaded or written (the map then is
    /// exactly what `stored` decodes to).
    pub(crate) fn is_unedited(&self) -> bool {
        self.edited.is_none()
    }

    /// The decoded map.
    pub(crate) fn map(&self, stored: &[u8]) -> Result<&Map<String, Value>, SessionError> {
        if let Some(map) = &self.edited {
            return Ok(map);
        }
        if let Some(map) = self.decoded.get() {
            return Ok(map);
        }
        let decoded = decode(stored)?;
        Ok(self.decoded.get_or_init(|| decoded))
    }

    fn map_mut(&mut self, stored: &[u8]) -> Result<&mut Map<String, Value>, SessionError> {
        let map = match (self.edited.take(), self.decoded.take()) {
            (Some(map), _) | (None, Some(map)) => map,
            (None, None) => decode(stored)?,
        };
        Ok(self.edited.insert(map))
    }

    pub(crate) fn get<T: DeserializeOwned>(
        &self,
        stored: &[u8],
        key: &str,
    ) -> Result<Option<T>, SessionError> {
        match self.map(stored)?.get(key) {
            Some(value) => T::deserialize(value).map(Some).map_err(|error| {
                SessionError::Value(JsonError::reading(&error, std::any::type_name::<T>()))
            }),
            None => Ok(None),
        }
    }

    pub(crate) fn insert<T: Serialize + ?Sized>(
        &mut self,
        stored: &[u8],
        key: &str,
        value: &T,
    ) -> Result<(), SessionError> {
        let value = serde_json::to_value(value).map_err(|_| unserializable())?;
        // Refused here, not only when saving, so the session never holds unsaveable data.
        check_nesting(std::iter::once(&value), 2)?;
        let map = self.map_mut(stored)?;
        if map.get(key) != Some(&value) {
            map.insert(key.to_owned(), value);
            self.dirty = true;
            self.roles_edited |= key == ROLES_KEY;
        }
        Ok(())
    }

    pub(crate) fn remove(&mut self, stored: &[u8], key: &str) -> Result<bool, SessionError> {
        let removed = self.map_mut(stored)?.remove(key).is_some();
        self.dirty |= removed;
        self.roles_edited |= removed && key == ROLES_KEY;
        Ok(removed)
    }

    pub(crate) fn clear(&mut self, stored: &[u8]) -> Result<(), SessionError> {
        let map = self.map_mut(stored)?;
        if !map.is_empty() {
            let had_roles = map.contains_key(ROLES_KEY);
            map.clear();
            self.dirty = true;
            self.roles_edited |= had_roles;
        }
        Ok(())
    }

    /// The encoding to write: `stored` if nothing changed, else the map re-encoded.
    pub(crate) fn encode(&self, stored: &[u8]) -> Result<Vec<u8>, SessionError> {
        if !self.dirty {
            return Ok(stored.to_vec());
        }
        encode(self.map(stored)?)
    }

    /// Records that an [`encode`](Self::encode) of the current map is now what the store
    /// holds.
    pub(crate) fn mark_saved(&mut self) {
        self.dirty = false;
        self.roles_edited = false;
    }
}

/// Compact JSON of a map (serde_json writes no whitespace). Data nested deeper than
/// [`MAX_NESTING`] is refused with [`SessionError::Value`]: it would be written, but no
/// later load could read it back.
pub(crate) fn encode(map: &Map<String, Value>) -> Result<Vec<u8>, SessionError> {
    check_nesting(map.values(), 2)?;
    serde_json::to_vec(map).map_err(|_| unserializable())
}

/// serde_json's serializing errors may quote the value (a `Serialize` implementation's own
/// message); none of it is kept.
pub(crate) fn unserializable() -> SessionError {
    SessionError::Value(JsonError::Unserializable)
}

/// The deepest nesting of arrays and objects, the data's own object included, that
/// serde_json's reader accepts (its recursion limit refuses the 128th level).
pub(crate) const MAX_NESTING: usize = 127;

/// Refuses `values` if any array or object among them, at nesting level `level` (the
/// data's own object is level 1), or within them, reaches past [`MAX_NESTING`]. Iterative,
/// so that no value can exhaust the stack here.
fn check_nesting<'a>(
    values: impl Iterator<Item = &'a Value>,
    level: usize,
) -> Result<(), SessionError> {
    let mut pending: Vec<(&Value, usize)> = values.map(|value| (value, level)).collect();
    while let Some((value, level)) = pending.pop() {
        let children: Box<dyn Iterator<Item = &Value>> = match value {
            Value::Array(items) => Box::new(items.iter()),
            Value::Object(map) => Box::new(map.values()),
            _ => continue,
        };
        if level > MAX_NESTING {
            return Err(SessionError::Value(JsonError::TooDeep {
                limit: MAX_NESTING,
            }));
        }
        pending.extend(children.map(|child| (child, level + 1)));
    }
    Ok(())
}

pub(crate) fn decode(stored: &[u8]) -> Result<Map<String, Value>, SessionError> {
    if stored.is_empty() {
        return Ok(Map::new());
    }
    serde_json::from_slice(stored)
        .map_err(|error| SessionError::CorruptData(JsonError::reading(&error, "a JSON object")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoding_waits_for_the_first_read() {
        let stored = br#"{"a":1}"#;
        let data = Data::default();
        assert!(data.decoded.get().is_none());
        assert_eq!(data.get::<u32>(stored, "a").unwrap(), Some(1));
        assert!(data.decoded.get().is_some());
    }

    #[test]
    fn only_real_changes_make_it_dirty_and_encoding_is_compact() {
        let stored = br#"{"a":1}"#;
        let mut data = Data::default();
        data.insert(stored, "a", &1).unwrap();
        assert!(!data.remove(stored, "b").unwrap());
        assert!(!data.is_dirty());
        assert_eq!(data.encode(stored).unwrap(), stored);

        data.insert(stored, "b", &[true, false]).unwrap();
        assert!(data.is_dirty());
        let encoded = data.encode(stored).unwrap();
        assert_eq!(encoded, br#"{"a":1,"b":[true,false]}"#);
        data.mark_saved();
        assert!(!data.is_dirty());

        data.clear(&encoded).unwrap();
        assert!(data.is_dirty());
        assert_eq!(data.encode(&encoded).unwrap(), b"{}");
    }

    /// A value `depth` arrays deep.
    fn nested(depth: usize) -> Value {
        (0..depth).fold(Value::Null, |inner, _| Value::Array(vec![inner]))
    }

    #[test]
    fn nesting_limit_is_exactly_what_the_reader_accepts() {
        // The data's object is level 1, so a value may nest MAX_NESTING - 1 levels.
        let deepest = Map::from_iter([("k".to_owned(), nested(MAX_NESTING - 1))]);
        let encoded = encode(&deepest).unwrap();
        assert_eq!(decode(&encoded).unwrap(), deepest);

        let too_deep = Map::from_iter([("k".to_owned(), nested(MAX_NESTING))]);
        assert!(matches!(encode(&too_deep), Err(SessionError::Value(_))));
        // The same text, written by someone else, is what serde_json refuses to read.
        let text = serde_json::to_vec(&too_deep).unwrap();
        assert!(matches!(decode(&text), Err(SessionError::CorruptData(_))));
    }

    #[test]
    fn too_deep_values_are_refused_when_inserted_and_nothing_changes() {
        let stored = br#"{"a":1}"#;
        let mut data = Data::default();
        assert!(matches!(
            data.insert(stored, "deep", &nested(MAX_NESTING)),
            Err(SessionError::Value(_))
        ));
        assert!(!data.is_dirty());
        data.insert(stored, "ok", &nested(MAX_NESTING - 1)).unwrap();
        let encoded = data.encode(stored).unwrap();
        assert!(
            Data::default()
                .get::<Value>(&encoded, "ok")
                .unwrap()
                .is_some()
        );
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        mod strategies {
            include!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/strategies/mod.rs"
            ));
        }
        use strategies::json_map;

        proptest! {
            /// Any map round trips through the stored form, and re-encoding is stable.
            #[test]
            fn any_map_round_trips(map in json_map()) {
                let encoded = encode(&map).unwrap();
                let back = decode(&encoded).unwrap();
                prop_assert_eq!(&back, &map);
                prop_assert_eq!(encode(&back).unwrap(), encoded);
            }

            /// Values inserted one by one are what a fresh load of the encoding reads.
            #[test]
            fn inserted_values_load_back(map in json_map()) {
                let mut data = Data::default();
                for (key, value) in &map {
                    data.insert(&[], key, value).unwrap();
                }
                let encoded = data.encode(&[]).unwrap();
                let loaded = Data::default();
                for (key, value) in &map {
                    prop_assert_eq!(
                        loaded.get::<Value>(&encoded, key).unwrap(),
                        Some(value.clone())
                    );
                }
                prop_assert_eq!(loaded.map(&encoded).unwrap().len(), map.len());
            }

            /// Any bytes: a map or `CorruptData`, never a panic; a decoded map re-encodes
            /// to something that decodes to it again.
            #[test]
            fn any_bytes_decode_or_are_corrupt(
                bytes in proptest::collection::vec(any::<u8>(), 0..64),
            ) {
                match decode(&bytes) {
                    Ok(map) => prop_assert_eq!(decode(&encode(&map).unwrap()).unwrap(), map),
                    Err(error) => prop_assert!(matches!(error, SessionError::CorruptData(_))),
                }
            }
        }
    }
}
