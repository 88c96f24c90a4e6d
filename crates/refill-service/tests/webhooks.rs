//! Notifications to device makers: webhooks registered by a maker's confidential client, DRS
//! SNS-shaped v1/v2 payloads, HMAC-SHA256 signatures, retries with backoff until a 2xx, and
//! an outbox that survives a restart. The maker's server is a real HTTP server on loopback.

mod common;

use common::{
    device_token_via, drs, receiver, sandbox, start_on, start_with, Fixture, Received, REDIRECT,
};
use refill_core::{Clock, Sensitive};
use refill_service::auth::{ClientKind, ClientRegistration, SANDBOX_CLIENT_ID};
use refill_service::store::webhooks::{signature, SIGNATURE_HEADER};
use reqwest::Method;
use serde_json::{json, Value};
use time::Duration;

const MAKER: (&str, &str) = ("maker-brew", "maker-brew-secret-0123456789");

async fn register_maker(f: &Fixture) {
    f.service
        .store()
        .register_client(&ClientRegistration {
            client_id: MAKER.0.to_owned(),
            name: "Brew Co.".to_owned(),
            kind: ClientKind::Confidential,
            secret: Some(Sensitive::new(MAKER.1.to_owned())),
            redirect_uris: vec![REDIRECT.to_owned()],
        })
        .await
        .unwrap();
}

async fn create_webhook(f: &Fixture, body: Value, auth: Option<(&str, &str)>) -> (u16, Value) {
    let mut request = f.http.post(f.url("/v1/webhooks")).json(&body);
    if let Some((id, secret)) = auth {
        request = request.basic_auth(id, Some(secret));
    }
    let res = request.send().await.unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

fn notification_types(received: &Received) -> Vec<String> {
    received
        .lock()
        .unwrap()
        .iter()
        .map(|(_, body)| {
            let v: Value = serde_json::from_str(body).unwrap();
            v["notificationInfo"]["notificationType"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

#[tokio::test]
async fn makers_manage_webhooks_with_their_client_credentials() {
    let f = sandbox().await;
    register_maker(&f).await;
    let hook = json!({"url": "https://maker.example/drs", "version": 2});
    assert_eq!(create_webhook(&f, hook.clone(), None).await.0, 401);
    assert_eq!(
        create_webhook(&f, hook.clone(), Some((MAKER.0, "wrong")))
            .await
            .0,
        401
    );
    // A public client (the app) has no secret to manage webhooks with.
    assert_eq!(
        create_webhook(&f, hook.clone(), Some((SANDBOX_CLIENT_ID, "")))
            .await
            .0,
        401
    );
    for (bad, says) in [
        (json!({"url": "ftp://maker.example"}), "https://"),
        (
            json!({"url": "https://maker.example", "version": 3}),
            "1 or 2",
        ),
        (
            json!({"address": "https://maker.example"}),
            "not what was expected",
        ),
    ] {
        let (status, body) = create_webhook(&f, bad, Some(MAKER)).await;
        assert_eq!(status, 400, "{body}");
        assert!(body["message"].as_str().unwrap().contains(says), "{body}");
    }
    let (status, created) = create_webhook(&f, hook, Some(MAKER)).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["secret"].as_str().unwrap().len(), 40);
    let listed = common::json_of(
        f.http
            .get(f.url("/v1/webhooks"))
            .basic_auth(MAKER.0, Some(MAKER.1)),
    )
    .await;
    assert_eq!(listed["webhooks"][0]["url"], "https://maker.example/drs");
    assert!(listed["webhooks"][0].get("secret").is_none(), "shown once");
    let id = created["id"].as_i64().unwrap();
    let gone = f
        .http
        .delete(f.url(&format!("/v1/webhooks/{id}")))
        .basic_auth(MAKER.0, Some(MAKER.1))
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 204);
    // Gone, or never a number: 404 with a message (found by checking against openapi.yaml).
    for missing in [id.to_string(), "null".to_owned()] {
        let res = f
            .http
            .delete(f.url(&format!("/v1/webhooks/{missing}")))
            .basic_auth(MAKER.0, Some(MAKER.1))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 404);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["message"], format!("You have no webhook {missing}."));
    }
}

#[tokio::test]
async fn notifications_are_signed_retried_until_acknowledged_and_survive_a_restart() {
    let mut f = sandbox().await;
    register_maker(&f).await;
    let (url, received) = receiver(2).await;
    let (_, created) = create_webhook(&f, json!({"url": url, "version": 2}), Some(MAKER)).await;
    let secret = created["secret"].as_str().unwrap().to_owned();

    let token = device_token_via(&f, "HOOK-1", MAKER).await;
    let (_, _, placed) = drs(
        &f,
        Method::POST,
        "/replenish/brew-beans",
        &token,
        ("DrsReplenishInput@1.0", "DrsReplenishResult@1.0"),
        None,
    )
    .await;
    let http = reqwest::Client::new();
    let store = f.service.store().clone();

    // Three notifications are due; the maker's server fails the first two requests.
    assert_eq!(
        store.deliver_webhooks(&http, f.clock.now()).await.unwrap(),
        1
    );
    assert_eq!(received.lock().unwrap().len(), 3);
    // Not yet due again: nothing is sent.
    assert_eq!(
        store.deliver_webhooks(&http, f.clock.now()).await.unwrap(),
        0
    );
    assert_eq!(received.lock().unwrap().len(), 3);

    // The service restarts with two notifications still owed: nothing is lost.
    let db = f.db.clone();
    let clock = f.clock.clone();
    let service = std::mem::replace(&mut f.service, start_on(&db, clock.clone()).await);
    service.shutdown().await;
    f.clock.advance(Duration::seconds(1));
    let store = f.service.store().clone();
    assert_eq!(
        store.deliver_webhooks(&http, f.clock.now()).await.unwrap(),
        2
    );
    assert_eq!(
        store.deliver_webhooks(&http, f.clock.now()).await.unwrap(),
        0
    );
    f.clock.advance(Duration::hours(2));
    assert_eq!(
        store.deliver_webhooks(&http, f.clock.now()).await.unwrap(),
        0,
        "once each"
    );

    let types = notification_types(&received);
    assert_eq!(types.len(), 5);
    let delivered: std::collections::BTreeSet<_> = types[3..].iter().cloned().collect();
    let all: std::collections::BTreeSet<_> = types.iter().cloned().collect();
    assert_eq!(
        all,
        [
            "DeviceRegisteredNotification",
            "OrderPlacedNotification",
            "SubscriptionChangedNotification"
        ]
        .map(str::to_owned)
        .into()
    );
    assert_eq!(delivered.len(), 2, "the two that failed were sent again");

    // Every request is signed with the webhook's secret, and shaped as DRS's notification.
    for (headers, body) in received.lock().unwrap().iter() {
        assert_eq!(
            headers[SIGNATURE_HEADER].to_str().unwrap(),
            signature(&secret, body.as_bytes())
        );
        assert_eq!(headers["x-amz-sns-message-type"], "Notification");
        let v: Value = serde_json::from_str(body).unwrap();
        assert_eq!(v["notificationInfo"]["lwaClientId"], MAKER.0);
        assert_eq!(v["notificationInfo"]["version"], "2015-06-05");
        assert_eq!(
            v["deviceInfo"]["deviceIdentifier"]["serialNumber"],
            "HOOK-1"
        );
        assert_eq!(
            v["deviceInfo"]["productIdentifier"]["modelId"],
            "RefillBrew-200"
        );
        assert!(v["customerInfo"]["directedCustomerId"].is_string());
    }
    let order = received
        .lock()
        .unwrap()
        .iter()
        .map(|(_, b)| serde_json::from_str::<Value>(b).unwrap())
        .find(|v| v["notificationInfo"]["notificationType"] == "OrderPlacedNotification")
        .unwrap();
    assert_eq!(order["orderInfo"]["instanceId"], placed["eventInstanceId"]);
    assert_eq!(order["orderInfo"]["slotId"], "brew-beans");
    let product = &order["orderInfo"]["productInfo"][0];
    assert_eq!(product["quantity"], 1.0);
    assert!(product["asin"].as_str().unwrap().starts_with("B0RFBEAN"));
    assert!(product["estimatedDeliveryDate"].is_string());
    let subscription = received
        .lock()
        .unwrap()
        .iter()
        .map(|(_, b)| serde_json::from_str::<Value>(b).unwrap())
        .find(|v| v["notificationInfo"]["notificationType"] == "SubscriptionChangedNotification")
        .unwrap();
    let beans = &subscription["subscriptionInfo"]["slotsSubscriptionStatus"]["brew-beans"];
    assert_eq!(beans["subscribed"], true);
    assert_eq!(beans["productInfoList"][0]["unit"], "g");
}

#[tokio::test]
async fn v1_webhooks_get_v1_payloads_and_extensions_are_namespaced() {
    let f = sandbox().await;
    register_maker(&f).await;
    let (url, received) = receiver(0).await;
    create_webhook(&f, json!({"url": url, "version": 1}), Some(MAKER)).await;
    let token = device_token_via(&f, "HOOK-2", MAKER).await;
    drs(
        &f,
        Method::POST,
        "/replenish/brew-beans",
        &token,
        ("DrsReplenishInput@1.0", "DrsReplenishResult@1.0"),
        None,
    )
    .await;
    f.clock.advance(Duration::days(3));
    f.service.store().fulfil(f.clock.now()).await.unwrap();
    let http = reqwest::Client::new();
    f.service
        .store()
        .deliver_webhooks(&http, f.clock.now())
        .await
        .unwrap();
    let bodies: Vec<Value> = received
        .lock()
        .unwrap()
        .iter()
        .map(|(_, b)| serde_json::from_str(b).unwrap())
        .collect();
    let of = |kind: &str| {
        bodies
            .iter()
            .find(|v| v["notificationInfo"]["notificationType"] == kind)
            .unwrap_or_else(|| panic!("no {kind} in {bodies:?}"))
    };
    // v1: no asin, the delivery date directly in orderInfo; subscriptions as booleans.
    let placed = of("OrderPlacedNotification");
    assert!(placed["orderInfo"]["productInfo"][0].get("asin").is_none());
    assert!(placed["orderInfo"]["estimatedDeliveryDate"].is_string());
    let subscription = of("SubscriptionChangedNotification");
    assert_eq!(
        subscription["subscriptionInfo"]["slotsSubscriptionStatus"]["brew-beans"],
        true
    );
    of("ItemShippedNotification");
    let delivered = of("Refill.ItemDeliveredNotification");
    assert!(delivered["refillInfo"]["eventInstanceId"].is_string());
}

#[tokio::test]
async fn a_running_service_delivers_on_its_own() {
    let f = sandbox().await;
    register_maker(&f).await;
    let (url, received) = receiver(0).await;
    create_webhook(&f, json!({"url": url, "version": 2}), Some(MAKER)).await;
    // A second service on the same database, with its delivery loop on.
    let other = start_with(&f.db, f.clock.clone(), |config| {
        config.deliver_every = Some(std::time::Duration::from_millis(20));
    })
    .await;
    device_token_via(&f, "HOOK-3", MAKER).await;
    for _ in 0..250 {
        if received.lock().unwrap().len() >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(notification_types(&received).len(), 2);
    other.shutdown().await;
}

/// Two instances on one database, both sending: each notification goes out once, not once per
/// instance (a round claims what it sends).
#[tokio::test]
async fn two_sending_instances_send_each_notification_once() {
    let f = sandbox().await;
    register_maker(&f).await;
    let (url, received) = receiver(0).await;
    create_webhook(&f, json!({"url": url, "version": 2}), Some(MAKER)).await;
    let often = |config: &mut refill_service::ServiceConfig| {
        config.deliver_every = Some(std::time::Duration::from_millis(5));
    };
    let one = start_with(&f.db, f.clock.clone(), often).await;
    let two = start_with(&f.db, f.clock.clone(), often).await;
    for serial in ["HOOK-4", "HOOK-5", "HOOK-6"] {
        device_token_via(&f, serial, MAKER).await;
    }
    for _ in 0..250 {
        if received.lock().unwrap().len() >= 6 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // Time for a second copy to arrive, if one were sent.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let ids: Vec<String> = received
        .lock()
        .unwrap()
        .iter()
        .map(|(headers, _)| headers["x-amz-sns-message-id"].to_str().unwrap().to_owned())
        .collect();
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(ids.len(), 6, "{ids:?}");
    assert_eq!(unique.len(), 6, "a notification went out twice: {ids:?}");
    one.shutdown().await;
    two.shutdown().await;
}
