use std::sync::Arc;

use auth_core::AuthError;
use auth_jwt::Verifier;
use http::{Request, Response};
use tower_layer::Layer;

use super::JwtPart;
use crate::service::{AuthService, Authenticator, Found, Kind, Sealed};
use crate::{CsrfPolicy, Rejection, Scheme};

/// Authenticates requests by JWT: `Authorization: Bearer <token>`, or optionally a cookie
/// holding the token.
///
/// The [`Verifier`] checks the token (RFC 8725 rules, then revocation) and the request
/// gets its [`Identity`](auth_core::Identity). A presented but invalid token is always
/// answered 401 with an RFC 6750 `error="invalid_token"` challenge, the same for every
/// reason (the reason stays in the response's extensions), even when the layer is
/// [`optional`](JwtLayerBuilder::optional) (which only lets requests *without* a token
/// through). A revocation store that cannot answer is 503. A token read from the cookie
/// is subject to the [`CsrfPolicy`] for unsafe methods, as any cookie is.
///
/// ```no_run
/// # fn verifier() -> auth_jwt::Verifier { unimplemented!() }
/// use auth_tower::JwtLayer;
///
/// let layer = JwtLayer::builder(verifier()).optional().build();
/// # let _ = layer;
/// ```
#[derive(Clone)]
pub struct JwtLayer {
    shared: Arc<Shared>,
}

struct Shared {
    part: JwtPart,
    optional: bool,
    detailed_errors: bool,
}

/// Builds a [`JwtLayer`].
pub struct JwtLayerBuilder {
    part: JwtPart,
    optional: bool,
    detailed_errors: bool,
}

impl JwtLayerBuilder {
    /// Also accept the token from the cookie `name` when no `Authorization` header is sent.
    pub fn cookie(mut self, name: impl Into<String>) -> Self {
        self.part.cookie = Some(name.into());
        self
    }

    /// The cross-site policy for cookie-borne tokens (default: [`CsrfPolicy::same_host`]).
    pub fn csrf(mut self, csrf: CsrfPolicy) -> Self {
        self.part.csrf = csrf;
        self
    }

    /// Let requests without any token through, unauthenticated.
    pub fn optional(mut self) -> Self {
        self.optional = true;
        self
    }

    /// Put the precise reason of a refusal in the `WWW-Authenticate` challenge. For
    /// development only: by default every refused token gets the same answer, so a
    /// client cannot tell a revoked token from a forged one (see [`Rejection`]).
    pub fn detailed_errors(mut self) -> Self {
        self.detailed_errors = true;
        self
    }

    /// The layer.
    pub fn build(self) -> JwtLayer {
        JwtLayer {
            shared: Arc::new(Shared {
                part: self.part,
                optional: self.optional,
                detailed_errors: self.detailed_errors,
            }),
        }
    }
}

impl JwtLayer {
    /// A builder around `verifier`.
    pub fn builder(verifier: Verifier) -> JwtLayerBuilder {
        JwtLayerBuilder {
            part: JwtPart {
                verifier,
                cookie: None,
                csrf: CsrfPolicy::default(),
            },
            optional: false,
            detailed_errors: false,
        }
    }

    /// A required-token layer reading `Authorization: Bearer` only.
    pub fn new(verifier: Verifier) -> Self {
        Self::builder(verifier).build()
    }
}

impl<I> Layer<I> for JwtLayer {
    type Service = AuthService<Self, I>;

    fn layer(&self, inner: I) -> Self::Service {
        AuthService {
            auth: self.clone(),
            inner,
        }
    }
}

impl Sealed for JwtLayer {}

impl Authenticator for JwtLayer {
    async fn authenticate<B: Send>(&self, request: &mut Request<B>) -> Result<Found, Rejection> {
        Ok(Found(if self.shared.part.authenticate(request).await? {
            Kind::Bearer
        } else {
            Kind::Nothing
        }))
    }

    fn scheme(&self) -> Scheme {
        Scheme::Bearer
    }

    fn refuse(&self, found: &Found) -> Option<Rejection> {
        (!self.shared.optional && !found.is_authenticated())
            .then(|| Rejection::auth(Scheme::Bearer, AuthError::Missing))
    }

    fn detailed_errors(&self) -> bool {
        self.shared.detailed_errors
    }

    async fn finish<B: Default + Send>(&self, _found: Found, response: Response<B>) -> Response<B> {
        response
    }
}
