//! `AuthLayer`: one layer, either model, one `Identity`.

use std::sync::Arc;

use auth_core::{AuthError, SessionStore};
use auth_jwt::Verifier;
use auth_session::{CookieConfig, SessionManager};
use http::{Request, Response};
use tower_layer::Layer;

use crate::jwt::{JwtPart, Presented};
use crate::service::{AuthService, Authenticator, Found, Kind, Sealed};
use crate::session::{Options, SessionPart};
use crate::{CsrfPolicy, Rejection, Scheme};
use crate::{SessionLayer, SessionLayerBuilder};

/// Accepts either a bearer JWT or a session cookie and yields one
/// [`Identity`](auth_core::Identity), so one handler serves browsers and API clients.
///
/// A request with an `Authorization` header is judged by its token alone (a bad token is
/// 401 even if a valid session cookie came along: the client said which credential it
/// means). Otherwise the session cookie is used, with the session layer's rules: CSRF
/// checks on unsafe methods, cookie writes after the response, and a
/// [`SessionHandle`](crate::SessionHandle) in the extensions. Without either, the request
/// is 401 (bearer challenge), unless the layer is [`optional`](AuthLayerBuilder::optional).
pub struct AuthLayer<S> {
    shared: Arc<Shared<S>>,
}

struct Shared<S> {
    jwt: JwtPart,
    session: SessionPart<S>,
    options: Options,
}

impl<S> Clone for AuthLayer<S> {
    fn clone(&self) -> Self {
        Self {
            shared: self.shared.clone(),
        }
    }
}

/// Builds an [`AuthLayer`]. The session settings, and their defaults, are those of
/// [`SessionLayerBuilder`].
pub struct AuthLayerBuilder<S> {
    verifier: Verifier,
    session: SessionLayerBuilder<S>,
}

impl<S> AuthLayerBuilder<S> {
    /// The session cookie policy (default: the manager's).
    pub fn cookie_config(mut self, cookies: CookieConfig) -> Self {
        self.session = self.session.cookie_config(cookies);
        self
    }

    /// The cross-site policy for cookie-authenticated unsafe requests.
    pub fn csrf(mut self, csrf: CsrfPolicy) -> Self {
        self.session = self.session.csrf(csrf);
        self
    }

    /// Let requests with no credential through, unauthenticated.
    pub fn optional(mut self) -> Self {
        self.session = self.session.optional();
        self
    }

    /// Put the precise reason of a refusal in the response's challenge (development
    /// only; see [`SessionLayerBuilder::detailed_errors`]).
    pub fn detailed_errors(mut self) -> Self {
        self.session = self.session.detailed_errors();
        self
    }

    /// Make "log out everywhere" end the subject's tokens from `issuer` too (see
    /// [`SessionLayerBuilder::issuer`]).
    pub fn issuer(mut self, issuer: auth_jwt::Issuer) -> Self {
        self.session = self.session.issuer(issuer);
        self
    }

    /// The layer.
    pub fn build(self) -> AuthLayer<S> {
        let (session, options) = self.session.into_part();
        AuthLayer {
            shared: Arc::new(Shared {
                jwt: JwtPart {
                    verifier: self.verifier,
                    cookie: None,
                    csrf: session.csrf.clone(),
                },
                session,
                options,
            }),
        }
    }
}

impl<S> AuthLayer<S> {
    /// A builder from the two models' entry points.
    pub fn builder(verifier: Verifier, manager: SessionManager<S>) -> AuthLayerBuilder<S> {
        AuthLayerBuilder {
            verifier,
            session: SessionLayer::builder(manager),
        }
    }
}

impl<S, I> Layer<I> for AuthLayer<S> {
    type Service = AuthService<Self, I>;

    fn layer(&self, inner: I) -> Self::Service {
        AuthService {
            auth: self.clone(),
            inner,
        }
    }
}

impl<S> Sealed for AuthLayer<S> {}

impl<S: SessionStore> Authenticator for AuthLayer<S> {
    async fn authenticate<B: Send>(&self, request: &mut Request<B>) -> Result<Found, Rejection> {
        let bearer = matches!(
            self.shared.jwt.presented(request.headers())?,
            Presented::Bearer(_)
        );
        if bearer {
            self.shared.jwt.authenticate(request).await?;
            return Ok(Found(Kind::Bearer));
        }
        let found = self.shared.session.authenticate(request).await?;
        Ok(Found(Kind::Session(found)))
    }

    // An anonymous request is challenged for a bearer token: the one scheme both browsers
    // (via the login form) and API clients can act on.
    fn scheme(&self) -> Scheme {
        Scheme::Bearer
    }

    fn refuse(&self, found: &Found) -> Option<Rejection> {
        (!self.shared.options.optional && !found.is_authenticated())
            .then(|| Rejection::auth(Scheme::Bearer, AuthError::Missing))
    }

    fn detailed_errors(&self) -> bool {
        self.shared.options.detailed_errors
    }

    async fn finish<B: Default + Send>(&self, found: Found, response: Response<B>) -> Response<B> {
        match found.0 {
            Kind::Session(found) => self.shared.session.finish(found, response).await,
            _ => response,
        }
    }
}
