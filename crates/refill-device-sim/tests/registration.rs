//! Linking a simulated device to the customer's account, as Dash Replenishment does, against the
//! real sandbox service over loopback HTTP: the app reads the device's identity, the customer
//! signs in and chooses products on the real consent page, the device redeems the code with its
//! own verifier. The app never sees the device's tokens.

use refill_auth::{start_device_authorization, DeviceGrant, Provider, Redirect};
use refill_device_sim::{Protection, SimDevice};
use refill_provision::link::{Air, SimLink};
use refill_provision::protocomm::Client;
use refill_provision::registration::{Handoff, RegistrationState};
use refill_provision::ProvError;
use refill_service::sandbox::{CUSTOMER_EMAIL, CUSTOMER_PASSWORD};
use refill_service::{start, ServiceConfig};
use refill_testkit::{Browser, Person};
use std::time::Duration;

#[tokio::test]
async fn a_device_on_wifi_is_linked_to_the_customer_and_holds_its_own_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let service = start(ServiceConfig::sandbox(dir.path().join("s.sqlite")))
        .await
        .unwrap();
    let base = service.base_url();
    let device = SimDevice::new("RefillPrint-4C", "SIM-PRINT-1", Protection::Sec1);
    let link = SimLink::connect(device.device.clone(), Air::default());
    let security = refill_provision::QrPayload::parse(&device.qr("ble"))
        .unwrap()
        .security();
    let mut client = Client::connect(link, &security, 512).await.unwrap();
    let identity = client.identify().await.unwrap();
    assert_eq!(identity.serial, "SIM-PRINT-1");
    assert!(
        identity.is_test_device,
        "simulated devices order test orders"
    );

    let provider = Provider::refill("sandbox", &base);
    let pending = start_device_authorization(
        &provider,
        &Redirect::Loopback,
        &DeviceGrant {
            scope: "dash:replenish".to_owned(),
            scope_data: identity.scope_data(),
            code_challenge: identity.code_challenge.clone(),
        },
    )
    .await
    .unwrap();
    let browser = Browser::default();
    let person = Person::Existing {
        email: CUSTOMER_EMAIL,
        password: CUSTOMER_PASSWORD,
    };
    let callback = browser
        .sign_in(pending.authorize_url(), &person, "allow")
        .await
        .unwrap();
    let (code, _) = tokio::join!(
        pending.finish_code(Duration::from_secs(10), std::future::pending()),
        browser.visit(&callback)
    );
    let handoff = Handoff {
        code: code.unwrap(),
        client_id: provider.client_id.clone(),
        redirect_uri: pending.redirect_uri().to_owned(),
        token_url: provider.token_url.clone(),
    };
    client
        .register_and_wait(&handoff, Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(device.registration.state(), RegistrationState::Registered);
    assert!(device.registration.refresh_token().is_some());

    let devices: serde_json::Value = reqwest::get(format!("{base}/v1/devices"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(devices["devices"][0]["serial"], "SIM-PRINT-1", "{devices}");
    assert_eq!(devices["devices"][0]["slots"].as_array().unwrap().len(), 4);

    // The same code a second time is a replay: the device reports the refusal in words.
    let err = client
        .register_and_wait(&handoff, Duration::from_secs(10))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ProvError::Registration(m) if m.contains("refused the code")),
        "{err}"
    );
    service.shutdown().await;
}
