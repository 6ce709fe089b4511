//! A session's key/value data: stored as compact JSON, decoded only when first read.

use std::cell::Cell;
use std::fmt;
use std::marker::PhantomData;
use std::sync::OnceLock;

use serde::Serialize;
use serde::de::{DeserializeOwned, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::{Map, Value};

use crate::SessionError;

/// The data of one session: the bytes as the store holds them, the decoded map (filled on
/// first read), and whether it changed since it was loaded or last written.
#[derive(Clone, Default)]
pub(crate) struct Data {
    /// The encoding the store holds (empty means an empty map).
    stored: Vec<u8>,
    /// The decoded map, filled on first read while nothing has been edited.
    decoded: OnceLock<Map<String, Value>>,
    /// The map once an edit began (moved out of `decoded`).
    edited: Option<Map<String, Value>>,
    /// Whether the map differs from `stored`.
    dirty: bool,
}

impl Data {
    /// Data as loaded from a store, not yet decoded.
    pub(crate) fn from_stored(stored: Vec<u8>) -> Self {
        Self {
            stored,
            ..Self::default()
        }
    }

    /// Data from an already-encoded map that the store now holds.
    pub(crate) fn from_saved(stored: Vec<u8>, map: Map<String, Value>) -> Self {
        Self {
            stored,
            decoded: OnceLock::from(map),
            ..Self::default()
        }
    }

    pub(crate) fn is_dirty(&self) -> bool {
        self.dirty
    }

    /// The decoded map.
    pub(crate) fn map(&self) -> Result<&Map<String, Value>, SessionError> {
        if let Some(map) = &self.edited {
            return Ok(map);
        }
        if let Some(map) = self.decoded.get() {
            return Ok(map);
        }
        let decoded = decode(&self.stored)?;
        Ok(self.decoded.get_or_init(|| decoded))
    }

    fn map_mut(&mut self) -> Result<&mut Map<String, Value>, SessionError> {
        let map = match (self.edited.take(), self.decoded.take()) {
            (Some(map), _) | (None, Some(map)) => map,
            (None, None) => decode(&self.stored)?,
        };
        Ok(self.edited.insert(map))
    }

    pub(crate) fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, SessionError> {
        match self.map()?.get(key) {
            Some(value) => T::deserialize(value).map(Some).map_err(SessionError::Value),
            None => Ok(None),
        }
    }

    /// [`get`](Self::get) without decoding the whole map when it is not decoded yet: the
    /// stored JSON is read once and only the entry under `key` is built. Each request's
    /// identity needs just the roles, so this keeps the rest of the data undecoded until a
    /// handler reads it.
    pub(crate) fn peek<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, SessionError> {
        if self.edited.is_some() || self.decoded.get().is_some() || self.stored.is_empty() {
            return self.get(key);
        }
        let mut reader = serde_json::Deserializer::from_slice(&self.stored);
        let in_entry = Cell::new(false);
        let found = Entry::<T>::new(key, &in_entry)
            .deserialize(&mut reader)
            .and_then(|found| reader.end().map(|()| found));
        found.map_err(|error| {
            // Well-formed JSON under `key` that is not a `T`: the answer `get` gives.
            if in_entry.get() && error.classify() == serde_json::error::Category::Data {
                SessionError::Value(error)
            } else {
                SessionError::CorruptData(error)
            }
        })
    }

    pub(crate) fn insert<T: Serialize + ?Sized>(
        &mut self,
        key: &str,
        value: &T,
    ) -> Result<(), SessionError> {
        let value = serde_json::to_value(value).map_err(SessionError::Value)?;
        let map = self.map_mut()?;
        if map.get(key) != Some(&value) {
            map.insert(key.to_owned(), value);
            self.dirty = true;
        }
        Ok(())
    }

    pub(crate) fn remove(&mut self, key: &str) -> Result<bool, SessionError> {
        let removed = self.map_mut()?.remove(key).is_some();
        self.dirty |= removed;
        Ok(removed)
    }

    pub(crate) fn clear(&mut self) -> Result<(), SessionError> {
        let map = self.map_mut()?;
        if !map.is_empty() {
            map.clear();
            self.dirty = true;
        }
        Ok(())
    }

    /// The encoding to write: the stored bytes if nothing changed, else the map re-encoded.
    pub(crate) fn encode(&self) -> Result<Vec<u8>, SessionError> {
        if !self.dirty {
            return Ok(self.stored.clone());
        }
        encode(self.map()?)
    }

    /// Records that `stored` (an [`encode`](Self::encode) of the current map) is now what
    /// the store holds.
    pub(crate) fn mark_saved(&mut self, stored: Vec<u8>) {
        self.stored = stored;
        self.dirty = false;
    }

    pub(crate) fn stored_len(&self) -> usize {
        self.stored.len()
    }
}

/// Compact JSON of a map (serde_json writes no whitespace).
pub(crate) fn encode(map: &Map<String, Value>) -> Result<Vec<u8>, SessionError> {
    serde_json::to_vec(map).map_err(SessionError::Value)
}

pub(crate) fn decode(stored: &[u8]) -> Result<Map<String, Value>, SessionError> {
    if stored.is_empty() {
        return Ok(Map::new());
    }
    serde_json::from_slice(stored).map_err(SessionError::CorruptData)
}

/// Reads a JSON object, building only the value under one key (the last one, as a full
/// decode keeps the last of repeated keys) and skipping the others.
struct Entry<'k, T> {
    key: &'k str,
    /// Set while the wanted entry's value is being read, to tell its errors apart.
    in_entry: &'k Cell<bool>,
    value: PhantomData<fn() -> T>,
}

impl<'k, T> Entry<'k, T> {
    fn new(key: &'k str, in_entry: &'k Cell<bool>) -> Self {
        Self {
            key,
            in_entry,
            value: PhantomData,
        }
    }
}

impl<'de, T: DeserializeOwned> DeserializeSeed<'de> for Entry<'_, T> {
    type Value = Option<T>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Option<T>, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de, T: DeserializeOwned> Visitor<'de> for Entry<'_, T> {
    type Value = Option<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<T>, A::Error> {
        let mut found = None;
        while let Some(wanted) = map.next_key_seed(KeyIs(self.key))? {
            if wanted {
                self.in_entry.set(true);
                found = Some(map.next_value::<T>()?);
                self.in_entry.set(false);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

/// Whether a map key equals the one wanted, without allocating it.
struct KeyIs<'k>(&'k str);

impl<'de> DeserializeSeed<'de> for KeyIs<'_> {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeyIs<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string key")
    }

    fn visit_str<E: serde::de::Error>(self, key: &str) -> Result<bool, E> {
        Ok(key == self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoding_waits_for_the_first_read() {
        let data = Data::from_stored(br#"{"a":1}"#.to_vec());
        assert!(data.decoded.get().is_none());
        assert_eq!(data.get::<u32>("a").unwrap(), Some(1));
        assert!(data.decoded.get().is_some());
    }

    #[test]
    fn peek_reads_one_entry_and_answers_as_get_does() {
        let stored = br#"{"a":1,"roles":["x"],"b":{"c":[1,2]},"roles":["admin","user"]}"#;
        let data = Data::from_stored(stored.to_vec());
        let roles: Option<Vec<String>> = data.peek("roles").unwrap();
        assert_eq!(roles, data.get("roles").unwrap());
        assert_eq!(roles.unwrap(), ["admin", "user"]);
        assert!(data.decoded.get().is_some(), "get decoded the map");

        let fresh = Data::from_stored(stored.to_vec());
        assert_eq!(fresh.peek::<u32>("missing").unwrap(), None);
        assert!(
            fresh.decoded.get().is_none(),
            "peek decodes nothing to keep"
        );
        assert!(matches!(
            fresh.peek::<u32>("roles"),
            Err(SessionError::Value(_))
        ));
        for corrupt in [
            &b"[1]"[..],
            b"{\"roles\":",
            b"{} x",
            b"{\"roles\":[]",
            b"nul",
        ] {
            let data = Data::from_stored(corrupt.to_vec());
            assert!(
                matches!(
                    data.peek::<Vec<String>>("roles"),
                    Err(SessionError::CorruptData(_))
                ),
                "{:?}",
                String::from_utf8_lossy(corrupt)
            );
        }
        let mut edited = Data::from_stored(stored.to_vec());
        edited.insert("roles", &["root"]).unwrap();
        assert_eq!(
            edited.peek::<Vec<String>>("roles").unwrap().unwrap(),
            ["root"]
        );
    }

    #[test]
    fn only_real_changes_make_it_dirty_and_encoding_is_compact() {
        let mut data = Data::from_stored(br#"{"a":1}"#.to_vec());
        data.insert("a", &1).unwrap();
        assert!(!data.remove("b").unwrap());
        assert!(!data.is_dirty());
        assert_eq!(data.encode().unwrap(), br#"{"a":1}"#);

        data.insert("b", &[true, false]).unwrap();
        assert!(data.is_dirty());
        let encoded = data.encode().unwrap();
        assert_eq!(encoded, br#"{"a":1,"b":[true,false]}"#);
        data.mark_saved(encoded);
        assert!(!data.is_dirty());

        data.clear().unwrap();
        assert!(data.is_dirty());
        assert_eq!(data.encode().unwrap(), b"{}");
    }
}
