//! The answers a layer or extractor gives instead of calling the service.

use std::sync::Arc;

use auth_core::AuthError;
use http::{HeaderValue, Response, StatusCode, header};

use crate::CsrfRejection;

/// The one description every refused credential gets by default: the client learns that
/// it was refused, never why (expired, revoked, forged, unknown key all read the same).
pub const GENERIC_DESCRIPTION: &str = "the credential is not valid";

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
/// | bad, expired, revoked or forged credential | 401 | `... error="invalid_token", error_description="the credential is not valid"` |
/// | too many failed logins | 429 | `Retry-After: <seconds>` |
/// | role or scope missing | 403 | bearer: `error="insufficient_scope"` |
/// | cross-site unsafe request | 403 | |
/// | store unavailable | 503 | `Retry-After: 1` — fail closed |
/// | other store or server failure | 500 | |
///
/// **No oracle.** Every refused credential gets the same challenge
/// ([`GENERIC_DESCRIPTION`]), so a thief replaying a stolen token cannot tell "revoked"
/// (the victim noticed) from "expired" or "forged". The precise reason stays with the
/// application: the response carries this rejection in its extensions as an
/// `Arc<Rejection>` (for logging middleware), and [`into_detailed_response`]
/// (the layers' `detailed_errors()`) puts it in the challenge, for development only.
///
/// [`into_detailed_response`]: Rejection::into_detailed_response
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
                AuthError::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
                _ => StatusCode::UNAUTHORIZED,
            },
            Self::Forbidden { .. } | Self::CrossSite(_) => StatusCode::FORBIDDEN,
        }
    }

    /// The answer, with an empty body of the service's body type: every refused
    /// credential gets the same generic challenge. The rejection itself rides along in
    /// the response's extensions (`Arc<Rejection>`).
    pub fn into_response<B: Default>(self) -> Response<B> {
        self.respond(false)
    }

    /// The answer with the precise reason in the challenge's `error_description`: for
    /// development, never for a service exposed to clients it does not trust.
    pub fn into_detailed_response<B: Default>(self) -> Response<B> {
        self.respond(true)
    }

    /// The answer, detailed or not. Every refusal is an event (`request.refused`) carrying
    /// its precise reason, whatever the client is told.
    pub(crate) fn respond<B: Default>(self, detailed: bool) -> Response<B> {
        let status = self.status();
        self.trace(status);
        let mut response = Response::new(B::default());
        *response.status_mut() = status;
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        match (&self, status) {
            (_, StatusCode::SERVICE_UNAVAILABLE) => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            (
                Self::Unauthenticated {
                    error: AuthError::Throttled { retry_after },
                    ..
                },
                _,
            ) => {
                headers.insert(
                    header::RETRY_AFTER,
                    HeaderValue::from(retry_after.as_secs()),
                );
            }
            (Self::Unauthenticated { scheme, error }, StatusCode::UNAUTHORIZED) => {
                let challenge = match error {
                    AuthError::Missing => challenge(*scheme, None),
                    other if detailed => {
                        challenge(*scheme, Some(("invalid_token", &other.to_string())))
                    }
                    _ => challenge(*scheme, Some(("invalid_token", GENERIC_DESCRIPTION))),
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
        response.extensions_mut().insert(Arc::new(self));
        response
    }
}

impl Rejection {
    fn trace(&self, status: StatusCode) {
        let scheme = match self {
            Self::Unauthenticated { scheme, .. } | Self::Forbidden { scheme, .. } => match scheme {
                Scheme::Bearer => "bearer",
                Scheme::Cookie => "cookie",
            },
            Self::CrossSite(_) => "cookie",
        };
        let status = status.as_u16();
        if status >= 500 {
            tracing::warn!(event = "request.refused", status, scheme, reason = %self);
        } else {
            tracing::info!(event = "request.refused", status, scheme, reason = %self);
        }
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
    use auth_core::{Reason, StoreError};

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

    fn refusals() -> Vec<AuthError> {
        vec![
            AuthError::Expired,
            AuthError::Revoked,
            AuthError::Invalid(Reason::BadSignature),
            AuthError::Invalid(Reason::UnknownKid),
            AuthError::Malformed(Reason::AuthorizationNotBearer),
        ]
    }

    #[test]
    fn every_refused_token_gets_the_same_generic_challenge() {
        let expected = format!(
            "Bearer realm=\"authkit\", error=\"invalid_token\", error_description=\"{GENERIC_DESCRIPTION}\""
        );
        for error in refusals() {
            let why = error.to_string();
            let r: Response<()> = Rejection::auth(Scheme::Bearer, error).into_response();
            assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
            assert_eq!(header(&r, header::WWW_AUTHENTICATE), expected, "{why}");
            // The precise reason stays with the application.
            let kept = r.extensions().get::<Arc<Rejection>>().unwrap();
            assert_eq!(kept.to_string(), why);
        }
    }

    #[test]
    fn detailed_challenges_are_an_opt_in() {
        let r: Response<()> =
            Rejection::auth(Scheme::Bearer, AuthError::Revoked).into_detailed_response();
        let h = header(&r, header::WWW_AUTHENTICATE);
        assert!(
            h.starts_with("Bearer realm=\"authkit\", error=\"invalid_token\""),
            "{h}"
        );
        assert!(h.contains("revoked"));
    }

    #[test]
    fn throttled_logins_are_429_with_retry_after() {
        let error = AuthError::Throttled {
            retry_after: std::time::Duration::from_secs(840),
        };
        let r: Response<()> = Rejection::auth(Scheme::Bearer, error).into_response();
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(header(&r, header::RETRY_AFTER), "840");
        assert_eq!(header(&r, header::WWW_AUTHENTICATE), "");
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
