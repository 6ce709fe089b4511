//! `SessionLayer`: authentication by session cookie.

mod handle;
mod layer;

pub use handle::{SessionHandle, SessionHandleError};
#[cfg(feature = "jwt")]
pub(crate) use layer::Options;
pub use layer::{SessionLayer, SessionLayerBuilder};

use std::sync::Arc;

use auth_core::{AuthError, SessionStore};
use auth_session::{CookieConfig, Session, SessionError, SessionManager};
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode, header};
use serde_json::json;

use crate::cookie_pairs::cookie_pairs;
use crate::{CsrfPolicy, Rejection, Scheme};
use handle::Pending;

/// What the session part of a layer needs, shared by every request.
pub(crate) struct SessionPart<S> {
    pub(crate) manager: Arc<SessionManager<S>>,
    pub(crate) cookies: CookieConfig,
    pub(crate) csrf: CsrfPolicy,
    /// When set, "log out everywhere" ends the subject's tokens too.
    #[cfg(feature = "jwt")]
    pub(crate) logout: Option<crate::Logout<S>>,
}

/// Why applying a handler's change failed.
enum Failed {
    Session(SessionError),
    /// Ending the subject's tokens failed (only with an issuer).
    #[cfg_attr(not(feature = "jwt"), allow(dead_code))]
    Auth(AuthError),
}

impl From<SessionError> for Failed {
    fn from(error: SessionError) -> Self {
        Self::Session(error)
    }
}

/// What the session part found in a request.
pub(crate) struct Found {
    pub(crate) handle: SessionHandle,
    /// The cookie named a live session (decided before the handler runs, which is when
    /// the layer asks: reading it here spares the handle's lock).
    pub(crate) live: bool,
    /// A session cookie came with the request but held no well-formed id: cleared. A
    /// well-formed id that names no live session is left alone, since it may be a
    /// request sent before a login or rotation answered, and clearing its name would
    /// delete the new cookie in the browser.
    pub(crate) malformed_cookie: bool,
}

impl<S: SessionStore> SessionPart<S> {
    /// Loads the session the request's cookie names and puts its identity and handle into
    /// the request. Errors are answers: 503 when the store cannot answer, 403 for a
    /// cross-site unsafe request.
    pub(crate) async fn authenticate<B>(
        &self,
        request: &mut Request<B>,
    ) -> Result<Found, Rejection> {
        let headers = request.headers();
        let presented = self.cookies.session_id_in(cookie_pairs(headers));
        let malformed_cookie = presented.is_none() && self.names_cookie(headers);
        let session = match presented {
            Some(id) => self
                .manager
                .load_id(id)
                .await
                .map_err(|e| Rejection::auth(Scheme::Cookie, AuthError::from(e)))?,
            None => None,
        };
        // Every unsafe request through a session layer is checked, logged in or not: a
        // cross-site login form post is an attack too (login CSRF).
        self.csrf
            .check_with(request, self.cookies.secure())
            .map_err(Rejection::CrossSite)?;
        if let Some(session) = &session {
            let identity = self
                .manager
                .identity(session)
                .map_err(|e| Rejection::auth(Scheme::Cookie, AuthError::from(e)))?;
            request.extensions_mut().insert(identity);
        }
        let live = session.is_some();
        let handle = SessionHandle::new(session);
        request.extensions_mut().insert(handle.clone());
        Ok(Found {
            handle,
            live,
            malformed_cookie,
        })
    }

    fn names_cookie(&self, headers: &HeaderMap) -> bool {
        let prefix = format!("{}=", self.cookies.name());
        cookie_pairs(headers).any(|pair| pair.trim_start().starts_with(&prefix))
    }

    /// Applies what the handler asked for and sets or clears the cookie. A store failure
    /// here replaces the handler's answer (503 when unavailable, 409 on a lost update,
    /// 500 otherwise): a change the client was told about never silently fails.
    pub(crate) async fn finish<B: Default>(
        &self,
        found: Found,
        mut response: Response<B>,
    ) -> Response<B> {
        // Most requests change nothing: no store call. Otherwise `apply` runs boxed, and the
        // session is moved into it before any await, so neither takes room in this future
        // (which every request copies, and which must stay small enough for the layer's
        // boxed future to avoid the allocator's slow path for large blocks).
        let apply = match found.handle.take() {
            (session, Pending::None) if !session.as_ref().is_some_and(Session::is_dirty) => None,
            (session, pending) => Some(Box::pin(self.apply(session, pending))),
        };
        let outcome = match apply {
            Some(apply) => apply.await,
            None => Ok(None),
        };
        let cookie = match outcome {
            Ok(Some(cookie)) => Some(cookie),
            Ok(None) if found.malformed_cookie => Some(self.cookies.clear_cookie()),
            Ok(None) => None,
            Err(error) => return failure(error),
        };
        if let Some(value) = cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
            let headers = response.headers_mut();
            headers.append(header::SET_COOKIE, value);
            // A response that sets a session cookie must never be cached and replayed.
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
        response
    }

    /// Returns the `Set-Cookie` value to send, if any.
    async fn apply(
        &self,
        session: Option<Session>,
        pending: Pending,
    ) -> Result<Option<String>, Failed> {
        let manager = &self.manager;
        match pending {
            Pending::Login { subject, roles } => {
                let session = match session {
                    Some(mut same) if same.subject() == subject => {
                        manager.rotate_to(&mut same, subject, roles).await?;
                        same
                    }
                    other => {
                        if let Some(previous) = other {
                            manager.destroy(&previous).await?;
                        }
                        manager.create(subject, &json!({ "roles": roles })).await?
                    }
                };
                Ok(Some(self.cookies.set_cookie(session.id())))
            }
            Pending::Rotate => match session {
                Some(mut session) => {
                    manager.rotate(&mut session).await?;
                    Ok(Some(self.cookies.set_cookie(session.id())))
                }
                None => Ok(None),
            },
            Pending::Logout => {
                if let Some(session) = session {
                    manager.destroy(&session).await?;
                }
                Ok(Some(self.cookies.clear_cookie()))
            }
            Pending::LogoutEverywhere => {
                if let Some(session) = session {
                    self.logout_everywhere(session.subject()).await?;
                }
                Ok(Some(self.cookies.clear_cookie()))
            }
            Pending::None => {
                if let Some(mut session) = session {
                    manager.update(&mut session).await?;
                }
                Ok(None)
            }
        }
    }
}

impl<S: SessionStore> SessionPart<S> {
    /// Every session of `subject`, and with an issuer every token too.
    async fn logout_everywhere(&self, subject: &str) -> Result<(), Failed> {
        #[cfg(feature = "jwt")]
        if let Some(logout) = &self.logout {
            return logout
                .everywhere(subject)
                .await
                .map(drop)
                .map_err(Failed::Auth);
        }
        self.manager.destroy_all(subject).await?;
        Ok(())
    }
}

fn failure<B: Default>(error: Failed) -> Response<B> {
    match error {
        Failed::Session(SessionError::Conflict) => {
            let mut response = Response::new(B::default());
            *response.status_mut() = StatusCode::CONFLICT;
            response
        }
        Failed::Session(other) => {
            Rejection::auth(Scheme::Cookie, AuthError::from(other)).into_response()
        }
        Failed::Auth(error) => Rejection::auth(Scheme::Cookie, error).into_response(),
    }
}
