//! Orders the service does not fulfil itself (manual fulfilment): the customer says when they
//! bought one (it is on its way, no longer cancellable) and when it arrived (its packs join the
//! home's stock of its slot, the product's lead time learns how long it took), each step's time
//! kept and told as an event. Steps that make no sense are refused in words (409), never
//! applied twice. Over real HTTP, on SQLite (and PostgreSQL with `REFILL_TEST_POSTGRES`).

mod common;

use common::{answer, device_token, get_json, replenish, sandbox};

#[tokio::test]
async fn the_customer_says_an_order_was_bought_then_arrived_and_the_stock_at_home_grows() {
    let f = sandbox().await;
    let token = device_token(&f, "STEPS-1", false).await;
    let slot_url = f.url("/v1/devices/RefillBrew-200/STEPS-1/slots/brew-beans");
    let before = get_json(&f.http, &slot_url).await["onHand"]
        .as_f64()
        .unwrap();
    let (status, placed) = replenish(&f, &token, "brew-beans").await;
    assert_eq!(status, 200, "{placed}");
    let id = placed["eventInstanceId"].as_str().unwrap().to_owned();
    let step = |action: &str| f.http.post(f.url(&format!("/v1/orders/{id}/{action}")));

    // Bought, an hour later: on its way, no longer cancellable here.
    f.clock.advance(time::Duration::hours(1));
    let (status, bought) = answer(step("bought")).await;
    assert_eq!(status, 200, "{bought}");
    assert_eq!(bought["status"], "shipped");
    assert_eq!(bought["shippedAt"], "2026-11-22T10:00:00Z");
    assert_eq!(bought["cancellableUntil"], serde_json::Value::Null);
    assert_eq!(bought["deliveredAt"], serde_json::Value::Null);
    let (status, again) = answer(step("bought")).await;
    assert_eq!(
        (status, again["code"].as_str()),
        (409, Some("conflict")),
        "{again}"
    );
    assert!(
        again["message"]
            .as_str()
            .unwrap()
            .contains("already bought"),
        "{again}"
    );
    let (status, cancel) = answer(step("cancel")).await;
    assert_eq!(status, 409, "{cancel}");
    assert_eq!(
        get_json(&f.http, &slot_url).await["onHand"]
            .as_f64()
            .unwrap(),
        before,
        "nothing at home yet"
    );

    // Arrived the next day: delivered, its pack (1 kg of beans) at home.
    f.clock.advance(time::Duration::days(1));
    let (status, arrived) = answer(step("arrived")).await;
    assert_eq!(status, 200, "{arrived}");
    assert_eq!(arrived["status"], "delivered");
    assert_eq!(arrived["shippedAt"], "2026-11-22T10:00:00Z");
    assert_eq!(arrived["deliveredAt"], "2026-11-23T10:00:00Z");
    let after = get_json(&f.http, &slot_url).await["onHand"]
        .as_f64()
        .unwrap();
    assert!(after > before, "{before} → {after}");
    let (status, twice) = answer(step("arrived")).await;
    assert_eq!(status, 409, "{twice}");
    assert!(
        twice["message"]
            .as_str()
            .unwrap()
            .contains("already arrived"),
        "{twice}"
    );
    assert_eq!(
        get_json(&f.http, &slot_url).await["onHand"]
            .as_f64()
            .unwrap(),
        after,
        "counted once"
    );
    // Each step told as an event.
    let events = get_json(&f.http, &f.url("/v1/events?after=0")).await;
    let kinds: Vec<&str> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["body"]["eventInstanceId"] == id.as_str())
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["OrderPlaced", "ItemShipped", "ItemDelivered"],
        "{events}"
    );
}

#[tokio::test]
async fn an_order_arrives_without_being_said_bought_and_cancelled_or_unknown_ones_are_refused() {
    let f = sandbox().await;
    let token = device_token(&f, "STEPS-2", false).await;
    let (_, placed) = replenish(&f, &token, "brew-beans").await;
    let id = placed["eventInstanceId"].as_str().unwrap().to_owned();
    let (status, arrived) = answer(f.http.post(f.url(&format!("/v1/orders/{id}/arrived")))).await;
    assert_eq!(status, 200, "{arrived}");
    assert_eq!(arrived["status"], "delivered");
    assert_eq!(arrived["shippedAt"], arrived["deliveredAt"]);

    let (_, placed) = replenish(&f, &token, "brew-filters").await;
    let id = placed["eventInstanceId"].as_str().unwrap().to_owned();
    let (status, _) = answer(f.http.post(f.url(&format!("/v1/orders/{id}/cancel")))).await;
    assert_eq!(status, 200);
    for action in ["bought", "arrived"] {
        let (status, refused) =
            answer(f.http.post(f.url(&format!("/v1/orders/{id}/{action}")))).await;
        assert_eq!(status, 409, "{refused}");
        assert!(
            refused["message"].as_str().unwrap().contains("cancelled"),
            "{refused}"
        );
    }
    let (status, unknown) = answer(f.http.post(f.url("/v1/orders/refill.v1.o.nope/bought"))).await;
    assert_eq!(
        (status, unknown["code"].as_str()),
        (404, Some("not_found")),
        "{unknown}"
    );
}
