//! Managing what is linked: removing a device (optionally cancelling its open orders), renaming
//! it, changing a slot's product within its unit, downloading the account's data and deleting
//! the account.

mod common;

use common::{brewer, device_token, replenish, sandbox, subscription_info, tokens_of, Fixture};
use refill_testkit::Person;
use serde_json::{json, Value};

const APP_SCOPE: &str = "profile refill:customer";

async fn order_status(f: &Fixture, bearer: Option<&str>, id: &str) -> String {
    let mut request = f.http.get(f.url(&format!("/v1/orders/{id}")));
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    let order = common::json_of(request).await;
    order["status"].as_str().unwrap_or_default().to_owned()
}

async fn event_kinds(f: &Fixture, customer_email: &str) -> Vec<String> {
    let pool = f.service.store().pool();
    sqlx::query_scalar(
        "SELECT e.kind FROM events e JOIN customers c ON c.id = e.customer_id \
         WHERE c.email = $1 ORDER BY e.id",
    )
    .bind(customer_email)
    .fetch_all(pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn removing_a_device_can_cancel_its_open_orders_and_revokes_it_as_deregistration_does() {
    let f = sandbox().await;
    let keep = device_token(&f, "RM-KEEP", false).await;
    let cancel = device_token(&f, "RM-CANCEL", false).await;
    let (_, kept) = replenish(&f, &keep, "brew-filters").await;
    // Another item: one customer has one open order per item.
    let (_, cancelled) = replenish(&f, &cancel, "brew-beans").await;
    let kept = kept["eventInstanceId"].as_str().unwrap().to_owned();
    let cancelled = cancelled["eventInstanceId"].as_str().unwrap().to_owned();

    // A parameter that is not true or false is refused, and nothing is removed.
    let (status, body) = common::answer(
        f.http
            .delete(f.url("/v1/devices/RefillBrew-200/RM-CANCEL?cancelOrders=maybe")),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        body["message"].as_str().unwrap().contains("cancelOrders"),
        "{body}"
    );
    assert_eq!(subscription_info(&f, &cancel).await.0, 200);

    let (status, _) = common::answer(
        f.http
            .delete(f.url("/v1/devices/RefillBrew-200/RM-CANCEL?cancelOrders=true")),
    )
    .await;
    assert_eq!(status, 204);
    assert_eq!(order_status(&f, None, &cancelled).await, "cancelled");
    let (status, _) =
        common::answer(f.http.delete(f.url("/v1/devices/RefillBrew-200/RM-KEEP"))).await;
    assert_eq!(status, 204);
    assert_eq!(
        order_status(&f, None, &kept).await,
        "placed",
        "without cancelOrders the order goes on"
    );

    // As DELETE /registration: the devices' tokens are refused, they are off the list, and
    // DeviceDeregistered is recorded (its makers' webhooks are queued from it).
    for token in [&keep, &cancel] {
        let (status, body) = subscription_info(&f, token).await;
        assert_eq!(
            (status, body["message"].as_str()),
            (400, Some("Invalid token"))
        );
    }
    let devices = common::get_json(&f.http, &f.url("/v1/devices")).await;
    assert!(!devices.to_string().contains("RM-KEEP"), "{devices}");
    let kinds = event_kinds(&f, refill_service::sandbox::CUSTOMER_EMAIL).await;
    assert_eq!(
        kinds.iter().filter(|k| *k == "DeviceDeregistered").count(),
        2,
        "{kinds:?}"
    );
    let again = f
        .http
        .delete(f.url("/v1/devices/RefillBrew-200/RM-KEEP"))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 404);
}

#[tokio::test]
async fn a_device_is_renamed_and_a_slot_changes_product_within_its_unit() {
    let f = sandbox().await;
    let token = device_token(&f, "NAME-1", false).await;
    let url = f.url("/v1/devices/RefillBrew-200/NAME-1");
    let renamed = common::json_of(f.http.patch(&url).json(&json!({"name": "  Kitchen  "}))).await;
    assert_eq!(renamed["name"], "Kitchen", "{renamed}");
    let devices = common::get_json(&f.http, &f.url("/v1/devices")).await;
    assert!(devices.to_string().contains("\"Kitchen\""), "{devices}");

    for (body, says) in [
        (json!({"name": ""}), "1 to 60 characters"),
        (json!({"name": "x".repeat(61)}), "1 to 60 characters"),
        (json!({"name": "two\nlines"}), "line breaks"),
        (json!({"nick": "Kitchen"}), "nick"),
        (json!({}), "name"),
    ] {
        let (status, answer) = common::answer(f.http.patch(&url).json(&body)).await;
        assert_eq!(status, 400, "{body}");
        assert!(
            answer["message"].as_str().unwrap().contains(says),
            "{body}: {answer}"
        );
    }
    let (status, _) = common::answer(
        f.http
            .patch(f.url("/v1/devices/RefillBrew-200/NOT-MINE"))
            .json(&json!({"name": "Mine"})),
    )
    .await;
    assert_eq!(status, 404);

    // The beans slot (grams) reorders the other beans; ink (ml) is refused in words.
    let slot = f.url("/v1/devices/RefillBrew-200/NAME-1/slots/brew-beans");
    let before = common::get_json(&f.http, &slot).await;
    let (status, answer) = common::answer(
        f.http
            .patch(&slot)
            .json(&json!({"asin": "B0RFINKBK1", "onHand": 2000})),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        answer["message"]
            .as_str()
            .unwrap()
            .contains("measured in millilitres"),
        "{answer}"
    );
    let after = common::get_json(&f.http, &slot).await;
    assert_eq!(
        after["onHand"], before["onHand"],
        "a refused product saves nothing"
    );
    let (status, _) =
        common::answer(f.http.patch(&slot).json(&json!({"asin": "B0RFNOPE99"}))).await;
    assert_eq!(status, 400);
    let (status, _) =
        common::answer(f.http.patch(&slot).json(&json!({"asin": "B0RFBEAN02"}))).await;
    assert_eq!(status, 200);
    let devices = common::get_json(&f.http, &f.url("/v1/devices")).await;
    let device = devices["devices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["serial"] == "NAME-1")
        .unwrap();
    let beans = device["slots"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["slotId"] == "brew-beans")
        .unwrap();
    assert_eq!(beans["product"]["asin"], "B0RFBEAN02", "{device}");
    // The device orders the new product.
    let (status, placed) = replenish(&f, &token, "brew-beans").await;
    assert_eq!(status, 200, "{placed}");
    let order = common::get_json(
        &f.http,
        &f.url(&format!(
            "/v1/orders/{}",
            placed["eventInstanceId"].as_str().unwrap()
        )),
    )
    .await;
    assert_eq!(order["asin"], "B0RFBEAN02", "{order}");
}

#[tokio::test]
async fn deleting_an_account_needs_sign_in_and_its_email_then_removes_its_data() {
    let f = sandbox().await;
    let email = "gone.soon@example.test";
    let person = Person::New {
        name: "Gone Soon",
        email,
        password: "long enough",
    };
    let (app, _) = tokens_of(&f, &person, APP_SCOPE, None).await.unwrap();
    let existing = Person::Existing {
        email,
        password: "long enough",
    };
    let (device, _) = tokens_of(
        &f,
        &existing,
        "dash:replenish",
        Some(&brewer("GONE-1", false)),
    )
    .await
    .unwrap();
    let (status, placed) = replenish(&f, &device, "brew-filters").await;
    assert_eq!(status, 200, "{placed}");
    let order = placed["eventInstanceId"].as_str().unwrap().to_owned();

    // "Download my data": the account, its device and its slots, its order.
    let res = f
        .http
        .get(f.url("/v1/account/export"))
        .bearer_auth(&app)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment; filename=\"refill-data-"));
    let export: Value = res.json().await.unwrap();
    assert_eq!(export["email"], email);
    assert_eq!(export["name"], "Gone Soon");
    assert!(export["devices"].to_string().contains("GONE-1"), "{export}");
    assert!(export["slots"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["serial"] == "GONE-1" && s["inventory"]["slotId"] == "brew-filters"));
    assert_eq!(export["orders"][0]["eventInstanceId"], order.as_str());

    // Not without signing in, even on loopback where the sandbox needs none.
    let (status, body) = common::answer(
        f.http
            .delete(f.url("/v1/account"))
            .json(&json!({"confirmEmail": email})),
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(body["code"], "sign_in_required", "{body}");
    // Not with another email; nothing is deleted.
    let (status, body) = common::answer(
        f.http
            .delete(f.url("/v1/account"))
            .bearer_auth(&app)
            .json(&json!({"confirmEmail": "someone.else@example.test"})),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("nothing was deleted"),
        "{body}"
    );
    assert_eq!(order_status(&f, Some(&app), &order).await, "placed");

    let (status, _) = common::answer(
        f.http
            .delete(f.url("/v1/account"))
            .bearer_auth(&app)
            .json(&json!({"confirmEmail": "Gone.Soon@example.test "})),
    )
    .await;
    assert_eq!(status, 204);

    // Every token revoked: the app's and the device's.
    let (status, _) = common::answer(f.http.get(f.url("/v1/orders")).bearer_auth(&app)).await;
    assert_eq!(status, 401);
    let (status, body) = subscription_info(&f, &device).await;
    assert_eq!(
        (status, body["message"].as_str()),
        (400, Some("Invalid token"))
    );
    // Nobody signs in to it; the address can make a new, empty account.
    assert!(tokens_of(&f, &existing, APP_SCOPE, None).await.is_err());
    let (fresh, _) = tokens_of(&f, &person, APP_SCOPE, None).await.unwrap();
    let orders = common::json_of(f.http.get(f.url("/v1/orders")).bearer_auth(&fresh)).await;
    assert_eq!(orders["orders"], json!([]));

    // What the service kept: no name, email, orders or levels; only the events a maker still
    // has to hear of (the device deregistered, its order cancelled).
    let pool = f.service.store().pool();
    let old: (i64, String, String) = sqlx::query_as(
        "SELECT id, name, email FROM customers WHERE email LIKE 'deleted-%' ORDER BY id DESC",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(old.1, "");
    assert!(!old.2.contains("gone.soon"), "{}", old.2);
    let orders: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM orders WHERE customer_id = $1")
        .bind(old.0)
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(orders, 0);
    let levels: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM slot_levels WHERE device_id IN \
         (SELECT id FROM devices WHERE customer_id = $1)",
    )
    .bind(old.0)
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(levels, 0);
    let kinds: Vec<String> =
        sqlx::query_scalar("SELECT kind FROM events WHERE customer_id = $1 ORDER BY id")
            .bind(old.0)
            .fetch_all(pool)
            .await
            .unwrap();
    assert!(
        kinds
            .iter()
            .all(|k| k == "DeviceDeregistered" || k == "OrderCancelled"),
        "{kinds:?}"
    );

    // The sandbox's own customer is untouched.
    let buttons = common::get_json(&f.http, &f.url("/v1/buttons")).await;
    assert!(!buttons["tiles"].as_array().unwrap().is_empty());
}
