//! Starts the demo on a free loopback port and talks to it like a browser or API client
//! would (cookies handled by hand, redirects not followed).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)] // Test support.

use std::net::SocketAddr;

use authkit_examples::demo::{DemoConfig, JwtAlg, StoreChoice, cookie_config, serve};
use reqwest::{Client, Response, redirect};
use serde_json::Value;
use tokio::sync::oneshot;

pub(crate) struct Demo {
    pub(crate) addr: SocketAddr,
    pub(crate) client: Client,
    pub(crate) cookie_name: String,
    _stop: oneshot::Sender<()>,
}

impl Demo {
    pub(crate) async fn start(store: StoreChoice) -> Self {
        Self::start_with(DemoConfig {
            store,
            ..DemoConfig::default()
        })
        .await
    }

    /// A memory-backed demo whose tokens are signed with `alg`.
    pub(crate) async fn start_with_jwt_alg(alg: JwtAlg) -> Self {
        Self::start_with(DemoConfig {
            jwt_alg: alg,
            ..DemoConfig::default()
        })
        .await
    }

    pub(crate) async fn start_with(config: DemoConfig) -> Self {
        assert!(!config.secure_cookies, "the test client speaks plain http");
        let (stop, stopped) = oneshot::channel::<()>();
        let (bound_tx, bound_rx) = oneshot::channel();
        tokio::spawn(async move {
            let result = serve(
                "127.0.0.1:0".parse().unwrap(),
                config,
                move |addr| {
                    let _ = bound_tx.send(addr);
                },
                async move {
                    let _ = stopped.await;
                },
            )
            .await;
            if let Err(error) = result {
                panic!("demo failed: {error:#}");
            }
        });
        let addr = bound_rx.await.expect("the demo did not start");
        Self {
            addr,
            client: Client::builder()
                .redirect(redirect::Policy::none())
                .build()
                .unwrap(),
            cookie_name: cookie_config(false).name().to_owned(),
            _stop: stop,
        }
    }

    pub(crate) async fn start_memory() -> Self {
        Self::start(StoreChoice::Memory).await
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub(crate) async fn get(&self, path: &str, cookie: Option<&str>) -> Response {
        let mut request = self.client.get(self.url(path));
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        request.send().await.unwrap()
    }

    pub(crate) async fn get_bearer(&self, path: &str, token: &str) -> Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    /// `POST /api/logout` with `token` as the bearer credential.
    pub(crate) async fn api_logout(&self, token: &str) -> Response {
        self.client
            .post(self.url("/api/logout"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    /// A same-origin form post, as the demo's own pages make.
    pub(crate) async fn post_form(&self, path: &str, cookie: Option<&str>, body: &str) -> Response {
        let mut request = self
            .client
            .post(self.url(path))
            .header("origin", self.origin())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.to_owned());
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        request.send().await.unwrap()
    }

    pub(crate) async fn login(&self, user: &str, password: &str, cookie: Option<&str>) -> Response {
        self.post_form(
            "/login",
            cookie,
            &format!("username={user}&password={password}"),
        )
        .await
    }

    pub(crate) async fn post_json(
        &self,
        path: &str,
        cookie: Option<&str>,
        body: Value,
    ) -> Response {
        let mut request = self.client.post(self.url(path)).json(&body);
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        request.send().await.unwrap()
    }

    pub(crate) async fn token(&self, user: &str, password: &str) -> Value {
        let response = self
            .post_json(
                "/api/token",
                None,
                serde_json::json!({ "username": user, "password": password }),
            )
            .await;
        assert_eq!(response.status(), reqwest::StatusCode::OK);
        response.json().await.unwrap()
    }
}

/// Runs `scenario` against a demo on `store`, then drops what the store kept (SQL tables).
pub(crate) async fn run<F, Fut>(store: StoreChoice, scenario: F)
where
    F: FnOnce(Demo) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    scenario(Demo::start(store.clone()).await).await;
    store::cleanup(&store).await;
}

/// The JSON header of a compact JWT, decoded without any verification.
pub(crate) fn jwt_header(token: &str) -> Value {
    let encoded = token.split('.').next().expect("a compact JWT");
    serde_json::from_slice(&base64url_decode(encoded)).expect("a JSON header")
}

/// Decodes unpadded base64url (RFC 4648 §5); panics on anything else.
fn base64url_decode(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut bits, mut count) = (0u32, 0u32);
    for byte in text.bytes() {
        let value = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            other => panic!("not base64url: {:?}", other as char),
        };
        bits = (bits << 6) | u32::from(value);
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
            bits &= (1 << count) - 1;
        }
    }
    out
}

/// The `name=value` a browser would send back for the response's `Set-Cookie`.
pub(crate) fn cookie_of(response: &Response) -> String {
    let set_cookie = response
        .headers()
        .get("set-cookie")
        .expect("a Set-Cookie header")
        .to_str()
        .unwrap();
    set_cookie.split(';').next().unwrap().to_owned()
}

/// The stores the demo's scenarios run against, each isolated by a fresh prefix.
pub(crate) mod store {
    use authkit_examples::demo::StoreChoice;

    fn unique_prefix() -> String {
        let id = auth_core::SessionId::generate().unwrap();
        format!("demo_{}", &id.key().to_hex()[..12])
    }

    pub(crate) async fn memory() -> StoreChoice {
        StoreChoice::Memory
    }

    /// The Redis at `REDIS_URL` (default `redis://127.0.0.1:6379`); fails the test, naming
    /// the variable, when it does not answer.
    pub(crate) async fn redis() -> StoreChoice {
        let url = redis_url();
        let address = url
            .trim_start_matches("redis://")
            .split('/')
            .next()
            .unwrap_or_default()
            .to_owned();
        assert!(
            tokio::net::TcpStream::connect(&address).await.is_ok(),
            "Redis is not reachable at {url}: start it or set REDIS_URL"
        );
        url.parse::<StoreChoice>()
            .unwrap()
            .with_prefix(&unique_prefix())
    }

    /// The PostgreSQL at `POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/test`).
    pub(crate) async fn postgres() -> StoreChoice {
        sql(
            "POSTGRES_URL",
            "postgres://postgres@127.0.0.1:5432/test",
            "PostgreSQL",
        )
        .await
    }

    /// The MariaDB/MySQL at `MYSQL_URL` (default `mysql://root@127.0.0.1:3306/test`).
    pub(crate) async fn mysql() -> StoreChoice {
        sql("MYSQL_URL", "mysql://root@127.0.0.1:3306/test", "MariaDB").await
    }

    /// A SQLite file in a fresh temporary directory.
    pub(crate) async fn sqlite() -> StoreChoice {
        let dir = std::env::temp_dir().join(format!("authkit-demo-{}", unique_prefix()));
        std::fs::create_dir_all(&dir).unwrap();
        format!("sqlite://{}?mode=rwc", dir.join("demo.db").display())
            .parse::<StoreChoice>()
            .unwrap()
            .with_prefix(&unique_prefix())
    }

    async fn sql(variable: &str, default: &str, service: &str) -> StoreChoice {
        let url = std::env::var(variable).unwrap_or_else(|_| default.into());
        let address = url
            .split('@')
            .next_back()
            .and_then(|rest| rest.split('/').next())
            .unwrap_or_default()
            .to_owned();
        assert!(
            tokio::net::TcpStream::connect(&address).await.is_ok(),
            "{service} is not reachable at {url}: start it or set {variable}"
        );
        url.parse::<StoreChoice>()
            .unwrap()
            .with_prefix(&unique_prefix())
    }

    /// Drops the tables a SQL demo created (other stores keep nothing to clean).
    pub(crate) async fn cleanup(choice: &StoreChoice) {
        use store_sql::sqlx::{self, Row as _};
        let StoreChoice::Sql { url, prefix } = choice else {
            return;
        };
        if url.starts_with("sqlite") {
            return; // its directory is temporary
        }
        macro_rules! drop_tables {
            ($db:ty, $query:expr) => {{
                let pool = sqlx::Pool::<$db>::connect(url).await.unwrap();
                let names: Vec<String> = sqlx::query($query)
                    .bind(format!("{prefix}%"))
                    .fetch_all(&pool)
                    .await
                    .unwrap()
                    .iter()
                    .map(|row| row.get::<String, _>(0))
                    .filter(|name| name.starts_with(prefix.as_str()))
                    .filter(|name| name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
                    .collect();
                for name in names {
                    // Only our own prefix and identifier characters reach this statement.
                    sqlx::query(sqlx::AssertSqlSafe(format!("DROP TABLE IF EXISTS {name}")))
                        .execute(&pool)
                        .await
                        .unwrap();
                }
            }};
        }
        if url.starts_with("postgres") {
            drop_tables!(
                sqlx::Postgres,
                "SELECT table_name::text FROM information_schema.tables WHERE table_name LIKE $1"
            );
        } else {
            drop_tables!(
                sqlx::MySql,
                "SELECT CAST(table_name AS CHAR) FROM information_schema.tables WHERE table_name LIKE ?"
            );
        }
    }

    pub(crate) fn redis_url() -> String {
        std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
    }
}
