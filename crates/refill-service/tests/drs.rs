//! The DRS v1 device API over real HTTP on loopback, with a device registered through the real
//! authorization pages: every endpoint with the documented example requests, the version
//! headers, DRS's error shapes, one open order per slot under concurrent calls, test orders,
//! deregistration.

mod common;

use common::{access_token, device_token, drs, replenish, sandbox, P};
use reqwest::Method;
use serde_json::Value;

const REPLENISH: (&str, &str) = ("DrsReplenishInput@1.0", "DrsReplenishResult@1.0");
const SLOT_STATUS: (&str, &str) = ("DrsSlotStatusInput@1.0", "DrsSlotStatusResult@1.0");

#[tokio::test]
async fn replenish_places_one_order_per_slot_and_answers_as_drs_does() {
    let f = sandbox().await;
    let token = device_token(&f, "DRS-1", false).await;
    let (status, headers, body) = drs(
        &f,
        Method::POST,
        "/replenish/brew-beans",
        &token,
        REPLENISH,
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["detailCode"], "STANDARD_ORDER_PLACED");
    let id = body["eventInstanceId"].as_str().unwrap().to_owned();
    assert_eq!(
        headers["x-amzn-type-version"],
        "com.amazon.dash.replenishment.DrsReplenishResult@1.0"
    );
    assert_eq!(headers["x-amzn-requestid"].len(), 36);

    // A second call answers with the open order.
    let (status, body) = replenish(&f, &token, "brew-beans").await;
    assert_eq!(status, 200);
    assert_eq!(body["detailCode"], "ORDER_INPROGRESS");
    assert_eq!(body["eventInstanceId"], id.as_str());

    // The order, as GetOrderInfo tells it.
    let (status, headers, info) = drs(
        &f,
        Method::GET,
        &format!("/getOrderInfo/{id}"),
        &token,
        ("DrsOrderInfoInput@1.0", "DrsOrderInfoResult@1.0"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{info}");
    assert_eq!(
        headers["x-amzn-type-version"],
        "com.amazon.dash.replenishment.DrsOrderInfoResult@1.0"
    );
    let item = &info["orderInfoData"]["orderItems"][0];
    assert_eq!(info["orderInfoData"]["instanceId"], id.as_str());
    assert_eq!(item["slotId"], "brew-beans");
    assert_eq!(item["status"], "Pending");
    assert_eq!(item["quantity"], 1);
    assert!(item["expectedDeliveryDate"]
        .as_str()
        .unwrap()
        .starts_with("2026-11-2"));

    // Unknown slot: 404; unknown order: 404; both with a message.
    let (status, body) = replenish(&f, &token, "no-such-slot").await;
    assert_eq!(status, 404);
    assert!(body["message"].as_str().unwrap().contains("no-such-slot"));
    let (status, _, body) = drs(
        &f,
        Method::GET,
        "/getOrderInfo/refill.v1.o.nope",
        &token,
        ("DrsOrderInfoInput@1.0", "DrsOrderInfoResult@1.0"),
        None,
    )
    .await;
    assert_eq!(status, 404);
    assert!(body["message"].is_string());

    // An unsubscribed slot: 400 with DRS's message.
    sqlx::query("UPDATE device_slots SET asin = NULL WHERE slot_id = 'brew-filters'")
        .execute(f.service.store().pool())
        .await
        .unwrap();
    let (status, body) = replenish(&f, &token, "brew-filters").await;
    assert_eq!(status, 400);
    assert_eq!(
        body["message"],
        "Unable to place order - slot : <brew-filters> is unsubscribed."
    );
}

#[tokio::test]
async fn a_hundred_concurrent_replenish_calls_place_exactly_one_order() {
    let f = sandbox().await;
    let token = device_token(&f, "DRS-RACE", false).await;
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..100 {
        let (http, url, token) = (
            f.http.clone(),
            f.url("/replenish/brew-beans"),
            token.clone(),
        );
        calls.spawn(async move {
            let res = http
                .post(url)
                .bearer_auth(token)
                .header("x-amzn-type-version", format!("{P}{}", REPLENISH.0))
                .header("x-amzn-accept-type", format!("{P}{}", REPLENISH.1))
                .send()
                .await
                .unwrap();
            let status = res.status().as_u16();
            (status, res.json::<Value>().await.unwrap())
        });
    }
    let answers = calls.join_all().await;
    let placed: Vec<_> = answers
        .iter()
        .filter(|(s, b)| *s == 200 && b["detailCode"] == "STANDARD_ORDER_PLACED")
        .collect();
    assert_eq!(placed.len(), 1, "{answers:?}");
    let id = &placed[0].1["eventInstanceId"];
    assert!(answers
        .iter()
        .all(|(s, b)| *s == 200 && &b["eventInstanceId"] == id));
    let open: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM orders WHERE slot_id = 'brew-beans' AND status = 'placed'",
    )
    .fetch_one(f.service.store().pool())
    .await
    .unwrap();
    assert_eq!(open, 1);
}

#[tokio::test]
async fn version_headers_are_required_and_answered() {
    let f = sandbox().await;
    let token = device_token(&f, "DRS-2", false).await;
    // Missing headers: 400 naming the header and the value to send; nothing is ordered.
    let res = f
        .http
        .post(f.url("/replenish/brew-beans"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert!(res.headers().contains_key("x-amzn-requestid"));
    let body: Value = res.json().await.unwrap();
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("x-amzn-type-version"), "{message}");
    assert!(message.contains("DrsReplenishInput@1.0"), "{message}");
    let (status, _, body) = drs(
        &f,
        Method::POST,
        "/replenish/brew-beans",
        &token,
        ("DrsReplenishInput@1.0", "DrsReplenishResult@7.0"),
        None,
    )
    .await;
    assert_eq!(status, 400);
    assert!(body["message"].as_str().unwrap().contains("accept"));
    let orders: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM orders WHERE source = 'replenish'")
        .fetch_one(f.service.store().pool())
        .await
        .unwrap();
    assert_eq!(orders, 0);

    // SubscriptionInfo answers v1 or v2, as asked.
    let (status, headers, v2) = drs(
        &f,
        Method::GET,
        "/subscriptionInfo",
        &token,
        (
            "DrsSubscriptionInfoInput@1.0",
            "DrsSubscriptionInfoResult@2.0",
        ),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        headers["x-amzn-type-version"],
        "com.amazon.dash.replenishment.DrsSubscriptionInfoResult@2.0"
    );
    let beans = &v2["slotsSubscriptionStatus"]["brew-beans"];
    assert_eq!(beans["subscribed"], true, "{v2}");
    assert!(beans["productInfoList"][0]["asin"]
        .as_str()
        .unwrap()
        .starts_with("B0RF"));
    assert!(beans["productInfoList"][0]["quantity"].is_number());
    let (_, _, v1) = drs(
        &f,
        Method::GET,
        "/subscriptionInfo",
        &token,
        (
            "DrsSubscriptionInfoInput@1.0",
            "DrsSubscriptionInfoResult@1.0",
        ),
        None,
    )
    .await;
    assert_eq!(v1["slotsSubscriptionStatus"]["brew-beans"], true, "{v1}");
}

#[tokio::test]
async fn a_bad_token_is_answered_as_drs_does_so_clients_refresh() {
    let f = sandbox().await;
    for token in ["Atza|not-a-token", ""] {
        let (status, headers, body) = drs(
            &f,
            Method::POST,
            "/replenish/brew-beans",
            token,
            REPLENISH,
            None,
        )
        .await;
        assert_eq!(status, 400);
        assert_eq!(body, serde_json::json!({"message": "Invalid token"}));
        assert!(headers["x-amzn-errortype"]
            .to_str()
            .unwrap()
            .starts_with("InvalidTokenException:"));
    }
    // A customer's own sign-in is not a device's: refused with 403, and it is no reason to
    // refresh (not `Invalid token`).
    let customer = access_token(&f, "profile refill:customer", None).await;
    let (status, _, body) = drs(
        &f,
        Method::POST,
        "/replenish/brew-beans",
        &customer,
        REPLENISH,
        None,
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("not issued to a device"));
}

#[tokio::test]
async fn slot_and_device_status_take_the_documented_bodies_and_refuse_bad_ones() {
    let f = sandbox().await;
    let token = device_token(&f, "DRS-3", false).await;
    let documented = r#"{"expectedReplenishmentDate":"2015-12-28T10:00:00Z","remainingQuantityInUnit":3.5,"originalQuantityInUnit":10,"totalQuantityOnHand":20,"lastUseDate":"2015-12-21T10:00:00Z"}"#;
    let (status, headers, body) = drs(
        &f,
        Method::POST,
        "/slotStatus/brew-beans",
        &token,
        SLOT_STATUS,
        Some(documented),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, Value::Null, "no body");
    assert_eq!(
        headers["x-amzn-type-version"],
        "com.amazon.dash.replenishment.DrsSlotStatusResult@1.0"
    );
    // Amazon's samples send date-only strings.
    let sample = r#"{"expectedReplenishmentDate":"2017-04-7","remainingQuantityInUnit":2,"originalQuantityInUnit":10,"totalQuantityOnHand":0,"lastUseDate":"2017-04-01"}"#;
    let (status, _, _) = drs(
        &f,
        Method::POST,
        "/slotStatus/brew-beans",
        &token,
        SLOT_STATUS,
        Some(sample),
    )
    .await;
    assert_eq!(status, 200);
    let remaining: Vec<f64> = sqlx::query_scalar(
        "SELECT remaining FROM slot_levels WHERE slot_id = 'brew-beans' ORDER BY id",
    )
    .fetch_all(f.service.store().pool())
    .await
    .unwrap();
    assert_eq!(remaining, [3.5, 2.0]);

    // Malformed JSON, wrong types, over 64 KiB, unknown slot: 4xx with a message, nothing kept.
    let big = format!(
        r#"{{"remainingQuantityInUnit":1,"pad":"{}"}}"#,
        "x".repeat(70_000)
    );
    for (body, slot, want) in [
        ("{not json", "brew-beans", 400),
        (r#"{"remainingQuantityInUnit":"three"}"#, "brew-beans", 400),
        (r#"{"remainingQuantityInUnit":-1}"#, "brew-beans", 400),
        (
            r#"{"remainingQuantityInUnit":1,"lastUseDate":"soon"}"#,
            "brew-beans",
            400,
        ),
        (big.as_str(), "brew-beans", 413),
        (r#"{"remainingQuantityInUnit":1}"#, "no-such-slot", 404),
    ] {
        let (status, _, answer) = drs(
            &f,
            Method::POST,
            &format!("/slotStatus/{slot}"),
            &token,
            SLOT_STATUS,
            Some(body),
        )
        .await;
        assert_eq!(status, want, "{answer}");
        assert!(answer["message"].is_string(), "{answer}");
    }
    let reports: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM slot_levels")
        .fetch_one(f.service.store().pool())
        .await
        .unwrap();
    assert_eq!(reports, 2);

    let (status, headers, _) = drs(
        &f,
        Method::POST,
        "/deviceStatus",
        &token,
        ("DrsDeviceStatusInput@1.0", "DrsDeviceStatusResult@1.0"),
        Some(r#"{"mostRecentlyActiveDate" : "2015-12-21T10:00:00Z"}"#),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        headers["x-amzn-type-version"],
        "com.amazon.dash.replenishment.DrsDeviceStatusResult@1.0"
    );
    let (status, _, answer) = drs(
        &f,
        Method::POST,
        "/deviceStatus",
        &token,
        ("DrsDeviceStatusInput@1.0", "DrsDeviceStatusResult@1.0"),
        Some("{}"),
    )
    .await;
    assert_eq!(status, 400);
    assert!(answer["message"]
        .as_str()
        .unwrap()
        .contains("mostRecentlyActiveDate"));
}

#[tokio::test]
async fn test_devices_get_test_orders_that_the_test_orders_endpoints_cancel() {
    let f = sandbox().await;
    let token = device_token(&f, "DRS-TEST", true).await;
    let cancel = (
        "DrsCancelTestOrdersInput@1.0",
        "DrsCancelTestOrdersResult@1.0",
    );
    for path in [
        "/testOrders/slots/brew-beans",
        "/testOrders/brew-beans",
        "/testOrders",
    ] {
        let (status, body) = replenish(&f, &token, "brew-beans").await;
        assert_eq!(status, 200);
        assert_eq!(body["detailCode"], "TEST_ORDER_PLACED", "{path}");
        assert_eq!(
            replenish(&f, &token, "brew-beans").await.1["detailCode"],
            "ORDER_INPROGRESS"
        );
        let (status, headers, answer) = drs(&f, Method::DELETE, path, &token, cancel, None).await;
        assert_eq!(status, 200, "{path}: {answer}");
        assert_eq!(
            headers["x-amzn-type-version"],
            "com.amazon.dash.replenishment.DrsCancelTestOrdersResult@1.0"
        );
        let statuses = answer["slotOrderStatuses"].as_array().unwrap();
        assert!(statuses
            .iter()
            .any(|s| s["slotId"] == "brew-beans" && s["orderStatus"] == "NO_ORDER_IN_PROGRESS"));
    }
    let test_orders: Vec<String> =
        sqlx::query_scalar("SELECT status FROM orders WHERE kind = 'test' ORDER BY id")
            .fetch_all(f.service.store().pool())
            .await
            .unwrap();
    assert_eq!(test_orders, ["cancelled", "cancelled", "cancelled"]);
    let cancellations: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM events WHERE kind = 'OrderCancelled' \
           AND body LIKE '%\"by\":\"device\"%'",
    )
    .fetch_one(f.service.store().pool())
    .await
    .unwrap();
    assert_eq!(cancellations, 3);

    // A real device's orders cannot be cancelled this way.
    let real = device_token(&f, "DRS-REAL", false).await;
    let (status, _, answer) = drs(&f, Method::DELETE, "/testOrders", &real, cancel, None).await;
    assert_eq!(status, 400);
    assert!(answer["message"].as_str().unwrap().contains("test device"));
}

#[tokio::test]
async fn deregistration_revokes_the_devices_tokens_and_unlinks_it() {
    let f = sandbox().await;
    let token = device_token(&f, "DRS-BYE", false).await;
    let (status, headers, _) = drs(
        &f,
        Method::DELETE,
        "/registration",
        &token,
        ("DrsDeregisterInput@2.0", "DrsDeregisterResult@1.0"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        headers["x-amzn-type-version"],
        "com.amazon.dash.replenishment.DrsDeregisterResult@1.0"
    );
    // "Once a device is deregistered, subsequent API calls will fail."
    let (status, body) = replenish(&f, &token, "brew-beans").await;
    assert_eq!(
        (status, body["message"].as_str()),
        (400, Some("Invalid token"))
    );
    let devices: Value = f
        .http
        .get(f.url("/v1/devices"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(!devices.to_string().contains("DRS-BYE"), "{devices}");

    // The v1 path, for the device the token names only.
    let token = device_token(&f, "DRS-V1", false).await;
    let v1 = ("DrsDeregisterInput@1.0", "DrsDeregisterResult@1.0");
    let (status, _, _) = drs(
        &f,
        Method::DELETE,
        "/deviceModels/RefillBrew-200/devices/SOMEONE-ELSE/registration",
        &token,
        v1,
        None,
    )
    .await;
    assert_eq!(status, 400);
    let (status, _, _) = drs(
        &f,
        Method::DELETE,
        "/deviceModels/RefillBrew-200/devices/DRS-V1/registration",
        &token,
        v1,
        None,
    )
    .await;
    assert_eq!(status, 200);
    // Registering it again links it again.
    let token = device_token(&f, "DRS-V1", false).await;
    assert_eq!(replenish(&f, &token, "brew-beans").await.0, 200);
}

#[tokio::test]
async fn a_revoked_token_stops_working_at_once_even_after_it_was_used() {
    let f = sandbox().await;
    let token = device_token(&f, "DRS-REVOKED", false).await;
    // Used once, so the service has seen which device it names.
    let versions = (
        "DrsSubscriptionInfoInput@1.0",
        "DrsSubscriptionInfoResult@1.0",
    );
    let (status, _, _) = drs(&f, Method::GET, "/subscriptionInfo", &token, versions, None).await;
    assert_eq!(status, 200);
    let revoked = f
        .http
        .post(f.url("/auth/o2/revoke"))
        .form(&[
            ("token", token.as_str()),
            ("client_id", refill_service::auth::SANDBOX_CLIENT_ID),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    let (status, _, body) = drs(&f, Method::GET, "/subscriptionInfo", &token, versions, None).await;
    assert_eq!(
        (status, body["message"].as_str()),
        (400, Some("Invalid token"))
    );
}

/// As DRS client libraries that worked against Amazon send them: form-encoded bodies, the token
/// in `x-amz-access-token`, a doubled slash after the base URL.
#[tokio::test]
async fn requests_as_drs_client_libraries_send_them_are_taken() {
    let f = sandbox().await;
    let token = device_token(&f, "DRS-LIB", false).await;
    let versions = |(input, result): (&str, &str)| {
        [
            ("x-amzn-type-version", format!("{P}{input}")),
            ("x-amzn-accept-type", format!("{P}{result}")),
        ]
    };
    let send = |path: &str, (input, result): (&str, &str), form: &[(&str, &str)]| {
        let mut request = f
            .http
            .post(f.url(path))
            .header("x-amz-access-token", &token)
            .form(form);
        for (name, value) in versions((input, result)) {
            request = request.header(name, value);
        }
        request.send()
    };
    let res = send(
        "/slotStatus/brew-beans",
        SLOT_STATUS,
        &[
            ("expectedReplenishmentDate", "2017-04-07"),
            ("remainingQuantityInUnit", "4"),
            ("originalQuantityInUnit", "10"),
            ("totalQuantityOnHand", "0"),
            ("lastUseDate", "2017-04-01T08:00:00Z"),
        ],
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let remaining: Vec<f64> = sqlx::query_scalar(
        "SELECT remaining FROM slot_levels WHERE slot_id = 'brew-beans' ORDER BY id",
    )
    .fetch_all(f.service.store().pool())
    .await
    .unwrap();
    assert_eq!(remaining, [4.0]);
    let res = send(
        "/deviceStatus",
        ("DrsDeviceStatusInput@1.0", "DrsDeviceStatusResult@1.0"),
        &[("mostRecentlyActiveDate", "2017-04-01T08:00:00Z")],
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 200);
    // A form with a bad number is refused in words, and nothing is kept.
    let res = send(
        "/slotStatus/brew-beans",
        SLOT_STATUS,
        &[("remainingQuantityInUnit", "three")],
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 400);
    let answer: Value = res.json().await.unwrap();
    assert!(
        answer["message"]
            .as_str()
            .unwrap()
            .contains("remainingQuantityInUnit"),
        "{answer}"
    );

    // `base_url + "/" + "/subscriptionInfo"`.
    let mut request = f.http.get(f.url("//subscriptionInfo")).bearer_auth(&token);
    for (name, value) in versions((
        "DrsSubscriptionInfoInput@1.0",
        "DrsSubscriptionInfoResult@1.0",
    )) {
        request = request.header(name, value);
    }
    let res = request.send().await.unwrap();
    assert_eq!(res.status(), 200);
    let info: Value = res.json().await.unwrap();
    assert_eq!(
        info["slotsSubscriptionStatus"]["brew-beans"], true,
        "{info}"
    );

    // The profile, with the token where Amazon's profile endpoint documents it.
    let profile_token = access_token(&f, "profile", None).await;
    let res = f
        .http
        .get(f.url("/user/profile"))
        .header("x-amz-access-token", &profile_token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let profile: Value = res.json().await.unwrap();
    assert!(
        profile["user_id"]
            .as_str()
            .unwrap()
            .starts_with("refill.account."),
        "{profile}"
    );
}
