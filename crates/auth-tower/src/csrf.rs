//! Cross-site request refusal for cookie-authenticated unsafe methods.

use std::sync::Arc;

use http::{HeaderMap, Method, header};

/// Decides whether a cookie-authenticated request may change state.
///
/// A browser attaches cookies to cross-site requests, so a `POST` from an attacker's page
/// would arrive carrying the victim's session. For unsafe methods (everything but `GET`,
/// `HEAD`, `OPTIONS`, `TRACE`) the policy reads what browsers say about where a request
/// came from:
///
/// 1. `Sec-Fetch-Site` (every current browser): `same-origin` and `none` (typed or
///    bookmarked by the user) pass; `same-site` and `cross-site` are refused.
/// 2. Otherwise `Origin`: it must be one of the allowed origins, or, when none is
///    configured, name the same host and port as the `Host` header. `Origin: null` is
///    refused.
/// 3. A request with neither header did not come from a browser page (browsers send
///    `Origin` on every cross-origin `POST`), so it carries no ambient cookie and passes.
///
/// ```
/// use auth_tower::CsrfPolicy;
/// use http::{HeaderMap, HeaderValue, Method};
///
/// let policy = CsrfPolicy::allow_origins(["https://app.example"]);
/// let mut headers = HeaderMap::new();
/// headers.insert("origin", HeaderValue::from_static("https://evil.example"));
/// assert!(policy.check(&Method::POST, &headers).is_err());
/// headers.insert("origin", HeaderValue::from_static("https://app.example"));
/// assert!(policy.check(&Method::POST, &headers).is_ok());
/// assert!(policy.check(&Method::GET, &HeaderMap::new()).is_ok());
/// ```
#[derive(Clone, Debug)]
pub struct CsrfPolicy {
    mode: Mode,
}

#[derive(Clone, Debug)]
enum Mode {
    SameHost,
    Origins(Arc<[String]>),
    Disabled,
}

/// Why a request was refused as cross-site.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CsrfRejection {
    /// `Sec-Fetch-Site` says the request came from another site.
    CrossSite,
    /// `Origin` is not an allowed origin (or is `null`).
    ForeignOrigin,
    /// `Origin` was given but there is no `Host` to compare it with.
    NoHost,
}

impl std::fmt::Display for CsrfRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::CrossSite => "cross-site request refused",
            Self::ForeignOrigin => "request origin not allowed",
            Self::NoHost => "request origin cannot be checked without a Host header",
        })
    }
}

impl std::error::Error for CsrfRejection {}

impl Default for CsrfPolicy {
    fn default() -> Self {
        Self::same_host()
    }
}

impl CsrfPolicy {
    /// The default: `Origin` must name the request's own `Host`.
    pub fn same_host() -> Self {
        Self {
            mode: Mode::SameHost,
        }
    }

    /// `Origin` must be exactly one of `origins` (`scheme://host[:port]`, compared
    /// without regard to ASCII case). Use this behind proxies that rewrite `Host`.
    pub fn allow_origins<I, O>(origins: I) -> Self
    where
        I: IntoIterator<Item = O>,
        O: Into<String>,
    {
        let origins: Vec<String> = origins
            .into_iter()
            .map(|o| o.into().trim_end_matches('/').to_ascii_lowercase())
            .collect();
        Self {
            mode: Mode::Origins(origins.into()),
        }
    }

    /// No check at all. Only for services whose cookies are `SameSite=Strict` and that
    /// have their own defence; never the default.
    pub fn disabled() -> Self {
        Self {
            mode: Mode::Disabled,
        }
    }

    /// Whether a request with this method and these headers may proceed.
    pub fn check(&self, method: &Method, headers: &HeaderMap) -> Result<(), CsrfRejection> {
        if matches!(self.mode, Mode::Disabled) || is_safe(method) {
            return Ok(());
        }
        if let Some(site) = headers.get("sec-fetch-site") {
            return match site.as_bytes() {
                b"same-origin" | b"none" => Ok(()),
                _ => Err(CsrfRejection::CrossSite),
            };
        }
        let Some(origin) = headers.get(header::ORIGIN) else {
            return Ok(());
        };
        let origin = origin
            .to_str()
            .map_err(|_| CsrfRejection::ForeignOrigin)?
            .to_ascii_lowercase();
        match &self.mode {
            Mode::Origins(allowed) => allowed
                .contains(&origin)
                .then_some(())
                .ok_or(CsrfRejection::ForeignOrigin),
            Mode::SameHost => {
                let host = headers
                    .get(header::HOST)
                    .and_then(|h| h.to_str().ok())
                    .ok_or(CsrfRejection::NoHost)?;
                let authority = origin
                    .strip_prefix("https://")
                    .or_else(|| origin.strip_prefix("http://"))
                    .ok_or(CsrfRejection::ForeignOrigin)?;
                authority
                    .eq_ignore_ascii_case(host)
                    .then_some(())
                    .ok_or(CsrfRejection::ForeignOrigin)
            }
            Mode::Disabled => Ok(()),
        }
    }
}

fn is_safe(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, HeaderValue::from_static(v));
        }
        map
    }

    #[test]
    fn sec_fetch_site_decides_when_present() {
        let p = CsrfPolicy::default();
        let post = Method::POST;
        assert!(
            p.check(&post, &headers(&[("sec-fetch-site", "same-origin")]))
                .is_ok()
        );
        assert!(
            p.check(&post, &headers(&[("sec-fetch-site", "none")]))
                .is_ok()
        );
        for site in ["cross-site", "same-site", "bogus"] {
            let h = headers(&[
                ("sec-fetch-site", site),
                ("origin", "http://a.test"),
                ("host", "a.test"),
            ]);
            assert_eq!(p.check(&post, &h), Err(CsrfRejection::CrossSite), "{site}");
        }
    }

    #[test]
    fn origin_must_match_host_by_default() {
        let p = CsrfPolicy::default();
        let ok = headers(&[
            ("origin", "http://127.0.0.1:3000"),
            ("host", "127.0.0.1:3000"),
        ]);
        assert!(p.check(&Method::POST, &ok).is_ok());
        for bad in [
            headers(&[("origin", "http://evil.test"), ("host", "127.0.0.1:3000")]),
            headers(&[
                ("origin", "http://127.0.0.1:3001"),
                ("host", "127.0.0.1:3000"),
            ]),
            headers(&[("origin", "null"), ("host", "127.0.0.1:3000")]),
            headers(&[("origin", "http://127.0.0.1:3000")]),
        ] {
            assert!(p.check(&Method::DELETE, &bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn safe_methods_and_non_browser_clients_pass() {
        let p = CsrfPolicy::allow_origins(["https://app.test/"]);
        let foreign = headers(&[("origin", "https://evil.test")]);
        for m in [Method::GET, Method::HEAD, Method::OPTIONS] {
            assert!(p.check(&m, &foreign).is_ok());
        }
        assert!(p.check(&Method::PUT, &foreign).is_err());
        assert!(
            p.check(&Method::PATCH, &headers(&[("origin", "HTTPS://APP.TEST")]))
                .is_ok()
        );
        assert!(p.check(&Method::POST, &HeaderMap::new()).is_ok());
        assert!(
            CsrfPolicy::disabled()
                .check(&Method::POST, &foreign)
                .is_ok()
        );
    }
}
