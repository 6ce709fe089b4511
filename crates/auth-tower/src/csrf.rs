//! Cross-site request refusal for cookie-authenticated unsafe methods.

use std::sync::Arc;

use http::{Method, Request, header};

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
///    configured, be the request's own origin: the same host and port as its authority
///    (the `:authority` of HTTP/2, or the `Host` header) **and the same scheme**, so a
///    page served over plain `http` cannot post to the `https` site of the same host. The
///    scheme is the request's own when the server knows it (HTTP/2's `:scheme`, an
///    absolute URI); otherwise `https`, except behind a session layer whose cookie is not
///    `Secure` (the documented plain-http development cookie), where it is `http`.
///    `Origin: null` is refused.
/// 3. A request with neither header did not come from a browser page (browsers send
///    `Origin` on every cross-origin `POST`), so it carries no ambient cookie and passes.
///
/// ```
/// use auth_tower::CsrfPolicy;
/// use http::Request;
///
/// let post = |origin: &str| Request::post("/transfer").header("origin", origin).body(()).unwrap();
/// let policy = CsrfPolicy::allow_origins(["https://app.example"]);
/// assert!(policy.check(&post("https://evil.example")).is_err());
/// assert!(policy.check(&post("https://app.example")).is_ok());
/// assert!(policy.check(&Request::get("/").body(()).unwrap()).is_ok());
///
/// let same_host = CsrfPolicy::same_host();
/// let from = |origin: &str| {
///     Request::post("/transfer").header("host", "app.example").header("origin", origin).body(()).unwrap()
/// };
/// assert!(same_host.check(&from("https://app.example")).is_ok());
/// assert!(same_host.check(&from("http://app.example")).is_err(), "same host, wrong scheme");
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
    /// `Origin` was given but the request names no host (no `:authority`, no `Host`) to
    /// compare it with.
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
    /// The default: `Origin` must be the request's own scheme, host and port.
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

    /// Whether `request` may proceed. Without a scheme in its URI, the request is taken to
    /// have come over `https`.
    pub fn check<B>(&self, request: &Request<B>) -> Result<(), CsrfRejection> {
        self.check_with(request, true)
    }

    /// [`check`](Self::check), taking a scheme-less request to have come over `https`
    /// when `secure` (what a layer knows from its cookie's `Secure` attribute) and over
    /// `http` otherwise.
    pub(crate) fn check_with<B>(
        &self,
        request: &Request<B>,
        secure: bool,
    ) -> Result<(), CsrfRejection> {
        let headers = request.headers();
        if matches!(self.mode, Mode::Disabled) || is_safe(request.method()) {
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
                // HTTP/2 carries the authority in the URI (`:authority`) and may send no
                // `Host`; an absolute-form HTTP/1.1 target overrides `Host` as well.
                let host = match request.uri().authority() {
                    Some(authority) => authority.as_str(),
                    None => headers
                        .get(header::HOST)
                        .and_then(|h| h.to_str().ok())
                        .ok_or(CsrfRejection::NoHost)?,
                };
                let scheme = match request.uri().scheme_str() {
                    Some(scheme) => scheme,
                    None if secure => "https",
                    None => "http",
                };
                let authority = origin
                    .strip_prefix(scheme)
                    .and_then(|rest| rest.strip_prefix("://"))
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

    fn request(method: Method, uri: &str, pairs: &[(&'static str, &'static str)]) -> Request<()> {
        let mut builder = Request::builder().method(method).uri(uri);
        for (k, v) in pairs {
            builder = builder.header(*k, *v);
        }
        builder.body(()).unwrap_or_default()
    }

    fn post(pairs: &[(&'static str, &'static str)]) -> Request<()> {
        request(Method::POST, "/", pairs)
    }

    #[test]
    fn sec_fetch_site_decides_when_present() {
        let p = CsrfPolicy::default();
        assert!(p.check(&post(&[("sec-fetch-site", "same-origin")])).is_ok());
        assert!(p.check(&post(&[("sec-fetch-site", "none")])).is_ok());
        for site in ["cross-site", "same-site", "bogus"] {
            let r = post(&[
                ("sec-fetch-site", site),
                ("origin", "https://a.test"),
                ("host", "a.test"),
            ]);
            assert_eq!(p.check(&r), Err(CsrfRejection::CrossSite), "{site}");
        }
    }

    #[test]
    fn origin_must_match_scheme_host_and_port_by_default() {
        let p = CsrfPolicy::default();
        let ok = post(&[
            ("origin", "https://app.test:8443"),
            ("host", "app.test:8443"),
        ]);
        assert!(p.check(&ok).is_ok());
        for bad in [
            post(&[("origin", "https://evil.test"), ("host", "app.test:8443")]),
            post(&[
                ("origin", "https://app.test:8444"),
                ("host", "app.test:8443"),
            ]),
            post(&[
                ("origin", "http://app.test:8443"),
                ("host", "app.test:8443"),
            ]),
            post(&[("origin", "null"), ("host", "app.test:8443")]),
            post(&[("origin", "https://app.test:8443")]),
        ] {
            let mut bad = bad;
            *bad.method_mut() = Method::DELETE;
            assert!(p.check(&bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_scheme_comes_from_the_request_when_it_says_and_else_from_the_cookie() {
        let p = CsrfPolicy::default();
        let plain = post(&[
            ("origin", "http://127.0.0.1:3000"),
            ("host", "127.0.0.1:3000"),
        ]);
        assert!(p.check(&plain).is_err(), "https unless told otherwise");
        assert!(
            p.check_with(&plain, false).is_ok(),
            "a non-Secure cookie means http"
        );
        let secure = post(&[
            ("origin", "https://127.0.0.1:3000"),
            ("host", "127.0.0.1:3000"),
        ]);
        assert!(p.check_with(&secure, false).is_err(), "and only http");
        // HTTP/2: scheme and authority in the URI, no Host header at all.
        let h2 = request(
            Method::POST,
            "https://app.test/x",
            &[("origin", "https://app.test")],
        );
        assert!(p.check_with(&h2, false).is_ok());
        let h2_foreign = request(
            Method::POST,
            "https://app.test/x",
            &[("origin", "http://app.test")],
        );
        assert!(p.check(&h2_foreign).is_err());
        let h2_other = request(
            Method::POST,
            "https://app.test/x",
            &[("origin", "https://evil.test")],
        );
        assert_eq!(p.check(&h2_other), Err(CsrfRejection::ForeignOrigin));
    }

    #[test]
    fn safe_methods_and_non_browser_clients_pass() {
        let p = CsrfPolicy::allow_origins(["https://app.test/"]);
        for m in [Method::GET, Method::HEAD, Method::OPTIONS] {
            assert!(
                p.check(&request(m, "/", &[("origin", "https://evil.test")]))
                    .is_ok()
            );
        }
        assert!(
            p.check(&request(
                Method::PUT,
                "/",
                &[("origin", "https://evil.test")]
            ))
            .is_err()
        );
        assert!(
            p.check(&request(
                Method::PATCH,
                "/",
                &[("origin", "HTTPS://APP.TEST")]
            ))
            .is_ok()
        );
        assert!(p.check(&post(&[])).is_ok());
        assert!(
            CsrfPolicy::disabled()
                .check(&post(&[("origin", "https://evil.test")]))
                .is_ok()
        );
    }
}
