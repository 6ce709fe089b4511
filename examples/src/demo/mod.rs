//! A small web app that uses both models: a login page with a session cookie for
//! browsers, a JSON API with JWT access and refresh tokens, and the JWKS that publishes
//! the token keys. `GET /api/me` accepts either credential.

mod api;
mod keys;
pub mod logging;
mod pages;
pub mod passwords;
mod server;
mod stores;
pub mod users;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use auth_core::{AuthError, LoginThrottle, SessionStore, SystemClock};
use auth_jwt::{Issuer, KeySet, SubjectStatus, Verifier};
use auth_session::{CookieConfig, SessionManager};
use auth_tower::{AuthLayer, JwtLayer, SessionLayer};
use axum::Router;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use axum::routing::{get, post};
use axum::serve::ListenerExt as _;
use serde_json::{Map, Value, json};

pub use keys::{JwtAlg, KeyFile};
pub use server::ConnectionLimits;
use server::LimitedListener;
pub use stores::{DEFAULT_PREFIX, StoreChoice};

/// The audience of the demo's access tokens.
pub const AUDIENCE: &str = "authkit-demo-api";

/// How to run the demo.
#[derive(Clone, Debug)]
pub struct DemoConfig {
    /// Where the stores live.
    pub store: StoreChoice,
    /// Production cookies (`__Host-` prefix, `Secure`) even on plain http. Off, the
    /// cookie is the documented development variant, so a browser keeps it on
    /// `http://127.0.0.1`.
    pub secure_cookies: bool,
    /// The algorithm of the access-token key, generated at every start (default ES256),
    /// when there is no key file.
    pub jwt_alg: JwtAlg,
    /// The key file the tokens are signed and verified with, re-read by
    /// [`KeyFile::reload`]; `None`: a key generated at start.
    pub keys: Option<KeyFile>,
    /// The tokens' `iss`, also the base of the OpenID discovery document's `jwks_uri`
    /// (default: `http://` and the address the demo is bound to).
    pub issuer: Option<String>,
    /// With a Redis store: serve session loads and revocation checks from process memory
    /// that Redis keeps exact (store-redis' local cache).
    pub local_cache: bool,
    /// How long a connection may stay silent, and how many may be open.
    pub connection_limits: ConnectionLimits,
}

impl Default for DemoConfig {
    fn default() -> Self {
        Self {
            store: StoreChoice::Memory,
            secure_cookies: false,
            jwt_alg: JwtAlg::default(),
            keys: None,
            issuer: None,
            local_cache: false,
            connection_limits: ConnectionLimits::default(),
        }
    }
}

/// Everything the handlers share, behind one `Arc`: axum clones the state for every
/// request (twice behind a layer), and one reference count is cheaper to move than one
/// per field.
#[derive(Clone)]
pub(crate) struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The contents of [`AppState`].
pub(crate) struct Shared {
    pub(crate) sessions: SessionManager<Arc<dyn SessionStore>>,
    pub(crate) issuer: Issuer,
    pub(crate) keys: KeySet,
    /// One counter of failed logins for the form and the token endpoint.
    pub(crate) throttle: LoginThrottle,
    /// The tokens' `iss`, where the discovery document says keys are.
    pub(crate) issuer_url: String,
    /// The session cookie's name, for the home page.
    pub(crate) cookie_name: String,
    pub(crate) hashing: passwords::BoundedHashing,
    /// Background work tied to the stores (SQL purges), stopped with the last clone.
    _background: Vec<store_sql::PurgeHandle>,
}

/// The demo's router, with its stores connected (and migrated, for SQL), issuing tokens as
/// `issuer_url` (the demo's own URL).
pub async fn app(config: &DemoConfig, issuer_url: &str) -> anyhow::Result<Router> {
    let clock = SystemClock::shared();
    let stores = config
        .store
        .connect(clock.clone(), config.local_cache)
        .await?;
    let sessions = SessionManager::builder(stores.sessions)
        .clock(clock.clone())
        .build()?;
    let mut cookies = sessions.cookie_config();
    if !config.secure_cookies {
        cookies = cookies.dev_plain_http();
    }
    let cookie_name = cookies.name().to_owned();
    let keys = keys::key_set(config, clock.clone())?;
    let issuer = Issuer::builder(keys.clone(), clock.clone())
        .issuer(issuer_url)
        .audience(AUDIENCE)
        .current_claims(current_claims)
        .build(stores.refresh.clone(), stores.revocations.clone())?;
    let throttle = LoginThrottle::builder(stores.throttle.clone())
        .clock(clock.clone())
        .build();
    let verifier = Verifier::builder(keys.clone(), clock)
        .issuer(issuer_url)
        .audience(AUDIENCE)
        .revocation_store(stores.revocations.clone())
        .build()?;

    let browser = Router::new()
        .route("/", get(pages::home))
        .route("/login", get(pages::login_form).post(pages::login))
        .route("/logout", post(pages::logout))
        .route("/logout-all", post(pages::logout_all))
        .route("/admin", get(pages::admin))
        .route("/demo/token", post(pages::demo_token))
        .route_layer(
            SessionLayer::builder(sessions.clone())
                .cookie_config(cookies.clone())
                // "Log out everywhere" ends the user's API tokens too.
                .issuer(issuer.clone())
                .optional()
                .build(),
        )
        .route_layer(axum::middleware::map_response(no_store));
    let open = Router::new()
        .route("/api/token", post(api::token))
        .route("/api/token/refresh", post(api::refresh))
        .route("/api/health", get(api::health))
        .route("/style.css", get(pages::style))
        .route("/app.js", get(pages::script))
        .route("/.well-known/jwks.json", get(api::jwks))
        .route("/.well-known/openid-configuration", get(api::discovery));
    let either = Router::new()
        .route("/api/me", get(api::me))
        .route_layer(
            AuthLayer::builder(verifier.clone(), sessions.clone())
                .cookie_config(cookies)
                .build(),
        )
        .route_layer(axum::middleware::map_response(no_store));
    let bearer = Router::new()
        .route("/api/logout", post(api::logout))
        .route_layer(JwtLayer::new(verifier));
    let state = AppState(Arc::new(Shared {
        sessions,
        issuer,
        keys,
        throttle,
        issuer_url: issuer_url.to_owned(),
        cookie_name,
        hashing: passwords::BoundedHashing::per_core(),
        _background: stores.background,
    }));
    Ok(open
        .merge(browser)
        .merge(either)
        .merge(bearer)
        .with_state(state))
}

/// Pages and `/api/me` show who is logged in, their roles and sessions: no cache may keep
/// them (a shared cache, or the browser's history after a logout). A response that says
/// otherwise keeps its own header.
async fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

/// Serves the demo on `addr` until `shutdown` completes. Returns the bound address
/// (useful with port 0) through `bound` as soon as it listens.
pub async fn serve(
    addr: SocketAddr,
    config: DemoConfig,
    bound: impl FnOnce(SocketAddr),
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    let issuer = match &config.issuer {
        Some(url) => checked_issuer(url)?,
        None if local.ip().is_unspecified() => anyhow::bail!(
            "bound to {local}, which no client can reach it by: give --issuer with the URL \
             clients use (the tokens' iss and the base of the discovery document)"
        ),
        None => format!("http://{local}"),
    };
    let app = app(&config, &issuer).await?;
    bound(local);
    // The peer's address feeds the per-address login throttle. (`tap_io` does nothing to
    // the connection: axum implements `ConnectInfo` for any listener's address through it.)
    let listener = LimitedListener::new(listener, config.connection_limits).tap_io(|_| ());
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await?;
    Ok(())
}

/// The issuer exactly as given (a verifier compares `iss` with what it was configured
/// with, byte for byte), once it is an absolute http(s) URL without query or fragment, as
/// OpenID discovery requires.
fn checked_issuer(url: &str) -> anyhow::Result<String> {
    let parsed: axum::http::Uri = url
        .parse()
        .map_err(|_| anyhow::anyhow!("--issuer {url:?} is not a URL"))?;
    let web = matches!(parsed.scheme_str(), Some("http" | "https"));
    // `Uri` drops a fragment without a word, and keeps user information in the authority.
    let extra = parsed.query().is_some() || url.contains(['#', '@']);
    if !web || parsed.authority().is_none() || extra {
        anyhow::bail!(
            "--issuer {url:?} must be an http or https URL with no query, fragment or \
             user information"
        );
    }
    Ok(url.to_owned())
}

/// A refresh re-reads the user: roles as they are now, and a user who is gone ends the
/// refresh family.
fn current_claims(subject: &str, _login: &Map<String, Value>) -> Result<SubjectStatus, AuthError> {
    Ok(match users::find(subject) {
        Some(user) => {
            let mut claims = Map::new();
            claims.insert("roles".into(), json!(user.roles));
            SubjectStatus::Active(claims)
        }
        None => SubjectStatus::Disabled,
    })
}

/// The client's address as the connection saw it (the demo trusts no forwarding header;
/// behind a proxy, take it from the header that proxy sets, and only from it). `None`
/// when the server was not started with connection info.
pub(crate) struct ClientAddr(pub(crate) Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|info| info.0.ip()),
        ))
    }
}

/// The cookie policy the demo uses, for callers that need to know its name.
pub fn cookie_config(secure_cookies: bool) -> CookieConfig {
    let cookies = CookieConfig::default();
    if secure_cookies {
        cookies
    } else {
        cookies.dev_plain_http()
    }
}
