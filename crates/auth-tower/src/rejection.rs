//! The answers a layer or extractor gives instead of calling the service.

use auth_core::AuthError;
use http::{HeaderValue, Response, StatusCode, header};

use crate::CsrfRejection;

/// How the client was expected to authenticate: decides the `WWW-Authenticate` challenge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Scheme {
    /// `Authorization: Bearer` (RFC 6750 challenges).
    Bearer,
    /// A session cookie.
    Cookie,
}

/// Why a request was not let through, and the HTTP answer that says so.
///
/// | rejection | status | headers |
/// |---|---|---|
/// | no credential | 401 | `WWW-Authenticate: Bearer realm="authkit"` (or `Cookie ...`) |
/// | bad, expired or revoked credential | 401 | `... error="invalid_token", error_description="..."` |
/// | role or scope missing | 403 | bearer: `error="insufficient_scope"` |
/// | cross-site unsafe request | 403 | |
/// | store unavailable | 503 | `Retry-After: 1` — fail closed |
/// | other store or server failure | 500 | |
#[derive(Debug)]
#[non_exhaustive]
pub enum Rejection {
    /// No valid credential.
    Unauthenticated {
        /// The scheme the client should use.
        scheme: Scheme,
        /// What was wrong.
        error: AuthError,
    },
    /// Authenticated, but lacking a role or scope.
    Forbidden {
        /// The scheme that authenticated the request.
        scheme: Scheme,
        /// The role or scope that was required.
        required: &'static str,
    },
    /// A cookie-authenticated unsafe request from another site.
    CrossSite(CsrfRejection),
}

impl Rejection {
    /// A rejection for `error` under `scheme`.
    pub fn auth(scheme: Scheme, error: AuthError) -> Self {
        Self::Unauthenticated { scheme, error }
    }

    /// The status code of the answer.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Unauthenticated { error, .. } => match error {
                AuthError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
                AuthError::Store(_) | AuthError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
                _ => StatusCode::UNAUTHORIZED,
            },
            Self::Forbidden { .. } | Self::CrossSite(_) => StatusCode::FORBIDDEN,
        }
    }

    /// The answer, with an empty body of the service's body type.
    pub fn into_response<B: Default>(self) -> Response<B> {
        let status = self.status();
        let mut response = Response::new(B::default());
        *response.status_mut() = status;
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        match (&self, status) {
            (_, StatusCode::SERVICE_UNAVAILABLE) => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            (Self::Unauthenticated { scheme, error }, StatusCode::UNAUTHORIZED) => {
                let challenge = match error {
                    AuthError::Missing => challenge(*scheme, None),
                    other => challenge(*scheme, Some(("invalid_token", &other.to_string()))),
                };
                headers.insert(header::WWW_AUTHENTICATE, challenge);
            }
            (
                Self::Forbidden {
                    scheme: Scheme::Bearer,
                    required,
                },
                _,
            ) => {
                let description = format!("requires {required}");
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    challenge(Scheme::Bearer, Some(("insufficient_scope", &description))),
                );
            }
            _ => {}
        }
        response
    }
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unauthenticated { error, .. } => write!(f, "{error}"),
            Self::Forbidden { required, .. } => write!(f, "forbidden: requires {required}"),
            Self::CrossSite(why) => write!(f, "{why}"),
        }
    }
}

impl std::error::Error for Rejection {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Unauthenticated { error, .. } => Some(error),
            Self::CrossSite(why) => Some(why),
            Self::Forbidden { .. } => None,
        }
    }
}

/// `Bearer realm="authkit"[, error="..", error_description=".."]`. The description keeps
/// only characters RFC 6750 allows there (no quotes or backslashes).
fn challenge(scheme: Scheme, error: Option<(&str, &str)>) -> HeaderValue {
    let name = match scheme {
        Scheme::Bearer => "Bearer",
        Scheme::Cookie => "Cookie",
    };
    let mut value = format!("{name} realm=\"authkit\"");
    if let Some((code, description)) = error {
        let description: String = description
            .chars()
            .filter(|c| matches!(c, ' ' | '!' | '#'..='[' | ']'..='~'))
            .collect();
        value.push_str(&format!(
            ", error=\"{code}\", error_description=\"{description}\""
        ));
    }
    // Every character above is visible ASCII, which is always a valid header value.
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static("Bearer"))
}

#[cfg(feature = "axum")]
impl axum_core::response::IntoResponse for Rejection {
    fn into_response(self) -> axum_core::response::Response {
        Rejection::into_response(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use auth_core::StoreError;

    fn header(r: &Response<()>, name: header::HeaderName) -> String {
        r.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    }

    #[test]
    fn missing_credential_is_a_bare_challenge() {
        let r: Response<()> = Rejection::auth(Scheme::Bearer, AuthError::Missing).into_response();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            header(&r, header::WWW_AUTHENTICATE),
            "Bearer realm=\"authkit\""
        );
    }

    #[test]
    fn invalid_token_carries_rfc6750_error() {
        let r: Response<()> = Rejection::auth(Scheme::Bearer, AuthError::Expired).into_response();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        let h = header(&r, header::WWW_AUTHENTICATE);
        assert!(
            h.starts_with("Bearer realm=\"authkit\", error=\"invalid_token\""),
            "{h}"
        );
        assert!(h.contains("expired"));
    }

    #[test]
    fn unavailable_store_fails_closed_with_503() {
        let io = std::io::Error::other("down");
        let error = AuthError::from(StoreError::unavailable(io));
        let r: Response<()> = Rejection::auth(Scheme::Cookie, error).into_response();
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(header(&r, header::RETRY_AFTER), "1");
        assert_eq!(header(&r, header::WWW_AUTHENTICATE), "");
    }

    #[test]
    fn forbidden_and_cross_site_are_403() {
        let r: Response<()> = Rejection::Forbidden {
            scheme: Scheme::Bearer,
            required: "admin",
        }
        .into_response();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        assert!(header(&r, header::WWW_AUTHENTICATE).contains("insufficient_scope"));
        let r: Response<()> = Rejection::CrossSite(CsrfRejection::CrossSite).into_response();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
    }

    #[test]
    fn descriptions_cannot_break_the_header() {
        let v = challenge(Scheme::Bearer, Some(("invalid_token", "a\"b\\c\nd")));
        assert_eq!(
            v.to_str().unwrap(),
            "Bearer realm=\"authkit\", error=\"invalid_token\", error_description=\"abcd\""
        );
    }
}
