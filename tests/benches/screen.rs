//! The sandbox fridge's screen in headless Chromium (through chromedriver), against the sandbox
//! service and the device simulator's screen on loopback:
//!
//! * press → "Ordered" shown: from the button's click to the status under it reading
//!   "Ordered, …" (the fridge set to order without asking), measured in the page; each order is
//!   then cancelled from the screen so that the next press orders again;
//! * its baseline, in the same page and run: a plain HTTP round trip (`fetch` of the service's
//!   `/health`);
//! * first buttons on a cold page: from navigation to the component's `refill-buttons:ready`
//!   performance mark, the page loaded afresh each round (its bundle is revalidated).
//!
//! Run by `cargo xtask bench` (`cargo bench -p refill-e2e --bench screen`); prints one JSON line.

use anyhow::{Context, Result};
use refill_device_sim::{serve_screen, TokenSource};
use refill_e2e::WebBrowser;
use refill_service::sandbox::fridge_tokens;
use refill_service::{start, ServiceConfig};
use std::sync::Arc;
use std::time::Duration;

const PRESSES: usize = 200;
const PAGES: usize = 15;
const BEANS: &str = "B0RFBEAN01";

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn summary(mut samples: Vec<f64>) -> serde_json::Value {
    samples.sort_by(f64::total_cmp);
    serde_json::json!({
        "p50_ms": percentile(&samples, 50.0),
        "p99_ms": percentile(&samples, 99.0),
        "max_ms": samples.last().copied().unwrap_or_default(),
        "n": samples.len(),
    })
}

/// Clicks `selector` in the component and waits until the status under the beans' button starts
/// with `until`; the milliseconds between, as the page measured them.
const CLICK_UNTIL: &str = r##"
const [selector, until, done] = arguments;
const root = document.querySelector("refill-buttons").shadowRoot;
const status = root.querySelector("#refill-status-B0RFBEAN01");
const target = root.querySelector(selector);
const started = performance.now();
const seen = () => {
  if (status.textContent.startsWith(until)) {
    observer.disconnect();
    done(performance.now() - started);
    return true;
  }
  return false;
};
const observer = new MutationObserver(seen);
observer.observe(status, { childList: true, characterData: true, subtree: true });
target.click();
seen();
"##;

/// One plain HTTP round trip from the page to the service (its CORS answer does not matter).
const ROUND_TRIP: &str = r#"
const [url, done] = arguments;
const started = performance.now();
fetch(url, { mode: "no-cors", cache: "no-store" }).then(() => done(performance.now() - started), () => done(-1));
"#;

#[tokio::main]
async fn main() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let service = start(ServiceConfig::sandbox(dir.path().join("bench.sqlite"))).await?;
    let store = service.store().clone();
    // The sandbox fridge asks first; here it orders at once.
    sqlx::query("UPDATE device_limits SET ask_first = 0, per_month_minor = NULL")
        .execute(store.pool())
        .await?;
    let tokens: TokenSource = Arc::new(fridge_tokens(
        store,
        Arc::new(refill_core::SystemClock),
        time::Duration::hours(1),
    ));
    let screen = serve_screen("FreshCool smart fridge", &service.base_url(), tokens).await?;
    let url = format!("http://{}/", screen.addr);
    let browser = WebBrowser::chromium().await?;
    let client = &browser.client;

    // Cold pages: navigation to first buttons.
    let mut first = Vec::with_capacity(PAGES);
    for round in 0..=PAGES {
        client.goto("about:blank").await?;
        client.goto(&url).await?;
        let mut ready = None;
        for _ in 0..400 {
            let mark = client
                .execute(
                    "const m = performance.getEntriesByName('refill-buttons:ready'); \
                     return m.length ? m[0].startTime : null;",
                    vec![],
                )
                .await?;
            if let Some(ms) = mark.as_f64() {
                ready = Some(ms);
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let ms = ready.context("the fridge's screen never showed its buttons")?;
        // The first page warms the browser up.
        if round > 0 {
            first.push(ms);
        }
    }

    // Presses, each cancelled afterwards; and plain round trips, alternately.
    let health = serde_json::json!(format!("{}/health", service.base_url()));
    let press = serde_json::json!(format!(".press[aria-describedby='refill-status-{BEANS}']"));
    let cancel = serde_json::json!("li[data-state='ordered'] .cancel");
    let mut presses = Vec::with_capacity(PRESSES);
    let mut trips = Vec::with_capacity(PRESSES);
    for round in 0..PRESSES + 10 {
        let ms = client
            .execute_async(CLICK_UNTIL, vec![press.clone(), "Ordered".into()])
            .await?
            .as_f64()
            .context("no press time")?;
        client
            .execute_async(CLICK_UNTIL, vec![cancel.clone(), "Order cancelled".into()])
            .await?;
        let trip = client
            .execute_async(ROUND_TRIP, vec![health.clone()])
            .await?
            .as_f64()
            .filter(|ms| *ms >= 0.0)
            .context("the service did not answer the page")?;
        if round >= 10 {
            presses.push(ms);
            trips.push(trip);
        }
    }
    first.sort_by(f64::total_cmp);
    println!(
        "{}",
        serde_json::json!({
            "press": summary(presses),
            "http": summary(trips),
            "first_buttons": {
                "median_ms": first[first.len() / 2],
                "max_ms": first.last().copied().unwrap_or_default(),
                "n": first.len(),
            },
        })
    );
    browser.quit().await?;
    drop(screen);
    service.shutdown().await;
    Ok(())
}
