//! The session cookie's policy, as data: what to write in `Set-Cookie`, how to read the id
//! back from `Cookie`.

use std::time::Duration;

use auth_core::SessionId;

use crate::SessionConfig;

/// The `__Host-` prefix: browsers accept such a cookie only with `Secure`, `Path=/` and no
/// `Domain`, so no sibling subdomain or plain-http page can plant or overwrite it.
const HOST_PREFIX: &str = "__Host-";

/// The `SameSite` attribute of the session cookie.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum SameSite {
    /// Sent on same-site requests and on top-level cross-site navigations (links), not on
    /// cross-site subrequests or form posts. The default.
    #[default]
    Lax,
    /// Sent on same-site requests only (a link from another site arrives logged out).
    Strict,
}

impl SameSite {
    fn as_str(self) -> &'static str {
        match self {
            Self::Lax => "Lax",
            Self::Strict => "Strict",
        }
    }
}

/// Why a cookie name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CookieError {
    /// The name is empty or holds a character RFC 6265 does not allow in a cookie name.
    #[error("not a valid cookie name")]
    InvalidName,
    /// The name already carries a `__Host-` or `__Secure-` prefix; the prefix is the
    /// policy's to add.
    #[error("give the name without a __Host- or __Secure- prefix")]
    Prefixed,
}

/// The session cookie's policy. The defaults are the hardened ones:
///
/// - name `__Host-session` (the `__Host-` prefix binds the cookie to this exact host over
///   https),
/// - `HttpOnly` (scripts cannot read it; not configurable), `Secure`, `SameSite=Lax`,
///   `Path=/` (not configurable), no `Domain` (not configurable),
/// - `Max-Age` of the default absolute lifetime (12 h);
///   [`SessionManager::cookie_config`](crate::SessionManager::cookie_config) derives it from
///   the manager's own.
///
/// **Plain-http development:** browsers drop `Secure` cookies on `http://` pages other than
/// localhost, and refuse `__Host-` cookies without `Secure`. For a dev server on plain http,
/// [`dev_plain_http`](Self::dev_plain_http) drops both. Never use it in production: the
/// cookie would then travel over plain http and could be planted by a sibling subdomain.
///
/// ```
/// use auth_core::SessionId;
/// use auth_session::CookieConfig;
///
/// let cookies = CookieConfig::default();
/// let id = SessionId::generate()?;
/// let set = cookies.set_cookie(&id);
/// assert!(set.starts_with("__Host-session="));
/// assert!(set.ends_with("; Max-Age=43200; Path=/; HttpOnly; Secure; SameSite=Lax"));
///
/// let header = format!("theme=dark; {}", set.split(';').next().unwrap_or_default());
/// assert!(cookies.session_id(&header) == Some(id));
/// assert_eq!(cookies.session_id("__Host-session=forged"), None);
///
/// let dev = CookieConfig::default().dev_plain_http();
/// assert_eq!(dev.name(), "session");
/// assert!(!dev.clear_cookie().contains("Secure"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CookieConfig {
    /// The full name, prefix included.
    name: String,
    /// The name as given, without prefix.
    base_name: String,
    secure: bool,
    same_site: SameSite,
    max_age: Option<Duration>,
}

impl Default for CookieConfig {
    fn default() -> Self {
        Self::from_parts(
            "session",
            true,
            SameSite::Lax,
            Some(SessionConfig::DEFAULT_ABSOLUTE_LIFETIME),
        )
    }
}

impl CookieConfig {
    fn from_parts(
        base: &str,
        secure: bool,
        same_site: SameSite,
        max_age: Option<Duration>,
    ) -> Self {
        let name = if secure {
            format!("{HOST_PREFIX}{base}")
        } else {
            base.to_owned()
        };
        Self {
            name,
            base_name: base.to_owned(),
            secure,
            same_site,
            max_age,
        }
    }

    /// Uses `name` (a cookie-name token, without prefix; default `session`). The `__Host-`
    /// prefix is added unless [`dev_plain_http`](Self::dev_plain_http) is on.
    pub fn with_name(self, name: &str) -> Result<Self, CookieError> {
        if name.is_empty() || !name.bytes().all(is_token_byte) {
            return Err(CookieError::InvalidName);
        }
        let lower = name.to_ascii_lowercase();
        if lower.starts_with("__host-") || lower.starts_with("__secure-") {
            return Err(CookieError::Prefixed);
        }
        Ok(Self::from_parts(
            name,
            self.secure,
            self.same_site,
            self.max_age,
        ))
    }

    /// Sets `SameSite` (default [`SameSite::Lax`]).
    pub fn with_same_site(mut self, same_site: SameSite) -> Self {
        self.same_site = same_site;
        self
    }

    /// Sets `Max-Age` (whole seconds), or `None` for a cookie that lives until the browser
    /// closes. The session's server-side limits apply either way.
    pub fn with_max_age(mut self, max_age: Option<Duration>) -> Self {
        self.max_age = max_age;
        self
    }

    /// **Development only:** drops `Secure` and the `__Host-` prefix so the cookie works
    /// on a plain-http dev server (`http://127.0.0.1:3000`). See the type's documentation.
    pub fn dev_plain_http(self) -> Self {
        Self::from_parts(&self.base_name, false, self.same_site, self.max_age)
    }

    /// The cookie's full name (`__Host-session` by default).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether the cookie is `Secure` (always, unless in [`dev_plain_http`](Self::dev_plain_http) mode).
    pub fn secure(&self) -> bool {
        self.secure
    }

    /// The `SameSite` attribute.
    pub fn same_site(&self) -> SameSite {
        self.same_site
    }

    /// The `Max-Age`, if any.
    pub fn max_age(&self) -> Option<Duration> {
        self.max_age
    }

    /// The `Set-Cookie` header value that gives the client `id`.
    pub fn set_cookie(&self, id: &SessionId) -> String {
        self.render(id.expose_secret(), self.max_age)
    }

    /// The `Set-Cookie` header value that makes the client forget the session cookie
    /// (empty value, `Max-Age=0`, and the same attributes so the browser matches it).
    pub fn clear_cookie(&self) -> String {
        self.render("", Some(Duration::ZERO))
    }

    /// The session id in a `Cookie` request header, or `None`.
    ///
    /// Strict: the first cookie with this policy's exact name decides; its value must be a
    /// canonical id ([`SessionId::parse`]), or the answer is `None` ("no session"). Quoted
    /// values and any other form are refused, never repaired.
    pub fn session_id(&self, cookie_header: &str) -> Option<SessionId> {
        self.session_id_in([cookie_header])
    }

    /// [`session_id`](Self::session_id) over several `Cookie` header values (HTTP/2 may
    /// split the cookies over several), read in order.
    pub fn session_id_in<'a, I>(&self, cookie_headers: I) -> Option<SessionId>
    where
        I: IntoIterator<Item = &'a str>,
    {
        let value = cookie_headers
            .into_iter()
            .flat_map(|header| header.split(';'))
            .filter_map(|pair| pair.split_once('='))
            .find(|(name, _)| trim_ows(name) == self.name)
            .map(|(_, value)| trim_ows(value))?;
        SessionId::parse(value).ok()
    }

    fn render(&self, value: &str, max_age: Option<Duration>) -> String {
        let mut out = String::with_capacity(self.name.len() + value.len() + 80);
        out.push_str(&self.name);
        out.push('=');
        out.push_str(value);
        if let Some(max_age) = max_age {
            out.push_str("; Max-Age=");
            out.push_str(&max_age.as_secs().to_string());
        }
        out.push_str("; Path=/; HttpOnly");
        if self.secure {
            out.push_str("; Secure");
        }
        out.push_str("; SameSite=");
        out.push_str(self.same_site.as_str());
        out
    }
}

/// Trims the optional whitespace (spaces and tabs) around a cookie pair's parts.
fn trim_ows(text: &str) -> &str {
    text.trim_matches([' ', '\t'])
}

/// An RFC 7230 `tchar`, the characters of an RFC 6265 cookie name.
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id() -> SessionId {
        SessionId::generate().unwrap()
    }

    #[test]
    fn default_cookie_is_hardened() {
        let cookies = CookieConfig::default();
        let id = id();
        assert_eq!(
            cookies.set_cookie(&id),
            format!(
                "__Host-session={}; Max-Age=43200; Path=/; HttpOnly; Secure; SameSite=Lax",
                id.expose_secret()
            )
        );
        assert_eq!(
            cookies.clear_cookie(),
            "__Host-session=; Max-Age=0; Path=/; HttpOnly; Secure; SameSite=Lax"
        );
        assert!(!cookies.set_cookie(&id).contains("Domain"));
    }

    #[test]
    fn options_change_only_what_they_name() {
        let cookies = CookieConfig::default()
            .with_name("sid")
            .unwrap()
            .with_same_site(SameSite::Strict)
            .with_max_age(None);
        let set = cookies.set_cookie(&id());
        assert!(set.starts_with("__Host-sid="));
        assert!(set.ends_with("; Path=/; HttpOnly; Secure; SameSite=Strict"));
        assert!(!set.contains("Max-Age"));

        let dev = cookies.dev_plain_http();
        assert_eq!(dev.name(), "sid");
        assert!(!dev.secure());
        assert_eq!(dev.same_site(), SameSite::Strict);
        assert!(
            dev.set_cookie(&id())
                .ends_with("; Path=/; HttpOnly; SameSite=Strict")
        );
        // Renaming keeps dev mode.
        assert_eq!(dev.with_name("other").unwrap().name(), "other");
    }

    #[test]
    fn bad_names_are_refused() {
        let base = CookieConfig::default();
        for name in ["", "a b", "a;b", "a=b", "é", "a\"b", "a,b"] {
            assert_eq!(
                base.clone().with_name(name).err(),
                Some(CookieError::InvalidName),
                "{name}"
            );
        }
        for name in ["__Host-x", "__host-x", "__Secure-x"] {
            assert_eq!(
                base.clone().with_name(name).err(),
                Some(CookieError::Prefixed),
                "{name}"
            );
        }
    }

    #[test]
    fn reading_the_id_is_strict() {
        let cookies = CookieConfig::default();
        let id = id();
        let text = id.expose_secret();
        let found = |header: &str| cookies.session_id(header);

        assert!(found(&format!("__Host-session={text}")) == Some(id.clone()));
        assert!(found(&format!("a=1;  __Host-session=\t{text} ; b=2")) == Some(id.clone()));
        assert!(found(&format!("a; __Host-session={text}")) == Some(id.clone()));
        assert!(
            cookies.session_id_in(["a=1", &format!("__Host-session={text}")]) == Some(id.clone())
        );

        // Wrong or prefix-less name, quoted, truncated, padded, tampered alphabet: no session.
        assert!(found(&format!("session={text}")).is_none());
        assert!(found(&format!("__host-session={text}")).is_none());
        assert!(found(&format!("__Host-session=\"{text}\"")).is_none());
        assert!(found(&format!("__Host-session={}", &text[1..])).is_none());
        assert!(found(&format!("__Host-session={text}=")).is_none());
        assert!(found(&format!("__Host-session=+{}", &text[1..])).is_none());
        assert!(found("").is_none());
        assert!(found(";;==;").is_none());
        // The first cookie of the name decides, even if a later one is valid.
        assert!(found(&format!("__Host-session=bad; __Host-session={text}")).is_none());
    }
}
