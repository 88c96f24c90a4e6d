//! The button client against a real service on loopback: a fridge linked through the real
//! sign-in and consent pages, its buttons, presses, limits, approvals, events and tokens.

use refill_buttons::{Buttons, ButtonsError, Tokens};
use refill_service::auth::SANDBOX_CLIENT_ID;
use refill_service::sandbox::{CUSTOMER_EMAIL, CUSTOMER_PASSWORD};
use refill_service::{start, RunningService, ServiceConfig};
use refill_testkit::{OAuthClient, Person};
use refill_wire::{DetailCode, ErrorCode, OrderState};

/// Links a FreshCool fridge with `serial` to the sandbox customer; its tokens.
async fn link(service: &RunningService, serial: &str) -> Tokens {
    let client = OAuthClient {
        id: SANDBOX_CLIENT_ID,
        secret: None,
        redirect_uri: "http://127.0.0.1:49321/callback",
    };
    let person = Person::Existing {
        email: CUSTOMER_EMAIL,
        password: CUSTOMER_PASSWORD,
    };
    let data =
        format!(r#"{{"refill:buttons":{{"device_model":"RefillFridge-1","serial":"{serial}"}}}}"#);
    let (access, refresh) = refill_testkit::tokens(
        &service.base_url(),
        client,
        "refill:buttons",
        Some(&data),
        &person,
    )
    .await
    .unwrap();
    Tokens {
        access,
        refresh,
        client_id: SANDBOX_CLIENT_ID.to_owned(),
    }
}

async fn sandbox() -> (tempfile::TempDir, RunningService) {
    let dir = tempfile::tempdir().unwrap();
    let service = start(ServiceConfig::sandbox(dir.path().join("s.sqlite")))
        .await
        .unwrap();
    (dir, service)
}

#[tokio::test]
async fn a_fridge_lists_presses_follows_and_cancels() {
    let (_dir, service) = sandbox().await;
    let buttons = Buttons::new(&service.base_url(), link(&service, "SDK-1").await).unwrap();

    let shown = buttons.list().await.unwrap();
    assert_eq!(shown.device_name, "FreshCool smart fridge");
    assert_eq!(shown.buttons.len(), 6);
    assert_eq!(shown.buttons[0].asin, "B0RFBEAN01");

    let mut events = buttons.events(0).await.unwrap();
    let pressed = buttons.press("B0RFBEAN01").await.unwrap();
    assert_eq!(pressed.detail_code, DetailCode::StandardOrderPlaced);
    let id = pressed.event_instance_id.clone().unwrap();
    // A second press (a new key) finds the open order.
    let again = buttons.press("B0RFBEAN01").await.unwrap();
    assert_eq!(again.detail_code, DetailCode::OrderInProgress);
    assert_eq!(again.event_instance_id.as_deref(), Some(id.as_str()));
    // The same key again: the same answer as the first time.
    let key = "sdk-key-1";
    let first = buttons.press_with_key("B0RFFILT04", key).await.unwrap();
    let retried = buttons.press_with_key("B0RFFILT04", key).await.unwrap();
    assert_eq!(first.detail_code, DetailCode::StandardOrderPlaced);
    assert_eq!(retried.detail_code, DetailCode::StandardOrderPlaced);
    assert_eq!(first.event_instance_id, retried.event_instance_id);

    let event = tokio::time::timeout(std::time::Duration::from_secs(5), events.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(event.kind, "OrderPlaced");
    assert_eq!(event.body["eventInstanceId"], id.as_str());

    let cancelled = buttons.cancel(&id).await.unwrap();
    assert_eq!(cancelled.status, OrderState::Cancelled);

    // Not one of its buttons: refused in the service's words.
    let err = buttons.press("B0RFBEAN02").await.unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::NotFound));
    assert!(err.to_string().contains("not one of the buttons"), "{err}");
    service.shutdown().await;
}

#[tokio::test]
async fn limits_and_approvals_reach_the_screen_in_words() {
    let (_dir, service) = sandbox().await;
    let buttons = Buttons::new(&service.base_url(), link(&service, "SDK-2").await).unwrap();
    let http = reqwest::Client::new();
    let limits = format!(
        "{}/v1/devices/RefillFridge-1/SDK-2/limits",
        service.base_url()
    );
    let set = |body: serde_json::Value| http.put(&limits).json(&body).send();
    assert!(
        set(serde_json::json!({"perOrderMinor": 1000, "askFirst": false}))
            .await
            .unwrap()
            .status()
            .is_success()
    );
    let err = buttons.press("B0RFBEAN01").await.unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::OverLimit));
    assert!(
        err.to_string().starts_with("Over the limit per order"),
        "{err}"
    );

    assert!(
        set(serde_json::json!({"perOrderMinor": null, "askFirst": true}))
            .await
            .unwrap()
            .status()
            .is_success()
    );
    let asked = buttons.press("B0RFBEAN01").await.unwrap();
    assert_eq!(asked.detail_code, DetailCode::ApprovalRequired);
    assert!(asked.order.is_none());
    assert!(asked.approval.is_some());
    service.shutdown().await;
}

#[tokio::test]
async fn an_expired_access_token_is_refreshed_and_a_removed_device_is_unlinked() {
    let (_dir, service) = sandbox().await;
    let mut tokens = link(&service, "SDK-3").await;
    let good = tokens.access.clone();
    tokens.access = "Atza|expired-or-unknown".to_owned();
    let buttons = Buttons::new(&service.base_url(), tokens).unwrap();
    assert_eq!(buttons.list().await.unwrap().buttons.len(), 6);
    let now = buttons.tokens().access;
    assert!(now.starts_with("Atza|") && now != "Atza|expired-or-unknown");
    assert_ne!(now, good, "a new access token");

    // The customer removes the fridge: its tokens stop working, and the client says so.
    let res = reqwest::Client::new()
        .delete(format!(
            "{}/v1/devices/RefillFridge-1/SDK-3",
            service.base_url()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 204);
    let err = buttons.list().await.unwrap_err();
    assert!(matches!(err, ButtonsError::Unlinked), "{err:?}");
    assert!(err.to_string().contains("no longer linked"));
    service.shutdown().await;
}

#[tokio::test]
async fn a_service_that_is_down_is_unreachable_and_nothing_is_ordered() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let buttons = Buttons::new(
        &format!("http://127.0.0.1:{port}"),
        Tokens {
            access: "Atza|x".into(),
            refresh: "Atzr|x".into(),
            client_id: "maker".into(),
        },
    )
    .unwrap();
    let err = buttons.press("B0RFBEAN01").await.unwrap_err();
    assert!(matches!(err, ButtonsError::Unreachable { .. }), "{err:?}");
    assert!(err.to_string().contains("Nothing was ordered"));
}
