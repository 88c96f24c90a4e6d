//! The sandbox fridge's screen, end to end: the real app (tauri-driver) opens its device page
//! and the fridge's screen; Debian's Chromium (headless, through chromedriver) shows that page
//! with the web SDK's `<refill-buttons>` and presses a button there; the app raises the
//! approval's OS notification (caught by the tests' notification server) and its Approve button
//! is clicked over D-Bus; the fridge's screen then shows the order.

use anyhow::{bail, Result};
use fantoccini::Locator;
use refill_e2e::{count_orders, App, AppHome, Notifications, WebBrowser};
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
    assert_eq!(
        count_orders(&home.sandbox_db(), BEANS, &["placed"]).await?,
        1
    );
    screen.browser.quit().await?;
    app.quit().await?;
    bus.stop().await;
    Ok(())
}
