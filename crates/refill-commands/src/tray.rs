//! What the tray icon offers, worked out here so it is tested without a desktop: the supplies
//! most likely needed soon (one click orders, as a tap in the grid), a line saying what is low,
//! and pausing notifications. The app shell draws it with Tauri's tray and calls back.

use crate::notices::{self, Notice, NoticeKind};
use crate::AppCore;
use refill_wire::{ButtonTile, PressResult};
use std::sync::PoisonError;

/// How many supplies the tray menu offers.
pub const TRAY_ORDERS: usize = 5;

/// A supply is "low" for the tray within this many days of running out.
const LOW_WITHIN_DAYS: f64 = 3.0;

/// The hour of the next morning that "until tomorrow" pauses notifications until.
const MORNING_HOUR: u32 = 8;

/// The tray's menu and tooltip.
#[derive(Debug, Clone, PartialEq)]
pub struct TrayMenu {
    /// What is low, in one line ("Low: Coffee beans (about 2 days left), Detergent (ran out)",
    /// or "Nothing is low"): the tooltip, and the menu's first line (tray hosts on Linux show
    /// no tooltips).
    pub summary: String,
    /// One entry per supply, most needed first, at most [`TRAY_ORDERS`].
    pub orders: Vec<TrayOrder>,
    /// "Notifications paused until 08:00", while they are.
    pub paused: Option<String>,
}

/// One supply the tray offers to order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrayOrder {
    /// The product to order.
    pub asin: String,
    /// "Order Coffee beans (about 2 days left)", "Coffee beans: ordered, arrives Wed".
    pub label: String,
}

/// How long to pause notifications.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pause {
    /// For the next hour.
    Hour,
    /// Until 08:00 tomorrow, local time.
    UntilTomorrow,
}

/// The menu for `tiles` (the grid, ranked by need), with notifications paused until `paused`
/// (local time of day, already in words) if they are.
pub fn tray_menu(tiles: &[ButtonTile], paused: Option<String>) -> TrayMenu {
    let low: Vec<String> = tiles
        .iter()
        .filter_map(|tile| {
            let need = need(tile)?;
            (tile.ran_out || tile.days_left.is_some_and(|d| d <= LOW_WITHIN_DAYS))
                .then(|| format!("{} ({need})", tile.title))
        })
        .collect();
    let summary = if low.is_empty() {
        "Nothing is low".to_owned()
    } else {
        format!("Low: {}", low.join(", "))
    };
    let orders = tiles
        .iter()
        .take(TRAY_ORDERS)
        .map(|tile| TrayOrder {
            asin: tile.asin.clone(),
            label: match (&tile.open_order, need(tile)) {
                (Some(order), _) => format!(
                    "{}: ordered, arrives {}",
                    tile.title,
                    order
                        .expected_delivery
                        .format(&time::macros::format_description!(
                            "[weekday repr:short], [month repr:short] [day padding:none]"
                        ))
                        .unwrap_or_default()
                ),
                (None, Some(need)) => format!("Order {} ({need})", tile.title),
                (None, None) => format!("Order {}", tile.title),
            },
        })
        .collect();
    TrayMenu {
        summary,
        orders,
        paused: paused.map(|until| format!("Notifications paused until {until}")),
    }
}

/// How soon `tile` runs out, within two weeks, in words ("about 2 days left", "ran out").
fn need(tile: &ButtonTile) -> Option<String> {
    if tile.ran_out {
        return Some("ran out".to_owned());
    }
    match tile.days_left {
        Some(days) if days <= 0.0 => Some("probably out by now".to_owned()),
        Some(days) if days <= 14.0 => notices::days_left(Some(days), None, None),
        _ => None,
    }
}

/// When a pause chosen at `now` ends.
pub fn pause_end<Tz: chrono::TimeZone>(
    pause: Pause,
    now: chrono::DateTime<Tz>,
) -> chrono::DateTime<chrono::Utc> {
    match pause {
        Pause::Hour => now.to_utc() + chrono::Duration::hours(1),
        Pause::UntilTomorrow => {
            let morning = (now.date_naive() + chrono::Days::new(1))
                .and_hms_opt(MORNING_HOUR, 0, 0)
                .unwrap_or_default();
            // A morning that a clock change skips (rare): an hour later.
            now.timezone()
                .from_local_datetime(&morning)
                .earliest()
                .or_else(|| {
                    now.timezone()
                        .from_local_datetime(&(morning + chrono::Duration::hours(1)))
                        .earliest()
                })
                .map_or_else(
                    || now.to_utc() + chrono::Duration::hours(24),
                    |t| t.to_utc(),
                )
        }
    }
}

/// A notice for an order asked for from the tray while one was already on its way.
pub fn already_ordered(result: &PressResult) -> Notice {
    Notice {
        asin: Some(result.order.asin.clone()),
        event_instance_id: Some(result.event_instance_id.clone()),
        ..notices::told(
            NoticeKind::Summary,
            "Already ordered".to_owned(),
            format!(
                "{} is already ordered, so nothing new was ordered.",
                result.order.title
            ),
        )
    }
}

/// The notice of the first time the window is closed.
pub fn still_running() -> Notice {
    notices::told(
        NoticeKind::Summary,
        "Refill is still running".to_owned(),
        "It keeps watching your supplies and tells you when one runs low. Open it or quit it \
         from its icon in the tray."
            .to_owned(),
    )
}

/// The file in the data folder that says the window was closed to the tray before.
const CLOSED_BEFORE: &str = "closed-to-tray";

impl AppCore {
    /// True the first time the window is closed to the tray (for this data folder), so that
    /// [`still_running`] is told once.
    pub fn first_close_to_tray(&self) -> bool {
        let marker = self.inner.config.data_dir.join(CLOSED_BEFORE);
        if marker.exists() {
            return false;
        }
        if let Err(e) = std::fs::write(&marker, b"") {
            tracing::warn!("{} could not be written: {e}", marker.display());
        }
        true
    }

    /// Pauses OS notifications (the inbox still gets every notice), or resumes them (`None`).
    pub fn pause_notifications(&self, pause: Option<Pause>) {
        let until = pause.map(|pause| pause_end(pause, chrono::Local::now()));
        *self
            .inner
            .paused_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = until;
        match until {
            Some(until) => tracing::info!(%until, "notifications paused"),
            None => tracing::info!("notifications resumed"),
        }
    }

    /// Until when OS notifications are paused, if they are now.
    pub fn notifications_paused_until(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        let until = *self
            .inner
            .paused_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        until.filter(|until| *until > chrono::Utc::now())
    }

    /// The tray's menu now: the grid (the last one seen when the service cannot be reached).
    pub async fn tray_menu(&self) -> TrayMenu {
        let tiles = self
            .list_buttons()
            .await
            .map(|grid| grid.tiles)
            .unwrap_or_default();
        let paused = self.notifications_paused_until().map(|until| {
            // Written by hand: chrono's format strings cost the app's binary ~20 KB.
            use chrono::Timelike;
            let local = until.with_timezone(&chrono::Local);
            format!("{:02}:{:02}", local.hour(), local.minute())
        });
        tray_menu(&tiles, paused)
    }

    /// Orders `asin` from the tray: as a tap in the grid. Its notice comes with the order's
    /// event; an order already on its way and a failure are told in a notice of their own.
    pub async fn order_from_tray(&self, asin: String) {
        tracing::info!(asin, "order from the tray");
        self.reorder_unattended(asin, None, "order").await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn tile(asin: &str, title: &str, days_left: Option<f64>, ran_out: bool) -> ButtonTile {
        serde_json::from_value(serde_json::json!({
            "asin": asin,
            "title": title,
            "imageUrl": null,
            "price": {"amountMinor": 1299, "currency": "USD"},
            "pack": {"value": 1.0, "unit": "count"},
            "lastOrderedAt": null,
            "openOrder": null,
            "runsOut": null,
            "daysLeft": days_left,
            "ranOut": ran_out
        }))
        .unwrap()
    }

    #[test]
    fn the_tray_offers_the_five_most_needed_and_says_what_is_low() {
        let tiles = vec![
            tile("A", "Detergent", Some(-1.0), true),
            tile("B", "Coffee beans", Some(2.2), false),
            tile("C", "Water filter", Some(9.0), false),
            tile("D", "Salt", None, false),
            tile("E", "Paper", None, false),
            tile("F", "Ink", None, false),
        ];
        let menu = tray_menu(&tiles, None);
        assert_eq!(
            menu.summary,
            "Low: Detergent (ran out), Coffee beans (about 2 days left)"
        );
        let labels: Vec<&str> = menu.orders.iter().map(|o| o.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "Order Detergent (ran out)",
                "Order Coffee beans (about 2 days left)",
                "Order Water filter (about 9 days left)",
                "Order Salt",
                "Order Paper",
            ]
        );
        assert_eq!(menu.orders[1].asin, "B");
        assert_eq!(menu.paused, None);
        let calm = tray_menu(&tiles[2..], Some("08:00".into()));
        assert_eq!(calm.summary, "Nothing is low");
        assert_eq!(
            calm.paused.as_deref(),
            Some("Notifications paused until 08:00")
        );
        assert!(tray_menu(&[], None).orders.is_empty());
    }

    #[test]
    fn an_item_on_its_way_says_when_it_arrives() {
        let mut beans = tile("B", "Coffee beans", Some(1.0), false);
        beans.open_order = Some(
            serde_json::from_value(serde_json::json!({
                "eventInstanceId": "o1", "asin": "B", "title": "Coffee beans",
                "status": "placed", "quantity": 1,
                "price": {"amountMinor": 1299, "currency": "USD"},
                "placedAt": "2026-12-07T10:00:00Z",
                "expectedDelivery": "2026-12-09T10:00:00Z",
                "cancellableUntil": null
            }))
            .unwrap(),
        );
        let menu = tray_menu(&[beans], None);
        assert_eq!(
            menu.orders[0].label,
            "Coffee beans: ordered, arrives Wed, Dec 9"
        );
    }

    #[test]
    fn a_pause_lasts_an_hour_or_until_the_next_morning() {
        let paris = chrono::FixedOffset::east_opt(3600).unwrap();
        let evening = paris.with_ymd_and_hms(2026, 12, 3, 22, 30, 0).unwrap();
        assert_eq!(
            pause_end(Pause::Hour, evening),
            chrono::Utc
                .with_ymd_and_hms(2026, 12, 3, 22, 30, 0)
                .unwrap()
        );
        // 08:00 in Paris is 07:00 UTC, the next day.
        assert_eq!(
            pause_end(Pause::UntilTomorrow, evening),
            chrono::Utc.with_ymd_and_hms(2026, 12, 4, 7, 0, 0).unwrap()
        );
        let small_hours = paris.with_ymd_and_hms(2026, 12, 4, 1, 0, 0).unwrap();
        assert_eq!(
            pause_end(Pause::UntilTomorrow, small_hours),
            chrono::Utc.with_ymd_and_hms(2026, 12, 5, 7, 0, 0).unwrap()
        );
    }
}
