//! Where a customer's orders go on a service that does not fulfil them itself: the customer
//! chooses (`/v1/account/orders-go`); a webhook gets each order, signed, once it can no longer be
//! cancelled, retried until it answers, and after the last try the customer is told and may
//! cancel; the automation calls back, signed, to say it shipped, arrived or could not be bought.
//! The automation is a real HTTP server on loopback; over real HTTP, on SQLite (and PostgreSQL
//! with `REFILL_TEST_POSTGRES`).

mod common;

use common::{answer, device_token, get_json, receiver, replenish, sandbox, sandbox_with, Fixture};
use refill_core::{Clock, Handover, OrderPolicy};
use refill_service::store::handover::MAX_ATTEMPTS;
use refill_service::store::webhooks::{signature, SIGNATURE_HEADER};
use serde_json::{json, Value};
use time::Duration;

/// Sends the hand-overs due now; how many went.
async fn hand_over(f: &Fixture) -> usize {
    let http = reqwest::Client::new();
    f.service
        .store()
        .hand_over(&http, None, f.clock.now(), &OrderPolicy::default())
        .await
        .unwrap()
}

/// Chooses a webhook at `url`; its secret.
async fn choose_webhook(f: &Fixture, url: &str) -> String {
    let (status, chosen) = answer(
        f.http
            .put(f.url("/v1/account/orders-go"))
            .json(&json!({"method": "webhook", "webhookUrl": url})),
    )
    .await;
    assert_eq!(status, 200, "{chosen}");
    assert_eq!(chosen["method"], "webhook");
    assert_eq!(chosen["chosen"], true);
    chosen["webhookSecret"].as_str().unwrap().to_owned()
}

/// Places an order of the beans from a new brewer; its id.
async fn place(f: &Fixture, serial: &str) -> String {
    let token = device_token(f, serial, false).await;
    let (status, placed) = replenish(f, &token, "brew-beans").await;
    assert_eq!(status, 200, "{placed}");
    placed["eventInstanceId"].as_str().unwrap().to_owned()
}

async fn order(f: &Fixture, id: &str) -> Value {
    get_json(&f.http, &f.url(&format!("/v1/orders/{id}"))).await
}

/// The automation's call back about order `id`, signed with `secret` (none: unsigned).
async fn call_back(f: &Fixture, id: &str, body: &Value, secret: Option<&str>) -> (u16, Value) {
    let body = body.to_string();
    let mut request = f
        .http
        .post(f.url(&format!("/v1/fulfilment/orders/{id}")))
        .header("content-type", "application/json");
    if let Some(secret) = secret {
        request = request.header(SIGNATURE_HEADER, signature(secret, body.as_bytes()));
    }
    answer(request.body(body)).await
}

#[tokio::test]
async fn orders_go_signed_to_the_customers_automation_which_says_when_they_ship_and_arrive() {
    let f = sandbox().await;
    let (url, received) = receiver(0).await;
    // A sandbox fulfils orders itself unless the customer chooses otherwise.
    let view = get_json(&f.http, &f.url("/v1/account/orders-go")).await;
    assert_eq!(view["method"], Value::Null, "{view}");
    assert_eq!(view["chosen"], false);
    // A webhook needs an address the service may call.
    for (body, said) in [
        (json!({"method": "webhook"}), "address of your automation"),
        (
            json!({"method": "webhook", "webhookUrl": "ftp://ha.home/hook"}),
            "is not a webhook address",
        ),
        (json!({"method": "carrier pigeon"}), "carrier pigeon"),
    ] {
        let (status, refused) =
            answer(f.http.put(f.url("/v1/account/orders-go")).json(&body)).await;
        assert_eq!(status, 400, "{body}: {refused}");
        assert!(
            refused["message"].as_str().unwrap().contains(said),
            "{body}: {refused}"
        );
    }
    let secret = choose_webhook(&f, &url).await;
    assert!(secret.len() >= 32, "{secret}");
    // The secret is shown once.
    let view = get_json(&f.http, &f.url("/v1/account/orders-go")).await;
    assert_eq!(view["webhookSecret"], Value::Null, "{view}");
    assert_eq!(view["webhookUrl"], url.as_str());

    let id = place(&f, "HAND-1").await;
    let placed = order(&f, &id).await;
    assert_eq!(placed["handover"]["method"], "webhook", "{placed}");
    assert_eq!(placed["handover"]["to"], url.as_str());
    assert_eq!(placed["handover"]["sentAt"], Value::Null);
    // Not before it can no longer be cancelled.
    assert_eq!(hand_over(&f).await, 0);
    assert!(received.lock().unwrap().is_empty());

    f.clock.advance(Duration::hours(25));
    // The sandbox's own fulfilment leaves it to the automation.
    f.service.store().fulfil(f.clock.now()).await.unwrap();
    assert_eq!(order(&f, &id).await["status"], "placed");
    assert_eq!(hand_over(&f).await, 1);
    assert_eq!(hand_over(&f).await, 0, "sent once");
    {
        let received = received.lock().unwrap();
        assert_eq!(received.len(), 1);
        let (headers, body) = &received[0];
        assert_eq!(
            headers[SIGNATURE_HEADER].to_str().unwrap(),
            signature(&secret, body.as_bytes())
        );
        let sent: Value = serde_json::from_str(body).unwrap();
        assert_eq!(sent["type"], "Refill.OrderToBuy");
        assert_eq!(sent["order"]["eventInstanceId"], id.as_str());
        assert_eq!(sent["order"]["title"], placed["title"]);
        assert_eq!(sent["callback"], format!("/v1/fulfilment/orders/{id}"));
    }
    let sent = order(&f, &id).await;
    assert_eq!(sent["handover"]["sentAt"], "2026-11-23T10:00:00Z", "{sent}");

    // Only the automation, by the customer's secret, can say what became of it.
    let shipped = json!({"status": "shipped"});
    for secret in [None, Some("not-the-secret")] {
        let (status, refused) = call_back(&f, &id, &shipped, secret).await;
        assert_eq!(status, 401, "{refused}");
        assert_eq!(refused["code"], "invalid_token");
    }
    let (status, _) = call_back(&f, "refill.v1.o.nosuch", &shipped, Some(&secret)).await;
    assert_eq!(status, 401);
    let (status, refused) = call_back(&f, &id, &json!({"status": "lost"}), Some(&secret)).await;
    assert_eq!(status, 400, "{refused}");
    assert!(refused["message"]
        .as_str()
        .unwrap()
        .contains("shipped, delivered or failed"));
    let (status, now) = call_back(&f, &id, &shipped, Some(&secret)).await;
    assert_eq!(
        (status, now["status"].as_str()),
        (200, Some("shipped")),
        "{now}"
    );
    f.clock.advance(Duration::days(1));
    let delivered = json!({"status": "delivered"});
    let (status, now) = call_back(&f, &id, &delivered, Some(&secret)).await;
    assert_eq!(
        (status, now["status"].as_str()),
        (200, Some("delivered")),
        "{now}"
    );
    assert_eq!(now["deliveredAt"], "2026-11-24T10:00:00Z");
    let (status, twice) = call_back(&f, &id, &delivered, Some(&secret)).await;
    assert_eq!(status, 409, "{twice}");
}

#[tokio::test]
async fn a_hand_over_that_keeps_failing_is_told_to_the_customer_who_may_cancel_then() {
    let f = sandbox().await;
    let (url, received) = receiver(usize::MAX).await;
    choose_webhook(&f, &url).await;
    let id = place(&f, "HAND-2").await;
    f.clock.advance(Duration::hours(25));
    for attempt in 1..=MAX_ATTEMPTS {
        assert_eq!(hand_over(&f).await, 0);
        let now = order(&f, &id).await;
        if attempt < MAX_ATTEMPTS {
            assert_eq!(now["handover"]["problem"], Value::Null, "{attempt}: {now}");
            assert_eq!(now["cancellableUntil"], Value::Null, "{attempt}: {now}");
        }
        // Retried with backoff, never more than an hour apart.
        f.clock.advance(Duration::minutes(61));
    }
    assert_eq!(received.lock().unwrap().len(), MAX_ATTEMPTS as usize);
    let failed = order(&f, &id).await;
    let problem = failed["handover"]["problem"].as_str().unwrap();
    assert_eq!(
        problem,
        format!("Could not send this order to {url}: it answered 500 Internal Server Error.")
    );
    assert_eq!(failed["status"], "placed");
    // Nothing more is sent; the customer is told, and may cancel it.
    assert_eq!(hand_over(&f).await, 0);
    assert_eq!(received.lock().unwrap().len(), MAX_ATTEMPTS as usize);
    let events = get_json(&f.http, &f.url("/v1/events?after=0")).await;
    let told = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "HandoverFailed")
        .unwrap_or_else(|| panic!("{events}"));
    assert_eq!(told["body"]["eventInstanceId"], id.as_str());
    assert_eq!(told["body"]["problem"], problem);
    let (status, cancelled) = answer(f.http.post(f.url(&format!("/v1/orders/{id}/cancel")))).await;
    assert_eq!(
        (status, cancelled["status"].as_str()),
        (200, Some("cancelled")),
        "{cancelled}"
    );
}

#[tokio::test]
async fn cancelled_orders_are_never_sent_and_an_automation_can_say_it_could_not_buy_one() {
    let f = sandbox().await;
    let (url, received) = receiver(0).await;
    let secret = choose_webhook(&f, &url).await;
    let cancelled = place(&f, "HAND-3").await;
    let (status, _) = answer(
        f.http
            .post(f.url(&format!("/v1/orders/{cancelled}/cancel"))),
    )
    .await;
    assert_eq!(status, 200);
    let bought = {
        let token = device_token(&f, "HAND-4", false).await;
        let (_, placed) = replenish(&f, &token, "brew-filters").await;
        placed["eventInstanceId"].as_str().unwrap().to_owned()
    };
    f.clock.advance(Duration::hours(25));
    assert_eq!(hand_over(&f).await, 1);
    let received = received.lock().unwrap().clone();
    assert_eq!(received.len(), 1);
    assert!(received[0].1.contains(&bought), "{}", received[0].1);

    let (status, now) = call_back(
        &f,
        &bought,
        &json!({"status": "failed", "reason": "out of stock at the shop"}),
        Some(&secret),
    )
    .await;
    assert_eq!(status, 200, "{now}");
    assert_eq!(
        now["handover"]["problem"],
        format!("{url} could not buy this order: out of stock at the shop")
    );
    assert!(now["cancellableUntil"].is_string(), "{now}");
}

#[tokio::test]
async fn on_a_service_that_leaves_orders_to_the_customer_they_wait_to_be_bought() {
    let f = sandbox_with(|c| c.policy.handover = Handover::Manual).await;
    let view = get_json(&f.http, &f.url("/v1/account/orders-go")).await;
    assert_eq!(view["method"], "manual", "{view}");
    assert_eq!(view["chosen"], false);
    let id = place(&f, "HAND-5").await;
    assert_eq!(order(&f, &id).await["handover"]["method"], "manual");
    f.clock.advance(Duration::days(3));
    f.service.store().fulfil(f.clock.now()).await.unwrap();
    assert_eq!(hand_over(&f).await, 0);
    assert_eq!(
        order(&f, &id).await["status"],
        "placed",
        "waits for the customer"
    );
    let (status, bought) = answer(f.http.post(f.url(&format!("/v1/orders/{id}/bought")))).await;
    assert_eq!((status, bought["status"].as_str()), (200, Some("shipped")));
    // Without a mail server, email is not offered, and choosing it is refused in words.
    assert_eq!(view["offered"], json!(["manual", "webhook"]), "{view}");
    let (status, refused) = answer(
        f.http
            .put(f.url("/v1/account/orders-go"))
            .json(&json!({"method": "email"})),
    )
    .await;
    assert_eq!(status, 400, "{refused}");
    assert!(
        refused["message"]
            .as_str()
            .unwrap_or_default()
            .contains("no mail server"),
        "{refused}"
    );
}
