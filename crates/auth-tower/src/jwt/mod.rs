//! `JwtLayer`: authentication by `Authorization: Bearer` (and optionally a cookie).

mod layer;

pub use layer::{JwtLayer, JwtLayerBuilder};

use auth_core::{AuthError, Reason};
use auth_jwt::Verifier;
use http::{HeaderMap, Request, header};

use crate::cookie_pairs::cookie_pairs;
use crate::{CsrfPolicy, Rejection, Scheme};

/// What the JWT part of a layer needs, shared by every request.
pub(crate) struct JwtPart {
    pub(crate) verifier: Verifier,
    /// A cookie that may carry the token when no `Authorization` header does.
    pub(crate) cookie: Option<String>,
    /// Applied to unsafe methods when the token came from the cookie.
    pub(crate) csrf: CsrfPolicy,
}

/// Where a request's token is.
pub(crate) enum Presented<'a> {
    None,
    Bearer(&'a str),
    Cookie(&'a str),
}

impl JwtPart {
    /// Finds the token: the `Authorization` header (exactly one, scheme `Bearer`), or
    /// failing that the configured cookie.
    pub(crate) fn presented<'a>(&self, headers: &'a HeaderMap) -> Result<Presented<'a>, Rejection> {
        let malformed = |why| Rejection::auth(Scheme::Bearer, AuthError::Malformed(why));
        let mut authorization = headers.get_all(header::AUTHORIZATION).iter();
        if let Some(value) = authorization.next() {
            if authorization.next().is_some() {
                return Err(malformed(Reason::SeveralAuthorizationHeaders));
            }
            let value = value
                .to_str()
                .map_err(|_| malformed(Reason::AuthorizationNotAscii))?;
            let (scheme, token) = value
                .split_once(' ')
                .ok_or(malformed(Reason::AuthorizationNotBearer))?;
            if !scheme.eq_ignore_ascii_case("bearer") {
                return Err(malformed(Reason::NotBearerScheme));
            }
            return Ok(Presented::Bearer(token));
        }
        let Some(name) = &self.cookie else {
            return Ok(Presented::None);
        };
        Ok(cookie_pairs(headers)
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(n, _)| n == name)
            .map_or(Presented::None, |(_, token)| Presented::Cookie(token)))
    }

    /// Verifies the presented token and puts its identity into the request. `Ok(false)`
    /// when no token was presented.
    pub(crate) async fn authenticate<B>(
        &self,
        request: &mut Request<B>,
    ) -> Result<bool, Rejection> {
        let (token, scheme) = match self.presented(request.headers())? {
            Presented::None => return Ok(false),
            Presented::Bearer(token) => (token, Scheme::Bearer),
            Presented::Cookie(token) => {
                self.csrf.check(request).map_err(Rejection::CrossSite)?;
                (token, Scheme::Cookie)
            }
        };
        let identity = self
            .verifier
            .authenticate(token)
            .await
            .map_err(|error| Rejection::auth(scheme, error))?;
        // Already an `Arc<Identity>`: a remembered token's identity is shared, not copied.
        request.extensions_mut().insert(identity);
        Ok(true)
    }
}
