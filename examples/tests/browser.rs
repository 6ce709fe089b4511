//! End to end in a real browser: headless Chromium, driven through chromedriver
//! (WebDriver), logs in through the demo's form, sees the protected page, logs out and is
//! shown the login page again. Needs Debian's `chromium` and `chromium-driver` (`.ci/run`
//! installs them); without them this test fails, saying so.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests: a panic is a failed test.

mod common;

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::Demo;
use fantoccini::{ClientBuilder, Locator};
use serde_json::json;

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

/// chromedriver as a child process, killed when dropped.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_see_the_protected_page_and_log_out_in_headless_chromium() {
    for binary in [CHROMEDRIVER, CHROMIUM] {
        assert!(
            std::path::Path::new(binary).exists(),
            "{binary} is missing: install Debian's chromium and chromium-driver \
             (`apt-get install chromium chromium-driver`, as .ci/run does)"
        );
    }
    let demo = Demo::start(common::store::memory().await).await;
    let port = free_port();
    let _driver = Driver(
        Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts"),
    );
    let profile = std::env::temp_dir().join(format!("authkit-chromium-{port}"));
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": CHROMIUM,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync",
                format!("--user-data-dir={}", profile.display()),
            ],
        }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    let webdriver = format!("http://127.0.0.1:{port}");
    let mut client = None;
    // chromedriver needs a moment to listen; retry briefly rather than sleep blindly.
    for _ in 0..50 {
        match ClientBuilder::new(connector.clone())
            .capabilities(capabilities.clone())
            .connect(&webdriver)
            .await
        {
            Ok(c) => {
                client = Some(c);
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    let browser = client.expect("could not start a WebDriver session with chromedriver");

    let result = async {
        browser.goto(&demo.url("/")).await?;
        browser
            .wait()
            .for_element(Locator::Id("login-title"))
            .await?;
        assert!(browser.current_url().await?.path().ends_with("/login"));

        browser
            .find(Locator::Id("username"))
            .await?
            .send_keys("alice")
            .await?;
        browser
            .find(Locator::Id("password"))
            .await?
            .send_keys("wonderland")
            .await?;
        browser.find(Locator::Id("submit")).await?.click().await?;
        let greeting = browser.wait().for_element(Locator::Id("greeting")).await?;
        assert_eq!(greeting.text().await?, "Hello, alice");

        browser.goto(&demo.url("/admin")).await?;
        browser.wait().for_element(Locator::Id("admin")).await?;

        // The two models side by side: the cookie works; a token for an API client
        // works until it is revoked, and then it is refused.
        browser.goto(&demo.url("/")).await?;
        browser
            .wait()
            .for_element(Locator::Id("check-cookie"))
            .await?
            .click()
            .await?;
        wait_for_text(&browser, "cookie-result", "200").await?;
        browser
            .find(Locator::Id("get-token"))
            .await?
            .click()
            .await?;
        browser
            .wait()
            .for_element(Locator::Id("check-token"))
            .await?
            .click()
            .await?;
        wait_for_text(&browser, "token-result", "200").await?;
        if let Ok(path) = std::env::var("AUTHKIT_SCREENSHOT") {
            // How the README's picture is made: AUTHKIT_SCREENSHOT=docs/demo.png.
            browser.set_window_size(1100, 900).await?;
            std::fs::write(path, browser.screenshot().await?).expect("the screenshot is written");
        }
        browser
            .find(Locator::Id("revoke-token"))
            .await?
            .click()
            .await?;
        wait_for_text(&browser, "token-result", "204").await?;
        browser
            .find(Locator::Id("check-token"))
            .await?
            .click()
            .await?;
        wait_for_text(&browser, "token-result", "401").await?;

        browser.goto(&demo.url("/")).await?;
        browser
            .wait()
            .for_element(Locator::Id("logout"))
            .await?
            .click()
            .await?;
        browser
            .wait()
            .for_element(Locator::Id("login-title"))
            .await?;
        // The protected page now sends the browser back to the login form.
        browser.goto(&demo.url("/")).await?;
        browser
            .wait()
            .for_element(Locator::Id("login-title"))
            .await?;
        Ok::<(), fantoccini::error::CmdError>(())
    }
    .await;
    browser.close().await.ok();
    let _ = std::fs::remove_dir_all(&profile);
    result.unwrap();
}

/// Waits (up to 5 s) until the element `id` shows `text`: the page's script answers
/// after a request of its own.
async fn wait_for_text(
    browser: &fantoccini::Client,
    id: &str,
    text: &str,
) -> Result<(), fantoccini::error::CmdError> {
    for _ in 0..100 {
        if browser
            .find(Locator::Id(id))
            .await?
            .text()
            .await?
            .contains(text)
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let shown = browser.find(Locator::Id(id)).await?.text().await?;
    panic!("#{id} never showed {text:?}; it shows {shown:?}");
}
