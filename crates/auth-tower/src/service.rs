//! The one service behind every layer of this crate.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::{Request, Response};
use tower_service::Service;

use crate::{Rejection, Scheme};

mod private {
    pub trait Sealed {}
}
pub(crate) use private::Sealed;

/// How a layer of this crate authenticates a request. Implemented by [`SessionLayer`],
/// [`JwtLayer`] and [`AuthLayer`]; sealed, so it cannot be implemented elsewhere.
///
/// [`SessionLayer`]: crate::SessionLayer
/// [`JwtLayer`]: crate::JwtLayer
/// [`AuthLayer`]: crate::AuthLayer
pub trait Authenticator: Sealed + Clone + Send + Sync + 'static {
    /// Authenticates `request`, putting what it proves into its extensions. An error is
    /// the answer to send instead of calling the service.
    #[doc(hidden)]
    fn authenticate<B: Send>(
        &self,
        request: &mut Request<B>,
    ) -> impl Future<Output = Result<Found, Rejection>> + Send;

    /// The challenge for a request that proved nothing; extractors read it from the
    /// request's extensions when a handler needs an identity.
    #[doc(hidden)]
    fn scheme(&self) -> Scheme;

    /// The answer for a request that proved nothing, when the layer requires proof.
    #[doc(hidden)]
    fn refuse(&self, found: &Found) -> Option<Rejection>;

    /// Whether refusals carry their precise reason to the client (development only).
    #[doc(hidden)]
    fn detailed_errors(&self) -> bool;

    /// Completes the response (cookies, session writes).
    #[doc(hidden)]
    fn finish<B: Default + Send>(
        &self,
        found: Found,
        response: Response<B>,
    ) -> impl Future<Output = Response<B>> + Send;
}

/// What authentication found in a request, carried from authentication to the response.
#[doc(hidden)]
pub struct Found(pub(crate) Kind);

pub(crate) enum Kind {
    /// Nothing proved (an optional layer let an anonymous request through).
    #[cfg_attr(not(feature = "jwt"), allow(dead_code))]
    Nothing,
    /// A verified bearer token.
    #[cfg_attr(not(feature = "jwt"), allow(dead_code))]
    Bearer,
    /// The session cookie's outcome.
    #[cfg(feature = "session")]
    Session(crate::session::Found),
}

impl Found {
    /// Whether the request proved an identity.
    pub(crate) fn is_authenticated(&self) -> bool {
        match &self.0 {
            Kind::Nothing => false,
            Kind::Bearer => true,
            #[cfg(feature = "session")]
            Kind::Session(found) => found.live,
        }
    }
}

/// The service a layer of this crate wraps around yours.
#[derive(Clone, Debug)]
pub struct AuthService<A, I> {
    pub(crate) auth: A,
    pub(crate) inner: I,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

impl<A, I, ReqBody, ResBody> Service<Request<ReqBody>> for AuthService<A, I>
where
    A: Authenticator,
    I: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    I::Future: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: Default + Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = I::Error;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        // The clone is not ready; the service that was polled ready serves this call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let auth = self.auth.clone();
        Box::pin(async move {
            let found = match auth.authenticate(&mut request).await {
                Ok(found) => found,
                Err(rejection) => return Ok(rejection.respond(auth.detailed_errors())),
            };
            let response = match auth.refuse(&found) {
                Some(rejection) => rejection.respond(auth.detailed_errors()),
                None => {
                    if !found.is_authenticated() {
                        request.extensions_mut().insert(auth.scheme());
                    }
                    inner.call(request).await?
                }
            };
            Ok(auth.finish(found, response).await)
        })
    }
}
