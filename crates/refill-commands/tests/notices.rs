//! The app following the service's events: notices raised once each across a dropped stream, a
//! service restart and an app restart; the inbox; the device slot and order list commands.
//! Real service over loopback HTTP, real SQLite.

use refill_client::Client;
use refill_commands::{AppConfig, AppCore, Notice, NoticeKind, Platform};
use refill_service::{start, RunningService, ServiceConfig};
use refill_wire::{OrderState, SlotMode, SlotSettings};
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;
use tokio::sync::broadcast::Receiver;

const BEANS: &str = "B0RFBEAN01";
const FILTER: &str = "B0RFWATR02";

async fn service(db: &Path, listen: SocketAddr) -> RunningService {
    let mut config = ServiceConfig::sandbox(db);
    config.listen = listen;
    config.deliver_every = None;
    start(config).await.unwrap()
}

fn app(dir: &Path, url: &str) -> AppCore {
    AppCore::new(
        AppConfig {
            data_dir: dir.to_owned(),
            service_url: Some(url.to_owned()),
            auth_provider: None,
            config_dir: None,
            downloads_dir: None,
        },
        Platform::headless(),
    )
}

/// The next notice, within 10 s.
async fn next(rx: &mut Receiver<Notice>) -> Notice {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("a notice within 10 s")
        .unwrap()
}

/// No notice for `wait`.
async fn quiet(rx: &mut Receiver<Notice>, wait: Duration) {
    if let Ok(n) = tokio::time::timeout(wait, rx.recv()).await {
        panic!("no notice expected, got {n:?}");
    }
}

/// Waits until the follower has looked at the events once (its cursor is on disk).
async fn until_following(dir: &Path) {
    for _ in 0..100 {
        if dir.join(refill_commands::notices::FILE).exists() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the follower never started");
}

#[tokio::test]
async fn every_event_is_told_once_across_a_dropped_stream_and_an_app_restart() {
    let data = tempfile::tempdir().unwrap();
    let app_dir = tempfile::tempdir().unwrap();
    let db = data.path().join("service.sqlite");
    let running = service(&db, "127.0.0.1:0".parse().unwrap()).await;
    let addr: SocketAddr = running.base_url()["http://".len()..].parse().unwrap();
    let url = running.base_url();
    let other = Client::new(&url); // another device of the same customer

    let core = app(app_dir.path(), &url);
    let mut rx = core.notices();
    core.follow_events();
    until_following(app_dir.path()).await;
    // The sandbox's history is not news: nothing is raised for it.
    quiet(&mut rx, Duration::from_millis(300)).await;

    let placed = core.press_button(BEANS.into(), None).await.unwrap();
    let n = next(&mut rx).await;
    assert_eq!(n.kind, NoticeKind::OrderPlaced);
    assert_eq!(n.title, "Order placed");
    assert!(
        n.body.starts_with("Refill Roasters Whole Bean Coffee"),
        "{}",
        n.body
    );
    assert_eq!(
        n.event_instance_id.as_deref(),
        Some(placed.event_instance_id.as_str())
    );
    assert!(
        n.cancellable_until.is_some(),
        "a placed order can be cancelled"
    );

    // The service goes away (the stream breaks) and comes back on the same database; an order
    // placed before the app reconnects still reaches it, once.
    running.shutdown().await;
    let running = service(&db, addr).await;
    let second = other.press(FILTER).await.unwrap();
    let n = next(&mut rx).await;
    assert_eq!(
        n.event_instance_id.as_deref(),
        Some(second.event_instance_id.as_str())
    );
    quiet(&mut rx, Duration::from_millis(700)).await;

    // The app closes; four things happen; the app opens again: one summary, all four in the inbox.
    core.shutdown().await;
    drop(rx);
    other.cancel(&placed.event_instance_id).await.unwrap();
    other.cancel(&second.event_instance_id).await.unwrap();
    let third = other.press(BEANS).await.unwrap();
    other.cancel(&third.event_instance_id).await.unwrap();
    let core = app(app_dir.path(), &url);
    let mut rx = core.notices();
    core.follow_events();
    let summary = next(&mut rx).await;
    assert_eq!(summary.kind, NoticeKind::Summary);
    assert_eq!(summary.title, "4 updates while Refill was closed");
    quiet(&mut rx, Duration::from_millis(500)).await;
    let inbox = core.inbox();
    let kinds: Vec<NoticeKind> = inbox.notices.iter().take(6).map(|n| n.kind).collect();
    assert_eq!(
        kinds,
        [
            NoticeKind::Cancelled,
            NoticeKind::OrderPlaced,
            NoticeKind::Cancelled,
            NoticeKind::Cancelled,
            NoticeKind::OrderPlaced,
            NoticeKind::OrderPlaced,
        ]
    );
    let mut ids: Vec<i64> = inbox.notices.iter().map(|n| n.id).collect();
    ids.dedup();
    assert_eq!(ids.len(), inbox.notices.len(), "no notice twice");
    assert!(inbox.unread >= 6);
    let read = core.mark_inbox_read(inbox.notices[0].id);
    assert_eq!(read.unread, 0);

    // Live again after the catch-up.
    core.press_button(BEANS.into(), None).await.unwrap();
    assert_eq!(next(&mut rx).await.kind, NoticeKind::OrderPlaced);
    assert_eq!(core.inbox().unread, 1);
    core.shutdown().await;
    running.shutdown().await;
}

#[tokio::test]
async fn signing_out_forgets_the_inbox() {
    let data = tempfile::tempdir().unwrap();
    let app_dir = tempfile::tempdir().unwrap();
    let running = service(
        &data.path().join("s.sqlite"),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await;
    let core = app(app_dir.path(), &running.base_url());
    let mut rx = core.notices();
    core.follow_events();
    until_following(app_dir.path()).await;
    core.press_button(BEANS.into(), None).await.unwrap();
    next(&mut rx).await;
    assert!(!core.inbox().notices.is_empty());
    // Not signed in to this sandbox service: signing out only forgets what the app kept.
    let _ = core.sign_out().await;
    assert!(core.inbox().notices.is_empty());
    core.shutdown().await;
    running.shutdown().await;
}

#[tokio::test]
async fn a_slot_can_be_read_and_switched_to_reorder_and_orders_are_listed() {
    let app_dir = tempfile::tempdir().unwrap();
    let core = AppCore::new(
        AppConfig {
            data_dir: app_dir.path().to_owned(),
            service_url: None,
            auth_provider: None,
            config_dir: None,
            downloads_dir: None,
        },
        Platform::headless(),
    );
    let devices = core.list_devices().await.unwrap().devices;
    let brew = devices
        .iter()
        .find(|d| d.slots.iter().any(|s| s.slot_id == "brew-beans"))
        .expect("the sandbox has a coffee maker");
    let slot = core
        .slot_inventory(brew.model.clone(), brew.serial.clone(), "brew-beans".into())
        .await
        .unwrap();
    assert_eq!(slot.name, "Coffee beans");
    let other = if slot.mode == SlotMode::Notify {
        SlotMode::Reorder
    } else {
        SlotMode::Notify
    };
    let changed = core
        .change_slot(
            brew.model.clone(),
            brew.serial.clone(),
            "brew-beans".into(),
            SlotSettings {
                mode: Some(other),
                minimum: Some(Some(100.0)),
                ..SlotSettings::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(changed.mode, other);
    assert_eq!(changed.minimum, Some(100.0));
    let unknown = core
        .slot_inventory(
            brew.model.clone(),
            brew.serial.clone(),
            "no-such-slot".into(),
        )
        .await
        .unwrap_err();
    assert!(
        unknown.message.contains("no-such-slot"),
        "{}",
        unknown.message
    );

    let placed = core.press_button(BEANS.into(), None).await.unwrap();
    let orders = core.list_orders().await.unwrap().orders;
    assert_eq!(
        orders[0].event_instance_id, placed.event_instance_id,
        "newest first"
    );
    assert_eq!(orders[0].status, OrderState::Placed);
    assert!(orders.len() > 1, "the sandbox's history is listed too");
    assert!(orders.windows(2).all(|w| w[0].placed_at >= w[1].placed_at));
    core.shutdown().await;
}

/// The sandbox fridge (which asks first) pressed on its screen: the app is asked, answers, and
/// the order is placed; a second press is declined, and nothing more is ordered.
#[tokio::test]
async fn a_press_that_asks_first_reaches_the_app_which_approves_or_declines_it() {
    let data = tempfile::tempdir().unwrap();
    let app_dir = tempfile::tempdir().unwrap();
    let running = service(
        &data.path().join("service.sqlite"),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await;
    let url = running.base_url();
    let core = app(app_dir.path(), &url);
    let mut rx = core.notices();
    core.follow_events();
    until_following(app_dir.path()).await;

    let (token, _) = refill_service::sandbox::fridge_token(
        running.store(),
        time::OffsetDateTime::now_utc(),
        time::Duration::hours(1),
    )
    .await
    .unwrap()
    .unwrap();
    let http = reqwest::Client::new();
    let press = |asin: &str, key: &str| {
        http.post(format!("{url}/v1/screen/buttons/{asin}/press"))
            .bearer_auth(&token)
            .header("Idempotency-Key", key)
            .send()
    };
    let pressed: serde_json::Value = press(BEANS, "k-1").await.unwrap().json().await.unwrap();
    assert_eq!(pressed["detailCode"], "APPROVAL_REQUIRED");

    let asked = next(&mut rx).await;
    assert_eq!(asked.kind, NoticeKind::ApprovalNeeded);
    assert_eq!(asked.title, "FreshCool smart fridge asks to order");
    let id = asked.approval_id.clone().expect("the request to answer");
    assert!(
        core.settings().raises(&asked),
        "always raised: the device waits"
    );
    assert_eq!(core.approvals().await.unwrap()[0].id, id);
    let inbox = core.inbox();
    assert_eq!(inbox.notices[0].approval_id.as_deref(), Some(id.as_str()));

    let approved = core.decide_approval(id.clone(), true).await.unwrap();
    assert_eq!(approved.status, refill_wire::ApprovalStatus::Approved);
    let mut kinds = [next(&mut rx).await, next(&mut rx).await];
    kinds.sort_by_key(|n| n.id);
    assert_eq!(kinds[0].kind, NoticeKind::OrderPlaced);
    assert_eq!(kinds[1].kind, NoticeKind::ApprovalAnswered);
    assert!(
        !core.settings().raises(&kinds[1]),
        "the customer answered it"
    );
    // The inbox's request has no buttons any more.
    let inbox = core.inbox();
    let kept = inbox
        .notices
        .iter()
        .find(|n| n.kind == NoticeKind::ApprovalNeeded)
        .unwrap();
    assert_eq!(kept.approval_id, None);
    assert!(inbox
        .notices
        .iter()
        .all(|n| n.kind != NoticeKind::ApprovalAnswered));
    // Answered twice: said in words.
    let again = core.decide_approval(id, false).await.unwrap_err();
    assert!(
        again.message.contains("approved already"),
        "{}",
        again.message
    );

    // Declined: nothing ordered.
    press(FILTER, "k-2").await.unwrap();
    let asked = next(&mut rx).await;
    let declined = core
        .decide_approval(asked.approval_id.unwrap(), false)
        .await
        .unwrap();
    assert!(declined.order.is_none());
    let orders = core.list_orders().await.unwrap();
    assert!(orders
        .orders
        .iter()
        .all(|o| o.asin != FILTER || o.status != OrderState::Placed));
}

/// A reorder from a notification or the tray at a price that rose more than 10 %: nothing is
/// ordered, a notice says both prices and names the price now, and ordering at that price works.
#[tokio::test]
async fn a_reorder_from_outside_the_window_at_a_risen_price_waits_for_the_customer() {
    let data = tempfile::tempdir().unwrap();
    let app_dir = tempfile::tempdir().unwrap();
    let running = service(
        &data.path().join("service.sqlite"),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await;
    let core = app(app_dir.path(), &running.base_url());
    let mut rx = core.notices();
    sqlx::query("UPDATE products SET price_minor = 2199 WHERE asin = $1")
        .bind(BEANS)
        .execute(running.store().pool())
        .await
        .unwrap();

    core.reorder_unattended(BEANS.into(), None, "reorder").await;
    let rose = next(&mut rx).await;
    assert_eq!(rose.kind, NoticeKind::PriceRose);
    assert_eq!(rose.title, "Price went up: not ordered yet");
    assert!(rose.body.contains("$21.99 now"), "{}", rose.body);
    assert!(
        rose.body.contains("$18.99 you paid last time"),
        "{}",
        rose.body
    );
    assert_eq!(rose.confirm_price, Some(2199));
    assert!(core.settings().raises(&rose));
    let placed = |orders: &refill_wire::OrderList| {
        orders
            .orders
            .iter()
            .filter(|o| o.asin == BEANS && o.status == OrderState::Placed)
            .count()
    };
    assert_eq!(placed(&core.list_orders().await.unwrap()), 0);

    // "Order anyway": at the price the notice named.
    core.reorder_unattended(BEANS.into(), rose.confirm_price, "order")
        .await;
    assert_eq!(placed(&core.list_orders().await.unwrap()), 1);
    // From the tray again: already on its way, said so.
    core.order_from_tray(BEANS.into()).await;
    let told = next(&mut rx).await;
    assert_eq!(told.title, "Already ordered");
}
