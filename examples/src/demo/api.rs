//! The API side: JSON, JWT access and refresh tokens, and the JWKS.

use auth_core::{AuthError, AuthMethod};
use auth_jwt::TokenPair;
use auth_tower::{Authenticated, Rejection, Scheme};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::passwords::{self, Refused};
use super::{AppState, ClientAddr};

/// `POST /api/token` body.
#[derive(Deserialize)]
pub(crate) struct Credentials {
    username: String,
    password: String,
}

/// `POST /api/token/refresh` body.
#[derive(Deserialize)]
pub(crate) struct RefreshRequest {
    refresh_token: String,
}

/// `POST /api/token`: the password grant of the demo, throttled with the login form.
pub(crate) async fn token(
    State(state): State<AppState>,
    ClientAddr(address): ClientAddr,
    Json(body): Json<Credentials>,
) -> Response {
    let Credentials { username, password } = body;
    let checked =
        passwords::check(&state.throttle, &state.hashing, username, password, address).await;
    let user = match checked {
        Ok(user) => user,
        Err(Refused::WrongPassword) => {
            return oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_grant",
                "wrong user name or password",
            );
        }
        Err(Refused::Throttled(retry_after)) => {
            return retry_later(
                StatusCode::TOO_MANY_REQUESTS,
                "too many failed logins; retry later",
                retry_after.as_secs(),
            );
        }
        Err(Refused::Busy) => {
            return retry_later(
                StatusCode::SERVICE_UNAVAILABLE,
                "the server is busy; retry in a second",
                1,
            );
        }
        Err(Refused::Unavailable(error)) => return failure(error),
    };
    match state
        .issuer
        .login(user.name, &json!({ "roles": user.roles }))
        .await
    {
        Ok(pair) => token_response(pair),
        Err(error) => failure(error),
    }
}

/// `POST /api/token/refresh`: rotates the refresh token; a reused one revokes its family.
pub(crate) async fn refresh(
    State(state): State<AppState>,
    Json(body): Json<RefreshRequest>,
) -> Response {
    match state.issuer.refresh(&body.refresh_token).await {
        Ok(pair) => token_response(pair),
        // A reuse gets the answer of any refused token: whoever replays a leaked token
        // learns nothing of it (the `token.reused` event tells the operator).
        Err(
            AuthError::Reused { .. }
            | AuthError::Malformed(_)
            | AuthError::Invalid(_)
            | AuthError::Expired
            | AuthError::Revoked,
        ) => oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_grant",
            "refresh token not valid",
        ),
        Err(error) => failure(error),
    }
}

/// `GET /api/me`: the caller's identity, by bearer token or by session cookie.
pub(crate) async fn me(who: Authenticated) -> Response {
    let method = match &who.method {
        AuthMethod::Session { .. } => "session",
        _ => "jwt",
    };
    // Serialized from the shared identity, not from a copy of it.
    Json(Me {
        method,
        roles: &who.roles,
        sub: &who.subject,
    })
    .into_response()
}

/// The body of `GET /api/me`.
#[derive(Serialize)]
pub(crate) struct Me<'a> {
    method: &'static str,
    roles: &'a [String],
    sub: &'a str,
}

/// `POST /api/logout`: revokes this access token and its refresh family.
pub(crate) async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Response {
    // The JwtLayer in front has verified this header already.
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .map(|(_, token)| token)
        .unwrap_or_default();
    match state.issuer.revoke(token).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(error) => failure(error),
    }
}

/// `GET /.well-known/jwks.json`: the public keys that verify our tokens.
pub(crate) async fn jwks(State(state): State<AppState>) -> Response {
    (
        [(header::CACHE_CONTROL, "public, max-age=300")],
        Json(state.keys.jwks()),
    )
        .into_response()
}

/// `GET /.well-known/openid-configuration`: OpenID Connect discovery, enough for a
/// resource server to find the keys of the demo's tokens from its issuer URL.
pub(crate) async fn discovery(State(state): State<AppState>) -> Response {
    let issuer = &state.issuer_url;
    // The issuer as the tokens carry it; the URLs under it without a doubled slash.
    let base = issuer.trim_end_matches('/');
    (
        [(header::CACHE_CONTROL, "public, max-age=300")],
        Json(json!({
            "issuer": issuer,
            "jwks_uri": format!("{base}/.well-known/jwks.json"),
            "token_endpoint": format!("{base}/api/token"),
        })),
    )
        .into_response()
}

/// `GET /api/health`: no authentication at all (the baseline for load tests).
pub(crate) async fn health() -> &'static str {
    "ok"
}

fn token_response(pair: TokenPair) -> Response {
    let expires_in = pair
        .access_expires_at
        .duration_since(std::time::SystemTime::now())
        .map(|d| d.as_secs())
        .unwrap_or(0);
    (
        [(header::CACHE_CONTROL, "no-store")],
        Json(json!({
            "access_token": pair.access_token,
            "refresh_token": pair.refresh_token.expose_secret(),
            "token_type": "Bearer",
            "expires_in": expires_in,
        })),
    )
        .into_response()
}

/// A refusal the client should retry after `seconds`.
fn retry_later(status: StatusCode, description: &str, seconds: u64) -> Response {
    let mut response = oauth_error(status, "temporarily_unavailable", description);
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, seconds.max(1).into());
    response
}

fn oauth_error(status: StatusCode, code: &str, description: &str) -> Response {
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        Json(json!({ "error": code, "error_description": description })),
    )
        .into_response()
}

fn failure(error: AuthError) -> Response {
    Rejection::auth(Scheme::Bearer, error).into_response()
}
