//! Tap-to-confirmed latency against the embedded sandbox, through the same code path as the app:
//! `AppCore::press_button` → HTTP on loopback → service → SQLite (WAL, synchronous=FULL).
//! Baseline measured in the same run: a bare `GET /health` round trip to the same service.
//!
//! Run by `cargo xtask bench` (`cargo bench -p refill-commands --bench taps`); prints one JSON line.

use refill_commands::{AppConfig, AppCore, Platform};
use std::time::{Duration, Instant};

const TAPS: usize = 200;
const ITEMS: &[&str] = &[
    "B0RFBEAN01",
    "B0RFFILT04",
    "B0RFWATR02",
    "B0RFINKBK1",
    "B0RFDTRG30",
];

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1].as_secs_f64() * 1000.0
}

fn summary(mut samples: Vec<Duration>) -> serde_json::Value {
    samples.sort();
    serde_json::json!({
        "p50_ms": percentile(&samples, 50.0),
        "p99_ms": percentile(&samples, 99.0),
        "max_ms": samples.last().map_or(0.0, |d| d.as_secs_f64() * 1000.0),
        "n": samples.len(),
    })
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let core = AppCore::new(
        AppConfig {
            data_dir: dir.path().to_owned(),
            service_url: None,
            auth_provider: None,
            config_dir: None,
            downloads_dir: None,
        },
        Platform::headless(),
    );
    core.list_buttons().await.expect("the sandbox starts");
    let url = core.service_info().url.expect("the sandbox has a URL");
    let http = reqwest_client();

    // Warm up both paths.
    for _ in 0..20 {
        let _ = http.get(format!("{url}/health")).send().await;
    }
    let mut taps = Vec::with_capacity(TAPS);
    let mut health = Vec::with_capacity(TAPS);
    for i in 0..TAPS {
        let asin = ITEMS[i % ITEMS.len()];
        let started = Instant::now();
        let placed = core.press_button(asin.to_owned(), None).await.expect("tap");
        taps.push(started.elapsed());
        assert_eq!(
            placed.detail_code,
            refill_wire::DetailCode::StandardOrderPlaced
        );
        // Cancel (not timed) so the next tap on this item places a new order.
        core.cancel_order(placed.event_instance_id)
            .await
            .expect("cancel");

        let started = Instant::now();
        let res = http
            .get(format!("{url}/health"))
            .send()
            .await
            .expect("health");
        let _ = res.bytes().await;
        health.push(started.elapsed());
    }
    core.shutdown().await;
    println!(
        "{}",
        serde_json::json!({ "tap": summary(taps), "health": summary(health) })
    );
}

fn reqwest_client() -> reqwest::Client {
    reqwest::Client::new()
}
