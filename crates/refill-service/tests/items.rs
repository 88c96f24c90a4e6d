//! Issue 17: items without a device, over real HTTP — added from the catalog or by name, size
//! and unit, told of by hand ("Opened a new pack", "Ran out"), forecast from the intervals
//! between pack openings, and low-supply notices, smart reorder and a button exactly like a
//! device's slot.

mod common;

use common::{sandbox, Fixture};
use refill_core::Clock;
use serde_json::{json, Value};
use time::Duration;

async fn post(f: &Fixture, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut req = f.http.post(f.url(path));
    if let Some(body) = body {
        req = req.json(&body);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn get(f: &Fixture, path: &str) -> Value {
    let res = f.http.get(f.url(path)).send().await.unwrap();
    assert_eq!(res.status(), 200, "{path}");
    res.json().await.unwrap()
}

async fn events_after(f: &Fixture, after: i64) -> Vec<Value> {
    get(f, &format!("/v1/events?after={after}")).await["events"]
        .as_array()
        .unwrap()
        .clone()
}

async fn last_event(f: &Fixture) -> i64 {
    events_after(f, 0)
        .await
        .last()
        .map_or(0, |e| e["id"].as_i64().unwrap())
}

/// The names of a listed device's slots, in order.
fn slot_names(device: &Value) -> Vec<&str> {
    device["slots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect()
}

/// The path of an item's slot.
fn slot_path(added: &Value) -> String {
    format!(
        "/v1/devices/{}/{}/slots/{}",
        added["model"].as_str().unwrap(),
        added["serial"].as_str().unwrap(),
        added["item"]["slotId"].as_str().unwrap()
    )
}

#[tokio::test]
async fn items_are_added_from_the_catalog_or_by_name_and_listed_at_home() {
    let f = sandbox().await;
    let catalog = get(&f, "/v1/products").await;
    let dark = catalog["products"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["asin"] == "B0RFBEAN02")
        .unwrap()
        .clone();
    assert_eq!(dark["pack"]["unit"], "g", "{dark}");

    let (status, beans) = post(&f, "/v1/items", Some(json!({"asin": "B0RFBEAN02"}))).await;
    assert_eq!(status, 201, "{beans}");
    assert_eq!(beans["created"], true);
    assert_eq!(beans["item"]["name"], dark["title"]);
    assert_eq!(beans["item"]["unit"], "g");
    assert_eq!(beans["item"]["capacity"], 500.0);
    // The same product again: that item, not a second one.
    let (status, again) = post(&f, "/v1/items", Some(json!({"asin": "B0RFBEAN02"}))).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["created"], false);
    assert_eq!(again["item"]["slotId"], beans["item"]["slotId"]);

    let (status, salt) = post(
        &f,
        "/v1/items",
        Some(json!({"name": "  Dishwasher salt ", "size": 2000, "unit": "g"})),
    )
    .await;
    assert_eq!(status, 201, "{salt}");
    assert_eq!(salt["item"]["name"], "Dishwasher salt");

    // "At home" comes after the devices, with both items, and is never "not reporting".
    let devices = get(&f, "/v1/devices").await["devices"]
        .as_array()
        .unwrap()
        .clone();
    let home = devices.last().unwrap();
    assert_eq!(home["home"], true, "{home}");
    assert_eq!(home["name"], "At home");
    let names = slot_names(home);
    assert_eq!(names, [dark["title"].as_str().unwrap(), "Dishwasher salt"]);
    assert_eq!(home["slots"][0]["product"]["asin"], "B0RFBEAN02");
    assert_eq!(home["slots"][1]["product"], Value::Null);
    assert!(devices[..devices.len() - 1]
        .iter()
        .all(|d| d["home"] == false));

    // The tracked product has a button though it was never ordered, after the ordered ones.
    let tiles = get(&f, "/v1/buttons").await["tiles"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(tiles.last().unwrap()["asin"], "B0RFBEAN02");
    assert_eq!(tiles.last().unwrap()["lastOrderedAt"], Value::Null);
    // ...and keeps it when its last order is over a year old.
    sqlx::query(
        "INSERT INTO orders (event_instance_id, customer_id, asin, kind, source, status, \
             quantity, price_minor, currency, placed_at_ms, expected_delivery_ms, \
             cancellable_until_ms, updated_at_ms) \
         SELECT 'refill.v1.o.long-ago', customer_id, 'B0RFBEAN02', 'standard', 'button', \
                'delivered', 1, 999, 'USD', $1, $1, $1, $1 FROM devices WHERE serial = 'home'",
    )
    .bind((f.clock.now() - Duration::days(400)).unix_timestamp() * 1000)
    .execute(f.service.store().pool())
    .await
    .unwrap();
    let tiles = get(&f, "/v1/buttons").await["tiles"].clone();
    let kept = tiles
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["asin"] == "B0RFBEAN02");
    assert!(
        kept.is_some_and(|t| t["lastOrderedAt"].is_string()),
        "{tiles}"
    );

    // Bad input: 4xx with a message, nothing added.
    for (body, want) in [
        (json!({}), 400),
        (
            json!({"asin": "B0RFBEAN02", "name": "x", "size": 1, "unit": "g"}),
            400,
        ),
        (json!({"name": "Salt", "size": 0, "unit": "g"}), 400),
        (json!({"name": "Salt", "size": 5, "unit": "kg"}), 400),
        (json!({"name": "", "size": 5, "unit": "g"}), 400),
        (json!({"name": "A\nB", "size": 5, "unit": "g"}), 400),
        (json!({"name": "x".repeat(81), "size": 5, "unit": "g"}), 400),
        (json!({"name": "Salt", "size": 5}), 400),
        (json!({"asin": "nope"}), 400),
        (json!({"asin": "B0NOTHERE1"}), 404),
        (json!({"asin": "B0RFBEAN02", "colour": "red"}), 400),
    ] {
        let (status, answer) = post(&f, "/v1/items", Some(body.clone())).await;
        assert_eq!(status, want, "{body}: {answer}");
        assert!(answer["message"].is_string(), "{answer}");
    }
    let (status, answer) = post(&f, "/v1/items/item-99/opened", None).await;
    assert_eq!(status, 404, "{answer}");
    assert!(answer["message"].as_str().unwrap().contains("item-99"));
    let devices = get(&f, "/v1/devices").await;
    let home = devices["devices"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(home["slots"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn pack_openings_teach_the_use_and_a_pack_from_home_is_taken() {
    let f = sandbox().await;
    let (_, salt) = post(
        &f,
        "/v1/items",
        Some(json!({"name": "Dishwasher salt", "size": 2000, "unit": "g"})),
    )
    .await;
    let path = slot_path(&salt);
    let slot = salt["item"]["slotId"].as_str().unwrap().to_owned();
    let opened = format!("/v1/items/{slot}/opened");
    // Two packs at home.
    let res = f
        .http
        .patch(f.url(&path))
        .json(&json!({"onHand": 4000}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // A pack opened every 20 days: 100 g a day.
    for _ in 0..4 {
        let (status, view) = post(&f, &opened, None).await;
        assert_eq!(status, 200, "{view}");
        f.clock.advance(Duration::days(20));
    }
    let (_, view) = post(&f, &opened, None).await;
    assert_eq!(view["remaining"], 2000.0, "{view}");
    assert!(
        (view["dailyUse"].as_f64().unwrap() - 100.0).abs() < 1.0,
        "{view}"
    );
    // The packs at home went into use, one per opening after the first, and no further.
    assert_eq!(view["onHand"], 0.0, "{view}");
    // Runs out in about 20 days; never "not reporting" between openings.
    f.clock.advance(Duration::days(15));
    let view = get(&f, &path).await;
    assert_eq!(view["forecast"]["silentSince"], Value::Null, "{view}");
    let likely = view["forecast"]["likely"].as_str().unwrap().to_owned();
    let open_day = (f.clock.now() - Duration::days(15)).date();
    let expected = (open_day + Duration::days(20)).to_string();
    assert_eq!(&likely[..10], expected, "{view}");

    // "Ran out": empty from now, and the empty days teach nothing.
    let (status, view) = post(&f, &format!("/v1/items/{slot}/ran-out"), None).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["remaining"], 0.0);
    assert!(view["forecast"]["ranOut"].is_string(), "{view}");
    f.clock.advance(Duration::days(10));
    let (_, view) = post(&f, &opened, None).await;
    assert!(
        (view["dailyUse"].as_f64().unwrap() - 100.0).abs() < 1.0,
        "{view}"
    );
}

#[tokio::test]
async fn an_item_runs_low_by_its_forecast_and_smart_reorder_orders_it() {
    let f = sandbox().await;
    let store = f.service.store();
    let policy = refill_core::OrderPolicy::default();
    let (_, beans) = post(&f, "/v1/items", Some(json!({"asin": "B0RFBEAN02"}))).await;
    let path = slot_path(&beans);
    let slot = beans["item"]["slotId"].as_str().unwrap().to_owned();
    let opened = format!("/v1/items/{slot}/opened");
    // A 500 g pack lasts 10 days.
    for _ in 0..4 {
        post(&f, &opened, None).await;
        f.clock.advance(Duration::days(10));
    }
    post(&f, &opened, None).await;
    let start = last_event(&f).await;
    // Between openings, what is left is worked out from the forecast, a step at a time.
    f.clock.advance(Duration::days(2));
    assert_eq!(store.review_items(f.clock.now(), &policy).await.unwrap(), 1);
    let view = get(&f, &path).await;
    assert!(
        (view["remaining"].as_f64().unwrap() - 400.0).abs() < 5.0,
        "{view}"
    );
    assert_eq!(
        store.review_items(f.clock.now(), &policy).await.unwrap(),
        0,
        "nothing new to say"
    );
    // Estimated levels are shown, not learned from: the use stays 50 g a day.
    assert!((view["dailyUse"].as_f64().unwrap() - 50.0).abs() < 1.0);
    assert!(events_after(&f, start).await.is_empty());
    // Day by day to low: one notice, with the days left.
    for _ in 0..8 {
        f.clock.advance(Duration::days(1));
        store.review_items(f.clock.now(), &policy).await.unwrap();
    }
    let happened = events_after(&f, start).await;
    let kinds: Vec<&str> = happened
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["LowSupply"], "{happened:?}");
    assert_eq!(happened[0]["body"]["slotName"], beans["item"]["name"]);
    assert!(
        happened[0]["body"]["daysLeft"].as_f64().unwrap() < 5.0,
        "{happened:?}"
    );

    // In smart-reorder mode the next pack is ordered in time.
    let res = f
        .http
        .patch(f.url(&path))
        .json(&json!({"mode": "reorder"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    post(&f, &opened, None).await;
    let start = last_event(&f).await;
    for _ in 0..10 {
        f.clock.advance(Duration::days(1));
        store.review_items(f.clock.now(), &policy).await.unwrap();
    }
    let happened = events_after(&f, start).await;
    let placed: Vec<&Value> = happened
        .iter()
        .filter(|e| e["kind"] == "OrderPlaced")
        .collect();
    assert_eq!(placed.len(), 1, "{happened:?}");
    assert_eq!(placed[0]["body"]["asin"], "B0RFBEAN02");
    // The item's chart marks the order, and the grid puts the item first: it runs out soonest.
    let view = get(&f, &path).await;
    let marks = view["orders"].as_array().unwrap();
    assert_eq!(marks.len(), 1, "{view}");
    assert_eq!(marks[0]["status"], "placed");
    assert!(marks[0]["quantity"].as_u64().unwrap() >= 1, "{view}");
    assert_eq!(marks[0]["delivered"], Value::Null);
    assert!(marks[0]["expected"].is_string(), "{view}");
    let tiles = get(&f, "/v1/buttons").await["tiles"].clone();
    assert_eq!(tiles[0]["asin"], "B0RFBEAN02", "{tiles}");
    assert!(tiles[0]["runsOut"].is_string(), "{tiles}");
    // Once delivered, the mark says when.
    f.clock.advance(Duration::days(5));
    store.fulfil(f.clock.now()).await.unwrap();
    let marks = get(&f, &path).await["orders"].clone();
    assert_eq!(marks[0]["status"], "delivered", "{marks}");
    assert!(marks[0]["delivered"].is_string(), "{marks}");
    assert_eq!(marks[0]["expected"], Value::Null);
}

#[tokio::test]
async fn a_removed_item_goes_with_its_history_and_its_orders_stay() {
    let f = sandbox().await;
    let store = f.service.store();
    let (_, salt) = post(
        &f,
        "/v1/items",
        Some(json!({"name": "Dishwasher salt", "size": 2000, "unit": "g"})),
    )
    .await;
    let (_, beans) = post(&f, "/v1/items", Some(json!({"asin": "B0RFBEAN02"}))).await;
    let slot = beans["item"]["slotId"].as_str().unwrap().to_owned();
    let path = slot_path(&beans);
    post(&f, &format!("/v1/items/{slot}/opened"), None).await;
    // An order for it is on its way.
    let res = f
        .http
        .post(f.url("/v1/buttons/B0RFBEAN02/press"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    sqlx::query("UPDATE orders SET device_id = (SELECT id FROM devices WHERE serial = 'home'), slot_id = $1 WHERE asin = 'B0RFBEAN02'")
        .bind(&slot)
        .execute(store.pool())
        .await
        .unwrap();
    assert_eq!(get(&f, &path).await["orders"].as_array().unwrap().len(), 1);

    let delete = |path: String| {
        let http = f.http.clone();
        let url = f.url(&path);
        async move { http.delete(url).send().await.unwrap() }
    };
    let res = delete(format!("/v1/items/{slot}")).await;
    assert_eq!(res.status(), 204);
    assert_eq!(f.http.get(f.url(&path)).send().await.unwrap().status(), 404);
    let again = delete(format!("/v1/items/{slot}")).await;
    assert_eq!(again.status(), 404);
    let body: Value = again.json().await.unwrap();
    assert_eq!(
        body["message"],
        format!("You have no item {slot}."),
        "{body}"
    );
    // The other item stays; the order stays in the order list.
    let devices = get(&f, "/v1/devices").await;
    let home = devices["devices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["home"] == true)
        .unwrap()
        .clone();
    let names = slot_names(&home);
    assert_eq!(names, [salt["item"]["name"].as_str().unwrap()]);
    let orders = get(&f, "/v1/orders").await;
    assert!(
        orders["orders"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["asin"] == "B0RFBEAN02" && o["status"] == "placed"),
        "{orders}"
    );
    // Tracked again, it starts afresh, even under the same id.
    let (status, fresh) = post(&f, "/v1/items", Some(json!({"asin": "B0RFBEAN02"}))).await;
    assert_eq!(status, 201, "{fresh}");
    assert_eq!(fresh["item"]["remaining"], Value::Null);
    assert_eq!(fresh["item"]["orders"], json!([]));
    assert_eq!(fresh["item"]["levels"], json!([]));
    // Its delivery does not land on the new item.
    f.clock.advance(Duration::days(5));
    store.fulfil(f.clock.now()).await.unwrap();
    assert_eq!(get(&f, &slot_path(&fresh)).await["onHand"], 0.0);
}
