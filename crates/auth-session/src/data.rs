//! A session's key/value data: stored as compact JSON, decoded only when first read.

use std::sync::OnceLock;

use serde::Serialize;
use serde::de::DeserializeOwned;
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

fn decode(stored: &[u8]) -> Result<Map<String, Value>, SessionError> {
    if stored.is_empty() {
        return Ok(Map::new());
    }
    serde_json::from_slice(stored).map_err(SessionError::CorruptData)
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
