//! Inventory per slot over real HTTP: DRS SlotStatus and Alexa-style sensor events feed it;
//! the 3-report low rule, notify-only and smart-reorder modes, the customer's settings, the
//! event list.

mod common;

use common::{
    database, device_token, device_tokens, drs, fresh, json_of, refresh, replenish, sandbox,
    start_with, Fixture,
};
use refill_core::Clock;
use reqwest::Method;
use serde_json::{json, Value};
use time::Duration;

const SLOT_STATUS: (&str, &str) = ("DrsSlotStatusInput@1.0", "DrsSlotStatusResult@1.0");
const BEANS: &str = "/v1/devices/RefillBrew-200/{serial}/slots/brew-beans";

async fn slot_status(f: &Fixture, token: &str, slot: &str, remaining: f64) {
    let body = json!({ "remainingQuantityInUnit": remaining, "originalQuantityInUnit": 500 });
    let (status, _, answer) = drs(
        f,
        Method::POST,
        &format!("/slotStatus/{slot}"),
        token,
        SLOT_STATUS,
        Some(&body.to_string()),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
}

async fn events(f: &Fixture, after: i64) -> Vec<Value> {
    let list: Value = f
        .http
        .get(f.url(&format!("/v1/events?after={after}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    list["events"].as_array().unwrap().clone()
}

/// The id of the customer's newest event (0: none yet).
async fn last_event(f: &Fixture) -> i64 {
    events(f, 0)
        .await
        .last()
        .map_or(0, |e| e["id"].as_i64().unwrap())
}

fn kinds(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["kind"].as_str().unwrap()).collect()
}

async fn slot(f: &Fixture, serial: &str) -> Value {
    let res = f
        .http
        .get(f.url(&BEANS.replace("{serial}", serial)))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

async fn change(f: &Fixture, serial: &str, body: &str) -> (u16, Value) {
    let res = f
        .http
        .patch(f.url(&BEANS.replace("{serial}", serial)))
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

#[tokio::test]
async fn a_slot_is_low_on_the_third_low_report_and_notifies_once() {
    let f = sandbox().await;
    let token = device_token(&f, "INV-1", false).await;
    let start = last_event(&f).await;
    // Beans: 500 g; with no use known yet, a fill is taken to last a month (16.7 g a day):
    // 2 days' delivery + three daily reports, at 98 %, is about 125 g.
    slot_status(&f, &token, "brew-beans", 400.0).await;
    slot_status(&f, &token, "brew-beans", 130.0).await;
    slot_status(&f, &token, "brew-beans", 80.0).await;
    slot_status(&f, &token, "brew-beans", 70.0).await;
    assert!(
        kinds(&events(&f, start).await).is_empty(),
        "two low reports are not yet low"
    );
    slot_status(&f, &token, "brew-beans", 60.0).await;
    let low = events(&f, start).await;
    assert_eq!(kinds(&low), ["LowSupply"]);
    assert_eq!(low[0]["body"]["slotId"], "brew-beans");
    assert_eq!(low[0]["body"]["slotName"], "Coffee beans");
    assert_eq!(low[0]["body"]["remaining"], 60.0);
    assert_eq!(low[0]["body"]["unit"], "g");
    // More low reports do not notify again; a refill and three new low reports do.
    slot_status(&f, &token, "brew-beans", 50.0).await;
    slot_status(&f, &token, "brew-beans", 500.0).await;
    for level in [75.0, 70.0, 65.0] {
        slot_status(&f, &token, "brew-beans", level).await;
    }
    assert_eq!(kinds(&events(&f, start).await), ["LowSupply", "LowSupply"]);
    // Notify-only places no order.
    let orders: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM orders WHERE source = 'replenish'")
        .fetch_one(f.service.store().pool())
        .await
        .unwrap();
    assert_eq!(orders, 0);

    let view = slot(&f, "INV-1").await;
    assert_eq!(view["remaining"], 65.0);
    assert_eq!(view["mode"], "notify");
    assert_eq!(view["low"], true);
    assert_eq!(view["levels"].as_array().unwrap().len(), 10);
}

#[tokio::test]
async fn in_smart_reorder_mode_the_third_low_report_places_one_order() {
    let f = sandbox().await;
    let token = device_token(&f, "INV-2", false).await;
    let (status, view) = change(&f, "INV-2", r#"{"mode":"reorder","target":1200}"#).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(
        (view["mode"].as_str(), view["target"].as_f64()),
        (Some("reorder"), Some(1200.0))
    );
    let start = last_event(&f).await;
    for level in [90.0, 80.0, 70.0, 60.0, 50.0] {
        slot_status(&f, &token, "brew-beans", level).await;
    }
    let happened = events(&f, start).await;
    assert_eq!(
        kinds(&happened),
        ["OrderPlaced"],
        "one order, no low-supply notification"
    );
    assert_eq!(happened[0]["body"]["slotId"], "brew-beans");
    // Up to the target of 1200 g from 70 g left: 1130 g in 1 kg packs = 2 packs.
    assert_eq!(happened[0]["body"]["quantity"], 2);
    let id = happened[0]["body"]["eventInstanceId"].as_str().unwrap();
    // Placed as a replenish call would: the device's next replenish finds it in progress.
    let (status, body) = replenish(&f, &token, "brew-beans").await;
    assert_eq!(status, 200);
    assert_eq!(body["detailCode"], "ORDER_INPROGRESS");
    assert_eq!(body["eventInstanceId"], id);
}

/// Sets the customer's limits for the coffee maker `serial`.
async fn set_limits(f: &Fixture, serial: &str, limits: Value) {
    let res = f
        .http
        .put(f.url(&format!("/v1/devices/RefillBrew-200/{serial}/limits")))
        .json(&limits)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn smart_reorders_and_a_devices_own_orders_keep_to_the_customers_say() {
    let f = sandbox().await;
    let token = device_token(&f, "INV-SAY", false).await;
    change(&f, "INV-SAY", r#"{"mode":"reorder","target":1200}"#).await;
    // Two packs of beans would cost $37.98: over a limit of $30 an order, nothing is ordered
    // and the app is told why.
    set_limits(
        &f,
        "INV-SAY",
        json!({"perOrderMinor": 3000, "perMonthMinor": null, "askFirst": false}),
    )
    .await;
    let start = last_event(&f).await;
    for level in [90.0, 80.0, 70.0, 60.0, 50.0] {
        slot_status(&f, &token, "brew-beans", level).await;
    }
    let happened = events(&f, start).await;
    assert_eq!(kinds(&happened), ["ReorderRefused"]);
    let words = happened[0]["body"]["message"].as_str().unwrap();
    assert!(
        words.starts_with("Over the limit per order set for this") && words.contains("$37.98"),
        "{words}"
    );
    assert_eq!(happened[0]["body"]["slotId"], "brew-beans");
    // The device's own replenish call is refused the same way (one pack, $18.99, fits: so
    // with a lower limit).
    set_limits(
        &f,
        "INV-SAY",
        json!({"perOrderMinor": 1000, "perMonthMinor": null, "askFirst": false}),
    )
    .await;
    let (status, body) = replenish(&f, &token, "brew-beans").await;
    assert_eq!(status, 400, "{body}");
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("limit per order"));

    // Asked first: a request instead of an order, the same one for every call meanwhile.
    set_limits(
        &f,
        "INV-SAY",
        json!({"perOrderMinor": null, "perMonthMinor": null, "askFirst": true}),
    )
    .await;
    let start = last_event(&f).await;
    slot_status(&f, &token, "brew-beans", 500.0).await;
    for level in [70.0, 65.0, 60.0] {
        slot_status(&f, &token, "brew-beans", level).await;
    }
    let happened = events(&f, start).await;
    assert_eq!(kinds(&happened), ["ApprovalRequested"]);
    let request = happened[0]["body"]["approvalId"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, body) = replenish(&f, &token, "brew-beans").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["detailCode"], "APPROVAL_REQUIRED");
    assert_eq!(body["eventInstanceId"], request.as_str());
    let orders: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM orders WHERE source = 'replenish'")
        .fetch_one(f.service.store().pool())
        .await
        .unwrap();
    assert_eq!(orders, 0);

    // Approved: the slot's order, of the packs it needed; the device's next call finds it.
    let approved = json_of(
        f.http
            .post(f.url(&format!("/v1/approvals/{request}/approve"))),
    )
    .await;
    assert_eq!(approved["status"], "approved", "{approved}");
    assert_eq!(approved["quantity"], 2);
    let id = approved["order"]["eventInstanceId"].as_str().unwrap();
    let (_, body) = replenish(&f, &token, "brew-beans").await;
    assert_eq!(body["detailCode"], "ORDER_INPROGRESS");
    assert_eq!(body["eventInstanceId"], id);
    // On its way to the slot: its page marks it.
    let marks = slot(&f, "INV-SAY").await["orders"].clone();
    assert_eq!(marks.as_array().unwrap().len(), 1, "{marks}");
    assert_eq!(marks[0]["status"], "placed");
}

/// The daily use a slot's page shows, in g.
async fn daily_use(f: &Fixture, serial: &str) -> f64 {
    slot(f, serial).await["dailyUse"].as_f64().unwrap()
}

#[tokio::test]
async fn the_default_low_point_covers_the_delivery_time() {
    let f = sandbox().await;
    let (mut token, refresh_token) = device_tokens(&f, "INV-3", false).await;
    let start = last_event(&f).await;
    // 25 g a day; delivery takes 2 days and the slot reports daily: low at about 3 days of use
    // and a margin for how both vary, well before it is empty.
    let mut low_at = Vec::new();
    let mut level = 500.0;
    while level >= 0.0 {
        slot_status(&f, &token, "brew-beans", level).await;
        if slot(&f, "INV-3").await["low"] == true {
            low_at.push(level);
        }
        f.clock.advance(Duration::days(1));
        token = refresh(&f, &refresh_token).await;
        if level == 300.0 {
            assert!((daily_use(&f, "INV-3").await - 25.0).abs() < 1.0);
            // 300 g left on Nov 30 at 09:00: 12 days.
            let runs_out = slot(&f, "INV-3").await["runsOut"].clone();
            let day = &runs_out.as_str().unwrap()[..10];
            assert!(["2026-12-11", "2026-12-12"].contains(&day), "{runs_out}");
        }
        level -= 25.0;
    }
    let first = low_at[0];
    assert!((75.0..=150.0).contains(&first), "low from {first} g");
    let happened = events(&f, start).await;
    assert_eq!(kinds(&happened), ["LowSupply"], "said once");
    // Said on the third low report, with the days left as a range around the likely day.
    let low = &happened[0]["body"];
    assert_eq!(low["remaining"], first - 50.0, "{low}");
    let days = |k: &str| low[k].as_f64().unwrap();
    let likely = (first - 50.0) / 25.0;
    assert!((days("daysLeft") - likely).abs() <= 0.5, "{low}");
    assert!(days("daysLeftAtLeast") <= days("daysLeft"), "{low}");
    assert!(days("daysLeftAtMost") >= days("daysLeft"), "{low}");
}

#[tokio::test]
async fn the_customer_sets_a_minimum_and_corrects_the_stock_on_hand() {
    let f = sandbox().await;
    let token = device_token(&f, "INV-4", false).await;
    let (status, view) = change(&f, "INV-4", r#"{"minimum":300,"onHand":250}"#).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(
        (view["minimum"].as_f64(), view["onHand"].as_f64()),
        (Some(300.0), Some(250.0))
    );
    let start = last_event(&f).await;
    for level in [300.0, 290.0, 280.0] {
        slot_status(&f, &token, "brew-beans", level).await;
    }
    assert_eq!(kinds(&events(&f, start).await), ["LowSupply"]);
    // Back to the default threshold; the mode is kept.
    let (_, view) = change(&f, "INV-4", r#"{"minimum":null}"#).await;
    assert_eq!(view["minimum"], Value::Null);
    assert_eq!(view["onHand"], 250.0);
    assert_eq!(view["mode"], "notify");

    // Bad input: 4xx with a message; nothing changes.
    for (body, want) in [
        ("{nope", 400),
        (r#"{"mode":"sometimes"}"#, 400),
        (r#"{"minimum":-5}"#, 400),
        (r#"{"onHand":"lots"}"#, 400),
        (r#"{"colour":"red"}"#, 400),
    ] {
        let (status, answer) = change(&f, "INV-4", body).await;
        assert_eq!(status, want, "{body}: {answer}");
        assert!(answer["message"].is_string(), "{answer}");
    }
    let res = f
        .http
        .patch(f.url("/v1/devices/RefillBrew-200/INV-4/slots/no-such-slot"))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(slot(&f, "INV-4").await["onHand"], 250.0);
    let res = f
        .http
        .get(f.url("/v1/events?after=soon"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
}

/// Issue 17: use in rare lumps as big as most of a pack ran slots dry behind a normal margin,
/// which spreads a lump over every day. The history's heaviest days over the lead time, its
/// spread and the review interval (2 + 0.5 + 3 reports a day apart: 6 days) are covered too.
#[tokio::test]
async fn a_slot_used_in_big_lumps_is_low_while_its_stock_would_not_cover_one() {
    let f = sandbox().await;
    let (_, refresh_token) = device_tokens(&f, "INV-LUMP", false).await;
    // Reports at midnight, so that each one closes a whole day (a day only partly observed,
    // next to a refill, is read at the rate of its observed part).
    let now = f.clock.now();
    f.clock
        .advance(Duration::days(1) - (now - now.replace_time(time::Time::MIDNIGHT)));
    let mut token = refresh(&f, &refresh_token).await;
    // 5 g a day and 400 g on one day in twenty; a fresh pack goes in the day before.
    let mut level: f64 = 500.0;
    for day in 0..62 {
        if day % 20 == 9 {
            level = 500.0;
        }
        level -= if day % 20 == 10 { 400.0 } else { 5.0 };
        slot_status(&f, &token, "brew-beans", level).await;
        f.clock.advance(Duration::days(1));
        token = refresh(&f, &refresh_token).await;
    }
    // The day after a lump: 95 g in the device (reported), 300 g at home. About 25 g a day on
    // average: the normal margin over 5 days of lead time and review is covered by 395 g, but
    // one lump with the small days around it (425 g) is not.
    slot_status(&f, &token, "brew-beans", 95.0).await;
    let (status, view) = change(&f, "INV-LUMP", r#"{"onHand":300}"#).await;
    assert_eq!(status, 200, "{view}");
    let view = slot(&f, "INV-LUMP").await;
    assert_eq!(view["low"], true, "{view}");
    // What the reports stored for the reorder rule says the same.
    let (peak, days): (f64, f64) = sqlx::query_as(
        "SELECT i.forecast_peak, i.forecast_peak_days FROM slot_inventory i \
         JOIN devices d ON d.id = i.device_id WHERE d.serial = 'INV-LUMP'",
    )
    .fetch_one(f.service.store().pool())
    .await
    .unwrap();
    assert_eq!((peak, days), (425.0, 6.0));
    // With a pack more at home, it is not low.
    let (status, view) = change(&f, "INV-LUMP", r#"{"onHand":800}"#).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(slot(&f, "INV-LUMP").await["low"], false);
}

/// Issue 17: smart reorder kept ordering while the home's stock grew, and days on which a slot
/// was empty taught the estimate "no use".
#[tokio::test]
async fn packs_at_home_count_a_refill_takes_one_and_empty_days_are_not_no_use() {
    let f = sandbox().await;
    let (mut token, refresh_token) = device_tokens(&f, "INV-HOME", false).await;
    let (status, view) = change(&f, "INV-HOME", r#"{"mode":"reorder","onHand":1000}"#).await;
    assert_eq!(status, 200, "{view}");
    let start = last_event(&f).await;
    // 25 g a day down to 50 g: low on the device alone, but a 1 kg pack is at home, so
    // nothing is ordered.
    let report = async |level: f64, token: &mut String| {
        slot_status(&f, token, "brew-beans", level).await;
        f.clock.advance(Duration::days(1));
        *token = refresh(&f, &refresh_token).await;
    };
    for level in [250.0, 225.0, 200.0, 175.0, 150.0, 125.0, 100.0, 75.0, 50.0] {
        report(level, &mut token).await;
    }
    let view = slot(&f, "INV-HOME").await;
    assert!(
        (daily_use(&f, "INV-HOME").await - 25.0).abs() < 1.0,
        "{view}"
    );
    assert_eq!(view["low"], false, "{view}");
    assert!(
        !kinds(&events(&f, start).await).contains(&"OrderPlaced"),
        "no order while a pack is at home"
    );
    // Empty for five days: not "no use".
    for _ in 0..5 {
        report(0.0, &mut token).await;
    }
    assert!((daily_use(&f, "INV-HOME").await - 25.0).abs() < 1.0);
    // The pack from home goes in: on hand goes down by one pack.
    report(1000.0, &mut token).await;
    let view = slot(&f, "INV-HOME").await;
    assert_eq!(view["onHand"], 0.0, "{view}");
    assert!((daily_use(&f, "INV-HOME").await - 25.0).abs() < 1.0);

    // Used down again: one order, and what is on its way counts, so the slot is not low while
    // it comes and no second order is placed.
    let mut level = 975.0;
    while !kinds(&events(&f, start).await).contains(&"OrderPlaced") {
        assert!(level > 0.0, "never ordered");
        report(level, &mut token).await;
        level -= 25.0;
    }
    let placed = events(&f, start).await;
    assert_eq!(kinds(&placed), ["OrderPlaced"]);
    // Up to the reorder point + 14 days' use (~ 450 g) from ~ 100 g: one 1 kg pack.
    assert_eq!(placed[0]["body"]["quantity"], 1);
    assert!(level >= 50.0, "ordered at {} g, too late", level + 25.0);
    assert_eq!(slot(&f, "INV-HOME").await["low"], false);
    for _ in 0..3 {
        report(level, &mut token).await;
        level -= 10.0;
    }
    assert_eq!(kinds(&events(&f, start).await), ["OrderPlaced"]);
}

/// Issue 17: the delivery time the reorder rule plans with is learned from each product's
/// deliveries: after a late one, slots of that product are low earlier.
#[tokio::test]
async fn a_late_delivery_makes_the_product_low_earlier() {
    let f = sandbox().await;
    let token = device_token(&f, "INV-LATE", false).await;
    // No use known: 16.7 g a day, 2 days' delivery, low at about 125 g; 150 g is enough.
    slot_status(&f, &token, "brew-beans", 150.0).await;
    assert_eq!(slot(&f, "INV-LATE").await["low"], false);
    // An order of the beans that takes a week instead of two days.
    let (status, body) = replenish(&f, &token, "brew-beans").await;
    assert_eq!(status, 200, "{body}");
    // Shipped when its cancellation window closes, handed over only on the seventh day.
    let store = f.service.store();
    f.clock.advance(Duration::hours(25));
    assert_eq!(store.fulfil(f.clock.now()).await.unwrap().shipped, 1);
    f.clock.advance(Duration::hours(7 * 24 - 25));
    assert_eq!(store.fulfil(f.clock.now()).await.unwrap().delivered, 1);
    let learned: f64 = sqlx::query_scalar("SELECT mean_days FROM lead_times")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert!(
        (learned - 4.5).abs() < 0.01,
        "between 2 and 7 days: {learned}"
    );
    // The same 150 g in another such device now would not last until a new order came.
    let token = device_token(&f, "INV-LATE-2", false).await;
    slot_status(&f, &token, "brew-beans", 150.0).await;
    let view = slot(&f, "INV-LATE-2").await;
    assert_eq!(view["low"], true, "{view}");
}

/// Issue 17: a save made against what a page showed earlier wrote a stale "at home" back over a
/// newer one. Each slot's settings carry a version; a change against an older one is refused.
#[tokio::test]
async fn a_change_made_against_old_values_is_refused_with_the_new_ones() {
    let f = sandbox().await;
    let token = device_token(&f, "INV-VER", false).await;
    slot_status(&f, &token, "brew-beans", 400.0).await;
    let seen = slot(&f, "INV-VER").await;
    let v0 = seen["version"].as_i64().unwrap();
    // Another window corrects the stock at home.
    let (status, view) = change(
        &f,
        "INV-VER",
        &format!(r#"{{"onHand":2564.9,"version":{v0}}}"#),
    )
    .await;
    assert_eq!(status, 200, "{view}");
    let v1 = view["version"].as_i64().unwrap();
    assert!(v1 > v0);
    // The first page, still showing the old stock, switches the mode: refused, in words, with
    // the values as they are now; nothing changes.
    let (status, answer) = change(
        &f,
        "INV-VER",
        &format!(r#"{{"mode":"reorder","onHand":0,"version":{v0}}}"#),
    )
    .await;
    assert_eq!(status, 409, "{answer}");
    assert_eq!(answer["code"], "slot_changed");
    let message = answer["message"].as_str().unwrap();
    assert!(message.contains("2564.9 g at home"), "{message}");
    let now = slot(&f, "INV-VER").await;
    assert_eq!(
        (now["onHand"].as_f64(), now["mode"].as_str()),
        (Some(2564.9), Some("notify"))
    );
    // A delivery moves the version too.
    let (status, view) = change(
        &f,
        "INV-VER",
        &format!(r#"{{"mode":"reorder","version":{v1}}}"#),
    )
    .await;
    assert_eq!(status, 200, "{view}");
    let v2 = view["version"].as_i64().unwrap();
    let body = json!({ "remainingQuantityInUnit": 380, "originalQuantityInUnit": 500, "totalQuantityOnHand": 1000 });
    let (status, _, _) = drs(
        &f,
        Method::POST,
        "/slotStatus/brew-beans",
        &token,
        SLOT_STATUS,
        Some(&body.to_string()),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = change(
        &f,
        "INV-VER",
        &format!(r#"{{"minimum":100,"version":{v2}}}"#),
    )
    .await;
    assert_eq!(
        status, 409,
        "the device's report of its stock at home changed it"
    );
    // Without a version, a change is taken as it is (older clients).
    let (status, view) = change(&f, "INV-VER", r#"{"minimum":100}"#).await;
    assert_eq!(status, 200);
    assert_eq!(view["minimum"], 100.0);
}

/// The slot's page says when it runs out as a range, how much history that rests on, and when
/// an empty slot ran out.
#[tokio::test]
async fn the_forecast_is_a_range_and_an_empty_slot_says_when_it_ran_out() {
    let f = sandbox().await;
    let (mut token, refresh_token) = device_tokens(&f, "INV-FC", false).await;
    let report = async |level: f64, token: &mut String| {
        slot_status(&f, token, "brew-beans", level).await;
        f.clock.advance(Duration::days(1));
        *token = refresh(&f, &refresh_token).await;
    };
    // Three days: too little history, the usual use speaks.
    for level in [900.0, 860.0, 820.0] {
        report(level, &mut token).await;
    }
    let view = slot(&f, "INV-FC").await;
    assert!(
        view["forecast"]["historyDays"].as_u64().unwrap() < 7,
        "{view}"
    );
    assert_eq!(view["forecast"]["demand"], Value::Null);
    assert!(view["forecast"]["usualUse"].as_f64().unwrap() > 0.0);
    // Two weeks at 40 g a day: a run-out range around 800 / 40 = 20 days ahead.
    for day in 0..14 {
        report(780.0 - 40.0 * f64::from(day), &mut token).await;
    }
    let view = slot(&f, "INV-FC").await;
    let forecast = &view["forecast"];
    assert_eq!(forecast["demand"], "smooth", "{view}");
    assert!(forecast["historyDays"].as_u64().unwrap() >= 14, "{view}");
    let earliest = forecast["earliest"].as_str().unwrap();
    let latest = forecast["latest"].as_str().unwrap();
    assert!(
        earliest <= view["runsOut"].as_str().unwrap() && latest >= earliest,
        "{view}"
    );
    let likely = forecast["likely"].as_str().unwrap();
    assert!(earliest <= likely && likely <= latest, "{view}");
    assert!(
        (forecast["rate"].as_f64().unwrap() - 40.0).abs() < 1.0,
        "{view}"
    );
    assert_eq!(forecast["ranOut"], Value::Null);
    assert_eq!(forecast["silentSince"], Value::Null, "it reports daily");
    // Silent for two days: said, from its last report, and the range widens.
    let last = forecast["lastReport"].clone();
    f.clock.advance(Duration::days(2));
    let silent = slot(&f, "INV-FC").await;
    assert_eq!(silent["forecast"]["silentSince"], last, "{silent}");
    assert!(
        silent["forecast"]["earliest"].as_str().unwrap() < earliest,
        "{silent}"
    );
    token = refresh(&f, &refresh_token).await;
    // Empty: it says since when.
    let ran_out_at = f.clock.now();
    report(0.0, &mut token).await;
    report(0.0, &mut token).await;
    let view = slot(&f, "INV-FC").await;
    let ran_out = view["forecast"]["ranOut"].as_str().unwrap();
    assert_eq!(
        time::OffsetDateTime::parse(ran_out, &time::format_description::well_known::Rfc3339)
            .unwrap(),
        ran_out_at
    );
    assert_eq!(view["forecast"]["earliest"], Value::Null);
}

/// A device that goes silent is told of once per silence; its first report back starts anew.
#[tokio::test]
async fn a_silent_device_is_told_of_once_per_silence() {
    let f = sandbox().await;
    let (mut token, refresh_token) = device_tokens(&f, "INV-QUIET", false).await;
    for level in [900.0, 880.0, 860.0, 840.0, 820.0] {
        slot_status(&f, &token, "brew-beans", level).await;
        f.clock.advance(Duration::hours(6));
        token = refresh(&f, &refresh_token).await;
    }
    let store = f.service.store();
    // Six hours after its last report: its usual interval, not silence.
    assert_eq!(store.watch_silence(f.clock.now()).await.unwrap(), 0);
    let start = last_event(&f).await;
    f.clock.advance(Duration::hours(7));
    assert_eq!(store.watch_silence(f.clock.now()).await.unwrap(), 1);
    assert_eq!(store.watch_silence(f.clock.now()).await.unwrap(), 0, "once");
    let told = events(&f, start).await;
    assert_eq!(kinds(&told), ["DeviceSilent"]);
    assert_eq!(told[0]["body"]["serial"], "INV-QUIET");
    let view = slot(&f, "INV-QUIET").await;
    assert_eq!(told[0]["body"]["since"], view["forecast"]["lastReport"]);
    assert_eq!(
        view["forecast"]["silentSince"],
        view["forecast"]["lastReport"]
    );
    // Back: the page stops saying so; a later silence is told again.
    token = refresh(&f, &refresh_token).await;
    slot_status(&f, &token, "brew-beans", 800.0).await;
    assert_eq!(
        slot(&f, "INV-QUIET").await["forecast"]["silentSince"],
        Value::Null
    );
    f.clock.advance(Duration::days(1));
    assert_eq!(store.watch_silence(f.clock.now()).await.unwrap(), 1);
}

/// Regression: the writer keeps the slot states its reports left between batches; a change made
/// elsewhere in between (the customer's settings, a delivery) must reach the next report,
/// not be written over by the kept copy.
#[tokio::test]
async fn reports_start_from_what_changed_since_the_last_report() {
    let f = sandbox().await;
    let token = device_token(&f, "INV-5", false).await;
    slot_status(&f, &token, "brew-beans", 400.0).await;
    let (status, view) = change(
        &f,
        "INV-5",
        r#"{"mode":"reorder","minimum":300,"target":1200,"onHand":250}"#,
    )
    .await;
    assert_eq!(status, 200, "{view}");
    slot_status(&f, &token, "brew-beans", 390.0).await;
    let view = slot(&f, "INV-5").await;
    assert_eq!(view["onHand"], 250.0, "{view}");
    assert_eq!(view["remaining"], 390.0, "{view}");

    // The new mode and minimum decide the third low report: an order, not a notice.
    let start = last_event(&f).await;
    for level in [290.0, 280.0, 270.0] {
        slot_status(&f, &token, "brew-beans", level).await;
    }
    let happened = events(&f, start).await;
    assert_eq!(kinds(&happened), ["OrderPlaced"]);
    // Up to the target of 1200 g from 270 g left and 250 g on hand: 680 g, one 1 kg pack.
    assert_eq!(happened[0]["body"]["quantity"], 1);

    // The delivery adds its pack to the stock on hand; the next report keeps it.
    let store = f.service.store();
    f.clock.advance(Duration::hours(25));
    store.fulfil(f.clock.now()).await.unwrap();
    f.clock.advance(Duration::days(1));
    assert_eq!(store.fulfil(f.clock.now()).await.unwrap().delivered, 1);
    assert_eq!(slot(&f, "INV-5").await["onHand"], 1250.0);
    let token = device_token(&f, "INV-5", false).await;
    slot_status(&f, &token, "brew-beans", 260.0).await;
    let view = slot(&f, "INV-5").await;
    assert_eq!(
        (view["onHand"].as_f64(), view["remaining"].as_f64()),
        (Some(1250.0), Some(260.0)),
        "{view}"
    );
}

/// `POST /v3/events` as a device sends it to Alexa's event gateway.
async fn sensor(f: &Fixture, token: &str, message: Value) -> (u16, Value) {
    let res = f
        .http
        .post(f.url("/v3/events"))
        .bearer_auth(token)
        .json(&message)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn change_report(instance: &str, value: Value) -> Value {
    json!({
        "context": {},
        "event": {
            "header": { "namespace": "Alexa", "name": "ChangeReport", "payloadVersion": "3", "messageId": "m-1" },
            "endpoint": { "endpointId": "appliance-001" },
            "payload": { "change": { "cause": { "type": "PERIODIC_POLL" }, "properties": [
                { "namespace": "Alexa.InventoryLevelSensor", "instance": instance, "name": "level",
                  "value": value, "timeOfSample": "2026-11-22T09:00:00Z", "uncertaintyInMilliseconds": 0 }
            ] } }
        }
    })
}

fn consumed(namespace: &str, instance: &str, usage: Value) -> Value {
    json!({
        "event": {
            "header": { "namespace": namespace, "name": "InventoryConsumed", "instance": instance,
                        "messageId": "m-2", "payloadVersion": "3" },
            "endpoint": { "endpointId": "appliance-001" },
            "payload": { "usage": usage, "timeOfSample": "2026-11-22T09:00:00Z" }
        }
    })
}

#[tokio::test]
async fn sensor_events_feed_the_inventory_in_the_slots_unit() {
    let f = sandbox().await;
    let token = device_token(&f, "INV-5", false).await;
    // A level in pounds: 0.5 lb of beans = 226.796 g.
    let (status, body) = sensor(
        &f,
        &token,
        change_report(
            "brew-beans",
            json!({"@type": "Weight", "value": 0.5, "unit": "POUND"}),
        ),
    )
    .await;
    assert_eq!(status, 202, "{body}");
    let remaining = slot(&f, "INV-5").await["remaining"].as_f64().unwrap();
    assert!((remaining - 226.796_185).abs() < 1e-3, "{remaining}");
    // Usage: 20 g used, in kilograms.
    let (status, _) = sensor(
        &f,
        &token,
        consumed(
            "Alexa.InventoryUsageSensor",
            "brew-beans",
            json!({"@type": "Weight", "value": 0.02, "unit": "KILOGRAM"}),
        ),
    )
    .await;
    assert_eq!(status, 202);
    let remaining = slot(&f, "INV-5").await["remaining"].as_f64().unwrap();
    assert!((remaining - 206.796_185).abs() < 1e-3, "{remaining}");
    // A level as a percentage of the capacity (500 g).
    sensor(
        &f,
        &token,
        change_report("brew-beans", json!({"@type": "Percentage", "value": 40})),
    )
    .await;
    assert_eq!(slot(&f, "INV-5").await["remaining"], 200.0);
    // The water filter's health, used up and replaced (a level-usage sensor).
    let (status, _) = sensor(
        &f,
        &token,
        consumed(
            "Alexa.InventoryLevelUsageSensor",
            "brew-water-filter",
            json!({"@type": "Percentage", "value": 30}),
        ),
    )
    .await;
    assert_eq!(status, 202);
    let replaced = json!({ "event": {
        "header": { "namespace": "Alexa.InventoryLevelUsageSensor", "name": "InventoryReplaced",
                    "instance": "brew-water-filter", "messageId": "m-3", "payloadVersion": "3" },
        "payload": { "replacedDateTime": "2026-11-22T09:00:00Z" } } });
    assert_eq!(sensor(&f, &token, replaced).await.0, 202);
    let levels: Vec<(f64, String)> = sqlx::query_as(
        "SELECT remaining, source FROM slot_levels WHERE slot_id = 'brew-water-filter' ORDER BY id",
    )
    .fetch_all(f.service.store().pool())
    .await
    .unwrap();
    assert_eq!(
        levels,
        [(0.7, "usage".to_owned()), (1.0, "replaced".to_owned())]
    );
}

#[tokio::test]
async fn bad_sensor_events_are_refused_in_words_and_record_nothing() {
    let f = sandbox().await;
    let token = device_token(&f, "INV-6", false).await;
    let cases = [
        (
            change_report(
                "brew-beans",
                json!({"@type": "Volume", "value": 1, "unit": "LITER"}),
            ),
            "by weight",
        ),
        (
            change_report(
                "brew-beans",
                json!({"@type": "Weight", "value": 1, "unit": "STONE"}),
            ),
            "STONE",
        ),
        (
            change_report(
                "brew-beans",
                json!({"@type": "Weight", "value": -1, "unit": "GRAM"}),
            ),
            "zero or more",
        ),
        (
            change_report("brew-filters", json!({"@type": "Count", "value": 2.5})),
            "whole number",
        ),
        (
            change_report("grinder", json!({"@type": "Count", "value": 1})),
            "brew-beans, brew-filters, brew-water-filter",
        ),
        (
            json!({"event": {"header": {"namespace": "Alexa.PowerController", "name": "TurnOn"}}}),
            "not an inventory event",
        ),
        (json!({"nothing": true}), "no event"),
    ];
    for (message, says) in cases {
        let (status, body) = sensor(&f, &token, message).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["payload"]["code"], "INVALID_REQUEST_EXCEPTION");
        assert!(
            body["message"].as_str().unwrap().contains(says),
            "{says}: {body}"
        );
    }
    let res = f
        .http
        .post(f.url("/v3/events"))
        .bearer_auth(&token)
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let levels: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM slot_levels")
        .fetch_one(f.service.store().pool())
        .await
        .unwrap();
    assert_eq!(levels, 0);

    // A bad token: 401, so the device refreshes it; the token may also come in the event.
    let message = change_report("brew-beans", json!({"@type": "Count", "value": 1}));
    let (status, body) = sensor(&f, "Atza|nope", message.clone()).await;
    assert_eq!(status, 401);
    assert_eq!(body["payload"]["code"], "INVALID_ACCESS_TOKEN_EXCEPTION");
    let mut scoped = change_report("brew-filters", json!({"@type": "Count", "value": 40}));
    scoped["event"]["endpoint"]["scope"] = json!({"type": "BearerToken", "token": token});
    let res = f
        .http
        .post(f.url("/v3/events"))
        .json(&scoped)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
}

#[tokio::test]
async fn orders_ship_after_the_cancel_window_and_deliveries_add_to_the_stock_on_hand() {
    let f = sandbox().await;
    let token = device_token(&f, "INV-7", false).await;
    let start = last_event(&f).await;
    let replenish = ("DrsReplenishInput@1.0", "DrsReplenishResult@1.0");
    let (_, _, placed) = drs(
        &f,
        Method::POST,
        "/replenish/brew-beans",
        &token,
        replenish,
        None,
    )
    .await;
    let id = placed["eventInstanceId"].as_str().unwrap().to_owned();
    let store = f.service.store();

    // Inside the cancel window nothing moves.
    f.clock.advance(Duration::hours(23));
    assert_eq!(store.fulfil(f.clock.now()).await.unwrap().shipped, 0);
    f.clock.advance(Duration::hours(2));
    let done = store.fulfil(f.clock.now()).await.unwrap();
    assert_eq!((done.shipped, done.delivered), (1, 0));
    f.clock.advance(Duration::days(1));
    let done = store.fulfil(f.clock.now()).await.unwrap();
    assert_eq!((done.shipped, done.delivered), (0, 1));
    assert_eq!(
        store.fulfil(f.clock.now()).await.unwrap(),
        Default::default()
    );

    let happened = events(&f, start).await;
    assert_eq!(
        kinds(&happened),
        ["OrderPlaced", "ItemShipped", "ItemDelivered"]
    );
    assert!(happened
        .iter()
        .all(|e| e["body"]["eventInstanceId"] == id.as_str()));
    // One 1 kg pack of beans is now on hand in the home.
    assert_eq!(slot(&f, "INV-7").await["onHand"], 1000.0);
    // The slot can be replenished again.
    let token = device_token(&f, "INV-7", false).await;
    let (_, _, again) = drs(
        &f,
        Method::POST,
        "/replenish/brew-beans",
        &token,
        replenish,
        None,
    )
    .await;
    assert_eq!(again["detailCode"], "STANDARD_ORDER_PLACED");

    // A cancelled order tells so, and never ships.
    let cancelled = f
        .http
        .post(f.url(&format!(
            "/v1/orders/{}/cancel",
            again["eventInstanceId"].as_str().unwrap()
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(cancelled.status(), 200);
    f.clock.advance(Duration::days(5));
    assert_eq!(
        store.fulfil(f.clock.now()).await.unwrap(),
        Default::default()
    );
    let last = events(&f, start).await;
    assert_eq!(last.last().unwrap()["kind"], "OrderCancelled");
    assert_eq!(last.last().unwrap()["body"]["by"], "customer");
}

#[tokio::test]
async fn a_service_that_fulfils_orders_moves_them_on_its_own() {
    let (dir, clock) = fresh();
    let service = start_with(&database(dir.path(), "s").await, clock.clone(), |config| {
        config.fulfil_every = Some(std::time::Duration::from_millis(20));
    })
    .await;
    let http = reqwest::Client::new();
    let placed: Value = http
        .post(format!(
            "{}/v1/buttons/B0RFBEAN01/press",
            service.base_url()
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = placed["eventInstanceId"].as_str().unwrap().to_owned();
    clock.advance(Duration::days(3));
    let url = format!("{}/v1/orders/{id}", service.base_url());
    let mut status = Value::Null;
    for _ in 0..250 {
        let order: Value = http.get(&url).send().await.unwrap().json().await.unwrap();
        status = order["status"].clone();
        if status == "delivered" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(status, "delivered");
    service.shutdown().await;
}

/// Reads server-sent events from `res` until `n` have arrived: (id, kind) pairs.
async fn read_sse(res: &mut reqwest::Response, n: usize) -> Vec<(i64, String)> {
    let mut stream = common::Sse::new(res);
    let mut seen = Vec::new();
    while seen.len() < n {
        seen.push(stream.next().await);
    }
    seen
}

#[tokio::test]
async fn the_event_stream_follows_live_and_catches_up_after_a_dropped_connection() {
    let f = sandbox().await;
    let token = device_token(&f, "INV-8", false).await;
    let start = last_event(&f).await;
    let stream = |last: i64| {
        f.http
            .get(f.url("/v1/events/stream"))
            .header("last-event-id", last.to_string())
            .send()
    };
    let mut res = stream(start).await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "text/event-stream");
    // Live: three low reports, then the notification arrives on the open stream.
    for level in [50.0, 40.0, 30.0] {
        slot_status(&f, &token, "brew-beans", level).await;
    }
    let live = read_sse(&mut res, 1).await;
    assert_eq!(live[0].1, "LowSupply");
    drop(res);

    // While disconnected: an order is placed and ships.
    let replenish = ("DrsReplenishInput@1.0", "DrsReplenishResult@1.0");
    drs(
        &f,
        Method::POST,
        "/replenish/brew-beans",
        &token,
        replenish,
        None,
    )
    .await;
    f.clock.advance(Duration::days(1) + Duration::minutes(1));
    f.service.store().fulfil(f.clock.now()).await.unwrap();

    // Reconnecting after the last event seen brings exactly the missed ones, in order.
    let mut res = stream(live[0].0).await.unwrap();
    let missed = read_sse(&mut res, 2).await;
    let kinds: Vec<&str> = missed.iter().map(|(_, k)| k.as_str()).collect();
    assert_eq!(kinds, ["OrderPlaced", "ItemShipped"]);
    assert!(missed[0].0 > live[0].0 && missed[1].0 > missed[0].0);
    // Nothing more is pending: the next event is a new one.
    f.clock.advance(Duration::days(2));
    f.service.store().fulfil(f.clock.now()).await.unwrap();
    let next = read_sse(&mut res, 1).await;
    assert_eq!(next[0].1, "ItemDelivered");

    let res = f
        .http
        .get(f.url("/v1/events/stream"))
        .header("last-event-id", "yesterday")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
}

/// Regression: reports read the slot before writing, and concurrent ones failed with "database
/// is locked" (a 500) when another writer committed in between.
#[tokio::test]
async fn concurrent_reports_are_all_recorded() {
    let f = sandbox().await;
    let token = device_token(&f, "INV-9", false).await;
    let mut calls = tokio::task::JoinSet::new();
    for i in 0..60 {
        let (http, token) = (f.http.clone(), token.clone());
        let slot = ["brew-beans", "brew-filters"][i % 2];
        let url = f.url(&format!("/slotStatus/{slot}"));
        calls.spawn(async move {
            http.post(url)
                .bearer_auth(token)
                .header(
                    "x-amzn-type-version",
                    format!("{}{}", common::P, SLOT_STATUS.0),
                )
                .header(
                    "x-amzn-accept-type",
                    format!("{}{}", common::P, SLOT_STATUS.1),
                )
                .header("content-type", "application/json")
                .body(format!(r#"{{"remainingQuantityInUnit":{}}}"#, 90 - i))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        });
    }
    let statuses = calls.join_all().await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let levels: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM slot_levels")
        .fetch_one(f.service.store().pool())
        .await
        .unwrap();
    assert_eq!(levels, 60);
}

/// The sandbox's demo: its devices use their supplies and report them through the DRS API; the
/// coffee maker's beans (smart reorder) run low, are ordered, shipped, delivered and loaded,
/// and another slot in notify-only mode raises a low-supply event.
#[tokio::test]
async fn the_sandbox_devices_drain_reorder_and_refill_on_their_own() {
    let (dir, clock) = fresh();
    let service = start_with(
        &database(dir.path(), "demo").await,
        clock.clone(),
        |config| {
            config.fulfil_every = Some(std::time::Duration::from_millis(10));
            config.simulate_every = Some(std::time::Duration::from_millis(10));
        },
    )
    .await;
    let pool = service.store().pool().clone();
    let kinds = || {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, String>("SELECT kind FROM events ORDER BY id")
                .fetch_all(&pool)
                .await
                .unwrap()
        }
    };
    // Three hours of household time per round, until the beans were delivered and loaded.
    let mut rounds = 0;
    while !kinds().await.contains(&"ItemDelivered".to_owned()) {
        rounds += 1;
        assert!(
            rounds < 400,
            "no delivery after {rounds} rounds: {:?}",
            kinds().await
        );
        clock.advance(Duration::hours(3));
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    let happened = kinds().await;
    let position = |kind: &str| happened.iter().position(|k| k == kind).unwrap();
    assert!(position("OrderPlaced") < position("ItemShipped"));
    assert!(position("ItemShipped") < position("ItemDelivered"));
    assert!(happened.contains(&"LowSupply".to_owned()), "{happened:?}");
    // The levels came in through the DRS API, and the beans' order was the device's own.
    let reports: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM slot_levels WHERE source = 'slot_status'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(reports > 10, "{reports}");
    let source: String = sqlx::query_scalar(
        "SELECT source FROM orders WHERE slot_id = 'brew-beans' ORDER BY id DESC LIMIT 1",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(source, "replenish");
    // Then the delivered pack is loaded: the beans' level rises again.
    let mut rose = false;
    for _ in 0..200 {
        let levels: Vec<f64> = sqlx::query_scalar(
            "SELECT l.remaining FROM slot_levels l JOIN devices d ON d.id = l.device_id \
             WHERE d.model_id = 'RefillBrew-200' AND d.serial LIKE 'SANDBOX-%' \
               AND l.slot_id = 'brew-beans' ORDER BY l.id",
        )
        .fetch_all(&pool)
        .await
        .unwrap();
        if levels.windows(2).any(|w| w[1] > w[0] + 100.0) {
            rose = true;
            break;
        }
        clock.advance(Duration::hours(3));
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert!(rose, "the delivered beans were never loaded");
    // Smart reorder kept them stocked: the household's use differs from the model's usual use
    // the forecast starts from, and the beans never ran dry waiting for their first delivery.
    let driest: f64 = sqlx::query_scalar(
        "SELECT MIN(l.remaining) FROM slot_levels l JOIN devices d ON d.id = l.device_id \
         WHERE d.model_id = 'RefillBrew-200' AND d.serial LIKE 'SANDBOX-%' \
           AND l.slot_id = 'brew-beans'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(driest > 0.0, "the beans ran dry");
    // Supplies run low one after another, not all in the same hour: a new customer is not
    // met by a pile of notices.
    let lows: Vec<i64> =
        sqlx::query_scalar("SELECT created_at_ms FROM events WHERE kind = 'LowSupply' ORDER BY id")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert!(!lows.is_empty());
    let first_day = lows[0];
    let same_day = lows
        .iter()
        .filter(|at| **at - first_day < 86_400_000)
        .count();
    assert_eq!(same_day, 1, "{lows:?}");
    service.shutdown().await;
}

/// Issue 17: a sandbox sped up with REFILL_SANDBOX_SPEED started its clock at the wall clock on
/// each launch, so a second launch wrote reports dated before the first launch's last ones and
/// the device page showed two interleaved histories. It now continues after what it recorded.
#[tokio::test]
async fn a_sped_up_sandbox_started_again_continues_after_its_history() {
    let f = sandbox().await;
    let (_, refresh_token) = device_tokens(&f, "INV-FAST", false).await;
    // The first run got a year ahead of the wall clock.
    f.clock.advance(Duration::days(365));
    let token = refresh(&f, &refresh_token).await;
    slot_status(&f, &token, "brew-beans", 300.0).await;
    let recorded = f.clock.now();
    let fast = std::sync::Arc::new(refill_core::FastClock::new(8640.0));
    assert!(fast.now() < recorded);
    let mut config = refill_service::ServiceConfig::sandbox(f.db.clone());
    config.clock = fast.clone();
    config.deliver_every = None;
    let again = refill_service::start(config).await.unwrap();
    assert!(fast.now() > recorded, "{} ≤ {recorded}", fast.now());
    assert!(fast.now() - recorded < Duration::days(1));
    drop(again);
}
