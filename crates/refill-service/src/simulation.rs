//! The sandbox's devices using up their supplies. Each seeded sandbox device reports its slots'
//! levels through the DRS API over HTTP, exactly as a real device does (with its own device
//! token), while its household uses them at a steady daily rate (see [`household`]); when a slot is nearly empty
//! and the home has stock on hand (a delivery came), a pack is loaded. With the sandbox's clock
//! sped up (`--speed`), a demo shows consumption, a low supply, an order and its delivery within
//! a minute. See [`spawn`].

use crate::Store;
use refill_core::SharedClock;
use serde_json::json;
use sqlx::Row;
use std::collections::HashMap;
use time::{Duration, OffsetDateTime};

/// A slot of a simulated device.
#[derive(Debug, Clone)]
struct SimSlot {
    device_id: i64,
    model: String,
    serial: String,
    slot_id: String,
    capacity: f64,
    /// Used per day.
    daily_use: f64,
    remaining: f64,
    /// When the device last reported this slot.
    reported: Option<OffsetDateTime>,
}

/// How the sandbox's household uses a slot: how full it is when the sandbox starts (a share of
/// its capacity) and how much it uses, against the model's usual use (a fill a month, what the
/// forecast assumes before it has history). Households differ from the usual use and their
/// supplies were bought on different days, so the slots run low one after another, not all in
/// the same hour, and the forecast has something to learn.
fn household(slot_id: &str) -> (f64, f64) {
    match slot_id {
        // Smart reorder, so it comes early in a demo: ordered before it runs dry.
        "brew-beans" => (0.45, 1.25),
        "wash-detergent" => (0.3, 1.4),
        "brew-filters" => (0.8, 1.0),
        "brew-water-filter" => (1.0, 1.0),
        "ink-black" => (0.5, 0.8),
        "ink-cyan" => (0.7, 0.6),
        "ink-magenta" => (0.85, 0.5),
        "ink-yellow" => (0.95, 0.4),
        _ => (0.6, 1.0),
    }
}

/// How often (in the sandbox's time) a device reports a slot whose level only went down.
const REPORT_EVERY: Duration = Duration::hours(1);

/// How long a simulated device's token lasts (in the sandbox's time, which may run fast).
const TOKEN_LIFETIME: Duration = Duration::days(30);

/// A slot is refilled from the home's stock once it is this empty.
const REFILL_AT_SHARE: f64 = 0.05;

/// Sets up the simulated slots of the sandbox's seeded devices.
async fn sim_slots(store: &Store) -> Result<Vec<SimSlot>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT d.id, d.model_id, d.serial, s.slot_id, s.capacity, i.remaining \
         FROM devices d JOIN slots s ON s.model_id = d.model_id \
         LEFT JOIN slot_inventory i ON i.device_id = d.id AND i.slot_id = s.slot_id \
         WHERE d.serial LIKE 'SANDBOX-%' AND d.deregistered_at_ms IS NULL \
         ORDER BY d.id, s.position",
    )
    .fetch_all(store.pool())
    .await?;
    rows.iter()
        .map(|row| {
            let capacity: f64 = row.try_get("capacity")?;
            let slot_id: String = row.try_get("slot_id")?;
            let (full, factor) = household(&slot_id);
            Ok(SimSlot {
                device_id: row.try_get("id")?,
                model: row.try_get("model_id")?,
                serial: row.try_get("serial")?,
                capacity,
                daily_use: crate::store::inventory::usual_use(capacity) * factor,
                remaining: row
                    .try_get::<Option<f64>, _>("remaining")?
                    .unwrap_or(capacity * full),
                slot_id,
                reported: None,
            })
        })
        .collect()
}

/// Runs the simulation: every `every` (real time), each simulated slot uses what the household
/// used since the last round, on `clock`, and its device reports the level to the service at
/// `base_url`. Stops when the task is dropped.
pub fn spawn(
    base_url: String,
    client: impl FnOnce() -> reqwest::Client + Send + 'static,
    store: Store,
    clock: SharedClock,
    every: std::time::Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = crate::rounds(every);
        // Nothing happens before the first round, so as not to compete with the app's start
        // (an HTTP client loads the system's certificates).
        ticks.tick().await;
        let http = client();
        let mut slots = match sim_slots(&store).await {
            Ok(slots) => slots,
            Err(e) => {
                tracing::warn!("the sandbox's devices cannot be simulated: {e}");
                return;
            }
        };
        let mut tokens: HashMap<i64, (String, OffsetDateTime)> = HashMap::new();
        let mut last = clock.now();
        loop {
            ticks.tick().await;
            let now = clock.now();
            let days = (now - last).as_seconds_f64() / 86_400.0;
            last = now;
            if days <= 0.0 {
                continue;
            }
            for slot in &mut slots {
                if let Err(e) = round(&store, &http, &base_url, &mut tokens, slot, days, now).await
                {
                    tracing::debug!(serial = slot.serial, slot = slot.slot_id, "{e}");
                }
            }
        }
    })
}

/// One round for one slot: use, maybe refill from the home's stock, report.
async fn round(
    store: &Store,
    http: &reqwest::Client,
    base_url: &str,
    tokens: &mut HashMap<i64, (String, OffsetDateTime)>,
    slot: &mut SimSlot,
    days: f64,
    now: OffsetDateTime,
) -> Result<(), String> {
    slot.remaining = (slot.remaining - slot.daily_use * days).max(0.0);
    let mut on_hand = None;
    if slot.remaining <= slot.capacity * REFILL_AT_SHARE {
        let stock: Option<f64> = sqlx::query_scalar(
            "SELECT on_hand FROM slot_inventory WHERE device_id = $1 AND slot_id = $2",
        )
        .bind(slot.device_id)
        .bind(&slot.slot_id)
        .fetch_optional(store.pool())
        .await
        .map_err(|e| e.to_string())?;
        let stock = stock.unwrap_or(0.0);
        if stock > 0.0 {
            let loaded = (slot.capacity - slot.remaining).min(stock);
            slot.remaining += loaded;
            on_hand = Some(stock - loaded);
        }
    }
    if on_hand.is_none() && slot.reported.is_some_and(|at| now - at < REPORT_EVERY) {
        return Ok(());
    }
    slot.reported = Some(now);
    let token = match tokens.get(&slot.device_id) {
        Some((token, expires)) if *expires > now + Duration::minutes(5) => token.clone(),
        _ => {
            let (token, expires) = store
                .issue_device_token(
                    (slot.device_id, &slot.model, &slot.serial),
                    crate::auth::DEVICE_SCOPE,
                    now,
                    TOKEN_LIFETIME,
                )
                .await
                .map_err(|e| e.to_string())?;
            tokens.insert(slot.device_id, (token.clone(), expires));
            token
        }
    };
    let mut body = json!({
        "remainingQuantityInUnit": (slot.remaining * 100.0).round() / 100.0,
        "originalQuantityInUnit": slot.capacity,
        "lastUseDate": now.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
    });
    if let Some(on_hand) = on_hand {
        body["totalQuantityOnHand"] = json!(on_hand);
    }
    let answer = http
        .post(format!("{base_url}/slotStatus/{}", slot.slot_id))
        .bearer_auth(token)
        .header(
            crate::http::drs::TYPE_VERSION,
            format!("{}DrsSlotStatusInput@1.0", crate::http::drs::TYPE_PREFIX),
        )
        .header(
            crate::http::drs::ACCEPT_TYPE,
            format!("{}DrsSlotStatusResult@1.0", crate::http::drs::TYPE_PREFIX),
        )
        .json(&body)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !answer.status().is_success() {
        return Err(format!("the service answered {}", answer.status()));
    }
    Ok(())
}
