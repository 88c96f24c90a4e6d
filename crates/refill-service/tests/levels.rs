//! Level history thinned as it ages (kept as reported for 2 days, hourly to 30 days, daily after):
//! a coffee maker's 40 days of reports every 20 minutes, its slot's use per day and chart read
//! over real HTTP before and after. The history is written straight into the database (2 880
//! reports), the last report through the DRS API.

mod common;

use common::{device_token, drs, sandbox};
use refill_core::Clock;
use reqwest::Method;
use serde_json::{json, Value};
use time::Duration;

const SLOT: &str = "/v1/devices/RefillBrew-200/LEV-1/slots/brew-beans";
const USE_PER_DAY: f64 = 25.0;

async fn slot(f: &common::Fixture) -> Value {
    common::get_json(&f.http, &f.url(SLOT)).await
}

async fn count_between(f: &common::Fixture, from: Duration, to: Duration) -> i64 {
    let now = f.clock.now();
    let ms = |d: Duration| ((now - d).unix_timestamp_nanos() / 1_000_000) as i64;
    sqlx::query_scalar("SELECT COUNT(*) FROM slot_levels WHERE at_ms >= $1 AND at_ms < $2")
        .bind(ms(from))
        .bind(ms(to))
        .fetch_one(f.service.store().pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn aged_levels_are_thinned_without_changing_the_use_the_forecast_reads() {
    let f = sandbox().await;
    let token = device_token(&f, "LEV-1", false).await;
    let store = f.service.store();
    let device: i64 = sqlx::query_scalar("SELECT id FROM devices WHERE serial = 'LEV-1'")
        .fetch_one(store.pool())
        .await
        .unwrap();
    // 40 days of 20-minute reports: 25 g a day, refilled to 500 g below 60 g.
    let now = f.clock.now();
    let start = now - Duration::days(40);
    let mut level = 500.0;
    let mut rows = Vec::new();
    for i in 0..(40 * 72) {
        let at = start + Duration::minutes(20 * i);
        if level < 60.0 {
            level = 500.0;
        }
        rows.push((((at.unix_timestamp_nanos()) / 1_000_000) as i64, level));
        level -= USE_PER_DAY / 72.0;
    }
    for chunk in rows.chunks(200) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| {
                format!(
                    "({device}, 'brew-beans', ${}, ${}, 'slot_status')",
                    2 * i + 1,
                    2 * i + 2
                )
            })
            .collect();
        let sql = format!(
            "INSERT INTO slot_levels (device_id, slot_id, at_ms, remaining, source) VALUES {}",
            values.join(", ")
        );
        let mut q = sqlx::query(&sql);
        for (at, remaining) in chunk {
            q = q.bind(*at).bind(*remaining);
        }
        q.execute(store.pool()).await.unwrap();
    }
    let body = json!({ "remainingQuantityInUnit": level, "originalQuantityInUnit": 500 });
    let (status, _, answer) = drs(
        &f,
        Method::POST,
        "/slotStatus/brew-beans",
        &token,
        ("DrsSlotStatusInput@1.0", "DrsSlotStatusResult@1.0"),
        Some(&body.to_string()),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let before = slot(&f).await;
    let use_before = before["dailyUse"].as_f64().unwrap();
    assert!((use_before - USE_PER_DAY).abs() < 1.0, "{use_before}");
    let (stored, _) = store.level_count().await.unwrap();
    assert_eq!(stored, 40 * 72 + 1);

    let removed = store.compact_levels(now).await.unwrap();
    assert!(removed > 1_500, "{removed}");

    // As reported for 2 days; one an hour (every hour had reports) up to 30 days, plus the
    // refill in that time and the reading before it; one a day before that, at most.
    assert_eq!(
        count_between(&f, Duration::days(2), Duration::ZERO).await,
        2 * 72
    );
    // Days are UTC days: the one 30 days back is hourly up to its midnight (9 hours here).
    let midnight = now - (now - Duration::days(30)).replace_time(time::Time::MIDNIGHT);
    let hourly = count_between(&f, midnight, Duration::days(2)).await;
    assert!(
        (28 * 24 + 9..=28 * 24 + 9 + 4).contains(&hourly),
        "{hourly}"
    );
    let daily = count_between(&f, Duration::days(41), midnight).await;
    assert!((10..=12).contains(&daily), "{daily}");

    // The forecast reads the same use; the chart still shows the refill.
    let after = slot(&f).await;
    let use_after = after["dailyUse"].as_f64().unwrap();
    assert!(
        (use_after - use_before).abs() <= use_before * 0.02,
        "{use_before} then {use_after}"
    );
    let levels: Vec<f64> = after["levels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["remaining"].as_f64().unwrap())
        .collect();
    assert!(
        levels.windows(2).any(|w| w[1] > w[0] + 300.0),
        "the refill is gone from the chart: {levels:?}"
    );
    assert_eq!(after["runsOut"], before["runsOut"]);

    // Thinning again removes nothing; a day later, the next day's reports are thinned.
    assert_eq!(store.compact_levels(now).await.unwrap(), 0);
    f.clock.advance(Duration::days(1));
    let later = store.compact_levels(f.clock.now()).await.unwrap();
    // 72 reports become 24, and 24 hourly readings one.
    assert_eq!(later, 48 + 23);
}
