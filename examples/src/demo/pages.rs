//! The browser side: HTML pages behind the session cookie.

use std::time::SystemTime;

use auth_core::{AuthMethod, Identity};
use auth_tower::{Authenticated, Rejection, Scheme, SessionHandle};
use axum::Form;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::passwords::{self, Refused};
use super::{AppState, ClientAddr};

/// The fields of the login form.
#[derive(Deserialize)]
pub(crate) struct LoginForm {
    username: String,
    password: String,
}

/// `GET /`: the two models side by side, live: what this browser holds against what an
/// API client holds, with a way to revoke each and see the effect; or the login page.
pub(crate) async fn home(State(state): State<AppState>, who: Option<Authenticated>) -> Response {
    match who {
        Some(Authenticated(who)) => dashboard(&state, &who, None).await,
        None => Redirect::to("/login").into_response(),
    }
}

/// `POST /demo/token`: a token pair for the signed-in user, as `POST /api/token` would
/// give an API client, shown on the page (never stored by the server).
pub(crate) async fn demo_token(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
) -> Response {
    match state
        .issuer
        .login(&who.subject, &serde_json::json!({ "roles": who.roles }))
        .await
    {
        // The page holds a live token: kept out of every cache, as `/api/token` is.
        Ok(pair) => (
            [(header::CACHE_CONTROL, "no-store")],
            dashboard(&state, &who, Some(&pair)).await,
        )
            .into_response(),
        Err(error) => Rejection::auth(Scheme::Cookie, error).into_response(),
    }
}

async fn dashboard(
    state: &AppState,
    who: &Identity,
    pair: Option<&auth_jwt::TokenPair>,
) -> Response {
    let sessions = match state.sessions.list(&who.subject).await {
        Ok(sessions) => sessions,
        Err(error) => return Rejection::auth(Scheme::Cookie, error.into()).into_response(),
    };
    let current = match &who.method {
        AuthMethod::Session { id_hint } => id_hint.clone(),
        _ => String::new(),
    };
    let rows: String = sessions
        .iter()
        .map(|s| {
            let hint = s.hint();
            let marker = if hint == current {
                " (this browser)"
            } else {
                ""
            };
            format!(
                "<tr><td><code>{}</code>{marker}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&hint),
                ago(s.created_at),
                ago(s.last_seen_at),
                until(s.expires_at),
            )
        })
        .collect();
    let admin_link = if who.has_role("admin") {
        r#" · <a href="/admin">admin area</a>"#
    } else {
        ""
    };
    let cookie = state.cookie_name.as_str();
    // name=value, the value 43 characters of base64url; "Cookie: " and CRLF on the wire.
    let cookie_bytes = cookie.len() + 1 + 43;
    let session_expires = who.expires_at.map(until).unwrap_or_default();
    let token_card = match pair {
        None => r#"<p class="lead">An API client logs in with <code>POST /api/token</code> and
sends the access token in every request's <code>Authorization</code> header.</p>
<form method="post" action="/demo/token"><button id="get-token" type="submit">Get a token as an API client would</button></form>"#
            .to_owned(),
        Some(pair) => {
            let token = &pair.access_token;
            format!(
                r#"<dl>
<dt>holds</dt><dd><code>{start}…</code> (a signed JWT: its claims are readable by anyone)</dd>
<dt>size</dt><dd id="token-bytes">{bytes} bytes, sent with every request ({line} with <code>Authorization: Bearer</code>)</dd>
<dt>expires</dt><dd>{expires}, then the refresh token gets a new one</dd>
<dt>state</dt><dd>none on the server, but for the revocation list it is checked against</dd>
</dl>
<div class="actions">
<button data-action="check" data-out="token-result" data-token="{token}" id="check-token">Call /api/me with it</button>
<button class="danger" data-action="revoke" data-out="token-result" data-token="{token}" id="revoke-token">Revoke it</button>
</div>
<div class="result" id="token-result"></div>"#,
                start = escape(&token[..token.len().min(24)]),
                bytes = token.len(),
                line = token.len() + "Authorization: Bearer \r\n".len(),
                expires = until(pair.access_expires_at),
                token = escape(token),
            )
        }
    };
    page(
        "authkit demo",
        &format!(
            r#"<h1 id="greeting">Hello, {name}</h1>
<p class="lead">Roles: <span id="roles">{roles}</span>{admin_link}</p>
<div class="models">
<div class="card"><h2>Session: what this browser holds</h2>
<dl>
<dt>holds</dt><dd>the cookie <code>{cookie}</code>: 256 random bits, <code>HttpOnly</code>, unreadable by scripts</dd>
<dt>size</dt><dd id="cookie-bytes">{cookie_bytes} bytes, sent with every request ({cookie_line} with <code>Cookie:</code>)</dd>
<dt>expires</dt><dd>{session_expires} if idle, sooner at its absolute limit</dd>
<dt>state</dt><dd>on the server: {count} active session(s) below</dd>
</dl>
<div class="actions">
<button class="quiet" data-action="check" data-out="cookie-result" id="check-cookie">Call /api/me with the cookie</button>
<form method="post" action="/logout"><button class="danger" id="logout" type="submit">Log out</button></form>
<form method="post" action="/logout-all"><button class="danger" id="logout-all" type="submit">Log out everywhere</button></form>
</div>
<div class="result" id="cookie-result"></div>
</div>
<div class="card"><h2>JWT: what an API client holds</h2>
{token_card}
</div>
</div>
<section><h2>Your active sessions</h2>
<table><tr><th>session</th><th>created</th><th>last seen</th><th>expires</th></tr>{rows}</table>
<p class="lead">"Log out everywhere" ends every one of them, and every token issued to you.</p>
</section>"#,
            name = escape(&who.subject),
            roles = escape(&who.roles.join(", ")),
            cookie_line = cookie_bytes + "Cookie: \r\n".len(),
            count = sessions.len(),
        ),
    )
    .into_response()
}

/// `GET /style.css`.
pub(crate) async fn style() -> impl IntoResponse {
    (
        [(axum::http::header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("assets/style.css"),
    )
}

/// `GET /app.js`: calls `/api/me` and `/api/logout` the way each client does.
pub(crate) async fn script() -> impl IntoResponse {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/javascript; charset=utf-8",
        )],
        include_str!("assets/app.js"),
    )
}

/// `GET /login`: the form.
pub(crate) async fn login_form() -> Html<String> {
    login_page(None)
}

/// `POST /login`: checks the password (throttled, with the token endpoint's counter); on
/// success a fresh session (never the id the browser brought) and a redirect home.
pub(crate) async fn login(
    State(state): State<AppState>,
    ClientAddr(address): ClientAddr,
    session: SessionHandle,
    Form(form): Form<LoginForm>,
) -> Response {
    let LoginForm { username, password } = form;
    let checked =
        passwords::check(&state.throttle, &state.hashing, username, password, address).await;
    let (status, message, retry_after) = match checked {
        Ok(user) => {
            session.login(user.name, user.roles.iter().copied());
            return Redirect::to("/").into_response();
        }
        Err(Refused::WrongPassword) => (
            StatusCode::UNAUTHORIZED,
            "Wrong user name or password.".to_owned(),
            None,
        ),
        Err(Refused::Throttled(wait)) => (
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "Too many failed logins. Try again in {} minutes.",
                wait.as_secs().div_ceil(60)
            ),
            Some(wait.as_secs()),
        ),
        Err(Refused::Busy) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "The server is busy. Try again in a moment.".to_owned(),
            Some(1),
        ),
        Err(Refused::Unavailable(error)) => {
            return Rejection::auth(Scheme::Cookie, error).into_response();
        }
    };
    let mut response = (status, login_page(Some(&message))).into_response();
    if let Some(seconds) = retry_after {
        response
            .headers_mut()
            .insert(axum::http::header::RETRY_AFTER, seconds.max(1).into());
    }
    response
}

/// `POST /logout`: ends this session.
pub(crate) async fn logout(session: SessionHandle) -> Redirect {
    session.logout();
    Redirect::to("/login")
}

/// `POST /logout-all`: ends every session of this user.
pub(crate) async fn logout_all(session: SessionHandle) -> Redirect {
    session.logout_everywhere();
    Redirect::to("/login")
}

/// `GET /admin`: for role `admin` only.
pub(crate) async fn admin(who: Option<Authenticated>) -> Response {
    match who {
        None => Redirect::to("/login").into_response(),
        Some(Authenticated(who)) if who.has_role("admin") => page(
            "admin",
            &format!(
                r#"<h1 id="admin">Admin area</h1><p>Welcome, {}.</p><p><a href="/">Home</a></p>"#,
                escape(&who.subject)
            ),
        )
        .into_response(),
        Some(Authenticated(who)) => (StatusCode::FORBIDDEN, forbidden(&who)).into_response(),
    }
}

fn forbidden(who: &Identity) -> Html<String> {
    page(
        "forbidden",
        &format!(
            r#"<h1>Forbidden</h1><p>{} does not have the admin role.</p><p><a href="/">Home</a></p>"#,
            escape(&who.subject)
        ),
    )
}

fn login_page(error: Option<&str>) -> Html<String> {
    let error = error
        .map(|e| format!(r#"<p id="error" role="alert">{}</p>"#, escape(e)))
        .unwrap_or_default();
    page(
        "log in",
        &format!(
            r#"<h1 id="login-title">Log in</h1>{error}
<form class="login" method="post" action="/login">
<label>User name <input id="username" name="username" autocomplete="username" required></label>
<label>Password <input id="password" name="password" type="password" autocomplete="current-password" required></label>
<button id="submit" type="submit">Log in</button>
</form>
<p>Demo users: <code>alice</code> / <code>wonderland</code> (admin), <code>bob</code> / <code>builder</code>.</p>"#
        ),
    )
}

fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><link rel=\"stylesheet\" href=\"/style.css\">\
         <script src=\"/app.js\" defer></script></head><body>\
         <header><strong>authkit</strong><span>sessions and JWTs, side by side</span></header>\
         <main>{body}</main></body></html>",
        escape(title)
    ))
}

/// HTML-escapes text for element content and quoted attributes.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn ago(time: SystemTime) -> String {
    let secs = SystemTime::now()
        .duration_since(time)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    format!("{secs} s ago")
}

fn until(time: SystemTime) -> String {
    let secs = time
        .duration_since(SystemTime::now())
        .map(|d| d.as_secs())
        .unwrap_or(0);
    format!("in {} min", secs / 60)
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn escape_neutralises_markup() {
        assert_eq!(
            escape(r#"<script>alert("x")</script>&'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;"
        );
    }
}
