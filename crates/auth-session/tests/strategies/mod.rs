// proptest strategies for session data, shared by the unit tests in `src/data.rs` (which
// include! this file) and by `tests/data_properties.rs`.

use proptest::prelude::*;
use serde_json::{Map, Number, Value};

/// Any JSON value (finite numbers only: JSON has no others), a few levels deep.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |f| Number::from_f64(f).map(Value::Number)),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map(".{0,6}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Any map of such values, as a session's data.
pub(crate) fn json_map() -> impl Strategy<Value = Map<String, Value>> {
    proptest::collection::btree_map(".{0,8}", json_value(), 0..6)
        .prop_map(|m| m.into_iter().collect())
}
