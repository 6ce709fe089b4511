//! The pairs of a request's `Cookie` headers, read as bytes.
//!
//! A browser sends every cookie of the host in one header, values that are not ASCII
//! included (a page script's `document.cookie = "pref=café"`, or a cookie a sibling
//! domain set). `HeaderValue::to_str` refuses a whole header for one such byte, which
//! would hide the session cookie beside it: the user would look logged out, and a logout
//! would delete nothing on the server. So each header is split on `;` as bytes and only
//! what is not text is left out.

use http::{HeaderMap, header};

/// Every `name=value` pair of the request's `Cookie` headers, in order, untrimmed. A pair
/// whose value is not UTF-8 keeps only its name and `=`: it holds no credential, yet it
/// still counts as the first cookie of its name.
pub(crate) fn cookie_pairs(headers: &HeaderMap) -> impl Iterator<Item = &str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .flat_map(|value| value.as_bytes().split(|&byte| byte == b';'))
        .filter_map(|pair| match std::str::from_utf8(pair) {
            Ok(text) => Some(text),
            Err(_) => {
                let equals = pair.iter().position(|&byte| byte == b'=')?;
                std::str::from_utf8(&pair[..=equals]).ok()
            }
        })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // Test code: a panic is a failed test.

    use http::HeaderValue;

    use super::*;

    #[test]
    fn a_pair_that_is_not_text_hides_nothing_else() {
        let mut headers = HeaderMap::new();
        headers.append(
            header::COOKIE,
            HeaderValue::from_bytes(b"pref=caf\xc3\xa9; session=abc; x\xff=1; other=\xff").unwrap(),
        );
        headers.append(header::COOKIE, HeaderValue::from_static("late=1"));
        let pairs: Vec<&str> = cookie_pairs(&headers).collect();
        assert_eq!(pairs, ["pref=café", " session=abc", " other=", "late=1"]);
    }
}
