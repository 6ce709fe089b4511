//! The demo driven over real HTTP on loopback, through every route.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests: a panic is a failed test.

mod common;

use authkit_examples::demo::JwtAlg;
use common::{Demo, cookie_of, jwt_header};
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn browser_login_sets_a_hardened_cookie_and_shows_the_home_page(demo: Demo) {
    let form = demo.get("/login", None).await;
    assert_eq!(form.status(), StatusCode::OK);
    assert!(form.text().await.unwrap().contains("name=\"password\""));

    let response = demo.login("alice", "wonderland", None).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/");
    let set_cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age="] {
        assert!(
            set_cookie.contains(attribute),
            "{attribute} missing: {set_cookie}"
        );
    }
    assert!(!set_cookie.to_ascii_lowercase().contains("domain="));
    let cookie = cookie_of(&response);
    let home = demo.get("/", Some(&cookie)).await;
    assert_eq!(home.status(), StatusCode::OK);
    // Pages that show the user are never cached (a shared cache, the history after logout).
    assert_eq!(home.headers()["cache-control"], "no-store");
    for path in ["/admin", "/api/me"] {
        let page = demo.get(path, Some(&cookie)).await;
        assert_eq!(page.status(), StatusCode::OK, "{path}");
        assert_eq!(page.headers()["cache-control"], "no-store", "{path}");
    }
    let html = home.text().await.unwrap();
    assert!(html.contains("Hello, alice"), "{html}");
    assert!(html.contains("(this browser)"));
    assert_eq!(
        demo.get("/admin", Some(&cookie)).await.status(),
        StatusCode::OK
    );
    // The page that shows a token pair is never cached.
    let page = demo.post_form("/demo/token", Some(&cookie), "").await;
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(page.headers()["cache-control"], "no-store");
    assert!(page.text().await.unwrap().contains("data-token="));
}

async fn wrong_passwords_and_anonymous_visitors_get_no_session(demo: Demo) {
    let response = demo.login("alice", "builder", None).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response.headers().get("set-cookie").is_none());
    let home = demo.get("/", None).await;
    assert_eq!(home.status(), StatusCode::SEE_OTHER);
    assert_eq!(home.headers()["location"], "/login");
}

async fn a_session_id_brought_before_login_never_survives_it(demo: Demo) {
    let first = cookie_of(&demo.login("bob", "builder", None).await);
    let planted = format!("{}={}", demo.cookie_name, "A".repeat(43));
    for before in [first.clone(), planted] {
        let response = demo.login("bob", "builder", Some(&before)).await;
        let after = cookie_of(&response);
        assert_ne!(after, before);
        assert_eq!(
            demo.get("/api/me", Some(&before)).await.status(),
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            demo.get("/api/me", Some(&after)).await.status(),
            StatusCode::OK
        );
    }
}

async fn logout_kills_the_cookie_and_logout_all_ends_other_clients(demo: Demo) {
    let laptop = cookie_of(&demo.login("bob", "builder", None).await);
    let phone = cookie_of(&demo.login("bob", "builder", None).await);
    let alice = cookie_of(&demo.login("alice", "wonderland", None).await);

    let out = demo.post_form("/logout", Some(&laptop), "").await;
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    assert!(
        out.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    let home = demo.get("/", Some(&laptop)).await;
    assert_eq!(
        home.status(),
        StatusCode::SEE_OTHER,
        "the old cookie is dead"
    );
    assert_eq!(
        demo.get("/api/me", Some(&phone)).await.status(),
        StatusCode::OK
    );

    let laptop = cookie_of(&demo.login("bob", "builder", None).await);
    demo.post_form("/logout-all", Some(&laptop), "").await;
    assert_eq!(
        demo.get("/api/me", Some(&phone)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        demo.get("/api/me", Some(&laptop)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        demo.get("/api/me", Some(&alice)).await.status(),
        StatusCode::OK,
        "other users stay"
    );
}

async fn cross_site_posts_are_refused(demo: Demo) {
    let cookie = cookie_of(&demo.login("bob", "builder", None).await);
    let response = demo
        .client
        .post(demo.url("/logout-all"))
        .header("cookie", &cookie)
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let response = demo
        .client
        .post(demo.url("/login"))
        .header("sec-fetch-site", "cross-site")
        .form(&[("username", "bob"), ("password", "builder")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN, "login CSRF");
    assert_eq!(
        demo.get("/api/me", Some(&cookie)).await.status(),
        StatusCode::OK
    );
}

async fn admin_is_for_admins_only(demo: Demo) {
    let bob = cookie_of(&demo.login("bob", "builder", None).await);
    assert_eq!(
        demo.get("/admin", Some(&bob)).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        demo.get("/admin", None).await.status(),
        StatusCode::SEE_OTHER
    );
}

async fn api_tokens_refresh_rotate_and_reuse_revokes_the_family(demo: Demo) {
    let bad = demo
        .post_json(
            "/api/token",
            None,
            json!({"username": "bob", "password": "x"}),
        )
        .await;
    assert_eq!(bad.status(), StatusCode::UNAUTHORIZED);

    let pair = demo.token("alice", "wonderland").await;
    assert_eq!(pair["token_type"], "Bearer");
    assert!(pair["expires_in"].as_u64().unwrap() > 800);
    let me = demo
        .get_bearer("/api/me", pair["access_token"].as_str().unwrap())
        .await;
    assert_eq!(me.status(), StatusCode::OK);
    let me: Value = me.json().await.unwrap();
    assert_eq!(me["sub"], "alice");
    assert_eq!(me["roles"], json!(["admin", "user"]));
    assert_eq!(me["method"], "jwt");

    let old_refresh = pair["refresh_token"].as_str().unwrap().to_owned();
    let rotated = demo
        .post_json(
            "/api/token/refresh",
            None,
            json!({ "refresh_token": old_refresh }),
        )
        .await;
    assert_eq!(rotated.status(), StatusCode::OK);
    let rotated: Value = rotated.json().await.unwrap();
    assert_ne!(rotated["refresh_token"], pair["refresh_token"]);

    let newest_access = rotated["access_token"].as_str().unwrap();
    assert_eq!(
        demo.get_bearer("/api/me", newest_access).await.status(),
        StatusCode::OK
    );
    let replay = demo
        .post_json(
            "/api/token/refresh",
            None,
            json!({ "refresh_token": old_refresh }),
        )
        .await;
    assert_eq!(replay.status(), StatusCode::UNAUTHORIZED);
    // A replay is answered as any refused token: the replayer learns nothing.
    let unknown = demo
        .post_json(
            "/api/token/refresh",
            None,
            json!({ "refresh_token": format!("{}x", &old_refresh[..old_refresh.len() - 1]) }),
        )
        .await;
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(replay.text().await.unwrap(), unknown.text().await.unwrap());
    for access in [pair["access_token"].as_str().unwrap(), newest_access] {
        assert_eq!(
            demo.get_bearer("/api/me", access).await.status(),
            StatusCode::UNAUTHORIZED,
            "a reused family takes its access tokens with it"
        );
    }
    let newest = demo
        .post_json(
            "/api/token/refresh",
            None,
            json!({ "refresh_token": rotated["refresh_token"] }),
        )
        .await;
    assert_eq!(
        newest.status(),
        StatusCode::UNAUTHORIZED,
        "the family is revoked"
    );
}

async fn api_logout_revokes_the_access_token_and_its_family(demo: Demo) {
    let pair = demo.token("bob", "builder").await;
    let access = pair["access_token"].as_str().unwrap();
    let out = demo.api_logout(access).await;
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    let me = demo.get_bearer("/api/me", access).await;
    assert_eq!(me.status(), StatusCode::UNAUTHORIZED);
    assert!(
        me.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );
    let refresh = demo
        .post_json(
            "/api/token/refresh",
            None,
            json!({ "refresh_token": pair["refresh_token"] }),
        )
        .await;
    assert_eq!(refresh.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        demo.client
            .post(demo.url("/api/logout"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );
}

async fn api_me_accepts_the_session_cookie_too(demo: Demo) {
    let cookie = cookie_of(&demo.login("bob", "builder", None).await);
    let me: Value = demo
        .get("/api/me", Some(&cookie))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        me,
        json!({ "sub": "bob", "roles": ["user"], "method": "session" })
    );
}

async fn jwks_publishes_only_public_keys_that_verify_our_tokens(demo: Demo) {
    let jwks: Value = demo
        .get("/.well-known/jwks.json", None)
        .await
        .json()
        .await
        .unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    assert!(keys[0].get("d").is_none(), "no private part");
    let set = auth_jwt::JwkSet::parse(&jwks.to_string()).unwrap();
    let clock = auth_core::SystemClock::shared();
    let (keys, skipped) = auth_jwt::KeySet::from_jwk_set(&set, clock.clone()).unwrap();
    assert!(skipped.is_empty());
    let discovery: Value = demo
        .get("/.well-known/openid-configuration", None)
        .await
        .json()
        .await
        .unwrap();
    let issuer = demo.url("");
    assert_eq!(discovery["issuer"], issuer.as_str());
    assert_eq!(
        discovery["jwks_uri"],
        demo.url("/.well-known/jwks.json").as_str()
    );
    let verifier = auth_jwt::Verifier::builder(keys, clock)
        .issuer(issuer)
        .audience(authkit_examples::demo::AUDIENCE)
        .build()
        .unwrap();
    let pair = demo.token("alice", "wonderland").await;
    let who = verifier
        .authenticate(pair["access_token"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(who.subject, "alice");
}

/// `--jwt-alg hs256` and `--jwt-alg eddsa`: the demo signs with what was asked, its own
/// `/api/me` accepts the result, and the JWKS publishes the public key but never a secret.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_jwt_algorithm_is_the_one_asked_for() {
    for (alg, name, kid, published) in [
        (JwtAlg::Hs256, "HS256", "demo-hs256-1", 0),
        (JwtAlg::EdDsa, "EdDSA", "demo-eddsa-1", 1),
        (JwtAlg::default(), "ES256", "demo-es256-1", 1),
    ] {
        let demo = Demo::start_with_jwt_alg(alg).await;
        let pair = demo.token("alice", "wonderland").await;
        let access = pair["access_token"].as_str().unwrap();
        let header = jwt_header(access);
        assert_eq!(header["alg"], name, "{header}");
        assert_eq!(header["kid"], kid, "{header}");

        let me = demo.get_bearer("/api/me", access).await;
        assert_eq!(me.status(), StatusCode::OK, "{name}");
        let me: Value = me.json().await.unwrap();
        assert_eq!(me["sub"], "alice");
        assert_eq!(me["method"], "jwt");

        let jwks: Value = demo
            .get("/.well-known/jwks.json", None)
            .await
            .json()
            .await
            .unwrap();
        let keys = jwks["keys"].as_array().unwrap();
        assert_eq!(keys.len(), published, "{name}: {jwks}");
        for key in keys {
            assert_eq!(key["alg"], name);
            assert!(key.get("d").is_none() && key.get("k").is_none(), "{key}");
        }
    }
}

async fn logout_all_ends_every_credential_and_logout_ends_one(demo: Demo) {
    let browser = cookie_of(&demo.login("bob", "builder", None).await);
    let api = demo.token("bob", "builder").await;
    let access = api["access_token"].as_str().unwrap();
    let alice = demo.token("alice", "wonderland").await;

    // `/logout` ends this browser's session only.
    let other_browser = cookie_of(&demo.login("bob", "builder", None).await);
    demo.post_form("/logout", Some(&other_browser), "").await;
    assert_eq!(
        demo.get_bearer("/api/me", access).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        demo.get("/api/me", Some(&browser)).await.status(),
        StatusCode::OK
    );

    // `/logout-all` from the browser ends the API client's tokens as well.
    let out = demo.post_form("/logout-all", Some(&browser), "").await;
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        demo.get_bearer("/api/me", access).await.status(),
        StatusCode::UNAUTHORIZED,
        "the bearer token"
    );
    let refresh = demo
        .post_json(
            "/api/token/refresh",
            None,
            json!({ "refresh_token": api["refresh_token"] }),
        )
        .await;
    assert_eq!(
        refresh.status(),
        StatusCode::UNAUTHORIZED,
        "the refresh token"
    );
    assert_eq!(
        demo.get("/api/me", Some(&browser)).await.status(),
        StatusCode::UNAUTHORIZED,
        "the session"
    );
    let alice_access = alice["access_token"].as_str().unwrap();
    assert_eq!(
        demo.get_bearer("/api/me", alice_access).await.status(),
        StatusCode::OK,
        "other users keep theirs"
    );
    // A new login after the logout works again.
    let again = demo.token("bob", "builder").await;
    let again = again["access_token"].as_str().unwrap();
    assert_eq!(
        demo.get_bearer("/api/me", again).await.status(),
        StatusCode::OK
    );
}

async fn failed_logins_are_throttled_across_the_form_and_the_api(demo: Demo) {
    for attempt in 0..5 {
        let status = if attempt % 2 == 0 {
            demo.login("bob", "wrong", None).await.status()
        } else {
            demo.post_json(
                "/api/token",
                None,
                json!({"username": "bob", "password": "wrong"}),
            )
            .await
            .status()
        };
        assert_eq!(status, StatusCode::UNAUTHORIZED, "attempt {attempt}");
    }
    // The right password no longer gets through, on either route.
    let form = demo.login("bob", "builder", None).await;
    assert_eq!(form.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = form.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=900).contains(&retry_after), "{retry_after}");
    assert!(form.headers().get("set-cookie").is_none());
    let api = demo
        .post_json(
            "/api/token",
            None,
            json!({"username": "bob", "password": "builder"}),
        )
        .await;
    assert_eq!(api.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(api.headers().contains_key("retry-after"));
    // Names that do not exist are counted the same way.
    for _ in 0..5 {
        assert_eq!(
            demo.login("mallory", "x", None).await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        demo.login("mallory", "x", None).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    // Another user is not locked out by bob's failures.
    assert_eq!(
        demo.login("alice", "wonderland", None).await.status(),
        StatusCode::SEE_OTHER
    );
}

async fn refused_bearer_tokens_all_get_the_same_answer(demo: Demo) {
    let revoked = demo.token("alice", "wonderland").await;
    let revoked = revoked["access_token"].as_str().unwrap().to_owned();
    let out = demo.api_logout(&revoked).await;
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    let (input, _) = revoked.rsplit_once('.').unwrap();
    let forged = format!("{input}.{}", "A".repeat(86));
    let mut challenges = Vec::new();
    for token in [revoked.as_str(), forged.as_str(), "not.a.jwt"] {
        let response = demo.get_bearer("/api/me", token).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        challenges.push(
            response.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .to_owned(),
        );
    }
    assert!(
        challenges.iter().all(|c| c == &challenges[0]),
        "{challenges:?}"
    );
    assert!(!challenges[0].contains("revoked"), "{}", challenges[0]);
}

/// Every scenario above, against one store.
macro_rules! scenarios {
    ($store:ident) => {
        mod $store {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn browser_login_sets_a_hardened_cookie_and_shows_the_home_page() {
                common::run(
                    common::store::$store().await,
                    super::browser_login_sets_a_hardened_cookie_and_shows_the_home_page,
                )
                .await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn wrong_passwords_and_anonymous_visitors_get_no_session() {
                common::run(
                    common::store::$store().await,
                    super::wrong_passwords_and_anonymous_visitors_get_no_session,
                )
                .await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn a_session_id_brought_before_login_never_survives_it() {
                common::run(
                    common::store::$store().await,
                    super::a_session_id_brought_before_login_never_survives_it,
                )
                .await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn logout_kills_the_cookie_and_logout_all_ends_other_clients() {
                common::run(
                    common::store::$store().await,
                    super::logout_kills_the_cookie_and_logout_all_ends_other_clients,
                )
                .await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn cross_site_posts_are_refused() {
                common::run(
                    common::store::$store().await,
                    super::cross_site_posts_are_refused,
                )
                .await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn admin_is_for_admins_only() {
                common::run(
                    common::store::$store().await,
                    super::admin_is_for_admins_only,
                )
                .await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn api_tokens_refresh_rotate_and_reuse_revokes_the_family() {
                common::run(
                    common::store::$store().await,
                    super::api_tokens_refresh_rotate_and_reuse_revokes_the_family,
                )
                .await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn api_logout_revokes_the_access_token_and_its_family() {
                common::run(
                    common::store::$store().await,
                    super::api_logout_revokes_the_access_token_and_its_family,
                )
                .await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn api_me_accepts_the_session_cookie_too() {
                common::run(
                    common::store::$store().await,
                    super::api_me_accepts_the_session_cookie_too,
                )
                .await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn logout_all_ends_every_credential_and_logout_ends_one() {
                common::run(
                    common::store::$store().await,
                    super::logout_all_ends_every_credential_and_logout_ends_one,
                )
                .await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn failed_logins_are_throttled_across_the_form_and_the_api() {
                common::run(
                    common::store::$store().await,
                    super::failed_logins_are_throttled_across_the_form_and_the_api,
                )
                .await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn refused_bearer_tokens_all_get_the_same_answer() {
                common::run(
                    common::store::$store().await,
                    super::refused_bearer_tokens_all_get_the_same_answer,
                )
                .await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn jwks_publishes_only_public_keys_that_verify_our_tokens() {
                common::run(
                    common::store::$store().await,
                    super::jwks_publishes_only_public_keys_that_verify_our_tokens,
                )
                .await;
            }
        }
    };
}

scenarios!(memory);
scenarios!(redis);
scenarios!(postgres);
scenarios!(mysql);
scenarios!(sqlite);

/// Two demo processes on one Redis are one service: failures counted on one node lock the
/// name on the other, and a logout everywhere on one ends the tokens the other issued.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_on_one_redis_share_the_throttle_and_the_logout() {
    let store = common::store::redis().await;
    let (a, b) = (Demo::start(store.clone()).await, Demo::start(store).await);
    for _ in 0..5 {
        assert_eq!(
            a.login("bob", "wrong", None).await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    let on_b = b
        .post_json(
            "/api/token",
            None,
            json!({"username": "bob", "password": "builder"}),
        )
        .await;
    assert_eq!(on_b.status(), StatusCode::TOO_MANY_REQUESTS);

    let browser_on_a = cookie_of(&a.login("alice", "wonderland", None).await);
    let refresh_on_b = b.token("alice", "wonderland").await;
    let out = a.post_form("/logout-all", Some(&browser_on_a), "").await;
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    let refreshed = b
        .post_json(
            "/api/token/refresh",
            None,
            json!({ "refresh_token": refresh_on_b["refresh_token"] }),
        )
        .await;
    assert_eq!(refreshed.status(), StatusCode::UNAUTHORIZED);
}

/// A path the demo does not serve is 404 whatever the request carries: the layers guard
/// their own routes, not the fallback (so a probe is neither a 401 nor a credential check).
#[tokio::test]
async fn unknown_paths_are_404_whatever_the_credential() {
    let demo = Demo::start_memory().await;
    let token = demo.token("alice", "wonderland").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let cookie = cookie_of(&demo.login("bob", "builder", None).await);
    assert_eq!(
        demo.get("/nope", None).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        demo.get("/nope", Some(&cookie)).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        demo.get_bearer("/nope", &token).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        demo.get_bearer("/api/nope", "not-a-token").await.status(),
        StatusCode::NOT_FOUND
    );
    // The guarded routes still refuse.
    assert_eq!(
        demo.post_form("/api/logout", None, "").await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        demo.get("/api/me", None).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

/// `--issuer` is published and signed exactly as given (a verifier compares `iss` byte for
/// byte), the discovery URLs under it without a doubled slash; a value that cannot be an
/// issuer, or no value on an address no client can use, stops the demo with a reason.
#[tokio::test]
async fn the_issuer_is_kept_exactly_and_checked() {
    use authkit_examples::demo::{DemoConfig, serve};

    let issuer = "https://auth.example.test/";
    let demo = Demo::start_with(DemoConfig {
        issuer: Some(issuer.to_owned()),
        ..DemoConfig::default()
    })
    .await;
    let discovery: Value = demo
        .get("/.well-known/openid-configuration", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(discovery["issuer"], issuer);
    assert_eq!(
        discovery["jwks_uri"],
        "https://auth.example.test/.well-known/jwks.json"
    );
    let pair = demo.token("alice", "wonderland").await;
    let token = auth_jwt::inspect_unverified(
        pair["access_token"].as_str().unwrap(),
        auth_jwt::DEFAULT_MAX_TOKEN_LEN,
    )
    .unwrap();
    assert_eq!(token.claims["iss"], issuer);

    let refused = |config: DemoConfig, addr: &str| {
        let addr = addr.parse().unwrap();
        async move {
            let result = serve(addr, config, |_| {}, async {}).await;
            format!("{:#}", result.expect_err("the demo must not start"))
        }
    };
    for bad in [
        "auth.example.test",
        "ftp://auth.example.test",
        "https://auth.example.test/?tenant=1",
        "https://auth.example.test/#top",
        "https://user:pw@auth.example.test",
        "not a url\"<>",
    ] {
        let config = DemoConfig {
            issuer: Some(bad.to_owned()),
            ..DemoConfig::default()
        };
        let error = refused(config, "127.0.0.1:0").await;
        assert!(error.contains("--issuer"), "{bad}: {error}");
    }
    let error = refused(DemoConfig::default(), "0.0.0.0:0").await;
    assert!(error.contains("give --issuer"), "{error}");
}
