//! axum extractors. They read what the layers put into request extensions, so they work
//! behind any of `SessionLayer`, `JwtLayer` or `AuthLayer`.
//!
//! Rust's orphan rule forbids implementing axum's traits for auth-core's [`Identity`] here,
//! so the extractor is the newtype [`Authenticated`].
//!
//! The layers put the identity into the extensions as an `Arc<Identity>`, so extracting it
//! shares it instead of copying its subject, roles and claims on every request.

use std::convert::Infallible;
use std::marker::PhantomData;
use std::ops::Deref;
use std::sync::Arc;

use auth_core::{AuthMethod, Identity};
use axum_core::extract::{FromRequestParts, OptionalFromRequestParts};
use http::request::Parts;

use crate::{Rejection, Scheme};

/// The request's [`Identity`]; answers 401 when the request is not authenticated.
///
/// `Option<Authenticated>` never rejects: `None` for an anonymous request (use it behind a
/// layer in optional mode).
///
/// It derefs to the [`Identity`], which it shares with the request and, for a session or
/// a token seen before, with the layer's memory of it: read it through the reference, and
/// clone only the fields you keep past the handler
/// ([`into_identity`](Self::into_identity) copies the whole identity when it is shared):
///
/// ```
/// use auth_tower::Authenticated;
///
/// async fn me(who: Authenticated) -> String {
///     if who.has_role("admin") { format!("{} (admin)", who.subject) } else { who.subject.clone() }
/// }
/// # let _ = me;
/// ```
#[derive(Clone, Debug)]
pub struct Authenticated(pub Arc<Identity>);

impl Authenticated {
    /// The identity, owned: moved out when nothing else holds it, cloned otherwise.
    pub fn into_identity(self) -> Identity {
        Arc::unwrap_or_clone(self.0)
    }
}

impl Deref for Authenticated {
    type Target = Identity;

    fn deref(&self) -> &Identity {
        &self.0
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Authenticated {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Rejection> {
        match parts.extensions.get::<Arc<Identity>>() {
            Some(identity) => Ok(Self(Arc::clone(identity))),
            None => {
                // The layer in front says which challenge fits; bearer if there is none.
                let scheme = parts
                    .extensions
                    .get::<Scheme>()
                    .copied()
                    .unwrap_or(Scheme::Bearer);
                Err(Rejection::auth(scheme, auth_core::AuthError::Missing))
            }
        }
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for Authenticated {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Option<Self>, Infallible> {
        Ok(parts.extensions.get::<Arc<Identity>>().cloned().map(Self))
    }
}

/// A role, named at the type level for [`RequireRole`].
///
/// ```
/// use auth_tower::RoleName;
///
/// struct Admin;
/// impl RoleName for Admin {
///     const ROLE: &'static str = "admin";
/// }
/// ```
pub trait RoleName: Send + Sync + 'static {
    /// The role's name as it appears in `Identity::roles`.
    const ROLE: &'static str;
}

/// The request's [`Identity`], which must hold role `R`: 401 when not authenticated, 403
/// when the role is missing.
pub struct RequireRole<R: RoleName>(pub Arc<Identity>, PhantomData<fn() -> R>);

impl<R: RoleName> RequireRole<R> {
    /// The identity that holds the role.
    pub fn identity(&self) -> &Identity {
        &self.0
    }
}

impl<R: RoleName> std::fmt::Debug for RequireRole<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("RequireRole")
            .field(&R::ROLE)
            .field(&self.0)
            .finish()
    }
}

impl<S: Send + Sync, R: RoleName> FromRequestParts<S> for RequireRole<R> {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Rejection> {
        let Authenticated(identity) =
            <Authenticated as FromRequestParts<S>>::from_request_parts(parts, state).await?;
        if identity.has_role(R::ROLE) {
            Ok(Self(identity, PhantomData))
        } else {
            let scheme = match identity.method {
                AuthMethod::Session { .. } => Scheme::Cookie,
                _ => Scheme::Bearer,
            };
            Err(Rejection::Forbidden {
                scheme,
                required: R::ROLE,
            })
        }
    }
}

/// The request's live session, put there by [`SessionLayer`](crate::SessionLayer). A
/// handler behind no session layer is a wiring mistake, answered 500.
#[cfg(feature = "session")]
impl<S: Send + Sync> FromRequestParts<S> for crate::SessionHandle {
    type Rejection = http::StatusCode;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<crate::SessionHandle>()
            .cloned()
            .ok_or(http::StatusCode::INTERNAL_SERVER_ERROR)
    }
}
