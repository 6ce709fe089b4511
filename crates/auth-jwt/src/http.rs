//! Keys over HTTP (feature `http`): a [`JwksSource`] that GETs a JWK Set from its URL, or
//! finds that URL by OpenID discovery from an issuer URL. hyper carries the requests; TLS
//! is rustls on ring, certificates checked against the platform's roots.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use auth_core::BoxError;
use http::header::{ACCEPT, AGE, CACHE_CONTROL, HeaderMap, HeaderValue, USER_AGENT};
use http::{Request, StatusCode, Uri};
use http_body_util::BodyExt as _;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::Deserialize;

use crate::jwks::{JwksDocument, JwksSource, MAX_JWKS_BYTES};
use crate::jwks_error::JwksError;

/// The default limit on one request, from connecting to the last byte of the body: 10
/// seconds.
pub const DEFAULT_HTTP_TIMEOUT: Duration = Duration::from_secs(10);

/// The limit on establishing a TCP connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

type HttpClient = Client<HttpsConnector<HttpConnector>, String>;

/// A [`JwksSource`] over HTTP: give it to [`RemoteJwks::new`](crate::RemoteJwks::new).
///
/// - [`HttpJwksSource::new`] fetches a JWK Set from its URL;
///   [`HttpJwksSource::discover`] finds the URL by OpenID Connect discovery: it reads
///   `{issuer}/.well-known/openid-configuration`, requires its `issuer` to equal the one
///   configured exactly, and fetches its `jwks_uri`. Discovery is read again at every
///   fetch (the first is at the first token, so a provider that is down at startup delays
///   no one's start): a `jwks_uri` that moves, or that someone planted in the document
///   for a while, is followed at the next refresh, never trusted for as long as its old
///   host keeps answering. That is one more request per refresh, which
///   [`RemoteJwks`](crate::RemoteJwks) spaces by the set's max age and its cooldown; and
///   a refresh fails while discovery is down, even if the JWK Set's URL answers (the set
///   held serves on until its max staleness).
/// - URLs are `https`; plain `http` only for a loopback host (`localhost`, `127.0.0.0/8`,
///   `::1`), for development. A URL carrying credentials is refused.
/// - TLS is rustls with ring as its crypto provider (no aws-lc), checking certificates
///   against the platform's root store; building the source fails with
///   [`JwksError::Client`] when the platform has no root certificates. The client is
///   hyper's, HTTP/1.1; proxies are not used.
/// - Each request is limited to [`DEFAULT_HTTP_TIMEOUT`] (see
///   [`with_timeout`](Self::with_timeout)) and 5 s to connect; redirects are not
///   followed; only `200 OK` is accepted; a body over [`MAX_JWKS_BYTES`] is refused while
///   it is read, before it is held whole.
/// - The JWK Set response's `Cache-Control: max-age` (less its `Age`) becomes the
///   document's [`max_age`](JwksDocument::max_age); `no-store` and `no-cache` count as 0.
///   The [`RemoteJwks`](crate::RemoteJwks) holds it within its bounds.
///
/// ```no_run
/// use std::sync::Arc;
/// use auth_core::SystemClock;
/// use auth_jwt::{Algorithm, HttpJwksSource, KeySet, RemoteJwks, Verifier};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let clock = SystemClock::shared();
/// let source = HttpJwksSource::discover("https://id.example")?;
/// let remote = RemoteJwks::new(Arc::new(source), clock.clone()).with_algorithms([Algorithm::RS256]);
/// let verifier = Verifier::builder(KeySet::new(clock.clone()), clock)
///     .remote_jwks(remote) // `iss` must be https://id.example, as discovered
///     .audience("api")
///     .build()?;
/// # Ok(())
/// # }
/// ```
pub struct HttpJwksSource {
    client: HttpClient,
    target: Target,
    timeout: Duration,
}

enum Target {
    /// A JWK Set URL.
    Jwks(Uri),
    /// An issuer and its discovery URL.
    Discovery { issuer: String, configuration: Uri },
}

impl std::fmt::Debug for HttpJwksSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut out = f.debug_struct("HttpJwksSource");
        match &self.target {
            Target::Jwks(url) => out.field("jwks_uri", &WithoutQuery(url)),
            Target::Discovery { issuer, .. } => out.field("issuer", issuer),
        };
        out.field("timeout", &self.timeout).finish_non_exhaustive()
    }
}

/// A URL without its query, which may carry an access token (`?access_token=...`).
struct WithoutQuery<'a>(&'a Uri);

impl std::fmt::Debug for WithoutQuery<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let url = self.0;
        if let Some(scheme) = url.scheme_str() {
            write!(f, "{scheme}://")?;
        }
        if let Some(authority) = url.authority() {
            write!(f, "{authority}")?;
        }
        f.write_str(url.path())?;
        if url.query().is_some() {
            f.write_str("?<redacted>")?;
        }
        Ok(())
    }
}

impl HttpJwksSource {
    /// A source fetching the JWK Set at `jwks_uri`.
    pub fn new(jwks_uri: &str) -> Result<Self, JwksError> {
        Ok(Self {
            client: client()?,
            target: Target::Jwks(checked_url(jwks_uri)?),
            timeout: DEFAULT_HTTP_TIMEOUT,
        })
    }

    /// A source finding the JWK Set of `issuer` by OpenID Connect discovery. `issuer` is
    /// the exact `iss` of its tokens and of its discovery document (a trailing `/` matters
    /// there; the discovery URL is built without it).
    pub fn discover(issuer: &str) -> Result<Self, JwksError> {
        let parsed = checked_url(issuer)?;
        if parsed.query().is_some() {
            return Err(JwksError::Url("an issuer URL has no query"));
        }
        let configuration = checked_url(&format!(
            "{}/.well-known/openid-configuration",
            issuer.trim_end_matches('/')
        ))?;
        Ok(Self {
            client: client()?,
            target: Target::Discovery {
                issuer: issuer.to_owned(),
                configuration,
            },
            timeout: DEFAULT_HTTP_TIMEOUT,
        })
    }

    /// The limit on one request, from connecting to the last byte of the body (default
    /// [`DEFAULT_HTTP_TIMEOUT`]).
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// GETs `url` within the timeout: 200 OK only, the body read up to
    /// [`MAX_JWKS_BYTES`], and the freshness the response gives.
    async fn get(&self, url: &Uri) -> Result<(Vec<u8>, Option<Duration>), JwksError> {
        tokio::time::timeout(self.timeout, self.get_unbounded(url))
            .await
            .unwrap_or_else(|elapsed| Err(JwksError::Fetch(Box::new(elapsed))))
    }

    async fn get_unbounded(&self, url: &Uri) -> Result<(Vec<u8>, Option<Duration>), JwksError> {
        let request = Request::get(url.clone())
            .header(ACCEPT, HeaderValue::from_static("application/json"))
            .header(USER_AGENT, HeaderValue::from_static(USER_AGENT_VALUE))
            .body(String::new())
            .map_err(|error| JwksError::Fetch(Box::new(error)))?;
        let response = self
            .client
            .request(request)
            .await
            .map_err(|error| JwksError::Fetch(Box::new(error)))?;
        if response.status() != StatusCode::OK {
            return Err(JwksError::Status(response.status().as_u16()));
        }
        let too_large = JwksError::TooLarge {
            limit: MAX_JWKS_BYTES,
        };
        let declared = response
            .headers()
            .get(http::header::CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .and_then(|text| text.parse::<u64>().ok());
        if declared.is_some_and(|len| len > MAX_JWKS_BYTES as u64) {
            return Err(too_large);
        }
        let max_age = max_age(response.headers());
        let mut body = response.into_body();
        let mut bytes = Vec::new();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|error| JwksError::Fetch(Box::new(error)))?;
            if let Ok(data) = frame.into_data() {
                if bytes.len() + data.len() > MAX_JWKS_BYTES {
                    return Err(too_large);
                }
                bytes.extend_from_slice(&data);
            }
        }
        Ok((bytes, max_age))
    }

    /// The `jwks_uri` of the issuer's discovery document, whose `issuer` must be exactly
    /// `issuer`.
    async fn discover_jwks_uri(&self, issuer: &str, configuration: &Uri) -> Result<Uri, JwksError> {
        #[derive(Deserialize)]
        struct Document {
            issuer: String,
            jwks_uri: String,
        }
        let (body, _) = self.get(configuration).await?;
        let document: Document = serde_json::from_slice(&body).map_err(|_| {
            JwksError::Discovery("not a JSON object with the strings issuer and jwks_uri")
        })?;
        if document.issuer != issuer {
            return Err(JwksError::IssuerMismatch {
                expected: issuer.to_owned(),
                found: crate::error::shown(&document.issuer),
            });
        }
        let jwks_uri = checked_url(&document.jwks_uri)?;
        if downgrades(configuration, &jwks_uri) {
            return Err(JwksError::Discovery(
                "an https issuer's jwks_uri must be https too",
            ));
        }
        Ok(jwks_uri)
    }

    async fn fetch_document(&self) -> Result<JwksDocument, JwksError> {
        let url = match &self.target {
            Target::Jwks(url) => url.clone(),
            Target::Discovery {
                issuer,
                configuration,
            } => self.discover_jwks_uri(issuer, configuration).await?,
        };
        let (body, max_age) = self.get(&url).await?;
        let not_a_set = || JwksError::Refused(crate::KeyError::Jwk("not a JWK Set document"));
        let body = String::from_utf8(body).map_err(|_| not_a_set())?;
        // A 200 that is no JWK Set (a catch-all page where the keys used to be) is a failed
        // fetch: the set held keeps serving until the next one.
        if !has_jwk_set_shape(&body) {
            return Err(not_a_set());
        }
        Ok(JwksDocument { body, max_age })
    }
}

const USER_AGENT_VALUE: &str = concat!("authkit-auth-jwt/", env!("CARGO_PKG_VERSION"));

#[async_trait]
impl JwksSource for HttpJwksSource {
    async fn fetch(&self) -> Result<JwksDocument, BoxError> {
        self.fetch_document().await.map_err(Into::into)
    }

    fn issuer(&self) -> Option<&str> {
        match &self.target {
            Target::Jwks(_) => None,
            Target::Discovery { issuer, .. } => Some(issuer),
        }
    }
}

/// hyper's client over TLS by rustls on ring with the platform's roots (`http` URLs go
/// over plain TCP), HTTP/1.1, following no redirect.
fn client() -> Result<HttpClient, JwksError> {
    let failed = |error: rustls::Error| JwksError::Client(Box::new(error));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier =
        rustls_platform_verifier::Verifier::new(Arc::clone(&provider)).map_err(failed)?;
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(failed)?
        .dangerous()
        // Not dangerous: the platform verifier checks chains and names as webpki does.
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    let mut tcp = HttpConnector::new();
    tcp.enforce_http(false);
    tcp.set_connect_timeout(Some(CONNECT_TIMEOUT));
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .wrap_connector(tcp);
    Ok(Client::builder(TokioExecutor::new()).build(connector))
}

/// `text` as a URL this source may fetch: absolute, `https` (or `http` to a loopback
/// host), no credentials, no fragment.
fn checked_url(text: &str) -> Result<Uri, JwksError> {
    if text.contains('#') {
        return Err(JwksError::Url("a URL with a fragment"));
    }
    let url: Uri = text
        .parse()
        .map_err(|_| JwksError::Url("not an absolute URL"))?;
    let authority = url
        .authority()
        .ok_or(JwksError::Url("not an absolute URL"))?;
    if authority.as_str().contains('@') {
        return Err(JwksError::Url("a URL with credentials"));
    }
    match url.scheme_str() {
        Some("https") => {}
        Some("http") if is_loopback(authority.host()) => {}
        Some("http") => return Err(JwksError::Url("plain http is for loopback hosts only")),
        _ => return Err(JwksError::Url("not an https URL")),
    }
    Ok(url)
}

/// Whether a discovery document read over https names a `jwks_uri` that is not: the keys
/// would then come over plain http (to a loopback host), unauthenticated.
fn downgrades(configuration: &Uri, jwks_uri: &Uri) -> bool {
    configuration.scheme_str() == Some("https") && jwks_uri.scheme_str() != Some("https")
}

/// Whether `body` is a JSON object with a `keys` array, whatever its keys hold (the keys
/// themselves are judged by the [`RemoteJwks`](crate::RemoteJwks) that asked).
fn has_jwk_set_shape(body: &str) -> bool {
    #[derive(Deserialize)]
    struct Shape {
        #[serde(rename = "keys")]
        _keys: Vec<serde::de::IgnoredAny>,
    }
    serde_json::from_str::<Shape>(body).is_ok()
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// How long a response stays fresh by its `Cache-Control` (RFC 9111 §5.2): `max-age`
/// (the smallest, if repeated) less `Age`; `no-store` and `no-cache` make it 0. `None`
/// when the response says nothing.
fn max_age(headers: &HeaderMap) -> Option<Duration> {
    let mut max_age: Option<u64> = None;
    for value in headers.get_all(CACHE_CONTROL) {
        let Ok(text) = value.to_str() else { continue };
        for directive in text.split(',') {
            let (name, argument) = match directive.split_once('=') {
                Some((name, argument)) => (name.trim(), Some(argument.trim().trim_matches('"'))),
                None => (directive.trim(), None),
            };
            if name.eq_ignore_ascii_case("no-store") || name.eq_ignore_ascii_case("no-cache") {
                return Some(Duration::ZERO);
            }
            if name.eq_ignore_ascii_case("max-age")
                && let Some(secs) = argument.and_then(delta_seconds)
            {
                max_age = Some(max_age.map_or(secs, |known| known.min(secs)));
            }
        }
    }
    let age = headers
        .get(AGE)
        .and_then(|value| value.to_str().ok())
        .and_then(|text| delta_seconds(text.trim()))
        .unwrap_or(0);
    max_age.map(|secs| Duration::from_secs(secs.saturating_sub(age)))
}

/// A delta-seconds value (RFC 9111 §1.2.2): digits only; too large a number is the
/// largest one.
fn delta_seconds(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(text.parse().unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // Test code: a panic is a failed test.

    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn cache_control_max_age_less_age() {
        let secs = Duration::from_secs;
        assert_eq!(max_age(&headers(&[])), None);
        assert_eq!(
            max_age(&headers(&[("cache-control", "public, max-age=300")])),
            Some(secs(300))
        );
        assert_eq!(
            max_age(&headers(&[
                ("cache-control", "Max-Age=\"600\""),
                ("cache-control", "max-age=120")
            ])),
            Some(secs(120))
        );
        assert_eq!(
            max_age(&headers(&[
                ("cache-control", "max-age=300"),
                ("age", "100")
            ])),
            Some(secs(200))
        );
        assert_eq!(
            max_age(&headers(&[
                ("cache-control", "max-age=300"),
                ("age", "400")
            ])),
            Some(secs(0))
        );
        assert_eq!(
            max_age(&headers(&[("cache-control", "max-age=300, no-cache")])),
            Some(secs(0))
        );
        assert_eq!(
            max_age(&headers(&[("cache-control", "max-age=-1, private")])),
            None
        );
        assert_eq!(
            max_age(&headers(&[(
                "cache-control",
                "max-age=99999999999999999999999"
            )])),
            Some(secs(u64::MAX))
        );
    }

    #[test]
    fn an_https_discovery_never_sends_the_keys_over_http() {
        let uri = |text: &str| text.parse::<Uri>().unwrap();
        let secure = uri("https://id.example/.well-known/openid-configuration");
        assert!(downgrades(&secure, &uri("http://127.0.0.1/keys")));
        assert!(!downgrades(&secure, &uri("https://keys.example/jwks")));
        let local = uri("http://127.0.0.1:3000/.well-known/openid-configuration");
        assert!(!downgrades(&local, &uri("http://127.0.0.1:3000/jwks")));
    }

    #[test]
    fn a_page_that_is_not_a_jwk_set_is_no_jwk_set() {
        assert!(has_jwk_set_shape(r#"{"keys":[]}"#));
        assert!(has_jwk_set_shape(r#"{"keys":[{"kty":"weird"}],"other":1}"#));
        for page in ["<html>moved</html>", "{}", r#"{"keys":{}}"#, "[]", ""] {
            assert!(!has_jwk_set_shape(page), "{page}");
        }
    }

    #[test]
    fn urls_are_https_or_loopback_http() {
        assert!(checked_url("https://id.example/keys").is_ok());
        assert!(checked_url("http://127.0.0.1:3000").is_ok());
        assert!(checked_url("http://localhost/x").is_ok());
        assert!(checked_url("http://[::1]:8080/").is_ok());
        assert!(checked_url("http://id.example/keys").is_err());
        assert!(checked_url("http://127.0.0.1.id.example/").is_err());
        assert!(checked_url("ftp://id.example/keys").is_err());
        assert!(checked_url("https://user:pw@id.example/keys").is_err());
        assert!(checked_url("https://id.example/keys#x").is_err());
        assert!(checked_url("/keys").is_err());
        assert!(HttpJwksSource::discover("https://id.example?x=1").is_err());
    }
}
