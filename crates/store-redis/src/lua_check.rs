//! A check shared by the record layouts' tests: a Lua script addresses a stored value's
//! fields only through the layout prelude generated from the Rust constants, never by a
//! literal position that could silently disagree with them.

/// Panics if `source` reads a literal position with `string.sub(value, from, to)`,
/// `string.byte(value, at)` or `field(value, at, size)` (a size may be a literal), or
/// defines the layout itself.
pub(crate) fn positions_come_from_the_layout(name: &str, source: &str) {
    for (call, positions) in [
        ("string.sub(", 1..3),
        ("string.byte(", 1..3),
        ("field(", 1..2),
    ] {
        for (at, _) in source.match_indices(call) {
            let rest = &source[at + call.len()..];
            let args = &rest[..rest.find(')').unwrap_or(rest.len())];
            for position in args.split(',').skip(positions.start).take(positions.len()) {
                assert!(
                    !position.trim().starts_with(|c: char| c.is_ascii_digit()),
                    "{name} reads a literal position: {call}{args})"
                );
            }
        }
    }
    assert!(
        !source.contains("FORMAT =") && !source.contains("local function field"),
        "{name} redefines the layout"
    );
}
