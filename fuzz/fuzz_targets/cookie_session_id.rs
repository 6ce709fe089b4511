//! Client-supplied secrets and cookies: `SessionId::parse`, `RefreshToken::parse`,
//! `FamilyId::parse`, `SessionKey::from_hex`, and auth-session's `CookieConfig` reading a
//! session id from `Cookie` headers.
//!
//! Input: a flags byte (bit 0: `dev_plain_http`, bit 1: use the first line as the cookie
//! name), then lines: the name, then one `Cookie` header value per line.
//!
//! Properties: no input panics; every accepted secret is in canonical form, so its text is
//! exactly the input and parses back to an equal value; session ids and refresh tokens
//! accept the same texts; reading several headers equals reading them joined with `;`; a
//! cookie the policy wrote reads back to its id, and its clearing cookie to none.
#![no_main]

use auth_core::{FamilyId, RefreshToken, RefreshTokenHash, SessionId, SessionKey};
use auth_session::CookieConfig;
use authkit_fuzz::b64;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let (name, headers) = text.split_once('\n').unwrap_or((&text, ""));
    let headers: Vec<&str> = headers.split('\n').collect();

    for candidate in std::iter::once(name).chain(headers.iter().copied()) {
        check_secrets(candidate);
    }

    let mut config = CookieConfig::default();
    if flags & 2 != 0 {
        match config.clone().with_name(name) {
            Ok(named) => {
                assert!(is_token(name) && !is_prefixed(name), "{name:?}");
                config = named;
            }
            Err(_) => assert!(!is_token(name) || is_prefixed(name), "{name:?}"),
        }
    }
    if flags & 1 != 0 {
        config = config.dev_plain_http();
    }
    check_cookie(&config, &headers, rest);
});

/// Every parser of a client secret: accepted means canonical and stable.
fn check_secrets(text: &str) {
    let id = SessionId::parse(text);
    let token = RefreshToken::parse(text);
    // Both are the same 256-bit opaque secret: one grammar.
    assert_eq!(id.is_ok(), token.is_ok(), "{text:?}");
    if let Ok(id) = id {
        assert_eq!(id.expose_secret(), text);
        let again = SessionId::parse(id.expose_secret()).unwrap_or_else(|e| panic!("{e}"));
        assert!(again == id && again.key() == id.key());
        // The store key is a digest, never the id itself.
        assert_ne!(id.key().to_hex(), text);
        assert!(!format!("{id:?}").contains(text));
    }
    if let Ok(token) = token {
        assert_eq!(token.expose_secret(), text);
        let again = RefreshToken::parse(text).unwrap_or_else(|e| panic!("{e}"));
        assert!(again == token && again.hash() == token.hash());
        assert!(!format!("{token:?}").contains(text));
    }
    if let Ok(family) = FamilyId::parse(text) {
        assert_eq!(family.as_str(), text);
        assert!(FamilyId::parse(family.as_str()) == Ok(family.clone()));
    }
    if let Ok(key) = SessionKey::from_hex(text) {
        assert_eq!(key.to_hex(), text.to_ascii_lowercase());
    }
    if let Ok(hash) = RefreshTokenHash::from_hex(text) {
        assert_eq!(hash.to_hex(), text.to_ascii_lowercase());
    }
}

fn check_cookie(config: &CookieConfig, headers: &[&str], raw: &[u8]) {
    let found = config.session_id_in(headers.iter().copied());
    // HTTP/2 may split `Cookie` over several fields; reading them is reading them joined.
    let joined = config.session_id(&headers.join(";"));
    assert!(found == joined, "{headers:?}");
    if let Some(id) = &found {
        let secret = id.expose_secret();
        assert!(
            headers
                .iter()
                .any(|h| h.contains(secret) && h.contains(config.name())),
            "{headers:?}"
        );
    }

    // A cookie the policy writes reads back, before or after the client's other cookies.
    let digest = mix32(raw);
    let id = SessionId::parse(&b64(digest)).unwrap_or_else(|e| panic!("any 32 bytes: {e}"));
    let set = config.set_cookie(&id);
    let pair = set.split(';').next().unwrap_or_default();
    assert!(config.session_id(pair) == Some(id.clone()), "{set}");
    let first = format!("{pair}; {}", headers.join("; "));
    assert!(config.session_id(&first) == Some(id.clone()), "{first}");
    if !names_cookie(headers, config.name()) {
        let last = format!("{}; {pair}", headers.join("; "));
        assert!(config.session_id(&last) == Some(id), "{last}");
    }
    // The clearing cookie carries no session.
    let clear = config.clear_cookie();
    assert!(
        config
            .session_id(clear.split(';').next().unwrap_or_default())
            .is_none()
    );
}

/// Whether any `name=value` pair of the headers has this cookie name.
fn names_cookie(headers: &[&str], name: &str) -> bool {
    headers
        .iter()
        .flat_map(|h| h.split(';'))
        .filter_map(|pair| pair.split_once('='))
        .any(|(n, _)| n.trim_matches([' ', '\t']) == name)
}

/// RFC 7230 token characters (what a cookie name may hold).
fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn is_prefixed(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.starts_with("__host-") || lower.starts_with("__secure-")
}

/// 32 bytes that depend on the whole input (not a digest: any 32 bytes make a valid id).
fn mix32(raw: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (i, b) in raw.iter().enumerate() {
        out[i % 32] = out[i % 32].rotate_left(3) ^ b;
    }
    out
}
