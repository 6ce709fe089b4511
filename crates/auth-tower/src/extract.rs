//! axum extractors. They read what the layers put into request extensions, so they work
//! behind any of `SessionLayer`, `JwtLayer` or `AuthLayer`.
//!
//! Rust's orphan rule forbids implementing axum's traits for auth-core's [`Identity`] here,
//! so the extractor is the newtype [`Authenticated`].

use std::convert::Infallible;
use std::marker::PhantomData;

use auth_core::{AuthMethod, Identity};
use axum_core::extract::{FromRequestParts, OptionalFromRequestParts};
use http::request::Parts;

use crate::{Rejection, Scheme};

/// The request's [`Identity`]; answers 401 when the request is not authenticated.
///
/// `Option<Authenticated>` never rejects: `None` for an anonymous request (use it behind a
/// layer in optional mode).
#[derive(Clone, Debug)]
pub struct Authenticated(pub Identity);

impl<S: Send + Sync> FromRequestParts<S> for Authenticated {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Rejection> {
        match parts.extensions.get::<Identity>() {
            Some(identity) => Ok(Self(identity.clone())),
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
        Ok(parts.extensions.get::<Identity>().cloned().map(Self))
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
pub struct RequireRole<R: RoleName>(pub Identity, PhantomData<fn() -> R>);

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
