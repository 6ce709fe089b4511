use std::sync::Arc;

use auth_core::{AuthError, SessionStore};
use auth_session::{CookieConfig, SessionManager};
use http::{Request, Response};
use tower_layer::Layer;

use super::SessionPart;
use crate::service::{AuthService, Authenticator, Found, Kind, Sealed};
use crate::{CsrfPolicy, Rejection, Scheme};

/// Authenticates requests by session cookie.
///
/// For each request it reads the cookie named by the [`CookieConfig`], loads the session
/// through the [`SessionManager`] (idle and absolute expiry enforced there), refuses
/// cross-site unsafe requests ([`CsrfPolicy`]), and puts the session's
/// [`Identity`](auth_core::Identity) and a [`SessionHandle`](super::SessionHandle) into
/// the request's extensions. After the service answers it applies the handle's changes
/// and writes `Set-Cookie` only when the session was created, rotated or destroyed (or the
/// client's cookie held no well-formed id, which is cleared); changed data is saved
/// without sending the cookie again. A well-formed id that names no live session is "no
/// session" and its cookie is left alone: it may come from a request sent before a login
/// or rotation answered, and clearing it would delete the new cookie in the browser.
///
/// Without a session the request is answered 401, unless the layer is
/// [`optional`](SessionLayerBuilder::optional). A store that cannot answer is 503,
/// whatever the mode: a request never passes as authenticated, or anonymous, on a
/// store's silence.
///
/// ```
/// use auth_core::memory::MemorySessionStore;
/// use auth_session::SessionManager;
/// use auth_tower::SessionLayer;
///
/// let layer = SessionLayer::builder(SessionManager::new(MemorySessionStore::default()))
///     .optional()
///     .build();
/// # let _ = layer;
/// ```
pub struct SessionLayer<S> {
    shared: Arc<Shared<S>>,
}

struct Shared<S> {
    part: SessionPart<S>,
    optional: bool,
    detailed_errors: bool,
}

impl<S> Clone for SessionLayer<S> {
    fn clone(&self) -> Self {
        Self {
            shared: self.shared.clone(),
        }
    }
}

/// Builds a [`SessionLayer`].
pub struct SessionLayerBuilder<S> {
    manager: SessionManager<S>,
    cookies: Option<CookieConfig>,
    csrf: CsrfPolicy,
    optional: bool,
    detailed_errors: bool,
    #[cfg(feature = "jwt")]
    issuer: Option<auth_jwt::Issuer>,
}

impl<S> SessionLayerBuilder<S> {
    /// The cookie policy (default: the manager's, `__Host-session` with `Secure`,
    /// `HttpOnly`, `SameSite=Lax`, `Path=/`).
    pub fn cookie_config(mut self, cookies: CookieConfig) -> Self {
        self.cookies = Some(cookies);
        self
    }

    /// The cross-site policy for unsafe methods (default: [`CsrfPolicy::same_host`]).
    pub fn csrf(mut self, csrf: CsrfPolicy) -> Self {
        self.csrf = csrf;
        self
    }

    /// Let requests without a session through, unauthenticated (handlers then decide,
    /// e.g. with `Option<Authenticated>`). Store failures still answer 503.
    pub fn optional(mut self) -> Self {
        self.optional = true;
        self
    }

    /// Put the precise reason of a refusal in the response's challenge. For development
    /// only: by default every refused credential gets the same answer (see
    /// [`Rejection`]).
    pub fn detailed_errors(mut self) -> Self {
        self.detailed_errors = true;
        self
    }

    /// Make [`SessionHandle::logout_everywhere`](crate::SessionHandle::logout_everywhere)
    /// end the subject's tokens from `issuer` too (refresh families and access tokens),
    /// as [`Logout::everywhere`](crate::Logout::everywhere) does.
    #[cfg(feature = "jwt")]
    pub fn issuer(mut self, issuer: auth_jwt::Issuer) -> Self {
        self.issuer = Some(issuer);
        self
    }

    /// The layer.
    pub fn build(self) -> SessionLayer<S> {
        let (part, options) = self.into_part();
        SessionLayer {
            shared: Arc::new(Shared {
                part,
                optional: options.optional,
                detailed_errors: options.detailed_errors,
            }),
        }
    }

    /// The session part with every default resolved, and the layer's options; shared
    /// with [`AuthLayerBuilder`](crate::AuthLayerBuilder).
    pub(crate) fn into_part(self) -> (SessionPart<S>, Options) {
        let cookies = self.cookies.unwrap_or_else(|| self.manager.cookie_config());
        let manager = Arc::new(self.manager);
        let part = SessionPart {
            #[cfg(feature = "jwt")]
            logout: (self.issuer).map(|issuer| crate::Logout::shared(manager.clone(), issuer)),
            manager,
            cookies,
            csrf: self.csrf,
        };
        let options = Options {
            optional: self.optional,
            detailed_errors: self.detailed_errors,
        };
        (part, options)
    }
}

/// The options a layer keeps beside its session part.
pub(crate) struct Options {
    pub(crate) optional: bool,
    pub(crate) detailed_errors: bool,
}

impl<S> SessionLayer<S> {
    /// A builder around `manager`.
    pub fn builder(manager: SessionManager<S>) -> SessionLayerBuilder<S> {
        SessionLayerBuilder {
            manager,
            cookies: None,
            csrf: CsrfPolicy::default(),
            optional: false,
            detailed_errors: false,
            #[cfg(feature = "jwt")]
            issuer: None,
        }
    }

    /// A required-session layer with the default policies.
    pub fn new(manager: SessionManager<S>) -> Self {
        Self::builder(manager).build()
    }
}

impl<S, I> Layer<I> for SessionLayer<S> {
    type Service = AuthService<Self, I>;

    fn layer(&self, inner: I) -> Self::Service {
        AuthService {
            auth: self.clone(),
            inner,
        }
    }
}

impl<S> Sealed for SessionLayer<S> {}

impl<S: SessionStore> Authenticator for SessionLayer<S> {
    async fn authenticate<B: Send>(&self, request: &mut Request<B>) -> Result<Found, Rejection> {
        let found = self.shared.part.authenticate(request).await?;
        Ok(Found(Kind::Session(found)))
    }

    fn scheme(&self) -> Scheme {
        Scheme::Cookie
    }

    fn refuse(&self, found: &Found) -> Option<Rejection> {
        (!self.shared.optional && !found.is_authenticated())
            .then(|| Rejection::auth(Scheme::Cookie, AuthError::Missing))
    }

    fn detailed_errors(&self) -> bool {
        self.shared.detailed_errors
    }

    async fn finish<B: Default + Send>(&self, found: Found, response: Response<B>) -> Response<B> {
        match found.0 {
            Kind::Session(found) => self.shared.part.finish(found, response).await,
            _ => response,
        }
    }
}
