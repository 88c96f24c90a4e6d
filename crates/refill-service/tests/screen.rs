//! The button API of screened devices (`/v1/screen/…`, scope `refill:buttons`): linking one
//! through the real sign-in and consent pages, its buttons, presses with idempotency keys (one
//! order under 100 concurrent retries), cancelling, and scope isolation both ways.

mod common;

use common::*;
use refill_core::Clock;
use serde_json::Value;

const FRIDGE: &str = "RefillFridge-1";

/// The `scope_data` of the sandbox's smart fridge with `serial`.
fn fridge(serial: &str) -> String {
    format!(r#"{{"refill:buttons":{{"device_model":"{FRIDGE}","serial":"{serial}"}}}}"#)
}

/// Links a fridge with `serial` (the consent page's preselected products: the customer's recent
/// items) and returns its own access token.
async fn fridge_token(f: &Fixture, serial: &str) -> String {
    access_token(f, "refill:buttons", Some(&fridge(serial))).await
}

fn press(f: &Fixture, token: &str, asin: &str, key: Option<&str>) -> reqwest::RequestBuilder {
    let request = f
        .http
        .post(f.url(&format!("/v1/screen/buttons/{asin}/press")))
        .bearer_auth(token);
    match key {
        Some(key) => request.header("Idempotency-Key", key),
        None => request,
    }
}

/// How many of the customer's orders for `asin` are placed (not yet shipped).
async fn placed_orders(f: &Fixture, asin: &str) -> usize {
    let orders = get_json(&f.http, &f.url("/v1/orders")).await;
    orders["orders"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["asin"] == asin && o["status"] == "placed")
        .count()
}

#[tokio::test]
async fn a_linked_fridge_shows_the_chosen_buttons_and_a_press_orders_once() {
    let f = sandbox().await;
    let token = fridge_token(&f, "FRIDGE-1").await;

    // The consent page offered the recent items first and chose them: most recent first.
    let shown = json_of(f.http.get(f.url("/v1/screen/buttons")).bearer_auth(&token)).await;
    assert_eq!(shown["deviceName"], "FreshCool smart fridge");
    let asins: Vec<&str> = shown["buttons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["asin"].as_str().unwrap())
        .collect();
    assert_eq!(asins.len(), 6, "{asins:?}");
    assert_eq!(asins[0], "B0RFBEAN01", "the latest order first: {asins:?}");
    assert_eq!(asins[5], "B0RFWATR02", "the oldest last: {asins:?}");
    let beans = &shown["buttons"][0];
    assert_eq!(beans["price"]["amountMinor"], 1899);
    assert_eq!(beans["price"]["currency"], "USD");
    assert_eq!(beans["pack"]["value"], 1000.0);
    assert!(beans["title"].as_str().unwrap().contains("Coffee"));
    assert!(beans["openOrder"].is_null());
    assert_eq!(beans["needsApproval"], false);

    // A press needs its idempotency key, and says so.
    let (status, body) = answer(press(&f, &token, "B0RFBEAN01", None)).await;
    assert_eq!(status, 400);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("Idempotency-Key"),
        "{body}"
    );
    let (status, body) = answer(press(&f, &token, "B0RFBEAN01", Some(&"k".repeat(129)))).await;
    assert_eq!(status, 400, "{body}");

    // Pressed: an order; the same press retried: the same answer; a new press: in progress.
    let placed = json_of(press(&f, &token, "B0RFBEAN01", Some("press-1"))).await;
    assert_eq!(placed["detailCode"], "STANDARD_ORDER_PLACED");
    let id = placed["eventInstanceId"].as_str().unwrap().to_owned();
    let retried = json_of(press(&f, &token, "B0RFBEAN01", Some("press-1"))).await;
    assert_eq!(retried["detailCode"], "STANDARD_ORDER_PLACED");
    assert_eq!(retried["eventInstanceId"], id.as_str());
    let again = json_of(press(&f, &token, "B0RFBEAN01", Some("press-2"))).await;
    assert_eq!(again["detailCode"], "ORDER_INPROGRESS");
    assert_eq!(again["eventInstanceId"], id.as_str());

    // The order is the customer's (the app sees it) and the fridge shows it as open.
    assert_eq!(placed_orders(&f, "B0RFBEAN01").await, 1);
    let shown = json_of(f.http.get(f.url("/v1/screen/buttons")).bearer_auth(&token)).await;
    assert_eq!(
        shown["buttons"][0]["openOrder"]["eventInstanceId"],
        id.as_str()
    );

    // A product the customer did not choose for it is not the fridge's to order.
    let (status, body) = answer(press(&f, &token, "B0RFBEAN02", Some("press-3"))).await;
    assert_eq!(status, 404);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("not one of the buttons"),
        "{body}"
    );
    let (status, _) = answer(press(&f, &token, "not-an-asin", Some("press-4"))).await;
    assert_eq!(status, 400);

    // Cancelled from the fridge; the same key after that still answers with that order.
    let cancelled = json_of(
        f.http
            .post(f.url(&format!("/v1/screen/orders/{id}/cancel")))
            .bearer_auth(&token),
    )
    .await;
    assert_eq!(cancelled["status"], "cancelled");
    let retried = json_of(press(&f, &token, "B0RFBEAN01", Some("press-1"))).await;
    assert_eq!(retried["eventInstanceId"], id.as_str());
    assert_eq!(retried["order"]["status"], "cancelled");

    // An order placed in the app is not the fridge's to cancel.
    let tapped = json_of(f.http.post(f.url("/v1/buttons/B0RFFILT04/press"))).await;
    let tapped_id = tapped["eventInstanceId"].as_str().unwrap();
    let (status, body) = answer(
        f.http
            .post(f.url(&format!("/v1/screen/orders/{tapped_id}/cancel")))
            .bearer_auth(&token),
    )
    .await;
    assert_eq!(status, 404, "{body}");
    let order = get_json(&f.http, &f.url(&format!("/v1/orders/{tapped_id}"))).await;
    assert_eq!(order["status"], "placed");
}

#[tokio::test]
async fn a_hundred_concurrent_retries_of_one_press_place_one_order() {
    let f = sandbox().await;
    let token = fridge_token(&f, "FRIDGE-2").await;
    let presses = (0..100).map(|_| {
        let request = press(&f, &token, "B0RFDTRG30", Some("one-press"));
        async move { answer(request).await }
    });
    let answers = futures_util::future::join_all(presses).await;
    let ids: std::collections::HashSet<String> = answers
        .iter()
        .map(|(status, body)| {
            assert_eq!(*status, 200, "{body}");
            assert_eq!(body["detailCode"], "STANDARD_ORDER_PLACED", "{body}");
            body["eventInstanceId"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(ids.len(), 1, "every retry answers with the one order");
    assert_eq!(placed_orders(&f, "B0RFDTRG30").await, 1);
}

#[tokio::test]
async fn button_tokens_and_other_tokens_do_not_cross() {
    let f = sandbox().await;
    let buttons = fridge_token(&f, "FRIDGE-3").await;
    let device = device_token(&f, "BREW-ISO", false).await;
    let customer = access_token(&f, "profile refill:customer", None).await;

    // The fridge's token: its buttons only, not the customer's API nor the DRS API.
    let (status, body) = answer(f.http.get(f.url("/v1/buttons")).bearer_auth(&buttons)).await;
    assert_eq!(status, 403, "{body}");
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("screened device"));
    let (status, _) = answer(
        f.http
            .post(f.url("/v1/buttons/B0RFBEAN01/press"))
            .bearer_auth(&buttons),
    )
    .await;
    assert_eq!(status, 403);
    let (status, _) = subscription_info(&f, &buttons).await;
    assert_eq!(status, 403);

    // A DRS device's token and the customer's app's token: not the button API.
    for (who, token) in [("device", &device), ("customer", &customer)] {
        let (status, body) =
            answer(f.http.get(f.url("/v1/screen/buttons")).bearer_auth(token)).await;
        assert_eq!(status, 403, "{who}: {body}");
        assert!(
            body["message"].as_str().unwrap().contains("refill:buttons"),
            "{who}: {body}"
        );
        let (status, _) = answer(press(&f, token, "B0RFBEAN01", Some("x"))).await;
        assert_eq!(status, 403, "{who}");
    }
    // No token, or a made-up one: 401, even from loopback (no anonymous screen).
    let (status, _) = answer(f.http.get(f.url("/v1/screen/buttons"))).await;
    assert_eq!(status, 401);
    let (status, _) = answer(
        f.http
            .get(f.url("/v1/screen/buttons"))
            .bearer_auth("Atza|made-up"),
    )
    .await;
    assert_eq!(status, 401);

    // Removed by the customer: its token stops working at once.
    let res = f
        .http
        .delete(f.url(&format!("/v1/devices/{FRIDGE}/FRIDGE-3")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 204);
    let (status, body) = answer(
        f.http
            .get(f.url("/v1/screen/buttons"))
            .bearer_auth(&buttons),
    )
    .await;
    assert_eq!(status, 401, "{body}");
}

#[tokio::test]
async fn linking_asks_for_one_kind_of_device_and_at_least_one_button() {
    let f = sandbox().await;
    let client = refill_testkit::OAuthClient {
        id: refill_service::auth::SANDBOX_CLIENT_ID,
        secret: None,
        redirect_uri: REDIRECT,
    };
    // Both kinds at once: refused before any page.
    let url = refill_testkit::authorize_url(
        &f.service.base_url(),
        client,
        "dash:replenish refill:buttons",
        Some(&fridge("FRIDGE-4")),
    );
    let res = f.http.get(&url).send().await.unwrap();
    let location = res
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let page = res.text().await.unwrap();
    assert!(
        location.contains("invalid_scope") || page.contains("either"),
        "{location} {page}"
    );

    // The consent page offers the catalog with the recent items chosen; nothing chosen is
    // refused in words, and nothing is linked.
    let url = refill_testkit::authorize_url(
        &f.service.base_url(),
        client,
        "refill:buttons",
        Some(&fridge("FRIDGE-4")),
    );
    let page = f.http.get(&url).send().await.unwrap().text().await.unwrap();
    let mut fields = refill_testkit::hidden_fields(&page, Some("/ap/signin"));
    fields.push((
        "email".into(),
        refill_service::sandbox::CUSTOMER_EMAIL.into(),
    ));
    fields.push((
        "password".into(),
        refill_service::sandbox::CUSTOMER_PASSWORD.into(),
    ));
    let consent = f
        .http
        .post(f.url("/ap/signin"))
        .header("origin", f.service.base_url())
        .form(&fields)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(consent.contains("Buttons on its screen"), "{consent}");
    assert!(consent.contains("name=\"button.B0RFBEAN02\" value=\"on\">"));
    assert!(consent.contains("name=\"button.B0RFBEAN01\" value=\"on\" checked>"));
    let mut fields = refill_testkit::hidden_fields(&consent, Some("/ap/consent"));
    fields.push(("decision".into(), "allow".into()));
    let res = f
        .http
        .post(f.url("/ap/consent"))
        .header("origin", f.service.base_url())
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 400);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("Choose at least one product"));
    let devices: Value = get_json(&f.http, &f.url("/v1/devices")).await;
    assert!(
        !devices.to_string().contains("FRIDGE-4"),
        "nothing was linked: {devices}"
    );
}

#[tokio::test]
async fn the_screen_follows_the_orders_of_its_products_wherever_they_are_placed() {
    let f = sandbox().await;
    let token = fridge_token(&f, "FRIDGE-5").await;
    let open = || {
        f.http
            .get(f.url("/v1/screen/events/stream"))
            .bearer_auth(&token)
            .send()
    };
    let mut res = open().await.unwrap();
    assert_eq!(res.status(), 200);
    let second = open().await.unwrap();
    assert_eq!(second.status(), 200);
    let third = open().await.unwrap();
    assert_eq!(third.status(), 429, "at most 2 streams per device");
    drop(second);

    // Ordered on the fridge, then in the app: a product it does not show (not told), and one
    // it shows (told), then cancelled in the app (told).
    let placed = json_of(press(&f, &token, "B0RFBEAN01", Some("sse-1"))).await;
    json_of(f.http.post(f.url("/v1/buttons/B0RFBEAN02/press"))).await;
    let tapped = json_of(f.http.post(f.url("/v1/buttons/B0RFFILT04/press"))).await;
    let tapped_id = tapped["eventInstanceId"].as_str().unwrap();
    json_of(
        f.http
            .post(f.url(&format!("/v1/orders/{tapped_id}/cancel"))),
    )
    .await;

    let mut sse = Sse::new(&mut res);
    let (first_id, kind) = sse.next().await;
    assert_eq!(kind, "OrderPlaced");
    let (second_id, kind) = sse.next().await;
    assert_eq!(kind, "OrderPlaced");
    let (third_id, kind) = sse.next().await;
    assert_eq!(kind, "OrderCancelled");
    assert!(first_id < second_id && second_id < third_id);

    // Resumed after the first: the two after it, the other product's order never.
    let events = get_json(&f.http, &f.url("/v1/events")).await;
    let id_of = |kind: &str, id: &str| {
        events["events"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["kind"] == kind && e["body"]["eventInstanceId"] == id)
            .map(|e| e["id"].as_i64().unwrap())
            .unwrap()
    };
    assert_eq!(
        first_id,
        id_of("OrderPlaced", placed["eventInstanceId"].as_str().unwrap())
    );
    assert_eq!(third_id, id_of("OrderCancelled", tapped_id));
    drop(sse);
    drop(res);
    let mut resumed = f
        .http
        .get(f.url("/v1/screen/events/stream"))
        .bearer_auth(&token)
        .header("Last-Event-ID", first_id.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resumed.status(), 200);
    let mut sse = Sse::new(&mut resumed);
    assert_eq!(sse.next().await, (second_id, "OrderPlaced".to_owned()));
    assert_eq!(sse.next().await, (third_id, "OrderCancelled".to_owned()));
}

fn set_limits(f: &Fixture, serial: &str, body: Value) -> reqwest::RequestBuilder {
    f.http
        .put(f.url(&format!("/v1/devices/{FRIDGE}/{serial}/limits")))
        .json(&body)
}

#[tokio::test]
async fn limits_per_order_and_per_month_hold_at_their_edges() {
    let f = sandbox().await;
    let token = fridge_token(&f, "FRIDGE-6").await;
    // Beans cost 18.99, filters 4.49, water filters 12.99.
    let limits = json_of(set_limits(
        &f,
        "FRIDGE-6",
        serde_json::json!({"perOrderMinor": 1899, "perMonthMinor": 2348, "askFirst": false}),
    ))
    .await;
    assert_eq!(limits["perOrder"]["amountMinor"], 1899);
    assert_eq!(limits["spentThisMonth"]["amountMinor"], 0);

    // At the limit per order: ordered. The month: 18.99 + 4.49 = 23.48, exactly its limit.
    let beans = json_of(press(&f, &token, "B0RFBEAN01", Some("l-1"))).await;
    assert_eq!(beans["detailCode"], "STANDARD_ORDER_PLACED");
    let filters = json_of(press(&f, &token, "B0RFFILT04", Some("l-2"))).await;
    assert_eq!(filters["detailCode"], "STANDARD_ORDER_PLACED");
    let limits = get_json(
        &f.http,
        &f.url(&format!("/v1/devices/{FRIDGE}/FRIDGE-6/limits")),
    )
    .await;
    assert_eq!(limits["spentThisMonth"]["amountMinor"], 2348);

    // One cent more in the month: refused, in words the fridge can show; nothing ordered.
    let (status, body) = answer(press(&f, &token, "B0RFWATR02", Some("l-3"))).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["code"], "over_limit");
    assert_eq!(
        body["message"],
        "Over the monthly limit set for this FreshCool smart fridge: $23.48 of $23.48 used, and \
         this costs $12.99."
    );
    // A cancelled order does not count: 18.99 + 12.99 is still over; 4.49 again fits.
    let id = filters["eventInstanceId"].as_str().unwrap();
    json_of(
        f.http
            .post(f.url(&format!("/v1/screen/orders/{id}/cancel")))
            .bearer_auth(&token),
    )
    .await;
    let (status, _) = answer(press(&f, &token, "B0RFWATR02", Some("l-4"))).await;
    assert_eq!(status, 409);
    let again = json_of(press(&f, &token, "B0RFFILT04", Some("l-5"))).await;
    assert_eq!(again["detailCode"], "STANDARD_ORDER_PLACED");

    // Per order, below the price (ink: 29.99): refused; an order already open is still answered.
    json_of(set_limits(
        &f,
        "FRIDGE-6",
        serde_json::json!({"perOrderMinor": 1898, "perMonthMinor": null, "askFirst": false}),
    ))
    .await;
    let (status, body) = answer(press(&f, &token, "B0RFINKBK1", Some("l-6"))).await;
    assert_eq!(status, 409, "{body}");
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("limit per order"));
    let open = json_of(press(&f, &token, "B0RFBEAN01", Some("l-7"))).await;
    assert_eq!(open["detailCode"], "ORDER_INPROGRESS");
    // The next month starts afresh.
    f.clock.advance(time::Duration::days(40));
    let limits = get_json(
        &f.http,
        &f.url(&format!("/v1/devices/{FRIDGE}/FRIDGE-6/limits")),
    )
    .await;
    assert_eq!(limits["spentThisMonth"]["amountMinor"], 0);

    // Bad limits are refused in words; nothing changes.
    for body in [
        serde_json::json!({"perOrderMinor": 0, "perMonthMinor": null, "askFirst": false}),
        serde_json::json!({"perOrderMinor": null, "perMonthMinor": -5, "askFirst": false}),
        serde_json::json!({"perOrderMinor": null, "askFirst": false, "extra": 1}),
    ] {
        let (status, answer_body) = answer(set_limits(&f, "FRIDGE-6", body)).await;
        assert_eq!(status, 400, "{answer_body}");
    }
    let (status, _) = answer(set_limits(
        &f,
        "NO-SUCH",
        serde_json::json!({"perOrderMinor": null, "perMonthMinor": null, "askFirst": true}),
    ))
    .await;
    assert_eq!(status, 404);
    let limits = get_json(
        &f.http,
        &f.url(&format!("/v1/devices/{FRIDGE}/FRIDGE-6/limits")),
    )
    .await;
    assert_eq!(limits["perOrder"]["amountMinor"], 1898);
}

#[tokio::test]
async fn a_press_that_asks_first_waits_for_approval_decline_or_expiry() {
    let f = sandbox().await;
    let token = fridge_token(&f, "FRIDGE-7").await;
    json_of(set_limits(
        &f,
        "FRIDGE-7",
        serde_json::json!({"perOrderMinor": null, "perMonthMinor": null, "askFirst": true}),
    ))
    .await;
    let mut stream = f
        .http
        .get(f.url("/v1/screen/events/stream"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();

    // Pressed: nothing ordered yet, a request instead; the same press again finds it.
    let asked = json_of(press(&f, &token, "B0RFBEAN01", Some("a-1"))).await;
    assert_eq!(asked["detailCode"], "APPROVAL_REQUIRED", "{asked}");
    assert!(asked["order"].is_null());
    let approval = &asked["approval"];
    assert_eq!(approval["status"], "pending");
    assert_eq!(approval["price"]["amountMinor"], 1899);
    assert_eq!(approval["deviceName"], "FreshCool smart fridge");
    let id = approval["id"].as_str().unwrap().to_owned();
    let again = json_of(press(&f, &token, "B0RFBEAN01", Some("a-1"))).await;
    assert_eq!(again["approval"]["id"], id.as_str());
    let orders = get_json(&f.http, &f.url("/v1/orders")).await;
    assert!(
        !orders.to_string().contains("\"status\":\"placed\""),
        "{orders}"
    );
    let listed = get_json(&f.http, &f.url("/v1/approvals")).await;
    assert_eq!(listed["approvals"][0]["id"], id.as_str());
    // A screen that starts again (a reload) shows the button as waiting.
    let shown = json_of(f.http.get(f.url("/v1/screen/buttons")).bearer_auth(&token)).await;
    let beans = shown["buttons"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["asin"] == "B0RFBEAN01")
        .unwrap();
    assert_eq!(beans["pendingApproval"]["id"], id.as_str());
    assert_eq!(beans["needsApproval"], true);

    // Approved in the app: the order is placed; the press retried now shows it.
    let approved = json_of(f.http.post(f.url(&format!("/v1/approvals/{id}/approve")))).await;
    assert_eq!(approved["status"], "approved");
    let order_id = approved["order"]["eventInstanceId"]
        .as_str()
        .unwrap()
        .to_owned();
    let retried = json_of(press(&f, &token, "B0RFBEAN01", Some("a-1"))).await;
    assert_eq!(retried["eventInstanceId"], order_id.as_str());
    let shown = json_of(f.http.get(f.url("/v1/screen/buttons")).bearer_auth(&token)).await;
    assert!(
        shown["buttons"]
            .as_array()
            .unwrap()
            .iter()
            .all(|b| b["pendingApproval"].is_null()),
        "{shown}"
    );
    let (status, body) = answer(f.http.post(f.url(&format!("/v1/approvals/{id}/decline")))).await;
    assert_eq!(status, 409);
    assert_eq!(body["code"], "approval_closed");
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("approved already"));

    // The screen was told: asked, then answered (with the order).
    let mut sse = Sse::new(&mut stream);
    assert_eq!(sse.next().await.1, "ApprovalRequested");
    let kinds = [sse.next().await.1, sse.next().await.1];
    assert!(kinds.contains(&"ApprovalDecided".to_owned()), "{kinds:?}");
    assert!(kinds.contains(&"OrderPlaced".to_owned()), "{kinds:?}");

    // Declined: nothing ordered.
    let asked = json_of(press(&f, &token, "B0RFFILT04", Some("a-2"))).await;
    let declined_id = asked["approval"]["id"].as_str().unwrap();
    let declined = json_of(
        f.http
            .post(f.url(&format!("/v1/approvals/{declined_id}/decline"))),
    )
    .await;
    assert_eq!(declined["status"], "declined");
    assert!(declined["order"].is_null());

    // Unanswered for a day: expired, and then it can't be approved.
    let asked = json_of(press(&f, &token, "B0RFWATR02", Some("a-3"))).await;
    let late_id = asked["approval"]["id"].as_str().unwrap();
    f.clock.advance(time::Duration::hours(23));
    assert_eq!(
        f.service
            .store()
            .expire_approvals(f.clock.now())
            .await
            .unwrap(),
        0
    );
    f.clock.advance(time::Duration::hours(2));
    assert_eq!(
        f.service
            .store()
            .expire_approvals(f.clock.now())
            .await
            .unwrap(),
        1
    );
    let (status, body) = answer(
        f.http
            .post(f.url(&format!("/v1/approvals/{late_id}/approve"))),
    )
    .await;
    assert_eq!(status, 409, "{body}");
    assert!(body["message"].as_str().unwrap().contains("expired"));
    let orders = get_json(&f.http, &f.url("/v1/orders")).await;
    let placed: Vec<&str> = orders["orders"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["status"] == "placed" || o["status"] == "shipped")
        .map(|o| o["asin"].as_str().unwrap())
        .collect();
    assert_eq!(placed, ["B0RFBEAN01"], "only the approved press ordered");
}

#[tokio::test]
async fn a_screen_page_of_another_origin_may_call_the_button_api_but_not_the_customers() {
    let f = sandbox().await;
    let token = fridge_token(&f, "FRIDGE-CORS").await;
    let page = "http://192.168.1.40:8080";

    // The browser's preflight before a press with a token and an idempotency key.
    let preflight = f
        .http
        .request(
            reqwest::Method::OPTIONS,
            f.url("/v1/screen/buttons/B0RFBEAN01/press"),
        )
        .header("Origin", page)
        .header("Access-Control-Request-Method", "POST")
        .header(
            "Access-Control-Request-Headers",
            "authorization, idempotency-key",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 204);
    let allowed = |name: &str| {
        preflight.headers()[name]
            .to_str()
            .unwrap()
            .to_ascii_lowercase()
    };
    assert_eq!(allowed("access-control-allow-origin"), "*");
    assert!(allowed("access-control-allow-methods").contains("post"));
    assert!(allowed("access-control-allow-headers").contains("idempotency-key"));
    assert!(allowed("access-control-allow-headers").contains("authorization"));

    // The answers themselves, errors too, are readable by the page.
    let shown = f
        .http
        .get(f.url("/v1/screen/buttons"))
        .header("Origin", page)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(shown.status(), 200);
    assert_eq!(shown.headers()["access-control-allow-origin"], "*");
    let refused = f
        .http
        .get(f.url("/v1/screen/buttons"))
        .header("Origin", page)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    assert_eq!(refused.headers()["access-control-allow-origin"], "*");

    // The customer's own API stays closed to other origins.
    let customers = f
        .http
        .get(f.url("/v1/orders"))
        .header("Origin", page)
        .send()
        .await
        .unwrap();
    assert!(customers
        .headers()
        .get("access-control-allow-origin")
        .is_none());
}

#[tokio::test]
async fn the_sandbox_has_a_linked_fridge_that_asks_before_it_orders() {
    let f = sandbox().await;
    let now = f.clock.now();
    let devices = get_json(&f.http, &f.url("/v1/devices")).await;
    let fridge = devices["devices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["model"] == FRIDGE)
        .expect("the sandbox's fridge is in the device list")
        .clone();
    assert_eq!(fridge["serial"], refill_service::sandbox::FRIDGE_SERIAL);
    assert_eq!(fridge["screen"], true);
    assert_eq!(fridge["slots"].as_array().unwrap().len(), 0);
    assert_eq!(fridge["buttons"].as_array().unwrap().len(), 6, "{fridge}");
    assert_eq!(fridge["buttons"][0]["asin"], "B0RFBEAN01");
    // The devices that reorder by themselves are not screened.
    assert!(devices["devices"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["model"] != FRIDGE)
        .all(|d| d["screen"] == false && d["buttons"].as_array().unwrap().is_empty()));

    let (token, _) =
        refill_service::sandbox::fridge_token(f.service.store(), now, time::Duration::hours(1))
            .await
            .unwrap()
            .expect("the fridge is linked");
    let shown = json_of(f.http.get(f.url("/v1/screen/buttons")).bearer_auth(&token)).await;
    assert_eq!(shown["buttons"][0]["needsApproval"], true);
    let limits = get_json(
        &f.http,
        &f.url(&format!(
            "/v1/devices/{FRIDGE}/{}/limits",
            refill_service::sandbox::FRIDGE_SERIAL
        )),
    )
    .await;
    assert_eq!(limits["askFirst"], true);
    assert_eq!(limits["perMonth"]["amountMinor"], 5000);
    let pressed = json_of(press(&f, &token, "B0RFBEAN01", Some("sandbox-1"))).await;
    assert_eq!(pressed["detailCode"], "APPROVAL_REQUIRED");
    // The listing says where its event stream starts: after the request just made.
    let before = shown["lastEventId"].as_i64().unwrap();
    let after = json_of(f.http.get(f.url("/v1/screen/buttons")).bearer_auth(&token)).await;
    let after = after["lastEventId"].as_i64().unwrap();
    assert!(after > before, "{before} then {after}");
    let mut stream = f
        .http
        .get(f.url(&format!("/v1/screen/events/stream?after={before}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(Sse::new(&mut stream).next().await.1, "ApprovalRequested");

    // Removed by the customer: its token stops at once, and it gets no new one.
    let (status, _) = answer(f.http.delete(f.url(&format!(
        "/v1/devices/{FRIDGE}/{}",
        refill_service::sandbox::FRIDGE_SERIAL
    ))))
    .await;
    assert!(status < 300, "{status}");
    let (status, _) = answer(f.http.get(f.url("/v1/screen/buttons")).bearer_auth(&token)).await;
    assert_eq!(status, 401);
    assert!(refill_service::sandbox::fridge_token(
        f.service.store(),
        now,
        time::Duration::hours(1)
    )
    .await
    .unwrap()
    .is_none());
}

/// Sets a pack of `asin` to cost `cents` from now on.
async fn set_price(f: &Fixture, asin: &str, cents: i64) {
    sqlx::query("UPDATE products SET price_minor = $1 WHERE asin = $2")
        .bind(cents)
        .bind(asin)
        .execute(f.service.store().pool())
        .await
        .unwrap();
}

#[tokio::test]
async fn a_one_tap_order_over_ten_percent_above_the_last_price_asks_first_with_both_prices() {
    let f = sandbox().await;
    // The customer paid $18.99 for the beans last time (the sandbox's history).
    let press = |query: &str| {
        f.http
            .post(f.url(&format!("/v1/buttons/B0RFBEAN01/press{query}")))
    };

    // At its edge: 10 % more still orders without asking... (18.99 × 1.10 = 20.889)
    set_price(&f, "B0RFBEAN01", 2088).await;
    assert_eq!(
        f.service.store().price_rise(1, "B0RFBEAN01").await.unwrap(),
        None
    );
    // ...a cent more asks first, in words with both prices, and orders nothing.
    set_price(&f, "B0RFBEAN01", 2199).await;
    let (status, body) = answer(press("")).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["code"], "price_rose");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("costs $21.99 now, 16 % more than the $18.99 you paid last time"),
        "{message}"
    );
    assert_eq!(placed_orders(&f, "B0RFBEAN01").await, 0);
    // Confirmed at another price (it changed meanwhile): asks again.
    let (status, _) = answer(press("?confirmPrice=2088")).await;
    assert_eq!(status, 409);
    let (status, body) = answer(press("?confirmPrice=lots")).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["message"].as_str().unwrap().contains("confirmPrice"));
    // Confirmed at the price now: ordered; pressed again, the open order (no question).
    let placed = json_of(press("?confirmPrice=2199")).await;
    assert_eq!(placed["detailCode"], "STANDARD_ORDER_PLACED");
    assert_eq!(placed["order"]["price"]["amountMinor"], 2199);
    let again = json_of(press("")).await;
    assert_eq!(again["detailCode"], "ORDER_INPROGRESS");

    // On a screen whose customer did not ask to approve first, the rise asks all the same.
    let token = fridge_token(&f, "FRIDGE-PRICE").await;
    set_price(&f, "B0RFFILT04", 2999).await;
    let shown = json_of(f.http.get(f.url("/v1/screen/buttons")).bearer_auth(&token)).await;
    let filter = shown["buttons"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["asin"] == "B0RFFILT04")
        .unwrap()
        .clone();
    assert_eq!(filter["needsApproval"], true);
    let asked = json_of(press_on(&f, &token, "B0RFFILT04", "price-1")).await;
    assert_eq!(asked["detailCode"], "APPROVAL_REQUIRED", "{asked}");
    assert_eq!(asked["approval"]["price"]["amountMinor"], 2999);
    assert!(
        asked["approval"]["previousPrice"]["amountMinor"]
            .as_i64()
            .unwrap()
            < 2999
    );
    // A product whose price did not rise orders at once.
    let water = json_of(press_on(&f, &token, "B0RFWATR02", "price-2")).await;
    assert_eq!(water["detailCode"], "STANDARD_ORDER_PLACED", "{water}");
}

fn press_on(f: &Fixture, token: &str, asin: &str, key: &str) -> reqwest::RequestBuilder {
    press(f, token, asin, Some(key))
}

#[tokio::test]
async fn the_customer_changes_what_a_screen_shows_and_its_stream_follows() {
    let f = sandbox().await;
    let token = fridge_token(&f, "FRIDGE-EDIT").await;
    let change = |serial: &str, body: Value| {
        f.http
            .put(f.url(&format!("/v1/devices/{FRIDGE}/{serial}/buttons")))
            .json(&body)
    };
    let mut stream = f
        .http
        .get(f.url("/v1/screen/events/stream"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();

    // Refused in words: none, too many, not in the catalog, not a screened device.
    for (body, words) in [
        (serde_json::json!({"asins": []}), "1 to 12"),
        (
            serde_json::json!({"asins": vec!["B0RFBEAN01"; 13]}),
            "1 to 12",
        ),
        (
            serde_json::json!({"asins": ["B0NOTSOLD1"]}),
            "no product B0NOTSOLD1",
        ),
        (serde_json::json!({"asins": ["nope"]}), "ASIN"),
        (
            serde_json::json!({"buttons": ["B0RFBEAN01"]}),
            "not what was expected",
        ),
    ] {
        let (status, answer_body) = answer(change("FRIDGE-EDIT", body)).await;
        assert_eq!(status, 400, "{answer_body}");
        assert!(
            answer_body["message"].as_str().unwrap().contains(words),
            "{answer_body}"
        );
    }
    let (status, body) = answer(
        f.http
            .put(f.url("/v1/devices/RefillBrew-200/SANDBOX-0001/buttons"))
            .json(&serde_json::json!({"asins": ["B0RFBEAN01"]})),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        body["message"].as_str().unwrap().contains("per slot"),
        "{body}"
    );
    let (status, _) = answer(change(
        "NOT-MINE",
        serde_json::json!({"asins": ["B0RFBEAN01"]}),
    ))
    .await;
    assert_eq!(status, 404);

    // Now the ink and the beans' other roast, in that order (a repeat counts once).
    let shown = json_of(change(
        "FRIDGE-EDIT",
        serde_json::json!({"asins": ["B0RFINKBK1", "B0RFBEAN02", "B0RFINKBK1"]}),
    ))
    .await;
    assert_eq!(shown.as_array().unwrap().len(), 2, "{shown}");
    assert_eq!(shown[0]["asin"], "B0RFINKBK1");
    let listed = json_of(f.http.get(f.url("/v1/screen/buttons")).bearer_auth(&token)).await;
    let asins: Vec<&str> = listed["buttons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["asin"].as_str().unwrap())
        .collect();
    assert_eq!(asins, ["B0RFINKBK1", "B0RFBEAN02"]);
    let devices = get_json(&f.http, &f.url("/v1/devices")).await;
    let fridge = devices["devices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["serial"] == "FRIDGE-EDIT")
        .unwrap()
        .clone();
    assert_eq!(fridge["buttons"][1]["asin"], "B0RFBEAN02");
    // What it no longer shows, it can't order.
    let (status, _) = answer(press(&f, &token, "B0RFBEAN01", Some("edit-1"))).await;
    assert_eq!(status, 404);

    // The open stream was told, and follows the new products: the beans' order (no longer
    // shown) is not told, the ink's is.
    json_of(f.http.post(f.url("/v1/buttons/B0RFBEAN01/press"))).await;
    json_of(f.http.post(f.url("/v1/buttons/B0RFINKBK1/press"))).await;
    let mut sse = Sse::new(&mut stream);
    assert_eq!(sse.next().await.1, "ButtonsChanged");
    let (told, kind) = sse.next().await;
    assert_eq!(kind, "OrderPlaced");
    let events = get_json(&f.http, &f.url("/v1/events")).await;
    let last = events["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["body"]["asin"], "B0RFINKBK1");
    assert_eq!(last["id"], told, "the ink's order, not the beans'");
}
