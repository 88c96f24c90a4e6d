//! The sandbox fridge's screen, end to end: the real app (tauri-driver) opens its device page
//! and the fridge's screen; Debian's Chromium (headless, through chromedriver) shows that page
//! with the web SDK's `<refill-buttons>` and presses a button there; the app raises the
//! approval's OS notification (caught by the tests' notification server) and its Approve button
//! is clicked over D-Bus; the fridge's screen then shows the order. And a fridge linked through
//! the real consent page in Chromium and in WebKitGTK, its products chosen there by checkbox.

use anyhow::{bail, ensure, Context, Result};
use fantoccini::Locator;
use refill_auth::{start_device_authorization, DeviceGrant, Provider, Redirect};
use refill_e2e::{count_orders, App, AppHome, Notifications, WebBrowser};
use refill_service::sandbox::{CUSTOMER_EMAIL, CUSTOMER_PASSWORD};
use std::time::{Duration, Instant};

const BEANS: &str = "B0RFBEAN01";
const FRIDGE: &str = "SANDBOX-FRIDGE";

/// The fridge's screen in Chromium.
struct Screen {
    browser: WebBrowser,
}

impl Screen {
    async fn open(url: &str) -> Result<Screen> {
        let browser = WebBrowser::chromium().await?;
        browser.client.goto(url).await?;
        Ok(Screen { browser })
    }

    /// The component's shadow root's element matching `css`.
    async fn find(&self, css: &str) -> Result<fantoccini::elements::Element> {
        let host = self
            .browser
            .client
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Css("refill-buttons"))
            .await?;
        let started = Instant::now();
        loop {
            let root = host.shadow_root().await?;
            match root.find(Locator::Css(css)).await {
                Ok(element) => return Ok(element),
                Err(_) if started.elapsed() < Duration::from_secs(20) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => bail!("no {css} on the fridge's screen: {e}"),
            }
        }
    }

    /// Waits until the status under `asin`'s button satisfies `ok`; returns it.
    async fn wait_status(&self, asin: &str, ok: impl Fn(&str) -> bool) -> Result<String> {
        let started = Instant::now();
        loop {
            let text = self
                .find(&format!("#refill-status-{asin}"))
                .await?
                .text()
                .await
                .unwrap_or_default();
            if ok(&text) {
                return Ok(text);
            }
            if started.elapsed() > Duration::from_secs(30) {
                let page = self.browser.client.source().await.unwrap_or_default();
                bail!("the fridge's screen still says {text:?} under {asin}: {page}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

#[tokio::test]
#[ignore = "needs a display, a session bus, tauri-driver and chromedriver: run by `cargo xtask test`"]
async fn a_press_on_the_fridge_screen_in_chromium_is_approved_from_the_apps_notification(
) -> Result<()> {
    let home = AppHome::new()?;
    let bus = Notifications::start(&home).await?;
    // `BROWSER=true`: the app "opens" the screen in no browser of its own; Chromium does below.
    let app = App::launch_with(&home, "fridge-screen", &[], &[("BROWSER", "true")]).await?;

    // The app's device page for the fridge: what it shows, and its screen.
    app.click(&format!("open-device-{FRIDGE}")).await?;
    let buttons = app.text("screen-buttons").await?;
    assert!(buttons.contains("Refill Roasters"), "{buttons}");
    app.click("open-device-screen").await?;
    let said = app
        .wait_text("open-device-screen-message", |t| t.contains("http://"))
        .await?;
    let url = &said[said.find("http://").unwrap_or_default()..];

    let screen = Screen::open(url).await?;
    let press = screen
        .find(&format!(".press[aria-describedby='refill-status-{BEANS}']"))
        .await?;
    let label = press.attr("aria-label").await?.unwrap_or_default();
    assert!(label.starts_with("Ask for Refill Roasters"), "{label}");
    screen
        .wait_status(BEANS, |t| t == "Asks first in the Refill app.")
        .await?;
    press.click().await?;
    screen
        .wait_status(BEANS, |t| t.starts_with("Approval needed"))
        .await?;
    assert_eq!(
        count_orders(&home.sandbox_db(), BEANS, &["placed"]).await?,
        0,
        "nothing ordered before the customer says so"
    );

    // The app asks: a notification with Approve and Decline; Approve is clicked.
    let asked = bus
        .wait_for(Duration::from_secs(30), |n| {
            n.summary == "FreshCool smart fridge asks to order"
        })
        .await?;
    assert!(asked.body.starts_with("Refill Roasters"), "{asked:?}");
    assert!(asked.body.contains("$"), "{asked:?}");
    for pair in [["approve", "Approve"], ["decline", "Decline"]] {
        assert!(
            asked.actions.windows(2).any(|a| a == pair),
            "the notification has {pair:?}: {asked:?}"
        );
    }
    bus.click(asked.id, "approve").await?;

    // The fridge's screen follows: ordered, with its delivery day.
    let ordered = screen
        .wait_status(BEANS, |t| t.starts_with("Ordered, arrives "))
        .await?;
    assert!(ordered.ends_with('.'), "{ordered}");
    // What a person at the fridge sees, kept with the other screenshots.
    let shot = screen.browser.client.screenshot().await?;
    let dir = refill_e2e::target_dir().join("e2e");
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("fridge-screen.png"), shot)?;
    assert_eq!(
        count_orders(&home.sandbox_db(), BEANS, &["placed"]).await?,
        1
    );
    screen.browser.quit().await?;
    app.quit().await?;
    bus.stop().await;
    Ok(())
}

/// Links a fridge with `serial` to the sandbox customer through the consent page in `browser`:
/// signs in, unticks the first product offered (a recent one, ticked to start with) and ticks
/// the first one not offered ticked, allows; the fridge redeems the code with its own verifier
/// and lists its buttons: exactly those chosen.
async fn link_a_fridge_in(browser: WebBrowser, serial: &str) -> Result<()> {
    use base64::Engine;
    use sha2::Digest;
    let dir = tempfile::tempdir()?;
    let service = refill_service::start(refill_service::ServiceConfig::sandbox(
        dir.path().join("s.sqlite"),
    ))
    .await?;
    let base = service.base_url();
    let verifier = format!("fridge-verifier-{serial}-0123456789abcdef0123456789");
    let challenge =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(&verifier));
    let provider = Provider::refill("sandbox", &base);
    let grant = DeviceGrant {
        scope: "refill:buttons".to_owned(),
        scope_data: format!(
            r#"{{"refill:buttons":{{"device_model":"RefillFridge-1","serial":"{serial}"}}}}"#
        ),
        code_challenge: challenge,
    };
    let pending = start_device_authorization(&provider, &Redirect::Loopback, &grant).await?;
    let client = &browser.client;
    client.goto(pending.authorize_url()).await?;
    let find = |css: String| async move {
        match client
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Css(&css))
            .await
        {
            Ok(element) => Ok(element),
            Err(e) => {
                let url = client.current_url().await.map(|u| u.to_string());
                let page = client.source().await.unwrap_or_default();
                anyhow::bail!("no {css} on the page ({e}) at {url:?}: {page}")
            }
        }
    };
    find("#email".into()).await?;
    browser
        .fill_sign_in(CUSTOMER_EMAIL, CUSTOMER_PASSWORD)
        .await?;
    // The consent page: a checkbox per product, the recent ones ticked.
    find("input[type='checkbox'][name^='button.']".into()).await?;
    let boxes = client
        .find_all(Locator::Css("input[type='checkbox'][name^='button.']"))
        .await?;
    let mut ticked = Vec::new();
    let mut unticked = Vec::new();
    for b in boxes {
        let name = b.attr("name").await?.unwrap_or_default();
        let asin = name.trim_start_matches("button.").to_owned();
        if b.prop("checked").await?.as_deref() == Some("true") {
            ticked.push((asin, b));
        } else {
            unticked.push((asin, b));
        }
    }
    ensure!(
        !ticked.is_empty() && !unticked.is_empty(),
        "recent products ticked, others not"
    );
    let (dropped, first) = ticked.remove(0);
    first.click().await?;
    let (added, other) = unticked.remove(0);
    other.click().await?;
    let mut chosen: Vec<String> = ticked.into_iter().map(|(asin, _)| asin).collect();
    chosen.push(added.clone());
    let finished = pending.finish_code(Duration::from_secs(30), std::future::pending());
    let allow = async {
        find("button[value='allow']".into()).await?.click().await?;
        anyhow::Ok(())
    };
    let (code, allowed) = tokio::join!(finished, allow);
    allowed?;
    let code = code?;

    // The fridge redeems the code itself.
    let http = reqwest::Client::new();
    let tokens: serde_json::Value = http
        .post(format!("{base}/auth/o2/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.expose().as_str()),
            ("client_id", provider.client_id.as_str()),
            ("redirect_uri", pending.redirect_uri()),
            ("code_verifier", verifier.as_str()),
        ])
        .send()
        .await?
        .json()
        .await?;
    let token = tokens["access_token"]
        .as_str()
        .with_context(|| format!("no access token: {tokens}"))?;
    let shown: serde_json::Value = http
        .get(format!("{base}/v1/screen/buttons"))
        .bearer_auth(token)
        .send()
        .await?
        .json()
        .await?;
    let mut asins: Vec<String> = shown["buttons"]
        .as_array()
        .context("buttons")?
        .iter()
        .filter_map(|b| b["asin"].as_str().map(str::to_owned))
        .collect();
    ensure!(
        !asins.contains(&dropped),
        "{dropped} was unticked: {asins:?}"
    );
    ensure!(asins.contains(&added), "{added} was ticked: {asins:?}");
    asins.sort();
    chosen.sort();
    ensure!(asins == chosen, "shown {asins:?}, chosen {chosen:?}");
    browser.quit().await?;
    service.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs chromedriver: run by `cargo xtask test`"]
async fn a_fridge_is_linked_with_the_products_chosen_on_the_consent_page_in_chromium() -> Result<()>
{
    link_a_fridge_in(WebBrowser::chromium().await?, "E2E-FRIDGE-CHROMIUM").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a display and WebKitWebDriver: run by `cargo xtask test`"]
async fn a_fridge_is_linked_with_the_products_chosen_on_the_consent_page_in_webkitgtk() -> Result<()>
{
    link_a_fridge_in(WebBrowser::webkitgtk().await?, "E2E-FRIDGE-WEBKIT").await
}
