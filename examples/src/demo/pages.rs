//! The browser side: HTML pages behind the session cookie.

use std::time::SystemTime;

use auth_core::{AuthMethod, Identity};
use auth_tower::{Authenticated, Rejection, Scheme, SessionHandle};
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
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

/// `GET /`: who you are and your active sessions, or the way to the login page.
pub(crate) async fn home(State(state): State<AppState>, who: Option<Authenticated>) -> Response {
    let Some(Authenticated(who)) = who else {
        return Redirect::to("/login").into_response();
    };
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
        r#"<p><a href="/admin">Admin area</a></p>"#
    } else {
        ""
    };
    page(
        "authkit demo",
        &format!(
            r#"<h1 id="greeting">Hello, {name}</h1>
<p>Roles: <span id="roles">{roles}</span></p>
{admin_link}
<h2>Your active sessions</h2>
<table><tr><th>session</th><th>created</th><th>last seen</th><th>expires</th></tr>{rows}</table>
<form method="post" action="/logout"><button id="logout" type="submit">Log out</button></form>
<form method="post" action="/logout-all"><button id="logout-all" type="submit">Log out everywhere</button></form>"#,
            name = escape(&who.subject),
            roles = escape(&who.roles.join(", ")),
        ),
    )
    .into_response()
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
<form method="post" action="/login">
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
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title></head><body>{body}</body></html>",
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
