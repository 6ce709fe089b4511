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
    let html = home.text().await.unwrap();
    assert!(html.contains("Hello, alice"), "{html}");
    assert!(html.contains("(this browser)"));
    assert_eq!(
        demo.get("/admin", Some(&cookie)).await.status(),
        StatusCode::OK
    );
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

    let replay = demo
        .post_json(
            "/api/token/refresh",
            None,
            json!({ "refresh_token": old_refresh }),
        )
        .await;
    assert_eq!(replay.status(), StatusCode::UNAUTHORIZED);
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
    let out = demo
        .client
        .post(demo.url("/api/logout"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
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
    let verifier = auth_jwt::Verifier::builder(keys, clock)
        .issuer(authkit_examples::demo::ISSUER)
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
