//! What the app tells the customer about their supplies and orders: the service's events,
//! followed while the app runs, put in words once ([`Notice`]) for both the OS notifications and
//! the in-app inbox.
//!
//! The follower reads the events it missed ([`Client::events`]) and then follows the event stream
//! after the last one it has ([`Client::event_stream`]), opening it again after a break. The last
//! event seen is kept in the data folder with the inbox, so no event is lost across a dropped
//! connection or a restart, and none is shown twice. The first time (or after a sign-out) it
//! starts from the newest event without raising notifications for the old ones; more than
//! [`SUMMARY_OVER`] events missed while the app was closed become one summary notification.

use crate::{cache, AppCore, AppError};
use refill_client::{Client, ClientError};
use refill_wire::{DeviceRef, ErrorCode, EventView};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::Path;
use std::time::Duration;
use time::OffsetDateTime;
use ts_rs::TS;

/// The inbox file's name inside the data folder.
pub const FILE: &str = "inbox.json";

/// How many notices the inbox keeps.
pub const INBOX_SIZE: usize = 50;

/// Missed events beyond this many are raised as one summary notification.
pub const SUMMARY_OVER: usize = 3;

/// What a notice is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum NoticeKind {
    /// A slot in notify-only mode ran low (action: reorder).
    LowSupply,
    /// An order was placed (action: cancel, while it can be).
    OrderPlaced,
    /// An order was shipped.
    Shipped,
    /// An order arrived.
    Delivered,
    /// An order was cancelled.
    Cancelled,
    /// A device was linked to the account.
    DeviceAdded,
    /// A device was unlinked.
    DeviceRemoved,
    /// A device stopped reporting (once per silence).
    DeviceSilent,
    /// Several events that happened while the app was closed (OS notification only).
    Summary,
    /// An action taken from a notification failed.
    Problem,
    /// A screened device asks to order: the customer approves or declines (`approval_id`).
    ApprovalNeeded,
    /// A press that waited for the customer was not answered in time: nothing was ordered.
    ApprovalExpired,
    /// A press was approved or declined (closes its request in the inbox; not shown itself).
    ApprovalAnswered,
    /// A smart reorder (or a device's own order) was refused: it would pass a limit the
    /// customer set for the device (the body says which).
    ReorderRefused,
    /// A reorder asked for where no page could ask (a notification, the tray) was not placed:
    /// the price rose more than 10 % since last time ("Order anyway" confirms `confirm_price`).
    PriceRose,
}

/// A device slot a notice is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SlotRef {
    /// The device's model.
    pub model: String,
    /// Its serial number.
    pub serial: String,
    /// The slot.
    pub slot_id: String,
}

/// One thing to tell the customer, in words.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Notice {
    /// The event's id (increasing).
    pub id: i64,
    /// What it is about.
    pub kind: NoticeKind,
    /// The headline ("Coffee beans are low").
    pub title: String,
    /// The details ("About 3 days left.").
    pub body: String,
    /// When it happened (the service's time).
    #[serde(with = "time::serde::rfc3339")]
    #[ts(type = "string")]
    pub at: OffsetDateTime,
    /// The product, where there is one (a low supply's "Reorder" orders it).
    pub asin: Option<String>,
    /// The order, for order notices ("Cancel order" cancels it).
    pub event_instance_id: Option<String>,
    /// Until when the order can be cancelled, for a placed order.
    #[serde(with = "time::serde::rfc3339::option", default)]
    #[ts(type = "string | null")]
    pub cancellable_until: Option<OffsetDateTime>,
    /// The device slot, where there is one.
    pub slot: Option<SlotRef>,
    /// The device it concerns, where there is one (its notifications can be turned off).
    #[serde(default)]
    pub device: Option<DeviceRef>,
    /// The approval request, while it waits for the customer ("Approve" / "Decline").
    #[serde(default)]
    pub approval_id: Option<String>,
    /// The price of a pack (minor units) that "Order anyway" confirms, after a price rise.
    #[serde(default)]
    pub confirm_price: Option<i64>,
}

/// The in-app inbox: the latest notices and how many are unread.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Inbox {
    /// Newest first, at most [`INBOX_SIZE`].
    pub notices: Vec<Notice>,
    /// Notices newer than the last one read.
    pub unread: u32,
}

/// The inbox as kept in the data folder.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Saved {
    /// The service the events came from.
    service: String,
    /// The last event seen; `None` before the first look.
    cursor: Option<i64>,
    /// The newest notice the customer has seen in the inbox.
    read_up_to: i64,
    /// Newest first.
    notices: Vec<Notice>,
    /// Set at sign-out until the follower starts afresh: nothing may be kept meanwhile.
    #[serde(skip)]
    forgotten: bool,
}

impl Saved {
    fn load(path: &Path, service: &str) -> Self {
        std::fs::read(path)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Saved>(&bytes).ok())
            .filter(|saved| saved.service == service)
            .unwrap_or_else(|| Saved {
                service: service.to_owned(),
                ..Saved::default()
            })
    }

    fn save(&self, path: &Path) {
        if let Err(e) = cache::write_json(path, self) {
            tracing::warn!("could not save the inbox: {e}");
        }
    }

    fn add(&mut self, notices: impl IntoIterator<Item = Notice>) {
        for notice in notices {
            // An answer (or expiry) closes its request: no Approve / Decline on it any more.
            if matches!(
                notice.kind,
                NoticeKind::ApprovalAnswered | NoticeKind::ApprovalExpired
            ) {
                for asked in &mut self.notices {
                    if asked.kind == NoticeKind::ApprovalNeeded
                        && asked.approval_id.is_some()
                        && asked.approval_id == notice.approval_id
                    {
                        asked.approval_id = None;
                    }
                }
            }
            if notice.kind != NoticeKind::ApprovalAnswered
                && self.notices.iter().all(|n| n.id != notice.id)
            {
                self.notices.push(notice);
            }
        }
        self.notices.sort_by_key(|n| std::cmp::Reverse(n.id));
        self.notices.truncate(INBOX_SIZE);
    }

    fn inbox(&self) -> Inbox {
        let unread = self
            .notices
            .iter()
            .filter(|n| n.id > self.read_up_to)
            .count();
        Inbox {
            notices: self.notices.clone(),
            unread: u32::try_from(unread).unwrap_or(u32::MAX),
        }
    }
}

fn text<'a>(body: &'a Value, key: &str) -> Option<&'a str> {
    body.get(key).and_then(Value::as_str)
}

fn instant(body: &Value, key: &str) -> Option<OffsetDateTime> {
    text(body, key)
        .and_then(|t| OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok())
}

/// "in 2 days", "tomorrow", "today", counted from `from` (both on the service's clock).
fn days_until(from: OffsetDateTime, to: OffsetDateTime) -> String {
    let hours = (to - from).whole_hours();
    match (hours + 23) / 24 {
        i64::MIN..=0 => "today".to_owned(),
        1 => "tomorrow".to_owned(),
        days => format!("in {days} days"),
    }
}

/// "Coffee beans are low", "Water filter is low".
fn is_or_are(name: &str) -> &'static str {
    if name.ends_with('s') && !name.ends_with("ss") {
        "are"
    } else {
        "is"
    }
}

/// How long a supply lasts, in words: "about 3 days left", "about 3 to 5 days left" when the
/// forecast's range (`at_least`, `at_most`) spans more than a day, "less than a day left".
pub(crate) fn days_left(
    likely: Option<f64>,
    at_least: Option<f64>,
    at_most: Option<f64>,
) -> Option<String> {
    let likely = likely?;
    let plural = |d: f64| if d == 1.0 { "day" } else { "days" };
    let high = at_most.unwrap_or(likely).max(likely);
    if high < 1.0 {
        return Some("less than a day left".to_owned());
    }
    let (low, high) = (
        at_least.unwrap_or(likely).min(likely).round().max(0.0),
        high.round(),
    );
    Some(if low >= high {
        let d = likely.round().max(1.0);
        format!("about {d} {} left", plural(d))
    } else if low < 1.0 {
        format!("at most {high} {} left", plural(high))
    } else {
        format!("about {low} to {high} days left")
    })
}

/// The event in words; `None` for events the customer need not hear about.
pub fn notice(event: &EventView) -> Option<Notice> {
    let b = &event.body;
    let title_of = || text(b, "title").unwrap_or("Your order").to_owned();
    let packs = |q: i64| {
        if q > 1 {
            format!(" ×{q}")
        } else {
            String::new()
        }
    };
    let quantity = b.get("quantity").and_then(Value::as_i64).unwrap_or(1);
    let test = b.get("test").and_then(Value::as_bool) == Some(true);
    let arrives = instant(b, "expectedDelivery")
        .map(|t| format!(", arrives {}", days_until(event.at, t)))
        .unwrap_or_default();
    let (kind, title, body) = match event.kind.as_str() {
        "LowSupply" => {
            let name = text(b, "slotName").unwrap_or("A supply");
            let days = |k: &str| b.get(k).and_then(Value::as_f64);
            let title = match days_left(
                days("daysLeft"),
                days("daysLeftAtLeast"),
                days("daysLeftAtMost"),
            ) {
                Some(left) => format!("{name} {} low: {left}", is_or_are(name)),
                None => format!("{name} {} low", is_or_are(name)),
            };
            let body = if text(b, "asin").is_some() {
                "Reorder now, or let Refill reorder it for you next time (the device page's Smart reorder)."
            } else {
                "Choose a product for this slot on the device page to reorder it."
            };
            (NoticeKind::LowSupply, title, body.to_owned())
        }
        "OrderPlaced" => (
            NoticeKind::OrderPlaced,
            if test {
                "Test order placed"
            } else {
                "Order placed"
            }
            .to_owned(),
            format!("{}{}{arrives}.", title_of(), packs(quantity)),
        ),
        "ItemShipped" => (
            NoticeKind::Shipped,
            "Shipped".to_owned(),
            format!("{}{} is on its way{arrives}.", title_of(), packs(quantity)),
        ),
        "ItemDelivered" => (
            NoticeKind::Delivered,
            "Delivered".to_owned(),
            format!("{}{} arrived.", title_of(), packs(quantity)),
        ),
        "OrderCancelled" => (
            NoticeKind::Cancelled,
            "Order cancelled".to_owned(),
            match text(b, "by") {
                Some("device") => format!("{}: the device cancelled its test order.", title_of()),
                _ => format!("{}: nothing will be charged or sent.", title_of()),
            },
        ),
        "DeviceSilent" => {
            let name = text(b, "name").unwrap_or("A device");
            let since = instant(b, "since")
                .map(|t| {
                    let hours = (event.at - t).whole_hours().max(1);
                    if hours < 48 {
                        format!("for {hours} hour{}", if hours == 1 { "" } else { "s" })
                    } else {
                        format!("for {} days", hours / 24)
                    }
                })
                .unwrap_or_else(|| "for a while".to_owned());
            (
                NoticeKind::DeviceSilent,
                format!("{name} is not reporting"),
                format!(
                    "Nothing from it {since}. Its forecast carries on from its last known use; \
                     check that it is on and on Wi-Fi."
                ),
            )
        }
        "ApprovalRequested" => (
            NoticeKind::ApprovalNeeded,
            format!(
                "{} asks to order",
                text(b, "deviceName").unwrap_or("A device")
            ),
            format!(
                "{}{}{}. Approve or decline it here.",
                title_of(),
                price_of(b, "price")
                    .map(|p| format!(", {p}"))
                    .unwrap_or_default(),
                // Asked because the price rose: both prices.
                price_of(b, "previousPrice")
                    .map(|p| format!(" (you paid {p} last time)"))
                    .unwrap_or_default()
            ),
        ),
        // An order the service could not hand to the customer's automation (or that the
        // automation could not buy): said, never dropped.
        "HandoverFailed" => (
            NoticeKind::Problem,
            "Order not sent".to_owned(),
            text(b, "problem")
                .map(str::to_owned)
                .unwrap_or_else(|| format!("{}: could not be sent.", title_of())),
        ),
        "ReorderRefused" => (
            NoticeKind::ReorderRefused,
            format!(
                "{}: not reordered",
                text(b, "slotName").unwrap_or("A supply")
            ),
            text(b, "message")
                .unwrap_or("It would pass a limit you set for the device.")
                .to_owned(),
        ),
        "ApprovalDecided" => {
            let device = text(b, "deviceName").unwrap_or("the device");
            match text(b, "status") {
                Some("expired") => (
                    NoticeKind::ApprovalExpired,
                    "Not approved in time".to_owned(),
                    format!("{} from {device}: nothing was ordered.", title_of()),
                ),
                Some("approved") => (
                    NoticeKind::ApprovalAnswered,
                    "Approved".to_owned(),
                    format!("{} from {device}.", title_of()),
                ),
                _ => (
                    NoticeKind::ApprovalAnswered,
                    "Declined".to_owned(),
                    format!("{} from {device}: nothing was ordered.", title_of()),
                ),
            }
        }
        kind @ ("DeviceRegistered" | "DeviceDeregistered") => {
            let device = format!(
                "{} {}",
                text(b, "model").unwrap_or("A device"),
                text(b, "serial").unwrap_or_default()
            );
            if kind == "DeviceRegistered" {
                (
                    NoticeKind::DeviceAdded,
                    "Device added".to_owned(),
                    format!("{device} can now reorder its supplies."),
                )
            } else {
                (
                    NoticeKind::DeviceRemoved,
                    "Device removed".to_owned(),
                    format!("{device} no longer orders for you."),
                )
            }
        }
        _ => return None,
    };
    let slot = match (text(b, "model"), text(b, "serial"), text(b, "slotId")) {
        (Some(model), Some(serial), Some(slot)) => Some(SlotRef {
            model: model.to_owned(),
            serial: serial.to_owned(),
            slot_id: slot.to_owned(),
        }),
        _ => None,
    };
    let device = event
        .device
        .clone()
        .or_else(|| match (text(b, "model"), text(b, "serial")) {
            (Some(model), Some(serial)) => Some(DeviceRef {
                model: model.to_owned(),
                serial: serial.to_owned(),
            }),
            _ => None,
        });
    Some(Notice {
        id: event.id,
        kind,
        title,
        body,
        at: event.at,
        asin: text(b, "asin").map(str::to_owned),
        event_instance_id: text(b, "eventInstanceId").map(str::to_owned),
        cancellable_until: (kind == NoticeKind::OrderPlaced)
            .then(|| instant(b, "cancellableUntil"))
            .flatten(),
        slot,
        device,
        approval_id: matches!(
            kind,
            NoticeKind::ApprovalNeeded | NoticeKind::ApprovalExpired | NoticeKind::ApprovalAnswered
        )
        .then(|| text(b, "approvalId").map(str::to_owned))
        .flatten(),
        confirm_price: None,
    })
}

/// An event's price `key` (`{"amountMinor": …, "currency": …}`) in words: "$18.99".
fn price_of(body: &Value, key: &str) -> Option<String> {
    let price = body.get(key)?;
    let minor = price.get("amountMinor")?.as_i64()?;
    let currency = refill_core::Currency::parse(price.get("currency")?.as_str()?)?;
    Some(refill_core::Money::new(minor, currency).in_words())
}

/// One notification for `missed` notices that came while the app was closed.
fn summary(missed: &[Notice]) -> Notice {
    let newest = missed.last().cloned();
    let mut titles: Vec<&str> = missed.iter().rev().map(|n| n.title.as_str()).collect();
    titles.dedup();
    let shown = titles
        .iter()
        .take(3)
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    let more = titles.len().saturating_sub(3);
    Notice {
        id: newest.as_ref().map_or(0, |n| n.id),
        kind: NoticeKind::Summary,
        title: format!("{} updates while Refill was closed", missed.len()),
        body: if more > 0 {
            format!("{shown} and {more} more. Open the inbox to see them.")
        } else {
            format!("{shown}. Open the inbox to see them.")
        },
        at: newest.map_or(OffsetDateTime::UNIX_EPOCH, |n| n.at),
        asin: None,
        event_instance_id: None,
        cancellable_until: None,
        slot: None,
        device: None,
        approval_id: None,
        confirm_price: None,
    }
}

/// A notice the app tells of its own accord (not one of the service's events), now.
pub fn told(kind: NoticeKind, title: String, body: String) -> Notice {
    Notice {
        id: 0,
        kind,
        title,
        body,
        at: OffsetDateTime::now_utc(),
        asin: None,
        event_instance_id: None,
        cancellable_until: None,
        slot: None,
        device: None,
        approval_id: None,
        confirm_price: None,
    }
}

/// A notice saying that a reorder asked for from a notification or the tray waits for the
/// customer: the price rose (`error` says both prices); "Order anyway" confirms `price`.
pub fn price_rose(asin: String, price: Option<i64>, error: &AppError) -> Notice {
    Notice {
        asin: Some(asin),
        confirm_price: price,
        ..told(
            NoticeKind::PriceRose,
            "Price went up: not ordered yet".to_owned(),
            error.message.clone(),
        )
    }
}

/// A notice saying that an action taken from a notification did not work.
pub fn problem(action: &str, error: &AppError) -> Notice {
    told(
        NoticeKind::Problem,
        format!("Could not {action}"),
        error.message.clone(),
    )
}

/// How long the follower waits before trying again, by consecutive failures.
fn backoff(failures: u32) -> Duration {
    Duration::from_millis(500u64.saturating_mul(1 << failures.min(6)).min(30_000))
}

impl AppCore {
    /// The inbox: the latest notices, newest first.
    pub fn inbox(&self) -> Inbox {
        self.with_inbox(|saved| (saved.inbox(), false))
    }

    /// Marks the notices up to `id` as read.
    pub fn mark_inbox_read(&self, up_to: i64) -> Inbox {
        self.with_inbox(|saved| {
            let changed = up_to > saved.read_up_to;
            saved.read_up_to = saved.read_up_to.max(up_to);
            (saved.inbox(), changed)
        })
    }

    /// Runs `f` on the inbox (read from the data folder the first time); writes it back when
    /// `f` says it changed it.
    fn with_inbox<T>(&self, f: impl FnOnce(&mut Saved) -> (T, bool)) -> T {
        let mut slot = self
            .inner
            .inbox
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let path = self.inbox_path();
        let saved = slot.get_or_insert_with(|| Saved::load(&path, &self.cache_key()));
        let (out, changed) = f(saved);
        if changed {
            saved.save(&path);
        }
        out
    }

    /// Every notice from now on, as it comes (OS notifications are raised from these).
    pub fn notices(&self) -> tokio::sync::broadcast::Receiver<Notice> {
        self.inner.notices.subscribe()
    }

    /// Hands `notice` to whoever raises notifications (see [`AppCore::notices`]).
    pub fn announce(&self, notice: Notice) {
        let _ = self.inner.notices.send(notice);
    }

    /// Starts following the service's events in the background (once; later calls do nothing).
    /// Call it inside a Tokio runtime.
    pub fn follow_events(&self) {
        let mut follower = self
            .inner
            .follower
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if follower.is_none() {
            let core = self.clone();
            *follower = Some(tokio::spawn(async move { core.follow().await }));
        }
    }

    /// Forgets the inbox (at sign-out: the notices were about someone else's supplies), and
    /// has the follower start again without the old sign-in's stream.
    pub(crate) fn forget_inbox(&self) {
        let mut slot = self
            .inner
            .inbox
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Marked forgotten rather than emptied: a follower still on the old sign-in's stream
        // can no longer write to it (see keep).
        *slot = Some(Saved {
            service: self.cache_key(),
            forgotten: true,
            ..Saved::default()
        });
        let _ = std::fs::remove_file(self.inbox_path());
        drop(slot);
        self.inner.account_changed.notify_one();
    }

    fn inbox_path(&self) -> std::path::PathBuf {
        self.inner.config.data_dir.join(FILE)
    }

    async fn follow(&self) {
        self.first_paint().await;
        let mut failures = 0u32;
        loop {
            let followed = tokio::select! {
                followed = self.follow_once() => followed,
                () = self.inner.account_changed.notified() => {
                    tracing::info!("the account changed: following its events afresh");
                    failures = 0;
                    continue;
                }
            };
            match followed {
                Ok(()) => failures = 0,
                Err(e) => {
                    if e.code == ErrorCode::SignInRequired {
                        tracing::debug!("not signed in: no events to follow yet");
                    } else {
                        tracing::info!("the event stream broke, following again soon: {e}");
                    }
                    failures += 1;
                }
            }
            tokio::select! {
                () = tokio::time::sleep(backoff(failures)) => {}
                // Signed in (or out): no reason to wait.
                () = self.inner.account_changed.notified() => failures = 0,
            }
        }
    }

    /// Catches up and follows the stream until it ends or breaks.
    async fn follow_once(&self) -> Result<(), AppError> {
        let client = self.client().await?.clone();
        let last_seen = self.with_inbox(|saved| {
            if saved.forgotten {
                saved.forgotten = false; // a new start: from the newest event, nothing raised
            }
            (saved.cursor, false)
        });
        let fresh = last_seen.is_none();
        let (missed, cursor) = catch_up(&client, last_seen.unwrap_or(0))
            .await
            .map_err(|e| self.error(e, crate::Doing::Listing))?;
        self.keep(&missed, cursor);
        if !fresh {
            if missed.len() > SUMMARY_OVER {
                self.announce(summary(&missed));
            } else {
                for notice in missed {
                    self.announce(notice);
                }
            }
        }
        let mut stream = client
            .event_stream(cursor)
            .await
            .map_err(|e| self.error(e, crate::Doing::Listing))?;
        tracing::info!(after = cursor, "following the service's events");
        loop {
            match stream.next().await {
                Ok(Some(event)) => {
                    let notices: Vec<Notice> = notice(&event).into_iter().collect();
                    self.keep(&notices, event.id);
                    for n in notices {
                        self.announce(n);
                    }
                }
                Ok(None) => return Ok(()),
                Err(e) => return Err(self.error(e, crate::Doing::Listing)),
            }
        }
    }

    /// Adds `notices` to the inbox and moves its cursor to `cursor`, on disk.
    fn keep(&self, notices: &[Notice], cursor: i64) {
        self.with_inbox(|saved| {
            if saved.forgotten || (saved.cursor.is_some_and(|c| c >= cursor) && notices.is_empty())
            {
                return ((), false);
            }
            saved.add(notices.iter().cloned());
            saved.cursor = Some(saved.cursor.unwrap_or(0).max(cursor));
            ((), true)
        })
    }
}

/// Every event after `after`, page by page: their notices and the last id.
async fn catch_up(client: &Client, after: i64) -> Result<(Vec<Notice>, i64), ClientError> {
    let mut cursor = after;
    let mut notices = Vec::new();
    loop {
        let page = client.events(cursor).await?;
        let Some(last) = page.events.last() else {
            return Ok((notices, cursor));
        };
        cursor = last.id;
        notices.extend(page.events.iter().filter_map(notice));
        // Only the newest ones are kept; the rest would only be dropped again.
        if notices.len() > INBOX_SIZE {
            notices.drain(..notices.len() - INBOX_SIZE);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(kind: &str, body: Value) -> EventView {
        EventView {
            id: 7,
            kind: kind.to_owned(),
            at: OffsetDateTime::UNIX_EPOCH,
            body,
            device: None,
        }
    }

    #[test]
    fn a_low_supply_says_what_and_how_long() {
        let n = notice(&event(
            "LowSupply",
            json!({"slotName": "Coffee beans", "daysLeft": 2.6, "asin": "B0RFBEAN01",
                   "model": "brew", "serial": "S1", "slotId": "brew-beans"}),
        ))
        .unwrap();
        assert_eq!(n.title, "Coffee beans are low: about 3 days left");
        assert_eq!(n.kind, NoticeKind::LowSupply);
        assert_eq!(n.asin.as_deref(), Some("B0RFBEAN01"));
        assert_eq!(n.slot.unwrap().slot_id, "brew-beans");
        let n = notice(&event(
            "LowSupply",
            json!({"slotName": "Water filter", "daysLeft": 0.4}),
        ))
        .unwrap();
        assert_eq!(n.title, "Water filter is low: less than a day left");
        let n = notice(&event("LowSupply", json!({"slotName": "Detergent"}))).unwrap();
        assert_eq!(n.title, "Detergent is low");
        // With the forecast's range.
        let low = |likely: f64, at_least: f64, at_most: f64| {
            notice(&event(
                "LowSupply",
                json!({"slotName": "Salt", "daysLeft": likely,
                       "daysLeftAtLeast": at_least, "daysLeftAtMost": at_most}),
            ))
            .unwrap()
            .title
        };
        assert_eq!(low(4.1, 3.2, 5.4), "Salt is low: about 3 to 5 days left");
        assert_eq!(low(4.1, 3.8, 4.4), "Salt is low: about 4 days left");
        assert_eq!(low(1.2, 0.3, 2.2), "Salt is low: at most 2 days left");
        assert_eq!(low(0.5, 0.2, 1.4), "Salt is low: at most 1 day left");
        assert_eq!(low(0.4, 0.1, 0.8), "Salt is low: less than a day left");
    }

    #[test]
    fn order_notices_name_the_item_and_when_it_arrives() {
        let at = OffsetDateTime::UNIX_EPOCH;
        let placed = notice(&event(
            "OrderPlaced",
            json!({"title": "Beans", "quantity": 2, "eventInstanceId": "o1",
                   "expectedDelivery": "1970-01-03T12:00:00Z",
                   "cancellableUntil": "1970-01-02T00:00:00Z"}),
        ))
        .unwrap();
        assert_eq!(placed.title, "Order placed");
        assert_eq!(placed.body, "Beans ×2, arrives in 3 days.");
        assert_eq!(placed.cancellable_until, Some(at + time::Duration::days(1)));
        let shipped = notice(&event(
            "ItemShipped",
            json!({"title": "Beans", "expectedDelivery": "1970-01-01T20:00:00Z"}),
        ))
        .unwrap();
        assert_eq!(shipped.body, "Beans is on its way, arrives tomorrow.");
        assert_eq!(shipped.cancellable_until, None);
        let delivered = notice(&event("ItemDelivered", json!({"title": "Beans"}))).unwrap();
        assert_eq!(
            (delivered.title.as_str(), delivered.body.as_str()),
            ("Delivered", "Beans arrived.")
        );
        assert!(notice(&event("SubscriptionChanged", json!({}))).is_none());
    }

    #[test]
    fn devices_added_and_removed_are_named() {
        let body = json!({"model": "RefillBrew-200", "serial": "S1"});
        let added = notice(&event("DeviceRegistered", body.clone())).unwrap();
        assert_eq!(added.kind, NoticeKind::DeviceAdded);
        assert_eq!(
            added.body,
            "RefillBrew-200 S1 can now reorder its supplies."
        );
        let silent = notice(&EventView {
            at: time::macros::datetime!(2026-12-03 10:00 UTC),
            ..event(
                "DeviceSilent",
                json!({"name": "Brewmaster 200", "model": "RefillBrew-200", "serial": "S1", "since": "2026-12-01T08:00:00Z"}),
            )
        })
        .unwrap();
        assert_eq!(silent.kind, NoticeKind::DeviceSilent);
        assert_eq!(silent.title, "Brewmaster 200 is not reporting");
        assert!(
            silent.body.starts_with("Nothing from it for 2 days."),
            "{}",
            silent.body
        );
        let removed = notice(&event("DeviceDeregistered", body)).unwrap();
        assert_eq!(removed.kind, NoticeKind::DeviceRemoved);
        assert_eq!(removed.body, "RefillBrew-200 S1 no longer orders for you.");
    }

    #[test]
    fn many_missed_events_make_one_summary() {
        let missed: Vec<Notice> = ["Order placed", "Shipped", "Delivered", "Order placed"]
            .iter()
            .enumerate()
            .map(|(i, t)| Notice {
                id: i as i64 + 1,
                title: (*t).to_owned(),
                ..problem("x", &AppError::new(ErrorCode::ServiceError, ""))
            })
            .collect();
        let s = summary(&missed);
        assert_eq!(s.title, "4 updates while Refill was closed");
        assert_eq!(
            s.body,
            "Order placed, Delivered, Shipped and 1 more. Open the inbox to see them."
        );
        assert_eq!(s.id, 4);
    }

    #[test]
    fn the_inbox_keeps_the_newest_once() {
        let mut saved = Saved::default();
        let n = |id| Notice {
            id,
            ..problem("x", &AppError::new(ErrorCode::ServiceError, ""))
        };
        saved.add((1..=60).map(n));
        saved.add([n(60), n(59)]);
        assert_eq!(saved.notices.len(), INBOX_SIZE);
        assert_eq!(saved.notices[0].id, 60);
        assert_eq!(saved.notices[1].id, 59);
        saved.read_up_to = 55;
        assert_eq!(saved.inbox().unread, 5);
    }

    #[test]
    fn a_smart_reorder_refused_by_a_limit_says_which() {
        let n = notice(&event(
            "ReorderRefused",
            json!({"slotName": "Coffee beans", "asin": "B0RFBEAN01", "model": "brew",
                   "serial": "S1", "slotId": "brew-beans",
                   "message": "Over the monthly limit set for this Brewmaster: $40.00 of $50.00 used, and this costs $18.99."}),
        ))
        .unwrap();
        assert_eq!(n.kind, NoticeKind::ReorderRefused);
        assert_eq!(n.title, "Coffee beans: not reordered");
        assert!(n.body.starts_with("Over the monthly limit"));
        assert_eq!(n.slot.unwrap().slot_id, "brew-beans");
    }

    #[test]
    fn an_order_that_could_not_be_sent_says_where_and_why() {
        let n = notice(&event(
            "HandoverFailed",
            json!({"title": "Coffee beans", "eventInstanceId": "o1",
                   "to": "http://ha.home:8123/api/webhook/refill",
                   "problem": "Could not send this order to http://ha.home:8123/api/webhook/refill: it answered 500 Internal Server Error."}),
        ))
        .unwrap();
        assert_eq!(n.kind, NoticeKind::Problem);
        assert_eq!(n.title, "Order not sent");
        assert!(
            n.body
                .starts_with("Could not send this order to http://ha.home"),
            "{}",
            n.body
        );
    }

    #[test]
    fn a_press_that_asks_first_is_a_notice_with_its_request_until_answered() {
        let asked_body = json!({"approvalId": "refill.v1.a.1", "asin": "B0RFBEAN01",
            "title": "Coffee beans", "status": "pending",
            "price": {"amountMinor": 1899, "currency": "USD"},
            "deviceName": "FreshCool smart fridge"});
        let asked = notice(&event("ApprovalRequested", asked_body)).unwrap();
        assert_eq!(asked.kind, NoticeKind::ApprovalNeeded);
        assert_eq!(asked.title, "FreshCool smart fridge asks to order");
        assert_eq!(
            asked.body,
            "Coffee beans, $18.99. Approve or decline it here."
        );
        assert_eq!(asked.approval_id.as_deref(), Some("refill.v1.a.1"));
        let risen = notice(&event(
            "ApprovalRequested",
            json!({"approvalId": "refill.v1.a.2", "title": "Coffee beans",
                "price": {"amountMinor": 2199, "currency": "USD"},
                "previousPrice": {"amountMinor": 1899, "currency": "USD"},
                "deviceName": "FreshCool smart fridge"}),
        ))
        .unwrap();
        assert_eq!(
            risen.body,
            "Coffee beans, $21.99 (you paid $18.99 last time). Approve or decline it here."
        );

        let decided = |id: i64, status: &str| {
            let mut n = notice(&event(
                "ApprovalDecided",
                json!({"approvalId": "refill.v1.a.1", "asin": "B0RFBEAN01",
                    "title": "Coffee beans", "status": status,
                    "deviceName": "FreshCool smart fridge"}),
            ))
            .unwrap();
            n.id = id;
            n
        };
        let expired = decided(9, "expired");
        assert_eq!(expired.kind, NoticeKind::ApprovalExpired);
        assert_eq!(expired.title, "Not approved in time");
        assert_eq!(
            expired.body,
            "Coffee beans from FreshCool smart fridge: nothing was ordered."
        );
        assert_eq!(decided(9, "approved").kind, NoticeKind::ApprovalAnswered);
        assert_eq!(decided(9, "declined").title, "Declined");

        // In the inbox: the request keeps its buttons until it is answered; the answer itself
        // is not kept (the customer gave it), an expiry is.
        let mut saved = Saved::default();
        saved.add([asked.clone()]);
        assert!(saved.notices[0].approval_id.is_some());
        saved.add([decided(8, "approved")]);
        assert_eq!(saved.notices.len(), 1);
        assert_eq!(saved.notices[0].approval_id, None);
        let mut again = Saved::default();
        again.add([asked, expired]);
        assert_eq!(again.notices.len(), 2);
        assert_eq!(again.notices[0].kind, NoticeKind::ApprovalExpired);
        assert_eq!(again.notices[1].approval_id, None);
    }
}
